/* Stack contents survive: a 512 KiB local array and 64 nested frames, each with its own data. */
#include <string.h>

#include "zdtmtst.h"

#define DEPTH 64

static int recurse(int depth)
{
	unsigned char frame[1000 + 13 * DEPTH];
	size_t len = 1000 + 13 * depth;
	ssize_t off;
	int ret = 0;

	datagen(frame, len, 0x57ac + depth);
	if (depth)
		ret = recurse(depth - 1);
	else
		test_waitsig();
	off = datachk(frame, len, 0x57ac + depth);
	if (off >= 0)
		fail("frame at depth %d differs at offset %zd", depth, off);
	return ret + depth;
}

int main(int argc, char **argv)
{
	unsigned char big[512 * 1024];

	test_init(argc, argv);
	datagen(big, sizeof(big), 0xb16);
	test_daemon();
	CHECK_EQ(recurse(DEPTH), DEPTH * (DEPTH + 1) / 2);
	CHECK_DATA(big, sizeof(big), 0xb16);
	pass();
	return 0;
}
