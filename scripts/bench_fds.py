#!/usr/bin/env python3
"""How the frozen time of a dump and the restore time grow with the number
of fds a process holds.

A holder process opens COUNT fds of a mix of kinds (MIX: eventfds, timerfds,
pipes, and epolls each watching some of the others) for each COUNT of
--counts. It is dumped live (`snap dump -R --display-stats`: the frozen time
is what the fds cost a running service), then dumped for good and restored
(`snap restore --display-stats`: the restore time); the restored holder
checks every fd (its kind, and its counter, bytes, timer or watched files)
and must say PASS. Runs are interleaved across counts and repeated; medians
are reported, with the cost per fd, and whether that grows linearly: the
cost per added fd over the last step (to the largest count) against the
average from the smallest count to the largest (about 1: linear; a cost
growing as the square of the count gives 1.5 with the default counts).
The first step alone is too short to compare with: the fixed costs and
their noise dominate it.

A kind joins the mix with one line in MIX: its name, its weight, and a
function that opens a few of its fds in the holder and returns them, each
with a check for after the restore.

With --compare OLD_SNAP, every measurement is made with that binary and with
this tree's in turn, and both medians are shown with new/old."""
import argparse, ctypes, os, re, select, shutil, signal, statistics, subprocess, sys, tempfile
import time

import bench_compare
from bench_dump import SNAP, become_subreaper, stat, wait_for

WATCH = 8                  # files each epoll watches
HOUR = 3600

libc = ctypes.CDLL(None, use_errno=True)


class Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]


class Itimerspec(ctypes.Structure):
    _fields_ = [("interval", Timespec), ("value", Timespec)]


def link(fd):
    return os.readlink("/proc/self/fd/%d" % fd)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def eventfd(made):
    fd = os.eventfd(7, os.EFD_NONBLOCK)
    return [(fd, lambda: expect(link(fd) == "anon_inode:[eventfd]" and
                                os.eventfd_read(fd) == 7, "eventfd %d" % fd))]


def timerfd(made):
    fd = libc.timerfd_create(1, os.O_NONBLOCK)                  # CLOCK_MONOTONIC
    its = Itimerspec(Timespec(0, 0), Timespec(HOUR, 0))
    if fd < 0 or libc.timerfd_settime(fd, 0, ctypes.byref(its), None):
        raise OSError(ctypes.get_errno(), "timerfd")

    def check():
        now = Itimerspec()
        expect(link(fd) == "anon_inode:[timerfd]" and
               not libc.timerfd_gettime(fd, ctypes.byref(now)) and
               0 < now.value.sec <= HOUR, "timerfd %d" % fd)
    return [(fd, check)]


def pipe(made):
    r, w = os.pipe()
    os.write(w, b"x")
    return [(r, lambda: expect(os.read(r, 1) == b"x", "pipe %d" % r)),
            (w, lambda: expect(link(w) == link(r), "pipe %d" % w))]


EPOLLS = []                # the holder's select.epoll objects, kept open


def epoll(made):
    ep = select.epoll()
    EPOLLS.append(ep)
    fd = ep.fileno()
    watched = [f for f, kind in made[-4 * WATCH:] if kind != "epoll"][:WATCH]
    for f in watched:
        ep.register(f, select.EPOLLIN)

    def check():
        with open("/proc/self/fdinfo/%d" % fd) as f:
            n = sum(1 for line in f if line.startswith("tfd:"))
        expect(n == len(watched), "epoll %d watches %d files, not %d" % (fd, n, len(watched)))
    return [(fd, check)]


# The mix: (kind, weight, maker). Makers are called in turn, each its weight
# times a round, until the holder has its count of fds.
MIX = (
    ("eventfd", 4, eventfd),
    ("timerfd", 2, timerfd),
    ("pipe", 2, pipe),
    ("epoll", 1, epoll),
)


def hold(count, pidfile, outfile):
    """The holder: COUNT fds of MIX, a daemon until SIGTERM, then the checks."""
    import resource
    resource.setrlimit(resource.RLIMIT_NOFILE, (count + 1024, count + 1024))
    made, checks = [], []
    while len(made) < count:
        for kind, weight, maker in MIX:
            for _ in range(weight):
                if len(made) >= count:
                    break
                for fd, check in maker(made):
                    made.append((fd, kind))
                    checks.append(check)
    if os.fork():
        wait_for(lambda: os.path.exists(pidfile), 300, "the holder")
        os._exit(0)
    os.setsid()
    term = []
    signal.signal(signal.SIGTERM, lambda *_: term.append(1))
    with open(pidfile + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(pidfile + ".tmp", pidfile)
    while not term:
        signal.pause()
    try:
        for check in checks:
            check()
        verdict = "PASS"
    except (AssertionError, OSError) as e:
        verdict = "FAIL: %s" % e
    with open(outfile, "w") as f:
        f.write(verdict + "\n")
    os._exit(0)


def snap_run(args):
    res = subprocess.run(args, capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError("`%s` failed: %s" % (" ".join(args), res.stderr.strip()))
    return res.stdout


def one_run(count, work, snap=SNAP):
    """Live dump, dump and restore of a holder of @count fds."""
    d = tempfile.mkdtemp(dir=work)
    pidf, outf, img = (os.path.join(d, x) for x in ("pid", "out", "img"))
    subprocess.check_call([sys.executable, os.path.abspath(__file__), "--hold", str(count),
                           pidf, outf])
    pid = int(open(pidf).read())
    try:
        live = snap_run([snap, "dump", "-R", "-t", str(pid), "-D", img + "-live",
                         "--display-stats"])
        shutil.rmtree(img + "-live")
        dump = snap_run([snap, "dump", "-t", str(pid), "-D", img, "--display-stats"])
        wait_for(lambda: not os.path.exists("/proc/%d" % pid), 30, "the dumped holder to go")
        rst = subprocess.run([snap, "restore", "-D", img, "-d", "--display-stats"],
                             capture_output=True, text=True)
        if rst.returncode and "raise ulimit -n" in rst.stderr:
            # More fd numbers than the hard limit here, which snap may not
            # raise: snaps before the restore of fds at their numbers
            # (files-install.c) needed about three times the highest fd.
            return {"live_frozen": stat(live, "frozen time"), "dump": stat(dump, "total time"),
                    "restore": None, "restore_error": rst.stderr.strip()}
        if rst.returncode:
            raise RuntimeError("restore of %d fds failed: %s" % (count, rst.stderr.strip()))
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: os.path.exists(outf) and open(outf).read().strip(), 120, "the check")
        verdict = open(outf).read().strip()
        if verdict != "PASS":
            raise RuntimeError("the restored holder of %d fds: %s" % (count, verdict))
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(d, ignore_errors=True)
    return {"live_frozen": stat(live, "frozen time"), "dump": stat(dump, "total time"),
            "restore": stat(rst.stdout, "restore time")}


ROWS = (("live frozen ms", "live_frozen"), ("dump ms", "dump"), ("restore ms", "restore"))


def med(rows):
    """Medians; a value no run has (a restore over the fd limit) is None."""
    return {k: bench_compare.median([x.get(k) for x in rows]) for _, k in ROWS}


def growth(counts, m, key):
    """Cost per added fd (us) between consecutive counts that have it, and
    the last of those over the average from the first count to the last."""
    have = [c for c in counts if m[c][key] is not None]
    steps = [(a, b, (m[b][key] - m[a][key]) / (b - a)) for a, b in zip(have, have[1:])]
    if len(steps) < 2:
        return steps, None
    overall = (m[have[-1]][key] - m[have[0]][key]) / (have[-1] - have[0])
    return steps, (steps[-1][2] / overall if overall > 0 else None)


def ms(v):
    return "%.1f" % (v / 1e3) if v is not None else "-"


def per_fd(v, c):
    return "%.2f" % (v / c) if v is not None else "-"


def report(counts, res):
    m = {c: med(res[c]) for c in counts}
    print("%-8s %15s %10s %11s %16s %13s" % ("fds", "live frozen ms", "dump ms",
                                             "restore ms", "frozen us/fd", "restore us/fd"))
    for c in counts:
        print("%-8d %15s %10s %11s %16s %13s" % (
            c, ms(m[c]["live_frozen"]), ms(m[c]["dump"]), ms(m[c]["restore"]),
            per_fd(m[c]["live_frozen"], c), per_fd(m[c]["restore"], c)))
    for c in counts:
        errs = [x["restore_error"] for x in res[c] if x.get("restore_error")]
        if errs:
            print("%d fds: not restored here: %s" % (c, errs[0]))
    for label, key in ROWS:
        steps, ratio = growth(counts, m, key)
        verdict = ("linear" if ratio is not None and ratio < 1.25 else
                   "worse than linear" if ratio is not None else "too few counts to tell")
        print("%s: %s%s: %s" % (label, ", ".join("%.2f us/fd from %d to %d" % (s, a, b)
                                                 for a, b, s in steps),
                                "" if ratio is None else " (ratio %.2f)" % ratio, verdict))


def compare(counts, res, snaps):
    bench_compare.header(snaps)
    # Each binary's curve, per-fd cost and growth, then both side by side.
    for name, r in zip(("old", "new"), res):
        print("\n%s:" % name)
        report(counts, r)
    print()
    for c in counts:
        old, new = (med(r[c]) for r in res)
        bench_compare.side_by_side("%d fds:" % c, [
            (label, old[k] and old[k] / 1e3, new[k] and new[k] / 1e3) for label, k in ROWS])


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--hold":
        hold(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--counts", default="100,1000,5000,10000", help="fds, comma separated")
    ap.add_argument("--runs", type=int, default=3)
    bench_compare.add_option(ap)
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    snaps = bench_compare.snaps(args, SNAP)
    become_subreaper()
    work = tempfile.mkdtemp(prefix="snap-bench-fds-", dir="/var/tmp")
    res = [{c: [] for c in counts} for _ in snaps]
    try:
        for _ in range(args.runs):
            for c in counts:
                for i, b in enumerate(snaps):
                    res[i][c].append(one_run(c, work, b))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("A process holding N fds (%s), dumped live (-R) and for good, then restored "
          "(medians of %d interleaved runs; every restored holder checked all its fds):" % (
              ", ".join("%s x%d" % (k, w) for k, w, _ in MIX), args.runs))
    if len(snaps) == 1:
        report(counts, res[0])
    else:
        compare(counts, res, snaps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
