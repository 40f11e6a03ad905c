// SPDX-License-Identifier: GPL-2.0
/*
 * UTS namespaces: the host and NIS domain names. Dump reads them with
 * uname() from inside the namespace (ns_call(): /proc/sys shows the
 * reader's); the root sets them again in its new namespace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "ns/ns-kind.h"
#include "ns/ns.h"
#include "utsns.pb-c.h"

#define UTS_LEN 64 /* __NEW_UTS_LEN: the kernel's limit on both names */

/* In the namespace (ns_call()): its two names, each UTS_LEN + 1 bytes. */
static int read_names(void *arg, int fd)
{
	struct utsname u;
	char out[2][UTS_LEN + 1] = {{0}};

	(void)arg;
	if (uname(&u)) {
		pr_perror("uname in the dumped uts namespace");
		return -1;
	}
	snprintf(out[0], sizeof(out[0]), "%s", u.nodename);
	snprintf(out[1], sizeof(out[1]), "%s", u.domainname);
	return write_full(fd, out, sizeof(out));
}

static int uts_dump(struct dump_ctx *ctx, pid_t pid, uint32_t id)
{
	char names[2][UTS_LEN + 1];
	UtsNsEntry e = UTS_NS_ENTRY__INIT;
	ssize_t n = ns_call(pid, NS_KIND__NS_UTS, read_names, NULL, names, sizeof(names));

	if (n < 0)
		return -1;
	if (n != sizeof(names)) {
		pr_err("pid %d: its uts namespace's names came back short", pid);
		return -1;
	}
	e.nodename = names[0];
	e.domainname = names[1];
	return img_write_one(ctx->dirfd, IMG_UTSNS, id, &e.base);
}

static int uts_load(struct restore_ctx *ctx, uint32_t id, void **state)
{
	UtsNsEntry *e;

	if (img_load_one(ctx->dirfd, IMG_UTSNS, id, (ProtobufCMessage **)&e))
		return -1;
	*state = e;
	if (strlen(e->nodename) > UTS_LEN || strlen(e->domainname) > UTS_LEN) {
		pr_err("image utsns-%u.img: a name is longer than the kernel's %d bytes", id,
		       UTS_LEN);
		return -1;
	}
	return 0;
}

static int uts_restore(struct restore_ctx *ctx, void *state)
{
	const UtsNsEntry *e = state;

	(void)ctx;
	if (sethostname(e->nodename, strlen(e->nodename))) {
		pr_perror("cannot set the hostname %s in the new uts namespace", e->nodename);
		return -1;
	}
	if (setdomainname(e->domainname, strlen(e->domainname))) {
		pr_perror("cannot set the domain name %s in the new uts namespace", e->domainname);
		return -1;
	}
	return 0;
}

static void uts_free(void *state)
{
	if (state)
		protobuf_c_message_free_unpacked(state, NULL);
}

const struct ns_kind_ops ns_uts_ops = {
	.kind = NS_KIND__NS_UTS,
	.dump = uts_dump,
	.load = uts_load,
	.restore = uts_restore,
	.free = uts_free,
};
