#!/bin/sh
# Redis BGSAVE vs snap dump -R of the same redis-server under load, 1 and 4 GiB:
# see scripts/bench_redis.py. Needs redis-server and redis-tools
# (scripts/install-deps.sh) and about 3x the largest dataset free on /dev/shm.
set -e
cd "$(dirname "$0")/.."
make -s snap/snap
exec python3 scripts/bench_redis.py "$@"
