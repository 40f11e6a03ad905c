// SPDX-License-Identifier: GPL-2.0
/*
 * Live snapshot: the stream gives way to the task (see live-internal.h).
 *
 * Streaming from a holder takes a CPU (reading the holder's memory,
 * writing the image), and a task that waits for one runs slower through
 * the whole snapshot. So while what only the holder keeps is under a
 * quarter of the task's share of --cow-limit, the streaming thread runs
 * as SCHED_IDLE: the scheduler gives it a CPU no other thread wants, and
 * a thread of the task that wakes takes the CPU back at once. Past the
 * quarter it runs at its own policy again: then saving is what bounds the
 * memory, not the brake stopping the task.
 *
 * Before, the stream slept after a chunk whenever the task's threads had
 * waited for a CPU meanwhile (their schedstat), as long as the chunk had
 * taken. A 1 GiB redis under load on 2 CPUs, that build against this one
 * interleaved with BGSAVE, medians of 3: probe commands over 1 ms during
 * the snapshot 2569 against 795 (BGSAVE 4395), p99 2.55 against 1.96 ms,
 * done in 10.2 against 6.3 s (benchmarks.md). The sleep guessed when the
 * task wanted the CPU; the scheduler knows.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "live/live-internal.h"
#include "log.h"

void live_yield_open(struct live_dump *ld)
{
	/* The streaming threads inherit this thread's policy. */
	int policy = sched_getscheduler(0);

	ld->yield_policy = policy == SCHED_OTHER || policy == SCHED_BATCH ? policy : -1;
	ld->yield_idle = false;
}

/* This thread's time spent waiting for a CPU, in ns (schedstat's second field); 0 unknown. */
static uint64_t own_wait_ns(void)
{
	unsigned long long run, wait;
	char buf[96];
	int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return sscanf(buf, "%llu %llu", &run, &wait) == 2 ? wait : 0;
}

static void set_idle(struct live_stats *st, struct live_dump *ld, bool idle)
{
	struct sched_param sp = { 0 };
	uint64_t wait = own_wait_ns();

	if (sched_setscheduler(0, idle ? SCHED_IDLE : ld->yield_policy, &sp)) {
		/* The dump goes on: left idle, its memory is still bounded by the brake. */
		pr_warn("%s: the stream cannot %s: %s", ld->name,
			idle ? "give way to the task (SCHED_IDLE)" : "take its policy back",
			strerror(errno));
		ld->yield_policy = -1;
		return;
	}
	if (!idle && wait > ld->yield_wait)
		st->yield_ns += wait - ld->yield_wait;
	ld->yield_wait = wait;
	ld->yield_idle = idle;
}

void live_yield(struct live_stats *st, struct live_dump *ld, uint64_t bound)
{
	bool low = live_held_low(ld, bound);

	if (ld->yield_policy >= 0 && low != ld->yield_idle)
		set_idle(st, ld, low);
}

void live_yield_end(struct live_stats *st, struct live_dump *ld)
{
	if (ld->yield_idle)
		set_idle(st, ld, false);
}
