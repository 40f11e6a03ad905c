/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-process state beyond registers, signals and creds: POSIX timers
 * (timers-dump.c), prctl() settings and seccomp (seccomp.h). Dumped
 * into core-PID.img by dump_core(), applied by the restorer
 * (parasite/pie/restorer-proc.c) from what restore-proc.c puts in its
 * arguments.
 */
#ifndef SNAP_PROCSTATE_H
#define SNAP_PROCSTATE_H

#include "ctx.h"
#include "proc/seccomp.h"
#include "protocol.h"

/* What the image entries point to, freed in one go by procstate_free(). */
struct procstate_dump {
	PrctlEntry prctl;
	PosixTimerEntry *timers, **timerp;
};

/* Frozen, before the parasite runs: the timers it is to read (misc.timers). */
int timers_prepare(pid_t pid, struct parasite_timers *pt);
int timers_fill(struct procstate_dump *d, const struct parasite_misc *m, CoreEntry *core);

/* prctl settings and timers into @core (seccomp is per thread: core-dump.c). */
int procstate_fill(struct procstate_dump *d, const struct parasite_misc *m, CoreEntry *core);
void procstate_free(struct procstate_dump *d);

/* Restore: the new parts of core-PID.img are sane (-1 logged). */
int restore_proc_check(const CoreEntry *core, pid_t pid);
/* The room restore_proc_fill() needs in the bootstrap area. */
size_t restore_proc_size(const CoreEntry *core);
void restore_proc_fill(struct restorer_args *a, const CoreEntry *core, void *area);
/* Extra PTRACE_SEIZE options for the restored process of @core. */
long restore_proc_seize_opts(const CoreEntry *core);

#endif
