"""`snap page-server` for the tests: started on a free local port before a
dump that sends its pages there (the page-server modes, bad_pageserver.py),
waited for after it. The server's exit status is part of the result: 0 only
when the dump ended with every image in place."""

import os
import socket

from proc import alive, kill, spawn, wait_exit, wait_until
from snap import SNAP_TIMEOUT

READY_TIMEOUT = 10   # s until the server listens


def free_port(address):
    """A port nobody listens on at @address now (the kernel's pick)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


class PageServer:
    """`snap page-server -D @images` listening on @address, run in @workdir
    (its log is NAME.log in @images, its stderr NAME.err in @workdir); @wrap
    runs it under a command (ip netns exec NS)."""

    def __init__(self, snap, images, workdir, name="page-server", address="127.0.0.1",
                 port=None, wrap=(), extra=()):
        self.snap, self.workdir, self.name, self.address = snap, workdir, name, address
        self.images = images
        self.port = port or free_port(address)
        self.pidfile = os.path.join(workdir, name + ".pid")
        if os.path.exists(self.pidfile):
            os.unlink(self.pidfile)
        args = ["page-server", "-D", images, "--address", address, "--port", str(self.port),
                "-o", name + ".log", "-v", "4", "--pidfile", self.pidfile] + list(extra)
        self.pid = spawn(list(wrap) + [snap.path] + args,
                         stdout=os.path.join(workdir, name + ".out"),
                         stderr=os.path.join(workdir, name + ".err"), cwd=workdir)
        self.status = None

    def ready(self):
        """True once it listens (its pidfile is written after listen()); False if it
        died or took too long."""
        return bool(wait_until(lambda: (os.path.exists(self.pidfile) and
                                        os.path.getsize(self.pidfile) > 0) or
                               not alive(self.pid), READY_TIMEOUT)) and alive(self.pid)

    def dump_args(self):
        return ["--page-server", "--address", self.address, "--port", str(self.port)]

    def wait(self, timeout=SNAP_TIMEOUT):
        """(status, stderr): its wait status (None: killed after @timeout)."""
        self.status = wait_exit(self.pid, timeout)
        if self.status is None:
            kill(self.pid, group=True)
            wait_exit(self.pid, 5)
        with open(os.path.join(self.workdir, self.name + ".err"), errors="replace") as f:
            return self.status, f.read()

    def kill(self):
        kill(self.pid)

    def log(self):
        # A relative -o goes in the images directory, as CRIU has it.
        return os.path.join(self.images, self.name + ".log")
