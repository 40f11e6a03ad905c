/*
 * A test in a time namespace with clock offsets (run under unshare --time
 * --monotonic N --boottime M: its daemon is the first process in it). After
 * restore, CLOCK_MONOTONIC and CLOCK_BOOTTIME must still carry the offsets:
 * /proc/self/timens_offsets says the same, both clocks read above the
 * offsets (this machine's uptime is far below them) and as far apart, and
 * they did not go back.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

/* The offsets the .desc gives unshare: far above this machine's uptime. */
#define MONO_OFF 1000000LL
#define BOOT_OFF 3000000LL

static long long secs(clockid_t c)
{
	struct timespec ts;

	if (clock_gettime(c, &ts))
		fail("clock_gettime(%d): %m", c);
	return ts.tv_sec;
}

static void read_offsets(char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/timens_offsets", "r");
	size_t n;

	if (!f)
		fail("/proc/self/timens_offsets: %m");
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void check(const char *when, long long mono_before, long long boot_before)
{
	long long mono = secs(CLOCK_MONOTONIC), boot = secs(CLOCK_BOOTTIME);

	if (mono < MONO_OFF || boot < BOOT_OFF)
		fail("%s: monotonic %lld s, boottime %lld s: the offsets (%lld, %lld) are gone",
		     when, mono, boot, MONO_OFF, BOOT_OFF);
	if (boot - mono < BOOT_OFF - MONO_OFF - 5)
		fail("%s: boottime %lld s is not %lld s ahead of monotonic %lld s", when, boot,
		     BOOT_OFF - MONO_OFF, mono);
	if (mono < mono_before || boot < boot_before)
		fail("%s: the clocks went back: monotonic %lld < %lld or boottime %lld < %lld",
		     when, mono, mono_before, boot, boot_before);
}

int main(int argc, char **argv)
{
	char before[256], after[256];
	long long mono, boot;

	test_init(argc, argv);
	test_daemon();
	read_offsets(before, sizeof(before));
	mono = secs(CLOCK_MONOTONIC);
	boot = secs(CLOCK_BOOTTIME);
	check("before the dump", 0, 0);

	test_waitsig();

	read_offsets(after, sizeof(after));
	if (strcmp(before, after))
		fail("timens_offsets were\n%s, now\n%s", before, after);
	check("after restore", mono, boot);
	pass();
	return 0;
}
