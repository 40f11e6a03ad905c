/* SPDX-License-Identifier: GPL-2.0 */
/*
 * seccomp at dump (seccomp-dump.c): suspended while snap works in a task,
 * read per thread into a ThreadCoreEntry. It knows nothing of the rest of
 * core-PID.img: procstate-dump.c embeds its buffer and calls it, never the
 * other way round.
 */
#ifndef SNAP_SECCOMP_H
#define SNAP_SECCOMP_H

#include "ctx.h"

/* What a thread's SeccompEntry points to, freed by seccomp_buf_free(). */
struct seccomp_buf {
	SeccompEntry seccomp;
	SeccompFilterEntry *filters, **filterp;
	uint8_t *insns;
};

/*
 * Seized and stopped with ptrace options @opts: add
 * PTRACE_O_SUSPEND_SECCOMP, so that seccomp does not filter what snap and
 * the parasite do in thread @tid; an error only if it has seccomp state.
 */
int seccomp_suspend(pid_t tid, long opts);
/*
 * Frozen: the seccomp mode and filter chain of thread @tid, whose
 * /proc/TID/status was read frozen (@st), into @b and th->seccomp.
 */
struct proc_status;
int seccomp_dump(struct seccomp_buf *b, pid_t tid, const struct proc_status *st,
		 ThreadCoreEntry *th);
void seccomp_buf_free(struct seccomp_buf *b);

#endif
