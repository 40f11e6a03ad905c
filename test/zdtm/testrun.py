"""One test in one mode and flavour, in its own directory: start the program
under the zdtm contract (lib/zdtmtst.h), dump it with snap, restore it, and
check what it says after SIGTERM - as the mode's entry in modes.py says."""

import os
import re
import shutil
import signal
import time
from collections import namedtuple

from hugepages import HugePages
from modes import FLAVOURS, MODES, PRE_DUMP_PAUSE
from outcome import Failure, Skip
from pageserver import PageServer
from proc import (GONE_TIMEOUT, STATUS, alive, describe, kill, proc_state, spawn, spawn_wait,
                  wait_gone,
                  wait_until)
from snap import snap_failed
from terminal import Terminal

# What every run shares: the command line (opts), the snap.Snap under test,
# and the zram.ZramSwap of the tests that need swap.
Ctx = namedtuple("Ctx", "opts snap swap")

# Printed when a tty test passed: the runner checks it reached the terminal.
TTY_MARKER = b"zdtm-tty-marker"


def tail(path, lines=12):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()[-lines:]
    except OSError:
        return []


def read_result(outfile):
    try:
        with open(outfile, errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    return text.strip() if text.endswith("\n") else None


class Run:
    """One test (tests.Test) in one mode (modes.Mode) and flavour, in its own
    directory under @root. The bad-input tests use it for their targets, with
    a @label of their own for its directory."""

    def __init__(self, ctx, test, root, mode=MODES["default"], flavour=FLAVOURS["h"],
                 label=None):
        self.ctx, self.t, self.mode, self.flavour = ctx, test, mode, flavour
        self.opts, self.snap = ctx.opts, ctx.snap
        label = label or mode.name + flavour.suffix
        self.dir = os.path.join(root, re.sub(r"[/:]", "_", test.name + ":" + label))
        self.img = os.path.join(self.dir, "img")
        self.pidfile = os.path.join(self.dir, "test.pid")
        self.outfile = os.path.join(self.dir, "test.out")
        self.terminals = []
        self.pid = None
        # (images, name) -> PageServer for the page-server modes; the default
        # listens on 127.0.0.1 and writes where the dump's images are.
        self.page_server = lambda images, name: PageServer(self.snap, images, self.dir,
                                                           name=name)
        self.hugepages = HugePages(test.hugepages * (2 if mode.side_by_side else 1))
        self.hugetlbfs_mnt = None
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.img)

    def run(self):
        """The mode's entry, step by step."""
        t, m = self.t, self.mode
        if t.live and not self.opts.nodump and self.snap.live_missing():
            raise Skip(self.snap.live_missing())
        if t.needs_swap and self.ctx.swap.ensure():
            raise Skip(self.ctx.swap.ensure())
        if t.hugepages:
            self.hugepages.reserve()
        if t.hugetlbfs:
            self.mount_hugetlbfs()
        self.start()
        if self.opts.nodump:
            self.finish("nodump")
            return
        for i in range(1, m.pre_dumps + 1):
            self.pre_dump(i)
        self.dump()
        if m.leave_running:
            how = " ".join(("dump",) + m.dump_cmd_args())
            self.check_running(how)
            self.finish("%s (the original task)" % how)
            self.clear_result()
        else:
            self.wait_gone("dump")
        for i in range(m.restores):
            if i:
                m.between(self)
                self.wait_lazy_server()
            self.restore()
        self.finish(m.restore_what())
        self.wait_lazy_server()

    def start(self):
        argv = list(self.flavour.wrap) + self.t.cmd
        argv += ["--pidfile=" + self.pidfile, "--outfile=" + self.outfile]
        for path in (argv[0],) + self.t.program:
            if not os.path.exists(path):
                raise Failure("%s is not built (make -C test/zdtm)" % path)
        stdio = os.path.join(self.dir, "test.stdio")
        if self.t.tty:
            term = Terminal(argv, os.path.join(self.dir, "test.status"), cwd=self.dir)
            self.terminals.append(term)
            status = lambda: term.exit_status()
        else:
            launcher = spawn(argv, stdout=stdio, cwd=self.dir)
            status = lambda: STATUS.get(launcher)

        wait_until(lambda: status() is not None, self.t.start_timeout)
        st = status()
        if st is None:
            raise Failure("not ready after %d s" % self.t.start_timeout, stdio)
        result = read_result(self.outfile) or ""
        if result.startswith("SKIP"):
            raise Skip(result[5:].strip())
        if st != 0:
            raise Failure("did not start (%s): %s" % (describe(st), result or "no result"),
                          stdio)
        with open(self.pidfile) as f:
            self.pid = int(f.read())
        if not alive(self.pid):
            raise Failure("pid %d from the pidfile is not running" % self.pid, stdio)

    def pre_dump(self, i):
        """Pre-dump number @i into ../preI, on top of the one before; the task runs on."""
        time.sleep(PRE_DUMP_PAUSE)
        pre = os.path.join(self.dir, "pre%d" % i)
        args = ["pre-dump", "-t", str(self.pid), "-D", pre, "-o", "pre-dump.log", "-v", "4",
                "--display-stats"]
        if i > 1:
            args += ["--prev-images-dir", "../pre%d" % (i - 1)]
        os.makedirs(pre, exist_ok=True)
        server = None
        if self.mode.page_server:
            server = self.page_server(pre, "page-server-pre%d" % i)
            if not server.ready():
                server.wait(5)
                raise Failure("the page server did not start", server.log())
            args += server.dump_args()
        status, err, out = self.snap.run_stats(args, pre, "pre-dump")
        if server:
            sstatus, serr = server.wait(10 if status == 0 else 1)
        if status != 0:
            raise Failure(snap_failed("pre-dump %d" % i, status, err),
                          os.path.join(pre, "pre-dump.log"))
        if server and sstatus != 0:
            raise Failure(snap_failed("page-server", sstatus, serr), server.log())
        if not alive(self.pid):
            raise Failure("the task died after pre-dump %d" % i,
                          os.path.join(self.dir, "test.stdio"))
        # Each part of the freeze is within it (the release once read the clock against 0).
        stats = dict(re.findall(r"^\s*(frozen [a-z ]+?):\s+(\d+) us", out, re.M))
        if "frozen time" not in stats or any(int(v) > int(stats["frozen time"])
                                             for v in stats.values()):
            raise Failure("pre-dump %d's frozen parts exceed its frozen time: %s" % (i, stats),
                          os.path.join(pre, "pre-dump.out"))
        time.sleep(PRE_DUMP_PAUSE)

    def dump(self, mode=None):
        """Dump the task as @mode (default: this run's) says."""
        mode = mode or self.mode
        args = ["dump", "-t", str(self.pid), "-D", self.img, "-o", "dump.log", "-v", "4"]
        args += list(self.t.dump_args) + list(mode.dump_cmd_args())
        stats = self.t.live or self.t.stats
        if stats:
            args.append("--display-stats")
        server = None
        if mode.page_server:
            server = self.page_server(self.img, "page-server")
            if not server.ready():
                server.wait(5)
                raise Failure("the page server did not start", server.log())
            args += server.dump_args()
        if not stats:
            status, err = self.snap.run(args, self.img, "dump")
        else:
            status, err, out = self.snap.run_stats(args, self.img, "dump")
        if server:
            sstatus, serr = server.wait(10 if status == 0 else 1)
        if status != 0:
            raise Failure(snap_failed("dump", status, err), self.log("dump"))
        if server and sstatus != 0:
            raise Failure(snap_failed("page-server", sstatus, serr), server.log())
        if stats:
            self.check_stats(out, mode)
        if self.t.max_image_pages is not None:
            size = sum(os.path.getsize(os.path.join(self.img, f))
                       for f in os.listdir(self.img)
                       if f.startswith("pages-") or f.startswith("shmem-pages-"))
            if size // 4096 > self.t.max_image_pages:
                raise Failure("the image holds %d pages, expected at most %d" % (
                    size // 4096, self.t.max_image_pages), self.log("dump"))

    def serve_pages(self):
        """lazy_remote: a `snap page-server` serving a copy of the whole set (its
        "parent" link, relative, still names the sets beside it); the images keep
        everything but their pages-*.img. The lazy-pages arguments to reach it."""
        served = os.path.join(self.dir, "served")
        if not os.path.isdir(served):
            shutil.copytree(self.img, served, symlinks=True)
            for f in os.listdir(self.img):
                if f.startswith("pages-"):
                    os.unlink(os.path.join(self.img, f))
        self.lazy_ps = PageServer(self.snap, served, self.dir, name="lazy-page-server")
        if not self.lazy_ps.ready():
            self.lazy_ps.wait(5)
            raise Failure("the page server for lazy-pages did not start", self.lazy_ps.log())
        return self.lazy_ps.dump_args()

    def start_lazy_server(self):
        """`snap lazy-pages` on the images, listening once its socket exists."""
        sock = os.path.join(self.img, "lazy-pages.sock")
        if os.path.exists(sock):
            os.unlink(sock)
        remote = self.serve_pages() if self.mode.lazy_remote else []
        self.lazy_pid = self.snap.start(["lazy-pages", "-D", self.img, "-o", "lazy-pages.log",
                                         "-v", "4", "--display-stats"] + remote, self.img,
                                        "lazy-pages")
        if not wait_until(lambda: os.path.exists(sock), 10):
            raise Failure("snap lazy-pages did not listen within 10 s",
                          self.log("lazy-pages"))

    def wait_lazy_server(self, timeout=60):
        """The lazy-pages server of the last restore exits by itself, with 0."""
        pid, self.lazy_pid = getattr(self, "lazy_pid", None), None
        if pid is None:
            return
        status, err, _ = self.snap.wait(pid, self.img, "lazy-pages", timeout)
        if status != 0:
            raise Failure(snap_failed("lazy-pages", status, err), self.log("lazy-pages"))
        ps, self.lazy_ps = getattr(self, "lazy_ps", None), None
        if ps:
            status, err = ps.wait(10)
            if status != 0:
                raise Failure(snap_failed("the page server for lazy-pages", status, err),
                              ps.log())

    def restore(self):
        restored = os.path.join(self.dir, "restored.pid")
        if os.path.exists(restored):
            os.unlink(restored)
        if self.mode.lazy_server:
            self.start_lazy_server()
        args = ["restore", "-D", self.img, "-d", "-o", "restore.log", "-v", "4",
                "--pidfile", restored]
        args += list(self.mode.restore_args)
        env = (dict(os.environ, **dict(e.split("=", 1) for e in self.t.restore_env))
               if self.t.restore_env else None)
        status, err = self.snap.run(args + list(self.t.restore_args), self.img, "restore",
                                    env=env, terminal=self.terminals if self.t.tty else None)
        if status != 0:
            raise Failure(snap_failed("restore", status, err), self.log("restore"))
        if self.t.new_pid or self.mode.new_pid or self.flavour.new_pid:
            with open(restored) as f:
                self.pid = int(f.read())
        elif os.path.exists(restored):
            with open(restored) as f:
                got = f.read().strip()
            if got != str(self.pid):
                raise Failure("restored pid is %s, expected %d" % (got, self.pid),
                              self.log("restore"))
        if not alive(self.pid):
            raise Failure("pid %d is not running after restore" % self.pid,
                          self.log("restore"))

    def check_stats(self, out, mode):
        """The dump's --display-stats meet the test's stats (one with a fourth
        field, a mode's name, only in that mode); a live test's say whether
        the dump was live, as asked."""
        stats = dict(re.findall(r"^\s*([A-Za-z][\w ]*?):\s+(\S+)", out, re.M))
        live = mode.live
        if not self.t.live:
            want = self.t.stats
        else:
            want = [("live", "==", "yes" if live else "no")] + list(self.t.stats if live else ())
        want = [w[:3] for w in want if len(w) < 4 or w[3] == mode.name]
        outfile = os.path.join(self.img, "dump.out")
        for name, op, value in want:
            got = stats.get(name)
            if got is None:
                raise Failure("the dump's --display-stats have no '%s'" % name, outfile)
            if isinstance(value, int):
                try:
                    got = int(got)
                except ValueError:
                    raise Failure("the dump's %s is '%s', not a number" % (name, got), outfile)
            ok = {"==": got == value, "<=": got <= value, ">": got > value,
                  ">=": got >= value}[op]
            if not ok:
                raise Failure("the dump's %s is %s, expected %s %s" % (name, got, op, value),
                              outfile)

    def log(self, name):
        log = os.path.join(self.img, name + ".log")
        return log if os.path.exists(log) else os.path.join(self.img, name + ".err")

    def wait_gone(self, why):
        if not wait_gone(self.pid):
            raise Failure("pid %d still exists %d s after %s" % (self.pid, GONE_TIMEOUT, why))

    def check_running(self, after):
        state = proc_state(self.pid)
        if state is None or state in "ZX":
            raise Failure("task gone after %s" % after, self.log("dump"))
        if state in "Tt":
            raise Failure("task left stopped (state %s) after %s" % (state, after),
                          self.log("dump"))

    def finish(self, what="restore"):
        """SIGTERM the task and expect PASS in the outfile."""
        kill(self.pid, signal.SIGTERM)
        wait_until(lambda: read_result(self.outfile), self.t.result_timeout)
        result = read_result(self.outfile)
        if not result:
            state = proc_state(self.pid)
            raise Failure("no result %d s after SIGTERM (%s)" % (
                self.t.result_timeout, "task gone" if state in (None, "Z") else
                "state " + state), self.outfile + ".log")
        if result != "PASS":
            raise Failure("%s after %s" % (result, what), self.outfile + ".log")
        if not wait_gone(self.pid, 5):
            raise Failure("task still exists after it passed")
        if self.t.tty and TTY_MARKER not in self.terminals[-1].read():
            raise Failure("the tty marker did not reach the terminal")

    def mount_hugetlbfs(self):
        mnt = self.outfile + ".hugetlbfs"
        os.makedirs(mnt)
        if spawn_wait(["/bin/mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "none", mnt]):
            raise Skip("cannot mount a hugetlbfs of 2 MiB pages")
        self.hugetlbfs_mnt = mnt

    def clear_result(self):
        open(self.outfile, "w").close()

    def cleanup(self):
        if getattr(self, "lazy_pid", None):
            kill(self.lazy_pid, group=True)
        if getattr(self, "lazy_ps", None):
            self.lazy_ps.kill()
        if self.pid:
            kill(self.pid)
            kill(self.pid, group=True)
        for term in self.terminals:
            kill(term.holder, group=True)
            term.close()
        if self.hugepages.added or self.hugetlbfs_mnt:
            # Pages still mapped would stay as surplus until freed: wait first.
            if self.pid:
                wait_gone(self.pid, 5)
        if self.hugetlbfs_mnt:
            # Its files hold huge pages until it is gone.
            spawn_wait(["/bin/umount", self.hugetlbfs_mnt])
            self.hugetlbfs_mnt = None
        if self.hugepages.added:
            self.hugepages.release()

