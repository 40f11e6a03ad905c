/* Resource limits survive exactly (lowered soft and hard ones too); RLIMIT_NOFILE acts. */
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "zdtmtst.h"

static rlim_t min_lim(rlim_t a, rlim_t b)
{
	if (a == RLIM_INFINITY)
		return b;
	if (b == RLIM_INFINITY)
		return a;
	return a < b ? a : b;
}

/* Lower (never raise: no CAP_SYS_RESOURCE here) the soft and/or hard limit. */
static void lower(int res, rlim_t soft, rlim_t hard)
{
	struct rlimit r;

	if (getrlimit(res, &r))
		fail("getrlimit(%d): %m", res);
	r.rlim_max = min_lim(r.rlim_max, hard);
	r.rlim_cur = min_lim(min_lim(r.rlim_cur, soft), r.rlim_max);
	if (setrlimit(res, &r))
		fail("setrlimit(%d): %m", res);
}

int main(int argc, char **argv)
{
	struct rlimit before[RLIM_NLIMITS], r;
	rlim_t nofile;
	int i;

	test_init(argc, argv);
	lower(RLIMIT_NOFILE, 777, RLIM_INFINITY);
	lower(RLIMIT_STACK, 4 << 20, RLIM_INFINITY);
	lower(RLIMIT_CORE, 3 << 20, 5 << 20);
	lower(RLIMIT_MSGQUEUE, 12345, RLIM_INFINITY);
	lower(RLIMIT_NPROC, 4000, 5000);
	lower(RLIMIT_FSIZE, RLIM_INFINITY, 1ULL << 40);
	for (i = 0; i < RLIM_NLIMITS; i++)
		if (getrlimit(i, &before[i]))
			fail("getrlimit(%d): %m", i);

	test_daemon();
	test_waitsig();

	for (i = 0; i < RLIM_NLIMITS; i++) {
		if (getrlimit(i, &r))
			fail("getrlimit(%d): %m", i);
		if (r.rlim_cur != before[i].rlim_cur || r.rlim_max != before[i].rlim_max)
			fail("rlimit %d is %llu/%llu, expected %llu/%llu", i,
			     (unsigned long long)r.rlim_cur, (unsigned long long)r.rlim_max,
			     (unsigned long long)before[i].rlim_cur,
			     (unsigned long long)before[i].rlim_max);
	}

	/* The NOFILE limit is the one the kernel enforces. */
	nofile = before[RLIMIT_NOFILE].rlim_cur;
	if (nofile < 100000) {
		i = fcntl(0, F_DUPFD, (int)nofile - 1);
		if (i != (int)nofile - 1)
			fail("F_DUPFD below the limit: %d: %m", i);
		close(i);
		if (fcntl(0, F_DUPFD, (int)nofile) >= 0 || errno != EINVAL)
			fail("F_DUPFD at the limit %llu did not fail", (unsigned long long)nofile);
	}
	pass();
	return 0;
}
