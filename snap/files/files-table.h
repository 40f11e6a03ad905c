/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the fd table (files-dump.c, files-restore.c): the registry of kinds,
 * the dump-side table and the restore-side state. Kinds do not include
 * this: they see files-kind.h only.
 */
#ifndef SNAP_FILES_TABLE_H
#define SNAP_FILES_TABLE_H

#include "files/files-kind.h"

/* files-registry.c: every kind, in the order dump asks their match(). */
extern const struct fd_ops *const fd_kinds[];
extern const size_t nr_fd_kinds;
/* Index in fd_kinds[] of the kind that dumps @d, or -1 (not supported). */
int fd_kind_of(const struct fd_desc *d);
/* Index in fd_kinds[] of the kind of files.img type @type, or -1. */
int fd_kind_by_type(FdType type);

/* A file met in flight, waiting for its id (files-inflight.c). */
struct inflight_file {
	int fd;			/* snap's own, open until file_table_free() */
	uint32_t *id;		/* where its id goes; NULL once set */
};

/* Dump side: a dumped task's fds and the file id of each (files-dumped.c). */
struct task_ids {
	pid_t pid;
	int *fds;		/* sorted */
	uint32_t *ids;
	size_t nr;
};

/* The dump's table, dump_ctx.files (files-dump.c). */
struct file_table {
	FileEntry **fe;		/* fe[i]->id == i + 1 */
	size_t nr, cap;
	struct file_dedup *dedup;
	void **kind_st;		/* fd_ops.dump_state of fd_kinds[k] */
	struct inflight_file *inflight;	/* every file met in flight, in order */
	size_t nr_inflight, cap_inflight;
	size_t next_inflight;	/* inflight[next_inflight..] wait for their id */
	struct file_locks *locks;	/* file-locks.img: not a kind, a state of any fd */
	struct task_ids *tids;	/* per task dumped, in dump order */
	size_t nr_tids;
};

/* files-inflight.c: close the in-flight files' fds and free the list. */
void files_inflight_free(struct file_table *ft);

/* files-dumped.c: keep @pid's sorted @fds and their @ids for files_dumped_id(); takes both. */
int files_keep_ids(struct file_table *ft, pid_t pid, int *fds, uint32_t *ids, size_t nr);

/* A file a task's installed() looks up though the task may hold no fd of it. */
struct file_use {
	pid_t pid;
	size_t file;		/* position in ctx->files */
};

/*
 * Restore side, from restore_load_files() to restore_files_free(), in
 * restore_ctx.files_st. The arrays are by position in ctx->files.
 */
struct files_restore_state {
	int *fds;		/* the file's fd once open (parked, see files_park()), or -1 */
	int *first_fd;		/* the first fd number a task gives it, or -1 (in flight) */
	unsigned char *kind;	/* its index in fd_kinds[] */
	unsigned char *where;	/* its enum fd_where */
	unsigned char *fown_done;	/* its SIGIO owner is set (files_task_finish()) */
	int park_base;		/* where files_park() puts fds no target number takes */
	bool park_at_target;	/* snap's: files_park() tries first_fd first */
	int max_target;		/* the highest fd number of any task, or -1 */
	int top_fd;		/* the highest fd files_open_all() left open, or -1 */
	bool opened;		/* files_open_all() is done */
	struct file_use *uses;	/* files_task_uses() */
	size_t nr_uses, cap_uses;
	void **kind_st;		/* fd_ops.restore_state of fd_kinds[k] */
	struct file_locks_rst *locks;	/* file-locks.img (files-locks.h) */
	int *inherit;		/* --inherit-fd: snap's fd it is taken from, or -1 */
	const struct restore_task *task;	/* in a task: whose FD_IN_TASK files open */
};

/*
 * files-inherit.c, at load: which files --inherit-fd replaces (st->inherit),
 * each fd checked open in snap; a key that names no file is logged. 0 or -1.
 */
int files_inherit_plan(struct restore_ctx *ctx);
/* A new fd (close-on-exec) on the file ctx->files[@i] is inherited from, or -1 logged. */
int files_inherit_open(const struct restore_ctx *ctx, size_t i);

/* files-opened.c */
/* Position of file @id in ctx->files, or -1. */
ssize_t files_index(const struct restore_ctx *ctx, uint32_t id);
/*
 * @fd is ctx->files[@i]'s: park it, close-on-exec. In snap, at the file's
 * first_fd if that number is free, so that the task finds it in place; else
 * (and in a task) at park_base and up. Takes @fd. 0 or -1 logged.
 */
int files_park(struct restore_ctx *ctx, size_t i, int fd);

/*
 * files-install.c: in the task @t, every FD_IN_SNAP file inherited from
 * snap and every FD_IN_TASK one opened, put each fd of @t at its number
 * (see the top of files-install.c); close every other fd below @service_base.
 * files_fd_of() then gives each file of @t at one of its numbers, each
 * file @t's installed() looks up (files_task_uses()) above @service_base,
 * and -1 for any other. 0 or -1 logged.
 */
int files_install(struct restore_ctx *ctx, const struct restore_task *t, int service_base);

#endif
