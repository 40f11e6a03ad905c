"""ipc namespaces (snap/ns/ipc*.c): a restore from a damaged ipcns-ID.img or
ipcns-shm-pages-ID.img fails with one line naming it; a namespace holding a
POSIX message queue is refused at dump by the queue's name, and runs on."""

import os
import re
import shutil

from bad_restore import flip_middle, restore_damaged, truncate_half
from outcome import Failure
from proc import PYTHON, kill, proc_state, spawn, wait_until

# In an ipc namespace of its own: a POSIX queue holding one message, not
# open any more (the queue, not an fd, is what the dump must refuse).
MQ_HOLDER = """
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
libc.mq_open.restype = ctypes.c_int
q = libc.mq_open(b"/snap-bad-ipc", os.O_CREAT | os.O_WRONLY, 0o600, None)
if q < 0 or libc.mq_send(q, b"kept", 4, 1) or libc.mq_close(q):
    raise SystemExit("mq: %s" % os.strerror(ctypes.get_errno()))
open("ready", "w").close()
time.sleep(60)
"""


def bad_restore_ipc_corrupt(b):
    restore_damaged(b, r"ipcns-\d+\.img", flip_middle, ["corrupted"], test="static/ns_ipc")


def bad_restore_ipc_trunc_pages(b):
    restore_damaged(b, r"ipcns-shm-pages-\d+\.img", truncate_half, ["truncated"],
                    test="static/ns_ipc")


def bad_dump_ipc_posix_mq(b):
    unshare = shutil.which("unshare")
    if not unshare:
        raise Failure("setup: no unshare(1) (util-linux)")
    work = os.path.join(b.dir, "mq")
    os.mkdir(work)
    pid = spawn([unshare, "--ipc", PYTHON, "-c", MQ_HOLDER], cwd=work)
    try:
        if not wait_until(lambda: os.path.exists(os.path.join(work, "ready")), 5):
            raise Failure("setup: the queue holder did not get ready")
        img = os.path.join(b.dir, "img")
        os.mkdir(img)
        b.snap_fails(["dump", "-t", str(pid), "-D", img],
                     [r"POSIX message queue /snap-bad-ipc\b.*not supported"])
        if proc_state(pid) not in ("S", "R"):
            raise Failure("pid %d is in state %s after the refused dump" % (pid, proc_state(pid)))
    finally:
        kill(pid)
