// SPDX-License-Identifier: GPL-2.0
/*
 * Probe for the live dump's two holds (Documentation/architecture.md,
 * "Frozen-time cost"): what holding N MiB of touched 4 KiB pages costs per
 * page while the process is frozen - fork() (the holder, and redis's
 * BGSAVE), vmsplice() into 1 MiB pipes and UFFDIO_WRITEPROTECT (the splice
 * hold) - and what a first write to a page then costs the process: the
 * kernel's copy-on-write after a fork. Three rounds, one line each.
 *   cc -O2 -o /tmp/probe-hold scripts/probe-hold.c && /tmp/probe-hold [MiB]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (1UL << 20)

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double per_page_ns(double ms, size_t pages)
{
	return ms * 1e6 / pages;
}

/* fork(): the child waits on a pipe; then the parent's first writes to a quarter. */
static void probe_fork(char *p, size_t len, size_t pages, double *fork_ns, double *cow_ns)
{
	size_t quarter = len / 4;
	int go[2];
	double t0, t1;
	pid_t c;

	if (pipe(go))
		exit(1);
	t0 = now_ms();
	c = fork();
	if (c == 0) {
		char b;

		if (read(go[0], &b, 1) < 0)
			_exit(1);
		_exit(0);
	}
	t1 = now_ms();
	*fork_ns = per_page_ns(t1 - t0, pages);
	t0 = now_ms();
	for (size_t i = 0; i < quarter; i += 4096)
		p[i]++;
	*cow_ns = per_page_ns(now_ms() - t0, quarter / 4096);
	if (write(go[1], "x", 1) != 1)
		exit(1);
	waitpid(c, NULL, 0);
	close(go[0]);
	close(go[1]);
}

static double probe_vmsplice(char *p, size_t len, size_t pages)
{
	size_t n = len / MIB;
	int (*fds)[2] = calloc(n, sizeof(*fds));
	double t0, ms;

	for (size_t i = 0; i < n; i++)
		if (pipe2(fds[i], O_NONBLOCK) || fcntl(fds[i][1], F_SETPIPE_SZ, MIB) < 0) {
			perror("pipe");
			exit(1);
		}
	t0 = now_ms();
	for (size_t i = 0; i < n; i++) {
		struct iovec v = { p + i * MIB, MIB };

		if (vmsplice(fds[i][1], &v, 1, 0) != (ssize_t)MIB) {
			perror("vmsplice");
			exit(1);
		}
	}
	ms = now_ms() - t0;
	for (size_t i = 0; i < n; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
	free(fds);
	return per_page_ns(ms, pages);
}

/* UFFDIO_WRITEPROTECT of the whole range, in 1 MiB steps as the splice hold does. */
static double probe_wp(char *p, size_t len, size_t pages)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP };
	struct uffdio_register reg = { .range = { (unsigned long)p, len },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	int uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	double t0, ms;

	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) || ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		perror("userfaultfd");
		return -1;
	}
	t0 = now_ms();
	for (size_t off = 0; off < len; off += MIB) {
		struct uffdio_writeprotect wp = { .range = { (unsigned long)p + off, MIB },
						  .mode = UFFDIO_WRITEPROTECT_MODE_WP };

		if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp)) {
			perror("UFFDIO_WRITEPROTECT");
			exit(1);
		}
	}
	ms = now_ms() - t0;
	close(uffd);	/* lifts the protection */
	return per_page_ns(ms, pages);
}

int main(int argc, char **argv)
{
	size_t len = (argc > 1 ? strtoul(argv[1], NULL, 10) : 1024) * MIB;
	size_t pages = len / 4096;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || madvise(p, len, MADV_NOHUGEPAGE))
		return 1;
	for (size_t i = 0; i < len; i += 4096)
		p[i] = i;
	printf("%zu MiB of 4 KiB pages, ns a page:\n", len / MIB);
	for (int r = 0; r < 3; r++) {
		double fork_ns, cow_ns;

		probe_fork(p, len, pages, &fork_ns, &cow_ns);
		printf("  fork %.0f, first write after it %.0f, ", fork_ns, cow_ns);
		printf("vmsplice %.0f, write-protect %.0f\n", probe_vmsplice(p, len, pages),
		       probe_wp(p, len, pages));
	}
	return 0;
}
