/* SPDX-License-Identifier: GPL-2.0 */
/* What restorer.c and restorer-threads.c share. Freestanding. */
#ifndef SNAP_RESTORER_H
#define SNAP_RESTORER_H

#include "protocol.h"

#pragma GCC visibility push(hidden)

/* "what at ADDR: errno N" into args->err; returns 0, the "no frame" of entry.S. */
unsigned long fail(struct restorer_args *a, const char *what, unsigned long addr, long err);
int is_err(long ret);
/* The calling thread's credentials @c: raw syscalls set them per thread, never broadcast. */
long restore_creds(struct restorer_args *a, const struct rst_creds *c);

/*
 * Fill the mappings create_vmas() made (has_pages[i]: mapping i gets pages)
 * with the pages of the image (restorer-fill.c).
 */
long fill_pages(struct restorer_args *a, unsigned char *has_pages);

/* Create threads[1..]; each sets itself up, then waits for snap's go. */
long restore_threads_start(struct restorer_args *a);
/* The calling thread's own state: TLS, rseq, robust list, clear_child_tid, comm, signals. */
long restore_thread(struct restorer_args *a, struct rst_thread *th);
/* Wait until every created thread is set up (or the group dies with it). */
long restore_threads_wait(struct restorer_args *a);
/* Read snap's one-byte "go" from go_fd. */
long restore_wait_go(struct restorer_args *a);
/* restore --lazy-pages: register the lazy mappings with a uffd left for snap (restorer-lazy.c). */
long lazy_setup(struct restorer_args *a);

#pragma GCC visibility pop

#endif
