#!/bin/bash
# Page server benchmark (Documentation/page-server.md): one process holding
# MIB (default 1024) of anonymous memory, dumped with --leave-running, one run
# each, interleaved: stop-the-world (--no-live) and live, to local images and
# through `snap page-server` on 127.0.0.1 writing into the same directory.
# Prints the wall time of each dump and its frozen time (--display-stats).
# Then a last dump through the page server (which kills the process), a
# restore from that directory, and the process checks every byte.
#
#   scripts/bench-pageserver.sh [MIB]
set -e
cd "$(dirname "$0")/.."
make -s snap/snap
MIB=${1:-1024}
SNAP=$PWD/snap/snap
WORK=$(mktemp -d /tmp/bench-pageserver.XXXXXX)
trap 'kill $PID 2>/dev/null; rm -rf "$WORK"' EXIT
cc -O2 -o "$WORK/bench-mem" scripts/bench-mem.c -lpthread
"$WORK/bench-mem" hold "$MIB" "$WORK/pid" "$WORK/out"
PID=$(cat "$WORK/pid")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

ms() { echo $(( ($2 - $1) / 1000000 )); }

# dump NAME DIR ARGS...: one dump, its line of results.
dump() {
	local name=$1 dir=$2 t0 t1 frozen
	shift 2
	mkdir -p "$dir"
	t0=$(date +%s%N)
	"$SNAP" dump -t "$PID" -D "$dir" --display-stats "$@" >"$dir/stats" 2>"$dir/err" || {
		echo "$name: dump failed: $(tail -1 "$dir/err")"
		exit 1
	}
	t1=$(date +%s%N)
	frozen=$(awk '/frozen time/ { print int($3 / 1000) }' "$dir/stats")
	printf '%-28s %6d ms  frozen %5d ms  live %s\n' "$name" "$(ms "$t0" "$t1")" "$frozen" \
		"$(awk '/^ *live:/ { print $2 }' "$dir/stats")"
}

# ps_dump NAME DIR ARGS...: the same through a page server writing into DIR.
ps_dump() {
	local name=$1 dir=$2
	shift 2
	rm -rf "$dir"
	mkdir -p "$dir"
	"$SNAP" page-server -D "$dir" --address 127.0.0.1 --port "$PORT" -o "$WORK/ps.log" -v 3 \
		--daemon --pidfile "$WORK/ps.pid"
	dump "$name" "$dir" "$@" --page-server --address 127.0.0.1 --port "$PORT"
	# The server exits once its dump ended; it must have said 0.
	while kill -0 "$(cat "$WORK/ps.pid")" 2>/dev/null; do sleep 0.01; done
	grep -q "are in place" "$WORK/ps.log" || { echo "$name: the page server failed"; exit 1; }
	rm -f "$WORK/ps.log"
}

echo "$MIB MiB, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$WORK/local"
dump "stw local" "$WORK/local" -R --no-live
ps_dump "stw page-server" "$WORK/ps" -R --no-live
dump "live local" "$WORK/local" -R
ps_dump "live page-server" "$WORK/ps" -R
ps_dump "stw page-server (kills)" "$WORK/ps"
"$SNAP" restore -D "$WORK/ps" -d
kill -TERM "$PID"
while kill -0 "$PID" 2>/dev/null; do sleep 0.01; done
echo "restored from the page server's images: $(cat "$WORK/out")"
