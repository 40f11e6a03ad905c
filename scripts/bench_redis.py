#!/usr/bin/env python3
"""Redis's own snapshot (BGSAVE, which forks) against `snap dump -R` (live) of
the same redis-server under the same write load, side by side in one run.

For each dataset (1 GiB and 4 GiB of 4 KiB values, made with DEBUG POPULATE)
one redis-server runs, its files and snap's images on tmpfs (/dev/shm). The
load throughout: redis-benchmark with 4 clients SETting 1 KiB values over a
million keys, plus 2 probe clients (python, one connection each) that SET in
a loop and time every command. Then, interleaved (the order rotating each
round), 3 rounds of:

  * BGSAVE: frozen time = latest_fork_usec; extra memory = rdb_last_cow_size;
    complete = from BGSAVE sent until rdb_bgsave_in_progress is 0 again;
  * "precopy": snap pre-dump, then snap dump -R --prev-images-dir on top of
    it (catch-up rounds, then the last writes copied frozen and held).
    Frozen time = the two freezes added; extra memory = the pages held
    (4 KiB each: a memfd, not in snap's RSS) + snap's larger peak RSS;
    complete = from the pre-dump's start until the dump exits;
  * snap dump -R --tcp-established --display-stats, with each of its two
    holds: "snap" (--live-hold fork, the default: a forked holder) and
    "splice" (--live-hold splice: pipes and write protection). Frozen time =
    its "frozen time" (and of it, "holder fork time": the fork that BGSAVE
    pays too); extra memory = its "cow peak memory" + its "snap peak
    memory" (the snap process's VmHWM: getrusage() of the child would also
    count this script's RSS, which the child had until its exec); complete =
    until snap exits.

For each, the probes' p50/p99/max latency and the server's commands/s
(INFO total_commands_processed, sampled every 50 ms) during the snapshot,
and during a quiet window of the same length (at most 15 s) 1 s after it.
Also the p99 of the first EARLY_S seconds of each snapshot ("early p99"):
the windows are 10x apart in length (BGSAVE's fork leaves redis copying a
page on most writes at first, fewer as its child goes on), so the p99 over
the same stretch from the start is printed next to the p99 over each
one's own window. And since a window's p99 falls as the same stalls are
spread over a longer one, the number of probe commands slower than SLOW_MS
during each snapshot ("slow"): what the clients suffered in all, however
long it took. Medians of the 3
rounds are printed, with the ratios snap/BGSAVE and where snap stands
against the goals: frozen time <= BGSAVE's fork, extra memory <= --cow-limit
(64 MiB), client p99 no worse than during BGSAVE.

    scripts/bench-redis.sh [--sizes 1024,4096] [--rounds 3] [--dir /dev/shm]
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

from bench_dump import SNAP, become_subreaper, reap, stat, tree_pids, wait_for

REDIS = "/usr/bin/redis-server"
BENCH = "/usr/bin/redis-benchmark"
VALUE = 4096            # bytes per populated value
COW_LIMIT = 64          # MiB, snap's default --cow-limit
PROBES = 2
QUIET_MAX = 15          # s: the quiet window is as long as the snapshot, up to this
EARLY_S = 1.5           # s: the "early p99" window, from each snapshot's start
SLOW_MS = 1.0           # ms: a probe command slower than this is "slow" (quiet p99: ~0.5)
REC = struct.Struct("qq")   # a probe's record: start (monotonic ns), latency (ns)


class Resp:
    """A blocking RESP connection: just what the benchmark needs."""

    def __init__(self, port, timeout=600):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
        return self.reply()

    def reply(self):
        line = self.f.readline()[:-2]
        kind, rest = line[:1], line[1:]
        if kind == b"-":
            raise RuntimeError("redis: " + rest.decode())
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        return int(rest) if kind == b":" else rest.decode()

    def info(self, section):
        text = self.cmd("INFO", section).decode()
        return dict(l.split(":", 1) for l in text.splitlines() if ":" in l)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def probe(port, path, idx):
    """A probe client (a child process): SET in a loop, each timed, to @path."""
    r = Resp(port)
    value = b"x" * 1024
    with open(path, "wb", buffering=1 << 20) as out:
        i, flushed = 0, time.monotonic_ns()
        while True:
            t = time.monotonic_ns()
            r.cmd("SET", "probe:%d:%d" % (idx, i % 10000), value)
            now = time.monotonic_ns()
            out.write(REC.pack(t, now - t))
            if now - flushed > 100_000_000:     # the reader is at most 0.1 s behind
                out.flush()
                flushed = now
            i += 1


class Sampler(threading.Thread):
    """(monotonic ns, total_commands_processed) every 50 ms."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.r, self.samples, self.stop = Resp(port), [], False

    def run(self):
        while not self.stop:
            n = int(self.r.info("stats")["total_commands_processed"])
            self.samples.append((time.monotonic_ns(), n))
            time.sleep(0.05)

    def rate(self, t0, t1):
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        before = [s for s in self.samples if s[0] < t0]
        after = [s for s in self.samples if s[0] > t1]
        a = before[-1] if before else inside[0]
        b = after[0] if after else inside[-1]
        return (b[1] - a[1]) / ((b[0] - a[0]) / 1e9) if b[0] > a[0] else 0.0


def records(files):
    """The probes' (start, latency) records so far, (ns, ns)."""
    recs = []
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        recs += REC.iter_unpack(data[:len(data) - len(data) % REC.size])
    return recs


def latencies(recs, t0, t1):
    """The latencies (ms) of the commands started in [t0, t1], and of any
    still unanswered at t1 (a stall longer than the window counts)."""
    return sorted(ns / 1e6 for start, ns in recs
                  if t0 <= start <= t1 or (start < t0 and start + ns > t0))


def pct(lat, p):
    return lat[min(len(lat) - 1, int(len(lat) * p))] if lat else float("nan")


class Server:
    def __init__(self, mib, base):
        self.dir = tempfile.mkdtemp(prefix="bench-redis-", dir=base)
        self.port = free_port()
        self.log = os.path.join(self.dir, "redis.log")
        self.pid = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--enable-debug-command", "local", "--dir", self.dir,
             "--logfile", self.log], stdin=subprocess.DEVNULL, start_new_session=True).pid
        wait_for(self.up, 60, "redis-server to answer")
        self.r = Resp(self.port)
        keys = mib * (1 << 20) // VALUE
        t = time.time()
        self.r.cmd("DEBUG", "POPULATE", keys, "pop", VALUE)
        print("  %d MiB: %d keys populated in %.1f s, used_memory %s" %
              (mib, keys, time.time() - t, self.r.info("memory")["used_memory_human"]),
              flush=True)
        self.bench = subprocess.Popen(
            [BENCH, "-h", "127.0.0.1", "-p", str(self.port), "-c", "4", "-t", "set", "-d",
             "1024", "-r", "1000000", "-l", "-q"], stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(self.dir, "bench.out"), "w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        self.probe_files = [os.path.join(self.dir, "probe%d" % i) for i in range(PROBES)]
        self.probes = []
        for i, path in enumerate(self.probe_files):
            pid = os.fork()
            if pid == 0:
                try:
                    os.setsid()
                    probe(self.port, path, i)
                finally:
                    os._exit(0)
            self.probes.append(pid)
        self.sampler = Sampler(self.port)
        self.sampler.start()
        time.sleep(3)       # the load settles

    def up(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def bench_ok(self):
        text = open(os.path.join(self.dir, "bench.out"), errors="replace").read()
        return self.bench.poll() is None and "rror" not in text

    def stop(self):
        self.sampler.stop = True
        for pid in self.probes + [self.bench.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in tree_pids(self.pid):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        reap()
        shutil.rmtree(self.dir, ignore_errors=True)


def bgsave(srv):
    r = srv.r
    t0 = time.monotonic_ns()
    if "started" not in r.cmd("BGSAVE"):
        raise RuntimeError("BGSAVE did not start")
    while True:
        time.sleep(0.01)
        if r.info("persistence")["rdb_bgsave_in_progress"].strip() == "0":
            break
    t1 = time.monotonic_ns()
    p = r.info("persistence")
    if p["rdb_last_bgsave_status"].strip() != "ok":
        raise RuntimeError("BGSAVE failed: see %s" % srv.log)
    os.unlink(os.path.join(srv.dir, "dump.rdb"))
    return {"frozen_ms": int(r.info("stats")["latest_fork_usec"]) / 1000,
            "extra_mib": int(p["rdb_last_cow_size"]) / (1 << 20),
            "t0": t0, "t1": t1}


def snap_cmd(srv, args, name):
    """Runs snap @args on the server with --display-stats; its stdout."""
    outp = os.path.join(srv.dir, name + ".out")
    errp = os.path.join(srv.dir, name + ".err")
    pid = os.fork()
    if pid == 0:
        try:
            fo = os.open(outp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            fe = os.open(errp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fo, 1)
            os.dup2(fe, 2)
            os.execv(SNAP, [SNAP] + args + ["-t", str(srv.pid), "--display-stats", "-o",
                                            os.path.join(srv.dir, name + ".log")])
        finally:
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    out, err = open(outp).read(), open(errp).read()
    if status:
        raise RuntimeError("snap %s failed: %s (log %s/%s.log)" %
                           (args[0], err.strip(), srv.dir, name))
    return out


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def run_snap(srv, hold):
    """snap dump --live-hold @hold."""
    img = fresh_dir(os.path.join(srv.dir, "img"))
    t0 = time.monotonic_ns()
    out = snap_cmd(srv, ["dump", "-D", img, "-R", "--tcp-established", "--live-hold", hold],
                   "dump")
    t1 = time.monotonic_ns()
    if stat(out, "live") != "yes":
        raise RuntimeError("snap's dump was not live:\n" + out)
    shutil.rmtree(img)
    return {"frozen_ms": stat(out, "frozen time") / 1000,
            "fork_ms": (stat(out, "holder fork time") or 0) / 1000,
           "extra_mib": (_kib(out, "cow peak memory") + _kib(out, "snap peak memory")) / 1024,
           "cow_mib": _kib(out, "cow peak memory") / 1024,
           "rss_mib": _kib(out, "snap peak memory") / 1024,
           "waited_ms": (stat(out, "writers waited") or 0) / 1000,
           "t0": t0, "t1": t1}


def run_precopy(srv):
    """snap pre-dump, then snap dump -R on top of it: two freezes, summed."""
    base = os.path.join(srv.dir, "img")
    pre, final = fresh_dir(base + "/pre"), fresh_dir(base + "/final")
    t0 = time.monotonic_ns()
    o1 = snap_cmd(srv, ["pre-dump", "-D", pre], "pre-dump")
    o2 = snap_cmd(srv, ["dump", "-D", final, "-R", "--tcp-established", "--prev-images-dir",
                        "../pre", "--track-mem"], "dump")
    t1 = time.monotonic_ns()
    shutil.rmtree(base)
    held = (stat(o2, "pages held") or 0) * 4 / 1024
    rss = max(_kib(o1, "snap peak memory"), _kib(o2, "snap peak memory")) / 1024
    return {"frozen_ms": (stat(o1, "frozen time") + stat(o2, "frozen time")) / 1000,
            "fork_ms": 0, "pre_ms": stat(o1, "frozen time") / 1000,
            "final_ms": stat(o2, "frozen time") / 1000,
            "extra_mib": held + rss, "cow_mib": held, "rss_mib": rss,
            "waited_ms": 0, "t0": t0, "t1": t1}


def _kib(out, name):
    m = re.search(r"^\s*%s:\s+(\d+)\s*(\S*)" % re.escape(name), out, re.M)
    if not m:
        return 0
    v, unit = int(m.group(1)), m.group(2)
    return v * {"KiB": 1, "MiB": 1024, "GiB": 1 << 20, "B": 1 / 1024}.get(unit, 1)


def measure(srv, method):
    if method == "bgsave":
        res = bgsave(srv)
    elif method == "precopy":
        res = run_precopy(srv)
    else:
        res = run_snap(srv, HOLDS[method])
    t0, t1 = res["t0"], res["t1"]
    span = min(t1 - t0, QUIET_MAX * 1_000_000_000)
    time.sleep(1 + span / 1e9 + 0.5)     # the quiet window, and the probes' flush
    q0 = t1 + 1_000_000_000
    q1 = q0 + span
    recs = records(srv.probe_files)
    dur, quiet = latencies(recs, t0, t1), latencies(recs, q0, q1)
    early = latencies(recs, t0, t0 + int(EARLY_S * 1e9))
    res.update({
        "complete_s": (t1 - t0) / 1e9,
        "p50": pct(dur, 0.5), "p99": pct(dur, 0.99), "max": dur[-1] if dur else float("nan"),
        "e_p99": pct(early, 0.99), "slow": sum(1 for x in dur if x > SLOW_MS),
        "q_p50": pct(quiet, 0.5), "q_p99": pct(quiet, 0.99),
        "q_max": quiet[-1] if quiet else float("nan"),
        "ops": srv.sampler.rate(t0, t1), "q_ops": srv.sampler.rate(q0, q1),
    })
    if not srv.bench_ok():
        raise RuntimeError("redis-benchmark failed during %s: see %s/bench.out" %
                           (method, srv.dir))
    return res


COLS = [("frozen_ms", "frozen ms", "%.1f"), ("extra_mib", "extra MiB", "%.1f"),
        ("complete_s", "complete s", "%.2f"), ("p50", "p50 ms", "%.2f"),
        ("p99", "p99 ms", "%.2f"), ("e_p99", "early p99", "%.2f"), ("slow", "slow", "%d"),
        ("max", "max ms", "%.1f"),
        ("ops", "ops/s", "%.0f"),
        ("q_p50", "quiet p50", "%.2f"), ("q_p99", "quiet p99", "%.2f"),
        ("q_max", "quiet max", "%.1f"), ("q_ops", "quiet ops/s", "%.0f")]


# snap's methods: the hold each uses (--live-hold).
HOLDS = {"snap": "fork", "splice": "splice"}
LABELS = dict({m: "--live-hold " + h for m, h in HOLDS.items()},
              precopy="pre-dump, then dump -R on it")


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def extra_line(method, r):
    if method == "bgsave":
        return ""
    if method == "precopy":
        return ", pre-dump frozen %.1f + dump %.1f ms, held %.1f MiB + rss %.1f MiB" % (
            r["pre_ms"], r["final_ms"], r["cow_mib"], r["rss_mib"])
    return ", fork %.1f ms, cow %.1f MiB + rss %.1f MiB, writers waited %.1f ms" % (
        r["fork_ms"], r["cow_mib"], r["rss_mib"], r["waited_ms"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1024,4096", help="dataset sizes in MiB")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/dev/shm", help="tmpfs for redis's files and the images")
    opts = ap.parse_args()
    for path, pkg in ((REDIS, "redis-server"), (BENCH, "redis-tools"), (SNAP, "make")):
        if not os.access(path, os.X_OK):
            sys.exit("bench-redis: %s is missing (%s)" % (path, pkg))
    become_subreaper()
    results = {}
    for mib in [int(s) for s in opts.sizes.split(",")]:
        print("dataset %d MiB" % mib, flush=True)
        srv = Server(mib, opts.dir)
        try:
            methods = ["bgsave"] + list(HOLDS) + ["precopy"]
            for rnd in range(opts.rounds):
                k = rnd % len(methods)
                for method in methods[k:] + methods[:k]:
                    r = measure(srv, method)
                    results.setdefault((mib, method), []).append(r)
                    print("  round %d %-6s frozen %.1f ms, extra %.1f MiB, complete %.2f s, "
                          "p99 %.2f ms (early %.2f, quiet %.2f), %d slow, max %.1f ms "
                          "(quiet %.1f)%s" %
                          (rnd + 1, method, r["frozen_ms"], r["extra_mib"], r["complete_s"],
                           r["p99"], r["e_p99"], r["q_p99"], r["slow"], r["max"], r["q_max"],
                           extra_line(method, r)), flush=True)
        finally:
            srv.stop()

    print("\nmedians of %d rounds, under redis-benchmark -c 4 SET load + %d timed probes:" %
          (opts.rounds, PROBES))
    print("%-6s %-7s" % ("MiB", "method") + "".join(" %11s" % c[1] for c in COLS))
    for (mib, method), runs in sorted(results.items()):
        print("%-6d %-7s" % (mib, method) +
              "".join(" %11s" % (fmt % med(runs, k)) for k, _, fmt in COLS))
    print()
    for mib, method in sorted((k for k in results if k[1] != "bgsave"),
                              key=lambda k: (k[0], k[1] != "snap", k[1])):
        b, s = results[(mib, "bgsave")], results[(mib, method)]
        print("%s (%s):" % (method, LABELS[method]))
        fr = med(s, "frozen_ms") / med(b, "frozen_ms")
        ex = med(s, "extra_mib") / med(b, "extra_mib") if med(b, "extra_mib") else float("inf")
        p99 = med(s, "p99") / med(b, "p99")
        print("%d MiB, snap/BGSAVE: frozen %.2fx, extra memory %.2fx, p99 %.2fx, max %.2fx, "
              "complete %.2fx, ops/s %.2fx" %
              (mib, fr, ex, p99, med(s, "max") / med(b, "max"),
               med(s, "complete_s") / med(b, "complete_s"), med(s, "ops") / med(b, "ops")))
        print("  goal frozen <= BGSAVE fork (%.1f ms): %s (%.1f ms, of which %s)" %
              (med(b, "frozen_ms"), "met" if fr <= 1 else "MISSED", med(s, "frozen_ms"),
               "the pre-dump %.1f ms and the dump %.1f ms" % (med(s, "pre_ms"),
                                                            med(s, "final_ms"))
               if method == "precopy" else "its holder's fork %.1f ms" % med(s, "fork_ms")))
        extra = max(r["extra_mib"] for r in s)
        print("  goal extra memory <= --cow-limit (%d MiB): %s (max %.1f MiB: %s up to "
              "%.1f MiB + snap's peak RSS up to %.1f MiB)" %
              (COW_LIMIT, "met" if extra <= COW_LIMIT else "MISSED", extra,
               "pages held" if method == "precopy" else "cow peak",
               max(r["cow_mib"] for r in s), max(r["rss_mib"] for r in s)))
        print("  goal p99 <= BGSAVE's (%.2f ms): %s (%.2f ms)" %
              (med(b, "p99"), "met" if p99 <= 1 else "MISSED", med(s, "p99")))
        print("  p99 of the first %.1f s: %.2f ms against BGSAVE's %.2f ms (%.2fx)" %
              (EARLY_S, med(s, "e_p99"), med(b, "e_p99"), med(s, "e_p99") / med(b, "e_p99")))
        print("  probe commands over %.0f ms during the snapshot: %d against BGSAVE's %d "
              "(%.2fx)" % (SLOW_MS, med(s, "slow"), med(b, "slow"),
                           med(s, "slow") / max(med(b, "slow"), 1)))


if __name__ == "__main__":
    main()
