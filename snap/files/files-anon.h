/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the anon-inode kinds (eventfd, epoll, timerfd, signalfd, pidfd) share:
 * their state is read from /proc/PID/fdinfo/FD (fd_desc.fdinfo), which shows
 * it without touching it (a read() of the fd would consume it).
 */
#ifndef SNAP_FILES_ANON_H
#define SNAP_FILES_ANON_H

#include "files/files-kind.h"

/*
 * A fresh read of the whole of @d's fdinfo (d->fdinfo is the one the table
 * read when it met the fd; a timerfd's changes with timerfd_gettime()),
 * NUL-terminated and malloc'd, or NULL logged.
 */
char *anon_fdinfo(const struct fd_desc *d);
/*
 * The value of the line "@name <blanks> value" of @info, as a number in
 * @base (0: C prefixes), in *@val: 0, or -1 logged naming @d and the field.
 */
int anon_field_u64(const struct fd_desc *d, const char *info, const char *name, int base,
		   unsigned long long *val);
/* Whether @info has a line starting with @name. */
bool anon_has_field(const char *info, const char *name);

#endif
