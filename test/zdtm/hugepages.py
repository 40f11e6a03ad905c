"""2 MiB huge pages for the tests that map hugetlb memory (hugepages: N in
their .desc): the shortfall is added to vm.nr_hugepages before the test and
taken back after; the test is skipped if the kernel cannot find them."""

from outcome import Skip

NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"
HUGEPAGES_2M = "/sys/kernel/mm/hugepages/hugepages-2048kB/"


def read_int(path):
    with open(path) as f:
        return int(f.read())


class HugePages:
    """Enough free 2 MiB huge pages for a test, added to vm.nr_hugepages.

    Pages already free and not reserved count; only the shortfall is
    added. release() takes back exactly what was added, rather than writing
    back the old total: another runner may have added its own meanwhile.
    """

    def __init__(self, need):
        self.need, self.added = need, 0

    def available(self):
        return (read_int(HUGEPAGES_2M + "free_hugepages") -
                read_int(HUGEPAGES_2M + "resv_hugepages"))

    def reserve(self):
        try:
            short = self.need - self.available()
            if short <= 0:
                return
            total = read_int(NR_HUGEPAGES)
            with open(NR_HUGEPAGES, "w") as f:
                f.write(str(total + short))
            # The kernel may find fewer free 2 MiB blocks than asked for.
            self.added = read_int(NR_HUGEPAGES) - total
        except OSError as e:
            raise Skip("cannot reserve %d 2 MiB huge pages: %s" % (self.need, e))
        if self.available() < self.need:
            self.release()
            raise Skip("could reserve only %d of %d 2 MiB huge pages" % (
                self.available(), self.need))

    def release(self):
        if not self.added:
            return
        with open(NR_HUGEPAGES, "w") as f:
            f.write(str(max(read_int(NR_HUGEPAGES) - self.added, 0)))
        self.added = 0

