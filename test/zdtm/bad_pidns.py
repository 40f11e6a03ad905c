"""Pid namespaces (snap/vpid.c, snap/cr/restore-pidns.c): a tree restored in
a new pid namespace keeps the image's pids there, because its root lived in
one of its own or because `snap restore --new-pidns` asks for one; snap
follows the tasks by their host pids. And what a restore must refuse."""

import os
import shutil

from bad_ns import edit_records, snap_show
from bad_restore import varint
from outcome import Failure
from proc import alive, kill_tree, proc_state, spawn, wait_until
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


def ns_pid_child(r, vpid):
    """The host pid of static/ns_pid's child that is @vpid in its namespace."""
    if not wait_until(lambda: any(nspid(c)[-1] == vpid for c in children(r.pid)), 5):
        raise Failure("setup: static/ns_pid has no pid %d: %s" % (vpid, children(r.pid)))
    return [c for c in children(r.pid) if nspid(c)[-1] == vpid][0]


def img_pidns_subtree(b):
    """A subtree of a pid namespace, whose root is not pid 1 there (pid 2 of
    static/ns_pid), comes back in a new pid namespace under snap's init,
    with its pid, its parent and its session as it sees them."""
    r = b.target("static/ns_pid")
    sub = ns_pid_child(r, 2)
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


def spawn_pidns(cmd):
    """`unshare --pid --fork sh -c CMD`, in a session of its own; the host pid
    of sh, pid 1 of the new namespace, once it has two children."""
    unshare = shutil.which("unshare")
    u = spawn([unshare, "--pid", "--fork", "/bin/sh", "-c", cmd])
    if not wait_until(lambda: children(u) and len(children(children(u)[0])) == 2, 5):
        kill_tree(u)
        raise Failure("setup: unshare --pid --fork sh did not start its two children")
    return u, children(u)[0]


def ns_ids(pid, field):
    """The pids of @pid's NSpid, NSpgid or NSsid line, snap's namespace first."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return [int(x) for x in line.split()[1:]]
    raise Failure("pid %d has no %s" % (pid, field))


def img_pidns_outside_session(b):
    """A container-like tree (sh at pid 1 of `unshare --pid --fork`, two
    children) whose session and group are outside its pid namespace: the
    images hold 0 for them and the pids as the namespace sees them; the
    restored tree has pid 1, 2 and 3 there again."""
    u, sh = spawn_pidns("sleep 100 & sleep 100 & wait")
    b.cleanups.append(lambda: kill_tree(u))
    img = os.path.join(b.dir, "img")
    os.mkdir(img)
    status, err = b.snap.run(["dump", "-t", str(sh), "-D", img, "-o", "dump.log", "-v", "4"],
                             img, "dump")
    if status != 0:
        raise Failure("dump: %s" % last_line(err), os.path.join(img, "dump.log"))
    tree = snap_show(b, os.path.join(img, "pstree.img"))
    got = sorted((e["pid"], e["ppid"], e["pgid"], e["sid"]) for e in tree)
    if got != [(1, 0, 0, 0), (2, 1, 0, 0), (3, 1, 0, 0)]:
        raise Failure("pstree.img holds (pid, ppid, pgid, sid) %s, expected 1, 2, 3 with "
                      "group and session 0" % got)
    pidfile = os.path.join(b.dir, "restored.pid")
    status, err = b.snap.run(["restore", "-D", img, "-d", "-o", "restore.log", "-v", "4",
                              "--pidfile", pidfile], img, "restore")
    if status != 0:
        raise Failure("restore: %s" % last_line(err), os.path.join(img, "restore.log"))
    with open(pidfile) as f:
        root = int(f.read())
    b.cleanups.append(lambda: kill_tree(root))
    kids = sorted(nspid(c)[-1] for c in children(root))
    if nspid(root)[-1] != 1 or kids != [2, 3]:
        raise Failure("restored: root %s, children %s; expected pid 1 with 2 and 3" % (
            nspid(root), kids))
    if ns_ids(root, "NSsid")[-1] != 0:
        raise Failure("restored root's session %s is inside its namespace" %
                      ns_ids(root, "NSsid"))


def bad_dump_pidns_outside_session(b):
    """A task whose session is outside the pid namespace while its parent's
    is not (pid 1 made a session after forking it) is refused by pid: a
    restore could not put it back there. The tree runs on."""
    u, sh = spawn_pidns("sleep 100 & sleep 100 & exec setsid sleep 100")
    b.cleanups.append(lambda: kill_tree(u))
    if not wait_until(lambda: ns_ids(sh, "NSsid")[-1] == 1, 5):
        raise Failure("setup: pid 1 did not make its session")
    img = os.path.join(b.dir, "img")
    os.mkdir(img)
    b.snap_fails(["dump", "-t", str(sh), "-D", img],
                 [r"pid \d+: its session \d+ is outside its pid namespace"])
    if proc_state(sh) not in ("S", "R"):
        raise Failure("pid %d is in state %s after the refused dump" % (sh, proc_state(sh)))


def read_varint(buf, off):
    v, shift = 0, 0
    while True:
        c = buf[off]
        off += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if not c & 0x80:
            return v, off


def set_fields(payload, values, nested=None):
    """@payload (a protobuf message) with its varint fields in @values
    ({field number: value}) set, and the first length-delimited field
    number nested[0] edited by set_fields(..., nested[1])."""
    out, off, done = b"", 0, False
    while off < len(payload):
        key, start = read_varint(payload, off)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, off = read_varint(payload, start)
            out += varint(key) + varint(values.get(field, v))
        elif wire == 2:
            n, body = read_varint(payload, start)
            part = payload[body:body + n]
            off = body + n
            if nested and field == nested[0] and not done:
                part, done = set_fields(part, nested[1]), True
            out += varint(key) + varint(len(part)) + part
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            out += payload[off:start + size]
            off = start + size
        else:
            raise Failure("setup: protobuf wire type %d in an image" % wire)
    return out


def bad_restore_pidns_pid1(b):
    """In a new pid namespace pid 1 is the root's or snap's init's: an image
    of a subtree (root pid 3 of static/ns_pid, the session leader) whose
    other task was made pid 1 is refused in one line naming pstree.img."""
    r = b.target("static/ns_pid")
    sub = ns_pid_child(r, 3)
    img = os.path.join(b.dir, "img")
    os.mkdir(img)
    status, err = b.snap.run(["dump", "-t", str(sub), "-D", img], img, "dump")
    if status != 0:
        raise Failure("setup: dump of pid %d: %s" % (sub, last_line(err)))
    tree = snap_show(b, os.path.join(img, "pstree.img"))
    if len(tree) != 2 or tree[0]["pid"] != 3:
        raise Failure("setup: pstree.img of the subtree: %s" % tree)
    old = tree[1]["pid"]
    edit_records(os.path.join(img, "pstree.img"),
                 lambda i, p: set_fields(p, {1: 1, 3: 1, 5: 1}) if i == 1 else p)
    edit_records(os.path.join(img, "core-%d.img" % old),
                 lambda i, p: set_fields(p, {1: 1}, (2, {1: 1})))
    for kind in ("core", "mm", "pagemap", "pages", "fdinfo"):
        src = os.path.join(img, "%s-%d.img" % (kind, old))
        if os.path.exists(src):
            os.rename(src, os.path.join(img, "%s-1.img" % kind))
    b.snap_fails(["restore", "-D", img, "-d"], [r"pstree\.img: pid 1 is not the tree's root"],
                 workdir=img)
