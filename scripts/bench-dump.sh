#!/bin/sh
# Dump/restore benchmark: see scripts/bench_dump.py.
set -e
cd "$(dirname "$0")/.."
make -s snap/snap
exec python3 scripts/bench_dump.py "$@"
