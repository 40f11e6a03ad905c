"""Mount namespaces (snap/ns/mnt-*.c): a mount dump cannot save is refused
by name, saying which --external to pass; a restore whose root lacks a
mountpoint, or that is not told where an external mount comes from, fails
with one line naming it, before any process is made. mnt/runc_mntns: a
runc container's mount tree, dumped and restored through the CLI."""

import json
import os
import shutil

from outcome import Failure, Skip
from proc import alive, kill_tree, run_cmd, spawn_wait, wait_until
from snap import snap_failed


def dump_refused(b, test, extra, mention):
    r = b.target(test)
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img] + extra, mention)
    r.check_running("a refused dump")
    r.finish("a refused dump")


def bad_dump_mnt_not_external(b):
    """/srv is a bind of the host's /proc/sys: without --external it cannot be saved."""
    dump_refused(b, "static/mnt_tree", [], [
        r"mount \d+ at /srv \(proc proc, showing /sys of it\) is neither .*"
        r"--external mnt\[/srv\]:KEY at dump"])


def bad_dump_mnt_ramfs(b):
    """A ramfs mounted inside: not a file system restore mounts anew."""
    dump_refused(b, "static/mnt_tree_ramfs", ["--external", "mnt[/srv]:psys"], [
        r"mount \d+ at /mnt \(ramfs ramfs, showing / of it\) is neither .*--external mnt\[/mnt\]"])


def restore_refused(b, extra, mention):
    r = b.image("static/mnt_tree")
    b.snap_fails(["restore", "-D", r.img, "-d"] + extra, mention, workdir=r.img)
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)
    # The images are fine: restored as they should be, the test passes.
    r.restore()
    r.finish("a restore after a refused one")


def bad_restore_mnt_root_missing(b):
    """--root is an empty directory: its first mountpoint, /proc, is not there."""
    root = os.path.join(b.dir, "emptyroot")
    os.makedirs(root, exist_ok=True)
    restore_refused(b, ["--root", root, "--external", "mnt[psys]:/proc/sys"], [
        r"mountpoint /proc of the proc mount \(id \d+\) is missing under the root %s$" % root])


def bad_restore_mnt_no_external(b):
    """The images hold an external mount, the restore does not say where from."""
    restore_refused(b, [], [
        r"mount /srv of the images is external \(key psys\): give its host path with "
        r"--external mnt\[psys\]:PATH"])


# A real container's mount tree, driven through the CLI.

def mountinfo(pid):
    """@pid's mounts, without ids and devices: (mountpoint, the rest)."""
    with open("/proc/%d/mountinfo" % pid) as f:
        return [(l.split()[4], " ".join(l.split()[3:])) for l in f]


def host_source(mi, root):
    """Where on the host the mount of mountinfo line @mi (split) is: the host's
    mount of the same device showing / of it, plus @root."""
    with open("/proc/self/mountinfo") as f:
        for l in f:
            h = l.split()
            if h[2] == mi[2] and h[3] == "/":
                return h[4] + (root if root != "/" else "")
    raise Failure("no host mount of device %s for %s" % (mi[2], mi[4]))


def counter(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def mnt_runc_mntns(b):
    """A runc container with a mount namespace only (busybox, runc's default
    mounts: proc and its read-only binds and masks, a tmpfs /dev, devpts,
    mqueue, sysfs, cgroup v1 binds, a /data bind), dumped with --external
    for each bind runc would name, restored with --root on its rootfs: the
    counter it writes goes on, and its mountinfo reads the same."""
    runc, busybox = shutil.which("runc"), shutil.which("busybox")
    if not runc or not busybox:
        raise Skip("needs runc and busybox (scripts/install-deps.sh)")
    bundle = os.path.join(b.dir, "bundle")
    rootfs, data = os.path.join(bundle, "rootfs"), os.path.join(b.dir, "data")
    state, img = os.path.join(b.dir, "runc-state"), os.path.join(b.dir, "img")
    for d in (os.path.join(rootfs, "bin"), data, img):
        os.makedirs(d)
    shutil.copy(busybox, os.path.join(rootfs, "bin", "busybox"))
    for a in ("sh", "sleep"):
        os.symlink("busybox", os.path.join(rootfs, "bin", a))
    if not run_cmd([runc, "spec", "--bundle", bundle])[0]:
        raise Failure("runc spec failed")
    cfg_path = os.path.join(bundle, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["sh", "-c", "exec </dev/null >/dev/null 2>&1; i=0; "
                              "while :; do i=$((i+1)); echo $i >/data/counter; sleep 0.2; done"]
    cfg["mounts"].append({"destination": "/data", "type": "bind", "source": data,
                          "options": ["rbind", "rw"]})
    cfg["linux"]["namespaces"] = [{"type": "mount"}]
    cfg.pop("hostname", None)
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    name = "snap-mnt-%d" % os.getpid()
    rc = [runc, "--root", state]
    pid = None
    try:
        if spawn_wait(rc + ["run", "-d", "--bundle", bundle, name]) != 0:
            raise Failure("runc run failed")
        ok, out = run_cmd(rc + ["state", name])
        if not ok:
            raise Failure("runc state failed: %s" % out)
        pid = json.loads(out)["pid"]
        if not wait_until(lambda: counter(os.path.join(data, "counter")) > 2, 10):
            raise Failure("the container does not count")
        before = mountinfo(pid)
        dump_ext, restore_ext = [], []
        with open("/proc/%d/mountinfo" % pid) as f:
            for l in f:
                mi = l.split()
                mp, fstype = mi[4], mi[mi.index("-") + 1]
                if mp == "/data" or fstype == "cgroup":
                    dump_ext += ["--external", "mnt[%s]:%s" % (mp, mp)]
                    src = data if mp == "/data" else host_source(mi, mi[3])
                    restore_ext += ["--external", "mnt[%s]:%s" % (mp, src)]
        status, err = b.snap.run(["dump", "-t", str(pid), "-D", img, "-o", "dump.log",
                                  "-v", "4"] + dump_ext, img, "dump")
        if status != 0:
            raise Failure(snap_failed("dump", status, err), os.path.join(img, "dump.log"))
        if not wait_until(lambda: not alive(pid), 5):
            raise Failure("the container's init %d is alive after the dump" % pid)
        stopped = counter(os.path.join(data, "counter"))
        pidfile = os.path.join(b.dir, "restored.pid")
        status, err = b.snap.run(["restore", "-D", img, "-d", "-o", "restore.log", "-v", "4",
                                  "--root", rootfs, "--pidfile", pidfile] + restore_ext,
                                 img, "restore")
        if status != 0:
            raise Failure(snap_failed("restore", status, err), os.path.join(img, "restore.log"))
        with open(pidfile) as f:
            pid = int(f.read())
        if not wait_until(lambda: counter(os.path.join(data, "counter")) > stopped + 2, 10):
            raise Failure("the restored container does not count on from %d" % stopped)
        after = mountinfo(pid)
        if before != after:
            diff = [(x, y) for x, y in zip(before, after) if x != y] or (before, after)
            raise Failure("the restored mountinfo differs: %s" % (diff[:3],))
    finally:
        if pid and alive(pid):
            kill_tree(pid)
        run_cmd(rc + ["delete", "-f", name])
