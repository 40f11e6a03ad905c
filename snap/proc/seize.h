/* SPDX-License-Identifier: GPL-2.0 */
/* Freezing a task with ptrace and letting it go again. */
#ifndef SNAP_SEIZE_H
#define SNAP_SEIZE_H

#include "ctx.h"

/* Check the task can be dumped at all; fills ids. Logged. */
int seize_check(struct dump_task *t);
/*
 * The process is in namespaces restore can make it in: those of its tree's
 * @root (a pid), or for the root itself (@root 0) snap's own or kinds
 * ns/ns-kind.h has a module for. Logged.
 */
int seize_check_ns(pid_t pid, pid_t root);
/*
 * PTRACE_SEIZE + PTRACE_INTERRUPT every thread (t->threads); on return all
 * are stopped. A process found exiting fails with errno ESRCH, not logged.
 */
int seize_task(struct dump_task *t);
/* Seized by snap already: --freeze-cgroup does it while the cgroup is frozen (cgroup/). */
bool seized_by_us(pid_t tid);
/* Detach every thread, leaving it running; with @kill, SIGKILL it first. */
void unseize_task(struct dump_task *t, bool kill);

#endif
