#!/usr/bin/env bash
# Every cargo command of the README and of the test scripts must find the
# dependencies the others built: cargo compiles a crate again whenever the
# packages a command selects turn on other features of it. This resolves the
# features of every crate for `--workspace --all-targets` and for each other
# selection the scripts use (cargo tree, no compiling: seconds), and fails on
# any difference, naming the crate and the features (fix: hack/Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

features() { # cargo tree arguments...
  cargo tree --quiet "$@" -f '{p} [{f}]' --prefix none | sed 's/ (\*)$//; s/ (proc-macro)//' | sort -u
}
# (dev edges included: what --all-targets builds; cargo tree's own --all-targets means
# every platform.)
all=$(features --workspace -e normal,build,dev)
status=0
# `-e normal,build` resolves as a build without dev-dependencies does.
for selection in "--workspace" "-p hdoc-local" "-p hdoc-bench" "-p hdoc-tests"; do
  # shellcheck disable=SC2086 # the selection is two words
  differ=$(comm -13 <(echo "$all") <(features $selection -e normal,build) | grep -v ' (/' || true)
  if [ -n "$differ" ]; then
    echo "check-features: \`cargo build $selection\` resolves these differently from --workspace --all-targets" \
      "(which has: see \`cargo tree --workspace -e features -i CRATE\`):" >&2
    echo "$differ" >&2
    status=1
  fi
done
[ $status = 0 ] && echo "check-features: --workspace, -p hdoc-local, -p hdoc-bench and -p hdoc-tests resolve every crate's features as --workspace --all-targets does"
exit $status
