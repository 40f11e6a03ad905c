/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The live snapshot (Documentation/architecture.md, "Live snapshot"), as a
 * dump mode (see mem/dump-mode.h). While the task is frozen, its private anonymous memory
 * is write-protected through a userfaultfd the parasite creates in the
 * task's mm, and the pages to save are held in pipes (vmsplice), so that
 * pages the task later unmaps or discards are still there. Once the task
 * runs again, the held pages are streamed to the image and the protection
 * lifted behind; a write to a page not saved yet faults, and the old page
 * is copied into a bounded buffer before the writer may go on.
 */
#ifndef SNAP_LIVE_H
#define SNAP_LIVE_H

#include "ctx.h"
#include "mem/dump-mode.h"

/* Can this kernel do it (userfaultfd WP, the events we need, /dev/userfaultfd)? */
bool live_supported(const struct kfeat *kf);

extern const struct dump_mode live_dump_mode;

#endif
