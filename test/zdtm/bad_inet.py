"""Inet and packet sockets fed bad input: connections snap must refuse at
dump (established without --tcp-established, not accepted yet) while the
process runs on untouched; damaged inet-queues.img and inet entries of
files.img; a port taken before restore; a restore of connections without
--tcp-established. Each refusal is one line naming the socket, and nothing
is left behind. Plus img/inet_tcp_ext_peer: a peer outside the tree that
keeps sending across the dump and restore, and img/inet_tcp_peer_reset: one
gone by the restore (see their comments)."""

import ctypes
import errno
import os
import re
import socket
import struct
import threading
import time

import bad_rpc
from bad_notify import edit_kind_part, get, pb_decode, pb_encode, refused
from bad_ns import edit_records, snap_show
from bad_restore import flip_middle, restore_damaged, truncate_half
from bad_unix import edit_socket_entry, pb_set, refused_dump, restore_refused
from outcome import Failure
from proc import alive, kill, proc_state, run_cmd
import rpc
from snap import snap_failed
import tests

INET_SK = 18        # file_entry.inet_sk


def bad_dump_tcp_established(b):
    """An established connection without --tcp-established (or --tcp-close):
    refused naming pid, fd and the four addresses; the process runs on."""
    t = tests.find("static/inet_tcp_conn").but(dump_args=(), restore_args=())
    refused_dump(b, t, [r"pid \d+ fd \d+: TCP 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+: an "
                        r"established TCP connection .*--tcp-established"])


def bad_dump_tcp_waiting(b):
    """A listener with a connection not accepted yet: refused naming the
    listener and the peer; the process then accepts it."""
    refused_dump(b, "static/inet_tcp_waiting",
                 [r"pid \d+ fd \d+: TCP 127\.0\.0\.1:\d+: listening, with 1 connection not "
                  r"accepted yet \(from 127\.0\.0\.1:\d+\)"])


def img_inet_waiting_live(b):
    """The listener of static/inet_tcp_waiting, a connection in its queue,
    dumped with -R (its client end with --tcp-established): the dump
    succeeds, warning that the connection is left out; the process runs on,
    accepts it and passes."""
    r = b.target("static/inet_tcp_waiting")
    args = ["dump", "-t", str(r.pid), "-D", r.img, "-R", "--tcp-established", "-o", "dump.log",
            "-v", "4"]
    status, err = b.snap.run(args, r.img, "dump")
    if status != 0:
        raise Failure(snap_failed("a live dump", status, err), os.path.join(r.img, "dump.log"))
    log = os.path.join(r.img, "dump.log")
    with open(log, errors="replace") as f:
        said = f.read()
    if not re.search(r"warning: pid \d+ fd \d+: TCP 127\.0\.0\.1:\d+: 1 connection waiting "
                     r"to be accepted left out", said):
        raise Failure("the live dump's log does not warn that the waiting connection is left "
                      "out", log)
    r.check_running("a live dump")
    r.finish("a live dump")


def bad_dump_udp_corked(b):
    """Bytes corked in a UDP socket (UDP_CORK): no syscall reads them back."""
    refused_dump(b, "static/inet_udp_corked",
                 [r"pid \d+ fd \d+: UDP .*: data is corked in it"])


def bad_dump_packet_ring(b):
    refused_dump(b, "static/packet_ring", [r"pid \d+ fd \d+: packet socket with a transmit "
                                          r"ring \(PACKET_TX_RING\)"])


def bad_dump_packet_ring_unheld(b):
    """A receive ring still mapped once its socket's last fd was closed."""
    refused_dump(b, "static/packet_ring_unheld",
                 [r"pid \d+ mapping [0-9a-f]+-[0-9a-f]+ \(socket:\[\d+\]\): the process holds "
                  r"no fd of the packet socket it maps"])


def bad_restore_packet_ring(b):
    """static/packet_mmap's images with its mapping of the ring past the
    ring's end (vma_entry.pgoff, field 3), then, that put back, with the
    kernel's place in the ring past its last block (packet_ring.head, field 8
    of packet_sk_entry.rx_ring, field 18): each restore is refused with one
    line naming the image and what is wrong, and nothing is left alive."""
    r = b.image("static/packet_mmap")
    mm = os.path.join(r.img, "mm-%d.img" % r.pid)
    saved = {}

    def pgoff(value):
        def edit(i, payload):
            fields = pb_decode(payload)
            for v in get(fields, 1):
                vma = pb_decode(v[2])
                if get(vma, 20):
                    saved.setdefault("pgoff", get(vma, 3)[0][2])
                    get(vma, 3)[0][2] = value if value is not None else saved["pgoff"]
                    v[2] = pb_encode(vma)
            return pb_encode(fields)
        return edit

    refused(b, r, os.path.basename(mm), pgoff(100),
            r"bytes at offset 409600 of a packet socket's ring of 32768",
            lambda: "pgoff" in saved)
    edit_records(mm, pgoff(None))

    def past_end(part):
        ring = pb_decode(get(part, 18)[0][2])
        get(ring, 8)[0][2] = 99
        get(part, 18)[0][2] = pb_encode(ring)

    edit, state = edit_kind_part(18, 19, past_end)
    refused(b, r, "files.img", edit, r"receive ring of 8 blocks of 4096 bytes.* at block 99: "
            r"out of range", lambda: state["done"])


def bad_dump_packet_fanout(b):
    """static/packet_fanout's load balancing group with a member outside the
    tree, ours: refused by pid and fd, the group named; the task runs on and
    passes once that member is gone."""
    group = 20000 + os.getpid() % 30000
    r = b.target(tests.find("static/packet_fanout").but(args=(str(group),)))
    out = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    try:
        out.bind(("lo", 0x0800))
        out.setsockopt(263, 18, group | 1 << 16)      # SOL_PACKET, PACKET_FANOUT, LB
        b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img],
                     [r"pid \d+ fd \d+: packet socket in fanout group %d \(PACKET_FANOUT\), "
                      r"which 1 socket outside the dumped tree is in too" % group])
    finally:
        out.close()
    r.check_running("a refused dump")
    r.finish("a refused dump")


def bad_restore_packet_fanout(b):
    """static/packet_fanout's images with a fanout type past the last one
    without a program (packet_sk_entry.fanout, field 19, type 9): the
    restore is refused naming files.img and the group, nothing left alive."""
    r = b.image("static/packet_fanout")

    def type9(part):
        for f in get(part, 19):
            f[2] = (f[2] & 0xffff) | 9 << 16

    edit, state = edit_kind_part(18, 19, type9)
    refused(b, r, "files.img", edit, r"packet socket in fanout group \d+ of type 9: out of range",
            lambda: state["done"])


def bad_dump_packet_fanout_cbpf(b):
    refused_dump(b, "static/packet_fanout_cbpf",
                 [r"pid \d+ fd \d+: packet socket in fanout group \d+, which a classic BPF "
                  r"program steers"])


def bad_dump_other_netns(b):
    refused_dump(b, "static/inet_other_netns", [r"pid \d+ fd \d+: inet socket inode \d+ lives "
                                               r"in another network namespace"])


def bad_dump_inet_fails_late(b):
    """A dump of established connections that fails after the sockets went
    into repair mode for the kill (pstree.img cannot be written): the process
    runs on, its connections out of repair mode and whole (it checks)."""
    r = b.target("static/inet_tcp_conn")
    os.mkdir(os.path.join(r.img, "pstree.img"))
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "--tcp-established"],
                 [r"pstree\.img"])
    r.check_running("a failed dump")
    r.finish("a failed dump")


def bad_restore_inet_queues_trunc(b):
    restore_damaged(b, r"inet-queues\.img", truncate_half, ["truncated"],
                    test="static/inet_tcp_conn")


def bad_restore_inet_queues_corrupt(b):
    restore_damaged(b, r"inet-queues\.img", flip_middle, ["corrupted", "crc"],
                    test="static/inet_udp")


def bad_restore_inet_family(b):
    """An inet socket of family 99 (inet_sk_entry.family, field 2)."""
    edit_socket_entry(b, "static/inet_listen", INET_SK, 2, 99, r"family 99")


def bad_restore_inet_state(b):
    """A TCP socket in state 3 (SYN_RECV, field 5), which no entry can be."""
    edit_socket_entry(b, "static/inet_listen", INET_SK, 5, 3, r"state SYN_RECV")


def bad_restore_inet_queue_ino(b):
    """A queued datagram for a socket files.img does not have (its ino made 1)."""
    r = b.image("static/inet_udp")
    restore_refused(b, r, "inet-queues.img", lambda i, p: pb_set(p, 1, 1) if i == 0 else p,
                    r"socket inode 1\b.*files\.img does not have")


def bad_restore_tcp_no_option(b):
    """Images with established connections, restored without --tcp-established."""
    r = b.image("static/inet_tcp_conn")
    b.snap_fails(["restore", "-D", r.img, "-d"],
                 [r"files\.img file id \d+ \(TCP .*\): an established TCP connection: "
                  r"restore it with --tcp-established"], workdir=r.img)
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def free(family, port, addr):
    """Whether @addr:@port can be bound and listened on now."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((addr, port))
        s.listen(1)
        return True
    except OSError:
        return False
    finally:
        s.close()


def bad_restore_port_taken(b):
    """A listener's port taken by another socket before restore: one error
    naming the address, and none of the image's sockets left bound."""
    r = b.image("static/inet_listen")
    socks = [e["inet_sk"] for e in snap_show(b, os.path.join(r.img, "files.img"))
             if "inet_sk" in e]
    v4 = [s["src_port"] for s in socks if s["family"] == socket.AF_INET]
    v6 = [s["src_port"] for s in socks if s["family"] == socket.AF_INET6]
    if not v4 or len(v6) < 2:
        raise Failure("setup: static/inet_listen has no IPv4 and two IPv6 listeners")
    taker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        taker.bind(("127.0.0.1", v4[0]))
        taker.listen(1)
        b.snap_fails(["restore", "-D", r.img, "-d"],
                     [r"address 127\.0\.0\.1:%d is in use by another socket now" % v4[0]],
                     workdir=r.img)
    finally:
        taker.close()
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)
    for port in v6:
        if not free(socket.AF_INET6, port, "::"):
            raise Failure("port %d is still bound after the failed restore" % port)


SO_ATTACH_FILTER, SO_DETACH_FILTER = 26, 27
TCP_ESTABLISHED = 1


class Peer(threading.Thread):
    """The far end of static/inet_tcp_ext: listens on loopback, sends a
    numbered byte stream every few ms (unless paused), reads the test's
    stream back."""

    def __init__(self):
        super().__init__(daemon=True)
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(1)
        self.port = self.ls.getsockname()[1]
        self.stop = self.paused = False
        self.error, self.conn = None, None
        self.sent = self.got = 0
        self.filter = ctypes.create_string_buffer(struct.pack("HBBI", 0x06, 0, 0, 0))

    @staticmethod
    def pat(i):
        return (i * 7 + (i >> 8)) & 0xff

    def state(self):
        return self.conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]

    def deaf(self, on):
        """Drop every packet that reaches the peer (BPF "ret 0"), or no longer:
        what the network lock does on the way, done at this end."""
        if on:
            prog = struct.pack("H6xQ", 1, ctypes.addressof(self.filter))
            self.conn.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, prog)
        else:
            self.conn.setsockopt(socket.SOL_SOCKET, SO_DETACH_FILTER, 0)

    def run(self):
        self.ls.settimeout(10)
        try:
            self.conn, _ = self.ls.accept()
        except OSError as e:
            self.error = "no connection from the test: %s" % e
            return
        c = self.conn
        c.setblocking(False)
        while not self.stop:
            time.sleep(0.005)
            if self.paused:
                continue
            try:
                data = bytes(self.pat(self.sent + i) for i in range(64))
                self.sent += c.send(data)
            except BlockingIOError:
                pass
            except OSError as e:
                self.error = "send: %s" % errno.errorcode.get(e.errno, e)
                break
            try:
                got = c.recv(4096)
                if not got:
                    self.error = "the test closed the connection"
                    break
                for x in got:
                    if x != self.pat(self.got):
                        self.error = "byte %d from the test differs" % self.got
                        break
                    self.got += 1
            except BlockingIOError:
                pass
            except OSError as e:
                self.error = "recv: %s" % errno.errorcode.get(e.errno, e)
                break


def has_network_lock(b):
    ok, out = run_cmd([b.snap.path, "--help"])
    return "network lock" in out


def peer_carries_on(b, cross):
    """static/inet_tcp_ext connected to a Peer that keeps sending; @cross(r,
    peer) takes it across a dump and a restore. Then the stream must go on,
    in order, the peer having seen nothing of it."""
    error = None
    peer = Peer()
    peer.start()
    t = tests.find("static/inet_tcp_ext").but(args=(str(peer.port),))
    try:
        r = b.target(t)
        time.sleep(0.3)
        if peer.error or not peer.conn:
            raise Failure("setup: %s" % (peer.error or "no connection"))
        cross(r, peer)
        time.sleep(1.5)
        # Quiet from now on: the test's end closes the connection.
        peer.paused = True
        time.sleep(0.05)
        error = peer.error
        r.finish()
    finally:
        peer.stop = True
        peer.join(5)
        peer.ls.close()
    if error:
        raise Failure("the peer saw: %s" % error)
    if not peer.got or not peer.sent:
        raise Failure("nothing went through (%d bytes in, %d out)" % (peer.got, peer.sent))


def img_inet_tcp_ext_peer(b):
    """A connection to a peer outside the dumped tree that keeps sending while
    the process is dumped (killed) and restored, and must survive both ways,
    in order.

    Once `snap --help` mentions a network lock, snap keeps the peer's packets
    from the restored port itself: the peer just goes on. Until then the
    kernel would answer the peer with a reset while the process is down, so
    the peer stops talking for the dump, checks that the killed process's
    socket said nothing (no FIN, no reset: it was in repair mode), then drops
    all it gets until the restore is done, as the lock would."""
    lock = has_network_lock(b)

    def cross(r, peer):
        if not lock:
            # Long enough for every delayed ack to have gone both ways.
            peer.paused = True
            time.sleep(0.5)
        r.dump()
        r.wait_gone("dump")
        if not lock:
            if peer.state() != TCP_ESTABLISHED:
                raise Failure("the killed process's socket told the peer (its state is %d)"
                              % peer.state())
            peer.deaf(True)
            peer.paused = False
        time.sleep(0.5)
        r.restore()
        if not lock:
            peer.deaf(False)

    peer_carries_on(b, cross)


def img_inet_tcp_ext_peer_stopped(b):
    """CRIU's migration flow with --leave-stopped: a connection to a peer
    outside the tree that keeps sending, dumped with -s. The tree is left
    stopped, the connection locked and in repair mode, so that killing the
    source afterwards tells the peer nothing and leaves no socket behind;
    the images restored, the connection goes on, in order."""
    def cross(r, peer):
        status, err = b.snap.run(["dump", "-t", str(r.pid), "-D", r.img, "-o", "dump.log",
                                  "-v", "4", "--tcp-established", "-s"], r.img, "dump")
        if status != 0:
            raise Failure(snap_failed("dump -s", status, err), r.log("dump"))
        if proc_state(r.pid) != "T":
            raise Failure("state %s after dump -s, expected stopped" % proc_state(r.pid),
                          r.log("dump"))
        time.sleep(0.5)
        kill(r.pid)
        r.wait_gone("SIGKILL of the stopped source")
        time.sleep(0.3)
        if peer.state() != TCP_ESTABLISHED:
            raise Failure("the killed source's socket told the peer (its state is %d)"
                          % peer.state())
        # In repair mode its close left nothing behind (no FIN_WAIT orphan).
        port = peer.conn.getpeername()[1]
        with open("/proc/net/tcp") as f:
            left = [l.split()[3] for l in f.readlines()[1:]
                    if int(l.split()[1].split(":")[1], 16) == port]
        if left:
            raise Failure("the killed source's socket lingers (state %s): it was not in "
                          "repair mode" % left)
        r.restore()

    peer_carries_on(b, cross)


def img_inet_tcp_skip_in_flight(b):
    """static/inet_tcp_in_flight: a listener with a connection waiting in
    its queue, and a connect() in progress. Without --tcp-skip-in-flight
    the dump is refused by name and the test runs on; with it (over RPC,
    live; then a dump that kills, --tcp-established) it succeeds, warning
    of both, and the restored test finds the queue empty, the left-out
    connection reset by its peer, the connect() never made and the
    listener taking a new connection."""
    r = b.target("static/inet_tcp_in_flight")
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "--tcp-established"],
                 [r"listening, with 1 connection not accepted yet",
                  r"a connect\(\) in progress \(SYN_SENT\), which snap cannot save "
                  r"\(--tcp-skip-in-flight saves it never connected\)"])
    r.check_running("a refused dump")
    # Over RPC, live: the SYN_SENT socket needs tcp_skip_in_flight all the same.
    img = os.open(r.img, os.O_RDONLY | os.O_DIRECTORY)
    try:
        resp, status, _ = bad_rpc.call(b, rpc.request(rpc.DUMP, dict(
            images_dir_fd=img, pid=r.pid, leave_running=True, tcp_established=True,
            tcp_skip_in_flight=True, log_file="rpc-dump.log", log_level=4)))
    finally:
        os.close(img)
    with open(os.path.join(r.img, "rpc-dump.log"), errors="replace") as f:
        said = f.read()
    if not resp.success or not re.search(r"a connect\(\) in progress saved as a socket "
                                         r"never connected", said):
        raise Failure("RPC dump with tcp_skip_in_flight: %s" % (
            resp.errmsg or "no warning of the connect() in progress"),
            os.path.join(r.img, "rpc-dump.log"))
    r.check_running("a live RPC dump")
    status, err = b.snap.run(["dump", "-t", str(r.pid), "-D", r.img, "-o", "dump.log", "-v",
                              "4", "--tcp-established", "--tcp-skip-in-flight"], r.img, "dump")
    if status != 0:
        raise Failure(snap_failed("dump --tcp-skip-in-flight", status, err), r.log("dump"))
    with open(r.log("dump"), errors="replace") as f:
        log = f.read()
    for want in (r"1 connection waiting to be accepted left out \(--tcp-skip-in-flight\)",
                 r"a connect\(\) in progress saved as a socket never connected"):
        if not re.search(want, log):
            raise Failure("the dump did not warn: %s" % want, r.log("dump"))
    r.wait_gone("dump")
    r.restore()
    r.finish()


def img_inet_tcp_peer_reset(b):
    """A connection with bytes it had not sent, to a peer that never read,
    shut its side and is gone by the restore: the ACK of the peer's FIN fed
    in again draws a reset. The restore stalls right after the FIN
    (SNAP_FAULT, snap.8), so the reset is in before snap would send those
    bytes: the restore goes on, with a warning naming the connection, and
    the program finds its connection reset, its error not taken by snap."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # Small, so that the window shuts soon; the accepted socket inherits it.
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        ls.settimeout(10)
        t = tests.find("static/inet_tcp_ext").but(
            args=(str(ls.getsockname()[1]), "stuck"),
            restore_env=("SNAP_FAULT=tcp-fin-in:300",))
        r = b.target(t)
        conn, _ = ls.accept()
        conn.shutdown(socket.SHUT_WR)
        time.sleep(0.2)     # the FIN in: the program's end in CLOSE_WAIT
        r.dump()
        r.wait_gone("dump")
        # Gone without a word to the dumped end, as a peer killed meanwhile.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    finally:
        ls.close()
    r.restore()
    log = open(r.log("restore"), errors="replace").read()
    if "its peer reset it during the restore" not in log:
        raise Failure("the restore did not say the peer reset the connection",
                      r.log("restore"))
    r.finish()
