"""Terminals for the tests that need one (tty: True in their .desc) and for
the snap commands run on their behalf (restore --shell-job)."""

import os

from proc import PYTHON, kill, spawn

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

