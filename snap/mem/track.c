// SPDX-License-Identifier: GPL-2.0
/*
 * Write tracking for incremental dumps (see track.h): the parent set and
 * the trackers left in the processes. The frozen split of a page list is
 * track-split.c's; the final dump's catch-up rounds, track-catchup.c's.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "image.h"
#include "mem/mem-dump.h"
#include "infect.h"
#include "kcompat.h"
#include "log.h"
#include "mem/track.h"
#include "track.pb-c.h"
#include "vpid.h"

#define SCAN_VEC 512

struct track_parent {
	int dirfd;
	InventoryEntry *inv;
	TrackEntry **te;
	size_t nr_te;
};

int track_check_kernel(const struct kfeat *kf, const char *what)
{
	const char *lack = NULL;

	if (!kf->uffd_dev)
		lack = "/dev/userfaultfd (USERFAULTFD_IOC_NEW)";
	else if ((kf->uffd_features & TRACK_UFFD_FEATURES) != TRACK_UFFD_FEATURES)
		lack = "UFFD_FEATURE_WP_ASYNC and UFFD_FEATURE_WP_UNPOPULATED (Linux 6.7+)";
	else if (!kf->pagemap_scan)
		lack = "the PAGEMAP_SCAN ioctl (Linux 6.7+)";
	else if (!kf->pidfd_getfd)
		lack = "pidfd_getfd() (Linux 5.6+)";
	if (!lack)
		return 0;
	pr_err("%s needs %s, which this kernel lacks: make a full dump instead (snap dump "
	       "without --prev-images-dir)", what, lack);
	return -1;
}

static void free_msgs(void **m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		protobuf_c_message_free_unpacked(m[i], NULL);
	free(m);
}

/* CRIU's layout: -D/parent is a symlink to the parent set, as it was named. */
static int link_parent(int dirfd, const char *dir, const char *prev)
{
	if (unlinkat(dirfd, "parent", 0) && errno != ENOENT) {
		pr_perror("images directory %s: cannot remove the old link \"parent\"", dir);
		return -1;
	}
	if (symlinkat(prev, dirfd, "parent")) {
		pr_perror("images directory %s: cannot link \"parent\" to %s", dir, prev);
		return -1;
	}
	return 0;
}

int track_parent_load(struct dump_ctx *ctx)
{
	const struct snap_opts *o = ctx->opts;
	const char *prev = o->prev_images_dir;
	struct track_parent *p;
	struct nspids root;

	if (!prev)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	ctx->parent = p;
	ctx->parent_runs = true;
	p->dirfd = openat(ctx->dirfd, prev, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd < 0) {
		pr_perror("--prev-images-dir %s (relative to %s)", prev, o->images_dir);
		return -1;
	}
	if (faccessat(p->dirfd, "inventory.img", F_OK, 0)) {
		pr_err("--prev-images-dir %s has no inventory.img: not a complete pre-dump", prev);
		return -1;
	}
	if (img_load_one(p->dirfd, IMG_INVENTORY, 0, (ProtobufCMessage **)&p->inv))
		return -1;
	/* Images name the root as its own pid namespace sees it (1 in a container). */
	if (proc_nspids(o->pid, 0, &root)) {
		pr_perror("pid %d: cannot read its pid in its pid namespace", o->pid);
		return -1;
	}
	if (p->inv->root_pid != (uint32_t)root.pid) {
		pr_err("--prev-images-dir %s holds a dump of pid %u, not of pid %d", prev,
		       p->inv->root_pid, o->pid);
		return -1;
	}
	if (!p->inv->has_dump_id) {
		pr_err("--prev-images-dir %s was not made by snap pre-dump (no dump id)", prev);
		return -1;
	}
	if (faccessat(p->dirfd, "track.img", F_OK, 0)) {
		pr_err("--prev-images-dir %s has no track.img: only a snap pre-dump can be a parent",
		       prev);
		return -1;
	}
	if (img_load_all(p->dirfd, IMG_TRACK, 0, false, (void ***)&p->te, &p->nr_te))
		return -1;
	return link_parent(ctx->dirfd, o->images_dir, prev);
}

void track_parent_free(struct dump_ctx *ctx)
{
	struct track_parent *p = ctx->parent;

	if (!p)
		return;
	if (p->dirfd >= 0)
		close(p->dirfd);
	if (p->inv)
		protobuf_c_message_free_unpacked(&p->inv->base, NULL);
	free_msgs((void **)p->te, p->nr_te);
	free(p);
	ctx->parent = NULL;
}

uint64_t track_parent_id(const struct dump_ctx *ctx)
{
	return ctx->parent ? ctx->parent->inv->dump_id : 0;
}

size_t track_parent_trackers(const struct dump_ctx *ctx, const TrackEntry *const **te)
{
	*te = ctx->parent ? (const TrackEntry *const *)ctx->parent->te : NULL;
	return ctx->parent ? ctx->parent->nr_te : 0;
}

static const TrackEntry *parent_entry(const struct dump_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; ctx->parent && i < ctx->parent->nr_te; i++)
		if (ctx->parent->te[i]->pid == (uint32_t)pid)
			return ctx->parent->te[i];
	return NULL;
}

static uint64_t fd_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

int track_find(struct dump_ctx *ctx, struct dump_task *t)
{
	const TrackEntry *e = parent_entry(ctx, t->pid);
	struct track_task *trk;
	int fd;

	if (!e || t->trk)
		return 0;
	fd = syscall(SYS_pidfd_getfd, t->pidfd, e->fd, 0);
	if (fd >= 0 && fd_ino(fd) != e->ino) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		pr_warn("pid %d: the write tracker of %s (fd %d) is gone (did it exec, or is it "
			"another process?): all its pages are saved",
			t->pid, ctx->opts->prev_images_dir, e->fd);
		return 0;
	}
	trk = calloc(1, sizeof(*trk));
	if (!trk) {
		close(fd);
		return -1;
	}
	*trk = (struct track_task){ .uffd = fd, .fd = e->fd, .ino = e->ino };
	t->trk = trk;
	return img_load_all(ctx->parent->dirfd, IMG_PAGEMAP, t->vpid, true,
			    (void ***)&trk->parent_pm, &trk->nr_parent_pm);
}

int track_arm(struct dump_ctx *ctx, struct dump_task *t)
{
	struct parasite_track *pt = &t->ctl->args->track;
	struct track_task *trk;
	int devfd, uffd = -1, ret;

	(void)ctx;
	devfd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (devfd < 0) {
		pr_perror("cannot open /dev/userfaultfd");
		return -1;
	}
	pt->features = TRACK_UFFD_FEATURES;
	pt->fd = -1;
	ret = parasite_cmd_fds(t->ctl, PARASITE_CMD_TRACK_ARM, &devfd, 1, &uffd);
	close(devfd);
	if (ret || uffd < 0) {
		pr_err("pid %d: cannot make its write tracker", t->pid);
		if (uffd >= 0)
			close(uffd);
		return -1;
	}
	trk = calloc(1, sizeof(*trk));
	if (!trk) {
		close(uffd);
		return -1;
	}
	*trk = (struct track_task){ .uffd = uffd, .fd = pt->fd, .ino = fd_ino(uffd), .fresh = true };
	t->trk = trk;
	pr_info("pid %d: write tracker armed as its fd %d", t->pid, pt->fd);
	return 0;
}

/* Whether fd @fd of @t is the tracker @e names: the same file, by inode. */
static bool holds_tracker(const struct dump_task *t, const TrackEntry *e)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->pid, e->fd);
	return !stat(path, &st) && st.st_ino == e->ino;
}

static int add_drop(const struct dump_task *t, struct parasite_track *pt, int fd)
{
	for (unsigned int i = 0; i < pt->nr_drop; i++)
		if (pt->drop[i] == fd)
			return 0;
	if (pt->nr_drop == PARASITE_MAX_DROP) {
		pr_err("pid %d holds more than %d write trackers", t->pid, PARASITE_MAX_DROP);
		return -1;
	}
	pt->drop[pt->nr_drop++] = fd;
	return 0;
}

/* The uffd features fd @fd of @pid was made with (its fdinfo's API line), or 0. */
static uint64_t uffd_features(pid_t pid, int fd)
{
	unsigned long long api, features = 0;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "API:\t%llx:%llx", &api, &features) == 2)
			break;
	fclose(f);
	return features;
}

/*
 * Trackers that no parent set names: those of a pre-dump whose chain this
 * dump does not continue (a full dump after a pre-dump, as runc's plain
 * checkpoint after `--pre-dump`). They are snap's, not the program's, and
 * are known by how the parasite made them: a uffd in asynchronous
 * write-protect mode at 64 or fewer below the soft fd limit.
 */
static int find_orphans(const struct dump_task *t, struct parasite_track *pt)
{
	char path[64], link[64];
	struct rlimit rl;
	struct dirent *de;
	long base;
	ssize_t n;
	DIR *d;
	int ret = 0;

	if (prlimit(t->pid, RLIMIT_NOFILE, NULL, &rl))
		return 0;	/* a task gone: the dump says so where it reads it next */
	/* As the parasite's track_arm() places it. */
	if (rl.rlim_cur > (1 << 20))
		rl.rlim_cur = 1 << 20;
	base = rl.rlim_cur > 128 ? (long)rl.rlim_cur - 64 : (long)rl.rlim_cur / 2;
	snprintf(path, sizeof(path), "/proc/%d/fd", t->pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (!ret && (de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (fd < base)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->pid, fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (strcmp(link, "anon_inode:[userfaultfd]") ||
		    !(uffd_features(t->pid, fd) & UFFD_FEATURE_WP_ASYNC))
			continue;
		pr_info("pid %d fd %d: a write tracker of an earlier pre-dump; closed", t->pid,
			fd);
		ret = add_drop(t, pt, fd);
	}
	closedir(d);
	return ret;
}

int track_take(struct dump_ctx *ctx, struct dump_task *t)
{
	struct parasite_track *pt = &t->ctl->args->track;

	if (ctx->parent && track_find(ctx, t))
		return -1;
	pt->nr_drop = 0;
	for (size_t i = 0; ctx->parent && i < ctx->parent->nr_te; i++) {
		const TrackEntry *e = ctx->parent->te[i];

		if (holds_tracker(t, e) && add_drop(t, pt, e->fd))
			return -1;
	}
	if (find_orphans(t, pt))
		return -1;
	if (!pt->nr_drop)
		return 0;
	if (parasite_cmd(t->ctl, PARASITE_CMD_TRACK_DROP)) {
		pr_err("pid %d: cannot close the write trackers in its fd table", t->pid);
		return -1;
	}
	if (t->trk)
		t->trk->fd = -1;
	return 0;
}

/*
 * Another process may still hold the tracker (a child forked since the
 * pre-dump has a copy of the fd until its own turn): unregistering, not
 * closing, is what frees the ranges.
 */
int track_release(struct dump_task *t)
{
	for (size_t i = 0; t->trk && i < t->vmas.nr; i++) {
		const struct vma *v = &t->vmas.v[i];
		struct uffdio_range r = { .start = v->start, .len = v->end - v->start };

		if (!vma_dumps_pages(v))
			continue;
		if (ioctl(t->trk->uffd, UFFDIO_UNREGISTER, &r) && errno != EINVAL) {
			pr_perror("pid %d: cannot unregister %lx-%lx from its write tracker",
				  t->pid, (unsigned long)v->start, (unsigned long)v->end);
			return -1;
		}
	}
	track_task_free(t);
	return 0;
}

int track_write(struct dump_ctx *ctx)
{
	struct image *img = img_open_write(ctx->dirfd, IMG_TRACK, 0);

	if (!img)
		return -1;
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct track_task *trk = ctx->tasks[i].trk;
		TrackEntry e = TRACK_ENTRY__INIT;

		if (!trk || trk->fd < 0)
			continue;
		e.pid = ctx->tasks[i].pid;
		e.fd = trk->fd;
		e.ino = trk->ino;
		if (img_write(img, &e.base)) {
			img_abort(img);
			return -1;
		}
	}
	return img_close(img);
}

void track_task_free(struct dump_task *t)
{
	struct track_task *trk = t->trk;

	if (!trk)
		return;
	if (trk->uffd >= 0)
		close(trk->uffd);
	free_msgs((void **)trk->parent_pm, trk->nr_parent_pm);
	free(trk);
	t->trk = NULL;
}
