"""A client of snap's CRIU RPC (snap swrk FD; images/rpc.proto), as runc is
one: the few messages it needs, encoded and decoded by hand (protobuf's wire
format is small; python3-protobuf is not needed). Swrk.call() starts
`snap swrk 3` on one end of a SOCK_SEQPACKET socketpair, sends one request,
answers each NOTIFY with a handler, and returns the reply and snap's exit
status."""

import array
import fcntl
import os
import signal
import socket

from proc import STATUS, wait_exit

# criu_req_type
EMPTY, DUMP, RESTORE, CHECK, PRE_DUMP, PAGE_SERVER, NOTIFY = 0, 1, 2, 3, 4, 5, 6
FEATURE_CHECK, VERSION = 9, 10

# Field numbers of criu_opts that the tests use (rpc.proto).
OPTS = {
    "images_dir_fd": (1, "int"), "pid": (2, "int"), "leave_running": (3, "int"),
    "ext_unix_sk": (4, "int"), "tcp_established": (5, "int"), "shell_job": (7, "int"),
    "file_locks": (8, "int"), "log_level": (9, "int"), "log_file": (10, "str"),
    "notify_scripts": (12, "int"), "root": (13, "str"), "work_dir_fd": (17, "int"),
    "manage_cgroups": (24, "int"), "rst_sibling": (26, "int"), "empty_ns": (38, "int"),
    "freeze_cgroup": (44, "str"), "lazy_pages": (48, "int"), "orphan_pts_master": (50, "int"),
    "config_file": (51, "str"), "manage_cgroups_mode": (34, "int"),
    "evasive_devices": (6, "int"), "status_fd": (49, "int"), "lsm_profile": (53, "str"),
    "lsm_mount_context": (63, "str"), "track_mem": (15, "int"), "parent_img": (14, "str"),
    "ghost_limit": (35, "int"), "leave_stopped": (69, "int"), "tcp_skip_in_flight": (46, "int"),
    # rpc_page_server_info {address = 1, port = 2}: a pair.
    "ps": (11, "ps"),
    # Repeated rpc_inherit_fd {key = 1, fd = 2}: a list of (key, fd).
    "inherit_fd": (27, "inherit"),
    # Repeated strings: a list.
    "external": (37, "strs"),
}


def varint(v):
    v &= (1 << 64) - 1      # negative int32 is ten bytes, as protobuf sends it
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, value):
    if isinstance(value, (bytes, str)):
        data = value.encode() if isinstance(value, str) else value
        return varint(num << 3 | 2) + varint(len(data)) + data
    return varint(num << 3) + varint(int(value))


def encode_opts(**opts):
    out = b""
    for name, value in opts.items():
        num, kind = OPTS[name]
        if kind == "ps":
            out += field(num, field(1, value[0]) + field(2, value[1]))
            continue
        if kind == "inherit":
            for key, fd in value:
                out += field(num, field(1, key) + field(2, fd))
            continue
        if kind == "strs":
            out += b"".join(field(num, v) for v in value)
            continue
        out += field(num, value)
    return out


def request(type_, opts=None, notify_success=None):
    out = field(1, type_)
    if opts is not None:
        out += field(2, encode_opts(**opts))
    if notify_success is not None:
        out += field(3, notify_success)
    return out


def decode(data):
    """{field number: [values]}: ints for varints, bytes for the rest."""
    msg, i = {}, 0

    def rd():
        nonlocal i
        v, shift = 0, 0
        while True:
            b = data[i]
            i += 1
            v |= (b & 0x7f) << shift
            shift += 7
            if not b & 0x80:
                return v
    while i < len(data):
        key = rd()
        num, wt = key >> 3, key & 7
        if wt == 0:
            v = rd()
        elif wt == 2:
            n = rd()
            v = data[i:i + n]
            i += n
        else:
            raise ValueError("wire type %d" % wt)
        msg.setdefault(num, []).append(v)
    return msg


class Resp:
    """A criu_resp, the fields the tests read."""

    def __init__(self, data):
        m = decode(data)
        self.raw = m
        self.type = m.get(1, [None])[0]
        self.success = bool(m.get(2, [0])[0])
        self.errno = m.get(7, [None])[0]
        self.errmsg = m[9][0].decode() if 9 in m else None
        sub = lambda n: decode(m[n][0]) if n in m else None
        self.dump, self.restore, self.notify = sub(3), sub(4), sub(5)
        self.features, self.version = sub(8), sub(10)

    def __repr__(self):
        return "Resp(type=%s success=%s errmsg=%r)" % (self.type, self.success, self.errmsg)


def exchange(sk, req, on_notify=None, received=None):
    """Send @req (one request, or a list sent one after the other's reply) on
    the connected socket @sk, answering each NOTIFY with @on_notify (None from
    it hangs up). (last reply, [(script, pid) notified], [replies but
    NOTIFY]); fds that came along are added to @received."""
    todo = list(req) if isinstance(req, list) else [req]
    notified, replies, resp = [], [], None
    try:
        sk.send(todo.pop(0))
    except (BrokenPipeError, ConnectionResetError):
        pass        # snap gave up before reading: what recv says next
    while True:
        try:
            data, anc, _, _ = sk.recvmsg(65536, socket.CMSG_SPACE(4 * 4))
        except (socket.timeout, ConnectionResetError):
            break
        for level, kind, fds in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS and \
                    received is not None:
                received += list(array.array("i", fds))
        if not data:
            break
        resp = Resp(data)
        if resp.type != NOTIFY:
            replies.append(resp)
            if not todo or not resp.success:
                break
            sk.send(todo.pop(0))
            continue
        name = resp.notify[1][0].decode()
        npid = resp.notify.get(2, [0])[0]
        notified.append((name, npid))
        ok = on_notify(name, npid) if on_notify else True
        if ok is None:      # the handler's way of hanging up
            break
        sk.send(request(NOTIFY, notify_success=bool(ok)))
    return resp, notified, replies


class Swrk:
    """One `snap swrk 3`: call() sends a request and returns (last reply,
    snap's wait status, the scripts notified as [(name, pid)])."""

    def __init__(self, snap_path, workdir, fds=None, sock_type=socket.SOCK_SEQPACKET,
                 sk_fd=3):
        """@fds: {fd number in snap: our fd} handed over besides the socket
        (inherit_fd); @sock_type, @sk_fd: the socket and its number (3 as
        runc gives it; the tests of bad fds change them)."""
        self.snap_path, self.workdir = snap_path, workdir
        self.fds, self.sock_type, self.sk_fd = fds or {}, sock_type, sk_fd
        self.received = []      # fds snap sent along with its messages, ours now

    def start(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, self.sock_type)
        err = os.path.join(self.workdir, "swrk.err")
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        pid = os.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
                os.dup2(os.open("/dev/null", os.O_RDONLY), 0)
                fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                # Above every number wanted first, then each to its place.
                keep = {fcntl.fcntl(fd, fcntl.F_DUPFD, 1024): num
                        for num, fd in self.fds.items()}
                os.dup2(theirs.fileno(), 3)
                for fd, num in keep.items():
                    os.dup2(fd, num)
                for fd in range(4, 1024):
                    if fd not in self.fds:
                        try:
                            os.close(fd)
                        except OSError:
                            pass
                for fd in keep:
                    os.close(fd)
                os.closerange(1024, 65536)
                os.chdir(self.workdir)
                os.execv(self.snap_path, [self.snap_path, "swrk", str(self.sk_fd)])
            finally:
                os._exit(127)
        STATUS.pop(pid, None)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        theirs.close()
        ours.settimeout(60)
        return pid, ours

    def call(self, req, on_notify=None, timeout=60):
        """@req: one request, or a list sent one after the other's reply (a
        pre-dump sequence); every reply but NOTIFY goes to self.replies."""
        pid, sk = self.start()
        try:
            resp, notified, self.replies = exchange(sk, req, on_notify, self.received)
        finally:
            sk.close()
        return resp, wait_exit(pid, timeout), notified

    def err(self):
        with open(os.path.join(self.workdir, "swrk.err")) as f:
            return f.read()
