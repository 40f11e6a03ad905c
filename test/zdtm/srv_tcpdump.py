"""Debian's tcpdump capturing on lo while snap dumps it (srv/tcpdump_live,
srv/tcpdump_restore). libpcap reads through a TPACKET_V3 receive ring
mapped in tcpdump's memory, whose blocks the kernel hands over when full or
after 1 s: at any moment up to a second of packets sits in the ring, read
by nobody yet.

A sender sends numbered UDP datagrams to a port on lo, one a millisecond;
tcpdump (-w -) appends them to a capture file opened O_APPEND, which the
test reads back. By default libpcap asks for TPACKET_V3 and its blocks;
with --immediate-mode, for TPACKET_V2, whose frames are handed over one
by one (and -U writes each packet as soon as it is read).

*_live (V2: --immediate-mode -U): `snap dump -R` while it captures; the original goes on, and its
capture holds every datagram from its first one on, once each, in order.
Then the images restore (the original gone): the restored tcpdump takes up
the ring where it stood and captures the datagrams sent after it, in order.

*_restore (V3): `snap dump`, which kills it, then `snap restore` while the
sender goes on: the capture holds every datagram sent before the dump
(those still in the ring at the dump included) and every one sent after
the restore, each once, in order; of those sent in between, none."""

import os
import signal
import socket
import struct
import threading
import time

from outcome import Failure
from proc import spawn, wait_gone, wait_until
from servers import START_TIMEOUT, need, snap_dump, snap_restore, stat, wait_dumped

TCPDUMP = "/usr/bin/tcpdump"
MAGIC = b"snap-tcpdump "


class Sender(threading.Thread):
    """Numbered datagrams to 127.0.0.1:@port, one a millisecond."""

    def __init__(self, port, first=1):
        super().__init__(daemon=True)
        self.port, self.sent, self.stop = port, first - 1, False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def run(self):
        while not self.stop:
            self.sock.sendto(MAGIC + b"%09d" % (self.sent + 1), ("127.0.0.1", self.port))
            self.sent += 1
            time.sleep(0.001)

    def finish(self):
        self.stop = True
        self.join()


def captured(path):
    """The numbers of the datagrams in pcap file @path, in file order."""
    with open(path, "rb") as f:
        data = f.read()
    out, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        rec = data[off + 16:off + 16 + incl]
        off += 16 + incl
        at = rec.find(MAGIC)
        if at >= 0 and len(rec) >= at + len(MAGIC) + 9:
            out.append(int(rec[at + len(MAGIC):at + len(MAGIC) + 9]))
    return out


def start_tcpdump(b, port, cap, flags):
    """tcpdump on lo, appending to @cap; once it captures (the sender's datagrams show up)."""
    need(TCPDUMP, "tcpdump")
    fd = os.open(cap, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    pid = spawn([TCPDUMP, "-i", "lo", "-n"] + flags + ["-w", "-", "udp and dst port %d" % port],
                stdout=fd, stderr=os.path.join(b.dir, "tcpdump.err"), cwd=b.dir)
    os.close(fd)
    if not wait_until(lambda: len(captured(cap)) >= 200, START_TIMEOUT, step=0.1):
        raise Failure("tcpdump (pid %d) captured nothing in %d s" % (pid, START_TIMEOUT),
                      os.path.join(b.dir, "tcpdump.err"))
    return pid


def stop_tcpdump(pid, what):
    """SIGINT once the last block is handed over: it writes what it read, and exits."""
    time.sleep(1.5)
    os.kill(pid, signal.SIGINT)
    if not wait_gone(pid, 30):
        raise Failure("%s (pid %d) did not exit on SIGINT" % (what, pid))


def in_order(seqs, what):
    for a, b in zip(seqs, seqs[1:]):
        if b <= a:
            raise Failure("%s: datagram %d after %d (twice, or out of order)" % (what, b, a))


def missing(seqs, lo, hi):
    got = set(seqs)
    return [n for n in range(lo, hi + 1) if n not in got]


def free_udp_port():
    """A port of our own on lo, bound: the datagrams are delivered there, not
    answered with ICMP."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    return s, port


def srv_tcpdump_live(b):
    rx, port = free_udp_port()
    cap = os.path.join(b.dir, "capture.pcap")
    sender = Sender(port)
    sender.start()
    pid = start_tcpdump(b, port, cap, ["--immediate-mode", "-U"])
    img = os.path.join(b.dir, "img")
    out = snap_dump(b, pid, img, ["-R"])
    want = "no" if b.snap.live_missing() else "yes"
    if stat(out, "live") != want:
        raise Failure("the dump says live: %s, expected %s" % (stat(out, "live"), want))
    time.sleep(0.5)
    sender.finish()
    stop_tcpdump(pid, "tcpdump after a live dump")
    seqs = captured(cap)
    in_order(seqs, "the capture across the live dump")
    gone = missing(seqs, seqs[0], sender.sent)
    if gone:
        raise Failure("the capture across the live dump lacks %d datagrams, from %d" %
                      (len(gone), gone[0]))
    before = len(seqs)
    snap_restore(b, img, [])
    later = Sender(port, first=10 ** 8)
    later.start()
    time.sleep(0.5)
    later.finish()
    stop_tcpdump(pid, "the restored tcpdump")
    new = captured(cap)[before:]
    # What was in the ring at the dump comes again (the restored tcpdump is the one
    # dumped), then the new ones.
    in_order(new, "the restored tcpdump's capture")
    gone = missing(new, 10 ** 8, later.sent)
    if gone:
        raise Failure("the restored tcpdump's capture lacks %d of %d new datagrams, from %d" %
                      (len(gone), later.sent - 10 ** 8 + 1, gone[0]))
    rx.close()


def srv_tcpdump_restore(b):
    rx, port = free_udp_port()
    cap = os.path.join(b.dir, "capture.pcap")
    sender = Sender(port)
    sender.start()
    pid = start_tcpdump(b, port, cap, [])
    img = os.path.join(b.dir, "img")
    first = captured(cap)[0]
    # The file grew when a block was handed over: half a second on, the one
    # the kernel fills holds about 500 datagrams that tcpdump has not seen.
    time.sleep(0.5)
    before = sender.sent
    snap_dump(b, pid, img, [])
    wait_dumped(pid, "tcpdump")
    snap_restore(b, img, [])
    after = sender.sent + 1
    time.sleep(0.5)
    sender.finish()
    stop_tcpdump(pid, "the restored tcpdump")
    seqs = captured(cap)
    in_order(seqs, "the capture across the dump and restore")
    gone = missing(seqs, first, before) + missing(seqs, after, sender.sent)
    if gone:
        raise Failure("the capture lacks %d datagrams sent while tcpdump ran, from %d "
                      "(the dump began after %d, the restore ended before %d)" %
                      (len(gone), gone[0], before, after))
    rx.close()
