"""Bad-input tests on the restore side: damaged or missing images, and pids
or directories a restore cannot have. Each one takes a bad.BadRun and raises
outcome.Failure or outcome.Skip; bad.BAD lists them."""

import os
import re
import time
import zlib

from modes import MODES
from outcome import Failure, Skip
from proc import alive
from snap import last_line

PID_WAIT_MS = 500      # how long restore waits for a busy pid in bad/restore_pid_busy


def bad_restore_nodir(b):
    img = os.path.join(b.dir, "no-such-dir")
    b.snap_fails(["restore", "-D", img, "-d"], [re.escape(img), "no-such-dir"])


def restore_damaged(b, pattern, damage, mention, test="static/mem_heap"):
    """Dump a test, damage the largest image matching @pattern, expect restore to fail cleanly."""
    r = b.image(test)
    imgs = [f for f in os.listdir(r.img) if re.fullmatch(pattern, f)]
    if not imgs:
        raise Failure("setup: no %s in %s" % (pattern, r.img))
    img = max(imgs, key=lambda f: os.path.getsize(os.path.join(r.img, f)))
    path = os.path.join(r.img, img)
    size = os.path.getsize(path)
    if size < 2:
        raise Failure("setup: %s has %d bytes" % (img, size))
    damage(path, size)
    b.snap_fails(["restore", "-D", r.img, "-d"], [re.escape(img)] + mention,
                 workdir=r.img)
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def truncate_half(path, size):
    os.truncate(path, size // 2)


def flip_middle(path, size):
    with open(path, "r+b") as f:
        off = size // 2 - 8 if size > 16 else 0
        f.seek(off)
        data = f.read(16)
        f.seek(off)
        f.write(bytes(c ^ 0xff for c in data))


def bad_restore_trunc_core(b):
    restore_damaged(b, r"core-\d+\.img", truncate_half, ["core"])


def bad_restore_corrupt_mm(b):
    restore_damaged(b, r"mm-\d+\.img", flip_middle, [r"\bmm\b", "mm-"])


def bad_restore_trunc_shmem(b):
    restore_damaged(b, r"shmem-pages-\d+\.img", truncate_half, ["truncated"],
                    test="static/shm_anon")


def bad_restore_corrupt_shmem(b):
    restore_damaged(b, r"shmem\.img", flip_middle, ["shmem.img"], test="static/shm_anon")


def bad_restore_trunc_pages(b):
    restore_damaged(b, r"pages-\d+\.img", truncate_half, ["pages", "pagemap"])


def bad_restore_tree_child_fails(b):
    """A grandchild of the tree cannot be restored (its cwd is gone) once the
    root and others exist: the error names it, and nothing is left alive."""
    r = b.image("static/pstree")
    cwd = r.outfile + ".b1dir"
    if not os.path.isdir(cwd):
        raise Failure("setup: %s was not made" % cwd)
    os.rmdir(cwd)
    b.snap_fails(["restore", "-D", r.img, "-d"], [re.escape(cwd)], workdir=r.img)
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def varint(v):
    out = b""
    while True:
        out += bytes([(v & 0x7f) | (0x80 if v > 0x7f else 0)])
        v >>= 7
        if not v:
            return out


def reseal(data):
    """An image with each record's CRC made right again (Documentation/images.md)."""
    out, off = bytearray(data[:4]), 4
    while off + 8 <= len(data):
        n = int.from_bytes(data[off:off + 4], "little")
        payload = data[off + 8:off + 8 + n]
        out += data[off:off + 4] + zlib.crc32(payload).to_bytes(4, "little") + payload
        off += 8 + n
    return bytes(out)


def bad_restore_thread_tid(b):
    """A core image whose second thread has the leader's tid: restore refuses it."""
    r = b.target("static/thread_futex")
    tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % r.pid))
    try:
        r.dump()
        r.wait_gone("dump")
    except Failure as f:
        raise Failure("setup: " + f.reason, f.log)
    other = next(t for t in tids if t != r.pid)
    if len(varint(other)) != len(varint(r.pid)):
        raise Skip("tids %d and %d differ in size" % (r.pid, other))
    img = "core-%d.img" % r.pid
    path = os.path.join(r.img, img)
    with open(path, "rb") as f:
        data = f.read()
    # thread_core_entry.tid, field 1, is the first thing in each thread's entry.
    old = b"\x08" + varint(other)
    if old not in data:
        raise Failure("setup: thread %d not found in %s" % (other, img))
    with open(path, "wb") as f:
        f.write(reseal(data.replace(old, b"\x08" + varint(r.pid), 1)))
    err = b.snap_fails(["restore", "-D", r.img, "-d"], [re.escape(img)], workdir=r.img)
    if "thread" not in err:
        raise Failure("the error does not say what is wrong: %s" % last_line(err))
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def bad_restore_pid_busy(b):
    r = b.target()
    try:
        r.dump(MODES["leave-running"])
    except Failure as f:
        raise Failure("setup: " + f.reason, f.log)
    r.check_running("dump --leave-running")
    args = ["restore", "-D", r.img, "-d"]
    if b.snap.supports("pid-wait-ms"):
        args += ["--pid-wait-ms", str(PID_WAIT_MS)]
    env = dict(os.environ, SNAP_PID_WAIT_MS=str(PID_WAIT_MS))
    t0 = time.monotonic()
    b.snap_fails(args, [r"\b%d\b" % r.pid], workdir=r.img, env=env)
    if time.monotonic() - t0 > 15:
        raise Failure("restore took %.1f s to give up on a busy pid" % (time.monotonic() - t0))
    r.check_running("a failed restore")
    r.finish("a failed restore (the original task)")

