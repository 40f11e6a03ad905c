// SPDX-License-Identifier: GPL-2.0
/*
 * Copying a frozen task's pages out (see mem-dump.h).
 *
 * process_vm_readv() is the fast path, but it pins the pages it reads, and
 * the kernel gives the task a private copy of any anonymous page it pins
 * while it is shared (copy-on-write since a fork: "unsharing"). Read that
 * way, a parent and its children would no longer share anything: a tree
 * left running would use that much more memory, and no child's page could
 * be found to be its parent's any more (cow.h). /proc/PID/mem reads
 * without pinning; mem_read_cow() uses it for the pages that are not the
 * task's alone.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kcompat.h"
#include "log.h"
#include "mem/mem-dump.h"

#define READ_CHUNK 1024		/* pages per pagemap read */
#define SPAN_MAX (64UL << 10)	/* pages: a longer span of ranges reads range by range */
#define PIECES 1024		/* iovecs per process_vm_readv (IOV_MAX) */

static int read_done(pid_t pid, uint64_t addr, size_t len, ssize_t n)
{
	if (n < 0) {
		pr_perror("pid %d: cannot read memory at %lx (%zu bytes)", pid,
			  (unsigned long)addr, len);
		return -1;
	}
	/* A short read sets no errno: it stopped at a page it could not read. */
	if (n != (ssize_t)len) {
		pr_err("pid %d: cannot read memory at %lx: the page at %lx is unreadable", pid,
		       (unsigned long)addr, (unsigned long)(addr + n));
		return -1;
	}
	return 0;
}

/*
 * Memory we may not read (PROT_NONE, write-only) goes through /proc/PID/mem,
 * which reads with FOLL_FORCE like a debugger.
 */
int mem_read(pid_t pid, int memfd, const struct vma *v, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, r = { (void *)addr, len };
	ssize_t n;

	if (v->prot & PROT_READ)
		n = process_vm_readv(pid, &l, 1, &r, 1, 0);
	else
		n = pread(memfd, buf, len, addr);
	return read_done(pid, addr, len, n);
}

static bool exclusive(uint64_t e)
{
	return (e & PME_PRESENT) && (e & PME_EXCLUSIVE);
}

int mem_read_cow(pid_t pid, int memfd, int pmfd, const struct vma *v, uint64_t addr, void *buf,
		 size_t len)
{
	uint64_t ents[READ_CHUNK];
	size_t done, n, i, j;
	char *dst = buf;
	ssize_t got;

	if (!(v->prot & PROT_READ))
		return mem_read(pid, memfd, v, addr, buf, len);
	for (done = 0; done < len; done += n * PAGE_SIZE) {
		uint64_t a = addr + done;

		n = (len - done) / PAGE_SIZE < READ_CHUNK ? (len - done) / PAGE_SIZE : READ_CHUNK;
		got = pread(pmfd, ents, n * sizeof(*ents), a / PAGE_SIZE * sizeof(*ents));
		if (got != (ssize_t)(n * sizeof(*ents))) {
			if (got >= 0)
				errno = EIO;
			pr_perror("pid %d: cannot read pagemap at %lx", pid, (unsigned long)a);
			return -1;
		}
		for (i = 0; i < n; i = j) {
			uint64_t from = a + i * PAGE_SIZE;
			char *to = dst + done + i * PAGE_SIZE;

			for (j = i + 1; j < n && exclusive(ents[j]) == exclusive(ents[i]); j++)
				;
			if (exclusive(ents[i])) {
				if (mem_read(pid, memfd, v, from, to, (j - i) * PAGE_SIZE))
					return -1;
			} else if (read_done(pid, from, (j - i) * PAGE_SIZE,
					     pread(memfd, to, (j - i) * PAGE_SIZE, from))) {
				return -1;
			}
		}
	}
	return 0;
}

/* The exclusive pieces gathered by mem_read_cow_v(), read in one call. */
struct pieces {
	pid_t pid;
	struct iovec l[PIECES], r[PIECES];
	size_t nr, bytes;
};

static int read_pieces(struct pieces *p)
{
	ssize_t n;
	size_t i;

	if (!p->nr)
		return 0;
	n = process_vm_readv(p->pid, p->l, p->nr, p->r, p->nr, 0);
	if (n != (ssize_t)p->bytes) {
		/* Name the piece it stopped in. */
		for (i = 0; n > 0 && i < p->nr && (size_t)n >= p->r[i].iov_len; i++)
			n -= p->r[i].iov_len;
		i = i < p->nr ? i : p->nr - 1;
		/* n: -1 (errno), or the bytes read of that piece, which read_done() names. */
		return read_done(p->pid, (uintptr_t)p->r[i].iov_base, p->r[i].iov_len, n);
	}
	p->nr = p->bytes = 0;
	return 0;
}

static int add_piece(struct pieces *p, uint64_t from, char *to, size_t len)
{
	struct iovec *l = &p->l[p->nr - 1], *r = &p->r[p->nr - 1];

	if (p->nr && (char *)l->iov_base + l->iov_len == to &&
	    (uintptr_t)r->iov_base + r->iov_len == from) {
		l->iov_len += len;
		r->iov_len += len;
		p->bytes += len;
		return 0;
	}
	if (p->nr == PIECES && read_pieces(p))
		return -1;
	p->l[p->nr] = (struct iovec){ to, len };
	p->r[p->nr++] = (struct iovec){ (void *)(uintptr_t)from, len };
	p->bytes += len;
	return 0;
}

/* One range of mem_read_cow_v(), its pagemap entries at @ents. */
static int read_range(struct pieces *p, int memfd, const struct vma *v, const uint64_t *ents,
		      uint64_t addr, char *to, size_t len)
{
	size_t n = len / PAGE_SIZE, i, j;

	if (!(v->prot & PROT_READ))
		return mem_read(p->pid, memfd, v, addr, to, len);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && exclusive(ents[j]) == exclusive(ents[i]); j++)
			;
		if (exclusive(ents[i])) {
			if (add_piece(p, addr + i * PAGE_SIZE, to + i * PAGE_SIZE,
				      (j - i) * PAGE_SIZE))
				return -1;
		} else if (read_done(p->pid, addr + i * PAGE_SIZE, (j - i) * PAGE_SIZE,
				     pread(memfd, to + i * PAGE_SIZE, (j - i) * PAGE_SIZE,
					   addr + i * PAGE_SIZE))) {
			return -1;
		}
	}
	return 0;
}

int mem_read_cow_v(pid_t pid, int memfd, int pmfd, const struct vma *const *vmas,
		   const struct iovec *iov, size_t nr, void *buf)
{
	uint64_t first, span, *ents = NULL;
	struct pieces *p = NULL;
	char *to = buf;
	ssize_t got;
	size_t i;
	int ret = -1;

	if (!nr)
		return 0;
	first = (uintptr_t)iov[0].iov_base / PAGE_SIZE;
	span = ((uintptr_t)iov[nr - 1].iov_base + iov[nr - 1].iov_len) / PAGE_SIZE - first;
	if ((uintptr_t)iov[nr - 1].iov_base / PAGE_SIZE < first || span > SPAN_MAX) {
		for (i = 0; i < nr; to += iov[i].iov_len, i++)
			if (mem_read_cow(pid, memfd, pmfd, vmas[i], (uintptr_t)iov[i].iov_base, to,
					 iov[i].iov_len))
				return -1;
		return 0;
	}
	ents = malloc(span * sizeof(*ents));
	p = malloc(sizeof(*p));
	if (!ents || !p) {
		pr_err("pid %d: out of memory to read %zu ranges", pid, nr);
		goto out;
	}
	p->pid = pid;
	p->nr = p->bytes = 0;
	got = pread(pmfd, ents, span * sizeof(*ents), first * sizeof(*ents));
	if (got != (ssize_t)(span * sizeof(*ents))) {
		if (got >= 0)
			errno = EIO;
		pr_perror("pid %d: cannot read pagemap at %lx", pid,
			  (unsigned long)(first * PAGE_SIZE));
		goto out;
	}
	for (i = 0; i < nr; to += iov[i].iov_len, i++) {
		uint64_t a = (uintptr_t)iov[i].iov_base;

		/* Callers give ranges in address order; one that is not is read alone. */
		if (a / PAGE_SIZE < first || (a + iov[i].iov_len) / PAGE_SIZE > first + span) {
			if (mem_read_cow(pid, memfd, pmfd, vmas[i], a, to, iov[i].iov_len))
				goto out;
			continue;
		}
		if (read_range(p, memfd, vmas[i], ents + (a / PAGE_SIZE - first), a, to,
			       iov[i].iov_len))
			goto out;
	}
	ret = read_pieces(p);
out:
	free(ents);
	free(p);
	return ret;
}
