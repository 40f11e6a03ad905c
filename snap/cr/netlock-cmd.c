// SPDX-License-Identifier: GPL-2.0
/*
 * `snap netlock`: the network locks outside a dump and a restore. --list
 * shows what the kernel holds; --unlock removes the lock of the dump in a
 * directory (when its restore will never come) or every lock of snap's;
 * --lock takes one for given connections and records it in a directory, as
 * a dump does, for its restore to remove (by hand, or to hide connections a
 * dump does not know of).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmds.h"
#include "log.h"
#include "net/netlock.h"

static int open_dir(const char *dir, bool create)
{
	int fd;

	if (create && mkdir(dir, 0700) && errno != EEXIST) {
		pr_perror("images directory %s", dir);
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		pr_perror("images directory %s", dir);
	return fd;
}

/* The lock of the dump in @dir goes, and its record with it. */
static int unlock_dir(const char *dir)
{
	struct netlock *nl = NULL;
	int fd, ret = -1;

	fd = open_dir(dir, false);
	if (fd < 0)
		return -1;
	if (netlock_load(fd, &nl))
		goto out;
	if (!nl) {
		pr_err("%s has no netlock.img: its dump locked nothing", dir);
		goto out;
	}
	if (!netlock_here(nl)) {
		pr_err("%s: its lock %s is in another network namespace, its tree's (cookie %llu): "
		       "run snap netlock --unlock in that namespace (nsenter --net=...)",
		       dir, nl->table, (unsigned long long)nl->netns);
		goto out;
	}
	if (netlock_release(nl))
		goto out;
	if (unlinkat(fd, "netlock.img", 0)) {
		pr_perror("%s: the lock is gone, but not netlock.img", dir);
		goto out;
	}
	ret = 0;
out:
	netlock_free(nl);
	close(fd);
	return ret;
}

static int lock_dir(const struct snap_opts *opts)
{
	const char *dir = opts->images_dir;
	struct netlock *nl;
	int fd, ret = -1;

	fd = open_dir(dir, true);
	if (fd < 0)
		return -1;
	if (!faccessat(fd, "netlock.img", F_OK, 0)) {
		pr_err("%s holds a lock already (netlock.img): remove it first with "
		       "snap netlock --unlock -D %s",
		       dir, dir);
		goto out;
	}
	if (netlock_take(fd, dir, NETLOCK_METHOD__NETLOCK_NFT, getpid(), opts->lock_conns,
			 opts->nr_lock_conns, &nl))
		goto out;
	printf("%s\n", nl->table);
	netlock_free(nl);
	ret = 0;
out:
	close(fd);
	return ret;
}

int cmd_netlock(const struct snap_opts *opts)
{
	switch (opts->netlock_op) {
	case NETLOCK_OP_LIST:
		return netlock_list(stdout);
	case NETLOCK_OP_UNLOCK:
		if (opts->netlock_all == !!opts->images_dir)
			break;
		return opts->netlock_all ? netlock_release_all() : unlock_dir(opts->images_dir);
	case NETLOCK_OP_LOCK:
		if (!opts->images_dir || !opts->nr_lock_conns)
			break;
		return lock_dir(opts);
	case NETLOCK_OP_NONE:
		break;
	}
	pr_err("netlock takes --list, --unlock -D DIR, --unlock --all or "
	       "--lock -D DIR --lock-conn LOCAL-REMOTE...");
	return -1;
}
