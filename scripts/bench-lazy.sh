#!/bin/bash
# Lazy restore against eager restore of the same image (snap/lazy/README.md).
# For each size (MiB, default "1024 4096"): a process with that much private
# anonymous memory, every page different (test/zdtm/static/mem_lazy), is
# dumped once; then, interleaved, RUNS eager restores and RUNS lazy ones.
# Printed per size, medians, in ms:
#   eager: snap restore's own "restore time" (--display-stats: from its start
#          to the process running), and the wall time of `snap restore -d`
#   lazy:  the same with --lazy-pages
#   lazy fill: from the lazy restore's start to the lazy-pages server's exit
#          (every page in)
#   server CPU per page: its user+sys CPU over the pages it placed (UFFDIO_COPY)
# With CRIU=/path/to/criu (a CRIU that runs on this kernel: Documentation/
# benchmarks.md), the same process is also dumped by CRIU and, interleaved,
# lazily restored by `criu lazy-pages` + `criu restore --lazy-pages -d`:
#   criu lazy: the wall time of `criu restore -d --lazy-pages` (to the process
#          running); criu fill: from its start to `criu lazy-pages`'s exit
# With OLD=/path/to/another/snap (say main's), its lazy-pages server and
# restore fill the same image too, interleaved (the eager restore is this
# tree's):
#   old fill, old CPU: the lazy fill and server CPU per page with OLD
# With REMOTE=1, also (for this tree's snap, and OLD's) a lazy fill whose
# pages come from a `snap page-server` on 127.0.0.1 (lazy-pages
# --page-server; the restore's directory has no pages-*.img):
#   remote fill: from the restore's start to lazy-pages's exit, and MB/s
# Usage: [CRIU=...] [OLD=...] [REMOTE=1] scripts/bench-lazy.sh [MiB...]   (RUNS=3; root)
set -e
cd "$(dirname "$0")/.."
SNAP=$PWD/snap/snap
TEST=$PWD/test/zdtm/static/mem_lazy
RUNS=${RUNS:-3}
SIZES=${*:-1024 4096}
WORK=$(mktemp -d /var/tmp/snap-bench-lazy.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Microseconds, read by the shell itself: forking date costs this VM several ms.
stamp() { printf -v "$1" %s "${EPOCHREALTIME/./}"; }
# Milliseconds since the stamp $1, read first.
since() { local t=${EPOCHREALTIME/./}; awk -v a="$1" -v b="$t" 'BEGIN {print (b - a) / 1000}'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# Gone and reaped: a zombie would keep the pid busy for the next restore.
gone() { while [ -e "/proc/$1" ]; do sleep 0.02; done; }
rtime() { awk '/restore time:/ {print $3 / 1000}' "$1"; }

# One lazy restore with snap $1: the fill and CPU per page into $d/${2}fill, ${2}cpu.
# $3: "remote": the pages from a page server on $d/img, the restore on $d/np.
lazy() {
	local img=$d/img ps=() port
	if [ "$3" = remote ]; then
		img=$d/np
		port=$((20000 + RANDOM % 20000))
		"$1" page-server -D "$d/img" --address 127.0.0.1 --port "$port" -o "$d/ps.log" &
		ps=(--page-server --address 127.0.0.1 --port "$port")
		sleep 0.3
	fi
	rm -f "$img/lazy-pages.sock"
	"$1" lazy-pages -D "$img" "${ps[@]}" -o "$d/lazy.log" --display-stats >"$d/server.out" &
	server=$!
	while [ ! -S "$img/lazy-pages.sock" ]; do sleep 0.01; done
	stamp t0
	"$1" restore -D "$img" -d --lazy-pages -o "$d/lazy-restore.log" \
		--display-stats >"$d/stats"
	[ -n "$2" ] || since "$t0" >>"$d/lazy_wall"
	[ -n "$2" ] || rtime "$d/stats" >>"$d/lazy"
	wait "$server"
	since "$t0" >>"$d/${2}fill"
	awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "copied") pages = $(i+1) + 0 }
	     /cpu user/ { for (i = 1; i <= NF; i++) { if ($i == "user") u = $(i+1); if ($i == "sys") s = $(i+1) } }
	     END { printf "%.0f\n", (u + s) * 1e6 / pages }' "$d/server.out" >>"$d/${2}cpu"
	kill -9 "$pid"; gone "$pid"
	[ "$3" != remote ] || wait
}

for mib in $SIZES; do
	d=$WORK/$mib
	mkdir -p "$d"
	"$TEST" "$mib" --pidfile="$d/pid" --outfile="$d/out"
	pid=$(cat "$d/pid")
	"$SNAP" dump -t "$pid" -D "$d/img" -o "$d/dump.log"
	gone "$pid"
	if [ -n "$CRIU" ]; then
		"$TEST" "$mib" --pidfile="$d/pid" --outfile="$d/out"
		cpid=$(cat "$d/pid")
		mkdir -p "$d/cimg"
		"$CRIU" dump -t "$cpid" -D "$d/cimg" -o dump.log
		gone "$cpid"
	fi
	mkdir -p "$d/np"
	find "$d/img" -maxdepth 1 -type f ! -name 'pages-*' ! -name '*.log' -exec cp {} "$d/np" \;
	for f in eager eager_wall lazy lazy_wall fill cpu old_fill old_cpu r_fill r_cpu old_r_fill \
		old_r_cpu clazy cfill; do
		: >"$d/$f"
	done
	for i in $(seq "$RUNS"); do
		stamp t0
		"$SNAP" restore -D "$d/img" -d -o "$d/eager.log" --display-stats >"$d/stats"
		since "$t0" >>"$d/eager_wall"
		rtime "$d/stats" >>"$d/eager"
		kill -9 "$pid"; gone "$pid"

		lazy "$SNAP" ""
		[ -z "$OLD" ] || lazy "$OLD" old_
		[ -z "$REMOTE" ] || lazy "$SNAP" r_ remote
		[ -z "$REMOTE" ] || [ -z "$OLD" ] || lazy "$OLD" old_r_ remote
		[ -n "$CRIU" ] || continue
		"$CRIU" lazy-pages -D "$d/cimg" -o lazy-pages.log &
		server=$!
		sleep 0.5	# criu lazy-pages says nothing when it listens
		stamp t0
		"$CRIU" restore -D "$d/cimg" -d --lazy-pages -o restore.log
		since "$t0" >>"$d/clazy"
		wait "$server"
		since "$t0" >>"$d/cfill"
		kill -9 "$cpid"; gone "$cpid"
	done
	[ -z "$CRIU" ] || printf "%5d MiB: criu lazy (wall) %7.1f ms | criu lazy fill %9.1f ms\n" \
		"$mib" "$(median <"$d/clazy")" "$(median <"$d/cfill")"
	printf "%5d MiB: eager %9.1f ms (wall %9.1f) | lazy %7.1f ms (wall %7.1f) | lazy fill %9.1f ms | server CPU %5d ns/page\n" \
		"$mib" "$(median <"$d/eager")" "$(median <"$d/eager_wall")" "$(median <"$d/lazy")" \
		"$(median <"$d/lazy_wall")" "$(median <"$d/fill")" "$(median <"$d/cpu")"
	[ -z "$OLD" ] || printf "%5d MiB: old lazy fill %9.1f ms | old server CPU %5d ns/page\n" \
		"$mib" "$(median <"$d/old_fill")" "$(median <"$d/old_cpu")"
	for r in r_ old_r_; do
		[ -s "$d/${r}fill" ] || continue
		f=$(median <"$d/${r}fill")
		printf "%5d MiB: %sremote fill %9.1f ms (%4.0f MB/s) | server CPU %5d ns/page\n" \
			"$mib" "${r%r_}" "$f" "$(echo "$mib $f" | awk '{print $1 * 1.048576 / $2 * 1000}')" \
			"$(median <"$d/${r}cpu")"
	done
done
