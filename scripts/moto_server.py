"""moto's server, one request at a time; with --iam, enforcing IAM.

`moto_server` serves requests on many threads, but moto's TransactWriteItems
snapshots the whole table for rollback without a lock, so concurrent
transactions fail inside moto with "dictionary changed size during
iteration". Served one at a time, concurrent client requests still
interleave at request granularity, which is what our conditional writes
must survive.

With `--iam KEYS.json` every request must be signed with an IAM user's key
and allowed by that user's policies (moto's INITIAL_NO_AUTH_ACTION_COUNT=0:
no request is let through unauthenticated). One user may do anything,
`admin`: it is made inside this process before the server starts, so that
no unauthenticated request is ever needed, and its keys are written to
KEYS.json. The least-privilege test (tests/api/iam.rs) makes the other users
with them. moto keeps everything in memory: start a fresh server each run.

Usage: python3 scripts/moto_server.py PORT [--iam KEYS.json]
"""

import json
import os
import sys

port = int(sys.argv[1])
iam_keys = sys.argv[3] if sys.argv[2:3] == ["--iam"] else None
if iam_keys:
    # Read by moto.settings when moto is imported: set it first.
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402
from werkzeug.serving import run_simple  # noqa: E402

if iam_keys:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    iam = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    iam.create_user(region_name="us-east-1", user_name="admin", path="/", tags=[])
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy("admin", "everything", json.dumps(everything))
    key = iam.create_access_key("admin")
    with open(iam_keys, "w") as out:
        json.dump({"accessKeyId": key.access_key_id, "secretAccessKey": key.secret_access_key}, out)

run_simple("127.0.0.1", port, DomainDispatcherApplication(create_backend_app), threaded=False)
