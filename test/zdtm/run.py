#!/usr/bin/env python3
"""zdtm-style test runner for snap.

Each zdtm test is a program started as `prog --pidfile=P --outfile=O`; P
appears once it is ready (see lib/zdtmtst.h). The runner dumps that pid with
snap, restores it, sends SIGTERM and reads PASS or FAIL from O.

    run.py [--snap PATH] [--nodump] [-k SUBSTR] [--keep]

Prints one line per test (PASS name / FAIL name: reason / SKIP name: reason),
each with the seconds it took in brackets, so the slow ones can be found,
and ends with "N passed, N failed[, N skipped]"; exits 1 if anything failed.

The tests are the programs in static/ and apps/, sorted by name, each run
in every mode (modes.py) and flavour its NAME.desc lists (default: one
dump and restore), then the bad-input tests (bad.py) in their order.
README.md says how to add a test, a .desc key, a bad-input test or a mode.

Live-snapshot tests (live: True in their .desc, and bad/live_*) are skipped
unless snap has the live mode (`--no-live` in `snap --help`) and `snap check`
reports UFFD_FEATURE_WP; their dumps run with --display-stats, which must say
`live: yes` or `live: no` as the mode says and, when live, meet the test's
stats (e.g. `cow peak memory` under its --cow-limit). Other tests with stats
have them checked on every dump.

Tests that need pages in swap (needs_swap) run with whatever swap is on; if
there is none, the runner makes a zram swap device for them the first time
one runs, and removes it at the end (see zram.py). When it cannot, those
tests are skipped with the reason.

Tests that map hugetlb memory (hugepages: N) get that many free 2 MiB huge
pages (twice as many where the original and the restored task run side by
side): the runner adds the shortfall to /proc/sys/vm/nr_hugepages before the
test and takes it back after, and skips the test if the kernel cannot find
them (hugepages.py).

The runner is a child subreaper and reaps at once (proc.py), so a pid is
free again as soon as its task is gone.

Modules: proc.py (processes), terminal.py (ptys), snap.py (running snap),
hugepages.py, zram.py, outcome.py (Failure, Skip), modes.py (the mode and
flavour tables), tests.py (the .desc loader), testrun.py (one test in one
mode), bad.py with bad_dump.py, bad_restore.py, bad_live.py (bad input).
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time

import zram
from bad import BAD, BadRun
from modes import FLAVOURS, MODES
from outcome import Failure, Skip
from proc import become_subreaper, kill_descendants, run_cmd
from snap import Snap
from testrun import Ctx, Run, tail
import tests

HERE = os.path.dirname(os.path.abspath(__file__))
ZRAM_SIZE = "1G"       # the zram swap made for the tests that need swap, if none is on


def entries():
    """(name, what, first) for every entry, in order: what is a Run's
    arguments (test, mode, flavour) or a bad-input function; first is true
    for the first entry of each test (the one --nodump runs)."""
    for t in tests.load():
        n = 0
        for mode in (MODES[m] for m in t.modes):
            # A test that runs in the ns flavour only runs there in each of its modes.
            for fl in (FLAVOURS[f] for f in t.flavours
                       if f in mode.flavours or t.flavours == ("ns",)):
                yield t.name + fl.suffix + mode.suffix, (t, mode, fl), n == 0
                n += 1
    for name, fn in BAD:
        yield name, fn, False


def report(verdict, name, reason="", log=None, secs=None):
    line = "%s %s" % (verdict, name)
    if reason:
        line += ": " + reason
    if secs is not None:
        line += " [%.1f s]" % secs
    if log:
        line += " (see %s)" % log
    print(line, flush=True)
    if verdict == "FAIL" and log:
        for l in tail(log):
            print("    " + l)
        sys.stdout.flush()


# Settings of the machine that tests change and the suite puts back at the
# end (static/inet_raw allows ping sockets for its group: its restore needs
# that too, so it cannot put it back itself).
SYSCTLS = ("/proc/sys/net/ipv4/ping_group_range",)


def saved_sysctls():
    saved = {}
    for path in SYSCTLS:
        try:
            with open(path) as f:
                saved[path] = f.read()
        except OSError:
            pass
    return saved


def put_back(saved):
    for path, value in saved.items():
        try:
            with open(path, "w") as f:
                f.write(value)
        except OSError as e:
            print("run.py: could not put %s back: %s" % (path, e), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description="Run the zdtm tests against snap.")
    ap.add_argument("--snap", default=os.path.join(HERE, "../../snap/snap"),
                    help="the snap binary (default: %(default)s)")
    ap.add_argument("--nodump", action="store_true",
                    help="run the tests without snap: start, SIGTERM, check PASS")
    ap.add_argument("-k", "--filter", default="", help="run tests whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the images and logs")
    opts = ap.parse_args()

    snap = Snap(os.path.abspath(opts.snap))
    if not opts.nodump and not os.access(snap.path, os.X_OK):
        sys.exit("run.py: no snap binary at %s (build it, pass --snap, or use --nodump)" %
                 snap.path)
    try:
        todo = [e for e in entries() if opts.filter in e[0]]
    except tests.DescError as e:
        sys.exit("run.py: %s" % e)

    become_subreaper()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("run.py: terminated"))
    ctx = Ctx(opts, snap, zram.ZramSwap(run_cmd, ZRAM_SIZE))
    root = tempfile.mkdtemp(prefix="zdtm-")
    os.chmod(root, 0o755)  # tests that drop to other uids still reach their outfile
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    failed_dirs = []
    sysctls = saved_sysctls()
    try:
        for name, what, first in todo:
            if opts.nodump and not first:
                report("SKIP", name, "nodump")
                counts["SKIP"] += 1
                continue
            started = time.monotonic()
            if callable(what):
                run = BadRun(ctx, name, root)
                verdict, reason, log = attempt(run, what)
            else:
                test, mode, flavour = what
                run = Run(ctx, test, root, mode, flavour)
                verdict, reason, log = attempt(run)
            counts[verdict] += 1
            report(verdict, name, reason, log, time.monotonic() - started)
            if verdict == "FAIL":
                failed_dirs.append(run.dir)
            elif not opts.keep:
                shutil.rmtree(run.dir, ignore_errors=True)
    finally:
        kill_descendants()
        put_back(sysctls)
        err = ctx.swap.teardown()
        if err:
            print("run.py: could not remove the test swap: %s" % err, file=sys.stderr)
        if opts.keep or failed_dirs:
            print("images and logs are in %s" % root)
        else:
            shutil.rmtree(root, ignore_errors=True)

    summary = "%d passed, %d failed" % (counts["PASS"], counts["FAIL"])
    if counts["SKIP"]:
        summary += ", %d skipped" % counts["SKIP"]
    print(summary)
    return 1 if counts["FAIL"] else 0


def attempt(run, fn=None):
    """Run one test; (verdict, reason, log). Whatever happens, nothing is left running."""
    try:
        if fn:
            fn(run)
        else:
            run.run()
        return "PASS", "", None
    except Failure as f:
        return "FAIL", f.reason, f.log
    except Skip as s:
        return "SKIP", str(s), None
    except (OSError, ValueError, StopIteration, tests.DescError) as e:
        return "FAIL", "runner error: %r" % e, None
    finally:
        run.cleanup()
        kill_descendants()
        if not run.ctx.opts.nodump:
            run.ctx.snap.release_locks(run.dir)


if __name__ == "__main__":
    sys.exit(main())
