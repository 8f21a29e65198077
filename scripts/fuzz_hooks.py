"""schemathesis hooks for scripts/fuzz.sh.

Each request with a valid `Idempotency-Key` gets a key of its own, as a
client makes a fresh one per create. The fuzzer draws keys from the
document (its example, short strings such as "0") and so repeats them; a
repeat with the same body is answered with the first answer (docs/api.md),
whose resource may have been deleted since, which the stateful check
"created resource not found" would read as a bug. Keys made invalid on
purpose (negative cases) are sent as drawn: they must still be refused.
"""

import uuid

import schemathesis
from schemathesis.core.parameters import ParameterLocation


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    headers = case.headers or {}
    if "Idempotency-Key" in headers and not case.meta.is_negative_at(ParameterLocation.HEADER):
        headers["Idempotency-Key"] = str(uuid.uuid4())
