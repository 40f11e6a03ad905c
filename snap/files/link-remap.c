// SPDX-License-Identifier: GPL-2.0
/* Unlinked files with other hard links, linked back for the restore (see link-remap.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files/link-remap.h"
#include "log.h"

/* A link this dump made: its directory (O_PATH) and name, to remove it if the dump fails. */
struct link_remap {
	int dirfd;
	char name[64];
};

struct link_remaps {
	struct link_remap *r;
	size_t nr;
};

static int remember(struct dump_ctx *ctx, int dirfd, const char *name)
{
	struct link_remaps *lr = ctx->link_remaps;
	struct link_remap *r;

	if (!lr && !(lr = ctx->link_remaps = calloc(1, sizeof(*lr))))
		return -1;
	r = realloc(lr->r, (lr->nr + 1) * sizeof(*r));
	if (!r)
		return -1;
	lr->r = r;
	r[lr->nr].dirfd = dirfd;
	snprintf(r[lr->nr++].name, sizeof(r->name), "%s", name);
	return 0;
}

int link_remap_make(struct dump_ctx *ctx, pid_t pid, int fd, const char *path, char *out,
		    size_t size, const char *what)
{
	char buf[4096], at[4200], src[64], name[64];
	struct stat st, got;
	const char *dir;
	int dirfd;

	if (fstat(fd, &st)) {
		pr_perror("%s: cannot stat it", what);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", path);
	dir = dirname(buf);
	snprintf(name, sizeof(name), ".snap-link-remap.%llx.%llx", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	/* The directory as the task sees it: its root, its mount namespace. */
	snprintf(at, sizeof(at), "/proc/%d/root%s", pid, dir);
	dirfd = open(at, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		pr_perror("%s: --link-remap: cannot open its directory %s", what, dir);
		return -1;
	}
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, src, dirfd, name, AT_SYMLINK_FOLLOW)) {
		/* Another fd of the same file made it already. */
		if (errno != EEXIST || fstatat(dirfd, name, &got, AT_SYMLINK_NOFOLLOW) ||
		    got.st_dev != st.st_dev || got.st_ino != st.st_ino) {
			pr_perror("%s: --link-remap: cannot link it back as %s/%s", what, dir,
				  name);
			close(dirfd);
			return -1;
		}
		close(dirfd);
	} else if (remember(ctx, dirfd, name)) {
		pr_err("%s: out of memory", what);
		unlinkat(dirfd, name, 0);
		close(dirfd);
		return -1;
	}
	snprintf(out, size, "%s/%s", strcmp(dir, "/") ? dir : "", name);
	pr_info("%s: linked back as %s until the restore (--link-remap)", what, out);
	return 0;
}

void link_remap_undo(struct dump_ctx *ctx)
{
	struct link_remaps *lr = ctx->link_remaps;

	for (size_t i = 0; lr && i < lr->nr; i++)
		if (unlinkat(lr->r[i].dirfd, lr->r[i].name, 0))
			pr_warn("cannot remove the --link-remap link %s: %s", lr->r[i].name,
				strerror(errno));
}

void link_remap_free(struct dump_ctx *ctx)
{
	struct link_remaps *lr = ctx->link_remaps;

	for (size_t i = 0; lr && i < lr->nr; i++)
		close(lr->r[i].dirfd);
	if (lr)
		free(lr->r);
	free(lr);
	ctx->link_remaps = NULL;
}
