"""Lazy restore from a remote page source (`snap lazy-pages --page-server`):
the pages stay on a `snap page-server` serving the complete set; the restore
side has every image but pages-*.img. One test across two network
namespaces joined by a veth pair, where the process checks every byte while
the pages come over TCP; one where the page server is killed mid-restore."""

import os
import re
import select
import shutil
import signal
import socket
import threading

from bad_incr import incr_image
from bad_migrate import in_netns
from bad_rpc import call
from outcome import Failure, Skip
from pageserver import PageServer, free_port
from proc import alive, describe, descendants, exit_code, kill, spawn_wait, wait_until
import rpc
import tests

IP = "/usr/sbin/ip"
ENTER = "/usr/bin/nsenter"
# The page source and the restore side: 10.78.0.1 in the first, 10.78.0.2 in the second.
ADDR = ("10.78.0.1", "10.78.0.2")
PORT = 7778


def restore_side(img, into):
    """Every image of @img but the pages, copied into @into."""
    os.makedirs(into)
    for f in os.listdir(img):
        if f.endswith(".img") and not f.startswith("pages-"):
            shutil.copy(os.path.join(img, f), into)


def start_lazy(b, snap, local, address, port):
    """`snap lazy-pages --page-server` on @local, listening once its socket exists."""
    pid = snap.start(["lazy-pages", "-D", local, "--page-server", "--address", address,
                      "--port", str(port), "-o", "lazy-pages.log", "-v", "4",
                      "--display-stats"], local, "lazy-pages")
    if not wait_until(lambda: os.path.exists(os.path.join(local, "lazy-pages.sock")) or
                      not alive(pid), 10) or not alive(pid):
        raise Failure("snap lazy-pages --page-server did not listen within 10 s",
                      os.path.join(local, "lazy-pages.err"))
    return pid


def lazy_restore(snap, local, name="restore"):
    status, err = snap.run(["restore", "-D", local, "-d", "--lazy-pages", "-o", name + ".log",
                            "-v", "4"], local, name)
    if status != 0:
        raise Failure("restore --lazy-pages without the pages %s: %s" % (
            describe(status), err.strip()), os.path.join(local, name + ".log"))


def all_served(b, lazy, local, source, least=256 * 256):
    """`snap lazy-pages` @lazy on @local exits 0, having taken at least
    @least pages from @source (by default every page of mem_lazy's 256 MiB)."""
    status, err, out = b.snap.wait(lazy, local, "lazy-pages", 60)
    if status != 0:
        raise Failure("lazy-pages %s: %s" % (describe(status), err.strip()),
                      os.path.join(local, "lazy-pages.log"))
    got = re.search(r"lazy-pages: (\d+) pages from the page server", out)
    if not got or int(got.group(1)) < least:
        raise Failure("lazy-pages took %s pages from %s, expected at least %d" %
                      (got.group(1) if got else "no", source, least),
                      os.path.join(local, "lazy-pages.out"))


def make_netns(b):
    """Two new network namespaces, named for this run, joined by a veth pair;
    removed at cleanup."""
    names = tuple("snap-lzps-%s-%d" % (x, os.getpid()) for x in "ab")

    def cleanup():
        for ns in names:
            spawn_wait([IP, "netns", "del", ns])

    if not os.path.exists(IP):
        raise Skip("no ip(8)")
    cleanup()
    b.cleanups.append(cleanup)
    cmds = [["netns", "add", names[0]], ["netns", "add", names[1]],
            ["link", "add", "lzps0", "netns", names[0], "type", "veth", "peer", "name",
             "lzps1", "netns", names[1]]]
    for i in (0, 1):
        cmds += [["-n", names[i], "addr", "add", ADDR[i] + "/24", "dev", "lzps%d" % i],
                 ["-n", names[i], "link", "set", "lzps%d" % i, "up"],
                 ["-n", names[i], "link", "set", "lo", "up"]]
    for cmd in cmds:
        if spawn_wait([IP] + cmd) != 0:
            raise Skip("cannot set up network namespaces: ip %s failed" % " ".join(cmd))
    return names


def lazy_page_server_netns(b):
    """mem_lazy (256 MiB, each page its own bytes) runs and is dumped in
    namespace A; a page server there serves the set on 10.78.0.1. In B, the
    restore side holds every image but pages-*.img: `snap lazy-pages
    --page-server` takes each page over TCP, the restored process (now in B)
    checks all of them in random order while they come. Both servers exit 0,
    and every page came from A."""
    src, dst = make_netns(b)
    r = b.target(tests.find("static/mem_lazy_1g").but(
        args=("256",), wrap=(ENTER, "--net=/run/netns/" + src)))
    r.snap = in_netns(b, src)
    r.dump()
    r.wait_gone("dump")
    server = PageServer(b.snap, r.img, b.dir, address=ADDR[0], port=PORT,
                        wrap=(ENTER, "--net=/run/netns/" + src))
    if not server.ready():
        server.wait(5)
        raise Failure("the page server did not start in %s" % src, server.log())
    local = os.path.join(b.dir, "restore-side")
    restore_side(r.img, local)
    snap_b = in_netns(b, dst)
    lazy = start_lazy(b, snap_b, local, ADDR[0], PORT)
    lazy_restore(snap_b, local)
    if not alive(r.pid):
        raise Failure("pid %d is not running after the restore in %s" % (r.pid, dst))
    want = "net:[%d]" % os.stat("/run/netns/" + dst).st_ino
    if os.readlink("/proc/%d/ns/net" % r.pid) != want:
        raise Failure("pid %d was restored outside %s" % (r.pid, dst))
    # Checked at once: most of its pages are still on the other side.
    r.finish("lazy restore from a page server in another network namespace")
    all_served(b, lazy, local, "the page server")
    sstatus, serr = server.wait(10)
    if sstatus != 0:
        raise Failure("the page server %s: %s" % (describe(sstatus), serr.strip()),
                      server.log())


def one_line(what, err, want, log):
    lines = [l for l in err.splitlines() if l.strip()]
    if len(lines) != 1 or not re.search(want, lines[0]):
        raise Failure("%s said %r, expected one line matching %r" % (what, lines, want), log)


def served(b, test, damage=None):
    """@test dumped, a page server on 127.0.0.1 serving its set (@damage(run)
    first, if given), and the restore side: (run, server, its directory)."""
    r = b.image(tests.find(test))
    if damage:
        damage(r)
    server = PageServer(b.snap, r.img, b.dir)
    if not server.ready():
        server.wait(5)
        raise Failure("the page server did not start", server.log())
    local = os.path.join(b.dir, "restore-side")
    restore_side(r.img, local)
    return r, server, local


def bad_lazy_page_server_killed(b):
    """SIGKILL the page server a lazy restore takes its pages from, just
    after the restore: lazy-pages loses its source, its guard kills the
    restored process (which would otherwise wait on its faults forever) with
    one line naming the page server, lazy-pages exits 1, nothing is left."""
    r, server, local = served(b, "static/mem_lazy_1g")
    before = descendants()
    lazy = start_lazy(b, b.snap, local, server.address, server.port)
    lazy_restore(b.snap, local)
    kill(server.pid, signal.SIGKILL)
    if not wait_until(lambda: not alive(r.pid), 10):
        raise Failure("pid %d still runs 10 s after its page server died" % r.pid)
    status, err, _ = b.snap.wait(lazy, local, "lazy-pages", 10)
    if exit_code(status) != 1:
        raise Failure("lazy-pages %s after its page server died, expected exit 1" %
                      describe(status), os.path.join(local, "lazy-pages.log"))
    if not wait_until(lambda: not (descendants() - before), 10):
        raise Failure("processes left running: %s" % sorted(descendants() - before))
    one_line("lazy-pages", err,
             r"^snap lazy-pages: page server 127\.0\.0\.1:%d: connection lost .*pid %d.*, "
             r"before pid %d had all its memory; pid %d killed$" % (server.port, r.pid, r.pid,
                                                                    r.pid),
             os.path.join(local, "lazy-pages.err"))


def bad_lazy_page_server_trunc(b):
    """The served set's pages-PID.img is a page short: the page server
    refuses the first GET for that process (its one line names the image),
    lazy-pages gives up with one line naming the page server and the pid,
    the restore fails before it made any process with one line of its own;
    all three exit 1, nothing is left running."""
    def cut(r):
        pages = os.path.join(r.img, "pages-%d.img" % r.pid)
        os.truncate(pages, os.path.getsize(pages) - 4096)

    r, server, local = served(b, "static/mem_heap", cut)
    before = descendants()
    lazy = start_lazy(b, b.snap, local, server.address, server.port)
    status, err = b.snap.run(["restore", "-D", local, "-d", "--lazy-pages", "-o",
                              "restore.log", "-v", "4"], local, "restore")
    if exit_code(status) != 1:
        raise Failure("restore %s from a truncated served set, expected exit 1" %
                      describe(status), os.path.join(local, "restore.log"))
    one_line("restore", err, r"pid %d: the lazy-pages server did not take its pages" % r.pid,
             os.path.join(local, "restore.err"))
    status, err, _ = b.snap.wait(lazy, local, "lazy-pages", 10)
    if exit_code(status) != 1:
        raise Failure("lazy-pages %s, expected exit 1" % describe(status),
                      os.path.join(local, "lazy-pages.log"))
    one_line("lazy-pages", err, r"page server 127\.0\.0\.1:%d: pid %d: its images cannot be "
             r"read on the page server" % (server.port, r.pid),
             os.path.join(local, "lazy-pages.err"))
    status, err = server.wait(10)
    if exit_code(status) != 1:
        raise Failure("the page server %s, expected exit 1" % describe(status), server.log())
    one_line("the page server", err, r"pages-%d\.img: \d+ bytes, pagemap-%d\.img describes" %
             (r.pid, r.pid), server.log())
    if alive(r.pid):
        raise Failure("pid %d runs after a failed restore" % r.pid)
    if not wait_until(lambda: not (descendants() - before), 10):
        raise Failure("processes left running: %s" % sorted(descendants() - before))


def bad_lazy_incr_parent_missing(b):
    """restore --lazy-pages of a pre-dump + dump chain whose parent set is
    gone: lazy-pages, which resolves the chain, refuses the process with
    one line naming the parent set, the restore fails before it made any
    process with one line naming the pid; both exit 1, nothing is left."""
    r = incr_image(b)
    shutil.rmtree(os.path.join(r.dir, "pre1"))
    sock = os.path.join(r.img, "lazy-pages.sock")
    before = descendants()
    lazy = b.snap.start(["lazy-pages", "-D", r.img, "-o", "lazy-pages.log", "-v", "4"],
                        r.img, "lazy-pages")
    if not wait_until(lambda: os.path.exists(sock) or not alive(lazy), 10):
        raise Failure("snap lazy-pages did not listen within 10 s", r.log("lazy-pages"))
    status, err = b.snap.run(["restore", "-D", r.img, "-d", "--lazy-pages", "-o",
                              "restore.log", "-v", "4"], r.img, "restore")
    if exit_code(status) != 1:
        raise Failure("restore %s without its parent set, expected exit 1" % describe(status),
                      r.log("restore"))
    one_line("restore", err, r"pid %d: the lazy-pages server did not take its pages" % r.pid,
             os.path.join(r.img, "restore.err"))
    status, err, _ = b.snap.wait(lazy, r.img, "lazy-pages", 10)
    if exit_code(status) != 1:
        raise Failure("lazy-pages %s, expected exit 1" % describe(status), r.log("lazy-pages"))
    one_line("lazy-pages", err, r"pages of pid %d are in parent set 1, which cannot be opened" %
             r.pid, os.path.join(r.img, "lazy-pages.err"))
    if alive(r.pid):
        raise Failure("pid %d runs after a failed restore" % r.pid)
    if not wait_until(lambda: not (descendants() - before), 10):
        raise Failure("processes left running: %s" % sorted(descendants() - before))


def take_served(b, r, port, what):
    """The restore side of a dump that serves its pages on @port: every image
    of @r but the pages, `snap lazy-pages --page-server`, restore: the
    process checks every page of its 256 MiB while they come; lazy-pages
    exits 0, every page having come over TCP."""
    r.wait_gone(what)
    local = os.path.join(b.dir, "restore-side")
    restore_side(r.img, local)
    lazy = start_lazy(b, b.snap, local, "127.0.0.1", port)
    lazy_restore(b.snap, local)
    r.finish("lazy restore from %s" % what)
    all_served(b, lazy, local, what)


def lazy_dump(b):
    """CRIU's lazy migration, as runc's `checkpoint --lazy-pages` drives it:
    `snap dump --lazy-pages --port P` dumps mem_lazy (256 MiB, each page its
    own bytes), kills it and serves the set's pages; its status-ready hook
    (an action script here) says when it listens. Then take_served(); the
    dump exits 0 once every page came."""
    r = b.target(tests.find("static/mem_lazy_1g").but(args=("256",)))
    port = free_port("127.0.0.1")
    ready = os.path.join(b.dir, "ready")
    hook = os.path.join(b.dir, "hook.sh")
    with open(hook, "w") as f:
        f.write('#!/bin/sh\n[ "$CRTOOLS_SCRIPT_ACTION" != status-ready ] || '
                'echo "$CRTOOLS_IMAGE_DIR" > %s\n' % ready)
    os.chmod(hook, 0o755)
    dump = b.snap.start(["dump", "-t", str(r.pid), "-D", r.img, "--lazy-pages", "--address",
                         "127.0.0.1", "--port", str(port), "--action-script", hook,
                         "-o", "dump.log", "-v", "4"], r.img, "dump")
    if not wait_until(lambda: os.path.exists(ready) or not alive(dump), 60) or not alive(dump):
        status, err, _ = b.snap.wait(dump, r.img, "dump", 5)
        raise Failure("dump --lazy-pages did not reach status-ready (%s): %s" % (
            describe(status), err.strip()), r.log("dump"))
    take_served(b, r, port, "dump --lazy-pages")
    status, err, _ = b.snap.wait(dump, r.img, "dump", 10)
    if status != 0:
        raise Failure("dump --lazy-pages %s once its pages were served: %s" % (
            describe(status), err.strip()), r.log("dump"))


def rpc_lazy_dump(b):
    """The same through the RPC, as runc's `checkpoint --lazy-pages
    --page-server ADDR:PORT` asks: a DUMP with lazy_pages and ps serves the
    pages on ps; once it listens comes the status-ready notification, and
    the caller's status_fd gets its \\0; the DUMP's reply comes once every
    page was served."""
    r = b.target(tests.find("static/mem_lazy_1g").but(args=("256",)))
    port = free_port("127.0.0.1")
    rfd, wfd = os.pipe()
    img = os.open(r.img, os.O_RDONLY | os.O_DIRECTORY)
    res = {}

    def dump():
        res["dump"] = call(b, rpc.request(rpc.DUMP, dict(
            images_dir_fd=img, pid=r.pid, lazy_pages=True, ps=("127.0.0.1", port),
            status_fd=wfd, notify_scripts=True, log_file="dump.log", log_level=4)),
            lambda name, pid: True)

    th = threading.Thread(target=dump)
    th.start()
    try:
        if not select.select([rfd], [], [], 60)[0] or os.read(rfd, 1) != b"\0":
            raise Failure("status_fd did not get its \\0 within 60 s", r.log("dump"))
        take_served(b, r, port, "the lazy DUMP")
    finally:
        th.join(60)
        for fd in (rfd, wfd, img):
            os.close(fd)
    if "dump" not in res:
        raise Failure("the DUMP got no reply", os.path.join(b.dir, "swrk.err"))
    resp, status, notified = res["dump"]
    if not resp.success or exit_code(status) != 0:
        raise Failure("the lazy DUMP answered %r, snap swrk %s" % (resp, describe(status)),
                      r.log("dump"))
    names = [n for n, _ in notified]
    if names[-2:] != ["post-dump", "status-ready"]:
        raise Failure("the lazy DUMP notified %s, expected post-dump then status-ready" % names)


def bad_lazy_dump_port_taken(b):
    """dump --lazy-pages on a port something listens on already: one line
    naming the port, before the tree is touched; it runs on, whole."""
    r = b.target("static/mem_heap")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "--lazy-pages", "--address",
                      "127.0.0.1", "--port", str(port)], [r"\bport %d\b" % port],
                     workdir=r.img)
    if os.path.exists(os.path.join(r.img, "inventory.img")):
        raise Failure("a refused dump --lazy-pages wrote inventory.img", r.log("dump"))
    r.check_running("a refused dump --lazy-pages")
    r.finish("a refused dump --lazy-pages")
