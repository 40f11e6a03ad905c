#!/bin/sh
# runc checkpoint/restore through snap and through CRIU: see scripts/bench_runc.py.
# Options go to it: --runs N (default 3), --criu PATH, --snap PATH.
set -e
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
make -s snap/snap
gcc -O2 -static -Wall -Wextra -Werror -o scripts/bench-runc-memhog scripts/bench-runc-memhog.c
exec python3 scripts/bench_runc.py "$@"
