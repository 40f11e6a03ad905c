#!/bin/sh
# `make demo`: checkpoint a counting program, kill it, restore it, and show
# that it carries on counting from where it was.
set -e
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/snap-demo.XXXXXX)
trap 'kill -9 $pid $rpid 2>/dev/null || true; rm -rf "$work"' EXIT
cc -O1 -o "$work/counter" scripts/demo-counter.c

echo "== starting a program that counts once a second"
setsid "$work/counter" >"$work/out" 2>&1 </dev/null &
pid=$!
sleep 3.5
cat "$work/out"

echo "== snap dump -t $pid -D $work/img (the program is killed after the dump)"
./snap/snap dump -t "$pid" -D "$work/img" --display-stats
wait "$pid" 2>/dev/null || true
lines=$(wc -l <"$work/out")
echo "== it is gone; 2 seconds pass with no output"
sleep 2
[ "$(wc -l <"$work/out")" = "$lines" ]

echo "== snap restore -D $work/img -d"
./snap/snap restore -D "$work/img" -d --display-stats --pidfile "$work/pid"
rpid=$(cat "$work/pid")
sleep 3.2
echo "== restored as pid $rpid (same pid: $([ "$rpid" = "$pid" ] && echo yes || echo no)); its output:"
tail -n +"$((lines + 1))" "$work/out"
after=$(tail -n +"$((lines + 1))" "$work/out" | head -1 | sed 's/tick \([0-9]*\),.*/\1/')
before=$(sed -n "${lines}p" "$work/out" | sed 's/tick \([0-9]*\),.*/\1/')
if [ "$after" = "$((before + 1))" ]; then
	echo "== it carried on: tick $before before the dump, tick $after after the restore"
else
	echo "== demo FAILED: tick $before before, $after after" >&2
	exit 1
fi
