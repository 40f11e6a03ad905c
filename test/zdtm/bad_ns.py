"""Namespace ids: ns.img lists each namespace of a dumped tree once and
pstree.img's entries refer to it (snap/ns/); restore refuses an ns.img that
is damaged or does not match pstree.img."""

import json
import os
import re
import zlib

from bad_restore import flip_middle, restore_damaged, truncate_half, varint
from outcome import Failure
from proc import alive, run_cmd
from snap import last_line

NS_KINDS = ("pid", "net", "mnt", "ipc", "uts", "user", "cgroup", "time")


def snap_show(b, path):
    """`snap show PATH`, decoded."""
    ok, out = run_cmd([b.snap.path, "show", path])
    if not ok:
        raise Failure("`snap show %s` failed: %s" % (path, last_line(out)))
    try:
        return json.loads(out)["entries"]
    except (ValueError, KeyError) as e:
        raise Failure("`snap show %s` is not the JSON expected: %r" % (path, e))


def edit_records(path, edit):
    """Rewrite the image at @path with each record's payload replaced by
    edit(index, payload), framed again with its length and CRC."""
    with open(path, "rb") as f:
        data = f.read()
    out, off, i = bytearray(data[:4]), 4, 0
    while off + 8 <= len(data):
        n = int.from_bytes(data[off:off + 4], "little")
        payload = edit(i, data[off + 8:off + 8 + n])
        out += len(payload).to_bytes(4, "little") + zlib.crc32(payload).to_bytes(4, "little")
        out += payload
        off += 8 + n
        i += 1
    with open(path, "wb") as f:
        f.write(out)


def ns_ids_bytes(ids):
    """pstree_entry.ns (field 10) as protobuf-c packs it: ns_ids fields in number order."""
    fields = list(NS_KINDS) + ["pid_for_children", "time_for_children"]
    body = b"".join(bytes([(n + 1) << 3]) + varint(ids[f])
                    for n, f in enumerate(fields) if f in ids)
    return b"\x52" + varint(len(body)) + body


def check_ns_ids(b, test):
    r = b.image(test)
    ns = snap_show(b, os.path.join(r.img, "ns.img"))
    tree = snap_show(b, os.path.join(r.img, "pstree.img"))
    kinds = [k for k in NS_KINDS if os.path.exists("/proc/self/ns/" + k)]
    by_kind = {}
    for e in ns:
        k = e["kind"][len("NS_"):].lower()
        if k in by_kind:
            raise Failure("%s: ns.img lists two %s namespaces, ids %d and %d" % (
                test, k, by_kind[k]["id"], e["id"]))
        by_kind[k] = e
    if sorted(by_kind) != sorted(kinds):
        raise Failure("%s: ns.img lists %s, expected one each of %s" % (
            test, sorted(by_kind), sorted(kinds)))
    if len({e["id"] for e in ns}) != len(ns) or 0 in {e["id"] for e in ns}:
        raise Failure("%s: ns.img ids repeat or are 0: %s" % (test, [e["id"] for e in ns]))
    # snap runs in the runner's namespaces: each entry is snap's own.
    for k, e in by_kind.items():
        st = os.stat("/proc/self/ns/" + k)
        if (e["inode"], e.get("dev"), e.get("own")) != (st.st_ino, st.st_dev, True):
            raise Failure("%s: ns.img %s entry %s, expected inode %d dev %d own" % (
                test, k, e, st.st_ino, st.st_dev))
    want = {k: by_kind[k]["id"] for k in kinds}
    for k in ("pid", "time"):
        if os.path.exists("/proc/self/ns/%s_for_children" % k):
            want[k + "_for_children"] = by_kind[k]["id"]
    alive_tasks = [p for p in tree if p.get("state") != "TASK_ZOMBIE"]
    if len(alive_tasks) < 2:
        raise Failure("setup: %s dumped %d live processes, expected a tree" % (
            test, len(alive_tasks)))
    for p in tree:
        if p.get("state") == "TASK_ZOMBIE":
            if "ns" in p:
                raise Failure("%s: zombie %d has namespace ids %s" % (test, p["pid"], p["ns"]))
        elif p.get("ns") != want:
            raise Failure("%s: pid %d has namespace ids %s, expected %s" % (
                test, p["pid"], p.get("ns"), want))
    return r, want


def img_ns_ids(b):
    """Dumps of trees (zombies in the second) list each namespace once in
    ns.img, snap's own, with the inodes of /proc/self/ns; every live task's
    pstree.img entry refers to them, zombies to none."""
    check_ns_ids(b, "static/pstree")
    check_ns_ids(b, "static/pstree_states")


def img_ns_old_images(b):
    """Images from before ns.img (no ns.img, no ns in pstree.img) restore."""
    r, want = check_ns_ids(b, "static/pstree")
    os.unlink(os.path.join(r.img, "ns.img"))
    field = ns_ids_bytes(want)
    edit_records(os.path.join(r.img, "pstree.img"), lambda i, p: p.replace(field, b""))
    if any("ns" in p for p in snap_show(b, os.path.join(r.img, "pstree.img"))):
        raise Failure("setup: the ns field is still in pstree.img")
    r.restore()
    r.finish()


def bad_restore_ns_trunc(b):
    restore_damaged(b, r"ns\.img", truncate_half, ["truncated"], test="static/pstree")


def bad_restore_ns_corrupt(b):
    restore_damaged(b, r"ns\.img", flip_middle, ["corrupted"], test="static/pstree")


def ns_restore_refused(b, image, edit, mention, r=None):
    """Images of static/pstree (or of @r) with @image edited (see
    edit_records): the restore fails with one line naming @image and saying
    @mention."""
    r = r or b.image("static/pstree")
    edit_records(os.path.join(r.img, image), edit)
    err = b.snap_fails(["restore", "-D", r.img, "-d"], [re.escape(image)], workdir=r.img)
    if not re.search(mention, err):
        raise Failure("the error does not say what is wrong: %s" % last_line(err))
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def bad_restore_ns_dup_id(b):
    """ns.img with two entries of one id (the second made the first's, 1)."""
    def edit(i, p):
        if i == 1 and p.startswith(b"\x08\x02"):
            return b"\x08\x01" + p[2:]
        return p
    ns_restore_refused(b, "ns.img", edit, r"\b1\b.*twice")


def bad_restore_ns_kind(b):
    """ns.img with a kind no snap knows (ns_entry.kind, field 2, made 42)."""
    def edit(i, p):
        if i == 0 and p[2:4] == b"\x10\x01":
            return p[:2] + b"\x10\x2a" + p[4:]
        return p
    ns_restore_refused(b, "ns.img", edit, r"unknown kind 42")


def bad_restore_ns_missing_id(b):
    """pstree.img whose root refers to a net namespace id ns.img lacks."""
    r, ids = check_ns_ids(b, "static/pstree")
    field = ns_ids_bytes(ids)

    def edit(i, p):
        if i == 0:
            if field not in p:
                raise Failure("setup: namespace ids %s not found in pstree.img" % ids)
            return p.replace(field, ns_ids_bytes(dict(ids, net=99)))
        return p
    ns_restore_refused(b, "pstree.img", edit, r"net namespace is id 99", r)

# A tree a restore could not rebuild: the middle process left the session
# after its child was born there, so the child's session is neither its own
# nor its parent's. Prints the three pids, then sleeps.
LOST_SESSION = """
import os, sys, time
if os.getsid(0) != os.getpid():
    os.setsid()
r, w = os.pipe()
if os.fork() == 0:
    c = os.fork()
    if c == 0:
        time.sleep(600)
        os._exit(0)
    os.setsid()
    os.write(w, ("%d %d %d\\n" % (os.getppid(), os.getpid(), c)).encode())
    time.sleep(600)
    os._exit(0)
print(os.read(r, 100).decode(), flush=True)
time.sleep(600)
"""
