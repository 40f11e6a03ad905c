"""Web servers serving files to clients in a loop while snap dumps them (the
srv/nginx_* and srv/httpserver_* tests, listed in bad.py's BAD).

The servers: Debian's nginx (nginx-light; a master and 2 workers, daemon
off, config, pid file and logs in the test's directory) and `python3 -m
http.server` (a thread per connection, HTTP/1.1 so that keep-alive works).
Both serve 16 files of 1 KiB to 1 MiB of random bytes.

Two clients run throughout, each GETting the files in turn on one
keep-alive connection and checking every body's length and SHA-256. They
never reconnect: any error, or the connection closed or made again, fails
the test.

*_live: `snap dump -R --tcp-established` while they run, and a third client
that opens a new connection for each GET (so that the dump nearly always
finds one waiting in the listener's queue, which a live dump leaves to the
program): none sees an error, all go on; then the original goes and the
images restore (--tcp-close: the clients' connections are not carried
over) to a server that serves every file whole again.

*_restore: `snap dump --tcp-established` then `snap restore
--tcp-established`: both clients' connections survive, requests in flight
included, and every file they get is whole.

No client opens a new connection per request here: a dump that kills the
tree and finds a connection waiting in the listener's accept queue is
refused (snap cannot put it back), and under such a loop that happens on
most dumps."""

import hashlib
import http.client
import os
import threading

from outcome import Failure
from proc import PYTHON, wait_until
from servers import (IO_TIMEOUT, free_port, kill_dumped, need, snap_dump, snap_restore,
                     start, stat, wait_dumped, wait_serving)

NGINX = "/usr/sbin/nginx"
NFILES = 16
ROUNDS = 2 * NFILES    # GETs that show a client is going


def make_files(b):
    """The served directory: name -> (size, sha256)."""
    www = os.path.join(b.dir, "www")
    os.makedirs(www)
    files = {}
    for i in range(NFILES):
        size = 1024 << (i % 11)          # 1 KiB .. 1 MiB
        data = os.urandom(size)
        name = "f%02d.bin" % i
        with open(os.path.join(www, name), "wb") as f:
            f.write(data)
        files[name] = (size, hashlib.sha256(data).hexdigest())
    os.chmod(b.dir, 0o755)              # nginx's workers run as nobody
    return www, files


class Getter(threading.Thread):
    """GETs every file in turn on one keep-alive connection."""

    def __init__(self, port, files):
        super().__init__(daemon=True)
        self.port, self.files = port, files
        self.n, self.error, self.stop = 0, None, False
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=IO_TIMEOUT)
        self.conn.connect()
        self.sock = self.conn.sock

    def get(self, name):
        self.conn.request("GET", "/" + name)
        resp = self.conn.getresponse()
        body = resp.read()
        if resp.will_close or self.conn.sock is not self.sock:
            raise Failure("the server closed the keep-alive connection")
        size, sha = self.files[name]
        if resp.status != 200:
            raise Failure("GET /%s: status %d" % (name, resp.status))
        if len(body) != size or hashlib.sha256(body).hexdigest() != sha:
            raise Failure("GET /%s: %d bytes, not the file's %d (or other bytes)" %
                          (name, len(body), size))

    def run(self):
        names = sorted(self.files)
        try:
            while not self.stop:
                self.get(names[self.n % len(names)])
                self.n += 1
        except Failure as f:
            self.error = "after %d GETs: %s" % (self.n, f.reason)
        except (OSError, http.client.HTTPException) as e:
            self.error = "after %d GETs: %s: %s" % (self.n, type(e).__name__, e)

    def wait_for(self, count, what):
        wait_until(lambda: self.n >= count or self.error or not self.is_alive(), IO_TIMEOUT,
                   step=0.02)
        if self.error or self.n < count:
            raise Failure("a client stopped at %d GETs %s: %s" %
                          (self.n, what, self.error or "no answer"))

    def finish(self, what):
        self.stop = True
        self.join(IO_TIMEOUT)
        if self.error:
            raise Failure("a client %s: %s" % (what, self.error))


class Fresh(Getter):
    """GETs every file in turn, each on a new connection (Connection: close):
    a live dump nearly always finds one waiting in the listener's queue."""

    def __init__(self, port, files):
        threading.Thread.__init__(self, daemon=True)
        self.port, self.files = port, files
        self.n, self.error, self.stop = 0, None, False

    def get(self, name):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=IO_TIMEOUT)
        try:
            conn.request("GET", "/" + name, headers={"Connection": "close"})
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        size, sha = self.files[name]
        if resp.status != 200:
            raise Failure("GET /%s: status %d" % (name, resp.status))
        if len(body) != size or hashlib.sha256(body).hexdigest() != sha:
            raise Failure("GET /%s: %d bytes, not the file's %d (or other bytes)" %
                          (name, len(body), size))


NGINX_CONF = """daemon off;
master_process on;
worker_processes 2;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log info;
events { worker_connections 256; }
http {
    access_log off;
    sendfile on;
    default_type application/octet-stream;
    client_body_temp_path %(d)s/body;
    keepalive_requests 10000000;
    keepalive_timeout 600s;
    server {
        listen 127.0.0.1:%(port)d;
        root %(www)s;
    }
}
"""


def start_nginx(b, port, www):
    need(NGINX, "nginx-light")
    conf = os.path.join(b.dir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF % {"d": b.dir, "port": port, "www": www})
    pid = start(b, [NGINX, "-p", b.dir, "-e", os.path.join(b.dir, "error.log"), "-c", conf],
                "nginx")
    wait_serving(port, "nginx", pid)
    return pid


def start_httpserver(b, port, www):
    pid = start(b, [PYTHON, "-m", "http.server", "--bind", "127.0.0.1", "--directory", www,
                    "--protocol", "HTTP/1.1", str(port)], "httpserver")
    wait_serving(port, "python3 -m http.server", pid)
    return pid


def served_whole(port, files, what):
    try:
        g = Getter(port, files)
        for name in sorted(files):
            g.get(name)
    except (OSError, http.client.HTTPException) as e:
        raise Failure("%s: %s: %s" % (what, type(e).__name__, e))


def across_live(b, starter, what):
    port = free_port()
    www, files = make_files(b)
    pid = starter(b, port, www)
    clients = [Getter(port, files) for _ in range(2)]
    fresh = Fresh(port, files)
    for g in clients + [fresh]:
        g.start()
    for g in clients + [fresh]:
        g.wait_for(ROUNDS, "before the dump")
    img = os.path.join(b.dir, "img")
    out = snap_dump(b, pid, img, ["-R", "--tcp-established"])
    want = "no" if b.snap.live_missing() else "yes"
    if stat(out, "live") != want:
        raise Failure("the dump says live: %s, expected %s" % (stat(out, "live"), want))
    for g in clients + [fresh]:
        g.wait_for(g.n + ROUNDS, "after the live dump")
    fresh.finish("across the live dump")
    for g in clients:
        g.finish("across the live dump")
        g.conn.close()      # not carried over: the restore gives them back closed
    kill_dumped(pid, what, port)
    snap_restore(b, img, ["--tcp-close"])
    wait_serving(port, "the restored " + what)
    served_whole(port, files, "the restored " + what)


def across_restore(b, starter, what):
    port = free_port()
    www, files = make_files(b)
    pid = starter(b, port, www)
    clients = [Getter(port, files) for _ in range(2)]
    for g in clients:
        g.start()
    for g in clients:
        g.wait_for(ROUNDS, "before the dump")
    img = os.path.join(b.dir, "img")
    snap_dump(b, pid, img, ["--tcp-established"])
    wait_dumped(pid, what)
    snap_restore(b, img, ["--tcp-established"])
    for g in clients:
        g.wait_for(g.n + ROUNDS, "after the restore")
    for g in clients:
        g.finish("across the dump and restore")
    served_whole(port, files, "the restored " + what)


def srv_nginx_live(b):
    across_live(b, start_nginx, "nginx")


def srv_nginx_restore(b):
    across_restore(b, start_nginx, "nginx")


def srv_httpserver_live(b):
    across_live(b, start_httpserver, "python3 -m http.server")


def srv_httpserver_restore(b):
    across_restore(b, start_httpserver, "python3 -m http.server")
