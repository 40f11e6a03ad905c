"""Bad-input tests of live dumps: the disk fills, the target dies, snap is
killed while it streams or while its parasite runs, its holder is killed,
few open files allowed.
Each one takes a bad.BadRun and raises outcome.Failure or outcome.Skip;
bad.BAD lists them."""

import os
import re
import time

from bad_anon import REFUSED_FD
from modes import MODES
from outcome import Failure, Skip
from proc import (describe, descendants, exit_code, kill, proc_state, spawn, spawn_wait,
                  wait_exit, wait_until)
from snap import SNAP_TIMEOUT, last_line
import tests


def live_ring():
    """The ring writer, 256 MiB (static/live_ring)."""
    return tests.find("static/live_ring")


def live_ring_512():
    """The ring writer with 512 MiB, no stats to meet."""
    # Filling 512 MiB takes seconds on a loaded machine: more than the default wait.
    return tests.find("static/live_ring").but(args=("512",), stats=(), start_timeout=60)


def live_ring_procs():
    """The ring shared by three processes (static/live_ring_procs)."""
    return tests.find("static/live_ring_procs")


def require_live(snap):
    if snap.live_missing():
        raise Skip(snap.live_missing())


def bad_live_shm_enospc(b):
    """The disk fills while a live dump streams shared memory (the processes run
    again by then): one error naming the object's image, and the tree runs on,
    its writers unharmed, no write left waiting on protection."""
    require_live(b.snap)
    mnt = os.path.join(b.dir, "small")
    os.mkdir(mnt)
    if spawn_wait(["/bin/mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt]) != 0:
        raise Skip("cannot mount a tmpfs")
    b.mounts.append(mnt)
    r = b.target(live_ring_procs())
    b.snap_fails(["dump", "-t", str(r.pid), "-D", mnt, "--leave-running"],
                 [r"shared memory .*writing its pages to the image: No space left on device"])
    r.check_running("a live dump that ran out of disk")
    time.sleep(0.2)  # the ring writers check every page they write
    r.check_running("a live dump that ran out of disk")
    r.finish("a live dump that ran out of disk")


def bad_live_target_exits(b):
    """SIGKILL the target of a live dump at various points: the dump succeeds (and
    its image restores) or fails with exit 1 and a line naming the pid; it never
    hangs or crashes, and leaves nothing behind."""
    require_live(b.snap)
    for i, ms in enumerate((20, 50, 100, 200, 400)):
        r = b.target(live_ring(), "target%d" % i)
        before = descendants() - {r.pid}
        args = ["dump", "-t", str(r.pid), "-D", r.img, "-o", "dump.log", "-v", "4",
                "--leave-running"]
        what = "`snap %s` with its target SIGKILLed after %d ms" % (" ".join(args), ms)
        pid = b.snap.start(args, r.img, "dump")
        time.sleep(ms / 1000)
        kill(r.pid)
        status, err, _ = b.snap.wait(pid, r.img, "dump", 30)
        errfile = os.path.join(r.img, "dump.err")
        if status is None:
            raise Failure("%s hung" % what, r.log("dump"))
        if os.WIFSIGNALED(status):
            raise Failure("%s %s" % (what, describe(status)), r.log("dump"))
        r.wait_gone("SIGKILL")
        if exit_code(status) == 0:
            # Done before the target died: the image must be whole.
            r.restore()
            r.finish("a dump that finished before its target was killed")
        elif exit_code(status) == 1:
            lines = err.strip().splitlines()
            if not 1 <= len(lines) <= 2:
                raise Failure("%s printed %d lines on stderr, expected 1-2" % (
                    what, len(lines)), errfile)
            if not re.search(r"\b%d\b" % r.pid, err):
                raise Failure("%s: the error does not name pid %d: %s" % (
                    what, r.pid, last_line(err)), errfile)
        else:
            raise Failure("%s %s, expected exit 0 or 1" % (what, describe(status)), errfile)
        if not wait_until(lambda: not descendants() - before, 5):
            raise Failure("%s: processes left behind: %s" % (
                what, sorted(descendants() - before)), r.log("dump"))


def tracer_pid(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def bad_live_kill_snap(b):
    """SIGKILL snap while it streams a live dump (after the freeze: the target is
    running again, no longer traced): the target runs on unharmed, is not left
    stopped, and a later live dump of it works and restores."""
    require_live(b.snap)
    r = b.target(live_ring_512())
    for i, ms in enumerate((0, 10, 30, 60, 120)):
        img = os.path.join(b.dir, "killed%d" % i)
        os.mkdir(img)
        what = "snap was SIGKILLed %d ms into streaming a live dump" % ms
        pid = b.snap.start(["dump", "-t", str(r.pid), "-D", img, "-o", "dump.log", "-v", "4",
                            "--leave-running"], img, "dump")
        # Streaming starts when snap lets go of the target.
        wait_until(lambda: tracer_pid(r.pid) == pid, 10, 0.0005)
        wait_until(lambda: tracer_pid(r.pid) != pid, 10, 0.0005)
        time.sleep(ms / 1000)
        kill(pid)
        if wait_exit(pid, 10) is None:
            raise Failure("snap did not die within 10 s of SIGKILL")
        if not wait_until(lambda: proc_state(r.pid) not in ("T", "t"), 5):
            raise Failure("the target stays stopped after %s" % what,
                          os.path.join(img, "dump.log"))
        r.check_running(what)
        if not wait_until(lambda: not descendants() - {r.pid}, 5):
            raise Failure("processes left behind after %s: %s" % (
                what, sorted(descendants() - {r.pid})), os.path.join(img, "dump.log"))
        time.sleep(0.2)  # the ring writer checks every page it writes
        r.check_running(what)
    r.dump(MODES["live"])
    r.check_running("a live dump after 5 killed ones")
    r.finish("5 killed live dumps and a whole one (the original task)")
    r.clear_result()
    r.restore()
    r.finish()


def holders():
    """Pids of the snap-holder processes below the runner (a subreaper: the
    orphaned holders are its children)."""
    found = []
    for pid in descendants():
        try:
            with open("/proc/%d/comm" % pid) as f:
                if f.read().strip() == "snap-holder":
                    found.append(pid)
        except OSError:
            pass
    return found


def bad_live_holder_killed(b):
    """SIGKILL the holder process of a live dump while snap streams from it: the
    dump fails with one line naming the holder, the target runs on unharmed and
    not stopped, nothing is left behind, and a later live dump of it works and
    restores."""
    require_live(b.snap)
    r = b.target(live_ring_512())
    img = os.path.join(b.dir, "killed")
    os.mkdir(img)
    pid = b.snap.start(["dump", "-t", str(r.pid), "-D", img, "-o", "dump.log", "-v", "4",
                        "--leave-running"], img, "dump")
    if not wait_until(holders, 10, 0.0005):
        raise Failure("no snap-holder process appeared in 10 s", os.path.join(img, "dump.log"))
    holder = holders()[0]
    kill(holder)
    status, err, _ = b.snap.wait(pid, img, "dump", 30)
    errfile = os.path.join(img, "dump.err")
    if status is None:
        raise Failure("the dump hung after its holder was killed", errfile)
    if exit_code(status) != 1:
        raise Failure("the dump %s after its holder was killed, expected exit 1" %
                      describe(status), errfile)
    lines = err.strip().splitlines()
    # Killed as it was forked, its pid is gone before snap reads it.
    if len(lines) != 1 or not re.search(r"pid %d: its holder(, pid %d,)? died" % (r.pid, holder),
                                        err):
        raise Failure("expected one line naming pid %d and its holder %d, got: %s" % (
            r.pid, holder, err.strip()), errfile)
    if not wait_until(lambda: proc_state(r.pid) not in ("T", "t"), 5):
        raise Failure("the target stays stopped after its holder was killed", errfile)
    r.check_running("a live dump whose holder was killed")
    if not wait_until(lambda: not descendants() - {r.pid}, 5):
        raise Failure("processes left behind: %s" % sorted(descendants() - {r.pid}), errfile)
    time.sleep(0.2)  # the ring writer checks every page it writes
    r.check_running("a live dump whose holder was killed")
    r.dump(MODES["live"])
    r.check_running("a live dump after one whose holder was killed")
    r.finish("a killed holder, then a whole live dump (the original task)")
    r.clear_result()
    r.restore()
    r.finish()


def img_live_holder_pids_max(b):
    """The target at its cgroup's pids.max: no holder can be forked, so the live
    dump holds its pages in pipes (live: yes, live holders: 0) and says why in
    its log; the target runs on, and the image restores."""
    require_live(b.snap)
    hier = "/sys/fs/cgroup/pids"
    if not os.path.isdir(hier):
        raise Skip("needs the v1 pids controller at %s" % hier)
    cg = os.path.join(hier, "zdtm_holder_pids")
    os.mkdir(cg)
    try:
        r = b.target(live_ring().but(stats=(("live holders", "==", 0),)))
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(r.pid))
        with open(os.path.join(cg, "pids.current")) as f:
            current = f.read().strip()
        with open(os.path.join(cg, "pids.max"), "w") as f:
            f.write(current)
        r.dump(MODES["live"])
        with open(r.log("dump")) as f:
            if not re.search(r"pid %d: no holder \(Resource temporarily unavailable\)" % r.pid,
                             f.read()):
                raise Failure("the dump's log does not say why there was no holder",
                              r.log("dump"))
        r.check_running("a live dump at pids.max")
        r.finish("a live dump at pids.max (the original task)")
        r.clear_result()
        # The restored copy comes back in this cgroup: room for it.
        with open(os.path.join(cg, "pids.max"), "w") as f:
            f.write("max")
        r.restore()
        r.finish()
    finally:
        with open(os.path.join(hier, "cgroup.procs"), "a") as f:
            with open(os.path.join(cg, "cgroup.procs")) as g:
                for pid in g.read().split():
                    try:
                        f.write(pid)
                        f.flush()
                    except OSError:
                        pass
        for _ in range(300):
            try:
                os.rmdir(cg)
                break
            except OSError:
                time.sleep(0.01)


def parasite_areas(pid):
    """snap's parasite areas in @pid: shared anonymous rwx mappings."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            return [l.split()[0] for l in f if " rwxs " in l and "/dev/zero" in l]
    except OSError:
        return []


def bad_stale_parasite(b):
    """SIGKILL snap while its parasite runs in the target: the target runs on with the
    parasite's area left mapped, and the next dump removes it and succeeds."""
    require_live(b.snap)
    r = b.target(live_ring_512())
    for i in range(10):
        img = os.path.join(b.dir, "killed%d" % i)
        os.mkdir(img)
        pid = b.snap.start(["dump", "-t", str(r.pid), "-D", img, "--leave-running"],
                           img, "dump")
        # The area is mapped and the blob runs (the task is not in a ptrace stop).
        wait_until(lambda: parasite_areas(r.pid) and proc_state(r.pid) not in ("t", "T"),
                   10, 0.0002)
        kill(pid)
        wait_exit(pid, 10)
        wait_until(lambda: proc_state(r.pid) not in ("t", "T"), 5)
        r.check_running("snap was SIGKILLed with its parasite loaded")
        if parasite_areas(r.pid):
            break
    else:
        raise Failure("could not leave a parasite area behind in 10 tries")
    r.dump(MODES["live"])
    if parasite_areas(r.pid):
        raise Failure("the dump left %s mapped" % parasite_areas(r.pid), r.log("dump"))
    r.check_running("a dump that removed a stale parasite")
    r.finish("the dump that removed the stale parasite (the original task)")
    r.clear_result()
    r.restore()
    r.finish()


def bad_live_fd_refused(b):
    """A live dump of a process holding an fd snap refuses (an io_uring): the
    fds are read while the parasite forks the holder, so the dump fails there,
    with one line naming pid, fd and kind; the target runs on, not stopped,
    its fd untouched (it checks), and the holder is gone with nothing else
    left behind."""
    require_live(b.snap)
    r = b.target("static/anon_refused_io_uring")
    # snap waits for its holder to exit: none may be left when it has.
    err = b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "--leave-running"],
                       [r"pid %d fd %d: io_uring\b.*not supported" % (r.pid, REFUSED_FD)])
    errfile = os.path.join(b.dir, "snap.err")
    if len(err.strip().splitlines()) != 1:
        raise Failure("expected one line, got: %s" % err.strip(), errfile)
    if not wait_until(lambda: proc_state(r.pid) not in ("T", "t"), 5):
        raise Failure("the target stays stopped after the refused live dump", errfile)
    r.check_running("a refused live dump")
    r.finish("a refused live dump")


def bad_live_fd_limit(b):
    """A live dump of 512 MiB holds ~512 pipes: with a soft limit of 200 open files
    snap raises its own limit and the dump works."""
    require_live(b.snap)
    r = b.target(live_ring_512())
    img = os.path.join(b.dir, "img")
    os.mkdir(img)
    pid = spawn(["/bin/sh", "-c", 'ulimit -Sn 200 && exec "$0" "$@"', b.snap.path, "dump",
                 "-t", str(r.pid), "-D", img, "--leave-running", "--display-stats"],
                stdout=os.path.join(img, "dump.out"), stderr=os.path.join(img, "dump.err"))
    status = wait_exit(pid, SNAP_TIMEOUT)
    if exit_code(status) != 0:
        raise Failure("live dump under ulimit -Sn 200 %s" % describe(status),
                      os.path.join(img, "dump.err"))
    with open(os.path.join(img, "dump.out")) as f:
        if not re.search(r"^\s*live:\s+yes", f.read(), re.M):
            raise Failure("the dump was not live", os.path.join(img, "dump.out"))
    r.check_running("a live dump under ulimit -Sn 200")
    r.finish("a live dump under ulimit -Sn 200 (the original task)")
    r.clear_result()
    r.img = img
    r.restore()
    r.finish()

