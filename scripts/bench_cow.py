#!/usr/bin/env python3
"""Copy-on-write sharing across dump and restore: a pre-forking server's tree
(a parent touching --mib MiB, --children children each rewriting --writes
pages of it) is dumped and restored; the memory the tree uses is measured
before the dump, after a --leave-running stop-the-world dump (the tree runs
on) and after the restore, as the sums over the tree of Pss (what the tree
really costs: a page shared by n processes counts 1/n in each) and Rss (each
process's resident pages, shared or not), from /proc/PID/smaps_rollup; with
the size of the pages-*.img files and the dump and restore times. Every
restored process checks all its bytes. With --compare OLD_SNAP, every run is
made with that binary and with this tree's in turn; medians side by side."""
import argparse, os, shutil, signal, statistics, subprocess, sys, tempfile

import bench_compare
from bench_dump import ROOT, SNAP, become_subreaper, stat, tree_pids, wait_for


def tree_mem(root):
    """(Pss, Rss) summed over the tree of @root, MiB."""
    pss = rss = 0
    for p in tree_pids(root):
        for line in open("/proc/%d/smaps_rollup" % p):
            k, v = line.split()[:2]
            if k == "Pss:":
                pss += int(v)
            elif k == "Rss:":
                rss += int(v)
    return pss / 1024, rss / 1024


def image_mib(img):
    return sum(os.path.getsize(os.path.join(img, f)) for f in os.listdir(img)
               if f.startswith("pages-")) / (1 << 20)


def start(helper, d, args):
    pidf, outf = os.path.join(d, "pid"), os.path.join(d, "out")
    subprocess.check_call([helper, str(args.children), str(args.mib), str(args.writes), pidf,
                           outf])
    wait_for(lambda: os.path.exists(pidf), 60, "the tree")
    return int(open(pidf).read()), outf


def snap(binary, *args):
    r = subprocess.run([binary] + list(args) + ["--display-stats"], capture_output=True,
                       text=True)
    if r.returncode:
        raise RuntimeError("snap %s failed: %s" % (args[0], r.stderr))
    return r.stdout


def finish(pid, outf):
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: os.path.exists(outf) and open(outf).read().strip(), 120, "the check")
    verdict = open(outf).read().strip()
    if verdict != "PASS":
        raise RuntimeError("restored memory is wrong: " + verdict)


def one_run(helper, work, args, binary):
    d = tempfile.mkdtemp(dir=work)
    img = os.path.join(d, "img")
    res = {}
    pid, outf = start(helper, d, args)
    res["pss_before"], res["rss_before"] = tree_mem(pid)
    # A -R dump first: the tree runs on, and is then dumped for real.
    snap(binary, "dump", "-R", "--no-live", "-t", str(pid), "-D", img + "-R")
    res["pss_after_R"], res["rss_after_R"] = tree_mem(pid)
    shutil.rmtree(img + "-R")
    os.sync()
    pids = tree_pids(pid)
    out = snap(binary, "dump", "-t", str(pid), "-D", img)
    res["dump_ms"] = stat(out, "total time") / 1e3
    res["image"] = image_mib(img)
    wait_for(lambda: not any(os.path.exists("/proc/%d" % p) for p in pids), 30,
             "the dumped processes to go")
    out = snap(binary, "restore", "-D", img, "-d")
    res["restore_ms"] = stat(out, "restore time") / 1e3
    res["pss_restored"], res["rss_restored"] = tree_mem(pid)
    finish(pid, outf)
    shutil.rmtree(d)
    return res


ROWS = (
    ("tree Pss before dump, MiB", "pss_before"),
    ("tree Pss after dump -R, MiB", "pss_after_R"),
    ("tree Pss after restore, MiB", "pss_restored"),
    ("tree Rss before dump, MiB", "rss_before"),
    ("tree Rss after restore, MiB", "rss_restored"),
    ("pages-*.img, MiB", "image"),
    ("dump ms", "dump_ms"),
    ("restore ms", "restore_ms"),
)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mib", type=int, default=256, help="the parent's memory")
    ap.add_argument("--children", type=int, default=8)
    ap.add_argument("--writes", type=int, default=64, help="pages each child rewrites")
    ap.add_argument("--runs", type=int, default=3)
    bench_compare.add_option(ap)
    args = ap.parse_args()
    snaps = bench_compare.snaps(args, SNAP)
    become_subreaper()
    work = tempfile.mkdtemp(prefix="snap-bench-cow-", dir="/var/tmp")
    helper = os.path.join(work, "bench-cow")
    subprocess.check_call(["cc", "-O2", "-o", helper, os.path.join(ROOT, "scripts",
                                                                  "bench-cow.c")])
    res = [[] for _ in snaps]
    try:
        for _ in range(args.runs):
            for i, b in enumerate(snaps):
                res[i].append(one_run(helper, work, args, b))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = [{k: statistics.median(r[k] for r in rs) for _, k in ROWS} for rs in res]
    title = "a parent with %d MiB and %d children rewriting %d pages each:" % (
        args.mib, args.children, args.writes)
    if len(snaps) == 1:
        print(title)
        for label, k in ROWS:
            print("  %-30s %10.1f" % (label, med[0][k]))
    else:
        bench_compare.header(snaps)
        bench_compare.side_by_side(title, [(label, med[0][k], med[1][k]) for label, k in ROWS])
    print("(medians of %d interleaved runs; every restored process verified all its bytes)"
          % args.runs)


if __name__ == "__main__":
    sys.exit(main())
