// SPDX-License-Identifier: GPL-2.0
/* The restorer's bootstrap area and arguments (see restore-bootstrap.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/user.h>
#include <unistd.h>

#include "files/files.h"
#include "infect.h"
#include "log.h"
#include "ns/pid-nest.h"
#include "proc/procstate.h"
#include "proc/restore-bootstrap.h"
#include "mem/cow.h"
#include "mem/ghost.h"
#include "mem/shmem.h"

#define TASK_SIZE_MAX 0x7ffffffff000ULL
/* A multiple of 2 MiB: the restorer backs it with huge pages (restorer-fill.c). */
#define STAGING_SIZE (4UL << 20)
#define PLACE_STEP (64UL << 20)
/* Tids tried for a task's fill helpers: a window each, from the top of the pid range. */
#define FILL_TID_WINDOW 16

extern const char restorer_blob[], restorer_blob_end[];

static size_t align(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Our own vDSO/vvar block, as the child will have it (it is our fork). */
static int self_specials(struct rst_range *r, char names[][16], unsigned int *nr)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f) {
		pr_perror("cannot open /proc/self/maps");
		return -1;
	}
	*nr = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char name[64] = "";

		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %63s", &s, &e, name) < 2)
			continue;
		if (strcmp(name, "[vdso]") && strcmp(name, "[vvar]") && strcmp(name, "[vvar_vclock]"))
			continue;
		if (*nr == RST_MAX_SPECIAL) {
			fclose(f);
			pr_err("too many vDSO mappings");
			return -1;
		}
		r[*nr].start = s;
		r[*nr].end = e;
		snprintf(names[*nr], 16, "%s", name);
		(*nr)++;
	}
	fclose(f);
	return 0;
}

/* Top-down through the gaps of the final layout; MAP_FIXED_NOREPLACE skips ours. */
static void *place(const MmEntry *mm, size_t len)
{
	uint64_t hi = TASK_SIZE_MAX;
	size_t i = mm->n_vmas + 1;

	while (i--) {
		uint64_t lo = i ? mm->vmas[i - 1]->end : 0x100000;
		uint64_t addr;
		int tries = 0;

		if (hi > lo + len)
			for (addr = (hi - len) & ~(PAGE_SIZE - 1); addr >= lo && tries < 64;
			     addr -= PLACE_STEP, tries++) {
				void *p = mmap((void *)addr, len, PROT_READ | PROT_WRITE | PROT_EXEC,
					       MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
					       0);

				if (p == (void *)addr)
					return p;
				if (p != MAP_FAILED)
					munmap(p, len);
				if (addr < lo + PLACE_STEP)
					break;
			}
		if (i)
			hi = mm->vmas[i - 1]->start;
	}
	return NULL;
}

static void regs_from_image(struct user_regs_struct *u, const UserRegsEntry *r)
{
	u->r15 = r->r15;
	u->r14 = r->r14;
	u->r13 = r->r13;
	u->r12 = r->r12;
	u->rbp = r->bp;
	u->rbx = r->bx;
	u->r11 = r->r11;
	u->r10 = r->r10;
	u->r9 = r->r9;
	u->r8 = r->r8;
	u->rax = r->ax;
	u->rcx = r->cx;
	u->rdx = r->dx;
	u->rsi = r->si;
	u->rdi = r->di;
	u->orig_rax = r->orig_ax;
	u->rip = r->ip;
	u->cs = r->cs;
	u->eflags = r->flags;
	u->rsp = r->sp;
	u->ss = r->ss;
	u->fs_base = r->fs_base;
	u->gs_base = r->gs_base;
}

static void fill_creds(struct rst_creds *c, const CredsEntry *e)
{
	c->uid = e->uid;
	c->euid = e->euid;
	c->suid = e->suid;
	c->fsuid = e->fsuid;
	c->gid = e->gid;
	c->egid = e->egid;
	c->sgid = e->sgid;
	c->fsgid = e->fsgid;
	c->ngroups = e->n_groups;
	memcpy(c->groups, e->groups, e->n_groups * sizeof(uint32_t));
	c->cap_inh = e->cap_inh;
	c->cap_prm = e->cap_prm;
	c->cap_eff = e->cap_eff;
	c->cap_bnd = e->cap_bnd;
	c->cap_amb = e->cap_amb;
	c->secbits = e->secbits;
	c->last_cap = cap_max_bits() - 1;
}

static size_t count_guards(const MmEntry *mm)
{
	size_t n = 0;

	for (size_t i = 0; i < mm->n_vmas; i++)
		n += mm->vmas[i]->n_guards;
	return n;
}

static void fill_guards(struct restorer_args *a, const MmEntry *mm, struct rst_range *g)
{
	a->guards = (uintptr_t)g;
	a->nr_guards = 0;
	for (size_t i = 0; i < mm->n_vmas; i++)
		for (size_t j = 0; j < mm->vmas[i]->n_guards; j++)
			g[a->nr_guards++] = (struct rst_range){ mm->vmas[i]->guards[j]->start,
								mm->vmas[i]->guards[j]->end };
}

/* One thread: its state, its pending signals (into @si) and its frame. */
static int fill_thread(struct rst_thread *rt, const ThreadCoreEntry *th, const CredsEntry *creds,
		       uint8_t *si)
{
	struct user_regs_struct regs = { 0 };
	struct k_stack alt;

	rt->pending = (uintptr_t)si;
	rt->nr_pending = th->n_pending;
	for (size_t i = 0; i < th->n_pending; i++)
		memcpy(si + i * 128, th->pending[i].data, 128);
	snprintf(rt->comm, sizeof(rt->comm), "%s", th->comm);
	if (th->rseq) {
		rt->rseq = th->rseq->ptr;
		rt->rseq_len = th->rseq->len;
		rt->rseq_sig = th->rseq->sig;
	}
	if (th->has_robust_list && th->has_robust_list_len) {
		rt->robust_list = th->robust_list;
		rt->robust_list_len = th->robust_list_len;
	}
	rt->clear_tid = th->has_clear_tid_addr ? th->clear_tid_addr : 0;
	fill_creds(&rt->creds, th->creds ? th->creds : creds);

	regs_from_image(&regs, th->regs);
	rt->fs_base = regs.fs_base;
	rt->gs_base = regs.gs_base;
	/*
	 * A restored thread has no kernel restart block: such syscalls see
	 * EINTR, but for the waits run again from their arguments (poll(),
	 * sleeps; regs_restart_syscall()). The others (a futex wait, a read)
	 * are entered again.
	 */
	regs_restart_syscall(&regs, false);
	alt = (struct k_stack){ .ss_sp = th->altstack->sp,
				.ss_flags = th->altstack->flags,
				.ss_size = th->altstack->size };
	return sigframe_build(&rt->frame, (uintptr_t)&rt->frame, &regs, th->xsave.data,
			      th->xsave.len, th->sigmask, &alt);
}

static int fill_threads(struct restore_task *t, struct restorer_args *a,
			struct rst_thread *threads, uint8_t *si, uint8_t *stacks)
{
	const CoreEntry *c = t->core;

	a->threads = (uintptr_t)threads;
	a->nr_threads = c->n_threads;
	for (size_t i = 0; i < c->n_threads; i++) {
		pid_t tids[PIDNS_MAX_NEST + 1];
		size_t n = pidns_set_tids(t, i, tids);

		/* Its tid as its own pid namespace sees it, and at each level to the root's. */
		threads[i].tid = tids[0];
		threads[i].nr_set_tids = n;
		for (size_t j = 0; j < n; j++)
			threads[i].set_tids[j] = tids[j];
		if (fill_thread(&threads[i], c->threads[i], c->creds, si))
			return -1;
		si += c->threads[i]->n_pending * 128;
		/* The leader runs on the restorer's own stack. */
		if (i)
			threads[i].stack = (uintptr_t)stacks + (i - 1) * RST_THREAD_STACK;
	}
	return 0;
}

static int fill_static(struct restore_task *t, struct bootstrap *b, struct rst_vma *vmas,
		       struct rst_pagemap *pm, struct rst_range *guards, uint8_t *si)
{
	struct restorer_args *a = b->args;
	const CoreEntry *c = t->core;
	const MmInfoEntry *mm = c->mm;
	size_t i;

	a->vmas = (uintptr_t)vmas;
	a->nr_vmas = t->mm->n_vmas;
	for (i = 0; i < t->mm->n_vmas; i++) {
		const VmaEntry *v = t->mm->vmas[i];

		vmas[i] = (struct rst_vma){ .start = v->start,
					    .end = v->end,
					    .pgoff = v->pgoff,
					    .prot = v->prot,
					    .flags = v->flags,
					    .kind = v->kind,
					    .fd = -1,
					    .madv = v->has_madv ? v->madv : 0,
					    .lock = v->has_lock ? v->lock : RST_VMA_UNLOCKED };
	}
	a->pagemap = (uintptr_t)pm;
	a->nr_pagemap = t->nr_pagemap;
	for (i = 0; i < t->nr_pagemap; i++)
		pm[i] = (struct rst_pagemap){ t->pagemap[i]->vaddr, t->pagemap[i]->nr_pages };
	fill_guards(a, t->mm, guards);
	a->staging_size = STAGING_SIZE;

	a->siginfo = (uintptr_t)si;
	a->nr_shared_pending = c->n_shared_pending;
	for (i = 0; i < c->n_shared_pending; i++)
		memcpy(si + i * 128, c->shared_pending[i].data, 128);
	/* What it calls itself in its restorer: its own pid namespace's pid. */
	a->pid = pidns_depth(t) ? (pid_t)t->pe->ns_pid[pidns_depth(t) - 1] : t->pid;

	a->mm = (struct rst_mm_map){ mm->start_code, mm->end_code, mm->start_data, mm->end_data,
				     mm->start_brk, mm->brk, mm->start_stack, mm->arg_start,
				     mm->arg_end, mm->env_start, mm->env_end,
				     (uintptr_t)a->auxv, mm->auxv.len, -1 };
	memcpy(a->auxv, mm->auxv.data, mm->auxv.len);
	fill_creds(&a->creds, c->creds);
	for (i = 0; i < K_NSIG; i++)
		a->sa[i] = (struct k_sigaction){ c->sigactions[i]->handler, c->sigactions[i]->flags,
						 c->sigactions[i]->restorer, c->sigactions[i]->mask };
	for (i = 0; i < 3; i++)
		a->itimers[i] = (struct k_itimerval){
			{ c->itimers[i]->interval_sec, c->itimers[i]->interval_usec },
			{ c->itimers[i]->value_sec, c->itimers[i]->value_usec },
		};
	for (i = 0; i < K_RLIM_NLIMITS; i++)
		a->rlimits[i] = (struct k_rlimit){ c->rlimits[i]->cur, c->rlimits[i]->max };
	a->umask = c->umask;
	a->dumpable = c->has_dumpable ? c->dumpable : 1;
	a->mlock_future = mm->has_mlock_future ? mm->mlock_future : 0;
	a->ksm_merge_any = mm->ksm_merge_any;
	return 0;
}

static bool tree_has_tid(const struct restore_ctx *ctx, pid_t tid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct restore_task *t = &ctx->tasks[i];

		if (t->pid == tid)
			return true;
		for (size_t j = 0; t->core && j < t->core->n_threads; j++)
			if ((pid_t)t->core->threads[j]->tid == tid)
				return true;
	}
	return false;
}

_Static_assert(PIDNS_MAX_NEST + 1 <= RST_MAX_SET_TIDS, "a thread's set_tid array is too short");

/* A SIGEV_THREAD_ID timer's thread, named by its tid in the root's namespace in core. */
static void nested_timer_tids(const struct restore_task *t, struct restorer_args *a)
{
	struct rst_timer *tm = (void *)(uintptr_t)a->timers;
	const struct rst_thread *th = (void *)(uintptr_t)a->threads;

	for (size_t i = 0; i < a->nr_timers; i++)
		for (size_t k = 0; tm[i].notify_tid && k < t->core->n_threads; k++)
			if (t->core->threads[k]->tid == tm[i].notify_tid) {
				tm[i].notify_tid = th[k].tid;
				break;
			}
}

static long read_pid_max(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
	long v = 0;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/*
 * Tids for the threads that help the restorer fill memory, one per other
 * CPU: free now and no process's or thread's of the tree, so that while the
 * helpers run no clone3(set_tid) of the restore can find its tid taken.
 * From the top of the pid range down, where the pids restores ask for are
 * unlikely to be, in a window per task so that tasks filling at the same
 * time get different ones. The restorer decides whether its memory is big
 * enough to use them; a clone that fails just means one helper less.
 */
static void pick_fill_tids(const struct restore_ctx *ctx, const struct restore_task *t,
			   struct restorer_args *a)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN), pid_max = read_pid_max();
	long want = cpus - 1 < RST_MAX_FILL_HELPERS ? cpus - 1 : RST_MAX_FILL_HELPERS;
	long top = pid_max - 1 - (long)(t - ctx->tasks) * FILL_TID_WINDOW;

	a->nr_fill_helpers = 0;
	for (long tid = top; tid > top - FILL_TID_WINDOW && tid > 300; tid--) {
		if ((long)a->nr_fill_helpers >= want)
			break;
		if (tree_has_tid(ctx, tid) || !(kill(tid, 0) && errno == ESRCH))
			continue;
		a->fill_tids[a->nr_fill_helpers++] = tid;
	}
}

int bootstrap_create(struct restore_ctx *ctx, struct restore_task *t, struct bootstrap *b)
{
	const CoreEntry *c = t->core;
	size_t blob_len = restorer_blob_end - restorer_blob;
	size_t args_off, vmas_off, pm_off, guards_off, pre_off, thr_off, si_off, proc_off;
	size_t tstack_off, stack_off, park_len, nsig = c->n_shared_pending;
	ssize_t nr_premapped;
	struct rst_range cur[RST_MAX_SPECIAL];
	char names[RST_MAX_SPECIAL][16];
	unsigned int ncur;
	uint8_t *base;

	nr_premapped = cow_nr_premapped(ctx, t);
	if (nr_premapped < 0 || cow_check(ctx, t) || self_specials(cur, names, &ncur))
		return -1;
	park_len = ncur ? cur[ncur - 1].end - cur[0].start : 0;
	for (size_t i = 0; i < c->n_threads; i++)
		nsig += c->threads[i]->n_pending;

	args_off = align(blob_len, 64);
	vmas_off = align(args_off + sizeof(struct restorer_args), 64);
	pm_off = vmas_off + t->mm->n_vmas * sizeof(struct rst_vma);
	guards_off = align(pm_off + t->nr_pagemap * sizeof(struct rst_pagemap), 64);
	pre_off = align(guards_off + count_guards(t->mm) * sizeof(struct rst_range), 64);
	/* Filled by the process itself, before it makes its children (cow.h). */
	thr_off = align(pre_off + nr_premapped * sizeof(struct rst_range), 64);
	si_off = align(thr_off + c->n_threads * sizeof(struct rst_thread), 64);
	proc_off = si_off + nsig * 128;
	tstack_off = align(proc_off + restore_proc_size(t->core), PAGE_SIZE);
	stack_off = tstack_off + (c->n_threads - 1) * RST_THREAD_STACK;
	b->len = stack_off + BLOB_STACK_SIZE + align(park_len, PAGE_SIZE);

	b->addr = place(t->mm, b->len);
	if (!b->addr) {
		pr_err("pid %d: no room for the restorer in the restored address space", t->pid);
		return -1;
	}
	base = b->addr;
	memcpy(base, restorer_blob, blob_len);
	b->args = (struct restorer_args *)(base + args_off);
	b->stack_top = (uintptr_t)base + stack_off + BLOB_STACK_SIZE;
	b->args->bootstrap_start = (uintptr_t)base;
	b->args->bootstrap_end = (uintptr_t)base + b->len;
	b->args->premaps = (uintptr_t)base + pre_off;
	memcpy(b->args->cur_special, cur, sizeof(cur));
	b->args->nr_cur_special = ncur;
	if (fill_static(t, b, (void *)(base + vmas_off), (void *)(base + pm_off),
			(void *)(base + guards_off), base + si_off) ||
	    fill_threads(t, b->args, (void *)(base + thr_off),
			 base + si_off + c->n_shared_pending * 128, base + tstack_off)) {
		bootstrap_destroy(b);
		return -1;
	}
	restore_proc_fill(b->args, t->core, (char *)b->addr + proc_off);
	/*
	 * In a nested pid namespace the helpers would take pids at the
	 * levels above theirs that the tree's tasks want: the leader fills
	 * alone. Its timers target their threads by the tids it sees.
	 */
	if (pidns_depth(t))
		nested_timer_tids(t, b->args);
	else
		pick_fill_tids(ctx, t, b->args);
	return 0;
}

static int to_service(int fd, int base, const char *what)
{
	int nfd;

	if (fd < 0) {
		pr_perror("cannot open %s", what);
		return -1;
	}
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, base);
	close(fd);
	if (nfd < 0)
		pr_perror("cannot move the fd of %s", what);
	return nfd;
}

/* Pair each of our vDSO pieces with the dumped one of the same name. */
static int match_specials(struct restore_task *t, struct restorer_args *a)
{
	char names[RST_MAX_SPECIAL][16];
	struct rst_range cur[RST_MAX_SPECIAL];
	unsigned int n, i;
	size_t j;

	if (self_specials(cur, names, &n))
		return -1;
	for (i = 0; i < n; i++) {
		for (j = 0; j < t->mm->n_vmas; j++) {
			const VmaEntry *v = t->mm->vmas[j];

			if (v->name && !strcmp(v->name, names[i]))
				break;
		}
		if (j == t->mm->n_vmas ||
		    t->mm->vmas[j]->end - t->mm->vmas[j]->start != cur[i].end - cur[i].start) {
			pr_err("image mm-%d.img: its %s does not match this kernel's; restore on the "
			       "kernel it was dumped on",
			       t->pid, names[i]);
			return -1;
		}
		a->dst_special[i].start = t->mm->vmas[j]->start;
		a->dst_special[i].end = t->mm->vmas[j]->end;
	}
	return 0;
}

/*
 * Whether the mapping's file must be open for writing: a shared mapping's
 * VM_MAYWRITE follows the file's access, and mprotect(PROT_WRITE) depends on
 * it (images without may_write: what the protection needs). A private
 * mapping may be made writable from a read-only file.
 */
static bool vma_wants_rw(const VmaEntry *v)
{
	if (!(v->flags & MAP_SHARED))
		return false;
	return v->has_may_write ? v->may_write : (v->prot & PROT_WRITE) != 0;
}

/*
 * What the shmat() of the SysV mapping @i of @t (at offset 0, of segment
 * @e) maps, and how much of it @i and the parts that continue it cover.
 */
static void sysv_extent(const struct restore_task *t, size_t i, const ShmemEntry *e,
			struct rst_vma *rv)
{
	uint64_t align = e->has_huge_page_size ? e->huge_page_size : PAGE_SIZE;
	const VmaEntry *v = t->mm->vmas[i];
	size_t j = i + 1;

	rv->shm_len = (e->size + align - 1) & ~(align - 1);
	while (j < t->mm->n_vmas && t->mm->vmas[j]->kind == VMA_KIND__VMA_SHMEM &&
	       t->mm->vmas[j]->shmem_id == v->shmem_id && t->mm->vmas[j]->pgoff &&
	       t->mm->vmas[j]->start == t->mm->vmas[j - 1]->end)
		j++;
	rv->shm_run = t->mm->vmas[j - 1]->end - v->start;
}

/*
 * How the restorer maps a shared memory VMA: a SysV segment is attached by its
 * id, read-write if it was; any other object is mapped from snap's fd of it,
 * or from a read-only reopen when the mapping's file was read-only. A
 * write-sealed memfd's shared mappings always are: the kernel lets them be
 * read-only only, and never made writable.
 */
static int shmem_vma_fd(struct restore_ctx *ctx, const struct restore_task *t, size_t i,
			struct rst_vma *rv, int base)
{
	const VmaEntry *v = t->mm->vmas[i];
	const ShmemEntry *e = ctx->shmem->objs[v->shmem_id - 1];
	int fd = ctx->shmem->fds[v->shmem_id - 1];

	if (e->kind == SHMEM_KIND__SHMEM_SYSV) {
		rv->kind = RST_VMA_SYSV;
		rv->fd = e->sysv_id;
		rv->shm_rw = vma_wants_rw(v);
		if (!v->pgoff)
			sysv_extent(t, i, e, rv);
		return 0;
	}
	if ((v->flags & MAP_SHARED) && !vma_wants_rw(v)) {
		fd = to_service(reopen_fd(fd, O_RDONLY | O_CLOEXEC), base, "a read-only object");
		if (fd < 0)
			return -1;
	}
	rv->fd = fd;
	return 0;
}

/* A deleted file's mapping: a reopen of the recreated ghost (the caller logs a failure). */
static int open_ghost(struct restore_ctx *ctx, const VmaEntry *v, int flags)
{
	return reopen_fd(ghost_fd(ctx, v->ghost_id), flags | O_CLOEXEC);
}

/*
 * A mapped file, with the access it had. One this machine only lets us read
 * (a read-only mount, say) is still mapped when the mapping does not need
 * write access now, as images without may_write were: it just cannot be
 * made writable.
 */
static int open_mapped(pid_t pid, const VmaEntry *v, int flags)
{
	int fd = open(v->path, flags);

	if (fd < 0 && flags == O_RDWR && !(v->prot & PROT_WRITE) &&
	    (errno == EROFS || errno == EACCES || errno == EPERM || errno == ETXTBSY)) {
		pr_warn("pid %d mapping %lx: %s cannot be opened for writing (%s); mapped from a "
			"read-only open, mprotect(PROT_WRITE) on it will fail",
			pid, (unsigned long)v->start, v->path, strerror(errno));
		fd = open(v->path, O_RDONLY);
	}
	return fd;
}

/*
 * The exe link: its file, or when it was deleted (a binary replaced under a
 * running process), the ghost its mappings have.
 */
static int open_exe(struct restore_ctx *ctx, const struct restore_task *t)
{
	const char *exe = t->core->mm->exe, *sfx = DELETED_SUFFIX;
	size_t len = strlen(exe), sl = strlen(sfx);

	if (len > sl && !strcmp(exe + len - sl, sfx))
		for (size_t i = 0; i < t->mm->n_vmas; i++) {
			const VmaEntry *v = t->mm->vmas[i];

			if (v->has_ghost_id && v->path && strlen(v->path) == len - sl &&
			    !strncmp(v->path, exe, len - sl))
				return open_ghost(ctx, v, O_RDONLY);
		}
	return open(exe, O_RDONLY);
}

/* One open file per file and access is enough: the one of an earlier mapping, if any. */
static int same_file(const struct restore_task *t, const struct rst_vma *vmas, size_t i, int flags)
{
	const VmaEntry *v = t->mm->vmas[i];

	for (size_t j = 0; j < i; j++) {
		const VmaEntry *w = t->mm->vmas[j];

		if (vmas[j].fd < 0 || !w->path || w->has_ghost_id != v->has_ghost_id ||
		    (w->has_ghost_id ? w->ghost_id != v->ghost_id : strcmp(w->path, v->path)) ||
		    (vma_wants_rw(w) ? O_RDWR : O_RDONLY) != flags)
			continue;
		return vmas[j].fd;
	}
	return -1;
}

int bootstrap_fill_child(struct restore_ctx *ctx, struct restore_task *t, struct bootstrap *b,
			 int service_base)
{
	struct restorer_args *a = b->args;
	struct rst_vma *vmas = (void *)a->vmas;
	char name[64];
	size_t i;

	a->service_fd_base = service_base;
	if (match_specials(t, a))
		return -1;
	for (i = 0; i < t->mm->n_vmas; i++) {
		const VmaEntry *v = t->mm->vmas[i];
		int flags = vma_wants_rw(v) ? O_RDWR : O_RDONLY, fd;

		if (v->kind == VMA_KIND__VMA_SHMEM) {
			if (shmem_vma_fd(ctx, t, i, &vmas[i], service_base + 2))
				return -1;
			continue;
		}
		if (!v->path)
			continue;
		vmas[i].fd = same_file(t, vmas, i, flags);
		if (vmas[i].fd >= 0)
			continue;
		fd = v->has_ghost_id ? open_ghost(ctx, v, flags) : open_mapped(t->pid, v, flags);
		vmas[i].fd = to_service(fd, service_base + 2, v->path);
		if (vmas[i].fd < 0)
			return -1;
	}
	a->mm.exe_fd = to_service(open_exe(ctx, t), service_base + 2, t->core->mm->exe);
	if ((int)a->mm.exe_fd < 0)
		return -1;
	snprintf(name, sizeof(name), "pages-%d.img", t->pid);
	/* An incremental dump's pages, the parents' resolved in (mem/page-chain.h). */
	a->pages_fd = to_service(t->pages_fd > 0 ? dup(t->pages_fd) :
						  openat(ctx->dirfd, name, O_RDONLY),
				 service_base + 2, name);
	return a->pages_fd < 0 ? -1 : 0;
}

void bootstrap_destroy(struct bootstrap *b)
{
	if (b->addr)
		munmap(b->addr, b->len);
	b->addr = NULL;
}

void bootstrap_log_fill(const struct bootstrap *b, pid_t pid)
{
	const struct restorer_args *a = b->args;
	const struct rst_fill_stats *f = &a->fill;

	pr_debug("pid %d: memory filled in %.1f ms by %u thread(s): %llu pages copied, %llu in "
		 "huge pages, %llu in place; setup %.1f ms, reading %.1f ms, placing %.1f ms "
		 "(summed over threads)",
		 pid, a->stats.mem_ns / 1e6, f->workers, (unsigned long long)f->pages_copied,
		 (unsigned long long)f->pages_huge, (unsigned long long)a->stats.pages_in_place,
		 f->setup_ns / 1e6, f->read_ns / 1e6, f->place_ns / 1e6);
}

void bootstrap_jump(struct bootstrap *b)
{
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "jmp *%1\n\t"
			 :
			 : "r"(b->stack_top), "r"(b->addr), "D"(b->args)
			 : "memory");
	__builtin_unreachable();
}
