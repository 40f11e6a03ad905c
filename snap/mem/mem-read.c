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
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kcompat.h"
#include "log.h"
#include "mem/mem-dump.h"

#define READ_CHUNK 1024		/* pages per pagemap read */

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
