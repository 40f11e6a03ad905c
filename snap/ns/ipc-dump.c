// SPDX-License-Identifier: GPL-2.0
/*
 * Dump of an ipc namespace (see ipc.h): the tree is frozen; a child of snap
 * that joined the namespace (ns_call()) reads its sysctls first, as the tree
 * left them, then every segment, semaphore set and message queue, and
 * writes ipcns-ID.img and the segments' pages.
 * POSIX message queues are refused by name: their messages can only be read
 * by taking them out of the queue, and sending them back would fire the
 * queue's mq_notify() registration - a dump that dies in between loses them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "ns/ipc.h"
#include "ns/ns.h"

/*
 * The namespace's own mqueue filesystem, through a mount nobody sees
 * (fsopen() takes the caller's ipc namespace): any file in it is a queue.
 */
static int refuse_mqueues(struct ipc_dump *d)
{
	int fs, mnt = -1, dfd = -1, ret = -1;
	struct dirent *de;
	DIR *dir;

	fs = fsopen("mqueue", FSOPEN_CLOEXEC);
	if (fs < 0 && errno == ENODEV)
		return 0; /* no POSIX message queues in this kernel */
	if (fs >= 0 && !fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
	if (mnt >= 0)
		dfd = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!dir) {
		pr_perror("pid %d: cannot look at its ipc namespace's POSIX message queues",
			  d->pid);
		goto out;
	}
	dfd = -1;
	ret = 0;
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			pr_err("pid %d: its ipc namespace holds POSIX message queue /%s: not "
			       "supported (its messages cannot be read without taking them out)",
			       d->pid, de->d_name);
			ret = -1;
			break;
		}
	closedir(dir);
out:
	if (dfd >= 0)
		close(dfd);
	if (mnt >= 0)
		close(mnt);
	if (fs >= 0)
		close(fs);
	return ret;
}

/*
 * With kernel.shm_rmid_forced set, a segment nobody attaches goes as soon as
 * our reading attachment goes: it is unset while the segments are read.
 */
static int dump_segments(struct ipc_dump *d)
{
	bool forced = d->e.sysctls->has_shm_rmid_forced && d->e.sysctls->shm_rmid_forced;
	int ret;

	if (forced && ipc_sysctl_set("kernel/shm_rmid_forced", 0)) {
		pr_perror("ipc namespace %u: cannot unset kernel.shm_rmid_forced to read its "
			  "segments",
			  d->id);
		return -1;
	}
	ret = ipc_shm_dump(d);
	if (forced && ipc_sysctl_set("kernel/shm_rmid_forced", d->e.sysctls->shm_rmid_forced)) {
		pr_perror("ipc namespace %u: cannot set kernel.shm_rmid_forced back", d->id);
		ret = -1;
	}
	return ret;
}

/* In the child that joined the namespace; what it saved, counted, back through @fd. */
static int dump_in_ns(void *arg, int fd)
{
	struct ipc_dump *d = arg;
	uint64_t counts[4];

	if (ipc_sysctl_read(d->e.sysctls) || refuse_mqueues(d) || dump_segments(d) ||
	    ipc_sem_dump(d) || ipc_msg_dump(d) ||
	    img_write_one(d->ctx->dirfd, IMG_IPCNS, d->id, &d->e.base))
		return -1;
	counts[0] = d->e.n_shm;
	counts[1] = d->nr_pages;
	counts[2] = d->e.n_sem;
	counts[3] = d->e.n_msq;
	return write_full(fd, counts, sizeof(counts));
}

static void dump_free(struct ipc_dump *d)
{
	for (size_t i = 0; i < d->e.n_shm; i++)
		ipc_shm_entry_free(d->e.shm[i]);
	for (size_t i = 0; i < d->e.n_sem; i++)
		ipc_sem_entry_free(d->e.sem[i]);
	for (size_t i = 0; i < d->e.n_msq; i++)
		ipc_msq_entry_free(d->e.msq[i]);
	free(d->e.shm);
	free(d->e.sem);
	free(d->e.msq);
	if (d->e.sysctls)
		free(d->e.sysctls->sem);
	free(d->e.sysctls);
	if (d->pages_fd >= 0)
		close(d->pages_fd);
}

int ipc_ns_dump(struct dump_ctx *ctx, pid_t pid, uint32_t id)
{
	struct ipc_dump d = {.ctx = ctx, .pid = pid, .id = id, .pages_fd = -1};
	uint64_t counts[4];
	int ret = -1;
	ssize_t n;

	ipc_ns_entry__init(&d.e);
	d.e.sysctls = calloc(1, sizeof(*d.e.sysctls));
	if (!d.e.sysctls) {
		pr_err("out of memory");
		return -1;
	}
	ipc_sysctl_entry__init(d.e.sysctls);
	d.pages_fd = img_open_raw(ctx->dirfd, "ipcns-shm-pages-%u.img", id,
				  O_WRONLY | O_CREAT | O_TRUNC);
	if (d.pages_fd < 0)
		goto out;
	n = ns_call(pid, NS_KIND__NS_IPC, dump_in_ns, &d, counts, sizeof(counts));
	if (n < 0)
		goto out;
	if (n != sizeof(counts)) {
		pr_err("pid %d: the reader of its ipc namespace came back short", pid);
		goto out;
	}
	pr_info("ipc namespace %u: %llu segments (%llu pages), %llu semaphore sets, %llu message "
		"queues",
		id, (unsigned long long)counts[0], (unsigned long long)counts[1],
		(unsigned long long)counts[2], (unsigned long long)counts[3]);
	ret = 0;
out:
	dump_free(&d);
	return ret;
}
