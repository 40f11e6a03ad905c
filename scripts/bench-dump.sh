#!/bin/sh
# Dump/restore benchmark against the physical floor: see scripts/bench_dump.py.
# --sizes MIB,... (default 256,1024,4096), --runs N (3), --tree PxT ('' for none),
# --compare OLD_SNAP: every measurement also with that snap binary, side by side.
# CRIU=/path/to/criu: CRIU side by side (else criu in PATH, when `criu check` passes).
set -e
cd "$(dirname "$0")/.."
make -s snap/snap
exec python3 scripts/bench_dump.py "$@"
