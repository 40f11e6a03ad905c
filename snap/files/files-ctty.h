/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Controlling terminals of restored sessions, for restore-task.c: the ptys
 * of the tree (files-pty.c) that were some session's controlling terminal
 * become it again, with the same foreground process group, in the order
 * the tree is made. What each pty was is in its master's pty_info
 * (files.img); its master is open in every task until the fds take their
 * numbers, so a task reaches the pty through it (files_fd_of()). So does a
 * container's console restored with --orphan-pts-master (files-tty.c),
 * through its slave; its chr_entry names the session and foreground group.
 */
#ifndef SNAP_FILES_CTTY_H
#define SNAP_FILES_CTTY_H

#include "ctx.h"

/*
 * In a session leader, right after setsid() and before it makes children
 * (who inherit the controlling terminal): take its session's pty back as
 * controlling terminal. 0 or -1 logged.
 */
int files_session_ctty(struct restore_ctx *ctx, const struct restore_task *t);
/*
 * In every task, once in its session and group: a task that had no
 * controlling terminal drops the one it inherited; the first task of the
 * foreground process group makes it the foreground again. 0 or -1 logged.
 */
int files_task_tty(struct restore_ctx *ctx, const struct restore_task *t);

#endif
