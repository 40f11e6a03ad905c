// SPDX-License-Identifier: GPL-2.0
/*
 * Anon-inode fds snap knows and refuses, each by its name: their state lives
 * in the kernel where no interface can read it back (requests in flight in
 * an io_uring, a bpf program's maps and attachments, a perf event's counter
 * and its target, a userfaultfd's registered ranges and pending faults, a
 * KVM guest). The dump stops with one line naming pid, fd and the kind, and
 * the process goes on untouched, as for any failed dump. (snap's own
 * userfaultfd of a live dump is never in the target's table by then: the
 * parasite closes it there.) An anon inode no kind lists gets the fd
 * table's "not supported yet".
 */
#include <string.h>

#include "files/files-kind.h"
#include "log.h"

struct refused {
	const char *anon;	/* as in fd_ops.anon: "name", or "prefix*" */
	const char *what;
};

static const struct refused refused[] = {
	{ "[io_uring]", "io_uring" },
	{ "bpf-map", "a bpf map" },
	{ "bpf-prog", "a bpf program" },
	{ "bpf*", "a bpf object" },
	{ "[perf_event]", "a perf event" },
	{ "[userfaultfd]", "a userfaultfd" },
	{ "kvm-vm", "a KVM virtual machine" },
	{ "kvm-vcpu*", "a KVM vcpu" },
	{ "kvm*", "a KVM object" },
};

static const char *const refused_anon[] = {
	"[io_uring]", "bpf*", "[perf_event]", "[userfaultfd]", "kvm*", NULL,
};

static bool names(const char *pattern, const char *name)
{
	size_t len = strlen(pattern);

	if (len && pattern[len - 1] == '*')
		return !strncmp(pattern, name, len - 1);
	return !strcmp(pattern, name);
}

static int refused_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	const char *what = d->anon;

	(void)ctx;
	(void)st;
	(void)fe;
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		if (names(refused[i].anon, d->anon)) {
			what = refused[i].what;
			break;
		}
	}
	pr_err("pid %d fd %d: %s (%s) is not supported: its kernel state cannot be saved",
	       d->pid, d->fd, what, d->path);
	return -1;
}

/* Never in an image snap wrote. */
static int refused_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	(void)ctx;
	(void)st;
	pr_err("files.img: file id %u: type %d is not one snap restores", fe->id, fe->type);
	return -1;
}

static int refused_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	return refused_prepare(ctx, st, fe);
}

const struct fd_ops anon_refused_fd_ops = {
	.type = 0,	/* no files.img type: nothing of it is ever dumped */
	.name = "refused anon inode",
	.anon = refused_anon,
	.dump = refused_dump,
	.prepare = refused_prepare,
	.open = refused_open,
};
