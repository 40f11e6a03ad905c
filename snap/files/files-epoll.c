// SPDX-License-Identifier: GPL-2.0
/*
 * epolls: the flags, and every file an epoll watches with the fd number it
 * was added with, its events (EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE kept)
 * and its data, in epoll-tfds.img; the dump side is files-epoll-dump.c.
 *
 * Restore makes the epoll in snap (so processes sharing it share it again)
 * and, in the restored process that holds it first (first task in
 * pstree.img, lowest fd), once every fd sits at its number, adds each
 * watched file with EPOLL_CTL_ADD under the number it was added with: the
 * epoll knows a file by (file, number), and the process may EPOLL_CTL_MOD
 * or DEL it by that number later. When that number is closed now, or holds
 * another file, the watched file is put there just for the EPOLL_CTL_ADD.
 *
 * What is ready is ready again: the watched files are restored first, and
 * EPOLL_CTL_ADD looks at each. Two things cannot be restored exactly: an
 * edge-triggered file that was ready and already reported is reported once
 * more; and an EPOLLONESHOT file already reported (disarmed: no events
 * left) is disarmed again only if it is ready now (it is added and reported
 * at once), else it comes back watched for EPOLLERR | EPOLLHUP only, which
 * EPOLL_CTL_ADD always adds.
 */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "files/files-epoll.h"
#include "image.h"
#include "log.h"

/* Bits that are not events: what a disarmed EPOLLONESHOT file keeps. */
#define EP_PRIVATE (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)
#define POLL_ALL   (POLLIN | POLLPRI | POLLOUT | POLLERR | POLLHUP | POLLRDHUP | POLLRDNORM | \
		    POLLRDBAND | POLLWRNORM | POLLWRBAND | POLLMSG)

static const char *const epoll_anon[] = { "[eventpoll]", NULL };

/* The process and fd that add an epoll's files at restore. */
struct epoll_holder {
	uint32_t id;
	pid_t pid;
	int fd;
};

struct epoll_restore_state {
	EpollTfdEntry **tfds;	/* epoll-tfds.img, by epoll id */
	size_t nr_tfds;
	struct epoll_holder *holders;	/* one per epoll of files.img, by id */
	size_t nr_holders;
};

static int cmp_holder(const void *a, const void *b)
{
	const struct epoll_holder *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static struct epoll_holder *holder_of(const struct epoll_restore_state *es, uint32_t id)
{
	struct epoll_holder key = { .id = id };

	return bsearch(&key, es->holders, es->nr_holders, sizeof(key), cmp_holder);
}

/*
 * The first fd of the first task (that owns its fd table) holding each
 * epoll; that task will look up every file the epoll watches.
 */
static int find_holders(struct restore_ctx *ctx, struct epoll_restore_state *es)
{
	for (size_t i = 0; i < ctx->nr_files; i++)
		if (ctx->files[i]->type == FD_TYPE__FD_EPOLL)
			es->nr_holders++;
	es->holders = calloc(es->nr_holders + 1, sizeof(*es->holders));
	if (!es->holders) {
		pr_err("files.img: out of memory for its epolls");
		return -1;
	}
	es->nr_holders = 0;
	for (size_t i = 0; i < ctx->nr_files; i++)
		if (ctx->files[i]->type == FD_TYPE__FD_EPOLL)
			es->holders[es->nr_holders++].id = ctx->files[i]->id;
	qsort(es->holders, es->nr_holders, sizeof(*es->holders), cmp_holder);
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct restore_task *t = &ctx->tasks[i];

		if (t->pe->files_shared)
			continue;
		for (size_t j = 0; j < t->nr_fds; j++) {
			struct epoll_holder *h = holder_of(es, t->fds[j]->id);

			if (h && (!h->pid || (h->pid == t->pid && (int)t->fds[j]->fd < h->fd))) {
				h->pid = t->pid;
				h->fd = t->fds[j]->fd;
			}
		}
	}
	for (size_t i = 0; i < es->nr_tfds; i++) {
		const struct epoll_holder *h = holder_of(es, es->tfds[i]->id);

		if (h && h->pid && files_task_uses(ctx, h->pid, es->tfds[i]->target))
			return -1;
	}
	return 0;
}

/* epoll-tfds.img: each entry an epoll's, watching another file; by epoll. */
static int check_tfds(const struct restore_ctx *ctx, const struct epoll_restore_state *es)
{
	for (size_t i = 0; i < es->nr_tfds; i++) {
		const EpollTfdEntry *e = es->tfds[i];
		const FileEntry *fe = files_entry(ctx, e->id);

		if (!fe || fe->type != FD_TYPE__FD_EPOLL) {
			pr_err("epoll-tfds.img: entry %zu is of file id %u, which is no epoll in "
			       "files.img",
			       i, e->id);
			return -1;
		}
		if (!files_entry(ctx, e->target) || e->target == e->id) {
			pr_err("epoll-tfds.img: epoll file id %u watches file id %u, which %s",
			       e->id, e->target,
			       e->target == e->id ? "is itself" : "files.img lacks");
			return -1;
		}
		if (i && e->id < es->tfds[i - 1]->id) {
			pr_err("epoll-tfds.img: entry %zu (epoll file id %u) is out of order", i,
			       e->id);
			return -1;
		}
	}
	return 0;
}

static int epoll_load(struct restore_ctx *ctx, void *st)
{
	struct epoll_restore_state *es = st;
	void **msgs;

	/* Older images without epolls have none. */
	if (img_load_all(ctx->dirfd, IMG_EPOLL_TFDS, 0, true, &msgs, &es->nr_tfds))
		return -1;
	es->tfds = (EpollTfdEntry **)msgs;
	return check_tfds(ctx, es) || find_holders(ctx, es) ? -1 : 0;
}

/* The entries of epoll @id: the first, and their number in *@nr. */
static EpollTfdEntry **tfds_of(const struct epoll_restore_state *es, uint32_t id, size_t *nr)
{
	size_t lo = 0, hi = es->nr_tfds, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (es->tfds[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < es->nr_tfds && es->tfds[end]->id == id; end++)
		;
	*nr = end - lo;
	return es->tfds + lo;
}

static int epoll_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	size_t nr;

	(void)ctx;
	if (!fe->epoll) {
		pr_err("files.img: file id %u: an epoll without its epoll part", fe->id);
		return -1;
	}
	tfds_of(st, fe->id, &nr);
	if (nr != fe->epoll->tfds) {
		pr_err("epoll-tfds.img: epoll file id %u watches %zu files there, files.img says "
		       "%u",
		       fe->id, nr, fe->epoll->tfds);
		return -1;
	}
	return 0;
}

static int epoll_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	int fd;

	(void)ctx;
	(void)st;
	fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0) {
		pr_perror("files.img: file id %u: cannot make an epoll", fe->id);
		return -1;
	}
	if (fcntl(fd, F_SETFL, fe->epoll->flags) < 0) {
		pr_perror("files.img: file id %u: epoll: cannot set flags %#o", fe->id,
			  fe->epoll->flags);
		close(fd);
		return -1;
	}
	return fd;
}

/* Is fd @n of ours the open file description @file? */
static bool same_file(int n, int file)
{
	pid_t me = getpid();

	return syscall(SYS_kcmp, me, me, KCMP_FILE, n, file) == 0;
}

static int add_failed(const struct restore_task *t, const EpollTfdEntry *e, uint32_t events)
{
	pr_perror("pid %d: epoll file id %u: cannot watch file id %u as fd %u (events %#x)",
		  t->pid, e->id, e->target, e->tfd, events);
	return -1;
}

/*
 * EPOLL_CTL_ADD of @file to @efd as fd number e->tfd, with @events. If fd
 * e->tfd is not @file, @file is put there for the call, and whatever was
 * there (one of the task's fds, one of snap's above them, or nothing) is
 * put back after it.
 */
static int add_as(const struct restore_task *t, int efd, const EpollTfdEntry *e, int file,
		  uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = e->data };
	int n = e->tfd, saved, fdfl = 0, tmp = -1, ret = -1;

	if (same_file(n, file))
		return epoll_ctl(efd, EPOLL_CTL_ADD, n, &ev) ? add_failed(t, e, events) : 0;
	saved = fcntl(n, F_DUPFD_CLOEXEC, 0);
	if (saved < 0 && errno != EBADF)
		return add_failed(t, e, events);
	if (saved >= 0)
		fdfl = fcntl(n, F_GETFD);
	/* The epoll itself sits at n: call it by another number. */
	if (n == efd) {
		tmp = efd = fcntl(efd, F_DUPFD_CLOEXEC, n + 1);
		if (tmp < 0) {
			add_failed(t, e, events);
			goto out;
		}
	}
	if (dup2(file, n) < 0 || epoll_ctl(efd, EPOLL_CTL_ADD, n, &ev))
		add_failed(t, e, events);
	else
		ret = 0;
	if (saved >= 0)
		dup3(saved, n, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0);
	else
		close(n);
out:
	if (saved >= 0)
		close(saved);
	if (tmp >= 0)
		close(tmp);
	return ret;
}

/* A file no longer watched for anything (EPOLLONESHOT, reported): see the top. */
static bool disarmed(const EpollTfdEntry *e)
{
	return (e->events & EPOLLONESHOT) && !(e->events & ~EP_PRIVATE);
}

static int file_of(const struct restore_ctx *ctx, const struct restore_task *t,
		   const EpollTfdEntry *e)
{
	int file = files_fd_of(ctx, e->target);

	if (file < 0)
		pr_err("pid %d: epoll file id %u watches file id %u, which this process cannot "
		       "reach (it was opened in another process)",
		       t->pid, e->id, e->target);
	return file;
}

/* Disarmed files first, while nothing else is in the epoll to be reported. */
static int add_disarmed(const struct restore_ctx *ctx, const struct restore_task *t, int efd,
			EpollTfdEntry **v, size_t nr)
{
	struct epoll_event *evs;
	int ready = 0, ret = -1;

	for (size_t i = 0; i < nr; i++) {
		struct pollfd p = { .events = POLL_ALL };
		uint32_t events = v[i]->events;

		if (!disarmed(v[i]))
			continue;
		p.fd = file_of(ctx, t, v[i]);
		if (p.fd < 0)
			return -1;
		if (poll(&p, 1, 0) == 1 && !(p.revents & POLLNVAL)) {
			events |= p.revents;
			ready++;
		}
		if (add_as(t, efd, v[i], p.fd, events))
			return -1;
	}
	if (!ready)
		return 0;
	evs = calloc(ready, sizeof(*evs));
	if (!evs) {
		pr_err("pid %d: out of memory", t->pid);
		return -1;
	}
	/* Reported, so disarmed. */
	if (epoll_wait(efd, evs, ready, 0) < 0)
		pr_perror("pid %d: epoll_wait to disarm its EPOLLONESHOT files", t->pid);
	else
		ret = 0;
	free(evs);
	return ret;
}

static int epoll_installed(struct restore_ctx *ctx, void *st, const struct restore_task *t,
			   int fd, const FileEntry *fe)
{
	const struct epoll_holder *h = holder_of(st, fe->id);
	EpollTfdEntry **v;
	size_t nr;
	int efd;

	if (!h || h->pid != t->pid || h->fd != fd)
		return 0;
	/* One fd of it here (add_as() copes with its being a number it adds as). */
	efd = files_fd_of(ctx, fe->id);
	if (efd < 0)
		efd = fd;
	v = tfds_of(st, fe->id, &nr);
	if (add_disarmed(ctx, t, efd, v, nr))
		return -1;
	for (size_t i = 0; i < nr; i++) {
		int file;

		if (disarmed(v[i]))
			continue;
		file = file_of(ctx, t, v[i]);
		if (file < 0 || add_as(t, efd, v[i], file, v[i]->events))
			return -1;
	}
	return 0;
}

static void epoll_restore_free(void *st)
{
	struct epoll_restore_state *es = st;

	for (size_t i = 0; i < es->nr_tfds; i++)
		epoll_tfd_entry__free_unpacked(es->tfds[i], NULL);
	free(es->tfds);
	free(es->holders);
}

const struct fd_ops epoll_fd_ops = {
	.type = FD_TYPE__FD_EPOLL,
	.name = "epoll",
	.anon = epoll_anon,
	.dump_state = sizeof(struct epoll_dump_state),
	.dump = epoll_dump,
	.write = epoll_write,
	.dump_free = epoll_dump_free,
	.restore_state = sizeof(struct epoll_restore_state),
	.load = epoll_load,
	.prepare = epoll_prepare,
	.open = epoll_open,
	.installed = epoll_installed,
	.restore_free = epoll_restore_free,
};
