/* A pipe with 48 KiB queued keeps exactly that data, and both ends are still the same pipe. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define LEN	(48 * 1024 + 5)
#define SEED	0x919e

int main(int argc, char **argv)
{
	static unsigned char data[LEN];
	struct stat r, w;
	int p[2];
	ssize_t n, got = 0;

	test_init(argc, argv);
	if (pipe(p))
		fail("pipe: %m");
	datagen(data, LEN, SEED);
	if (write(p[1], data, LEN) != LEN)
		fail("write: %m");
	memset(data, 0, LEN);

	test_daemon();
	test_waitsig();

	if (fstat(p[0], &r) || fstat(p[1], &w))
		fail("fstat: %m");
	if (!S_ISFIFO(r.st_mode) || r.st_ino != w.st_ino)
		fail("the two ends are not one pipe");
	CHECK_EQ(fcntl(p[0], F_GETFL) & O_ACCMODE, O_RDONLY);
	CHECK_EQ(fcntl(p[1], F_GETFL) & O_ACCMODE, O_WRONLY);

	/* Read non-blocking: exactly LEN bytes, then nothing. */
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	while (got < LEN && (n = read(p[0], data + got, LEN - got)) > 0)
		got += n;
	if (got != LEN)
		fail("read back %zd bytes, expected %d", got, LEN);
	CHECK_DATA(data, LEN, SEED);
	if (read(p[0], data, 1) >= 0 || errno != EAGAIN)
		fail("more than %d bytes were queued", LEN);

	/* The write end still feeds the read end. */
	if (write(p[1], "ping", 4) != 4 || read(p[0], data, 4) != 4 || memcmp(data, "ping", 4))
		fail("the pipe no longer carries data");
	pass();
	return 0;
}
