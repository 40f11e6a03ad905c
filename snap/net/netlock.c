// SPDX-License-Identifier: GPL-2.0
/*
 * The network lock's API (netlock.h) over its parts: the table in the kernel
 * (netlock-table.c, netlock-list.c), its record in the images
 * (netlock-img.c), the keys and names (netlock-conn.c). A lock is taken
 * whole or not at all, and its record is written only once it is there.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net/netlock.h"

/*
 * The calling thread's network namespace, where the lock's table goes, by
 * its cookie (any socket made here tells it); 0 on a kernel without
 * SO_NETNS_COOKIE. nsfs inode numbers would not do: a dead namespace's is
 * given to the next one made.
 */
static uint64_t netns_here(void)
{
	socklen_t len = sizeof(uint64_t);
	uint64_t cookie = 0;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		cookie = 0;
	close(fd);
	return cookie;
}

bool netlock_here(const struct netlock *nl)
{
	return !nl->netns || nl->netns == netns_here();
}

int netlock_take(int dirfd, const char *dir, NetlockMethod method, pid_t pid,
		 const struct netlock_conn *conns, size_t nr, struct netlock **out)
{
	struct netlock *nl;
	char abs[PATH_MAX];

	*out = NULL;
	if (!nr)
		return 0;
	nl = calloc(1, sizeof(*nl));
	if (nl)
		nl->conns = malloc(nr * sizeof(*conns));
	if (!nl || !nl->conns) {
		pr_err("network lock: out of memory for %zu connections", nr);
		netlock_free(nl);
		return -1;
	}
	for (size_t i = 0; i < nr; i++) {
		uint8_t key[40];
		int set;

		if (!netlock_key(&conns[i], key, &set)) {
			pr_err("network lock: connection %zu has an unknown family %d", i,
			       conns[i].family);
			netlock_free(nl);
			return -1;
		}
	}
	memcpy(nl->conns, conns, nr * sizeof(*conns));
	nl->nr_conns = nr;
	nl->method = method;
	nl->lock_time = time(NULL);
	nl->netns = netns_here();
	if (method == NETLOCK_METHOD__NETLOCK_NFT) {
		snprintf(nl->table, sizeof(nl->table), NETLOCK_PREFIX "%d-%llu", pid,
			 (unsigned long long)nl->lock_time);
		if (netlock_nft_create(nl->table, realpath(dir, abs) ? abs : dir, conns, nr)) {
			netlock_free(nl);
			return -1;
		}
		pr_info("network lock %s: %zu connections locked", nl->table, nr);
	}
	if (netlock_write(dirfd, nl)) {
		netlock_undo(dirfd, nl);
		return -1;
	}
	*out = nl;
	return 0;
}

int netlock_release(const struct netlock *nl)
{
	int ret;

	if (!nl || !nl->table[0])
		return 0;
	if (!netlock_here(nl)) {
		pr_info("network lock %s: it is in another network namespace (cookie %llu), gone "
			"with its tree or not joined: nothing to unlock here",
			nl->table, (unsigned long long)nl->netns);
		return 0;
	}
	ret = netlock_nft_delete(nl->table);
	if (ret == -ENOENT) {
		pr_info("network lock %s: not there (removed already): nothing to unlock",
			nl->table);
		return 0;
	}
	if (ret) {
		pr_err("network lock %s: cannot remove it: %s", nl->table, strerror(-ret));
		return -1;
	}
	pr_info("network lock %s: removed", nl->table);
	return 0;
}

void netlock_undo(int dirfd, struct netlock *nl)
{
	if (!nl)
		return;
	netlock_release(nl);
	if (unlinkat(dirfd, "netlock.img", 0) && errno != ENOENT)
		pr_warn("cannot remove netlock.img of the failed dump: %s", strerror(errno));
	netlock_free(nl);
}

void netlock_forget_old(int dirfd, const char *dir)
{
	struct netlock *nl;

	if (faccessat(dirfd, "netlock.img", F_OK, 0))
		return;
	if (!netlock_load(dirfd, &nl) && nl && nl->table[0]) {
		pr_warn("%s held the images of an earlier dump, whose network lock %s is removed "
			"with them",
			dir, nl->table);
		netlock_release(nl);
	}
	netlock_free(nl);
	if (unlinkat(dirfd, "netlock.img", 0) && errno != ENOENT)
		pr_warn("%s: cannot remove the old netlock.img: %s", dir, strerror(errno));
}

/* Each table is tried; one that stays (said why) makes the whole fail. */
static int release_one(const char *table, void *arg)
{
	struct netlock nl = { .method = NETLOCK_METHOD__NETLOCK_NFT };

	snprintf(nl.table, sizeof(nl.table), "%s", table);
	if (netlock_release(&nl))
		*(int *)arg = -1;
	return 0;
}

int netlock_release_all(void)
{
	int failed = 0;

	return netlock_nft_tables(release_one, &failed) ? -1 : failed;
}
