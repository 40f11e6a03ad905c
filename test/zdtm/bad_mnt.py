"""Mount namespaces (snap/ns/mnt-*.c): a mount dump cannot save is refused
by name, saying which --external to pass; a restore whose root lacks a
mountpoint, or that is not told where an external mount comes from, fails
with one line naming it, before any process is made."""

import os

from outcome import Failure
from proc import alive


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
