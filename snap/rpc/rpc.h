/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The swrk RPC inside snap/rpc: swrk.c serves one request over the caller's
 * socket; rpc-opts.c turns the request's criu_opts into the snap_opts the
 * command line would fill. Documentation/rpc.md is the user's view.
 */
#ifndef SNAP_RPC_RPC_H
#define SNAP_RPC_RPC_H

#include <limits.h>
#include <sys/types.h>

#include "ctx.h"
#include "rpc.pb-c.h"

/* The CRIU version snap answers VERSION with: what runc and podman gate on. */
#define RPC_CRIU_MAJOR 3
#define RPC_CRIU_MINOR 19

/* Strings a request's snap_opts point to, for as long as the request runs. */
struct rpc_paths {
	char images_dir[PATH_MAX];
	char log_file[PATH_MAX];
	char **kept;		/* option strings made for the parsers (rpc-ns.c) */
	size_t nr_kept;
};

/*
 * rpc-ns.c: the container options (empty_ns, join_ns...) into @o, strings
 * kept in @paths. 0, or -1 after one error line naming the option.
 */
int rpc_map_container(const CriuOpts *co, bool restore, struct snap_opts *o,
		      struct rpc_paths *paths);
/* Free what rpc_opts_fill() allocated in @paths. */
void rpc_paths_free(struct rpc_paths *paths);

/*
 * Fill @o from @co as the command line would. The fds in @co are the
 * caller's (@peer): they are reached through /proc/PEER/fd/N. 0, or -1 after
 * one error line naming the option.
 */
int rpc_opts_fill(const CriuOpts *co, pid_t peer, bool restore, struct snap_opts *o,
		  struct rpc_paths *paths);
/*
 * Once the log is open: refuse, by name, an option snap cannot honour and
 * whose absence would change the result; log the ones it may ignore. 0 or -1.
 */
int rpc_opts_check(const CriuOpts *co, bool restore);

/*
 * Serve the requests of one connection @sk (swrk.c): one, or a pre-dump
 * sequence. @service: a connection of snap service. 0, or -1 after the
 * error went back to the caller (and was logged).
 */
int swrk_serve(int sk, bool service);

#endif
