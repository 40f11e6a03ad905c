#!/bin/sh
# Copy-on-write sharing benchmark: see scripts/bench_cow.py.
# --compare OLD_SNAP: every measurement also with that snap binary, side by side.
set -e
cd "$(dirname "$0")/.."
make -s snap/snap
exec python3 scripts/bench_cow.py "$@"
