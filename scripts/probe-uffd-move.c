// SPDX-License-Identifier: GPL-2.0
/*
 * Probe for lazy restore (snap/lazy/README.md): may a process other than
 * the uffd's own call UFFDIO_MOVE on it, and what does a page cost placed
 * by UFFDIO_MOVE (written into a staging area, then moved) against one
 * placed by UFFDIO_COPY? Prints one line each.
 *   cc -O2 -o /tmp/probe-uffd-move scripts/probe-uffd-move.c && /tmp/probe-uffd-move [MiB]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1 << 16)
struct uffdio_move {
	__u64 dst, src, len, mode;
	__s64 move;
};
#define UFFDIO_MOVE _IOWR(UFFDIO, 0x05, struct uffdio_move)
#endif

#define PG    4096UL
#define BATCH 256

static int new_uffd(void)
{
	struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_MOVE};
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC);

	if (fd < 0 || ioctl(fd, UFFDIO_API, &api)) {
		perror("userfaultfd");
		exit(1);
	}
	return fd;
}

static char *registered(int uffd, size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_register r = {.range = {(unsigned long)p, len},
				    .mode = UFFDIO_REGISTER_MODE_MISSING};

	madvise(p, len, MADV_NOHUGEPAGE);
	if (p == MAP_FAILED || ioctl(uffd, UFFDIO_REGISTER, &r)) {
		perror("register");
		exit(1);
	}
	return p;
}

static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 +
	       ru.ru_stime.tv_usec / 1e3;
}

int main(int argc, char **argv)
{
	size_t len = (argc > 1 ? strtoul(argv[1], NULL, 0) : 256) << 20;
	int uffd = new_uffd(), status;
	char *dst = registered(uffd, PG),
	     *src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *staging =
		mmap(NULL, BATCH * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_move mv;
	double c0;
	pid_t pid;

	madvise(staging, BATCH * PG, MADV_NOHUGEPAGE);
	/* 1. UFFDIO_MOVE from another process (a fork: same fd, another mm). */
	memset(staging, 1, PG);
	pid = fork();
	if (!pid) {
		mv = (struct uffdio_move){(unsigned long)dst, (unsigned long)staging, PG, 0, 0};
		if (ioctl(uffd, UFFDIO_MOVE, &mv))
			printf("UFFDIO_MOVE from another process: %s\n", strerror(errno));
		else
			printf("UFFDIO_MOVE from another process: works\n");
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	/* A page of our own: the first one is shared with the child since the fork. */
	memset(staging + PG, 1, PG);
	mv = (struct uffdio_move){(unsigned long)dst, (unsigned long)staging + PG, PG, 0, 0};
	printf("UFFDIO_MOVE from the uffd's own process: %s\n",
	       ioctl(uffd, UFFDIO_MOVE, &mv) ? strerror(errno) : "works");

	/* 2. CPU per page: write into staging + UFFDIO_MOVE, against UFFDIO_COPY. */
	memset(src, 0x5a, len);
	dst = registered(uffd, len);
	c0 = cpu_ms();
	for (size_t off = 0; off < len; off += BATCH * PG) {
		memcpy(staging, src + off, BATCH * PG);
		mv = (struct uffdio_move){(unsigned long)dst + off, (unsigned long)staging,
					  BATCH * PG, 0, 0};
		if (ioctl(uffd, UFFDIO_MOVE, &mv)) {
			perror("UFFDIO_MOVE");
			return 1;
		}
	}
	printf("staging write + UFFDIO_MOVE: %.0f ns CPU per page\n",
	       (cpu_ms() - c0) * 1e6 / (len / PG));
	dst = registered(uffd, len);
	c0 = cpu_ms();
	for (size_t off = 0; off < len; off += BATCH * PG) {
		struct uffdio_copy c = {(unsigned long)dst + off, (unsigned long)src + off,
					BATCH * PG, 0, 0};

		if (ioctl(uffd, UFFDIO_COPY, &c)) {
			perror("UFFDIO_COPY");
			return 1;
		}
	}
	printf("UFFDIO_COPY: %.0f ns CPU per page\n", (cpu_ms() - c0) * 1e6 / (len / PG));
	return 0;
}
