// SPDX-License-Identifier: GPL-2.0
/*
 * Live snapshot, the fork hold (see live-internal.h). Frozen, the parasite
 * forks a holder: a process with a copy of the task's address space. The
 * kernel then keeps the pages as they were at the freeze, copying a page
 * only when the task writes it (as redis's BGSAVE child does), and an
 * munmap or MADV_DONTNEED by the task leaves the holder's copy alone. So
 * the frozen work is one fork - no page is spliced or write-protected - and
 * snap streams the pages from the holder after the thaw, telling it to drop
 * each range once saved, which ends the copying for those pages. What only
 * the holder keeps is the dump's extra memory: watched, and bounded by
 * --cow-limit (holder_watch()).
 *
 * The task is not told of the holder, and its waitpid() never sees it: it
 * is forked by a go-between that exits at once, so it is an orphan, and
 * whoever reaps orphans reaps it when it exits - at the end of the dump,
 * or when snap dies (its socket closes). A task that is its pid
 * namespace's init or a child subreaper would get it back as its child:
 * there the task forks it directly, with no exit signal, and snap reaps it
 * from within the task (task_reap_child(), one thread stopped for that one
 * wait4()); if snap dies first, it stays a zombie child of the task.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "cr/dump-steps.h"
#include "infect.h"
#include "kcompat.h"
#include "live/live-internal.h"
#include "log.h"
#include "proc/seize.h"

/* The pid of a pidfd, in snap's namespace. */
static pid_t pidfd_pid(int pidfd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	return file_field(path, "Pid");
}

void live_holder_died(const struct live_dump *ld)
{
	pr_err("%s: its holder, pid %d, died during the live dump", ld->name, ld->holder);
}

/*
 * The fork copies the page tables on the task's CPU, for most of the
 * freeze (39-100 ms of 46-110 for a 1 GiB redis under load); reading the
 * fds, and after the last task the namespaces and cgroups, needs only the
 * tree frozen (pidfd_getfd(), /proc, sock_diag, setns()), so it goes on
 * ours meanwhile: a TCP connection is ~0.15 ms of it.
 */
struct task_of {
	struct dump_ctx *ctx;
	struct dump_task *t;
};

static int read_meanwhile(void *arg)
{
	struct task_of *to = arg;

	return dump_meanwhile(to->ctx, to->t);
}

int live_hold_fork(struct dump_ctx *ctx, struct dump_task *t, struct live_dump *ld, bool direct)
{
	struct parasite_live *l = &t->ctl->args->live;
	struct task_of to = { ctx, t };
	char path[64];
	int back[2], ret;
	uint64_t t0;

	l->holder_pid = 0;
	l->holder_direct = direct;
	if (dump_syscall_site(t, &ld->holder_site))
		return -1;
	t0 = now_ns();
	ret = parasite_cmd_back(t->ctl, PARASITE_CMD_HOLD_FORK, back, 2, read_meanwhile, &to);
	ctx->st.hold_fork_ns += now_ns() - t0;
	/* The holder exits when its socket closes (live_free()), whatever failed. */
	ld->holder_sock = back[0];
	ld->holder_pidfd = back[1];
	ld->holder_vpid = back[0] >= 0 && l->holder_direct ? l->holder_pid : 0;
	if (ret)
		return -1;
	if (back[0] < 0) {
		/*
		 * A pids limit, or no memory to copy the page tables; or the
		 * task's seccomp filter would not let the holder run (EACCES).
		 */
		pr_info("pid %d: no holder (%s): its pages are held in pipes", t->pid,
			l->holder_pid == -EACCES ? "its seccomp filter stops it" :
						   strerror(-l->holder_pid));
		return 1;
	}
	/* fdinfo says -1 for a process that has exited. */
	ld->holder = pidfd_pid(ld->holder_pidfd);
	if (ld->holder < 0) {
		pr_err("pid %d: its holder died as it was forked", t->pid);
		return -1;
	}
	if (!ld->holder) {
		pr_err("pid %d: cannot tell the pid of its holder", t->pid);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", ld->holder);
	ld->holder_memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (ld->holder_memfd < 0 && (errno == ENOENT || errno == ESRCH)) {
		live_holder_died(ld);
		return -1;
	}
	if (ld->holder_memfd < 0) {
		pr_perror("pid %d: cannot open its holder's %s", t->pid, path);
		return -1;
	}
	pr_debug("pid %d: holder %d (%d in its namespace)", t->pid, ld->holder, ld->holder_vpid);
	ld->swapped = &t->swapped;
	/* What the task copies from here on shows in its faults: read by two threads. */
	snprintf(path, sizeof(path), "/proc/%d/stat", t->pid);
	ld->held_statfd = open(path, O_RDONLY | O_CLOEXEC);
	if (ld->held_statfd < 0) {
		pr_perror("pid %d: cannot open %s", t->pid, path);
		return -1;
	}
	ld->held_faults = live_task_faults(ld);
	ld->held_last_ns = now_ns();
	live_yield_open(ld);
	return 0;
}


static int flush_drop(struct live_dump *ld);

/*
 * Through /proc/PID/mem, which takes a reference on each page: the pinning
 * of process_vm_readv() would make the holder copy every page it shares
 * with the task before reading it (a pinned page must be exclusive).
 */
int live_holder_read(struct live_dump *ld, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(ld->holder_memfd, (char *)buf + done, len - done, addr + done);

		if (n > 0) {
			done += n;
			continue;
		}
		if (n == 0 || errno == ESRCH || errno == EIO)
			live_holder_died(ld);
		else
			pr_perror("%s: cannot read %lx from its holder %d", ld->name,
				  (unsigned long)(addr + done), ld->holder);
		return -1;
	}
	return 0;
}

/* Bytes of the holder's pages no one else maps: smaps_rollup's Private_*. */
static uint64_t held_alone(const struct live_dump *ld)
{
	char path[64], line[128];
	unsigned long long kb, sum = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", ld->holder);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Private_Dirty: %llu", &kb) == 1 ||
		    sscanf(line, "Private_Clean: %llu", &kb) == 1)
			sum += kb;
	fclose(f);
	return sum << 10;
}

/* Page @idx is not saved yet, and its pagemap entry @ent says only the holder maps it. */
static bool held_alone_unsaved(const struct live_dump *ld, uint64_t idx, uint64_t ent)
{
	return !test_saved(ld, idx) &&
	       (ent & (PME_PRESENT | PME_EXCLUSIVE)) == (PME_PRESENT | PME_EXCLUSIVE);
}

/* Measure what the holder keeps alone, the task's faults being @flt. */
static uint64_t measure_held(struct live_stats *st, struct live_dump *ld, uint64_t flt)
{
	uint64_t t0 = now_ns();

	live_brake_held(ld, held_alone(ld), flt);
	ld->held_last_ns = now_ns();
	ld->held_next_ns = ld->held_last_ns + 4 * (ld->held_last_ns - t0);
	if (!ld->held_measured || ld->held_bytes > st->cow_peak)
		st->cow_peak = ld->held_bytes;
	ld->held_measured = true;
	return ld->held_bytes;
}

/* A rescue under way (see rescue()). */
struct rescue {
	struct live_stats *st;
	struct live_dump *ld;
	int pm;			/* the holder's pagemap */
	bool stopped;		/* the task: by the brake, or exited */
	uint64_t saved;		/* pages saved since, each one kept alone then */
};

/*
 * The task waits from here on. One that exited left all its pages to the
 * holder: a child's are saved, the child being gone is no error; a root's
 * death fails the dump.
 */
static int rescue_stop(struct rescue *rs)
{
	int ret = live_brake_stop(rs->ld);

	rs->stopped = ret >= 0;
	if (ret <= 0 || rs->ld->may_exit)
		return ret < 0 ? -1 : 0;
	pr_err("pid %d exited during the live dump", rs->ld->pid);
	return -1;
}

/*
 * Save the pages of run @r that only the holder maps, not saved yet: they
 * are what holds memory. The brake may stop the task meanwhile.
 */
static int rescue_run(struct rescue *rs, size_t r)
{
	struct live_dump *ld = rs->ld;
	const struct page_run *run = &ld->pl.runs[r];
	uint64_t ent[CHUNK_PAGES];

	for (uint64_t done = 0; done < run->nr;) {
		uint64_t n = run->nr - done < CHUNK_PAGES ? run->nr - done : CHUNK_PAGES;
		uint64_t addr = run->vaddr + done * PAGE_SIZE, idx = ld->run_idx[r] + done;
		uint64_t i = 0, j;

		while (i < n && test_saved(ld, idx + i))
			i++;
		if (i == n) {
			done += n;
			continue;
		}
		if (!rs->stopped && live_brake_stopped(ld) && rescue_stop(rs))
			return -1;
		if (pread(rs->pm, ent, n * 8, addr / PAGE_SIZE * 8) != (ssize_t)(n * 8)) {
			pr_perror("%s: cannot read its holder's pagemap", ld->name);
			return -1;
		}
		for (; i < n; i = j) {
			bool take = held_alone_unsaved(ld, idx + i, ent[i]);

			for (j = i + 1; j < n && held_alone_unsaved(ld, idx + j, ent[j]) == take;
			     j++)
				;
			if (!take)
				continue;
			if (live_holder_read(ld, addr + i * PAGE_SIZE, ld->buf,
					     (j - i) * PAGE_SIZE) ||
			    live_write_pages(ld, ld->buf, j - i, idx + i))
				return -1;
			for (uint64_t k = i; k < j; k++)
				set_saved(ld, idx + k);
			rs->st->pages_written += j - i;
			rs->st->cow_faults += j - i;
			if (rs->stopped)
				rs->saved += j - i;
			ld->drop_start = addr + i * PAGE_SIZE;
			ld->drop_end = addr + j * PAGE_SIZE;
			if (flush_drop(ld))
				return -1;
		}
		done += n;
	}
	return 0;
}

/* Wait till the holder has read every drop sent: those pages are gone then. */
static void holder_sync(struct live_dump *ld)
{
	int left;

	/* At most a second: a holder that does not read is found dead soon enough. */
	for (int i = 0; i < 20000; i++) {
		if (ioctl(ld->holder_sock, SIOCOUTQ, &left) || !left)
			return;
		usleep(50);
	}
}

/*
 * The holder may keep much: those pages are saved first. With @stop (the
 * brake stopped the task) it waits meanwhile, the throttle; else it runs
 * on, unless the brake stops it.
 */
static int rescue(struct live_stats *st, struct live_dump *ld, bool stop)
{
	struct rescue rs = { .st = st, .ld = ld };
	char path[64];
	int ret = 0;

	if (flush_drop(ld) || (stop && rescue_stop(&rs)))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", ld->holder);
	rs.pm = open(path, O_RDONLY | O_CLOEXEC);
	if (rs.pm < 0) {
		pr_perror("%s: cannot open %s", ld->name, path);
		ret = -1;
	}
	for (size_t r = 0; !ret && r < ld->pl.nr; r++)
		ret = rescue_run(&rs, r);
	if (rs.pm >= 0)
		close(rs.pm);
	/*
	 * The task stopped, every page of the image only the holder kept is
	 * saved, and dropped once the holder has read the drops: the bound
	 * starts again from nothing, with no walk while the task waits. At
	 * the stop, the holder kept those pages.
	 */
	if (rs.stopped && !ret) {
		holder_sync(ld);
		live_brake_held(ld, 0, live_task_faults(ld));
		if (rs.saved * PAGE_SIZE > st->cow_peak)
			st->cow_peak = rs.saved * PAGE_SIZE;
	}
	if (rs.stopped)
		st->cow_wait_ns += live_brake_release(ld);
	return ret;
}

/* A measure at least this often: the figure --display-stats gives. */
#define HELD_MEASURE_NS (100 * 1000 * 1000ULL)
/*
 * The faults since the last measure bound what the holder keeps alone,
 * but a task's faults are not all copies (new pages count too, and a page
 * written again after the holder dropped it): measured, the bound starts
 * again from what it is. That walks the holder's page tables (5-10 ms for
 * 256 MiB here), the task running, so it comes every HELD_MEASURE_NS and
 * once the bound reaches a quarter of the task's share of --cow-limit, at
 * most a fifth of the time unless it reaches half. From a quarter on, the
 * pages only the holder keeps are saved first, the task running, and it is
 * measured again. Once the brake (live-brake.c) has stopped the task for
 * the bound, they are saved while it waits, the throttle. @st->cow_peak:
 * the largest measure, or what a stopped task had left to save, or while
 * there is neither, the largest bound.
 */
static int holder_watch(struct live_stats *st, struct live_dump *ld)
{
	uint64_t flt = live_task_faults(ld), cap = ld->cow_cap * PAGE_SIZE, now = now_ns(), bound;
	int ret = 0;
	bool due;

	bound = live_held_bound(ld, flt);
	if (!ld->held_measured && bound > st->cow_peak)
		st->cow_peak = bound;
	/* A measure is due (see above). */
	due = now < ld->held_next_ns ? bound >= cap / 2 :
	      !live_held_low(ld, bound) || now >= ld->held_last_ns + HELD_MEASURE_NS;
	if (live_brake_stopped(ld)) {
		ret = rescue(st, ld, true);
	} else if (due) {
		bound = measure_held(st, ld, flt);
		if (!live_held_low(ld, bound)) {
			if (rescue(st, ld, false))
				return -1;
			/* What it saved no longer counts: measured again, unless the brake came. */
			if (!live_brake_stopped(ld))
				bound = measure_held(st, ld, live_task_faults(ld));
		}
	}
	/* The freshest bound decides whether the stream gives way: no second read of the faults. */
	live_yield(st, ld, bound);
	return ret;
}

static int tell_holder(struct live_dump *ld, uint64_t addr, uint64_t len, int advice)
{
	struct holder_drop d = { addr, len, advice };

	if (send(ld->holder_sock, &d, sizeof(d), MSG_NOSIGNAL) == sizeof(d))
		return 0;
	if (errno == EPIPE || errno == ECONNRESET)
		live_holder_died(ld);
	else
		pr_perror("%s: cannot reach its holder %d", ld->name, ld->holder);
	return -1;
}

/* Have the holder drop the pending range. */
static int flush_drop(struct live_dump *ld)
{
	uint64_t start = ld->drop_start, end = ld->drop_end;

	ld->drop_start = ld->drop_end = 0;
	return end > start ? tell_holder(ld, start, end - start, MADV_DONTNEED) : 0;
}

/*
 * Reading a page the task had in swap swapped it in, into the holder alone:
 * it goes back to swap before it is dropped, as mem_pageout_swapped() does
 * for pages read from the task itself (the task's own entries still point
 * to swap).
 */
static int give_back_swapped(struct live_dump *ld, uint64_t addr, uint64_t len)
{
	const struct range_list *sw = ld->swapped;
	size_t lo = 0, hi = sw ? sw->nr : 0;

	/* The ranges are in address order: from the first that ends past @addr. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (sw->r[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; sw && i < sw->nr && sw->r[i].start < addr + len; i++) {
		uint64_t a = sw->r[i].start > addr ? sw->r[i].start : addr;
		uint64_t e = sw->r[i].end < addr + len ? sw->r[i].end : addr + len;

		if (a < e && tell_holder(ld, a, e - a, MADV_PAGEOUT))
			return -1;
	}
	return 0;
}

/*
 * Drops go in ranges of up to DROP_BYTES: fewer wakeups of the holder, and
 * its unmapping stays away from the page tables being read.
 */
#define DROP_BYTES (16ULL << 20)

int live_holder_flush(struct live_dump *ld)
{
	return flush_drop(ld);
}

int live_holder_drop(struct live_stats *st, struct live_dump *ld, uint64_t addr, uint64_t len)
{
	if (give_back_swapped(ld, addr, len) || (ld->drop_end != addr && flush_drop(ld)))
		return -1;
	if (!ld->drop_end)
		ld->drop_start = addr;
	ld->drop_end = addr + len;
	if (ld->drop_end - ld->drop_start >= DROP_BYTES && flush_drop(ld))
		return -1;
	return holder_watch(st, ld);
}
