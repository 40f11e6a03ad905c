#!/usr/bin/env python3
"""Dump and restore a process holding 256 MiB and 1 GiB of touched anonymous
memory; print frozen time, dump time, restore time and their throughput next
to memcpy throughput measured in the same run. Runs are interleaved across
sizes and repeated; medians are reported (the machine is shared and noisy).
Every restored process checks all of its bytes: a run that does not PASS
fails the benchmark. With --compare OLD_SNAP, every run is made with that
binary and with this tree's in turn, and both medians are shown with new/old."""
import argparse, ctypes, os, re, shutil, signal, statistics, subprocess, sys, tempfile, time

import bench_compare

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNAP = os.path.join(ROOT, "snap", "snap")


def stat(out, name):
    """The value of a --display-stats line: an int, or the word (yes/no)."""
    m = re.search(r"^\s*%s:\s+(\S+)" % re.escape(name), out, re.M)
    if not m:
        return None
    try:
        return int(m.group(1))
    except ValueError:
        return m.group(1)


def become_subreaper():
    """Dumped (killed) trees are reparented to us and reaped at once, so their
    pids are free for the restore: PID 1 would take seconds."""
    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap():
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def tree_pids(root):
    """@root and every process below it."""
    parent = {}
    for d in os.listdir("/proc"):
        try:
            data = open("/proc/%s/stat" % d).read() if d.isdigit() else ""
        except OSError:
            continue
        if data:
            parent[int(d)] = int(data[data.rindex(")") + 2:].split()[1])
    pids, grew = {root}, True
    while grew:
        more = {p for p, pp in parent.items() if pp in pids} - pids
        pids |= more
        grew = bool(more)
    return pids


def wait_for(cond, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        reap()
        if cond():
            return
        time.sleep(0.01)
    raise RuntimeError("timed out waiting for " + what)


def one_run(helper, mib, work, tree=None, snap=SNAP):
    """Dump and restore a holder of @mib MiB with the binary @snap: one
    process, or a tree of @tree = (processes, threads each) sharing the memory
    out."""
    d = tempfile.mkdtemp(dir=work)
    pidf, outf, img = (os.path.join(d, x) for x in ("pid", "out", "img"))
    how = ["tree", str(tree[0]), str(tree[1])] if tree else ["hold"]
    subprocess.check_call([helper] + how + [str(mib), pidf, outf])
    wait_for(lambda: os.path.exists(pidf), 60, "the memory holder")
    pid = int(open(pidf).read())
    pids = tree_pids(pid)
    live = None
    if tree:
        # A live -R dump first: the tree runs on, and is then dumped for real.
        ld = subprocess.run([snap, "dump", "-R", "-t", str(pid), "-D", img + "-live",
                             "--display-stats"], capture_output=True, text=True)
        if ld.returncode:
            os.kill(pid, signal.SIGKILL)
            raise RuntimeError("live dump failed: " + ld.stderr)
        live = stat(ld.stdout, "frozen time")
        # Its image out of the way: dirty page cache would throttle the next dump.
        shutil.rmtree(img + "-live")
        os.sync()
    dump = subprocess.run([snap, "dump", "-t", str(pid), "-D", img, "--display-stats"],
                          capture_output=True, text=True)
    if dump.returncode:
        os.kill(pid, signal.SIGKILL)
        raise RuntimeError("dump failed: " + dump.stderr)
    wait_for(lambda: not any(os.path.exists("/proc/%d" % p) for p in pids), 30,
             "the dumped processes to go")
    rst = subprocess.run([snap, "restore", "-D", img, "-d", "--display-stats"],
                         capture_output=True, text=True)
    if rst.returncode:
        raise RuntimeError("restore failed: " + rst.stderr)
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: os.path.exists(outf) and open(outf).read().strip(), 60, "the check")
    verdict = open(outf).read().strip()
    if verdict != "PASS":
        raise RuntimeError("restored memory is wrong: " + verdict)
    shutil.rmtree(d)
    return {
        "frozen": stat(dump.stdout, "frozen time"),
        "memdump": stat(dump.stdout, "memory dump time"),
        "dump": stat(dump.stdout, "total time"),
        "restore": stat(rst.stdout, "restore time"),
        "fill": stat(rst.stdout, "memory fill time"),
        "moved": stat(rst.stdout, "pages moved"),
        "live_frozen": live,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="256,1024", help="MiB, comma separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tree", default="16x8",
                    help="PROCSxTHREADS: also a tree of that shape holding the smallest size"
                    " ('' for none)")
    bench_compare.add_option(ap)
    args = ap.parse_args()
    tree = tuple(int(x) for x in args.tree.split("x")) if args.tree else None
    sizes = [int(s) for s in args.sizes.split(",")]
    snaps = bench_compare.snaps(args, SNAP)
    become_subreaper()
    work = tempfile.mkdtemp(prefix="snap-bench-", dir="/var/tmp")
    helper = os.path.join(work, "bench-mem")
    subprocess.check_call(["cc", "-O2", "-pthread", "-o", helper,
                           os.path.join(ROOT, "scripts", "bench-mem.c")])
    # Per binary, in the order of snaps: indexed, as --compare may name the same file.
    res = [{s: [] for s in sizes} for _ in snaps]
    tree_res = [[] for _ in snaps]
    memcpy = []
    try:
        for r in range(args.runs):
            for s in sizes:
                memcpy.append(int(subprocess.check_output([helper, "memcpy", "256"])))
                for i, b in enumerate(snaps):
                    res[i][s].append(one_run(helper, s, work, snap=b))
            if tree:
                for i, b in enumerate(snaps):
                    tree_res[i].append(one_run(helper, sizes[0], work, tree, snap=b))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mc = statistics.median(memcpy)
    print("memcpy (touched memory, median of %d): %.0f MiB/s" % (len(memcpy), mc))
    if len(snaps) == 1:
        report(sizes, res[0], tree, tree_res[0], mc)
    else:
        compare(sizes, res, tree, tree_res, snaps)
    print("(medians of %d interleaved runs; every restored process verified all its bytes)"
          % args.runs)


def medians(rows):
    return {k: statistics.median(x[k] for x in rows) for k in rows[0] if rows[0][k] is not None}


def report(sizes, res, tree, tree_res, mc):
    print("%-8s %10s %10s %10s %10s %11s %11s %8s %8s" % (
        "size", "frozen ms", "memdump ms", "dump ms", "restore ms", "dump MiB/s",
        "rest. MiB/s", "dump/mc", "rest/mc"))
    for s in sizes:
        med = medians(res[s])
        dthr = s / (med["memdump"] / 1e6)
        rthr = s / (med["fill"] / 1e6)
        print("%-8s %10.1f %10.1f %10.1f %10.1f %11.0f %11.0f %8.2f %8.2f" % (
            "%d MiB" % s, med["frozen"] / 1e3, med["memdump"] / 1e3, med["dump"] / 1e3,
            med["restore"] / 1e3, dthr, rthr, dthr / mc, rthr / mc))
    if tree:
        med = {k: statistics.median(x[k] for x in tree_res) for k in tree_res[0]}
        print("tree of %d processes x %d threads holding %d MiB: frozen %.1f ms (live -R:"
              " %.1f ms), dump %.1f ms, restore %.1f ms" % (
                  tree[0], tree[1], sizes[0], med["frozen"] / 1e3, med["live_frozen"] / 1e3,
                  med["dump"] / 1e3, med["restore"] / 1e3))


def compare(sizes, res, tree, tree_res, snaps):
    """The medians of the old (res[0]) and the new binary (res[1]) side by side."""
    bench_compare.header(snaps)
    for s in sizes:
        old, new = (medians(r[s]) for r in res)
        rows = [(label, f(old), f(new)) for label, f in (
            ("frozen ms", lambda m: m["frozen"] / 1e3),
            ("memdump ms", lambda m: m["memdump"] / 1e3),
            ("dump ms", lambda m: m["dump"] / 1e3),
            ("restore ms", lambda m: m["restore"] / 1e3),
            ("dump MiB/s", lambda m: s / (m["memdump"] / 1e6)),
            ("restore MiB/s", lambda m: s / (m["fill"] / 1e6)))]
        bench_compare.side_by_side("%d MiB:" % s, rows)
    if tree:
        old, new = (medians(r) for r in tree_res)
        rows = [(label, old[k] / 1e3, new[k] / 1e3) for label, k in (
            ("frozen ms", "frozen"), ("live -R frozen ms", "live_frozen"),
            ("dump ms", "dump"), ("restore ms", "restore"))]
        bench_compare.side_by_side("tree of %d processes x %d threads holding %d MiB:" % (
            tree[0], tree[1], sizes[0]), rows)


if __name__ == "__main__":
    sys.exit(main())
