// SPDX-License-Identifier: GPL-2.0
/*
 * The fd table: the registry of fd types, how a process's fds become
 * fdinfo-PID.img entries pointing at files.img ids, and how the restored child
 * gets every fd back at its number. What a type saves and how it reopens lives
 * in files-<type>.c; this file only keeps what they hand it (pipes-data.img
 * entries at dump, ghost contents at restore).
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files/files.h"
#include "image.h"
#include "log.h"

extern const struct fd_ops tty_fd_ops;
extern const struct fd_ops chr_fd_ops;
extern const struct fd_ops pipe_fd_ops;
extern const struct fd_ops reg_fd_ops;
extern const struct fd_ops memfd_fd_ops;

/* Every fd type. Dump asks match() in this order. A new type: its file, a line in each list. */
static const struct fd_ops *const fd_types[] = {
	&tty_fd_ops,
	&chr_fd_ops,
	&pipe_fd_ops,
	&memfd_fd_ops,
	&reg_fd_ops,
};

#define NR_FD_TYPES (sizeof(fd_types) / sizeof(fd_types[0]))

static const struct fd_ops *ops_by_type(FdType type)
{
	size_t i;

	for (i = 0; i < NR_FD_TYPES; i++)
		if (fd_types[i]->type == type)
			return fd_types[i];
	return NULL;
}

static int grow(void **arr, size_t *cap, size_t nr, size_t size)
{
	size_t ncap;
	void *n;

	if (nr < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	n = realloc(*arr, ncap * size);
	if (!n) {
		pr_err("out of memory for the file table");
		return -1;
	}
	*arr = n;
	*cap = ncap;
	return 0;
}

/* Helpers shared by the fd types */

uint32_t files_encode_dev(dev_t dev)
{
	unsigned int ma = major(dev), mi = minor(dev);

	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
}

int files_reopen_flags(unsigned int flags)
{
	flags &= ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC);
	/* An O_TMPFILE file is reopened as the plain file it has become. */
	if ((flags & O_TMPFILE) == O_TMPFILE)
		flags &= ~O_TMPFILE;
	/* A terminal must never become our controlling tty by being opened. */
	return flags | O_NOCTTY;
}

/* Dump side */

struct ft_entry {
	FileEntry *fe;
	pid_t pid; /* one (pid, fd) holding it, to kcmp against */
	int fd;
	dev_t dev; /* only entries on the same inode need a kcmp */
	ino_t ino;
};

struct file_table {
	struct ft_entry *e; /* e[i].fe->id == i + 1 */
	size_t nr, cap;
	PipeDataEntry **pipes;
	size_t nr_pipes, cap_pipes;
};

struct file_table *file_table_new(void)
{
	struct file_table *ft = calloc(1, sizeof(*ft));

	if (!ft)
		pr_err("out of memory for the file table");
	return ft;
}

void file_table_free(struct file_table *ft)
{
	size_t i;

	if (!ft)
		return;
	for (i = 0; i < ft->nr; i++)
		file_entry__free_unpacked(ft->e[i].fe, NULL);
	for (i = 0; i < ft->nr_pipes; i++)
		pipe_data_entry__free_unpacked(ft->pipes[i], NULL);
	free(ft->e);
	free(ft->pipes);
	free(ft);
}

PipeDataEntry *file_table_find_pipe(struct file_table *ft, uint64_t pipe_id)
{
	size_t i;

	for (i = 0; i < ft->nr_pipes; i++)
		if (ft->pipes[i]->pipe_id == pipe_id)
			return ft->pipes[i];
	return NULL;
}

int file_table_add_pipe(struct file_table *ft, PipeDataEntry *pde)
{
	if (grow((void **)&ft->pipes, &ft->cap_pipes, ft->nr_pipes, sizeof(*ft->pipes))) {
		pipe_data_entry__free_unpacked(pde, NULL);
		return -1;
	}
	ft->pipes[ft->nr_pipes++] = pde;
	return 0;
}

uint32_t file_table_find_ghost(const struct file_table *ft, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < ft->nr; i++) {
		const FileEntry *fe = ft->e[i].fe;

		if (ft->e[i].dev == dev && ft->e[i].ino == ino && fe->reg && fe->reg->deleted)
			return fe->reg->ghost_id;
	}
	return 0;
}

/* The id of the open file description behind @d if an earlier fd had it, else 0. */
static int find_same_file(struct file_table *ft, const struct fd_desc *d, uint32_t *id)
{
	size_t i;
	long r;

	*id = 0;
	for (i = 0; i < ft->nr; i++) {
		struct ft_entry *e = &ft->e[i];

		if (e->dev != d->st.st_dev || e->ino != d->st.st_ino)
			continue;
		r = syscall(SYS_kcmp, e->pid, d->pid, KCMP_FILE, e->fd, d->fd);
		if (r < 0) {
			pr_perror("pid %d fd %d: kcmp against pid %d fd %d", d->pid, d->fd, e->pid,
				  e->fd);
			return -1;
		}
		if (r == 0) {
			*id = e->fe->id;
			return 0;
		}
	}
	return 0;
}

static int add_file(struct dump_ctx *ctx, const struct fd_desc *d, uint32_t *id)
{
	struct file_table *ft = ctx->files;
	const struct fd_ops *ops = NULL;
	struct ft_entry *e;
	FileEntry *fe;
	size_t i;

	for (i = 0; i < NR_FD_TYPES && !ops; i++)
		if (fd_types[i]->match(d, ctx))
			ops = fd_types[i];
	if (!ops) {
		pr_err("pid %d fd %d: %s is not supported yet", d->pid, d->fd, d->path);
		return -1;
	}
	if (grow((void **)&ft->e, &ft->cap, ft->nr, sizeof(*ft->e)))
		return -1;

	fe = malloc(sizeof(*fe));
	if (!fe) {
		pr_err("out of memory for the file table");
		return -1;
	}
	file_entry__init(fe);
	fe->id = ft->nr + 1;
	fe->type = ops->type;
	/* Everything ops->dump() hangs off @fe is malloc'd: free_unpacked frees it. */
	if (ops->dump(ctx, d, fe)) {
		file_entry__free_unpacked(fe, NULL);
		return -1;
	}
	pr_debug("pid %d fd %d: file id %u, %s %s", d->pid, d->fd, fe->id, ops->name, d->path);

	e = &ft->e[ft->nr++];
	e->fe = fe;
	e->pid = d->pid;
	e->fd = d->fd;
	e->dev = d->st.st_dev;
	e->ino = d->st.st_ino;
	*id = fe->id;
	return 0;
}

static int read_fdinfo(struct fd_desc *d, bool *cloexec)
{
	bool have_pos = false, have_flags = false;
	char path[64], buf[4096], *line, *next;
	ssize_t n, len = 0;
	unsigned int flags;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", d->pid, d->fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("pid %d fd %d: cannot open %s", d->pid, d->fd, path);
		return -1;
	}
	/* pos and flags are the first lines; the rest (epoll, inotify) can be long. */
	while (len < (ssize_t)sizeof(buf) - 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0) {
			pr_perror("pid %d fd %d: cannot read %s", d->pid, d->fd, path);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';

	for (line = buf; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (sscanf(line, "pos: %llu", &d->pos) == 1)
			have_pos = true;
		else if (sscanf(line, "flags: %o", &flags) == 1)
			have_flags = true;
	}
	if (!have_pos || !have_flags) {
		pr_err("pid %d fd %d: %s has no pos: or flags: line", d->pid, d->fd, path);
		return -1;
	}
	/* fdinfo shows the per-fd close-on-exec bit as O_CLOEXEC; it is not a file flag. */
	*cloexec = flags & O_CLOEXEC;
	d->flags = flags & ~O_CLOEXEC;
	return 0;
}

static int dump_one_fd(struct dump_ctx *ctx, struct dump_task *t, struct image *img, int fd)
{
	FdinfoEntry fi = FDINFO_ENTRY__INIT;
	char link[64];
	struct fd_desc *d;
	bool cloexec;
	uint32_t id;
	ssize_t n;
	int ret = -1;

	/* fd_desc carries a PATH_MAX buffer: keep it off the stack. */
	d = calloc(1, sizeof(*d));
	if (!d) {
		pr_err("pid %d fd %d: out of memory", t->pid, fd);
		return -1;
	}
	d->fd = fd;
	d->pid = t->pid;
	d->local = -1;

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", t->pid, fd);
	n = readlink(link, d->path, sizeof(d->path) - 1);
	if (n < 0) {
		pr_perror("pid %d fd %d: cannot read link %s", t->pid, fd, link);
		goto out;
	}
	d->path[n] = '\0';
	if (read_fdinfo(d, &cloexec))
		goto out;
	d->local = syscall(SYS_pidfd_getfd, t->pidfd, fd, 0);
	if (d->local < 0) {
		pr_perror("pid %d fd %d: pidfd_getfd", t->pid, fd);
		goto out;
	}
	if (fstat(d->local, &d->st)) {
		pr_perror("pid %d fd %d: fstat %s", t->pid, fd, d->path);
		goto out;
	}

	if (find_same_file(ctx->files, d, &id))
		goto out;
	if (!id && add_file(ctx, d, &id))
		goto out;

	fi.fd = fd;
	fi.id = id;
	fi.flags = cloexec ? FD_CLOEXEC : 0;
	ret = img_write(img, &fi.base);
out:
	if (d->local >= 0)
		close(d->local);
	free(d);
	return ret;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The target's fd numbers, sorted, so images and ids come out in fd order. */
static int list_fds(pid_t pid, int **fds, size_t *nr)
{
	size_t cap = 0;
	struct dirent *de;
	char path[64];
	DIR *dir;
	char *end;
	long fd;

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
		if (*end || fd < 0 || fd > INT32_MAX)
			continue;
		if (grow((void **)fds, &cap, *nr, sizeof(**fds)))
			goto err;
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

int dump_task_files(struct dump_ctx *ctx, struct dump_task *t)
{
	struct image *img;
	size_t i, nr;
	int *fds;
	int ret = -1;

	if (list_fds(t->pid, &fds, &nr))
		return -1;
	img = img_open_write(ctx->dirfd, IMG_FDINFO, t->pid);
	if (!img)
		goto out;
	for (i = 0; i < nr; i++)
		if (dump_one_fd(ctx, t, img, fds[i]))
			goto out;
	ret = 0;
out:
	if (img && img_close(img))
		ret = -1;
	free(fds);
	return ret;
}

int files_write(struct dump_ctx *ctx)
{
	struct file_table *ft = ctx->files;
	struct image *img;
	size_t i;
	int ret = 0;

	img = img_open_write(ctx->dirfd, IMG_FILES, 0);
	if (!img)
		return -1;
	for (i = 0; i < ft->nr && !ret; i++)
		ret = img_write(img, &ft->e[i].fe->base);
	if (img_close(img))
		ret = -1;
	if (ret)
		return -1;

	img = img_open_write(ctx->dirfd, IMG_PIPES_DATA, 0);
	if (!img)
		return -1;
	for (i = 0; i < ft->nr_pipes && !ret; i++)
		ret = img_write(img, &ft->pipes[i]->base);
	if (img_close(img))
		ret = -1;
	return ret;
}

/* Restore side */

struct files_restore_state *files_rst(const struct restore_ctx *ctx)
{
	return ctx->files_st;
}

/* Position of file @id in ctx->files, or -1. */
static ssize_t files_index(const struct restore_ctx *ctx, uint32_t id)
{
	size_t i;

	/* Dump numbers files 1..N in order; anything else is found the slow way. */
	if (id >= 1 && id <= ctx->nr_files && ctx->files[id - 1]->id == id)
		return id - 1;
	for (i = 0; i < ctx->nr_files; i++)
		if (ctx->files[i]->id == id)
			return i;
	return -1;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int check_files(struct restore_ctx *ctx)
{
	const struct fd_ops *ops;
	uint32_t *ids;
	size_t i;
	int ret = -1;

	ids = malloc((ctx->nr_files + 1) * sizeof(*ids));
	if (!ids) {
		pr_err("files.img: out of memory");
		return -1;
	}
	for (i = 0; i < ctx->nr_files; i++)
		ids[i] = ctx->files[i]->id;
	qsort(ids, ctx->nr_files, sizeof(*ids), cmp_u32);
	for (i = 1; i < ctx->nr_files; i++) {
		if (ids[i] == ids[i - 1]) {
			pr_err("files.img: file id %u appears twice", ids[i]);
			goto out;
		}
	}

	for (i = 0; i < ctx->nr_files; i++) {
		FileEntry *fe = ctx->files[i];

		ops = ops_by_type(fe->type);
		if (!ops) {
			pr_err("files.img: file id %u: unknown fd type %d", fe->id, fe->type);
			goto out;
		}
		if (ops->prepare && ops->prepare(ctx, fe))
			goto out;
	}
	ret = 0;
out:
	free(ids);
	return ret;
}

static int check_task_fds(struct restore_ctx *ctx, const struct restore_task *t)
{
	uint32_t *fds;
	size_t i;
	int ret = -1;

	fds = malloc((t->nr_fds + 1) * sizeof(*fds));
	if (!fds) {
		pr_err("fdinfo-%d.img: out of memory", t->pid);
		return -1;
	}
	for (i = 0; i < t->nr_fds; i++) {
		const FdinfoEntry *fi = t->fds[i];

		if (files_index(ctx, fi->id) < 0) {
			pr_err("fdinfo-%d.img: fd %u refers to file id %u, which files.img does "
			       "not have",
			       t->pid, fi->fd, fi->id);
			goto out;
		}
		if (fi->flags & ~FD_CLOEXEC) {
			pr_err("fdinfo-%d.img: fd %u: unknown fd flags %#x", t->pid, fi->fd,
			       fi->flags);
			goto out;
		}
		if (fi->fd > INT32_MAX) {
			pr_err("fdinfo-%d.img: fd %u is out of range", t->pid, fi->fd);
			goto out;
		}
		fds[i] = fi->fd;
	}
	qsort(fds, t->nr_fds, sizeof(*fds), cmp_u32);
	for (i = 1; i < t->nr_fds; i++) {
		if (fds[i] == fds[i - 1]) {
			pr_err("fdinfo-%d.img: fd %u appears twice", t->pid, fds[i]);
			goto out;
		}
	}
	ret = 0;
out:
	free(fds);
	return ret;
}

int restore_load_files(struct restore_ctx *ctx)
{
	void **msgs;
	size_t i, nr;

	ctx->files_st = calloc(1, sizeof(*ctx->files_st));
	if (!ctx->files_st) {
		pr_err("out of memory for the file table");
		return -1;
	}

	if (img_load_all(ctx->dirfd, IMG_FILES, 0, false, &msgs, &nr))
		return -1;
	ctx->files = (FileEntry **)msgs;
	ctx->nr_files = nr;
	if (img_load_all(ctx->dirfd, IMG_PIPES_DATA, 0, false, &msgs, &nr))
		return -1;
	ctx->pipe_data = (PipeDataEntry **)msgs;
	ctx->nr_pipe_data = nr;

	if (check_files(ctx))
		return -1;
	for (i = 0; i < ctx->nr_tasks; i++)
		if (check_task_fds(ctx, &ctx->tasks[i]))
			return -1;
	return 0;
}

static void restore_done_all(struct restore_ctx *ctx)
{
	size_t i;

	for (i = 0; i < NR_FD_TYPES; i++)
		if (fd_types[i]->restore_done)
			fd_types[i]->restore_done(ctx);
}

void restore_files_free(struct restore_ctx *ctx)
{
	struct files_restore_state *st = files_rst(ctx);
	size_t i;

	if (!st)
		return;
	restore_done_all(ctx);
	files_close_all(ctx);
	for (i = 0; i < st->nr_ghosts; i++)
		ghost_file_entry__free_unpacked(st->ghosts[i], NULL);
	free(st->ghosts);
	free(st->ghosts_made);
	free(st);
	ctx->files_st = NULL;
}

int task_max_fd(const struct restore_task *t)
{
	int max = -1;
	size_t i;

	for (i = 0; i < t->nr_fds; i++)
		if ((int)t->fds[i]->fd > max)
			max = t->fds[i]->fd;
	return max;
}

/*
 * Every file of the tree is opened here, in snap, before the first process
 * is made: the processes inherit them, so two fds of different processes
 * that shared one open file description (an offset, a pipe) share it again.
 */
/*
 * A file in the /proc directory of a process of the tree (its own status,
 * say) only exists once that process does: it is opened by the process.
 */
static bool opened_late(const struct restore_ctx *ctx, const FileEntry *fe)
{
	const char *p;
	char *end;
	long pid;

	if (fe->type != FD_TYPE__FD_REG || !fe->reg || strncmp(fe->reg->path, "/proc/", 6))
		return false;
	p = fe->reg->path + 6;
	pid = strtol(p, &end, 10);
	if (end == p || (*end && *end != '/'))
		return false;
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return true;
	return false;
}

/* Open ctx->files[@i] into open_fds[i], at or above @base. -1 logged. */
static int open_parked(struct restore_ctx *ctx, size_t i, int base)
{
	const FileEntry *fe = ctx->files[i];
	int *fd = &files_rst(ctx)->open_fds[i];
	int tmp = ops_by_type(fe->type)->open(ctx, fe);

	if (tmp < 0)
		return -1;
	*fd = fcntl(tmp, F_DUPFD_CLOEXEC, base);
	close(tmp);
	if (*fd < 0) {
		pr_perror("files.img: file id %u: cannot move it above fd %d", fe->id, base);
		return -1;
	}
	return 0;
}

int files_open_all(struct restore_ctx *ctx, int base)
{
	struct files_restore_state *st = files_rst(ctx);
	size_t i;

	st->open_fds = malloc((ctx->nr_files + 1) * sizeof(int));
	if (!st->open_fds) {
		pr_err("out of memory for the file table");
		return -1;
	}
	for (i = 0; i < ctx->nr_files; i++)
		st->open_fds[i] = -1;
	for (i = 0; i < ctx->nr_files; i++)
		if (!opened_late(ctx, ctx->files[i]) && open_parked(ctx, i, base))
			goto err;
	restore_done_all(ctx);
	return 0;
err:
	restore_done_all(ctx);
	files_close_all(ctx);
	return -1;
}

void files_close_all(struct restore_ctx *ctx)
{
	struct files_restore_state *st = files_rst(ctx);

	if (!st || !st->open_fds)
		return;
	for (size_t i = 0; i < ctx->nr_files; i++)
		if (st->open_fds[i] >= 0)
			close(st->open_fds[i]);
	free(st->open_fds);
	st->open_fds = NULL;
}

/* Close everything below @end that is not one of the sorted target fds @fds. */
static void close_others(const int *fds, size_t nr, int end)
{
	int from = 0;
	size_t i;

	for (i = 0; i < nr; i++) {
		if (fds[i] > from)
			close_range(from, fds[i] - 1, 0);
		from = fds[i] + 1;
	}
	if (end > from)
		close_range(from, end - 1, 0);
}

/* Each target fd is a dup3() of its file, which files_open_all() parked above. */
int restore_task_fds(struct restore_ctx *ctx, struct restore_task *t, int service_base)
{
	struct files_restore_state *st = files_rst(ctx);
	int *targets;
	size_t i;

	if (!st || !st->open_fds) {
		pr_err("pid %d: restoring fds before the files were opened", t->pid);
		return -1;
	}
	targets = calloc(t->nr_fds + 1, sizeof(*targets));
	if (!targets) {
		pr_err("pid %d: out of memory for the fd table", t->pid);
		return -1;
	}
	/* Nothing of snap's below service_base is needed; stderr stays for errors. */
	close_range(0, 1, 0);
	if (service_base > 3)
		close_range(3, service_base - 1, 0);
	for (i = 0; i < t->nr_fds; i++) {
		const FdinfoEntry *fi = t->fds[i];
		ssize_t idx = files_index(ctx, fi->id);

		targets[i] = fi->fd;
		/* See opened_late(): kept up there for the next fd of this id. */
		if (st->open_fds[idx] < 0 && open_parked(ctx, idx, service_base + 2)) {
			free(targets);
			return -1;
		}
		if (dup3(st->open_fds[idx], fi->fd, (fi->flags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
			pr_perror("pid %d: cannot put file id %u at fd %u", t->pid, fi->id, fi->fd);
			free(targets);
			return -1;
		}
	}
	qsort(targets, t->nr_fds, sizeof(*targets), cmp_int);
	close_others(targets, t->nr_fds, service_base);
	free(targets);
	return 0;
}
