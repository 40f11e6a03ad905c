"""The zdtm tests and their metadata, read from the .desc files next to them.

A test program is static/NAME.c (built to static/NAME by make) or
apps/NAME.py (run by python3). Its metadata, if it needs any, is in
NAME.desc beside it: a Python literal (a dict), read with ast.literal_eval,
whose keys are those of DEFAULTS below, and which may describe several tests
of the one program under "variants". README.md says what each key means.
A program without a .desc is one test with the defaults.

load() returns every test, sorted by name: the order of a run.
"""

import ast
import dataclasses
import os
from dataclasses import dataclass

from modes import NS_NOT_YET, FLAVOURS, MODES
from proc import PYTHON

HERE = os.path.dirname(os.path.abspath(__file__))
DIRS = ("static", "apps")     # where the test programs are, under HERE

# Every key of a .desc and its value when the .desc does not set it.
DEFAULTS = {
    "modes": ("default",),
    "flavours": ("h", "ns"),
    "args": (),
    "wrap": (),
    "dump_args": (),
    "restore_args": (),
    "restore_env": (),
    "tty": False,
    "start_timeout": 10,
    "result_timeout": 10,
    "max_image_pages": None,
    "live": False,
    "stats": (),
    "needs_swap": False,
    "hugepages": 0,
    "hugetlbfs": False,
    "new_pid": False,
}
STAT_OPS = ("==", "<=", ">", ">=")


@dataclass(frozen=True)
class Test:
    """One program under the zdtm contract and how to run it (see DEFAULTS)."""
    name: str            # DIR/NAME, as result lines show it
    program: tuple       # the program, with its interpreter if it needs one
    modes: tuple
    flavours: tuple
    args: tuple
    wrap: tuple
    dump_args: tuple
    restore_args: tuple
    restore_env: tuple   # NAME=VALUE strings, added to every snap restore's environment
    tty: bool
    start_timeout: int
    result_timeout: int
    max_image_pages: object
    live: bool
    stats: tuple
    needs_swap: bool
    hugepages: int
    # A hugetlbfs (2 MiB pages) is mounted at the test's path "hugetlbfs"
    # (OUTFILE.hugetlbfs) before it starts, and unmounted after: on the
    # runner's mounts, so only the "h" flavour can have it.
    hugetlbfs: bool
    # The restored task has another host pid (it is in a pid namespace of
    # its own, or restored under --new-pidns): the runner takes it from the
    # restore's --pidfile; the test checks its pids in its namespace.
    new_pid: bool

    @property
    def cmd(self):
        return list(self.wrap) + list(self.program) + list(self.args)

    def but(self, **changes):
        """This test with some keys changed: a target of the bad-input tests."""
        return dataclasses.replace(self, **changes)


class DescError(Exception):
    """A .desc the runner cannot use: the message names it."""


def program(d, stem):
    """How to run the program DIR/STEM, or None if there is none."""
    if os.path.exists(os.path.join(HERE, d, stem + ".c")):
        return (os.path.join(HERE, d, stem),)
    if os.path.exists(os.path.join(HERE, d, stem + ".py")):
        return (PYTHON, os.path.join(HERE, d, stem + ".py"))
    return None


def check_keys(where, keys):
    unknown = sorted(set(keys) - set(DEFAULTS))
    if unknown:
        raise DescError("%s: unknown key%s %s (the keys are in test/zdtm/README.md)" % (
            where, "s" if len(unknown) > 1 else "", ", ".join(unknown)))


def make_test(where, name, prog, keys):
    """The Test @name from its .desc @keys (defaults filled in), checked."""
    kw = dict(DEFAULTS, **keys)
    for k, v in kw.items():
        if isinstance(v, list):
            kw[k] = tuple(v)
    for k in ("modes", "flavours", "args", "wrap", "dump_args", "restore_args", "restore_env",
              "stats"):
        if not isinstance(kw[k], tuple) or any(isinstance(x, str) != (k != "stats")
                                               for x in kw[k]):
            raise DescError("%s: %s: %s must be a list of %s" % (
                where, name, k, "(stat, op, value)" if k == "stats" else "strings"))
    if any("=" not in e for e in kw["restore_env"]):
        raise DescError("%s: %s: restore_env must be NAME=VALUE strings" % (where, name))
    for m in kw["modes"]:
        if m not in MODES:
            raise DescError("%s: %s: no mode '%s' (modes.py has %s)" % (
                where, name, m, ", ".join(MODES)))
    for f in kw["flavours"]:
        if f not in FLAVOURS:
            raise DescError("%s: %s: no flavour '%s' (modes.py has %s)" % (
                where, name, f, ", ".join(FLAVOURS)))
    stats = []
    for s in kw["stats"]:
        if len(s) not in (3, 4) or s[1] not in STAT_OPS or (len(s) == 4 and s[3] not in MODES):
            raise DescError("%s: %s: stat %r is not (stat, op, value[, mode]), op one of %s" % (
                where, name, s, " ".join(STAT_OPS)))
        stats.append(tuple(s))
    kw["stats"] = tuple(stats)
    # A test the ns flavour cannot take yet runs on the host only (NS_NOT_YET says why).
    if "flavours" not in keys and name in NS_NOT_YET:
        kw["flavours"] = tuple(f for f in kw["flavours"] if f != "ns")
    return Test(name=name, program=prog, **kw)


def read_desc(path, where):
    with open(path) as f:
        text = f.read()
    try:
        desc = ast.literal_eval(text)
    except (SyntaxError, ValueError) as e:
        raise DescError("%s: not a Python literal: %s" % (where, e))
    if not isinstance(desc, dict):
        raise DescError("%s: not a dict" % where)
    return desc


def tests_of(d, stem):
    """The tests of the program DIR/STEM: those its .desc describes, or one
    with the defaults."""
    prog = program(d, stem)
    path = os.path.join(HERE, d, stem + ".desc")
    where = os.path.relpath(path, HERE)
    if prog is None:
        raise DescError("%s: no program %s.c or %s.py next to it" % (where, stem, stem))
    if not os.path.exists(path):
        return [make_test(where, "%s/%s" % (d, stem), prog, {})]
    desc = read_desc(path, where)
    variants = desc.pop("variants", {stem: {}})
    check_keys(where, desc)
    if not isinstance(variants, dict):
        raise DescError("%s: variants must be a dict: test name -> its keys" % where)
    tests = []
    for name, keys in variants.items():
        if not isinstance(keys, dict):
            raise DescError("%s: %s: its keys must be a dict" % (where, name))
        check_keys("%s: %s" % (where, name), keys)
        tests.append(make_test(where, "%s/%s" % (d, name), prog, dict(desc, **keys)))
    return tests


_loaded = None


def load():
    """Every test, sorted by name. Raises DescError."""
    global _loaded
    if _loaded is None:
        found = {}
        for d in DIRS:
            stems = {os.path.splitext(f)[0] for f in os.listdir(os.path.join(HERE, d))
                     if f.endswith((".c", ".py", ".desc"))}
            for stem in sorted(stems):
                for t in tests_of(d, stem):
                    if t.name in found:
                        raise DescError("%s is described twice" % t.name)
                    found[t.name] = t
        _loaded = [found[n] for n in sorted(found)]
    return _loaded


def find(name):
    """The test called @name (DIR/NAME)."""
    for t in load():
        if t.name == name:
            return t
    raise DescError("no test %s" % name)
