// SPDX-License-Identifier: GPL-2.0
/*
 * How UFFDIO_COPY into one mm scales with the threads placing (the lazy
 * server's workers, snap/lazy/lazy-work.c): MiB of a fresh private
 * anonymous mapping, registered for missing faults, filled by THREADS
 * threads each copying its own part 256 pages at a time from its own
 * buffer. Prints the wall time.
 *   cc -O2 -pthread -o /tmp/probe-uffd-copy scripts/probe-uffd-copy.c
 *   for i in 1 2 3; do /tmp/probe-uffd-copy 1024 1; /tmp/probe-uffd-copy 1024 2; done
 */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PG    4096UL
#define CHUNK 256

static int uffd, nthreads;
static char *dst;
static size_t len;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void *filler(void *arg)
{
	long id = (long)arg;
	size_t part = len / nthreads;
	char *src = aligned_alloc(PG, CHUNK * PG);

	memset(src, id + 1, CHUNK * PG);
	for (size_t off = id * part; off < (id + 1) * part; off += CHUNK * PG) {
		struct uffdio_copy c = {.dst = (unsigned long)dst + off,
					.src = (unsigned long)src,
					.len = CHUNK * PG};

		if (ioctl(uffd, UFFDIO_COPY, &c)) {
			perror("UFFDIO_COPY");
			exit(1);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct uffdio_api api = {.api = UFFD_API};
	struct uffdio_register reg = {.mode = UFFDIO_REGISTER_MODE_MISSING};
	pthread_t th[64];
	double t0;

	len = (size_t)(argc > 1 ? atoi(argv[1]) : 1024) << 20;
	nthreads = argc > 2 ? atoi(argv[2]) : 1;
	if (nthreads < 1 || nthreads > 64)
		return 2;
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	dst = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) || dst == MAP_FAILED) {
		perror("userfaultfd");
		return 1;
	}
	madvise(dst, len, MADV_NOHUGEPAGE);
	reg.range = (struct uffdio_range){(unsigned long)dst, len};
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		perror("UFFDIO_REGISTER");
		return 1;
	}
	t0 = now();
	for (long i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, filler, (void *)i);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	printf("%zu MiB, %d threads: %.1f ms\n", len >> 20, nthreads, (now() - t0) * 1e3);
	return 0;
}
