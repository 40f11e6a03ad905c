"""cgroups (snap/cgroup/): a tree restored under --cgroup-root, the
--manage-cgroups modes on cgroups that were removed or emptied after the
dump, a tree in a cgroup namespace of its own, --freeze-cgroup, and the bad
input: a cgroup.img naming a controller not mounted here, a --cgroup-root
that does not exist in strict mode. Every test removes the cgroups it and
its target made."""

import errno
import os
import re
import time

from bad_ns import edit_records
from outcome import Failure, Skip
from proc import alive, describe, exit_code, spawn_wait
from snap import snap_failed

CG = "/sys/fs/cgroup"
TREE_HIERS = ("cpu", "pids", "unified")   # where static/cgroup_tree makes its cgroups
FREEZER = CG + "/freezer/zdtm_forker"     # static/cgroup_forker's, in its .desc


def need_hybrid():
    for h in TREE_HIERS + ("freezer",):
        if not os.path.isdir(os.path.join(CG, h)):
            raise Skip("needs v1 cpu, pids and freezer and cgroup2 at %s/unified" % CG)


def own_cgroup(ctrl):
    """The runner's cgroup in hierarchy @ctrl ("" for cgroup2)."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, c, path = line.rstrip("\n").split(":", 2)
            if c == ctrl:
                return path
    raise Failure("the runner is in no %s cgroup" % (ctrl or "cgroup2"))


def cgroup_of(pid, ctrl):
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, c, path = line.rstrip("\n").split(":", 2)
            if c == ctrl:
                return path
    return None


def fs_dir(hier, path):
    return os.path.join(CG, hier) + ("" if path == "/" else path)


def rmdirs(dirs):
    """Remove @dirs, deepest first; a cgroup whose killed tasks are still leaving waits."""
    for d in sorted(set(dirs), key=lambda d: -d.count("/")):
        for _ in range(300):
            try:
                os.rmdir(d)
            except OSError as e:
                if e.errno == errno.EBUSY:
                    time.sleep(0.01)
                    continue
            break


def tree_dirs(base, pid):
    """The cgroups static/cgroup_tree (root @pid) makes below cgroup @base."""
    out = []
    for h in TREE_HIERS:
        top = fs_dir(h, base) + "/zdtm_cg.%d" % pid
        out += [top, top + "/a", top + "/b"] + ([top + "/b/c"] if h == "unified" else [])
    return out


def cleanup_tree(b, pid, *bases):
    """At the end of the test: what the tree made at its start and where it was put."""
    def clean():
        dirs = []
        for base in bases:
            dirs += tree_dirs(base, pid)
        rmdirs(dirs)
    b.cleanups.append(clean)


def restore(b, r, extra):
    args = ["restore", "-D", r.img, "-d", "-o", "restore.log", "-v", "4"] + extra
    status, err = b.snap.run(args, r.img, "restore")
    if status != 0:
        raise Failure(snap_failed("restore", status, err), r.log("restore"))
    if not alive(r.pid):
        raise Failure("pid %d is not running after restore" % r.pid, r.log("restore"))


def dumped_tree(b):
    """static/cgroup_tree dumped (and so killed), its cgroups left behind."""
    need_hybrid()
    r = b.image("static/cgroup_tree_moved")
    cleanup_tree(b, r.pid, "/")
    if own_cgroup("cpu") != "/" or own_cgroup("pids") != "/" or own_cgroup("") != "/":
        raise Skip("the runner is not in the root cpu, pids and cgroup2 cgroups")
    return r


def img_cgroup_root(b):
    """--cgroup-root per controller: the tree goes there, its root's cgroup made (soft
    mode), the ones below made with their properties; the tree checks its children
    are where they were relative to it, with cpu.shares and pids.max."""
    r = dumped_tree(b)
    root = "/zdtm_cgroot.%d" % r.pid
    cleanup_tree(b, r.pid, root)
    b.cleanups.append(lambda: rmdirs([fs_dir(h, root) for h in TREE_HIERS]))
    restore(b, r, ["--cgroup-root", "cpu:" + root, "--cgroup-root", "pids:" + root,
                   "--cgroup-root", "unified:" + root])
    for h, ctrl in (("cpu", "cpu"), ("pids", "pids"), ("unified", "")):
        got = cgroup_of(r.pid, ctrl)
        if got != root:
            raise Failure("the restored root is in %s cgroup %s, expected %s" % (h, got, root),
                          r.log("restore"))
    if cgroup_of(r.pid, "memory") != own_cgroup("memory"):
        raise Failure("the restored root left snap's memory cgroup (no --cgroup-root for it)")
    r.finish("a restore under --cgroup-root")


def remove_tree_dirs(r):
    rmdirs(tree_dirs("/", r.pid))
    if any(os.path.exists(d) for d in tree_dirs("/", r.pid)):
        raise Failure("setup: cannot remove the dumped tree's cgroups")


def img_cgroup_full(b):
    """Its cgroups removed after the dump: --manage-cgroups=full makes them again, with
    their properties."""
    r = dumped_tree(b)
    remove_tree_dirs(r)
    restore(b, r, ["--manage-cgroups=full"])
    r.finish("a restore --manage-cgroups=full")


def bad_cgroup_none_missing(b):
    """Its cgroups removed after the dump: --manage-cgroups=none (and props) makes
    none, and says which is missing."""
    r = dumped_tree(b)
    remove_tree_dirs(r)
    for mode in ("none", "props"):
        b.snap_fails(["restore", "-D", r.img, "-d", "--manage-cgroups=" + mode],
                     [r"zdtm_cg\.%d.*does not exist" % r.pid])
        if any(os.path.exists(d) for d in tree_dirs("/", r.pid)):
            raise Failure("--manage-cgroups=%s made a cgroup" % mode)


def empty_tree_dirs(r):
    """Its cgroups made again, empty: cpu.shares and pids.max back to their defaults."""
    remove_tree_dirs(r)
    for d in tree_dirs("/", r.pid):
        os.mkdir(d)


def img_cgroup_props(b):
    """Its cgroups made again empty: --manage-cgroups=props sets their properties."""
    r = dumped_tree(b)
    empty_tree_dirs(r)
    restore(b, r, ["--manage-cgroups=props"])
    r.finish("a restore --manage-cgroups=props")


def img_cgroup_soft_keeps(b):
    """Its cgroups made again empty: soft (the default) sets the properties only of
    the cgroups it makes, so the tree finds cpu.shares at its default and says so."""
    r = dumped_tree(b)
    empty_tree_dirs(r)
    restore(b, r, [])
    try:
        r.finish("a soft restore")
    except Failure as f:
        if "cpu.shares is 1024" not in f.reason:
            raise
        return
    raise Failure("a soft restore set the properties of cgroups it did not make")


def bad_cgroup_strict_root(b):
    """--manage-cgroups=strict with a --cgroup-root that does not exist: one line."""
    r = dumped_tree(b)
    b.snap_fails(["restore", "-D", r.img, "-d", "--manage-cgroups=strict",
                  "--cgroup-root", "/zdtm_no_such_cgroup"],
                 [r"zdtm_no_such_cgroup.*does not exist"])


def bad_cgroup_strict_exists(b):
    """strict makes the cgroups below the root's anew: the dumped tree's are still
    there, which it says."""
    r = dumped_tree(b)
    b.snap_fails(["restore", "-D", r.img, "-d", "--manage-cgroups=strict"],
                 [r"zdtm_cg\.%d.*exists" % r.pid])


def bad_cgroup_unknown_ctrl(b):
    """A cgroup.img naming a controller not mounted here: one line naming it."""
    r = dumped_tree(b)
    path = os.path.join(r.img, "cgroup.img")

    def rename(i, payload):
        if b"\x0a\x03cpu" not in payload:
            raise Failure("setup: cgroup.img has no cpu hierarchy")
        return payload.replace(b"\x0a\x03cpu", b"\x0a\x03cpz")
    edit_records(path, rename)
    b.snap_fails(["restore", "-D", r.img, "-d"], [r"controller cpz is not mounted"])


def img_cgroup_ns(b):
    """A tree in a cgroup namespace of its own, restored under another --cgroup-root:
    its view of its cgroups (/ and /k) is as before."""
    need_hybrid()
    if own_cgroup("") != "/":
        raise Skip("the runner is not in the root cgroup2 cgroup")
    src = CG + "/unified/zdtm_cgns"
    root = "/zdtm_cgns_moved"
    b.cleanups.append(lambda: rmdirs([src, src + "/k", fs_dir("unified", root),
                                      fs_dir("unified", root) + "/k"]))
    r = b.image("static/cgroup_ns")
    restore(b, r, ["--cgroup-root", "unified:" + root])
    if cgroup_of(r.pid, "") is None:
        raise Failure("no cgroup2 line for the restored root")
    if os.readlink("/proc/%d/ns/cgroup" % r.pid) == os.readlink("/proc/self/ns/cgroup"):
        raise Failure("the restored root is in snap's cgroup namespace", r.log("restore"))
    procs = open(fs_dir("unified", root) + "/cgroup.procs").read().split()
    if str(r.pid) not in procs:
        raise Failure("the restored root is not in %s (its cgroup.procs: %s)" % (root, procs),
                      r.log("restore"))
    r.finish("a restore of a cgroup namespace under another --cgroup-root")


def freezer_cleanup(b):
    def clean():
        rmdirs([FREEZER])
    b.cleanups.append(clean)


def img_cgroup_freeze(b):
    """--freeze-cgroup seizes the whole forking tree while its freezer cgroup is frozen,
    and leaves it thawed."""
    need_hybrid()
    freezer_cleanup(b)
    r = b.target("static/cgroup_forker")
    r.dump()
    with open(r.log("dump")) as f:
        m = re.search(r"--freeze-cgroup %s: (\d+) threads seized frozen" % FREEZER, f.read())
    if not m or int(m.group(1)) < 5:
        raise Failure("the dump did not seize the tree frozen: %s" % (
            m.group(0) if m else "no such line"), r.log("dump"))
    r.wait_gone("dump")
    if open(FREEZER + "/freezer.state").read().strip() != "THAWED":
        raise Failure("the freezer is left %s" % open(FREEZER + "/freezer.state").read())
    r.restore()
    r.finish()


def bad_cgroup_freeze_fails(b):
    """A dump with --freeze-cgroup that fails (no room for the images) leaves the
    cgroup thawed and the tree running, not traced."""
    need_hybrid()
    freezer_cleanup(b)
    mnt = os.path.join(b.dir, "small")
    os.mkdir(mnt)
    if spawn_wait(["/bin/mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt]) != 0:
        raise Skip("cannot mount a tmpfs")
    b.mounts.append(mnt)
    r = b.target("static/cgroup_forker")
    # Not b.snap_fails(): its check for processes left behind would see the
    # short-lived children the workers fork all the time.
    status, err = b.snap.run(["dump", "-t", str(r.pid), "-D", mnt, "--freeze-cgroup", FREEZER],
                             b.dir, "snap")
    lines = err.strip().splitlines()
    if exit_code(status) != 1 or not 1 <= len(lines) <= 2 or \
            not re.search(r"(?i)no space|ENOSPC", err):
        raise Failure("dump to a full tmpfs: %s, %d lines: %s" % (
            describe(status), len(lines), lines[-1] if lines else ""),
            os.path.join(b.dir, "snap.err"))
    state = open(FREEZER + "/freezer.state").read().strip()
    if state != "THAWED":
        raise Failure("a failed dump left the freezer %s" % state)
    r.check_running("a failed dump")
    r.finish("a failed dump")
