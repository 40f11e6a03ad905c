#!/bin/sh
# Live migration on one machine, from one network namespace to another:
# a process writing random pages (scripts/bench-incr-writer.c) is moved with
#   1. pre-copy: ROUNDS pre-dumps while it runs in A, each sending what
#      changed since the one before (snap pre-dump --prev-images-dir) to a
#      `snap page-server` in B, over a veth pair (10.79.0.1 in A, 10.79.0.2
#      in B); each set's other images (a few hundred KiB) follow it;
#   2. a final short dump on top of them (dump --prev-images-dir --track-mem
#      --page-server): downtime starts with its freeze;
#   3. the final set's images but the pages handed to B;
#   4. in B, `snap lazy-pages` and `snap restore --lazy-pages` of the chain
#      there: the process runs as soon as its non-memory state (and its
#      eagerly restored mappings) is back; downtime ends there, and the rest
#      of its memory comes in from B's own copy.
# and, for comparison, the same process moved stop-the-world (dump, then an
# eager restore).
#
# Usage: scripts/migrate.sh [MiB [PAGES_PER_MS [ROUNDS]]]   (root; defaults 1024 20 2)
set -eu
# The dumped writer is a daemon: reaped by init, which here takes up to 2 s,
# and the restore waits for its pid. As a child subreaper, this shell reaps
# it as soon as it dies (PR_SET_CHILD_SUBREAPER outlives exec), so that the
# downtime is the migration's own.
if [ -z "${SNAP_MIGRATE_REAPER:-}" ]; then
	export SNAP_MIGRATE_REAPER=1
	exec python3 -c 'import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
os.execvp("sh", ["sh"] + sys.argv[1:])' "$0" "$@"
fi
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
	ip -n "$ns" link set lo up
done
ip link add mig0 netns "$A" type veth peer name mig1 netns "$B"
ip -n "$A" addr add 10.79.0.1/24 dev mig0
ip -n "$B" addr add 10.79.0.2/24 dev mig1
ip -n "$A" link set mig0 up
ip -n "$B" link set mig1 up

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

# Live: pre-copy rounds and a final dump, each sending its pages to a page
# server in B; the images but the pages follow; a lazy restore in B.
port=7790
serve() {
	mkdir -p "$WORK/b/$1"
	nsenter --net=/run/netns/"$B" "$SNAP" page-server -D "$WORK/b/$1" --address 10.79.0.2 \
		--port "$port" -o "$WORK/ps-$1.log" --pidfile "$WORK/ps-$1.pid" &
	while [ ! -s "$WORK/ps-$1.pid" ]; do sleep 0.01; done
}
# The images but the pages of set @1 (and its parent link), next to its pages in B.
hand_over() {
	cp -P "$WORK/a/$1"/* "$WORK/b/$1/"
}
start_writer live
pid=$(cat "$WORK/live.pid")
prev=""
mkdir "$WORK/a" "$WORK/b"
for n in $(seq 1 "$ROUNDS"); do
	serve "pre$n"
	nsenter --net=/run/netns/"$A" "$SNAP" pre-dump -t "$pid" -D "$WORK/a/pre$n" $prev \
		--page-server --address 10.79.0.2 --port "$port" \
		-o "$WORK/pre$n.log" --display-stats >"$WORK/pre$n.stats"
	wait
	hand_over "pre$n"
	echo "  pre-dump $n: frozen $(stat_ms "$WORK/pre$n.stats" 'frozen time') ms," \
		"$(awk '/pages written/ { print $3 }' "$WORK/pre$n.stats") pages sent to $B"
	prev="--prev-images-dir ../pre$n"
	sleep 0.5
done
serve img
nsenter --net=/run/netns/"$A" "$SNAP" dump -t "$pid" -D "$WORK/a/img" $prev --track-mem \
	--page-server --address 10.79.0.2 --port "$port" \
	-o "$WORK/dump.log" --display-stats >"$WORK/dump.stats"
wait
# The hand-over: the final set's images but the pages (a few hundred KiB).
t0=$(date +%s%N)
hand_over img
copy=$(( ($(date +%s%N) - t0) / 1000 ))
nsenter --net=/run/netns/"$B" "$SNAP" lazy-pages -D "$WORK/b/img" \
	-o "$WORK/lazy.log" --display-stats >"$WORK/lazy.stats" &
server=$!
while [ ! -S "$WORK/b/img/lazy-pages.sock" ]; do sleep 0.01; done
nsenter --net=/run/netns/"$B" "$SNAP" restore -D "$WORK/b/img" -d --lazy-pages \
	--pidfile "$WORK/live.pid" -o "$WORK/restore.log" --display-stats >"$WORK/restore.stats"
check_moved live
wait "$server"
frozen=$(stat_ms "$WORK/dump.stats" 'frozen time')
# From the freeze on: what a dump does before it (seizing, catch-up rounds) the process runs through.
down() {
	echo "$(stat_ms "$1" 'total time') $(stat_ms "$1" 'freezing time')" | awk '{ print $1 - $2 }'
}
total=$(down "$WORK/dump.stats")
rst=$(stat_ms "$WORK/restore.stats" 'restore time')
echo "  final dump: frozen $frozen ms, $(awk '/pages written/ { print $3 }' "$WORK/dump.stats") pages" \
	"sent to $B ($(awk '/pages in parent/ { print $4 }' "$WORK/dump.stats") in the pre-dumps)"
echo "  hand-over of the images but the pages: $(echo "$copy" | awk '{ print $1 / 1000 }') ms" \
	"($(du -sk "$WORK/a/img" | cut -f1) KiB)"
echo "  lazy restore in $B: running after $rst ms, of which" \
	"$(stat_ms "$WORK/restore.stats" 'forking time') ms making the processes (waiting for the" \
	"old pid to be reaped is part of it); every page in $(awk '/fill/ { print $3 }' \
	"$WORK/lazy.stats") ms later"
live_down=$(echo "$total $copy $rst" | awk '{ print $1 + $2 / 1000 + $3 }')
kill -9 "$(cat "$WORK/live.pid")"

# Stop-the-world: a full dump, an eager restore.
start_writer stw
nsenter --net=/run/netns/"$A" "$SNAP" dump -t "$(cat "$WORK/stw.pid")" -D "$WORK/stw" \
	-o "$WORK/stw-dump.log" --display-stats >"$WORK/stw-dump.stats"
nsenter --net=/run/netns/"$B" "$SNAP" restore -D "$WORK/stw" -d --pidfile "$WORK/stw.pid" \
	-o "$WORK/stw-restore.log" --display-stats >"$WORK/stw-restore.stats"
check_moved stw
stw_down=$(echo "$(down "$WORK/stw-dump.stats") $(stat_ms "$WORK/stw-restore.stats" 'restore time')" |
	awk '{ print $1 + $2 }')
kill -9 "$(cat "$WORK/stw.pid")"

echo "  stop-the-world: dump frozen $(stat_ms "$WORK/stw-dump.stats" 'frozen time') ms, restore" \
	"$(stat_ms "$WORK/stw-restore.stats" 'restore time') ms"
echo "Downtime (the final dump from its freeze to its end, the pages sent and the process killed,"
echo "plus the hand-over, plus restore until the process runs):"
echo "  pre-copy + post-copy: $live_down ms"
echo "  stop-the-world:       $stw_down ms"
echo "$live_down $stw_down" | awk '{ printf "  ratio: %.2f\n", $1 / $2 }'
