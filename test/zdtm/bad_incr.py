"""Bad-input tests of incremental dumps (snap pre-dump, dump --prev-images-dir):
a parent set missing, damaged, swapped for another, or of another process;
and a pre-dump given to restore. Each fails with one line naming what is
wrong, and nothing is left alive that should not be."""

import os
import re
import shutil
import time

from modes import MODES
from outcome import Failure
from proc import alive

WRITER = "static/incr_writer"


def incr_image(b):
    """A writer pre-dumped once, then dumped (and killed) on top of it."""
    r = b.target(WRITER)
    try:
        r.pre_dump(1)
        r.dump(MODES["predump"])
        r.wait_gone("dump")
    except Failure as f:
        raise Failure("setup: " + f.reason, f.log)
    return r


def restore_fails(b, r, mention):
    b.snap_fails(["restore", "-D", r.img, "-d"], mention, workdir=r.img)
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def bad_incr_parent_missing(b):
    r = incr_image(b)
    shutil.rmtree(os.path.join(r.dir, "pre1"))
    restore_fails(b, r, [r"parent set 1.*cannot be opened"])


def bad_incr_parent_trunc(b):
    r = incr_image(b)
    pre = os.path.join(r.dir, "pre1")
    pages = [f for f in os.listdir(pre) if f.startswith("pages-")]
    path = os.path.join(pre, pages[0])
    os.truncate(path, os.path.getsize(path) // 2)
    restore_fails(b, r, [r"parent 1: pages-\d+\.img"])


def bad_incr_parent_swapped(b):
    """The parent set replaced by a pre-dump of another process."""
    r = incr_image(b)
    other = b.target("static/mem_heap", label="other")
    pre = os.path.join(r.dir, "pre1")
    shutil.rmtree(pre)
    os.makedirs(pre)
    status, err = b.snap.run(["pre-dump", "-t", str(other.pid), "-D", pre], pre, "pre-dump")
    if status != 0:
        raise Failure("setup: pre-dump of pid %d failed: %s" % (other.pid, err.strip()))
    restore_fails(b, r, [r"parent set 1 is not the one"])


def bad_incr_parent_other_pid(b):
    """dump --prev-images-dir naming another process's pre-dump: refused, the target runs on."""
    r = b.target(WRITER)
    other = b.target("static/mem_heap", label="other")
    other.pre_dump(1)
    prev = os.path.relpath(os.path.join(other.dir, "pre1"), r.img)
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "--prev-images-dir", prev],
                 [r"holds a dump of pid %d, not of pid %d" % (other.pid, r.pid)])
    if not alive(r.pid):
        raise Failure("pid %d died of a refused dump" % r.pid)


def bad_incr_parent_full_dump(b):
    """A full dump is no parent: it has no write trackers (track.img)."""
    r = b.target(WRITER)
    prev = os.path.join(r.dir, "pre1")
    status, err = b.snap.run(["dump", "-R", "-t", str(r.pid), "-D", prev], r.dir, "full")
    if status != 0:
        raise Failure("setup: dump -R failed: %s" % err.strip())
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "--prev-images-dir", "../pre1"],
                 [r"no track\.img"])
    if not alive(r.pid):
        raise Failure("pid %d died of a refused dump" % r.pid)


def bad_incr_restore_predump(b):
    r = b.target(WRITER)
    r.pre_dump(1)
    pre = os.path.join(r.dir, "pre1")
    b.snap_fails(["restore", "-D", pre, "-d"], [r"is a pre-dump"], workdir=pre)


def img_incr_dedup(b):
    """A chain of three pre-dumps and a dump, folded by `snap dedup`: the set then
    restores alone (the pre-dumps removed) and the writer checks every byte."""
    r = b.target(WRITER)
    try:
        for i in (1, 2, 3):
            r.pre_dump(i)
        r.dump(MODES["predump3"])
        r.wait_gone("dump")
    except Failure as f:
        raise Failure("setup: " + f.reason, f.log)
    status, err = b.snap.run(["dedup", "-D", r.img], r.dir, "dedup")
    if status != 0:
        raise Failure("snap dedup failed: %s" % err.strip(), os.path.join(r.dir, "dedup.err"))
    if os.path.lexists(os.path.join(r.img, "parent")):
        raise Failure("the parent link is still there after dedup")
    for i in (1, 2, 3):
        shutil.rmtree(os.path.join(r.dir, "pre%d" % i))
    r.restore()
    r.finish("dedup and restore")


def catchup_fails(b, r, action, more=()):
    """A dump of @r on ../pre1 whose hook fails at @action, after its catch-up
    rounds; the writer must run on."""
    script = os.path.join(r.dir, "fail-%s.sh" % action)
    with open(script, "w") as f:
        f.write('#!/bin/sh\n[ "$CRTOOLS_SCRIPT_ACTION" = %s ] && exit 3\nexit 0\n' % action)
    os.chmod(script, 0o755)
    os.makedirs(r.img, exist_ok=True)
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "--prev-images-dir", "../pre1",
                  "--track-mem", "--action-script", script] + list(more),
                 [re.escape(script) + " failed at " + action], workdir=r.img)
    if os.path.exists(os.path.join(r.img, "inventory.img")):
        raise Failure("a failed dump left inventory.img")
    r.check_running("a dump failing at " + action)
    time.sleep(0.5)


def bad_incr_catchup_failed(b):
    """A final dump that fails after its catch-up rounds (a network-lock hook that
    fails, before the freeze copies anything): the rounds protected pages the parent
    does not hold, so the trackers are reset; a second dump on the same parent must
    not take those pages for the parent's. The writer checks every byte."""
    r = b.target(WRITER)
    r.pre_dump(1)
    catchup_fails(b, r, "network-lock")
    r.dump(MODES["predump"])
    r.wait_gone("dump")
    r.restore()
    r.finish("restore")


def bad_incr_catchup_failed_live(b):
    """-R on a parent catches up and holds too; here it fails at its post-dump hook,
    frozen, every page held and the trackers already closed in the writer: the
    writer runs on, no inventory.img is left, and a later dump on the same parent
    (which finds no tracker, and saves every page) restores it byte for byte."""
    r = b.target(WRITER)
    r.pre_dump(1)
    catchup_fails(b, r, "post-dump", ["-R"])
    r.dump(MODES["predump"])
    r.wait_gone("dump")
    r.restore()
    r.finish("restore")
