// SPDX-License-Identifier: GPL-2.0
/*
 * Reading what is queued in a unix socket without taking it, through our
 * duplicate of the target's fd (the same socket). MSG_PEEK alone would read
 * the head of the queue again and again; with SO_PEEK_OFF set, each peek
 * goes on where the last one stopped, so the queue is walked message by
 * message. SO_PEEK_OFF is the socket's, which the target sees: it is put
 * back as it was. A peek hands out duplicates of the SCM_RIGHTS fds a
 * message carries (installed in snap) and, when the socket has SO_PASSCRED,
 * its sender's credentials.
 *
 * Message boundaries: a dgram or seqpacket peek returns one message (or the
 * next piece of it when the buffer was short). A stream peek glues the
 * segments of one writer together up to and including the first that
 * carries fds, and nothing tells where that one began: even a 1-byte peek
 * walks on to it and hands out its fds. So the glued bytes go back as one
 * segment with the fds: a reader gets them with the first of those bytes,
 * maybe earlier than it would have, never later.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "files/files-unix.h"
#include "log.h"

#define PEEK_CHUNK (64 << 10)
#define CMSG_BUF (CMSG_SPACE(UNIX_MAX_FDS * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred)))

struct peek {
	int fd, type;
	const char *who;
	struct unix_msg *msgs;
	size_t nr, cap;
	uint8_t *buf;
	size_t buf_len;
	union {
		char b[CMSG_BUF];
		struct cmsghdr align;
	} cbuf;
};

/* One peeked piece: its length, flags and what came with it. */
struct piece {
	ssize_t len;
	int flags;
	int *fds;
	int nfds;
	bool has_creds;
	struct ucred creds;
	struct sockaddr_un from;
	socklen_t from_len;
};

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static int set_peek_off(int fd, int off)
{
	return setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off));
}

/* Peek @len bytes at the current offset into @to. 0, 1 at the end, -1 logged. */
static int peek_piece(struct peek *p, void *to, size_t len, struct piece *pc)
{
	struct iovec iov = { to, len };
	struct msghdr mh = {
		.msg_name = &pc->from,
		.msg_namelen = sizeof(pc->from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = p->cbuf.b,
		.msg_controllen = sizeof(p->cbuf.b),
	};
	struct cmsghdr *c;

	memset(pc, 0, sizeof(*pc));
	pc->len = recvmsg(p->fd, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (pc->len < 0) {
		if (errno == EAGAIN)
			return 1;
		pr_perror("%s: cannot peek at its queue", p->who);
		return -1;
	}
	pc->flags = mh.msg_flags;
	pc->from_len = mh.msg_namelen;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_RIGHTS && !pc->fds) {
			pc->nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			pc->fds = malloc(pc->nfds * sizeof(int) + 1);
			if (!pc->fds) {
				close_fds((int *)CMSG_DATA(c), pc->nfds);
				pr_err("%s: out of memory for the fds of a message", p->who);
				return -1;
			}
			memcpy(pc->fds, CMSG_DATA(c), pc->nfds * sizeof(int));
		} else if (c->cmsg_type == SCM_CREDENTIALS) {
			pc->has_creds = true;
			memcpy(&pc->creds, CMSG_DATA(c), sizeof(pc->creds));
		}
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		pr_err("%s: a queued message carries more than snap could take in (fds or "
		       "credentials cut short; raise ulimit -n)",
		       p->who);
		return -1;
	}
	return 0;
}

static void piece_free(struct piece *pc)
{
	if (pc->fds)
		close_fds(pc->fds, pc->nfds);
	free(pc->fds);
	pc->fds = NULL;
}

/* A new message at the end of the list, with @pc's fds, creds and sender (taken). */
static struct unix_msg *add_msg(struct peek *p, struct piece *pc)
{
	struct unix_msg *m;

	if (p->nr == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;

		m = realloc(p->msgs, cap * sizeof(*m));
		if (!m) {
			pr_err("%s: out of memory for its queue", p->who);
			return NULL;
		}
		p->msgs = m;
		p->cap = cap;
	}
	m = &p->msgs[p->nr++];
	memset(m, 0, sizeof(*m));
	m->fds = pc->fds;
	m->nfds = pc->nfds;
	pc->fds = NULL;
	m->has_creds = pc->has_creds;
	m->creds = pc->creds;
	if (pc->from_len > offsetof(struct sockaddr_un, sun_path)) {
		m->sender_len = pc->from_len - offsetof(struct sockaddr_un, sun_path);
		memcpy(m->sender, pc->from.sun_path, m->sender_len);
	}
	return m;
}

static int append(struct unix_msg *m, const void *data, size_t len, const char *who)
{
	uint8_t *n;

	if (!len)
		return 0;
	n = realloc(m->data, m->len + len);
	if (!n) {
		pr_err("%s: out of memory for %zu queued bytes", who, m->len + len);
		return -1;
	}
	memcpy(n + m->len, data, len);
	m->data = n;
	m->len += len;
	return 0;
}

/*
 * Dgram and seqpacket: one message a peek, in pieces when it is larger than
 * our buffer. A seqpacket socket shut down for reading peeks 0 bytes at the
 * end of its queue, as it would an empty message: past the @queued bytes,
 * a 0 is the end (an empty message queued last is lost so).
 */
static int peek_datagrams(struct peek *p, bool shut, size_t queued)
{
	struct unix_msg *m = NULL;
	size_t seen = 0;
	struct piece pc;
	int ret;

	for (;;) {
		ret = peek_piece(p, p->buf, p->buf_len, &pc);
		if (ret)
			return ret < 0 ? -1 : 0;
		if (!m && pc.len == 0 && shut && seen >= queued) {
			piece_free(&pc);
			return 0;
		}
		if (!m) {
			m = add_msg(p, &pc);
			if (!m) {
				piece_free(&pc);
				return -1;
			}
		}
		/* A later piece of one message brings its fds again. */
		piece_free(&pc);
		if (append(m, p->buf, pc.len, p->who))
			return -1;
		seen += pc.len;
		if (!(pc.flags & MSG_TRUNC))
			m = NULL;
	}
}

static int peek_stream(struct peek *p, size_t queued)
{
	struct unix_msg *m;
	struct piece pc;
	size_t off = 0;
	int ret;

	while (off < queued) {
		size_t want = queued - off;

		if (want > p->buf_len)
			want = p->buf_len;
		ret = peek_piece(p, p->buf, want, &pc);
		/* 0 bytes: the peer shut down and more was not queued after all. */
		if (ret || pc.len == 0) {
			piece_free(&pc);
			return ret < 0 ? -1 : 0;
		}
		m = add_msg(p, &pc);
		if (!m) {
			piece_free(&pc);
			return -1;
		}
		if (append(m, p->buf, pc.len, p->who))
			return -1;
		off += pc.len;
	}
	return 0;
}

int unix_peek_queue(int fd, int type, bool shut, const char *who, struct unix_msg **msgs,
		    size_t *nr)
{
	struct peek p = { .fd = fd, .type = type, .who = who };
	socklen_t len = sizeof(int);
	int saved, queued = 0, ret = -1;

	*msgs = NULL;
	*nr = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &saved, &len) || set_peek_off(fd, 0)) {
		pr_perror("%s: SO_PEEK_OFF", who);
		return -1;
	}
	/* Stream and seqpacket: the bytes queued; dgram: the first message's. */
	if (ioctl(fd, SIOCINQ, &queued)) {
		pr_perror("%s: SIOCINQ", who);
		goto out;
	}
	p.buf_len = type == SOCK_STREAM && queued > PEEK_CHUNK ? (size_t)queued : PEEK_CHUNK;
	p.buf = malloc(p.buf_len);
	if (!p.buf) {
		pr_err("%s: out of memory to read its queue", who);
		goto out;
	}
	if (type == SOCK_STREAM)
		ret = peek_stream(&p, queued);
	else
		ret = peek_datagrams(&p, shut && type == SOCK_SEQPACKET, queued);
out:
	if (set_peek_off(fd, saved)) {
		pr_perror("%s: cannot put SO_PEEK_OFF back to %d", who, saved);
		ret = -1;
	}
	free(p.buf);
	if (ret) {
		unix_msgs_free(p.msgs, p.nr);
		return -1;
	}
	*msgs = p.msgs;
	*nr = p.nr;
	return 0;
}

int unix_send_msg(int fd, const struct unix_msg *m, const char *who)
{
	union {
		char b[CMSG_SPACE(UNIX_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { m->data, m->len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;

	if (m->nfds) {
		mh.msg_control = cbuf.b;
		mh.msg_controllen = CMSG_SPACE(m->nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(m->nfds * sizeof(int));
		memcpy(CMSG_DATA(c), m->fds, m->nfds * sizeof(int));
	}
	n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n != (ssize_t)m->len) {
		if (n >= 0)
			errno = EAGAIN;
		pr_perror("%s: cannot queue a %zu-byte message again", who, m->len);
		return -1;
	}
	return 0;
}

void unix_msgs_free(struct unix_msg *msgs, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		close_fds(msgs[i].fds, msgs[i].nfds);
		free(msgs[i].fds);
		free(msgs[i].data);
	}
	free(msgs);
}
