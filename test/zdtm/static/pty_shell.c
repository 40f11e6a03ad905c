/*
 * A tree like a tiny shell in a terminal emulator: the test (R) holds a pty
 * master; its child S leads a session whose controlling terminal is the
 * slave, on S's stdio; S's child C, in a process group of its own, is the
 * terminal's foreground. R typed "hello\n" (echoed, ECHO and ONLCR on, not
 * read yet); C opened /dev/tty. After restore: S's session has the pty as
 * controlling terminal again, C's group is its foreground, C reads the
 * typed line, and what C writes to the /dev/tty it held reaches R after
 * the echo, all on one pty.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "zdtmtst.h"

#define TYPED	"hello\n"
#define ECHOED	"hello\r\n"
#define REPLY	"C got hello\n"
#define SEEN	ECHOED "C got hello\r\n"

/* Field 7 of /proc/PID/stat: the controlling terminal's device (new_encode_dev). */
static unsigned int tty_nr(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned int nr = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		fail("%s: %m", path);
	fclose(f);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %u", &nr) != 1)
		fail("%s: %s", path, buf);
	return nr;
}

static unsigned int encode(dev_t d)
{
	return (minor(d) & 0xff) | (major(d) << 8) | ((minor(d) & ~0xffu) << 12);
}

static void wait_term(void)
{
	while (!test_sigterm)
		pause();
}

/* The stdio terminal is this process's controlling terminal. */
static int check_ctty(const char *who)
{
	struct stat st;
	int fd;

	if (fstat(0, &st) || tty_nr(getpid()) != encode(st.st_rdev)) {
		test_msg("%s: the controlling terminal is %#x, stdin %#x\n", who,
			 tty_nr(getpid()), encode(st.st_rdev));
		return 1;
	}
	/* /dev/tty is the controlling terminal of our session. */
	fd = open("/dev/tty", O_RDWR);
	if (fd < 0 || tcgetsid(fd) != getsid(0)) {
		test_msg("%s: /dev/tty is not our session's terminal: %m\n", who);
		return 1;
	}
	close(fd);
	return 0;
}

static void c_main(int ready)
{
	char buf[64];
	int devtty;
	ssize_t n;

		devtty = open("/dev/tty", O_RDWR);
	if (devtty < 0 || write(ready, "C", 1) != 1)
		_exit(2);
	close(ready);
	wait_term();
	if (check_ctty("C"))
		_exit(3);
	if (tcgetpgrp(0) != getpgrp() || getpgrp() != getpid()) {
		test_msg("C: the foreground is %d, C's group %d\n", tcgetpgrp(0), getpgrp());
		_exit(4);
	}
	n = read(0, buf, sizeof(buf));
	if (n != (ssize_t)strlen(TYPED) || memcmp(buf, TYPED, n)) {
		test_msg("C: read %zd bytes \"%.*s\"\n", n, n > 0 ? (int)n : 0, buf);
		_exit(5);
	}
	if (tcgetsid(devtty) != getsid(0) ||
	    write(devtty, REPLY, strlen(REPLY)) != (ssize_t)strlen(REPLY))
		_exit(6);
	_exit(0);
}

static void s_main(const char *name, int master, int ready)
{
	int fd, p[2], status;
	pid_t c;
	char x;

	close(master);
	if (setsid() < 0)
		_exit(2);
	/* A session leader without a terminal: the open makes it its controlling one. */
	fd = open(name, O_RDWR);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(3);
	close(fd);
	if (pipe(p))
		_exit(4);
	c = fork();
	if (c == 0) {
		close(p[0]);
		setpgid(0, 0);
		c_main(p[1]);
	}
	close(p[1]);
	if (c < 0 || (setpgid(c, c) && getpgid(c) != c) || tcsetpgrp(0, c) ||
	    read(p[0], &x, 1) != 1 || write(ready, "S", 1) != 1)
		_exit(5);
	close(ready);
	wait_term();
	if (check_ctty("S"))
		_exit(6);
	if (tcgetsid(0) != getpid() || tcgetpgrp(0) != c) {
		test_msg("S: session %d (S is %d), foreground %d (C is %d)\n", tcgetsid(0),
			 getpid(), tcgetpgrp(0), c);
		_exit(7);
	}
	kill(c, SIGTERM);
	if (waitpid(c, &status, 0) != c || !WIFEXITED(status))
		_exit(8);
	_exit(WEXITSTATUS(status) ? 10 + WEXITSTATUS(status) : 0);
}

int main(int argc, char **argv)
{
	struct pollfd pf;
	int master, ready[2], status, sid = 0, pgrp = 0;
	unsigned int idx;
	char buf[256], x;
	size_t got = 0;
	ssize_t n;
	pid_t s;

	test_init(argc, argv);
	test_daemon();
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master) || pipe(ready))
		fail("posix_openpt: %m");
	s = fork();
	if (s < 0)
		fail("fork: %m");
	if (s == 0) {
		close(ready[0]);
		s_main(ptsname(master), master, ready[1]);
	}
	close(ready[1]);
	if (read(ready[0], &x, 1) != 1)
		fail("S did not get ready");
	if (write(master, TYPED, strlen(TYPED)) != (ssize_t)strlen(TYPED))
		fail("write: %m");
	/* The line is typed and echoed, not read by anyone yet. */
	pf = (struct pollfd){ .fd = master, .events = POLLIN };
	if (poll(&pf, 1, 5000) != 1)
		fail("no echo");
	test_waitsig();

	if (ioctl(master, TIOCGPTN, &idx) || ioctl(master, TIOCGSID, &sid) ||
	    ioctl(master, TIOCGPGRP, &pgrp))
		fail("TIOCGPTN, TIOCGSID, TIOCGPGRP: %m");
	CHECK_EQ(sid, s);
	CHECK_EQ(tty_nr(s), encode(makedev(136 + idx / 256, idx % 256)));
	kill(s, SIGTERM);
	if (waitpid(s, &status, 0) != s || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("S failed (status %#x, see the log)", status);
	while (got < strlen(SEEN) && poll(&pf, 1, 5000) == 1) {
		n = read(master, buf + got, sizeof(buf) - got);
		if (n <= 0)
			break;
		got += n;
	}
	if (got != strlen(SEEN) || memcmp(buf, SEEN, got))
		fail("the master read \"%.*s\", expected \"%s\"", (int)got, buf, SEEN);
	pass();
	return 0;
}
