"""--compare OLD_SNAP for the benchmarks (bench_dump.py, bench_live.py,
bench_mem_kinds.py): every measurement is made with the old snap binary and
then with the tree's, in turn (old, new, old, new...), so that both see the
same machine load; the report shows the medians side by side with new/old.
"""
import os
import statistics


def add_option(ap):
    ap.add_argument("--compare", metavar="OLD_SNAP",
                    help="another snap binary: run every measurement with it and with this "
                    "tree's, interleaved, and report both medians and new/old")


def snaps(args, new):
    """The binaries to measure, in the order each measurement runs them:
    [new], or [old, new] with --compare."""
    if not args.compare:
        return [new]
    old = os.path.abspath(args.compare)
    if not os.access(old, os.X_OK):
        raise SystemExit("bench: --compare %s: not an executable" % args.compare)
    return [old, new]


def header(snap_list):
    old, new = snap_list
    print("old: %s\nnew: %s" % (old, new))


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def side_by_side(title, rows, indent="  "):
    """Print @rows, (label, old value, new value) each, under @title."""
    print(title)
    width = max(len(r[0]) for r in rows)
    print("%s%-*s %12s %12s %8s" % (indent, width, "", "old", "new", "new/old"))
    for label, old, new in rows:
        ratio = "%8.3f" % (new / old) if old and new is not None else "%8s" % "-"
        print("%s%-*s %12s %12s %s" % (indent, width, label, fmt(old), fmt(new), ratio))


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.1f" % v if abs(v) < 1e5 else "%.0f" % v
    return "%d" % v
