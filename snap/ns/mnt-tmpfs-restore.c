// SPDX-License-Identifier: GPL-2.0
/*
 * tmpfs-ID.img back into a new, empty tmpfs mount, before anything is
 * mounted over it: files, directories, symlinks, device nodes, FIFOs and
 * hard links, then owners, modes, xattrs and times. Directory times are set
 * last, deepest first, once nothing is created in them any more.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "mnt.pb-c.h"
#include "ns/mnt.h"

struct tmpfs_rst {
	int mntfd;
	uint32_t mnt_id;
	const char *mp;
	int fd; /* the regular file being filled, or -1 */
	char *fd_path;
	TmpfsEntry **dirs; /* their times are set at the end */
	size_t nr_dirs;
};

static struct timespec ts_of(uint64_t ns)
{
	return (struct timespec){.tv_sec = ns / 1000000000ULL, .tv_nsec = ns % 1000000000ULL};
}

static int set_times(struct tmpfs_rst *r, const TmpfsEntry *e)
{
	struct timespec ts[2] = {ts_of(e->atime_ns), ts_of(e->mtime_ns)};

	if (utimensat(r->mntfd, e->path, ts, AT_SYMLINK_NOFOLLOW)) {
		pr_perror("tmpfs mount %u (%s): cannot set the times of %s", r->mnt_id, r->mp,
			  e->path);
		return -1;
	}
	return 0;
}

static int close_file(struct tmpfs_rst *r)
{
	int ret = 0;

	if (r->fd >= 0 && close(r->fd)) {
		pr_perror("tmpfs mount %u (%s): cannot write %s", r->mnt_id, r->mp, r->fd_path);
		ret = -1;
	}
	r->fd = -1;
	free(r->fd_path);
	r->fd_path = NULL;
	return ret;
}

static int put_data(struct tmpfs_rst *r, const TmpfsEntry *e)
{
	if (r->fd < 0 || strcmp(r->fd_path, e->path)) {
		pr_err("image tmpfs-%u.img: data for %s, which is not the file before it",
		       r->mnt_id, e->path);
		return -1;
	}
	if (pwrite(r->fd, e->data.data, e->data.len, e->data_off) != (ssize_t)e->data.len) {
		pr_perror("tmpfs mount %u (%s): cannot write %s at %llu", r->mnt_id, r->mp, e->path,
			  (unsigned long long)e->data_off);
		return -1;
	}
	return 0;
}

/* Create the file of @e (not the root: it exists). */
static int create(struct tmpfs_rst *r, const TmpfsEntry *e)
{
	int ret;

	if (e->link)
		ret = linkat(r->mntfd, e->link, r->mntfd, e->path, 0);
	else if (S_ISDIR(e->mode))
		ret = mkdirat(r->mntfd, e->path, 0700);
	else if (S_ISLNK(e->mode))
		ret = e->target ? symlinkat(e->target, r->mntfd, e->path) : (errno = EINVAL, -1);
	else if (S_ISREG(e->mode)) {
		r->fd = openat(r->mntfd, e->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		r->fd_path = strdup(e->path);
		ret = r->fd < 0 || !r->fd_path ? -1 : ftruncate(r->fd, e->size);
	} else if (S_ISCHR(e->mode) || S_ISBLK(e->mode) || S_ISFIFO(e->mode) || S_ISSOCK(e->mode))
		ret = mknodat(r->mntfd, e->path, (e->mode & S_IFMT) | 0600, e->rdev);
	else
		ret = (errno = EINVAL, -1);
	if (ret)
		pr_perror("tmpfs mount %u (%s): cannot create %s (mode %o)", r->mnt_id, r->mp,
			  e->path, e->mode);
	return ret;
}

static int set_xattrs(struct tmpfs_rst *r, const TmpfsEntry *e)
{
	for (size_t i = 0; i < e->n_xattrs; i++) {
		const TmpfsXattr *x = e->xattrs[i];
		int fd = openat(r->mntfd, e->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0 || fsetxattr(fd, x->name, x->value.data, x->value.len, 0)) {
			pr_perror("tmpfs mount %u (%s): cannot set xattr %s of %s", r->mnt_id,
				  r->mp, x->name, e->path);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* Owner and mode (chown first: it clears set-id bits), xattrs. */
static int finish(struct tmpfs_rst *r, const TmpfsEntry *e)
{
	const char *p = strcmp(e->path, ".") ? e->path : "";
	int flags = AT_SYMLINK_NOFOLLOW | (*p ? 0 : AT_EMPTY_PATH);

	if (fchownat(r->mntfd, p, e->uid, e->gid, flags) ||
	    (!S_ISLNK(e->mode) && fchmodat(r->mntfd, *p ? p : ".", e->mode & 07777, 0))) {
		pr_perror("tmpfs mount %u (%s): cannot set the owner and mode of %s", r->mnt_id,
			  r->mp, e->path);
		return -1;
	}
	return set_xattrs(r, e);
}

/* "." alone, or relative components none of which is "", "." or "..". */
static bool good_path(const char *p)
{
	if (!strcmp(p, "."))
		return true;
	for (;;) {
		size_t n = strcspn(p, "/");

		if (!n || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!p[n])
			return true;
		p += n + 1;
	}
}

/*
 * One record. A regular file's times are set once its data is in, when the
 * next file comes (*pending); a directory's at the very end. 1: @e is kept
 * for that, 0: done with it, -1 logged.
 */
static int one(struct tmpfs_rst *r, TmpfsEntry *e, TmpfsEntry **pending)
{
	if (e->has_data)
		return put_data(r, e) ? -1 : 0;
	if (*pending) {
		if (close_file(r) || set_times(r, *pending))
			return -1;
		protobuf_c_message_free_unpacked(&(*pending)->base, NULL);
		*pending = NULL;
	}
	if (!good_path(e->path)) {
		pr_err("image tmpfs-%u.img: bad path '%s'", r->mnt_id, e->path);
		return -1;
	}
	if ((strcmp(e->path, ".") && create(r, e)) || finish(r, e))
		return -1;
	if (S_ISDIR(e->mode) && !e->link) {
		TmpfsEntry **v = realloc(r->dirs, (r->nr_dirs + 1) * sizeof(*v));

		if (!v) {
			pr_err("out of memory for tmpfs mount %u", r->mnt_id);
			return -1;
		}
		r->dirs = v;
		v[r->nr_dirs++] = e;
		return 1;
	}
	if (S_ISREG(e->mode) && !e->link) {
		*pending = e;
		return 1;
	}
	return set_times(r, e) ? -1 : 0;
}

int mnt_tmpfs_restore(int dirfd, int mntfd, uint32_t mnt_id, const char *mountpoint)
{
	struct tmpfs_rst r = {.mntfd = mntfd, .mnt_id = mnt_id, .mp = mountpoint, .fd = -1};
	struct image *img = img_open_read(dirfd, IMG_TMPFS, mnt_id, false);
	TmpfsEntry *e, *pending = NULL;
	int ret = -1, n;

	if (!img)
		return -1;
	while ((n = img_read(img, (ProtobufCMessage **)&e)) > 0) {
		int kept = one(&r, e, &pending);

		if (kept < 0) {
			protobuf_c_message_free_unpacked(&e->base, NULL);
			goto out;
		}
		if (!kept)
			protobuf_c_message_free_unpacked(&e->base, NULL);
	}
	if (n < 0)
		goto out;
	if (pending && (close_file(&r) || set_times(&r, pending)))
		goto out;
	for (size_t i = r.nr_dirs; i-- > 0;)
		if (set_times(&r, r.dirs[i]))
			goto out;
	ret = 0;
out:
	close_file(&r);
	if (pending)
		protobuf_c_message_free_unpacked(&pending->base, NULL);
	for (size_t i = 0; i < r.nr_dirs; i++)
		protobuf_c_message_free_unpacked(&r.dirs[i]->base, NULL);
	free(r.dirs);
	img_close(img);
	return ret;
}
