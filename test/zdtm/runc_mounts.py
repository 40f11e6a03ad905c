"""runc end to end, mount propagation: a container whose mounts are slaves
of the host's (runc makes them so; a shared host mount under the rootfs
then shows inside, as Kubernetes' HostToContainer volumes rely on) keeps
receiving the host's mounts after snap restored it."""

import json
import os

from outcome import Failure
from proc import spawn_wait, wait_until
from runc import Container


def init_pid(c):
    ok, out = c.runc(["state", c.id], name="state")
    return json.loads(out)["pid"]


def propagation(pid, mountpoint):
    """The optional fields of @mountpoint in @pid's mountinfo ("master:N"...)."""
    with open("/proc/%d/mountinfo" % pid) as f:
        for line in f:
            fields = line.split()
            if fields[4] == mountpoint:
                return fields[6:fields.index("-")]
    return []


def slaves(pid):
    """Of / and /data (an external bind runc names), those not a slave."""
    return [m for m in ("/", "/data")
            if not any(f.startswith("master:") for f in propagation(pid, m))]


def sees(pid, mountpoint, source):
    """@pid's mount namespace has @source mounted at @mountpoint."""
    with open("/proc/%d/mountinfo" % pid) as f:
        for line in f:
            fields = line.split()
            tail = fields[fields.index("-") + 1:]
            if fields[4] == mountpoint and tail[1] == source:
                return True
    return False


def host_mount(c, name, umount=False):
    """A tmpfs mounted by the host at /mnt/@name of the rootfs, or taken away."""
    where = os.path.join(c.rootfs, "mnt", name)
    os.makedirs(where, exist_ok=True)
    argv = ["/bin/umount", where] if umount else ["/bin/mount", "-t", "tmpfs", "snap-" + name,
                                                  where]
    if spawn_wait(argv):
        raise Failure("cannot %s %s" % ("unmount" if umount else "mount a tmpfs on", where))


def runc_host_propagation(b):
    """The test directory is a shared mount, so the container's / and its
    /data bind are slaves of it (master:N). After each of two
    checkpoint/restore cycles they are slaves again: a tmpfs the host mounts under the rootfs appears in the
    container, and goes when the host unmounts it."""
    if spawn_wait(["/bin/mount", "--bind", b.dir, b.dir]) or \
            spawn_wait(["/bin/mount", "--make-shared", b.dir]):
        raise Failure("cannot make %s a shared mount" % b.dir)
    try:
        c = Container(b)
        try:
            check_propagation(c)
        finally:
            c.cleanup()
    finally:
        spawn_wait(["/bin/umount", "-l", b.dir])


def check_propagation(c):
    c.start()
    if slaves(init_pid(c)):
        raise Failure("before the checkpoint, not a slave of the shared test directory: "
                      "the container's %s" % " and ".join(slaves(init_pid(c))))
    for cycle in (1, 2):
        img = c.checkpoint()
        a = c.stopped("after checkpoint %d" % cycle)
        c.restore(img)
        c.carried_on(a, "after restore %d" % cycle)
        pid = init_pid(c)
        if slaves(pid):
            raise Failure("restore %d: no longer a slave: the container's %s" %
                          (cycle, " and ".join(slaves(pid))))
        name = "host%d" % cycle
        host_mount(c, name)
        if not wait_until(lambda: sees(pid, "/mnt/" + name, "snap-" + name), 2):
            raise Failure("restore %d: a tmpfs the host mounted under the rootfs after the "
                          "restore does not propagate into the container" % cycle)
        host_mount(c, name, umount=True)
        if not wait_until(lambda: not sees(pid, "/mnt/" + name, "snap-" + name), 2):
            raise Failure("restore %d: the host unmounted its tmpfs, the container still "
                          "has it" % cycle)
