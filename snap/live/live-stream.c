// SPDX-License-Identifier: GPL-2.0
/*
 * Live snapshot, the running half: stream the held pages to the image (see
 * live-internal.h).
 *
 * One thread per process does two jobs: between chunks of streaming it
 * serves pending write faults (its own, and those of the children it forked
 * meanwhile that share memory with it; live-fault.c). A fault waits at most
 * one chunk; when the copy buffer is full a slice of it is written out
 * before the fault is served: the throttle. Shared memory objects have one
 * streaming thread of their own, and no faults: those reach the processes.
 * Each thread counts in its own live_stats, summed once all are joined.
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kcompat.h"
#include "live/live-internal.h"
#include "log.h"

/*
 * Lift protection on [@addr, +@len) of another thread's process: an event
 * pending there is read by that process's own thread, so wait for it.
 */
static int lift_other(struct live_dump *obj, struct live_dump *ld, uint64_t addr, uint64_t len)
{
	struct uffdio_writeprotect wp = { .range = { addr, len }, .mode = 0 };

	while (ioctl(ld->uffd, UFFDIO_WRITEPROTECT, &wp)) {
		/* Unmapped, or the process is gone: nothing to lift. */
		if (errno == ENOENT || errno == EINVAL || errno == ESRCH)
			return 0;
		if (errno != EAGAIN && errno != EINTR) {
			pr_perror("%s: cannot lift write protection in pid %d at %lx", obj->name,
				  ld->pid, (unsigned long)addr);
			return -1;
		}
		if (tree_failed(obj))
			return -1;
		sched_yield();
	}
	return 0;
}

/* Lift protection on object pages [off, off+len) in every process mapping them. */
static int shm_unprotect(struct live_dump *obj, uint64_t off, uint64_t len)
{
	for (size_t m = 0; m < obj->nr_mappers; m++) {
		struct live_dump *ld = obj->mappers[m];

		/* Moved mappings are left to the fault path, as in stream_pipe(). */
		if (__atomic_load_n(&ld->nr_remaps, __ATOMIC_ACQUIRE))
			continue;
		for (size_t i = 0; i < ld->nr_windows; i++) {
			const struct shm_window *w = &ld->windows[i];
			uint64_t a = off > w->off ? off : w->off;
			uint64_t e = off + len < w->off + (w->end - w->start) ?
					     off + len :
					     w->off + (w->end - w->start);

			if (w->obj == obj && a < e &&
			    lift_other(obj, ld, w->start + (a - w->off), e - a))
				return -1;
		}
	}
	return 0;
}

static int read_pipe(int fd, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

/*
 * Write the unsaved pages of @n held pages starting at page index @idx. They
 * are marked saved first: a writer let go after that no longer reaches the
 * pages read from the pipe into ld->buf.
 */
static int write_held(struct live_stats *st, struct live_dump *ld, uint64_t idx, uint64_t n)
{
	bool todo[CHUNK_PAGES];
	uint64_t i = 0, j;

	obj_lock(ld);
	for (i = 0; i < n; i++) {
		todo[i] = !test_saved(ld, idx + i);
		set_saved(ld, idx + i);
	}
	obj_unlock(ld);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && todo[j] == todo[i]; j++)
			;
		if (!todo[i])
			continue;
		if (live_write_pages(ld, ld->buf + i * PAGE_SIZE, j - i, idx + i))
			return -1;
		if (!ld->obj)
			st->pages_written += j - i;
	}
	return 0;
}

static int stream_pipe(struct live_stats *st, struct live_dump *ld, struct held_pipe *hp)
{
	for (size_t s = hp->seg_first; s < hp->seg_end; s++) {
		const struct seg *sg = &ld->segs[s];
		uint64_t done, n;

		for (done = 0; done < sg->nr; done += n) {
			uint64_t addr = sg->vaddr + done * PAGE_SIZE;

			n = sg->nr - done < CHUNK_PAGES ? sg->nr - done : CHUNK_PAGES;
			if (live_serve_events(st, ld) || tree_failed(ld))
				return -1;
			if (ld->holder) {
				if (live_holder_read(ld, addr, ld->buf, n * PAGE_SIZE))
					return -1;
			} else if (read_pipe(hp->fd, ld->buf, n * PAGE_SIZE)) {
				pr_perror("%s: reading held pages", ld->name);
				return -1;
			}
			if (write_held(st, ld, sg->idx + done, n))
				return -1;
			if (ld->holder) {
				if (live_holder_drop(st, ld, addr, n * PAGE_SIZE))
					return -1;
				continue;
			}
			if (ld->obj) {
				if (shm_unprotect(ld, addr, n * PAGE_SIZE))
					return -1;
				continue;
			}
			/*
			 * After an mremap the old address may hold other pages now;
			 * leave those to the fault path, which knows where they came from.
			 */
			if (!ld->nr_remaps && live_unprotect(st, ld, addr, n * PAGE_SIZE))
				return -1;
		}
	}
	if (hp->fd >= 0)
		close(hp->fd);
	hp->fd = -1;
	return 0;
}

static int stream_held(struct live_stats *st, struct live_dump *ld)
{
	for (size_t i = 0; i < ld->nr_pipes; i++)
		if (stream_pipe(st, ld, &ld->pipes[i]))
			return -1;
	return 0;
}

static bool task_exited(const struct live_dump *ld)
{
	struct pollfd p = { .fd = ld->pidfd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/*
 * Its own pages written, a process may still be about to write shared pages
 * not saved yet: its faults are served until every object is streamed.
 */
static int serve_until_objects_done(struct live_stats *st, struct live_dump *ld)
{
	struct pollfd *p = NULL;
	int ret = 0;

	while (!ret && __atomic_load_n(&ld->tree->objs_left, __ATOMIC_ACQUIRE) > 0) {
		struct pollfd *np = realloc(p, (ld->nr_followers + 1) * sizeof(*p));

		if (!np) {
			pr_err("out of memory for the live dump of %s", ld->name);
			ret = -1;
			break;
		}
		p = np;
		p[0] = (struct pollfd){ .fd = ld->uffd, .events = POLLIN };
		for (size_t i = 0; i < ld->nr_followers; i++)
			p[i + 1] = (struct pollfd){ ld->followers[i]->uffd, POLLIN, 0 };
		if (tree_failed(ld))
			ret = -1;
		else if (ld->may_exit && task_exited(ld))
			break;
		else
			poll(p, ld->nr_followers + 1, 10);
		if (!ret)
			ret = live_serve_events(st, ld);
	}
	free(p);
	return ret ? -1 : live_serve_events(st, ld);
}

static int stream_task(struct live_stats *st, struct live_dump *ld)
{
	int ret;

	ld->cow = mmap(NULL, ld->cow_cap * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ld->cow == MAP_FAILED) {
		ld->cow = NULL;
		pr_perror("cannot allocate the copy buffer (--cow-limit)");
		return -1;
	}
	ret = stream_held(st, ld);
	live_yield_end(st, ld);
	if (ret || (ld->holder && live_holder_flush(ld)))
		return -1;
	/* Every page saved and let go, the holder keeps nothing of the task's alone. */
	live_brake_end(ld);
	if (serve_until_objects_done(st, ld) ||
	    live_flush_cow(st, ld, ld->cow_nr))
		return -1;
	for (size_t i = 0; i < ld->nr_followers; i++)
		if (live_flush_cow(st, ld->followers[i], ld->followers[i]->cow_nr))
			return -1;
	/*
	 * A root that died meanwhile has left nothing to resume: the dump
	 * promised a running process, so it fails.
	 */
	if (!ld->may_exit && task_exited(ld)) {
		pr_err("pid %d exited during the live dump", ld->pid);
		return -1;
	}
	return live_close_image(ld);
}

/* The shared memory objects, one after the other. */
static int stream_objects(struct live_stats *st, struct live_tree *tree)
{
	for (size_t i = 0; i < tree->nr_objs; i++) {
		struct live_dump *obj = tree->objs[i];

		if (stream_held(st, obj))
			return -1;
		/* No pipe holds them now: what the holding swapped in goes out again. */
		for (size_t r = 0; r < obj->pl.nr; r++) {
			uint64_t first = obj->pl.runs[r].vaddr / PAGE_SIZE;

			shmem_pageout(obj->name, obj->map, obj->resident, first,
				      first + obj->pl.runs[r].nr);
		}
		__atomic_sub_fetch(&tree->objs_left, 1, __ATOMIC_RELEASE);
	}
	return 0;
}

struct stream_job {
	struct live_stats st;		/* this thread's */
	struct live_dump *ld;		/* NULL: the shared memory objects */
	struct live_tree *tree;
	pthread_t thread;
	int ret;
};

static void *stream_thread(void *arg)
{
	struct stream_job *j = arg;

	if (j->ld)
		j->ret = stream_task(&j->st, j->ld);
	else
		j->ret = stream_objects(&j->st, j->tree);
	if (j->ret)
		__atomic_store_n(&j->tree->failed, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void add_stats(struct dump_stats *to, const struct live_stats *from)
{
	to->pages_written += from->pages_written;
	to->cow_faults += from->cow_faults;
	/* Peaks of separate buffers: their sum bounds what was held at once. */
	to->cow_peak += from->cow_peak;
	to->cow_wait_ns += from->cow_wait_ns;
	to->stream_yield_ns += from->yield_ns;
}

static int start_job(struct stream_job *j, struct live_tree *tree, struct live_dump *ld)
{
	j->ld = ld;
	j->tree = tree;
	errno = pthread_create(&j->thread, NULL, stream_thread, j);
	if (errno) {
		pr_perror("cannot start a thread to stream pages");
		return -1;
	}
	return 0;
}

/*
 * Every address space has its uffd and is streamed by a thread of its own,
 * so a writer in one process never waits for another's pages; one more
 * thread streams the shared memory objects. Children may exit meanwhile:
 * their pages are held in pipes, and the image is of the frozen instant.
 */
int live_stream_tree(struct dump_ctx *ctx)
{
	struct stream_job *jobs = calloc(ctx->nr_tasks + 1, sizeof(*jobs));
	struct live_tree tree = {
		.objs = ctx->live_objs,
		.nr_objs = ctx->nr_live_objs,
		.objs_left = ctx->nr_live_objs,
	};
	struct rlimit rl;
	size_t i, nr = 0;
	int ret = 0;

	if (!jobs) {
		pr_err("out of memory for the live dump");
		return -1;
	}
	/* Every fork a process sharing memory makes meanwhile brings a uffd: room for them. */
	if (tree.nr_objs && !getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (i = 0; i < tree.nr_objs; i++)
		tree.objs[i]->tree = &tree;
	for (i = 0; i < ctx->nr_tasks; i++) {
		struct dump_task *t = &ctx->tasks[i];

		if (t->zombie)
			continue;
		t->ld->may_exit = i > 0;
		t->ld->tree = &tree;
		if (start_job(&jobs[nr], &tree, t->ld)) {
			ret = -1;
			break;
		}
		nr++;
	}
	if (!ret && tree.nr_objs && !start_job(&jobs[nr], &tree, NULL))
		nr++;
	else if (!ret && tree.nr_objs)
		ret = -1;
	if (ret)
		__atomic_store_n(&tree.failed, 1, __ATOMIC_RELEASE);
	for (i = 0; i < nr; i++) {
		pthread_join(jobs[i].thread, NULL);
		add_stats(&ctx->st, &jobs[i].st);
		if (jobs[i].ret)
			ret = -1;
	}
	/* The processes' copies of shared pages are written too: the images are whole. */
	for (i = 0; i < tree.nr_objs; i++)
		if (live_close_image(tree.objs[i]))
			ret = -1;
	free(jobs);
	return ret;
}
