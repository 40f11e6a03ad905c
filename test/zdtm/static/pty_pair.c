/*
 * A pty pair held by the process itself (master, a read/write slave and a
 * read-only non-blocking one), with bytes queued both ways:
 *   canon   canonical mode: complete lines (ended by '\n', VEOL, VEOF, CR
 *           mapped to NL, an empty VEOF line) and a partial line, to the
 *           slave; ONLCR-processed output to the master;
 *   raw     raw mode: 3000 bytes of every value each way;
 *   big     raw mode, 9000 bytes each way: more than the line discipline
 *           holds (4095), the rest waits in the pty's 8 KiB flip buffers;
 *   packet  raw, the master in packet mode with status pending (FLUSHREAD
 *           and DOSTOP), locked, the slave exclusive.
 * After restore: same termios, window size, modes, one pty index everywhere
 * (restored with another one if it was taken), the same bytes each way and
 * no more, and the pty still carries data.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "zdtmtst.h"

#define RAW_LEN 3000
#define BIG_LEN 9000
#define EOL	'@'

static const char *mode;
static size_t raw_len = RAW_LEN;
static int master, slave, slave_ro;
static struct termios tio;
static const struct winsize ws = { .ws_row = 33, .ws_col = 111, .ws_xpixel = 7, .ws_ypixel = 9 };

/* To the slave (typed), and what its reader gets, one read each. */
static const char canon_in[] = "line one\nsecond@\004third\004cr\rpartial no newline";
static const char *const canon_lines[] = { "line one\n", "second@", "", "third", "cr\n" };
static const char canon_partial[] = "partial no newline";
/* From the slave, and what the master reads after OPOST/ONLCR. */
static const char canon_out[] = "out1\nout2\t";
static const char canon_out_seen[] = "out1\r\nout2\t";

static void write_all(int fd, const void *p, size_t len)
{
	if (write(fd, p, len) != (ssize_t)len)
		fail("write: %m");
}

/* Everything readable from @fd now, with @fd in blocking mode: poll first. */
static size_t drain(int fd, unsigned char *buf, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < size && poll(&p, 1, 200) == 1 && (p.revents & POLLIN)) {
		n = read(fd, buf + got, size - got);
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

static void setup(void)
{
	static unsigned char data[BIG_LEN];
	int one = 1;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master))
		fail("posix_openpt: %m");
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	slave_ro = open(ptsname(master), O_RDONLY | O_NOCTTY | O_NONBLOCK);
	if (slave < 0 || slave_ro < 0)
		fail("open %s: %m", ptsname(master));
	if (tcgetattr(slave, &tio))
		fail("tcgetattr: %m");
	if (!strcmp(mode, "canon")) {
		tio.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL);
		tio.c_lflag |= ICANON | ISIG | IEXTEN;
		tio.c_iflag |= ICRNL;
		tio.c_oflag |= OPOST | ONLCR;
		tio.c_cc[VEOL] = EOL;
		tio.c_cc[VEOF] = 004;
	} else {
		cfmakeraw(&tio);
		tio.c_cc[VMIN] = 1;
		tio.c_cc[VTIME] = 0;
	}
	if (tcsetattr(slave, TCSANOW, &tio) || ioctl(master, TIOCSWINSZ, &ws))
		fail("tcsetattr: %m");
	if (!strcmp(mode, "canon")) {
		write_all(master, canon_in, strlen(canon_in));
		write_all(slave, canon_out, strlen(canon_out));
		return;
	}
	datagen(data, raw_len, 1);
	write_all(master, data, raw_len);
	datagen(data, raw_len, 2);
	write_all(slave, data, raw_len);
	if (strcmp(mode, "packet"))
		return;
	if (ioctl(master, TIOCPKT, &one) || tcflush(slave, TCIFLUSH))
		fail("packet mode: %m");
	/* That flushed the input: queue it again. A flow control change: DOSTOP. */
	datagen(data, RAW_LEN, 1);
	write_all(master, data, RAW_LEN);
	/* Processed before IXON is on, which would take the ^Q and ^S bytes. */
	for (int i = 0, q = 0; q < RAW_LEN; i++) {
		if (i == 1000 || ioctl(slave, FIONREAD, &q))
			fail("the input does not reach the slave");
		usleep(1000);
	}
	tio.c_iflag |= IXON;
	tio.c_cc[VSTART] = 021;
	tio.c_cc[VSTOP] = 023;
	if (tcsetattr(slave, TCSANOW, &tio) || ioctl(slave, TIOCEXCL) ||
	    ioctl(master, TIOCSPTLCK, &one))
		fail("IXON, TIOCEXCL, TIOCSPTLCK: %m");
}

static void check_pty(void)
{
	struct termios t;
	struct winsize w;
	struct stat s1, s2;
	char link[64], target[64];
	unsigned int n;
	ssize_t len;
	int v;

	if (tcgetattr(slave, &t) || ioctl(master, TIOCGWINSZ, &w))
		fail("tcgetattr: %m");
	CHECK_EQ(t.c_iflag, tio.c_iflag);
	CHECK_EQ(t.c_oflag, tio.c_oflag);
	CHECK_EQ(t.c_cflag, tio.c_cflag);
	CHECK_EQ(t.c_lflag, tio.c_lflag);
	if (memcmp(t.c_cc, tio.c_cc, sizeof(t.c_cc)))
		fail("the control characters changed");
	CHECK(!memcmp(&w, &ws, sizeof(w)));
	CHECK_EQ(fcntl(slave_ro, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY | O_NONBLOCK);
	CHECK_EQ(fcntl(slave, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR);
	/* One index: the master's, both slaves' device, their names. */
	if (ioctl(master, TIOCGPTN, &n) || fstat(slave, &s1) || fstat(slave_ro, &s2))
		fail("TIOCGPTN: %m");
	CHECK_EQ(s1.st_rdev, s2.st_rdev);
	CHECK_EQ((major(s1.st_rdev) - 136) * 256 + minor(s1.st_rdev), n);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", slave);
	len = readlink(link, target, sizeof(target) - 1);
	target[len > 0 ? len : 0] = '\0';
	if (strcmp(target, ptsname(master)))
		fail("the slave is %s, the master's is %s", target, ptsname(master));
	CHECK_EQ(ioctl(master, TIOCGPKT, &v), 0);
	CHECK_EQ(v, !strcmp(mode, "packet"));
	CHECK_EQ(ioctl(master, TIOCGPTLCK, &v), 0);
	CHECK_EQ(v, !strcmp(mode, "packet"));
	CHECK_EQ(ioctl(slave, TIOCGEXCL, &v), 0);
	CHECK_EQ(v, !strcmp(mode, "packet"));
}

static void check_canon(void)
{
	unsigned char buf[4096];
	ssize_t n;

	for (size_t i = 0; i < ARRAY_SIZE(canon_lines); i++) {
		n = read(slave_ro, buf, sizeof(buf));
		if (n != (ssize_t)strlen(canon_lines[i]) || memcmp(buf, canon_lines[i], n))
			fail("input line %zu: read %zd bytes (\"%.*s\"), expected \"%s\"", i, n,
			     n > 0 ? (int)n : 0, buf, canon_lines[i]);
	}
	if (read(slave_ro, buf, sizeof(buf)) >= 0 || errno != EAGAIN)
		fail("a line too many, or the partial line was ended");
	write_all(master, "\n", 1);
	n = read(slave_ro, buf, sizeof(buf));
	if (n != (ssize_t)strlen(canon_partial) + 1 || memcmp(buf, canon_partial, n - 1))
		fail("the partial line is now \"%.*s\"", n > 0 ? (int)n : 0, buf);
	n = drain(master, buf, sizeof(buf));
	if (n != (ssize_t)strlen(canon_out_seen) || memcmp(buf, canon_out_seen, n))
		fail("the master read %zd bytes (\"%.*s\"), expected \"%s\"", n, (int)n, buf,
		     canon_out_seen);
}

static void check_raw(void)
{
	static unsigned char buf[BIG_LEN * 2];
	bool packet = !strcmp(mode, "packet");
	unsigned char *p = buf;
	size_t n = 0;
	ssize_t r;

	r = read(slave_ro, buf, sizeof(buf));
	while (r > 0 && (n += r) < sizeof(buf))
		r = read(slave_ro, buf + n, sizeof(buf) - n);
	if (n != raw_len)
		fail("read %zu bytes of input, expected %zu", n, raw_len);
	CHECK_DATA(buf, raw_len, 1);
	if (packet) {
		/* The status first, alone; then each read starts with TIOCPKT_DATA. */
		if (read(master, buf, sizeof(buf)) != 1)
			fail("no packet status pending");
		CHECK_EQ(buf[0], TIOCPKT_FLUSHREAD | TIOCPKT_DOSTOP);
	}
	n = 0;
	for (;;) {
		struct pollfd pf = { .fd = master, .events = POLLIN };

		if (poll(&pf, 1, 200) != 1)
			break;
		r = read(master, p, sizeof(buf) - n);
		if (r <= 0)
			break;
		if (packet) {
			CHECK_EQ(p[0], TIOCPKT_DATA);
			memmove(p, p + 1, --r);
		}
		p += r;
		n += r;
	}
	if (n != raw_len)
		fail("the master read %zu bytes, expected %zu", n, raw_len);
	CHECK_DATA(buf, raw_len, 2);
}

int main(int argc, char **argv)
{
	unsigned char c;

	test_init(argc, argv);
	mode = test_argc > 1 ? test_argv[1] : "canon";
	if (!strcmp(mode, "big"))
		raw_len = BIG_LEN;
	test_daemon();
	setup();
	test_waitsig();

	check_pty();
	if (!strcmp(mode, "canon"))
		check_canon();
	else
		check_raw();
	/* It still carries data both ways. */
	write_all(master, "z\n", 2);
	if (read(slave, &c, 1) != 1 || c != 'z')
		fail("the master no longer reaches the slave");
	pass();
	return 0;
}
