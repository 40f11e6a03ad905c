// SPDX-License-Identifier: GPL-2.0
/* The data of a hugetlbfs object (see huge-data.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctx.h"
#include "log.h"
#include "mem/huge-data.h"

int huge_size_check(uint64_t hps, const char *what)
{
	char path[96];

	if (hps <= PAGE_SIZE || (hps & (hps - 1))) {
		pr_err("%s: bad huge page size %llu", what, (unsigned long long)hps);
		return -1;
	}
	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB",
		 (unsigned long long)hps >> 10);
	if (access(path, F_OK)) {
		pr_err("%s is in %llu kB huge pages, which this machine does not have", what,
		       (unsigned long long)hps >> 10);
		return -1;
	}
	return 0;
}

int huge_data_runs(int fd, uint64_t size, uint64_t hpage, const char *what, huge_run_fn *run,
		   void *arg)
{
	uint64_t off, start = 0, end = (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	bool in_run = false;
	char *buf = malloc(hpage);
	int ret = 0;

	if (!buf) {
		pr_err("%s: out of memory to read a huge page", what);
		return -1;
	}
	/* The last huge page may be in part past @size (a SysV segment's). */
	for (off = 0; off < end && !ret; off += hpage) {
		bool data;

		if (pread_full(fd, buf, hpage, off)) {
			pr_err("%s: cannot read it at offset %llu: %s", what,
			       (unsigned long long)off,
			       errno == ENODATA ? "it ends early" : strerror(errno));
			ret = -1;
			break;
		}
		data = !all_zero(buf, hpage);
		if (data && !in_run)
			start = off;
		else if (!data && in_run)
			ret = run(arg, start, off - start);
		in_run = data;
	}
	if (!ret && in_run)
		ret = run(arg, start, end - start);
	free(buf);
	return ret;
}
