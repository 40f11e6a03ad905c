"""Bad-input tests of the page server (Documentation/page-server.md): the
server killed mid-stream, a corrupted or truncated stream (through
pageserver_proxy.py, which damages the frame it is told to), a protocol
version either end refuses, nobody listening, the last acknowledgement
lost. Each time the dump fails with one line, the server (when it saw the
damage) too, the target runs on as it was, and nothing passes for an image:
no pages in the server's directory, no inventory.img in the dump's. Also
the good paths the modes do not cover: images in two directories merged by
hand, and a page server in another network namespace.
Each test takes a bad.BadRun and raises outcome.Failure or outcome.Skip;
bad.BAD lists them."""

import os
import re
import shutil
import time

from outcome import Failure, Skip
from pageserver import PageServer, free_port
from proc import (PYTHON, alive, describe, descendants, exit_code, kill, proc_state, spawn,
                  spawn_wait, wait_exit, wait_until)
from snap import last_line
import tests

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE_IMAGES = ("pages-", "pagemap-", "shmem-pages-")


def ring(mib):
    """The ring writer (static/live_ring) with @mib MiB: a stream that lasts."""
    return tests.find("static/live_ring").but(args=(str(mib),), stats=(), start_timeout=60)


class Setup:
    """A target, its local image dir, and a page server writing into a
    directory of its own (so that what it leaves is seen apart)."""

    def __init__(self, b, test="static/mem_heap", label="target"):
        self.b = b
        self.r = b.target(test, label)
        self.sdir = os.path.join(b.dir, label + "-server")
        os.makedirs(self.sdir, exist_ok=True)
        self.server = PageServer(b.snap, self.sdir, b.dir, name=label + "-page-server")
        b.cleanups.append(self.server.kill)
        if not self.server.ready():
            self.server.wait(5)
            raise Failure("setup: the page server did not start", self.server.log())
        self.port = self.server.port
        self.proxy = None

    def via_proxy(self, *opts):
        """Put pageserver_proxy.py with @opts between the dump and the server."""
        ready = os.path.join(self.b.dir, "proxy-%d.ready" % self.server.pid)
        self.port = free_port("127.0.0.1")
        self.proxy = spawn([PYTHON, os.path.join(HERE, "pageserver_proxy.py"), "--listen",
                            str(self.port), "--to", str(self.server.port), "--ready", ready] +
                           list(opts), stdout=os.path.join(self.b.dir, "proxy.out"))
        self.b.cleanups.append(lambda: kill(self.proxy))
        if not wait_until(lambda: os.path.exists(ready), 10):
            raise Failure("setup: the proxy did not start", os.path.join(self.b.dir,
                                                                          "proxy.out"))

    def dump_args(self, live=False):
        return (["dump", "-t", str(self.r.pid), "-D", self.r.img, "-o", "dump.log", "-v", "4",
                 "--page-server", "--address", "127.0.0.1", "--port", str(self.port)] +
                (["--leave-running"] if live else []))

    def dump_fails(self, mention, live=False, during=None):
        """The dump exits 1 with 1-2 lines on stderr, one matching a regex of
        @mention; @during runs while it does."""
        args = self.dump_args(live)
        before = descendants()
        pid = self.b.snap.start(args, self.r.img, "dump")
        if during:
            during()
        status, err, _ = self.b.snap.wait(pid, self.r.img, "dump", 60)
        cmd = "`snap %s`" % " ".join(args)
        errfile = os.path.join(self.r.img, "dump.err")
        if exit_code(status) != 1:
            raise Failure("%s %s, expected exit 1" % (cmd, describe(status)), errfile)
        lines = err.strip().splitlines()
        if not 1 <= len(lines) <= 2:
            raise Failure("%s printed %d lines on stderr, expected 1-2" % (cmd, len(lines)),
                          errfile)
        if not any(re.search(m, err) for m in mention):
            raise Failure("the dump's error does not say %s: %s" % (
                " or ".join(mention), last_line(err)), errfile)
        left = descendants() - before - {self.server.pid, self.proxy}
        if left:
            raise Failure("processes left behind: %s" % sorted(left), errfile)
        return err

    def server_ends(self, mention=None):
        """The server exits 1 with one line matching @mention, or 0 if None."""
        status, err = self.server.wait(15)
        if self.proxy:
            wait_exit(self.proxy, 5) is None and kill(self.proxy)
        want = 0 if mention is None else 1
        what = "the page server"
        if status is None:
            raise Failure("%s still runs 15 s after the dump" % what, self.server.log())
        if exit_code(status) != want:
            raise Failure("%s %s, expected exit %d: %s" % (what, describe(status), want,
                                                            last_line(err)), self.server.log())
        if mention is None:
            return
        lines = err.strip().splitlines()
        if len(lines) != 1:
            raise Failure("%s printed %d lines on stderr, expected 1" % (what, len(lines)),
                          self.server.log())
        if not any(re.search(m, err) for m in mention):
            raise Failure("%s's error does not say %s: %s" % (
                what, " or ".join(mention), last_line(err)), self.server.log())

    def nothing_passes(self, why, server_dir_clean=True):
        """No image set: no inventory.img in the dump's directory; no pages
        and no staging directory in the server's; the target runs on as it was."""
        if os.path.exists(os.path.join(self.r.img, "inventory.img")):
            raise Failure("inventory.img written by a dump that failed (%s)" % why)
        left = [f for f in os.listdir(self.sdir) if f.startswith(".snap-page-server-") or
                (server_dir_clean and f.startswith(PAGE_IMAGES))]
        if left:
            raise Failure("the page server's directory holds %s after %s" % (left, why),
                          self.server.log())
        if not wait_until(lambda: proc_state(self.r.pid) not in ("T", "t"), 5):
            raise Failure("the target stays stopped after %s" % why)
        self.r.check_running(why)
        time.sleep(0.1)
        self.r.finish(why)


def staged_bytes(sdir):
    """Bytes the server has staged so far."""
    total = 0
    for d in os.listdir(sdir):
        if d.startswith(".snap-page-server-"):
            try:
                for f in os.listdir(os.path.join(sdir, d)):
                    total += os.path.getsize(os.path.join(sdir, d, f))
            except OSError:
                pass
    return total


def killed(b, live):
    s = Setup(b, ring(128), "live" if live else "stw")

    def kill_server():
        # Mid-stream: some of the pages are with the server, not all.
        if not wait_until(lambda: staged_bytes(s.sdir) > 8 << 20, 30, 0.001):
            raise Failure("the page server never received 8 MiB", s.server.log())
        s.server.kill()

    s.dump_fails([r"page server 127\.0\.0\.1:\d+: connection lost while sending pages-%d"
                  r"\.img|page server 127\.0\.0\.1:\d+ closed the connection" % s.r.pid],
                 live, kill_server)
    s.server.wait(5)
    # SIGKILLed: it leaves its staging directory; the next server removes it.
    stage = [f for f in os.listdir(s.sdir) if f.startswith(".snap-page-server-")]
    if any(f.startswith(PAGE_IMAGES) for f in os.listdir(s.sdir)):
        raise Failure("a killed page server left images under their names",
                      s.server.log())
    again = PageServer(b.snap, s.sdir, b.dir, name="again")
    if not again.ready():
        raise Failure("a second page server did not start", again.log())
    again.kill()
    again.wait(5)
    if stage and any(os.path.exists(os.path.join(s.sdir, d)) for d in stage):
        raise Failure("the next page server did not remove %s" % stage, again.log())
    s.nothing_passes("a %s dump whose page server was SIGKILLed mid-stream" %
                     ("live" if live else "stop-the-world"))


def bad_pageserver_killed(b):
    """SIGKILL the page server while a stop-the-world dump (128 MiB) streams to it."""
    killed(b, False)


def bad_pageserver_killed_live(b):
    """SIGKILL the page server while a live dump (128 MiB) streams to it."""
    if b.snap.live_missing():
        raise Skip(b.snap.live_missing())
    killed(b, True)


def bad_pageserver_corrupt(b):
    """One bit flipped in a PAGES frame's payload, then in a frame header's
    length: both ends fail naming the corrupted frame."""
    for label, opt, what in (("payload", "--flip", r"a corrupted PAGES frame .*bad crc"),
                             ("header", "--flip-hdr", r"a corrupted frame header .*bad crc")):
        s = Setup(b, label=label)
        s.via_proxy(opt, "PAGES:1")
        s.dump_fails([r"page server 127\.0\.0\.1:\d+: .*" + what])
        s.server_ends([r"dump from 127\.0\.0\.1:\d+: .*" + what])
        s.nothing_passes("a dump whose stream was corrupted (%s)" % label)


def bad_pageserver_frames(b):
    """A sound PAGES frame left out, then one sent twice: no crc catches
    these, the server's accounting does (the frame count at CLOSE, the
    bitmap of pages written)."""
    for label, opt, what in (
            ("drop", "--drop", r"pages-\d+\.img: the dump sent \d+ frames \(crc sum \w+\), "
                               r"\d+ arrived"),
            ("dup", "--dup", r"pages-\d+\.img: page \d+ sent twice")):
        s = Setup(b, label=label)
        s.via_proxy(opt, "PAGES:1")
        s.dump_fails([r"page server 127\.0\.0\.1:\d+: " + what])
        s.server_ends([what])
        s.nothing_passes("a dump whose stream lost or repeated a frame (%s)" % label)


def bad_pageserver_trunc(b):
    """The stream cut in the middle of a PAGES frame: the server says the
    stream ends inside it, the dump that the connection is gone."""
    s = Setup(b)
    s.via_proxy("--cut", "PAGES:1")
    s.dump_fails([r"page server 127\.0\.0\.1:\d+(: connection lost while|"
                  r" closed the connection)"])
    s.server_ends([r"the stream ends inside a PAGES frame at byte \d+ \(\d+ of its \d+ bytes\)"])
    s.nothing_passes("a dump whose stream was truncated")


def bad_pageserver_version(b):
    """A dump speaking protocol version 99: the server refuses it, and the
    dump says what the server said. Then a server welcoming with version 7:
    the dump refuses it and aborts, the server says the dump gave up."""
    s = Setup(b, label="hello")
    s.via_proxy("--hello-version", "99")
    s.dump_fails([r"page server 127\.0\.0\.1:\d+: protocol version 99; this page server "
                  r"speaks version 3 only"])
    s.server_ends([r"protocol version 99; this page server speaks version 3 only"])
    s.nothing_passes("a dump the page server refused (version 99)")
    s = Setup(b, label="welcome")
    s.via_proxy("--welcome-version", "7")
    s.dump_fails([r"page server 127\.0\.0\.1:\d+ welcomed protocol version 7; this dump "
                  r"speaks version 3"])
    s.server_ends([r"the dump failed on its side"])
    s.nothing_passes("a dump that refused its page server (version 7)")


def bad_pageserver_incr_corrupt(b):
    """A pre-dump through the page server, then the dump on top of it with
    one bit flipped in its first RUNS frame (which carries the runs left to
    the parent): both ends fail naming the frame, the target runs on, the
    server's set has no pages and no parent link, and the pre-dump's set is
    as it was."""
    s = Setup(b, label="incr")
    pre = os.path.join(os.path.dirname(s.r.img), "pre1")
    spre = os.path.join(os.path.dirname(s.sdir), "pre1")
    os.makedirs(pre, exist_ok=True)
    os.makedirs(spre, exist_ok=True)
    ps = PageServer(b.snap, spre, b.dir, name="pre-page-server")
    b.cleanups.append(ps.kill)
    if not ps.ready():
        raise Failure("setup: the pre-dump's page server did not start", ps.log())
    status, err = b.snap.run(["pre-dump", "-t", str(s.r.pid), "-D", pre, "-o", "pre-dump.log",
                              "-v", "4"] + ps.dump_args(), pre, "pre-dump")
    if status != 0 or ps.wait(10)[0] != 0:
        raise Failure("setup: the pre-dump through the page server failed: %s" %
                      last_line(err), os.path.join(pre, "pre-dump.log"))
    before = sorted(os.listdir(spre))
    if not any(f.startswith("pages-") for f in before):
        raise Failure("the pre-dump's page server wrote no pages: %s" % before, ps.log())
    s.via_proxy("--flip", "RUNS:1")
    real = s.dump_args
    s.dump_args = lambda live=False: real(live) + ["--prev-images-dir", "../pre1",
                                                  "--track-mem"]
    what = r"a corrupted RUNS frame .*bad crc"
    s.dump_fails([r"page server 127\.0\.0\.1:\d+: .*" + what])
    s.server_ends([r"dump from 127\.0\.0\.1:\d+: .*" + what])
    if os.path.lexists(os.path.join(s.sdir, "parent")):
        raise Failure("the page server linked a failed set to its parent", s.server.log())
    if sorted(os.listdir(spre)) != before:
        raise Failure("the pre-dump's set changed: %s, was %s" % (sorted(os.listdir(spre)),
                                                                   before))
    s.nothing_passes("an incremental dump whose stream was corrupted")


def bad_pageserver_noport(b):
    """Nobody listens on the port: the dump fails before it freezes anything."""
    r = b.target()
    port = free_port("127.0.0.1")
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "--page-server", "--address",
                  "127.0.0.1", "--port", str(port)],
                 [r"page server 127\.0\.0\.1:%d: cannot connect: Connection refused" % port],
                 workdir=r.img)
    if os.path.exists(os.path.join(r.img, "inventory.img")):
        raise Failure("inventory.img written by a dump that failed")
    r.check_running("a dump to a port nobody listens on")
    r.finish("a dump to a port nobody listens on")


def bad_pageserver_no_last_ack(b):
    """The connection closes where the server's answer to END should come: the
    dump fails and writes no inventory.img, whatever the server did."""
    s = Setup(b)
    s.via_proxy("--drop-last-ack")
    s.dump_fails([r"page server 127\.0\.0\.1:\d+ closed the connection before it answered "
                  r"the end of the dump"])
    # The server did its part: its images are whole, but the set has no inventory.
    s.server_ends(None)
    s.nothing_passes("a dump that never heard the last acknowledgement", server_dir_clean=False)


def pageserver_merge(b):
    """The pages in the server's directory, the other images in the dump's:
    copied together, they restore."""
    s = Setup(b)
    status, err = b.snap.run(s.dump_args(), s.r.img, "dump")
    if status != 0:
        raise Failure("dump through the page server %s: %s" % (describe(status),
                                                               last_line(err)),
                      os.path.join(s.r.img, "dump.log"))
    s.server_ends(None)
    s.r.wait_gone("dump")
    if any(f.startswith(PAGE_IMAGES) for f in os.listdir(s.r.img)):
        raise Failure("page images in the dump's own directory", s.r.log("dump"))
    for f in os.listdir(s.sdir):
        shutil.copy(os.path.join(s.sdir, f), s.r.img)
    s.r.restore()
    s.r.finish()


NS_SERVER, NS_DUMP = "snap-ps-srv", "snap-ps-dump"


def netns_cleanup():
    for ns in (NS_SERVER, NS_DUMP):
        spawn_wait(["/usr/sbin/ip", "netns", "del", ns])


def pageserver_netns(b):
    """The page server in one network namespace, the target and its dump in
    another, joined by a veth pair (10.77.0.1 - 10.77.0.2): the dump sends
    its pages across, and the merged images restore (in the dump's namespace)."""
    ip = "/usr/sbin/ip"
    if not os.path.exists(ip):
        raise Skip("no ip(8)")
    netns_cleanup()
    b.cleanups.append(netns_cleanup)
    for cmd in (["netns", "add", NS_SERVER], ["netns", "add", NS_DUMP],
                ["link", "add", "snap-ps0", "netns", NS_DUMP, "type", "veth", "peer", "name",
                 "snap-ps1", "netns", NS_SERVER],
                ["-n", NS_DUMP, "addr", "add", "10.77.0.1/24", "dev", "snap-ps0"],
                ["-n", NS_SERVER, "addr", "add", "10.77.0.2/24", "dev", "snap-ps1"],
                ["-n", NS_DUMP, "link", "set", "snap-ps0", "up"],
                ["-n", NS_SERVER, "link", "set", "snap-ps1", "up"],
                ["-n", NS_DUMP, "link", "set", "lo", "up"],
                ["-n", NS_SERVER, "link", "set", "lo", "up"]):
        if spawn_wait([ip] + cmd) != 0:
            raise Skip("cannot set up network namespaces: ip %s failed" % " ".join(cmd))
    enter = ("/usr/bin/nsenter",)
    # nsenter --net: the network namespace alone (ip netns exec makes a mount namespace too).
    r = b.target(tests.find("static/mem_heap").but(wrap=enter + ("--net=/run/netns/" + NS_DUMP,)))
    sdir = os.path.join(b.dir, "server")
    os.makedirs(sdir)
    server = PageServer(b.snap, sdir, b.dir, address="10.77.0.2", port=7777,
                        wrap=enter + ("--net=/run/netns/" + NS_SERVER,))
    if not server.ready():
        server.wait(5)
        raise Failure("the page server did not start in %s" % NS_SERVER, server.log())
    args = ["dump", "-t", str(r.pid), "-D", r.img, "-o", "dump.log", "-v", "4",
            "--page-server", "--address", "10.77.0.2", "--port", "7777"]
    pid = spawn(list(enter) + ["--net=/run/netns/" + NS_DUMP, b.snap.path] + args,
                stdout=os.path.join(r.img, "dump.err"), cwd=r.img)
    status = wait_exit(pid, 60)
    if status != 0:
        kill(server.pid)
        raise Failure("dump across network namespaces %s" % describe(status),
                      os.path.join(r.img, "dump.log"))
    sstatus, serr = server.wait(10)
    if sstatus != 0:
        raise Failure("the page server %s: %s" % (describe(sstatus), last_line(serr)),
                      server.log())
    r.wait_gone("dump")
    for f in os.listdir(sdir):
        shutil.copy(os.path.join(sdir, f), r.img)
    pid = spawn(list(enter) + ["--net=/run/netns/" + NS_DUMP, b.snap.path, "restore", "-D", r.img, "-d", "-o",
                               "restore.log", "-v", "4"],
                stdout=os.path.join(r.img, "restore.err"), cwd=r.img)
    if wait_exit(pid, 60) != 0:
        raise Failure("restore in %s failed" % NS_DUMP, os.path.join(r.img, "restore.log"))
    if not alive(r.pid):
        raise Failure("pid %d is not running after restore" % r.pid)
    r.finish()
