/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CRIU's action scripts (--action-script FILE, repeatable): hooks that dump
 * and restore run at fixed points, with the environment CRIU gives them
 * (Documentation/snap.8.md, "ACTION SCRIPTS"). A script that fails fails the
 * command at that point, and the command undoes what it did as for any other
 * failure.
 */
#ifndef SNAP_CR_ACTION_SCRIPT_H
#define SNAP_CR_ACTION_SCRIPT_H

#include <sys/types.h>

#include "ctx.h"

/* In the order a dump, then a restore, runs them. */
enum action_hook {
	ACT_PRE_DUMP,		/* before the tree is frozen */
	ACT_NETWORK_LOCK,	/* dump that kills: the lock is in place, netlock.img written */
	ACT_POST_DUMP,		/* every image written; frozen unless the dump is live */
	ACT_PRE_RESTORE,	/* before anything is read or made */
	ACT_SETUP_NS,		/* the root process exists */
	ACT_POST_SETUP_NS,
	ACT_POST_RESTORE,	/* the tree is restored, stopped */
	ACT_PRE_RESUME,
	ACT_NETWORK_UNLOCK,	/* just before snap removes its lock and lets the tree go */
	ACT_POST_RESUME,	/* the tree runs */
	ACT_STATUS_READY,	/* dump --lazy-pages: listening, its pages ready to serve */
	ACT_NR,
};

/*
 * Who drives snap over RPC (rpc/swrk.c): told of each hook before the
 * scripts run, with the root's pid (or 0 before it exists). 0 to go on, or
 * -1 after one error line, which fails the command at that hook.
 */
struct action_notifier {
	int (*notify)(void *arg, enum action_hook hook, pid_t init_pid);
	/*
	 * Hand the caller our fd @fd as the notification @what (CRIU's
	 * "orphan-pts-master": a new pty's master, for --orphan-pts-master),
	 * and wait for its answer. 0, or -1 after one error line.
	 */
	int (*send_fd)(void *arg, const char *what, int fd);
	void *arg;
};

/* CRIU's name of @hook: CRTOOLS_SCRIPT_ACTION. */
const char *action_name(enum action_hook hook);
/*
 * Tell the notifier of @hook, if there is one, then run every
 * --action-script for @hook, in the order given, each to its end:
 * CRTOOLS_SCRIPT_ACTION, CRTOOLS_IMAGE_DIR (the images directory, absolute)
 * and, when @init_pid > 0, CRTOOLS_INIT_PID in its environment; stdin
 * /dev/null, stdout and stderr to the log (-o) or snap's stderr. 0, or -1
 * after one error line naming the script and the hook; the scripts after a
 * failed one are not run.
 */
int action_run(const struct snap_opts *opts, enum action_hook hook, pid_t init_pid);

#endif
