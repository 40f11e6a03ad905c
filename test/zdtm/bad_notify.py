"""Bad input for inotify, fanotify and file locks: dumps snap must refuse (a
watch on a deleted file, locks without --file-locks), and damaged images of
them (file-locks.img, the inotify and fanotify parts of files.img), each
refused with one line naming the image, nothing created, nothing left."""

import os
import re

from bad_ns import edit_records
from bad_restore import flip_middle, restore_damaged, truncate_half
from outcome import Failure
from proc import alive, kill, spawn, wait_until
from snap import last_line


def pb_decode(data):
    """A protobuf message as [field, wire type, value]: an int for a varint,
    bytes for a length-delimited field (the only wire types snap's images use
    here)."""
    out, off = [], 0
    while off < len(data):
        key, off = read_varint(data, off)
        field, wt = key >> 3, key & 7
        if wt == 0:
            val, off = read_varint(data, off)
        elif wt == 2:
            n, off = read_varint(data, off)
            val, off = data[off:off + n], off + n
        else:
            raise Failure("setup: wire type %d in an image record" % wt)
        out.append([field, wt, val])
    return out


def read_varint(data, off):
    v = shift = 0
    while True:
        b = data[off]
        off += 1
        v |= (b & 0x7f) << shift
        shift += 7
        if not b & 0x80:
            return v, off


def write_varint(v):
    out = b""
    while True:
        out += bytes([(v & 0x7f) | (0x80 if v > 0x7f else 0)])
        v >>= 7
        if not v:
            return out


def pb_encode(fields):
    out = b""
    for field, wt, val in fields:
        out += write_varint(field << 3 | wt)
        out += write_varint(val) if wt == 0 else write_varint(len(val)) + val
    return out


def get(fields, field):
    return [f for f in fields if f[0] == field]


def refused(b, r, image, edit, mention, applied=None):
    """Restore @r's images with @image edited by edit(index, payload) (which
    applied(), if given, says it found what to edit): one line naming @image
    and saying @mention; nothing is left alive."""
    edit_records(os.path.join(r.img, image), edit)
    if applied and not applied():
        raise Failure("setup: nothing to edit in %s" % image)
    err = b.snap_fails(["restore", "-D", r.img, "-d"], [re.escape(image)], workdir=r.img)
    if not re.search(mention, err):
        raise Failure("the error does not say what is wrong: %s" % last_line(err))
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def edit_kind_part(fd_type, field, edit_part):
    """An edit of files.img: the part @field of the entries of type @fd_type
    (file_entry.type, field 2) becomes edit_part(decoded part)."""
    state = {"done": False}

    def edit(i, payload):
        fields = pb_decode(payload)
        if [f[2] for f in get(fields, 2)] != [fd_type]:
            return payload
        for f in get(fields, field):
            part = pb_decode(f[2])
            edit_part(part)
            f[2] = pb_encode(part)
            state["done"] = True
        return pb_encode(fields)

    return edit, state


def bad_dump_inotify_deleted(b):
    """A watch on a file deleted while open is refused by pid, fd and wd, and
    the process runs on with its watch."""
    r = b.target("static/inotify_deleted")
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img],
                 [r"\b%d\b fd \d+: inotify watch wd 1: .*deleted" % r.pid])
    r.check_running("a refused dump")
    r.finish("a refused dump")


def bad_dump_fanotify_mntns(b):
    """A fanotify mark on a mount namespace is refused by pid, fd and mark,
    and the process runs on with it."""
    r = b.target("static/fanotify_mntns")
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img],
                 [r"\b%d\b fd \d+: fanotify mark 1: a mark on a mount namespace" % r.pid])
    r.check_running("a refused dump")
    r.finish("a refused dump")


def bad_dump_file_locks(b):
    """Without --file-locks a process holding locks is refused by pid and fd,
    saying what to do; its locks (the test checks them all) are untouched."""
    r = b.target("static/file_locks")
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img],
                 [r"\b%d\b fd \d+: .* lock; dump with --file-locks" % r.pid])
    r.check_running("a refused dump")
    r.finish("a refused dump")


def bad_dump_file_lease_breaking(b):
    """static/file_lease with its write lease being broken (an open of the
    file waits for it to go): the dump is refused by pid and fd, naming the
    lease, and the process runs on. Not asked to pass after: the kernel
    takes the lease away once its break time passes, which it checks for."""
    r = b.target("static/file_lease")
    opener = spawn(["/bin/cat", r.outfile + ".write-leased"])
    try:
        if not wait_until(lambda: "BREAKING" in open("/proc/locks").read(), 10):
            raise Failure("setup: the lease is not being broken after 10 s")
        b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "--file-locks"],
                     [r"\b%d\b fd \d+: .*write-leased has a lease being broken" % r.pid])
    finally:
        kill(opener)
    r.check_running("a refused dump")


def bad_dump_file_locks_mapped(b):
    """A flock held only through a mapping (static/file_lock_mapped), without
    --file-locks: refused by pid, naming the file and the option; the test,
    which checks its locks, runs on and passes."""
    r = b.target("static/file_lock_mapped")
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img],
                 [r"pid %d holds a flock (read|write) lock on .*lock[123], which it maps; "
                  r"dump with --file-locks" % r.pid])
    r.check_running("a refused dump")
    r.finish("a refused dump")


def bad_restore_locks_trunc(b):
    restore_damaged(b, r"file-locks\.img", truncate_half, ["truncated"],
                    test="static/file_locks")


def bad_restore_locks_corrupt(b):
    restore_damaged(b, r"file-locks\.img", flip_middle, ["corrupted"],
                    test="static/file_locks")


def bad_restore_locks_fd(b):
    """file-locks.img naming an fd its process does not have (fd, field 4)."""
    r = b.image("static/file_locks")

    def edit(i, payload):
        if i:
            return payload
        fields = pb_decode(payload)
        get(fields, 4)[0][2] = 999
        return pb_encode(fields)
    refused(b, r, "file-locks.img", edit, r"lock 0: pid \d+ has no fd 999")


def bad_restore_inotify_wd(b):
    """An inotify entry whose first watch has wd 0 (inotify_wd_entry.wd,
    field 1 of inotify_entry.wds, field 2)."""
    r = b.image("static/inotify_watch")

    def zero_wd(part):
        wd = pb_decode(get(part, 2)[0][2])
        get(wd, 1)[0][2] = 0
        get(part, 2)[0][2] = pb_encode(wd)
    edit, state = edit_kind_part(11, 12, zero_wd)
    refused(b, r, "files.img", edit, r"inotify watch 0 has wd 0; wds are positive", lambda: state["done"])


def bad_restore_inotify_gone(b):
    """A watched file removed between dump and restore: the restore names it
    and the wd, and leaves nothing behind."""
    r = b.image("static/inotify_watch")
    path = r.outfile + ".dir/file"
    os.unlink(path)
    err = b.snap_fails(["restore", "-D", r.img, "-d"], [re.escape(path)], workdir=r.img)
    if not re.search(r"files\.img: file id \d+: inotify watch wd \d+: cannot watch", err):
        raise Failure("the error does not say what is wrong: %s" % last_line(err))
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def bad_restore_fanotify_kind(b):
    """A fanotify mark of a kind no snap knows (fanotify_mark_entry.kind,
    field 1 of fanotify_entry.marks, field 4, made 9)."""
    r = b.image("static/fanotify_marks")

    def bad_kind(part):
        mark = pb_decode(get(part, 4)[0][2])
        get(mark, 1)[0][2] = 9
        get(part, 4)[0][2] = pb_encode(mark)
    edit, state = edit_kind_part(12, 13, bad_kind)
    refused(b, r, "files.img", edit, r"fanotify mark 1: bad kind \(kind 9", lambda: state["done"])


def mark_in_tree(kind):
    """An edit of fanotify_marks' files.img: the first mark of @kind
    (fanotify_mark_entry.kind) gets in_tree (field 9) set."""
    def set_in_tree(part):
        for m in get(part, 4):
            mark = pb_decode(m[2])
            if get(mark, 1)[0][2] == kind:
                mark.append([9, 0, 1])
                m[2] = pb_encode(mark)
                return
    return edit_kind_part(12, 13, set_in_tree)


def bad_restore_fanotify_in_tree(b):
    """A mount mark on the tree's own mount (in_tree) restored without the
    tree's mount namespace (the host image of static/fanotify_marks)."""
    r = b.image("static/fanotify_marks")
    edit, state = mark_in_tree(2)
    refused(b, r, "files.img", edit, r"fanotify marks a mount of the tree's own mount namespace",
            lambda: state["done"])


def bad_restore_fanotify_in_tree_kind(b):
    """in_tree on an inode mark: only mount marks are the tree's."""
    r = b.image("static/fanotify_marks")
    edit, state = mark_in_tree(1)
    refused(b, r, "files.img", edit, r"fanotify mark \d+: bad in_tree \(not a mount mark\)",
            lambda: state["done"])
