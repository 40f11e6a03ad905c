"""Live migration on one machine (scripts/migrate.sh is the same flow with
timings): a writer in one network namespace is pre-dumped three times while
it runs, dumped on top of the chain there, the set folded (snap dedup), and
restored with lazy pages in another network namespace, where it checks every
byte it wrote."""

import os

from modes import MODES
from outcome import Failure, Skip
from proc import alive, spawn_wait
from snap import Snap
import tests

NETNS = ("snap-mig-a", "snap-mig-b")


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


def migrate_netns(b):
    netns_cleanup()
    b.cleanups.append(netns_cleanup)
    for ns in NETNS:
        if spawn_wait(["/usr/sbin/ip", "netns", "add", ns]) != 0:
            raise Skip("cannot make network namespace %s" % ns)
    src, dst = NETNS
    r = b.target(tests.find("static/incr_writer").but(
        wrap=("/usr/bin/nsenter", "--net=/run/netns/" + src)))
    r.snap = in_netns(b, src)
    for i in (1, 2, 3):
        r.pre_dump(i)
    r.dump(MODES["predump3"])
    r.wait_gone("dump")
    status, err = b.snap.run(["dedup", "-D", r.img], r.dir, "dedup")
    if status != 0:
        raise Failure("snap dedup failed: %s" % err.strip(), os.path.join(r.dir, "dedup.err"))
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
