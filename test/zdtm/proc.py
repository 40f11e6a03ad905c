"""Process helpers of the zdtm runner: start, wait for, reap and kill processes.

The runner is a child subreaper and reaps at once (become_subreaper()): a
dumped (killed) task and every orphan, restored tasks included, become its
children, so a pid is free again as soon as its task is gone - not a few
seconds later, when PID 1 would get to it. Every wait status reaped is kept
in STATUS, which wait_exit() reads: the subprocess module would not survive
this, so everything here is fork/exec and /proc.
"""

import ctypes
import os
import signal
import sys
import tempfile
import time

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

GONE_TIMEOUT = 10      # s until a dumped/killed task has disappeared

STATUS = {}  # pid -> wait status of every child reaped


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

