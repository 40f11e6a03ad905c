// SPDX-License-Identifier: GPL-2.0
/*
 * epoll, dump side. An epoll's fdinfo lists each file it watches as
 *
 *	tfd: N events: X data: Y  pos:P ino:I sdev:D
 *
 * where N is the fd number the file was added with, by whichever process
 * added it: that fd may be closed since, or be another file now. So the
 * file is looked for among the fds of the tree with kcmp(KCMP_EPOLL_TFD),
 * which compares an fd with the file the epoll watches as (N, toff), toff
 * counting the files it watches as that same number N before this one:
 * first the epoll holder's own fd N (the usual case, one kcmp), then every
 * fd of the tree on the same inode, kept in kcmp order (KCMP_EPOLL_TFD
 * orders files as KCMP_FILE does) for a binary search. A file no process of
 * the tree holds is refused: nothing could reopen it.
 *
 * The watched file's id is only known once every fd has been dumped: the
 * dump keeps (pid, fd) of a holder, and write() asks the fd table.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files/files-epoll.h"
#include "image.h"
#include "log.h"

/* One "tfd:" line. */
struct tfd_line {
	uint32_t tfd, events, toff;
	uint64_t data;
	unsigned long ino;
	unsigned int sdev;	/* the kernel's dev_t: major << 20 | minor */
	size_t line;
};

static int parse_lines(const struct fd_desc *d, struct tfd_line **out, size_t *nr)
{
	struct tfd_line *v = NULL, *n, l;
	size_t cap = 0;

	*nr = 0;
	for (const char *line = d->fdinfo; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, "tfd:", 4))
			continue;
		if (sscanf(line, "tfd: %u events: %x data: %lx pos:%*i ino:%lx sdev:%x", &l.tfd,
			   &l.events, &l.data, &l.ino, &l.sdev) != 5) {
			pr_err("pid %d fd %d: epoll fdinfo line '%.*s' is not one snap can read",
			       d->pid, d->fd, (int)strcspn(line, "\n"), line);
			goto err;
		}
		if (*nr == cap) {
			cap = cap ? 2 * cap : 16;
			n = realloc(v, cap * sizeof(*n));
			if (!n) {
				pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
				goto err;
			}
			v = n;
		}
		l.line = *nr;
		v[(*nr)++] = l;
	}
	*out = v;
	return 0;
err:
	free(v);
	return -1;
}

static int cmp_tfd_line(const void *a, const void *b)
{
	const struct tfd_line *x = a, *y = b;

	if (x->tfd != y->tfd)
		return x->tfd < y->tfd ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

static int cmp_line(const void *a, const void *b)
{
	const struct tfd_line *x = a, *y = b;

	return (x->line > y->line) - (x->line < y->line);
}

/* toff: lines come in the order kcmp counts them; number each tfd's. */
static void number_toff(struct tfd_line *v, size_t nr)
{
	qsort(v, nr, sizeof(*v), cmp_tfd_line);
	for (size_t i = 0; i < nr; i++)
		v[i].toff = i && v[i - 1].tfd == v[i].tfd ? v[i - 1].toff + 1 : 0;
	qsort(v, nr, sizeof(*v), cmp_line);
}

/* 0: fd @fd of @pid is the file @d watches as @l; 1 or 2 order them; -1 errno. */
static long kcmp_tfd(pid_t pid, int fd, const struct fd_desc *d, const struct tfd_line *l)
{
	struct kcmp_epoll_slot slot = { .efd = d->fd, .tfd = l->tfd, .toff = l->toff };

	return syscall(SYS_kcmp, pid, d->pid, KCMP_EPOLL_TFD, fd, &slot);
}

static int add_task_fds(struct epoll_dump_state *es, pid_t pid)
{
	char path[64];
	struct dirent *de;
	struct stat st;
	size_t cap = es->nr_all;
	DIR *dir;
	int ret = -1;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir) {
		pr_perror("pid %d: cannot open %s", pid, path);
		return -1;
	}
	while ((errno = 0, de = readdir(dir))) {
		struct tree_fd *n;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
		if (stat(path, &st)) {
			/*
			 * Gone since the listing: in a frozen tree only the
			 * parasite's own fds come and go (the socket pair and
			 * pidfd of a holder's fork, read meanwhile), never one
			 * of the tree's.
			 */
			if (errno == ENOENT)
				continue;
			pr_perror("pid %d fd %d: cannot stat %s", pid, fd, path);
			goto out;
		}
		if (es->nr_all == cap) {
			cap = cap ? 2 * cap : 256;
			n = realloc(es->all, cap * sizeof(*n));
			if (!n) {
				pr_err("pid %d: out of memory for the fds of the tree", pid);
				goto out;
			}
			es->all = n;
		}
		es->all[es->nr_all++] = (struct tree_fd){ st.st_dev, st.st_ino, pid, fd, false };
	}
	if (errno) {
		pr_perror("pid %d: cannot read /proc/%d/fd", pid, pid);
		goto out;
	}
	ret = 0;
out:
	closedir(dir);
	return ret;
}

static int cmp_inode(const void *a, const void *b)
{
	const struct tree_fd *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return (x->ino > y->ino) - (x->ino < y->ino);
}

/* Every fd of the tree (which stays frozen), grouped by inode. */
static int index_tree(const struct dump_ctx *ctx, struct epoll_dump_state *es)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct dump_task *t = &ctx->tasks[i];

		if (!t->zombie && !t->shares_files && add_task_fds(es, t->pid))
			return -1;
	}
	if (es->nr_all)
		qsort(es->all, es->nr_all, sizeof(*es->all), cmp_inode);
	es->indexed = true;
	return 0;
}

static int cmp_kcmp(const void *a, const void *b, void *err)
{
	const struct tree_fd *x = a, *y = b;
	long r = syscall(SYS_kcmp, x->pid, y->pid, KCMP_FILE, x->fd, y->fd);

	if (r < 0) {
		*(int *)err = errno;
		return 0;
	}
	return r == 0 ? 0 : r == 1 ? -1 : 1;
}

/* The run of fds on inode (@dev, @ino): its start, and its length in *@nr. */
static struct tree_fd *inode_run(struct epoll_dump_state *es, dev_t dev, ino_t ino, size_t *nr)
{
	struct tree_fd key = { .dev = dev, .ino = ino };
	size_t lo = 0, hi = es->nr_all, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_inode(&es->all[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < es->nr_all && !cmp_inode(&es->all[end], &key); end++)
		;
	*nr = end - lo;
	return es->all + lo;
}

/* Slow way: a binary search of the fds of the tree on the watched file's inode. */
static int search_tree(struct dump_ctx *ctx, struct epoll_dump_state *es,
		       const struct fd_desc *d, const struct tfd_line *l, pid_t *pid, int *fd)
{
	dev_t dev = makedev(l->sdev >> 20, l->sdev & 0xfffff);
	struct tree_fd *run;
	size_t nr, lo = 0, hi;
	int err = 0;

	if (!es->indexed && index_tree(ctx, es))
		return -1;
	run = inode_run(es, dev, l->ino, &nr);
	if (nr && !run->sorted) {
		qsort_r(run, nr, sizeof(*run), cmp_kcmp, &err);
		if (err) {
			errno = err;
			pr_perror("pid %d fd %d: kcmp between the fds of the tree", d->pid, d->fd);
			return -1;
		}
		run->sorted = true;
	}
	for (hi = nr; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		long r = kcmp_tfd(run[mid].pid, run[mid].fd, d, l);

		if (r < 0) {
			pr_perror("pid %d fd %d: kcmp of pid %d fd %d with the file it watches as "
				  "fd %u",
				  d->pid, d->fd, run[mid].pid, run[mid].fd, l->tfd);
			return -1;
		}
		if (r == 0) {
			*pid = run[mid].pid;
			*fd = run[mid].fd;
			return 0;
		}
		if (r == 1)
			lo = mid + 1;
		else
			hi = mid;
	}
	pr_err("pid %d fd %d: the epoll watches a file (added as fd %u, inode %lu) that no "
	       "process of the tree holds; it cannot be restored",
	       d->pid, d->fd, l->tfd, l->ino);
	return -1;
}

static int find_holder(struct dump_ctx *ctx, struct epoll_dump_state *es,
		       const struct fd_desc *d, const struct tfd_line *l, pid_t *pid, int *fd)
{
	long r = kcmp_tfd(d->pid, l->tfd, d, l);

	if (r == 0) {
		*pid = d->pid;
		*fd = l->tfd;
		return 0;
	}
	if (r < 0 && errno != EBADF) {
		pr_perror("pid %d fd %d: kcmp of fd %u with the file the epoll watches as it",
			  d->pid, d->fd, l->tfd);
		return -1;
	}
	return search_tree(ctx, es, d, l, pid, fd);
}

static int add_pending(struct epoll_dump_state *es, const struct fd_desc *d,
		       const struct epoll_pending *p)
{
	struct epoll_pending *n;

	if (es->nr == es->cap) {
		size_t cap = es->cap ? 2 * es->cap : 64;

		n = realloc(es->p, cap * sizeof(*n));
		if (!n) {
			pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
			return -1;
		}
		es->p = n;
		es->cap = cap;
	}
	es->p[es->nr++] = *p;
	return 0;
}

int epoll_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	struct epoll_dump_state *es = st;
	struct tfd_line *lines = NULL;
	EpollEntry *ee;
	size_t nr = 0;
	int ret = -1;

	if (parse_lines(d, &lines, &nr))
		goto out;
	number_toff(lines, nr);
	for (size_t i = 0; i < nr; i++) {
		struct epoll_pending p = { .id = fe->id, .tfd = lines[i].tfd,
					   .events = lines[i].events, .data = lines[i].data };

		if (find_holder(ctx, es, d, &lines[i], &p.pid, &p.fd) || add_pending(es, d, &p))
			goto out;
	}
	ee = malloc(sizeof(*ee));
	if (!ee) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		goto out;
	}
	epoll_entry__init(ee);
	fe->epoll = ee;
	ee->flags = d->flags;
	ee->tfds = nr;
	ret = 0;
out:
	free(lines);
	return ret;
}

int epoll_write(struct dump_ctx *ctx, void *st)
{
	struct epoll_dump_state *es = st;
	struct image *img;
	int ret = 0;

	img = img_open_write(ctx->dirfd, IMG_EPOLL_TFDS, 0);
	if (!img)
		return -1;
	for (size_t i = 0; i < es->nr && !ret; i++) {
		const struct epoll_pending *p = &es->p[i];
		EpollTfdEntry e = EPOLL_TFD_ENTRY__INIT;

		e.id = p->id;
		e.tfd = p->tfd;
		e.events = p->events;
		e.data = p->data;
		e.target = files_dumped_id(ctx, p->pid, p->fd);
		if (!e.target) {
			pr_err("epoll file id %u: its file at pid %d fd %d was not dumped", p->id,
			       p->pid, p->fd);
			ret = -1;
			break;
		}
		ret = img_write(img, &e.base);
	}
	if (img_close(img))
		ret = -1;
	return ret;
}

void epoll_dump_free(void *st)
{
	struct epoll_dump_state *es = st;

	free(es->p);
	free(es->all);
}
