"""Bad-input tests of mappings and deleted files (mm-PID.img, ghost-ID.img):
images that would have the restore put pages where a mapping takes none, or
a deleted file's data outside it. Each fails with one line naming the image,
and nothing is left alive."""

import os
import re

from bad_ns import edit_records
from bad_notify import get, pb_decode, pb_encode, refused
from outcome import Failure
from proc import alive
from snap import last_line

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
