// SPDX-License-Identifier: GPL-2.0
/*
 * fdinfo text, the mount table, and the paths of notification marks' objects
 * (see files-fhandle.h). Used at dump only: restore marks paths again.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files/files-fhandle.h"
#include "ctx.h"
#include "log.h"

struct mount_ent {
	int id;
	dev_t dev;
	char *root;  /* the mount's root inside its filesystem */
	char *point; /* where it is mounted */
};

struct mount_table {
	struct mount_ent *m;
	size_t nr;
};

char *fdinfo_read(pid_t pid, int fd)
{
	size_t len = 0, cap = 4096;
	char path[64], *buf, *n;
	ssize_t got;
	int pfd;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	pfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pfd < 0) {
		pr_perror("pid %d fd %d: cannot open %s", pid, fd, path);
		return NULL;
	}
	buf = malloc(cap);
	while (buf) {
		got = read(pfd, buf + len, cap - len - 1);
		if (got < 0) {
			pr_perror("pid %d fd %d: cannot read %s", pid, fd, path);
			free(buf);
			close(pfd);
			return NULL;
		}
		if (got == 0)
			break;
		len += got;
		if (cap - len - 1 == 0) {
			n = realloc(buf, cap * 2);
			if (!n)
				free(buf);
			buf = n;
			cap *= 2;
		}
	}
	close(pfd);
	if (!buf) {
		pr_err("pid %d fd %d: out of memory for %s", pid, fd, path);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

char *fdinfo_next_line(char **text)
{
	char *line = *text, *nl;

	if (!line || !*line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*text = nl + 1;
	} else {
		*text = line + strlen(line);
	}
	return line;
}

/* Field "@key:" as a word of @line (after a blank or at its start). */
static const char *field(const char *line, const char *key)
{
	size_t klen = strlen(key);
	const char *p = line;

	while ((p = strstr(p, key))) {
		if ((p == line || p[-1] == ' ' || p[-1] == '\t') && p[klen] == ':')
			return p + klen + 1;
		p += klen;
	}
	return NULL;
}

bool fdinfo_hex(const char *line, const char *key, unsigned long long *v)
{
	const char *p = field(line, key);
	char *end;

	if (!p)
		return false;
	*v = strtoull(p, &end, 16);
	return end != p && (*end == ' ' || *end == '\0');
}

dev_t fsn_dev(unsigned long long kdev)
{
	/* The kernel keeps 20 bits of minor (MINORBITS). */
	return makedev(kdev >> 20, kdev & 0xfffff);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool fdinfo_inode(const char *line, struct fsn_inode *in)
{
	unsigned long long ino, sdev, bytes, type;
	const char *p;

	memset(in, 0, sizeof(*in));
	if (!fdinfo_hex(line, "ino", &ino) || !fdinfo_hex(line, "sdev", &sdev))
		return false;
	in->ino = ino;
	in->dev = fsn_dev(sdev);
	/* No handle when the filesystem cannot encode one. */
	if (!fdinfo_hex(line, "fhandle-bytes", &bytes) ||
	    !fdinfo_hex(line, "fhandle-type", &type) || !(p = field(line, "f_handle")))
		return true;
	if (bytes > MAX_HANDLE_SZ)
		return false;
	for (size_t i = 0; i < bytes; i++) {
		int hi = hexval(p[2 * i]), lo = hi < 0 ? -1 : hexval(p[2 * i + 1]);

		if (lo < 0)
			return false;
		in->fh[i] = hi << 4 | lo;
	}
	in->fh_len = bytes;
	in->fh_type = type;
	in->has_fh = true;
	return true;
}

static int add_mount(struct mount_table *mt, const char *line)
{
	char root[4096], point[4096];
	unsigned int ma, mi;
	struct mount_ent *n, *e;
	int id;

	if (sscanf(line, "%d %*d %u:%u %4095s %4095s", &id, &ma, &mi, root, point) != 5) {
		pr_err("/proc/self/mountinfo: cannot parse '%s'", line);
		return -1;
	}
	n = realloc(mt->m, (mt->nr + 1) * sizeof(*n));
	if (!n)
		goto oom;
	mt->m = n;
	e = &mt->m[mt->nr];
	e->id = id;
	e->dev = makedev(ma, mi);
	e->root = mountinfo_unescape(root);
	e->point = mountinfo_unescape(point);
	mt->nr++;
	if (!e->root || !e->point)
		goto oom;
	return 0;
oom:
	pr_err("out of memory for the mount table");
	return -1;
}

struct mount_table *mount_table_read(pid_t pid)
{
	char path[64];

	struct mount_table *mt = calloc(1, sizeof(*mt));
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	if (!mt) {
		pr_err("out of memory for the mount table");
		return NULL;
	}
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/mountinfo");
	f = fopen(path, "re");
	if (!f) {
		pr_perror("cannot open %s", path);
		free(mt);
		return NULL;
	}
	while (getline(&line, &cap, f) > 0) {
		if (add_mount(mt, line)) {
			mount_table_free(mt);
			mt = NULL;
			break;
		}
	}
	free(line);
	fclose(f);
	return mt;
}

void mount_table_free(struct mount_table *mt)
{
	if (!mt)
		return;
	for (size_t i = 0; i < mt->nr; i++) {
		free(mt->m[i].root);
		free(mt->m[i].point);
	}
	free(mt->m);
	free(mt);
}

/* Is @path, not following a last symlink, the mount @id itself? */
static bool is_mount(const char *path, int id)
{
	struct statx stx;

	return !statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) &&
	       (stx.stx_mask & STATX_MNT_ID) && stx.stx_mnt_id == (uint64_t)id;
}

/*
 * A mount of @dev that its mount point reaches (not mounted over), the
 * filesystem's root mount first: handles are opened through it, and paths
 * read back through it are paths snap sees.
 */
static const struct mount_ent *mount_of_dev(const struct mount_table *mt, dev_t dev)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < mt->nr; i++) {
			const struct mount_ent *e = &mt->m[i];

			if (e->dev != dev || (!pass && strcmp(e->root, "/")))
				continue;
			if (is_mount(e->point, e->id))
				return e;
		}
	return NULL;
}

static int strdup_to(const char *s, const char *what, char **out)
{
	*out = strdup(s);
	if (!*out) {
		pr_err("%s: out of memory", what);
		return -1;
	}
	return 0;
}

/* The mount point of @mnt_id in @mt, seen from @pid's root (0: snap's); 1: not in @mt. */
static int mount_point(const struct mount_table *mt, pid_t pid, int mnt_id, const char *what,
		       char **path)
{
	char seen[4200];

	for (size_t i = 0; i < mt->nr; i++) {
		if (mt->m[i].id != mnt_id)
			continue;
		if (pid)
			snprintf(seen, sizeof(seen), "/proc/%d/root%s", pid, mt->m[i].point);
		else
			snprintf(seen, sizeof(seen), "%s", mt->m[i].point);
		if (!is_mount(seen, mnt_id)) {
			pr_err("%s: mount %d at %s is mounted over: its path reaches another "
			       "mount; not supported",
			       what, mnt_id, mt->m[i].point);
			return -1;
		}
		return strdup_to(mt->m[i].point, what, path);
	}
	return 1;
}

bool fsn_mount_known(const struct mount_table *mt, int mnt_id)
{
	for (size_t i = 0; i < mt->nr; i++)
		if (mt->m[i].id == mnt_id)
			return true;
	return false;
}

int fsn_mount_path(const struct mount_table *mt, int mnt_id, const char *what, char **path)
{
	int ret = mount_point(mt, 0, mnt_id, what, path);

	if (ret > 0)
		pr_err("%s: mount %d is not in snap's mount table (another mount namespace?); "
		       "not supported",
		       what, mnt_id);
	return ret ? -1 : 0;
}

int fsn_tree_mount_path(const struct mount_table *mt, pid_t pid, int mnt_id, const char *what,
			char **path)
{
	int ret = mount_point(mt, pid, mnt_id, what, path);

	if (ret > 0)
		pr_err("%s: mount %d is neither in snap's mount table nor in pid %d's; not "
		       "supported",
		       what, mnt_id, pid);
	return ret ? -1 : 0;
}

int fsn_sb_path(const struct mount_table *mt, dev_t dev, const char *what, char **path)
{
	const struct mount_ent *e = mount_of_dev(mt, dev);

	if (!e) {
		pr_err("%s: no mount of the filesystem on device %u:%u is reachable; not supported",
		       what, major(dev), minor(dev));
		return -1;
	}
	return strdup_to(e->point, what, path);
}

static int open_handle(const struct mount_table *mt, const struct fsn_inode *in, const char *what)
{
	const struct mount_ent *e = mount_of_dev(mt, in->dev);
	struct file_handle *fh;
	int mfd, fd;

	if (!e) {
		pr_err("%s: inode %llu is on device %u:%u, which no reachable mount shows; not "
		       "supported",
		       what, (unsigned long long)in->ino, major(in->dev), minor(in->dev));
		return -1;
	}
	/* open_by_handle_at() takes no O_PATH fd for the mount. */
	mfd = open(e->point, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0) {
		pr_perror("%s: cannot open mount point %s", what, e->point);
		return -1;
	}
	fh = malloc(sizeof(*fh) + in->fh_len);
	if (!fh) {
		pr_err("%s: out of memory", what);
		close(mfd);
		return -1;
	}
	fh->handle_bytes = in->fh_len;
	fh->handle_type = in->fh_type;
	memcpy(fh->f_handle, in->fh, in->fh_len);
	fd = open_by_handle_at(mfd, fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		pr_err("%s: inode %llu on device %u:%u cannot be opened by its file handle (%s): "
		       "deleted, or on a filesystem that cannot open handles; not supported",
		       what, (unsigned long long)in->ino, major(in->dev), minor(in->dev),
		       strerror(errno));
	free(fh);
	close(mfd);
	return fd;
}

int fsn_inode_path(const struct mount_table *mt, const struct fsn_inode *in, const char *what,
		   char **path, bool *symlink)
{
	char link[64], buf[4096];
	struct stat st, pst;
	int fd, ret = -1;
	ssize_t n;

	if (!in->has_fh) {
		pr_err("%s: inode %llu on device %u:%u has no file handle to find it by; not "
		       "supported",
		       what, (unsigned long long)in->ino, major(in->dev), minor(in->dev));
		return -1;
	}
	fd = open_handle(mt, in, what);
	if (fd < 0)
		return -1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n < 0 || fstat(fd, &st)) {
		pr_perror("%s: inode %llu: cannot read its path", what,
			  (unsigned long long)in->ino);
		goto out;
	}
	buf[n] = '\0';
	if (st.st_nlink == 0) {
		cut_deleted(buf);
		pr_err("%s: %s was deleted; marks on deleted files are not supported", what, buf);
		goto out;
	}
	if (buf[0] != '/' || lstat(buf, &pst) || pst.st_ino != st.st_ino ||
	    pst.st_dev != st.st_dev) {
		pr_err("%s: inode %llu (%s) cannot be reached by a path (mounted over, or outside "
		       "snap's root); not supported",
		       what, (unsigned long long)in->ino, buf);
		goto out;
	}
	*symlink = S_ISLNK(st.st_mode);
	ret = strdup_to(buf, what, path);
out:
	close(fd);
	return ret;
}
