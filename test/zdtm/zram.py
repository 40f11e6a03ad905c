"""Swap on a zram device, for the tests and benchmarks that need pages in swap.

    swap = ZramSwap(run_cmd, "1G")  # run_cmd(argv) -> (ok, output)
    reason = swap.ensure()           # None once there is swap, else why there cannot be
    swap.teardown()                  # swapoff and remove the device, if ensure() made it

ensure() uses whatever swap is already on. Only if there is none does it make
one: a zram device from /sys/class/zram-control/hot_add (zram is built into
the kernels we run on), sized, `mkswap`ed (util-linux) and `swapon`ed (the
`mount` package on Debian). The device holds pages compressed in RAM; its size
caps the uncompressed swap, it reserves nothing. The caller passes run_cmd
because the zdtm runner reaps every child itself, which the subprocess module
does not survive.
"""
import os
import shutil
import time

ZRAM_CONTROL = "/sys/class/zram-control"
SBIN = "/usr/local/sbin:/usr/sbin:/sbin"


def swap_areas():
    """The swap areas in use: /proc/swaps without its header."""
    try:
        with open("/proc/swaps") as f:
            return [l.split()[0] for l in f.read().splitlines()[1:] if l.strip()]
    except OSError:
        return []


def write(path, value):
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as e:
        raise RuntimeError("writing %s to %s: %s" % (value, path, e.strerror))


class ZramSwap:
    def __init__(self, run_cmd, size):
        self.run_cmd = run_cmd
        self.size = size
        self.checked, self.reason = False, None
        self.dev = None         # the zram device number we made
        self.swapon = False     # we swapon'ed it

    def ensure(self):
        if not self.checked:
            self.checked = True
            if not swap_areas():
                self.reason = self._make()
        return self.reason

    def _tool(self, name, package):
        path = shutil.which(name, path=os.environ.get("PATH", "") + ":" + SBIN)
        if not path:
            raise RuntimeError("no %s (Debian package %s)" % (name, package))
        return path

    def _run(self, argv):
        ok, out = self.run_cmd(argv)
        if not ok:
            raise RuntimeError("`%s` failed: %s" % (" ".join(argv), out.strip()))

    def _make(self):
        """Make and swapon a zram device: None, or why it could not be done."""
        if os.geteuid() != 0:
            return "there is no swap, and only root can make one"
        if not os.path.exists(os.path.join(ZRAM_CONTROL, "hot_add")):
            return "there is no swap, and no zram to make one (%s)" % ZRAM_CONTROL
        try:
            mkswap = self._tool("mkswap", "util-linux")
            swapon = self._tool("swapon", "mount")
            with open(os.path.join(ZRAM_CONTROL, "hot_add")) as f:
                self.dev = int(f.read())
            path = "/dev/zram%d" % self.dev
            deadline = time.monotonic() + 5
            while not os.path.exists(path) and time.monotonic() < deadline:
                time.sleep(0.01)
            write("/sys/block/zram%d/disksize" % self.dev, self.size)
            self._run([mkswap, path])
            self._run([swapon, path])
            self.swapon = True
            return None
        except (OSError, ValueError, RuntimeError) as e:
            reason = "cannot make a zram swap: %s" % e
            self.teardown()
            return reason

    def teardown(self):
        """Undo what ensure() made. None, or what could not be undone."""
        errors = []
        if self.swapon:
            try:
                ok, out = self.run_cmd([self._tool("swapoff", "mount"), "/dev/zram%d" % self.dev])
                if not ok:
                    errors.append("swapoff /dev/zram%d: %s" % (self.dev, out.strip()))
            except RuntimeError as e:
                errors.append(str(e))
            self.swapon = False
        if self.dev is not None and not errors:
            try:
                write(os.path.join(ZRAM_CONTROL, "hot_remove"), str(self.dev))
            except RuntimeError as e:
                errors.append(str(e))
            self.dev = None
        return "; ".join(errors) or None
