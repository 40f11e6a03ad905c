#!/bin/sh
# Live vs stop-the-world dump benchmark: see scripts/bench_live.py.
# --compare OLD_SNAP: every measurement also with that snap binary, side by side.
set -e
cd "$(dirname "$0")/.."
make -s snap/snap
exec python3 scripts/bench_live.py "$@"
