/* SPDX-License-Identifier: GPL-2.0 */
/* What the character-device kinds (files-chr.c, files-tty.c) share. */
#ifndef SNAP_FILES_CHRDEV_H
#define SNAP_FILES_CHRDEV_H

#include "files/files-kind.h"

#define TTY_MAJOR		4   /* virtual consoles, ttyS */
#define TTYAUX_MAJOR		5   /* /dev/tty, /dev/console, /dev/ptmx */
#define UNIX98_PTY_MASTER_MAJOR 128 /* 128..135 */
#define UNIX98_PTY_SLAVE_MAJOR	136 /* 136..143 */
#define PTMX_MINOR		2

/* chr_entry of @fe from @d: path, flags, device. */
int chr_entry_fill(const struct fd_desc *d, FileEntry *fe);
/*
 * A terminal whose other side is outside the dumped tree (the user's own):
 * only with --shell-job, saved as its chr_entry for files-tty.c to restore.
 */
int tty_external_dump(struct dump_ctx *ctx, const struct fd_desc *d, FileEntry *fe);
/*
 * Restore: a new pty (its master, opened with @flags) in the devpts of our
 * /dev/ptmx, with index @want if it is free, else the lowest free one
 * (pty_hunt()); or the one the mount restore made with index @want
 * (ctx->held_pty). *@got says which. -1 logged naming @who.
 */
int pty_new(struct restore_ctx *ctx, int flags, uint32_t want, uint32_t *got, const char *who);
/* Any terminal end, pty masters included. */
bool fd_is_terminal(const struct fd_desc *d);

#endif
