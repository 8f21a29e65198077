"""schemathesis hooks for scripts/fuzz.sh.

Each request with a valid `Idempotency-Key` gets a key of its own, as a
client makes a fresh one per create. The fuzzer draws keys from the
document (its example, short strings such as "0") and so repeats them; a
repeat with the same body is answered with the first answer (docs/api.md),
whose resource may have been deleted since, which the stateful check
"created resource not found" would read as a bug. Keys made invalid on
purpose (negative cases) are sent as drawn: they must still be refused.

Every check runs, positive_data_acceptance included ("a request the
document admits is accepted"). Three rules of the document's are ones
OpenAPI 3.1 cannot state in a schema, so its descriptions state them and the
cases that break them are not drawn as valid ones (negative cases still are):
- a `cursor` is opaque: only the API issues one (in `Link`); a client never
  makes one up, and a made-up one is a 400 by design (the `Cursor` parameter);
- `GET /reviews` takes exactly one of `subject` and `author`;
- `githubScore + twitterScore` (`totalScore`) stays within 2^53 - 1, a rule
  across the body and the stored profile: valid cases keep each score under
  2^52, so no two can pass it;
- a `journeyRepo`'s owner is the profile's own `githubProfile` (the body's
  on `POST /users`, the path's id on `PUT /users/{id}`).
"""

import uuid

import schemathesis
from schemathesis.core.parameters import ParameterLocation


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    headers = case.headers or {}
    if "Idempotency-Key" in headers and not case.meta.is_negative_at(ParameterLocation.HEADER):
        headers["Idempotency-Key"] = str(uuid.uuid4())


# 2^52: under it, no two scores add up past 2^53 - 1.
HALF_OF_MAX_TOTAL = 1 << 52


def _positive(case):
    meta = case.meta
    return meta is None or meta.generation.mode.is_positive


def _breaks_an_unstated_rule(operation, case):
    query = case.query or {}
    if "cursor" in query:
        return True
    if operation is not None and operation.method.upper() == "GET" and operation.path == "/reviews":
        if ("subject" in query) == ("author" in query):
            return True
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("journeyRepo"), str):
        repo = body["journeyRepo"].removeprefix("https://github.com/")
        owner = repo.split("/", 1)[0].lower()
        profile = body.get("githubProfile") or (case.path_parameters or {}).get("id")
        if not isinstance(profile, str) or owner != profile.lower():
            return True
    if isinstance(body, dict):
        for score in ("githubScore", "twitterScore"):
            value = body.get(score)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= HALF_OF_MAX_TOTAL:
                return True
    return False


@schemathesis.hook
def filter_case(ctx, case):
    """Valid cases are not drawn against those rules (negative ones are)."""
    return not (_positive(case) and _breaks_an_unstated_rule(ctx.operation, case))


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    """The examples phase combines the document's parameter examples without
    the hooks above (subject and author at once): a refusal of such a case
    for breaking those rules is what the document says, not a failure."""
    if type(failure).__name__ != "RejectedPositiveData":
        return True
    return not _breaks_an_unstated_rule(case.operation, case)
