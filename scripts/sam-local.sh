#!/usr/bin/env bash
# SAM's own local runtime, on Docker, for every function and every event file:
#   1. installs and starts what it needs on a fresh machine (as root: docker.io,
#      qemu-user-static, debootstrap; aws-sam-cli and cargo-lambda at the
#      versions .ci/run pins, in the same cached virtualenv);
#   2. runs `sam build` unless .aws-sam/build is current (or --build-dir names
#      one just made, as .ci/run does);
#   3. the Lambda base image: the real public.ecr.aws/lambda/provided:al2023
#      (arm64) when it can be pulled, else a stand-in built offline (a minimal
#      Debian root filesystem from debootstrap with ca-certificates, imported
#      with `docker import`; SAM brings the Runtime Interface Emulator);
#   4. `hdoc-bench sam-local` (bench/src/sam.rs): every file of events/ sent
#      with `sam local invoke` to the arm64 bootstrap `sam build` made (run by
#      qemu: README "sam local" says why not an x86_64 build), each answer
#      checked as the smoke test checks it; then the public routes over HTTP
#      through `sam local start-api`. The functions' DynamoDB, S3 and GitHub
#      are the bench's embedded engines listening on Docker's bridge address,
#      given to the containers with --env-vars.
# Usage: scripts/sam-local.sh [--build-dir DIR] [--verbose]
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }
die() { echo "sam-local: $*" >&2; exit 1; }
started=$(date +%s)

build_dir=""
verbose=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --verbose | -v) verbose=(--verbose); shift ;;
    *) die "unknown argument $1 (usage: scripts/sam-local.sh [--build-dir DIR] [--verbose])" ;;
  esac
done

cache="${XDG_CACHE_HOME:-$HOME/.cache}/hdoc"
mkdir -p "$cache"
root=false
[ "$(id -u)" = 0 ] && root=true

apt_updated=false
apt_install() { # package... (as root, once per run)
  $root || die "$* missing: install it (apt-get install $*) or run as root"
  if ! $apt_updated; then apt-get update -qq; apt_updated=true; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# ---- Docker --------------------------------------------------------------------
if ! command -v dockerd >/dev/null 2>&1; then
  log "installing docker.io"
  apt_install docker.io
fi
if ! docker info >/dev/null 2>&1; then
  $root || die "the Docker daemon is not running (start it, or run as root)"
  log "starting dockerd (log: $cache/dockerd.log)"
  setsid nohup dockerd >"$cache/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -20 "$cache/dockerd.log"; die "dockerd did not start"; }
fi
# SAM puts its containers on the default bridge: the stores listen on its gateway.
bridge=$(docker network inspect bridge --format '{{(index .IPAM.Config 0).Gateway}}')
if [ -z "$bridge" ]; then # the default bridge often names no gateway: its interface's address
  bridge_if=$(docker network inspect bridge --format '{{index .Options "com.docker.network.bridge.name"}}')
  bridge=$(ip -4 -o addr show "${bridge_if:-docker0}" | awk '{print $4}' | cut -d/ -f1 | head -1)
fi
[ -n "$bridge" ] || die "Docker's bridge network has no gateway address"

# ---- SAM and cargo-lambda, as .ci/run pins them ----------------------------------
pin() { sed -n "s/^$1=\"\(.*\)\"$/\1/p" .ci/run; }
SAM_CLI_VERSION=$(pin SAM_CLI_VERSION)
CARGO_LAMBDA_VERSION=$(pin CARGO_LAMBDA_VERSION)
[ -n "$SAM_CLI_VERSION" ] && [ -n "$CARGO_LAMBDA_VERSION" ] || die "no versions pinned in .ci/run"
sam_tools="$cache/sam-build-tools-sam-$SAM_CLI_VERSION-cargo-lambda-$CARGO_LAMBDA_VERSION"
if [ ! -x "$sam_tools/bin/sam" ] || [ ! -x "$sam_tools/bin/cargo-lambda" ]; then
  log "installing aws-sam-cli==$SAM_CLI_VERSION and cargo-lambda==$CARGO_LAMBDA_VERSION into $sam_tools"
  python3 -m venv "$sam_tools"
  "$sam_tools/bin/pip" install --quiet --disable-pip-version-check \
    "aws-sam-cli==$SAM_CLI_VERSION" "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
sam="$sam_tools/bin/sam"

# ---- sam build, unless a current one exists ---------------------------------------
# Current: made from the sources the functions are built from as they are
# now (tracked or not; every manifest, as cargo resolves features over the
# whole workspace), by this toolchain and these tools. .ci/run passes the
# build it has just made.
if [ -z "$build_dir" ]; then
  build_dir=.aws-sam/build
  stamp_file=.aws-sam/hdoc-sources.sha256
  stamp=$( {
    git ls-files -co --exclude-standard -- Cargo.toml Cargo.lock template.yaml .cargo \
      '*Cargo.toml' 'shared/*.rs' 'functions/*.rs' | sort | xargs sha256sum
    rustc --version
    echo "sam $SAM_CLI_VERSION cargo-lambda $CARGO_LAMBDA_VERSION"
  } | sha256sum | cut -d' ' -f1)
  if [ -f "$build_dir/template.yaml" ] && [ "$(cat "$stamp_file" 2>/dev/null)" = "$stamp" ]; then
    log "reusing $build_dir (sam build of these sources)"
  else
    log "sam build (every function, release, arm64; minutes on 2 cores)"
    rustup target add aarch64-unknown-linux-gnu
    rm -f "$stamp_file"
    PATH="$sam_tools/bin:$PATH" SAM_CLI_TELEMETRY=0 "$sam" build --build-dir "$build_dir"
    echo "$stamp" >"$stamp_file"
  fi
fi
[ -f "$build_dir/template.yaml" ] || die "$build_dir holds no sam build"

# ---- arm64 on this machine: qemu through binfmt_misc --------------------------------
if [ "$(uname -m)" != aarch64 ]; then
  if [ ! -e /usr/lib/binfmt.d/qemu-aarch64.conf ]; then
    log "installing qemu-user-static (runs the arm64 bootstraps)"
    apt_install qemu-user-static
  fi
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    $root || die "arm64 binaries are not registered with binfmt_misc (run as root once)"
    mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    # The F flag opens the interpreter now, so it works inside containers too.
    cat /usr/lib/binfmt.d/qemu-aarch64.conf >/proc/sys/fs/binfmt_misc/register
  fi
fi

# ---- the Lambda base image ------------------------------------------------------------
image=public.ecr.aws/lambda/provided:al2023-arm64
if docker image inspect "$image" >/dev/null 2>&1 || timeout 120 docker pull --platform linux/arm64 "$image" >/dev/null 2>&1; then
  log "base image: $image"
else
  image=hdoc/lambda-stand-in:bookworm-arm64
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    rootfs="$cache/rootfs-bookworm-arm64.tar"
    if [ ! -f "$rootfs" ]; then
      command -v debootstrap >/dev/null 2>&1 || { log "installing debootstrap"; apt_install debootstrap; }
      log "building a stand-in root filesystem with debootstrap (arm64, minbase + ca-certificates)"
      $root || die "debootstrap needs root"
      tree=$(mktemp -d)
      debootstrap --arch=arm64 --variant=minbase --include=ca-certificates \
        bookworm "$tree" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 \
        || { tail -20 "$cache/debootstrap.log"; die "debootstrap failed"; }
      rm -rf "$tree"/var/cache/apt/archives/*.deb "$tree"/var/lib/apt/lists/*
      tar -C "$tree" -cf "$rootfs.tmp" . && mv "$rootfs.tmp" "$rootfs"
      rm -rf "$tree"
    fi
    # `docker import --platform` needs an experimental daemon; `docker load`
    # of an image archive whose configuration says arm64 works on any.
    log "loading $rootfs as $image"
    python3 - "$rootfs" "$image" <<'PY' | docker load >/dev/null
import hashlib, io, json, sys, tarfile
rootfs, tag = sys.argv[1], sys.argv[2]
digest = hashlib.sha256()
with open(rootfs, "rb") as layer:
    for chunk in iter(lambda: layer.read(1 << 20), b""):
        digest.update(chunk)
config = json.dumps({
    "architecture": "arm64", "os": "linux",
    "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
    "rootfs": {"type": "layers", "diff_ids": [f"sha256:{digest.hexdigest()}"]},
    "history": [{"created_by": "debootstrap --variant=minbase --include=ca-certificates bookworm"}],
}).encode()
config_name = hashlib.sha256(config).hexdigest() + ".json"
manifest = json.dumps([{"Config": config_name, "RepoTags": [tag], "Layers": ["layer.tar"]}]).encode()
with tarfile.open(fileobj=sys.stdout.buffer, mode="w|") as out:
    for name, data in [(config_name, config), ("manifest.json", manifest)]:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        out.addfile(info, io.BytesIO(data))
    out.add(rootfs, arcname="layer.tar")
PY
  fi
  log "base image: $image (a stand-in: public.ecr.aws is not reachable from here)"
fi

# ---- every function, every event ------------------------------------------------------
# Containers SAM leaves behind (an invocation stopped while its container
# ran, start-api's warm ones): SAM names its image <base repo>:rapid-arm64.
cleanup() { docker ps -q --filter "ancestor=${image%:*}:rapid-arm64" | xargs -r docker rm -f >/dev/null 2>&1 || true; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log "sam local invoke and start-api (stores on $bridge, Docker's bridge)"
cargo run --quiet -p hdoc-bench -- sam-local --sam "$sam" --host "$bridge" --port "$port" "${verbose[@]}" -- \
  --template "$build_dir/template.yaml" --invoke-image "$image" --skip-pull-image \
  --parameter-overrides Stage=dev --region us-east-1
echo "sam-local: passed in $(( $(date +%s) - started )) s"
