/* A pipe grown to 128 KiB keeps that size and the 100 KiB (> 64 KiB) queued in it. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SIZE	(128 * 1024)
#define LEN	(100 * 1024 + 7)
#define SEED	0x512e

int main(int argc, char **argv)
{
	static unsigned char data[SIZE];
	ssize_t n, got = 0;
	int p[2];

	test_init(argc, argv);
	if (pipe2(p, O_NONBLOCK))
		fail("pipe: %m");
	if (fcntl(p[1], F_SETPIPE_SZ, SIZE) != SIZE)
		fail("F_SETPIPE_SZ %d: %m", SIZE);
	datagen(data, LEN, SEED);
	if (write(p[1], data, LEN) != LEN)
		fail("write: %m");

	test_daemon();
	test_waitsig();

	CHECK_EQ(fcntl(p[0], F_GETPIPE_SZ), SIZE);
	CHECK_EQ(fcntl(p[1], F_GETPIPE_SZ), SIZE);
	while (got < SIZE && (n = read(p[0], data + got, SIZE - got)) > 0)
		got += n;
	if (got != LEN)
		fail("read back %zd bytes, expected %d", got, LEN);
	CHECK_DATA(data, LEN, SEED);

	/* The capacity is real: exactly SIZE bytes fit. */
	got = 0;
	while ((n = write(p[1], data, 4096)) > 0)
		got += n;
	if (errno != EAGAIN)
		fail("write: %m");
	CHECK_EQ(got, SIZE);
	pass();
	return 0;
}
