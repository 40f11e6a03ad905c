#!/usr/bin/env python3
"""Incremental dump (pre-dump, then dump --prev-images-dir) vs a full
stop-the-world dump, in one run.

For each size (MiB of touched private anonymous memory) a writer process
(bench-incr-writer) writes RATE random pages per millisecond all along. Two
ways to dump it, each on a fresh writer, alternating which goes first:
  * full: `snap dump` (stop-the-world, the writer is killed);
  * incr: `snap pre-dump` (--pre-dumps of them, each on top of the one
    before, PAUSE s apart), PAUSE s of writing, then `snap dump
    --prev-images-dir ../preN --track-mem` (killed).
Reported: the final dump's frozen time and pages written, against the full
dump's (ratios), and the pre-dump's own frozen time and total time. Medians
of --runs interleaved runs: the machine is shared and noisy. A size is
skipped, saying so, when MemAvailable could not hold its writer twice over.

--baseline SNAP compares another snap binary (an older build) in the same
run: every full and incremental run is made with both, their order
alternating, and a table is printed for each.
The frozen-time profile of each final dump (--display-stats "frozen ..."
lines: parasite, page scan, page read, page write) is printed as medians."""
import argparse, os, shutil, signal, statistics, subprocess, tempfile, time

from bench_dump import ROOT, SNAP, stat, wait_for


def start(writer, mib, rate, d):
    pidf = os.path.join(d, "pid")
    subprocess.check_call([writer, str(mib), pidf, str(rate)])
    wait_for(lambda: os.path.exists(pidf) and open(pidf).read(), 600, "the writer")
    return int(open(pidf).read())


def stop(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def snap(args, what, binary=SNAP):
    res = subprocess.run([binary] + args + ["--display-stats"], capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError("%s failed: %s" % (what, res.stderr.strip()))
    return res.stdout


PROFILE = ("frozen parasite", "frozen page scan", "frozen page read", "frozen page write")


def profile(out):
    return {k: stat(out, k) if k in out else 0 for k in PROFILE}


def full_run(writer, mib, rate, work, warm, binary):
    d = tempfile.mkdtemp(dir=work)
    pid = start(writer, mib, rate, d)
    try:
        time.sleep(warm)
        out = snap(["dump", "-t", str(pid), "-D", os.path.join(d, "img")], "full dump", binary)
        return dict({"frozen": stat(out, "frozen time"), "pages": stat(out, "pages written"),
                     "total": stat(out, "total time")}, **profile(out))
    finally:
        stop(pid)
        shutil.rmtree(d, ignore_errors=True)


def incr_run(writer, mib, rate, work, warm, pause, pre_dumps, binary):
    d = tempfile.mkdtemp(dir=work)
    pid = start(writer, mib, rate, d)
    try:
        time.sleep(warm)
        for n in range(1, pre_dumps + 1):
            prev = ["--prev-images-dir", "../pre%d" % (n - 1)] if n > 1 else []
            out = snap(["pre-dump", "-t", str(pid), "-D", os.path.join(d, "pre%d" % n)] + prev,
                       "pre-dump %d" % n, binary)
            if n == 1:
                pre = out
            time.sleep(pause)
        out = snap(["dump", "-t", str(pid), "-D", os.path.join(d, "img"),
                    "--prev-images-dir", "../pre%d" % pre_dumps, "--track-mem"],
                   "incremental dump", binary)
        return dict({"frozen": stat(out, "frozen time"), "pages": stat(out, "pages written"),
                     "parent": stat(out, "pages in parent"), "total": stat(out, "total time"),
                     "pre_frozen": stat(pre, "frozen time"),
                     "pre_total": stat(pre, "total time"),
                     "pre_pages": stat(pre, "pages written")}, **profile(out))
    finally:
        stop(pid)
        shutil.rmtree(d, ignore_errors=True)


def mem_available_mib():
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0


def med(rows):
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1024,4096", help="MiB, comma separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rate", type=int, default=20, help="pages written per ms")
    ap.add_argument("--pause", type=float, default=1.0,
                    help="s between the pre-dump and the dump")
    ap.add_argument("--pre-dumps", type=int, default=1,
                    help="pre-dumps before the dump, each on top of the one before")
    ap.add_argument("--warm", type=float, default=1.0, help="s of writing before the first dump")
    ap.add_argument("--baseline", help="another snap binary, measured in the same run")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = tempfile.mkdtemp(prefix="snap-bench-incr-", dir="/var/tmp")
    writer = os.path.join(work, "bench-incr-writer")
    subprocess.check_call(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", writer,
                           os.path.join(ROOT, "scripts", "bench-incr-writer.c")])
    bins = [("snap", SNAP)] + ([("baseline", args.baseline)] if args.baseline else [])
    full = {(b, s): [] for b, _ in bins for s in sizes}
    incr = {(b, s): [] for b, _ in bins for s in sizes}
    skipped = set()
    try:
        for r in range(args.runs):
            for s in sizes:
                if s in skipped or mem_available_mib() < 2 * s + 512:
                    if s not in skipped:
                        print("%d MiB skipped: MemAvailable is %d MiB" % (s,
                                                                        mem_available_mib()))
                    skipped.add(s)
                    continue
                order = ("full", "incr") if r % 2 == 0 else ("incr", "full")
                ways = [(how, b) for how in order for b in bins]
                if r % 2:
                    ways = [(how, b) for b in bins for how in order][::-1]
                for how, (name, binary) in ways:
                    if how == "full":
                        full[name, s].append(full_run(writer, s, args.rate, work, args.warm,
                                                      binary))
                    else:
                        incr[name, s].append(incr_run(writer, s, args.rate, work, args.warm,
                                                      args.pause, args.pre_dumps, binary))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, binary in bins:
        print("%s (%s): final dump after %d pre-dump(s) vs a full stop-the-world dump; a writer "
              "touches %d random pages/ms; %.1f s between rounds; medians of %d interleaved "
              "runs (pre frz/tot: the first pre-dump's):"
              % (name, binary, args.pre_dumps, args.rate, args.pause, args.runs))
        print("%-8s %11s %11s %8s %11s %11s %8s %12s %11s" % (
            "size", "full frz ms", "incr frz ms", "full/inc", "full pages", "incr pages",
            "inc/full", "pre frz ms", "pre tot ms"))
        for s in sizes:
            if not full[name, s] or not incr[name, s]:
                continue
            f, i = med(full[name, s]), med(incr[name, s])
            print("%-8s %11.1f %11.1f %8.1f %11d %11d %8.3f %12.1f %11.1f" % (
                "%d MiB" % s, f["frozen"] / 1e3, i["frozen"] / 1e3, f["frozen"] / i["frozen"],
                f["pages"], i["pages"], i["pages"] / f["pages"], i["pre_frozen"] / 1e3,
                i["pre_total"] / 1e3))
        print("  frozen-time profile, ms (medians; the rest: seizing, files, core, "
              "shared memory):")
        print("  %-14s %9s %9s %9s %9s %9s %9s" % ("", "frozen", "parasite", "page scan",
                                                   "page read", "pg write", "rest"))
        for s in sizes:
            for how, rows in (("full", full[name, s]), ("incr", incr[name, s])):
                if not rows:
                    continue
                m = med(rows)
                parts = [m[k] / 1e3 for k in PROFILE]
                print("  %-14s %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f" % (
                    "%d MiB %s" % (s, how), m["frozen"] / 1e3, *parts,
                    m["frozen"] / 1e3 - sum(parts)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
