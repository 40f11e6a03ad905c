// SPDX-License-Identifier: GPL-2.0
/*
 * Copying a process's pages into its page sink (page_copy(), mem-dump.h):
 * the stop-the-world copy of a dump, and a pre-dump's copy once the tree
 * runs again. Runs are gathered into one buffer of up to COPY_BUF bytes and
 * written as one record: the own runs of a layout have
 * consecutive indexes, and an incremental dump's runs are often a page or
 * two, where a syscall each would cost more than the copy.
 *
 * The gathered ranges are read without pinning what is shared copy-on-write
 * (mem-read.c: process_vm_readv() would give the task its own copy of each
 * such page): frozen, mem_read_cow() per range, and a range that cannot be
 * read fails the dump. Running (pre-dump), through /proc/PID/mem, and a page
 * that cannot be read is saved as zeros: the pages were protected again
 * at the freeze, so a page the process writes, unmaps or discards before it
 * is read is saved again by the next round, which alone counts; and a page
 * not written since reads as it was at the freeze, whenever it is read.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "mem/mem-dump.h"
#include "mem/page-hold.h"
#include "mem/page-sink.h"

#define COPY_BUF (4UL << 20)
#define COPY_IOV 1024

struct copy {
	struct dump_task *t;
	struct dump_stats *st;
	struct page_hold *hold;	/* frozen, the tree to be killed: pages written after the kill */
	bool running;
	int memfd;
	int pmfd;		/* /proc/PID/pagemap: which pages are the task's alone */
	struct page_sink *ps;
	char *buf;
	struct iovec iov[COPY_IOV];
	const struct vma *vma[COPY_IOV];
	size_t nr, bytes;
	uint64_t idx;		/* page index of buf[0] */
};

/* Running: read what can be read; what cannot is zeros. */
static void read_running(struct copy *c, uint64_t addr, char *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(c->memfd, buf + done, len - done, addr + done);
		if (n > 0) {
			done += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		pr_debug("pid %d: page %lx gone since the freeze: saved as zeros", c->t->pid,
			 (unsigned long)(addr + done));
		memset(buf + done, 0, PAGE_SIZE);
		done += PAGE_SIZE;
	}
}

static int flush(struct copy *c)
{
	uint64_t t0 = now_ns(), t1;
	char *buf = c->buf;
	size_t off = 0;
	int held = 0;

	if (!c->nr)
		return 0;
	if (!c->running && mem_read_cow_v(c->t->pid, c->memfd, c->pmfd, c->vma, c->iov, c->nr,
					  buf))
		return -1;
	for (size_t i = 0; c->running && i < c->nr; i++) {
		read_running(c, (uintptr_t)c->iov[i].iov_base, buf + off, c->iov[i].iov_len);
		off += c->iov[i].iov_len;
	}
	t1 = now_ns();
	if (c->hold)
		held = page_hold_put(c->hold, c->ps, c->idx, buf, c->bytes / PAGE_SIZE);
	if (!held && page_sink_write(c->ps, c->idx, buf, c->bytes / PAGE_SIZE))
		return -1;
	if (!c->running) {
		c->st->read_ns += t1 - t0;
		c->st->write_ns += now_ns() - t1;
	}
	c->idx += c->bytes / PAGE_SIZE;
	c->nr = c->bytes = 0;
	return 0;
}

static int add(struct copy *c, const struct vma *v, uint64_t addr, size_t len)
{
	if ((c->nr == COPY_IOV || c->bytes + len > COPY_BUF) && flush(c))
		return -1;
	c->iov[c->nr] = (struct iovec){ (void *)(uintptr_t)addr, len };
	c->vma[c->nr++] = v;
	c->bytes += len;
	return 0;
}

static int copy_runs(struct dump_ctx *ctx, struct copy *c, const struct page_list *pl)
{
	for (size_t i = 0; i < pl->nr; i++) {
		const struct page_run *r = &pl->runs[i];
		uint64_t done, len;

		if (r->in_parent)
			continue;
		/* Copied while the tree ran, not written since: already in snap's hands. */
		if (r->stored) {
			if (flush(c) || page_hold_ref(c->hold, c->ps, c->idx, r->hold_off, r->nr))
				return -1;
			c->idx += r->nr;
			ctx->st.pages_written += r->nr;
			ctx->st.pages_caught_up += r->nr;
			continue;
		}
		if (r->spliced) {
			if (flush(c))
				return -1;
			c->idx += r->nr;
			ctx->st.pages_written += r->nr;
			continue;
		}
		for (done = 0; done < r->nr * PAGE_SIZE; done += len) {
			len = r->nr * PAGE_SIZE - done;
			if (len > COPY_BUF)
				len = COPY_BUF;
			if (add(c, &c->t->vmas.v[r->vma], r->vaddr + done, len))
				return -1;
		}
		ctx->st.pages_written += r->nr;
	}
	return flush(c);
}

/* The runs of @pl not spliced into @ps, which stays open. */
static int copy_into(struct dump_ctx *ctx, struct dump_task *t, const struct page_list *pl,
		     struct page_sink *ps, bool running)
{
	struct copy *c;
	char path[64];
	int ret = -1;

	c = calloc(1, sizeof(*c));
	if (!c) {
		pr_err("pid %d: out of memory to copy its pages", t->pid);
		return -1;
	}
	c->t = t;
	c->st = &ctx->st;
	c->hold = running ? NULL : ctx->hold;
	c->running = running;
	c->ps = ps;
	c->memfd = c->pmfd = -1;
	c->buf = mmap(NULL, COPY_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->buf == MAP_FAILED) {
		pr_perror("cannot allocate the page copy buffer");
		free(c);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", t->pid);
	c->memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->memfd < 0) {
		pr_perror("cannot open %s", path);
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", t->pid);
	c->pmfd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->pmfd < 0) {
		pr_perror("cannot open %s", path);
		goto out;
	}
	ret = copy_runs(ctx, c, pl);
out:
	if (c->memfd >= 0)
		close(c->memfd);
	if (c->pmfd >= 0)
		close(c->pmfd);
	munmap(c->buf, COPY_BUF);
	free(c);
	return ret;
}

int page_copy(struct dump_ctx *ctx, struct dump_task *t, const struct page_list *pl,
	      bool running)
{
	struct page_sink *ps;
	char owner[32];

	snprintf(owner, sizeof(owner), "pid %d", t->pid);
	ps = page_sink_open(ctx, PAGE_SINK_TASK, t->vpid, owner);
	if (!ps || page_sink_declare(ps, pl) || copy_into(ctx, t, pl, ps, running)) {
		page_sink_abort(ps);
		return -1;
	}
	/* Held pages are written when the tree is gone: so is the sink closed. */
	if (!running && ctx->hold)
		return page_hold_keep(ctx->hold, ps);
	return page_sink_close(ps);
}

int page_write(struct dump_ctx *ctx, struct dump_task *t, const struct page_list *pl)
{
	return page_copy(ctx, t, pl, false);
}

int page_write_rest(struct dump_ctx *ctx, struct dump_task *t, const struct page_list *pl,
		    struct page_sink *ps)
{
	for (size_t i = 0; i < pl->nr; i++)
		if (!pl->runs[i].in_parent && !pl->runs[i].spliced)
			return copy_into(ctx, t, pl, ps, false);
	/* All spliced: still counted as written. */
	for (size_t i = 0; i < pl->nr; i++)
		if (!pl->runs[i].in_parent)
			ctx->st.pages_written += pl->runs[i].nr;
	return 0;
}
