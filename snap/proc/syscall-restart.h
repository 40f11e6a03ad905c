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
#include <sys/user.h>

#define K_ERESTARTSYS 512
#define K_ERESTARTNOINTR 513
#define K_ERESTARTNOHAND 514

static inline bool regs_in_restart(const struct user_regs_struct *r)
{
	long ax = r->rax;

	return (long)r->orig_rax >= 0 &&
	       (ax == -K_ERESTARTSYS || ax == -K_ERESTARTNOINTR || ax == -K_ERESTARTNOHAND);
}

#endif
