"""moto's server, one request at a time.

`moto_server` serves requests on many threads, but moto's TransactWriteItems
snapshots the whole table for rollback without a lock, so concurrent
transactions fail inside moto with "dictionary changed size during
iteration". Served one at a time, concurrent client requests still
interleave at request granularity, which is what our conditional writes
must survive. Usage: python3 scripts/moto_server.py PORT
"""

import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

run_simple("127.0.0.1", int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)
