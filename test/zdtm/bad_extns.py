"""External network namespaces (CRIU's, as runc uses them for a namespace
joined by path): dump with --external net[INODE]:KEY saves nothing of the
tree's namespace and names it KEY in ns.img; restore with --inherit-fd
fd[N]:KEY joins the namespace at fd N, the same one or another set up the
same, and the tree's sockets (a TCP listener and an established connection
on the namespace's address, static/netns_ext) come back in it. The same over
RPC (external, inherit_fd at fd 4 as runc passes it). Bad input: an inode
that is not the tree's namespace's, a restore without the inherit-fd, a
kind snap cannot take as external."""

import os
import re

import rpc
from outcome import Failure, Skip
from proc import alive, describe, exit_code, spawn, spawn_wait, wait_exit
from snap import last_line
import tests

IP = "/usr/sbin/ip"
KEY = "extRootNetNS"
ADDR = "127.0.0.3/8"


def make_netns(b, tag):
    """A namespace ip(8) keeps, named uniquely, lo up with ADDR: its path."""
    if not os.path.exists(IP):
        raise Skip("no ip(8)")
    name = "snap-ext-%s-%d" % (tag, os.getpid())
    spawn_wait([IP, "netns", "del", name])
    b.cleanups.append(lambda: spawn_wait([IP, "netns", "del", name]))
    for argv in ([IP, "netns", "add", name], [IP, "-n", name, "link", "set", "lo", "up"],
                 [IP, "-n", name, "addr", "add", ADDR, "dev", "lo"]):
        if spawn_wait(argv) != 0:
            raise Skip("cannot set up network namespace %s: %s failed" % (name, " ".join(argv)))
    return "/run/netns/" + name


def ext_arg(path):
    return "net[%d]:%s" % (os.stat(path).st_ino, KEY)


def ext_target(b, path, inode_of=None):
    """static/netns_ext running in @path, its dump naming @inode_of's inode (default @path)."""
    t = tests.find("static/netns_ext").but(
        wrap=("/usr/bin/nsenter", "--net=" + path),
        dump_args=("--tcp-established", "--external", ext_arg(inode_of or path)))
    return b.target(t)


def dump_external(b, path):
    """static/netns_ext dumped from @path as external: the run; ns.img names the key."""
    r = ext_target(b, path)
    r.dump()
    r.wait_gone("dump")
    with open(os.path.join(r.img, "ns.img"), "rb") as f:
        if KEY.encode() not in f.read():
            raise Failure("ns.img does not name the key %s" % KEY)
    saved = [n for n in os.listdir(r.img) if n.startswith("netns-")]
    if saved:
        raise Failure("the external namespace was saved all the same: %s" % saved)
    return r


def check_in(r, path, what):
    want = "net:[%d]" % os.stat(path).st_ino
    got = os.readlink("/proc/%d/ns/net" % r.pid)
    if got != want:
        raise Failure("pid %d runs in %s after %s, not in %s (%s)" % (r.pid, got, what, path,
                                                                      want))


def restore_inherit(b, r, path):
    """`snap restore --inherit-fd fd[0]:KEY` with the namespace at @path as snap's stdin."""
    errf = os.path.join(r.img, "restore.err")
    nsfd = os.open(path, os.O_RDONLY)
    try:
        spid = spawn([b.snap.path, "restore", "-d", "-D", r.img, "-o", "restore.log", "-v4",
                      "--tcp-established", "--inherit-fd", "fd[0]:" + KEY],
                     stdin=nsfd, stdout=errf, cwd=r.img)
    finally:
        os.close(nsfd)
    status = wait_exit(spid, 60)
    if status != 0:
        with open(errf, errors="replace") as f:
            raise Failure("restore --inherit-fd fd[0]:%s %s: %s" % (KEY, describe(status),
                                                                     last_line(f.read())),
                          os.path.join(r.img, "restore.log"))
    if not alive(r.pid):
        raise Failure("pid %d is not running after the restore" % r.pid)


def restored_in(b, other):
    """Dumped from one namespace, restored into it or, @other, into another
    set up the same: the task runs there and passes."""
    path = make_netns(b, "a")
    into = make_netns(b, "b") if other else path
    r = dump_external(b, path)
    restore_inherit(b, r, into)
    check_in(r, into, "--inherit-fd")
    r.finish("a restore into %s" % into)


def img_netns_external(b):
    """Dumped with --external net[INODE]:KEY, restored with --inherit-fd into
    the same namespace: the sockets work there and the task runs in it."""
    restored_in(b, False)


def img_netns_external_other(b):
    """The same, restored into another namespace set up the same way."""
    restored_in(b, True)


def img_netns_external_rpc(b):
    """Over RPC as runc does it: DUMP with external net[INODE]:extRootNetNS,
    RESTORE with inherit_fd {extRootNetNS, 4} and the namespace at fd 4."""
    path = make_netns(b, "a")
    t = tests.find("static/netns_ext").but(wrap=("/usr/bin/nsenter", "--net=" + path))
    r = b.target(t)
    os.makedirs(r.img, exist_ok=True)
    dfd = os.open(r.img, os.O_RDONLY | os.O_DIRECTORY)
    try:
        resp, status, _ = rpc.Swrk(b.snap.path, b.dir).call(rpc.request(rpc.DUMP, dict(
            images_dir_fd=dfd, pid=r.pid, log_file="dump.log", log_level=4,
            tcp_established=1, empty_ns=0x40000000, external=[ext_arg(path)])))
        if resp is None or not resp.success or exit_code(status) != 0:
            raise Failure("RPC dump with external: %r (%s)" % (resp, describe(status)),
                          os.path.join(r.img, "dump.log"))
        r.wait_gone("the RPC dump")
        nsfd = os.open(path, os.O_RDONLY)
        try:
            resp, status, _ = rpc.Swrk(b.snap.path, b.dir, fds={4: nsfd}).call(rpc.request(
                rpc.RESTORE, dict(images_dir_fd=dfd, log_file="restore.log", log_level=4,
                                  tcp_established=1, inherit_fd=[(KEY, 4)])))
        finally:
            os.close(nsfd)
    finally:
        os.close(dfd)
    if resp is None or not resp.success or exit_code(status) != 0:
        raise Failure("RPC restore with inherit_fd %s: %r (%s)" % (KEY, resp, describe(status)),
                      os.path.join(r.img, "restore.log"))
    pid = resp.restore[1][0] if resp.restore and 1 in resp.restore else None
    if pid != r.pid:
        raise Failure("the RPC restore says pid %s, the tree's was %d" % (pid, r.pid))
    check_in(r, path, "the RPC restore")
    r.finish("an RPC restore into the external namespace")


def bad_dump_external_inode(b):
    """--external naming another namespace's inode: one line naming both
    inodes; the task runs on and passes."""
    path = make_netns(b, "a")
    other = make_netns(b, "b")
    r = ext_target(b, path, inode_of=other)
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "--tcp-established", "--external",
                  ext_arg(other)],
                 [r"--external net\[%d\]:%s: the tree's net namespace is net:\[%d\] .*not "
                  r"inode %d" % (os.stat(other).st_ino, KEY, os.stat(path).st_ino,
                                 os.stat(other).st_ino)])
    r.check_running("a refused dump")
    r.finish("a refused dump")


def bad_restore_external_no_inherit(b):
    """A restore of an external namespace without its --inherit-fd: one line
    naming the namespace and the key; nothing is left running."""
    path = make_netns(b, "a")
    r = dump_external(b, path)
    b.snap_fails(["restore", "-D", r.img, "-d", "--tcp-established"],
                 [r"image ns.img: the tree's net namespace \(id \d+\) is external, key %s: "
                  r"restore needs --inherit-fd fd\[N\]:%s" % (KEY, KEY)], workdir=r.img)
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def bad_restore_external_not_netns(b):
    """--inherit-fd handing over a file that is no network namespace: one line
    naming the option; nothing is left running."""
    path = make_netns(b, "a")
    r = dump_external(b, path)
    b.snap_fails(["restore", "-D", r.img, "-d", "--tcp-established", "--inherit-fd",
                  "fd[0]:" + KEY],
                 [r"--inherit-fd fd\[0\]:%s: not a net namespace" % KEY], workdir=r.img)
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def bad_external_kinds(b):
    """--external of a pid namespace (snap cannot restore into one made
    outside the tree), of a kind snap does not take, or malformed: refused
    by name on the command line and over RPC."""
    for arg, want in (("pid[4026531836]:extRootPidNS", r"pid namespace made outside"),
                      ("dev[1]:x", r"snap takes only mnt\[KEY\]:VAL and net\[INODE\]:KEY"),
                      ("net[abc]:x", r"--external takes net\[INODE\]:KEY"),
                      ("net[12]:", r"--external takes net\[INODE\]:KEY")):
        b.snap_fails(["dump", "-t", "1", "-D", b.dir, "--external", arg],
                     [r"--external %s: .*%s|%s" % (re.escape(arg), want, want)])
    dfd = os.open(b.dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        resp, status, _ = rpc.Swrk(b.snap.path, b.dir).call(rpc.request(rpc.DUMP, dict(
            images_dir_fd=dfd, pid=1, external=["pid[4026531836]:extRootPidNS"])))
    finally:
        os.close(dfd)
    if resp is None or resp.success or not resp.errmsg or "pid namespace" not in resp.errmsg:
        raise Failure("RPC external pid[...]: %r, expected an error naming the pid namespace" %
                      resp)
    if exit_code(status) == 0:
        raise Failure("snap swrk exited 0 after refusing external pid[...]")
