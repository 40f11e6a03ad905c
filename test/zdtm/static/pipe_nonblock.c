/* O_NONBLOCK on pipe ends survives (only where set): an empty read gives EAGAIN. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "zdtmtst.h"

int main(int argc, char **argv)
{
	char buf[16];
	int p[2], q[2];

	test_init(argc, argv);
	if (pipe2(p, O_NONBLOCK) || pipe(q))
		fail("pipe: %m");
	/* p: both ends non-blocking; q: only the read end. */
	if (fcntl(q[0], F_SETFL, O_NONBLOCK))
		fail("fcntl: %m");
	if (write(p[1], "abc", 3) != 3)
		fail("write: %m");

	test_daemon();
	test_waitsig();

	CHECK_EQ(fcntl(p[0], F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY | O_NONBLOCK);
	CHECK_EQ(fcntl(p[1], F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_WRONLY | O_NONBLOCK);
	CHECK_EQ(fcntl(q[0], F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY | O_NONBLOCK);
	CHECK_EQ(fcntl(q[1], F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_WRONLY);

	if (read(p[0], buf, sizeof(buf)) != 3)
		fail("read: %m");
	if (read(p[0], buf, sizeof(buf)) >= 0 || errno != EAGAIN)
		fail("read from an empty O_NONBLOCK pipe: %m");
	if (read(q[0], buf, sizeof(buf)) >= 0 || errno != EAGAIN)
		fail("read from an empty O_NONBLOCK pipe: %m");
	pass();
	return 0;
}
