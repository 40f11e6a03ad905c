// SPDX-License-Identifier: GPL-2.0
/*
 * `snap dedup -D DIR`: fold the chain of parent sets of an incremental dump
 * (or pre-dump) into DIR's own images, so that DIR no longer needs them:
 * each process's pages are resolved through the chain (mem/page-chain.h)
 * into a new pages-PID.img, its pagemap loses its in_parent marks, and the
 * "parent" link and the inventory's parent id go. The parent sets are left
 * as they are.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmds.h"
#include "image.h"
#include "log.h"
#include "mem/page-chain.h"

static void free_pm(PagemapEntry **pm, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		protobuf_c_message_free_unpacked(&pm[i]->base, NULL);
	free(pm);
}

/* The staged pages into pages-PID.img, through a new file renamed over the old one. */
static int write_pages(int dirfd, const char *dir, pid_t pid, int from)
{
	char tmp[64], name[64];
	struct stat st;
	off_t off = 0;
	int fd, ret = -1;

	snprintf(tmp, sizeof(tmp), "pages-%d.img.dedup", pid);
	snprintf(name, sizeof(name), "pages-%d.img", pid);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(from, &st))
		goto err;
	while (off < st.st_size)
		if (sendfile(fd, from, &off, st.st_size - off) <= 0)
			goto err;
	if (fsync(fd) || close(fd)) {
		fd = -1;
		goto err;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name))
		goto err;
	return 0;
err:
	pr_perror("%s: writing the folded %s", dir, name);
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	return ret;
}

static int fold_task(int dirfd, const char *dir, uint64_t parent_id, pid_t pid)
{
	PagemapEntry **pm = NULL;
	struct image *img = NULL;
	size_t nr = 0;
	int fd = -1, ret = -1;

	if (img_load_all(dirfd, IMG_PAGEMAP, pid, false, (void ***)&pm, &nr))
		return -1;
	if (!page_chain_needed(pm, nr)) {
		ret = 0;
		goto out;
	}
	if (page_chain_resolve(dirfd, dir, parent_id, pid, pm, nr, &fd) ||
	    write_pages(dirfd, dir, pid, fd))
		goto out;
	img = img_open_write(dirfd, IMG_PAGEMAP, pid);
	for (size_t i = 0; img && i < nr; i++)
		if (img_write(img, &pm[i]->base))
			goto out;
	ret = img ? img_close(img) : -1;
	img = NULL;
out:
	img_abort(img);
	if (fd >= 0)
		close(fd);
	free_pm(pm, nr);
	return ret;
}

/* Every pagemap-PID.img of the set: a pre-dump has no pstree.img to list them. */
static int fold_all(int dirfd, const char *dir, uint64_t parent_id)
{
	int fd = dup(dirfd), ret = 0;
	struct dirent *de;
	DIR *d;

	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		pr_perror("images directory %s", dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (!ret && (de = readdir(d))) {
		unsigned int pid;
		char end;

		if (sscanf(de->d_name, "pagemap-%u.im%c", &pid, &end) == 2 && end == 'g')
			ret = fold_task(dirfd, dir, parent_id, pid);
	}
	closedir(d);
	return ret;
}

int cmd_dedup(const struct snap_opts *opts)
{
	const char *dir = opts->images_dir;
	InventoryEntry *inv = NULL;
	int dirfd, ret = -1;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		pr_perror("images directory %s", dir);
		return -1;
	}
	if (img_load_one(dirfd, IMG_INVENTORY, 0, (ProtobufCMessage **)&inv))
		goto out;
	if (!inv->has_parent_id || !inv->parent_id) {
		pr_info("%s has no parent set: nothing to fold", dir);
		ret = 0;
		goto out;
	}
	if (fold_all(dirfd, dir, inv->parent_id))
		goto out;
	/* The set stands alone now: no link, no parent id. */
	inv->has_parent_id = false;
	inv->parent_id = 0;
	if (img_write_one(dirfd, IMG_INVENTORY, 0, &inv->base))
		goto out;
	if (unlinkat(dirfd, "parent", 0) && errno != ENOENT) {
		pr_perror("%s: cannot remove the link \"parent\"", dir);
		goto out;
	}
	ret = 0;
out:
	if (inv)
		protobuf_c_message_free_unpacked(&inv->base, NULL);
	close(dirfd);
	return ret;
}
