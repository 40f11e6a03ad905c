/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What `snap restore --lazy-pages` and `snap lazy-pages` say to each other
 * on DIR/lazy-pages.sock (SOCK_SEQPACKET): one lazy_hello per process, its
 * uffd attached (SCM_RIGHTS); the server answers each with one byte, 'A'
 * once it (and its guard) hold the uffd, 'E' if it cannot serve it. The
 * restore closes the connection once its tree runs.
 *
 * A restore that has no pages-PID.img (the pages are on a page server the
 * lazy-pages server reads from) first sends, per process, a lazy_hello with
 * LAZY_FILL_MAGIC and no uffd whose ranges are the addresses its restorer
 * reads pages of (the eager mappings, the rseq areas); the answer 'A' comes
 * with a memfd attached: the process's pages in pagemap order, those in.
 */
#ifndef SNAP_LAZY_PROTO_H
#define SNAP_LAZY_PROTO_H

#include <stdint.h>

#define LAZY_SOCK	"lazy-pages.sock"
#define LAZY_MAGIC	0x5a59414cU /* "LAYZ" */
#define LAZY_FILL_MAGIC 0x4c4c4946U /* "FILL" */
#define LAZY_MAX_RANGES 4096

struct lazy_range {
	uint64_t start, end;
};

struct lazy_hello {
	uint32_t magic;
	int32_t pid; /* the image's: its pages */
	uint32_t nr_ranges;
	int32_t host_pid;	    /* in snap's pid namespace: its pidfd (the guard's kill) */
	struct lazy_range ranges[]; /* the registered mappings, address order */
};

#endif
