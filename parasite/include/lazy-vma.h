/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which mappings a lazy restore leaves to the lazy-pages server: private
 * anonymous memory, read-write, unlocked, without guards, not MADV_HUGEPAGE
 * (the eager restore moves whole huge pages in; the server places small
 * ones), with pages in the image (the restorer places pages in them with UFFDIO_MOVE, which wants a
 * writable, unlocked destination); the others are filled by the restorer
 * as in an eager restore. The restorer and snap both decide with this, on
 * the same struct restorer_args. Freestanding.
 */
#ifndef SNAP_LAZY_VMA_H
#define SNAP_LAZY_VMA_H

#include <linux/mman.h>

#include "protocol.h"

/* The uffd features a lazy restore asks for. */
#define LAZY_UFFD_FEATURES                                                                         \
	(UFFD_FEATURE_MOVE | UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP |                  \
	 UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_THREAD_ID)

/* The largest batch of pages the server places at once. */
#define LAZY_BATCH_PAGES 256

static inline int lazy_vma_has_pages(const struct restorer_args *a, const struct rst_vma *v)
{
	const struct rst_pagemap *pm = (const void *)(unsigned long)a->pagemap;
	unsigned int i;

	for (i = 0; i < a->nr_pagemap; i++)
		if (pm[i].vaddr >= v->start && pm[i].vaddr < v->end)
			return 1;
	return 0;
}

static inline int lazy_vma_has_guards(const struct restorer_args *a, const struct rst_vma *v)
{
	const struct rst_range *g = (const void *)(unsigned long)a->guards;
	unsigned int i;

	for (i = 0; i < a->nr_guards; i++)
		if (g[i].start >= v->start && g[i].start < v->end)
			return 1;
	return 0;
}

static inline int lazy_vma(const struct restorer_args *a, const struct rst_vma *v)
{
	return a->lazy && v->kind == RST_VMA_ANON && !(v->flags & MAP_HUGETLB) && !v->premap &&
	       v->prot == (PROT_READ | PROT_WRITE) && v->lock == RST_VMA_UNLOCKED &&
	       !(v->madv & (1ULL << MADV_HUGEPAGE)) && !lazy_vma_has_guards(a, v) &&
	       lazy_vma_has_pages(a, v);
}

#endif
