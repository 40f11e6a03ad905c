// SPDX-License-Identifier: GPL-2.0
/*
 * inotify instances. Dump: every watch of the instance from its fdinfo
 * ("inotify wd:N ino:X sdev:Y mask:M ... f_handle:H"), its inode found by its
 * file handle and saved as a path (files-fhandle.c), with its mask and its
 * watch descriptor. Restore, in snap: a new instance that watches each path
 * again, each watch at its own wd, since programs match events by wd.
 *
 * The kernel gives wds in increasing order per instance (idr_alloc_cyclic:
 * the first free number from the last one given plus one); removing a watch
 * does not give its number back. So the watches are added in wd order, and
 * a number below the next wd is used up by a throw-away watch, added and
 * removed at once. Each removal queues an IN_IGNORED event: the queue is
 * drained before the instance is handed over.
 *
 * Queued events cannot be saved: the kernel only hands them out by read(),
 * which takes them from the process (and a dump that leaves it running must
 * not). FIONREAD tells how many bytes wait, without taking them: the dump
 * then warns, and the restored instance starts with an IN_Q_OVERFLOW event,
 * the kernel's own way of saying that events were lost.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "files/files-fhandle.h"
#include "files/files-kind.h"
#include "log.h"

/* Inodes a throw-away watch may use: the first that no real watch has. */
static const char *const spare_paths[] = {"/", "/proc", "/dev", "/tmp"};

#define EV_SIZE		sizeof(struct inotify_event)
#define MAX_QUEUED_PATH "/proc/sys/fs/inotify/max_queued_events"
/* Making an overflow event costs a watch added and removed per queue slot. */
#define OVERFLOW_MAX_QUEUE (1 << 20)

struct inotify_dump_state {
	struct mount_table *mt; /* read at the first instance */
};

static int cmp_wd(const void *a, const void *b)
{
	const InotifyWdEntry *x = *(InotifyWdEntry *const *)a, *y = *(InotifyWdEntry *const *)b;

	return (x->wd > y->wd) - (x->wd < y->wd);
}

static int add_wd(InotifyEntry *ie, InotifyWdEntry *we)
{
	InotifyWdEntry **n = realloc(ie->wds, (ie->n_wds + 1) * sizeof(*n));

	if (!n)
		return -1;
	ie->wds = n;
	ie->wds[ie->n_wds++] = we;
	return 0;
}

/* One "inotify wd:..." line of @d's fdinfo. */
static int dump_watch(struct inotify_dump_state *is, const struct fd_desc *d, const char *line,
		      InotifyEntry *ie)
{
	unsigned long long wd, mask;
	struct fsn_inode in;
	InotifyWdEntry *we;
	char what[96];
	bool symlink;

	if (!fdinfo_hex(line, "wd", &wd) || !fdinfo_hex(line, "mask", &mask) ||
	    !fdinfo_inode(line, &in) || wd > INT32_MAX) {
		pr_err("pid %d fd %d: cannot parse inotify watch '%s'", d->pid, d->fd, line);
		return -1;
	}
	we = malloc(sizeof(*we));
	if (!we || add_wd(ie, we)) {
		free(we);
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	inotify_wd_entry__init(we);
	we->wd = wd;
	we->mask = mask;
	we->ino = in.ino;
	we->dev = in.dev;
	snprintf(what, sizeof(what), "pid %d fd %d: inotify watch wd %u", d->pid, d->fd, we->wd);
	if (fsn_inode_path(is->mt, &in, what, &we->path, &symlink))
		return -1;
	if (symlink)
		we->has_symlink = we->symlink = true;
	return 0;
}

static int inotify_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	struct inotify_dump_state *is = st;
	char *text, *p, *line;
	InotifyEntry *ie;
	int queued = 0, ret = -1;

	(void)ctx;
	ie = malloc(sizeof(*ie));
	if (!ie) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	inotify_entry__init(ie);
	fe->inotify = ie;
	ie->flags = d->flags;
	if (!is->mt && !(is->mt = mount_table_read(0)))
		return -1;
	text = fdinfo_read(d->pid, d->fd);
	if (!text)
		return -1;
	for (p = text; (line = fdinfo_next_line(&p));)
		if (!strncmp(line, "inotify ", 8) && dump_watch(is, d, line, ie))
			goto out;
	qsort(ie->wds, ie->n_wds, sizeof(*ie->wds), cmp_wd);
	/* FIONREAD only counts: the events stay for the process. */
	if (ioctl(d->local, FIONREAD, &queued)) {
		pr_perror("pid %d fd %d: inotify: FIONREAD", d->pid, d->fd);
		goto out;
	}
	if (queued > 0) {
		pr_warn("pid %d fd %d: inotify: %d bytes of queued events are not saved; the "
			"restored process reads IN_Q_OVERFLOW instead",
			d->pid, d->fd, queued);
		ie->has_queued = true;
		ie->queued = queued;
	}
	ret = 0;
out:
	free(text);
	return ret;
}

static void inotify_dump_free(void *st)
{
	mount_table_free(((struct inotify_dump_state *)st)->mt);
}

static int inotify_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const InotifyEntry *ie = fe->inotify;

	(void)ctx;
	(void)st;
	if (!ie) {
		pr_err("files.img: file id %u: an inotify without its inotify part", fe->id);
		return -1;
	}
	for (size_t i = 0; i < ie->n_wds; i++) {
		const InotifyWdEntry *we = ie->wds[i];

		if (we->wd == 0 || we->wd > INT32_MAX || (i && we->wd <= ie->wds[i - 1]->wd)) {
			pr_err("files.img: file id %u: inotify watch %zu has wd %u; wds are "
			       "positive and increasing",
			       fe->id, i, we->wd);
			return -1;
		}
		if (we->path[0] != '/' ||
		    (we->mask & ~(IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK | IN_ONLYDIR))) {
			pr_err("files.img: file id %u: inotify watch wd %u: bad path '%s' or mask "
			       "%#x",
			       fe->id, we->wd, we->path, we->mask);
			return -1;
		}
	}
	return 0;
}

/* Add and remove a watch: uses up one wd, queues one IN_IGNORED. The wd, or -1 logged. */
static int spare_watch(const FileEntry *fe, int fd, size_t *spare)
{
	int wd;

	for (; *spare < ARRAY_SIZE(spare_paths); (*spare)++) {
		wd = inotify_add_watch(fd, spare_paths[*spare], IN_OPEN | IN_MASK_CREATE);
		/* A real watch has that inode: take the next one. */
		if (wd < 0 && errno == EEXIST)
			continue;
		if (wd < 0 || inotify_rm_watch(fd, wd)) {
			pr_perror("files.img: file id %u: inotify: cannot use up a wd with %s",
				  fe->id, spare_paths[*spare]);
			return -1;
		}
		return wd;
	}
	pr_err("files.img: file id %u: inotify: every spare inode is watched", fe->id);
	return -1;
}

static int add_watches(const FileEntry *fe, int fd)
{
	const InotifyEntry *ie = fe->inotify;
	uint64_t skipped = 0;
	size_t spare = 0;
	/* wds go up to INT_MAX: the one after it does not fit an int. */
	long long next = 1;
	int wd;

	for (size_t i = 0; i < ie->n_wds; i++) {
		const InotifyWdEntry *we = ie->wds[i];
		uint32_t mask = we->mask | IN_MASK_CREATE | (we->symlink ? IN_DONT_FOLLOW : 0);

		for (; next < we->wd; next = wd + 1LL, skipped++) {
			wd = spare_watch(fe, fd, &spare);
			if (wd < 0)
				return -1;
		}
		wd = inotify_add_watch(fd, we->path, mask);
		if (wd < 0) {
			pr_err("files.img: file id %u: inotify watch wd %u: cannot watch %s again: "
			       "%s",
			       fe->id, we->wd, we->path,
			       errno == EEXIST ? "another watch has its inode" : strerror(errno));
			return -1;
		}
		if ((uint32_t)wd != we->wd) {
			pr_err("files.img: file id %u: inotify watch of %s got wd %d, not %u",
			       fe->id, we->path, wd, we->wd);
			return -1;
		}
		next = wd + 1LL;
	}
	if (skipped)
		pr_info("files.img: file id %u: inotify: %llu wds used up to give watches theirs",
			fe->id, (unsigned long long)skipped);
	return 0;
}

/* Read and drop every queued event: the IN_IGNORED of the throw-away watches. */
static int drain(const FileEntry *fe, int fd, size_t limit)
{
	char buf[64 * EV_SIZE];
	size_t total = 0;
	ssize_t n;

	while (total < limit) {
		size_t want = limit - total < sizeof(buf) ? limit - total : sizeof(buf);

		n = read(fd, buf, want);
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			pr_perror("files.img: file id %u: inotify: cannot drain its queue", fe->id);
			return -1;
		}
		total += n;
	}
	return 0;
}

/*
 * Events were lost at the dump: queue IN_Q_OVERFLOW, the event the kernel
 * queues once the queue is full, behind max_queued_events IN_IGNORED events
 * that are then read away. Best effort: a warning if it cannot be made.
 */
static void queue_overflow(const FileEntry *fe, int fd)
{
	unsigned int max = 0;
	size_t spare = 0;
	int queued = 0;
	FILE *f;

	f = fopen(MAX_QUEUED_PATH, "re");
	if (!f || fscanf(f, "%u", &max) != 1 || max > OVERFLOW_MAX_QUEUE) {
		pr_warn("files.img: file id %u: inotify: no IN_Q_OVERFLOW for the events lost at "
			"the dump (%s is %u)",
			fe->id, MAX_QUEUED_PATH, max);
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	for (unsigned int i = 0; i <= max; i++)
		if (spare_watch(fe, fd, &spare) < 0)
			return;
	if (drain(fe, fd, (size_t)max * EV_SIZE))
		return;
	if (ioctl(fd, FIONREAD, &queued) || queued != (int)EV_SIZE)
		pr_warn("files.img: file id %u: inotify: %d bytes queued after making "
			"IN_Q_OVERFLOW, expected %zu",
			fe->id, queued, EV_SIZE);
}

static int inotify_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const InotifyEntry *ie = fe->inotify;
	int fd;

	(void)ctx;
	(void)st;
	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0) {
		pr_perror("files.img: file id %u: inotify_init1", fe->id);
		return -1;
	}
	if (add_watches(fe, fd) || drain(fe, fd, SIZE_MAX))
		goto err;
	if (ie->queued)
		queue_overflow(fe, fd);
	if (fcntl(fd, F_SETFL, ie->flags) < 0) {
		pr_perror("files.img: file id %u: inotify: cannot set flags %#o", fe->id,
			  ie->flags);
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

static const char *const inotify_names[] = {"inotify", NULL};

const struct fd_ops inotify_fd_ops = {
	.type = FD_TYPE__FD_INOTIFY,
	.name = "inotify",
	.anon = inotify_names,
	.dump_state = sizeof(struct inotify_dump_state),
	.dump = inotify_dump,
	.dump_free = inotify_dump_free,
	.prepare = inotify_prepare,
	.open = inotify_open,
};
