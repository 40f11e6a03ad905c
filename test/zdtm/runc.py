"""runc end to end (shared/runc-rpc.md §4): Debian's runc drives snap as its
`criu` (`runc --criu PATH`, and PATH for newer runc) through `snap swrk`,
on a busybox container that counts into a bind-mounted host directory,
keeping runc's default namespaces but the network one. Each test builds its
bundle and runc state under its own directory, and its cleanup removes the
container, its cgroups and any mount left there whatever happened."""

import json
import os
import re
import select
import shutil
import socket
import time

from bad_inherit import read_counts
from bad_lazyps import all_served, start_lazy
from outcome import Failure, Skip
from bad_extns import make_netns, nspid, pid_holder
from pageserver import free_port
from proc import (PYTHON, alive, describe, descendants, exit_code, run_cmd, spawn,
                  spawn_wait, wait_exit, wait_until)

RUNC = "/usr/sbin/runc"
BUSYBOX = "/bin/busybox"
APPLETS = ("sh", "sleep", "ps", "cat", "mkdir", "mount", "echo", "httpd", "readlink",
           "syslogd", "logger", "mkfifo")
# Writes its counter every 0.2 s: restarts show as a counter back near 1.
COUNTER = ("exec </dev/null >/dev/null 2>&1; %s i=0; "
           "while :; do i=$((i+1)); echo $i >/data/counter; sleep 0.2; done")


def require_runc():
    for path in (RUNC, BUSYBOX):
        if not os.access(path, os.X_OK):
            raise Skip("%s is missing (scripts/install-deps.sh installs runc and "
                       "busybox-static)" % path)


class Container:
    """One runc container in @b.dir: bundle/, data/ (its /data), state/ (runc
    --root), bin/criu (a link to snap). @setup runs in the container's shell
    before the counter starts; @caps adds capabilities to its process;
    @command replaces the counter; @via_path: no --criu, snap is found as
    `criu` first in PATH; @netns, @pidns: the paths of a network and a pid
    namespace it joins (config.json's linux.namespaces {type, path});
    @terminal: its process has a terminal (runc then wants a
    --console-socket)."""

    def __init__(self, b, setup="", caps=(), command=None, via_path=False, netns=None,
                 pidns=None, terminal=False):
        require_runc()
        self.b = b
        self.id = "snapt-%d-%s" % (os.getpid(), re.sub(r"\W", "_", b.name.split("/")[-1]))
        self.bundle = os.path.join(b.dir, "bundle")
        self.rootfs = os.path.join(self.bundle, "rootfs")
        self.data = os.path.join(b.dir, "data")
        self.state = os.path.join(b.dir, "state")
        self.bin = os.path.join(b.dir, "bin")
        self.n = 0
        self.via_path = via_path
        for d in (os.path.join(self.rootfs, "bin"), os.path.join(self.rootfs, "data"),
                  self.data, self.state, self.bin):
            os.makedirs(d, exist_ok=True)
        shutil.copy(BUSYBOX, os.path.join(self.rootfs, "bin", "busybox"))
        for a in APPLETS:
            os.symlink("busybox", os.path.join(self.rootfs, "bin", a))
        os.symlink(b.snap.path, os.path.join(self.bin, "criu"))
        b.cleanups.append(self.cleanup)
        self.write_config(command or COUNTER % setup, caps, netns, pidns, terminal)

    def write_config(self, command, caps, netns=None, pidns=None, terminal=False):
        ok, out = self.runc(["spec", "--bundle", self.bundle], check=False)
        if not ok:
            raise Failure("runc spec failed: %s" % out)
        path = os.path.join(self.bundle, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        cfg["process"]["terminal"] = terminal
        cfg["process"]["args"] = ["sh", "-c", command]
        for k in ("bounding", "effective", "permitted"):
            cfg["process"]["capabilities"][k] += list(caps)
        cfg["root"]["readonly"] = False
        cfg["mounts"].append({"destination": "/data", "type": "bind", "source": self.data,
                              "options": ["rbind", "rw"]})
        # runc's default namespaces, but the network one (runc-rpc.md §4).
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                      if n["type"] != "network"]
        if netns:
            cfg["linux"]["namespaces"].append({"type": "network", "path": netns})
        for n in cfg["linux"]["namespaces"]:
            if pidns and n["type"] == "pid":
                n["path"] = pidns
        with open(path, "w") as f:
            json.dump(cfg, f)

    def runc(self, args, check=True, timeout=60, name="runc", stdout=None):
        """`runc --root STATE --criu snap ARGS`, criu also first in PATH (runc
        >= 1.2 ignores --criu): (exited 0, its output). @stdout: an fd for
        runc's stdout (run and restore hand theirs to the container); its
        stderr still goes to the output."""
        out = os.path.join(self.b.dir, name + ".out")
        pid = self.runc_start(args, out, stdout)
        status = wait_exit(pid, timeout)
        if status is None:
            spawn_wait(["/bin/kill", "-KILL", str(pid)])
            wait_exit(pid, 5)
        with open(out, errors="replace") as f:
            text = f.read()
        ok = exit_code(status) == 0
        if check and not ok:
            raise Failure("`runc %s` %s: %s" % (" ".join(args), describe(status),
                                                text.strip()[-600:]), out)
        return ok, text

    def runc_start(self, args, out, stdout=None):
        """runc ARGS started, its output to @out: its pid (see runc())."""
        env = dict(os.environ, PATH=self.bin + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
        argv = [RUNC, "--root", self.state] + (
            [] if self.via_path else ["--criu", os.path.join(self.bin, "criu")]) + args
        return spawn(argv, stdout=out if stdout is None else stdout,
                     stderr=out if stdout is not None else None, cwd=self.bundle, env=env)

    def start(self, stdout=None):
        self.runc(["run", "-d", self.id], name="run", stdout=stdout)
        self.wait_counter(2, "the container's first counts")

    def counter(self):
        """The count, or None before the first; read again while the shell
        rewrites it (echo truncates first)."""
        for _ in range(50):
            try:
                with open(os.path.join(self.data, "counter")) as f:
                    return int(f.read().strip())
            except FileNotFoundError:
                return None
            except ValueError:
                time.sleep(0.005)
        return None

    def wait_counter(self, above, what, timeout=10):
        if not wait_until(lambda: (self.counter() or 0) > above, timeout):
            raise Failure("%s: the counter stays at %s (not above %d after %d s)" % (
                what, self.counter(), above, timeout))
        return self.counter()

    def status(self):
        ok, out = self.runc(["state", self.id], check=False, name="state")
        if not ok:
            return None
        return json.loads(out).get("status")

    def dirs(self):
        self.n += 1
        img = os.path.join(self.b.dir, "img%d" % self.n)
        os.makedirs(img)
        return img

    def checkpoint(self, live=False):
        """`runc checkpoint` into a new images directory (kept as log dir): it."""
        img = self.dirs()
        self.before = self.counter()
        args = ["checkpoint", "--image-path", img, "--work-path", img]
        ok, out = self.runc(args + (["--leave-running"] if live else []) + [self.id],
                            check=False, name="checkpoint%d" % self.n)
        if not ok:
            raise Failure("runc checkpoint%s failed: %s" % (
                " --leave-running" if live else "", last_snap_line(img, "dump.log", out)),
                os.path.join(img, "dump.log"))
        return img

    def restore(self, img, stdout=None, args=()):
        ok, out = self.runc(["restore", "-d", "--image-path", img, "--work-path", img] +
                            list(args) + [self.id], check=False, name="restore%d" % self.n,
                            stdout=stdout)
        if not ok:
            raise Failure("runc restore failed: %s" % last_snap_line(img, "restore.log", out),
                          os.path.join(img, "restore.log"))

    def stopped(self, what):
        """The container is gone, its counter stands still. The counter."""
        if self.status() is not None:
            raise Failure("%s: runc still lists the container (%s)" % (what, self.status()))
        a = self.counter()
        time.sleep(1)
        if self.counter() != a:
            raise Failure("%s: the counter went on (%s, then %s): something still runs" % (
                what, a, self.counter()))
        # Stopped between echo's truncation and its write: the restored shell
        # writes the count, one above the last seen before the checkpoint.
        return a if a is not None else getattr(self, "before", None) or 0

    def carried_on(self, a, what):
        """Restored from count @a: it counts on from there, not from 1."""
        b = self.wait_counter(a, what, timeout=10)
        if b > a + 10:
            raise Failure("%s: the counter is at %d, checkpointed at %d: not the restored "
                          "one" % (what, b, a))
        if self.status() != "running":
            raise Failure("%s: runc says the container is %s" % (what, self.status()))
        return b

    def cleanup(self):
        self.runc(["kill", self.id, "KILL"], check=False, name="kill")
        wait_until(lambda: self.status() in (None, "stopped"), 5)
        self.runc(["delete", "-f", self.id], check=False, name="delete")
        # Whatever runc left: its restore root under state/, cgroups named after it.
        with open("/proc/self/mountinfo") as f:
            mounts = [l.split()[4] for l in f]
        for m in reversed(mounts):
            if m.startswith(self.b.dir + "/"):
                spawn_wait(["/bin/umount", "-l", m])
        # Its tasks may still be dying (runc's own rmdir then failed): retry.
        left = []
        for root, dirs, _ in os.walk("/sys/fs/cgroup"):
            if self.id in dirs:
                left.append(os.path.join(root, self.id))
            if root.count("/") > 4:
                dirs[:] = []

        def rmdirs():
            for cg in list(left):
                try:
                    os.rmdir(cg)
                except FileNotFoundError:
                    pass
                except OSError:
                    continue
                left.remove(cg)
            return not left
        wait_until(rmdirs, 5, step=0.1)


def snap_errors(runc_out):
    """snap's error lines: on restore its stderr is runc's (runc-rpc.md §1)."""
    return [l.strip() for l in runc_out.splitlines() if l.startswith("snap: ")]


def last_snap_line(img, log, runc_out):
    """snap's error line, else the last line of its log, else runc's."""
    errs = snap_errors(runc_out)
    if errs:
        return errs[-1]
    try:
        with open(os.path.join(img, log), errors="replace") as f:
            lines = [l.strip() for l in f if l.strip()]
        if lines:
            return lines[-1]
    except OSError:
        pass
    return runc_out.strip().splitlines()[-1] if runc_out.strip() else "(no output)"


def runc_checkpoint_restore(b):
    """Checkpoint: the container stops; restore: it counts on; twice."""
    c = Container(b)
    c.start()
    for cycle in (1, 2):
        img = c.checkpoint()
        a = c.stopped("after checkpoint %d" % cycle)
        c.restore(img)
        c.carried_on(a, "after restore %d" % cycle)


def runc_exec(b):
    """`runc exec` into a restored container: its sh is pid 1, sleep runs.
    runc finds snap as `criu` on PATH here, as runc >= 1.2 always does."""
    c = Container(b, via_path=True)
    c.start()
    img = c.checkpoint()
    a = c.stopped("after checkpoint")
    c.restore(img)
    c.carried_on(a, "after restore")
    # The counter's sleep is replaced every 0.2 s: a ps may fall between two.
    for _ in range(5):
        ok, out = c.runc(["exec", c.id, "ps", "-o", "pid,comm"], check=False, name="exec")
        if not ok:
            raise Failure("runc exec into the restored container failed: %s" % out.strip())
        procs = dict((int(p), n) for p, n in re.findall(r"^\s*(\d+)\s+(\S+)", out, re.M))
        if procs.get(1) == "sh" and "sleep" in procs.values():
            return
    raise Failure("ps in the restored container shows %s, expected sh as pid 1 and a "
                  "sleep" % procs)


def runc_leave_running(b):
    """checkpoint --leave-running: it counts on meanwhile; its image then
    restores (once the original is gone) from the checkpointed count."""
    c = Container(b)
    c.start()
    img = c.checkpoint(live=True)
    a = c.counter()
    if c.status() != "running":
        raise Failure("after checkpoint --leave-running runc says %s" % c.status())
    c.wait_counter(a + 2, "after checkpoint --leave-running")
    at = c.counter()
    c.runc(["kill", c.id, "KILL"], name="kill")
    wait_until(lambda: c.status() == "stopped", 5)
    c.runc(["delete", c.id], name="delete")
    c.restore(img)
    # The image holds a count below @at: the restored one writes from there.
    if not wait_until(lambda: c.counter() not in (None, at), 10):
        raise Failure("restored from a --leave-running checkpoint: the counter stays at %d"
                      % at)
    got = c.counter()
    if got > at or got < 1:
        raise Failure("restored from a --leave-running checkpoint taken near %d: the counter "
                      "is %d (expected to go on from the checkpoint, below %d)" % (a, got, at))


def runc_predump(b):
    """checkpoint --pre-dump (a PRE_DUMP over RPC, after FEATURE_CHECK asks
    for mem_track): the container counts on; then checkpoint --parent-path:
    the final images link the pre-dump's, and restore counts on from there."""
    c = Container(b)
    c.start()
    pre = c.dirs()
    ok, out = c.runc(["checkpoint", "--pre-dump", "--image-path", pre, "--work-path", pre,
                      c.id], check=False, name="predump")
    if not ok:
        raise Failure("runc checkpoint --pre-dump failed: %s" % last_snap_line(
            pre, "dump.log", out), os.path.join(pre, "dump.log"))
    if c.status() != "running":
        raise Failure("after checkpoint --pre-dump runc says %s" % c.status())
    c.wait_counter(c.counter() + 2, "after checkpoint --pre-dump")
    img = c.dirs()
    ok, out = c.runc(["checkpoint", "--parent-path", "../" + os.path.basename(pre),
                      "--image-path", img, "--work-path", img, c.id],
                     check=False, name="checkpoint")
    if not ok:
        raise Failure("runc checkpoint --parent-path failed: %s" % last_snap_line(
            img, "dump.log", out), os.path.join(img, "dump.log"))
    link = os.path.join(img, "parent")
    if not os.path.islink(link) or os.path.realpath(link) != os.path.realpath(pre):
        raise Failure("the final images do not link the pre-dump's", os.path.join(img, "dump.log"))
    a = c.stopped("after checkpoint --parent-path")
    c.restore(img)
    c.carried_on(a, "after restore")


def runc_lazy_pages(b):
    """runc's lazy migration: checkpoint --lazy-pages --page-server ADDR:PORT
    dumps the container and then serves its pages there; `snap lazy-pages
    --page-server` on a copy of the images without pages-*.img takes them,
    and restore --lazy-pages brings the container back (its tree in a new
    pid namespace) under another runc state, as on another host, while they
    come: it counts on, its pages came over TCP, and the checkpoint ends
    once they all did."""
    c = Container(b)
    c.start()
    img = c.dirs()
    port = free_port("127.0.0.1")
    out = os.path.join(b.dir, "checkpoint.out")
    pid = c.runc_start(["checkpoint", "--lazy-pages", "--page-server", "127.0.0.1:%d" % port,
                        "--image-path", img, "--work-path", img, c.id], out)
    log = os.path.join(img, "dump.log")

    def listening():
        try:
            with open(log, errors="replace") as f:
                return "page server: listening on" in f.read()
        except FileNotFoundError:
            return False
    if not wait_until(lambda: listening() or not alive(pid), 60) or not listening():
        raise Failure("runc checkpoint --lazy-pages did not serve its pages", log)
    a = c.counter()
    time.sleep(0.5)
    if c.counter() != a:
        raise Failure("the container counts on while its pages are served (%s, then %s)" % (
            a, c.counter()))
    local = c.dirs()
    for f in os.listdir(img):
        if not f.startswith("pages-") and os.path.isfile(os.path.join(img, f)):
            shutil.copy(os.path.join(img, f), local)
    lazy = start_lazy(b, b.snap, local, "127.0.0.1", port)
    # The other side of a migration: runc there has a state of its own.
    old = c.state
    b.cleanups.append(lambda: spawn_wait([RUNC, "--root", old, "delete", "-f", c.id]))
    c.state = os.path.join(b.dir, "state-b")
    os.makedirs(c.state)
    c.restore(local, args=["--lazy-pages"])
    c.carried_on(a or 0, "after the lazy restore")
    all_served(b, lazy, local, "the checkpoint", least=1)
    status = wait_exit(pid, 30)
    if exit_code(status) != 0:
        with open(out, errors="replace") as f:
            raise Failure("runc checkpoint --lazy-pages %s once its pages were served: %s" % (
                describe(status), f.read().strip()[-600:]), log)


def runc_stdio_pipe(b):
    """The container's stdout is a pipe of ours: runc records it in
    descriptors.json at checkpoint and passes a new pipe as inherit_fd
    {pipe:[INO], 1} at restore; the counter goes on into the new pipe."""
    c = Container(b, command="exec </dev/null 2>/dev/null; i=0; while :; do i=$((i+1)); "
                             "echo $i >/data/counter; echo $i; sleep 0.2; done")
    r, w = os.pipe()
    b.cleanups.append(lambda: os.close(r))
    try:
        c.start(stdout=w)
    finally:
        os.close(w)
    read_counts(r, "before the checkpoint", 10)
    img = c.checkpoint()
    a = c.stopped("after checkpoint")
    with open(os.path.join(img, "descriptors.json")) as f:
        desc = json.load(f)
    if not desc[1].startswith("pipe:["):
        raise Failure("runc's descriptors.json says stdout was %r, not a pipe" % desc[1])
    nr, nw = os.pipe()
    b.cleanups.append(lambda: os.close(nr))
    try:
        c.restore(img, stdout=nw)
    finally:
        os.close(nw)
    got = read_counts(nr, "after the restore", 10)
    if got[0] <= a - 1 or got[0] > a + 10:
        raise Failure("after the restore the new pipe reads %s; checkpointed at %d" % (
            got[:3], a))


# A counter on its terminal, and a reader of it that answers each number
# typed with its double: what the holder of the master sees and types.
TERMINAL = ("i=0; while :; do i=$((i+1)); echo n=$i; echo $i >/data/counter; sleep 0.2; done & "
            "while read l; do echo twice:$((l*2)); done")


class Console:
    """A --console-socket: the listening socket runc sends the pty master to."""

    def __init__(self, b, name):
        self.path = os.path.join(b.dir, name)
        self.sk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sk.bind(self.path)
        self.sk.listen(1)
        self.master = None
        b.cleanups.append(self.close)

    def take(self, what):
        """The master runc sent (it connected before it returned)."""
        if not select.select([self.sk], [], [], 10)[0]:
            raise Failure("%s: nothing connected to the console socket" % what)
        conn, _ = self.sk.accept()
        with conn:
            conn.settimeout(10)
            _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
        if len(fds) != 1:
            raise Failure("%s: the console socket got %d fds, expected the master" % (
                what, len(fds)))
        self.master = fds[0]
        os.set_blocking(self.master, False)
        return self.master

    def read_until(self, pattern, what, timeout=10):
        """What the master reads until @pattern matches: the match."""
        text, end = "", time.time() + timeout
        while time.time() < end:
            m = re.search(pattern, text)
            if m:
                return m
            if select.select([self.master], [], [], 0.2)[0]:
                try:
                    text += os.read(self.master, 4096).decode(errors="replace")
                except OSError as e:
                    raise Failure("%s: the master reads %s after %r" % (what, e, text[-200:]))
        raise Failure("%s: the master never read %r; it read %r" % (what, pattern, text[-300:]))

    def close(self):
        if self.master is not None:
            os.close(self.master)
            self.master = None
        self.sk.close()


def runc_terminal(b):
    """A container with a terminal (runc's --console-socket): its counter
    goes to the pty's master, numbers typed into it come back doubled.
    Checkpoint, restore with a new console socket (snap sends the new pty's
    master through the orphan-pts-master notification): the new master
    reads the counter going on from the checkpoint and still talks with the
    container, whose terminal is /dev/pts/0 of its own devpts again, its
    shell's controlling terminal. Twice."""
    c = Container(b, command=TERMINAL, terminal=True)
    con = Console(b, "console0.sock")
    c.runc(["run", "-d", "--console-socket", con.path, c.id], name="run")
    con.take("runc run")
    con.read_until(r"n=3\b", "before the checkpoint")
    os.write(con.master, b"21\n")
    con.read_until(r"twice:42\b", "before the checkpoint, 21 typed")
    ok, tty = c.runc(["exec", c.id, "readlink", "/proc/1/fd/0"], name="exec")
    ctty = terminal_of(c)
    if tty.strip() != "/dev/pts/0" or ctty[0] != 0x8800:
        raise Failure("setup: the container's terminal is %r, its shell's controlling "
                      "terminal %d: expected /dev/pts/0 (34816)" % (tty.strip(), ctty[0]))
    for cycle in (1, 2):
        what = "after restore %d" % cycle
        img = c.checkpoint()
        a = c.stopped("after checkpoint %d" % cycle)
        con.close()
        con = Console(b, "console%d.sock" % cycle)
        c.restore(img, args=("--console-socket", con.path))
        con.take("runc restore %d" % cycle)
        got = int(con.read_until(r"n=(\d+)\r\n", what).group(1))
        if got <= a - 2 or got > a + 10:
            raise Failure("%s the new master reads n=%d; checkpointed at %d" % (what, got, a))
        os.write(con.master, b"%d\n" % cycle)
        con.read_until(r"twice:%d\b" % (2 * cycle), "%s, %d typed" % (what, cycle))
        ok, tty2 = c.runc(["exec", c.id, "readlink", "/proc/1/fd/0"], name="exec")
        if tty2.strip() != "/dev/pts/0":
            raise Failure("%s the container's terminal is %r, was /dev/pts/0" % (
                what, tty2.strip()))
        if terminal_of(c) != ctty:
            raise Failure("%s its shell's controlling terminal and foreground group "
                          "(/proc/1/stat) are %s, were %s" % (what, terminal_of(c), ctty))


def terminal_of(c):
    """(tty_nr, tpgid) of the container's pid 1, from its /proc/1/stat."""
    ok, stat = c.runc(["exec", c.id, "cat", "/proc/1/stat"], name="exec")
    f = stat[stat.rindex(")") + 2:].split()
    return int(f[4]), int(f[5])


def bad_runc_two_consoles(b):
    """A container with a terminal whose init's tree also holds the console
    of a `runc exec -t` (/dev/pts/1, its master on another console socket;
    the exec'd process itself is not of the tree): restore gives the caller
    one master only, so snap refuses with one line naming the second
    console, and nothing runs."""
    second = ("(while [ ! -e /dev/pts/1 ]; do sleep 0.1; done; "
              "exec sleep 1000 <>/dev/pts/1 >&0) & ")
    c = Container(b, command=second + TERMINAL, terminal=True)
    con = Console(b, "console1.sock")
    c.runc(["run", "-d", "--console-socket", con.path, c.id], name="run")
    con.take("runc run")
    con2 = Console(b, "exec.sock")
    c.runc(["exec", "-d", "-t", "--console-socket", con2.path, c.id, "sleep", "1000"],
           name="exec")
    con2.take("runc exec -t")
    con.read_until(r"n=3\b", "before the checkpoint")
    img = c.checkpoint()
    c.stopped("after checkpoint")
    con3 = Console(b, "console2.sock")
    before = descendants()
    ok, out = c.runc(["restore", "-d", "--image-path", img, "--work-path", img,
                      "--console-socket", con3.path, c.id], check=False, name="restore")
    log = os.path.join(img, "restore.log")
    if ok:
        raise Failure("the restore of a container with two consoles succeeded", log)
    # runc gives snap no stderr when the container has a terminal: its log's last line.
    last = last_snap_line(img, "restore.log", out)
    if not re.search(r"second console /dev/pts/1 besides /dev/pts/0", last):
        raise Failure("expected snap's last line to name the second console, got %r" % last,
                      log)
    if c.status() == "running":
        raise Failure("after the failed restore runc says the container runs", log)
    left = descendants() - before
    if left:
        raise Failure("processes left behind by the failed restore: %s" % sorted(left), log)


def runc_unix_syslog(b):
    """busybox syslogd binds /dev/log (a dgram socket) in the container's
    own /dev tmpfs and logs to /data/syslog; a logger started before the
    checkpoint reads lines from a FIFO and keeps its socket connected to
    /dev/log. Checkpoint, restore, twice: a `runc exec logger` reaches
    syslogd by that path, and the old logger's connection is to the
    restored /dev/log (checked with ss before it sends a line through it).
    /dev/log keeps its mode and the restored syslogd holds a socket
    /proc/PID/net/unix names /dev/log; the host's /dev/log is untouched."""
    host_log = os.path.exists("/dev/log") and os.lstat("/dev/log")
    c = Container(b, setup="syslogd -n -O /data/syslog & mkdir -p /tmp; mkfifo /tmp/lg; "
                           "logger -t client </tmp/lg & exec 7>/tmp/lg; ")
    c.start()
    log = os.path.join(c.data, "syslog")
    logged(c, log, "snap-before")
    logged(c, log, "client-before", via_fifo=True)
    mode, bound = dev_log(c)
    if not bound:
        raise Failure("before the checkpoint syslogd holds no socket named /dev/log")
    for cycle in (1, 2):
        img = c.checkpoint()
        a = c.stopped("after checkpoint %d" % cycle)
        c.restore(img)
        c.carried_on(a, "after restore %d" % cycle)
        logged(c, log, "snap-cycle-%d" % cycle)
        got = dev_log(c)
        if got[0] != mode or not got[1]:
            raise Failure("after restore %d /dev/log has mode %o (was %o), %s" % (
                cycle, got[0], mode, "its syslogd holds a socket named so" if got[1] else
                "and its syslogd holds no socket named so"))
        peer = logger_peer(c)
        if peer != "/dev/log":
            raise Failure("after restore %d the old logger's socket is connected to %s, not "
                          "to syslogd's /dev/log" % (cycle, peer))
        logged(c, log, "client-cycle-%d" % cycle, via_fifo=True)
    now = os.path.exists("/dev/log") and os.lstat("/dev/log")
    if bool(now) != bool(host_log) or (now and (now.st_ino, now.st_mode) !=
                                       (host_log.st_ino, host_log.st_mode)):
        raise Failure("the host's /dev/log changed")


def logger_peer(c):
    """The local name of the socket the container's long-lived logger is
    connected to (ss in its network namespace), or what was found instead."""
    ok, out = c.runc(["state", c.id], name="state")
    pid = json.loads(out)["pid"]
    ok, out = run_cmd(["/usr/bin/nsenter", "-t", str(pid), "-n", "/usr/bin/ss", "-xapn"],
                      timeout=10)
    rows = [l.split() for l in out.splitlines()[1:]]
    names = dict((r[5], r[4]) for r in rows if len(r) >= 8)
    for r in rows:
        if len(r) >= 9 and '"logger"' in r[8]:
            return names.get(r[7], "socket inode %s, not listed" % r[7])
    return "nothing: no socket of a logger is listed"


def logged(c, log, msg, via_fifo=False):
    """`runc exec logger MSG` (@via_fifo: MSG written to the long-lived
    logger's FIFO) lands in syslogd's @log."""
    c.runc(["exec", c.id] + (["sh", "-c", "echo %s >/tmp/lg" % msg] if via_fifo else
                             ["logger", msg]), name="exec")

    def found():
        try:
            with open(log, errors="replace") as f:
                return msg in f.read()
        except FileNotFoundError:
            return False
    if not wait_until(found, 10):
        raise Failure("`logger %s` does not reach syslogd's log %s" % (msg, log))


def dev_log(c):
    """(mode of the container's /dev/log, whether its syslogd holds a socket
    named /dev/log), seen from the host through the container's init."""
    ok, out = c.runc(["state", c.id], name="state")
    pid = json.loads(out)["pid"]
    st = os.stat("/proc/%d/root/dev/log" % pid)
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        kids = [int(k) for k in f.read().split()]
    inos = set()
    for k in kids:
        # A child may exit meanwhile: a `runc exec` process the container's
        # init inherited (an orphan in its pid namespace) is one.
        try:
            with open("/proc/%d/comm" % k) as f:
                if f.read().strip() != "syslogd":
                    continue
            fds = "/proc/%d/fd" % k
            links = [os.readlink(os.path.join(fds, fd)) for fd in os.listdir(fds)]
        except FileNotFoundError:
            continue
        for link in links:
            m = re.match(r"socket:\[(\d+)\]$", link)
            if m:
                inos.add(m.group(1))
    with open("/proc/%d/net/unix" % pid) as f:
        rows = [l.split() for l in f]
    return st.st_mode, any(len(r) == 8 and r[6] in inos and r[7] == "/dev/log" for r in rows)


def bad_runc_restore_no_mountpoint(b):
    """The container mounted a tmpfs on a directory of its own; that
    directory is gone from the rootfs before the restore: runc cannot know
    it, so snap must fail with one line naming it, and nothing runs."""
    c = Container(b, setup="mkdir -p /mnt/own; mount -t tmpfs own /mnt/own;",
                  caps=("CAP_SYS_ADMIN",))
    c.start()
    img = c.checkpoint()
    c.stopped("after checkpoint")
    os.rmdir(os.path.join(c.rootfs, "mnt", "own"))
    before = descendants()
    ok, out = c.runc(["restore", "-d", "--image-path", img, "--work-path", img, c.id],
                     check=False, name="restore")
    log = os.path.join(img, "restore.log")
    if ok:
        raise Failure("the restore succeeded with /mnt/own missing from the root", log)
    errs = snap_errors(out)
    if len(errs) != 1 or "/mnt/own" not in errs[0]:
        raise Failure("expected one error line from snap naming /mnt/own, got %s (runc: %s)"
                      % (errs, out.strip().splitlines()[-1:]), log)
    if c.status() == "running":
        raise Failure("after the failed restore runc says the container runs", log)
    left = descendants() - before
    if left:
        raise Failure("processes left behind by the failed restore: %s" % sorted(left), log)
    a = c.counter()
    time.sleep(0.5)
    if c.counter() != a:
        raise Failure("after the failed restore the counter goes on", log)


# An HTTP GET from python: busybox's wget crashes outside its rootfs here.
HTTP_GET = ("import socket,sys; s=socket.create_connection(('127.0.0.3', 8080), 3); "
            "s.sendall(b'GET /index.html HTTP/1.0\\r\\n\\r\\n'); d=b''\n"
            "while True:\n c=s.recv(4096)\n if not c: break\n d+=c\n"
            "sys.stdout.write(d.decode().split('\\r\\n\\r\\n', 1)[1])")


def http_get(netns):
    """The body of the container's page, fetched from inside @netns, or None."""
    ok, out = run_cmd(["/usr/bin/nsenter", "--net=" + netns, PYTHON, "-c", HTTP_GET],
                      timeout=10)
    return out if ok else None


def runc_netns_path(b):
    """A container joining a network namespace by path (as CNI, podman and
    Kubernetes set them up): runc checkpoints it with external
    net[INODE]:extRootNetNS and restores it with inherit_fd extRootNetNS
    at fd 4. The counter carries on, the container is in that namespace,
    and its TCP server (busybox httpd on the namespace's 127.0.0.3)
    answers after the restore, twice."""
    netns = make_netns(b, "runc")
    c = Container(b, netns=netns,
                  setup="mkdir -p /www; echo snap-$$ >/www/index.html; "
                        "httpd -p 127.0.0.3:8080 -h /www;")
    c.start()
    if not wait_until(lambda: http_get(netns), 10):
        raise Failure("the container's httpd does not answer in %s before the checkpoint" %
                      netns)
    body = http_get(netns)
    want = "net:[%d]" % os.stat(netns).st_ino
    for cycle in (1, 2):
        img = c.checkpoint()
        a = c.stopped("after checkpoint %d" % cycle)
        with open(os.path.join(img, "ns.img"), "rb") as f:
            if b"extRootNetNS" not in f.read():
                raise Failure("checkpoint %d: ns.img does not name the network namespace "
                              "extRootNetNS (runc sent no external?)" % cycle)
        if http_get(netns) is not None:
            raise Failure("after checkpoint %d the httpd still answers" % cycle)
        c.restore(img)
        c.carried_on(a, "after restore %d" % cycle)
        with open(os.path.join(c.state, c.id, "state.json")) as f:
            pid = json.load(f)["init_process_pid"]
        got = os.readlink("/proc/%d/ns/net" % pid)
        if got != want:
            raise Failure("after restore %d the container's init (pid %d) is in %s, not in "
                          "%s (%s)" % (cycle, pid, got, netns, want))
        again = http_get(netns)
        if again != body:
            raise Failure("after restore %d the httpd answers %r, it answered %r before" % (
                cycle, again, body))


def runc_pidns_path(b):
    """A container joining a pid namespace by path (a pod's shared one,
    whose init is another process): runc checkpoints it with external
    pid[INODE]:extRootPidNS and restores it with inherit_fd extRootPidNS.
    The counter carries on, and the container's init is back in that
    namespace with the pid it had there."""
    holder = pid_holder(b)
    pidns = "/proc/%d/ns/pid" % holder
    c = Container(b, pidns=pidns)
    c.start()
    with open(os.path.join(c.state, c.id, "state.json")) as f:
        vpid = nspid(json.load(f)["init_process_pid"])[-1]
    img = c.checkpoint()
    a = c.stopped("after checkpoint")
    with open(os.path.join(img, "ns.img"), "rb") as f:
        if b"extRootPidNS" not in f.read():
            raise Failure("ns.img does not name the pid namespace extRootPidNS (runc sent no "
                          "external?)")
    c.restore(img)
    c.carried_on(a, "after restore")
    with open(os.path.join(c.state, c.id, "state.json")) as f:
        pid = json.load(f)["init_process_pid"]
    if os.readlink("/proc/%d/ns/pid" % pid) != os.readlink(pidns) or nspid(pid)[-1] != vpid:
        raise Failure("the restored init (host pid %d) is pid %d of %s, not pid %d of %s" % (
            pid, nspid(pid)[-1], os.readlink("/proc/%d/ns/pid" % pid), vpid,
            os.readlink(pidns)))
