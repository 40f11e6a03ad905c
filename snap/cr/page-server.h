/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The page server's two halves (page-server.c): `snap page-server` runs
 * both at once; `snap dump --lazy-pages` listens before it touches the
 * tree (a port taken fails the dump, the tree left as it was) and serves
 * once its images are written.
 */
#ifndef SNAP_CR_PAGE_SERVER_H
#define SNAP_CR_PAGE_SERVER_H

#include <stddef.h>

#include "ctx.h"

#define PS_NAME_MAX 1088 /* "[ADDR]:PORT": NI_MAXHOST and NI_MAXSERV, and the brackets */

/*
 * Bound to --address (default: all) and --port, listening: the socket,
 * its name in @name; -1 logged.
 */
int page_server_listen(const struct snap_opts *opts, char *name, size_t size);
/*
 * On listening socket @lsk (named @name, closed here): announce, take one
 * connection and serve it, the images in -D. 0 when it ended well; -1 logged.
 */
int page_server_run(const struct snap_opts *opts, int lsk, const char *name);

#endif
