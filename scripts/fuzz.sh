#!/usr/bin/env bash
# Fuzzes hdoc-local against its OpenAPI document (docs/openapi.yaml, served at
# /openapi.json) with schemathesis: every operation, with an admin's dev
# token, from a fixed seed. Fails if any response is a 5xx, breaks the
# document's schema, has a status, content type or header the document does
# not list, accepts data the document says is invalid, or serves a protected
# operation without a token, or refuses a request the document admits.
#
#   scripts/fuzz.sh          the long run: FUZZ_EXAMPLES (default 400) cases an operation
#   scripts/fuzz.sh --ci     the bounded run of scripts/test.sh (default 40)
#
# FUZZ_SEED changes the seed (default 20260131); the summary lists the cases
# tried per operation; FUZZ_REPORT_DIR keeps schemathesis's event logs
# (NDJSON) and hdoc-local's log there. hdoc-local is the debug binary of this checkout
# (built here if needed, under CARGO_TARGET_DIR), on a free port with a
# temporary data directory.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="4.32.5"
mode=long
if [ "${1:-}" = "--ci" ]; then mode=ci; fi
if [ "$mode" = ci ]; then examples="${FUZZ_EXAMPLES:-40}"; else examples="${FUZZ_EXAMPLES:-400}"; fi
seed="${FUZZ_SEED:-20260131}"
log() { printf '\n==> %s\n' "$*"; }

tools="${XDG_CACHE_HOME:-$HOME/.cache}/hdoc/schemathesis-$SCHEMATHESIS_VERSION"
if [ ! -x "$tools/bin/schemathesis" ]; then
  log "installing schemathesis==$SCHEMATHESIS_VERSION into $tools"
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

log "building hdoc-local (debug)"
cargo build --quiet -p hdoc-local
binary="${CARGO_TARGET_DIR:-target}/debug/hdoc-local"

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
log "starting hdoc-local on $base (data in $work/data)"
# The activity job (POST /_dev/activity) is pointed at a port nobody listens
# on: fuzzing never asks the real GitHub; each journeyer is a recorded failure.
nowhere=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HDOC_DEV_JWT_SECRET="fuzz-$seed" RUST_LOG=warn "$binary" --port "$port" --data-dir "$work/data" \
  --github-api "http://127.0.0.1:$nowhere" \
  >"$work/hdoc-local.log" 2>&1 &
local_pid=$!
cleanup() {
  kill "$local_pid" 2>/dev/null || true
  wait "$local_pid" 2>/dev/null || true
  if [ -n "${FUZZ_REPORT_DIR:-}" ]; then
    mkdir -p "$FUZZ_REPORT_DIR" && cp "$work"/*.ndjson "$work/hdoc-local.log" "$FUZZ_REPORT_DIR"/ 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 150); do
  if python3 -c "import urllib.request; urllib.request.urlopen('$base/openapi.json', timeout=1)" 2>/dev/null; then break; fi
  if ! kill -0 "$local_pid" 2>/dev/null; then cat "$work/hdoc-local.log"; echo "hdoc-local did not start" >&2; exit 1; fi
  sleep 0.2
done

# The data the document's examples name (user alice, article day-1-lambda,
# subject park:yosemite), so that the examples phase reaches found
# resources; and an admin with a profile of its own (fuzz-admin), so that
# its token may write articles and reviews. Prints the admin's token.
token=$(python3 - "$base" <<'PY'
import json, sys, urllib.request
base = sys.argv[1]
def call(method, path, body, token=None, expect=(200, 201)):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        assert response.status in expect, (method, path, response.status)
        return json.load(response)
admin = call("POST", "/_dev/token", {"sub": "fuzz-admin", "groups": ["admin"]})["token"]
alice = call("POST", "/_dev/token", {"sub": "alice-sub"})["token"]
call("POST", "/users", {"githubProfile": "alice", "name": "Alice"}, alice)
call("POST", "/articles", {"title": "Day 1: Lambda", "tags": ["AWS", "rust"]}, alice)
call("POST", "/reviews", {"subject": "park:yosemite", "title": "Great", "body": "Half Dome!"}, alice)
call("PUT", "/ratings/park:yosemite", {"stars": 5}, alice)
call("POST", "/users", {"githubProfile": "fuzz-admin", "name": "Fuzz admin"}, admin)
call("PUT", "/ratings/park:yosemite", {"stars": 4}, admin)
print(admin)
PY
)

log "schemathesis $SCHEMATHESIS_VERSION ($mode): $examples cases an operation, seed $seed"
# Two runs, because the one caller is the admin: the first every operation
# but DELETE /users/{id}, which would delete the admin's own profile (its id
# is in the answers the fuzzer reuses) and leave every create a 403; then
# deleting users, with creating and reading them (for the stateful phase's
# create -> delete -> read-again sequences).
# Every check runs, positive_data_acceptance ("schema-valid request
# rejected") included: the document admits exactly what the parsers take.
# Three rules it states in words, not in a schema (a made-up cursor, both or
# neither of /reviews' subject and author, a total score past 2^53 - 1) are
# kept out of the valid cases by the hooks file, which says how.
config="$PWD/scripts/schemathesis.toml"
# A fresh Idempotency-Key for each request that has a valid one (why: the file).
hooks="$PWD/scripts/fuzz_hooks.py"
fuzz() {
  local name=$1
  shift
  # From the scratch directory: schemathesis keeps files in its working directory.
  (cd "$work" && SCHEMATHESIS_HOOKS="$hooks" "$tools/bin/schemathesis" --config-file "$config" run "$base/openapi.json" --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks all \
    --max-examples "$examples" --seed "$seed" --workers 1 \
    --generation-database none --no-color \
    --report ndjson --report-ndjson-path "$work/$name.ndjson" "$@")
}
started=$(date +%s)
status=0
fuzz all-but-deleting-users --exclude-operation-id deleteUser || status=$?
if [ "$status" -eq 0 ]; then
  fuzz deleting-users --include-operation-id deleteUser --include-operation-id createUser \
    --include-operation-id getUser || status=$?
fi
elapsed=$(( $(date +%s) - started ))

# Cases per operation and phase, from the runs' events.
python3 - "$work"/*.ndjson <<'PY' || true
import collections, json, sys
phases = ["examples", "coverage", "fuzzing", "stateful"]
cases = collections.defaultdict(collections.Counter)
for path in sys.argv[1:]:
    for line in open(path):
        finished = json.loads(line).get("ScenarioFinished")
        if not finished or not finished.get("recorder"):
            continue
        recorder, phase = finished["recorder"], finished["phase"]
        for case in recorder.get("cases", {}).values():
            value = case["value"]
            # A stateful scenario runs many operations; the others, one.
            label = f"{value['method']} {value['path']}" if phase == "stateful" else recorder["label"]
            cases[label][phase] += 1
print("\ncases tried per operation (examples, coverage, fuzzing, stateful: total):")
order = lambda label: (label.split(" ", 1)[1], label)
for label in sorted(cases, key=order):
    counts = [cases[label][phase] for phase in phases]
    print(f"  {label:32} {counts[0]:4d} {counts[1]:5d} {counts[2]:5d} {counts[3]:5d}: {sum(counts):5d}")
print(f"  {'in all':32} {sum(sum(c.values()) for c in cases.values()):28d}")
PY
echo "schemathesis took ${elapsed}s"
if [ "$status" -ne 0 ]; then
  echo "hdoc-local's log:" >&2
  tail -n 50 "$work/hdoc-local.log" >&2
  echo "FUZZING FAILED: schemathesis found responses that break docs/openapi.yaml (above)" >&2
  exit "$status"
fi
log "fuzzing passed: no 5xx, every response as docs/openapi.yaml says"
