"""runc checkpoint/restore through snap and through CRIU (scripts/bench-runc.sh).

Two containers, each run by Debian's runc with runc's default namespaces but
the network one (as test/zdtm/runc.py): busybox sh counting into a
bind-mounted /data, and a static program holding 1 GiB of filled anonymous
memory (scripts/bench-runc-memhog.c) that counts the same way. For each tool
(`runc --criu TOOL`, and TOOL first in PATH as `criu`), RUNS times each:

  checkpoint   `runc checkpoint` wall time (the container is killed), and
               the time it was frozen (snap: its dump log; CRIU: stats-dump);
  restore      `runc restore -d` wall time, checked by the counter going on
               from where it stood;
  live         `runc checkpoint --leave-running` wall time and frozen time.

Medians of RUNS are printed, one line per tool, container and case. A step
that fails prints its error line (snap's, else runc's) instead, and the
remaining runs of that tool and container are skipped.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RUNC = "/usr/sbin/runc"
BUSYBOX = "/bin/busybox"
COUNTER = ("exec </dev/null >/dev/null 2>&1; i=0; "
           "while :; do i=$((i+1)); echo $i >/data/counter; sleep 0.2; done")


class StepFailed(Exception):
    pass


class Bench:
    def __init__(self, tool, name, workdir, memhog=None):
        self.tool, self.name = tool, name
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=workdir)
        self.id = "bench-%d-%s" % (os.getpid(), name)
        self.bundle = os.path.join(self.dir, "bundle")
        self.rootfs = os.path.join(self.bundle, "rootfs")
        self.data = os.path.join(self.dir, "data")
        self.state = os.path.join(self.dir, "state")
        self.bin = os.path.join(self.dir, "bin")
        for d in (os.path.join(self.rootfs, "bin"), os.path.join(self.rootfs, "data"),
                  self.data, self.state, self.bin):
            os.makedirs(d, exist_ok=True)
        os.symlink(tool, os.path.join(self.bin, "criu"))
        if memhog:
            shutil.copy(memhog, os.path.join(self.rootfs, "memhog"))
            args = ["/memhog", "1024"]
        else:
            shutil.copy(BUSYBOX, os.path.join(self.rootfs, "bin", "busybox"))
            for a in ("sh", "sleep", "echo"):
                os.symlink("busybox", os.path.join(self.rootfs, "bin", a))
            args = ["sh", "-c", COUNTER]
        self.runc(["spec", "--bundle", self.bundle])
        path = os.path.join(self.bundle, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = args
        cfg["root"]["readonly"] = False
        cfg["mounts"].append({"destination": "/data", "type": "bind", "source": self.data,
                              "options": ["rbind", "rw"]})
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                      if n["type"] != "network"]
        with open(path, "w") as f:
            json.dump(cfg, f)
        self.n = 0

    def runc(self, args, check=True, stdio=None):
        env = dict(os.environ, PATH=self.bin + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
        argv = [RUNC, "--root", self.state, "--criu", os.path.join(self.bin, "criu")] + args
        # A file, not a pipe: `run -d` hands its stdio to the container, which keeps it.
        with tempfile.TemporaryFile(dir=self.dir) as f:
            t0 = time.monotonic()
            p = subprocess.run(argv, cwd=self.bundle, env=env, stdin=subprocess.DEVNULL,
                               stdout=stdio if stdio is not None else f,
                               stderr=subprocess.STDOUT, timeout=300)
            dt = time.monotonic() - t0
            f.seek(0)
            out = f.read().decode(errors="replace")
        if check and p.returncode:
            raise StepFailed(out.strip().splitlines()[-1] if out.strip() else "exit %d" %
                             p.returncode)
        return p.returncode == 0, out, dt

    def counter(self):
        try:
            with open(os.path.join(self.data, "counter")) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def wait_counter(self, above, what, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.counter() > above:
                return self.counter()
            time.sleep(0.05)
        raise StepFailed("%s: the counter stays at %d" % (what, self.counter()))

    def start(self):
        try:
            os.unlink(os.path.join(self.data, "counter"))
        except FileNotFoundError:
            pass
        # The container keeps runc's stdio: /dev/null, not a file outside its root.
        self.runc(["run", "-d", self.id], stdio=subprocess.DEVNULL)
        self.wait_counter(1, "start")

    def stop(self):
        self.runc(["kill", self.id, "KILL"], check=False)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            ok, out, _ = self.runc(["state", self.id], check=False)
            if not ok or '"stopped"' in out:
                break
            time.sleep(0.05)
        self.runc(["delete", "-f", self.id], check=False)

    def images(self):
        self.n += 1
        img = os.path.join(self.dir, "img%d" % self.n)
        os.makedirs(img)
        return img

    def error_of(self, img, log, out):
        """The tool's error: snap's 'snap: ' line, CRIU's 'Error' line, else runc's."""
        lines = []
        try:
            with open(os.path.join(img, log), errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            pass
        for l in out.splitlines() + lines:
            if l.startswith("snap: "):
                return l.strip()
        # CRIU: its helpers' exits come first, the cause after them.
        errs = [l for l in lines if ("Error" in l and "exited, status" not in l) or
                "swrk:" in l]
        if errs:
            return errs[0].strip()
        return out.strip().splitlines()[-1] if out.strip() else "(no output)"

    def checkpoint(self, live):
        img = self.images()
        args = ["checkpoint", "--image-path", img, "--work-path", img]
        ok, out, dt = self.runc(args + (["--leave-running"] if live else []) + [self.id],
                                check=False)
        if not ok:
            raise StepFailed(self.error_of(img, "dump.log", out))
        return img, dt, frozen_of(img)

    def restore(self, img, at):
        ok, out, dt = self.runc(["restore", "-d", "--image-path", img, "--work-path", img,
                                 self.id], check=False)
        if not ok:
            raise StepFailed(self.error_of(img, "restore.log", out))
        got = self.wait_counter(at, "after restore", timeout=30)
        if got > at + 50:
            raise StepFailed("after restore the counter is %d, checkpointed at %d" % (got, at))
        return dt

    def cleanup(self):
        self.stop()
        with open("/proc/self/mountinfo") as f:
            mounts = [l.split()[4] for l in f]
        for m in reversed(mounts):
            if m.startswith(self.dir + "/"):
                subprocess.run(["umount", "-l", m])
        # Its tasks may still be dying (runc's own rmdir then failed): retry.
        left = []
        for root, dirs, _ in os.walk("/sys/fs/cgroup"):
            if self.id in dirs:
                left.append(os.path.join(root, self.id))
            if root.count("/") > 4:
                dirs[:] = []
        end = time.monotonic() + 5
        while left and time.monotonic() < end:
            for cg in list(left):
                try:
                    os.rmdir(cg)
                    left.remove(cg)
                except FileNotFoundError:
                    left.remove(cg)
                except OSError:
                    pass
            time.sleep(0.1)
        shutil.rmtree(self.dir, ignore_errors=True)


def frozen_of(img):
    """Frozen time in ms: snap's dump log line, or CRIU's stats-dump (crit)."""
    try:
        with open(os.path.join(img, "dump.log"), errors="replace") as f:
            m = re.search(r"done \(\d+ processes\): frozen (\d+) us", f.read())
        if m:
            return int(m.group(1)) / 1000.0
    except OSError:
        pass
    stats = os.path.join(img, "stats-dump")
    if os.path.exists(stats) and shutil.which("crit"):
        p = subprocess.run(["crit", "show", stats], stdout=subprocess.PIPE)
        m = re.search(r'"frozen_time":\s*(\d+)', p.stdout.decode())
        if m:
            return int(m.group(1)) / 1000.0
    return None


def measure(tool, name, workdir, memhog, runs):
    res = {"checkpoint": [], "frozen": [], "restore": [], "live": [], "live_frozen": []}
    b = Bench(tool, name, workdir, memhog)
    try:
        for _ in range(runs):
            b.start()
            img, dt, fr = b.checkpoint(live=False)
            at = b.counter()
            res["checkpoint"].append(dt)
            res["frozen"].append(fr)
            res["restore"].append(b.restore(img, at))
            b.stop()
            b.start()
            img, dt, fr = b.checkpoint(live=True)
            res["live"].append(dt)
            res["live_frozen"].append(fr)
            b.stop()
    except StepFailed as e:
        res["error"] = str(e)
    finally:
        b.cleanup()
    return res


def med(v, scale=1000.0):
    v = [x for x in v if x is not None]
    return "%9.1f" % (statistics.median(v) * scale) if v else "        -"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snap", default=os.path.abspath("snap/snap"))
    ap.add_argument("--criu", default=os.environ.get("CRIU") or shutil.which("criu")
                    or "/usr/sbin/criu")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--memhog", default=os.path.abspath("scripts/bench-runc-memhog"))
    a = ap.parse_args()
    for path in (RUNC, BUSYBOX, a.snap, a.memhog):
        if not os.access(path, os.X_OK):
            sys.exit("bench-runc: %s is missing (scripts/install-deps.sh; make)" % path)
    workdir = tempfile.mkdtemp(prefix="bench-runc-")
    os.chmod(workdir, 0o755)
    tools = [("snap", a.snap)]
    if os.access(a.criu, os.X_OK):
        tools.append(("criu", a.criu))
    print("runc %s; medians of %d runs; times in ms (frozen: from the tool's log)" % (
        subprocess.run([RUNC, "--version"], stdout=subprocess.PIPE).stdout.decode()
        .split()[2], a.runs))
    print("%-5s %-8s %9s %9s %9s %9s %9s" % ("tool", "ctr", "ckpt", "frozen", "restore",
                                              "live", "live-frz"))
    try:
        for tname, tool in tools:
            for cname, memhog in (("busybox", None), ("mem1g", a.memhog)):
                r = measure(tool, cname, workdir, memhog, a.runs)
                print("%-5s %-8s %s %s %s %s %s" % (
                    tname, cname, med(r["checkpoint"]), med(r["frozen"], 1),
                    med(r["restore"]), med(r["live"]), med(r["live_frozen"], 1)))
                if "error" in r:
                    print("      %s: %s" % (cname, r["error"]))
                sys.stdout.flush()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
