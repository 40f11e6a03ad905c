/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the pty kind: what its files share. files-pty.c is the fd kind,
 * files-pty-tree.c finds the ptys of the dumped tree and saves their state
 * (collect), files-pty-io.c moves a pty's state and queued bytes in and out
 * of the kernel, for dump and restore alike.
 *
 * A pty is known by its index N (/dev/pts/N). Its state (pty_info) goes on
 * its master's file_entry, the bytes queued in it to tty-data.img.
 */
#ifndef SNAP_FILES_PTY_H
#define SNAP_FILES_PTY_H

#include <termios.h>

#include "files/files-kind.h"

#define PTY_SLAVE_MAJOR_FIRST 136 /* UNIX98_PTY_SLAVE_MAJOR, 8 majors of 256 */
#define PTY_SLAVE_MAJOR_LAST  143

/* A pty whose master the dumped tree holds. */
struct pty_seen {
	uint32_t index;
	pid_t pid;		/* the first fd met on its master */
	int fd;
	int master;		/* our duplicate of that fd */
	pid_t sid;		/* the session it is the controlling terminal of, or 0 */
	PtyInfo *info;		/* given to the master's file_entry by dump() */
	TtyDataEntry *data;	/* for tty-data.img, or NULL: nothing queued */
};

/* The kind's dump state: every pty of the tree, found by collect(). */
struct pty_dump_state {
	struct pty_seen *ptys;
	size_t nr;
	dev_t devpts;		/* st_dev of /dev/pts: slaves are /dev/pts/N there */
};

/* files-pty-tree.c */
/* collect(): every pty master of the tree, its state saved; outside users refused. */
int pty_collect(struct dump_ctx *ctx, struct pty_dump_state *ps);
/* The index of the pty slave @st, or -1 if it is not a slave of ps->devpts. */
int pty_slave_index(const struct pty_dump_state *ps, const struct stat *st);
void pty_dump_state_free(struct pty_dump_state *ps);

/* files-pty-io.c */
/* 0, or -1 logged naming @who ("pid 5 fd 3: pty /dev/pts/2"). */
int pty_termios_save(const struct termios *t, TtyTermios *ti, const char *who);
/* 0, or -1 logged naming @who when @ti does not fit a struct termios. */
int pty_termios_load(const TtyTermios *ti, struct termios *t, const char *who);
/*
 * Read what is queued in the pty of @master into @td: its input (to the
 * slave, through @slave, our own open of it; -1 if we have none) and its
 * output (to the master). Pending packet mode status goes to *@pktstatus.
 */
int pty_data_take(int master, int slave, const struct termios *t, bool packet, TtyDataEntry *td,
		  uint32_t *pktstatus, const char *who);
/*
 * Put @td back into the pty of @master, whose slave termios is @t, as it
 * was: input lines and partial line, output bytes; before that, the packet
 * mode status bits @pktstatus (packet mode on). @slave: our own open of the
 * slave, or -1 (then there must be no input).
 */
int pty_data_put(int master, int slave, const struct termios *t, const TtyDataEntry *td,
		 uint32_t pktstatus, const char *who);

#endif
