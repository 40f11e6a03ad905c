/* SPDX-License-Identifier: GPL-2.0 */
/* A process dumped stopped, stopped again at restore (restore-stop.c). */
#ifndef SNAP_RESTORE_STOP_H
#define SNAP_RESTORE_STOP_H

#include "ctx.h"
#include "infect.h"

/*
 * @t (pstree state TASK_STOPPED), every thread traced and stopped after its
 * rt_sigreturn: into its group stop, with the dumped signal, each thread in
 * the syscall it was stopped in. Still traced; detached, it stays stopped.
 * -1 logged.
 */
int restore_stop_enter(const struct restore_task *t);
/*
 * Then in its parent @p, traced and stopped, through @ctl (prepared for
 * injected syscalls), @mem a page of scratch mapped at that address in both
 * snap and @p: the stop collected again if @p had collected it, the SIGCHLD
 * it sent taken if @p had none pending. -1 logged.
 */
int restore_stop_parent(const struct restore_task *t, const struct restore_task *p,
			struct parasite_ctl *ctl, uint64_t mem);

#endif
