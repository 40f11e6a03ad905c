#!/usr/bin/python3
"""A real program under the zdtm contract: python3 holding a ~100 MB dict.

Started as `pydict.py --pidfile=P --outfile=O [--entries N]`. Daemonizes like
the C tests (the child builds the dict and checksums it; the parent writes P
once the child is ready), waits for SIGTERM, checksums the dict again and
writes PASS or FAIL to O.
"""
import argparse
import hashlib
import os
import random
import signal
import sys


def checksum(d):
    h = hashlib.sha256()
    for k in sorted(d):
        h.update(k.encode())
        h.update(d[k])
    return h.hexdigest()


def report(outfile, line):
    with open(outfile, "w") as f:
        f.write(line + "\n")


def write_pidfile(path, pid):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % pid)
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pidfile", required=True)
    ap.add_argument("--outfile", required=True)
    ap.add_argument("--entries", type=int, default=450000)
    ap.add_argument("--value-size", type=int, default=64)
    args = ap.parse_args()
    pidfile = os.path.abspath(args.pidfile)
    outfile = os.path.abspath(args.outfile)
    report(outfile, "")

    # Blocked from here on, so SIGTERM waits for sigwait() below.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    r, w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(w)
        if os.read(r, 1) != b"R":
            _, status = os.waitpid(pid, 0)
            sys.exit(1)
        write_pidfile(pidfile, pid)
        os._exit(0)

    os.close(r)
    os.setsid()
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)

    rng = random.Random(20240917)
    d = {"key-%08d" % i: rng.randbytes(args.value_size) for i in range(args.entries)}
    before = checksum(d)
    os.write(w, b"R")
    os.close(w)

    signal.sigwait({signal.SIGTERM})

    if len(d) != args.entries:
        report(outfile, "FAIL: %d entries, expected %d" % (len(d), args.entries))
        sys.exit(1)
    after = checksum(d)
    if after != before:
        report(outfile, "FAIL: checksum %s, expected %s" % (after, before))
        sys.exit(1)
    report(outfile, "PASS")


if __name__ == "__main__":
    main()
