/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What pipes (files-pipe.c) and FIFOs (files-fifo.c) share: the bytes queued
 * in a pipe buffer and its size, one pipe_data_entry per pipe in a side
 * image (pipes-data.img, fifo-data.img), keyed by an id the kind chooses.
 * Messages name a pipe as "<noun> <id>": "pipe 1234", "fifo 3".
 */
#ifndef SNAP_FILES_PIPE_DATA_H
#define SNAP_FILES_PIPE_DATA_H

#include "files/files-kind.h"
#include "image.h"

/* The entries of one side image, dump or restore side. */
struct pipe_data_set {
	enum img_type img;	/* IMG_PIPES_DATA, IMG_FIFO_DATA */
	const char *noun;	/* "pipe", "fifo" */
	PipeDataEntry **data;
	size_t nr, cap;
	void *by_id;		/* dump: tsearch() tree of data[], by pipe_id */
	bool sorted;		/* restore: data[] sorted by pipe_id, searched by halves */
};

/*
 * The entry for pipe @id, or NULL; @count (may be NULL) says how many there
 * are, @at (may be NULL) where the first is in data[]. O(log n): a tree of
 * thousands of pipes is not searched pipe by pipe.
 */
const PipeDataEntry *pipe_data_find(const struct pipe_data_set *s, uint64_t id, size_t *count,
				    size_t *at);
/* Dump: copy what is queued in the pipe behind @d, without taking it, as @id's entry. */
int pipe_data_dump(struct pipe_data_set *s, const struct fd_desc *d, uint64_t id);
/* Dump: every entry to the image, empty if there are none. */
int pipe_data_write(struct dump_ctx *ctx, const struct pipe_data_set *s);
/* Restore: read the image. */
int pipe_data_load(struct restore_ctx *ctx, struct pipe_data_set *s);
/* Restore: the image holds exactly one sane entry for @id, which file @file_id needs. */
int pipe_data_check(const struct pipe_data_set *s, uint64_t id, uint32_t file_id);
/* Restore: size the pipe behind @wfd as @id's was and refill it (@wfd non-blocking). */
int pipe_data_fill(const struct pipe_data_set *s, uint64_t id, int wfd);
void pipe_data_free(struct pipe_data_set *s);

#endif
