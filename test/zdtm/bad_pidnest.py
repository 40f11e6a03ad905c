"""Pid namespaces nested inside a dumped tree (snap/ns/pid-nest*.c): what
dump refuses by name (a task born into a nested namespace that is not its
init, an init that is gone, a nested user namespace) and a pstree.img whose
nested pids do not make a namespace restore refuses. static/pidns_nested
is the test that works."""

import os
import shutil

import tests

from bad_ns import edit_records, snap_show
from bad_pidns import children, nspid, set_fields
from outcome import Failure
from modes import FLAVOURS
from proc import kill_tree, proc_state, spawn, wait_until
from testrun import Run


def spawn_unshared(argv, want):
    """`unshare ARGV` (its own process: the tree's root), once want(pid) holds."""
    u = spawn([shutil.which("unshare")] + argv)
    if not wait_until(lambda: want(u), 5):
        kill_tree(u)
        raise Failure("setup: `unshare %s` did not get ready: children %s" % (
            " ".join(argv), [nspid(c) for c in children(u)]))
    return u


def dump_refused(b, root, patterns):
    """A dump of @root fails in one line matching @patterns; the tree runs on."""
    img = os.path.join(b.dir, "img")
    os.makedirs(img, exist_ok=True)
    b.snap_fails(["dump", "-t", str(root), "-D", img], patterns)
    if proc_state(root) not in ("S", "R"):
        raise Failure("pid %d is in state %s after the refused dump" % (root, proc_state(root)))


def bad_dump_pidns_nested_not_init(b):
    """`unshare --pid sh` (no --fork): sh's first child is pid 1 of the new
    namespace, its second pid 2 there, born into it from outside without
    being its init. Refused naming that pid."""
    root = spawn_unshared(["--pid", "/bin/sh", "-c", "sleep 100 & sleep 100 & wait"],
                          lambda u: len(children(u)) == 2)
    b.cleanups.append(lambda: kill_tree(root))
    second = [c for c in children(root) if nspid(c)[-1] != 1][0]
    dump_refused(b, root, [r"pid %d is in a pid namespace below its parent's .* not its init"
                           % second])


def bad_dump_pidns_nested_init_gone(b):
    """A nested namespace whose init exited: a zombie init is refused by
    its pid; once reaped, its parent's pid_for_children has no init in the
    tree, and the parent is refused."""
    prog = ("import os, sys, time\n"
            "pid = os.fork()\n"
            "if pid == 0: os._exit(0)\n"
            "if sys.argv[1] == 'reap': os.waitpid(pid, 0)\n"
            "open(sys.argv[2], 'w').close()\n"
            "time.sleep(100)\n")
    for how, pattern in (("zombie", r"pid \d+, the init of a nested pid namespace, has exited"),
                         ("reap", r"pid %d made a new pid namespace for its children .* whose "
                                  r"init is not in the tree")):
        ready = os.path.join(b.dir, how + ".ready")
        root = spawn_unshared(["--pid", "python3", "-c", prog, how, ready],
                              lambda u: os.path.exists(ready))
        b.cleanups.append(lambda r=root: kill_tree(r))
        dump_refused(b, root, [pattern % root if "%d" in pattern else pattern])


def bad_dump_pidns_nested_userns(b):
    """A nested pid namespace in a user namespace of its own (`unshare
    --user --map-root-user --pid --fork`) stays refused: user namespaces are
    not supported, and the refusal names the task."""
    root = spawn([shutil.which("sh"), "-c",
                  "unshare --user --map-root-user --pid --fork sleep 100 & wait"])
    b.cleanups.append(lambda: kill_tree(root))
    if not wait_until(lambda: children(root) and children(children(root)[0]), 5):
        raise Failure("setup: unshare --user --pid --fork did not start sleep")
    dump_refused(b, root, [r"pid \d+ is in another user namespace"])


def bad_restore_pidns_nested_init(b):
    """pstree.img edited so that the nested init of static/pidns_nested is
    pid 2 of its namespace: not an init, not in its parent's namespace.
    Refused naming pstree.img and the pid; nothing is left running."""
    r = b.image("static/pidns_nested")
    tree = snap_show(b, os.path.join(r.img, "pstree.img"))
    idx = [i for i, e in enumerate(tree) if e.get("ns_pid") == [1]]
    if len(idx) != 1:
        raise Failure("setup: pstree.img has no single nested init: %s" % tree)
    init = tree[idx[0]]["pid"]
    edit_records(os.path.join(r.img, "pstree.img"),
                 lambda i, p: set_fields(p, {14: 2}) if i == idx[0] else p)
    b.snap_fails(["restore", "-D", r.img, "-d"],
                 [r"pstree\.img: pid %d has 1 nested pid" % init], workdir=r.img)


def bad_dump_pidns_nested_proc(b):
    """In the ns flavour, the nested init of static/pidns_nested mounts a
    proc of its own (pidns_nested_proc) in the tree's mount namespace:
    restore would mount it anew for the tree's pid namespace, so dump
    refuses it naming the mount; the tree runs on."""
    t = tests.find("static/pidns_nested_proc")
    r = Run(b.ctx, t, b.dir, flavour=FLAVOURS["ns"], label="target")
    b.runs.append(r)
    r.start()
    dump_refused(b, r.pid, [r"mount \d+ at /dev/shm/nested-proc is the proc of another pid "
                            r"namespace"])
