#!/usr/bin/env python3
"""zdtm-style test runner for snap.

Each zdtm test is a program started as `prog --pidfile=P --outfile=O`; P
appears once it is ready (see lib/zdtmtst.h). The runner dumps that pid with
snap, restores it, sends SIGTERM and reads PASS or FAIL from O.

    run.py [--snap PATH] [--nodump] [-k SUBSTR] [--keep]

Prints one line per test (PASS name / FAIL name: reason / SKIP name: reason)
and ends with "N passed, N failed[, N skipped]"; exits 1 if anything failed.

Live-snapshot tests (static/live_*, bad/live_*) are skipped unless snap
has the live mode (`--no-live` in `snap --help`) and `snap check` reports
UFFD_FEATURE_WP; their dumps run with --display-stats, which must say
`live: yes` and meet the test's stats (e.g. `cow peak memory` under its
--cow-limit). Other tests with stats have them checked on every dump.

Tests that need pages in swap (static/mem_swap*) run with whatever swap is
on; if there is none, the runner makes a zram swap device for them the first
time one runs, and removes it at the end (see zram.py). When it cannot, those
tests are skipped with the reason.

Tests that map hugetlb memory (Test(hugepages=N)) get that many free 2 MiB
huge pages (twice as many where the original and the restored task run side
by side): the runner adds the shortfall to /proc/sys/vm/nr_hugepages before
the test and takes it back after, and skips the test if the kernel cannot
find them.

The runner is a child subreaper and reaps at once: a dumped (killed) task and
every orphan, restored tasks included, become its children, so a pid is free
again as soon as its task is gone - not a few seconds later, when PID 1 would
get to it.
"""

import argparse
import ctypes
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import zlib

import zram

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

START_TIMEOUT = 10     # s until the pidfile appears
GONE_TIMEOUT = 10      # s until a dumped/killed task has disappeared
SNAP_TIMEOUT = 120     # s for one snap command
RESULT_TIMEOUT = 10    # s from SIGTERM to PASS/FAIL in the outfile
PID_WAIT_MS = 500      # how long restore waits for a busy pid in bad/restore_pid_busy
ZRAM_SIZE = "1G"       # the zram swap made for the tests that need swap, if none is on


class Test:
    """One program under the zdtm contract and how to run it."""

    def __init__(self, name, cmd=None, modes=("default",), dump_args=(), restore_args=(),
                 tty=False, start_timeout=START_TIMEOUT, result_timeout=RESULT_TIMEOUT,
                 max_image_pages=None, live=False, stats=(),
                 needs_swap=False, hugepages=0):
        self.name = name
        self.cmd = cmd or [os.path.join(HERE, name)]
        self.modes = modes
        self.dump_args = list(dump_args)
        self.restore_args = list(restore_args)
        self.tty = tty
        self.start_timeout = start_timeout
        self.result_timeout = result_timeout
        # Untouched and zero-page memory must cost nothing in the image.
        self.max_image_pages = max_image_pages
        # A live-snapshot test: skipped unless snap has the live mode; its
        # dumps show --display-stats, which must say whether they were live.
        self.live = live
        # (stat, op, value) that the --display-stats of its dumps must meet;
        # for a live test, of its live dumps (a --no-live control copies
        # nothing before writes, say).
        self.stats = list(stats)
        # Pushes pages out to swap: skipped when there is none and none can be made.
        self.needs_swap = needs_swap
        # 2 MiB huge pages one instance of the test maps; reserved for it.
        self.hugepages = hugepages


def static(name, modes=("default",), prog=None, args=(), **kw):
    """static/PROG (default: NAME) run with ARGS."""
    cmd = [os.path.join(HERE, "static", prog or name)] + list(args)
    return Test("static/" + name, cmd=cmd, modes=modes, **kw)


def live(name, prog=None, args=(), modes=("live",), **kw):
    """A live-snapshot test: static/PROG (default: NAME) run with ARGS."""
    cmd = [os.path.join(HERE, "static", prog or name)] + list(args)
    return Test("static/" + name, cmd=cmd, modes=modes, live=True, **kw)


# Modes: "default" dumps (which kills the task) and restores once.
# "leave-running" dumps with --leave-running, checks that the task still runs
# and still passes, then restores from the image and checks that too: only
# for tests whose checks change nothing outside the process (no file writes).
# "twice" restores, SIGKILLs the restored task, restores again from the same
# images, and checks that.
# "live" is "leave-running" for live-snapshot tests: the dump is live (snap's
# default with --leave-running), the task races it and must still pass, and so
# must the task restored from the image. "no-live" is the same with --no-live,
# the stop-the-world dump, as a control.
LR = ("default", "leave-running")
TW = ("default", "twice")
ALL = ("default", "leave-running", "twice")

# The live dump served write faults: the test raced it for real.
COW_FAULTS = ("cow faults", ">", 0)
# static/mem_swap pushes just over half of its 64 MiB out to swap: all of it
# was in swap at the dump.
SWAPPED = ("pages swapped", ">=", 64 << 20 >> 12 >> 1)

TESTS = [
    static("regs_gpr", ALL),
    static("fpu_sse"),
    static("fpu_avx", ALL),
    static("fpu_avx512"),
    static("tls_fsbase"),
    static("sig_mask"),
    static("sig_actions"),
    static("sig_pending", ALL),
    static("sig_altstack"),
    static("itimer_real", LR),
    static("itimer_cpu"),
    static("rlimits"),
    static("umask"),
    static("cwd"),
    static("personality"),
    static("comm"),
    static("thread_arith", ALL),
    static("thread_futex", ALL),
    static("thread_churn", ALL),
    static("creds"),
    static("prctl_state", ALL),
    static("posix_timer", ALL),
    static("seccomp_filter", ALL),
    static("seccomp_threads", ALL, prog="seccomp_filter", args=["threads"]),
    static("seccomp_strict", ALL),
    static("caps"),
    static("exe_link"),
    static("proc_mm"),
    static("mem_heap", ALL),
    static("mem_brk"),
    static("mem_stack"),
    static("mem_anon_prot", LR),
    static("mem_sparse", ALL, max_image_pages=256),
    # 16 GiB with 10 pages touched: the image holds those and the program's own.
    static("mem_sparse_16g", LR, prog="mem_sparse", args=["16"], max_image_pages=64,
           result_timeout=60),
    # "no-live" is the stop-the-world -R dump; the live one is mem_swap_live.
    static("mem_swap", ("default", "no-live"), needs_swap=True, stats=[SWAPPED]),
    static("mem_zeropage", max_image_pages=256),
    static("mem_file_private", TW),
    static("mem_file_shared"),
    static("mem_mprotect_split"),
    static("mem_mremap"),
    static("shm_anon", ALL, max_image_pages=256),
    static("shm_memfd", ALL),
    static("shm_posix", ALL),
    static("shm_sysv", ALL),
    static("shm_tree", ALL),
    # Half of two 8 MiB objects in swap; "leave-running" is a live dump.
    static("shm_swapped", ("default", "leave-running", "no-live"), needs_swap=True,
           stats=[("shmem swapped", ">=", 2048 - 2048 // 100)]),
    static("mem_madvise", ALL),
    static("mem_guard", ALL),
    static("mem_mlock", ALL),
    static("mem_thp", ALL),
    static("mem_hugetlb", ALL, hugepages=4),
    static("vdso", TW),
    static("file_offset", LR),
    static("file_flags"),
    static("file_highfd"),
    static("file_devices"),
    static("file_unlinked", ALL),
    static("file_many_fds", ALL),
    static("pstree", ALL),
    static("pstree_states", ALL),
    static("pstree_shared", ALL),
    static("pstree_threads", ALL),
    static("pipe_data", ALL),
    static("pipe_closed_writer"),
    static("pipe_nonblock"),
    static("pipe_size", TW),
    static("tty_shelljob", TW, dump_args=["--shell-job"], restore_args=["--shell-job"],
           tty=True),
    Test("apps/pydict", cmd=[PYTHON, os.path.join(HERE, "apps/pydict.py")], modes=LR,
         start_timeout=120, result_timeout=120),
    live("live_ring", modes=("live", "no-live"), stats=[COW_FAULTS]),
    live("live_ring_threads", "live_ring", ["256", "4"], modes=("live", "no-live"),
         stats=[COW_FAULTS]),
    # The ring in MAP_SHARED|MAP_ANONYMOUS memory, written by two child
    # processes and the root: streamed after the freeze, not saved frozen.
    live("live_ring_procs", "live_ring", ["128", "3", "procs"], modes=("live", "no-live"),
         stats=[COW_FAULTS, ("shmem streamed", ">=", 128 << 20 >> 12)]),
    # The same, the processes without CAP_SYS_PTRACE: no fork events, so the
    # shared ring is saved while frozen, and still right.
    Test("static/live_ring_procs_nocap", live=True, modes=("live",),
         cmd=["/usr/sbin/capsh", "--drop=cap_sys_ptrace", "--", "-c", 'exec "$@"', "sh",
              os.path.join(HERE, "static", "live_ring"), "64", "3", "procs"],
         stats=[("shmem streamed", "==", 0), ("shmem pages", ">=", 64 << 20 >> 12)]),
    live("live_mutate"),
    # Shared pages punched out or discarded, then written, while streamed.
    live("live_shm_mutate", stats=[("shmem streamed", ">=", 64 << 20 >> 12)]),
    live("live_munmap", "live_mutate", ["munmap"]),
    live("live_dontneed", "live_mutate", ["dontneed"]),
    live("live_mapfixed", "live_mutate", ["mapfixed"]),
    live("live_mremap", "live_mutate", ["mremap"]),
    live("live_pipe_read"),
    live("live_fork"),
    # Children forked during the background phase write the shared ring.
    live("live_fork_shared", "live_fork", ["shared"],
         stats=[("shmem streamed", ">=", 128 << 20 >> 12)]),
    live("live_cow_limit", dump_args=["--cow-limit", "4M"],
         stats=[("cow peak memory", "<=", 4096), COW_FAULTS]),
    live("mem_swap_live", "mem_swap", needs_swap=True, stats=[SWAPPED]),
    live("live_madvise", "mem_madvise"),
    live("live_guard", "mem_guard"),
    live("live_mlock", "mem_mlock"),
    live("live_thp", "mem_thp"),
    live("live_hugetlb", "mem_hugetlb", hugepages=4),
]

# The targets of the bad/live_* tests: a 256 MiB and a 512 MiB ring writer.
LIVE_RING = next(t for t in TESTS if t.name == "static/live_ring")
LIVE_RING_512 = live("live_ring", args=["512"])
LIVE_RING_PROCS = next(t for t in TESTS if t.name == "static/live_ring_procs")

# Printed when a tty test passed: the runner checks it reached the terminal.
TTY_MARKER = b"zdtm-tty-marker"


class Failure(Exception):
    """A test failed: reason, and the log that tells more."""

    def __init__(self, reason, log=None):
        super().__init__(reason)
        self.reason = reason
        self.log = log


class Skip(Exception):
    pass


# --- processes ------------------------------------------------------------

STATUS = {} # pid -> wait status of every child reaped


def reap(*_):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        STATUS[pid] = status


def become_subreaper():
    PR_SET_CHILD_SUBREAPER = 36
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0):
        sys.exit("run.py: PR_SET_CHILD_SUBREAPER: %s" % os.strerror(ctypes.get_errno()))
    signal.signal(signal.SIGCHLD, reap)


def spawn(argv, stdin="/dev/null", stdout="/dev/null", stderr=None, cwd=None, env=None):
    """fork+exec @argv in a new session; stdio are paths or fds. Returns the pid."""
    # No reaping until a stale status of an earlier task with this pid is dropped.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    pid = os.fork()
    if pid:
        STATUS.pop(pid, None)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        return pid
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        os.setsid()
        fds = []
        for path, flags in ((stdin, os.O_RDONLY), (stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
            fds.append(os.dup(path) if isinstance(path, int) else os.open(path, flags, 0o644))
        if stderr is None:
            fds.append(os.dup(fds[1]))
        elif isinstance(stderr, int):
            fds.append(os.dup(stderr))
        else:
            fds.append(os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, 65536)
        if cwd:
            os.chdir(cwd)
        os.execve(argv[0], argv, env if env is not None else os.environ)
    except BaseException as e:
        try:
            os.write(2, ("exec %s: %s\n" % (argv[0], e)).encode())
        finally:
            os._exit(127)


def proc_state(pid):
    """State letter from /proc/PID/stat, or None if there is no such process."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return data[data.rindex(")") + 2]


def alive(pid):
    reap()
    state = proc_state(pid)
    return state is not None and state not in "ZX"


def wait_until(cond, timeout, step=0.01):
    deadline = time.monotonic() + timeout
    while True:
        reap()
        v = cond()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def wait_exit(pid, timeout):
    """Wait status of our child @pid, or None if it runs past @timeout."""
    if wait_until(lambda: pid in STATUS, timeout):
        return STATUS.pop(pid)
    return None


def wait_gone(pid, timeout=GONE_TIMEOUT):
    return wait_until(lambda: proc_state(pid) is None, timeout)


def kill(pid, sig=signal.SIGKILL, group=False):
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def descendants():
    """Pids of every live process below the runner."""
    parent = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2:].split()
        if fields[0] not in "ZX":
            parent[int(d)] = int(fields[1])
    me, found = os.getpid(), set()
    for pid in parent:
        p, seen = pid, set()
        while p in parent and p not in seen:
            seen.add(p)
            p = parent[p]
            if p == me:
                found.add(pid)
                break
    return found


def kill_tree(pid):
    """SIGKILL @pid and every process below it."""
    tree, grew = {pid}, True
    while grew:
        grew = False
        for d in os.listdir("/proc"):
            if d.isdigit() and int(d) not in tree:
                try:
                    with open("/proc/%s/stat" % d) as f:
                        data = f.read()
                except OSError:
                    continue
                if int(data[data.rindex(")") + 2:].split()[1]) in tree:
                    tree.add(int(d))
                    grew = True
    for p in tree:
        kill(p)


def kill_descendants():
    for _ in range(3):
        pids = descendants()
        if not pids:
            break
        for pid in pids:
            kill(pid)
        wait_until(lambda: not descendants(), 2)


def describe(status):
    if status is None:
        return "timed out"
    if os.WIFSIGNALED(status):
        return "killed by signal %d" % os.WTERMSIG(status)
    return "exit %d" % os.WEXITSTATUS(status)


def exit_code(status):
    return os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None


# --- terminals ------------------------------------------------------------

# A session leader that owns a terminal, like a shell: it makes the pty on its
# stdio its controlling tty, runs the command as a child (in its session and
# process group), writes the exit code to argv[1] and stays alive, so that
# the terminal is not hung up when the command (or the task it leaves behind)
# goes on.
HOLDER = r"""
import fcntl, os, signal, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status = os.waitpid(pid, 0)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d" % os.waitstatus_to_exitcode(status))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    signal.pause()
"""


class Terminal:
    """A pty whose slave is a holder's controlling tty; runs one command."""

    def __init__(self, argv, status_path, cwd=None, env=None):
        self.master, slave = os.openpty()
        os.set_blocking(self.master, False)
        self.status_path = status_path
        self.output = b""
        try:
            os.unlink(status_path)
        except FileNotFoundError:
            pass
        self.holder = spawn([PYTHON, "-c", HOLDER, status_path] + argv, stdin=slave,
                            stdout=slave, stderr=slave, cwd=cwd, env=env)
        os.close(slave)

    def read(self):
        while True:
            try:
                data = os.read(self.master, 65536)
            except (BlockingIOError, OSError):
                return self.output
            if not data:
                return self.output
            self.output += data

    def exit_status(self):
        """Wait status (as os.waitpid gives it) of the command, or None while it runs."""
        self.read()
        try:
            with open(self.status_path) as f:
                code = int(f.read())
        except (FileNotFoundError, ValueError):
            return None
        return (-code) if code < 0 else code << 8

    def close(self):
        kill(self.holder)
        self.read()
        os.close(self.master)


# --- running snap ---------------------------------------------------------

class Snap:
    def __init__(self, path):
        self.path = path
        self.help = None
        self.live_checked, self.live_reason = False, None

    def supports(self, option):
        if self.help is None:
            out = os.path.join(tempfile.gettempdir(), "snap-help.%d" % os.getpid())
            pid = spawn([self.path, "--help"], stdout=out)
            if wait_exit(pid, 10) is None:
                kill(pid)
            with open(out, errors="replace") as f:
                self.help = f.read()
            os.unlink(out)
        return option in self.help

    def live_missing(self):
        """Why live dumps cannot be tested here, or None if they can."""
        if not self.live_checked:
            self.live_checked = True
            if not self.supports("--no-live"):
                self.live_reason = "live mode not available"
            else:
                out = os.path.join(tempfile.gettempdir(), "snap-check.%d" % os.getpid())
                pid = spawn([self.path, "check"], stdout=out)
                if wait_exit(pid, 30) is None:
                    kill(pid)
                with open(out, errors="replace") as f:
                    check = f.read()
                os.unlink(out)
                if not re.search(r"UFFD_FEATURE_WP\s*:\s*yes", check):
                    self.live_reason = ("the kernel lacks UFFD_FEATURE_WP (userfaultfd "
                                        "write-protection, see `snap check`)")
        return self.live_reason

    def run(self, args, workdir, name, timeout=None, env=None, terminal=None):
        """Run `snap ARGS` in @workdir; stderr goes to NAME.err. Returns (status, stderr)."""
        timeout = timeout or SNAP_TIMEOUT
        err = os.path.join(workdir, name + ".err")
        argv = [self.path] + args
        if terminal:
            term = Terminal(argv, os.path.join(workdir, name + ".status"), cwd=workdir,
                            env=env)
            terminal.append(term)
            wait_until(lambda: term.exit_status() is not None, timeout)
            status = term.exit_status()
            with open(err, "wb") as f:
                f.write(term.read())
            if status is None:
                kill(term.holder, group=True)
        else:
            pid = spawn(argv, stdout=err, cwd=workdir, env=env)
            status = wait_exit(pid, timeout)
            if status is None:
                kill(pid, group=True)
                wait_exit(pid, 5)
        with open(err, errors="replace") as f:
            return status, f.read()

    def start(self, args, workdir, name, env=None):
        """Start `snap ARGS` in @workdir: stdout to NAME.out, stderr to NAME.err. Its pid."""
        return spawn([self.path] + args, stdout=os.path.join(workdir, name + ".out"),
                     stderr=os.path.join(workdir, name + ".err"), cwd=workdir, env=env)

    def wait(self, pid, workdir, name, timeout=None):
        """Wait for a start()ed snap; kill it after @timeout. (status, stderr, stdout)."""
        status = wait_exit(pid, timeout or SNAP_TIMEOUT)
        if status is None:
            kill(pid, group=True)
            wait_exit(pid, 5)
        res = [status]
        for ext in (".err", ".out"):
            with open(os.path.join(workdir, name + ext), errors="replace") as f:
                res.append(f.read())
        return tuple(res)

    def run_stats(self, args, workdir, name, timeout=None, env=None):
        """Like run(), with stdout kept apart in NAME.out. Returns (status, stderr, stdout)."""
        return self.wait(self.start(args, workdir, name, env), workdir, name, timeout)


# --- huge pages -----------------------------------------------------------

NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"
HUGEPAGES_2M = "/sys/kernel/mm/hugepages/hugepages-2048kB/"


def read_int(path):
    with open(path) as f:
        return int(f.read())


class HugePages:
    """Enough free 2 MiB huge pages for a test, added to vm.nr_hugepages.

    Pages already free and not reserved count; only the shortfall is
    added. release() takes back exactly what was added, rather than writing
    back the old total: another runner may have added its own meanwhile.
    """

    def __init__(self, need):
        self.need, self.added = need, 0

    def available(self):
        return (read_int(HUGEPAGES_2M + "free_hugepages") -
                read_int(HUGEPAGES_2M + "resv_hugepages"))

    def reserve(self):
        try:
            short = self.need - self.available()
            if short <= 0:
                return
            total = read_int(NR_HUGEPAGES)
            with open(NR_HUGEPAGES, "w") as f:
                f.write(str(total + short))
            # The kernel may find fewer free 2 MiB blocks than asked for.
            self.added = read_int(NR_HUGEPAGES) - total
        except OSError as e:
            raise Skip("cannot reserve %d 2 MiB huge pages: %s" % (self.need, e))
        if self.available() < self.need:
            self.release()
            raise Skip("could reserve only %d of %d 2 MiB huge pages" % (
                self.available(), self.need))

    def release(self):
        if not self.added:
            return
        with open(NR_HUGEPAGES, "w") as f:
            f.write(str(max(read_int(NR_HUGEPAGES) - self.added, 0)))
        self.added = 0


# --- one test -------------------------------------------------------------

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
    """One test in one mode, in its own directory."""

    def __init__(self, test, mode, opts, snap, root):
        self.t, self.mode, self.opts, self.snap = test, mode, opts, snap
        self.dir = os.path.join(root, re.sub(r"[/:]", "_", test.name + ":" + mode))
        self.img = os.path.join(self.dir, "img")
        self.pidfile = os.path.join(self.dir, "test.pid")
        self.outfile = os.path.join(self.dir, "test.out")
        self.terminals = []
        self.pid = None
        # The original and the restored task live side by side in these modes.
        both = mode in ("leave-running", "live", "no-live")
        self.hugepages = HugePages(test.hugepages * (2 if both else 1))
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.img)

    def start(self):
        argv = self.t.cmd + ["--pidfile=" + self.pidfile, "--outfile=" + self.outfile]
        if not os.path.exists(argv[0]):
            raise Failure("%s is not built (make -C test/zdtm)" % argv[0])
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

    def dump(self, extra=()):
        args = ["dump", "-t", str(self.pid), "-D", self.img, "-o", "dump.log", "-v", "4"]
        args += self.t.dump_args + list(extra)
        stats = self.t.live or self.t.stats
        if stats:
            args.append("--display-stats")
        if not stats:
            status, err = self.snap.run(args, self.img, "dump")
        else:
            status, err, out = self.snap.run_stats(args, self.img, "dump")
        if status != 0:
            raise Failure(snap_failed("dump", status, err), self.log("dump"))
        if stats:
            self.check_stats(out, "--leave-running" in args and "--no-live" not in args)
        if self.t.max_image_pages is not None:
            size = sum(os.path.getsize(os.path.join(self.img, f))
                       for f in os.listdir(self.img)
                       if f.startswith("pages-") or f.startswith("shmem-pages-"))
            if size // 4096 > self.t.max_image_pages:
                raise Failure("the image holds %d pages, expected at most %d" % (
                    size // 4096, self.t.max_image_pages), self.log("dump"))

    def restore(self):
        restored = os.path.join(self.dir, "restored.pid")
        if os.path.exists(restored):
            os.unlink(restored)
        args = ["restore", "-D", self.img, "-d", "-o", "restore.log", "-v", "4",
                "--pidfile", restored]
        status, err = self.snap.run(args + self.t.restore_args, self.img, "restore",
                                    terminal=self.terminals if self.t.tty else None)
        if status != 0:
            raise Failure(snap_failed("restore", status, err), self.log("restore"))
        if os.path.exists(restored):
            with open(restored) as f:
                got = f.read().strip()
            if got != str(self.pid):
                raise Failure("restored pid is %s, expected %d" % (got, self.pid),
                              self.log("restore"))
        if not alive(self.pid):
            raise Failure("pid %d is not running after restore" % self.pid,
                          self.log("restore"))

    def check_stats(self, out, live):
        """The dump's --display-stats meet the test's stats; a live test's say
        whether the dump was live, as asked."""
        stats = dict(re.findall(r"^\s*([A-Za-z][\w ]*?):\s+(\S+)", out, re.M))
        if not self.t.live:
            want = self.t.stats
        else:
            want = [("live", "==", "yes" if live else "no")] + (self.t.stats if live else [])
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

    def clear_result(self):
        open(self.outfile, "w").close()

    def run(self):
        if self.t.live and not self.opts.nodump and self.snap.live_missing():
            raise Skip(self.snap.live_missing())
        if self.t.needs_swap and SWAP.ensure():
            raise Skip(SWAP.ensure())
        if self.t.hugepages:
            self.hugepages.reserve()
        self.start()
        if self.opts.nodump:
            self.finish("nodump")
            return
        if self.mode in ("leave-running", "live", "no-live"):
            how = ["--leave-running"] + (["--no-live"] if self.mode == "no-live" else [])
            self.dump(how)
            self.check_running("dump " + " ".join(how))
            self.finish("dump %s (the original task)" % " ".join(how))
            self.clear_result()
            self.restore()
            self.finish()
            return
        self.dump()
        self.wait_gone("dump")
        self.restore()
        if self.mode == "twice":
            kill_tree(self.pid)
            self.wait_gone("SIGKILL")
            self.restore()
        self.finish("restore" if self.mode != "twice" else "the second restore")

    def cleanup(self):
        if self.pid:
            kill(self.pid)
            kill(self.pid, group=True)
        for term in self.terminals:
            kill(term.holder, group=True)
            term.close()
        if self.hugepages.added:
            # Pages still mapped would stay as surplus until freed: wait first.
            if self.pid:
                wait_gone(self.pid, 5)
            self.hugepages.release()


def snap_failed(what, status, err):
    reason = "%s %s" % (what, describe(status))
    return reason + ": " + last_line(err) if last_line(err) else reason


def last_line(text):
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1].strip() if lines else ""


# --- bad input --------------------------------------------------------------

class BadRun:
    """Helpers for the tests that feed snap bad input."""

    def __init__(self, name, opts, snap, root):
        self.name, self.opts, self.snap = name, opts, snap
        self.dir = os.path.join(root, re.sub(r"[/:]", "_", name))
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.runs = []
        self.mounts = []

    def target(self, test="static/mem_heap", label="target"):
        """A running zdtm test to dump: a name in TESTS, or a Test."""
        t = test if isinstance(test, Test) else next(t for t in TESTS if t.name == test)
        r = Run(t, label, self.opts, self.snap, self.dir)
        self.runs.append(r)
        r.start()
        return r

    def image(self, test="static/mem_heap"):
        """Images of a dumped (and so killed) test."""
        r = self.target(test)
        try:
            r.dump()
            r.wait_gone("dump")
        except Failure as f:
            raise Failure("setup: " + f.reason, f.log)
        return r

    def snap_fails(self, args, mention, workdir=None, env=None):
        """Run snap, expect exit 1 and a short stderr that names @mention."""
        before = descendants()
        workdir = workdir or self.dir
        status, err = self.snap.run(args, workdir, "snap", timeout=30, env=env)
        errfile = os.path.join(workdir, "snap.err")
        cmd = "`snap %s`" % " ".join(args)
        if exit_code(status) != 1:
            raise Failure("%s %s, expected exit 1" % (cmd, describe(status)), errfile)
        lines = err.strip().splitlines()
        if not lines:
            raise Failure("%s failed without a message" % cmd)
        if len(lines) > 2:
            raise Failure("%s printed %d lines on stderr, expected 1-2" % (cmd, len(lines)),
                          errfile)
        if not any(re.search(m, err) for m in mention):
            raise Failure("the error does not name %s: %s" % (" or ".join(mention),
                                                              last_line(err)), errfile)
        left = descendants() - before
        if left:
            raise Failure("processes left behind: %s" % sorted(left), errfile)
        return err

    def cleanup(self):
        for r in self.runs:
            r.cleanup()
        for m in self.mounts:
            spawn_wait(["/bin/umount", "-l", m])


def spawn_wait(argv, timeout=30):
    pid = spawn(argv)
    status = wait_exit(pid, timeout)
    if status is None:
        kill(pid)
    return status


def run_cmd(argv, timeout=60):
    """Run @argv to the end: (it exited 0, its stdout and stderr)."""
    with tempfile.TemporaryFile() as out:
        pid = spawn(argv, stdout=out.fileno())
        status = wait_exit(pid, timeout)
        if status is None:
            kill(pid)
            wait_exit(pid, 5)
        out.seek(0)
        text = out.read().decode(errors="replace")
    return exit_code(status) == 0, text or describe(status)


# The swap of the tests that need it (Test.needs_swap), made on first use.
SWAP = zram.ZramSwap(run_cmd, ZRAM_SIZE)


def bad_dump_nopid(b):
    pid = spawn(["/bin/true"])
    wait_exit(pid, 5)
    if proc_state(pid) is not None:
        raise Skip("pid %d was reused at once" % pid)
    img = os.path.join(b.dir, "img")
    os.mkdir(img)
    b.snap_fails(["dump", "-t", str(pid), "-D", img], [r"\b%d\b" % pid])


def bad_dump_kthread(b):
    pid = 2
    try:
        with open("/proc/2/comm") as f:
            if f.read().strip() != "kthreadd":
                raise Skip("pid 2 is not kthreadd")
    except FileNotFoundError:
        raise Skip("no pid 2 (in a pid namespace?)")
    img = os.path.join(b.dir, "img")
    os.mkdir(img)
    b.snap_fails(["dump", "-t", str(pid), "-D", img], [r"\b2\b", "kthread", "kernel"])
    if proc_state(pid) in ("T", "t"):
        raise Failure("kthreadd left stopped")


def bad_restore_nodir(b):
    img = os.path.join(b.dir, "no-such-dir")
    b.snap_fails(["restore", "-D", img, "-d"], [re.escape(img), "no-such-dir"])


def restore_damaged(b, pattern, damage, mention, test="static/mem_heap"):
    """Dump a test, damage the largest image matching @pattern, expect restore to fail cleanly."""
    r = b.image(test)
    imgs = [f for f in os.listdir(r.img) if re.fullmatch(pattern, f)]
    if not imgs:
        raise Failure("setup: no %s in %s" % (pattern, r.img))
    img = max(imgs, key=lambda f: os.path.getsize(os.path.join(r.img, f)))
    path = os.path.join(r.img, img)
    size = os.path.getsize(path)
    if size < 2:
        raise Failure("setup: %s has %d bytes" % (img, size))
    damage(path, size)
    b.snap_fails(["restore", "-D", r.img, "-d"], [re.escape(img)] + mention,
                 workdir=r.img)
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def truncate_half(path, size):
    os.truncate(path, size // 2)


def flip_middle(path, size):
    with open(path, "r+b") as f:
        off = size // 2 - 8 if size > 16 else 0
        f.seek(off)
        data = f.read(16)
        f.seek(off)
        f.write(bytes(c ^ 0xff for c in data))


def bad_restore_trunc_core(b):
    restore_damaged(b, r"core-\d+\.img", truncate_half, ["core"])


def bad_restore_corrupt_mm(b):
    restore_damaged(b, r"mm-\d+\.img", flip_middle, [r"\bmm\b", "mm-"])


def bad_restore_trunc_shmem(b):
    restore_damaged(b, r"shmem-pages-\d+\.img", truncate_half, ["truncated"],
                    test="static/shm_anon")


def bad_restore_corrupt_shmem(b):
    restore_damaged(b, r"shmem\.img", flip_middle, ["shmem.img"], test="static/shm_anon")


def bad_restore_trunc_pages(b):
    restore_damaged(b, r"pages-\d+\.img", truncate_half, ["pages", "pagemap"])


def bad_restore_tree_child_fails(b):
    """A grandchild of the tree cannot be restored (its cwd is gone) once the
    root and others exist: the error names it, and nothing is left alive."""
    r = b.image("static/pstree")
    cwd = r.outfile + ".b1dir"
    if not os.path.isdir(cwd):
        raise Failure("setup: %s was not made" % cwd)
    os.rmdir(cwd)
    b.snap_fails(["restore", "-D", r.img, "-d"], [re.escape(cwd)], workdir=r.img)
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def varint(v):
    out = b""
    while True:
        out += bytes([(v & 0x7f) | (0x80 if v > 0x7f else 0)])
        v >>= 7
        if not v:
            return out


def reseal(data):
    """An image with each record's CRC made right again (Documentation/images.md)."""
    out, off = bytearray(data[:4]), 4
    while off + 8 <= len(data):
        n = int.from_bytes(data[off:off + 4], "little")
        payload = data[off + 8:off + 8 + n]
        out += data[off:off + 4] + zlib.crc32(payload).to_bytes(4, "little") + payload
        off += 8 + n
    return bytes(out)


def bad_restore_thread_tid(b):
    """A core image whose second thread has the leader's tid: restore refuses it."""
    r = b.target("static/thread_futex")
    tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % r.pid))
    try:
        r.dump()
        r.wait_gone("dump")
    except Failure as f:
        raise Failure("setup: " + f.reason, f.log)
    other = next(t for t in tids if t != r.pid)
    if len(varint(other)) != len(varint(r.pid)):
        raise Skip("tids %d and %d differ in size" % (r.pid, other))
    img = "core-%d.img" % r.pid
    path = os.path.join(r.img, img)
    with open(path, "rb") as f:
        data = f.read()
    # thread_core_entry.tid, field 1, is the first thing in each thread's entry.
    old = b"\x08" + varint(other)
    if old not in data:
        raise Failure("setup: thread %d not found in %s" % (other, img))
    with open(path, "wb") as f:
        f.write(reseal(data.replace(old, b"\x08" + varint(r.pid), 1)))
    err = b.snap_fails(["restore", "-D", r.img, "-d"], [re.escape(img)], workdir=r.img)
    if "thread" not in err:
        raise Failure("the error does not say what is wrong: %s" % last_line(err))
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)



# --- namespace ids (ns.img, pstree.img's ns) ---------------------------------

NS_KINDS = ("pid", "net", "mnt", "ipc", "uts", "user", "cgroup", "time")


def snap_show(b, path):
    """`snap show PATH`, decoded."""
    ok, out = run_cmd([b.snap.path, "show", path])
    if not ok:
        raise Failure("`snap show %s` failed: %s" % (path, last_line(out)))
    try:
        return json.loads(out)["entries"]
    except (ValueError, KeyError) as e:
        raise Failure("`snap show %s` is not the JSON expected: %r" % (path, e))


def edit_records(path, edit):
    """Rewrite the image at @path with each record's payload replaced by
    edit(index, payload), framed again with its length and CRC."""
    with open(path, "rb") as f:
        data = f.read()
    out, off, i = bytearray(data[:4]), 4, 0
    while off + 8 <= len(data):
        n = int.from_bytes(data[off:off + 4], "little")
        payload = edit(i, data[off + 8:off + 8 + n])
        out += len(payload).to_bytes(4, "little") + zlib.crc32(payload).to_bytes(4, "little")
        out += payload
        off += 8 + n
        i += 1
    with open(path, "wb") as f:
        f.write(out)


def ns_ids_bytes(ids):
    """pstree_entry.ns (field 10) as protobuf-c packs it: ns_ids fields in number order."""
    fields = list(NS_KINDS) + ["pid_for_children", "time_for_children"]
    body = b"".join(bytes([(n + 1) << 3]) + varint(ids[f])
                    for n, f in enumerate(fields) if f in ids)
    return b"\x52" + varint(len(body)) + body


def check_ns_ids(b, test):
    r = b.image(test)
    ns = snap_show(b, os.path.join(r.img, "ns.img"))
    tree = snap_show(b, os.path.join(r.img, "pstree.img"))
    kinds = [k for k in NS_KINDS if os.path.exists("/proc/self/ns/" + k)]
    by_kind = {}
    for e in ns:
        k = e["kind"][len("NS_"):].lower()
        if k in by_kind:
            raise Failure("%s: ns.img lists two %s namespaces, ids %d and %d" % (
                test, k, by_kind[k]["id"], e["id"]))
        by_kind[k] = e
    if sorted(by_kind) != sorted(kinds):
        raise Failure("%s: ns.img lists %s, expected one each of %s" % (
            test, sorted(by_kind), sorted(kinds)))
    if len({e["id"] for e in ns}) != len(ns) or 0 in {e["id"] for e in ns}:
        raise Failure("%s: ns.img ids repeat or are 0: %s" % (test, [e["id"] for e in ns]))
    # snap runs in the runner's namespaces: each entry is snap's own.
    for k, e in by_kind.items():
        st = os.stat("/proc/self/ns/" + k)
        if (e["inode"], e.get("dev"), e.get("own")) != (st.st_ino, st.st_dev, True):
            raise Failure("%s: ns.img %s entry %s, expected inode %d dev %d own" % (
                test, k, e, st.st_ino, st.st_dev))
    want = {k: by_kind[k]["id"] for k in kinds}
    for k in ("pid", "time"):
        if os.path.exists("/proc/self/ns/%s_for_children" % k):
            want[k + "_for_children"] = by_kind[k]["id"]
    alive_tasks = [p for p in tree if p.get("state") != "TASK_ZOMBIE"]
    if len(alive_tasks) < 2:
        raise Failure("setup: %s dumped %d live processes, expected a tree" % (
            test, len(alive_tasks)))
    for p in tree:
        if p.get("state") == "TASK_ZOMBIE":
            if "ns" in p:
                raise Failure("%s: zombie %d has namespace ids %s" % (test, p["pid"], p["ns"]))
        elif p.get("ns") != want:
            raise Failure("%s: pid %d has namespace ids %s, expected %s" % (
                test, p["pid"], p.get("ns"), want))
    return r, want


def img_ns_ids(b):
    """Dumps of trees (zombies in the second) list each namespace once in
    ns.img, snap's own, with the inodes of /proc/self/ns; every live task's
    pstree.img entry refers to them, zombies to none."""
    check_ns_ids(b, "static/pstree")
    check_ns_ids(b, "static/pstree_states")


def img_ns_old_images(b):
    """Images from before ns.img (no ns.img, no ns in pstree.img) restore."""
    r, want = check_ns_ids(b, "static/pstree")
    os.unlink(os.path.join(r.img, "ns.img"))
    field = ns_ids_bytes(want)
    edit_records(os.path.join(r.img, "pstree.img"), lambda i, p: p.replace(field, b""))
    if any("ns" in p for p in snap_show(b, os.path.join(r.img, "pstree.img"))):
        raise Failure("setup: the ns field is still in pstree.img")
    r.restore()
    r.finish()


def bad_restore_ns_trunc(b):
    restore_damaged(b, r"ns\.img", truncate_half, ["truncated"], test="static/pstree")


def bad_restore_ns_corrupt(b):
    restore_damaged(b, r"ns\.img", flip_middle, ["corrupted"], test="static/pstree")


def ns_restore_refused(b, image, edit, mention, r=None):
    """Images of static/pstree (or of @r) with @image edited (see
    edit_records): the restore fails with one line naming @image and saying
    @mention."""
    r = r or b.image("static/pstree")
    edit_records(os.path.join(r.img, image), edit)
    err = b.snap_fails(["restore", "-D", r.img, "-d"], [re.escape(image)], workdir=r.img)
    if not re.search(mention, err):
        raise Failure("the error does not say what is wrong: %s" % last_line(err))
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def bad_restore_ns_dup_id(b):
    """ns.img with two entries of one id (the second made the first's, 1)."""
    def edit(i, p):
        if i == 1 and p.startswith(b"\x08\x02"):
            return b"\x08\x01" + p[2:]
        return p
    ns_restore_refused(b, "ns.img", edit, r"\b1\b.*twice")


def bad_restore_ns_kind(b):
    """ns.img with a kind no snap knows (ns_entry.kind, field 2, made 42)."""
    def edit(i, p):
        if i == 0 and p[2:4] == b"\x10\x01":
            return p[:2] + b"\x10\x2a" + p[4:]
        return p
    ns_restore_refused(b, "ns.img", edit, r"unknown kind 42")


def bad_restore_ns_missing_id(b):
    """pstree.img whose root refers to a net namespace id ns.img lacks."""
    r, ids = check_ns_ids(b, "static/pstree")
    field = ns_ids_bytes(ids)

    def edit(i, p):
        if i == 0:
            if field not in p:
                raise Failure("setup: namespace ids %s not found in pstree.img" % ids)
            return p.replace(field, ns_ids_bytes(dict(ids, net=99)))
        return p
    ns_restore_refused(b, "pstree.img", edit, r"net namespace is id 99", r)

# A tree a restore could not rebuild: the middle process left the session
# after its child was born there, so the child's session is neither its own
# nor its parent's. Prints the three pids, then sleeps.
LOST_SESSION = """
import os, sys, time
if os.getsid(0) != os.getpid():
    os.setsid()
r, w = os.pipe()
if os.fork() == 0:
    c = os.fork()
    if c == 0:
        time.sleep(600)
        os._exit(0)
    os.setsid()
    os.write(w, ("%d %d %d\\n" % (os.getppid(), os.getpid(), c)).encode())
    time.sleep(600)
    os._exit(0)
print(os.read(r, 100).decode(), flush=True)
time.sleep(600)
"""


def bad_dump_lost_session(b):
    """snap refuses, by pid, a tree whose sessions a restore could not
    rebuild, and leaves every process of it running."""
    out = os.path.join(b.dir, "tree.out")
    spawn([PYTHON, "-c", LOST_SESSION], stdout=out)
    if not wait_until(lambda: os.path.exists(out) and open(out).read().strip(), 10):
        raise Failure("setup: the tree did not start")
    root, mid, child = (int(x) for x in open(out).read().split())
    try:
        img = os.path.join(b.dir, "img")
        os.mkdir(img)
        b.snap_fails(["dump", "-t", str(root), "-D", img], [r"\b%d\b.*session" % child])
        for pid in (root, mid, child):
            if proc_state(pid) not in ("S", "R"):
                raise Failure("pid %d is in state %s after the refused dump" % (
                    pid, proc_state(pid)))
    finally:
        kill_tree(root)


def bad_dump_thread_creds(b):
    """A thread with credentials of its own is refused by thread id, and the
    process runs on."""
    r = b.target(Test("static/thread_creds"))
    tids = [int(t) for t in os.listdir("/proc/%d/task" % r.pid) if int(t) != r.pid]
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img],
                 [r"\b%d\b.*credentials" % t for t in tids])
    r.check_running("a refused dump")
    r.finish("a refused dump")


def bad_dump_other_ns(b):
    """A process in another namespace (uts here) than snap is refused by pid:
    restore would make it in snap's. It runs on."""
    unshare = shutil.which("unshare")
    if not unshare:
        raise Failure("setup: no unshare(1) (util-linux)")
    pid = spawn([unshare, "-u", "sleep", "60"])
    try:
        if not wait_until(lambda: os.readlink("/proc/%d/ns/uts" % pid) !=
                          os.readlink("/proc/self/ns/uts"), 5):
            raise Failure("setup: unshare -u did not make a uts namespace")
        img = os.path.join(b.dir, "img")
        os.mkdir(img)
        b.snap_fails(["dump", "-t", str(pid), "-D", img], [r"\b%d\b.*uts namespace" % pid])
        if proc_state(pid) not in ("S", "R"):
            raise Failure("pid %d is in state %s after the refused dump" % (pid, proc_state(pid)))
    finally:
        kill(pid)


def bad_dump_enospc(b):
    mnt = os.path.join(b.dir, "small")
    os.mkdir(mnt)
    if spawn_wait(["/bin/mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", mnt]) != 0:
        raise Skip("cannot mount a tmpfs")
    b.mounts.append(mnt)
    r = b.target()
    b.snap_fails(["dump", "-t", str(r.pid), "-D", mnt], [r"(?i)no space", "ENOSPC",
                                                         re.escape(mnt)])
    r.check_running("a failed dump")
    r.finish("a failed dump")


def bad_live_shm_enospc(b):
    """The disk fills while a live dump streams shared memory (the processes run
    again by then): one error naming the object's image, and the tree runs on,
    its writers unharmed, no write left waiting on protection."""
    require_live(b.snap)
    mnt = os.path.join(b.dir, "small")
    os.mkdir(mnt)
    if spawn_wait(["/bin/mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt]) != 0:
        raise Skip("cannot mount a tmpfs")
    b.mounts.append(mnt)
    r = b.target(LIVE_RING_PROCS)
    b.snap_fails(["dump", "-t", str(r.pid), "-D", mnt, "--leave-running"],
                 [r"shared memory .*writing its pages to the image: No space left on device"])
    r.check_running("a live dump that ran out of disk")
    time.sleep(0.2)  # the ring writers check every page they write
    r.check_running("a live dump that ran out of disk")
    r.finish("a live dump that ran out of disk")


def bad_dump_seccomp_nocap(b):
    """A task under seccomp needs CAP_SYS_ADMIN to be dumped: without it, one clear error."""
    capsh = shutil.which("capsh")
    if not capsh:
        raise Skip("no capsh")
    r = b.target("static/seccomp_filter")
    wrapper = os.path.join(b.dir, "snap-nocap")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec %s --drop=cap_sys_admin -- -c \'exec "$@"\' sh %s "$@"\n' %
                (capsh, b.snap.path))
    os.chmod(wrapper, 0o755)
    nocap = Snap(wrapper)
    status, err = nocap.run(["dump", "-t", str(r.pid), "-D", os.path.join(b.dir, "img")],
                            b.dir, "snap")
    if exit_code(status) != 1 or "CAP_SYS_ADMIN" not in err or len(err.strip().splitlines()) != 1:
        raise Failure("dump without CAP_SYS_ADMIN: %s: %s" % (describe(status), last_line(err)),
                      os.path.join(b.dir, "snap.err"))
    r.check_running("a refused dump")
    r.finish("a refused dump")


def bad_restore_pid_busy(b):
    r = b.target()
    try:
        r.dump(["--leave-running"])
    except Failure as f:
        raise Failure("setup: " + f.reason, f.log)
    r.check_running("dump --leave-running")
    args = ["restore", "-D", r.img, "-d"]
    if b.snap.supports("pid-wait-ms"):
        args += ["--pid-wait-ms", str(PID_WAIT_MS)]
    env = dict(os.environ, SNAP_PID_WAIT_MS=str(PID_WAIT_MS))
    t0 = time.monotonic()
    b.snap_fails(args, [r"\b%d\b" % r.pid], workdir=r.img, env=env)
    if time.monotonic() - t0 > 15:
        raise Failure("restore took %.1f s to give up on a busy pid" % (time.monotonic() - t0))
    r.check_running("a failed restore")
    r.finish("a failed restore (the original task)")


def require_live(snap):
    if snap.live_missing():
        raise Skip(snap.live_missing())


def bad_live_target_exits(b):
    """SIGKILL the target of a live dump at various points: the dump succeeds (and
    its image restores) or fails with exit 1 and a line naming the pid; it never
    hangs or crashes, and leaves nothing behind."""
    require_live(b.snap)
    for i, ms in enumerate((20, 50, 100, 200, 400)):
        r = b.target(LIVE_RING, "target%d" % i)
        before = descendants() - {r.pid}
        args = ["dump", "-t", str(r.pid), "-D", r.img, "-o", "dump.log", "-v", "4",
                "--leave-running"]
        what = "`snap %s` with its target SIGKILLed after %d ms" % (" ".join(args), ms)
        pid = b.snap.start(args, r.img, "dump")
        time.sleep(ms / 1000)
        kill(r.pid)
        status, err, _ = b.snap.wait(pid, r.img, "dump", 30)
        errfile = os.path.join(r.img, "dump.err")
        if status is None:
            raise Failure("%s hung" % what, r.log("dump"))
        if os.WIFSIGNALED(status):
            raise Failure("%s %s" % (what, describe(status)), r.log("dump"))
        r.wait_gone("SIGKILL")
        if exit_code(status) == 0:
            # Done before the target died: the image must be whole.
            r.restore()
            r.finish("a dump that finished before its target was killed")
        elif exit_code(status) == 1:
            lines = err.strip().splitlines()
            if not 1 <= len(lines) <= 2:
                raise Failure("%s printed %d lines on stderr, expected 1-2" % (
                    what, len(lines)), errfile)
            if not re.search(r"\b%d\b" % r.pid, err):
                raise Failure("%s: the error does not name pid %d: %s" % (
                    what, r.pid, last_line(err)), errfile)
        else:
            raise Failure("%s %s, expected exit 0 or 1" % (what, describe(status)), errfile)
        if not wait_until(lambda: not descendants() - before, 5):
            raise Failure("%s: processes left behind: %s" % (
                what, sorted(descendants() - before)), r.log("dump"))


def tracer_pid(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def bad_live_kill_snap(b):
    """SIGKILL snap while it streams a live dump (after the freeze: the target is
    running again, no longer traced): the target runs on unharmed, is not left
    stopped, and a later live dump of it works and restores."""
    require_live(b.snap)
    r = b.target(LIVE_RING_512)
    for i, ms in enumerate((0, 10, 30, 60, 120)):
        img = os.path.join(b.dir, "killed%d" % i)
        os.mkdir(img)
        what = "snap was SIGKILLed %d ms into streaming a live dump" % ms
        pid = b.snap.start(["dump", "-t", str(r.pid), "-D", img, "-o", "dump.log", "-v", "4",
                            "--leave-running"], img, "dump")
        # Streaming starts when snap lets go of the target.
        wait_until(lambda: tracer_pid(r.pid) == pid, 10, 0.0005)
        wait_until(lambda: tracer_pid(r.pid) != pid, 10, 0.0005)
        time.sleep(ms / 1000)
        kill(pid)
        if wait_exit(pid, 10) is None:
            raise Failure("snap did not die within 10 s of SIGKILL")
        if not wait_until(lambda: proc_state(r.pid) not in ("T", "t"), 5):
            raise Failure("the target stays stopped after %s" % what,
                          os.path.join(img, "dump.log"))
        r.check_running(what)
        if not wait_until(lambda: not descendants() - {r.pid}, 5):
            raise Failure("processes left behind after %s: %s" % (
                what, sorted(descendants() - {r.pid})), os.path.join(img, "dump.log"))
        time.sleep(0.2)  # the ring writer checks every page it writes
        r.check_running(what)
    r.dump(["--leave-running"])
    r.check_running("a live dump after 5 killed ones")
    r.finish("5 killed live dumps and a whole one (the original task)")
    r.clear_result()
    r.restore()
    r.finish()


def parasite_areas(pid):
    """snap's parasite areas in @pid: shared anonymous rwx mappings."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            return [l.split()[0] for l in f if " rwxs " in l and "/dev/zero" in l]
    except OSError:
        return []


def bad_stale_parasite(b):
    """SIGKILL snap while its parasite runs in the target: the target runs on with the
    parasite's area left mapped, and the next dump removes it and succeeds."""
    require_live(b.snap)
    r = b.target(LIVE_RING_512)
    for i in range(10):
        img = os.path.join(b.dir, "killed%d" % i)
        os.mkdir(img)
        pid = b.snap.start(["dump", "-t", str(r.pid), "-D", img, "--leave-running"],
                           img, "dump")
        # The area is mapped and the blob runs (the task is not in a ptrace stop).
        wait_until(lambda: parasite_areas(r.pid) and proc_state(r.pid) not in ("t", "T"),
                   10, 0.0002)
        kill(pid)
        wait_exit(pid, 10)
        wait_until(lambda: proc_state(r.pid) not in ("t", "T"), 5)
        r.check_running("snap was SIGKILLed with its parasite loaded")
        if parasite_areas(r.pid):
            break
    else:
        raise Failure("could not leave a parasite area behind in 10 tries")
    r.dump(["--leave-running"])
    if parasite_areas(r.pid):
        raise Failure("the dump left %s mapped" % parasite_areas(r.pid), r.log("dump"))
    r.check_running("a dump that removed a stale parasite")
    r.finish("the dump that removed the stale parasite (the original task)")
    r.clear_result()
    r.restore()
    r.finish()


def bad_live_fd_limit(b):
    """A live dump of 512 MiB holds ~512 pipes: with a soft limit of 200 open files
    snap raises its own limit and the dump works."""
    require_live(b.snap)
    r = b.target(LIVE_RING_512)
    img = os.path.join(b.dir, "img")
    os.mkdir(img)
    pid = spawn(["/bin/sh", "-c", 'ulimit -Sn 200 && exec "$0" "$@"', b.snap.path, "dump",
                 "-t", str(r.pid), "-D", img, "--leave-running", "--display-stats"],
                stdout=os.path.join(img, "dump.out"), stderr=os.path.join(img, "dump.err"))
    status = wait_exit(pid, SNAP_TIMEOUT)
    if exit_code(status) != 0:
        raise Failure("live dump under ulimit -Sn 200 %s" % describe(status),
                      os.path.join(img, "dump.err"))
    with open(os.path.join(img, "dump.out")) as f:
        if not re.search(r"^\s*live:\s+yes", f.read(), re.M):
            raise Failure("the dump was not live", os.path.join(img, "dump.out"))
    r.check_running("a live dump under ulimit -Sn 200")
    r.finish("a live dump under ulimit -Sn 200 (the original task)")
    r.clear_result()
    r.img = img
    r.restore()
    r.finish()


BAD = [
    ("bad/dump_nopid", bad_dump_nopid),
    ("bad/dump_kthread", bad_dump_kthread),
    ("bad/dump_enospc", bad_dump_enospc),
    ("bad/dump_seccomp_nocap", bad_dump_seccomp_nocap),
    ("bad/live_shm_enospc", bad_live_shm_enospc),
    ("bad/restore_nodir", bad_restore_nodir),
    ("bad/restore_trunc_core", bad_restore_trunc_core),
    ("bad/restore_thread_tid", bad_restore_thread_tid),
    ("bad/restore_corrupt_mm", bad_restore_corrupt_mm),
    ("bad/restore_trunc_pages", bad_restore_trunc_pages),
    ("bad/restore_trunc_shmem", bad_restore_trunc_shmem),
    ("bad/restore_corrupt_shmem", bad_restore_corrupt_shmem),
    ("bad/restore_ns_trunc", bad_restore_ns_trunc),
    ("bad/restore_ns_corrupt", bad_restore_ns_corrupt),
    ("bad/restore_ns_dup_id", bad_restore_ns_dup_id),
    ("bad/restore_ns_kind", bad_restore_ns_kind),
    ("bad/restore_ns_missing_id", bad_restore_ns_missing_id),
    ("img/ns_ids", img_ns_ids),
    ("img/ns_old_images", img_ns_old_images),
    ("bad/restore_pid_busy", bad_restore_pid_busy),
    ("bad/restore_tree_child_fails", bad_restore_tree_child_fails),
    ("bad/dump_lost_session", bad_dump_lost_session),
    ("bad/dump_thread_creds", bad_dump_thread_creds),
    ("bad/dump_other_ns", bad_dump_other_ns),
    ("bad/live_target_exits", bad_live_target_exits),
    ("bad/live_kill_snap", bad_live_kill_snap),
    ("bad/stale_parasite", bad_stale_parasite),
    ("bad/live_fd_limit", bad_live_fd_limit),
]


# --- main -------------------------------------------------------------------

def entries():
    """(name, Test or bad-input function, mode) for every entry, in order."""
    for t in TESTS:
        for mode in t.modes:
            name = t.name if mode in ("default", "live") else "%s:%s" % (t.name, mode)
            yield name, t, mode
    for name, fn in BAD:
        yield name, fn, None


def report(verdict, name, reason="", log=None):
    line = "%s %s" % (verdict, name)
    if reason:
        line += ": " + reason
    if log:
        line += " (see %s)" % log
    print(line, flush=True)
    if verdict == "FAIL" and log:
        for l in tail(log):
            print("    " + l)
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description="Run the zdtm tests against snap.")
    ap.add_argument("--snap", default=os.path.join(HERE, "../../snap/snap"),
                    help="the snap binary (default: %(default)s)")
    ap.add_argument("--nodump", action="store_true",
                    help="run the tests without snap: start, SIGTERM, check PASS")
    ap.add_argument("-k", "--filter", default="", help="run tests whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the images and logs")
    opts = ap.parse_args()

    snap = Snap(os.path.abspath(opts.snap))
    if not opts.nodump and not os.access(snap.path, os.X_OK):
        sys.exit("run.py: no snap binary at %s (build it, pass --snap, or use --nodump)" %
                 snap.path)

    become_subreaper()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("run.py: terminated"))
    root = tempfile.mkdtemp(prefix="zdtm-")
    os.chmod(root, 0o755)  # tests that drop to other uids still reach their outfile
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    failed_dirs = []
    try:
        for name, what, mode in entries():
            if opts.filter not in name:
                continue
            if opts.nodump and (not isinstance(what, Test) or mode != what.modes[0]):
                report("SKIP", name, "nodump")
                counts["SKIP"] += 1
                continue
            if isinstance(what, Test):
                run = Run(what, mode, opts, snap, root)
                verdict, reason, log = attempt(run)
            else:
                run = BadRun(name, opts, snap, root)
                verdict, reason, log = attempt(run, what)
            counts[verdict] += 1
            report(verdict, name, reason, log)
            if verdict == "FAIL":
                failed_dirs.append(run.dir)
            elif not opts.keep:
                shutil.rmtree(run.dir, ignore_errors=True)
    finally:
        kill_descendants()
        err = SWAP.teardown()
        if err:
            print("run.py: could not remove the test swap: %s" % err, file=sys.stderr)
        if opts.keep or failed_dirs:
            print("images and logs are in %s" % root)
        else:
            shutil.rmtree(root, ignore_errors=True)

    summary = "%d passed, %d failed" % (counts["PASS"], counts["FAIL"])
    if counts["SKIP"]:
        summary += ", %d skipped" % counts["SKIP"]
    print(summary)
    return 1 if counts["FAIL"] else 0


def attempt(run, fn=None):
    """Run one test; (verdict, reason, log). Whatever happens, nothing is left running."""
    try:
        if fn:
            fn(run)
        else:
            run.run()
        return "PASS", "", None
    except Failure as f:
        return "FAIL", f.reason, f.log
    except Skip as s:
        return "SKIP", str(s), None
    except (OSError, ValueError, StopIteration) as e:
        return "FAIL", "runner error: %r" % e, None
    finally:
        run.cleanup()
        kill_descendants()


if __name__ == "__main__":
    sys.exit(main())
