"""FIFOs and ptys: dumps snap must refuse (a terminal of the outside world
without --shell-job, a pty a process outside the tree uses), and damaged
fifo-data.img, tty-data.img and FIFO/pty entries of files.img, which restore
must refuse before it creates anything; and a restore that must work when
the pty's index is taken. Each one takes a bad.BadRun and raises
outcome.Failure or outcome.Skip; bad.BAD lists them."""

import fcntl
import os
import re
import struct

from bad_ns import edit_records, snap_show
from bad_restore import flip_middle, restore_damaged, truncate_half, varint
from outcome import Failure
from proc import alive, kill, proc_state, spawn, wait_until


TIOCGPTN = 0x80045430   # python's termios lacks it


# A minimal protobuf codec: enough to rewrite fields of one record.

def read_varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def parse(b):
    """[number, wire type, value]: an int for varints, bytes for the rest."""
    out, i = [], 0
    while i < len(b):
        key, i = read_varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(b, i)
        elif wt == 2:
            n, i = read_varint(b, i)
            v, i = b[i:i + n], i + n
        else:
            n = 8 if wt == 1 else 4
            v, i = b[i:i + n], i + n
        out.append([num, wt, v])
    return out


def build(fields):
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


def edit_part(payload, field, fn):
    """Apply fn(subfields) to the file_entry part @field (15: pty, 14: fifo), if any."""
    top = parse(payload)
    for f in top:
        if f[0] == field and f[1] == 2:
            sub = parse(f[2])
            fn(sub)
            f[2] = build(sub)
    return build(top)


def restore_fails(b, r, mention):
    b.snap_fails(["restore", "-D", r.img, "-d"], mention, workdir=r.img)
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def edited_files_img(b, test, field, fn, mention):
    """Dump @test, edit the @field part of its files.img entries, expect restore to fail."""
    r = b.image(test)
    path = os.path.join(r.img, "files.img")
    with open(path, "rb") as f:
        before = f.read()
    edit_records(path, lambda i, p: edit_part(p, field, fn))
    with open(path, "rb") as f:
        if f.read() == before:
            raise Failure("setup: no entry of %s's files.img was changed" % test)
    restore_fails(b, r, ["files.img"] + mention)


# Refused dumps: one line naming pid, fd and what; the task runs on and passes.

def bad_dump_tty_external(b):
    """A terminal whose other side is outside the tree (the test's own,
    made by the runner) without --shell-job."""
    r = b.target("static/tty_shelljob")
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img],
                 [r"pid %d fd \d+: a terminal \(/dev/pts/\d+\) needs --shell-job" % r.pid])
    r.check_running("a refused dump")
    r.finish("a refused dump")


def pty_outside(b, variant, what):
    r = b.target("static/pty_outside_" + variant)
    with open(r.outfile + ".outside.pid") as f:
        outside = int(f.read())
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img],
                 [r"pid %d fd \d+: pty /dev/pts/\d+.*pid %d outside the dumped tree" % (
                     r.pid, outside) + what])
    r.check_running("a refused dump")
    if proc_state(outside) not in ("S", "R"):
        raise Failure("the outside process %d is in state %s" % (outside, proc_state(outside)))
    r.finish("a refused dump")


def bad_dump_pty_outside_slave(b):
    """The tree holds a pty master, a process outside holds its slave."""
    pty_outside(b, "slave", r".*slave")


def bad_dump_pty_outside_master(b):
    """The tree holds a pty master, a process outside holds it too (the same
    open file description, inherited): found by the file, not the index,
    which ptys of other devpts instances share."""
    pty_outside(b, "master", r".*master")


def bad_dump_pty_outside_ctty(b):
    """The tree holds a pty master whose slave is the controlling terminal
    of a process outside it."""
    pty_outside(b, "ctty", "")


def img_pty_other_devpts(b):
    """While static/pty_pair (host devpts) is dumped, a process outside
    holds a master of the same index in a devpts instance of its own (as
    a container would): not the tree's pty, so the dump goes on, and the
    restored test passes."""
    r = b.target("static/pty_pair")
    index = None
    for fd in os.listdir("/proc/%d/fdinfo" % r.pid):
        with open("/proc/%d/fdinfo/%s" % (r.pid, fd)) as f:
            m = re.search(r"tty-index:\s*(\d+)", f.read())
        index = int(m.group(1)) if m else index
    if index is None:
        raise Failure("setup: static/pty_pair holds no pty master")
    pts, ready = os.path.join(b.dir, "pts"), os.path.join(b.dir, "ready")
    os.makedirs(pts)
    hold = ("import os, time\n"
            "fds = [os.open('%s/ptmx', os.O_RDWR | os.O_NOCTTY) for _ in range(%d)]\n"
            "open('%s', 'w').close()\n"
            "time.sleep(120)\n" % (pts, index + 1, ready))
    pid = spawn(["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                 "mount -t devpts -o newinstance,ptmxmode=0666 devpts %s && exec python3 -c "
                 "\"$0\"" % pts, hold], stdout="/dev/null", stderr="/dev/null")
    b.cleanups.append(lambda: kill(pid))
    if not wait_until(lambda: os.path.exists(ready), 10):
        raise Failure("setup: the process holding ptys in its own devpts did not start")
    r.dump()
    r.wait_gone("dump")
    r.restore()
    r.finish()


# Damaged images.

def bad_restore_trunc_tty_data(b):
    restore_damaged(b, r"tty-data\.img", truncate_half, ["truncated"], test="static/pty_pair")


def bad_restore_corrupt_tty_data(b):
    restore_damaged(b, r"tty-data\.img", flip_middle, ["corrupted"], test="static/pty_pair")


def bad_restore_trunc_fifo_data(b):
    restore_damaged(b, r"fifo-data\.img", truncate_half, ["truncated"], test="static/fifo")


def bad_restore_corrupt_fifo_data(b):
    restore_damaged(b, r"fifo-data\.img", flip_middle, ["corrupted"], test="static/fifo")


def bad_restore_tty_data_index(b):
    """tty-data.img holds the bytes of a pty files.img has no master of."""
    r = b.image("static/pty_pair")
    edit_records(os.path.join(r.img, "tty-data.img"),
                 lambda i, p: build([[1, 0, 4000] if f[0] == 1 else f for f in parse(p)]))
    restore_fails(b, r, [r"tty-data\.img: pty 4000 has no master"])


def bad_restore_pty_no_master(b):
    """The master of a pty became a slave: its slaves have no master."""
    def slave(sub):
        for f in sub:
            if f[0] == 2:
                f[2] = 0
    edited_files_img(b, "static/pty_pair", 15, slave, [r"pty \d+ has no master"])


def bad_restore_pty_no_state(b):
    """A pty master entry without its pty_info."""
    def drop_info(sub):
        sub[:] = [f for f in sub if f[0] != 4]
    edited_files_img(b, "static/pty_pair", 15, drop_info, ["without its pty state"])


def bad_restore_pty_termios(b):
    """A pty's termios with more control characters than a termios has."""
    def long_cc(sub):
        for f in sub:
            if f[0] == 4:
                info = parse(f[2])
                for g in info:
                    if g[0] == 1:
                        tio = parse(g[2])
                        for h in tio:
                            if h[0] == 6:
                                h[2] = bytes(200)
                        g[2] = build(tio)
                f[2] = build(info)
    edited_files_img(b, "static/pty_pair", 15, long_cc, ["termios with 200 control"])


def bad_restore_fifo_id(b):
    """A FIFO entry naming a FIFO (fifo_id) that no entry describes."""
    def other_fifo(sub):
        for f in sub:
            if f[0] == 1:
                f[2] = 999
    edited_files_img(b, "static/fifo", 14, other_fifo, [r"fifo 999, which no fifo entry"])


# Restores that must work.

def img_pty_index_taken(b):
    """The pty's index is taken when the images are restored: restore gives
    it another one, says so, and every end of it agrees (pty_pair checks)."""
    r = b.image("static/pty_pair")
    index = next(e["pty"]["index"] for e in snap_show(b, os.path.join(r.img, "files.img"))
                 if "pty" in e)
    held = []
    try:
        # /dev/ptmx hands out the lowest free index: take them up to the pty's.
        for _ in range(index + 1):
            fd = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY)
            held.append(fd)
            n = struct.unpack("I", fcntl.ioctl(fd, TIOCGPTN, b"\0" * 4))[0]
            if n >= index:
                break
        r.restore()
        with open(os.path.join(r.img, "restore.log")) as f:
            log = f.read()
        if not re.search(r"pty /dev/pts/%d is in use: restored as /dev/pts/\d+" % index, log):
            raise Failure("restore did not say the pty got another index", r.log("restore"))
        r.finish()
    finally:
        for fd in held:
            os.close(fd)
