// SPDX-License-Identifier: GPL-2.0
/*
 * Probe: could the holder's fork be made cheaper by write-protecting the
 * target's pages while it runs (Documentation/benchmarks.md, "The fork
 * itself")? Over N MiB of written 4 KiB pages, three rounds of:
 *   - fork() of writable entries, and again right after (the entries are
 *     read-only since the first fork: what write-protecting beforehand
 *     would leave the frozen fork);
 *   - userfaultfd async write protection armed over the range (the
 *     tracker's UFFDIO_WRITEPROTECT), HOT % of the pages written again (each
 *     a write-protect fault the kernel resolves), the fork then, and the
 *     UFFDIO_UNREGISTER that ends the protection.
 *   cc -O2 -o /tmp/probe-fork-wp scripts/probe-fork-wp.c && /tmp/probe-fork-wp [MiB] [HOT]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Not in the 6.1 headers. */
#define FEATURE_WP_ASYNC (1ULL << 15)
#define PAGE		 4096UL

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* How long fork() takes the parent; the child exits at once. */
static double fork_ms(void)
{
	double t = now_ms(), d;
	pid_t pid = fork();

	if (!pid)
		_exit(0);
	d = now_ms() - t;
	waitpid(pid, NULL, 0);
	return d;
}

static void write_pages(char *m, size_t len, unsigned int pct)
{
	for (size_t i = 0; i < len; i += PAGE)
		if ((i / PAGE) % 100 < pct)
			m[i]++;
}

static int uffd_wp_round(char *m, size_t len, unsigned int hot)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP | FEATURE_WP_ASYNC };
	struct uffdio_register reg = { .range = { (unsigned long)m, len },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .range = reg.range, .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	int uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	double t0, t1, t2, f, t3;

	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) || ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		perror("userfaultfd with async write protection");
		return -1;
	}
	t0 = now_ms();
	if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp)) {
		perror("UFFDIO_WRITEPROTECT");
		return -1;
	}
	t1 = now_ms();
	write_pages(m, len, hot);
	t2 = now_ms();
	f = fork_ms();
	t3 = now_ms();
	if (ioctl(uffd, UFFDIO_UNREGISTER, &reg.range)) {
		perror("UFFDIO_UNREGISTER");
		return -1;
	}
	printf("  protected: protect %.1f ms, %u%% written %.1f ms (%.1f us a page), fork %.1f ms, "
	       "unregister %.1f ms\n",
	       t1 - t0, hot, t2 - t1, (t2 - t1) * 1e3 / (len / PAGE * hot / 100 ?: 1), f,
	       now_ms() - t3);
	close(uffd);
	return 0;
}

int main(int argc, char **argv)
{
	size_t len = (argc > 1 ? strtoul(argv[1], NULL, 0) : 1024) << 20;
	unsigned int hot = argc > 2 ? atoi(argv[2]) : 10;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	write_pages(m, len, 100);
	for (int r = 0; r < 3; r++) {
		double w, ro;

		write_pages(m, len, 100);
		w = fork_ms();
		ro = fork_ms();
		printf("round %d: fork %.1f ms writable, %.1f ms read-only\n", r + 1, w, ro);
		write_pages(m, len, 100);
		if (uffd_wp_round(m, len, hot))
			return 1;
	}
	return 0;
}
