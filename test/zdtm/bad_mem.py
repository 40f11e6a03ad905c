"""Bad-input tests of mappings and deleted files (mm-PID.img, ghost-ID.img):
images that would have the restore put pages where a mapping takes none, or
a deleted file's data outside it. Each fails with one line naming the image,
and nothing is left alive. A deleted file over --ghost-limit, refused by
name on the command line and over RPC, the process running on. And shared
memory in huge pages restored when the pool has none free."""

import os
import re

from bad_ns import edit_records
import hugepages
from bad_notify import get, pb_decode, pb_encode, refused
import bad_rpc
from outcome import Failure
from proc import alive, spawn_wait
import rpc
from snap import last_line, snap_failed

MAP_DROPPABLE = 0x08
MAP_TYPE = 0x0f


def bad_restore_ghost_extents(b):
    """A ghost whose second data extent starts inside the first
    (ghost_extent.off, field 1 of ghost_file_entry.extents, field 7)."""
    r = b.image("static/file_unlinked_sparse")
    ghosts = [f for f in os.listdir(r.img) if re.fullmatch(r"ghost-\d+\.img", f)]
    if len(ghosts) != 1:
        raise Failure("setup: %d ghost images in %s" % (len(ghosts), r.img))
    state = {"done": False}

    def edit(i, payload):
        fields = pb_decode(payload)
        extents = get(fields, 7)
        if len(extents) < 2:
            return payload
        ext = pb_decode(extents[1][2])
        get(ext, 1)[0][2] = 0
        extents[1][2] = pb_encode(ext)
        state["done"] = True
        return pb_encode(fields)
    refused(b, r, ghosts[0], edit, r"inconsistent contents", lambda: state["done"])


def bad_restore_droppable_pages(b):
    """The heap made MAP_DROPPABLE (vma_entry.flags, field 5, of the entry
    named [heap], field 10): its saved pages are outside any mapping that
    takes pages."""
    r = b.image("static/mem_heap")
    mm = [f for f in os.listdir(r.img) if re.fullmatch(r"mm-\d+\.img", f)]
    state = {"done": False}

    def edit(i, payload):
        fields = pb_decode(payload)
        for f in get(fields, 1):
            vma = pb_decode(f[2])
            if [v[2] for v in get(vma, 10)] != [b"[heap]"]:
                continue
            flags = get(vma, 5)[0]
            flags[2] = (flags[2] & ~MAP_TYPE) | MAP_DROPPABLE
            f[2] = pb_encode(vma)
            state["done"] = True
        return pb_encode(fields)
    edit_records(os.path.join(r.img, mm[0]), edit)
    if not state["done"]:
        raise Failure("setup: no [heap] in %s" % mm[0])
    err = b.snap_fails(["restore", "-D", r.img, "-d"], [r"pagemap-\d+\.img"], workdir=r.img)
    if not re.search(r"outside the dumped mappings", err):
        raise Failure("the error does not say what is wrong: %s" % last_line(err))
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)


def cow_images(b):
    """static/mem_cow_tree dumped: its images, the root's mm image and a
    child's, and the start of a mapping that child inherits
    (vma_entry.inherited, field 19; start is field 1)."""
    r = b.image("static/mem_cow_tree")
    root = "mm-%d.img" % r.pid
    for f in sorted(os.listdir(r.img)):
        if not re.fullmatch(r"mm-\d+\.img", f) or f == root:
            continue
        found = []

        def look(i, payload):
            for v in get(pb_decode(payload), 1):
                vma = pb_decode(v[2])
                if get(vma, 19):
                    found.append(get(vma, 1)[0][2])
            return payload
        edit_records(os.path.join(r.img, f), look)
        if found:
            return r, root, f, found[0]
    raise Failure("setup: no child of static/mem_cow_tree inherits a mapping")


def add_inherited(start, first, last):
    """An edit of an mm image: the mapping at @start gets one more inherited
    range, [@first(vma start, end), @last(...)), after its others."""
    state = {"done": False}

    def edit(i, payload):
        fields = pb_decode(payload)
        for v in get(fields, 1):
            vma = pb_decode(v[2])
            if get(vma, 1)[0][2] != start:
                continue
            s, e = get(vma, 1)[0][2], get(vma, 2)[0][2]
            rng = pb_encode([[1, 0, first(s, e)], [2, 0, last(s, e)]])
            vma.append([19, 2, rng])
            v[2] = pb_encode(vma)
            state["done"] = True
        return pb_encode(fields)
    return edit, lambda: state["done"]


def bad_restore_cow_uncovered(b):
    """A child inherits the last page of a mapping, which its parent never
    touched: the parent's image has no page there to share."""
    r, _, child, start = cow_images(b)
    edit, done = add_inherited(start, lambda s, e: e - 4096, lambda s, e: e)
    refused(b, r, child, edit, r"inherited, but parent \d+ has none", done)


def bad_restore_cow_orphan(b):
    """The root of the tree inherits pages: it has no parent in the images."""
    r, root, _, start = cow_images(b)
    edit, done = add_inherited(start, lambda s, e: s, lambda s, e: s + 4096)
    refused(b, r, root, edit, r"not a live process of the images", done)


def bad_dump_ghost_limit(b):
    """static/file_unlinked's deleted file holds 10000 bytes of data. Over
    --ghost-limit 4K (ghost_limit 4096 over RPC) the dump is refused naming the
    file and the limit, and the test runs on. --ghost-limit 10000, with CRIU's
    --link-remap (which a file with no link left does not need), --timeout
    and --weak-sysctls (ignored, each said in the log), saves it, and the
    restored test passes; a CRIU option snap cannot honour is refused by
    name."""
    r = b.target("static/file_unlinked")
    over = r"fd \d+ \(.*\.deleted\): the deleted file holds 10000 bytes of data, over " \
           r"--ghost-limit \(4096 bytes\)"
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "--ghost-limit", "4K"], [over])
    r.check_running("a dump over --ghost-limit")
    img = os.open(r.img, os.O_RDONLY | os.O_DIRECTORY)
    try:
        bad_rpc.expect_error(b, rpc.request(rpc.DUMP, dict(images_dir_fd=img, pid=r.pid,
                                                           ghost_limit=4096)),
                             "over --ghost-limit (4096 bytes)")
    finally:
        os.close(img)
    r.check_running("an RPC dump over ghost_limit")
    b.snap_fails(["dump", "-t", str(r.pid), "-D", r.img, "--exec-cmd"],
                 [r"--exec-cmd is not supported: snap runs no command after a restore"])
    status, err = b.snap.run(["dump", "-t", str(r.pid), "-D", r.img, "-o", "dump.log", "-v",
                              "4", "--ghost-limit", "10000", "--link-remap", "--timeout", "5",
                              "--weak-sysctls"],
                             r.img, "dump")
    if status != 0:
        raise Failure(snap_failed("dump", status, err), r.log("dump"))
    with open(r.log("dump")) as f:
        log = f.read()
    for opt in ("timeout", "weak-sysctls"):
        if "ignoring --%s: " % opt not in log:
            raise Failure("the dump's log does not say it ignored --%s" % opt, r.log("dump"))
    r.wait_gone("a dump with --ghost-limit 10000")
    r.restore()
    r.finish("a restore of a dump with --ghost-limit 10000")


def remove_segments(pid):
    """IPC_RMID the SysV segments @pid created (a dump that kills leaves them)."""
    with open("/proc/sysvipc/shm") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if int(fields[4]) == pid:
                spawn_wait(["/usr/bin/ipcrm", "-m", fields[1]])


def hugetlb_image(b):
    """Images of static/shm_hugetlb, its huge pages reserved; the SysV
    segment the dump leaves is removed at cleanup."""
    pool = hugepages.HugePages(8)
    pool.reserve()
    b.cleanups.append(pool.release)
    r = b.image("static/shm_hugetlb")
    pid = r.pid     # Run.cleanup(), which comes first, forgets it
    b.cleanups.append(lambda: remove_segments(pid))
    return r, pool


def bad_restore_hugetlb_pool(b):
    """static/shm_hugetlb dumped, then every free huge page taken out of the
    pool: the restore fails with one line naming the shared memory object and
    the huge pages it needs, and leaves nothing alive. With the pages back,
    the same images restore (taking back the SysV segment the dump left) and
    the test passes."""
    r, pool = hugetlb_image(b)
    total = hugepages.read_int(hugepages.NR_HUGEPAGES)
    # The kernel keeps the pages in use or reserved; the free ones go.
    with open(hugepages.NR_HUGEPAGES, "w") as f:
        f.write("0")
    try:
        if pool.available() > 0:
            raise Failure("setup: %d huge pages still free" % pool.available())
        b.snap_fails(["restore", "-D", r.img, "-d"],
                     [r"(shared memory object \d+|memfd huge-memfd): .*its \d+ bytes need "
                      r"free 2048 kB huge pages"], workdir=r.img)
    finally:
        with open(hugepages.NR_HUGEPAGES, "w") as f:
            f.write(str(total))
    if alive(r.pid):
        raise Failure("pid %d is alive after a failed restore" % r.pid)
    r.restore()
    r.finish("a restore after one that found no huge pages")


def bad_restore_shmem_huge_size(b):
    """static/shm_hugetlb's objects with their huge page size
    (shmem_entry.huge_page_size, field 15) made 3 bytes, then 1 TiB, which
    no machine has pages of: each restore is refused naming shmem.img and
    what is wrong, and nothing is left alive."""
    r, _ = hugetlb_image(b)
    for size, mention in ((3, r"bad huge page size 3"),
                          (1 << 40, r"1073741824 kB huge pages, which this machine does not "
                                    r"have")):
        state = {"done": False}

        def edit(i, payload):
            fields = pb_decode(payload)
            for f in get(fields, 15):
                f[2] = size
                state["done"] = True
            return pb_encode(fields)
        refused(b, r, "shmem.img", edit, mention, lambda: state["done"])


def bad_restore_mlock_future(b):
    """static/mlock_future's images with its mlockall() flags made
    MCL_CURRENT | MCL_FUTURE (3; mm_info_entry.mlock_future, field 14 of
    core_entry.mm, field 12), which would lock every mapping the process had
    left unlocked: the restore is refused naming core-PID.img, nothing left
    alive."""
    r = b.image("static/mlock_future")
    state = {"done": False}

    def edit(i, payload):
        core = pb_decode(payload)
        for m in get(core, 12):
            mm = pb_decode(m[2])
            for f in get(mm, 14):
                f[2] = 3
                state["done"] = True
            m[2] = pb_encode(mm)
        return pb_encode(core)

    refused(b, r, "core-%d.img" % r.pid, edit, r"mlock_future 0x3 is not MCL_FUTURE",
            lambda: state["done"])
