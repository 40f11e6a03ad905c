"""Bad-input tests of lazy restore: the page source dies while the restored
process still misses pages. Each takes a bad.BadRun and raises
outcome.Failure or outcome.Skip; bad.BAD lists them."""

import os
import re
import signal

from outcome import Failure
from proc import alive, descendants, kill, wait_until


def bad_lazy_server_killed(b):
    """SIGKILL `snap lazy-pages` just after the restore: its guard kills the
    restored process (which would otherwise read zeros or wait forever) and
    says so in one line; nothing is left running."""
    r = b.image("static/mem_lazy_1g")
    sock = os.path.join(r.img, "lazy-pages.sock")
    before = descendants()
    server = b.snap.start(["lazy-pages", "-D", r.img, "-o", "lazy-pages.log", "-v", "4"],
                          r.img, "lazy-pages")
    if not wait_until(lambda: os.path.exists(sock), 10):
        raise Failure("snap lazy-pages did not listen within 10 s", r.log("lazy-pages"))
    status, err = b.snap.run(["restore", "-D", r.img, "-d", "--lazy-pages", "-o",
                              "restore.log", "-v", "4"], r.img, "restore")
    if status != 0:
        raise Failure("setup: restore --lazy-pages failed: %s" % err.strip(), r.log("restore"))
    # Only the server: its guard is what must act.
    kill(server, signal.SIGKILL)
    if not wait_until(lambda: not alive(r.pid), 10):
        raise Failure("pid %d still runs 10 s after its page server died" % r.pid)
    errfile = os.path.join(r.img, "lazy-pages.err")
    if not wait_until(lambda: not (set(descendants()) - set(before)), 10):
        raise Failure("processes left running: %s" % sorted(set(descendants()) - set(before)))
    with open(errfile, errors="replace") as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    want = r"page server \(pid %d\) died before pid %d had all its memory; pid %d killed" % (
        server, r.pid, r.pid)
    if len(lines) != 1 or not re.search(want, lines[0]):
        raise Failure("lazy-pages said %r, expected one line matching %r" % (lines, want),
                      errfile)
