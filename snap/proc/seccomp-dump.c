// SPDX-License-Identifier: GPL-2.0
/*
 * seccomp, per thread: the mode from /proc/PID/status, the BPF filter chain
 * with PTRACE_SECCOMP_GET_FILTER (index 0 is the newest) and the flags each
 * was installed with from PTRACE_SECCOMP_GET_METADATA. The task must be
 * ptrace-stopped. The parasite's syscalls would be filtered too (a strict
 * mode task is killed by the first syscall snap injects), so every thread
 * gets PTRACE_O_SUSPEND_SECCOMP once stopped, which needs CAP_SYS_ADMIN:
 * without it, only a thread with seccomp state fails.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

#include "log.h"
#include "proc/proc.h"
#include "proc/seccomp.h"

#define MAX_FILTERS 512 /* the kernel's bound is 32768 instructions in all */

/*
 * Asked of every thread, with or without filters: one ptrace call where
 * root may (the kernel asks nothing of the tracee), instead of reading
 * /proc/TID/status, which is dear in a freeze, a thread at a time.
 */
int seccomp_suspend(pid_t tid, long opts)
{
	struct proc_status st;
	int err;

	if (!ptrace(PTRACE_SETOPTIONS, tid, NULL, opts | PTRACE_O_SUSPEND_SECCOMP))
		return 0;
	err = errno;
	if (parse_status(tid, &st))
		return -1;
	if (st.seccomp == SECCOMP_MODE_DISABLED)
		return 0;
	errno = err;
	if (errno == EPERM)
		pr_err("pid %d runs under seccomp: dumping it needs CAP_SYS_ADMIN "
		       "(PTRACE_O_SUSPEND_SECCOMP)",
		       tid);
	else
		pr_perror("pid %d: cannot suspend its seccomp filters", tid);
	return -1;
}

/* The instruction counts of the chain, newest first; the number of filters. */
static int filter_lens(pid_t tid, long *lens)
{
	int n;

	for (n = 0;; n++) {
		long len = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)(long)n, NULL);

		if (len < 0 && errno == ENOENT)
			return n;
		if (len < 0) {
			pr_perror("pid %d: cannot read seccomp filter %d", tid, n);
			return -1;
		}
		if (n == MAX_FILTERS) {
			pr_err("pid %d has more than %d seccomp filters", tid, MAX_FILTERS);
			return -1;
		}
		lens[n] = len;
	}
}

static int read_filter(pid_t tid, int idx, long len, uint8_t *insns, SeccompFilterEntry *e)
{
	struct __ptrace_seccomp_metadata md = {.filter_off = idx};

	if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)(long)idx, insns) != len) {
		pr_perror("pid %d: cannot read seccomp filter %d", tid, idx);
		return -1;
	}
	if (ptrace(PTRACE_SECCOMP_GET_METADATA, tid, (void *)sizeof(md), &md) < 0) {
		pr_perror("pid %d: cannot read the flags of seccomp filter %d", tid, idx);
		return -1;
	}
	seccomp_filter_entry__init(e);
	e->insns.data = insns;
	e->insns.len = len * sizeof(struct sock_filter);
	e->has_flags = md.flags != 0;
	e->flags = md.flags;
	return 0;
}

int seccomp_dump(struct seccomp_buf *b, pid_t tid, const struct proc_status *st,
		 ThreadCoreEntry *th)
{
	long lens[MAX_FILTERS], total = 0;
	uint8_t *p;
	int n, i;

	if (st->seccomp == SECCOMP_MODE_DISABLED)
		return 0;
	seccomp_entry__init(&b->seccomp);
	b->seccomp.mode = st->seccomp;
	th->seccomp = &b->seccomp;
	if (st->seccomp != SECCOMP_MODE_FILTER)
		return 0;

	n = filter_lens(tid, lens);
	if (n < 0)
		return -1;
	if ((unsigned int)n != st->seccomp_filters) {
		pr_err("pid %d: %d seccomp filters read, /proc says %u", tid, n,
		       st->seccomp_filters);
		return -1;
	}
	for (i = 0; i < n; i++)
		total += lens[i];
	b->filters = calloc(n, sizeof(*b->filters));
	b->filterp = calloc(n, sizeof(*b->filterp));
	b->insns = malloc(total * sizeof(struct sock_filter));
	if (!b->filters || !b->filterp || !b->insns)
		return -1;
	/* Oldest first: the order to install them in. */
	for (i = 0, p = b->insns; i < n; i++) {
		int idx = n - 1 - i;

		if (read_filter(tid, idx, lens[idx], p, &b->filters[i]))
			return -1;
		p += lens[idx] * sizeof(struct sock_filter);
		b->filterp[i] = &b->filters[i];
	}
	b->seccomp.filters = b->filterp;
	b->seccomp.n_filters = n;
	pr_debug("pid %d: %d seccomp filters, %ld instructions", tid, n, total);
	return 0;
}

void seccomp_buf_free(struct seccomp_buf *b)
{
	free(b->filters);
	free(b->filterp);
	free(b->insns);
}
