/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lazy restore (README.md here): `snap lazy-pages -D DIR` serves the pages
 * of the lazy mappings of a `snap restore --lazy-pages -D DIR` while the
 * restored processes run. What the rest of snap calls.
 */
#ifndef SNAP_LAZY_H
#define SNAP_LAZY_H

#include <sys/types.h>

#include "ctx.h"
#include "protocol.h"

/* snap lazy-pages -D DIR: serve until every page is in, then exit. */
int cmd_lazy_pages(const struct snap_opts *opts, const struct kfeat *kf);

/* restore: connect to the server of @dir (before any process exists); the fd or -1, logged. */
int lazy_connect(int dirfd, const char *dir);
/*
 * restore, once the restorer of @pid (@host in snap's pid namespace) is
 * ready: hand its uffd and lazy ranges to the server and wait until it
 * holds them. 0 or -1, logged.
 */
int lazy_handoff(int sock, pid_t pid, pid_t host, const struct restorer_args *a);
/*
 * restore, @pid's restorer args built (a->lazy set), its pages-PID.img not
 * here: the server's memfd of its pages in pagemap order, those the
 * restorer reads (the mappings it fills, the rseq areas) in, into *@fd.
 * 0 or -1, logged.
 */
int lazy_fill(int sock, pid_t pid, const struct restorer_args *a, int *fd);

#endif
