#!/usr/bin/env python3
"""Stop-the-world dump and restore of a process holding 256 MiB, 1 GiB and
4 GiB of touched anonymous memory, images on a tmpfs this script mounts (or
/dev/shm), next to the physical floor measured in the same run: what it
costs on this machine, now, to allocate and fill the same memory with the
fastest methods there are (MADV_POPULATE_WRITE + memcpy, transparent huge
pages + memcpy, UFFDIO_COPY) and to write it into a tmpfs file. The machines
here are shared and noisy, so every measurement of a run is made in turn
(floor, snap, CRIU if installed) and the medians of --runs runs are shown,
with the ratio snap/floor. Every restored process checks all of its bytes:
a run that does not PASS fails the benchmark. With --compare OLD_SNAP, every
run is made with that binary and with this tree's in turn, and both medians
are shown with new/old."""
import argparse, ctypes, os, re, resource, shutil, signal, statistics, subprocess, sys, tempfile, time

import bench_compare

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNAP = os.path.join(ROOT, "snap", "snap")


def find_criu():
    """CRIU's path ($CRIU, else criu in PATH) if it works on this kernel, and
    why not otherwise (CRIU 3.17, Debian 12's, stops at its vDSO probe on
    6.13+ kernels, whose vDSO data pages are two mappings, [vvar] and
    [vvar_vclock]; CRIU 4.1 and later run)."""
    path = os.environ.get("CRIU") or shutil.which("criu")
    if not path:
        return None, "not installed (set CRIU=/path/to/criu)"
    if not os.access(path, os.X_OK):
        return None, "CRIU=%s is not an executable" % path
    r = subprocess.run([path, "check"], capture_output=True, text=True)
    if r.returncode:
        errs = [l for l in (r.stdout + r.stderr).splitlines()
                if "Error" in l and "exited, status" not in l]
        return None, "%s does not run here (criu check: %s)" % (
            path, errs[0].strip() if errs else "exit %d" % r.returncode)
    return path, path


CRIU, CRIU_WHY = find_criu()
# CRIU's medians from issue 14 (ms; restore, stop-the-world dump), measured on
# another run of this machine type when CRIU still ran here: shown as a
# reference where CRIU cannot run, labelled so.
ISSUE_CRIU = {256: (136, 148), 1024: (505, 1180), 4096: (2709, 3360)}


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


def wait_for(cond, timeout, what, step=0.01):
    end = time.time() + timeout
    while time.time() < end:
        reap()
        if cond():
            return
        time.sleep(step)
    raise RuntimeError("timed out waiting for " + what)


def start_holder(helper, mib, d, tree=None):
    """A bench-mem holder of @mib MiB (or a tree of them), ready: its pid."""
    pidf, outf = os.path.join(d, "pid"), os.path.join(d, "out")
    how = ["tree", str(tree[0]), str(tree[1])] if tree else ["hold"]
    subprocess.check_call([helper] + how + [str(mib), pidf, outf], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(pidf), 120, "the memory holder")
    return int(open(pidf).read()), outf


def check_restored(pid, outf):
    """Let the restored holder check its bytes: how long its first pass over
    its memory took (ms, from the signal to the verdict)."""
    t = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: os.path.exists(outf) and open(outf).read().strip(), 300, "the check",
             step=0.002)
    first = (time.monotonic() - t) * 1e3
    verdict = open(outf).read().strip()
    if verdict != "PASS":
        raise RuntimeError("restored memory is wrong: " + verdict)
    return first


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(cmd):
    """Run @cmd: its result, wall clock ms and CPU ms (user + system). On a
    loaded machine the CPU time is the work done, the wall clock that plus
    the wait for a CPU."""
    t, c = time.monotonic(), children_cpu()
    r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return r, (time.monotonic() - t) * 1e3, (children_cpu() - c) * 1e3


def proc_cpu(pids):
    """CPU ms the processes @pids used so far (a restored process: its restorer's)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for p in pids:
        try:
            f = open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(f[11]) + int(f[12])
    return total * 1e3 / tick


def one_run(helper, mib, imgroot, tree=None, snap=SNAP):
    """Dump and restore a holder of @mib MiB with the binary @snap: one
    process, or a tree of @tree = (processes, threads each) sharing the memory
    out. Images go under @imgroot (a tmpfs)."""
    d = tempfile.mkdtemp(dir=imgroot)
    img = os.path.join(d, "img")
    pid, outf = start_holder(helper, mib, d, tree)
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
        shutil.rmtree(img + "-live")
    dump, dump_wall, dump_cpu = timed([snap, "dump", "-t", str(pid), "-D", img,
                                       "--display-stats"])
    if dump.returncode:
        os.kill(pid, signal.SIGKILL)
        raise RuntimeError("dump failed: " + dump.stderr)
    wait_for(lambda: not any(os.path.exists("/proc/%d" % p) for p in pids), 60,
             "the dumped processes to go")
    rst, rst_wall, rst_cpu = timed([snap, "restore", "-D", img, "-d", "--display-stats"])
    if rst.returncode:
        raise RuntimeError("restore failed: " + rst.stderr)
    rst_cpu += proc_cpu(tree_pids(pid))
    first = check_restored(pid, outf)
    shutil.rmtree(d)
    return {
        "frozen": stat(dump.stdout, "frozen time"),
        "memdump": stat(dump.stdout, "memory dump time"),
        "dump": stat(dump.stdout, "total time"),
        "dump_wall": dump_wall * 1e3,
        "dump_cpu": dump_cpu * 1e3,
        "restore": stat(rst.stdout, "restore time"),
        "restore_wall": rst_wall * 1e3,
        "restore_cpu": rst_cpu * 1e3,
        "fill": stat(rst.stdout, "memory fill time"),
        "moved": stat(rst.stdout, "pages moved"),
        "first": first * 1e3,
        "live_frozen": live,
    }


def criu_stat(out, name):
    """A CRIU --display-stats line ("Restore time: 123 us" and the like), in us."""
    m = re.search(r"%s\s*:\s*(\d+)" % re.escape(name), out, re.I)
    return int(m.group(1)) if m else None


def criu_run(helper, mib, imgroot):
    """The same with CRIU: its dump (frozen) and restore times, in us; wall
    clock where it prints none."""
    d = tempfile.mkdtemp(dir=imgroot)
    img = os.path.join(d, "img")
    os.mkdir(img)
    pid, outf = start_holder(helper, mib, d)
    dump, dump_wall, _ = timed([CRIU, "dump", "-t", str(pid), "-D", img, "--display-stats"])
    if dump.returncode:
        os.kill(pid, signal.SIGKILL)
        raise RuntimeError("criu dump failed: " + dump.stderr[-2000:])
    wait_for(lambda: not os.path.exists("/proc/%d" % pid), 60, "the dumped process to go")
    rst, rst_wall, _ = timed([CRIU, "restore", "-D", img, "-d", "--display-stats"])
    if rst.returncode:
        raise RuntimeError("criu restore failed: " + rst.stderr[-2000:])
    first = check_restored(pid, outf)
    shutil.rmtree(d)
    out_d, out_r = dump.stdout + dump.stderr, rst.stdout + rst.stderr
    return {
        "frozen": criu_stat(out_d, "Frozen time") or dump_wall * 1e3,
        "dump_wall": dump_wall * 1e3,
        "restore": criu_stat(out_r, "Restore time") or rst_wall * 1e3,
        "first": first * 1e3,
    }


def floor(tool, mib, imgroot):
    """The physical floor now, in us: bench-floor's lines."""
    res = {}
    for args in (["fill", str(mib)], ["write", str(mib), os.path.join(imgroot, "floor")]):
        out = subprocess.check_output([tool] + args, text=True)
        for line in out.splitlines():
            name, ms = line.split()
            res[name] = float(ms) * 1e3
    return res


def mount_tmpfs(work, sizes):
    """Images on a tmpfs of our own, big enough for the largest size twice
    over; /dev/shm if we may not mount one."""
    mnt = os.path.join(work, "images")
    os.mkdir(mnt)
    size = (2 * max(sizes) + 1024) << 20
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0700" % size, "snap-bench",
                        mnt], capture_output=True, text=True)
    if not r.returncode:
        return mnt, True
    print("cannot mount a tmpfs (%s); images on /dev/shm" % r.stderr.strip())
    return tempfile.mkdtemp(prefix="snap-bench-", dir="/dev/shm"), False


def build(work):
    tools = {}
    for name in ("bench-mem", "bench-floor"):
        tools[name] = os.path.join(work, name)
        subprocess.check_call(["cc", "-O2", "-pthread", "-o", tools[name],
                               os.path.join(ROOT, "scripts", name + ".c")])
    return tools


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="256,1024,4096", help="MiB, comma separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tree", default="16x8",
                    help="PROCSxTHREADS: also a tree of that shape holding the smallest size"
                    " ('' for none)")
    ap.add_argument("--no-floor", action="store_true", help="skip the floor measurements")
    bench_compare.add_option(ap)
    args = ap.parse_args()
    tree = tuple(int(x) for x in args.tree.split("x")) if args.tree else None
    sizes = [int(s) for s in args.sizes.split(",")]
    snaps = bench_compare.snaps(args, SNAP)
    become_subreaper()
    work = tempfile.mkdtemp(prefix="snap-bench-", dir="/var/tmp")
    imgroot, mounted = mount_tmpfs(work, sizes)
    # Per binary, in the order of snaps: indexed, as --compare may name the same file.
    res = [{s: [] for s in sizes} for _ in snaps]
    tree_res = [[] for _ in snaps]
    floors = {s: [] for s in sizes}
    criu = {s: [] for s in sizes}
    try:
        tools = build(work)
        helper = tools["bench-mem"]
        for r in range(args.runs):
            for s in sizes:
                if not args.no_floor:
                    floors[s].append(floor(tools["bench-floor"], s, imgroot))
                for i, b in enumerate(snaps):
                    res[i][s].append(one_run(helper, s, imgroot, snap=b))
                if CRIU:
                    criu[s].append(criu_run(helper, s, imgroot))
            if tree:
                for i, b in enumerate(snaps):
                    tree_res[i].append(one_run(helper, sizes[0], imgroot, tree, snap=b))
    finally:
        if mounted:
            subprocess.run(["umount", imgroot])
        shutil.rmtree(work if mounted else imgroot, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    print("images on %s; %s" % ("a tmpfs of our own" if mounted else "/dev/shm",
                                "CRIU: " + CRIU_WHY))
    if len(snaps) == 1:
        report(sizes, res[0], floors, criu, tree, tree_res[0])
    else:
        compare(sizes, res, tree, tree_res, snaps)
    summary(sizes, res[-1], floors, criu)
    print("(medians of %d interleaved runs; every restored process verified all its bytes)"
          % args.runs)


def medians(rows):
    return {k: bench_compare.median([x[k] for x in rows]) for k in rows[0]}


def ms(v):
    return "%.0f" % (v / 1e3) if v is not None else "-"


def report(sizes, res, floors, criu, tree, tree_res):
    crit = "criu" if CRIU else "(none)"
    print("\nRestore (ms; MiB/s of the memory fill). floor = the fastest way to allocate and "
          "fill the memory now:\n  populate = MADV_POPULATE_WRITE alone, +memcpy = then memcpy "
          "(4 KiB pages), THP = memcpy into huge pages,\n  COPY = UFFDIO_COPY (4 KiB pages, "
          "copied by the kernel); first pass = the restored process reading its memory once")
    print("%-8s %8s %7s %7s %8s %8s %7s %7s %7s %7s %8s %8s" % (
        "size", "restore", "fill", "MiB/s", "floor", "rst/flr", "popul.", "+memcpy", "THP",
        "COPY", "1st pass", crit))
    for s in sizes:
        m = medians(res[s])
        f = medians(floors[s]) if floors[s] else {}
        best = min(f[k] for k in ("populate_memcpy", "thp_memcpy", "uffdio_copy")) if f else None
        c = medians(criu[s]) if criu[s] else {}
        print("%-8s %8s %7s %7.0f %8s %8s %7s %7s %7s %7s %8s %8s" % (
            "%d MiB" % s, ms(m["restore"]), ms(m["fill"]), s / (m["fill"] / 1e6), ms(best),
            "%.2f" % (m["restore"] / best) if best else "-", ms(f.get("populate")),
            ms(f.get("populate_memcpy")), ms(f.get("thp_memcpy")), ms(f.get("uffdio_copy")),
            ms(m["first"]), ms(c.get("restore")) if c else "n/a"))
    print("\nStop-the-world dump (ms; MiB/s of the memory dump). floor = writing the same "
          "amount into a new file of the image tmpfs")
    print("%-8s %8s %8s %8s %7s %8s %8s %8s" % (
        "size", "frozen", "memdump", "total", "MiB/s", "floor", "dmp/flr", crit))
    for s in sizes:
        m = medians(res[s])
        f = medians(floors[s]) if floors[s] else {}
        c = medians(criu[s]) if criu[s] else {}
        print("%-8s %8s %8s %8s %7.0f %8s %8s %8s" % (
            "%d MiB" % s, ms(m["frozen"]), ms(m["memdump"]), ms(m["dump"]),
            s / (m["memdump"] / 1e6), ms(f.get("write")),
            "%.2f" % (m["frozen"] / f["write"]) if f else "-",
            ms(c.get("frozen")) if c else "n/a"))
    if tree:
        m = medians(tree_res)
        print("tree of %d processes x %d threads holding %d MiB: frozen %.1f ms (live -R:"
              " %.1f ms), dump %.1f ms, restore %.1f ms" % (
                  tree[0], tree[1], sizes[0], m["frozen"] / 1e3, m["live_frozen"] / 1e3,
                  m["dump"] / 1e3, m["restore"] / 1e3))


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
            ("restore MiB/s", lambda m: s / (m["fill"] / 1e6)),
            ("1st pass ms", lambda m: m["first"] / 1e3),
            ("restore+1st pass ms", lambda m: (m["restore"] + m["first"]) / 1e3),
            ("dump CPU ms", lambda m: m["dump_cpu"] / 1e3),
            ("restore CPU ms", lambda m: m["restore_cpu"] / 1e3))]
        bench_compare.side_by_side("%d MiB:" % s, rows)
    if tree:
        old, new = (medians(r) for r in tree_res)
        rows = [(label, old[k] / 1e3, new[k] / 1e3) for label, k in (
            ("frozen ms", "frozen"), ("live -R frozen ms", "live_frozen"),
            ("dump ms", "dump"), ("restore ms", "restore"))]
        bench_compare.side_by_side("tree of %d processes x %d threads holding %d MiB:" % (
            tree[0], tree[1], sizes[0]), rows)


def summary(sizes, res, floors, criu):
    """This tree's binary against CRIU: measured in this run if it runs here,
    else the issue's numbers from another run; and against the floor."""
    where = "this run" if CRIU else "issue 14, ANOTHER run (CRIU does not run here)"
    print("\nSummary, this tree's snap (ms, medians). CRIU from %s." % where)
    print("%-8s %8s %8s %8s %8s %9s %8s %8s %8s %8s %9s" % (
        "size", "restore", "+1st", "CRIU", "CRIU+1st", "CRIU/snap", "floor", "frozen", "CRIU",
        "dmp/CRIU", "wrt floor"))
    for s in sizes:
        m = medians(res[s])
        f = medians(floors[s]) if floors[s] else {}
        best = min(f[k] for k in ("populate_memcpy", "thp_memcpy", "uffdio_copy")) if f else None
        cr1 = None
        if CRIU and criu[s]:
            c = medians(criu[s])
            cr, cd = c["restore"] / 1e3, c["frozen"] / 1e3
            # CRIU reads into place: its restore pays the pages' first use, the 1st pass less.
            cr1 = (c["restore"] + c["first"]) / 1e3
        elif s in ISSUE_CRIU:
            cr, cd = ISSUE_CRIU[s]
        else:
            cr = cd = None
        r, d = m["restore"] / 1e3, m["frozen"] / 1e3
        print("%-8s %8.0f %8.0f %8s %8s %9s %8s %8.0f %8s %8s %9s" % (
            "%d MiB" % s, r, (m["restore"] + m["first"]) / 1e3, "%.0f" % cr if cr else "-",
            "%.0f" % cr1 if cr1 else "-", "%.2f" % (cr / r) if cr else "-", ms(best), d,
            "%.0f" % cd if cd else "-", "%.2f" % (d / cd) if cd else "-", ms(f.get("write"))))
    if CRIU and all(criu[s] for s in sizes):
        # The wall clock of the whole `dump` command, process start to exit, both tools.
        print("dump wall clock (ms): " + ", ".join(
            "%d MiB snap %.0f CRIU %.0f" % (s, medians(res[s])["dump_wall"] / 1e3,
                                             medians(criu[s])["dump_wall"] / 1e3)
            for s in sizes))


if __name__ == "__main__":
    sys.exit(main())
