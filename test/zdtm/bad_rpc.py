"""snap's CRIU RPC (snap swrk FD, snap/rpc/): the answers runc relies on
(VERSION, FEATURE_CHECK), a dump and a restore driven over the socket with
every hook answered as a NOTIFY, and the errors: each comes back as one reply
with success=false and the line the command line prints, and snap exits
cleanly (status 1, no signal) with nothing left behind."""

import os
import re
import socket

import rpc
from outcome import Failure
from proc import describe, descendants, exit_code, run_cmd
from snap import last_line

DUMP_KILL_HOOKS = ["pre-dump", "network-lock", "post-dump"]
DUMP_LIVE_HOOKS = ["pre-dump", "post-dump"]
RESTORE_HOOKS = ["pre-restore", "setup-namespaces", "post-setup-namespaces", "post-restore",
                 "pre-resume", "network-unlock", "post-resume"]


def ppid_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    return int(data[data.rindex(")") + 2:].split()[1])


def call(b, req, on_notify=None):
    s = rpc.Swrk(b.snap.path, b.dir)
    resp, status, notified = s.call(req, on_notify)
    if resp is None:
        raise Failure("no reply from snap swrk (%s)" % describe(status),
                      os.path.join(b.dir, "swrk.err"))
    return resp, status, notified


def expect_error(b, req, mention, status_ok=(1,)):
    """One reply, success=false, naming @mention; snap exits 1, nothing left."""
    before = descendants()
    resp, status, _ = call(b, req)
    errfile = os.path.join(b.dir, "swrk.err")
    if resp.success:
        raise Failure("the request succeeded, expected an error naming %s" % mention, errfile)
    if not resp.errmsg or mention not in resp.errmsg:
        raise Failure("cr_errmsg %r does not name %s" % (resp.errmsg, mention), errfile)
    if exit_code(status) not in status_ok:
        raise Failure("snap swrk %s, expected exit 1" % describe(status), errfile)
    left = descendants() - before
    if left:
        raise Failure("processes left behind: %s" % sorted(left), errfile)
    return resp


def opts_for(r, img_fd, **more):
    return dict(images_dir_fd=img_fd, log_file=more.pop("log_file", "rpc.log"), log_level=4,
                notify_scripts=True, **more)


def rpc_version(b):
    resp, status, _ = call(b, rpc.request(rpc.VERSION))
    v = resp.version or {}
    if not resp.success or resp.type != rpc.VERSION or 1 not in v or 2 not in v:
        raise Failure("VERSION answered %r %r" % (resp, v))
    num = v[1][0] * 10000 + v[2][0] * 100
    if num < 31600:
        raise Failure("VERSION says %d, runc needs at least 31600" % num)
    if 6 not in v or not v[6][0].startswith(b"snap "):
        raise Failure("VERSION does not name snap: %r" % v)
    if exit_code(status) != 0:
        raise Failure("snap swrk %s after VERSION" % describe(status))
    # Installed as criu (runc >= 1.2 runs `criu` from PATH): the same answers.
    link = os.path.join(b.dir, "criu")
    os.symlink(b.snap.path, link)
    resp, status, _ = rpc.Swrk(link, b.dir).call(rpc.request(rpc.VERSION))
    if resp is None or not resp.success or exit_code(status) != 0:
        raise Failure("`criu swrk 3` through a symlink answered %r (%s)" % (
            resp, describe(status)), os.path.join(b.dir, "swrk.err"))
    ok, out = run_cmd([link, "--version"])
    if not ok:
        raise Failure("`criu --version` through a symlink failed: %r" % out)
    first = out.splitlines()[0] if out else ""
    if not re.match(r"Version: (\d+)\.(\d+)$", first.strip()):
        raise Failure("`criu --version` says %r, not CRIU's 'Version: X.Y'" % first, out)


def rpc_features(b):
    resp, status, _ = call(b, rpc.request(rpc.FEATURE_CHECK))
    f = resp.features
    if not resp.success or f is None:
        raise Failure("FEATURE_CHECK answered %r without features" % resp)
    # runc's --pre-dump asks for mem_track, --lazy-pages for lazy_pages; no pidfd store.
    for num, name, want in ((1, "mem_track", 1), (2, "lazy_pages", 1), (3, "pidfd_store", 0)):
        if f.get(num) != [want]:
            raise Failure("FEATURE_CHECK says %s=%s, expected %d" % (name, f.get(num), want))


def dump_restore(b, leave_running):
    r = b.target("static/mem_heap")
    img = os.open(r.img, os.O_RDONLY | os.O_DIRECTORY)
    work = os.open(b.dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        seen = []
        resp, status, notified = call(b, rpc.request(rpc.DUMP, opts_for(
            r, img, pid=r.pid, leave_running=leave_running, work_dir_fd=work,
            log_file="dump.log", manage_cgroups=True, empty_ns=0x40000000,
            config_file="/nonexistent/runc.conf", root="/", lazy_pages=False,
            freeze_cgroup="")),
            lambda name, pid: seen.append(name) or True)
        if not resp.success or exit_code(status) != 0:
            raise Failure("RPC dump failed: %s" % resp.errmsg, os.path.join(b.dir, "dump.log"))
        want = DUMP_LIVE_HOOKS if leave_running else DUMP_KILL_HOOKS
        if [n for n, _ in notified] != want:
            raise Failure("dump notified %s, expected %s" % ([n for n, _ in notified], want))
        if any(p != r.pid for _, p in notified):
            raise Failure("dump notifications name pids %s, expected %d" % (notified, r.pid))
        if not os.path.exists(os.path.join(b.dir, "dump.log")):
            raise Failure("log_file did not go to the work directory")
        if leave_running:
            r.check_running("an RPC dump with leave_running")
            r.finish("an RPC dump with leave_running (the original task)")
            r.clear_result()
        else:
            r.wait_gone("an RPC dump")
        # At post-restore snap still runs: the root must be our child already, as
        # runc waits for it (rst_sibling); once snap is gone it would be ours anyway.
        parents = {}
        resp, status, notified = call(b, rpc.request(rpc.RESTORE, opts_for(
            r, img, rst_sibling=True, work_dir_fd=work, log_file="restore.log")),
            lambda name, pid: pid <= 0 or parents.setdefault(name, ppid_of(pid)) or True)
        log = os.path.join(b.dir, "restore.log")
        if not resp.success or exit_code(status) != 0:
            raise Failure("RPC restore failed: %s" % resp.errmsg, log)
        got = (resp.restore or {}).get(1, [None])[0]
        if got != r.pid:
            raise Failure("restore answered pid %s, expected %d" % (got, r.pid), log)
        if [n for n, _ in notified] != RESTORE_HOOKS:
            raise Failure("restore notified %s, expected %s" % (
                [n for n, _ in notified], RESTORE_HOOKS), log)
        if parents.get("post-restore") != os.getpid():
            raise Failure("at post-restore, pid %d is the child of %s, not of the caller %d "
                          "(rst_sibling)" % (r.pid, parents.get("post-restore"), os.getpid()),
                          log)
        r.finish("an RPC restore")
    finally:
        os.close(img)
        os.close(work)


def rpc_dump_restore(b):
    dump_restore(b, False)


def rpc_dump_restore_live(b):
    dump_restore(b, True)


def bad_rpc_dump_nopid(b):
    """The same line as `snap dump -t PID` prints."""
    pid = 4000000
    while os.path.exists("/proc/%d" % pid):
        pid -= 1
    cli = last_line(b.snap_fails(["dump", "-t", str(pid), "-D", "img"], [str(pid)]))
    img = os.open(b.dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        resp = expect_error(b, rpc.request(rpc.DUMP, dict(images_dir_fd=img, pid=pid)),
                            str(pid))
    finally:
        os.close(img)
    want = cli[len("snap: "):] if cli.startswith("snap: ") else cli
    if resp.errmsg != want:
        raise Failure("cr_errmsg %r is not the CLI's line %r" % (resp.errmsg, want))


def bad_rpc_restore_empty(b):
    """A restore from an empty images directory: the CLI's line."""
    empty = os.path.join(b.dir, "empty")
    os.makedirs(empty)
    cli = last_line(b.snap_fails(["restore", "-D", empty], ["empty"]))
    fd = os.open(empty, os.O_RDONLY | os.O_DIRECTORY)
    try:
        resp = expect_error(b, rpc.request(rpc.RESTORE, dict(images_dir_fd=fd)), "empty")
    finally:
        os.close(fd)
    want = cli[len("snap: "):] if cli.startswith("snap: ") else cli
    if resp.errmsg != want:
        raise Failure("cr_errmsg %r is not the CLI's line %r" % (resp.errmsg, want))


def bad_rpc_images_fd(b):
    expect_error(b, rpc.request(rpc.DUMP, dict(images_dir_fd=997, pid=1)),
                 "images_dir_fd 997")


def bad_rpc_malformed(b):
    resp = expect_error(b, b"\x0a\xff\xff", "malformed")
    if resp.type != rpc.EMPTY:
        raise Failure("a malformed request answered with type %s, expected EMPTY" % resp.type)
    # Truncated: a string whose length runs past the end.
    expect_error(b, rpc.request(rpc.DUMP, dict(images_dir_fd=3, pid=1))[:-2], "malformed")
    # No type at all: a required field missing.
    expect_error(b, rpc.field(3, 1), "malformed")


def bad_rpc_unsupported(b):
    expect_error(b, rpc.request(rpc.PAGE_SERVER), "request type 5")
    fd = os.open(b.dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        # A lazy dump serves its pages on ps: without one it has nowhere to listen.
        expect_error(b, rpc.request(rpc.DUMP, dict(images_dir_fd=fd, pid=1, lazy_pages=True)),
                     "lazy_pages needs ps")
        expect_error(b, rpc.request(rpc.DUMP, dict(images_dir_fd=fd, pid=1,
                                                   manage_cgroups_mode=9)),
                     "manage_cgroups_mode 9")
        expect_error(b, rpc.request(rpc.DUMP, dict(images_dir_fd=fd)), "opts.pid")
        expect_error(b, rpc.request(rpc.DUMP, dict(images_dir_fd=fd, pid=1, empty_ns=0x20000)),
                     "empty_ns 0x20000")
        # A field number snap does not know (999): refused, not ignored.
        expect_error(b, rpc.field(1, rpc.DUMP) + rpc.field(
            2, rpc.encode_opts(images_dir_fd=fd, pid=1) + rpc.field(999, 1)), "field 999")
    finally:
        os.close(fd)


def bad_rpc_notify_fails(b):
    """The caller fails post-dump: the dump fails with that line and the task runs on."""
    r = b.target("static/mem_heap")
    img = os.open(r.img, os.O_RDONLY | os.O_DIRECTORY)
    try:
        resp, status, notified = call(b, rpc.request(rpc.DUMP, dict(
            images_dir_fd=img, pid=r.pid, notify_scripts=True)),
            lambda name, pid: name != "post-dump")
    finally:
        os.close(img)
    if resp.success or "post-dump" not in (resp.errmsg or ""):
        raise Failure("a failed post-dump notification answered %r" % resp)
    if exit_code(status) != 1:
        raise Failure("snap swrk %s, expected exit 1" % describe(status))
    r.check_running("a dump whose post-dump notification failed")
    r.finish("a dump whose post-dump notification failed")


def bad_rpc_restore_hangup(b):
    """The caller hangs up at post-restore (runc's handler failed): snap gives
    up, the restored tree (the caller's child, rst_sibling) is killed, and the
    pid is free for another restore."""
    r = b.image("static/mem_heap")
    img = os.open(r.img, os.O_RDONLY | os.O_DIRECTORY)
    try:
        s = rpc.Swrk(b.snap.path, b.dir)
        resp, status, notified = s.call(rpc.request(rpc.RESTORE, dict(
            images_dir_fd=img, notify_scripts=True, rst_sibling=True)),
            lambda name, pid: None if name == "post-restore" else True)
    finally:
        os.close(img)
    err = os.path.join(b.dir, "swrk.err")
    if [n for n, _ in notified][-1:] != ["post-restore"]:
        raise Failure("notified %s, expected to end at post-restore" % notified, err)
    if exit_code(status) != 1:
        raise Failure("snap swrk %s after the caller hung up, expected exit 1" %
                      describe(status), err)
    lines = s.err().strip().splitlines()
    if len(lines) != 1 or "post-restore" not in lines[0]:
        raise Failure("snap's stderr is not one line naming post-restore: %r" % lines, err)
    r.wait_gone("a restore whose caller hung up")
    r.restore()
    r.finish("a restore after one whose caller hung up")


def swrk_fails(b, s, mention):
    """snap swrk with a socket it cannot serve: exit 1, one line naming @mention."""
    before = descendants()
    resp, status, _ = s.call(rpc.request(rpc.VERSION), timeout=10)
    err = os.path.join(b.dir, "swrk.err")
    if exit_code(status) != 1:
        raise Failure("snap swrk %s, expected exit 1" % describe(status), err)
    lines = s.err().strip().splitlines()
    if len(lines) != 1 or mention not in lines[0]:
        raise Failure("expected one line naming %r, got %r" % (mention, lines), err)
    if resp is not None:
        raise Failure("snap answered %r on a socket it refused" % resp, err)
    left = descendants() - before
    if left:
        raise Failure("processes left behind: %s" % sorted(left), err)


def bad_rpc_bad_fd(b):
    """The fd swrk is given is not open, not a socket, or a stream socket."""
    swrk_fails(b, rpc.Swrk(b.snap.path, b.dir, sk_fd=77), "fd 77 is not a socket")
    swrk_fails(b, rpc.Swrk(b.snap.path, b.dir, sk_fd=0), "fd 0 is not a socket")
    swrk_fails(b, rpc.Swrk(b.snap.path, b.dir, sock_type=socket.SOCK_STREAM),
               "not a SOCK_SEQPACKET socket")
    for arg in ("x", "-1", ""):
        status, err = b.snap.run(["swrk", arg], b.dir, "swrk-arg")
        if exit_code(status) != 1 or "fd of its socket" not in err:
            raise Failure("`snap swrk '%s'` %s: %r" % (arg, describe(status), err))


def bad_rpc_unknown_type(b):
    """A type CRIU's rpc.proto does not have (77), and one snap does not serve."""
    expect_error(b, rpc.request(77), "request type 77")
    expect_error(b, rpc.request(rpc.CHECK), "request type 3")


def bad_rpc_truncated_opts(b):
    """A DUMP whose options end inside a field, and one cut after its type."""
    fd = os.open(b.dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        full = rpc.request(rpc.DUMP, dict(images_dir_fd=fd, pid=1, log_file="x.log"))
        for cut in (1, 3, len(full) // 2):
            expect_error(b, full[:-cut], "malformed")
    finally:
        os.close(fd)


def bad_rpc_inherit_fd(b):
    """RESTORE with inherit_fd naming an fd snap was not given: one error naming
    it, before anything is made (the pid stays free)."""
    r = b.image("static/mem_heap")
    img = os.open(r.img, os.O_RDONLY | os.O_DIRECTORY)
    try:
        expect_error(b, rpc.request(rpc.RESTORE, dict(
            images_dir_fd=img, inherit_fd=[("pipe:[12345]", 57)])), "fd 57 is not open")
    finally:
        os.close(img)
    if os.path.exists("/proc/%d" % r.pid):
        raise Failure("pid %d exists after a restore refused for its inherit_fd" % r.pid)


def bad_rpc_lsm(b):
    """lsm_profile: accepted with no labelling LSM on the host (this one),
    refused by name with one. The host decides which is checked."""
    r = b.target("static/mem_heap")
    img = os.open(r.img, os.O_RDONLY | os.O_DIRECTORY)
    try:
        lsm = os.path.exists("/sys/fs/selinux/enforce") or \
            os.path.exists("/sys/module/apparmor/parameters/enabled")
        req = rpc.request(rpc.DUMP, dict(images_dir_fd=img, pid=r.pid, leave_running=True,
                                         lsm_profile="apparmor:runc-default"))
        if lsm:
            expect_error(b, req, "lsm_profile")
        else:
            resp, status, _ = call(b, req)
            if not resp.success or exit_code(status) != 0:
                raise Failure("a dump with lsm_profile and no LSM in use failed: %s" %
                              resp.errmsg, os.path.join(b.dir, "swrk.err"))
    finally:
        os.close(img)
    r.check_running("a dump with lsm_profile")
    r.finish("a dump with lsm_profile")
