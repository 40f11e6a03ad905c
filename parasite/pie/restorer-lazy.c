// SPDX-License-Identifier: GPL-2.0
/*
 * The restorer's part of a lazy restore (snap/lazy/README.md): instead of
 * filling the lazy mappings (lazy-vma.h), register them with a uffd of
 * their own, asking for the fork/mremap/munmap/madvise events, and leave
 * it open for snap (its fd number in the arguments); snap takes it
 * (pidfd_getfd) for the lazy-pages server and closes it here before the
 * process runs. The server places pages with UFFDIO_COPY: the kernel
 * refuses UFFDIO_MOVE from any process but the uffd's own
 * (scripts/probe-uffd-move.c).
 */
#include "kcompat.h"
#include "lazy-vma.h"
#include "pie-lib.h"
#include "pie-syscall.h"
#include "restorer.h"

#define PAGE	       4096UL
#define MAP_PRIVATE_   0x02
#define MAP_ANONYMOUS_ 0x20

static int in_lazy_vma(struct restorer_args *a, unsigned long addr)
{
	struct rst_vma *vmas = (void *)a->vmas;
	unsigned int i;

	for (i = 0; i < a->nr_vmas; i++)
		if (addr >= vmas[i].start && addr < vmas[i].end)
			return lazy_vma(a, &vmas[i]);
	return 0;
}

/* Where the page at @addr is in the page image, or -1 if it has none. */
static long image_offset(struct restorer_args *a, unsigned long addr)
{
	struct rst_pagemap *pm = (void *)a->pagemap;
	unsigned long off = 0;
	unsigned int i;

	for (i = 0; i < a->nr_pagemap; i++) {
		if (addr >= pm[i].vaddr && addr < pm[i].vaddr + pm[i].nr_pages * PAGE)
			return off + (addr - pm[i].vaddr);
		off += pm[i].nr_pages * PAGE;
	}
	return -1;
}

/*
 * Place one page of a lazy mapping now, through our own uffd: a page the
 * kernel touches for the restorer before the server has the uffd (the
 * rseq areas) would otherwise fault with no one to serve it. The server
 * finds it there (EEXIST) and counts it done.
 */
static long place_now(struct restorer_args *a, long uffd, unsigned long staging, unsigned long addr)
{
	long off = image_offset(a, addr &= ~(PAGE - 1)), ret;
	struct uffdio_zeropage z = {.range = {addr, PAGE}};
	struct uffdio_move mv = {.dst = addr, .src = staging, .len = PAGE};

	if (off < 0) {
		ret = sys_ioctl(uffd, UFFDIO_ZEROPAGE, &z);
		return ret && ret != -17 /* EEXIST */ ? fail(a, "lazy zero page", addr, ret),
		       -1			      : 0;
	}
	ret = sys_pread(a->pages_fd, staging, PAGE, off);
	if (ret != PAGE)
		return fail(a, "reading the page for", addr, ret < 0 ? ret : -5), -1;
	ret = sys_ioctl(uffd, UFFDIO_MOVE, &mv);
	if (ret && ret != -17)
		return fail(a, "lazy UFFDIO_MOVE", addr, ret), -1;
	return 0;
}

static long place_touched(struct restorer_args *a, long uffd)
{
	struct rst_thread *th = (void *)a->threads;
	unsigned long ends[2];
	unsigned int i, j;
	long staging =
		sys_mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE_ | MAP_ANONYMOUS_, -1, 0);

	if (is_err(staging))
		return fail(a, "mmap lazy staging", 0, staging), -1;
	for (i = 0; i < a->nr_threads; i++) {
		if (!th[i].rseq)
			continue;
		ends[0] = th[i].rseq;
		ends[1] = th[i].rseq + (th[i].rseq_len ? th[i].rseq_len - 1 : 0);
		for (j = 0; j < 2; j++)
			if (in_lazy_vma(a, ends[j]) && place_now(a, uffd, staging, ends[j]))
				return -1;
	}
	sys_munmap(staging, PAGE);
	return 0;
}

long lazy_setup(struct restorer_args *a)
{
	struct uffdio_api api = {.api = UFFD_API, .features = LAZY_UFFD_FEATURES};
	struct rst_vma *vmas = (void *)a->vmas;
	struct uffdio_register reg;
	unsigned int i;
	long uffd, ret;

	a->lazy_uffd = -1;
	if (!a->lazy)
		return 0;
	/* Not O_NONBLOCK: the server polls it. Not O_CLOEXEC: it leaves before any exec. */
	uffd = sys_userfaultfd(0);
	if (is_err(uffd))
		return fail(a, "lazy userfaultfd", 0, uffd), -1;
	ret = sys_ioctl(uffd, UFFDIO_API, &api);
	if (ret)
		return fail(a,
			    "lazy UFFDIO_API (features needed: move, fork/remap/remove/unmap "
			    "events, thread id)",
			    LAZY_UFFD_FEATURES, ret),
		       -1;
	for (i = 0; i < a->nr_vmas; i++) {
		if (!lazy_vma(a, &vmas[i]))
			continue;
		reg.range.start = vmas[i].start;
		reg.range.len = vmas[i].end - vmas[i].start;
		reg.mode = UFFDIO_REGISTER_MODE_MISSING;
		ret = sys_ioctl(uffd, UFFDIO_REGISTER, &reg);
		if (ret)
			return fail(a, "lazy UFFDIO_REGISTER", vmas[i].start, ret), -1;
	}
	if (place_touched(a, uffd))
		return -1;
	a->lazy_uffd = uffd;
	return 0;
}
