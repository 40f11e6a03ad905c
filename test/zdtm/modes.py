"""Modes and flavours of the zdtm runner, as two tables.

A mode says how a test is checkpointed and restored; a flavour, in what
environment the test runs. A test lists the modes and flavours it supports
in its .desc (README.md); the runner runs it once per (mode, flavour) pair
that both it and the mode allow, and testrun.Run.run() carries out the
mode's entry step by step: nothing outside this file knows a mode by name.

Adding a mode is adding an entry to MODES; a mode that needs a step the
fields below cannot say gets a new field here and the step in Run.run(),
run when the field is set (see the entries to come at the end of MODES).
"""

import os
from dataclasses import dataclass
from typing import Callable, Optional

from proc import kill_tree


def kill_restored(run):
    """SIGKILL the restored tree and wait until it is gone, so that the same
    images can be restored again with the same pids."""
    kill_tree(run.pid)
    run.wait_gone("SIGKILL")


@dataclass(frozen=True)
class Mode:
    name: str            # as the tests' .desc name it
    suffix: str          # appended to the test's name in its result line
    doc: str
    # The dump leaves the task running (--leave-running): it must still run
    # and pass; the task restored from the image must pass as well.
    leave_running: bool = False
    dump_args: tuple = ()     # more arguments of `snap dump`, after --leave-running
    # What the `live:` line of a live test's --display-stats must say: the
    # dump was live (and then the test's stats are checked) or not.
    live: bool = False
    restores: int = 1         # times the images are restored
    # Run between two restores, given the testrun.Run: makes way for the next one.
    between: Optional[Callable] = None
    # The original and the restored task exist at once: the test's huge
    # pages are reserved twice over.
    side_by_side: bool = False
    # The pages go to a `snap page-server` (pageserver.py) on a local port,
    # which writes them into the same image directory as the dump's other
    # images; it must exit 0 after the dump.
    page_server: bool = False
    flavours: tuple = ("h",)  # the flavours (FLAVOURS) this mode applies to
    # `snap pre-dump -D ../preN` this many times before the dump (each on top of
    # the one before), PRE_DUMP_PAUSE s apart while the task runs; the dump then
    # adds --prev-images-dir ../preN --track-mem.
    pre_dumps: int = 0
    restore_args: tuple = ()  # more arguments of `snap restore`
    # A `snap lazy-pages` server is started on the images before each restore;
    # once the test passed it must exit by itself, with status 0.
    lazy_server: bool = False
    # With lazy_server: the whole set is copied to a "served" directory
    # beside the images, where a `snap page-server` on 127.0.0.1 serves it;
    # the images lose their pages-*.img, and `snap lazy-pages --page-server`
    # takes every page from that server. Both must exit 0.
    lazy_remote: bool = False
    # restore --new-pidns: the restored task has another host pid (snap's
    # init's, pid 1 of the new namespace): the runner follows the restore's
    # --pidfile, and the test checks its pids inside.
    new_pid: bool = False

    def __post_init__(self):
        if self.restores > 1 and self.between is None:
            raise ValueError("mode %s restores %d times with nothing in between" % (
                self.name, self.restores))

    def dump_cmd_args(self):
        """What this mode adds to `snap dump`."""
        prev = (("--prev-images-dir", "../pre%d" % self.pre_dumps, "--track-mem")
                if self.pre_dumps else ())
        return (("--leave-running",) if self.leave_running else ()) + self.dump_args + prev

    def restore_what(self):
        """The last restore, as a failure reason names it."""
        return "restore" if self.restores == 1 else "the %s restore" % ORDINAL[self.restores]


ORDINAL = {2: "second", 3: "third", 4: "fourth"}
PRE_DUMP_PAUSE = 0.3


@dataclass(frozen=True)
class Flavour:
    name: str            # as the tests' .desc name it
    suffix: str          # appended to the test's name (before the mode's) in its result line
    doc: str
    wrap: tuple = ()     # command the test program is started under
    # The test lives in a pid namespace of its own: restored, it has another
    # host pid, which the runner takes from the restore's --pidfile.
    new_pid: bool = False


def table(*entries):
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise ValueError("duplicate names in %s" % names)
    return {e.name: e for e in entries}


MODES = table(
    Mode("default", "", "dump (which kills the task) and restore once", flavours=("h", "ns")),
    # Only for tests whose checks change nothing outside the process (no file
    # writes): the original and the restored task both check.
    Mode("leave-running", ":leave-running",
         "dump --leave-running (a live dump where snap has them), check that the task "
         "still runs and passes, then restore from the image and check that too",
         leave_running=True, live=True, side_by_side=True),
    Mode("twice", ":twice",
         "dump, restore, SIGKILL the restored task, restore again from the same images",
         restores=2, between=kill_restored),
    # "leave-running" for live-snapshot tests, named after the test alone: the
    # task races the live dump and must still pass, and so must the restored one.
    Mode("live", "",
         "a live dump (snap's default with --leave-running) that the task races; "
         "it must say `live: yes` and meet the test's stats",
         leave_running=True, live=True, side_by_side=True),
    # "live" with the other way to keep the pages while they stream.
    Mode("live-splice", ":live-splice",
         "a live dump that holds the pages in pipes, write-protected (--live-hold splice), "
         "not in a forked holder; otherwise as live",
         leave_running=True, live=True, side_by_side=True, dump_args=("--live-hold", "splice")),
    # The control of "live": the same with the stop-the-world dump.
    Mode("no-live", ":no-live",
         "dump --leave-running --no-live, the stop-the-world dump, then as leave-running",
         leave_running=True, dump_args=("--no-live",), side_by_side=True),
    Mode("new-pidns", ":new-pidns",
         "dump, restore --new-pidns: in a new pid namespace under snap's init, keeping "
         "the pids there",
         restore_args=("--new-pidns",), new_pid=True),
    Mode("lazy", ":lazy",
         "restore --lazy-pages, its pages served by `snap lazy-pages` on the images",
         restore_args=("--lazy-pages",), lazy_server=True),
    Mode("lazy-page-server", ":lazy-page-server",
         "restore --lazy-pages without pages-*.img: `snap lazy-pages --page-server` takes "
         "every page from a `snap page-server` on 127.0.0.1 serving a copy of the set",
         restore_args=("--lazy-pages",), lazy_server=True, lazy_remote=True),

    Mode("page-server", ":page-server",
         "dump --page-server to `snap page-server` on 127.0.0.1 writing into the same "
         "image directory (which kills the task), then restore once",
         page_server=True),
    Mode("page-server-live", ":page-server-live",
         "dump --leave-running --page-server (a live dump: the pages stream over TCP "
         "while the task runs), then as leave-running",
         leave_running=True, live=True, side_by_side=True, page_server=True),

    # Incremental dumps: the task runs through the pre-dumps; the dump saves
    # only what was written since the last one, and restore walks the chain.
    Mode("predump", ":predump",
         "snap pre-dump while the task runs, then dump --prev-images-dir --track-mem "
         "on top, restore",
         pre_dumps=1),
    # Not live: on a parent, -R catches up while the task runs and holds the
    # last writes, frozen, instead of forking a holder (snap.8, --prev-images-dir).
    Mode("predump-live", ":predump-live",
         "pre-dump, then dump --leave-running on top (caught up and held, not live); "
         "both tasks check",
         pre_dumps=1, leave_running=True, side_by_side=True),
    Mode("predump3", ":predump3",
         "a chain of three pre-dumps, then the dump on top of the last, restore",
         pre_dumps=3),
    # Each round's pages go to a `snap page-server` writing into that round's
    # directory (../preN side by side, the parent links made by the server).
    Mode("predump-page-server", ":predump-page-server",
         "a chain of two pre-dumps and the dump on top, each through `snap page-server` "
         "on 127.0.0.1 into its set's directory; restore from those directories",
         pre_dumps=2, page_server=True),
    # Lazy restore of the chain as it is (no snap dedup): lazy-pages resolves it.
    Mode("predump-lazy", ":predump-lazy",
         "two pre-dumps, the dump on top, restore --lazy-pages of the chain as it is",
         pre_dumps=2, restore_args=("--lazy-pages",), lazy_server=True),
    Mode("predump-lazy-page-server", ":predump-lazy-page-server",
         "two pre-dumps, the dump on top, restore --lazy-pages with every page from a "
         "`snap page-server` serving the chain (it resolves the parents)",
         pre_dumps=2, restore_args=("--lazy-pages",), lazy_server=True, lazy_remote=True),
)


FLAVOURS = table(
    Flavour("h", "", "host: the test runs in snap's own namespaces"),

    # ns/nsrun builds the root and writes the test's host pid into its
    # pidfile: the rest of the run is as on the host.
    Flavour("ns", "@ns", "the test runs as pid 1 of new pid, mount, ipc, uts and net "
            "namespaces, pivot_root'ed into a root of its own (proc, sysfs, a tmpfs /dev "
            "with devpts, shm and mqueue)",
            wrap=(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ns", "nsrun"),),
            new_pid=True),
)


# Tests that do not run in the "ns" flavour yet, and why. Each is either a
# test that cannot run as pid 1 of a container-like root, or a known gap of
# snap's namespace support (Documentation/architecture.md, "Namespaces").
NS_NOT_YET = {
    # The test's own design does not fit: not snap's gaps.
    "apps/pydict": "python apps daemonize with a fork; as pid 1 that kills the namespace",
    "apps/unix_asyncio": "python apps daemonize with a fork",
    "apps/unix_asyncio_poll": "python apps daemonize with a fork",
    "static/creds": "drops root before its pidfile is written, which pid 1 writes itself",
    "static/ns_pid": "makes its own pid namespace layout; it is the pid-namespace test",
    "static/mnt_tree": "builds a root with pivot_root of its own: nested in nsrun's",
    "static/netlink_sk": "writes a uevent through /sys, read-only in the flavour's root",
    "static/unix_ext": "its peer is outside the tree's pid namespace, in another session",
    "static/cgroup_tree": "moves itself between host cgroups; the flavour's root mounts none",
    "static/cgroup_forker": "freezes through the host's v1 freezer; the flavour's root mounts none",
}
