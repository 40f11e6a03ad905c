#!/bin/sh
# Sparse and swapped-out memory: see scripts/bench_mem_kinds.py.
set -e
cd "$(dirname "$0")/.."
make -s snap/snap
make -s -C test/zdtm static/mem_sparse static/mem_swap
exec python3 scripts/bench_mem_kinds.py "$@"
