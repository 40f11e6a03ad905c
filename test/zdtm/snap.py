"""Running the snap binary under test: one command at a time, its stderr kept
in a file next to the images, and what this snap can do (its --help, and
whether live dumps can be tested here)."""

import os
import re
import tempfile

from proc import describe, kill, spawn, wait_exit, wait_until
from terminal import Terminal

SNAP_TIMEOUT = 120     # s for one snap command


class Snap:
    """The snap binary at @path."""

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

    def release_locks(self, under):
        """Remove the network locks whose images are under @under: a failed
        restore leaves its lock, as it should, and a later test whose port
        matches one of its connections would find its packets dropped."""
        out = os.path.join(tempfile.gettempdir(), "snap-locks.%d" % os.getpid())
        pid = spawn([self.path, "netlock", "--list"], stdout=out)
        if wait_exit(pid, 10) is None:
            kill(pid)
        with open(out, errors="replace") as f:
            listed = f.read()
        os.unlink(out)
        real = os.path.realpath(under) + "/"
        for img in re.findall(r"^snap-\S+  locked \S+ \S+  images (.*)$", listed, re.M):
            if img.startswith(real):
                pid = spawn([self.path, "netlock", "--unlock", "-D", img])
                if wait_exit(pid, 10) is None:
                    kill(pid)

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


def snap_failed(what, status, err):
    reason = "%s %s" % (what, describe(status))
    return reason + ": " + last_line(err) if last_line(err) else reason


def last_line(text):
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1].strip() if lines else ""

