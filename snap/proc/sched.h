/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A thread's scheduling (sched.c): policy, RT priority, nice, the
 * reset-on-fork flag and CPU affinity, all per thread in the kernel. Read
 * and set from snap, with the thread stopped: none of it needs the thread's
 * own help.
 */
#ifndef SNAP_SCHED_H
#define SNAP_SCHED_H

#include "ctx.h"

#define SCHED_CPU_WORDS 128 /* 8192 CPUs, the kernel's largest NR_CPUS */

/* What a thread's SchedEntry points to. */
struct sched_buf {
	SchedEntry e;
	uint64_t affinity[SCHED_CPU_WORDS];
};

/* Thread @tid of @pid into @b and th->sched. SCHED_DEADLINE is refused. -1 logged. */
int sched_dump(struct sched_buf *b, pid_t pid, pid_t tid, ThreadCoreEntry *th);
/* Thread th->tid of @pid gets th->sched, if the image has it. -1 logged. */
int sched_restore(pid_t pid, pid_t host_tid, const ThreadCoreEntry *th);

#endif
