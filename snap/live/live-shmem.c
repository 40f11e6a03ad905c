// SPDX-License-Identifier: GPL-2.0
/*
 * Live snapshot of shared memory, the frozen half (see live-internal.h). An
 * object that only the tree's processes can write, and only through their
 * mappings, is streamed like private memory instead of being saved while the
 * tree is frozen: shmem_write() offers each object's data to
 * live_shmem_hold(), which holds the pages of those it may stream in pipes -
 * vmsplice()d from snap's own mapping of it - and write-protects them in
 * every process that maps it. Once the tree runs, one thread writes them to
 * shmem-pages-ID.img and lifts the protection in every process behind
 * itself, while each process's own thread copies a shared page before the
 * process writes it (live-stream.c, live-fault.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "live/live-internal.h"
#include "log.h"
#include "mem/shmem.h"

/*
 * Whether every process mapping object @id (@name) reports its forks, which
 * streaming it needs; if not, says so (the object is then saved frozen).
 */
static bool followable(const struct dump_ctx *ctx, uint32_t id, const char *name)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct dump_task *t = &ctx->tasks[i];

		for (size_t j = 0; !t->zombie && j < t->vmas.nr; j++) {
			const struct vma *v = &t->vmas.v[j];

			if (v->kind != VMA_KIND__VMA_SHMEM || v->shmem_id != id ||
			    t->ld->fork_events)
				continue;
			pr_info("%s: saved while frozen: pid %d cannot have its forks followed "
				"(it lacks CAP_SYS_PTRACE)",
				name, t->pid);
			return false;
		}
	}
	return true;
}

static int add_window(struct live_dump *ld, struct live_dump *obj, const struct vma *v)
{
	struct shm_window *w = realloc(ld->windows, (ld->nr_windows + 1) * sizeof(*w));
	struct live_dump **m;

	if (!w)
		goto oom;
	ld->windows = w;
	ld->windows[ld->nr_windows++] =
		(struct shm_window){ v->start, v->end, v->pgoff * PAGE_SIZE, obj };
	if (obj->nr_mappers && obj->mappers[obj->nr_mappers - 1] == ld)
		return 0;
	m = realloc(obj->mappers, (obj->nr_mappers + 1) * sizeof(*m));
	if (!m)
		goto oom;
	obj->mappers = m;
	obj->mappers[obj->nr_mappers++] = ld;
	return 0;
oom:
	pr_err("%s: out of memory for its live dump", obj->name);
	return -1;
}

/* Protect the held pages @w shows; holes stay open: the image has none of them. */
static int protect_window(struct live_dump *ld, const struct shm_window *w)
{
	uint64_t wend = w->off + (w->end - w->start);

	for (size_t i = 0; i < w->obj->pl.nr; i++) {
		const struct page_run *r = &w->obj->pl.runs[i];
		uint64_t a = r->vaddr > w->off ? r->vaddr : w->off;
		uint64_t rend = r->vaddr + r->nr * PAGE_SIZE, e = rend < wend ? rend : wend;

		if (a < e && live_wp(ld, w->start + (a - w->off), e - a))
			return -1;
	}
	return 0;
}

/* Every mapping of object @id in the tree gets a window, protected. */
static int protect_mappings(struct dump_ctx *ctx, struct live_dump *obj, uint32_t id)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct dump_task *t = &ctx->tasks[i];

		for (size_t j = 0; !t->zombie && j < t->vmas.nr; j++) {
			const struct vma *v = &t->vmas.v[j];

			if (v->kind != VMA_KIND__VMA_SHMEM || v->shmem_id != id)
				continue;
			if (add_window(t->ld, obj, v) ||
			    protect_window(t->ld, &t->ld->windows[t->ld->nr_windows - 1]))
				return -1;
		}
	}
	return 0;
}

/* Put the object's pages in pipes, from snap's own mapping of it. */
static int hold_object(struct live_dump *obj)
{
	for (size_t p = 0; p < obj->nr_pipes; p++) {
		struct held_pipe *hp = &obj->pipes[p];
		int fds[2];

		if (live_get_pipe(obj, fds))
			return -1;
		hp->fd = fds[0];
		for (size_t s = hp->seg_first; s < hp->seg_end; s++) {
			struct iovec v = { obj->map + obj->segs[s].vaddr,
					   obj->segs[s].nr * PAGE_SIZE };

			while (v.iov_len) {
				ssize_t n = vmsplice(fds[1], &v, 1, 0);

				if (n <= 0) {
					pr_perror("%s: cannot hold its pages in a pipe", obj->name);
					close(fds[1]);
					return -1;
				}
				v.iov_base = (char *)v.iov_base + n;
				v.iov_len -= n;
			}
		}
		close(fds[1]);
	}
	return 0;
}

static int add_object(struct dump_ctx *ctx, struct live_dump *obj)
{
	struct live_dump **o = realloc(ctx->live_objs, (ctx->nr_live_objs + 1) * sizeof(*o));

	if (!o) {
		pr_err("%s: out of memory for its live dump", obj->name);
		return -1;
	}
	ctx->live_objs = o;
	o[ctx->nr_live_objs++] = obj;
	return 0;
}

static int make_list(struct live_dump *obj, PagemapEntry **ranges, size_t nr)
{
	obj->pl.runs = calloc(nr + 1, sizeof(*obj->pl.runs));
	if (!obj->pl.runs) {
		pr_err("%s: out of memory for its live dump", obj->name);
		return -1;
	}
	for (size_t i = 0; i < nr; i++) {
		obj->pl.runs[i] =
			(struct page_run){ .vaddr = ranges[i]->vaddr, .nr = ranges[i]->nr_pages };
		obj->pl.pages += ranges[i]->nr_pages;
	}
	obj->pl.nr = obj->pl.cap = nr;
	return 0;
}

/*
 * Hold the pages of object @d (its data ranges, offsets in its fd), and
 * write-protect them in every process mapping it; @warm is snap's mapping
 * of it made before the freeze, or NULL. @d->resident is taken.
 */
static int hold_shmem(struct dump_ctx *ctx, struct shmem_data *d, char *warm)
{
	uint64_t len = (d->size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	struct live_dump *obj = live_dump_new(d->what);

	if (!obj) {
		if (warm)
			munmap(warm, len);
		return -1;
	}
	obj->resident = d->resident;
	d->resident = NULL;
	obj->map = warm;
	obj->map_len = len;
	if (add_object(ctx, obj)) {
		live_free(obj);
		return -1;
	}
	obj->obj = true;
	pthread_mutex_init(&obj->lock, NULL);
	if (make_list(obj, d->ranges, d->nr_ranges) ||
	    live_layout(obj, ctx, PAGE_SINK_SHMEM, d->id))
		return -1;
	obj->removed = calloc(1, obj->pl.pages / 8 + 1);
	if (!obj->removed) {
		pr_err("%s: out of memory for its live dump", d->what);
		return -1;
	}
	if (!obj->map)
		obj->map = mmap(NULL, obj->map_len, PROT_READ, MAP_SHARED, d->fd, 0);
	if (obj->map == MAP_FAILED) {
		obj->map = NULL;
		pr_perror("%s: cannot map it to hold its pages", d->what);
		return -1;
	}
	if (live_plan_pipes(NULL, obj) || hold_object(obj) || protect_mappings(ctx, obj, d->id))
		return -1;
	ctx->st.shmem_streamed += obj->pl.pages;
	return 0;
}

int live_shmem_hold(struct dump_ctx *ctx, struct shmem_data *d)
{
	if (!live_shmem_may_stream(ctx, d->id) || !followable(ctx, d->id, d->what))
		return 0;
	return hold_shmem(ctx, d, shmem_take_warm(ctx, d)) ? -1 : 1;
}
