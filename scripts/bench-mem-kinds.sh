#!/bin/sh
# Sparse and swapped-out memory: see scripts/bench_mem_kinds.py.
# --compare OLD_SNAP: every measurement also with that snap binary, side by side.
set -e
cd "$(dirname "$0")/.."
make -s snap/snap
make -s -C test/zdtm static/mem_sparse static/mem_swap
exec python3 scripts/bench_mem_kinds.py "$@"
