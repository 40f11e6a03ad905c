/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host side of the parasite: running syscalls inside a stopped task
 * through ptrace, loading the parasite blob, talking to it, and curing the
 * task with rt_sigreturn. The restore side reuses the syscall injection and
 * the stop-at-rt_sigreturn to finish restored tasks.
 */
#ifndef SNAP_INFECT_H
#define SNAP_INFECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "protocol.h"

struct parasite_ctl {
	pid_t pid;
	struct user_regs_struct regs;	/* as the task was stopped */
	uint8_t *xsave;			/* NT_X86_XSTATE */
	size_t xsave_len;
	uint64_t sigmask;
	uint64_t syscall_ip;		/* where "syscall; int3" is poked */
	long orig_code;			/* the word it replaced */
	bool code_poked;
	void *local;			/* the blob area, our view */
	uint64_t remote;		/* the blob area, target's view */
	size_t len;
	int lsock, sock;
	bool running;			/* blob started: cure via rt_sigreturn */
	bool dead;			/* the task died; said once */
	struct parasite_args *args;	/* inside local */
};

/* Read the stopped task's registers, FPU state and mask into @ctl. */
int infect_save_state(struct parasite_ctl *ctl, pid_t pid);
/* Where a task's memory offers a place to run injected syscalls from. */
struct syscall_site {
	uint64_t vdso_start, vdso_end;	/* [vdso], or 0 */
	uint64_t exec_addr;		/* any executable address, the fallback */
};

/*
 * Pick the address injected syscalls run from: a "syscall" instruction of
 * the vDSO, so the task's code is never modified; without a vDSO, poke
 * "syscall; int3" at @site->exec_addr (undone by infect_unpoke).
 */
int infect_prepare_syscall(struct parasite_ctl *ctl, const struct syscall_site *site);
struct infect_call {
	long nr, a[6];
	long ret;	/* what it returned */
};
/*
 * Run @n syscalls in turn in the stopped thread ctl->pid, whose registers
 * and signal mask the caller read already: signals are blocked once for
 * them all, and the thread is left with @leave's registers and @mask.
 * Fewer ptrace calls than as many infect_syscall()s (11 against 21 for
 * two), which add up in a freeze, a thread at a time.
 */
int infect_syscalls(struct parasite_ctl *ctl, const struct user_regs_struct *leave, uint64_t mask,
		    struct infect_call *calls, size_t n);
/*
 * Run one syscall in the stopped task with every signal blocked (none can be
 * delivered, or lost, meanwhile); registers and mask are put back after.
 */
int infect_syscall(struct parasite_ctl *ctl, long *ret, long nr, long a1, long a2, long a3,
		   long a4, long a5, long a6);
/* Put back the poked code word. */
int infect_unpoke(struct parasite_ctl *ctl);

/* Load and start the parasite in a task stopped by seize. On failure the task is left as it was. */
struct parasite_ctl *parasite_infect(pid_t pid, const struct syscall_site *site,
				     unsigned int xsave_size);
int parasite_cmd(struct parasite_ctl *ctl, unsigned int cmd);
/* A command that sends @fds along and, with @fd_back, expects one fd back. */
int parasite_cmd_fds(struct parasite_ctl *ctl, unsigned int cmd, const int *fds, int nfds,
		     int *fd_back);
/* The same, running @meanwhile (its error fails the call) while the parasite works. */
int parasite_cmd_during(struct parasite_ctl *ctl, unsigned int cmd, const int *fds, int nfds,
			int *fd_back, int (*meanwhile)(void *), void *arg);
/*
 * A command that may send @nback fds back (all, or none: then -1s) in @back,
 * running @meanwhile, if any, as parasite_cmd_during() does. Whatever fails,
 * the fds that came are in @back, for the caller to close.
 */
int parasite_cmd_back(struct parasite_ctl *ctl, unsigned int cmd, int *back, int nback,
		      int (*meanwhile)(void *), void *arg);
/*
 * Stop the parasite, rt_sigreturn, unmap it: the task is stopped as before.
 * Saved registers and command results stay readable in @ctl until
 * parasite_free().
 */
int parasite_cure(struct parasite_ctl *ctl);
void parasite_free(struct parasite_ctl *ctl);

/*
 * Let a stopped task run until the exit of its next rt_sigreturn, tracing
 * syscalls. @kick, if set, is called once the task is set to trace syscalls
 * (it makes the task go on to rt_sigreturn). @at_entry, if set, is called
 * at the rt_sigreturn's entry stop (it may skip the call: orig_rax -1).
 */
int ptrace_run_to_sigreturn(pid_t pid, int (*kick)(void *), int (*at_entry)(void *),
			    void *arg);
/*
 * A stopped task about to (re)enter a syscall - one restarted by rewinding
 * its ip, say - is let into it, up to its syscall-entry stop: a signal that
 * comes once it is detached interrupts the syscall, as it would have, and is
 * not handled just before it (where a `while (!flag) pause();` would miss
 * it). Returns the signal to pass with PTRACE_DETACH (one that came first),
 * 0, or -1 with errno set, not logged.
 */
int ptrace_enter_syscall(pid_t pid);
/*
 * Wait for a ptrace stop of @pid: 0 with *status set, or -1 — with errno
 * ESRCH and nothing logged when the task died (the caller says what it was
 * doing), logged otherwise.
 */
int ptrace_wait(pid_t pid, int *status);

/*
 * What a syscall interrupted by a stop leaves in rax (kernel-internal codes):
 * the kernel restarts it, or returns EINTR to a handler without SA_RESTART;
 * with a restart block, resumes it through restart_syscall().
 */
#define K_ERESTARTSYS 512
#define K_ERESTARTNOINTR 513
#define K_ERESTARTNOHAND 514
#define K_ERESTART_RESTARTBLOCK 516

/* Rewrite @regs so a syscall interrupted by the freeze runs again. */
void regs_restart_syscall(struct user_regs_struct *regs, bool keep_restart_block);
/*
 * Fill a rt_sigframe that resumes @regs with @xsave, @sigmask and @altstack.
 * @frame_addr is where @area lives in the process that will sigreturn.
 */
int sigframe_build(struct sigframe_area *area, uint64_t frame_addr,
		   const struct user_regs_struct *regs, const uint8_t *xsave, size_t xsave_len,
		   uint64_t sigmask, const struct k_stack *altstack);

#endif
