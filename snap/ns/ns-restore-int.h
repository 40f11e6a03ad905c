/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The restore side's table of namespaces, shared by ns-restore.c (ns.img,
 * making and entering them) and ns-join.c (the ones the root joins).
 */
#ifndef SNAP_NS_RESTORE_INT_H
#define SNAP_NS_RESTORE_INT_H

#include "ns/ns.h"

struct ns_restore {
	NsEntry **e; /* ns.img, in file order */
	size_t nr;
	bool no_img;		      /* images from before ns.img */
	int own_fd[NS_KIND_NR];	      /* by kind: snap's own namespace, -1 if not open */
	int join_fd[NS_KIND_NR];      /* by kind: --join-ns or external, -1 if neither */
	char *join_what[NS_KIND_NR];  /* by kind: which option gave join_fd, for messages */
	void **state;		      /* by entry: its kind's ->load */
	uint32_t root_id[NS_KIND_NR]; /* by kind: the root's namespace, 0 for none */
};

/* CLONE_NEW* of @kind; 0 for no kind. */
int ns_clone_flag(NsKind kind);
/*
 * Open the namespace the root joins instead of making @e: --join-ns
 * NS:PATH, or the one --inherit-fd hands over for an external one (ext_key),
 * into join_fd; checks its kind. -1 logged naming the option.
 */
int ns_open_joined(struct restore_ctx *ctx, const NsEntry *e);

#endif
