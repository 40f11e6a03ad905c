"""The network lock (snap/net/netlock.h) and the action scripts
(snap/cr/action-script.h). A TCP connection between two of the runner's own
sockets stands for one a dump kills: its end is put in TCP_REPAIR and closed,
which sends nothing, as a dump's kill does. Unlocked, the peer's next send
gets a reset; locked (by `snap netlock --lock` or by a dump's --lock-conn),
the peer's packets are dropped and it keeps retransmitting, until the unlock
(by hand, or by the restore) lets the reset come. Action scripts log the
environment they get; one failing at each hook must fail the command with
one line and undo everything."""

import json
import os
import re
import socket
import tempfile
import time

from bad_ns import edit_records, snap_show
from bad_restore import flip_middle, truncate_half
from outcome import Failure, Skip
from proc import alive, exit_code, kill, run_cmd, spawn, wait_exit
from snap import last_line, snap_failed

TCP_REPAIR = 19
TCP_ESTABLISHED, TCP_CLOSE = 1, 7
LOCKED_S = 1.2      # how long a locked peer is watched retransmitting
RESET_S = 30        # the unlocked peer's next retransmission (backing off) gets the reset by then

DUMP_HOOKS = ("pre-dump", "network-lock", "post-dump")
RESTORE_HOOKS = ("pre-restore", "setup-namespaces", "post-setup-namespaces", "post-restore",
                 "pre-resume", "network-unlock", "post-resume")

HOOK = """#!/bin/sh
echo "$CRTOOLS_SCRIPT_ACTION|$CRTOOLS_IMAGE_DIR|$CRTOOLS_INIT_PID" >> %s
[ "$CRTOOLS_SCRIPT_ACTION" = "$SNAP_TEST_FAIL_AT" ] && exit 3
exit 0
"""


# TCP: a connection whose "end" a dump would kill, and its peer.

def tcp_pair(family=socket.AF_INET, host=None):
    host = host or ("127.0.0.1" if family == socket.AF_INET else "::1")
    lsn = socket.socket(family)
    try:
        lsn.bind((host, 0))
    except OSError as e:
        raise Skip("no %s loopback: %s" % (host, e))
    lsn.listen()
    peer = socket.socket(family)
    peer.connect(lsn.getsockname()[:2])
    end, _ = lsn.accept()
    lsn.close()
    return end, peer


def conn_arg(end):
    """The end's 4-tuple as --lock-conn takes it: local, then remote."""
    def fmt(addr):
        host, port = addr[:2]
        return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
    return "%s-%s" % (fmt(end.getsockname()), fmt(end.getpeername()))


def silent_close(end):
    """Closed as a dump's kill closes it: in repair mode, nothing is sent."""
    end.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    end.close()


def tcp_info(sock):
    """(state, retransmits in a row, unacked segments) from TCP_INFO."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return info[0], info[2], int.from_bytes(info[24:28], "little")


def peer_send(peer, data=b"ping"):
    try:
        peer.send(data)
    except OSError as e:
        raise Failure("the peer's send failed at once: %s" % e)


def wait_reset(peer, what, timeout=RESET_S):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if tcp_info(peer)[0] != TCP_ESTABLISHED:
            break
        time.sleep(0.05)
    state = tcp_info(peer)[0]
    if state != TCP_CLOSE:
        raise Failure("%s: the peer got no reset in %d s (state %d)" % (what, timeout, state))
    try:
        peer.send(b"x")
    except (ConnectionResetError, BrokenPipeError):
        return
    raise Failure("%s: the peer's socket is closed but a send still succeeds" % what)


def check_dropped(peer, what):
    """The peer's packets are dropped, not answered: it stays ESTABLISHED and retransmits."""
    retrans = 0
    deadline = time.time() + LOCKED_S
    while time.time() < deadline:
        state, r, unacked = tcp_info(peer)
        if state != TCP_ESTABLISHED:
            raise Failure("%s: the peer's connection is in state %d, not established "
                          "(a reset got through the lock)" % (what, state))
        retrans = max(retrans, r)
        time.sleep(0.05)
    if not retrans or not unacked:
        raise Failure("%s: the peer is not retransmitting (%d retransmissions, %d unacked)"
                      % (what, retrans, unacked))


# snap commands.

def run_output(argv, timeout=30):
    """Run @argv: (it exited 0, its stdout and stderr), empty output kept empty."""
    with tempfile.TemporaryFile() as out:
        pid = spawn(argv, stdout=out.fileno())
        status = wait_exit(pid, timeout)
        if status is None:
            kill(pid)
            wait_exit(pid, 5)
        out.seek(0)
        return exit_code(status) == 0, out.read().decode(errors="replace")


def snap_ok(b, args, workdir, name, env=None):
    status, err, out = b.snap.run_stats(args, workdir, name, env=env)
    if status != 0:
        raise Failure(snap_failed("`snap %s`" % " ".join(args), status, err),
                      os.path.join(workdir, name + ".err"))
    return out


def lock_list(b, workdir, netns=None):
    """`snap netlock --list` (in @netns): {table: (images dir, [4-tuples])}."""
    argv = [b.snap.path, "netlock", "--list"]
    if netns:
        argv = ["/usr/sbin/ip", "netns", "exec", netns] + argv
    ok, out = run_output(argv)
    if not ok:
        raise Failure("`snap netlock --list` failed: %s" % last_line(out))
    locks, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"(snap-\d+-\d+)  locked \S+ \S+  images (.*)$", line)
        if m:
            cur = locks[m.group(1)] = (m.group(2), [])
        elif line.startswith("  ") and cur:
            cur[1].append(line.strip())
        elif line.strip():
            raise Failure("`snap netlock --list` printed an unexpected line: %s" % line)
    return locks


def locks_of(b, img):
    """The tables --list shows for the images in @img."""
    real = os.path.realpath(img)
    return {t: conns for t, (d, conns) in lock_list(b, img).items() if d == real}


def unlock_quietly(b, img):
    """Cleanup: the lock of @img goes if it is still there."""
    if os.path.exists(os.path.join(img, "netlock.img")):
        run_cmd([b.snap.path, "netlock", "--unlock", "-D", img])


def hook_script(b):
    """An action script logging each hook to hooks.log; it fails at $SNAP_TEST_FAIL_AT."""
    path = os.path.join(b.dir, "hook.sh")
    log = os.path.join(b.dir, "hooks.log")
    with open(path, "w") as f:
        f.write(HOOK % log)
    os.chmod(path, 0o755)
    return path, log


def read_hooks(log):
    try:
        with open(log) as f:
            lines = [l.rstrip("\n").split("|") for l in f if l.strip()]
    except FileNotFoundError:
        return []
    os.unlink(log)
    return lines


def dump(b, r, extra, env=None, name="dump"):
    args = ["dump", "-t", str(r.pid), "-D", r.img, "-o", name + ".log", "-v", "4"] + extra
    status, err = b.snap.run(args, r.img, name, env=env)
    if status != 0:
        raise Failure(snap_failed("dump", status, err), os.path.join(r.img, name + ".log"))


def restore_args(r, extra, name="restore"):
    return ["restore", "-D", r.img, "-d", "-o", name + ".log", "-v", "4"] + extra


def fail_env(hook):
    return dict(os.environ, SNAP_TEST_FAIL_AT=hook)


# The tests.

def lock_tcp(b, family, host=None):
    end, peer = tcp_pair(family, host)
    peer0 = None
    img = os.path.join(b.dir, "img")
    try:
        # Unlocked: the reset a dump's kill would cause.
        end0, peer0 = tcp_pair(family, host)
        silent_close(end0)
        peer_send(peer0)
        wait_reset(peer0, "unlocked", timeout=5)

        conn = conn_arg(end)
        out = snap_ok(b, ["netlock", "--lock", "-D", img, "--lock-conn", conn], b.dir, "lock")
        table = out.strip()
        locks = locks_of(b, img)
        # An IPv4-mapped IPv6 connection sends IPv4 packets: it is locked (and listed) as IPv4.
        shown = re.sub(r"\[::ffff:([0-9.]+)\]", r"\1", conn)
        if list(locks) != [table] or locks[table] != [shown]:
            raise Failure("--list shows %s for %s, expected %s with %s" % (locks, img, table,
                                                                           shown))
        # Both ways: what the locked end sends does not reach the peer either.
        end.send(b"out")
        peer.settimeout(0.5)
        try:
            got = peer.recv(16)
            raise Failure("the peer received %r from the locked end" % got)
        except socket.timeout:
            pass
        silent_close(end)
        peer_send(peer)
        check_dropped(peer, "locked")

        snap_ok(b, ["netlock", "--unlock", "-D", img], b.dir, "unlock")
        if locks_of(b, img) or os.path.exists(os.path.join(img, "netlock.img")):
            raise Failure("--unlock -D left the lock or its netlock.img")
        wait_reset(peer, "after --unlock")
        b.snap_fails(["netlock", "--unlock", "-D", img], [r"no netlock\.img"])
    finally:
        unlock_quietly(b, img)
        for s in (end, peer, peer0):
            if s:
                s.close()


def lock_tcp_ipv4(b):
    lock_tcp(b, socket.AF_INET)


def lock_tcp_ipv6(b):
    lock_tcp(b, socket.AF_INET6)


def lock_tcp_v4mapped(b):
    lock_tcp(b, socket.AF_INET6, "::ffff:127.0.0.1")


def lock_dump_restore(b):
    """A dump that kills locks what --lock-conn lists, the restore unlocks it;
    the hooks run in order with CRIU's environment."""
    script, log = hook_script(b)
    r = b.target()
    end, peer = tcp_pair()
    try:
        conn = conn_arg(end)
        dump(b, r, ["--action-script", script, "--lock-conn", conn])
        r.wait_gone("dump")
        silent_close(end)
        peer_send(peer)
        locks = locks_of(b, r.img)
        if len(locks) != 1 or list(locks.values())[0] != [conn]:
            raise Failure("after the dump --list shows %s, expected one lock of %s" % (locks,
                                                                                     conn))
        table = list(locks)[0]
        if not table.startswith("snap-%d-" % r.pid):
            raise Failure("the dump's table is %s, not named after pid %d" % (table, r.pid))
        nl = snap_show(b, os.path.join(r.img, "netlock.img"))
        if len(nl) != 1 or nl[0].get("table") != table or nl[0].get("method") != "NETLOCK_NFT":
            raise Failure("netlock.img is %s, expected table %s" % (json.dumps(nl), table))
        check_dropped(peer, "dumped")

        imgdir, pid = os.path.realpath(r.img), str(r.pid)
        want = [[h, imgdir, pid] for h in DUMP_HOOKS]
        got = read_hooks(log)
        if got != want:
            raise Failure("the dump's hooks saw %s, expected %s" % (got, want))

        status, err = b.snap.run(restore_args(r, ["--action-script", script]), r.img, "restore")
        if status != 0:
            raise Failure(snap_failed("restore", status, err), os.path.join(r.img, "restore.log"))
        want = [[h, imgdir, "" if h == "pre-restore" else pid] for h in RESTORE_HOOKS]
        got = read_hooks(log)
        if got != want:
            raise Failure("the restore's hooks saw %s, expected %s" % (got, want))
        if locks_of(b, r.img):
            raise Failure("the restore left the lock: %s" % locks_of(b, r.img))
        wait_reset(peer, "after the restore")
        r.finish("restore")
    finally:
        unlock_quietly(b, r.img)
        end.close()
        peer.close()


def bad_lock_hook_dump(b):
    """A script failing at each dump hook: one line naming it and the hook,
    the process runs on, no lock, no complete image set."""
    script, log = hook_script(b)
    for hook in DUMP_HOOKS:
        r = b.target(label=hook)
        try:
            args = ["dump", "-t", str(r.pid), "-D", r.img, "--action-script", script,
                    "--lock-conn", "127.0.0.1:1-127.0.0.1:2"]
            b.snap_fails(args, [re.escape(script) + " failed at " + hook], workdir=r.img,
                         env=fail_env(hook))
            r.check_running("a dump failing at %s" % hook)
            left = [f for f in ("inventory.img", "netlock.img")
                    if os.path.exists(os.path.join(r.img, f))]
            if left or locks_of(b, r.img):
                raise Failure("a dump failing at %s left %s" % (
                    hook, left or "its lock: %s" % locks_of(b, r.img)))
            ran = [h[0] for h in read_hooks(log)]
            want = list(DUMP_HOOKS[:DUMP_HOOKS.index(hook) + 1])
            if hook == "post-dump":
                want.append("network-unlock")
            if ran != want:
                raise Failure("a dump failing at %s ran %s, expected %s" % (hook, ran, want))
            r.finish("a dump failing at %s" % hook)
        finally:
            unlock_quietly(b, r.img)


def bad_lock_hook_restore(b):
    """A script failing at each restore hook before the tree runs: one line,
    nothing left alive, the lock kept for another restore (as CRIU keeps
    it); at post-resume the tree runs on and the lock is gone."""
    script, log = hook_script(b)
    r = b.target()
    try:
        dump(b, r, ["--lock-conn", "127.0.0.1:1-127.0.0.1:2"])
        r.wait_gone("dump")
        for hook in RESTORE_HOOKS[:-1]:
            b.snap_fails(restore_args(r, ["--action-script", script]),
                         [re.escape(script) + " failed at " + hook], workdir=r.img,
                         env=fail_env(hook))
            if alive(r.pid):
                raise Failure("pid %d is alive after a restore failing at %s" % (r.pid, hook))
            if len(locks_of(b, r.img)) != 1:
                raise Failure("a restore failing at %s did not keep the lock" % hook)
            ran = [h[0] for h in read_hooks(log)]
            if ran != list(RESTORE_HOOKS[:RESTORE_HOOKS.index(hook) + 1]):
                raise Failure("a restore failing at %s ran %s" % (hook, ran))
        status, err = b.snap.run(restore_args(r, ["--action-script", script]), r.img,
                                 "restore", env=fail_env("post-resume"))
        if status is None or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 1 or \
                not re.search(re.escape(script) + " failed at post-resume", err):
            raise Failure("a restore failing at post-resume: %s" % snap_failed(
                "restore", status, err), os.path.join(r.img, "restore.log"))
        if locks_of(b, r.img):
            raise Failure("the lock is still there after the tree was let go")
        r.finish("a restore failing at post-resume")
    finally:
        unlock_quietly(b, r.img)


def bad_lock_skip(b):
    """--network-lock skip: the connections are recorded, nothing is locked,
    the hooks still run; iptables is refused by name."""
    script, log = hook_script(b)
    r = b.target()
    try:
        b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "--network-lock", "iptables"],
                     [r"snap does not use iptables"])
        conn = "127.0.0.1:1-127.0.0.1:2"
        dump(b, r, ["--network-lock", "skip", "--action-script", script, "--lock-conn", conn])
        r.wait_gone("dump")
        if locks_of(b, r.img):
            raise Failure("--network-lock skip locked %s" % locks_of(b, r.img))
        nl = snap_show(b, os.path.join(r.img, "netlock.img"))
        if len(nl) != 1 or nl[0].get("method") != "NETLOCK_SKIP" or "table" in nl[0] or \
                len(nl[0].get("conns", ())) != 1:
            raise Failure("netlock.img of a skip dump is %s" % json.dumps(nl))
        ran = [h[0] for h in read_hooks(log)]
        if ran != list(DUMP_HOOKS):
            raise Failure("a skip dump ran the hooks %s" % ran)
        r.restore()
        r.finish("restore")
    finally:
        unlock_quietly(b, r.img)


def bad_lock_leave_running(b):
    """A dump with -R kills nothing, so it locks nothing and runs no
    network-lock hook, whatever --lock-conn says."""
    script, log = hook_script(b)
    r = b.target()
    try:
        dump(b, r, ["-R", "--action-script", script, "--lock-conn", "127.0.0.1:1-127.0.0.1:2"])
        r.check_running("dump -R")
        if locks_of(b, r.img) or os.path.exists(os.path.join(r.img, "netlock.img")):
            raise Failure("dump -R locked %s" % locks_of(b, r.img))
        ran = [h[0] for h in read_hooks(log)]
        if ran != ["pre-dump", "post-dump"]:
            raise Failure("dump -R ran the hooks %s" % ran)
        r.finish("dump -R")
    finally:
        unlock_quietly(b, r.img)


def locked_image(b):
    """A dumped test whose dump locked a connection; a copy of its netlock.img."""
    r = b.target()
    dump(b, r, ["--lock-conn", "127.0.0.1:1-127.0.0.1:2"])
    r.wait_gone("dump")
    with open(os.path.join(r.img, "netlock.img"), "rb") as f:
        return r, f.read()


def restore_bad_netlock(b, damage, mention):
    r, saved = locked_image(b)
    path = os.path.join(r.img, "netlock.img")
    try:
        damage(path, len(saved))
        err = b.snap_fails(["restore", "-D", r.img, "-d"], [r"netlock\.img"], workdir=r.img)
        if not re.search(mention, err):
            raise Failure("the error does not say what is wrong: %s" % last_line(err))
        if alive(r.pid):
            raise Failure("pid %d is alive after a failed restore" % r.pid)
        if len(locks_of(b, r.img)) != 1:
            raise Failure("a restore refusing netlock.img removed the lock")
    finally:
        with open(path, "wb") as f:
            f.write(saved)
        unlock_quietly(b, r.img)


def bad_restore_netlock_trunc(b):
    restore_bad_netlock(b, truncate_half, "truncated")


def bad_restore_netlock_corrupt(b):
    restore_bad_netlock(b, flip_middle, "corrupted")


def bad_restore_netlock_table(b):
    """An image naming a table that is not snap's: restore must not delete it."""
    def foreign(path, size):
        def edit(i, p):
            return p.replace(b"snap-", b"nft--", 1)
        edit_records(path, edit)
    restore_bad_netlock(b, foreign, r"not one of snap's")


def lock_unlock_all(b):
    """--unlock --all removes every lock of snap's, in a network namespace of
    the test's own (the machine's locks are not touched)."""
    ns = "snap-lock-test-%d" % os.getpid()
    ok, out = run_cmd(["/usr/sbin/ip", "netns", "add", ns])
    if not ok:
        raise Skip("cannot make a network namespace: %s" % last_line(out))
    try:
        dirs = [os.path.join(b.dir, d) for d in ("a", "b")]
        for i, d in enumerate(dirs):
            ok, out = run_cmd(["/usr/sbin/ip", "netns", "exec", ns, b.snap.path, "netlock",
                               "--lock", "-D", d, "--lock-conn",
                               "10.0.0.%d:80-10.0.0.9:%d" % (i + 1, 5000 + i)])
            if not ok:
                raise Failure("`snap netlock --lock` in %s failed: %s" % (ns, last_line(out)))
        locks = lock_list(b, b.dir, ns)
        if sorted(d for d, _ in locks.values()) != sorted(os.path.realpath(d) for d in dirs):
            raise Failure("--list in %s shows %s" % (ns, locks))
        # Only this test's: other runs on the machine may lock and unlock meanwhile.
        mine = os.path.realpath(b.dir) + "/"
        if any(d.startswith(mine) for d, _ in lock_list(b, b.dir).values()):
            raise Failure("locks taken in %s show in the machine's namespace" % ns)
        ok, out = run_cmd(["/usr/sbin/ip", "netns", "exec", ns, b.snap.path, "netlock",
                           "--unlock", "--all"])
        if not ok:
            raise Failure("`snap netlock --unlock --all` failed: %s" % last_line(out))
        if lock_list(b, b.dir, ns):
            raise Failure("--unlock --all left %s" % lock_list(b, b.dir, ns))
    finally:
        run_cmd(["/usr/sbin/ip", "netns", "delete", ns])
