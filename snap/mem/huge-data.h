/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a hugetlbfs object (shared MAP_HUGETLB memory, an MFD_HUGETLB memfd,
 * an SHM_HUGETLB segment) holds data. Neither way that finds a tmpfs
 * object's data works there: hugetlbfs' llseek calls the whole file data
 * (no SEEK_HOLE), and mincore() of a hugetlb mapping sees only the caller's
 * own page tables, not the file's pages. So the object is read through its
 * fd, which reads a hole as zeros without allocating a page: a huge page
 * that reads as zeros is a hole. One that was faulted in and never written
 * is then restored as a hole, which reads back the same (zeros).
 */
#ifndef SNAP_HUGE_DATA_H
#define SNAP_HUGE_DATA_H

#include <stdbool.h>
#include <stdint.h>

/* A run of data: bytes [@off, @off + @len) of the object. 0, or -1 logged. */
typedef int huge_run_fn(void *arg, uint64_t off, uint64_t len);

/*
 * Call @run for each run of huge pages of @hpage bytes holding data in the
 * object @fd of @size bytes, in order, the last one cut at @size rounded up
 * to 4 KiB. -1 logged, naming @what, when it cannot be read or @run fails.
 */
int huge_data_runs(int fd, uint64_t size, uint64_t hpage, const char *what, huge_run_fn *run,
		   void *arg);

/*
 * An image's huge page size @hps: a power of two above 4 KiB, and one this
 * machine has (it may have none of them free). -1 logged, naming @what.
 */
int huge_size_check(uint64_t hps, const char *what);

/*
 * Huge page size @hps as mmap(), memfd_create() and shmget() take it beside
 * their *_HUGETLB flag: its log2 in bits 26-31 (linux/hugetlb_encode.h, one
 * encoding for all three).
 */
static inline int huge_size_flags(uint64_t hps)
{
	return __builtin_ctzll(hps) << 26;
}

#endif
