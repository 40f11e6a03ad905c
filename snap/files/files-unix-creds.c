// SPDX-License-Identifier: GPL-2.0
/*
 * Unix sockets, dump: the pids of queued SCM_CREDENTIALS as the tree's pid
 * namespace sees them. The kernel keeps the sender's pid with the message
 * and gives it to a reader as the reader's pid namespace numbers it. snap
 * reads it as its own namespace does, and /proc translates only a pid that
 * is still alive: a sender that has exited since has no number in the
 * tree's namespace that snap can look up. So when a queue holds one, it is
 * peeked again by a process made inside the tree's pid namespace, which
 * reads every message's pid as the tree does.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "files/files-unix.h"
#include "log.h"
#include "ns/ns.h"
#include "vpid.h"

struct repeek {
	int fd, type;
	bool shut;
	const char *who;
	size_t nr;
};

/* The grandchild, inside the namespace: each message's pid, 0 without credentials. */
static int repeek_inside(const struct repeek *r, int out)
{
	struct unix_msg *msgs;
	pid_t *pids;
	size_t nr;
	int ret = -1;

	if (unix_peek_queue(r->fd, r->type, r->shut, r->who, &msgs, &nr))
		return -1;
	pids = calloc(nr + 1, sizeof(*pids));
	if (!pids) {
		pr_err("%s: out of memory for the pids of its queue", r->who);
	} else if (nr != r->nr) {
		pr_err("%s: its queue holds %zu messages, not %zu, read from its pid namespace",
		       r->who, nr, r->nr);
	} else {
		size_t len = nr * sizeof(*pids);

		for (size_t i = 0; i < nr; i++)
			pids[i] = msgs[i].has_creds ? msgs[i].creds.pid : 0;
		ret = write(out, pids, len) == (ssize_t)len ? 0 : -1;
		if (ret)
			pr_perror("%s: cannot pass on the pids of its queue", r->who);
	}
	free(pids);
	unix_msgs_free(msgs, nr);
	return ret;
}

/* In ns_call()'s child, which joined the pid namespace for its children only. */
static int repeek(void *arg, int out)
{
	const struct repeek *r = arg;
	int status;
	pid_t child = fork();

	if (child < 0) {
		pr_perror("%s: fork into its tree's pid namespace", r->who);
		return -1;
	}
	if (!child)
		_exit(repeek_inside(r, out) ? 1 : 0);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

int unix_creds_vpids(const struct dump_ctx *ctx, int fd, int type, bool shut, const char *who,
		     struct unix_msg *msgs, size_t nr)
{
	struct repeek r = { .fd = fd, .type = type, .shut = shut, .who = who, .nr = nr };
	bool lost = false;
	pid_t *pids;
	ssize_t n;

	for (size_t i = 0; i < nr && !lost; i++)
		lost = msgs[i].has_creds && msgs[i].creds.pid > 0 &&
		       !dump_vpid(ctx, msgs[i].creds.pid);
	if (!lost)
		return 0;
	pids = calloc(nr, sizeof(*pids));
	if (!pids) {
		pr_err("%s: out of memory for the pids of its queue", who);
		return -1;
	}
	n = ns_call(ctx->tasks[0].pid, NS_KIND__NS_PID, repeek, &r, pids, nr * sizeof(*pids));
	if (n >= 0 && n != (ssize_t)(nr * sizeof(*pids)))
		pr_err("%s: the pids of its queue, read from its pid namespace, came short", who);
	if (n == (ssize_t)(nr * sizeof(*pids)))
		for (size_t i = 0; i < nr; i++)
			if (msgs[i].has_creds) {
				msgs[i].creds.pid = pids[i];
				msgs[i].creds_in_tree = true;
			}
	free(pids);
	return n == (ssize_t)(nr * sizeof(*pids)) ? 0 : -1;
}
