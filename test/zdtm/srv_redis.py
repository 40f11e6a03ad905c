"""Debian's redis-server with 256 MiB of data under redis-benchmark load,
dumped by snap (the srv/redis_* tests, listed in bad.py's BAD).

srv/redis_live: `snap dump -R --tcp-established` while 4 redis-benchmark
clients write: the clients see no error and go on; the original is killed
and the images restored (--tcp-close: the benchmark's peers are gone, their
connections come back closed); the restored server answers, with the
populated database (db 1, which the load does not touch) equal key by key
(DEBUG DIGEST-VALUE of every key) to what it was before the dump.

srv/redis_tcp: `snap dump --tcp-established` then `snap restore
--tcp-established` while one client keeps RPUSHing sequence numbers over one
raw socket (and the benchmark's 4 clients write too): the client's
connection carries on (same CLIENT ID, no reconnect: it has no code to), each
reply is the list's length, so no command was lost or doubled, the list is
1..N in order at the end, and db 1 is equal as above.

srv/redis_peer_reset: a client that resets its connection (SO_LINGER 0)
while the tree is frozen and locked, from the network-lock action hook: the
dump succeeds, the restore too; the RST was dropped by the lock, so the
restored end learns of it from its next keepalive probe (redis
--tcp-keepalive 1, restored with the socket) and drops that client, and the
server serves the others on.

srv/redis_conn_destroyed: one of the server's connections aborted by the
kernel (ss -K, SOCK_DESTROY) while the tree is frozen, after snap listed its
sockets: the dump saves it as it is then (closed), the restore gives it back
closed, the server drops that client and serves the others."""

import hashlib
import os
import socket
import struct
import threading

from outcome import Failure
from proc import alive, kill, wait_until
from servers import (IO_TIMEOUT, Resp, RespError, free_port, kill_dumped, need,
                     snap_dump, snap_restore, start, stat, wait_dumped, wait_serving)

REDIS = "/usr/bin/redis-server"
BENCH = "/usr/bin/redis-benchmark"
POP_KEYS = 65536       # DEBUG POPULATE keys of...
POP_SIZE = 4096        # ...this many bytes: 256 MiB of values
POP_DB = 1             # the populated database; the load writes to db 0
BATCH = 8192           # keys per DEBUG DIGEST-VALUE
FLOWING = 2000         # commands that show the load is running


def start_redis(b, port, extra=()):
    need(REDIS, "redis-server")
    pid = start(b, [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--enable-debug-command", "local",
                    "--dir", b.dir, "--logfile", os.path.join(b.dir, "redis.log")] +
                list(extra), "redis")
    wait_serving(port, "redis-server", pid)
    return pid


def populate(c, keys=POP_KEYS):
    c.cmd("SELECT", POP_DB)
    c.cmd("DEBUG", "POPULATE", keys, "pop", POP_SIZE)
    if c.cmd("DBSIZE") != keys:
        raise Failure("setup: DEBUG POPULATE made %d keys, not %d" % (c.cmd("DBSIZE"), keys))
    c.cmd("SELECT", 0)


def db_digest(c, keys=POP_KEYS):
    """(DBSIZE, a hash of every populated key's DEBUG DIGEST-VALUE) of db 1."""
    c.cmd("SELECT", POP_DB)
    h = hashlib.sha256()
    size = c.cmd("DBSIZE")
    for first in range(0, keys, BATCH):
        names = ["pop:%d" % i for i in range(first, min(first + BATCH, keys))]
        for d in c.cmd("DEBUG", "DIGEST-VALUE", *names):
            h.update(d.encode() if isinstance(d, str) else d)
    c.cmd("SELECT", 0)
    return size, h.hexdigest()


def processed(c):
    info = c.cmd("INFO", "stats").decode()
    for line in info.splitlines():
        if line.startswith("total_commands_processed:"):
            return int(line.split(":")[1])
    raise Failure("INFO stats has no total_commands_processed")


def wait_load(c, what):
    """The load makes progress (FLOWING more commands) within a generous time."""
    first = processed(c)
    if not wait_until(lambda: processed(c) >= first + FLOWING, IO_TIMEOUT, step=0.05):
        raise Failure("the redis-benchmark load does not go on %s" % what)


class Bench:
    """redis-benchmark: 4 clients SETting 256-byte values into db 0, in a loop."""

    def __init__(self, b, port):
        need(BENCH, "redis-tools")
        self.out = os.path.join(b.dir, "bench.out")
        self.pid = start(b, [BENCH, "-h", "127.0.0.1", "-p", str(port), "-c", "4",
                             "-t", "set", "-d", "256", "-r", "100000", "-l", "-q"], "bench")

    def stop(self, what):
        """It is still running and has printed no error; then it goes."""
        running = alive(self.pid)
        kill(self.pid)
        with open(self.out, errors="replace") as f:
            text = f.read().replace("\r", "\n")
        errors = [l for l in text.splitlines() if "rror" in l or "ERR" in l]
        if errors:
            raise Failure("redis-benchmark saw an error %s: %s" % (what, errors[0].strip()),
                          self.out)
        if not running:
            raise Failure("redis-benchmark exited %s" % what, self.out)


def check_data(port, before, what):
    c = Resp(port)
    try:
        got = db_digest(c)
        if got[0] != before[0]:
            raise Failure("%s: db %d holds %d keys, %d before the dump" %
                          (what, POP_DB, got[0], before[0]))
        if got[1] != before[1]:
            raise Failure("%s: db %d's values differ from before the dump" % (what, POP_DB))
        if c.cmd("SET", "after", "restored") != "OK" or c.cmd("GET", "after") != b"restored":
            raise Failure("%s: the restored server does not store a key" % what)
    finally:
        c.close()


def talks(fn):
    """A test whose redis connection breaks or answers an error fails, naming it."""
    def run(b):
        try:
            fn(b)
        except (EOFError, RespError, OSError) as e:
            raise Failure("redis client: %s: %s" % (type(e).__name__, e))
    return run


@talks
def srv_redis_live(b):
    port = free_port()
    pid = start_redis(b, port)
    c = Resp(port)
    populate(c)
    before = db_digest(c)
    bench = Bench(b, port)
    wait_load(c, "before the dump")
    img = os.path.join(b.dir, "img")
    out = snap_dump(b, pid, img, ["-R", "--tcp-established"])
    want = "no" if b.snap.live_missing() else "yes"
    if stat(out, "live") != want:
        raise Failure("the dump says live: %s, expected %s" % (stat(out, "live"), want),
                      os.path.join(img, "dump.out"))
    wait_load(c, "after the live dump")
    bench.stop("across the live dump")
    c.close()
    kill_dumped(pid, "redis-server", port)
    snap_restore(b, img, ["--tcp-close"])
    wait_serving(port, "the restored redis-server")
    check_data(port, before, "after the restore")


class Pusher(threading.Thread):
    """One connection RPUSHing 1, 2, 3... to `seq`: each reply must be the
    number just pushed (the list's new length)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.r = Resp(port)
        self.r.cmd("DEL", "seq")
        self.id = self.r.cmd("CLIENT", "ID")
        self.n, self.error, self.stop = 0, None, False

    def run(self):
        try:
            while not self.stop:
                got = self.r.cmd("RPUSH", "seq", self.n + 1)
                if got != self.n + 1:
                    self.error = "RPUSH %d answered %r" % (self.n + 1, got)
                    return
                self.n += 1
        except (OSError, EOFError, RespError) as e:
            self.error = "after %d pushes: %s" % (self.n, e)

    def wait_for(self, count, what):
        if not wait_until(lambda: self.n >= count or self.error or not self.is_alive(),
                          IO_TIMEOUT, step=0.02) or self.n < count:
            raise Failure("the client stopped at %d pushes %s: %s" %
                          (self.n, what, self.error or "no reply"))


@talks
def srv_redis_tcp(b):
    port = free_port()
    pid = start_redis(b, port)
    c = Resp(port)
    populate(c)
    before = db_digest(c)
    bench = Bench(b, port)
    wait_load(c, "before the dump")
    push = Pusher(port)
    push.start()
    push.wait_for(200, "before the dump")
    img = os.path.join(b.dir, "img")
    snap_dump(b, pid, img, ["--tcp-established"])
    wait_dumped(pid, "redis-server")
    at_dump = push.n
    snap_restore(b, img, ["--tcp-established"])
    push.wait_for(at_dump + 500, "after the restore")
    wait_load(c, "after the restore")
    bench.stop("across the dump and restore")
    push.stop = True
    push.join(IO_TIMEOUT)
    if push.error:
        raise Failure("the client: %s" % push.error)
    if push.r.cmd("CLIENT", "ID") != push.id:
        raise Failure("the client's connection is another one after the restore")
    got = push.r.cmd("LRANGE", "seq", 0, -1)
    want = [b"%d" % i for i in range(1, push.n + 1)]
    if got != want:
        bad = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), len(want))
        raise Failure("the list holds %d numbers, %d pushed; first difference at %d" %
                      (len(got), push.n, bad + 1))
    push.r.close()
    c.close()
    check_data(port, before, "after the restore")


HOOK = """#!/bin/sh
# The network-lock hook: the tree is frozen and its connections locked.
[ "$CRTOOLS_SCRIPT_ACTION" = network-lock ] || exit 0
echo reset > %(go)s
i=0
while [ ! -e %(done)s ]; do
	i=$((i + 1)); [ $i -gt 600 ] && exit 1
	sleep 0.1
done
"""


@talks
def srv_redis_peer_reset(b):
    port = free_port()
    # Keepalive probes after 1 s idle: how the restored server's end of the
    # connection learns that its peer reset it while the lock dropped the RST.
    pid = start_redis(b, port, ["--tcp-keepalive", "1"])
    c = Resp(port)
    victim = Resp(port)
    victim.cmd("CLIENT", "SETNAME", "victim")
    go, done = os.path.join(b.dir, "go"), os.path.join(b.dir, "done")
    os.mkfifo(go)
    script = os.path.join(b.dir, "hook.sh")
    with open(script, "w") as f:
        f.write(HOOK % {"go": go, "done": done})
    os.chmod(script, 0o755)

    def reset():
        with open(go) as f:
            f.read()
        victim.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        victim.close()
        open(done, "w").close()
    t = threading.Thread(target=reset, daemon=True)
    t.start()
    img = os.path.join(b.dir, "img")
    snap_dump(b, pid, img, ["--tcp-established", "--action-script", script])
    wait_dumped(pid, "redis-server")
    t.join(5)
    if not os.path.exists(done):
        raise Failure("the hook never made the client reset its connection")
    snap_restore(b, img, ["--tcp-established"])
    c.cmd("SET", "k", "v")
    if c.cmd("GET", "k") != b"v":
        raise Failure("the restored server does not serve the other client")

    def victim_gone():
        return b"name=victim" not in c.cmd("CLIENT", "LIST")
    if not wait_until(victim_gone, IO_TIMEOUT, step=0.2):
        raise Failure("the restored server still lists the client that reset: %s" %
                      c.cmd("CLIENT", "LIST"))
    c.close()


DESTROY_HOOK = """#!/bin/sh
# The network-lock hook: the tree is frozen and its sockets were listed;
# the kernel aborts one of its connections now (SOCK_DESTROY).
[ "$CRTOOLS_SCRIPT_ACTION" = network-lock ] || exit 0
exec /usr/bin/ss -K -t src 127.0.0.1:%(port)d dst 127.0.0.1:%(peer)d >%(out)s 2>&1
"""


@talks
def srv_redis_conn_destroyed(b):
    port = free_port()
    pid = start_redis(b, port)
    c = Resp(port)
    victim = Resp(port)
    victim.cmd("CLIENT", "SETNAME", "victim")
    script = os.path.join(b.dir, "hook.sh")
    with open(script, "w") as f:
        f.write(DESTROY_HOOK % {"port": port, "peer": victim.sock.getsockname()[1],
                                "out": os.path.join(b.dir, "ss.out")})
    os.chmod(script, 0o755)
    img = os.path.join(b.dir, "img")
    snap_dump(b, pid, img, ["--tcp-established", "--action-script", script])
    wait_dumped(pid, "redis-server")
    with open(os.path.join(b.dir, "ss.out")) as f:
        if ":%d " % port not in f.read():
            raise Failure("setup: ss -K found no connection to abort",
                          os.path.join(b.dir, "ss.out"))
    snap_restore(b, img, ["--tcp-established"])
    c.cmd("SET", "k", "v")
    if c.cmd("GET", "k") != b"v":
        raise Failure("the restored server does not serve the other client")
    if not wait_until(lambda: b"name=victim" not in c.cmd("CLIENT", "LIST"), IO_TIMEOUT,
                      step=0.2):
        raise Failure("the restored server still lists the aborted connection's client")
    c.close()
