#!/usr/bin/env python3
"""A TCP proxy between `snap dump --page-server` and `snap page-server` that
damages the stream on purpose, for bad_pageserver.py. It reads the frames
(Documentation/page-server.md: a 20-byte header, u32 length at byte 8) so
that it hits the frame it is told to, whatever the sizes before it:

  --flip TYPE:N        flip one bit in the middle of the Nth TYPE frame's
                       payload (dump -> server)
  --flip-hdr TYPE:N    flip one bit of the Nth TYPE frame's length field
  --cut TYPE:N         pass the stream up to the middle of the Nth TYPE
                       frame, then close both connections
  --drop TYPE:N        leave out the Nth TYPE frame (each frame sound, one missing)
  --dup TYPE:N         send the Nth TYPE frame twice
  --hello-version V    rewrite the HELLO's version (and its crcs) to V
  --welcome-version V  rewrite the server's WELCOME version to V
  --drop-last-ack      close both connections instead of passing on the
                       server's answer to END

One connection, then exit. The listening socket is open before the file
--ready names is written."""

import argparse
import os
import select
import socket
import struct
import sys

TYPES = {"HELLO": 1, "WELCOME": 2, "ERROR": 3, "OPEN": 4, "RUNS": 5, "LAYOUT": 6,
         "PAGES": 7, "CLOSE": 8, "ACK": 9, "END": 10, "ABORT": 11, "PARENT": 12, "GET": 13}
HDR = 20


def crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


TABLE = crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def reseal(hdr, payload):
    """The header of @payload with its crcs computed again."""
    typ, flags, sink, length = struct.unpack_from("<HHII", hdr)
    head = struct.pack("<HHIII", typ, flags, sink, len(payload), crc32c(payload))
    return head + struct.pack("<I", crc32c(head))


class Direction:
    """One direction of the stream, cut into frames as it passes."""

    def __init__(self, src, dst):
        self.src, self.dst = src, dst
        self.buf = b""
        self.counts = {}

    def frames(self):
        """Whole frames buffered so far: (header, payload) each."""
        while len(self.buf) >= HDR:
            length = struct.unpack_from("<I", self.buf, 8)[0]
            if len(self.buf) < HDR + length:
                return
            hdr, payload = self.buf[:HDR], self.buf[HDR:HDR + length]
            self.buf = self.buf[HDR + length:]
            yield hdr, payload


def nth(spec):
    name, n = spec.split(":")
    return TYPES[name], int(n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--to", type=int, required=True)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--ready", required=True)
    ap.add_argument("--flip")
    ap.add_argument("--flip-hdr")
    ap.add_argument("--cut")
    ap.add_argument("--drop")
    ap.add_argument("--dup")
    ap.add_argument("--hello-version", type=int)
    ap.add_argument("--welcome-version", type=int)
    ap.add_argument("--drop-last-ack", action="store_true")
    a = ap.parse_args()

    lsk = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsk.bind((a.address, a.listen))
    lsk.listen(1)
    with open(a.ready + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(a.ready + ".tmp", a.ready)
    dump, _ = lsk.accept()
    server = socket.create_connection((a.address, a.to))
    up, down = Direction(dump, server), Direction(server, dump)
    last_ack_due = False

    def shut():
        for s in (dump, server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        sys.exit(0)

    while True:
        r, _, _ = select.select([dump, server], [], [])
        for s in r:
            d = up if s is dump else down
            data = s.recv(1 << 20)
            if not data:
                # One side closed: so does the other, once its frames are through.
                d.dst.sendall(d.buf)
                shut()
            d.buf += data
            for hdr, payload in d.frames():
                typ, sink = struct.unpack_from("<H", hdr)[0], struct.unpack_from("<I", hdr, 4)[0]
                d.counts[typ] = d.counts.get(typ, 0) + 1
                k = (typ, d.counts[typ])
                if d is up:
                    if typ == TYPES["END"]:
                        last_ack_due = True
                    if a.flip and k == nth(a.flip):
                        mid = len(payload) // 2
                        payload = payload[:mid] + bytes([payload[mid] ^ 0x10]) + payload[mid + 1:]
                    if a.flip_hdr and k == nth(a.flip_hdr):
                        hdr = hdr[:8] + bytes([hdr[8] ^ 0x01]) + hdr[9:]
                    if a.cut and k == nth(a.cut):
                        d.dst.sendall(hdr + payload[:len(payload) // 2])
                        shut()
                    if a.drop and k == nth(a.drop):
                        continue
                    if a.dup and k == nth(a.dup):
                        d.dst.sendall(hdr + payload)
                    if a.hello_version is not None and typ == TYPES["HELLO"]:
                        payload = payload[:8] + struct.pack("<I", a.hello_version) + payload[12:]
                        hdr = reseal(hdr, payload)
                else:
                    if a.welcome_version is not None and typ == TYPES["WELCOME"]:
                        payload = struct.pack("<I", a.welcome_version)
                        hdr = reseal(hdr, payload)
                    if a.drop_last_ack and last_ack_due and typ == TYPES["ACK"] and sink == 0:
                        shut()
                d.dst.sendall(hdr + payload)


if __name__ == "__main__":
    main()
