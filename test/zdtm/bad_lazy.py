"""Bad-input tests of lazy restore: the page source dies while the restored
process still misses pages. Each takes a bad.BadRun and raises
outcome.Failure or outcome.Skip; bad.BAD lists them."""

import os
import re
import signal

from outcome import Failure
from proc import alive, descendants, kill, wait_until


def host_pid_of(ns_pid, among):
    """The pid, of @among, that is @ns_pid in a pid namespace below ours."""
    for pid in among:
        try:
            with open("/proc/%d/status" % pid) as f:
                nspid = [l.split()[1:] for l in f if l.startswith("NSpid:")][0]
        except (OSError, IndexError):
            continue
        if len(nspid) == 2 and int(nspid[1]) == ns_pid:
            return pid
    raise Failure("no process below is pid %d of a new pid namespace" % ns_pid)


def server_killed(b, new_pidns):
    """SIGKILL `snap lazy-pages` just after the restore: its guard kills the
    restored process (which would otherwise read zeros or wait forever) and
    says so in one line, naming it by its pid in snap's pid namespace;
    nothing is left running."""
    r = b.image("static/mem_lazy_1g")
    sock = os.path.join(r.img, "lazy-pages.sock")
    before = descendants()
    server = b.snap.start(["lazy-pages", "-D", r.img, "-o", "lazy-pages.log", "-v", "4"],
                          r.img, "lazy-pages")
    if not wait_until(lambda: os.path.exists(sock), 10):
        raise Failure("snap lazy-pages did not listen within 10 s", r.log("lazy-pages"))
    status, err = b.snap.run(["restore", "-D", r.img, "-d", "--lazy-pages", "-o",
                              "restore.log", "-v", "4"] + (["--new-pidns"] if new_pidns else []),
                             r.img, "restore")
    if status != 0:
        raise Failure("setup: restore --lazy-pages failed: %s" % err.strip(), r.log("restore"))
    pid = host_pid_of(r.pid, set(descendants()) - set(before)) if new_pidns else r.pid
    # Only the server: its guard is what must act.
    kill(server, signal.SIGKILL)
    if not wait_until(lambda: not alive(pid), 10):
        raise Failure("pid %d still runs 10 s after its page server died" % pid)
    errfile = os.path.join(r.img, "lazy-pages.err")
    if not wait_until(lambda: not (set(descendants()) - set(before)), 10):
        raise Failure("processes left running: %s" % sorted(set(descendants()) - set(before)))
    with open(errfile, errors="replace") as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    want = r"page server \(pid %d\) died before pid %d had all its memory; pid %d killed" % (
        server, pid, pid)
    if len(lines) != 1 or not re.search(want, lines[0]):
        raise Failure("lazy-pages said %r, expected one line matching %r" % (lines, want),
                      errfile)


def bad_lazy_server_killed(b):
    server_killed(b, False)


def bad_lazy_server_killed_pidns(b):
    """The same, the tree restored into a new pid namespace (--new-pidns)."""
    server_killed(b, True)
