/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The restorer's steps for prctl() settings, POSIX timers and seccomp
 * (parasite/pie/restorer-proc.c). Each returns 0, or -1 with args->err set.
 */
#ifndef SNAP_RESTORER_PROC_H
#define SNAP_RESTORER_PROC_H

#include "protocol.h"

/* Resolved inside the blob: PC-relative, no GOT. */
#pragma GCC visibility push(hidden)

/* restorer.c: "what at ADDR: errno N" into a->err; returns 0. */
unsigned long fail(struct restorer_args *a, const char *what, unsigned long addr, long err);

/* With every signal blocked, before the pending signals are queued. */
long restore_timers(struct restorer_args *a);
/* The queued siginfo @info is a timer's that restore_timers() makes the timer send again. */
int timer_resends(const struct restorer_args *a, const void *info);
/* After the creds: a uid change resets some of them. */
long restore_prctl(struct restorer_args *a);
/*
 * seccomp is per thread. The leader installs its chain once every other
 * thread is set up, the filters every thread has alike (rst_seccomp.nr_tsync
 * of them) synced to all (TSYNC), and before its own creds change, while
 * installing them is still allowed (it needs CAP_SYS_ADMIN or
 * no_new_privs); snap's PTRACE_O_SUSPEND_SECCOMP keeps them from acting on
 * the rest of the restore. Another thread installs the rest of its own
 * chain (restore_seccomp_thread) once snap's "go" came, traced then, and
 * before its creds. Strict mode, which cannot be synced, each thread
 * enters for itself last, right before rt_sigreturn, the one syscall it
 * still lets through that we need.
 */
long restore_seccomp_filters(struct restorer_args *a, const struct rst_seccomp *s);
long restore_seccomp_thread(struct restorer_args *a, const struct rst_seccomp *s);
long restore_seccomp_strict(struct restorer_args *a, const struct rst_seccomp *s);

#pragma GCC visibility pop

#endif
