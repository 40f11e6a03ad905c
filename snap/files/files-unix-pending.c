// SPDX-License-Identifier: GPL-2.0
/*
 * Unix sockets, collect: data written into connections a listener has not
 * accepted yet. Such a connection's far end sits in the listener's queue and
 * no fd refers to it, so nothing can peek at what it holds (a listener
 * cannot be peeked; sock_diag lists the connecting sockets and how much they
 * sent, not the data). CRIU refuses this case; snap does this instead, the
 * tree frozen:
 *
 *  1. every task that holds a connecting socket of the listener gets the
 *     parasite (before anything changes: a failure here leaves all as it was);
 *  2. every waiting connection is accept()ed through our duplicate of the
 *     listener, oldest first, and what it holds (bytes, SCM_RIGHTS fds) read;
 *  3. for each, in the same order, a fresh socket connects to the listener,
 *     writes that data again, takes the old socket's shutdown state, options
 *     and file flags: the listener's queue is as it was, fresh connections in
 *     the same places with the same data;
 *  4. the parasite dup3()s each fresh socket onto every fd number that held
 *     the old one (PARASITE_CMD_REPLACE_FD); the old sockets and the
 *     connections we accepted go away with our fds.
 *
 * The dump then sees the fresh sockets and takes their data from here.
 * What the task can tell: the connecting socket's inode, and the credentials
 * the listener reads with SO_PEERCRED once it accepts (snap's). A listener
 * whose connections are all empty is left alone: its queue is rebuilt at
 * restore. Refused: data queued by a connecting socket outside the tree, or
 * one bound to a name (its fresh twin could not take the name while the old
 * one holds it), or a listener whose path was removed (no way to connect).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "files/files-unix.h"
#include "infect.h"
#include "log.h"
#include "net/sk-opts.h"

/* One waiting connection, by its connecting socket (the task's). */
struct waiting {
	const struct unix_diag *u;
	int old;			/* our duplicate of the task's socket */
	int accepted;			/* its far end, out of the listener's queue */
	int fresh;			/* the socket that connects in its place */
	struct unix_msg *msgs;
	size_t nr;
};

/* A task that holds some of them, infected. */
struct holder_task {
	pid_t pid;
	struct parasite_ctl *ctl;
};

struct fix {
	struct dump_ctx *ctx;
	struct unix_dump_state *us;
	const struct unix_diag *l;
	const struct unix_holder *lh;
	char lname[UNIX_NAME_MAX * 4 + 8];
	struct sockaddr_un addr;	/* where to connect to it */
	socklen_t alen;
	int ldup;
	struct waiting *w;
	size_t nr_w;
	struct holder_task *tasks;
	size_t nr_tasks;
};

/* Our duplicate of fd @fd of @pid. */
static int dup_of(pid_t pid, int fd)
{
	int pidfd = syscall(SYS_pidfd_open, pid, 0), ret;

	if (pidfd < 0)
		return -1;
	ret = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	close(pidfd);
	return ret;
}

/* Where the parasite's syscalls can run: the vDSO, else any executable mapping. */
static int syscall_site_of(pid_t pid, struct syscall_site *site)
{
	unsigned long start, end;
	char path[64], line[512], perms[8];
	FILE *f;

	memset(site, 0, sizeof(*site));
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f) {
		pr_perror("pid %d: cannot open %s", pid, path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3)
			continue;
		if (strstr(line, "[vdso]")) {
			site->vdso_start = start;
			site->vdso_end = end;
		} else if (perms[2] == 'x' && !site->exec_addr) {
			site->exec_addr = start;
		}
	}
	fclose(f);
	if (site->vdso_start || site->exec_addr)
		return 0;
	pr_err("pid %d has no executable mapping to run the parasite from", pid);
	return -1;
}

/* Whether fd @fd of @pid is close-on-exec (fdinfo shows it as O_CLOEXEC). */
static int fd_cloexec(pid_t pid, int fd, bool *cloexec)
{
	char path[64], line[128];
	unsigned int flags = 0;
	FILE *f;
	int ret = -1;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "re");
	if (!f) {
		pr_perror("pid %d fd %d: cannot open %s", pid, fd, path);
		return -1;
	}
	while (ret && fgets(line, sizeof(line), f))
		if (sscanf(line, "flags: %o", &flags) == 1)
			ret = 0;
	fclose(f);
	if (ret)
		pr_err("pid %d fd %d: %s has no flags: line", pid, fd, path);
	*cloexec = flags & O_CLOEXEC;
	return ret;
}

/*
 * How snap reaches the listener: its path seen from the task's root or
 * working directory (it must still lead to the listener), or its abstract
 * name.
 */
static int listener_addr(struct fix *fx)
{
	const struct unix_diag *l = fx->l;
	char path[UNIX_NAME_MAX + 64];
	struct stat st;
	int n;

	if (l->name[0] == 0) {
		unix_addr((const uint8_t *)l->name, l->name_len, &fx->addr, &fx->alen);
		return 0;
	}
	n = snprintf(path, sizeof(path), "/proc/%d/%s/%.*s", fx->lh->pid,
		     l->name[0] == '/' ? "root" : "cwd", (int)strnlen(l->name, l->name_len),
		     l->name);
	if (stat(path, &st) || !S_ISSOCK(st.st_mode) || st.st_ino != l->vfs_ino) {
		pr_err("pid %d fd %d: listening unix socket %s holds data in connections it "
		       "has not accepted, and its path no longer leads to it: snap cannot "
		       "connect to it to put them back",
		       fx->lh->pid, fx->lh->fd, fx->lname);
		return -1;
	}
	/* The target's view, if it fits in a sockaddr; else ours, which is the same here. */
	if (n >= (int)sizeof(fx->addr.sun_path))
		n = snprintf(path, sizeof(path), "%.*s", (int)strnlen(l->name, l->name_len),
			     l->name);
	unix_addr((const uint8_t *)path, n + 1, &fx->addr, &fx->alen);
	return 0;
}

/* Everything that could refuse, before anything changes. */
static int check(struct fix *fx)
{
	char cname[UNIX_NAME_MAX * 4 + 8];

	for (uint32_t i = 0; i < fx->l->nr_icons; i++) {
		uint32_t c = fx->l->icons[i];
		const struct unix_diag *u = unix_diag_find(&fx->us->diag, c);

		if (!u || !unix_holder_of(fx->us, c)) {
			pr_err("pid %d fd %d: listening unix socket %s holds data in connections "
			       "it has not accepted, and socket inode %u, which made one of them, "
			       "is outside the dumped tree: snap cannot read that data without "
			       "breaking the connection",
			       fx->lh->pid, fx->lh->fd, fx->lname, c);
			return -1;
		}
		if (u->name_len) {
			pr_err("pid %d fd %d: listening unix socket %s holds data in connections "
			       "it has not accepted, one made by a socket bound to %s: snap "
			       "cannot make that connection again while the socket holds its name",
			       fx->lh->pid, fx->lh->fd, fx->lname,
			       unix_name_str((const uint8_t *)u->name, u->name_len, cname,
					     sizeof(cname)));
			return -1;
		}
		fx->w[i].u = u;
	}
	return listener_addr(fx);
}

static int infect_holders(struct fix *fx)
{
	for (size_t i = 0; i < fx->us->nr_holders; i++) {
		const struct unix_holder *h = &fx->us->holders[i];
		struct syscall_site site;
		bool mine = false, known = false;

		for (size_t j = 0; j < fx->nr_w && !mine; j++)
			mine = fx->w[j].u->ino == h->ino;
		for (size_t j = 0; j < fx->nr_tasks && !known; j++)
			known = fx->tasks[j].pid == h->pid;
		if (!mine || known)
			continue;
		if (syscall_site_of(h->pid, &site))
			return -1;
		fx->tasks[fx->nr_tasks].pid = h->pid;
		fx->tasks[fx->nr_tasks].ctl =
			parasite_infect(h->pid, &site, fx->ctx->kf->xsave_size);
		if (!fx->tasks[fx->nr_tasks].ctl)
			return -1;
		fx->nr_tasks++;
	}
	return 0;
}

/* Take every waiting connection out, oldest first, and what it holds. */
static int take_all(struct fix *fx)
{
	struct pollfd pfd = { .fd = fx->ldup, .events = POLLIN };

	for (size_t i = 0; i < fx->nr_w; i++) {
		struct waiting *w = &fx->w[i];
		char who[64];

		if (poll(&pfd, 1, 0) != 1 ||
		    (w->accepted = accept4(fx->ldup, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			pr_perror("pid %d fd %d: listening unix socket %s: cannot take connection "
				  "%zu of its queue; the connections taken so far are lost",
				  fx->lh->pid, fx->lh->fd, fx->lname, i);
			return -1;
		}
		snprintf(who, sizeof(who), "the connection of unix socket %u", w->u->ino);
		if (unix_peek_queue(w->accepted, fx->l->type, false, who, &w->msgs, &w->nr))
			return -1;
	}
	return 0;
}

/* The fresh twin of @w: connected in its place, holding its data and state. */
static int make_twin(struct fix *fx, struct waiting *w)
{
	const struct unix_holder *h = unix_holder_of(fx->us, w->u->ino);
	size_t bytes = 0;
	SkOpts *opts = NULL;
	int flags, prev, ret = -1;
	char who[64];

	snprintf(who, sizeof(who), "pid %d fd %d", h->pid, h->fd);
	w->old = dup_of(h->pid, h->fd);
	w->fresh = socket(AF_UNIX, fx->l->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (w->old < 0 || w->fresh < 0 || (flags = fcntl(w->old, F_GETFL)) < 0) {
		pr_perror("%s: cannot make a socket to connect in its place", who);
		return -1;
	}
	if (sk_opts_dump(w->old, AF_UNIX, fx->l->type, 0, NULL, who, &opts, NULL))
		return -1;
	if (connect(w->fresh, (struct sockaddr *)&fx->addr, fx->alen)) {
		pr_perror("%s: cannot connect again to listening unix socket %s", who, fx->lname);
		goto out;
	}
	for (size_t i = 0; i < w->nr; i++)
		bytes += w->msgs[i].len;
	if (sk_sndbuf_reserve(w->fresh, bytes, w->nr, &prev, who))
		goto out;
	for (size_t i = 0; i < w->nr; i++)
		if (unix_send_msg(w->fresh, &w->msgs[i], who))
			goto out;
	if (sk_sndbuf_put_back(w->fresh, prev, who))
		goto out;
	if (((w->u->shutdown & UNIX_SEND_SHUTDOWN) && shutdown(w->fresh, SHUT_WR)) ||
	    ((w->u->shutdown & UNIX_RCV_SHUTDOWN) && shutdown(w->fresh, SHUT_RD))) {
		pr_perror("%s: cannot shut the socket down as it was", who);
		goto out;
	}
	if (sk_opts_restore(w->fresh, opts, who))
		goto out;
	if (fcntl(w->fresh, F_SETFL, flags)) {
		pr_perror("%s: cannot set file flags %#o", who, flags);
		goto out;
	}
	ret = 0;
out:
	sk_opts_free(opts);
	return ret;
}

/* Every fd of the tree that held @w's old socket holds its twin now. */
static int swap_in(struct fix *fx, struct waiting *w)
{
	for (size_t t = 0; t < fx->nr_tasks; t++) {
		struct parasite_replace *r = &fx->tasks[t].ctl->args->replace;
		pid_t pid = fx->tasks[t].pid;

		r->nr = 0;
		for (size_t i = 0; i < fx->us->nr_holders; i++) {
			const struct unix_holder *h = &fx->us->holders[i];
			bool cloexec;

			if (h->ino != w->u->ino || h->pid != pid)
				continue;
			if (r->nr == PARASITE_MAX_REPLACE) {
				pr_err("pid %d holds unix socket %u at more than %d fds", pid,
				       w->u->ino, PARASITE_MAX_REPLACE);
				return -1;
			}
			if (fd_cloexec(pid, h->fd, &cloexec))
				return -1;
			r->fd[r->nr] = h->fd;
			r->cloexec[r->nr++] = cloexec;
		}
		if (r->nr &&
		    parasite_cmd_fds(fx->tasks[t].ctl, PARASITE_CMD_REPLACE_FD, &w->fresh, 1, NULL))
			return -1;
	}
	return 0;
}

/* What the dump takes from here: the data now waiting behind each twin. */
static int keep_data(struct fix *fx)
{
	struct unix_dump_state *us = fx->us;
	struct unix_pending_data *n;
	struct stat st;

	n = realloc(us->pending, (us->nr_pending + fx->nr_w) * sizeof(*n));
	if (!n) {
		pr_err("out of memory for the data of connections not yet accepted");
		return -1;
	}
	us->pending = n;
	for (size_t i = 0; i < fx->nr_w; i++) {
		struct waiting *w = &fx->w[i];

		if (fstat(w->fresh, &st)) {
			pr_perror("cannot stat a unix socket snap made");
			return -1;
		}
		us->pending[us->nr_pending++] =
			(struct unix_pending_data){ st.st_ino, w->msgs, w->nr };
		w->msgs = NULL;
		w->nr = 0;
	}
	return 0;
}

static int fix_listener(struct fix *fx)
{
	int ret = -1;

	unix_name_str((const uint8_t *)fx->l->name, fx->l->name_len, fx->lname,
		      sizeof(fx->lname));
	fx->nr_w = fx->l->nr_icons;
	fx->w = calloc(fx->nr_w, sizeof(*fx->w));
	fx->tasks = calloc(fx->us->nr_holders + 1, sizeof(*fx->tasks));
	if (!fx->w || !fx->tasks) {
		pr_err("out of memory for the queue of unix socket %s", fx->lname);
		goto out;
	}
	for (size_t i = 0; i < fx->nr_w; i++)
		fx->w[i].old = fx->w[i].accepted = fx->w[i].fresh = -1;
	fx->ldup = dup_of(fx->lh->pid, fx->lh->fd);
	if (fx->ldup < 0) {
		pr_perror("pid %d fd %d: pidfd_getfd", fx->lh->pid, fx->lh->fd);
		goto out;
	}
	if (check(fx) || infect_holders(fx) || take_all(fx))
		goto out;
	for (size_t i = 0; i < fx->nr_w; i++)
		if (make_twin(fx, &fx->w[i]) || swap_in(fx, &fx->w[i]))
			goto out;
	ret = keep_data(fx);
	pr_info("pid %d fd %d: unix socket %s: %zu connections not yet accepted made again to "
		"read what they hold",
		fx->lh->pid, fx->lh->fd, fx->lname, fx->nr_w);
out:
	for (size_t t = 0; t < fx->nr_tasks; t++) {
		if (parasite_cure(fx->tasks[t].ctl))
			ret = -1;
		parasite_free(fx->tasks[t].ctl);
	}
	for (size_t i = 0; fx->w && i < fx->nr_w; i++) {
		struct waiting *w = &fx->w[i];

		unix_msgs_free(w->msgs, w->nr);
		if (w->old >= 0)
			close(w->old);
		if (w->accepted >= 0)
			close(w->accepted);
		if (w->fresh >= 0)
			close(w->fresh);
	}
	if (fx->ldup >= 0)
		close(fx->ldup);
	free(fx->w);
	free(fx->tasks);
	return ret;
}

int unix_fix_pending(struct dump_ctx *ctx, struct unix_dump_state *us, bool *changed)
{
	for (size_t i = 0; i < us->diag.nr; i++) {
		const struct unix_diag *l = &us->diag.sk[i];
		struct fix fx = { .ctx = ctx, .us = us, .l = l, .ldup = -1 };
		bool data = false;

		if (l->state != UNIX_LISTEN || !l->nr_icons)
			continue;
		fx.lh = unix_holder_of(us, l->ino);
		if (!fx.lh)
			continue;
		/* A connecting socket's sent bytes wait, unread, in its far end. */
		for (uint32_t j = 0; j < l->nr_icons && !data; j++) {
			const struct unix_diag *c = unix_diag_find(&us->diag, l->icons[j]);

			data = c && c->wqueue;
		}
		if (!data)
			continue;
		if (fix_listener(&fx))
			return -1;
		*changed = true;
	}
	return 0;
}
