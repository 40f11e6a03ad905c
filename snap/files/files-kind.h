/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What an fd kind implements, and the helpers it may call. A kind (eventfd,
 * pipe, unix socket...) is one file, files-<kind>.c, that defines one const
 * struct fd_ops, plus a line in files-registry.c. Nothing else names it: the
 * fd table (files-dump.c, files-restore.c) reaches it through the registry,
 * and hands each hook the kind's own state.
 *
 * Reading goes one way: the table calls the registry, the registry names
 * the kinds, the kinds call the helpers declared here (files-util.c,
 * files-opened.c, files-dumped.c). A kind never calls the table or another kind.
 */
#ifndef SNAP_FILES_KIND_H
#define SNAP_FILES_KIND_H

#include <stdbool.h>
#include <sys/stat.h>

#include "ctx.h"
#include "files/files.h"

/* What the dump side knows about one target fd. */
struct fd_desc {
	int fd;			/* number in the target */
	int local;		/* our duplicate of it (pidfd_getfd) */
	struct stat st;
	char path[4096];	/* readlink /proc/PID/fd/N */
	const char *anon;	/* what follows "anon_inode:" in path ("[eventfd]"), or NULL */
	int domain;		/* a socket's SO_DOMAIN (read once for every kind's match()), or -1 */
	unsigned int flags;	/* fdinfo flags (open(2) flags) */
	unsigned long long pos;	/* fdinfo pos */
	char *fdinfo;		/* the whole of /proc/PID/fdinfo/FD (eventfd-count:, tfd:...) */
	pid_t pid;
	/*
	 * In flight: a file no fd of the tree holds, met inside a message
	 * queued in a socket (files_inflight_add()); @pid is then snap's and
	 * @fd snap's own fd on it.
	 */
	bool inflight;
};

/* A set of file types, for fd_ops.fmts: FD_FMT(S_IFREG) | FD_FMT(S_IFDIR). */
#define FD_FMT(ifmt) (1u << (((ifmt) & S_IFMT) >> 12))

/* fd_ops.open(): not yet, a file this one needs is not open; ask again later. */
#define FD_AGAIN (-2)

/* Where fd_ops.open() runs. */
enum fd_where {
	/*
	 * In snap, before any process exists: every process that holds the
	 * file inherits the one open file description.
	 */
	FD_IN_SNAP,
	/*
	 * In the restored task, before its fds take their numbers: a file
	 * only that task can open (its own /proc/PID, its network namespace).
	 */
	FD_IN_TASK,
	/*
	 * In the tree's root, its namespaces restored (it has pivoted into
	 * the tree's mounts), before it makes any child: a path only the
	 * tree's mount namespace shows, which every process that holds it
	 * inherits as one open file description, as in snap.
	 */
	FD_IN_ROOT,
};

/*
 * One fd kind. Every hook but dump and open is optional. A hook's @st is
 * the kind's own state: dump_state (or restore_state) zeroed bytes that the
 * table allocates once per dump (restore) and frees after dump_free()
 * (restore_free()); NULL when the size is 0.
 */
struct fd_ops {
	FdType type;		/* files.img type: one kind per type */
	const char *name;	/* for messages: "pipe", "eventfd" */

	/*
	 * Dump: which fds are this kind's. An fd whose link reads
	 * "anon_inode:NAME" goes to the kind that lists NAME in @anon; any
	 * other to the first kind in registry order whose @fmts holds its file
	 * type (st_mode & S_IFMT) and whose match() (if any) says yes.
	 */
	unsigned int fmts;
	/* NULL-terminated: "[eventfd]", "inotify"; "kvm*": every name that begins so. */
	const char *const *anon;
	bool (*match)(const struct fd_desc *d);

	/* Dump side. */
	size_t dump_state;
	/* Once, the tree frozen, before any fd is dumped (one sock_diag dump, say). */
	int (*collect)(struct dump_ctx *ctx, void *st);
	/* A new open file description: fill @fe (its part of it, not id/type). */
	int (*dump)(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe);
	/* Once, after every task: the kind's side images (pipes-data.img). */
	int (*write)(struct dump_ctx *ctx, void *st);
	/*
	 * Optional. @fe, of this kind, travels inside a queued SCM_RIGHTS
	 * message: restore opens such files in snap to send them again, so
	 * one that can only be opened in its task (where() says FD_IN_TASK)
	 * is refused here, -1 logged.
	 */
	int (*inflight)(const struct dump_ctx *ctx, const FileEntry *fe);
	/*
	 * Optional. Just before the tree is let go, whatever step the dump
	 * reached: @killed, the dump succeeded and the tree dies now
	 * (its fds close with the kill); else it runs on as it was, the dump
	 * having failed or left it running (so undo what was done for a kill:
	 * TCP connections out of repair mode). Must not fail.
	 */
	void (*unfreeze)(struct dump_ctx *ctx, void *st, bool killed);
	/* Free what @st points to (not @st). */
	void (*dump_free)(void *st);

	/* Restore side. */
	size_t restore_state;
	/* Once at load, before any prepare(): read the kind's side images. */
	int (*load)(struct restore_ctx *ctx, void *st);
	/* At load, for each file of the kind: check @fe, load what open() will need. */
	int (*prepare)(struct restore_ctx *ctx, void *st, const FileEntry *fe);
	/*
	 * Optional. The key --inherit-fd names @fe by, as CRIU's: "pipe:[INO]",
	 * "socket:[INO]", or the file's path; written to @buf. 0: a matching
	 * --inherit-fd replaces the file (the kind is not asked about it
	 * again); 1: named so, but this kind's files refer to one another and
	 * one cannot be taken from outside (refused when named); -1: no key.
	 */
	int (*inherit_key)(const FileEntry *fe, char *buf, size_t len);
	/* FD_IN_SNAP when absent. Decided once, at load. */
	enum fd_where (*where)(const struct restore_ctx *ctx, const FileEntry *fe);
	/*
	 * A new fd in this process for @fe, opened as it was, or FD_AGAIN
	 * (asked again once other files are open), or -1 logged. An
	 * FD_IN_SNAP file may only wait for FD_IN_SNAP files.
	 */
	int (*open)(struct restore_ctx *ctx, void *st, const FileEntry *fe);
	/*
	 * Once every FD_IN_SNAP file is open, before the first opened() and
	 * before any process exists: state that refers to other files of the
	 * image, whichever opened first (messages queued in a socket carry
	 * files, maybe the socket itself). 0 or -1 logged.
	 */
	int (*all_opened)(struct restore_ctx *ctx, void *st);
	/*
	 * Optional. In the tree's root, its FD_IN_ROOT files open, before its
	 * children: what all_opened() left for the tree's own namespaces (a
	 * queued message that carries an FD_IN_ROOT file, or credentials of
	 * a pid of the tree's pid namespace). 0 or -1 logged.
	 */
	int (*root_opened)(struct restore_ctx *ctx, void *st);
	/*
	 * Optional. In snap, once the root holds what snap opened
	 * (files_close_all()): close snap's copies of what all_opened() kept
	 * open for root_opened(). Must not fail; may run again.
	 */
	void (*handed_over)(struct restore_ctx *ctx, void *st);
	/*
	 * After a round of open()s (snap's, then each task's FD_IN_TASK ones),
	 * before the fds take their numbers: drop what open() kept to share
	 * between ids (our ends of a pipe). Must not fail; may run again.
	 */
	void (*opened)(struct restore_ctx *ctx, void *st);
	/*
	 * In the restored task, every fd at its number, for each of its fds:
	 * state that names other fds or the task (epoll targets, F_SETOWN,
	 * locks). Runs before the restorer. files_fd_of() gives the task's
	 * own files and those named with files_task_uses() only.
	 */
	int (*installed)(struct restore_ctx *ctx, void *st, const struct restore_task *t, int fd,
			 const FileEntry *fe);
	/*
	 * Optional. In snap, once every process is through its restorer and
	 * stopped, the dump's network lock removed, right before the tree is
	 * let go: what must wait until the restore can no longer fail, as it
	 * would show outside the tree (TCP connections leave repair mode: a
	 * connection closed in repair mode tells its peer nothing). The kind
	 * reaches its files through fds of its own, kept since all_opened()
	 * (snap closed its files once the processes were made). Not called if
	 * the restore failed before; if it fails, the kind's restore_free()
	 * undoes what it can. 0 or -1 logged.
	 */
	int (*tree_restored)(struct restore_ctx *ctx, void *st);
	/* Free what @st points to (not @st). */
	void (*restore_free)(void *st);
};

/* Helpers for the kinds (files-util.c). */
/* st_rdev as the kernel's 32-bit new_encode_dev() (chr_entry.rdev). */
uint32_t files_encode_dev(dev_t dev);
/* open(2) flags to reopen a file with: creation flags and O_CLOEXEC dropped. */
int files_reopen_flags(unsigned int flags);
/*
 * stat() @path as task @pid names it in /proc/PID/fd: in another mount
 * namespace than snap's, such a path is relative to the task's root, so it
 * is looked up under /proc/PID/root. -1 with errno, nothing logged.
 */
int files_stat_as(pid_t pid, const char *path, struct stat *st);
/*
 * The controlling terminal of @pid (/proc/PID/stat), 0 if none or gone; its
 * session in *@sid, the terminal's foreground group in *@tpgid (-1: none;
 * @tpgid may be NULL). Host pids.
 */
dev_t files_ctty_of(pid_t pid, pid_t *sid, pid_t *tpgid);
/*
 * Restore: the tree is made in a pid namespace of its own, whose pids
 * snap's processes do not see; only the root and its children do.
 */
bool files_pids_in_root(const struct restore_ctx *ctx);
/*
 * Restore, in the tree's root: a pid of the tree's pid namespace that no
 * process, thread, group or session of the image has, above @above (a pid
 * the caller's own helpers take). A short-lived helper
 * the root makes goes there, or under a process there: snap finds the
 * tree's processes among their parents' children by pid, and must not
 * take a helper for one of them.
 */
pid_t files_spare_pid(const struct restore_ctx *ctx, pid_t above);
/*
 * fork(), the child at pid @pid of this process's pid namespace (clone3
 * set_tid), any pid when @pid is 0: 0 in the child, else its pid, or -1
 * with errno, nothing logged.
 */
pid_t files_clone_at(pid_t pid);
/*
 * @fn(@arg, inode, fd number) for each socket among @pid's fds, until it
 * returns non-zero (its errors are its own to log). 0, or -1 logged.
 */
int files_task_sockets(pid_t pid, int (*fn)(void *arg, uint32_t ino, int fd), void *arg);

/*
 * Dump (files-inflight.c): @fd, snap's own, is a file met in flight (an
 * SCM_RIGHTS fd inside a queued message): the table dumps it as a file of
 * its own, or finds the file it already has, and sets *@id to its files.img
 * id once the current dump() returns, before any write(). @id must stay
 * valid until then. Takes @fd, even on error. 0 or -1 logged.
 */
int files_inflight_add(struct dump_ctx *ctx, int fd, uint32_t *id);
/* The fd table, dump side (files-dumped.c). */
/*
 * The file id that fd @fd of process @pid got in this dump, or 0 if it has
 * not been dumped (yet): for write() hooks, once every fd has been (an
 * epoll's targets, found while frozen as fds of the tree).
 */
uint32_t files_dumped_id(const struct dump_ctx *ctx, pid_t pid, int fd);

/* The files being restored, by id (files-opened.c). */
/* File @id of files.img, or NULL. */
const FileEntry *files_entry(const struct restore_ctx *ctx, uint32_t id);
/*
 * The fd file @id has in this process once opened (in snap, or in this
 * task), else -1. In snap, until the processes are made, every file opened
 * in snap; in a task, the same until its fds take their numbers, then only
 * the task's own files (at one of their numbers) and those it was told to
 * keep with files_task_uses(), until its restorer runs.
 */
int files_fd_of(const struct restore_ctx *ctx, uint32_t id);
/* Where file @id is opened (its kind's where(), decided at load); FD_IN_SNAP if unknown. */
enum fd_where files_where(const struct restore_ctx *ctx, uint32_t id);
/*
 * At load (load() or prepare()): installed() in task @pid will look up file
 * @id with files_fd_of(), though @pid may hold no fd of it (a file an epoll
 * watches that only another process holds). 0 or -1 logged.
 */
int files_task_uses(struct restore_ctx *ctx, pid_t pid, uint32_t id);
/*
 * From an open(): file @id was opened along with this one (the other end
 * of a socketpair): @fd is its, and open() will not be asked for it.
 * Takes @fd, even on error. 0 or -1 logged.
 */
int files_give_fd(struct restore_ctx *ctx, uint32_t id, int fd);

#endif
