/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Open files. Each fd type (regular, pipe, character device, tty) lives in its
 * own file (files-reg.c, files-pipe.c, ...) and declares one struct fd_ops;
 * files.c holds the registry and the per-process fd table logic.
 *
 * Dump: fds are pulled out of the target with pidfd_getfd(), so no parasite
 * is needed; fds sharing one open file description (dup, kcmp KCMP_FILE) get
 * one id in files.img.
 * Restore: runs inside the forked child that becomes the restored process,
 * before the restorer blob takes over; every target fd ends at its number.
 */
#ifndef SNAP_FILES_H
#define SNAP_FILES_H

#include <sys/stat.h>

#include "ctx.h"

/* What the dump side knows about one target fd. */
struct fd_desc {
	int fd;			/* number in the target */
	int local;		/* our duplicate of it (pidfd_getfd) */
	struct stat st;
	char path[4096];	/* readlink /proc/PID/fd/N */
	unsigned int flags;	/* fdinfo flags (open(2) flags) */
	unsigned long long pos;	/* fdinfo pos */
	pid_t pid;
};

struct fd_ops {
	FdType type;
	const char *name;
	/* Does this type handle @d? Checked in registry order. */
	bool (*match)(const struct fd_desc *d, const struct dump_ctx *ctx);
	/* Fill @fe (type-specific part) and write any side images. */
	int (*dump)(struct dump_ctx *ctx, const struct fd_desc *d, FileEntry *fe);
	/* Return a new fd in this process for @fe, opened as it was. */
	int (*open)(struct restore_ctx *ctx, const FileEntry *fe);
	/*
	 * Optional. At load time, before any process exists: check that @fe has
	 * what open() needs and load the side images it uses.
	 */
	int (*prepare)(struct restore_ctx *ctx, const FileEntry *fe);
	/*
	 * Optional. In the restored child, after every open() of the task and
	 * before the fds move to their numbers: drop what open() kept to share
	 * between ids (our ends of a pipe). Must not fail; may run again (on
	 * errors and from restore_files_free()).
	 */
	void (*restore_done)(struct restore_ctx *ctx);
};

/*
 * Restore-side state of files.c and the fd types, alive from
 * restore_load_files() to restore_files_free(), in restore_ctx.files_st.
 */
struct pipe_ends;
struct ghost_made;
struct files_restore_state {
	GhostFileEntry **ghosts;	/* files-reg.c: ghost-ID.img of deleted files */
	size_t nr_ghosts;
	struct ghost_made *ghosts_made;	/* files-reg.c: recreated, to unlink when done */
	size_t nr_ghosts_made;
	struct pipe_ends *pipes;	/* files-pipe.c: pipes made by this process */
	size_t nr_pipes;
	int *open_fds;			/* files_open_all(): fd of ctx->files[i] */
};

struct files_restore_state *files_rst(const struct restore_ctx *ctx);
/* Dump side: the ghost id of an earlier open of this deleted inode, or 0. */
uint32_t file_table_find_ghost(const struct file_table *ft, dev_t dev, ino_t ino);

/* Helpers shared by the fd types. */
/* chr_entry of @fe from @d: path, flags, device (files-chr.c; ttys use it too). */
int chr_entry_fill(const struct fd_desc *d, FileEntry *fe);
/* st_rdev as the kernel's 32-bit new_encode_dev() (chr_entry.rdev). */
uint32_t files_encode_dev(dev_t dev);
/* open(2) flags to reopen a file with: creation flags and O_CLOEXEC dropped. */
int files_reopen_flags(unsigned int flags);
/* Any terminal end, pty masters included (files-tty.c). */
bool fd_is_terminal(const struct fd_desc *d);

struct file_table *file_table_new(void);
void file_table_free(struct file_table *ft);

/* Dump @t's fd table: fdinfo-PID.img, plus entries added to ctx->files. */
int dump_task_files(struct dump_ctx *ctx, struct dump_task *t);
/* Write files.img and pipes-data.img (once, after every task). */
int files_write(struct dump_ctx *ctx);

/* For fd types, dump side: pipes-data.img holds one entry per pipe. */
PipeDataEntry *file_table_find_pipe(struct file_table *ft, uint64_t pipe_id);
/* Takes ownership of @pde (malloc'd, freed with pipe_data_entry__free_unpacked). */
int file_table_add_pipe(struct file_table *ft, PipeDataEntry *pde);

/* Load and validate files.img, pipes-data.img (before anything is created). */
int restore_load_files(struct restore_ctx *ctx);
/*
 * Free the state restore_load_files() made (ghost contents); ctx->files and
 * ctx->pipe_data are the caller's to free. Safe after a failed or no load.
 */
void restore_files_free(struct restore_ctx *ctx);
/*
 * In snap, before any process is made: open every file of files.img at or
 * above @base, where the processes inherit them.
 */
int files_open_all(struct restore_ctx *ctx, int base);
/* Close what files_open_all() opened (snap once the tree is made; any process). */
void files_close_all(struct restore_ctx *ctx);
/*
 * In the restored child: put every fd of @t at its number. All target fds
 * are below @service_base; fds at or above it belong to snap and are kept
 * (so log_fd(), ctx->tty_fd and the files_open_all() fds must be up there).
 * Every other fd is closed; stderr stays open for error messages until the
 * fds take their numbers.
 */
int restore_task_fds(struct restore_ctx *ctx, struct restore_task *t, int service_base);
/* Highest fd number @t uses, or -1. */
int task_max_fd(const struct restore_task *t);

#endif
