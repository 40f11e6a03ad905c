/* The vDSO works after restore: mapped where auxv says, clocks agree with the syscalls. */
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

static long long ns(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

int main(int argc, char **argv)
{
	struct timespec before, t1, t2, t3, slept = { 0, 20 * 1000 * 1000 };
	struct timeval tv1, tv2;
	struct test_vma vma;
	long long a, b;
	int i;

	test_init(argc, argv);
	test_daemon();
	clock_gettime(CLOCK_MONOTONIC, &before);
	test_waitsig();

	if (test_vma_named("[vdso]", &vma))
		fail("no [vdso] in /proc/self/maps");
	if (vma.start != getauxval(AT_SYSINFO_EHDR))
		fail("[vdso] is at %#lx but AT_SYSINFO_EHDR says %#lx", vma.start,
		     getauxval(AT_SYSINFO_EHDR));

	/* vDSO clock_gettime() (glibc uses it) is ordered with the real syscall. */
	for (i = 0; i < 100; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t2);
		clock_gettime(CLOCK_MONOTONIC, &t3);
		if (ns(&t1) > ns(&t2) || ns(&t2) > ns(&t3))
			fail("CLOCK_MONOTONIC: vdso %lld, syscall %lld, vdso %lld", ns(&t1),
			     ns(&t2), ns(&t3));
	}
	if (ns(&t1) < ns(&before))
		fail("CLOCK_MONOTONIC went back from %lld to %lld", ns(&before), ns(&t1));

	/* The clock moves: a 20 ms sleep shows up. */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	nanosleep(&slept, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	if (ns(&t2) - ns(&t1) < 20 * 1000 * 1000LL || ns(&t2) - ns(&t1) > 5 * 1000000000LL)
		fail("a 20 ms sleep took %lld ns by the vdso clock", ns(&t2) - ns(&t1));

	/* gettimeofday() and CLOCK_REALTIME agree with the syscall within a second. */
	gettimeofday(&tv1, NULL);
	syscall(SYS_gettimeofday, &tv2, NULL);
	a = tv1.tv_sec * 1000000LL + tv1.tv_usec;
	b = tv2.tv_sec * 1000000LL + tv2.tv_usec;
	if (a > b || b - a > 1000000)
		fail("gettimeofday: vdso %lld us, syscall %lld us", a, b);
	clock_gettime(CLOCK_REALTIME, &t1);
	syscall(SYS_clock_gettime, CLOCK_REALTIME, &t2);
	if (ns(&t1) > ns(&t2) || ns(&t2) - ns(&t1) > 1000000000LL)
		fail("CLOCK_REALTIME: vdso %lld, syscall %lld", ns(&t1), ns(&t2));
	pass();
	return 0;
}
