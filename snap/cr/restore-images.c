// SPDX-License-Identifier: GPL-2.0
/*
 * Restore reads and checks every image up front (Documentation/architecture.md, "Restore"): a missing,
 * truncated or corrupted file is reported naming it, before any process is
 * created. Checks go beyond decoding: VMAs sorted and page aligned, only
 * attributes the restorer may apply (harmless madvise bits, guards inside
 * their mapping, huge pages this machine has), pages inside private
 * mappings, the page file exactly as long as the pagemap says, state sizes
 * this machine can take.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files/files.h"
#include "files/packet-ring.h"
#include "image.h"
#include "log.h"
#include "ns/ns.h"
#include "proc/procstate.h"
#include "cr/restore-images.h"
#include "kcompat.h"
#include "mem/ghost.h"
#include "mem/huge-data.h"
#include "mem/page-chain.h"
#include "mem/shmem.h"

/*
 * The advice restore may apply: only ones that set a mapping's flags. Any
 * other bit (MADV_DONTNEED, MADV_FREE...) would drop memory.
 */
#define MADV_RESTORABLE                                                                            \
	(1ULL << MADV_DONTFORK | 1ULL << MADV_WIPEONFORK | 1ULL << MADV_DONTDUMP |                 \
	 1ULL << MADV_HUGEPAGE | 1ULL << MADV_NOHUGEPAGE | 1ULL << MADV_SEQUENTIAL |               \
	 1ULL << MADV_RANDOM | 1ULL << MADV_MERGEABLE)

/* Guards sorted, page-aligned, inside their mapping; and a kernel to install them. */
static int check_guards(const struct restore_ctx *ctx, const struct restore_task *t,
			const VmaEntry *e)
{
	uint64_t prev = e->start;

	for (size_t i = 0; i < e->n_guards; i++) {
		const VmaRange *g = e->guards[i];

		if (g->start < prev || g->start >= g->end || g->end > e->end ||
		    (g->start | g->end) % PAGE_SIZE || e->kind == VMA_KIND__VMA_VDSO ||
		    e->kind == VMA_KIND__VMA_VVAR) {
			pr_err("image mm-%d.img: bad guard region %lx-%lx in mapping %lx-%lx",
			       t->pid, (unsigned long)g->start, (unsigned long)g->end,
			       (unsigned long)e->start, (unsigned long)e->end);
			return -1;
		}
		if (!ctx->kf->guard_install) {
			pr_err("image mm-%d.img: guard region at %lx, but this kernel has no "
			       "MADV_GUARD_INSTALL (Linux 6.13+)",
			       t->pid, (unsigned long)g->start);
			return -1;
		}
		prev = g->end;
	}
	return 0;
}

/*
 * A hugetlb mapping (MAP_HUGETLB, size in the MAP_HUGE_* bits) is aligned
 * to its page size, and this machine has pages of that size.
 */
static int check_hugetlb(const struct restore_task *t, const VmaEntry *e)
{
	unsigned int shift = (e->flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
	char what[80];

	if (!(e->flags & MAP_HUGETLB))
		return 0;
	if (shift < 21 || shift > 40 || (e->start | e->end) & ((1ULL << shift) - 1)) {
		pr_err("image mm-%d.img: bad hugetlb mapping %lx-%lx (flags %#x)", t->pid,
		       (unsigned long)e->start, (unsigned long)e->end, e->flags);
		return -1;
	}
	snprintf(what, sizeof(what), "image mm-%d.img: mapping %lx-%lx", t->pid,
		 (unsigned long)e->start, (unsigned long)e->end);
	return huge_size_check(1ULL << shift, what);
}

static int check_vma_attrs(const struct restore_task *t, const VmaEntry *e)
{
	if (e->has_madv && (e->madv & ~MADV_RESTORABLE)) {
		pr_err("image mm-%d.img: mapping %lx-%lx has madvise bits %#llx snap does not "
		       "restore",
		       t->pid, (unsigned long)e->start, (unsigned long)e->end,
		       (unsigned long long)(e->madv & ~MADV_RESTORABLE));
		return -1;
	}
	if (e->has_lock && e->lock != VMA_LOCK__VMA_LOCKED &&
	    e->lock != VMA_LOCK__VMA_LOCKED_ONFAULT) {
		pr_err("image mm-%d.img: mapping %lx-%lx has an unknown mlock state %d", t->pid,
		       (unsigned long)e->start, (unsigned long)e->end, e->lock);
		return -1;
	}
	return 0;
}

/*
 * The mapping type: shared or private, or MAP_DROPPABLE for anonymous memory
 * only. A mapping of a deleted file names its ghost, loaded now.
 */
static int check_backing(struct restore_ctx *ctx, const struct restore_task *t, const VmaEntry *e)
{
	uint32_t type = e->flags & MAP_TYPE;
	char what[64];

	snprintf(what, sizeof(what), "image mm-%d.img: mapping %lx", t->pid,
		 (unsigned long)e->start);
	if ((type != MAP_SHARED && type != MAP_PRIVATE &&
	     (type != MAP_DROPPABLE || e->kind != VMA_KIND__VMA_ANON)) ||
	    (e->has_ghost_id && e->kind != VMA_KIND__VMA_FILE_PRIVATE &&
	     e->kind != VMA_KIND__VMA_FILE_SHARED)) {
		pr_err("%s: bad mapping type %#x or deleted file for kind %d", what, e->flags,
		       e->kind);
		return -1;
	}
	if (e->kind == VMA_KIND__VMA_SHMEM &&
	    (!e->has_shmem_id || shmem_index(ctx, e->shmem_id, what) < 0))
		return -1;
	if (e->has_ghost_id)
		return ghost_use(ctx, e->ghost_id, e->path, what, NULL);
	return 0;
}

/* Pages go to private mappings, and never to droppable memory. */
static bool vma_takes_pages(const VmaEntry *e)
{
	uint32_t type = e->flags & MAP_TYPE;

	if (e->kind == VMA_KIND__VMA_ANON)
		return type != MAP_DROPPABLE;
	return type == MAP_PRIVATE &&
	       (e->kind == VMA_KIND__VMA_FILE_PRIVATE || e->kind == VMA_KIND__VMA_SHMEM);
}

/*
 * A SysV mapping past offset 0 is a later part of an attachment (shmem.h):
 * it continues the mapping before it, of the same segment.
 */
static int check_sysv_part(const struct restore_ctx *ctx, const struct restore_task *t, size_t i)
{
	const VmaEntry *e = t->mm->vmas[i], *p = i ? t->mm->vmas[i - 1] : NULL;

	if (e->kind != VMA_KIND__VMA_SHMEM || !e->pgoff ||
	    ctx->shmem->objs[e->shmem_id - 1]->kind != SHMEM_KIND__SHMEM_SYSV)
		return 0;
	if (p && p->kind == VMA_KIND__VMA_SHMEM && p->shmem_id == e->shmem_id &&
	    p->end == e->start && p->pgoff + (p->end - p->start) / PAGE_SIZE == e->pgoff)
		return 0;
	pr_err("image mm-%d.img: mapping %lx of a SysV segment at offset %llu continues no "
	       "attachment",
	       t->pid, (unsigned long)e->start, (unsigned long long)e->pgoff * PAGE_SIZE);
	return -1;
}

/*
 * A packet socket's ring: shared, of a socket the task holds with a receive
 * ring, and inside that ring. After files.img is loaded.
 */
static int check_ring(const struct restore_ctx *ctx, const struct restore_task *t,
		      const VmaEntry *e)
{
	const PacketRing *r;
	char what[64];

	if (e->kind != VMA_KIND__VMA_PACKET_RING)
		return 0;
	snprintf(what, sizeof(what), "image mm-%d.img: mapping %lx", t->pid,
		 (unsigned long)e->start);
	if ((e->flags & MAP_TYPE) != MAP_SHARED || !e->has_sk_ino) {
		pr_err("%s: a packet socket's ring, not shared or of no socket", what);
		return -1;
	}
	if (files_packet_ring(ctx, t, e->sk_ino, &r, what) < 0)
		return -1;
	if (e->pgoff > packet_ring_size(r) / PAGE_SIZE ||
	    e->end - e->start > packet_ring_size(r) - e->pgoff * PAGE_SIZE) {
		pr_err("%s: %lu bytes at offset %llu of a packet socket's ring of %llu", what,
		       (unsigned long)(e->end - e->start), (unsigned long long)e->pgoff * PAGE_SIZE,
		       (unsigned long long)packet_ring_size(r));
		return -1;
	}
	return 0;
}

static int check_mm(struct restore_ctx *ctx, const struct restore_task *t)
{
	uint64_t prev_end = 0;
	size_t i, v = 0;

	for (i = 0; i < t->mm->n_vmas; i++) {
		const VmaEntry *e = t->mm->vmas[i];

		if (e->start >= e->end || e->start < prev_end || (e->start | e->end) % PAGE_SIZE ||
		    e->end > 0x7ffffffff000ULL) {
			pr_err("image mm-%d.img: bad mapping %lx-%lx", t->pid,
			       (unsigned long)e->start, (unsigned long)e->end);
			return -1;
		}
		if ((e->kind == VMA_KIND__VMA_FILE_PRIVATE || e->kind == VMA_KIND__VMA_FILE_SHARED) &&
		    !e->path) {
			pr_err("image mm-%d.img: file mapping %lx-%lx without a path", t->pid,
			       (unsigned long)e->start, (unsigned long)e->end);
			return -1;
		}
		if (check_backing(ctx, t, e) || check_vma_attrs(t, e) || check_guards(ctx, t, e) ||
		    check_hugetlb(t, e) || check_sysv_part(ctx, t, i))
			return -1;
		prev_end = e->end;
	}
	/* Pagemap entries are in address order, each inside one private VMA. */
	for (i = 0; i < t->nr_pagemap; i++) {
		const PagemapEntry *p = t->pagemap[i];
		uint64_t end = p->vaddr + (uint64_t)p->nr_pages * PAGE_SIZE;

		while (v < t->mm->n_vmas && t->mm->vmas[v]->end <= p->vaddr)
			v++;
		if (!p->nr_pages || p->vaddr % PAGE_SIZE || v == t->mm->n_vmas ||
		    t->mm->vmas[v]->start > p->vaddr || t->mm->vmas[v]->end < end ||
		    !vma_takes_pages(t->mm->vmas[v])) {
			pr_err("image pagemap-%d.img: pages at %lx are outside the dumped mappings",
			       t->pid, (unsigned long)p->vaddr);
			return -1;
		}
	}
	return 0;
}

#define ROBUST_LIST_HEAD_SIZE 24	/* struct robust_list_head */
#define MAX_THREADS 32768

/* The threads are those of pstree.img, leader first, each tid once. */
static int check_tids(const struct restore_task *t)
{
	const CoreEntry *c = t->core;
	const PstreeEntry *pe = t->pe;

	if (!c->n_threads || c->n_threads > MAX_THREADS || c->threads[0]->tid != (uint32_t)t->pid) {
		pr_err("image core-%d.img: %zu threads, the first not the leader", t->pid,
		       c->n_threads);
		return -1;
	}
	if (pe->n_threads != c->n_threads) {
		pr_err("image core-%d.img: %zu threads, pstree.img lists %zu", t->pid, c->n_threads,
		       pe->n_threads);
		return -1;
	}
	for (size_t i = 0; i < c->n_threads; i++) {
		uint32_t tid = c->threads[i]->tid;

		if (!tid || tid > INT32_MAX || pe->threads[i] != tid)
			goto bad;
		for (size_t j = 0; j < i; j++)
			if (c->threads[j]->tid == tid)
				goto bad;
	}
	return 0;
bad:
	pr_err("image core-%d.img: thread ids differ from pstree.img's or repeat", t->pid);
	return -1;
}

static int check_thread(const struct restore_ctx *ctx, const struct restore_task *t,
			const ThreadCoreEntry *th)
{
	if (th->xsave.len != ctx->kf->xsave_size) {
		pr_err("image core-%d.img: FPU state of %zu bytes in thread %u, this CPU uses %u: "
		       "dumped on a different CPU?",
		       t->pid, th->xsave.len, th->tid, ctx->kf->xsave_size);
		return -1;
	}
	for (size_t i = 0; i < th->n_pending; i++)
		if (th->pending[i].len != 128) {
			pr_err("image core-%d.img: bad pending signal in thread %u", t->pid, th->tid);
			return -1;
		}
	if ((th->rseq && (th->rseq->len < 32 || th->rseq->len > 4096 || !th->rseq->ptr)) ||
	    (th->has_robust_list_len && th->robust_list_len &&
	     th->robust_list_len != ROBUST_LIST_HEAD_SIZE)) {
		pr_err("image core-%d.img: bad rseq area or robust futex list in thread %u", t->pid,
		       th->tid);
		return -1;
	}
	if (th->creds && th->creds->n_groups > 64) {
		pr_err("image core-%d.img: thread %u has %zu groups, at most 64 are restored",
		       t->pid, th->tid, th->creds->n_groups);
		return -1;
	}
	return 0;
}

static int check_core(const struct restore_ctx *ctx, const struct restore_task *t)
{
	const CoreEntry *c = t->core;

	if (c->pid != (uint32_t)t->pid || c->n_sigactions != 64 || c->n_itimers != 3 ||
	    c->n_rlimits != 16 || c->mm->auxv.len > 512 || c->creds->n_groups > 64) {
		pr_err("image core-%d.img: inconsistent contents", t->pid);
		return -1;
	}
	/* mlockall() would take MCL_CURRENT too, locking every mapping the process left unlocked. */
	if (c->mm->has_mlock_future && c->mm->mlock_future != MCL_FUTURE &&
	    c->mm->mlock_future != (MCL_FUTURE | MCL_ONFAULT)) {
		pr_err("image core-%d.img: mlock_future %#x is not MCL_FUTURE, alone or with "
		       "MCL_ONFAULT",
		       t->pid, c->mm->mlock_future);
		return -1;
	}
	if (check_tids(t))
		return -1;
	for (size_t i = 0; i < c->n_threads; i++)
		if (check_thread(ctx, t, c->threads[i]))
			return -1;
	for (size_t i = 0; i < c->n_shared_pending; i++)
		if (c->shared_pending[i].len != 128)
			goto bad_siginfo;
	return restore_proc_check(c, t->pid);
bad_siginfo:
	pr_err("image core-%d.img: bad pending signal", t->pid);
	return -1;
}

/* --lazy-pages: the pages the restorer reads come from lazy-pages, resolved (lazy_fill()). */
static void pages_from_lazy(struct restore_task *t)
{
	t->pages_from_lazy = true;
	t->nr_pages = 0;
	for (size_t i = 0; i < t->nr_pagemap; i++) {
		t->nr_pages += t->pagemap[i]->nr_pages;
		t->pagemap[i]->has_in_parent = t->pagemap[i]->in_parent = false;
	}
}

/* Whether @t's pages-PID.img is missing: it then has all its pages from lazy-pages. */
static bool no_pages_here(const struct restore_ctx *ctx, struct restore_task *t)
{
	char name[32];

	snprintf(name, sizeof(name), "pages-%d.img", t->pid);
	if (!faccessat(ctx->dirfd, name, F_OK, 0) || errno != ENOENT)
		return false;
	pr_info("pid %d: no %s here: its pages come from the lazy-pages server", t->pid, name);
	pages_from_lazy(t);
	return true;
}

static int check_pages_size(struct restore_ctx *ctx, struct restore_task *t)
{
	struct stat st;
	int fd;

	/*
	 * A lazy restore whose pages stay on a page server: `snap lazy-pages
	 * --page-server` sends those the restorer reads, in pagemap order with
	 * the parent sets' resolved in (lazy/lazy-handoff.c, lazy_fill()).
	 */
	if (ctx->opts->lazy_pages && no_pages_here(ctx, t))
		return 0;
	/* Pages in the parent set are not in this one's file. */
	t->nr_pages = 0;
	for (size_t i = 0; i < t->nr_pagemap; i++)
		if (!t->pagemap[i]->in_parent)
			t->nr_pages += t->pagemap[i]->nr_pages;
	fd = img_open_raw(ctx->dirfd, "pages-%u.img", t->pid, O_RDONLY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st)) {
		pr_perror("image pages-%d.img", t->pid);
		close(fd);
		return -1;
	}
	close(fd);
	if ((uint64_t)st.st_size != t->nr_pages * PAGE_SIZE) {
		pr_err("image pages-%d.img: %s (%lld bytes, pagemap-%d.img describes %llu)", t->pid,
		       (uint64_t)st.st_size < t->nr_pages * PAGE_SIZE ? "truncated" : "too long",
		       (long long)st.st_size, t->pid,
		       (unsigned long long)(t->nr_pages * PAGE_SIZE));
		return -1;
	}
	return 0;
}

/*
 * An incremental dump: the pages in the parent sets are gathered, through
 * the chain, with this set's own into one file the restorer reads as usual
 * (with --lazy-pages, from snap lazy-pages, which resolves the chain).
 */
static int resolve_chain(struct restore_ctx *ctx, struct restore_task *t)
{
	int fd;

	if (!page_chain_needed(t->pagemap, t->nr_pagemap))
		return 0;
	/* lazy-pages resolves it too, and only as far as pages are due: no copy of it all here. */
	if (ctx->opts->lazy_pages) {
		pages_from_lazy(t);
		return 0;
	}
	if (page_chain_resolve(ctx->dirfd, ctx->opts->images_dir,
			       ctx->inv->has_parent_id ? ctx->inv->parent_id : 0, t->pid,
			       t->pagemap, t->nr_pagemap, &fd))
		return -1;
	t->pages_fd = fd;
	t->nr_pages = 0;
	for (size_t i = 0; i < t->nr_pagemap; i++)
		t->nr_pages += t->pagemap[i]->nr_pages;
	return 0;
}

/* A cwd removed while the task was in it: its ghost, made again (ghost.h). */
static int check_cwd(struct restore_ctx *ctx, const struct restore_task *t)
{
	char what[64];

	if (!t->core->has_cwd_ghost_id)
		return 0;
	snprintf(what, sizeof(what), "image core-%d.img: cwd", t->pid);
	return ghost_use(ctx, t->core->cwd_ghost_id, t->core->cwd, what, NULL);
}

static int load_task(struct restore_ctx *ctx, struct restore_task *t)
{
	if (img_load_one(ctx->dirfd, IMG_CORE, t->pid, (ProtobufCMessage **)&t->core) ||
	    img_load_one(ctx->dirfd, IMG_MM, t->pid, (ProtobufCMessage **)&t->mm) ||
	    img_load_all(ctx->dirfd, IMG_PAGEMAP, t->pid, false, (void ***)&t->pagemap,
			 &t->nr_pagemap) ||
	    img_load_all(ctx->dirfd, IMG_FDINFO, t->pid, false, (void ***)&t->fds, &t->nr_fds))
		return -1;
	return check_core(ctx, t) || check_cwd(ctx, t) || check_mm(ctx, t) ||
	       check_pages_size(ctx, t) || resolve_chain(ctx, t);
}

struct restore_task *restore_find_task(const struct restore_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return &ctx->tasks[i];
	return NULL;
}

static const PstreeEntry *find_entry(PstreeEntry **pe, size_t nr, uint32_t pid)
{
	for (size_t i = 0; i < nr; i++)
		if (pe[i]->pid == pid)
			return pe[i];
	return NULL;
}

/* The root first, every other task after its parent, each pid once. */
static int check_pstree(const struct restore_ctx *ctx, PstreeEntry **pe, size_t nr)
{
	if (!nr || pe[0]->pid != ctx->inv->root_pid) {
		pr_err("image pstree.img: does not start with the root, pid %u", ctx->inv->root_pid);
		return -1;
	}
	for (size_t i = 0; i < nr; i++) {
		const PstreeEntry *parent = find_entry(pe, i, pe[i]->ppid);

		if (!pe[i]->pid || find_entry(pe, i, pe[i]->pid)) {
			pr_err("image pstree.img: pid %u is there twice", pe[i]->pid);
			return -1;
		}
		if (i && (!parent || parent->state == TASK_STATE__TASK_ZOMBIE)) {
			pr_err("image pstree.img: pid %u comes before its parent %u or has none",
			       pe[i]->pid, pe[i]->ppid);
			return -1;
		}
		if (pe[i]->state == TASK_STATE__TASK_ZOMBIE && (!i || !pe[i]->has_exit_status)) {
			pr_err("image pstree.img: zombie %u is the root or has no exit status",
			       pe[i]->pid);
			return -1;
		}
	}
	return 0;
}

int restore_load(struct restore_ctx *ctx)
{
	PstreeEntry **pe = NULL;
	size_t nr = 0, i;

	ctx->dirfd = open(ctx->opts->images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx->dirfd < 0) {
		pr_perror("images directory %s", ctx->opts->images_dir);
		return -1;
	}
	if (faccessat(ctx->dirfd, "inventory.img", F_OK, 0)) {
		pr_err("images directory %s has no inventory.img: not a complete snap dump",
		       ctx->opts->images_dir);
		return -1;
	}
	if (img_load_one(ctx->dirfd, IMG_INVENTORY, 0, (ProtobufCMessage **)&ctx->inv))
		return -1;
	if (ctx->inv->version != IMG_VERSION) {
		pr_err("image inventory.img: format version %u, this snap reads %u",
		       ctx->inv->version, IMG_VERSION);
		return -1;
	}
	if (ctx->inv->pre_dump) {
		pr_err("images directory %s is a pre-dump: memory only, not restorable; restore "
		       "the dump made on top of it (--prev-images-dir)", ctx->opts->images_dir);
		return -1;
	}
	if (strcmp(ctx->inv->kernel, ctx->kf->kernel))
		pr_warn("images were dumped on kernel %s, this is %s", ctx->inv->kernel,
			ctx->kf->kernel);
	if (shmem_load(ctx) || img_load_all(ctx->dirfd, IMG_PSTREE, 0, false, (void ***)&pe, &nr))
		return -1;
	if (check_pstree(ctx, pe, nr) || ns_load(ctx, pe, nr))
		goto err;
	ctx->tasks = calloc(nr, sizeof(*ctx->tasks));
	if (!ctx->tasks)
		goto err;
	ctx->nr_tasks = nr;
	for (i = 0; i < nr; i++) {
		ctx->tasks[i].pid = pe[i]->pid;
		/* Until restore_pidns_prepare() says the tree gets a new pid namespace. */
		ctx->tasks[i].real = pe[i]->pid;
		ctx->tasks[i].pe = pe[i];
	}
	for (i = 0; i < nr; i++)
		if (pe[i]->state != TASK_STATE__TASK_ZOMBIE && load_task(ctx, &ctx->tasks[i]))
			goto err_tasks;
	free(pe);
	if (restore_load_files(ctx))
		return -1;
	for (i = 0; i < nr; i++)
		for (size_t j = 0; ctx->tasks[i].mm && j < ctx->tasks[i].mm->n_vmas; j++)
			if (check_ring(ctx, &ctx->tasks[i], ctx->tasks[i].mm->vmas[j]))
				return -1;
	return 0;
err:
	for (i = 0; i < nr; i++)
		protobuf_c_message_free_unpacked(&pe[i]->base, NULL);
err_tasks:
	free(pe);
	return -1;
}

static void free_all(void **msgs, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		protobuf_c_message_free_unpacked(msgs[i], NULL);
	free(msgs);
}

void restore_unload(struct restore_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct restore_task *t = &ctx->tasks[i];

		if (t->pe)
			protobuf_c_message_free_unpacked(&t->pe->base, NULL);
		if (t->core)
			protobuf_c_message_free_unpacked(&t->core->base, NULL);
		if (t->mm)
			protobuf_c_message_free_unpacked(&t->mm->base, NULL);
		free_all((void **)t->pagemap, t->nr_pagemap);
		free_all((void **)t->fds, t->nr_fds);
		if (t->pages_fd > 0)
			close(t->pages_fd);
		free(t->real_tids);
	}
	free(ctx->tasks);
	restore_files_free(ctx);
	shmem_restore_free(ctx);
	ns_restore_free(ctx);
	free_all((void **)ctx->files, ctx->nr_files);
	if (ctx->inv)
		protobuf_c_message_free_unpacked(&ctx->inv->base, NULL);
	if (ctx->dirfd >= 0)
		close(ctx->dirfd);
}
