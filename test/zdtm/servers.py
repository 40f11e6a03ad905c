"""Real servers under snap: what the srv/* tests (srv_redis.py, srv_http.py)
share. A server is started by the test itself, on a free loopback port, as a
child of the runner (so the runner reaps it, and the restored one, and kills
whatever is left at the end); the test dumps it with snap like any tree.
Also: snap dump/restore of such a server, and a small RESP client for redis
that speaks over one raw socket (no reconnect behind the test's back)."""

import os
import re
import signal
import socket

from outcome import Failure
from proc import alive, kill, kill_tree, spawn, wait_exit, wait_gone, wait_until
from snap import snap_failed

START_TIMEOUT = 60     # s for a server to answer after start or restore (a loaded machine)
IO_TIMEOUT = 60        # s a client waits for one reply (a dump and restore run in between)


def need(path, package):
    if not os.access(path, os.X_OK):
        raise Failure("%s is missing: install %s (./scripts/install-deps.sh)" % (path, package))


def free_port():
    """A loopback port nobody listens on now (the kernel's pick)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(b, argv, name, cwd=None):
    """Start a server; its output goes to NAME.out in the test's directory."""
    return spawn(argv, stdout=os.path.join(b.dir, name + ".out"), cwd=cwd or b.dir)


def wait_serving(port, what, pid=None, timeout=START_TIMEOUT):
    """Wait until something accepts connections on @port."""
    def up():
        if pid is not None and not alive(pid):
            raise Failure("%s (pid %d) died before serving on port %d" % (what, pid, port))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            return True
        except OSError:
            return False
    if not wait_until(up, timeout, step=0.05):
        raise Failure("%s is not serving on port %d after %d s" % (what, port, timeout))


def snap_dump(b, pid, img, extra, name="dump"):
    """`snap dump` of the tree @pid into @img; the --display-stats output."""
    os.makedirs(img, exist_ok=True)
    args = ["dump", "-t", str(pid), "-D", img, "-o", name + ".log", "-v", "4",
            "--display-stats"] + extra
    status, err, out = b.snap.run_stats(args, img, name)
    if status != 0:
        raise Failure(snap_failed("`snap dump`", status, err), os.path.join(img, name + ".log"))
    return out


def stat(out, key):
    m = re.search(r"^\s*%s:\s*(\S+)" % re.escape(key), out, re.M)
    return m.group(1) if m else None


def snap_restore(b, img, extra, name="restore"):
    args = ["restore", "-D", img, "-d", "-o", name + ".log", "-v", "4"] + extra
    status, err = b.snap.run(args, img, name)
    if status != 0:
        raise Failure(snap_failed("`snap restore`", status, err),
                      os.path.join(img, name + ".log"))


def port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        s.listen(1)
        return True
    except OSError:
        return False
    finally:
        s.close()


def kill_dumped(pid, what, port):
    """The original of a live dump goes, its whole tree (nginx's workers
    hold the listener too), so that its images can be restored. Stopped
    first: nginx's master would fork a new worker for each one killed."""
    kill(pid, signal.SIGSTOP)
    kill_tree(pid)
    if not wait_gone(pid):
        raise Failure("%s (pid %d) is still there after SIGKILL" % (what, pid))
    if not wait_until(lambda: port_free(port), START_TIMEOUT):
        raise Failure("port %d is still taken after %s (pid %d) was killed" %
                      (port, what, pid))


def wait_dumped(pid, what):
    """A dump without -R kills the tree: it must be gone."""
    wait_exit(pid, 1)
    if not wait_gone(pid):
        raise Failure("%s (pid %d) still runs after its dump" % (what, pid))


class RespError(Exception):
    pass


class Resp:
    """One connection to redis, RESP by hand."""

    def __init__(self, port, timeout=IO_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf, self.pos = bytearray(), 0   # what came in; where the next reply starts

    def close(self):
        self.sock.close()

    @staticmethod
    def encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def send(self, *args):
        self.sock.sendall(self.encode(args))

    def _fill(self):
        if self.pos > (1 << 20):
            del self.buf[:self.pos]
            self.pos = 0
        got = self.sock.recv(1 << 18)
        if not got:
            raise EOFError("redis closed the connection")
        self.buf += got

    def _line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line, self.pos = bytes(self.buf[self.pos:end]), end + 2
                return line
            self._fill()

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < self.pos + n + 2:
                self._fill()
            data = bytes(self.buf[self.pos:self.pos + n])
            self.pos += n + 2
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RespError("unexpected reply %r" % line)

    def cmd(self, *args):
        self.send(*args)
        return self.reply()

    def pipeline(self, cmds):
        self.sock.sendall(b"".join(self.encode(c) for c in cmds))
        return [self.reply() for _ in cmds]
