// SPDX-License-Identifier: GPL-2.0
/*
 * The 1 GiB container of scripts/bench_runc.py: built static, it is the
 * container's only program. It fills MIB of anonymous memory with data
 * (every page distinct, none zero, so a dump cannot skip any), then counts
 * into /data/counter every 200 ms, as the busybox container does: the
 * counter appearing means ready, and it going on after a restore means
 * the restored one runs.
 *
 *   memhog MIB
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t len = (size_t)(argc > 1 ? atol(argv[1]) : 1024) << 20;
	unsigned long i = 0;
	char buf[32];
	char *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("memhog: mmap");
		return 1;
	}
	for (size_t off = 0; off < len; off += 4096)
		memset(p + off, (int)(off >> 12) | 1, 64);
	for (;;) {
		int fd = open("/data/counter", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int n = snprintf(buf, sizeof(buf), "%lu\n", ++i);

		if (fd >= 0) {
			if (write(fd, buf, n) != n)
				return 1;
			close(fd);
		}
		/* Touch a page now and then: the memory stays in use. */
		p[(i * 4096) % len]++;
		usleep(200000);
	}
}
