/* SPDX-License-Identifier: GPL-2.0 */
/* Freezing a task with ptrace and letting it go again. */
#ifndef SNAP_SEIZE_H
#define SNAP_SEIZE_H

#include "ctx.h"

/* Check the task can be dumped at all; fills ids. Logged. */
int seize_check(struct dump_task *t);
/* Refuse a task with threads (again once frozen: it may have made some). */
int seize_check_alone(const struct dump_task *t);
/*
 * PTRACE_SEIZE + PTRACE_INTERRUPT the task; on return it is stopped. A task
 * found exiting fails with errno ESRCH and nothing logged.
 */
int seize_task(struct dump_task *t);
/* Detach, leaving it running; with @kill, SIGKILL it first. */
void unseize_task(struct dump_task *t, bool kill);

#endif
