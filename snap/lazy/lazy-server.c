// SPDX-License-Identifier: GPL-2.0
/*
 * `snap lazy-pages -D DIR`: listen on DIR/lazy-pages.sock for the restore,
 * take each process's uffd and lazy ranges (lazy-proto.h), then serve:
 * this thread reads the uffds; a fault gets its page and the next few at
 * once; the prefetch workers (lazy-work.c, one per CPU) place the pages
 * nearest after the last fault (then after what they placed last,
 * wrapping around) until every page is in. Pages are placed with
 * UFFDIO_COPY from a buffer the page image is read into, or with
 * --page-server from the pages a `snap page-server` sent just before
 * (lazy-source.c, lazy-remote.c); lazy-place.c says why not UFFDIO_MOVE.
 * Events: fork (the child's uffd is served too), mremap (pages follow),
 * munmap and MADV_DONTNEED (their pages are dropped; a fault there later
 * gets a zero page). A uffd whose pages are all in is closed, here and in
 * the guard (lazy-guard.c): the process is then free of userfaultfd. Exits
 * once the restore has gone and every uffd is closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kcompat.h"
#include "lazy-vma.h"
#include "lazy/lazy-int.h"
#include "lazy/lazy.h"
#include "log.h"
#include "mem/page-xfer.h"

#define FAULT_AHEAD 16 /* pages placed at a fault: the page and those after it */
#define MSGS	    16

static int listen_on(int dirfd, const char *dir)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	unlinkat(dirfd, LAZY_SOCK, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dirfd, LAZY_SOCK);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4)) {
		pr_perror("cannot listen on %s/%s", dir, LAZY_SOCK);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The write lock held: the workers see it from now on. */
static int add_task(struct lazy_server *s, struct lazy_task *t)
{
	if (s->nr_tasks == LZ_MAX_TASKS) {
		pr_err("more than %d processes to serve", LZ_MAX_TASKS);
		return -1;
	}
	/* The restore made it blocking; nothing but us reads it. */
	fcntl(t->uffd, F_SETFL, O_NONBLOCK);
	s->tasks[s->nr_tasks++] = t;
	lz_workers_kick(s);
	return 0;
}

/* The pages of @pid, opened at its first FILL or hello. NULL: logged. */
static struct lz_src *src_of(struct lazy_server *s, pid_t pid)
{
	struct lz_src *src;

	for (size_t i = 0; i < s->nr_srcs; i++)
		if (s->srcs[i]->pid == pid)
			return s->srcs[i];
	if (s->nr_srcs == LZ_MAX_TASKS) {
		pr_err("pid %d: more than %d processes to serve", pid, LZ_MAX_TASKS);
		return NULL;
	}
	src = lz_src_open(s->dirfd, s->opts->images_dir, pid, s->remote.x ? &s->remote : NULL);
	if (src)
		s->srcs[s->nr_srcs++] = src;
	return src;
}

/* @ack to the restore, with @fd attached if not -1. */
static void answer(struct lazy_server *s, char ack, int fd)
{
	if (lz_send_fd(s->conn, &ack, 1, fd) != 1)
		pr_perror("cannot answer the restore");
}

/* FILL: the restore has no page images; the pages its restorer reads, in a memfd. */
static void take_fill(struct lazy_server *s, const struct lazy_hello *h)
{
	struct lz_src *src = src_of(s, h->pid);
	int fd = src ? lz_src_fill(src, h, s->buf) : -1;

	answer(s, fd >= 0 ? 'A' : 'E', fd);
	s->refused |= fd < 0;
	if (fd >= 0) {
		pr_info("pid %d: the pages of its eager mappings sent to the restore", h->pid);
		close(fd);
	}
}

/* One message of the restore: a process's hello and uffd, or a FILL; answer 'A' or 'E'. */
static int take_hello(struct lazy_server *s)
{
	size_t max = sizeof(struct lazy_hello) + LAZY_MAX_RANGES * sizeof(struct lazy_range);
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct lazy_hello *h = malloc(max);
	struct iovec iov = {h, max};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	struct lazy_task *t = NULL;
	struct lz_src *src;
	ssize_t r;
	int uffd = -1;
	char ack = 'E';

	if (!h) {
		pr_err("out of memory for a restore's hello");
		return -1;
	}
	r = recvmsg(s->conn, &mh, MSG_CMSG_CLOEXEC);
	if (r <= 0) {
		/* The restore is done with us (or failed: its processes are gone). */
		close(s->conn);
		s->conn = -1;
		/* Its processes run: the workers may fill them now. */
		__atomic_store_n(&s->restore_gone, true, __ATOMIC_RELEASE);
		lz_workers_kick(s);
		free(h);
		return 0;
	}
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&uffd, CMSG_DATA(cm), sizeof(int));
	if (r < (ssize_t)sizeof(*h) || h->nr_ranges > LAZY_MAX_RANGES ||
	    r != (ssize_t)(sizeof(*h) + h->nr_ranges * sizeof(struct lazy_range)) ||
	    (h->magic == LAZY_MAGIC ? uffd < 0 || h->host_pid <= 0 :
				      h->magic != LAZY_FILL_MAGIC || uffd >= 0)) {
		pr_err("a malformed hello from the restore (%zd bytes)", r);
		goto out;
	}
	if (!s->st.t_first)
		s->st.t_first = now_ns();
	if (h->magic == LAZY_FILL_MAGIC) {
		take_fill(s, h);
		free(h);
		return 0;
	}
	t = calloc(1, sizeof(*t));
	src = src_of(s, h->pid);
	if (!t || !src) {
		if (!t)
			pr_err("pid %d: no room to serve it", h->pid);
		goto out;
	}
	*t = (struct lazy_task){.pid = h->pid, .host = h->host_pid, .uffd = uffd};
	if (lz_build(t, h, src) || lz_guard_add(s->guard, t->host, uffd))
		goto out;
	pthread_rwlock_wrlock(&s->lock);
	r = add_task(s, t);
	pthread_rwlock_unlock(&s->lock);
	if (r)
		goto out;
	pr_info("pid %d: %llu pages to serve in %zu runs", t->pid, (unsigned long long)t->left,
		t->nr_ext);
	t = NULL;
	uffd = -1;
	ack = 'A';
out:
	answer(s, ack, -1);
	s->refused |= ack != 'A';
	lz_free(t);
	if (uffd >= 0)
		close(uffd);
	free(h);
	return 0;
}

/* The write lock held. */
static void finish_task(struct lazy_server *s, size_t i)
{
	struct lazy_task *t = s->tasks[i];

	/* A worker may have read pages for it: it must pick again. */
	s->gen++;
	if (!t->gone)
		pr_info("pid %d: every page in", t->pid);
	/* Our uffd, then the guard's: the last close unregisters every range. */
	close(t->uffd);
	if (t->host)
		lz_guard_done(s->guard, t->host);
	lz_free(t);
	s->tasks[i] = s->tasks[--s->nr_tasks];
}

static int on_fault(struct lazy_server *s, struct lazy_task *t, uint64_t addr)
{
	struct lazy_ext *e;
	size_t idx, n;
	int ret;

	s->st.faults++;
	e = lz_find(t, addr & ~(LZ_PAGE - 1), &idx);
	n = e ? lz_run(e, idx, FAULT_AHEAD) : 0;
	if (!n) {
		s->st.zero_faults++;
		return lz_zero(t, addr);
	}
	ret = lz_place(t, e, idx, n, &s->st, s->buf);
	if (!ret) {
		s->st.fault_pages += n;
		t->cursor = e->start + (idx + n) * LZ_PAGE;
	}
	return ret;
}

static int on_msg(struct lazy_server *s, struct lazy_task *t, const struct uffd_msg *m)
{
	struct lazy_task *c;

	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT:
		return on_fault(s, t, m->arg.pagefault.address);
	case UFFD_EVENT_FORK:
		c = lz_fork(t, m->arg.fork.ufd);
		if (!c || add_task(s, c)) {
			/* Its faults then wait on nothing: better dead. */
			pr_err("pid %d forked a child that cannot be served", t->pid);
			close(m->arg.fork.ufd);
			lz_free(c);
			return -1;
		}
		pr_debug("pid %d forked: its child's %llu missing pages served too", t->pid,
			 (unsigned long long)c->left);
		return 0;
	case UFFD_EVENT_REMAP:
		/* The extents move: a worker's pick is void (lazy-work.c). */
		s->gen++;
		return lz_remap(t, m->arg.remap.from, m->arg.remap.to, m->arg.remap.len);
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		s->st.dropped += lz_drop(t, m->arg.remove.start, m->arg.remove.end);
		return 0;
	}
	pr_warn("pid %d: uffd event %u ignored", t->pid, m->event);
	return 0;
}

/* Every message the uffd of @t has now; the write lock held (lazy-work.c says why). */
static int drain(struct lazy_server *s, struct lazy_task *t)
{
	struct uffd_msg m[MSGS];

	for (;;) {
		ssize_t r = read(t->uffd, m, sizeof(m));
		int ret = 0;

		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r <= 0) {
			pr_perror("pid %d: cannot read its uffd", t->pid);
			return -1;
		}
		for (size_t i = 0; i < r / sizeof(m[0]); i++) {
			/* Placing waits for the events after it: read them, then retry. */
			while ((ret = on_msg(s, t, &m[i])) == -EAGAIN)
				if (drain(s, t))
					return -1;
			if (ret && t->gone)
				return 0;
		}
	}
}

/*
 * A worker could not place at t->stuck, and not for an unread event: read
 * what the process did there; if the page is still due, the process has
 * no mapping for it we can fill.
 */
static void unstick(struct lazy_server *s, struct lazy_task *t)
{
	uint64_t addr = t->stuck;
	struct lazy_ext *e;
	size_t idx;
	int ret;

	t->stuck = 0;
	lz_workers_kick(s);
	if (drain(s, t) || t->gone)
		return;
	e = lz_find(t, addr, &idx);
	ret = e && lz_run(e, idx, 1) ? lz_place(t, e, idx, 1, &s->st, s->buf) : 0;
	if (ret && ret != -EAGAIN && !t->gone) {
		pr_warn("pid %d: page at %lx cannot be placed; dropped", t->pid,
			(unsigned long)addr);
		s->st.dropped += lz_drop(t, addr, addr + LZ_PAGE);
	}
}

/*
 * The write lock held: close the uffds whose pages are all in. With
 * @look (a worker found nothing to do): pages counted due that no run
 * holds are an account gone wrong; said once, and let go, rather than
 * wait on them.
 */
static void tend(struct lazy_server *s, bool look)
{
	for (size_t i = 0; i < s->nr_tasks; i++) {
		struct lazy_task *t = s->tasks[i];
		struct lazy_ext *e;
		size_t idx;

		if (t->stuck && !t->gone)
			unstick(s, t);
		if (look && t->left && !t->gone && !lz_next(t, 1, &e, &idx)) {
			pr_warn("pid %d: %llu pages due but none found; letting them go", t->pid,
				(unsigned long long)t->left);
			t->left = 0;
		}
		if (t->gone || !t->left) {
			finish_task(s, i--);
			if (!s->nr_tasks)
				s->st.t_done = now_ns();
		}
	}
}

static void print_stats(const struct lazy_server *s)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	printf("lazy-pages: faults %llu (zero %llu), pages by fault %llu, prefetched %llu, "
	       "copied %llu, dropped %llu\n",
	       (unsigned long long)s->st.faults, (unsigned long long)s->st.zero_faults,
	       (unsigned long long)s->st.fault_pages, (unsigned long long)s->st.prefetch_pages,
	       (unsigned long long)s->st.copied, (unsigned long long)s->st.dropped);
	if (s->remote.x)
		printf("lazy-pages: %llu pages from the page server\n",
		       (unsigned long long)s->remote.pages);
	printf("lazy-pages: fill %.1f ms, placing %.1f ms, cpu user %.1f ms sys %.1f ms\n",
	       (s->st.t_done - s->st.t_first) / 1e6, s->st.place_ns / 1e6,
	       ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3,
	       ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3);
	fflush(stdout);
}

/* A local page image that could not be read mid-way (logged): as if the source died. */
static bool src_broken(struct lazy_server *s)
{
	for (size_t i = 0; i < s->nr_srcs; i++)
		if (LZ_GET(s->srcs[i]->broken)) {
			lz_guard_cause(s->guard, "the page images could not be read (see above)");
			return true;
		}
	return false;
}

static int serve(struct lazy_server *s)
{
	struct pollfd pfd[LZ_MAX_TASKS + 2];
	bool look = false;

	while (!s->restore_gone || s->nr_tasks) {
		size_t i, n = 0;
		int r, ret = 0;

		/* Faults would wait on it forever: the guard kills them, and says why. */
		if (LZ_GET(s->remote.lost) && s->nr_tasks) {
			lz_guard_cause(s->guard, s->remote.why);
			return -1;
		}
		if (LZ_GET(s->remote.lost)) {
			pr_err("%s", s->remote.why);
			return -1;
		}
		if (src_broken(s))
			return -1;

		pthread_rwlock_wrlock(&s->lock);
		tend(s, look);
		for (i = 0; i < s->nr_tasks; i++)
			pfd[n++] = (struct pollfd){.fd = s->tasks[i]->uffd, .events = POLLIN};
		pthread_rwlock_unlock(&s->lock);
		if (s->restore_gone && !s->nr_tasks)
			break;
		pfd[n] = (struct pollfd){.fd = s->conn >= 0	 ? s->conn
					       : s->restore_gone ? -1
								 : s->lsock,
					 .events = POLLIN};
		pfd[n + 1] = (struct pollfd){.fd = s->wake, .events = POLLIN};
		/* The workers prefetch; this thread waits for faults, events and the restore. */
		r = poll(pfd, n + 2, -1);
		if (r < 0 && errno != EINTR) {
			pr_perror("poll");
			return -1;
		}
		/* Only this thread changes @tasks: pfd[i] is still tasks[i] (a fork appends). */
		pthread_rwlock_wrlock(&s->lock);
		for (i = 0; r > 0 && i < n && !ret; i++)
			if (pfd[i].revents)
				ret = drain(s, s->tasks[i]);
		pthread_rwlock_unlock(&s->lock);
		if (ret)
			return -1;
		look = r > 0 && pfd[n + 1].revents;
		if (look) {
			uint64_t v;

			if (read(s->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
				pr_perror("cannot read the workers' wake-ups");
		}
		if (r > 0 && pfd[n].revents) {
			if (s->conn < 0) {
				s->conn = accept4(s->lsock, NULL, NULL, SOCK_CLOEXEC);
				if (s->conn < 0)
					pr_perror("cannot accept the restore");
			} else if (take_hello(s)) {
				return -1;
			}
		}
	}
	return 0;
}

/* The workers, and what they share with this thread. -1: logged. */
static int start_workers(struct lazy_server *s)
{
	pthread_rwlockattr_t a;

	/* A fault waits for no more than the copies in flight: writers first. */
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&s->lock, &a);
	pthread_rwlockattr_destroy(&a);
	pthread_mutex_init(&s->pick, NULL);
	pthread_mutex_init(&s->idle_lock, NULL);
	pthread_cond_init(&s->kick, NULL);
	pthread_mutex_init(&s->remote.lock, NULL);
	s->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	/* Populated before the restore comes: a page's first touch is dear on some VMs. */
	s->buf = mmap(NULL, LZ_COPY_PAGES * LZ_PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (s->wake < 0 || s->buf == MAP_FAILED) {
		pr_perror("cannot set up the lazy-pages workers");
		s->buf = NULL;
		return -1;
	}
	return lz_workers_start(s);
}

int cmd_lazy_pages(const struct snap_opts *opts, const struct kfeat *kf)
{
	struct lazy_server s = {.opts = opts, .conn = -1, .guard = -1, .wake = -1};
	int ret = -1;

	if (!(kf->uffd_features & UFFD_FEATURE_MOVE)) {
		pr_err("lazy restore needs UFFDIO_MOVE (Linux 6.8+), which this kernel lacks");
		return -1;
	}
	s.dirfd = open(opts->images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.dirfd < 0) {
		pr_perror("cannot open %s", opts->images_dir);
		return -1;
	}
	/* Before anyone waits on us: a page server that is not there fails here. */
	if (opts->page_server) {
		s.remote.x = page_xfer_connect(opts, PAGE_SET_SERVE, 0);
		if (!s.remote.x)
			goto out;
	}
	s.guard = lz_guard_start();
	if (s.guard < 0)
		goto out;
	s.lsock = listen_on(s.dirfd, opts->images_dir);
	if (s.lsock < 0)
		goto out;
	if (opts->pidfile && write_pidfile(opts->pidfile, getpid()))
		goto out;
	if (!start_workers(&s))
		ret = serve(&s);
	lz_workers_stop(&s);
	if (!ret && opts->display_stats)
		print_stats(&s);
out:
	for (size_t i = 0; i < s.nr_tasks; i++)
		close(s.tasks[i]->uffd);
	/* On an error the guard kills what is left: faults would wait forever. */
	if (s.guard >= 0 && !ret)
		lz_guard_bye(s.guard);
	/* Said when it was refused; the restore failed with it. */
	if (!ret && s.refused)
		ret = -1;
	if (s.lsock >= 0) {
		close(s.lsock);
		unlinkat(s.dirfd, LAZY_SOCK, 0);
	}
	/* Answers read ahead but not needed (pages dropped since): read before END. */
	if (s.remote.x && !ret && lz_remote_drain(&s.remote)) {
		pr_err("%s", s.remote.why);
		ret = -1;
	}
	for (size_t i = 0; i < s.nr_srcs; i++)
		lz_src_free(s.srcs[i]);
	if (s.remote.x && !ret && page_xfer_end(s.remote.x))
		ret = -1;
	else if (s.remote.x && ret)
		page_xfer_cancel(s.remote.x);
	if (s.buf)
		munmap(s.buf, LZ_COPY_PAGES * LZ_PAGE);
	if (s.wake >= 0)
		close(s.wake);
	close(s.dirfd);
	return ret;
}
