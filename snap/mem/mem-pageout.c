// SPDX-License-Identifier: GPL-2.0
/*
 * Give a target that runs on after its dump (-R) its swapped pages back to
 * swap.
 *
 * Reading a swapped page out of another process (process_vm_readv, or the
 * parasite's vmsplice in a live dump) swaps it in, into the target: without
 * this step every dump of a process that was partly in swap would leave it
 * with that much more resident memory. The ranges page_collect() saw in
 * swap are pushed out again with process_madvise(MADV_PAGEOUT) once snap no
 * longer needs them: MADV_PAGEOUT of a page a live dump's pipe still holds
 * unmaps it and writes it to swap but cannot free it. Pages the target had
 * resident are left alone.
 *
 * It is a hint to the kernel, and the image is complete before it runs:
 * a failure is a warning, never a failed dump.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "log.h"
#include "mem/mem-pageout.h"

/* process_madvise() takes at most UIO_MAXIOV ranges per call. */
#define PAGEOUT_BATCH 1024

/* The ranges of @rl from @i on, at most PAGEOUT_BATCH, into @iov; how many. */
static size_t fill_iov(const struct range_list *rl, size_t i, struct iovec *iov)
{
	size_t k;

	for (k = 0; k < PAGEOUT_BATCH && i + k < rl->nr; k++) {
		iov[k].iov_base = (void *)rl->r[i + k].start;
		iov[k].iov_len = rl->r[i + k].end - rl->r[i + k].start;
	}
	return k;
}

/* Pages in the ranges of @rl from @i on. */
static uint64_t pages_from(const struct range_list *rl, size_t i)
{
	uint64_t n = 0;

	for (; i < rl->nr; i++)
		n += (rl->r[i].end - rl->r[i].start) / PAGE_SIZE;
	return n;
}

/*
 * The kernel advises the ranges in order and stops at the first one it
 * cannot, returning the bytes done before it; only an error in the first
 * range comes back as -1. So: step over what was done and retry from the
 * range that stopped it, which then fails first. ENOMEM (the target
 * unmapped part of the range since) and EINVAL (it mlock()ed it) concern
 * that range only; any other error (EPERM without CAP_SYS_NICE, ESRCH, an
 * old kernel) every range, so the rest is not tried.
 */
void mem_pageout_swapped(struct dump_ctx *ctx, struct dump_task *t)
{
	struct range_list *rl = &t->swapped;
	struct iovec iov[PAGEOUT_BATCH];
	uint64_t failed = 0, t0 = now_ns();
	int first_errno = 0;
	size_t i = 0, n, k;
	ssize_t done;

	while (i < rl->nr) {
		n = fill_iov(rl, i, iov);
		done = process_madvise(t->pidfd, iov, n, MADV_PAGEOUT, 0);
		if (done < 0 && errno != ENOMEM && errno != EINVAL) {
			first_errno = first_errno ?: errno;
			failed += pages_from(rl, i);
			break;
		}
		if (done <= 0) {
			if (done < 0 && errno == EINVAL) {
				first_errno = first_errno ?: errno;
				failed += iov[0].iov_len / PAGE_SIZE;
			}
			i++;
			continue;
		}
		for (k = 0; k < n && (size_t)done >= iov[k].iov_len; k++) {
			done -= iov[k].iov_len;
			ctx->st.pages_paged_out += iov[k].iov_len / PAGE_SIZE;
		}
		i += k;
		/* The total per call is capped (2 GiB): the rest of a range comes next. */
		if (done) {
			ctx->st.pages_paged_out += done / PAGE_SIZE;
			rl->r[i].start += done;
		}
	}
	ctx->st.pageout_ns = now_ns() - t0;
	if (failed)
		pr_warn("pid %d: %llu pages that were in swap before the dump stay in memory: "
			"process_madvise(MADV_PAGEOUT): %s",
			t->pid, (unsigned long long)failed, strerror(first_errno));
}
