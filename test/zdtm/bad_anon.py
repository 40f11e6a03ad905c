"""The anon-inode fd kinds (eventfd, epoll, timerfd, signalfd, pidfd) with
bad input: fds snap refuses (io_uring, bpf, perf, userfaultfd), an epoll
watching or a pidfd naming what is outside the dumped tree, damaged
epoll-tfds.img and damaged anon entries of files.img. Each dump refused
names pid, fd and kind in one line and leaves the process running as it
was; each restore refused names the image and creates nothing. Plus
img/timerfd_abs_gap: an absolute timer keeps its expiry across a gap."""

import os
import re
import time

from bad_ns import edit_records
from bad_restore import flip_middle, restore_damaged, truncate_half, varint
from outcome import Failure
from proc import PYTHON, alive, kill_tree, proc_state, spawn, wait_until
from snap import last_line

REFUSED_FD = 77     # where static/anon_refused keeps its fd

# files.img: file_entry.type (field 2) and the field of each kind's part.
FD_EVENTFD, FD_EPOLL, FD_TIMERFD, FD_PIDFD = 6, 7, 8, 10
PART = {FD_EVENTFD: 7, FD_EPOLL: 8, FD_TIMERFD: 9, FD_PIDFD: 11}


def refused(b, kind, what):
    """static/anon_refused_KIND: the dump is refused naming pid, fd and
    @what; the process goes on, its fd untouched (it checks)."""
    r = b.target("static/anon_refused_" + kind)
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img],
                 [r"pid %d fd %d: %s\b.*not supported" % (r.pid, REFUSED_FD, what)])
    r.check_running("a refused dump")
    r.finish("a refused dump")


def bad_dump_io_uring(b):
    refused(b, "io_uring", "io_uring")


def bad_dump_bpf_map(b):
    refused(b, "bpf_map", "a bpf map")


def bad_dump_perf_event(b):
    refused(b, "perf_event", "a perf event")


def bad_dump_userfaultfd(b):
    refused(b, "userfaultfd", "a userfaultfd")


# A child holding an epoll whose one watched eventfd only its parent (not
# dumped) holds. Prints the child's pid and the epoll's fd, then sleeps.
EPOLL_OUTSIDE = """
import os, select, time
efd = os.eventfd(0)
ep = select.epoll()
ep.register(efd, select.EPOLLIN)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(efd)
    os.write(w, b"x")
    time.sleep(600)
    os._exit(0)
os.read(r, 1)
print(pid, ep.fileno(), flush=True)
time.sleep(600)
"""

# A child holding a pidfd of its parent, which is not dumped. Prints the
# parent's pid, the child's and the pidfd, then sleeps.
PIDFD_OUTSIDE = """
import os, time
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    fd = os.pidfd_open(os.getppid())
    os.write(w, b"%d" % fd)
    time.sleep(600)
    os._exit(0)
print(os.getpid(), pid, int(os.read(r, 10)), flush=True)
time.sleep(600)
"""


def outside(b, script, fields):
    """Start @script; its printed line, as ints (@fields of them)."""
    out = os.path.join(b.dir, "tree.out")
    root = spawn([PYTHON, "-c", script], stdout=out)
    if not wait_until(lambda: os.path.exists(out) and
                      len(open(out).read().split()) == fields, 10):
        kill_tree(root)
        raise Failure("setup: the tree did not start")
    return root, [int(x) for x in open(out).read().split()]


def refused_child(b, root, child, mention):
    try:
        img = os.path.join(b.dir, "img")
        os.mkdir(img)
        b.snap_fails(["dump", "-t", str(child), "-D", img], [mention])
        for pid in (root, child):
            if proc_state(pid) not in ("S", "R"):
                raise Failure("pid %d is in state %s after the refused dump" % (
                    pid, proc_state(pid)))
    finally:
        kill_tree(root)


def bad_dump_epoll_outside(b):
    """An epoll watching a file no process of the dumped tree holds: refused
    by pid and fd, and the epoll still watches it."""
    root, (child, ep) = outside(b, EPOLL_OUTSIDE, 2)
    refused_child(b, root, child, r"pid %d fd %d: .*no process of the tree holds" % (child, ep))


def bad_dump_pidfd_outside(b):
    """A pidfd of a process outside the dumped tree (the child's parent): refused."""
    root, (parent, child, fd) = outside(b, PIDFD_OUTSIDE, 3)
    refused_child(b, root, child,
                  r"pid %d fd %d: pidfd of pid %d, which is not in the dumped tree" % (
                      child, fd, parent))


def bad_restore_epoll_tfds_trunc(b):
    restore_damaged(b, r"epoll-tfds\.img", truncate_half, ["truncated"], test="static/epoll")


def bad_restore_epoll_tfds_corrupt(b):
    restore_damaged(b, r"epoll-tfds\.img", flip_middle, ["corrupted"], test="static/epoll")


# A protobuf message as a list of [field, wire type, value]: an int for a
# varint, bytes for the rest. Enough to edit one field and write it back.
def pb_varint(data, off):
    v, shift = 0, 0
    while True:
        c = data[off]
        off += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if c < 0x80:
            return v, off


def pb_decode(data):
    fields, off = [], 0
    while off < len(data):
        key, off = pb_varint(data, off)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, off = pb_varint(data, off)
        elif wt == 2:
            n, off = pb_varint(data, off)
            v, off = data[off:off + n], off + n
        else:
            n = 8 if wt == 1 else 4
            v, off = data[off:off + n], off + n
        fields.append([f, wt, v])
    return fields


def pb_encode(fields):
    out = b""
    for f, wt, v in fields:
        out += varint(f << 3 | wt)
        out += varint(v) if wt == 0 else (varint(len(v)) + v if wt == 2 else v)
    return out


def pb_set(fields, num, value):
    for fld in fields:
        if fld[0] == num:
            fld[2] = value
            return
    raise Failure("setup: no field %d to edit" % num)


def edit_part(r, fd_type, edit):
    """Edit the @fd_type part of the first such files.img entry: edit(fields)."""
    done = []

    def on_record(i, payload):
        fields = pb_decode(payload)
        if done or [f[2] for f in fields if f[0] == 2] != [fd_type]:
            return payload
        for fld in fields:
            if fld[0] == PART[fd_type]:
                part = pb_decode(fld[2])
                edit(part)
                fld[2] = pb_encode(part)
        done.append(i)
        return pb_encode(fields)
    edit_records(os.path.join(r.img, "files.img"), on_record)
    if not done:
        raise Failure("setup: files.img has no file of type %d" % fd_type)


def restore_refused(b, r, image, mention):
    """The restore of @r's images fails with one line naming @image and
    saying @mention, and nothing is left."""
    err = b.snap_fails(["restore", "-D", r.img, "-d"], [re.escape(image)], workdir=r.img)
    if not re.search(mention, err):
        raise Failure("the error does not say what is wrong: %s" % last_line(err))
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def drop_last_record(path):
    """The image at @path without its last record (framing: Documentation/images.md)."""
    with open(path, "rb") as f:
        data = f.read()
    off = last = 4
    while off + 8 <= len(data):
        last = off
        off += 8 + int.from_bytes(data[off:off + 4], "little")
    with open(path, "wb") as f:
        f.write(data[:last])


def bad_restore_epoll_tfds_missing(b):
    """epoll-tfds.img without its last entry (cut at a record boundary, so
    no framing error): the epoll's count in files.img says so."""
    r = b.image("static/epoll")
    drop_last_record(os.path.join(r.img, "epoll-tfds.img"))
    restore_refused(b, r, "epoll-tfds.img", r"watches \d+ files there, files\.img says")


def bad_restore_epoll_tfds_target(b):
    """An epoll-tfds.img entry watching a file id files.img lacks."""
    r = b.image("static/epoll")

    def edit(i, p):
        if i:
            return p
        fields = pb_decode(p)
        pb_set(fields, 5, 999)
        return pb_encode(fields)
    edit_records(os.path.join(r.img, "epoll-tfds.img"), edit)
    restore_refused(b, r, "epoll-tfds.img", r"file id 999, which files\.img lacks")


def bad_restore_epoll_count(b):
    """files.img says an epoll watches one file more than epoll-tfds.img has."""
    r = b.image("static/epoll")
    edit_part(r, FD_EPOLL, lambda part: pb_set(part, 2, [v for f, _, v in part if f == 2][0] + 1))
    restore_refused(b, r, "files.img", r"watches \d+ files there, files\.img says")


def bad_restore_eventfd_count(b):
    """An eventfd count no eventfd can hold (2^64 - 1)."""
    r = b.image("static/eventfd")
    edit_part(r, FD_EVENTFD, lambda part: pb_set(part, 2, (1 << 64) - 1))
    restore_refused(b, r, "files.img", r"eventfd count \d+ is more than")


def bad_restore_timerfd_flags(b):
    """A timerfd with settime flags the kernel does not have."""
    r = b.image("static/timerfd")
    edit_part(r, FD_TIMERFD, lambda part: pb_set(part, 4, 0o10))
    restore_refused(b, r, "files.img", r"settime flags 010 unknown")


def bad_restore_pidfd_pid(b):
    """A pidfd of a pid pstree.img does not have (1, zigzag-encoded as 2)."""
    r = b.image("static/pidfd")
    edit_part(r, FD_PIDFD, lambda part: pb_set(part, 2, 2))
    restore_refused(b, r, "files.img", r"pidfd of pid 1, which pstree\.img does not have")


def img_timerfd_abs_gap(b):
    """Restored 3 s after the dump, static/timerfd's absolute timer still
    expires when it was set to (the test checks to 0.5 s); relative ones
    keep the time they had left."""
    r = b.image("static/timerfd")
    time.sleep(3)
    r.restore()
    r.finish()
