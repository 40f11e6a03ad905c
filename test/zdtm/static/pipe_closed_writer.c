/* A pipe whose write end is closed keeps its queued data and then reads EOF. */
#include <fcntl.h>
#include <unistd.h>

#include "zdtmtst.h"

#define LEN	(10 * 1024 + 3)
#define SEED	0xe0f

int main(int argc, char **argv)
{
	static unsigned char data[LEN + 1];
	ssize_t n, got = 0;
	int p[2];

	test_init(argc, argv);
	if (pipe(p))
		fail("pipe: %m");
	datagen(data, LEN, SEED);
	if (write(p[1], data, LEN) != LEN)
		fail("write: %m");
	close(p[1]);

	test_daemon();
	test_waitsig();

	CHECK_EQ(fcntl(p[1], F_GETFD), -1);	/* still closed */
	while ((n = read(p[0], data + got, LEN + 1 - got)) > 0)
		got += n;
	if (n < 0)
		fail("read: %m");
	if (got != LEN)
		fail("read %zd bytes before EOF, expected %d", got, LEN);
	CHECK_DATA(data, LEN, SEED);
	pass();
	return 0;
}
