#!/bin/sh
# Dump and restore time against the number of fds: see scripts/bench_fds.py.
# --counts 100,1000,10000 --runs 3; --compare OLD_SNAP: also with that binary.
set -e
cd "$(dirname "$0")/.."
make -s snap/snap
exec python3 scripts/bench_fds.py "$@"
