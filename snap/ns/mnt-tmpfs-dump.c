// SPDX-License-Identifier: GPL-2.0
/*
 * A tmpfs's files at dump (a container's /dev: device nodes, symlinks, the
 * mountpoints of what is mounted over it). One child of snap enters the
 * task's mount namespace and clones each tmpfs mount alone with
 * open_tree(OPEN_TREE_CLONE), without AT_RECURSIVE: what is mounted over
 * its directories is not in the clone, so the walk sees the tmpfs only.
 * Each file is one tmpfs_entry, directories before their contents; the
 * data of a regular file follows it in pieces, its holes left out.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "mnt.pb-c.h"
#include "ns/mnt.h"

#define PIECE (1U << 20)

struct walk {
	struct image *img;
	uint32_t mnt_id;
	char *buf; /* PIECE bytes */
	struct {
		dev_t dev;
		ino_t ino;
		char *path;
	} * links; /* files with more than one name, by their first */
	size_t nr_links;
};

static uint64_t ns_of(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + ts->tv_nsec;
}

/* Every xattr of the open file @fd into @e. */
static int get_xattrs(struct walk *w, int fd, const char *path, TmpfsEntry *e)
{
	char names[4096];
	ssize_t len = flistxattr(fd, names, sizeof(names));

	if (len < 0) {
		if (errno == ENOTSUP)
			return 0;
		pr_perror("tmpfs mount %u: cannot list the xattrs of %s", w->mnt_id, path);
		return -1;
	}
	for (char *n = names; n < names + len; n += strlen(n) + 1) {
		char val[4096];
		ssize_t vlen = fgetxattr(fd, n, val, sizeof(val));
		TmpfsXattr *x, **v;

		if (vlen < 0) {
			pr_perror("tmpfs mount %u: cannot read xattr %s of %s", w->mnt_id, n, path);
			return -1;
		}
		x = malloc(sizeof(*x) + vlen);
		v = realloc(e->xattrs, (e->n_xattrs + 1) * sizeof(*v));
		if (!x || !v) {
			free(x);
			if (v)
				e->xattrs = v;
			pr_err("out of memory for the xattrs of %s", path);
			return -1;
		}
		tmpfs_xattr__init(x);
		x->name = strdup(n);
		x->value.len = vlen;
		x->value.data = (uint8_t *)(x + 1);
		memcpy(x->value.data, val, vlen);
		e->xattrs = v;
		v[e->n_xattrs++] = x;
		if (!x->name) {
			pr_err("out of memory for the xattrs of %s", path);
			return -1;
		}
	}
	return 0;
}

static void free_xattrs(TmpfsEntry *e)
{
	for (size_t i = 0; i < e->n_xattrs; i++) {
		free(e->xattrs[i]->name);
		free(e->xattrs[i]);
	}
	free(e->xattrs);
}

/* The data of @fd after its entry, extent by extent: holes are not written. */
static int put_data(struct walk *w, int fd, const char *path, off_t size)
{
	off_t off = 0;

	while (off < size) {
		off_t data = lseek(fd, off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break;
		hole = data < 0 ? -1 : lseek(fd, data, SEEK_HOLE);
		if (hole < 0) {
			pr_perror("tmpfs mount %u: cannot find the data of %s", w->mnt_id, path);
			return -1;
		}
		for (off = data; off < hole;) {
			size_t want = hole - off < PIECE ? hole - off : PIECE;
			ssize_t n = pread(fd, w->buf, want, off);
			TmpfsEntry p = TMPFS_ENTRY__INIT;

			if (n <= 0) {
				pr_perror("tmpfs mount %u: cannot read %s at %lld", w->mnt_id, path,
					  (long long)off);
				return -1;
			}
			p.path = (char *)path;
			p.has_data_off = p.has_data = true;
			p.data_off = off;
			p.data.len = n;
			p.data.data = (uint8_t *)w->buf;
			if (img_write(w->img, &p.base))
				return -1;
			off += n;
		}
	}
	return 0;
}

/* A second name of a file met before: its first path, or NULL (and remembered). */
static int hard_link(struct walk *w, const struct stat *st, const char *path, const char **first)
{
	void *v;

	*first = NULL;
	if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
		return 0;
	for (size_t i = 0; i < w->nr_links; i++)
		if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino) {
			*first = w->links[i].path;
			return 0;
		}
	v = realloc(w->links, (w->nr_links + 1) * sizeof(*w->links));
	if (!v) {
		pr_err("out of memory for the hard links of tmpfs mount %u", w->mnt_id);
		return -1;
	}
	w->links = v;
	w->links[w->nr_links].dev = st->st_dev;
	w->links[w->nr_links].ino = st->st_ino;
	w->links[w->nr_links].path = strdup(path);
	if (!w->links[w->nr_links++].path) {
		pr_err("out of memory for the hard links of tmpfs mount %u", w->mnt_id);
		return -1;
	}
	return 0;
}

static int walk_dir(struct walk *w, int dfd, const char *path);

/* @name in directory @dfd, known as @path ("." for the root, @dfd itself). */
static int put_file(struct walk *w, int dfd, const char *name, const char *path)
{
	TmpfsEntry e = TMPFS_ENTRY__INIT;
	char target[4096];
	const char *first;
	struct stat st;
	int fd = -1, ret = -1;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		pr_perror("tmpfs mount %u: cannot stat %s", w->mnt_id, path);
		return -1;
	}
	if (hard_link(w, &st, path, &first))
		return -1;
	e.path = (char *)path;
	e.mode = st.st_mode;
	e.has_uid = e.has_gid = e.has_atime_ns = e.has_mtime_ns = true;
	e.uid = st.st_uid;
	e.gid = st.st_gid;
	e.atime_ns = ns_of(&st.st_atim);
	e.mtime_ns = ns_of(&st.st_mtim);
	if (first) {
		e.link = (char *)first;
		return img_write(w->img, &e.base);
	}
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);

		if (n < 0) {
			pr_perror("tmpfs mount %u: cannot read the symlink %s", w->mnt_id, path);
			return -1;
		}
		target[n] = '\0';
		e.target = target;
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		e.has_rdev = true;
		e.rdev = st.st_rdev;
	} else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		/* O_NOATIME: reading must not change the atimes saved. */
		fd = openat(dfd, name,
			    O_RDONLY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC |
				    (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
		if (fd < 0) {
			pr_perror("tmpfs mount %u: cannot open %s", w->mnt_id, path);
			return -1;
		}
		if (get_xattrs(w, fd, path, &e))
			goto out;
		e.has_size = S_ISREG(st.st_mode);
		e.size = st.st_size;
	}
	if (img_write(w->img, &e.base))
		goto out;
	if (S_ISREG(st.st_mode) && put_data(w, fd, path, st.st_size))
		goto out;
	if (S_ISDIR(st.st_mode) && walk_dir(w, fd, path))
		goto out;
	ret = 0;
out:
	free_xattrs(&e);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Everything in directory @fd (closed by the caller), @path its name. */
static int walk_dir(struct walk *w, int fd, const char *path)
{
	int dfd = dup(fd);
	DIR *dir = dfd < 0 ? NULL : fdopendir(dfd);
	struct dirent *de;
	int ret = 0;

	if (!dir) {
		pr_perror("tmpfs mount %u: cannot list %s", w->mnt_id, path);
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	while (!ret && (errno = 0, de = readdir(dir))) {
		char *sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!strcmp(path, "."))
			sub = strdup(de->d_name);
		else if (asprintf(&sub, "%s/%s", path, de->d_name) < 0)
			sub = NULL;
		if (!sub) {
			pr_err("out of memory walking tmpfs mount %u", w->mnt_id);
			ret = -1;
			break;
		}
		ret = put_file(w, fd, de->d_name, sub);
		free(sub);
	}
	if (!ret && errno) {
		pr_perror("tmpfs mount %u: cannot list %s", w->mnt_id, path);
		ret = -1;
	}
	closedir(dir);
	return ret;
}

/* In the child, in the namespace: clone one tmpfs, walk it into its image. */
static int save_one(struct dump_ctx *ctx, pid_t pid, int rootfd, const struct mnt_tmpfs *t)
{
	struct walk w = {.mnt_id = t->id};
	int treefd, ret = -1;

	/* Relative to the task's root: the mountpoint is as it sees it. */
	treefd = open_tree(rootfd, t->mountpoint[1] ? t->mountpoint + 1 : ".",
			   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (treefd < 0) {
		pr_perror("pid %d: cannot clone tmpfs mount %u at %s", pid, t->id, t->mountpoint);
		return -1;
	}
	w.buf = malloc(PIECE);
	w.img = img_open_write(ctx->dirfd, IMG_TMPFS, t->id);
	if (!w.buf || !w.img)
		goto out;
	ret = put_file(&w, treefd, ".", ".");
out:
	if (w.img && ret)
		img_abort(w.img);
	else if (w.img)
		ret = img_close(w.img);
	for (size_t i = 0; i < w.nr_links; i++)
		free(w.links[i].path);
	free(w.links);
	free(w.buf);
	close(treefd);
	return ret;
}

/* In the child: enter @pid's mount namespace, save each tmpfs. */
static int dump_in_ns(struct dump_ctx *ctx, pid_t pid, const struct mnt_tmpfs *t, size_t nr)
{
	char path[64];
	int rootfd, nsfd;

	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (rootfd < 0 || nsfd < 0 || setns(nsfd, CLONE_NEWNS)) {
		pr_perror("pid %d: cannot enter its mount namespace to save its tmpfs mounts", pid);
		return -1;
	}
	for (size_t i = 0; i < nr; i++)
		if (save_one(ctx, pid, rootfd, &t[i]))
			return -1;
	return 0;
}

int mnt_tmpfs_dump(struct dump_ctx *ctx, pid_t pid, const struct mnt_tmpfs *t, size_t nr)
{
	int status;
	pid_t child;

	if (!nr)
		return 0;
	child = fork();
	if (child < 0) {
		pr_perror("cannot fork to save the tmpfs mounts of pid %d", pid);
		return -1;
	}
	/* setns() into another mount namespace: not in snap itself. */
	if (!child)
		_exit(dump_in_ns(ctx, pid, t, nr) ? 1 : 0);
	if (waitpid(child, &status, 0) != child) {
		pr_perror("cannot wait for the saver of the tmpfs mounts of pid %d", pid);
		return -1;
	}
	if (WIFSIGNALED(status)) {
		pr_err("the saver of the tmpfs mounts of pid %d was killed by signal %d", pid,
		       WTERMSIG(status));
		return -1;
	}
	/* Else it logged its error. */
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}
