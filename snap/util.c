// SPDX-License-Identifier: GPL-2.0
/* Small helpers with no better home; declared in ctx.h. */
#include <time.h>

#include "ctx.h"

/* Stats and timeouts measure intervals, so a clock that never jumps. */
uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}
