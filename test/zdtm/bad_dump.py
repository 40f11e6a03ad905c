"""Bad-input tests on the dump side: targets snap must refuse, and dumps that
cannot finish; and CRIU's options for how a tree ends up (-s/--leave-stopped,
-S/--restore-sibling). Each one takes a bad.BadRun and raises
outcome.Failure or outcome.Skip; bad.BAD lists them."""

import os
import re
import shutil
import signal

import bad_rpc
from outcome import Failure, Skip
from proc import (PYTHON, describe, exit_code, kill, kill_tree, proc_state, spawn, spawn_wait,
                  wait_exit, wait_until)
import rpc
from snap import Snap, last_line, snap_failed


def bad_dump_nopid(b):
    pid = spawn(["/bin/true"])
    wait_exit(pid, 5)
    if proc_state(pid) is not None:
        raise Skip("pid %d was reused at once" % pid)
    img = os.path.join(b.dir, "img")
    os.mkdir(img)
    b.snap_fails(["dump", "-t", str(pid), "-D", img], [r"\b%d\b" % pid])


def bad_dump_kthread(b):
    pid = 2
    try:
        with open("/proc/2/comm") as f:
            if f.read().strip() != "kthreadd":
                raise Skip("pid 2 is not kthreadd")
    except FileNotFoundError:
        raise Skip("no pid 2 (in a pid namespace?)")
    img = os.path.join(b.dir, "img")
    os.mkdir(img)
    b.snap_fails(["dump", "-t", str(pid), "-D", img], [r"\b2\b", "kthread", "kernel"])
    if proc_state(pid) in ("T", "t"):
        raise Failure("kthreadd left stopped")


def bad_dump_root_removed(b):
    """A process chrooted into a directory removed since: the dump is refused
    naming the pid and its root, and the process runs on, unstopped."""
    root = os.path.join(b.dir, "root")
    os.mkdir(root)
    shutil.copy("/bin/busybox", os.path.join(root, "busybox"))
    pid = spawn(["/usr/sbin/chroot", root, "/busybox", "sleep", "1000"])
    b.cleanups.append(lambda: kill_tree(pid))
    if not wait_until(lambda: os.path.exists("/proc/%d/root/busybox" % pid) and
                      os.readlink("/proc/%d/exe" % pid).endswith("/busybox"), 5):
        raise Failure("setup: the chrooted busybox did not start")
    os.unlink(os.path.join(root, "busybox"))
    os.rmdir(root)
    img = os.path.join(b.dir, "img")
    os.mkdir(img)
    b.snap_fails(["dump", "-t", str(pid), "-D", img],
                 [r"pid %d root \(%s\): the directory was removed" % (pid, re.escape(root))])
    if proc_state(pid) not in ("S", "R"):
        raise Failure("pid %d is in state %s after the refused dump" % (pid, proc_state(pid)))


def small_tmpfs(b, size):
    """A tmpfs of @size for images that do not fit, unmounted by the cleanup."""
    mnt = os.path.join(b.dir, "small")
    os.mkdir(mnt)
    if spawn_wait(["/bin/mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mnt]) != 0:
        raise Skip("cannot mount a tmpfs")
    b.mounts.append(mnt)
    return mnt


def bad_dump_enospc(b):
    mnt = small_tmpfs(b, "128k")
    r = b.target()
    b.snap_fails(["dump", "-t", str(r.pid), "-D", mnt], [r"(?i)no space", "ENOSPC",
                                                         re.escape(mnt)])
    r.check_running("a failed dump")
    r.finish("a failed dump")


def bad_dump_link_remap(b):
    """static/file_link_remap holds a file unlinked with another link left:
    without --link-remap the dump is refused naming the fd and the option;
    with it, a dump that then fails (its post-dump hook does) removes the link
    it made.
    The task runs on both times."""
    r = b.target("static/file_link_remap")
    d = r.outfile + ".link_remap.d"
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img],
                 [r"pid %d fd \d+: .*/old \(deleted\) was unlinked but has other hard links; "
                  r"--link-remap" % r.pid])
    r.check_running("a refused dump")
    hook = os.path.join(b.dir, "fail-post-dump")
    with open(hook, "w") as f:
        f.write('#!/bin/sh\n[ "$CRTOOLS_SCRIPT_ACTION" = post-dump ] && exit 1\nexit 0\n')
    os.chmod(hook, 0o755)
    log = os.path.join(b.dir, "link-remap.log")
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "--link-remap", "--action-script",
                  hook, "-v", "4", "-o", log], [r"post-dump"])
    r.check_running("a failed dump")
    with open(log) as f:
        if "linked back as" not in f.read():
            raise Failure("setup: the dump failed before it linked the file back", log)
    left = [f for f in os.listdir(d) if f.startswith(".snap-link-remap")]
    if left:
        raise Failure("the failed dump left %s in %s" % (left, d))


def bad_dump_enospc_spliced(b):
    """The disk fills while the stop-the-world dump splices pages from the
    parasite's pipes (mem_splice's 48 MiB into 8 MiB): one line naming the
    pages image, and the task runs on with its memory intact."""
    mnt = small_tmpfs(b, "8m")
    r = b.target("static/mem_splice")
    err = b.snap_fails(["dump", "-t", str(r.pid), "-D", mnt], [r"pages-\d+\.img"])
    if not re.search(r"(?i)no space", err):
        raise Failure("the error does not say the disk is full: %s" % last_line(err),
                      os.path.join(b.dir, "snap.err"))
    r.check_running("a failed dump")
    r.finish("a failed dump")


def bad_dump_seccomp_nocap(b):
    """A task under seccomp needs CAP_SYS_ADMIN to be dumped: without it, one clear error."""
    capsh = shutil.which("capsh")
    if not capsh:
        raise Skip("no capsh")
    r = b.target("static/seccomp_filter")
    wrapper = os.path.join(b.dir, "snap-nocap")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec %s --drop=cap_sys_admin -- -c \'exec "$@"\' sh %s "$@"\n' %
                (capsh, b.snap.path))
    os.chmod(wrapper, 0o755)
    nocap = Snap(wrapper)
    status, err = nocap.run(["dump", "-t", str(r.pid), "-D", os.path.join(b.dir, "img")],
                            b.dir, "snap")
    if exit_code(status) != 1 or "CAP_SYS_ADMIN" not in err or len(err.strip().splitlines()) != 1:
        raise Failure("dump without CAP_SYS_ADMIN: %s: %s" % (describe(status), last_line(err)),
                      os.path.join(b.dir, "snap.err"))
    r.check_running("a refused dump")
    r.finish("a refused dump")


# A tree a restore could not rebuild: the middle process left the session
# after its child was born there, so the child's session is neither its own
# nor its parent's. Prints the three pids, then sleeps.
LOST_SESSION = """
import os, sys, time
if os.getsid(0) != os.getpid():
    os.setsid()
r, w = os.pipe()
if os.fork() == 0:
    c = os.fork()
    if c == 0:
        time.sleep(600)
        os._exit(0)
    os.setsid()
    os.write(w, ("%d %d %d\\n" % (os.getppid(), os.getpid(), c)).encode())
    time.sleep(600)
    os._exit(0)
print(os.read(r, 100).decode(), flush=True)
time.sleep(600)
"""


def bad_dump_lost_session(b):
    """snap refuses, by pid, a tree whose sessions a restore could not
    rebuild, and leaves every process of it running."""
    out = os.path.join(b.dir, "tree.out")
    spawn([PYTHON, "-c", LOST_SESSION], stdout=out)
    if not wait_until(lambda: os.path.exists(out) and open(out).read().strip(), 10):
        raise Failure("setup: the tree did not start")
    root, mid, child = (int(x) for x in open(out).read().split())
    try:
        img = os.path.join(b.dir, "img")
        os.mkdir(img)
        b.snap_fails(["dump", "-t", str(root), "-D", img], [r"\b%d\b.*session" % child])
        for pid in (root, mid, child):
            if proc_state(pid) not in ("S", "R"):
                raise Failure("pid %d is in state %s after the refused dump" % (
                    pid, proc_state(pid)))
    finally:
        kill_tree(root)


def refused_ns(b, args, ready, mention):
    """`unshare ARGS sleep 60` once ready(pid) holds is refused by pid, naming
    @mention; it runs on."""
    unshare = shutil.which("unshare")
    if not unshare:
        raise Failure("setup: no unshare(1) (util-linux)")
    pid = spawn([unshare] + args + ["sleep", "60"])
    try:
        if not wait_until(lambda: ready(pid), 5):
            raise Failure("setup: unshare %s did not make its namespace" % " ".join(args))
        img = os.path.join(b.dir, "img")
        os.mkdir(img)
        b.snap_fails(["dump", "-t", str(pid), "-D", img], [r"\b%d\b.*%s" % (pid, mention)])
        if proc_state(pid) not in ("S", "R"):
            raise Failure("pid %d is in state %s after the refused dump" % (pid, proc_state(pid)))
    finally:
        kill(pid)


def bad_dump_other_ns(b):
    """A process in another user namespace than snap is refused by pid: snap
    restores no user namespaces yet. It runs on."""
    refused_ns(b, ["-U"], lambda pid: os.readlink("/proc/%d/ns/user" % pid) !=
               os.readlink("/proc/self/ns/user"), "user namespace")


def bad_dump_child_other_ns(b):
    """A tree whose child lives in another uts namespace than the tree's root
    is refused, naming the child: restore gives a tree one set of
    namespaces, its root's. The tree runs on."""
    unshare = shutil.which("unshare")
    root = spawn(["/bin/sh", "-c", "%s -u sleep 60 & wait" % unshare])
    try:
        def child():
            for c in open("/proc/%d/task/%d/children" % (root, root)).read().split():
                c = int(c)
                if os.readlink("/proc/%d/ns/uts" % c) != os.readlink("/proc/self/ns/uts"):
                    return c
            return None
        if not wait_until(lambda: child() is not None, 5):
            raise Failure("setup: unshare -u did not make its namespace")
        pid = child()
        img = os.path.join(b.dir, "img")
        os.mkdir(img)
        b.snap_fails(["dump", "-t", str(root), "-D", img],
                     [r"\b%d\b.*another uts namespace than its tree's root, pid %d" % (pid, root)])
        for p in (root, pid):
            if proc_state(p) not in ("S", "R"):
                raise Failure("pid %d is in state %s after the refused dump" % (p, proc_state(p)))
    finally:
        kill_tree(root)


def bad_dump_pending_pidns(b):
    """A process that made a pid namespace for its children (unshare -p, no
    fork yet: /proc/PID/ns/pid_for_children shows nothing) is refused by pid:
    its next child would come back in snap's pid namespace. It runs on."""
    def pending(pid):
        try:
            return os.readlink("/proc/%d/exe" % pid).endswith("sleep") and \
                not os.path.exists("/proc/%d/ns/pid_for_children" % pid) or \
                os.readlink("/proc/%d/ns/pid_for_children" % pid) != \
                os.readlink("/proc/self/ns/pid_for_children")
        except OSError:
            return False
    refused_ns(b, ["-p"], pending, "new pid namespace for its children")



# struct sched_attr (SCHED_ATTR_SIZE_VER0): size, policy, flags, nice, priority, runtime,
# deadline, period.
SCHED_DEADLINE = 6


def set_sched_deadline(pid, on):
    import ctypes
    import struct
    libc = ctypes.CDLL(None, use_errno=True)
    ms = 1000 * 1000
    attr = struct.pack("IIQiIQQQ", 48, SCHED_DEADLINE if on else 0, 0, 0, 0,
                       10 * ms if on else 0, 30 * ms if on else 0, 30 * ms if on else 0)
    buf = ctypes.create_string_buffer(attr, len(attr))
    if libc.syscall(314, pid, buf, 0) != 0:  # __NR_sched_setattr
        return os.strerror(ctypes.get_errno())
    return None


def bad_dump_sched_deadline(b):
    """A thread under SCHED_DEADLINE is refused by name, and the task runs on."""
    r = b.target()
    err = set_sched_deadline(r.pid, True)
    if err:
        r.finish("no SCHED_DEADLINE")
        raise Skip("cannot set SCHED_DEADLINE here: %s" % err)
    img = os.path.join(b.dir, "img")
    os.mkdir(img)
    try:
        b.snap_fails(["dump", "-t", str(r.pid), "-D", img], [r"\b%d\b.*SCHED_DEADLINE" % r.pid])
        r.check_running("a refused dump")
    finally:
        set_sched_deadline(r.pid, False)
    r.finish("a refused dump")


def child_of(pid, parent):
    try:
        return bad_rpc.ppid_of(pid) == parent
    except OSError:
        return False


def tree_threads(root):
    """{tid: state letter} of every thread of @root and of its children."""
    pids = [root] + [int(d) for d in os.listdir("/proc") if d.isdigit() and
                     child_of(int(d), root)]
    states = {}
    for pid in pids:
        for tid in os.listdir("/proc/%d/task" % pid):
            states[int(tid)] = proc_state(int(tid))
    return states


def expect_stopped(root, after, log):
    states = tree_threads(root)
    if len(states) < 2 or any(s != "T" for s in states.values()):
        raise Failure("after %s the tree's threads are %s, expected all stopped (T)" % (
            after, states), log)
    for tid in states:
        kill(tid, signal.SIGCONT)


def dump_leave_stopped(b):
    """-s/--leave-stopped, CRIU's: a dump with it leaves the tree (a parent
    and its child) stopped, every thread in a group stop when snap returns,
    and it runs on after SIGCONT; so does leave_stopped over RPC. A restore
    with -s leaves the restored tree stopped; SIGCONT, and it passes. -R
    with -s is refused by name. (The restore, run from another directory,
    also checks that a relative -o lands in the images directory.)"""
    r = b.target("static/mem_wipeonfork_tree")
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "-R", "-s"],
                 [r"--leave-running and --leave-stopped"])
    r.check_running("a refused dump")
    status, err = b.snap.run(["dump", "-t", str(r.pid), "-D", r.img, "-o", "dump.log", "-v",
                              "4", "-s"], r.img, "dump")
    if status != 0:
        raise Failure(snap_failed("dump -s", status, err), r.log("dump"))
    expect_stopped(r.pid, "dump -s", r.log("dump"))
    r.check_running("dump -s and SIGCONT")
    img = os.open(r.img, os.O_RDONLY | os.O_DIRECTORY)
    try:
        resp, status, _ = bad_rpc.call(b, rpc.request(rpc.DUMP, dict(
            images_dir_fd=img, pid=r.pid, leave_stopped=True, log_file="rpc-dump.log",
            log_level=4)))
    finally:
        os.close(img)
    if not resp.success or exit_code(status) != 0:
        raise Failure("RPC dump with leave_stopped failed: %s" % resp.errmsg,
                      os.path.join(r.img, "rpc-dump.log"))
    expect_stopped(r.pid, "an RPC dump with leave_stopped", os.path.join(r.img, "rpc-dump.log"))
    r.check_running("leave_stopped and SIGCONT")
    r.finish("dump -s, leave_stopped and SIGCONT (the original tree)")
    r.clear_result()
    # Run from elsewhere: a relative -o goes in the images directory, as CRIU has it.
    status, err = b.snap.run(["restore", "-D", r.img, "-d", "-s", "-o", "restore.log", "-v",
                              "4"], b.dir, "restore")
    if status != 0:
        raise Failure(snap_failed("restore -s", status, err), r.log("restore"))
    if not os.path.exists(os.path.join(r.img, "restore.log")):
        raise Failure("-o restore.log, run from %s, is not in the images directory" % b.dir)
    expect_stopped(r.pid, "restore -s", r.log("restore"))
    r.finish("restore -s and SIGCONT")


def restore_sibling_cli(b):
    """-S/--restore-sibling on the command line, as RPC's rst_sibling: the
    restored root is a child of snap's parent (this runner), and snap
    returns once it runs, without -d."""
    r = b.image("static/mem_heap")
    status, err = b.snap.run(["restore", "-D", r.img, "-S", "-o", "restore.log", "-v", "4"],
                             r.img, "restore")
    if status != 0:
        raise Failure(snap_failed("restore -S", status, err), r.log("restore"))
    ppid = bad_rpc.ppid_of(r.pid)
    if ppid != os.getpid():
        raise Failure("the restored pid %d is the child of %d, not of snap's parent %d" % (
            r.pid, ppid, os.getpid()), r.log("restore"))
    r.finish("restore -S")
