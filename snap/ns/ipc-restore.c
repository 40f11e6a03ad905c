// SPDX-License-Identifier: GPL-2.0
/*
 * Restore of an ipc namespace (see ipc.h). In snap, before any process:
 * ipcns-ID.img is read and checked whole, and its pages file against it. In
 * the tree's root, just cloned into its new ipc namespace and still root:
 * limits raised, every segment (filled), semaphore set and message queue
 * made with its id, then the sysctls set as dumped.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "ns/ipc.h"
#include "ns/ns-kind.h"

static int check_pages_file(struct restore_ctx *ctx, const struct ipc_restore *r)
{
	struct stat st;
	int fd;

	if (!r->e->n_shm)
		return 0;
	fd = img_open_raw(ctx->dirfd, "ipcns-shm-pages-%u.img", r->id, O_RDONLY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st)) {
		pr_perror("image ipcns-shm-pages-%u.img", r->id);
		close(fd);
		return -1;
	}
	close(fd);
	if ((uint64_t)st.st_size != r->nr_pages * PAGE_SIZE) {
		pr_err("image ipcns-shm-pages-%u.img: %s (%lld bytes, ipcns-%u.img describes %llu)",
		       r->id,
		       (uint64_t)st.st_size < r->nr_pages * PAGE_SIZE ? "truncated" : "too long",
		       (long long)st.st_size, r->id, (unsigned long long)(r->nr_pages * PAGE_SIZE));
		return -1;
	}
	return 0;
}

int ipc_ns_load(struct restore_ctx *ctx, uint32_t id, void **state)
{
	struct ipc_restore *r = calloc(1, sizeof(*r));

	*state = r;
	if (!r) {
		pr_err("out of memory");
		return -1;
	}
	r->id = id;
	if (img_load_one(ctx->dirfd, IMG_IPCNS, id, (ProtobufCMessage **)&r->e))
		return -1;
	if (ipc_sysctl_check(r->e->sysctls, id) || ipc_shm_check(r) || ipc_sem_check(r) ||
	    ipc_msg_check(r) || check_pages_file(ctx, r))
		return -1;
	return 0;
}

/* The root's ipc namespace must be the new, empty one: ids are taken as they were. */
static int check_empty(void)
{
	static const char *const kinds[] = {"shm", "sem", "msg"};

	for (size_t i = 0; i < 3; i++) {
		size_t nr;
		int *ids;

		if (ipc_list_ids(kinds[i], &ids, &nr))
			return -1;
		free(ids);
		if (nr) {
			pr_err("ipc namespace: not a new one: it already has %zu %s objects", nr,
			       kinds[i]);
			return -1;
		}
	}
	return 0;
}

int ipc_ns_restore(struct restore_ctx *ctx, void *state)
{
	struct ipc_restore *r = state;

	if (check_empty() ||
	    ipc_sysctl_write(r->e->sysctls, false, ipc_msg_largest(r), ipc_msg_room(r)) ||
	    ipc_shm_restore(ctx, r) || ipc_sem_restore(r) || ipc_msg_restore(r) ||
	    ipc_sysctl_write(r->e->sysctls, true, 0, 0))
		return -1;
	pr_info("ipc namespace %u: %zu segments, %zu semaphore sets, %zu message queues", r->id,
		r->e->n_shm, r->e->n_sem, r->e->n_msq);
	return 0;
}

void ipc_ns_free(void *state)
{
	struct ipc_restore *r = state;

	if (!r)
		return;
	if (r->e)
		protobuf_c_message_free_unpacked(&r->e->base, NULL);
	free(r);
}

const struct ns_kind_ops ns_ipc_ops = {
	.kind = NS_KIND__NS_IPC,
	.dump = ipc_ns_dump,
	.load = ipc_ns_load,
	.restore = ipc_ns_restore,
	.free = ipc_ns_free,
};
