// SPDX-License-Identifier: GPL-2.0
/*
 * Character devices that are not terminals (/dev/null, /dev/zero,
 * /dev/urandom, ...): reopened by path with the same flags. Restore checks
 * the path is still the same device. Device state beyond the open itself
 * (ioctls, a position) is not saved. Terminals are files-tty.c.
 */
#include <fcntl.h>
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

static int chr_open(struct restore_ctx *ctx, void *kst, const FileEntry *fe)
{
	const ChrEntry *ce = fe->chr;
	struct stat st;
	int fd;

	(void)ctx;
	(void)kst;
	fd = open(ce->path, files_reopen_flags(ce->flags));
	if (fd < 0) {
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
