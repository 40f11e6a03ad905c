/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Restore: a pty with a given index in a devpts instance, for the pty and
 * terminal fd kinds (snap/files) and for the mount restore, which binds a
 * pty slave (a container's /dev/console) before any file is opened.
 */
#ifndef SNAP_PTY_HUNT_H
#define SNAP_PTY_HUNT_H

#include <stdint.h>

/*
 * The master of a new pty, opened with @flags from @ptmx (relative to
 * @dirfd), with index @want if it is free, else the lowest free one
 * (warned). ptmx hands out the lowest free index: it is opened until it
 * gives @want or above, the ones below closed again. *@got says which.
 * -1 logged naming @who.
 */
int pty_hunt(int dirfd, const char *ptmx, int flags, uint32_t want, uint32_t *got,
	     const char *who);

#endif
