#!/usr/bin/env python3
"""Memory that should cost a dump little: sparse, and swapped out.

  sparse: a 16 GiB MAP_NORESERVE mapping with 10 touched pages
          (test/zdtm/static/mem_sparse 16);
  swap:   1 GiB of private anonymous memory, just over half of its pages
          pushed out to swap (test/zdtm/static/mem_swap 1024).

Each run starts one process of each kind and dumps it twice with -R: live
and --no-live (stop-the-world), in alternating order. For each dump: the
image size, the frozen and total dump time and the pages swapped and paged
out (from --display-stats), and the process's VmRSS and RssAnon right before
and right after it. The process then checks all of its bytes (and mem_swap,
that the pages it had in swap are out of memory again). Then the last image
is restored, and the restored process checks all its bytes too: restore time
and its RSS. A check that does not PASS fails the benchmark. Runs are
interleaved and repeated; medians are reported (the machine is shared and
noisy).

Swap: whatever is on, else a zram device made for the run and removed at the
end (test/zdtm/zram.py, as the test runner does).

With --compare OLD_SNAP, every run is made with that binary and with this
tree's in turn, and both medians are shown with new/old."""
import argparse, ctypes, os, shutil, signal, statistics, subprocess, sys, tempfile

import bench_compare
from bench_dump import ROOT, SNAP, stat, wait_for  # the same helpers as the dump bench

sys.path.insert(0, os.path.join(ROOT, "test", "zdtm"))
import zram  # noqa: E402

STATIC = os.path.join(ROOT, "test", "zdtm", "static")
KINDS = {
    "sparse": [os.path.join(STATIC, "mem_sparse"), "16"],
    "swap": [os.path.join(STATIC, "mem_swap"), "1024"],
}
MODES = ("live", "no-live")


def run_cmd(argv):
    res = subprocess.run(argv, capture_output=True, text=True)
    return res.returncode == 0, res.stdout + res.stderr


def become_subreaper():
    """Daemonized targets and restored processes become our children: reaped
    at once, their pid is free for the restore (PID 1 takes seconds)."""
    if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0):  # PR_SET_CHILD_SUBREAPER
        sys.exit("bench: PR_SET_CHILD_SUBREAPER: %s" % os.strerror(ctypes.get_errno()))


def reaped(pid):
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return not os.path.exists("/proc/%d" % pid)


def mem_kb(pid):
    """VmRSS and RssAnon of @pid, KiB."""
    res = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, val = line.partition(":")
            if key in ("VmRSS", "RssAnon"):
                res[key] = int(val.split()[0])
    return res


def dir_size(d):
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))


def snap(args, binary=SNAP):
    res = subprocess.run([binary] + args + ["--display-stats"], capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError("`snap %s` failed: %s" % (" ".join(args), res.stderr.strip()))
    return res.stdout


def check(pid, outf, what):
    """SIGTERM @pid, which checks its memory: PASS, or the benchmark fails."""
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: os.path.exists(outf) and open(outf).read().endswith("\n"), 120,
             "the check of " + what)
    verdict = open(outf).read().strip()
    if verdict != "PASS":
        raise RuntimeError("%s: %s" % (what, verdict))
    wait_for(lambda: reaped(pid), 30, "pid %d to go" % pid)
    os.unlink(outf)


def dump(pid, d, mode, binary=SNAP):
    img = os.path.join(d, mode)
    os.mkdir(img)
    before = mem_kb(pid)
    args = ["dump", "-t", str(pid), "-D", img, "-R"] + (["--no-live"] if mode == "no-live" else [])
    out = snap(args, binary)
    after = mem_kb(pid)
    if stat(out, "live") != ("yes" if mode == "live" else "no"):
        raise RuntimeError("`snap %s` says live: %s" % (" ".join(args), stat(out, "live")))
    return img, {
        "image MiB": dir_size(img) / 2**20,
        "frozen ms": stat(out, "frozen time") / 1e3,
        "dump ms": stat(out, "total time") / 1e3,
        "pageout ms": stat(out, "pageout time") / 1e3,
        "swapped": stat(out, "pages swapped"),
        "paged out": stat(out, "pages paged out"),
        "RSS before": before["VmRSS"] / 1024,
        "RSS after": after["VmRSS"] / 1024,
        "anon before": before["RssAnon"] / 1024,
        "anon after": after["RssAnon"] / 1024,
    }


def one_run(kind, modes, work, binary=SNAP):
    d = tempfile.mkdtemp(dir=work)
    pidf, outf = os.path.join(d, "pid"), os.path.join(d, "out")
    subprocess.check_call(KINDS[kind] + ["--pidfile=" + pidf, "--outfile=" + outf])
    pid = int(open(pidf).read())
    res = {}
    try:
        for mode in modes:
            img, res[mode] = dump(pid, d, mode, binary)
        check(pid, outf, "%s after %s" % (kind, " and ".join(modes)))
        out = snap(["restore", "-D", img, "-d"], binary)
        res["restore"] = {"restore ms": stat(out, "restore time") / 1e3,
                          "fill ms": stat(out, "memory fill time") / 1e3,
                          "RSS": mem_kb(pid)["VmRSS"] / 1024,
                          "anon": mem_kb(pid)["RssAnon"] / 1024}
        check(pid, outf, "%s restored" % kind)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: reaped(pid), 30, "pid %d to go" % pid)
        except ProcessLookupError:
            pass
        shutil.rmtree(d)
    return res


def median_row(runs, key):
    rows = [r[key] for r in runs]
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def report(kind, runs):
    cols = ["image MiB", "frozen ms", "dump ms", "pageout ms", "swapped", "paged out",
            "RSS before", "RSS after", "anon before", "anon after"]
    print("%s (%s):" % (kind, " ".join(os.path.basename(a) for a in KINDS[kind])))
    print("  %-8s" % "-R dump" + "".join("%12s" % c for c in cols))
    for mode in MODES:
        med = median_row(runs, mode)
        print("  %-8s" % mode + "".join(
            "%12.1f" % med[c] if isinstance(med[c], float) else "%12d" % med[c] for c in cols))
    med = median_row(runs, "restore")
    print("  restore: %.1f ms (memory fill %.1f ms); the restored process: VmRSS %.1f MiB, "
          "RssAnon %.1f MiB" % (med["restore ms"], med["fill ms"], med["RSS"], med["anon"]))


def compare(kind, runs):
    """The medians of the old (runs[0]) and the new binary (runs[1]) side by side."""
    print("%s (%s):" % (kind, " ".join(os.path.basename(a) for a in KINDS[kind])))
    for key in MODES + ("restore",):
        old, new = (median_row(r, key) for r in runs)
        title = "  restore of the last image:" if key == "restore" else "  -R dump, %s:" % key
        bench_compare.side_by_side(title, [(c, old[c], new[c]) for c in old], "    ")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    bench_compare.add_option(ap)
    args = ap.parse_args()
    snaps = bench_compare.snaps(args, SNAP)
    become_subreaper()
    swap = zram.ZramSwap(run_cmd, "2G")
    reason = swap.ensure()
    if reason:
        sys.exit("bench: %s" % reason)
    work = tempfile.mkdtemp(prefix="snap-bench-", dir="/var/tmp")
    # Per binary, in the order of snaps: indexed, as --compare may name the same file.
    res = [{k: [] for k in KINDS} for _ in snaps]
    try:
        for r in range(args.runs):
            modes = MODES if r % 2 == 0 else MODES[::-1]
            for kind in KINDS:
                for i, b in enumerate(snaps):
                    res[i][kind].append(one_run(kind, modes, work, b))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        err = swap.teardown()
        if err:
            print("bench: could not remove the swap it made: %s" % err, file=sys.stderr)
    print("Image size, and VmRSS and RssAnon right before and right after each -R dump, in MiB;")
    print("medians of %d runs, live and no-live in alternating order.\n" % args.runs)
    if len(snaps) > 1:
        bench_compare.header(snaps)
    for kind in KINDS:
        if len(snaps) == 1:
            report(kind, res[0][kind])
        else:
            compare(kind, [r[kind] for r in res])
        print()
    print("Every process checked all its bytes after the dumps and after the restore.")


if __name__ == "__main__":
    sys.exit(main())
