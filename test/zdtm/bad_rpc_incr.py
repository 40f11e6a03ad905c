"""Incremental dumps over snap's CRIU RPC: runc's `checkpoint --pre-dump`
(one PRE_DUMP per `criu swrk`, then a DUMP with parent_img), CRIU's own
sequence on one socket (PRE_DUMPs, then the DUMP), the final dump's pages
sent to a page server (ps), and the requests that may not follow a
pre-dump. The target writes random pages throughout and checks every byte
after the restore."""

import os

import rpc
from bad_rpc import call, expect_error
from outcome import Failure
from pageserver import PageServer
from proc import describe, exit_code

WRITER = "static/incr_writer"


def pages_size(d):
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
               if f.startswith("pages-"))


def dirfd(path):
    os.makedirs(path, exist_ok=True)
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY)


def ok(b, resp, status, what, want_type, log):
    if not resp.success or resp.type != want_type or exit_code(status) != 0:
        raise Failure("RPC %s answered %r, snap swrk %s" % (what, resp, describe(status)), log)


def restore_checked(r, pre):
    """The final set points at the pre-dump, holds fewer pages, and restores."""
    link = os.path.join(r.img, "parent")
    if not os.path.islink(link) or os.path.realpath(link) != os.path.realpath(pre):
        raise Failure("the final dump's parent link does not name %s" % pre, r.log("dump"))
    full, final = pages_size(pre), pages_size(r.img)
    if not final or final >= full:
        raise Failure("the final dump holds %d bytes of pages, the pre-dump %d: not "
                      "incremental" % (final, full), r.log("dump"))
    r.wait_gone("an RPC dump after a pre-dump")
    r.restore()
    r.finish("a restore of an RPC pre-dump and dump")


def rpc_predump(b, parent=True):
    """runc's way: each request in its own `criu swrk`; without @parent, a
    plain checkpoint after the pre-dump, which must not trip on the write
    tracker the pre-dump left in the task."""
    r = b.target(WRITER)
    pre = os.path.join(r.dir, "pre")
    pfd, ifd = dirfd(pre), dirfd(r.img)
    try:
        resp, status, _ = call(b, rpc.request(rpc.PRE_DUMP, dict(
            images_dir_fd=pfd, pid=r.pid, track_mem=True, log_file="pre-dump.log",
            log_level=4)))
        ok(b, resp, status, "pre-dump", rpc.PRE_DUMP, os.path.join(pre, "pre-dump.log"))
        r.check_running("an RPC pre-dump")
        more = dict(track_mem=True, parent_img="../pre") if parent else {}
        resp, status, _ = call(b, rpc.request(rpc.DUMP, dict(
            images_dir_fd=ifd, pid=r.pid, log_file="dump.log", log_level=4, **more)))
        ok(b, resp, status, "dump", rpc.DUMP, r.log("dump"))
    finally:
        os.close(pfd)
        os.close(ifd)
    if parent:
        restore_checked(r, pre)
        return
    if pages_size(r.img) < pages_size(pre):
        raise Failure("the full dump holds fewer pages than the pre-dump", r.log("dump"))
    r.wait_gone("a full RPC dump after a pre-dump")
    r.restore()
    r.finish("a restore of a full RPC dump after a pre-dump")


def rpc_predump_full(b):
    rpc_predump(b, parent=False)


def rpc_predump_sequence(b):
    """CRIU's way: two PRE_DUMPs and the DUMP on one socket, the DUMP's pages
    through a page server."""
    r = b.target(WRITER)
    pre1, pre2 = os.path.join(r.dir, "pre1"), os.path.join(r.dir, "pre2")
    fds = [dirfd(pre1), dirfd(pre2), dirfd(r.img)]
    server = PageServer(b.snap, r.img, r.dir)
    try:
        if not server.ready():
            raise Failure("the page server did not start", server.log())
        s = rpc.Swrk(b.snap.path, b.dir)
        reqs = [rpc.request(rpc.PRE_DUMP, dict(images_dir_fd=fds[0], pid=r.pid, track_mem=True,
                                               log_file="pre1.log", log_level=4)),
                rpc.request(rpc.PRE_DUMP, dict(images_dir_fd=fds[1], pid=r.pid, track_mem=True,
                                               parent_img="../pre1", log_file="pre2.log",
                                               log_level=4)),
                rpc.request(rpc.DUMP, dict(images_dir_fd=fds[2], pid=r.pid, track_mem=True,
                                           parent_img="../pre2", log_file="dump.log",
                                           log_level=4, ps=(server.address, server.port)))]
        resp, status, _ = s.call(reqs)
        types = [x.type for x in s.replies if x.success]
        if types != [rpc.PRE_DUMP, rpc.PRE_DUMP, rpc.DUMP] or exit_code(status) != 0:
            raise Failure("the sequence answered %r, snap swrk %s" % (
                s.replies, describe(status)), os.path.join(b.dir, "swrk.err"))
        sstatus, serr = server.wait(10)
        if exit_code(sstatus) != 0:
            raise Failure("the page server %s: %s" % (describe(sstatus), serr), server.log())
    finally:
        for fd in fds:
            os.close(fd)
    restore_checked(r, pre2)


def bad_rpc_predump_sequence(b):
    """After a pre-dump only PRE_DUMP or DUMP may follow; parent_img and ps
    are dump options; a ps without a port is refused. The task runs on."""
    r = b.target(WRITER)
    pre = os.path.join(r.dir, "pre")
    pfd, ifd = dirfd(pre), dirfd(r.img)
    try:
        s = rpc.Swrk(b.snap.path, b.dir)
        resp, status, _ = s.call([
            rpc.request(rpc.PRE_DUMP, dict(images_dir_fd=pfd, pid=r.pid, track_mem=True)),
            rpc.request(rpc.RESTORE, dict(images_dir_fd=ifd))])
        if len(s.replies) != 2 or s.replies[1].success or \
                "only PRE_DUMP or DUMP" not in (s.replies[1].errmsg or ""):
            raise Failure("a RESTORE after a PRE_DUMP answered %r" % s.replies,
                          os.path.join(b.dir, "swrk.err"))
        if exit_code(status) != 1:
            raise Failure("snap swrk %s, expected exit 1" % describe(status))
        expect_error(b, rpc.request(rpc.RESTORE, dict(images_dir_fd=ifd, parent_img="../pre")),
                     "parent_img")
        expect_error(b, rpc.request(rpc.DUMP, dict(images_dir_fd=ifd, pid=r.pid,
                                                   ps=("127.0.0.1", 0))), "ps needs")
    finally:
        os.close(pfd)
        os.close(ifd)
    r.check_running("refused RPC requests after a pre-dump")
    r.finish("refused RPC requests after a pre-dump")
