// SPDX-License-Identifier: GPL-2.0
/*
 * Live snapshot: the stream gives way to the task (see live-internal.h).
 *
 * Streaming from a holder takes a CPU (reading the holder's memory,
 * writing the image), and where the task then waits for one, it runs
 * slower through the whole snapshot. So after each chunk the stream asks
 * how long the task's threads (those of the freeze) waited for a CPU
 * meanwhile (schedstat); past a fiftieth of the time the chunk took, it
 * sleeps as long as the chunk took. Not while what only the holder keeps
 * is past a quarter of the task's share of --cow-limit, nor any longer
 * once it passes it: then saving is what bounds the memory, not the
 * brake stopping the task.
 *
 * A 1 GiB redis under load on a 2-CPU machine (medians of 3), the sleep
 * looked at the share only before it: flat out, 11.2k commands/s, p50
 * 0.54 ms, p99 2.86 ms, done in 4.0 s; giving way past a fiftieth,
 * 15.5k/s, 0.26 ms, 1.68 ms, done in 7.3 s (past a tenth: 10.8k/s, 0.48
 * ms, 2.34 ms; during BGSAVE's 27 s: 16.6k/s, 0.26 ms, 0.87 ms). With the
 * slices, another day, against that build: p99 2.49 against 1.86 ms, but
 * --cow-limit kept under CPU contention (benchmarks.md).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "live/live-internal.h"
#include "log.h"

#define YIELD_MAX_THREADS 64	      /* threads watched, of the freeze's */
#define YIELD_WAIT_SHARE  50	      /* the task waited past 1/50 of the chunk's time */
#define YIELD_MAX_NS	  50000000ULL /* the longest sleep */
#define YIELD_SLICE_NS	  1000000ULL  /* how often a sleep looks at the holder's share */

void live_yield_open(struct live_dump *ld, const struct dump_task *t)
{
	size_t n = t->nr_threads < YIELD_MAX_THREADS ? t->nr_threads : YIELD_MAX_THREADS;

	ld->yield_fds = malloc(n * sizeof(*ld->yield_fds));
	if (!ld->yield_fds)
		return;
	for (size_t i = 0; i < n; i++) {
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", t->pid, t->threads[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			ld->yield_fds[ld->nr_yield_fds++] = fd;
	}
	if (!ld->nr_yield_fds)
		pr_debug("pid %d: no schedstat: the stream does not give way", t->pid);
}

/* The watched threads' time spent waiting for a CPU, in ns (schedstat's second field). */
static uint64_t task_wait_ns(const struct live_dump *ld)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < ld->nr_yield_fds; i++) {
		unsigned long long run, wait;
		char buf[96];
		ssize_t n = pread(ld->yield_fds[i], buf, sizeof(buf) - 1, 0);

		if (n <= 0)
			continue;
		buf[n] = 0;
		if (sscanf(buf, "%llu %llu", &run, &wait) == 2)
			sum += wait;
	}
	return sum;
}

static bool held_low(struct live_dump *ld)
{
	return live_held_low(ld, live_held_bound(ld, live_task_faults(ld)));
}

void live_yield(struct live_stats *st, struct live_dump *ld)
{
	uint64_t now, wait, dt;

	if (!ld->nr_yield_fds)
		return;
	now = now_ns();
	wait = task_wait_ns(ld);
	dt = now - ld->yield_last_ns;
	/* The task waited for a CPU meanwhile, and what the holder keeps alone leaves room. */
	if (ld->yield_last_ns && (wait - ld->yield_wait) * YIELD_WAIT_SHARE > dt) {
		uint64_t until = now + (dt < YIELD_MAX_NS ? dt : YIELD_MAX_NS), t;

		/*
		 * In slices, each after a look: once the task has written past
		 * the quarter, the stream saves again before the brake has to
		 * stop the task.
		 */
		for (t = now; t < until && held_low(ld); t = now_ns()) {
			uint64_t ns = until - t < YIELD_SLICE_NS ? until - t : YIELD_SLICE_NS;
			struct timespec ts = {0, (long)ns};

			nanosleep(&ts, NULL);
		}
		st->yield_ns += now_ns() - now;
		now = now_ns();
		wait = task_wait_ns(ld);
	}
	ld->yield_last_ns = now;
	ld->yield_wait = wait;
}

void live_yield_close(struct live_dump *ld)
{
	for (size_t i = 0; i < ld->nr_yield_fds; i++)
		close(ld->yield_fds[i]);
	free(ld->yield_fds);
	ld->yield_fds = NULL;
	ld->nr_yield_fds = 0;
}
