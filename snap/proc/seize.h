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
/*
 * Stop a running process's threads for a while (nothing it can see), and
 * let them go again, each back into the syscall it was in. Logged.
 */
struct dump_task *task_pause(pid_t pid);
void task_resume(struct dump_task *t);
/* Where in @t syscalls can be injected from (its mappings read). Logged. */
struct syscall_site;
int dump_syscall_site(const struct dump_task *t, struct syscall_site *site);
/*
 * Reap @child (its pid in @pid's namespace), a child of @pid that sends no
 * exit signal: wait4() run in @pid's leader, stopped for that one call
 * (injected at @site). Logged.
 */
int task_reap_child(pid_t pid, const struct syscall_site *site, pid_t child);
/* Seized by snap already: --freeze-cgroup does it while the cgroup is frozen (cgroup/). */
bool seized_by_us(pid_t tid);
/* Detach every thread, leaving it running; with @kill, SIGKILL it first. */
void unseize_task(struct dump_task *t, bool kill);

#endif
