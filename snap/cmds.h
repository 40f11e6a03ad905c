/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The snap subcommands main() dispatches to. Each returns 0 on success or -1
 * after logging what went wrong; main() turns that into the exit status.
 */
#ifndef SNAP_CMDS_H
#define SNAP_CMDS_H

#include <stdio.h>

#include "ctx.h"

#define SNAP_VERSION "0.1"

/* The usage summary of snap --help (usage.c). */
void usage(FILE *f);

/* snap show DIR|FILE: every image decoded to JSON on stdout. */
int cmd_show(const char *path);
/* snap check: probe the kernel, print what snap can use, fail if the core is missing. */
int cmd_check(const struct snap_opts *opts);

/* snap netlock: list, remove or take the network locks of dumps (net/netlock.h). */
int cmd_netlock(const struct snap_opts *opts);

/* snap dump -t PID -D DIR: checkpoint a process. */
int cmd_dump(const struct snap_opts *opts, const struct kfeat *kf);
/* snap pre-dump -t PID -D DIR: its memory, for a dump --prev-images-dir to build on. */
int cmd_predump(const struct snap_opts *opts, const struct kfeat *kf);
/* snap dedup -D DIR: fold the chain of parent sets into DIR's own images. */
int cmd_dedup(const struct snap_opts *opts);
/* snap restore -D DIR: bring it back with the same PID. */
int cmd_restore(const struct snap_opts *opts, const struct kfeat *kf);
/* snap page-server -D DIR: receive the pages of one `snap dump --page-server`. */
int cmd_page_server(const struct snap_opts *opts);

/*
 * snap swrk FD: serve one CRIU RPC request (images/rpc.proto) on the
 * SOCK_SEQPACKET socket FD, as runc drives criu (rpc/swrk.c).
 */
int cmd_swrk(const char *fd_arg);
/*
 * snap service [--address PATH]: the same on each connection to a
 * SOCK_SEQPACKET socket listening at PATH (rpc/service.c); runs until killed.
 */
int cmd_service(const struct snap_opts *opts);

#endif
