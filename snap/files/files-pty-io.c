// SPDX-License-Identifier: GPL-2.0
/*
 * A pty's termios and queued bytes, in and out of the kernel; dump takes
 * them and puts them straight back (the process may run on), restore puts
 * them into a new pty. A pty has no way to peek at its queues: reading is
 * taking, so putting back must rebuild exactly what the line discipline
 * (N_TTY) held.
 *
 * Input (master to slave) sits in the slave's line discipline, already
 * processed by its termios (echoed, CR mapped...). In canonical mode it is
 * a list of complete lines (each read() returns one) and a partial line no
 * read() returns; switching ICANON off (nothing left then but the partial
 * line, so no line boundary is lost) makes that readable. Putting back goes
 * through TIOCSTI, which feeds the line discipline synchronously, one byte
 * at a time, under a termios of our own: canonical, no echo, no signals, no
 * input mapping, and every data byte quoted with VLNEXT so that it is stored
 * as is; a line's terminator ('\n', VEOL, VEOL2) is sent unquoted so it
 * ends the line again, and a line that VEOF ended gets a VEOF. Switching
 * back to the process's termios then leaves lines, partial line (or, in raw
 * mode, plain bytes) as they were. With EXTPROC the line discipline stores
 * bytes unprocessed: they go back as they are, termios untouched.
 *
 * Output (slave to master) sits in the master's line discipline, which is
 * always raw: it goes back by TIOCSTI on the master.
 *
 * The line discipline holds 4095 bytes each way; more may wait in the tty's
 * flip buffers. Such excess is written back the ordinary way: input by a
 * write to the master (processed again by the slave's termios, as it had
 * not been yet), output by a write to the slave with OPOST off.
 *
 * In packet mode, the pending status byte is consumed by reading the
 * master; its FLUSHREAD, FLUSHWRITE, DOSTOP/NOSTOP and IOCTL bits are made
 * again by doing what sets them. TIOCSTI needs CAP_SYS_ADMIN.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "files/files-pty.h"
#include "log.h"

#define LDISC_BUF	4096		/* N_TTY_BUF_SIZE */
#define LDISC_MAX	(LDISC_BUF - 1)	/* what the line discipline stores */
#define QUEUED_MAX	(1 << 20)	/* far above line discipline + flip buffers */
#define WRITE_WAIT_MS	2000

/* Bytes being gathered or sent. */
struct bytes {
	uint8_t *data;
	size_t len;
};

int pty_termios_save(const struct termios *t, TtyTermios *ti, const char *who)
{
	ti->iflag = t->c_iflag;
	ti->oflag = t->c_oflag;
	ti->cflag = t->c_cflag;
	ti->lflag = t->c_lflag;
	ti->line = t->c_line;
	ti->cc.data = malloc(NCCS);
	if (!ti->cc.data) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	ti->cc.len = NCCS;
	memcpy(ti->cc.data, t->c_cc, NCCS);
	return 0;
}

int pty_termios_load(const TtyTermios *ti, struct termios *t, const char *who)
{
	if (ti->cc.len > NCCS || ti->line > 255) {
		pr_err("%s: termios with %zu control characters and line %u; at most %d and 255",
		       who, ti->cc.len, ti->line, NCCS);
		return -1;
	}
	memset(t, 0, sizeof(*t));
	t->c_iflag = ti->iflag;
	t->c_oflag = ti->oflag;
	t->c_cflag = ti->cflag;
	t->c_lflag = ti->lflag;
	t->c_line = ti->line;
	memcpy(t->c_cc, ti->cc.data, ti->cc.len);
	return 0;
}

static int append(struct bytes *b, const uint8_t *p, size_t len, const char *who)
{
	uint8_t *n;

	if (b->len + len > QUEUED_MAX) {
		pr_err("%s: more than %d bytes queued", who, QUEUED_MAX);
		return -1;
	}
	n = realloc(b->data, b->len + len + 1);
	if (!n) {
		pr_err("%s: out of memory for its queued bytes", who);
		return -1;
	}
	memcpy(n + b->len, p, len);
	b->data = n;
	b->len += len;
	return 0;
}

static bool canonical(const struct termios *t)
{
	return (t->c_lflag & ICANON) && !(t->c_lflag & EXTPROC);
}

/* Does a line read in canonical mode end with what ended it? */
static bool ends_line(const struct termios *t, const uint8_t *p, size_t len)
{
	uint8_t c = len ? p[len - 1] : 0;

	return len && (c == '\n' || (t->c_cc[VEOL] && c == t->c_cc[VEOL]) ||
		       ((t->c_lflag & IEXTEN) && t->c_cc[VEOL2] && c == t->c_cc[VEOL2]));
}

static int add_line(TtyDataEntry *td, const uint8_t *p, size_t len, bool eof, const char *who)
{
	TtyLine **n, *l = malloc(sizeof(*l));

	if (!l)
		goto oom;
	tty_line__init(l);
	l->data.data = malloc(len ? len : 1);
	if (!l->data.data)
		goto oom;
	memcpy(l->data.data, p, len);
	l->data.len = len;
	l->has_eof = eof;
	l->eof = eof;
	n = realloc(td->lines, (td->n_lines + 1) * sizeof(*n));
	if (!n)
		goto oom;
	td->lines = n;
	td->lines[td->n_lines++] = l;
	return 0;
oom:
	pr_err("%s: out of memory for its queued lines", who);
	if (l)
		tty_line__free_unpacked(l, NULL);
	return -1;
}

/*
 * Everything non-blocking @fd gives. A read() that finds nothing first
 * waits for the flip buffers to reach the line discipline.
 */
static int read_rest(int fd, struct bytes *b, const char *who, const char *what)
{
	uint8_t buf[LDISC_BUF + 1];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EIO))
			return 0;
		if (n < 0) {
			pr_perror("%s: cannot read its %s", who, what);
			return -1;
		}
		if (n == 0)
			return 0;
		if (append(b, buf, n, who))
			return -1;
	}
}

static int set_termios(int fd, const struct termios *t, const char *who)
{
	if (tcsetattr(fd, TCSANOW, t)) {
		pr_perror("%s: cannot set its termios", who);
		return -1;
	}
	return 0;
}

/* The slave's input: complete lines one read() each, then what no read() returns yet. */
static int take_input(int slave, const struct termios *t, TtyDataEntry *td, const char *who)
{
	uint8_t buf[LDISC_BUF + 1];
	struct bytes rest = { 0 };
	struct termios raw;
	ssize_t n;
	int ret = -1;

	for (size_t lines = 0; canonical(t); lines++) {
		n = read(slave, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			pr_perror("%s: cannot read its input lines", who);
			return -1;
		}
		/* A line has at least its terminator: there cannot be more of them. */
		if (lines > LDISC_BUF) {
			pr_err("%s: its input does not end (more than %d lines)", who, LDISC_BUF);
			return -1;
		}
		if (add_line(td, buf, n, !ends_line(t, buf, n), who))
			return -1;
	}
	if (!canonical(t))
		goto read;
	/* The partial line: the lines are gone, so no boundary is lost. */
	raw = *t;
	raw.c_lflag &= ~ICANON;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (set_termios(slave, &raw, who))
		return -1;
read:
	ret = read_rest(slave, &rest, who, "input");
	if (canonical(t) && set_termios(slave, t, who))
		ret = -1;
	td->has_input = rest.len;
	td->input.data = rest.data;
	td->input.len = rest.len;
	return ret;
}

/* The master's input: in packet mode each read() starts with a status byte. */
static int take_output(int master, bool packet, TtyDataEntry *td, uint32_t *pktstatus,
		       const char *who)
{
	uint8_t buf[LDISC_BUF + 1];
	struct pollfd p = { .fd = master, .events = POLLIN };
	struct bytes out = { 0 };
	ssize_t n;
	int ret = -1;

	/*
	 * The master fd is the process's own, maybe blocking: poll first (which
	 * also waits for the flip buffers), then read what is there.
	 */
	for (;;) {
		if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN))
			break;
		n = read(master, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EIO))
			break;
		if (n < 0) {
			pr_perror("%s: cannot read its output", who);
			goto out;
		}
		if (n == 0)
			break;
		if (!packet) {
			if (append(&out, buf, n, who))
				goto out;
		} else if (buf[0] != TIOCPKT_DATA) {
			*pktstatus |= buf[0];
		} else if (append(&out, buf + 1, n - 1, who)) {
			goto out;
		}
	}
	ret = 0;
out:
	td->has_output = out.len;
	td->output.data = out.data;
	td->output.len = out.len;
	return ret;
}

int pty_data_take(int master, int slave, const struct termios *t, bool packet, TtyDataEntry *td,
		  uint32_t *pktstatus, const char *who)
{
	struct pollfd p = { .fd = master, .events = POLLIN };
	int queued = 0;

	*pktstatus = 0;
	/*
	 * Without our own slave, output beyond the line discipline could not
	 * be put back: refuse before taking anything.
	 */
	poll(&p, 1, 0);
	if (slave < 0 && (ioctl(master, FIONREAD, &queued) || queued >= LDISC_MAX)) {
		pr_err("%s: %d bytes or more wait on its master while no process holds its slave "
		       "open; not supported",
		       who, LDISC_MAX);
		return -1;
	}
	if (slave >= 0 && take_input(slave, t, td, who))
		return -1;
	return take_output(master, packet, td, pktstatus, who);
}

/* One byte into the line discipline of @fd's tty, as if it had arrived. */
static int sti(int fd, uint8_t c, const char *who)
{
	if (ioctl(fd, TIOCSTI, &c)) {
		pr_perror("%s: cannot put its queued bytes back (TIOCSTI needs CAP_SYS_ADMIN)",
			  who);
		return -1;
	}
	return 0;
}

/* Write all of @b to non-blocking @fd, waiting for room a bounded time. */
static int write_all(int fd, const struct bytes *b, const char *who, const char *what)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	size_t off = 0;
	ssize_t n;

	while (off < b->len) {
		n = write(fd, b->data + off, b->len - off);
		if (n > 0) {
			off += n;
			continue;
		}
		if (n < 0 && errno != EAGAIN)
			break;
		if (poll(&p, 1, WRITE_WAIT_MS) <= 0) {
			errno = ETIMEDOUT;
			break;
		}
	}
	if (off == b->len)
		return 0;
	pr_perror("%s: cannot put back %zu bytes of its %s", who, b->len - off, what);
	return -1;
}

/* A control character unlike anything our input sends unquoted, and unlike @other. */
static cc_t free_char(const struct termios *t, cc_t want, cc_t other)
{
	cc_t c = want;

	for (int i = 0; i < 64; i++, c = (c % 31) + 1) {
		if (c == '\n' || c == other || c == t->c_cc[VEOL] || c == t->c_cc[VEOL2])
			continue;
		if ((t->c_iflag & IXON) && (c == t->c_cc[VSTART] || c == t->c_cc[VSTOP]))
			continue;
		return c;
	}
	return want;
}

/* Putting input back: see the top of the file. */
struct refill {
	int slave;
	cc_t lnext, eof;	/* of our termios */
	cc_t orig_eof;		/* of the process's, for the excess */
	bool quote;		/* not EXTPROC */
	size_t stored;		/* bytes the line discipline holds so far */
	struct bytes excess;	/* what does not fit, for the master */
};

/* @c into the line discipline, quoted or not, stored or sent to the excess. */
static int feed(struct refill *r, uint8_t c, bool quoted, const char *who)
{
	if (r->stored >= LDISC_MAX || r->excess.len)
		return append(&r->excess, &c, 1, who);
	r->stored++;
	if (quoted && r->quote && sti(r->slave, r->lnext, who))
		return -1;
	return sti(r->slave, c, who);
}

static int feed_line(struct refill *r, const struct termios *t, const TtyLine *l, const char *who)
{
	size_t len = l->data.len;
	bool term = !l->eof && ends_line(t, l->data.data, len);

	for (size_t i = 0; i < len; i++)
		if (feed(r, l->data.data[i], !(term && i == len - 1), who))
			return -1;
	if (!l->eof)
		return 0;
	/* VEOF ends the line; the line discipline stores a mark, not the byte. */
	if (r->stored >= LDISC_MAX || r->excess.len)
		return r->orig_eof ? append(&r->excess, &r->orig_eof, 1, who) : 0;
	r->stored++;
	return sti(r->slave, r->eof, who);
}

static int put_input(int master, int slave, const struct termios *t, const TtyDataEntry *td,
		     const char *who)
{
	struct refill r = { .slave = slave, .orig_eof = t->c_cc[VEOF] };
	struct termios q = *t;
	int ret = -1;

	if (!td->n_lines && !td->input.len)
		return 0;
	if (slave < 0) {
		pr_err("%s: has queued input but no slave to put it back through", who);
		return -1;
	}
	r.quote = !(t->c_lflag & EXTPROC);
	if (r.quote) {
		q.c_lflag |= ICANON | IEXTEN;
		q.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOPRT | ECHOKE | ISIG |
			       FLUSHO | PENDIN);
		q.c_iflag &= ~(ISTRIP | INLCR | IGNCR | ICRNL | IUCLC | PARMRK | IXANY);
		q.c_cc[VERASE] = q.c_cc[VKILL] = q.c_cc[VWERASE] = q.c_cc[VREPRINT] = 0;
		r.lnext = q.c_cc[VLNEXT] = free_char(t, 026, 0);
		r.eof = q.c_cc[VEOF] = free_char(t, 004, r.lnext);
		if (set_termios(slave, &q, who))
			return -1;
	}
	for (size_t i = 0; i < td->n_lines; i++)
		if (feed_line(&r, t, td->lines[i], who))
			goto out;
	for (size_t i = 0; i < td->input.len; i++)
		if (feed(&r, td->input.data[i], true, who))
			goto out;
	ret = 0;
out:
	if (r.quote && set_termios(slave, t, who))
		ret = -1;
	/* Not processed yet when dumped: the slave's termios processes it later. */
	if (!ret && r.excess.len)
		ret = write_all(master, &r.excess, who, "input");
	free(r.excess.data);
	return ret;
}

static int put_output(int master, int slave, const struct termios *t, const TtyDataEntry *td,
		      const char *who)
{
	size_t len = td->output.len, direct = len < LDISC_MAX ? len : LDISC_MAX;
	struct bytes rest = { td->output.data + direct, len - direct };
	struct termios raw = *t;
	int ret;

	for (size_t i = 0; i < direct; i++)
		if (sti(master, td->output.data[i], who))
			return -1;
	if (!rest.len)
		return 0;
	if (slave < 0) {
		pr_err("%s: no slave to put back %zu bytes of output through", who, rest.len);
		return -1;
	}
	raw.c_oflag &= ~OPOST;
	if (set_termios(slave, &raw, who))
		return -1;
	ret = write_all(slave, &rest, who, "output");
	if (set_termios(slave, t, who))
		ret = -1;
	return ret;
}

static bool flow_chars(const struct termios *t)
{
	return (t->c_iflag & IXON) && t->c_cc[VSTOP] == 023 && t->c_cc[VSTART] == 021;
}

/*
 * The packet mode status bits a termios change or a flush sets: make them
 * again by doing that, on empty queues. The termios changes leave IXON as
 * it is when it is on (a tty stopped by ^S stays stopped).
 */
static int put_pktstatus(int master, int slave, const struct termios *t, uint32_t st,
			 const char *who)
{
	struct termios alt = *t;

	if ((st & (TIOCPKT_FLUSHREAD | TIOCPKT_FLUSHWRITE)) && slave < 0)
		pr_warn("%s: its packet mode flush status is lost (no slave to flush)", who);
	if ((st & TIOCPKT_FLUSHREAD) && slave >= 0 && ioctl(slave, TCFLSH, TCIFLUSH))
		goto err;
	if ((st & TIOCPKT_FLUSHWRITE) && slave >= 0 && ioctl(slave, TCFLSH, TCOFLUSH))
		goto err;
	if (st & TIOCPKT_IOCTL) {
		alt.c_lflag ^= EXTPROC;
		if (set_termios(master, &alt, who) || set_termios(master, t, who))
			return -1;
		alt = *t;
	}
	/* DOSTOP or NOSTOP says how flow control last changed: change it twice. */
	if (!(st & (flow_chars(t) ? TIOCPKT_DOSTOP : TIOCPKT_NOSTOP)))
		return 0;
	if (!(t->c_iflag & IXON))
		alt.c_iflag |= IXON;
	if (flow_chars(t)) {
		alt.c_cc[VSTOP] = 0;
	} else {
		alt.c_cc[VSTOP] = 023;
		alt.c_cc[VSTART] = 021;
	}
	return set_termios(master, &alt, who) || set_termios(master, t, who) ? -1 : 0;
err:
	pr_perror("%s: cannot flush it to set its packet mode status", who);
	return -1;
}

int pty_data_put(int master, int slave, const struct termios *t, const TtyDataEntry *td,
		 uint32_t pktstatus, const char *who)
{
	if (pktstatus && put_pktstatus(master, slave, t, pktstatus, who))
		return -1;
	if (!td)
		return 0;
	return put_input(master, slave, t, td, who) || put_output(master, slave, t, td, who) ? -1
											       : 0;
}
