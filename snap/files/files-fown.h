/* SPDX-License-Identifier: GPL-2.0 */
/* Signal-driven I/O (F_SETOWN_EX, F_SETSIG, O_ASYNC) of any fd: files-fown.c. */
#ifndef SNAP_FILES_FOWN_H
#define SNAP_FILES_FOWN_H

#include "files/files.h"
#include "files/files-kind.h"

/* Dump: @fe->fown from @d, if it has an owner, a signal or O_ASYNC. 0 or -1 logged. */
int files_fown_dump(const struct dump_ctx *ctx, const struct fd_desc *d, FileEntry *fe);
/* Load: @fe's fown is sane. 0 or -1 logged. */
int files_fown_check(const FileEntry *fe);
/*
 * In snap, @t past its restorer: set @fo on its fd @fd through @ts, the
 * owner being @pid (fo->pid as @t's pid namespace sees it). 0 or -1 logged.
 */
int files_fown_restore(const struct restore_task *t, int fd, const FownEntry *fo, pid_t pid,
		       struct task_syscall *ts);

#endif
