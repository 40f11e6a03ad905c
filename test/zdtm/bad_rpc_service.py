"""snap service: CRIU's RPC on a listening unix socket, each connection
served by a child of its own. Two connections at once are both answered; a
dump and a restore go through it with every hook notified; rst_sibling,
which would give the restored tree to the service, is refused by name; a
socket path that cannot be bound fails with one line. SIGTERM stops it."""

import os
import signal
import socket

import rpc
from bad_rpc import DUMP_KILL_HOOKS, RESTORE_HOOKS
from outcome import Failure
from proc import describe, exit_code, kill, spawn, wait_exit, wait_until


class Service:
    def __init__(self, b):
        self.b = b
        self.path = os.path.join(b.dir, "svc.sock")
        pidfile = os.path.join(b.dir, "service.pid")
        self.pid = spawn([b.snap.path, "service", "--address", self.path, "--pidfile", pidfile,
                          "-o", "service.log", "-v", "4"],
                         stderr=os.path.join(b.dir, "service.err"), cwd=b.dir)
        b.cleanups.append(lambda: kill(self.pid))
        if not wait_until(lambda: os.path.exists(pidfile) and os.path.getsize(pidfile), 10):
            raise Failure("snap service did not listen within 10 s", self.log())

    def log(self):
        return os.path.join(self.b.dir, "service.log")

    def connect(self):
        sk = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sk.settimeout(60)
        sk.connect(self.path)
        return sk

    def call(self, req, on_notify=None):
        with self.connect() as sk:
            resp, notified, _ = rpc.exchange(sk, req, on_notify)
        if resp is None:
            raise Failure("snap service sent no reply", self.log())
        return resp, notified

    def stop(self):
        kill(self.pid, signal.SIGTERM)
        status = wait_exit(self.pid, 10)
        if status is None or not os.WIFSIGNALED(status):
            raise Failure("snap service %s after SIGTERM" % describe(status), self.log())


def rpc_service(b):
    svc = Service(b)
    # Two connections open at once: the second is answered before the first asks.
    first, second = svc.connect(), svc.connect()
    for sk in (second, first):
        resp, _, _ = rpc.exchange(sk, rpc.request(rpc.VERSION))
        if resp is None or not resp.success or resp.type != rpc.VERSION:
            raise Failure("VERSION on one of two connections answered %r" % resp, svc.log())
    first.close()
    second.close()
    r = b.target("static/mem_heap")
    img = os.open(r.img, os.O_RDONLY | os.O_DIRECTORY)
    try:
        resp, notified = svc.call(rpc.request(rpc.DUMP, dict(
            images_dir_fd=img, pid=r.pid, notify_scripts=True, log_file="dump.log",
            log_level=4)))
        if not resp.success or [n for n, _ in notified] != DUMP_KILL_HOOKS:
            raise Failure("DUMP through the service answered %r, notified %s" % (
                resp, notified), r.log("dump"))
        r.wait_gone("a dump through snap service")
        resp, _ = svc.call(rpc.request(rpc.RESTORE, dict(images_dir_fd=img, rst_sibling=True)))
        if resp.success or "rst_sibling" not in (resp.errmsg or ""):
            raise Failure("RESTORE with rst_sibling through the service answered %r" % resp)
        if os.path.exists("/proc/%d" % r.pid):
            raise Failure("pid %d exists after a refused restore" % r.pid)
        resp, notified = svc.call(rpc.request(rpc.RESTORE, dict(
            images_dir_fd=img, notify_scripts=True, log_file="restore.log", log_level=4)))
        got = (resp.restore or {}).get(1, [None])[0]
        if not resp.success or got != r.pid or [n for n, _ in notified] != RESTORE_HOOKS:
            raise Failure("RESTORE through the service answered %r (pid %s), notified %s" % (
                resp, got, notified), r.log("restore"))
    finally:
        os.close(img)
    r.finish("a restore through snap service")
    svc.stop()


def bad_service_address(b):
    path = os.path.join(b.dir, "no-such-dir", "svc.sock")
    b.snap_fails(["service", "--address", path], [path])
    status, err = b.snap.run(["service", "--address", "x", "--port", "1"], b.dir, "service")
    if exit_code(status) != 1 or "--port" not in err:
        raise Failure("`snap service --port 1` %s: %r" % (describe(status), err))
