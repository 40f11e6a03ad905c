#!/bin/sh
# Live migration on one machine, from one network namespace to another:
# a process writing random pages (scripts/bench-incr-writer.c) is moved with
#   1. pre-copy: ROUNDS pre-dumps while it runs (each saves what changed
#      since the one before: snap pre-dump --prev-images-dir);
#   2. a final short dump (dump --prev-images-dir --track-mem): downtime
#      starts with its freeze;
#   3. the chain folded into one image (snap dedup);
#   4. post-copy: in the other namespace, `snap lazy-pages` and
#      `snap restore --lazy-pages`: the process runs as soon as its
#      non-memory state is back; downtime ends there.
# and, for comparison, the same process moved stop-the-world (dump, then an
# eager restore). Both "hosts" share this machine's file system, so the
# images are handed over as files: pre-dumps through the page server are not
# supported yet (Documentation/page-server.md).
#
# Usage: scripts/migrate.sh [MiB [PAGES_PER_MS [ROUNDS]]]   (root; defaults 1024 20 2)
set -eu
MIB=${1:-1024}
RATE=${2:-20}
ROUNDS=${3:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SNAP=$ROOT/snap/snap
WORK=$(mktemp -d /var/tmp/snap-migrate.XXXXXX)
A=snap-mig-a-$$
B=snap-mig-b-$$

cleanup() {
	for f in "$WORK"/*.pid; do
		[ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true
	done
	ip netns delete "$A" 2>/dev/null || true
	ip netns delete "$B" 2>/dev/null || true
	[ -n "${KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

[ -x "$SNAP" ] || { echo "migrate.sh: build snap first (make)" >&2; exit 1; }
cc -O2 -Wall -Wextra -Werror -o "$WORK/writer" "$ROOT/scripts/bench-incr-writer.c"
for ns in "$A" "$B"; do
	ip netns add "$ns"
	ip netns exec "$ns" ip link set lo up
done

# A stat line of snap --display-stats, in ms.
stat_ms() {
	awk -v k="$2" '$0 ~ "^  " k ":" { print $(NF - 1) / 1000 }' "$1"
}

# Start a writer in namespace A; its pid in $WORK/$1.pid.
start_writer() {
	nsenter --net=/run/netns/"$A" "$WORK/writer" "$MIB" "$WORK/$1.pid" "$RATE"
	while [ ! -s "$WORK/$1.pid" ]; do sleep 0.1; done
	sleep 1
}

# The writer of @1 runs in namespace B now.
check_moved() {
	pid=$(cat "$WORK/$1.pid")
	[ "$(readlink "/proc/$pid/ns/net")" = "$(nsenter --net=/run/netns/"$B" readlink /proc/self/ns/net)" ] || {
		echo "migrate.sh: pid $pid is not running in $B" >&2
		exit 1
	}
}

echo "A process writing $RATE random pages per ms over $MIB MiB, moved from netns $A to $B."

# Live: pre-copy rounds, a final dump, lazy restore.
start_writer live
pid=$(cat "$WORK/live.pid")
prev=""
for n in $(seq 1 "$ROUNDS"); do
	nsenter --net=/run/netns/"$A" "$SNAP" pre-dump -t "$pid" -D "$WORK/pre$n" $prev \
		-o "$WORK/pre$n.log" --display-stats >"$WORK/pre$n.stats"
	echo "  pre-dump $n: frozen $(stat_ms "$WORK/pre$n.stats" 'frozen time') ms," \
		"$(awk '/pages written/ { print $3 }' "$WORK/pre$n.stats") pages"
	prev="--prev-images-dir ../pre$n"
	sleep 0.5
done
nsenter --net=/run/netns/"$A" "$SNAP" dump -t "$pid" -D "$WORK/img" $prev --track-mem \
	-o "$WORK/dump.log" --display-stats >"$WORK/dump.stats"
"$SNAP" dedup -D "$WORK/img" -o "$WORK/dedup.log"
nsenter --net=/run/netns/"$B" "$SNAP" lazy-pages -D "$WORK/img" -o "$WORK/lazy.log" &
server=$!
while [ ! -S "$WORK/img/lazy-pages.sock" ]; do sleep 0.01; done
nsenter --net=/run/netns/"$B" "$SNAP" restore -D "$WORK/img" -d --lazy-pages --pidfile "$WORK/live.pid" \
	-o "$WORK/restore.log" --display-stats >"$WORK/restore.stats"
check_moved live
wait "$server"
frozen=$(stat_ms "$WORK/dump.stats" 'frozen time')
total=$(stat_ms "$WORK/dump.stats" 'total time')
rst=$(stat_ms "$WORK/restore.stats" 'restore time')
echo "  final dump: frozen $frozen ms, $(awk '/pages written/ { print $3 }' "$WORK/dump.stats") pages" \
	"($(awk '/pages in parent/ { print $4 }' "$WORK/dump.stats") in the pre-dumps)"
echo "  lazy restore: running after $rst ms, of which $(stat_ms "$WORK/restore.stats" 'forking time')" \
	"ms making the processes (waiting for the old pid to be reaped is part of it)"
live_down=$(echo "$total $rst" | awk '{ print $1 + $2 }')
kill -9 "$(cat "$WORK/live.pid")"

# Stop-the-world: a full dump, an eager restore.
start_writer stw
nsenter --net=/run/netns/"$A" "$SNAP" dump -t "$(cat "$WORK/stw.pid")" -D "$WORK/stw" \
	-o "$WORK/stw-dump.log" --display-stats >"$WORK/stw-dump.stats"
nsenter --net=/run/netns/"$B" "$SNAP" restore -D "$WORK/stw" -d --pidfile "$WORK/stw.pid" \
	-o "$WORK/stw-restore.log" --display-stats >"$WORK/stw-restore.stats"
check_moved stw
stw_down=$(echo "$(stat_ms "$WORK/stw-dump.stats" 'total time') $(stat_ms "$WORK/stw-restore.stats" 'restore time')" |
	awk '{ print $1 + $2 }')
kill -9 "$(cat "$WORK/stw.pid")"

echo "  stop-the-world: dump frozen $(stat_ms "$WORK/stw-dump.stats" 'frozen time') ms, restore" \
	"$(stat_ms "$WORK/stw-restore.stats" 'restore time') ms"
echo "Downtime (the final dump's whole run, from freeze to kill, plus restore until the process runs):"
echo "  pre-copy + post-copy: $live_down ms"
echo "  stop-the-world:       $stw_down ms"
echo "$live_down $stw_down" | awk '{ printf "  ratio: %.2f\n", $1 / $2 }'
