#!/bin/sh
# Dump/restore benchmark: see scripts/bench_dump.py.
# --compare OLD_SNAP: every measurement also with that snap binary, side by side.
set -e
cd "$(dirname "$0")/.."
make -s snap/snap
exec python3 scripts/bench_dump.py "$@"
