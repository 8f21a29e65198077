#!/usr/bin/env bash
# The soak (issue 13): 10,000 mixed operations from 16 concurrent clients with
# every kind of DynamoDB fault injected, on the embedded engine and then on
# moto, each bounded in time (MAX_SECONDS, default 600). Prints ops/s, the
# status counts, the faults injected and the drift reconcile finds (target 0).
# Not part of the test command: it takes minutes. Figures: docs/faults.md.
#   scripts/soak.sh [OPS] [CLIENTS] [MAX_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ops=${1:-10000} clients=${2:-16} max=${3:-600}

cargo build -p hdoc-tests --example soak
echo "==> soak on the embedded engine"
RUST_LOG=error target/debug/examples/soak "$ops" "$clients" "$max"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 scripts/moto_server.py "$port" >/dev/null 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
  sleep 0.2
done
echo "==> soak on moto (127.0.0.1:$port)"
HDOC_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$port" HDOC_TEST_S3_ENDPOINT="http://127.0.0.1:$port" \
  RUST_LOG=error target/debug/examples/soak "$ops" "$clients" "$max"
