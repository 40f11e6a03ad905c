/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A thread stopped in the signal path of an interrupted syscall, as the
 * kernel leaves it: the syscall's number in orig_rax, an -ERESTART* code
 * (kernel-internal, hence defined here) in rax, rip after the instruction.
 * Continued from there, the kernel restarts the syscall, or returns EINTR
 * to a handler without SA_RESTART, itself.
 */
#ifndef SNAP_SYSCALL_RESTART_H
#define SNAP_SYSCALL_RESTART_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/user.h>

#include "infect.h"

static inline bool regs_in_restart(const struct user_regs_struct *r)
{
	long ax = r->rax;

	return (long)r->orig_rax >= 0 &&
	       (ax == -K_ERESTARTSYS || ax == -K_ERESTARTNOINTR || ax == -K_ERESTARTNOHAND);
}

/*
 * A thread the freeze interrupts in restart_syscall() (a poll() or sleep
 * interrupted once already: by a stop, a tracer, or the detach that let it
 * go after an earlier dump or pre-dump) shows nothing of what it restarts;
 * only before the stop does its wchan tell (poll's function, or a sleep's
 * bare syscall entry). restart_resumes() looks, before the interrupt: the
 * syscall, or 0. restart_name(), at the stop, gives such a thread that
 * syscall back in orig_rax (a sleep's, nanosleep() or clock_nanosleep(), by
 * its first argument), so that its restore runs it again from its
 * arguments, still in its registers, rather than returning EINTR
 * (parasite/host/sigframe.c).
 */
long restart_resumes(pid_t tid);
void restart_name(pid_t tid, long nr);

#endif
