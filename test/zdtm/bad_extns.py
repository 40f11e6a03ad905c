"""External network namespaces (CRIU's, as runc uses them for a namespace
joined by path): dump with --external net[INODE]:KEY saves nothing of the
tree's namespace and names it KEY in ns.img; restore with --inherit-fd
fd[N]:KEY joins the namespace at fd N, the same one or another set up the
same, and the tree's sockets (a TCP listener and an established connection
on the namespace's address, static/netns_ext) come back in it. The same over
RPC (external, inherit_fd at fd 4 as runc passes it). Bad input: an inode
that is not the tree's namespace's, a restore without the inherit-fd, a
kind snap cannot take as external. A pid namespace made outside the tree
(its init the caller's) the same way: --external pid[INODE]:KEY, and the
root made in it with its pid at restore."""

import os
import re
import time

import rpc
from modes import MODES
from outcome import Failure, Skip
from proc import (PYTHON, alive, descendants, describe, exit_code, kill, spawn, spawn_wait,
                  wait_exit, wait_until)
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


def run_inherit(b, img, nspath, key, args=()):
    """`snap restore --inherit-fd fd[0]:@key ARGS` with the namespace at
    @nspath as snap's stdin: (its exit status, its stderr)."""
    errf = os.path.join(img, "restore.err")
    nsfd = os.open(nspath, os.O_RDONLY)
    try:
        spid = spawn([b.snap.path, "restore", "-d", "-D", img, "-o", "restore.log", "-v4",
                      "--inherit-fd", "fd[0]:" + key] + list(args),
                     stdin=nsfd, stdout=errf, cwd=img)
    finally:
        os.close(nsfd)
    status = wait_exit(spid, 60)
    with open(errf, errors="replace") as f:
        return status, f.read()


def restore_with(b, img, nspath, key, args=()):
    """run_inherit(), which must exit 0."""
    status, err = run_inherit(b, img, nspath, key, args)
    if status != 0:
        raise Failure("restore --inherit-fd fd[0]:%s %s: %s" % (key, describe(status),
                                                                 last_line(err)),
                      os.path.join(img, "restore.log"))


def restore_inherit(b, r, path):
    """The network namespace at @path handed over: the task runs again."""
    restore_with(b, r.img, path, KEY, ["--tcp-established"])
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


def img_netns_external_live(b):
    """Dumped live (-R) with --external net[INODE]:KEY: the task runs on in
    its namespace and passes there; its images, restored with --inherit-fd
    into another namespace set up the same way, pass too."""
    path = make_netns(b, "a")
    into = make_netns(b, "b")
    r = ext_target(b, path)
    r.dump(MODES["leave-running"])
    r.check_running("dump -R")
    check_in(r, path, "dump -R")
    r.finish("dump -R, in the namespace it was dumped from")
    r.clear_result()
    restore_inherit(b, r, into)
    check_in(r, into, "--inherit-fd")
    r.finish("a restore into %s" % into)


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


# A pid namespace's init that reaps whatever is orphaned into it.
REAPER = ("import os, time\n"
          "while True:\n"
          "    try:\n"
          "        os.wait()\n"
          "    except ChildProcessError:\n"
          "        time.sleep(0.1)\n")
PID_KEY = "extRootPidNS"


def nspid(pid):
    """@pid's pids, outermost first (NSpid of /proc/PID/status)."""
    with open("/proc/%d/status" % pid) as f:
        return [int(x) for x in re.search(r"^NSpid:\s+(.*)$", f.read(), re.M).group(1).split()]


def pid_holder(b):
    """A pid namespace made outside the tree, held by a reaping init: its host pid."""
    unshare = spawn(["/usr/bin/unshare", "-p", "-f", "--kill-child", PYTHON, "-c", REAPER])
    b.cleanups.append(lambda: kill(unshare))
    got = []

    def find():
        with open("/proc/%d/task/%d/children" % (unshare, unshare)) as f:
            got[:] = [int(x) for x in f.read().split()]
        return got
    if not wait_until(find, 5) or nspid(got[0])[-1] != 1:
        raise Skip("cannot make a pid namespace with unshare -p -f")
    return got[0]


def counter_in(b, holder):
    """A shell counting into a file, in @holder's pid namespace (not its
    init): (its host pid, the counter's path)."""
    path = os.path.join(b.dir, "counter")
    nsenter = spawn(["/usr/bin/nsenter", "-t", str(holder), "-p", "--", "/bin/sh", "-c",
                     "i=0; while :; do i=$((i+1)); echo $i >%s; sleep 0.1; done" % path])
    b.cleanups.append(lambda: kill(nsenter))
    got = []

    def find():
        with open("/proc/%d/task/%d/children" % (nsenter, nsenter)) as f:
            got[:] = [int(x) for x in f.read().split()]
        return got and os.path.exists(path)
    if not wait_until(find, 5):
        raise Failure("the counter did not start in pid %d's pid namespace" % holder)
    b.cleanups.append(lambda: kill(got[0]))
    return got[0], path


def count(path):
    for _ in range(50):
        with open(path) as f:
            text = f.read().strip()
        if text:
            return int(text)
        time.sleep(0.01)
    raise Failure("%s stays empty" % path)


def dump_pid_external(b, live=False):
    """The counter in an external pid namespace, dumped with --external
    pid[INODE]:KEY, killed, or with @live (-R) running on and killed after
    it counted on: (holder, the counter's pid there, its path, images)."""
    holder = pid_holder(b)
    pid, path = counter_in(b, holder)
    vpid = nspid(pid)[-1]
    img = os.path.join(b.dir, "img")
    arg = "pid[%d]:%s" % (os.stat("/proc/%d/ns/pid" % holder).st_ino, PID_KEY)
    status, err = b.snap.run(["dump", "-t", str(pid), "-D", img, "-o", "dump.log", "-v4",
                              "--external", arg] + (["-R"] if live else []), b.dir, "dump")
    if status != 0:
        raise Failure("dump --external %s: %s" % (arg, last_line(err)),
                      os.path.join(img, "dump.log"))
    if live:
        a = count(path)
        if not wait_until(lambda: count(path) > a + 5, 5):
            raise Failure("the counter stays at %d after dump -R (dumped at %d)" % (
                count(path), a))
        kill(pid)
    if not wait_until(lambda: not alive(pid), 5):
        raise Failure("pid %d runs on after the %s" % (pid, "kill" if live else "dump"))
    return holder, vpid, path, img


def restored_pidns(b, holder, vpid, img):
    """The images restored with --inherit-fd into @holder's pid namespace:
    the host pid of the restored counter, pid @vpid there."""
    pidfile = os.path.join(b.dir, "restored.pid")
    restore_with(b, img, "/proc/%d/ns/pid" % holder, PID_KEY, ["--pidfile", pidfile])
    with open(pidfile) as f:
        pid = int(f.read())
    b.cleanups.append(lambda: kill(pid))
    want = os.readlink("/proc/%d/ns/pid" % holder)
    if os.readlink("/proc/%d/ns/pid" % pid) != want or nspid(pid)[-1] != vpid:
        raise Failure("restored host pid %d is pid %d of %s, not pid %d of %s" % (
            pid, nspid(pid)[-1], os.readlink("/proc/%d/ns/pid" % pid), vpid, want))
    return pid


def img_pidns_external_live(b):
    """The same dumped live (-R): the counter counts on after the dump, is
    killed; restored into the namespace, it counts again from where it
    stood at the dump, below where the original got to."""
    holder, vpid, path, img = dump_pid_external(b, live=True)
    a = count(path)
    restored_pidns(b, holder, vpid, img)
    if not wait_until(lambda: count(path) < a, 5):
        raise Failure("after the restore the counter is at %d, the original got to %d: it "
                      "did not start again from the dump" % (count(path), a))
    c = count(path)
    if not wait_until(lambda: count(path) > c, 5):
        raise Failure("the restored counter stays at %d" % c)


def img_pidns_external(b):
    """A tree in a pid namespace whose init is outside it (a pod's shared
    pid namespace), dumped with --external pid[INODE]:KEY and restored with
    --inherit-fd fd[0]:KEY: it is back in that namespace with the same pid
    there, and counts on from where it stood."""
    holder, vpid, path, img = dump_pid_external(b)
    a = count(path)
    time.sleep(0.5)
    if count(path) != a:
        raise Failure("the counter went on after the dump (%d, then %d)" % (a, count(path)))
    restored_pidns(b, holder, vpid, img)
    if not wait_until(lambda: count(path) > a, 5):
        raise Failure("the restored counter stays at %d" % a)
    if count(path) > a + 30:
        raise Failure("the counter is at %d, dumped at %d: not the restored one" % (
            count(path), a))


def bad_restore_pidns_no_inherit(b):
    """The same without --inherit-fd: one line naming the pid namespace and
    the key; nothing is left running."""
    _, _, _, img = dump_pid_external(b)
    b.snap_fails(["restore", "-D", img, "-d"],
                 [r"image ns.img: the tree's pid namespace \(id \d+\) is external, key %s: "
                  r"restore needs --inherit-fd fd\[N\]:%s" % (PID_KEY, PID_KEY)], workdir=img)


def bad_external_kinds(b):
    """--external of a kind snap does not take, or malformed: refused by
    name on the command line and over RPC."""
    for arg, want in (("dev[1]:x", r"snap takes only mnt\[KEY\]:VAL, net\[INODE\]:KEY"),
                      ("net[abc]:x", r"--external takes net\[INODE\]:KEY"),
                      ("net[12]:", r"--external takes net\[INODE\]:KEY"),
                      ("pid[12]x", r"--external takes pid\[INODE\]:KEY")):
        b.snap_fails(["dump", "-t", "1", "-D", b.dir, "--external", arg],
                     [r"--external %s: .*%s|%s" % (re.escape(arg), want, want)])
    dfd = os.open(b.dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        resp, status, _ = rpc.Swrk(b.snap.path, b.dir).call(rpc.request(rpc.DUMP, dict(
            images_dir_fd=dfd, pid=1, external=["veth[eth0]:br0"])))
    finally:
        os.close(dfd)
    if resp is None or resp.success or not resp.errmsg or "veth[eth0]" not in resp.errmsg:
        raise Failure("RPC external veth[...]: %r, expected an error naming it" % resp)
    if exit_code(status) == 0:
        raise Failure("snap swrk exited 0 after refusing external veth[...]")


def occupy(b, holder, vpid, secs):
    """A sleep of @secs seconds that is pid @vpid of @holder's pid namespace."""
    sh = spawn(["/usr/bin/nsenter", "-t", str(holder), "-p", "--", "/bin/sh", "-c",
                "echo %d >/proc/sys/kernel/ns_last_pid; /bin/sleep %s & wait" %
                (vpid - 1, secs)])
    b.cleanups.append(lambda: kill(sh))
    got = []

    def find():
        got[:] = [p for p in descendants() if nspid(p)[-1] == vpid and
                  os.readlink("/proc/%d/exe" % p) == "/usr/bin/sleep"]
        return got
    if not wait_until(find, 5):
        raise Failure("no sleep took pid %d of pid %d's namespace" % (vpid, holder))
    b.cleanups.append(lambda: kill(got[0]))
    return got[0]


def img_pidns_external_pid_taken(b):
    """Between dump and restore another process of the external pid
    namespace has the tree's pid there for a second: the restore waits for
    it (the namespace's pids are not in snap's /proc) and the tree is back
    with its pid."""
    holder, vpid, path, img = dump_pid_external(b)
    sleeper = occupy(b, holder, vpid, 1.5)
    pidfile = os.path.join(b.dir, "restored.pid")
    restore_with(b, img, "/proc/%d/ns/pid" % holder, PID_KEY, ["--pidfile", pidfile])
    with open(pidfile) as f:
        pid = int(f.read())
    b.cleanups.append(lambda: kill(pid))
    if alive(sleeper) or nspid(pid)[-1] != vpid:
        raise Failure("restored as pid %d of the namespace while the sleep holding pid %d "
                      "%s" % (nspid(pid)[-1], vpid, "runs" if alive(sleeper) else "is gone"))


def bad_restore_pidns_pid_taken(b):
    """The same pid held longer than --pid-wait-ms: one line naming the pid
    and the namespace, nothing left running, the holder untouched."""
    holder, vpid, path, img = dump_pid_external(b)
    sleeper = occupy(b, holder, vpid, 60)
    before = descendants()
    status, err = run_inherit(b, img, "/proc/%d/ns/pid" % holder, PID_KEY,
                              ["--pid-wait-ms", "300"])
    want = (r"pid %d of the pid namespace --inherit-fd fd\[0\]:%s gives is still in use "
            r"after 300 ms" % (vpid, PID_KEY))
    if exit_code(status) != 1 or len(err.strip().splitlines()) != 1 or \
            not re.search(want, err):
        raise Failure("restore with pid %d of the namespace taken %s, expected exit 1 and "
                      "one line naming it: %s" % (vpid, describe(status), last_line(err)),
                      os.path.join(img, "restore.log"))
    left = descendants() - before
    if left:
        raise Failure("processes left behind: %s" % sorted(left))
    if not alive(sleeper):
        raise Failure("the process holding pid %d is gone" % vpid)
