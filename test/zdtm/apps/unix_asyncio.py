#!/usr/bin/python3
"""A real event loop under the zdtm contract: a Python asyncio server on a
unix listening socket, talking to client processes of the same tree.

Started as `unix_asyncio.py --pidfile=P --outfile=O [--clients N]`.
Daemonizes like the C tests. The server (the root) listens on an abstract
unix socket; N child processes connect and converse without pause: each
sends "SEQ\\n" and expects "SEQ:SEQ*SEQ\\n" back, the server checks that
each connection's SEQ goes up by one. A dump catches requests and replies in
flight in the sockets' queues. On SIGTERM the server waits until every
client has made 50 more exchanges (the conversation goes on after restore),
then tells them to stop; each answers with its count and the first error it
saw, and the server writes PASS or FAIL.

With --loop=poll the loop runs on selectors.PollSelector (poll(2)); the
default, --loop=epoll, is asyncio's own loop, on an epoll fd that snap
restores with every registered socket.
"""
import argparse
import asyncio
import os
import selectors
import signal
import socket
import sys
import time

MORE_AFTER_TERM = 50


def report(outfile, line):
    with open(outfile, "w") as f:
        f.write(line + "\n")


def write_pidfile(path, pid):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % pid)
    os.rename(tmp, path)


def client(addr, idx):
    """A child: converse until told to stop, then say how it went."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(addr)
    f = s.makefile("rwb", buffering=0)
    seq, error = 0, ""
    while True:
        seq += 1
        f.write(b"%d\n" % seq)
        line = f.readline()
        if line == b"stop\n":
            break
        want = b"%d:%d\n" % (seq, seq * seq)
        if line != want and not error:
            error = "client %d: sent %d, got %r" % (idx, seq, line)
        time.sleep(0.002)
    f.write(("done %d %s\n" % (seq - 1, error)).encode())
    os._exit(0)


class Server:
    def __init__(self, nclients):
        self.nclients = nclients
        self.counts = {}          # connection -> exchanges so far
        self.at_term = None       # counts when SIGTERM came
        self.reports = []
        self.errors = []
        self.done = asyncio.Event()
        self.term = asyncio.Event()

    async def handle(self, reader, writer):
        me = len(self.counts)
        self.counts[me] = 0
        expect = 1
        while True:
            line = await reader.readline()
            if not line:
                self.errors.append("connection %d closed early" % me)
                break
            if line.startswith(b"done "):
                self.reports.append(line.decode().strip())
                break
            seq = int(line)
            if seq != expect:
                self.errors.append("connection %d: request %d after %d" % (me, seq, expect - 1))
            expect = seq + 1
            self.counts[me] += 1
            if self.term.is_set() and self.counts[me] >= self.at_term[me] + MORE_AFTER_TERM:
                writer.write(b"stop\n")
            else:
                writer.write(b"%d:%d\n" % (seq, seq * seq))
            await writer.drain()
        writer.close()
        if len(self.reports) + len(self.errors) >= self.nclients:
            self.done.set()

    def on_term(self):
        self.at_term = dict(self.counts)
        self.term.set()


async def serve(lsock, nclients, ready_w):
    srv = Server(nclients)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, srv.on_term)
    server = await asyncio.start_unix_server(srv.handle, sock=lsock)
    # Ready once every client is talking.
    while len(srv.counts) < nclients or min(srv.counts.values()) < 10:
        await asyncio.sleep(0.01)
    os.write(ready_w, b"R")
    os.close(ready_w)
    await srv.done.wait()
    server.close()
    return srv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pidfile", required=True)
    ap.add_argument("--outfile", required=True)
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--loop", choices=("epoll", "poll"), default="epoll")
    args = ap.parse_args()
    pidfile = os.path.abspath(args.pidfile)
    outfile = os.path.abspath(args.outfile)
    report(outfile, "")

    r, w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(w)
        if os.read(r, 1) != b"R":
            os.waitpid(pid, 0)
            sys.exit(1)
        write_pidfile(pidfile, pid)
        os._exit(0)

    os.close(r)
    os.setsid()
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)

    addr = "\0zdtm-unix-asyncio-%d" % os.getpid()
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(addr)
    lsock.listen(16)
    kids = []
    for i in range(args.clients):
        kid = os.fork()
        if not kid:
            os.close(w)
            lsock.close()
            client(addr, i)
        kids.append(kid)

    if args.loop == "poll":
        loop = asyncio.SelectorEventLoop(selectors.PollSelector())
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    srv = loop.run_until_complete(serve(lsock, args.clients, w))

    for kid in kids:
        os.waitpid(kid, 0)
    fails = list(srv.errors)
    if len(srv.reports) != args.clients:
        fails.append("%d clients reported, not %d" % (len(srv.reports), args.clients))
    for rep in srv.reports:
        words = rep.split(" ", 2)
        if len(words) > 2 and words[2]:
            fails.append(words[2])
    if fails:
        report(outfile, "FAIL: " + "; ".join(fails))
        sys.exit(1)
    report(outfile, "PASS")


if __name__ == "__main__":
    main()
