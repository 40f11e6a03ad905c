#!/bin/sh
# Incremental vs full stop-the-world dump benchmark: see scripts/bench_incr.py.
set -e
cd "$(dirname "$0")/.."
make -s snap/snap
exec python3 scripts/bench_incr.py "$@"
