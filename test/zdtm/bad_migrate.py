"""Live migration on one machine (scripts/migrate.sh is the same flow with
timings): a writer in one network namespace is pre-dumped three times while
it runs, and dumped on top of the chain, each round sending its pages over a
veth pair to a `snap page-server` in another network namespace, which
writes that round's set in a directory of its own; each set's other images
follow. There, the chain as it is is restored with lazy pages, and the
writer checks every byte it wrote."""

import dataclasses
import os
import shutil

from modes import MODES
from outcome import Failure, Skip
from pageserver import PageServer, free_port
from proc import alive, spawn_wait
from snap import Snap
import tests

NETNS = ("snap-mig-a", "snap-mig-b")
ADDR = ("10.79.1.1", "10.79.1.2")


def netns_cleanup():
    for ns in NETNS:
        spawn_wait(["/usr/sbin/ip", "netns", "del", ns])


def in_netns(b, ns):
    """A Snap that runs snap in network namespace @ns only (nsenter --net:
    `ip netns exec` would make a mount namespace too, which snap refuses)."""
    path = os.path.join(b.dir, "snap-in-" + ns)
    with open(path, "w") as f:
        f.write('#!/bin/sh\nexec /usr/bin/nsenter --net=/run/netns/%s %s "$@"\n' %
                (ns, b.snap.path))
    os.chmod(path, 0o755)
    return Snap(path)


def link(src, dst):
    """A veth pair between the two namespaces, ADDR on each end."""
    for cmd in (["link", "add", "snapmig0", "netns", src, "type", "veth", "peer", "name",
                 "snapmig1", "netns", dst],
                ["-n", src, "addr", "add", ADDR[0] + "/24", "dev", "snapmig0"],
                ["-n", dst, "addr", "add", ADDR[1] + "/24", "dev", "snapmig1"],
                ["-n", src, "link", "set", "snapmig0", "up"],
                ["-n", dst, "link", "set", "snapmig1", "up"],
                ["-n", src, "link", "set", "lo", "up"],
                ["-n", dst, "link", "set", "lo", "up"]):
        if spawn_wait(["/usr/sbin/ip"] + cmd) != 0:
            raise Skip("cannot link the network namespaces (ip %s)" % " ".join(cmd))


def hand_over(local, remote):
    """A set's images but the pages (which its page server has) go next to
    them: everything the dump wrote in its own directory, the parent link as a
    link."""
    for name in os.listdir(local):
        src, dst = os.path.join(local, name), os.path.join(remote, name)
        if os.path.islink(src):
            if os.path.lexists(dst):
                os.unlink(dst)
            os.symlink(os.readlink(src), dst)
        elif os.path.isfile(src):
            shutil.copy2(src, dst)


def migrate_netns(b):
    netns_cleanup()
    b.cleanups.append(netns_cleanup)
    for ns in NETNS:
        if spawn_wait(["/usr/sbin/ip", "netns", "add", ns]) != 0:
            raise Skip("cannot make network namespace %s" % ns)
    src, dst = NETNS
    link(src, dst)
    r = b.target(tests.find("static/incr_writer").but(
        wrap=("/usr/bin/nsenter", "--net=/run/netns/" + src)))
    r.snap = in_netns(b, src)
    there = os.path.join(r.dir, "there")

    def server(images, name):
        os.makedirs(os.path.join(there, os.path.basename(images)), exist_ok=True)
        # Any port: nothing else listens in that new namespace.
        return PageServer(in_netns(b, dst), os.path.join(there, os.path.basename(images)),
                          r.dir, name=name, address=ADDR[1], port=free_port("127.0.0.1"))

    r.page_server = server
    r.mode = dataclasses.replace(MODES["predump3"], page_server=True)
    sets = ["pre1", "pre2", "pre3"]
    for i, name in enumerate(sets, 1):
        r.pre_dump(i)
        hand_over(os.path.join(r.dir, name), os.path.join(there, name))
    r.dump()
    r.wait_gone("dump")
    hand_over(r.img, os.path.join(there, "img"))
    for name in sets + ["img"]:
        if any(f.startswith("pages-") for f in os.listdir(os.path.join(r.dir, name))):
            raise Failure("set %s has pages on the dumping side: they were not sent" % name)
    r.img = os.path.join(there, "img")
    r.snap = in_netns(b, dst)
    r.mode = MODES["lazy"]
    r.restore()
    if not alive(r.pid):
        raise Failure("pid %d is not running after the restore in %s" % (r.pid, dst))
    want = "net:[%d]" % os.stat("/run/netns/" + dst).st_ino
    got = os.readlink("/proc/%d/ns/net" % r.pid)
    if got != want:
        raise Failure("pid %d runs in %s after the migration, not in %s (%s)" %
                      (r.pid, got, dst, want))
    r.wait_lazy_server()
    r.finish("migration to " + dst)
