// SPDX-License-Identifier: GPL-2.0
/*
 * Time namespaces (ns-kind.h): the offsets of CLOCK_MONOTONIC and
 * CLOCK_BOOTTIME. Dump reads them from /proc/PID/timens_offsets. The kernel
 * takes offsets only before any task is in the namespace, so restore makes
 * it in snap at load: unshare(CLONE_NEWTIME) (snap's own clocks stay, only
 * its children would go there), the offsets written, the namespace kept
 * open and snap's children sent back to its own; the root, first thing,
 * enters it (setns), and every other task inherits it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "ns/ns-kind.h"
#include "timens.pb-c.h"

#define NSEC_PER_SEC 1000000000LL

struct time_state {
	int fd; /* the new namespace, offsets in, nobody in it yet */
	uint32_t id;
};

static int time_dump(struct dump_ctx *ctx, pid_t pid, uint32_t id)
{
	TimeNsEntry e = TIME_NS_ENTRY__INIT;
	char path[64], buf[256], name[16], *p = buf;
	long long sec, nsec;
	int n, fd;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (len < 0) {
		pr_perror("pid %d: cannot read its time namespace's offsets (%s)", pid, path);
		return -1;
	}
	buf[len] = '\0';
	while (sscanf(p, "%15s %lld %lld%n", name, &sec, &nsec, &n) == 3) {
		p += n;
		if (!strcmp(name, "monotonic")) {
			e.monotonic_sec = sec;
			e.monotonic_nsec = nsec;
		} else if (!strcmp(name, "boottime")) {
			e.boottime_sec = sec;
			e.boottime_nsec = nsec;
		} else {
			pr_err("pid %d: its time namespace has an offset of clock %s, which snap "
			       "does not know",
			       pid, name);
			return -1;
		}
	}
	pr_info("pid %d: time namespace %u: monotonic %+lld.%09lld s, boottime %+lld.%09lld s", pid,
		id, (long long)e.monotonic_sec, (long long)e.monotonic_nsec,
		(long long)e.boottime_sec, (long long)e.boottime_nsec);
	return img_write_one(ctx->dirfd, IMG_TIMENS, id, &e.base);
}

static bool bad_nsec(int64_t nsec)
{
	return nsec < 0 || nsec >= NSEC_PER_SEC;
}

/* The new namespace, offsets written, with nobody in it; snap's children stay in @own's. */
static int make_ns(const TimeNsEntry *e, uint32_t id, int own)
{
	char buf[128];
	int fd, n;

	if (unshare(CLONE_NEWTIME)) {
		pr_perror("cannot make a new time namespace (timens-%u.img)", id);
		return -1;
	}
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	n = snprintf(buf, sizeof(buf), "%d %lld %lld\n%d %lld %lld\n", CLOCK_MONOTONIC,
		     (long long)e->monotonic_sec, (long long)e->monotonic_nsec, CLOCK_BOOTTIME,
		     (long long)e->boottime_sec, (long long)e->boottime_nsec);
	if (fd < 0 || write(fd, buf, n) != n) {
		pr_perror("image timens-%u.img: cannot set the offsets of the new time namespace "
			  "(monotonic %lld s, boottime %lld s)",
			  id, (long long)e->monotonic_sec, (long long)e->boottime_sec);
		if (fd >= 0)
			close(fd);
		setns(own, CLONE_NEWTIME);
		return -1;
	}
	close(fd);
	fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		pr_perror("cannot open the new time namespace");
	if (setns(own, CLONE_NEWTIME)) {
		pr_perror("cannot send snap's children back to its own time namespace");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int time_load(struct restore_ctx *ctx, uint32_t id, void **state)
{
	struct time_state *ts;
	TimeNsEntry *e;
	int own;

	if (img_load_one(ctx->dirfd, IMG_TIMENS, id, (ProtobufCMessage **)&e))
		return -1;
	if (bad_nsec(e->monotonic_nsec) || bad_nsec(e->boottime_nsec)) {
		pr_err("image timens-%u.img: nanoseconds out of range (monotonic %lld, boottime "
		       "%lld)",
		       id, (long long)e->monotonic_nsec, (long long)e->boottime_nsec);
		protobuf_c_message_free_unpacked(&e->base, NULL);
		return -1;
	}
	ts = malloc(sizeof(*ts));
	own = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
	if (!ts || own < 0) {
		pr_perror("cannot open snap's own time namespace");
		free(ts);
		if (own >= 0)
			close(own);
		protobuf_c_message_free_unpacked(&e->base, NULL);
		return -1;
	}
	ts->id = id;
	ts->fd = make_ns(e, id, own);
	close(own);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	*state = ts;
	return ts->fd < 0 ? -1 : 0;
}

/* In the root: into the new namespace; the fd goes, not to be left among its files. */
static int time_restore(struct restore_ctx *ctx, void *state)
{
	struct time_state *ts = state;
	int ret;

	(void)ctx;
	ret = setns(ts->fd, CLONE_NEWTIME);
	if (ret)
		pr_perror("cannot enter the new time namespace (timens-%u.img)", ts->id);
	close(ts->fd);
	ts->fd = -1;
	return ret;
}

static void time_free(void *state)
{
	struct time_state *ts = state;

	if (!ts)
		return;
	if (ts->fd >= 0)
		close(ts->fd);
	free(ts);
}

const struct ns_kind_ops ns_time_ops = {
	.kind = NS_KIND__NS_TIME,
	.dump = time_dump,
	.load = time_load,
	.restore = time_restore,
	.free = time_free,
};
