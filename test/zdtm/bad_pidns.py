"""Pid namespaces (snap/vpid.c, snap/cr/restore-pidns.c): a tree restored in
a new pid namespace keeps the image's pids there, because its root lived in
one of its own or because `snap restore --new-pidns` asks for one; snap
follows the tasks by their host pids. And what a restore must refuse."""

import os
import re

from outcome import Failure
from proc import alive, kill_tree, wait_until
from snap import last_line


def nspid(pid):
    """The NSpid line of @pid: its pid in each namespace, snap's first."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("NSpid:"):
                return [int(x) for x in line.split()[1:]]
    raise Failure("pid %d has no NSpid" % pid)


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def restore(b, r, label, extra):
    """Restore @r's images with @extra, detached; the host pid snap made."""
    pidfile = os.path.join(b.dir, label + ".pid")
    args = ["restore", "-D", r.img, "-d", "-o", label + ".log", "-v", "4",
            "--pidfile", pidfile] + extra
    status, err = b.snap.run(args, r.img, label)
    if status != 0:
        raise Failure("`snap %s` failed: %s" % (" ".join(args), last_line(err)),
                      os.path.join(r.img, label + ".log"))
    with open(pidfile) as f:
        pid = int(f.read())
    b.cleanups.append(lambda: kill_tree(pid))
    return pid


def check_under_init(init, want, what):
    """@init is snap's pid 1 of a new namespace, whose one child has pid @want there."""
    if nspid(init)[-1] != 1:
        raise Failure("%s: snap's init %d is not pid 1 of its namespace: %s" % (
            what, init, nspid(init)))
    kids = children(init)
    if len(kids) != 1 or nspid(kids[0])[-1] != want:
        raise Failure("%s: under snap's init %d: %s, expected one process with pid %d" % (
            what, init, [nspid(k) for k in kids], want))
    return kids[0]


def pidns_new_twice(b):
    """The cure for "pid in use": while a plain restore of a dump runs, a
    second plain one fails with one line naming the pid, and two restores
    --new-pidns of the same images run beside it, each with the image's pid
    in its namespace; all three pass their memory checks (SIGTERM to snap's
    init reaches the root, and the init exits when the root does)."""
    r = b.image("static/mem_heap")
    orig = r.pid
    plain = restore(b, r, "plain", [])
    if plain != orig:
        raise Failure("the plain restore made pid %d, expected %d" % (plain, orig))
    b.snap_fails(["restore", "-D", r.img, "-d", "--pid-wait-ms", "300"],
                 [r"\b%d\b.*in use" % orig], workdir=r.img)
    inits = [restore(b, r, "new%d" % i, ["--new-pidns"]) for i in (1, 2)]
    for i, init in enumerate(inits):
        check_under_init(init, orig, "restore --new-pidns #%d" % (i + 1))
    for pid, what in [(plain, "the plain restore")] + [
            (p, "restore --new-pidns #%d" % (i + 1)) for i, p in enumerate(inits)]:
        r.pid = pid
        r.clear_result()
        r.finish(what)


def img_pidns_subtree(b):
    """A subtree of a pid namespace, whose root is not pid 1 there (pid 2 of
    static/ns_pid), comes back in a new pid namespace under snap's init,
    with its pid, its parent and its session as it sees them."""
    r = b.target("static/ns_pid")
    if not wait_until(lambda: any(nspid(c)[-1] == 2 for c in children(r.pid)), 5):
        raise Failure("setup: static/ns_pid has no pid 2: %s" % children(r.pid))
    sub = [c for c in children(r.pid) if nspid(c)[-1] == 2][0]
    img = os.path.join(b.dir, "img")
    os.mkdir(img)
    status, err = b.snap.run(["dump", "-t", str(sub), "-D", img, "-o", "dump.log", "-v", "4"],
                             img, "dump")
    if status != 0:
        raise Failure("dump of pid %d (2 in its namespace): %s" % (sub, last_line(err)),
                      os.path.join(img, "dump.log"))
    r.img = img
    init = restore(b, r, "restore", [])
    root = check_under_init(init, 2, "the restored subtree")
    if not alive(root):
        raise Failure("the restored subtree root %d is not running" % root)


def bad_restore_pidns_lazy(b):
    """--new-pidns with --lazy-pages is refused in one line, nothing made."""
    r = b.image("static/mem_heap")
    b.snap_fails(["restore", "-D", r.img, "-d", "--new-pidns", "--lazy-pages"],
                 [r"--lazy-pages.*new pid namespace"], workdir=r.img)
    if alive(r.pid):
        raise Failure("pid %d is alive after a refused restore" % r.pid)
