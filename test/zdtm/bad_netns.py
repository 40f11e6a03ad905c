"""Network namespaces: a tree whose namespace has an interface other than
lo is refused at dump by name (static/netns_sk_veth without --empty-ns
net); netns-ID.img naming an interface or a sysctl snap does not restore is
refused at restore, naming the image; snap netlock --unlock -D of such a
dump, run outside its namespace, refuses. img/netns_join: the tree dumped from
a persistent namespace (ip netns) comes back in it with --join-ns net:PATH,
its sockets made there, and the dump's network lock, taken in it, is gone."""

import glob
import os
import re

from bad_ns import edit_records
from outcome import Failure, Skip
from proc import alive, run_cmd, spawn_wait
from snap import last_line
import tests

IP = "/usr/sbin/ip"
JOIN_NS = "snap-zdtm-join"


def bad_dump_netns_veth(b):
    """A veth pair in the tree's namespace: one line naming it and its kind,
    pointing at --empty-ns net; the process runs on and passes."""
    r = b.target("static/netns_sk_veth")
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "--tcp-established"],
                 [r"pid \d+ .*interface snapv[01] \(veth\); snap restores only lo.*"
                  r"--empty-ns net"])
    r.check_running("a refused dump")
    r.finish("a refused dump")


def netns_restore_refused(b, old, new, mention):
    """static/netns_sk dumped, its netns-ID.img with @old replaced by @new
    (same length): the restore fails naming the image and saying @mention."""
    r = b.image("static/netns_sk")
    imgs = glob.glob(os.path.join(r.img, "netns-*.img"))
    if len(imgs) != 1:
        raise Failure("setup: %d netns-*.img after the dump of static/netns_sk" % len(imgs))
    name = os.path.basename(imgs[0])

    def edit(i, p):
        if old not in p:
            raise Failure("setup: %s holds no %r" % (name, old))
        return p.replace(old, new)
    edit_records(imgs[0], edit)
    err = b.snap_fails(["restore", "-D", r.img, "-d", "--tcp-established"],
                       [re.escape(name)], workdir=r.img)
    if not re.search(mention, err):
        raise Failure("the error does not say what is wrong: %s" % last_line(err))
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def bad_restore_netns_iface(b):
    netns_restore_refused(b, b"\x0a\x02lo", b"\x0a\x02eh", r"interface eh: snap restores only lo")


def bad_restore_netns_sysctl(b):
    netns_restore_refused(b, b"core/somaxconn", b"core/somaxcon2",
                          r"sysctl net/core/somaxcon2 is not one snap restores")


def bad_netlock_other_netns(b):
    """The lock of a tree dumped from its own network namespace is in that
    namespace: `snap netlock --unlock -D DIR` from snap's refuses, saying
    where to run it, and leaves netlock.img."""
    r = b.image("static/netns_sk")
    if not os.path.exists(os.path.join(r.img, "netlock.img")):
        raise Failure("setup: the dump of static/netns_sk wrote no netlock.img")
    b.snap_fails(["netlock", "--unlock", "-D", r.img],
                 [r"its lock snap-\d+-\d+ is in another network namespace, its tree's.*nsenter"])
    if not os.path.exists(os.path.join(r.img, "netlock.img")):
        raise Failure("a refused unlock removed netlock.img")


def join_cleanup():
    spawn_wait([IP, "netns", "del", JOIN_NS])


def img_netns_join(b):
    """static/netns_sk in a namespace ip(8) keeps (/run/netns), dumped (its
    network lock taken in that namespace) and restored with --join-ns
    net:/run/netns/NS: it runs in that very namespace and passes, and no
    lock of snap's is left there."""
    if not os.path.exists(IP):
        raise Skip("no ip(8)")
    join_cleanup()
    b.cleanups.append(join_cleanup)
    if spawn_wait([IP, "netns", "add", JOIN_NS]) != 0:
        raise Skip("cannot make network namespace %s" % JOIN_NS)
    path = "/run/netns/" + JOIN_NS
    t = tests.find("static/netns_sk").but(wrap=("/usr/bin/nsenter", "--net=" + path))
    r = b.target(t)
    r.dump()
    r.wait_gone("dump")
    with open(os.path.join(r.img, "dump.log"), errors="replace") as f:
        if not re.search(r"network lock snap-\d+-\d+: \d+ connections locked", f.read()):
            raise Failure("the dump took no network lock", os.path.join(r.img, "dump.log"))
    r.t = t.but(restore_args=t.restore_args + ("--join-ns", "net:" + path))
    r.restore()
    want = "net:[%d]" % os.stat(path).st_ino
    got = os.readlink("/proc/%d/ns/net" % r.pid)
    if got != want:
        raise Failure("pid %d runs in %s after --join-ns, not in %s (%s)" % (r.pid, got, path, want))
    ok, out = run_cmd(["/usr/bin/nsenter", "--net=" + path, b.snap.path, "netlock", "--list"])
    if not ok:
        raise Failure("snap netlock --list in %s failed: %s" % (JOIN_NS, last_line(out)))
    if "snap-" in out:
        raise Failure("a lock of snap's is left in %s after the restore: %s" %
                      (JOIN_NS, out.strip()))
    r.finish("a restore into the joined namespace")
