// SPDX-License-Identifier: GPL-2.0
/*
 * The restore's side of a lazy restore: connect to the lazy-pages server
 * before the tree is made, and hand it each process's uffd (taken from the
 * process with pidfd_getfd) and lazy ranges once its restorer is ready.
 * The process runs only after the server said it holds the uffd. Without
 * the page images here, the pages the restorer reads come from the server
 * first (lazy_fill()).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "lazy-vma.h"
#include "lazy/lazy-int.h"
#include "lazy/lazy-proto.h"
#include "lazy/lazy.h"
#include "log.h"

#define ACK_TIMEOUT_MS 10000

int lazy_connect(int dirfd, const char *dir)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[64];
	int fd;

	/* Through /proc/self/fd: DIR may be longer than a socket path. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, LAZY_SOCK);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pr_perror("cannot make a socket for the lazy-pages server");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		pr_perror("no lazy-pages server at %s/%s: start `snap lazy-pages -D %s` first", dir,
			  LAZY_SOCK, dir);
		close(fd);
		return -1;
	}
	return fd;
}

/* The restore's message @h (with @uffd if not -1), and the server's 'A' (with *@fd if asked). */
static int send_hello(int sock, struct lazy_hello *h, size_t len, int uffd, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0}, ack = 0;
	struct iovec iov = {&ack, 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct pollfd pfd = {.fd = sock, .events = POLLIN};
	struct cmsghdr *cm;

	if (lz_send_fd(sock, h, len, uffd) != (ssize_t)len) {
		pr_perror("pid %d: cannot hand its uffd to the lazy-pages server", h->pid);
		return -1;
	}
	/* A FILL waits on the page server: as long as it takes, or until the server gives up. */
	if (poll(&pfd, 1, fd ? -1 : ACK_TIMEOUT_MS) != 1 ||
	    recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1 || ack != 'A') {
		pr_err("pid %d: the lazy-pages server did not take its pages (%s); see its log",
		       h->pid, ack == 'E' ? "it could not read their images" : "no answer");
		return -1;
	}
	cm = CMSG_FIRSTHDR(&mh);
	if (fd && (!cm || cm->cmsg_type != SCM_RIGHTS)) {
		pr_err("pid %d: the lazy-pages server sent its pages without a file", h->pid);
		return -1;
	}
	if (fd)
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return 0;
}

/* Whether the restorer reads @v's pages from the page image, as lazy-vma.h decides. */
static int in_lazy(const struct restorer_args *a, uint64_t addr)
{
	const struct rst_vma *vmas = (const void *)(uintptr_t)a->vmas;

	for (unsigned int i = 0; i < a->nr_vmas; i++)
		if (addr >= vmas[i].start && addr < vmas[i].end)
			return lazy_vma(a, &vmas[i]);
	return 0;
}

static void add_range(struct lazy_hello *h, uint64_t start, uint64_t end)
{
	if (h->nr_ranges < LAZY_MAX_RANGES)
		h->ranges[h->nr_ranges] = (struct lazy_range){start, end};
	h->nr_ranges++;
}

int lazy_fill(int sock, pid_t pid, const struct restorer_args *a, int *fd)
{
	const struct rst_vma *vmas = (const void *)(uintptr_t)a->vmas;
	const struct rst_thread *th = (const void *)(uintptr_t)a->threads;
	struct lazy_hello *h;
	int ret = -1;

	h = calloc(1, sizeof(*h) + LAZY_MAX_RANGES * sizeof(struct lazy_range));
	if (!h) {
		pr_err("out of memory for the eager ranges of pid %d", pid);
		return -1;
	}
	*h = (struct lazy_hello){.magic = LAZY_FILL_MAGIC, .pid = pid};
	for (unsigned int i = 0; i < a->nr_vmas; i++)
		if (!lazy_vma(a, &vmas[i]))
			add_range(h, vmas[i].start, vmas[i].end);
	/* The restorer places the pages of the rseq areas itself (restorer-lazy.c). */
	for (unsigned int i = 0; i < a->nr_threads; i++) {
		uint64_t ends[2] = {th[i].rseq,
				    th[i].rseq + (th[i].rseq_len ? th[i].rseq_len - 1 : 0)};

		for (int j = 0; th[i].rseq && j < 2; j++)
			if (in_lazy(a, ends[j]))
				add_range(h, ends[j] & ~4095ULL, (ends[j] & ~4095ULL) + 4096);
	}
	if (h->nr_ranges > LAZY_MAX_RANGES) {
		pr_err("pid %d: %u mappings to fill, more than the %u a lazy restore serves", pid,
		       h->nr_ranges, LAZY_MAX_RANGES);
		goto out;
	}
	ret = send_hello(sock, h, sizeof(*h) + h->nr_ranges * sizeof(struct lazy_range), -1, fd);
out:
	free(h);
	return ret;
}

int lazy_handoff(int sock, pid_t pid, pid_t host, const struct restorer_args *a)
{
	const struct rst_vma *vmas = (const void *)(uintptr_t)a->vmas;
	struct lazy_hello *h;
	int pidfd, uffd = -1, ret = -1;
	unsigned int i;

	h = calloc(1, sizeof(*h) + a->nr_vmas * sizeof(struct lazy_range));
	if (!h) {
		pr_err("out of memory for the lazy ranges of pid %d", pid);
		return -1;
	}
	*h = (struct lazy_hello){.magic = LAZY_MAGIC, .pid = pid, .host_pid = host};
	for (i = 0; i < a->nr_vmas; i++)
		if (lazy_vma(a, &vmas[i]))
			h->ranges[h->nr_ranges++] = (struct lazy_range){vmas[i].start, vmas[i].end};
	if (h->nr_ranges > LAZY_MAX_RANGES) {
		pr_err("pid %d: %u lazy mappings, more than the %u a lazy restore serves", pid,
		       h->nr_ranges, LAZY_MAX_RANGES);
		goto out;
	}
	pidfd = syscall(SYS_pidfd_open, host, 0);
	if (pidfd >= 0) {
		uffd = syscall(SYS_pidfd_getfd, pidfd, a->lazy_uffd, 0);
		close(pidfd);
	}
	if (uffd < 0) {
		pr_perror("pid %d: cannot take its uffd (fd %d)", pid, a->lazy_uffd);
		goto out;
	}
	ret = send_hello(sock, h, sizeof(*h) + h->nr_ranges * sizeof(struct lazy_range), uffd,
			 NULL);
out:
	if (uffd >= 0)
		close(uffd);
	free(h);
	return ret;
}
