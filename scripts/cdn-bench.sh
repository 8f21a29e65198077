#!/usr/bin/env bash
# The home page through a shared cache: nginx (Debian's package) with
# proxy_cache in front of a release hdoc-local, honouring only what the API
# says (ETag, Cache-Control: s-maxage, stale-while-revalidate, private,
# no-store), as CloudFront does in AWS (template.yaml, ApiCdn).
#
# It replays the API calls of the front end's home page (Tags, the featured
# article, three news carousels, the leaderboard, the new journeyers: seven
# URLs, the ones `pages/index.js` of 100DaysOfCloudFrontend fetches) from
# CLIENTS concurrent clients for SECONDS, once through nginx and once straight
# to hdoc-local, and prints in one run:
#   - the share of API requests through the cache that reached the origin
#     (target: at most 5%), counted by nginx itself (every request it sent
#     upstream, its background revalidations included);
#   - p50 and p95 latency through the cache and straight to the origin;
#   - the warm latency of one public read (the new journeyers) straight to
#     the origin, without and with its ETag (200 against 304).
#
#   scripts/cdn-bench.sh [CLIENTS] [SECONDS]      (defaults: 8 clients, 20 s)
#   CDN_BENCH_CACHE_SECONDS=10                    HDOC_CACHE_SECONDS of the run
#
# Needs nginx: installed with apt-get when it is absent and the script runs as
# root. Builds hdoc-local in release (cargo build --release -p hdoc-local),
# serves a generated community (--demo) from a temporary data dir, and binds
# only 127.0.0.1. A benchmark that prints figures, not a test: it asserts
# nothing but that every answer was a 200 or a 304. Figures: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS="${1:-8}"
SECONDS_EACH="${2:-20}"
CACHE_SECONDS="${CDN_BENCH_CACHE_SECONDS:-10}"
log() { printf '\n==> %s\n' "$*" >&2; }

NGINX="$(command -v nginx || true)"
[ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
if [ -z "$NGINX" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "nginx is not installed: apt-get install -y nginx (as root), then run this again" >&2
    exit 1
  fi
  log "installing nginx (Debian's package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
  NGINX=/usr/sbin/nginx
fi
log "$("$NGINX" -v 2>&1)"

log "building hdoc-local in release"
cargo build --release -p hdoc-local
BIN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/hdoc-local"

WORK="$(mktemp -d /tmp/hdoc-cdn-bench.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -f "$WORK/nginx.pid" ]; then kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true; fi
  sleep 0.3
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {
  for _ in $(seq 1 600); do
    if curl -fsS -o /dev/null "$1"; then return 0; fi
    sleep 0.1
  done
  echo "nothing answers at $1" >&2
  return 1
}

API_PORT="$(free_port)"
log "hdoc-local (release, --demo) on 127.0.0.1:$API_PORT, HDOC_CACHE_SECONDS=$CACHE_SECONDS"
HDOC_CACHE_SECONDS="$CACHE_SECONDS" RUST_LOG=warn \
  "$BIN" --demo --port "$API_PORT" --data-dir "$WORK/data" >"$WORK/hdoc-local.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$API_PORT/leaderboard?limit=1"

CACHE_PORT="$(free_port)"
mkdir -p "$WORK/cache" "$WORK/nginx-tmp"
# As root, nginx's workers would run as nobody, who cannot write the cache
# in this private directory: keep them this user.
USER_LINE=""
[ "$(id -u)" -eq 0 ] && USER_LINE="user root;"
cat >"$WORK/nginx.conf" <<EOF
$USER_LINE
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx-tmp/body;
    proxy_temp_path $WORK/nginx-tmp/proxy;
    fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
    scgi_temp_path $WORK/nginx-tmp/scgi;
    # Every request nginx sends to the origin, background revalidations
    # included (subrequests): what the share reaching the origin counts.
    log_format origin '\$upstream_cache_status \$upstream_status \$request_uri';
    proxy_cache_path $WORK/cache levels=1:2 keys_zone=api:10m max_size=100m inactive=10m use_temp_path=off;
    upstream hdoc { server 127.0.0.1:$API_PORT; keepalive 32; }
    server {
        listen 127.0.0.1:$CACHE_PORT;
        location / {
            proxy_pass http://hdoc;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache api;
            # No proxy_cache_valid: how long an answer is kept is the API's
            # Cache-Control (s-maxage, stale-while-revalidate; private and
            # no-store are never kept), as CloudFront's MinTTL 0 policy.
            proxy_cache_key \$scheme\$proxy_host\$request_uri;
            proxy_cache_revalidate on;          # If-None-Match with the ETag kept
            proxy_cache_background_update on;   # stale-while-revalidate, in the background
            proxy_cache_use_stale updating;
            proxy_cache_lock on;                # one miss per URL goes to the origin
            proxy_cache_methods GET HEAD;
            log_subrequest on;
            access_log $WORK/origin.log origin if=\$upstream_status;
            add_header X-Cache-Status \$upstream_cache_status always;
        }
    }
}
EOF
log "nginx with proxy_cache on 127.0.0.1:$CACHE_PORT"
"$NGINX" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" -p "$WORK"
wait_for "http://127.0.0.1:$CACHE_PORT/leaderboard?limit=1"
# That warm-up request reached the origin; the count starts now.
: >"$WORK/origin.log"

python3 - "$CACHE_PORT" "$API_PORT" "$CLIENTS" "$SECONDS_EACH" "$WORK/origin.log" "$CACHE_SECONDS" <<'PY'
import http.client, statistics, sys, threading, time

cache_port, api_port, clients, seconds = (int(a) for a in sys.argv[1:5])
origin_log, cache_seconds = sys.argv[5], int(sys.argv[6])

# The API calls of the home page (pages/index.js of the front end's master),
# as its rewrites send them to the API.
HOME = [
    "/tags?limit=20",                       # Tags
    "/articles",                            # FeaturedArticle
    "/articles?tag=AWS&limit=5",            # NewsCarousel category=AWS
    "/articles?tag=Azure&limit=5",          # NewsCarousel category=Azure
    "/articles?tag=GCP&limit=5",            # NewsCarousel category=GCP
    "/leaderboard?limit=5",                 # HomeLeaderboard
    "/users?order=newest&limit=10",         # RecentUsers ("New Journeyers")
]


def replay(port):
    """CLIENTS clients, each viewing the home page again and again for
    SECONDS: every latency (ms) and every status."""
    latencies, statuses, lock = [], {}, threading.Lock()
    deadline = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, seen = [], {}
        while time.monotonic() < deadline:
            for path in HOME:
                started = time.perf_counter()
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                mine.append((time.perf_counter() - started) * 1000)
                seen[response.status] = seen.get(response.status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for status, n in seen.items():
                statuses[status] = statuses.get(status, 0) + n

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, statuses


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def warm(path, etag=None, n=400):
    """Sequential warm reads of one URL straight to the origin, on one
    connection: p50 and p95 in ms, the status, the body's size."""
    conn = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
    headers = {"If-None-Match": etag} if etag else {}
    times, status, size = [], None, 0
    for i in range(n + 20):
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        if i >= 20:  # the first ones warm the connection and the engine
            times.append((time.perf_counter() - started) * 1000)
        status, size = response.status, len(body)
    conn.close()
    return pct(times, 50), pct(times, 95), status, size


cached, cached_statuses = replay(cache_port)
with open(origin_log) as f:
    origin = [line.split() for line in f if line.strip()]
direct, direct_statuses = replay(api_port)
for name, statuses in (("through nginx", cached_statuses), ("straight", direct_statuses)):
    bad = {s: n for s, n in statuses.items() if s not in (200, 304)}
    if bad:
        sys.exit(f"unexpected statuses {name}: {bad}")

kinds = {}
for fields in origin:
    kinds[fields[0]] = kinds.get(fields[0], 0) + 1
share = 100 * len(origin) / len(cached)
print()
print(f"home page: {len(HOME)} API calls a view, {clients} concurrent clients, {seconds} s each way,"
      f" HDOC_CACHE_SECONDS={cache_seconds} (s-maxage={-(-cache_seconds // 2)},"
      f" stale-while-revalidate={cache_seconds - -(-cache_seconds // 2)})")
print(f"through nginx proxy_cache: {len(cached)} requests, {len(cached) / seconds:.0f}/s;"
      f" reached the origin: {len(origin)} = {share:.2f}% (target <= 5%)"
      f" [{', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}]")
print(f"straight to hdoc-local:    {len(direct)} requests, {len(direct) / seconds:.0f}/s; reached the origin: 100%")
print(f"latency through the cache: p50 {pct(cached, 50):.2f} ms, p95 {pct(cached, 95):.2f} ms")
print(f"latency to the origin:     p50 {pct(direct, 50):.2f} ms, p95 {pct(direct, 95):.2f} ms")

path = "/users?order=newest&limit=10"
conn = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
conn.request("GET", path)
response = conn.getresponse()
response.read()
etag = response.getheader("ETag")
conn.close()
p50, p95, status, size = warm(path)
p50e, p95e, status_e, size_e = warm(path, etag)
print(f"warm public read {path}, one client, straight to the origin:")
print(f"  without ETag: {status}, {size} bytes, p50 {p50:.2f} ms, p95 {p95:.2f} ms")
print(f"  If-None-Match {etag}: {status_e}, {size_e} bytes, p50 {p50e:.2f} ms, p95 {p95e:.2f} ms")
if share > 5:
    sys.exit(f"{share:.2f}% of the requests through the cache reached the origin: more than 5%")
PY
