// SPDX-License-Identifier: GPL-2.0
/*
 * The fd table, dump side: each process's fds become fdinfo-PID.img entries
 * pointing at files.img ids, one id per open file description of the tree
 * (files-dedup.c tells which fds share one). Each new file goes to its kind
 * (files-registry.c), which fills its part of the entry and keeps whatever
 * it needs across the tree in its own state, written by its write() hook.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "files/files.h"
#include "files/files-dedup.h"
#include "files/files-locks.h"
#include "files/files-fown.h"
#include "files/files-table.h"
#include "image.h"
#include "log.h"
#include "ns/net-ns.h"

#define ANON_PREFIX "anon_inode:"

struct file_table *file_table_new(void)
{
	struct file_table *ft = calloc(1, sizeof(*ft));

	if (!ft)
		goto oom;
	ft->dedup = file_dedup_new();
	ft->kind_st = calloc(nr_fd_kinds, sizeof(*ft->kind_st));
	ft->locks = file_locks_new();
	if (!ft->dedup || !ft->kind_st || !ft->locks)
		goto oom;
	for (size_t k = 0; k < nr_fd_kinds; k++) {
		if (!fd_kinds[k]->dump_state)
			continue;
		ft->kind_st[k] = calloc(1, fd_kinds[k]->dump_state);
		if (!ft->kind_st[k])
			goto oom;
	}
	return ft;
oom:
	pr_err("out of memory for the file table");
	file_table_free(ft);
	return NULL;
}

void file_table_free(struct file_table *ft)
{
	if (!ft)
		return;
	for (size_t k = 0; ft->kind_st && k < nr_fd_kinds; k++) {
		if (ft->kind_st[k] && fd_kinds[k]->dump_free)
			fd_kinds[k]->dump_free(ft->kind_st[k]);
		free(ft->kind_st[k]);
	}
	for (size_t i = 0; i < ft->nr; i++)
		file_entry__free_unpacked(ft->fe[i], NULL);
	for (size_t i = 0; i < ft->nr_tids; i++) {
		free(ft->tids[i].fds);
		free(ft->tids[i].ids);
	}
	free(ft->tids);
	free(ft->kind_st);
	file_locks_free(ft->locks);
	/* After the kinds and before the dedup: both name the in-flight fds. */
	files_inflight_free(ft);
	file_dedup_free(ft->dedup);
	free(ft->fe);
	free(ft);
}

/*
 * The entry points below work on the tree's sockets (sock_diag tables,
 * /proc/net, fresh sockets to compare with) inside the tree's network
 * namespace: snap's thread steps in for them (ns/net-ns.h).
 */
static int collect_kinds(struct dump_ctx *ctx)
{
	struct file_table *ft = ctx->files;

	for (size_t k = 0; k < nr_fd_kinds; k++)
		if (fd_kinds[k]->collect && fd_kinds[k]->collect(ctx, ft->kind_st[k]))
			return -1;
	return file_locks_collect(ctx, ft->locks);
}

int files_collect(struct dump_ctx *ctx)
{
	int ret;

	if (net_ns_enter(ctx->netns))
		return -1;
	ret = collect_kinds(ctx);
	return net_ns_leave(ctx->netns) || ret ? -1 : 0;
}

void files_unfreeze(struct dump_ctx *ctx, bool killed)
{
	struct file_table *ft = ctx->files;
	/* Cannot fail: out of repair mode needs no namespace, only the kinds' own fds. */
	bool entered = !net_ns_enter(ctx->netns);

	for (size_t k = 0; ft && k < nr_fd_kinds; k++)
		if (fd_kinds[k]->unfreeze)
			fd_kinds[k]->unfreeze(ctx, ft->kind_st[k], killed);
	if (entered)
		net_ns_leave(ctx->netns);
}

/* A new open file description: its kind dumps it as file id N + 1. */
static int add_file(struct dump_ctx *ctx, const struct fd_desc *d, uint32_t *id)
{
	struct file_table *ft = ctx->files;
	const struct fd_ops *ops;
	FileEntry *fe, **n;
	int k;

	k = fd_kind_of(d);
	if (k < 0) {
		pr_err("pid %d fd %d: %s is not supported yet", d->pid, d->fd, d->path);
		return -1;
	}
	ops = fd_kinds[k];
	if (ft->nr == ft->cap) {
		size_t cap = ft->cap ? ft->cap * 2 : 16;

		n = realloc(ft->fe, cap * sizeof(*n));
		if (!n) {
			pr_err("out of memory for the file table");
			return -1;
		}
		ft->fe = n;
		ft->cap = cap;
	}
	fe = malloc(sizeof(*fe));
	if (!fe) {
		pr_err("out of memory for the file table");
		return -1;
	}
	file_entry__init(fe);
	fe->id = ft->nr + 1;
	fe->type = ops->type;
	/* Everything ops->dump() hangs off @fe is malloc'd: free_unpacked frees it. */
	if (ops->dump(ctx, ft->kind_st[k], d, fe) || files_fown_dump(ctx, d, fe)) {
		file_entry__free_unpacked(fe, NULL);
		return -1;
	}
	pr_debug("pid %d fd %d: file id %u, %s %s", d->pid, d->fd, fe->id, ops->name, d->path);
	ft->fe[ft->nr++] = fe;
	*id = fe->id;
	return 0;
}

/* The whole of @d's fdinfo into d->fdinfo (an epoll's or inotify's can be long). */
static int load_fdinfo(struct fd_desc *d)
{
	size_t len = 0, cap = 1024;
	char path[64], *n;
	ssize_t r = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", d->pid, d->fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("pid %d fd %d: cannot open %s", d->pid, d->fd, path);
		return -1;
	}
	d->fdinfo = malloc(cap);
	for (;;) {
		if (!d->fdinfo) {
			pr_err("pid %d fd %d: out of memory for %s", d->pid, d->fd, path);
			break;
		}
		r = read(fd, d->fdinfo + len, cap - 1 - len);
		if (r <= 0) {
			if (r < 0)
				pr_perror("pid %d fd %d: cannot read %s", d->pid, d->fd, path);
			break;
		}
		len += r;
		if (len == cap - 1) {
			cap *= 2;
			n = realloc(d->fdinfo, cap);
			if (!n)
				free(d->fdinfo);
			d->fdinfo = n;
		}
	}
	close(fd);
	if (!d->fdinfo || r < 0)
		return -1;
	d->fdinfo[len] = '\0';
	return 0;
}

static int read_fdinfo(struct fd_desc *d, bool *cloexec)
{
	bool have_pos = false, have_flags = false;
	unsigned int flags;
	const char *line;

	if (load_fdinfo(d))
		return -1;
	for (line = d->fdinfo; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (sscanf(line, "pos: %llu", &d->pos) == 1)
			have_pos = true;
		else if (sscanf(line, "flags: %o", &flags) == 1)
			have_flags = true;
	}
	if (!have_pos || !have_flags) {
		pr_err("pid %d fd %d: /proc/%d/fdinfo/%d has no pos: or flags: line", d->pid,
		       d->fd, d->pid, d->fd);
		return -1;
	}
	/* fdinfo shows the per-fd close-on-exec bit as O_CLOEXEC; it is not a file flag. */
	*cloexec = flags & O_CLOEXEC;
	d->flags = flags & ~O_CLOEXEC;
	return 0;
}

/* Link, fdinfo, our own duplicate and its stat: all a kind is given. */
/* A socket's family, which every socket kind's match() asks for: one getsockopt(). */
static int read_domain(struct fd_desc *d)
{
	socklen_t len = sizeof(d->domain);

	d->domain = -1;
	if (S_ISSOCK(d->st.st_mode) &&
	    getsockopt(d->local, SOL_SOCKET, SO_DOMAIN, &d->domain, &len)) {
		pr_perror("pid %d fd %d: cannot read the family of %s", d->pid, d->fd, d->path);
		return -1;
	}
	return 0;
}

static int describe_fd(struct dump_task *t, int fd, struct fd_desc *d, bool *cloexec)
{
	char link[64];
	ssize_t n;

	d->fd = fd;
	d->pid = t->pid;
	d->local = -1;
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", t->pid, fd);
	n = readlink(link, d->path, sizeof(d->path) - 1);
	if (n < 0) {
		pr_perror("pid %d fd %d: cannot read link %s", t->pid, fd, link);
		return -1;
	}
	d->path[n] = '\0';
	/* pidfds (pidfs) and the anon inodes proper both read so. */
	if (!strncmp(d->path, ANON_PREFIX, strlen(ANON_PREFIX)))
		d->anon = d->path + strlen(ANON_PREFIX);
	if (read_fdinfo(d, cloexec))
		return -1;
	d->local = syscall(SYS_pidfd_getfd, t->pidfd, fd, 0);
	if (d->local < 0) {
		pr_perror("pid %d fd %d: pidfd_getfd", t->pid, fd);
		return -1;
	}
	if (fstat(d->local, &d->st)) {
		pr_perror("pid %d fd %d: fstat %s", t->pid, fd, d->path);
		return -1;
	}
	return read_domain(d);
}

/* Our own fd @fd, met in flight: described as a target fd is. */
static int describe_own_fd(int fd, struct fd_desc *d)
{
	char link[64];
	bool cloexec;
	ssize_t n;

	d->fd = fd;
	d->pid = getpid();
	d->inflight = true;
	d->local = -1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, d->path, sizeof(d->path) - 1);
	if (n < 0) {
		pr_perror("a file in flight (our fd %d): cannot read link %s", fd, link);
		return -1;
	}
	d->path[n] = '\0';
	if (!strncmp(d->path, ANON_PREFIX, strlen(ANON_PREFIX)))
		d->anon = d->path + strlen(ANON_PREFIX);
	/* Its close-on-exec bit is ours, not the receiver's: the receiver picks its own. */
	if (read_fdinfo(d, &cloexec))
		return -1;
	d->local = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (d->local < 0 || fstat(d->local, &d->st)) {
		pr_perror("a file in flight (our fd %d, %s)", fd, d->path);
		return -1;
	}
	return read_domain(d);
}

/*
 * The files the kinds met in flight since the last call, and the ones
 * those meet in turn: each gets the id of the file it is, new or not.
 */
static int dump_inflight(struct dump_ctx *ctx)
{
	struct file_table *ft = ctx->files;
	struct dedup_pos pos;
	struct fd_desc *d;
	int ret = 0;

	d = malloc(sizeof(*d));
	if (!d) {
		pr_err("out of memory for the files in flight");
		return -1;
	}
	while (!ret && ft->next_inflight < ft->nr_inflight) {
		struct inflight_file *f = &ft->inflight[ft->next_inflight++];
		uint32_t id;

		memset(d, 0, sizeof(*d));
		ret = describe_own_fd(f->fd, d);
		if (!ret)
			ret = file_dedup_find(ft->dedup, d, &id, &pos);
		if (!ret && !id)
			ret = add_file(ctx, d, &id) || file_dedup_add(ft->dedup, d, id, &pos);
		if (!ret) {
			const struct fd_ops *ops = fd_kinds[fd_kind_by_type(ft->fe[id - 1]->type)];

			if (ops->inflight && ops->inflight(ctx, ft->fe[id - 1]))
				ret = -1;
		}
		if (d->local >= 0)
			close(d->local);
		/* add_file() may have grown the list: find the entry again. */
		f = &ft->inflight[ft->next_inflight - 1];
		if (!ret) {
			*f->id = id;
			f->id = NULL;
		}
	}
	free(d);
	return ret;
}

static int dump_one_fd(struct dump_ctx *ctx, struct dump_task *t, struct image *img, int fd,
		       uint32_t *idp)
{
	FdinfoEntry fi = FDINFO_ENTRY__INIT;
	struct dedup_pos pos;
	struct fd_desc *d;
	bool cloexec;
	uint32_t id;
	int ret = -1;

	/* fd_desc carries a PATH_MAX buffer: keep it off the stack. */
	d = calloc(1, sizeof(*d));
	if (!d) {
		pr_err("pid %d fd %d: out of memory", t->pid, fd);
		return -1;
	}
	if (describe_fd(t, fd, d, &cloexec))
		goto out;
	if (file_dedup_find(ctx->files->dedup, d, &id, &pos))
		goto out;
	/* Added before its in-flight files: a socket whose queue holds itself finds itself. */
	if (!id && (add_file(ctx, d, &id) || file_dedup_add(ctx->files->dedup, d, id, &pos) ||
		    dump_inflight(ctx)))
		goto out;
	/* Every fd, not every file: a process's POSIX locks show on its own fds only. */
	if (file_locks_dump_fd(ctx, ctx->files->locks, t, d, id))
		goto out;

	fi.fd = fd;
	fi.id = *idp = id;
	fi.flags = cloexec ? FD_CLOEXEC : 0;
	ret = img_write(img, &fi.base);
out:
	if (d->local >= 0)
		close(d->local);
	free(d->fdinfo);
	free(d);
	return ret;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The target's fd numbers but @skip, sorted, so images and ids come out in fd order. */
static int list_fds(pid_t pid, int skip, int **fds, size_t *nr)
{
	size_t cap = 0;
	struct dirent *de;
	char path[64];
	DIR *dir;
	char *end;
	long fd;
	int *n;

	*fds = NULL;
	*nr = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir) {
		pr_perror("pid %d: cannot open %s", pid, path);
		return -1;
	}
	while ((errno = 0, de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		fd = strtol(de->d_name, &end, 10);
		if (*end || fd < 0 || fd > INT32_MAX || fd == skip)
			continue;
		if (*nr == cap) {
			cap = cap ? cap * 2 : 16;
			n = realloc(*fds, cap * sizeof(*n));
			if (!n) {
				pr_err("pid %d: out of memory for its fd table", pid);
				goto err;
			}
			*fds = n;
		}
		(*fds)[(*nr)++] = fd;
	}
	if (errno) {
		pr_perror("pid %d: cannot read %s", pid, path);
		goto err;
	}
	closedir(dir);
	if (*nr)
		qsort(*fds, *nr, sizeof(**fds), cmp_int);
	return 0;
err:
	closedir(dir);
	free(*fds);
	*fds = NULL;
	return -1;
}

int files_list_task(struct dump_task *t, int skip)
{
	return list_fds(t->pid, skip, &t->fds, &t->nr_fds);
}

/* The list goes to the file table with the ids, which it keeps. */
static int dump_fds(struct dump_ctx *ctx, struct dump_task *t)
{
	struct image *img;
	uint32_t *ids;
	size_t i;
	int ret = -1;

	ids = malloc((t->nr_fds + 1) * sizeof(*ids));
	if (!ids) {
		pr_err("pid %d: out of memory for its fd table", t->pid);
		return -1;
	}
	img = img_open_write(ctx->dirfd, IMG_FDINFO, t->vpid);
	if (!img)
		goto out;
	for (i = 0; i < t->nr_fds; i++)
		if (dump_one_fd(ctx, t, img, t->fds[i], &ids[i]))
			goto out;
	ret = 0;
out:
	if (img && img_close(img))
		ret = -1;
	if (ret) {
		free(ids);
		return ret;
	}
	ret = files_keep_ids(ctx->files, t->pid, t->fds, ids, t->nr_fds);
	t->fds = NULL;
	return ret;
}

int dump_task_files(struct dump_ctx *ctx, struct dump_task *t)
{
	int ret;

	if (t->files_dumped)
		return 0;
	if (net_ns_enter(ctx->netns))
		return -1;
	ret = dump_fds(ctx, t);
	if (net_ns_leave(ctx->netns) || ret)
		return -1;
	t->files_dumped = true;
	return 0;
}

static int write_files(struct dump_ctx *ctx)
{
	struct file_table *ft = ctx->files;
	struct image *img;
	size_t i;
	int ret = 0;

	img = img_open_write(ctx->dirfd, IMG_FILES, 0);
	if (!img)
		return -1;
	for (i = 0; i < ft->nr && !ret; i++)
		ret = img_write(img, &ft->fe[i]->base);
	if (img_close(img))
		ret = -1;
	for (size_t k = 0; k < nr_fd_kinds && !ret; k++)
		if (fd_kinds[k]->write)
			ret = fd_kinds[k]->write(ctx, ft->kind_st[k]);
	return ret ? ret : file_locks_write(ctx, ft->locks);
}

int files_write(struct dump_ctx *ctx)
{
	int ret;

	if (net_ns_enter(ctx->netns))
		return -1;
	ret = write_files(ctx);
	return net_ns_leave(ctx->netns) || ret ? -1 : 0;
}
