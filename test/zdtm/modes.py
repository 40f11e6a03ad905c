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
    flavours: tuple = ("h",)  # the flavours (FLAVOURS) this mode applies to
    # `snap pre-dump -D ../preN` this many times before the dump (each on top of
    # the one before), PRE_DUMP_PAUSE s apart while the task runs; the dump then
    # adds --prev-images-dir ../preN --track-mem.
    pre_dumps: int = 0

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


def table(*entries):
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise ValueError("duplicate names in %s" % names)
    return {e.name: e for e in entries}


MODES = table(
    Mode("default", "", "dump (which kills the task) and restore once"),
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
    # The control of "live": the same with the stop-the-world dump.
    Mode("no-live", ":no-live",
         "dump --leave-running --no-live, the stop-the-world dump, then as leave-running",
         leave_running=True, dump_args=("--no-live",), side_by_side=True),

    # Incremental dumps: the task runs through the pre-dumps; the dump saves
    # only what was written since the last one, and restore walks the chain.
    Mode("predump", ":predump",
         "snap pre-dump while the task runs, then dump --prev-images-dir --track-mem "
         "on top, restore",
         pre_dumps=1),
    Mode("predump-live", ":predump-live",
         "pre-dump, then a live dump --leave-running on top; both tasks check",
         pre_dumps=1, leave_running=True, live=True, side_by_side=True),
    Mode("predump3", ":predump3",
         "a chain of three pre-dumps, then the dump on top of the last, restore",
         pre_dumps=3),

    # To come, one entry each; the fields they need go in Mode, the steps in
    # testrun.Run.run(), run when the field is set:
    #
    # Mode("lazy", ":lazy",
    #      "restore --lazy-pages, its pages served by `snap lazy-pages` on the images",
    #      restore_args=("--lazy-pages",), lazy_server=True),
    #   restore_args: added to `snap restore`; lazy_server: a lazy-pages server
    #   started on the images before each restore, stopped after the check.
    #
    # Mode("page-server", ":page-server",
    #      "dump through `snap page-server` on a local port, then restore",
    #      page_server=True),
    #   page_server: a page server writing into the image dir before the dump,
    #   which then gets --page-server --address 127.0.0.1 --port P.
)


FLAVOURS = table(
    Flavour("h", "", "host: the test runs in snap's own namespaces"),

    # To come:
    # Flavour("ns", "@ns", "the test runs as pid 1 of new pid, mount, ipc, uts and "
    #         "net namespaces", wrap=("/usr/bin/unshare", "--pid", "--mount", "--ipc",
    #         "--uts", "--net", "--fork", "--mount-proc")),
    #   The pidfile then holds the pid inside the namespace: Run.start() reads
    #   the host pid of that task (NSpid in /proc/PID/status of the wrapper's
    #   child) to dump. Modes that support it add "ns" to their flavours, tests
    #   add it to theirs in their .desc.
)
