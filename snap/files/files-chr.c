// SPDX-License-Identifier: GPL-2.0
/*
 * Character devices that are not terminals (/dev/null, /dev/zero,
 * /dev/urandom, ...): reopened by path with the same flags. Restore checks
 * the path is still the same device. Device state beyond the open itself
 * (ioctls, a position) is not saved. Terminals are files-tty.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files/files-chrdev.h"
#include "log.h"

static bool chr_match(const struct fd_desc *d)
{
	return d->path[0] == '/' && !fd_is_terminal(d);
}

static int chr_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	(void)ctx;
	(void)st;
	return chr_entry_fill(d, fe);
}

static int chr_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	(void)ctx;
	(void)st;
	if (!fe->chr) {
		pr_err("files.img: file id %u: a device without its chr part", fe->id);
		return -1;
	}
	return 0;
}

/* A node of device @rdev (new_encode_dev) in @dir or one level below: its path in @out. */
static bool find_node(const char *dir, uint32_t rdev, int depth, char *out, size_t len)
{
	struct dirent *de;
	struct stat st;
	bool found = false;
	DIR *d = opendir(dir);

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(out, len, "%s/%s", dir, de->d_name);
		if (lstat(out, &st))
			continue;
		if (S_ISCHR(st.st_mode) && files_encode_dev(st.st_rdev) == rdev)
			found = true;
		else if (S_ISDIR(st.st_mode) && depth > 0)
			found = find_node(out, rdev, depth - 1, out, len);
	}
	closedir(d);
	return found;
}

/*
 * --evasive-devices: the saved path is gone (a container's /dev is rebuilt),
 * so any node of the same device will do, as CRIU allows.
 */
static int open_evasive(const FileEntry *fe)
{
	const ChrEntry *ce = fe->chr;
	char path[PATH_MAX];
	int fd;

	if (!find_node("/dev", ce->rdev, 1, path, sizeof(path))) {
		pr_err("files.img: file id %u: %s is gone and no node of the same device is under "
		       "/dev (--evasive-devices)", fe->id, ce->path);
		return -1;
	}
	fd = open(path, files_reopen_flags(ce->flags));
	if (fd < 0)
		pr_perror("files.img: file id %u: %s is gone; cannot open %s instead", fe->id,
			  ce->path, path);
	else
		pr_info("files.img: file id %u: %s is gone, opened %s (--evasive-devices)",
			fe->id, ce->path, path);
	return fd;
}

static int chr_open(struct restore_ctx *ctx, void *kst, const FileEntry *fe)
{
	const ChrEntry *ce = fe->chr;
	struct stat st;
	int fd;

	(void)kst;
	fd = open(ce->path, files_reopen_flags(ce->flags));
	if (fd < 0 && errno == ENOENT && ctx->opts->evasive_devices) {
		fd = open_evasive(fe);
		if (fd < 0)
			return -1;
	} else if (fd < 0) {
		pr_err("files.img: file id %u: cannot open %s: %s", fe->id, ce->path,
		       strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		pr_perror("files.img: file id %u: fstat %s", fe->id, ce->path);
		goto err;
	}
	if (!S_ISCHR(st.st_mode) || files_encode_dev(st.st_rdev) != ce->rdev) {
		/* rdev is new_encode_dev(): major in bits 8..19, minor around it. */
		pr_err("files.img: file id %u: %s is now a different device (%u:%u, was %u:%u)",
		       fe->id, ce->path, major(st.st_rdev), minor(st.st_rdev),
		       (ce->rdev & 0xfff00) >> 8, (ce->rdev & 0xff) | ((ce->rdev >> 12) & 0xfff00));
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

static int chr_inherit_key(const FileEntry *fe, char *buf, size_t len)
{
	if (!fe->chr)
		return -1;
	snprintf(buf, len, "%s", fe->chr->path);
	return 0;
}

const struct fd_ops chr_fd_ops = {
	.type = FD_TYPE__FD_CHR,
	.name = "character device",
	.fmts = FD_FMT(S_IFCHR),
	.match = chr_match,
	.dump = chr_dump,
	.open = chr_open,
	.inherit_key = chr_inherit_key,
	.prepare = chr_prepare,
};
