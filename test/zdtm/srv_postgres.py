"""Debian's PostgreSQL 15 with its shared buffers in huge pages (huge_pages=on:
shared anonymous hugetlb memory) and its SysV segment, dumped by snap (the
srv/postgres test, listed in bad.py's BAD).

One psql session over TCP inserts sequence numbers into a table, each
insert its own transaction, and reads the row count back after each:
 - `snap dump -R --tcp-established` while it inserts: the dump is live, the
   session sees no error and goes on;
 - `snap dump --tcp-established`, then `snap restore --tcp-established`: the
   session carries on (the same backend, pg_backend_pid(); psql has no
   reconnect without asking), every count is the number inserted so far, so
   no insert was lost or doubled, and the table holds 1..N;
 - the restored postmaster's shared buffers are in huge pages again, a new
   connection is served, a fast shutdown ends every process of the tree,
   and the server started again from its files holds the same table."""

import os
import pwd
import re
import signal
import threading
import time

import hugepages
from outcome import Failure
from bad_mem import remove_segments
from proc import alive, kill, kill_tree, run_cmd, spawn, wait_gone
from servers import (IO_TIMEOUT, free_port, need, snap_dump, snap_restore, start, stat,
                     wait_dumped, wait_serving)

PGBIN = "/usr/lib/postgresql/15/bin/"
PSQL = "/usr/bin/psql"
HUGE = 40          # 2 MiB pages: 32 MiB of shared buffers and the rest of the segment
FLOWING = 100      # inserts that show the session is going on


def as_postgres(argv):
    """@argv run as the postgres user (the server refuses root); setpriv execs."""
    return ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups"] + argv


def start_postgres(b, data, port):
    pid = start(b, as_postgres([PGBIN + "postgres", "-D", data, "-k", data, "-p", str(port),
                                "-c", "listen_addresses=127.0.0.1", "-c", "huge_pages=on",
                                "-c", "shared_buffers=32MB", "-c", "fsync=off"]), "postgres")
    wait_serving(port, "postgres", pid)
    return pid


def initdb(b):
    data = os.path.join(b.dir, "pg")
    os.mkdir(data, 0o700)
    pw = pwd.getpwnam("postgres")
    os.chown(data, pw.pw_uid, pw.pw_gid)
    ok, out = run_cmd(as_postgres([PGBIN + "initdb", "-D", data, "-A", "trust", "-U",
                                   "postgres"]), timeout=120)
    if not ok:
        raise Failure("initdb failed: %s" % out.strip().splitlines()[-1])
    return data


def query(port, sql):
    """One query on a new connection: its output, unaligned, tuples only."""
    ok, out = run_cmd([PSQL, "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(port), "-U",
                       "postgres", "-c", sql])
    if not ok:
        raise Failure("psql -c '%s' failed: %s" % (sql, out.strip()))
    return out.strip()


class Session(threading.Thread):
    """A psql on one TCP connection, fed through a pipe: inserts 1, 2, 3...
    and checks each time that the table holds that many rows."""

    def __init__(self, b, port):
        super().__init__(daemon=True)
        to_psql, self.w = os.pipe()
        self.r, from_psql = os.pipe()
        self.pid = spawn([PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h",
                          "127.0.0.1", "-p", str(port), "-U", "postgres"], stdin=to_psql,
                         stdout=from_psql)
        os.close(to_psql)
        os.close(from_psql)
        self.out = os.fdopen(self.r, "r")
        self.n, self.stop, self.error = 0, False, None
        # Quiet, a statement without rows prints nothing: each ask() ends in a SELECT.
        self.backend = self.ask("CREATE TABLE seq (x int PRIMARY KEY); SELECT pg_backend_pid()")

    def ask(self, sql):
        os.write(self.w, (sql + ";\n").encode())
        line = self.out.readline()
        if not line:
            raise Failure("psql ended (status of pid %d: %s)" % (self.pid, alive(self.pid)))
        return line.strip()

    def run(self):
        try:
            while not self.stop:
                got = self.ask("INSERT INTO seq VALUES (%d); SELECT count(*) FROM seq" %
                               (self.n + 1))
                if got != str(self.n + 1):
                    raise Failure("after insert %d the table holds %s rows" % (self.n + 1, got))
                self.n += 1
        except Exception as e:  # reported by wait_for() and finish()
            self.error = e

    def wait_for(self, n, what):
        end = time.monotonic() + IO_TIMEOUT
        while self.n < n and not self.error and time.monotonic() < end:
            time.sleep(0.01)
        if self.error or self.n < n:
            raise Failure("the psql session %s: %s" % (what, self.error or
                                                       "%d inserts, %d expected" % (self.n, n)))

    def finish(self):
        self.stop = True
        self.join(IO_TIMEOUT)
        if self.error:
            raise Failure("the psql session: %s" % self.error)
        backend = self.ask("SELECT pg_backend_pid()")
        if backend != self.backend:
            raise Failure("the session's backend is pid %s, was %s: it reconnected" %
                          (backend, self.backend))
        os.close(self.w)
        self.out.close()


def cleanup(pid):
    """A postgres the test left (it failed): killed, with the SysV segment
    it then leaves. Only a postgres: the pid may be another's by now."""
    try:
        with open("/proc/%d/comm" % pid) as f:
            if f.read().strip() != "postgres":
                return
    except OSError:
        return
    kill_tree(pid)
    wait_gone(pid)
    remove_segments(pid)


def in_huge_pages(pid):
    with open("/proc/%d/maps" % pid) as f:
        return re.search(r" rw-s .*/anon_hugepage \(deleted\)$", f.read(), re.M) is not None


def srv_postgres(b):
    need(PGBIN + "postgres", "postgresql-15")
    pool = hugepages.HugePages(HUGE)
    pool.reserve()
    b.cleanups.append(pool.release)
    data = initdb(b)
    port = free_port()
    started = [start_postgres(b, data, port)]
    pid = started[0]
    b.cleanups.append(lambda: [cleanup(p) for p in started])
    if not in_huge_pages(pid):
        raise Failure("setup: postgres's shared buffers are not in huge pages")
    s = Session(b, port)
    b.cleanups.append(lambda: kill(s.pid))
    s.start()
    s.wait_for(FLOWING, "before the dumps")

    out = snap_dump(b, pid, os.path.join(b.dir, "img-live"), ["-R", "--tcp-established"],
                    name="dump-live")
    if stat(out, "live") != "yes":
        raise Failure("the dump with -R was not live: live %s" % stat(out, "live"))
    s.wait_for(s.n + FLOWING, "after the live dump")

    img = os.path.join(b.dir, "img")
    snap_dump(b, pid, img, ["--tcp-established"])
    wait_dumped(pid, "postgres")
    at_dump = s.n
    snap_restore(b, img, ["--tcp-established"])
    s.wait_for(at_dump + FLOWING, "after the restore")
    s.finish()
    n = s.n

    if not in_huge_pages(pid):
        raise Failure("the restored postgres's shared buffers are not in huge pages")
    want = "%d|1|%d" % (n, n)
    got = query(port, "SELECT count(*), min(x), max(x) FROM seq")
    if got != want:
        raise Failure("a new connection reads count|min|max %s, expected %s" % (got, want))
    kill(pid, signal.SIGINT)       # fast shutdown: a checkpoint, every child ends
    if not wait_gone(pid, IO_TIMEOUT):
        raise Failure("the restored postgres did not shut down on SIGINT")
    pid = start_postgres(b, data, port)
    started.append(pid)
    got = query(port, "SELECT count(*), min(x), max(x) FROM seq")
    if got != want:
        raise Failure("started again from its files, the table reads %s, expected %s" %
                      (got, want))
    kill(pid, signal.SIGINT)
    if not wait_gone(pid, IO_TIMEOUT):
        raise Failure("postgres did not shut down on SIGINT")
