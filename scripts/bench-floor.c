// SPDX-License-Identifier: GPL-2.0
/*
 * The physical floor for the dump/restore benchmark (bench_dump.py): what it
 * costs on this machine, now, to make and fill MIB of memory, or to write it
 * into a file, with nothing of snap's in the way. Each prints "name ms"
 * lines; every mapping is fresh, as a restored process's memory is.
 *   bench-floor fill MIB: populate            MADV_POPULATE_WRITE only
 *                         populate_memcpy     ... then memcpy into it (4 KiB pages)
 *                         thp_memcpy          memcpy into MADV_HUGEPAGE memory
 *                         uffdio_copy         UFFDIO_COPY into it (4 KiB pages)
 *                         first_read_memcpy   a read of every page of populate_memcpy's
 *                         first_read_copy     the same after uffdio_copy
 *   bench-floor write MIB FILE: write         MIB into FILE (a new file), 4 MiB a write
 * The source of every copy is a 4 MiB buffer already touched, as a staging
 * area is; a fill is checked against it.
 */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (4UL << 20)
#define PMD (2UL << 20)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* @len bytes, 2 MiB-aligned (so that THP can back them), not yet touched. */
static char *fresh(size_t len, int advice)
{
	char *p = mmap(NULL, len + PMD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	p = (char *)(((uintptr_t)p + PMD - 1) & ~(PMD - 1));
	if (madvise(p, len, advice))
		die("madvise");
	return p;
}

static void release(char *p, size_t len)
{
	munmap(p, len);
}

static void check(const char *p, const char *src, size_t len)
{
	for (size_t o = 0; o < len; o += CHUNK)
		if (memcmp(p + o, src, CHUNK))
			die("the copy differs");
}

/* One volatile read a page: what the process pays first touching its memory. */
static double read_pass(const char *p, size_t len)
{
	double t = now_ms();
	unsigned long sum = 0;

	for (size_t o = 0; o < len; o += 4096)
		sum += *(volatile const char *)(p + o);
	t = now_ms() - t;
	return sum == 1 ? t + 1e-9 : t; /* keep the loop */
}

static double fill_memcpy(size_t len, const char *src, int thp, double *first_read)
{
	char *p = fresh(len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	double t = now_ms();

	if (!thp && madvise(p, len, MADV_POPULATE_WRITE))
		die("MADV_POPULATE_WRITE");
	for (size_t o = 0; o < len; o += CHUNK)
		memcpy(p + o, src, CHUNK);
	t = now_ms() - t;
	if (first_read)
		*first_read = read_pass(p, len);
	check(p, src, len);
	release(p, len);
	return t;
}

static double populate(size_t len)
{
	char *p = fresh(len, MADV_NOHUGEPAGE);
	double t = now_ms();

	if (madvise(p, len, MADV_POPULATE_WRITE))
		die("MADV_POPULATE_WRITE");
	t = now_ms() - t;
	release(p, len);
	return t;
}

static double uffdio_copy(size_t len, const char *src, double *first_read)
{
	char *p = fresh(len, MADV_NOHUGEPAGE);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .range = { (uintptr_t)p, len },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	long uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	double t;

	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) || ioctl(uffd, UFFDIO_REGISTER, &reg))
		die("userfaultfd");
	t = now_ms();
	for (size_t o = 0; o < len; o += CHUNK) {
		struct uffdio_copy c = { (uintptr_t)p + o, (uintptr_t)src, CHUNK,
					 UFFDIO_COPY_MODE_DONTWAKE, 0 };

		if (ioctl(uffd, UFFDIO_COPY, &c) || c.copy != (long)CHUNK)
			die("UFFDIO_COPY");
	}
	t = now_ms() - t;
	close(uffd);
	*first_read = read_pass(p, len);
	check(p, src, len);
	release(p, len);
	return t;
}

static int fill(size_t len)
{
	char *src = fresh(CHUNK, MADV_NOHUGEPAGE);
	double r_memcpy, r_copy;

	for (size_t i = 0; i < CHUNK; i++)
		src[i] = i * 7 + (i >> 12);
	printf("populate %.1f\n", populate(len));
	printf("populate_memcpy %.1f\n", fill_memcpy(len, src, 0, &r_memcpy));
	printf("thp_memcpy %.1f\n", fill_memcpy(len, src, 1, NULL));
	printf("uffdio_copy %.1f\n", uffdio_copy(len, src, &r_copy));
	printf("first_read_memcpy %.1f\nfirst_read_copy %.1f\n", r_memcpy, r_copy);
	return 0;
}

static int write_file(size_t len, const char *path)
{
	char *src = fresh(CHUNK, MADV_NOHUGEPAGE);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	double t;

	if (fd < 0)
		die(path);
	memset(src, 0x5a, CHUNK);
	t = now_ms();
	for (size_t o = 0; o < len; o += CHUNK)
		if (pwrite(fd, src, CHUNK, o) != (ssize_t)CHUNK)
			die("pwrite");
	t = now_ms() - t;
	close(fd);
	unlink(path);
	printf("write %.1f\n", t);
	return 0;
}

int main(int argc, char **argv)
{
	size_t len = argc > 2 ? strtoul(argv[2], NULL, 10) << 20 : 0;

	if (len % CHUNK)
		len += CHUNK - len % CHUNK;
	if (argc == 3 && !strcmp(argv[1], "fill") && len)
		return fill(len);
	if (argc == 4 && !strcmp(argv[1], "write") && len)
		return write_file(len, argv[3]);
	fprintf(stderr, "usage: bench-floor fill MIB | write MIB FILE\n");
	return 2;
}
