/* --shell-job: stdio stay one terminal, our session's controlling tty; writes work. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "zdtmtst.h"

/* The runner looks for this on the terminal after the test passed. */
#define MARKER "zdtm-tty-marker\n"

static void check_stdio(void)
{
	struct stat st[3];
	struct termios t;
	int fd;

	for (fd = 0; fd < 3; fd++) {
		if (!isatty(fd))
			fail("fd %d is not a tty", fd);
		if (fstat(fd, &st[fd]))
			fail("fstat %d: %m", fd);
		if ((fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDWR)
			fail("fd %d is not O_RDWR", fd);
		if (st[fd].st_rdev != st[0].st_rdev)
			fail("fd %d is another terminal than fd 0", fd);
	}
	if (tcgetattr(0, &t))
		fail("tcgetattr: %m");
	/* The terminal is the controlling tty of our session. */
	if (tcgetsid(0) != getsid(0))
		fail("the tty belongs to session %d, we are in %d", tcgetsid(0), getsid(0));
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	test_keep_stdio();
	check_stdio();

	test_daemon();
	test_waitsig();

	check_stdio();
	if (write(1, MARKER, strlen(MARKER)) != (ssize_t)strlen(MARKER))
		fail("write to the tty: %m");
	if (write(2, "", 0) != 0)
		fail("write to stderr: %m");
	pass();
	return 0;
}
