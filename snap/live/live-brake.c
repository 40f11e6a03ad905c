// SPDX-License-Identifier: GPL-2.0
/*
 * Live snapshot, the brake on a task with a holder (see live-holder.c).
 * The kernel copies a page each time the task writes one its holder still
 * shares, and nothing makes the task wait: only stopping it bounds what
 * the holder keeps alone. The stream thread cannot be the one to look: it
 * may wait milliseconds for a CPU, and a fast writer copies megabytes in
 * that time (a 256 MiB writer here went to 3x its --cow-limit share). So a
 * thread of its own looks, as often as the task's rate of faults needs,
 * at real-time priority where snap may have it, and stops the task once
 * its faults could take the holder past its share before the next look.
 * The task stays stopped until the stream thread has saved what only the
 * holder keeps and lets it go. ptrace has one tracer thread: every stop
 * and resume of the task is the brake's.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "live/live-internal.h"
#include "log.h"
#include "proc/seize.h"

/*
 * The brake itself may not run for a while: a VM's CPU may be taken by its
 * host (6 ms seen here), and the task write on. It keeps room for that long
 * at the task's rate, or for twice what its last stop took or its last look
 * came late, if more (a loaded machine: stopping a task whose threads wait
 * for a CPU takes longer); then looks again before the task could fill a
 * quarter of the rest at twice that rate, or half of it in a burst at this
 * many pages a microsecond (a copy-on-write fault takes longer here), and
 * at least every LOOK_MAX_NS.
 */
#define STALL_NS	   (10 * 1000 * 1000ULL)
/*
 * And it never lets the room left fall under this share of the cap: the
 * rate it knows is the last look's, and a burst right after a look went a
 * page past a 128-page cap with the rate's room alone.
 */
#define ROOM_FLOOR	   32
#define BURST_PAGES_PER_US 1
#define LOOK_MAX_NS	   (20 * 1000 * 1000ULL)

struct live_brake {
	struct live_dump *ld;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;	       /* any change below */
	bool want_stop, want_go, quit; /* the stream thread's asks */
	struct dump_task *paused;      /* the task, stopped */
	uint64_t stopped_ns;	       /* since when */
	uint64_t resumes;	       /* how many times it was let go */
	bool gone;		       /* it exited: nothing to stop */
	int err;		       /* a stop failed: its errno */
	uint64_t look_faults, look_ns; /* the last look's */
	uint64_t stall_ns;	       /* the room kept, in time at the task's rate */
};

/*
 * The room to keep grows to twice @late, a stop's or a look's delay, and
 * shrinks back by an eighth at each delay shorter than that. Locked.
 */
static void note_delay(struct live_brake *b, uint64_t late)
{
	uint64_t want = 2 * late, decayed = b->stall_ns - b->stall_ns / 8;

	if (want < decayed)
		want = decayed;
	b->stall_ns = want > STALL_NS ? want : STALL_NS;
}

uint64_t live_task_faults(struct live_dump *ld)
{
	char buf[512], *p;
	unsigned long long min = 0, maj = 0;
	ssize_t n = pread(ld->held_statfd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return ld->held_faults;
	buf[n] = 0;
	/* After "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt. */
	p = strrchr(buf, ')');
	if (p)
		sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %llu %*u %llu", &min, &maj);
	return min + maj;
}

uint64_t live_held_bound(const struct live_dump *ld, uint64_t faults)
{
	return ld->held_bytes + (faults - ld->held_faults) * PAGE_SIZE;
}

/* Whether the task must stop now; else in @gap, when to look again. Locked. */
static bool must_stop(struct live_brake *b, uint64_t *gap)
{
	struct live_dump *ld = b->ld;
	uint64_t faults = live_task_faults(ld), now = now_ns();
	uint64_t bound = live_held_bound(ld, faults), cap = ld->cow_cap * PAGE_SIZE;
	uint64_t since = faults - b->look_faults, dt = now - b->look_ns + 1, room;

	b->look_faults = faults;
	b->look_ns = now;
	if (bound >= cap)
		return true;
	room = (cap - bound) / PAGE_SIZE;
	if (since * b->stall_ns / dt >= room || room <= ld->cow_cap / ROOM_FLOOR)
		return true;
	*gap = room * 1000 / 2 / BURST_PAGES_PER_US;
	if (since && room * dt / (8 * since) < *gap)
		*gap = room * dt / (8 * since);
	if (*gap > LOOK_MAX_NS)
		*gap = LOOK_MAX_NS;
	return false;
}

/* Stop the task, the lock dropped meanwhile: a stop waits for every thread. Locked. */
static void stop_task(struct live_brake *b)
{
	struct dump_task *t;
	uint64_t t0 = now_ns();

	int err;

	pthread_mutex_unlock(&b->lock);
	t = task_pause(b->ld->pid);
	err = t ? 0 : errno ? errno : EIO;
	pthread_mutex_lock(&b->lock);
	note_delay(b, now_ns() - t0);
	b->paused = t;
	b->stopped_ns = t0;
	b->gone = err == ESRCH;
	if (err != ESRCH)
		b->err = err;
}

static void wait_ns(struct live_brake *b, uint64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns += ts.tv_nsec;
	ts.tv_sec += ns / 1000000000ULL;
	ts.tv_nsec = ns % 1000000000ULL;
	pthread_cond_timedwait(&b->cond, &b->lock, &ts);
}

static void *brake_thread(void *arg)
{
	struct live_brake *b = arg;
	uint64_t gap = 0;

	pthread_mutex_lock(&b->lock);
	while (!b->quit) {
		if (b->want_go && b->paused) {
			task_resume(b->paused);
			b->paused = NULL;
			b->resumes++;
			b->look_faults = live_task_faults(b->ld);
			b->look_ns = now_ns();
		}
		b->want_go = false;
		if (!b->paused && !b->gone && !b->err && (b->want_stop || must_stop(b, &gap)))
			stop_task(b);
		b->want_stop = false;
		pthread_cond_broadcast(&b->cond);
		if (!b->quit && !b->want_stop && !b->want_go) {
			uint64_t wait = b->paused || b->gone || b->err ? LOOK_MAX_NS : gap;
			uint64_t t0 = now_ns(), late;

			wait_ns(b, wait);
			/* Woken early for an ask, it is not late; after its wait, maybe. */
			late = now_ns() - t0;
			if (!b->paused && late > wait)
				note_delay(b, late - wait);
		}
	}
	if (b->paused)
		task_resume(b->paused);
	b->paused = NULL;
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

int live_brake_start(struct live_dump *ld)
{
	struct live_brake *b = calloc(1, sizeof(*b));
	struct sched_param sp = {.sched_priority = 1};
	pthread_condattr_t ca;
	pthread_attr_t attr;

	if (!b) {
		pr_err("%s: out of memory for its brake", ld->name);
		return -1;
	}
	b->ld = ld;
	b->stall_ns = STALL_NS;
	b->look_faults = live_task_faults(ld);
	b->look_ns = now_ns();
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&b->lock, NULL);
	/* Real-time where snap may: its looks must not wait for a CPU, the first one neither. */
	pthread_attr_init(&attr);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
	pthread_attr_setschedparam(&attr, &sp);
	errno = pthread_create(&b->thread, &attr, brake_thread, b);
	if (errno == EPERM)
		errno = pthread_create(&b->thread, NULL, brake_thread, b);
	pthread_attr_destroy(&attr);
	if (errno) {
		pr_perror("%s: cannot start its brake", ld->name);
		free(b);
		return -1;
	}
	ld->brake = b;
	return 0;
}

void live_brake_end(struct live_dump *ld)
{
	struct live_brake *b = ld->brake;

	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	b->quit = true;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->thread, NULL);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	free(b);
	ld->brake = NULL;
}

int live_brake_stop(struct live_dump *ld)
{
	struct live_brake *b = ld->brake;
	int ret;

	pthread_mutex_lock(&b->lock);
	if (!b->paused && !b->gone && !b->err) {
		b->want_stop = true;
		pthread_cond_broadcast(&b->cond);
	}
	while (!b->paused && !b->gone && !b->err)
		pthread_cond_wait(&b->cond, &b->lock);
	ret = b->paused ? 0 : b->gone ? 1 : -1;
	errno = b->err;
	pthread_mutex_unlock(&b->lock);
	if (ret < 0)
		pr_perror("%s: cannot stop it", ld->name);
	return ret;
}

bool live_brake_stopped(struct live_dump *ld)
{
	struct live_brake *b = ld->brake;
	bool ret;

	pthread_mutex_lock(&b->lock);
	ret = b->paused || b->err;
	pthread_mutex_unlock(&b->lock);
	return ret;
}

uint64_t live_brake_release(struct live_dump *ld)
{
	struct live_brake *b = ld->brake;
	uint64_t waited = 0;

	pthread_mutex_lock(&b->lock);
	if (b->paused) {
		uint64_t resumes = b->resumes;

		waited = now_ns() - b->stopped_ns;
		b->want_go = true;
		pthread_cond_broadcast(&b->cond);
		/* Not till it is stopped no more: the brake may stop it again at once. */
		while (b->resumes == resumes)
			pthread_cond_wait(&b->cond, &b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return waited;
}

void live_brake_held(struct live_dump *ld, uint64_t bytes, uint64_t faults)
{
	struct live_brake *b = ld->brake;

	if (b)
		pthread_mutex_lock(&b->lock);
	ld->held_bytes = bytes;
	ld->held_faults = faults;
	if (b)
		pthread_mutex_unlock(&b->lock);
}
