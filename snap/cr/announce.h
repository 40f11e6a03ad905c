/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The servers' start (snap page-server, snap service): once they listen,
 * --daemon sends them to the background, --pidfile and --status-fd tell
 * whoever started them, as CRIU's servers do.
 */
#ifndef SNAP_CR_ANNOUNCE_H
#define SNAP_CR_ANNOUNCE_H

#include "ctx.h"

/*
 * Listening: the parent of --daemon goes (1, its child's pid in
 * --pidfile), the server goes on (0; in the background its stdio is
 * /dev/null); --status-fd gets "\0". -1 after an error line naming @who.
 */
int announce_listening(const struct snap_opts *opts, const char *who);

#endif
