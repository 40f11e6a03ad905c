// SPDX-License-Identifier: GPL-2.0
/*
 * The restorer's page filling (step 4 of restorer.c): the pages of the
 * image go into the mappings create_vmas() made. Freestanding.
 *
 * What decides the method is what a page costs on the machines we run on
 * (Documentation/architecture.md, "Filling memory"): a page reached for the
 * first time through a user address costs 20-28 µs on this VM (shadow page
 * tables), whether the process or the kernel on its behalf (read() into it)
 * touches it, while allocating it and copying into it through the kernel's
 * own mapping costs about 3 µs. So pages are read into a staging area that is populated once
 * and reused, never moved out of, and from there:
 *  - private anonymous memory: UFFDIO_COPY, which allocates each page and
 *    copies into it in the kernel; 4 KiB pages, as the process had them;
 *  - a whole PMD of a MADV_HUGEPAGE mapping: copied into a huge-page
 *    staging area with process_vm_writev (kernel side too) and moved in
 *    with UFFDIO_MOVE as one THP;
 *  - other mappings (private file and shmem mappings, hugetlb):
 *    process_vm_writev into place, read() into place where the kernel
 *    lacks it.
 * A big address space is filled by the leader and helper threads together,
 * each taking the next piece of the image from a shared cursor; the helpers
 * run with tids snap picked for them and are gone before the process's own
 * threads are made.
 */
#include <linux/futex.h>
#include <linux/mman.h>
#include <linux/sched.h>

#include "kcompat.h"
#include "lazy-vma.h"
#include "pie-lib.h"
#include "pie-syscall.h"
#include "protocol.h"
#include "restorer.h"

#define PAGE 4096UL
#define PMD_SIZE_ (2UL << 20)
#define MAP_PRIVATE_ 0x02
#define MAP_ANONYMOUS_ 0x20
#define PROT_RW (PROT_READ | PROT_WRITE)
#define O_CLOEXEC_ 02000000
#define O_NONBLOCK_ 04000
#define EINTR_ 4
#define EAGAIN_ 11
#define ENOSYS_ 38
#define HELPER_STACK (64UL << 10)
/* Below this a helper costs more than it saves. */
#define HELPER_MIN_BYTES (32UL << 20)
#define HELPER_FLAGS                                                                               \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |         \
	 CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)

HIDDEN long fill_clone(struct clone_args *ca, unsigned long size);
HIDDEN void fill_helper_main(void *w);

/* What the leader and the helpers share. */
struct fill {
	struct restorer_args *a;
	long uffd;
	long pid;		/* ours, for process_vm_writev */
	int no_pvw;		/* the kernel has no process_vm_writev: read() in place */
	int failed;		/* a worker failed and said why: the others stop */
	int lock;		/* futex, guards the cursor */
	/* The cursor: the next piece is at @addr of pagemap entry @pm, page @off of the image. */
	unsigned int pm;
	unsigned long addr, off;
	struct rst_vma *vma;	/* the mapping of entry @pm */
};

/* One filling thread and its buffers. */
struct worker {
	struct fill *f;
	unsigned long staging;		/* populated once: reading into it never faults */
	unsigned long thp_map, thp;	/* huge-page staging: its mapping, the aligned PMD in it */
	unsigned long stack;		/* a helper's */
	int tid;			/* a helper's; cleared by the kernel when it is gone */
	long ret;
};

enum piece_kind {
	PIECE_COPY,			/* UFFDIO_COPY from the staging area */
	PIECE_HUGE,			/* a whole PMD, moved in as a THP */
	PIECE_IN_PLACE,			/* not private anonymous: written where it is */
};

struct piece {
	enum piece_kind kind;
	unsigned long dst, len, off;	/* @len bytes at @dst, from @off in the pages file */
};

/*
 * clone3 for a helper: on a fresh stack whose top word holds its worker.
 * The child runs fill_helper_main() and exits alone (exit, not exit_group).
 */
__asm__(".text\n"
	"fill_clone:\n"
	"	mov	$435, %eax\n" /* __NR_clone3 */
	"	syscall\n"
	"	test	%rax, %rax\n"
	"	jnz	1f\n"
	"	mov	(%rsp), %rdi\n"
	"	call	fill_helper_main\n"
	"	xor	%edi, %edi\n"
	"	mov	$60, %eax\n" /* __NR_exit */
	"	syscall\n"
	"	hlt\n"
	"1:	ret\n");

static unsigned long ts_ns(void)
{
	struct {
		long sec, nsec;
	} ts;

	sys_clock_gettime(1 /* CLOCK_MONOTONIC */, &ts);
	return ts.sec * 1000000000UL + ts.nsec;
}

static void stat_add(__u64 *v, unsigned long n)
{
	__atomic_add_fetch(v, n, __ATOMIC_RELAXED);
}

/* The first worker to fail says why; the others just stop. */
static long fill_fail(struct fill *f, const char *what, unsigned long addr, long err)
{
	if (!__atomic_exchange_n(&f->failed, 1, __ATOMIC_ACQ_REL))
		fail(f->a, what, addr, err);
	return -1;
}

static void lock(int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		sys_futex(l, FUTEX_WAIT_PRIVATE, 1);
}

static void unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
	sys_futex(l, FUTEX_WAKE_PRIVATE, 1);
}

/* Private anonymous memory is filled through the uffd, which cannot do hugetlb. */
static int moves_pages(const struct rst_vma *v)
{
	return v->kind == RST_VMA_ANON && !(v->flags & MAP_HUGETLB);
}

static int vma_wants_thp(const struct rst_vma *v)
{
	return v->madv & (1ULL << MADV_HUGEPAGE);
}

/* [@addr, @end) covers a whole aligned PMD of a MADV_HUGEPAGE mapping. */
static int whole_pmd(const struct rst_vma *v, unsigned long addr, unsigned long end)
{
	return vma_wants_thp(v) && !(addr & (PMD_SIZE_ - 1)) && end - addr >= PMD_SIZE_;
}

/* A piece of small pages; in a MADV_HUGEPAGE mapping it stops where a whole PMD could start. */
static unsigned long small_len(struct restorer_args *a, const struct rst_vma *v,
			       unsigned long addr, unsigned long end)
{
	unsigned long len = end - addr;

	if (len > a->staging_size)
		len = a->staging_size;
	if (vma_wants_thp(v) && len > PMD_SIZE_ - (addr & (PMD_SIZE_ - 1)))
		len = PMD_SIZE_ - (addr & (PMD_SIZE_ - 1));
	return len;
}

static struct rst_vma *find_vma(struct restorer_args *a, unsigned long addr)
{
	struct rst_vma *vmas = (void *)a->vmas;
	unsigned int lo = 0, hi = a->nr_vmas;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (addr < vmas[mid].start)
			hi = mid;
		else if (addr >= vmas[mid].end)
			lo = mid + 1;
		else
			return &vmas[mid];
	}
	return 0;
}

/*
 * Pages the fill leaves alone: a premapped area's are in place already
 * (snap/mem/cow.h); a lazy one's come from the lazy-pages server.
 */
static int not_filled(struct restorer_args *a, struct rst_vma *v)
{
	return v->premap || lazy_vma(a, v);
}

/* Point the cursor at pagemap entry @i, checking that one mapping holds it. */
static long cursor_enter(struct fill *f, unsigned int i)
{
	struct rst_pagemap *pm = (void *)f->a->pagemap;

	f->pm = i;
	if (i == f->a->nr_pagemap)
		return 0;
	f->addr = pm[i].vaddr;
	f->vma = find_vma(f->a, f->addr);
	if (!f->vma || pm[i].vaddr + pm[i].nr_pages * PAGE > f->vma->end)
		return fill_fail(f, "pages outside any mapping", f->addr, -22);
	return 0;
}

/* The next piece to fill: 1, or 0 when every piece is taken, or -1. */
static int next_piece(struct fill *f, struct piece *p)
{
	struct rst_pagemap *pm = (void *)f->a->pagemap;
	struct rst_vma *v;
	unsigned long end;
	int ret = 1;

	lock(&f->lock);
	while (f->pm < f->a->nr_pagemap) {
		end = pm[f->pm].vaddr + pm[f->pm].nr_pages * PAGE;
		if (not_filled(f->a, f->vma)) {
			f->off += end - f->addr;
			f->addr = end;
		}
		if (f->addr != end)
			break;
		if (cursor_enter(f, f->pm + 1)) {
			ret = -1;
			goto out;
		}
	}
	if (f->pm == f->a->nr_pagemap || __atomic_load_n(&f->failed, __ATOMIC_ACQUIRE)) {
		ret = 0;
		goto out;
	}
	v = f->vma;
	end = pm[f->pm].vaddr + pm[f->pm].nr_pages * PAGE;
	p->dst = f->addr;
	p->off = f->off;
	if (moves_pages(v) && whole_pmd(v, f->addr, end)) {
		p->kind = PIECE_HUGE;
		p->len = PMD_SIZE_;
	} else {
		p->kind = moves_pages(v) ? PIECE_COPY : PIECE_IN_PLACE;
		p->len = small_len(f->a, v, f->addr, end);
	}
	f->addr += p->len;
	f->off += p->len;
out:
	unlock(&f->lock);
	return ret;
}

/* @len bytes at @off of the pages file into @buf. */
static long read_at(struct fill *f, unsigned long off, unsigned long buf, unsigned long len,
		    unsigned long dst)
{
	unsigned long done = 0, t0 = ts_ns();
	long n;

	while (done < len) {
		n = sys_pread(f->a->pages_fd, buf + done, len - done, off + done);
		if (n == -EINTR_)
			continue;
		if (n <= 0)
			/* 0: the image ended early, EIO */
			return fill_fail(f, "reading pages for", dst, n ? n : -5);
		done += n;
	}
	stat_add(&f->a->fill.read_ns, ts_ns() - t0);
	return 0;
}

/* Copy @len bytes from @src to @dst of our own memory, in the kernel. */
static long write_self(struct fill *f, unsigned long dst, unsigned long src, unsigned long len)
{
	struct {
		unsigned long base, len;
	} local, remote;
	long n;

	while (len) {
		local.base = src;
		remote.base = dst;
		local.len = remote.len = len;
		n = sys6(__NR_process_vm_writev, f->pid, &local, 1, &remote, 1, 0);
		if (n == -EINTR_)
			continue;
		if (n <= 0)
			return n ? n : -14; /* EFAULT */
		dst += n;
		src += n;
		len -= n;
	}
	return 0;
}

static long copy_in(struct worker *w, const struct piece *p)
{
	struct fill *f = w->f;
	struct uffdio_copy c;
	unsigned long done = 0, t0;
	long ret;

	if (read_at(f, p->off, w->staging, p->len, p->dst))
		return -1;
	t0 = ts_ns();
	while (done < p->len) {
		c.dst = p->dst + done;
		c.src = w->staging + done;
		c.len = p->len - done;
		/* Nobody waits on these pages: no wake-up to make. */
		c.mode = UFFDIO_COPY_MODE_DONTWAKE;
		c.copy = 0;
		ret = sys_ioctl(f->uffd, UFFDIO_COPY, &c);
		if (c.copy > 0)
			done += c.copy;
		if (ret == -EAGAIN_ && c.copy > 0)
			continue;
		if (ret)
			return fill_fail(f, "UFFDIO_COPY", p->dst + done, ret);
	}
	stat_add(&f->a->fill.place_ns, ts_ns() - t0);
	stat_add(&f->a->fill.pages_copied, p->len / PAGE);
	stat_add(&f->a->stats.pages_moved, p->len / PAGE);
	return 0;
}

/*
 * @len bytes of the image at @off into @dst through the staging area,
 * copied by the kernel; read() straight into @dst without process_vm_writev.
 */
static long land(struct worker *w, unsigned long off, unsigned long dst, unsigned long len)
{
	struct fill *f = w->f;
	unsigned long done, n, t0;
	long ret;

	if (__atomic_load_n(&f->no_pvw, __ATOMIC_RELAXED))
		return read_at(f, off, dst, len, dst);
	for (done = 0; done < len; done += n) {
		n = len - done < f->a->staging_size ? len - done : f->a->staging_size;
		if (read_at(f, off + done, w->staging, n, dst + done))
			return -1;
		t0 = ts_ns();
		ret = write_self(f, dst + done, w->staging, n);
		if (ret == -ENOSYS_) {
			__atomic_store_n(&f->no_pvw, 1, __ATOMIC_RELAXED);
			return read_at(f, off + done, dst + done, len - done, dst + done);
		}
		if (ret)
			return fill_fail(f, "writing pages to", dst + done, ret);
		stat_add(&f->a->fill.place_ns, ts_ns() - t0);
	}
	return 0;
}

/*
 * The huge-page staging area: one PMD, 2 MiB-aligned and MADV_HUGEPAGE, so
 * that writing into it faults in a transparent huge page. Made on first use.
 */
static long thp_staging(struct worker *w)
{
	long ret = sys_mmap(0, 2 * PMD_SIZE_, PROT_RW, MAP_PRIVATE_ | MAP_ANONYMOUS_, -1, 0);

	if (is_err(ret))
		return fill_fail(w->f, "mmap THP staging", 0, ret);
	w->thp_map = ret;
	w->thp = (ret + PMD_SIZE_ - 1) & ~(PMD_SIZE_ - 1);
	/* Without THP the area still works, with small pages. */
	sys_madvise(w->thp, PMD_SIZE_, MADV_HUGEPAGE);
	return 0;
}

/*
 * A whole PMD of a MADV_HUGEPAGE mapping: filled in the huge-page staging
 * area and moved in one piece. UFFDIO_MOVE moves an aligned PMD-mapped THP
 * as it is, so the mapping is huge at once, not when khugepaged gets to it.
 * Had the kernel no huge page to give, the move carries 512 small ones.
 */
static long huge_in(struct worker *w, const struct piece *p)
{
	struct fill *f = w->f;
	struct uffdio_move mv;
	unsigned long t0;
	long ret;

	if (!w->thp && thp_staging(w))
		return -1;
	if (land(w, p->off, w->thp, PMD_SIZE_))
		return -1;
	t0 = ts_ns();
	mv.dst = p->dst;
	mv.src = w->thp;
	mv.len = PMD_SIZE_;
	mv.mode = 0;
	mv.move = 0;
	ret = sys_ioctl(f->uffd, UFFDIO_MOVE, &mv);
	if (ret || mv.move != (long)PMD_SIZE_)
		return fill_fail(f, "UFFDIO_MOVE", p->dst + (mv.move > 0 ? mv.move : 0),
				 ret ? ret : -5);
	stat_add(&f->a->fill.place_ns, ts_ns() - t0);
	stat_add(&f->a->fill.pages_huge, PMD_SIZE_ / PAGE);
	stat_add(&f->a->stats.pages_moved, PMD_SIZE_ / PAGE);
	return 0;
}

static long fill_in_place(struct worker *w, const struct piece *p)
{
	if (land(w, p->off, p->dst, p->len))
		return -1;
	stat_add(&w->f->a->stats.pages_in_place, p->len / PAGE);
	return 0;
}

static long fill_piece(struct worker *w, const struct piece *p)
{
	switch (p->kind) {
	case PIECE_COPY:
		return copy_in(w, p);
	case PIECE_HUGE:
		return huge_in(w, p);
	default:
		return fill_in_place(w, p);
	}
}

/*
 * The staging area: 2 MiB-aligned and MADV_HUGEPAGE, so that it is made of
 * few huge pages, which cost less to reach the first time than small ones,
 * and populated before the first read.
 */
static long worker_init(struct worker *w)
{
	unsigned long len = w->f->a->staging_size;
	long ret = sys_mmap(0, len + PMD_SIZE_, PROT_RW, MAP_PRIVATE_ | MAP_ANONYMOUS_, -1, 0);

	if (is_err(ret))
		return fill_fail(w->f, "mmap staging", 0, ret);
	w->staging = (ret + PMD_SIZE_ - 1) & ~(PMD_SIZE_ - 1);
	if (w->staging != (unsigned long)ret)
		sys_munmap(ret, w->staging - ret);
	sys_munmap(w->staging + len, ret + PMD_SIZE_ - (w->staging + len));
	sys_madvise(w->staging, len, MADV_HUGEPAGE);
	/* Older kernels have no MADV_POPULATE_WRITE: the first reads fault it in. */
	sys_madvise(w->staging, len, MADV_POPULATE_WRITE);
	return 0;
}

static void worker_fini(struct worker *w)
{
	if (w->staging)
		sys_munmap(w->staging, w->f->a->staging_size);
	if (w->thp_map)
		sys_munmap(w->thp_map, 2 * PMD_SIZE_);
}

static long worker_run(struct worker *w)
{
	struct piece p = { 0 };
	int n;

	if (worker_init(w))
		return -1;
	while ((n = next_piece(w->f, &p)) > 0)
		if (fill_piece(w, &p))
			return -1;
	return n;
}

void fill_helper_main(void *arg)
{
	struct worker *w = arg;

	w->ret = worker_run(w);
	worker_fini(w);
}

/* How many helpers the pages to fill are worth, out of those snap made room for. */
static unsigned int helpers_wanted(struct restorer_args *a)
{
	struct rst_pagemap *pm = (void *)a->pagemap;
	unsigned long bytes = 0;
	unsigned int i, n;

	for (i = 0; i < a->nr_pagemap; i++) {
		struct rst_vma *v = find_vma(a, pm[i].vaddr);

		/* A lazy restore's 12 pages of its own got a helper before. */
		if (v && not_filled(a, v))
			continue;
		bytes += pm[i].nr_pages * PAGE;
	}
	n = bytes / HELPER_MIN_BYTES;
	return n < a->nr_fill_helpers ? n : a->nr_fill_helpers;
}

/* Start helper @w with tid @tid; 0 if it runs. A tid taken meanwhile just means one less. */
static long helper_start(struct worker *w, int tid)
{
	struct clone_args ca = { 0 };
	unsigned long top;
	long ret;

	ret = sys_mmap(0, HELPER_STACK, PROT_RW, MAP_PRIVATE_ | MAP_ANONYMOUS_, -1, 0);
	if (is_err(ret))
		return -1;
	w->stack = ret;
	top = w->stack + HELPER_STACK - 16;
	*(unsigned long *)top = (unsigned long)w;
	ca.flags = HELPER_FLAGS;
	ca.parent_tid = (unsigned long)&w->tid;
	ca.child_tid = (unsigned long)&w->tid;
	ca.stack = w->stack;
	ca.stack_size = top - w->stack;
	ca.set_tid = (unsigned long)&tid;
	ca.set_tid_size = 1;
	ret = fill_clone(&ca, sizeof(ca));
	if (ret != tid) {
		sys_munmap(w->stack, HELPER_STACK);
		w->stack = 0;
		return -1;
	}
	return 0;
}

/* The kernel clears w->tid and wakes us once the helper is gone. */
static void helper_join(struct worker *w)
{
	int tid;

	while ((tid = __atomic_load_n(&w->tid, __ATOMIC_ACQUIRE)))
		sys_futex(&w->tid, FUTEX_WAIT, tid);
	sys_munmap(w->stack, HELPER_STACK);
}

static long register_anon(struct fill *f, unsigned char *has_pages)
{
	struct rst_vma *vmas = (void *)f->a->vmas;
	struct uffdio_register reg;
	unsigned int i;
	long ret;

	for (i = 0; i < f->a->nr_vmas; i++) {
		if (!moves_pages(&vmas[i]) || !has_pages[i] || vmas[i].premap ||
		    lazy_vma(f->a, &vmas[i]))
			continue;
		reg.range.start = vmas[i].start;
		reg.range.len = vmas[i].end - vmas[i].start;
		reg.mode = UFFDIO_REGISTER_MODE_MISSING;
		ret = sys_ioctl(f->uffd, UFFDIO_REGISTER, &reg);
		if (ret)
			return fail(f->a, "UFFDIO_REGISTER", vmas[i].start, ret), -1;
	}
	return 0;
}

static long fill_setup(struct fill *f, unsigned char *has_pages)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_MOVE };
	long ret;

	f->pid = sys_getpid();
	f->uffd = sys_userfaultfd(O_CLOEXEC_ | O_NONBLOCK_);
	if (is_err(f->uffd))
		return fail(f->a, "userfaultfd", 0, f->uffd), -1;
	ret = sys_ioctl(f->uffd, UFFDIO_API, &api);
	if (ret)
		return fail(f->a, "UFFDIO_API", 0, ret), -1;
	if (register_anon(f, has_pages))
		return -1;
	return f->a->nr_pagemap ? cursor_enter(f, 0) : 0;
}

long fill_pages(struct restorer_args *a, unsigned char *has_pages)
{
	struct fill f = { .a = a };
	struct worker w[1 + RST_MAX_FILL_HELPERS] = { { .f = &f } };
	unsigned long t0 = ts_ns(), all = ~0UL, old;
	unsigned int i, n = 1, nr_helpers = helpers_wanted(a);
	long ret;

	if (fill_setup(&f, has_pages))
		return -1;
	/* Helpers start with every signal blocked: none is theirs to take. */
	if (nr_helpers)
		sys_rt_sigprocmask(0 /* SIG_BLOCK */, &all, &old, 8);
	for (i = 0; i < nr_helpers; i++) {
		w[n].f = &f;
		if (!helper_start(&w[n], a->fill_tids[i]))
			n++;
	}
	if (nr_helpers)
		sys_rt_sigprocmask(2 /* SIG_SETMASK */, &old, 0, 8);
	a->fill.workers = n;
	a->fill.setup_ns = ts_ns() - t0;

	ret = worker_run(&w[0]);
	for (i = 1; i < n; i++) {
		helper_join(&w[i]);
		if (w[i].ret < 0)
			ret = -1;
	}
	worker_fini(&w[0]);
	/* Closing the uffd unregisters every range. */
	sys_close(f.uffd);
	a->stats.mem_ns = ts_ns() - t0;
	return ret < 0 ? -1 : 0;
}
