#!/usr/bin/env python3
"""Live snapshot vs stop-the-world dump, side by side in one run.

For each size (MiB of touched anonymous memory):
  * a holder process (bench-mem hold) is dumped with `snap dump -R` (live) and
    `snap dump -R --no-live` (stop-the-world), in alternating order: frozen
    time and total dump time of each, and their ratios; the holder checks all
    of its bytes afterwards;
  * a writer process (bench-live-writer) stores to random pages as fast as it
    can and times every store: its write latency p50/p99/max and writes/s
    during a live dump, against a window of the same length without one right
    after, and the dump's copy-before-write figures (cow faults, cow peak
    memory, time writers waited).
With --shared the memory is MAP_SHARED|MAP_ANONYMOUS instead of private.
Runs are interleaved across sizes and repeated; medians are reported (the
machine is shared and noisy). Every dump must succeed and say whether it was
live as asked; a run that does not fails the benchmark.

With --compare OLD_SNAP, every measurement is made with that binary and with
this tree's in turn, and both medians are shown with new/old."""
import argparse, os, shutil, signal, statistics, subprocess, sys, tempfile, time

import bench_compare
from bench_dump import ROOT, SNAP, stat, wait_for  # the same helpers as the dump bench


def start(argv, pidf):
    subprocess.check_call(argv)
    wait_for(lambda: os.path.exists(pidf), 300, "%s to be ready" % os.path.basename(argv[0]))
    return int(open(pidf).read())


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[-1][0] in "ZX"
    except FileNotFoundError:
        return True


def stop(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    wait_for(lambda: gone(pid), 30, "pid %d to go" % pid)


# --live-hold for the live dumps (None: snap's default).
LIVE_HOLD = None


def dump(pid, d, live, extra=(), snap=SNAP):
    """snap dump -R of @pid into a fresh directory under @d; its --display-stats."""
    img = tempfile.mkdtemp(dir=d)
    args = [snap, "dump", "-t", str(pid), "-D", img, "-R", "--display-stats"] + list(extra)
    if not live:
        args.append("--no-live")
    elif LIVE_HOLD:
        args += ["--live-hold", LIVE_HOLD]
    t0 = time.monotonic()
    res = subprocess.run(args, capture_output=True, text=True)
    wall = time.monotonic() - t0
    shutil.rmtree(img)
    if res.returncode:
        raise RuntimeError("`%s` failed: %s" % (" ".join(args), res.stderr.strip()))
    if stat(res.stdout, "live") != ("yes" if live else "no"):
        raise RuntimeError("`%s` says live: %s" % (" ".join(args), stat(res.stdout, "live")))
    if gone(pid):
        raise RuntimeError("pid %d is gone after `%s`" % (pid, " ".join(args)))
    return res.stdout, wall


def frozen_run(helper, mib, work, live_first, shared, snap=SNAP):
    """Frozen and total time of a live and a stop-the-world dump of one holder."""
    d = tempfile.mkdtemp(dir=work)
    pidf, outf = os.path.join(d, "pid"), os.path.join(d, "out")
    pid = start([helper, "hold-shared" if shared else "hold", str(mib), pidf, outf], pidf)
    res = {}
    try:
        for live in (live_first, not live_first):
            out, _ = dump(pid, d, live, snap=snap)
            key = "live" if live else "stw"
            res[key + "_frozen"] = stat(out, "frozen time")
            res[key + "_total"] = stat(out, "total time")
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: os.path.exists(outf) and open(outf).read().strip(), 120, "the check")
        verdict = open(outf).read().strip()
        if verdict != "PASS":
            raise RuntimeError("the holder's memory is wrong after the dumps: " + verdict)
    finally:
        stop(pid)
        shutil.rmtree(d, ignore_errors=True)
    return res


def window(pid, statsf, lines):
    """Close the writer's current window: SIGUSR1, then its line
    (window_ns, writes, p50_ns, p99_ns, max_ns)."""
    os.kill(pid, signal.SIGUSR1)
    wait_for(lambda: os.path.exists(statsf) and len(open(statsf).readlines()) > lines, 60,
             "the writer's figures")
    return [int(x) for x in open(statsf).readlines()[lines].split()]


def writer_run(writer, mib, work, cow_limit, shared, snap=SNAP):
    """The writer's latency and throughput during a live dump and during as long without."""
    d = tempfile.mkdtemp(dir=work)
    pidf, statsf = os.path.join(d, "pid"), os.path.join(d, "stats")
    pid = start([writer, str(mib), pidf, statsf] + (["shared"] if shared else []), pidf)
    extra = ["--cow-limit", cow_limit] if cow_limit else []
    try:
        time.sleep(0.5)                      # warm up
        window(pid, statsf, 0)               # the window now starting is the dump's
        out, wall = dump(pid, d, True, extra, snap)
        during = window(pid, statsf, 1)
        time.sleep(wall)                     # as long again, without a dump
        idle = window(pid, statsf, 2)
    finally:
        stop(pid)
        shutil.rmtree(d, ignore_errors=True)
    res = {}
    for key, w in (("dump", during), ("idle", idle)):
        res[key + "_p50"], res[key + "_p99"], res[key + "_max"] = w[2], w[3], w[4]
        res[key + "_wps"] = w[1] / (w[0] / 1e9)
    res["cow_faults"] = stat(out, "cow faults")
    res["cow_peak"] = stat(out, "cow peak memory")
    res["waited"] = stat(out, "writers waited")
    res["total"] = stat(out, "total time")
    return res


def live_available(snap=SNAP):
    res = subprocess.run([snap, "--help"], capture_output=True, text=True)
    return "--no-live" in res.stdout + res.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="256,1024,4096", help="MiB, comma separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--shared", action="store_true",
                    help="MAP_SHARED|MAP_ANONYMOUS memory instead of private")
    ap.add_argument("--live-hold", choices=("fork", "splice"), default=None,
                    help="how live dumps hold the pages (default: snap's)")
    ap.add_argument("--cow-limit", default=None,
                    help="--cow-limit for the writer's live dumps (default: snap's)")
    bench_compare.add_option(ap)
    args = ap.parse_args()
    global LIVE_HOLD
    LIVE_HOLD = args.live_hold
    sizes = [int(s) for s in args.sizes.split(",")]
    snaps = bench_compare.snaps(args, SNAP)
    for b in snaps:
        if not live_available(b):
            print("live mode not available (%s --help has no --no-live)" %
                  ("snap" if b == SNAP else b))
            return 0
    work = tempfile.mkdtemp(prefix="snap-bench-live-", dir="/var/tmp")
    helper = os.path.join(work, "bench-mem")
    writer = os.path.join(work, "bench-live-writer")
    for src, exe in (("bench-mem.c", helper), ("bench-live-writer.c", writer)):
        subprocess.check_call(["cc", "-O2", "-pthread", "-Wall", "-Wextra", "-Werror", "-o", exe,
                               os.path.join(ROOT, "scripts", src)])
    # Per binary, in the order of snaps: indexed, as --compare may name the same file.
    frz = [{s: [] for s in sizes} for _ in snaps]
    wr = [{s: [] for s in sizes} for _ in snaps]
    try:
        for r in range(args.runs):
            for s in sizes:
                for i, b in enumerate(snaps):
                    frz[i][s].append(frozen_run(helper, s, work, r % 2 == 0, args.shared, b))
                for i, b in enumerate(snaps):
                    wr[i][s].append(writer_run(writer, s, work, args.cow_limit, args.shared, b))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if len(snaps) == 1:
        report(args, sizes, frz[0], wr[0])
    else:
        compare(args, sizes, frz, wr, snaps)
    return 0


def med(rows):
    return {k: statistics.median(x[k] for x in rows) for k in rows[0]}


def report(args, sizes, frz, wr):
    """The medians of the one binary."""
    print("Frozen time and dump time of a process holding touched %s memory "
          "(snap dump -R%s; medians of %d interleaved runs):"
          % ("shared" if args.shared else "private",
             " --live-hold " + args.live_hold if args.live_hold else "", args.runs))
    print("%-8s %11s %11s %9s %11s %11s %9s" % (
        "size", "STW frz ms", "live frz ms", "live/STW", "STW dump ms", "live dump ms",
        "live/STW"))
    for s in sizes:
        m = med(frz[s])
        print("%-8s %11.1f %11.1f %9.3f %11.1f %11.1f %9.2f" % (
            "%d MiB" % s, m["stw_frozen"] / 1e3, m["live_frozen"] / 1e3,
            m["live_frozen"] / m["stw_frozen"], m["stw_total"] / 1e3, m["live_total"] / 1e3,
            m["live_total"] / m["stw_total"]))
    print()
    print("A process storing to random pages as fast as it can, during a live dump vs "
          "an equal window without one right after (latency includes one clock read):")
    print("%-8s %8s %8s %8s %8s %9s %9s %10s %10s %7s %9s %9s %9s" % (
        "size", "p50 ns", "idle", "p99 ns", "idle", "max ms", "idle", "writes/s", "idle",
        "ratio", "cow flts", "peak KiB", "wait ms"))
    for s in sizes:
        m = med(wr[s])
        print("%-8s %8d %8d %8d %8d %9.2f %9.2f %10.3g %10.3g %7.2f %9d %9d %9.1f" % (
            "%d MiB" % s, m["dump_p50"], m["idle_p50"], m["dump_p99"], m["idle_p99"],
            m["dump_max"] / 1e6, m["idle_max"] / 1e6, m["dump_wps"], m["idle_wps"],
            m["dump_wps"] / m["idle_wps"], m["cow_faults"], m["cow_peak"],
            m["waited"] / 1e3))
    print("(ratio = writes/s during the dump / without; every dump succeeded, the holders "
          "checked all their bytes)")


# The rows of the --compare report: (label, key, divisor) of the holder's
# dumps and of the writer's.
FROZEN_ROWS = (("STW frozen ms", "stw_frozen", 1e3), ("live frozen ms", "live_frozen", 1e3),
               ("STW dump ms", "stw_total", 1e3), ("live dump ms", "live_total", 1e3))
WRITER_ROWS = (("writer p50 ns", "dump_p50", 1), ("idle p50 ns", "idle_p50", 1),
               ("writer p99 ns", "dump_p99", 1), ("idle p99 ns", "idle_p99", 1),
               ("writer max ms", "dump_max", 1e6), ("idle max ms", "idle_max", 1e6),
               ("writes/s", "dump_wps", 1), ("writes/s idle", "idle_wps", 1),
               ("cow faults", "cow_faults", 1),
               ("cow peak KiB", "cow_peak", 1), ("writers waited ms", "waited", 1e3),
               ("writer's dump ms", "total", 1e3))


def scaled(m, key, div):
    return m[key] if div == 1 else m[key] / div


def compare(args, sizes, frz, wr, snaps):
    """The medians of the old (index 0) and the new binary (1) side by side."""
    bench_compare.header(snaps)
    print("snap dump -R of a process holding touched %s memory, and of one storing to random "
          "pages during a live dump (medians of %d interleaved runs):"
          % ("shared" if args.shared else "private", args.runs))
    for s in sizes:
        rows = []
        for res, table in ((frz, FROZEN_ROWS), (wr, WRITER_ROWS)):
            old, new = (med(x[s]) for x in res)
            rows += [(label, scaled(old, k, div), scaled(new, k, div))
                     for label, k, div in table]
        bench_compare.side_by_side("%d MiB:" % s, rows)
    print("(every dump succeeded, the holders checked all their bytes)")


if __name__ == "__main__":
    sys.exit(main())
