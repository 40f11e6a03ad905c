// SPDX-License-Identifier: GPL-2.0
/*
 * The restorer: runs inside the process being restored, from a bootstrap
 * area snap placed where neither the old (snap's) nor the final layout has
 * anything. In order:
 *   1. unmap everything but the bootstrap area, the vDSO/vvar block and
 *      the areas premapped before the fork (snap/mem/cow.h);
 *   2. move the vDSO/vvar block to its dumped address;
 *   3. create every dumped mapping; a premapped one is moved into place
 *      with mremap(), its pages (shared with the parent's or the
 *      children's) in it already; a packet socket's ring is mapped last
 *      and turned into place (map_ring());
 *   4. fill them (restorer-fill.c): pages are read into a staging area
 *      and copied into place by the kernel (UFFDIO_COPY for private
 *      anonymous memory, whole PMDs of MADV_HUGEPAGE mappings moved in as
 *      huge pages), by helper threads too in a big address space;
 *   5. set final protections, then the mapping attributes (madvise()
 *      flags, guard regions, mlock), mm fields, limits, mlockall(MCL_FUTURE)
 *      and KSM merge-any, signals, itimers, POSIX timers (restorer-proc.c);
 *   6. create the other threads (restorer-threads.c), each setting its own
 *      state and creds, and set the leader's; once they are all set up,
 *      seccomp filters (for every thread), the leader's creds, prctl()
 *      settings (restorer-proc.c);
 *   7. once every thread is ready, tell snap, wait for "go", enter seccomp
 *      strict mode if dumped so, and rt_sigreturn into the dumped registers
 *      (entry.S); every thread does the same. snap then unmaps the
 *      bootstrap area.
 * Nothing here may use libc. On error the reason goes into args->err and
 * the process exits; snap reports it.
 */
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/capability.h>

#include "kcompat.h"
#include "lazy-vma.h"
#include "pie-lib.h"
#include "pie-syscall.h"
#include "protocol.h"
#include "restorer.h"
#include "restorer-proc.h"

#define PAGE 4096UL
#define TASK_SIZE_MAX 0x7ffffffff000UL
#define MAP_FIXED_ 0x10
#define MREMAP_MAYMOVE_ 1
#define MREMAP_FIXED_ 2
#define PROT_RW (PROT_READ | PROT_WRITE)
#define SHM_RDONLY_ 010000
#define SHM_EXEC_ 0100000

static char *put_str(char *p, char *end, const char *s)
{
	while (*s && p < end)
		*p++ = *s++;
	return p;
}

static char *put_hex(char *p, char *end, unsigned long v)
{
	char tmp[16];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	p = put_str(p, end, "0x");
	while (n && p < end)
		*p++ = tmp[--n];
	return p;
}

unsigned long fail(struct restorer_args *a, const char *what, unsigned long addr, long err)
{
	char *p = a->err, *end = a->err + RST_ERR_LEN - 1;

	p = put_str(p, end, what);
	p = put_str(p, end, " at ");
	p = put_hex(p, end, addr);
	p = put_str(p, end, ": errno ");
	p = put_hex(p, end, -err);
	*p = '\0';
	a->failed = 1;
	return 0;
}

int is_err(long ret)
{
	return ret < 0 && ret > -4096;
}

/*
 * Unmap [0, TASK_SIZE) except the sorted, disjoint @keep ranges and the
 * premapped areas (sorted too, apart from those).
 */
static long unmap_all_but(struct restorer_args *a, struct rst_range *keep, unsigned int n)
{
	struct rst_range *pre = (void *)a->premaps;
	unsigned long from = 0;
	unsigned int i = 0, j = 0;
	long ret;

	for (;;) {
		struct rst_range *next = 0;
		unsigned long to;

		if (i < n && (j == a->nr_premaps || keep[i].start < pre[j].start))
			next = &keep[i++];
		else if (j < a->nr_premaps)
			next = &pre[j++];
		to = next ? next->start : TASK_SIZE_MAX;
		if (to > from) {
			ret = sys_munmap(from, to - from);
			if (ret)
				return ret;
		}
		if (!next)
			return 0;
		from = next->end;
	}
}

static void sort_ranges(struct rst_range *r, int n)
{
	int i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && r[j].start < r[j - 1].start; j--) {
			struct rst_range t = r[j];

			r[j] = r[j - 1];
			r[j - 1] = t;
		}
}

/*
 * Move our vDSO/vvar block where the dumped one was. Through a parking
 * spot at the end of the bootstrap area, so that no move lands on a piece
 * of the block that has not moved yet.
 */
static long move_specials(struct restorer_args *a, unsigned long park)
{
	unsigned long base = a->cur_special[0].start;
	unsigned int i;
	long ret;

	for (i = 0; i < a->nr_cur_special; i++) {
		struct rst_range *c = &a->cur_special[i];

		ret = sys_mremap(c->start, c->end - c->start, c->end - c->start,
				 MREMAP_MAYMOVE_ | MREMAP_FIXED_, park + (c->start - base));
		if (is_err(ret))
			return fail(a, "parking the vDSO", c->start, ret), -1;
	}
	for (i = 0; i < a->nr_cur_special; i++) {
		struct rst_range *c = &a->cur_special[i], *d = &a->dst_special[i];

		ret = sys_mremap(park + (c->start - base), c->end - c->start, c->end - c->start,
				 MREMAP_MAYMOVE_ | MREMAP_FIXED_, d->start);
		if (is_err(ret))
			return fail(a, "moving the vDSO", d->start, ret), -1;
	}
	return 0;
}

static int vma_has_pages(struct restorer_args *a, struct rst_vma *v)
{
	struct rst_pagemap *pm = (void *)a->pagemap;
	unsigned int i;

	for (i = 0; i < a->nr_pagemap; i++)
		if (pm[i].vaddr >= v->start && pm[i].vaddr < v->end)
			return 1;
	return 0;
}

/*
 * Anonymous mappings that receive pages are created read-write and without
 * exec: UFFDIO_MOVE wants source and destination with the same access
 * flags. Final protections come after the fill.
 */
static unsigned int fill_prot(struct rst_vma *v, int has_pages)
{
	if (!has_pages)
		return v->prot;
	if (v->kind == RST_VMA_ANON)
		return PROT_RW;
	return v->prot | PROT_RW;
}

/*
 * shmat, not mmap: the kernel counts attaches and shmdt() only knows its own
 * mappings. Attached read-only or read-write as it was (which decides
 * whether mprotect() may make it writable), then the dumped protection.
 */
static long attach_sysv(struct restorer_args *a, struct rst_vma *v)
{
	long ret;

	/* A later part of an attachment: its first part's shmat mapped it. */
	if (v->pgoff)
		goto prot;
	ret = sys_shmat(v->fd, v->start,
			(v->shm_rw || (v->prot & PROT_WRITE) ? 0 : SHM_RDONLY_) |
				(v->prot & PROT_EXEC ? SHM_EXEC_ : 0));
	if (ret != (long)v->start)
		return fail(a, "shmat", v->start, ret), -1;
	/* Its unmapped end goes again, before any later mapping comes there. */
	if (v->shm_run < v->shm_len) {
		ret = sys_munmap(v->start + v->shm_run, v->shm_len - v->shm_run);
		if (ret)
			return fail(a, "munmap of the unmapped end of a SysV segment", v->start,
				    ret),
			       -1;
	}
prot:
	ret = sys_mprotect(v->start, v->end - v->start, v->prot);
	if (ret)
		return fail(a, "mprotect", v->start, ret), -1;
	return 0;
}

/*
 * A premapped area, filled and shared with the parent or the children
 * before the fork, moves in whole: its pages stay shared. It was made
 * read-write, as a filled anonymous mapping is.
 */
static long move_premapped(struct restorer_args *a, struct rst_vma *v, unsigned char *has_pages)
{
	long ret = sys_mremap(v->premap, v->end - v->start, v->end - v->start,
			      MREMAP_MAYMOVE_ | MREMAP_FIXED_, v->start);

	if (ret != (long)v->start)
		return fail(a, "moving the premapped area to", v->start, ret), -1;
	*has_pages = 1;
	return 0;
}

static long create_vmas(struct restorer_args *a, unsigned char *has_pages)
{
	struct rst_vma *vmas = (void *)a->vmas;
	unsigned int i;
	long ret;

	for (i = 0; i < a->nr_vmas; i++) {
		struct rst_vma *v = &vmas[i];

		if (v->kind == RST_VMA_VDSO || v->kind == RST_VMA_VVAR)
			continue;
		if (v->premap) {
			if (move_premapped(a, v, &has_pages[i]))
				return -1;
			continue;
		}
		if (v->kind == RST_VMA_SYSV) {
			if (attach_sysv(a, v))
				return -1;
			continue;
		}
		/* Held for map_rings(), which needs the rest in place. */
		if (v->kind == RST_VMA_PACKET_RING) {
			ret = sys_mmap(v->start, v->end - v->start, PROT_NONE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_, -1, 0);
			if (ret != (long)v->start)
				return fail(a, "mmap", v->start, ret), -1;
			continue;
		}
		has_pages[i] = vma_has_pages(a, v);
		ret = sys_mmap(v->start, v->end - v->start, fill_prot(v, has_pages[i]),
			       v->flags | MAP_FIXED_, v->kind == RST_VMA_ANON ? -1 : v->fd,
			       v->pgoff * PAGE);
		if (ret == -12 && (v->flags & MAP_HUGETLB))
			return fail(a, "no free huge pages (see /proc/sys/vm/nr_hugepages) to map",
				    v->start, ret),
			       -1;
		if (ret == -22 && (v->flags & MAP_TYPE) == MAP_DROPPABLE)
			return fail(a, "no MAP_DROPPABLE in this kernel (Linux 6.11+) to map",
				    v->start, ret),
			       -1;
		if (ret != (long)v->start)
			return fail(a, "mmap", v->start, ret), -1;
	}
	return 0;
}

/*
 * A packet socket's ring is mapped whole, at offset 0 (the kernel allows
 * no less), and its kernel's first block must come where the process
 * looks next (files/packet-ring.c): mapped anywhere free, then each piece
 * moved over the mapping's place held by create_vmas(), in at most two
 * moves where the turn wraps. What the process did not map goes after.
 */
static long map_ring(struct restorer_args *a, struct rst_vma *v)
{
	unsigned long at = v->start, off = (v->pgoff * PAGE + v->ring_size - v->ring_shift) %
					   v->ring_size;
	long tmp = sys_mmap(0, v->ring_size, v->prot, MAP_SHARED, v->fd, 0), ret;

	if (is_err(tmp))
		return fail(a, "mmap of a packet socket's ring for", v->start, tmp), -1;
	while (at < v->end) {
		unsigned long len = v->end - at;

		if (len > v->ring_size - off)
			len = v->ring_size - off;
		ret = sys_mremap(tmp + off, len, len, MREMAP_MAYMOVE_ | MREMAP_FIXED_, at);
		if (ret != (long)at)
			return fail(a, "moving a packet socket's ring to", at, ret), -1;
		at += len;
		off = 0;
	}
	sys_munmap(tmp, v->ring_size);
	return 0;
}

static long map_rings(struct restorer_args *a)
{
	struct rst_vma *vmas = (void *)a->vmas;

	for (unsigned int i = 0; i < a->nr_vmas; i++)
		if (vmas[i].kind == RST_VMA_PACKET_RING && map_ring(a, &vmas[i]))
			return -1;
	return 0;
}

static long final_prot(struct restorer_args *a, unsigned char *has_pages)
{
	struct rst_vma *vmas = (void *)a->vmas;
	unsigned int i;
	long ret;

	for (i = 0; i < a->nr_vmas; i++) {
		struct rst_vma *v = &vmas[i];

		if (v->kind == RST_VMA_VDSO || v->kind == RST_VMA_VVAR)
			continue;
		if (fill_prot(v, has_pages[i]) == v->prot)
			continue;
		ret = sys_mprotect(v->start, v->end - v->start, v->prot);
		if (ret)
			return fail(a, "mprotect", v->start, ret), -1;
	}
	return 0;
}

static int vma_is_special(const struct rst_vma *v)
{
	return v->kind == RST_VMA_VDSO || v->kind == RST_VMA_VVAR;
}

/* The dumped madvise() flags: DONTFORK, WIPEONFORK, DONTDUMP, [NO]HUGEPAGE, read-ahead. */
static long restore_madvise(struct restorer_args *a)
{
	struct rst_vma *vmas = (void *)a->vmas;
	unsigned int i, adv;
	long ret;

	for (i = 0; i < a->nr_vmas; i++) {
		struct rst_vma *v = &vmas[i];

		for (adv = 0; adv < 64 && !vma_is_special(v); adv++) {
			if (!(v->madv & (1ULL << adv)))
				continue;
			ret = sys_madvise(v->start, v->end - v->start, adv);
			if (ret)
				return fail(a, "madvise", v->start, ret), -1;
		}
	}
	return 0;
}

/* Installing a guard drops the page there: the image has none at guards. */
static long restore_guards(struct restorer_args *a)
{
	struct rst_range *g = (void *)a->guards;
	unsigned int i;
	long ret;

	for (i = 0; i < a->nr_guards; i++) {
		ret = sys_madvise(g[i].start, g[i].end - g[i].start, MADV_GUARD_INSTALL);
		if (ret)
			return fail(a, "MADV_GUARD_INSTALL", g[i].start, ret), -1;
	}
	return 0;
}

static int vma_has_guards(struct restorer_args *a, struct rst_vma *v)
{
	struct rst_range *g = (void *)a->guards;
	unsigned int i;

	for (i = 0; i < a->nr_guards; i++)
		if (g[i].start >= v->start && g[i].start < v->end)
			return 1;
	return 0;
}

/*
 * mlock() faults in every page of the mapping, mlock2(MLOCK_ONFAULT) only
 * locks those already there: as the dumped process had them.
 */
static long restore_mlock(struct restorer_args *a)
{
	struct rst_vma *vmas = (void *)a->vmas;
	unsigned int i;
	long ret;

	for (i = 0; i < a->nr_vmas; i++) {
		struct rst_vma *v = &vmas[i];

		if (v->lock == RST_VMA_UNLOCKED || vma_is_special(v))
			continue;
		ret = sys_mlock2(v->start, v->end - v->start,
				 v->lock == RST_VMA_LOCKED_ONFAULT ? MLOCK_ONFAULT : 0);
		/*
		 * A guard cannot be installed in a locked mapping, so the process
		 * had mlock()ed it after: the mapping was locked, but faulting in
		 * the guard pages failed with ENOMEM, as it does here.
		 */
		if (ret == -12 && v->lock == RST_VMA_LOCKED && vma_has_guards(a, v))
			continue;
		if (ret)
			return fail(a, "mlock", v->start, ret), -1;
	}
	return 0;
}

/*
 * Mapping attributes go on once the pages are in place: UFFDIO_MOVE needs
 * source and destination in the same mlock state, mlock() would fault in
 * the whole mapping, and a guard must not be where pages are read. mlock
 * comes last, after the guards and the final protections, so that it
 * populates the way the dumped process's mlock() did.
 */
static long restore_vma_attrs(struct restorer_args *a)
{
	return restore_madvise(a) || restore_guards(a) || restore_mlock(a) ? -1 : 0;
}

static long restore_signals(struct restorer_args *a)
{
	unsigned char *si = (void *)a->siginfo;
	struct k_sigaction ign = { .handler = 1 /* SIG_IGN */ };
	unsigned long all = ~0UL;
	unsigned int i;
	long ret;

	for (i = 1; i <= K_NSIG; i++) {
		if (i == 9 || i == 19)
			continue;
		/*
		 * Ignoring a signal drops it if pending: what came during the
		 * restore (a restored zombie child's SIGCHLD) is not the
		 * process's; what it had pending is queued below.
		 */
		sys_rt_sigaction(i, &ign, 0, 8);
		ret = sys_rt_sigaction(i, &a->sa[i - 1], 0, 8);
		if (ret)
			return fail(a, "rt_sigaction", i, ret), -1;
	}
	for (i = 0; i < 3; i++) {
		ret = sys_setitimer(i, &a->itimers[i], 0);
		if (ret)
			return fail(a, "setitimer", i, ret), -1;
	}
	/*
	 * Queue pending signals with everything blocked; rt_sigreturn sets the
	 * mask. Threads made from here on start with all blocked too; each
	 * queues its own signals (restore_thread).
	 */
	sys_rt_sigprocmask(0 /* SIG_BLOCK */, &all, 0, 8);
	if (restore_timers(a))
		return -1;
	for (i = 0; i < a->nr_shared_pending; i++) {
		unsigned char *info = si + i * 128;
		int sig = *(int *)info;

		if (timer_resends(a, info))
			continue;
		ret = sys_rt_sigqueueinfo(a->pid, sig, info);
		if (ret)
			return fail(a, "queueing pending signal", sig, ret), -1;
	}
	return 0;
}

long restore_creds(struct restorer_args *a, const struct rst_creds *c)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	unsigned int i;
	long ret;

	/* Keep permitted caps across the uid change; the final secbits come later. */
	sys_prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	for (i = 0; i <= c->last_cap; i++)
		if (!(c->cap_bnd & (1ULL << i)))
			sys_prctl(PR_CAPBSET_DROP, i, 0, 0, 0);
	ret = sys_setgroups(c->ngroups, c->groups);
	if (ret)
		return fail(a, "setgroups", c->ngroups, ret), -1;
	ret = sys_setresgid(c->gid, c->egid, c->sgid);
	if (ret)
		return fail(a, "setresgid", c->gid, ret), -1;
	sys_setfsgid(c->fsgid);
	ret = sys_setresuid(c->uid, c->euid, c->suid);
	if (ret)
		return fail(a, "setresuid", c->uid, ret), -1;
	sys_setfsuid(c->fsuid);

	/* Effective = everything still permitted, to be allowed to set securebits. */
	ret = sys_capget(&hdr, data);
	if (ret)
		return fail(a, "capget", 0, ret), -1;
	data[0].effective = data[0].permitted;
	data[1].effective = data[1].permitted;
	sys_capset(&hdr, data);
	ret = sys_prctl(PR_SET_SECUREBITS, c->secbits, 0, 0, 0);
	if (ret && c->secbits)
		return fail(a, "PR_SET_SECUREBITS", c->secbits, ret), -1;

	data[0].effective = c->cap_eff;
	data[1].effective = c->cap_eff >> 32;
	data[0].permitted = c->cap_prm;
	data[1].permitted = c->cap_prm >> 32;
	data[0].inheritable = c->cap_inh;
	data[1].inheritable = c->cap_inh >> 32;
	ret = sys_capset(&hdr, data);
	if (ret)
		return fail(a, "capset", c->cap_eff, ret), -1;
	for (i = 0; i <= c->last_cap; i++)
		if (c->cap_amb & (1ULL << i)) {
			ret = sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0);
			if (ret)
				return fail(a, "raising ambient cap", i, ret), -1;
		}
	return 0;
}

static long restore_misc(struct restorer_args *a)
{
	long ret;
	int i;

	ret = sys_prctl(PR_SET_MM, PR_SET_MM_MAP, &a->mm, sizeof(a->mm), 0);
	if (ret)
		return fail(a, "PR_SET_MM_MAP", a->mm.start_brk, ret), -1;
	for (i = 0; i < K_RLIM_NLIMITS; i++) {
		ret = sys_prlimit(0, i, &a->rlimits[i], 0);
		/* Without CAP_SYS_RESOURCE a raised hard limit stays as it is. */
		if (ret && ret != -1 /* EPERM */)
			return fail(a, "prlimit", i, ret), -1;
	}
	sys_umask(a->umask);
	/* Every mapping is made: from here on, only the process's own are locked or merged. */
	if (a->mlock_future) {
		ret = sys1(__NR_mlockall, a->mlock_future);
		if (ret)
			return fail(a, "mlockall", a->mlock_future, ret), -1;
	}
	if (a->ksm_merge_any) {
		ret = sys_prctl(67 /* PR_SET_MEMORY_MERGE */, 1, 0, 0, 0);
		if (ret)
			return fail(a, "PR_SET_MEMORY_MERGE", 1, ret), -1;
	}
	/* snap set SIGKILL-on-parent-death for the restore only. */
	sys_prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	return 0;
}

unsigned long blob_main(struct restorer_args *a)
{
	struct rst_thread *lead = (void *)a->threads;
	unsigned char has_pages[a->nr_vmas ? a->nr_vmas : 1];
	struct rst_range keep[RST_MAX_SPECIAL + 1];
	unsigned long park;
	unsigned int i, n = 0;
	long ret;

	keep[n].start = a->bootstrap_start;
	keep[n++].end = a->bootstrap_end;
	for (i = 0; i < a->nr_cur_special; i++)
		keep[n++] = a->cur_special[i];
	sort_ranges(keep, n);
	ret = unmap_all_but(a, keep, n);
	if (ret)
		return fail(a, "unmapping the old address space", 0, ret);

	if (a->nr_cur_special) {
		/* The parking spot: the last pages of the bootstrap area. */
		park = a->bootstrap_end - (a->cur_special[a->nr_cur_special - 1].end -
					   a->cur_special[0].start);
		if (move_specials(a, park))
			return 0;
	}
	memset(has_pages, 0, sizeof(has_pages));
	if (create_vmas(a, has_pages) || map_rings(a) || fill_pages(a, has_pages) || lazy_setup(a) ||
	    final_prot(a, has_pages) || restore_vma_attrs(a))
		return 0;
	/*
	 * Threads are made before the creds change: clone3 with set_tid needs
	 * privileges. Seccomp filters go on once the threads are set up and
	 * before the leader's creds (see restorer-proc.h).
	 */
	if (restore_misc(a) || restore_signals(a) || restore_threads_start(a) ||
	    restore_thread(a, lead) || restore_threads_wait(a) ||
	    restore_seccomp_filters(a, &a->seccomp) || restore_creds(a, &a->creds))
		return 0;
	/* A uid change, by any thread, clears it; put back what the process had. */
	sys_prctl(PR_SET_DUMPABLE, a->dumpable, 0, 0, 0);
	if (restore_prctl(a))
		return 0;
	/* Every snap fd but ready/go: pages, mapped files, exe, log. */
	if (!a->keep_service_fds)
		sys3(__NR_close_range, a->service_fd_base + 2, ~0U, 0);

	/*
	 * snap traces each thread from here to the end of its rt_sigreturn,
	 * the leader last, then unmaps us.
	 */
	if (sys_write(a->ready_fd, "R", 1) != 1)
		return fail(a, "signalling snap", 0, -5);
	if (restore_wait_go(a))
		return 0;
	sys_close(a->go_fd);
	sys_close(a->ready_fd);
	if (restore_seccomp_strict(a, &a->seccomp))
		return 0;
	return (unsigned long)&lead->frame.frame.uc;
}
