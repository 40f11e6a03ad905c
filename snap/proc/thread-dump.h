/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-thread state of a frozen process: what core-PID.img holds for each
 * thread. Read by ptrace from snap where the kernel lets us, and by syscalls
 * injected into the thread for the rest (altstack, clear_child_tid).
 */
#ifndef SNAP_THREAD_DUMP_H
#define SNAP_THREAD_DUMP_H

#include <sys/ptrace.h>
#include <sys/user.h>

#include "ctx.h"
#include "proc/proc.h"
#include "protocol.h"

struct thread_state {
	pid_t tid;
	struct user_regs_struct regs;	/* as stopped: a syscall's restart is not applied */
	uint8_t *xsave;			/* NT_X86_XSTATE */
	size_t xsave_len;
	uint64_t sigmask;
	struct k_stack altstack;
	struct __ptrace_rseq_configuration rseq;	/* rseq_abi_pointer 0: none */
	uint64_t robust_list;
	uint64_t robust_list_len;
	uint64_t clear_tid;
	char comm[16];
	struct proc_status status;	/* /proc/TID/status, read frozen: creds, seccomp */
	int detach_sig;			/* see ptrace_enter_syscall() */
};

/*
 * Frozen, before the parasite: allocate t->thr and read what snap can read
 * from outside (registers of all but the leader, rseq, robust list, comm).
 */
int thread_collect(struct dump_task *t, unsigned int xsave_size);
/*
 * With the parasite in the leader (t->ctl, after PARASITE_CMD_DUMP_MISC):
 * the leader's registers from infect, its altstack and clear_child_tid from
 * the parasite; the other threads' by injected syscalls.
 */
int thread_collect_infected(struct dump_task *t);
void thread_state_free(struct dump_task *t);

#endif
