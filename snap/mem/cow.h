/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copy-on-write sharing between a parent and its children, kept across a
 * dump and a restore (Documentation/images.md, vma_entry.inherited).
 *
 * After fork() a parent and its child map the same physical pages until
 * one of them writes: a pre-forking server's workers share most of the
 * master's memory. At dump (cow-dump.c), page_collect() asks, for each
 * private anonymous mapping a child has at the same place as its parent,
 * which of its pages are still the parent's; those are saved once, in the
 * parent's image, and the child's mapping lists them (vma.inherited).
 *
 * At restore (cow-restore.c) children are forked by their parent while it
 * still runs snap's code (cr/restore-task.c), before its restorer. So the
 * parent maps each such mapping first, somewhere neither the old nor any
 * final layout uses ("premaps" it), fills it with its pages and then forks:
 * the children get the area, pages shared. A child empties what it did not
 * have, writes its own pages over the inherited ones (breaking the sharing
 * of just those, as the original's writes had) before it forks children of
 * its own, which may inherit from it in turn. Each restorer moves its
 * premapped areas to their final place with mremap() and reads nothing
 * more for them.
 */
#ifndef SNAP_MEM_COW_H
#define SNAP_MEM_COW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctx.h"
#include "protocol.h"

/* Dump: the parent of a task being collected, whose pages it may share. */
struct cow_parent {
	pid_t pid;			/* the task being collected */
	const struct dump_task *p;	/* its parent; NULL: compare nothing */
	int pmfd;			/* its /proc/PID/pagemap */
	size_t next;			/* its VMA to look at next: lists are in address order */
	const struct vma *pv;		/* the VMA matching the one being collected, or NULL */
	uint64_t *mine, *theirs;	/* pagemap buffers */
	uint8_t *shared;
};

/* Collect the pages of a run the process has on its own: 0 or -1 (logged). */
typedef int cow_own_fn(void *arg, uint64_t vaddr, uint64_t nr);

/*
 * Before @t's pages are collected: its parent, if the tree holds it and
 * this machine shows page frames; else cp->p stays NULL. -1 (logged) only
 * when out of memory.
 */
int cow_open(const struct dump_ctx *ctx, const struct dump_task *t, struct cow_parent *cp);
/* Whether @t has a parent in the tree whose pages it may be saved sharing. */
bool cow_has_parent(const struct dump_ctx *ctx, const struct dump_task *t);
/*
 * Whether @v may share pages with the parent: a private anonymous mapping
 * at the same place with the same flags in both. Call for @t's VMAs in
 * order.
 */
bool cow_match(struct cow_parent *cp, const struct vma *v);
/*
 * Present pages [@start, +@nr pages) of @v (cow_match() true): those still
 * the parent's go to v->inherited, the others to @own. @pmfd is the task's
 * /proc/PID/pagemap. 0 or -1 (logged).
 */
int cow_split(struct cow_parent *cp, int pmfd, struct vma *v, uint64_t start, uint64_t nr,
	      cow_own_fn *own, void *arg);
void cow_close(struct cow_parent *cp);

/*
 * Restore: how many of @t's mappings are premapped, because they inherit
 * the parent's or a child of @t inherits them: the room its restorer args
 * need. -1 logged.
 */
ssize_t cow_nr_premapped(const struct restore_ctx *ctx, const struct restore_task *t);
/*
 * In snap, before any process is made: @t's inherited ranges are sorted,
 * inside their mapping, apart from its own pages, and covered by what its
 * parent's mapping at the same place will hold. -1 logged, naming the image.
 */
int cow_check(const struct restore_ctx *ctx, const struct restore_task *t);
/*
 * In the new process @t, before it makes its children: map its premapped
 * areas (inherited ones are found through the parent's restorer args @pa),
 * fill them, and note them in its restorer args @a (rst_vma.premap,
 * a->premaps). 0, or -1 logged.
 */
int cow_premap(const struct restore_ctx *ctx, const struct restore_task *t,
	       struct restorer_args *a, const struct restorer_args *pa);

#endif
