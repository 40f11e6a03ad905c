"""Unix and netlink sockets fed bad input: damaged unix-queues.img, socket
entries of files.img that cannot be, and dumps snap must refuse (a peer or
a connection's data outside the tree, an eBPF filter) while the process
runs on untouched."""

import os
import re

from bad_ns import edit_records, snap_show
from modes import FLAVOURS
from bad_restore import flip_middle, restore_damaged, truncate_half, varint
from outcome import Failure
from proc import alive
from snap import last_line
from testrun import Run
import tests


def pb_fields(payload):
    """A protobuf message's fields, in order: (number, wire type, raw value)."""
    out, off = [], 0

    def read_varint():
        nonlocal off
        v, shift = 0, 0
        while True:
            c = payload[off]
            off += 1
            v |= (c & 0x7f) << shift
            shift += 7
            if not c & 0x80:
                return v

    while off < len(payload):
        key = read_varint()
        num, wt = key >> 3, key & 7
        if wt == 0:
            out.append((num, wt, read_varint()))
        elif wt == 2:
            n = read_varint()
            out.append((num, wt, payload[off:off + n]))
            off += n
        elif wt == 5:
            out.append((num, wt, payload[off:off + 4]))
            off += 4
        elif wt == 1:
            out.append((num, wt, payload[off:off + 8]))
            off += 8
        else:
            raise Failure("setup: wire type %d in an image record" % wt)
    return out


def pb_join(fields):
    """pb_fields() back into bytes."""
    out = b""
    for num, wt, v in fields:
        out += varint(num << 3 | wt)
        if wt == 0:
            out += varint(v)
        elif wt == 2:
            out += varint(len(v)) + v
        else:
            out += v
    return out


def pb_set(payload, num, value, nth=0):
    """@payload with the @nth field @num (a varint) set to @value, or None if it has none."""
    fields, seen = pb_fields(payload), 0
    for i, (n, wt, v) in enumerate(fields):
        if n == num and wt == 0:
            if seen == nth:
                fields[i] = (n, wt, value)
                return pb_join(fields)
            seen += 1
    return None


def restore_refused(b, r, image, edit, mention):
    """Images of @r with @image edited (see edit_records): the restore fails
    with one or two lines naming @image and saying @mention, and nothing of
    the tree is left."""
    edit_records(os.path.join(r.img, image), edit)
    err = b.snap_fails(["restore", "-D", r.img, "-d"], [re.escape(image)], workdir=r.img)
    if not re.search(mention, err):
        raise Failure("the error does not say what is wrong: %s" % last_line(err))
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def bad_restore_unix_queues_trunc(b):
    restore_damaged(b, r"unix-queues\.img", truncate_half, ["truncated"],
                    test="static/unix_pair_stream")


def bad_restore_unix_queues_corrupt(b):
    restore_damaged(b, r"unix-queues\.img", flip_middle, ["corrupted"],
                    test="static/unix_pair_dgram")


def bad_restore_unix_queue_ino(b):
    """A queued message for a socket files.img does not have (its ino made 1)."""
    r = b.image("static/unix_pair_stream")
    restore_refused(b, r, "unix-queues.img",
                    lambda i, p: pb_set(p, 1, 1) if i == 0 else p,
                    r"unix socket 1\b.*files\.img does not have")


def bad_restore_unix_queue_fd(b):
    """A queued message carrying a file id files.img does not have."""
    r = b.image("static/unix_scm_rights")
    hit = []

    def edit(i, p):
        if not hit:
            q = pb_set(p, 5, 999999)
            if q:
                hit.append(i)
                return q
        return p
    restore_refused(b, r, "unix-queues.img", edit, r"file id 999999")
    if not hit:
        raise Failure("setup: no message of static/unix_scm_rights carries fds")


def edit_socket_entry(b, test, part, field, value, mention):
    """files.img of @test with field @field of the first @part (16: unix_sk,
    17: netlink_sk) of a file_entry set to @value: refused at restore."""
    r = b.image(test)
    hit = []

    def edit(i, p):
        fields = pb_fields(p)
        for k, (n, wt, v) in enumerate(fields):
            if n == part and wt == 2 and not hit:
                inner = pb_set(v, field, value)
                if inner is not None:
                    fields[k] = (n, wt, inner)
                    hit.append(i)
                    return pb_join(fields)
        return p
    restore_refused(b, r, "files.img", edit, mention)
    if not hit:
        raise Failure("setup: files.img of %s has no such entry" % test)


def bad_restore_unix_type(b):
    """A unix socket of type 9 (unix_sk_entry.type, field 2)."""
    edit_socket_entry(b, "static/unix_pair_seqpacket", 16, 2, 9, r"type 9")


def bad_restore_unix_peer(b):
    """A stream socket whose peer (field 12) is a socket not connected back."""
    r = b.image("static/unix_pair_stream")
    socks = [e for e in snap_show(b, os.path.join(r.img, "files.img")) if "unix_sk" in e]
    if len(socks) < 3:
        raise Failure("setup: fewer than 3 unix sockets in static/unix_pair_stream")
    third = socks[2]["unix_sk"]["ino"]

    def edit(i, p):
        fields = pb_fields(p)
        for k, (n, wt, v) in enumerate(fields):
            if n == 16 and wt == 2 and pb_fields(v)[0][2] == socks[0]["unix_sk"]["ino"]:
                fields[k] = (n, wt, pb_set(v, 12, third))
                return pb_join(fields)
        return p
    restore_refused(b, r, "files.img", edit, r"not connected back")


def bad_restore_netlink_proto(b):
    """A netlink socket of protocol 99 (netlink_sk_entry.protocol, field 2)."""
    edit_socket_entry(b, "static/netlink_sk", 17, 2, 99, r"protocol 99")


def refused_dump(b, test, mention):
    """@test's dump is refused with one line saying @mention; the test runs
    on and passes."""
    r = b.target(test)
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img], mention)
    r.check_running("a refused dump")
    r.finish("a refused dump")


def bad_dump_unix_ext_refused(b):
    """static/unix_ext without --ext-unix-sk: its sockets connected outside
    the tree are refused by pid and fd."""
    t = tests.find("static/unix_ext").but(dump_args=(), restore_args=())
    refused_dump(b, t, [r"pid \d+ fd \d+: unix socket .*outside the dumped tree.*--ext-unix-sk"])


def bad_dump_unix_pending_ext(b):
    """Data written into a connection not yet accepted by a socket outside the tree."""
    refused_dump(b, "static/unix_pending_ext", [r"pid \d+ fd \d+: listening unix socket .*"
                                                r"outside the dumped tree"])


def bad_dump_unix_ebpf(b):
    """An eBPF socket filter cannot be read back: refused by pid and fd."""
    r = b.target("static/unix_ebpf")
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img], [r"pid \d+ fd \d+: .*eBPF"])
    r.check_running("a refused dump")
    r.finish("a refused dump")


def bad_dump_unix_chroot(b):
    """A name bound in a chroot of the process's own, in snap's mount
    namespace: restore would bind it at the path as snap sees it, another
    file; refused by pid and fd, naming the path."""
    refused_dump(b, "static/unix_chroot", [r"pid \d+ fd \d+: bound to /sock under a root of "
                                           r"its own \(chroot\) in snap's mount namespace"])


def bad_dump_unix_chroot_ns(b):
    """The same in the ns flavour: the tree's root binds names at its mount
    namespace's root, not under the process's chroot; refused so."""
    r = Run(b.ctx, tests.find("static/unix_chroot"), b.dir, flavour=FLAVOURS["ns"],
            label="target_ns")
    b.runs.append(r)
    r.start()
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img],
                 [r"pid \d+ fd \d+: bound to /sock under a root of its own \(chroot\) inside "
                  r"the tree's mount namespace"])
    r.check_running("a refused dump")
    r.finish("a refused dump")


def bad_restore_unix_root_bind(b):
    """static/unix_ns_root's images (ns flavour) with its listener's name
    moved to a directory the restored tree does not have (the same length:
    a byte of files.img changed): the tree's root cannot bind it, the
    restore fails with one line naming the socket, and nothing is left."""
    r = Run(b.ctx, tests.find("static/unix_ns_root"), b.dir, flavour=FLAVOURS["ns"],
            label="target_ns")
    b.runs.append(r)
    r.start()
    r.dump()
    r.wait_gone("dump")
    hit = []

    def edit(i, p):
        if b"/dev/unixroot/stream" in p and not hit:
            hit.append(i)
            return p.replace(b"/dev/unixroot/stream", b"/dev/unixrooX/stream")
        return p
    restore_refused(b, r, "files.img", edit,
                    r"unix socket /dev/unixrooX/stream\): cannot bind it to its name: No such "
                    r"file or directory")
    if not hit:
        raise Failure("setup: files.img of static/unix_ns_root names no /dev/unixroot/stream")


def refused_inflight(b, test, mention):
    """A message queued in a socketpair carries a file restore could only open
    inside a process (a pidfd of a live child, /proc/PID/status): refused, and
    the message is still intact after the refused dump."""
    r = b.target(test)
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img], [mention])
    r.check_running("a refused dump")
    r.finish("a refused dump")


def bad_dump_unix_inflight_pidfd(b):
    refused_inflight(b, "static/unix_inflight_task", r"pidfd of pid \d+")


def bad_dump_unix_inflight_proc(b):
    refused_inflight(b, "static/unix_inflight_proc", r"/proc/\d+/status")
