"""Restore onto what the caller hands over (CRIU's options, as runc uses
them): --inherit-fd fd[N]:KEY takes a file of the image from snap's fd N
(runc: the container's stdio pipes), on the command line and over RPC;
--evasive-devices reopens a device file whose path is gone through another
node of the same device."""

import os
import time

import rpc
from outcome import Failure
from proc import (alive, descendants, describe, exit_code, kill, spawn, wait_exit, wait_gone,
                  wait_until)

COUNT = "i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done"


def counter_on_pipe(b):
    """A shell counting onto a pipe we read: (pid, our read end, pipe inode)."""
    r, w = os.pipe()
    pid = spawn(["/bin/sh", "-c", COUNT], stdout=w, stderr="/dev/null")
    os.close(w)
    b.cleanups.append(lambda: kill(pid))
    b.cleanups.append(lambda: os.close(r))
    return pid, r, os.fstat(r).st_ino


def read_counts(fd, what, timeout=5):
    """The numbers written on @fd within @timeout (at least one)."""
    os.set_blocking(fd, False)
    data = b""
    end = time.time() + timeout
    while time.time() < end and data.count(b"\n") < 3:
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            time.sleep(0.05)
            continue
        if not chunk:
            break
        data += chunk
    nums = [int(x) for x in data.split()]
    if not nums:
        raise Failure("%s: nothing came through the pipe" % what)
    return nums


def dump_counter(b):
    pid, r, ino = counter_on_pipe(b)
    last = read_counts(r, "before the dump")[-1]
    img = os.path.join(b.dir, "img")
    status, err = b.snap.run(["dump", "-t", str(pid), "-D", img, "-o", "dump.log", "-v4"],
                             b.dir, "dump")
    if status != 0:
        raise Failure("dump failed: %s" % err.strip(), os.path.join(b.dir, "dump.log"))
    wait_gone(pid)
    return pid, r, ino, img, last


def check_carried_on(got, before, what):
    if got[0] <= before or got[0] > before + 20:
        raise Failure("%s: the counter read %s on the new pipe, it stood at %d before the "
                      "dump" % (what, got[:3], before))


def img_inherit_fd_pipe(b):
    """The counter's stdout pipe (its other end was ours) is given back as a
    new pipe through --inherit-fd: the counter goes on writing into it."""
    pid, r, ino, img, last = dump_counter(b)
    nr, nw = os.pipe()
    b.cleanups.append(lambda: os.close(nr))
    # As runc does: the pipe is snap's stdin (fd 0), named so.
    errf = os.path.join(b.dir, "restore.err")
    spid = spawn([b.snap.path, "restore", "-d", "-D", img, "-o", "restore.log", "-v4",
                  "--inherit-fd", "fd[0]:pipe:[%d]" % ino], stdin=nw, stdout=errf, cwd=b.dir)
    os.close(nw)
    status = wait_exit(spid, 30)
    with open(errf) as f:
        err = f.read()
    b.cleanups.append(lambda: kill(pid))
    if status != 0:
        raise Failure("restore --inherit-fd failed: %s" % err.strip(),
                      os.path.join(b.dir, "restore.log"))
    check_carried_on(read_counts(nr, "after the restore"), last, "--inherit-fd")
    if os.readlink("/proc/%d/fd/1" % pid) != "pipe:[%d]" % os.fstat(nr).st_ino:
        raise Failure("the restored stdout is %s, not the pipe handed over" %
                      os.readlink("/proc/%d/fd/1" % pid))


def img_inherit_fd_rpc(b):
    """The same over RPC: inherit_fd {key, fd} with the pipe at snap's fd 5."""
    pid, r, ino, img, last = dump_counter(b)
    nr, nw = os.pipe()
    b.cleanups.append(lambda: os.close(nr))
    dfd = os.open(img, os.O_RDONLY | os.O_DIRECTORY)
    try:
        s = rpc.Swrk(b.snap.path, b.dir, fds={5: nw})
        resp, status, _ = s.call(rpc.request(rpc.RESTORE, dict(
            images_dir_fd=dfd, log_file="restore.log", log_level=4,
            inherit_fd=[("pipe:[%d]" % ino, 5)])))
    finally:
        os.close(dfd)
        os.close(nw)
    b.cleanups.append(lambda: kill(pid))
    if resp is None or not resp.success or exit_code(status) != 0:
        raise Failure("RPC restore with inherit_fd: %r (%s)" % (resp, describe(status)),
                      os.path.join(img, "restore.log"))
    check_carried_on(read_counts(nr, "after the RPC restore"), last, "inherit_fd")


def bad_inherit_fd_syntax(b):
    for arg in ("5:pipe:[1]", "fd[x]:pipe:[1]", "fd[5]", "fd[5]:", "fd[-1]:a"):
        b.snap_fails(["restore", "-D", b.dir, "--inherit-fd", arg], ["fd\\[N\\]:KEY"])


def bad_inherit_fd_closed(b):
    """An fd snap was not given: one line naming it, nothing made."""
    pid, r, ino, img, last = dump_counter(b)
    b.snap_fails(["restore", "-D", img, "--inherit-fd", "fd[57]:pipe:[%d]" % ino],
                 ["fd 57 is not open"])
    if alive(pid):
        raise Failure("pid %d runs after a restore refused for its --inherit-fd" % pid)


def img_evasive_devices(b):
    """The device node the task held is gone: restore fails naming it, and with
    --evasive-devices reopens the device through /dev."""
    node = os.path.join(b.dir, "mynull")
    os.mknod(node, 0o666 | 0o020000, os.makedev(1, 3))
    pid = spawn(["/bin/sh", "-c", "exec 5>%s; while :; do sleep 0.1; done" % node])
    b.cleanups.append(lambda: kill(pid))
    if not wait_until(lambda: os.path.exists("/proc/%d/fd/5" % pid), 5):
        raise Failure("the shell did not open %s" % node)
    img = os.path.join(b.dir, "img")
    status, err = b.snap.run(["dump", "-t", str(pid), "-D", img], b.dir, "dump")
    if status != 0:
        raise Failure("dump failed: %s" % err.strip())
    wait_gone(pid)
    os.unlink(node)
    b.snap_fails(["restore", "-d", "-D", img], [node])
    status, err = b.snap.run(["restore", "-d", "-D", img, "--evasive-devices"], b.dir,
                             "restore")
    if status != 0:
        raise Failure("restore --evasive-devices failed: %s" % err.strip())
    st = os.stat("/proc/%d/fd/5" % pid)
    if st.st_rdev != os.makedev(1, 3):
        raise Failure("fd 5 is device %d:%d after --evasive-devices, not 1:3" % (
            os.major(st.st_rdev), os.minor(st.st_rdev)))


def orphan_dump(b):
    """A counter whose stdout is a pty slave, its master ours (a container's
    console), dumped over RPC with orphan_pts_master (a plain dump refused):
    (images dir, an O_DIRECTORY fd of it, our master, the last count read)."""
    master, slave = os.openpty()
    pid = spawn(["/bin/sh", "-c", COUNT], stdout=slave, stderr="/dev/null")
    os.close(slave)
    b.cleanups.append(lambda: kill(pid))
    b.cleanups.append(lambda: os.close(master))
    last = read_counts(master, "before the dump")[-1]
    img = os.path.join(b.dir, "img")
    os.makedirs(img)
    dfd = os.open(img, os.O_RDONLY | os.O_DIRECTORY)
    b.cleanups.append(lambda: os.close(dfd))
    # Not snap_fails(): the counter's sleeps come and go meanwhile.
    status, err = b.snap.run(["dump", "-t", str(pid), "-D", img], b.dir, "dump-plain")
    if exit_code(status) != 1 or "--orphan-pts-master" not in err:
        raise Failure("a dump of a pty slave without --orphan-pts-master %s: %r" % (
            describe(status), err.strip()))
    resp, status, _ = rpc.Swrk(b.snap.path, b.dir).call(rpc.request(rpc.DUMP, dict(
        images_dir_fd=dfd, pid=pid, orphan_pts_master=True, log_file="dump.log",
        log_level=4)))
    if resp is None or not resp.success:
        raise Failure("RPC dump with orphan_pts_master: %r" % resp,
                      os.path.join(img, "dump.log"))
    wait_gone(pid)
    last = max([last] + [int(x) for x in drain(master).split()])
    return img, dfd, master, last


def img_orphan_pts_master(b):
    """The counter of orphan_dump() restored over RPC with orphan_pts_master:
    snap sends a new pty's master with the orphan-pts-master notification,
    and the counter goes on writing into that pty."""
    img, dfd, master, last = orphan_dump(b)
    b.snap_fails(["restore", "-D", img, "--orphan-pts-master"], ["RPC"])
    s = rpc.Swrk(b.snap.path, b.dir)
    resp, status, notified = s.call(rpc.request(rpc.RESTORE, dict(
        images_dir_fd=dfd, orphan_pts_master=True, log_file="restore.log", log_level=4)))
    if resp is None or not resp.success or exit_code(status) != 0:
        raise Failure("RPC restore with orphan_pts_master: %r (%s)" % (resp, describe(status)),
                      os.path.join(img, "restore.log"))
    if [n for n, _ in notified] != ["orphan-pts-master"] or len(s.received) != 1:
        raise Failure("restore notified %s with %d fds, expected orphan-pts-master with one"
                      % (notified, len(s.received)))
    new = s.received[0]
    b.cleanups.append(lambda: os.close(new))
    check_carried_on(read_counts(new, "after the restore"), last, "orphan-pts-master")


def bad_orphan_pts_ctty(b):
    """The console of orphan_dump() edited to be the controlling terminal of
    session 999, which no task leads: the RPC restore fails with one line
    naming the console and the session, sends no master, leaves nothing."""
    from bad_ns import edit_records
    from bad_tty import edit_part

    img, dfd, master, last = orphan_dump(b)
    edit_records(os.path.join(img, "files.img"),
                 lambda i, p: edit_part(p, 5, lambda sub: sub.append([4, 0, 999])))
    before = descendants()
    s = rpc.Swrk(b.snap.path, b.dir)
    resp, status, notified = s.call(rpc.request(rpc.RESTORE, dict(
        images_dir_fd=dfd, orphan_pts_master=True, log_file="restore.log", log_level=4)))
    log = os.path.join(img, "restore.log")
    if resp is None or resp.success:
        raise Failure("an RPC restore of a console of session 999 did not fail: %r" % resp, log)
    msg = resp.errmsg or ""
    if "console" not in msg or "session 999" not in msg or "\n" in msg.strip():
        raise Failure("expected one error line naming the console and session 999, got %r"
                      % msg, log)
    if notified or s.received:
        raise Failure("the failed restore notified %s with %d fds" % (notified, len(s.received)),
                      log)
    left = descendants() - before
    if left:
        raise Failure("processes left behind by the failed restore: %s" % sorted(left), log)


def drain(fd):
    os.set_blocking(fd, False)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except (BlockingIOError, OSError):
            return out
        if not chunk:
            return out
        out += chunk
