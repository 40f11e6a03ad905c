// SPDX-License-Identifier: GPL-2.0
/*
 * The dump's end of the page server protocol (page-xfer.h): one TCP
 * connection per dump, and the page sink backend that turns each sink's
 * layout and records into frames on it.
 *
 * Live dumps write pages from several threads at once. They share the one
 * connection: each thread seals its frames (the crc, the costly part) on its
 * own, then sends them whole under a lock, so frames never interleave and
 * the server reads one plain stream. A CLOSE is answered by the server; its
 * sender keeps the lock until the answer is read, which is therefore the
 * answer to that CLOSE. Any other time the server speaks it is to give up
 * (ERROR): it is looked for before each frame is sent, and said once for the
 * whole dump, whichever sink meets it.
 */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "mem/page-sink-backend.h"
#include "mem/page-xfer.h"

struct page_xfer {
	int sk;
	char peer[80];		/* "ADDR:PORT" as given, for messages */
	/*
	 * One frame at a time on the socket; a CLOSE, END or HELLO and the
	 * answer to it as one. Everything below is under it.
	 */
	pthread_mutex_t lock;
	bool broken;		/* failed, and said so: nothing more is sent */
	uint32_t nr_sinks;	/* handles given, in order */
	uint32_t nr_closed;
	uint64_t bytes, frames;
	uint64_t wait_ns;	/* writers waiting for the lock, summed */
	uint64_t t_start;
	uint8_t reply[PS_MAX_TEXT];
	uint8_t *pages;		/* PAGE_SET_SERVE: one PAGES frame */
	uint64_t rx_bytes;	/* PAGE_SET_SERVE: read */
};

/* One sink's share of the connection. */
struct xfer_sink {
	struct page_xfer *x;
	uint32_t handle;
	struct ps_run *runs;	/* declared, not sent yet */
	size_t nr_buf;
	uint64_t nr_runs;
	struct ps_sum sum;	/* atomic: frames sent for it */
};

/* The server gives up: its words, said once as the dump's error. */
static void said_by_server(struct page_xfer *x, const struct ps_hdr *h)
{
	pr_err("page server %s: %.*s", x->peer, (int)h->len, (const char *)x->reply);
	x->broken = true;
}

/*
 * Read the server's answer to what was just sent (@what names it): 0 and
 * *@h when it is of @type; else -1, said.
 */
static int read_reply(struct page_xfer *x, struct ps_hdr *h, uint16_t type, const char *what)
{
	uint64_t off = 0;
	char err[256];
	int ret;

	ret = ps_frame_read(x->sk, &off, h, x->reply, sizeof(x->reply), err, sizeof(err));
	if (!ret && h->type == PS_ERROR) {
		said_by_server(x, h);
		return -1;
	}
	if (!ret && h->type == type)
		return 0;
	x->broken = true;
	if (ret > 0)
		pr_err("page server %s closed the connection before it answered %s", x->peer, what);
	else if (ret == -2 && (errno == EAGAIN || errno == EWOULDBLOCK))
		pr_err("page server %s did not answer %s within %d s", x->peer, what,
		       PS_TIMEOUT_S);
	else if (ret == -2)
		pr_err("page server %s: connection lost waiting for its answer to %s: %s", x->peer,
		       what, strerror(errno));
	else if (ret < 0)
		pr_err("page server %s: its answer to %s: %s", x->peer, what, err);
	else
		pr_err("page server %s answered %s with %s", x->peer, what,
		       ps_type_name(h->type));
	return -1;
}

/*
 * The server never speaks unasked but to give up: is there an ERROR waiting,
 * or did it close the connection? -1 (said) if so.
 */
static int server_gave_up(struct page_xfer *x, const char *what)
{
	struct pollfd p = { .fd = x->sk, .events = POLLIN };
	uint64_t off = 0;
	struct ps_hdr h;
	char err[256];
	int ret;

	if (poll(&p, 1, 0) <= 0)
		return 0;
	ret = ps_frame_read(x->sk, &off, &h, x->reply, sizeof(x->reply), err, sizeof(err));
	if (!ret && h.type == PS_ERROR) {
		said_by_server(x, &h);
		return -1;
	}
	x->broken = true;
	if (ret > 0)
		pr_err("page server %s closed the connection while %s", x->peer, what);
	else if (ret == -2)
		pr_err("page server %s: connection lost while %s: %s", x->peer, what,
		       strerror(errno));
	else if (ret < 0)
		pr_err("page server %s: connection lost while %s: %s", x->peer, what, err);
	else
		pr_err("page server %s sent %s unasked while %s", x->peer, ps_type_name(h.type),
		       what);
	return -1;
}

/* The connection failed under us: the server may have said why before it went. */
static void lost(struct page_xfer *x, const char *what, int err)
{
	struct pollfd p = { .fd = x->sk, .events = POLLIN };
	uint64_t off = 0;
	struct ps_hdr h;
	char buf[16];

	if (poll(&p, 1, 200) > 0 &&
	    !ps_frame_read(x->sk, &off, &h, x->reply, sizeof(x->reply), buf, sizeof(buf)) &&
	    h.type == PS_ERROR) {
		said_by_server(x, &h);
		return;
	}
	if (err == EAGAIN || err == EWOULDBLOCK)
		pr_err("page server %s took nothing for %d s while %s", x->peer, PS_TIMEOUT_S,
		       what);
	else
		pr_err("page server %s: connection lost while %s: %s", x->peer, what,
		       strerror(err));
	x->broken = true;
}

/* Send the sealed frame @h whole; under the lock. 0, or -1 with errno 0 (said). */
static int send_locked(struct page_xfer *x, const struct ps_hdr *h, const void *p1, size_t l1,
		       const void *p2, size_t l2, const char *what)
{
	struct iovec iov[3] = {
		{ (void *)h, sizeof(*h) },
		{ (void *)p1, l1 },
		{ (void *)p2, l2 },
	};

	if (x->broken || server_gave_up(x, what)) {
		errno = 0;
		return -1;
	}
	if (ps_send_all(x->sk, iov, 3, 0)) {
		lost(x, what, errno);
		errno = 0;
		return -1;
	}
	x->bytes += sizeof(*h) + l1 + l2;
	x->frames++;
	return 0;
}

static void lock(struct page_xfer *x)
{
	uint64_t t = now_ns();

	pthread_mutex_lock(&x->lock);
	x->wait_ns += now_ns() - t;
}

static void count(struct xfer_sink *xs, const struct ps_hdr *h)
{
	__atomic_add_fetch(&xs->sum.nr_frames, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&xs->sum.crc_sum, h->hdr_crc, __ATOMIC_RELAXED);
}

/* A frame of sink @xs (@ps names it). 0, or -1 with errno 0 (said). */
static int send_frame(struct page_sink *ps, uint16_t type, const void *p1, size_t l1,
		      const void *p2, size_t l2)
{
	struct xfer_sink *xs = ps->xs;
	struct page_xfer *x = xs->x;
	char what[192];
	struct ps_hdr h;
	int ret;

	ps_frame_seal(&h, type, xs->handle, p1, l1, p2, l2);
	snprintf(what, sizeof(what), "sending %s (%s)", ps->image, ps->owner);
	lock(x);
	ret = send_locked(x, &h, p1, l1, p2, l2, what);
	pthread_mutex_unlock(&x->lock);
	if (!ret)
		count(xs, &h);
	return ret;
}

static int xs_open(struct page_sink *ps, const struct dump_ctx *ctx)
{
	struct page_xfer *x = ctx->xfer;
	struct ps_open o = { ps->kind == PAGE_SINK_TASK ? PS_KIND_TASK : PS_KIND_SHMEM, ps->id };
	struct xfer_sink *xs = calloc(1, sizeof(*xs));
	char what[192];
	struct ps_hdr h;
	int ret;

	if (!xs) {
		pr_err("%s: out of memory for its page server sink", ps->owner);
		return -1;
	}
	ps->xs = xs;
	xs->x = x;
	/*
	 * A pre-dump's pagemaps stay here too: the next round reads what its
	 * parent holds from its own side (track.h), the pages being the
	 * server's.
	 */
	if (ctx->pre_dump && ps->kind == PAGE_SINK_TASK &&
	    !(ps->pagemap = img_open_write(ctx->dirfd, IMG_PAGEMAP, ps->id)))
		return -1;
	snprintf(what, sizeof(what), "opening %s (%s)", ps->image, ps->owner);
	/* Handles go out in order: the server takes each new one as the next. */
	lock(x);
	xs->handle = x->nr_sinks + 1;
	ps_frame_seal(&h, PS_OPEN, xs->handle, &o, sizeof(o), NULL, 0);
	ret = send_locked(x, &h, &o, sizeof(o), NULL, 0, what);
	if (!ret)
		x->nr_sinks++;
	pthread_mutex_unlock(&x->lock);
	if (!ret)
		count(xs, &h);
	return ret;
}

static int flush_runs(struct page_sink *ps)
{
	struct xfer_sink *xs = ps->xs;
	size_t n = xs->nr_buf;

	xs->nr_buf = 0;
	return n ? send_frame(ps, PS_RUNS, xs->runs, n * sizeof(*xs->runs), NULL, 0) : 0;
}

/* The local copy of a pre-dump's pagemap (xs_open()). */
static int copy_run(struct page_sink *ps, uint64_t addr, uint64_t nr_pages, bool in_parent)
{
	PagemapEntry pe = PAGEMAP_ENTRY__INIT;

	if (!ps->pagemap)
		return 0;
	pe.vaddr = addr;
	pe.nr_pages = nr_pages;
	pe.has_in_parent = in_parent;
	pe.in_parent = in_parent;
	return img_write(ps->pagemap, &pe.base);
}

static int add_run(struct page_sink *ps, uint64_t addr, uint64_t nr_pages, bool in_parent)
{
	struct xfer_sink *xs = ps->xs;

	if (copy_run(ps, addr, nr_pages, in_parent))
		return -1;

	if (!xs->runs) {
		xs->runs = malloc(PS_MAX_RUNS * sizeof(*xs->runs));
		if (!xs->runs) {
			pr_err("%s: out of memory for its layout", ps->owner);
			return -1;
		}
	}
	if (xs->nr_buf == PS_MAX_RUNS && flush_runs(ps))
		return -1;
	xs->runs[xs->nr_buf++] =
		(struct ps_run){ addr, nr_pages | (in_parent ? PS_RUN_IN_PARENT : 0) };
	xs->nr_runs++;
	return 0;
}

static int xs_add_run(struct page_sink *ps, uint64_t addr, uint64_t nr_pages)
{
	return add_run(ps, addr, nr_pages, false);
}

/* Protocol 2: a run the server's parent set (PARENT) holds; it takes no page index. */
static int xs_add_parent_run(struct page_sink *ps, uint64_t addr, uint64_t nr_pages)
{
	return add_run(ps, addr, nr_pages, true);
}

static int xs_layout_done(struct page_sink *ps)
{
	struct xfer_sink *xs = ps->xs;
	struct ps_layout l = { xs->nr_runs, ps->nr_pages };
	struct image *pm = ps->pagemap;
	int ret = flush_runs(ps);

	free(xs->runs);
	xs->runs = NULL;
	ps->pagemap = NULL;
	if (pm && img_close(pm))
		ret = -1;
	return ret ?: send_frame(ps, PS_LAYOUT, &l, sizeof(l), NULL, 0);
}

static int xs_write(struct page_sink *ps, uint64_t idx, const void *data, uint64_t nr_pages)
{
	const char *p = data;

	while (nr_pages) {
		struct ps_pages pp = { idx, nr_pages < PS_MAX_PAGES ? nr_pages : PS_MAX_PAGES };

		if (send_frame(ps, PS_PAGES, &pp, sizeof(pp), p, pp.nr * PAGE_SIZE))
			return -1;
		idx += pp.nr;
		p += pp.nr * PAGE_SIZE;
		nr_pages -= pp.nr;
	}
	return 0;
}

static void xs_free(struct page_sink *ps)
{
	img_abort(ps->pagemap);
	ps->pagemap = NULL;
	if (ps->xs)
		free(ps->xs->runs);
	free(ps->xs);
	ps->xs = NULL;
}

/* The sink's frames, counted and summed, against the server's count: its ack. */
static int xs_close(struct page_sink *ps)
{
	struct xfer_sink *xs = ps->xs;
	struct page_xfer *x = xs->x;
	struct ps_sum sum = xs->sum;
	const struct ps_sum *got = (const struct ps_sum *)x->reply;
	char what[192];
	struct ps_hdr h;
	int ret;

	snprintf(what, sizeof(what), "closing %s (%s)", ps->image, ps->owner);
	ps_frame_seal(&h, PS_CLOSE, xs->handle, &sum, sizeof(sum), NULL, 0);
	lock(x);
	ret = send_locked(x, &h, &sum, sizeof(sum), NULL, 0, what);
	if (!ret) {
		snprintf(what, sizeof(what), "the close of %s (%s)", ps->image, ps->owner);
		ret = read_reply(x, &h, PS_ACK, what);
	}
	if (!ret && (h.sink != xs->handle || h.len != sizeof(*got) ||
		     got->nr_frames != sum.nr_frames || got->crc_sum != sum.crc_sum)) {
		pr_err("page server %s acknowledged %s (%s) with a count that is not what was "
		       "sent",
		       x->peer, ps->image, ps->owner);
		x->broken = true;
		ret = -1;
	}
	if (!ret)
		x->nr_closed++;
	pthread_mutex_unlock(&x->lock);
	xs_free(ps);
	return ret;
}

/* Nothing to tell the server: the dump fails, and page_xfer_cancel() aborts the whole set. */
static void xs_abort(struct page_sink *ps)
{
	xs_free(ps);
}

const struct page_sink_ops xfer_sink_ops = {
	.open = xs_open,
	.add_run = xs_add_run,
	.add_parent_run = xs_add_parent_run,
	.layout_done = xs_layout_done,
	.write = xs_write,
	.close = xs_close,
	.abort = xs_abort,
};

static int dial(struct page_xfer *x, const struct snap_opts *opts)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	struct timeval tv = { .tv_sec = PS_TIMEOUT_S };
	char port[16];
	int one = 1, ret, err = 0;

	snprintf(port, sizeof(port), "%d", opts->port);
	ret = getaddrinfo(opts->address, port, &hints, &ai);
	if (ret) {
		pr_err("page server %s: %s", x->peer, gai_strerror(ret));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		x->sk = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (x->sk < 0) {
			err = errno;
			continue;
		}
		/* Bounds connect() too: an unreachable host is an error, not a hang. */
		setsockopt(x->sk, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(x->sk, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		/* A CLOSE waits for its answer: no Nagle delay on the last frames. */
		setsockopt(x->sk, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ps_keepalive(x->sk);
		if (!connect(x->sk, a->ai_addr, a->ai_addrlen))
			break;
		err = errno;
		close(x->sk);
		x->sk = -1;
	}
	freeaddrinfo(ai);
	if (x->sk >= 0)
		return 0;
	pr_err("page server %s: cannot connect: %s", x->peer,
	       err == EINPROGRESS ? "timed out" : strerror(err));
	return -1;
}

static int hello(struct page_xfer *x, enum page_set set, pid_t root)
{
	struct ps_hello m = { PS_MAGIC, PS_VERSION, set, root, 0 };
	uint32_t version;
	struct ps_hdr h;

	/* Before any sink exists: the connection is this thread's alone. */
	ps_frame_seal(&h, PS_HELLO, 0, &m, sizeof(m), NULL, 0);
	if (send_locked(x, &h, &m, sizeof(m), NULL, 0, "greeting it") ||
	    read_reply(x, &h, PS_WELCOME, "the greeting"))
		return -1;
	memcpy(&version, x->reply, sizeof(version));
	if (h.len != sizeof(version) || version != PS_VERSION) {
		pr_err("page server %s welcomed protocol version %u; this dump speaks version %u",
		       x->peer, h.len == sizeof(version) ? version : 0, PS_VERSION);
		/* Not broken: the server hears ABORT and says why it ends. */
		return -1;
	}
	return 0;
}

/*
 * --prev-images-dir: the server links its own set to the parent set by the
 * same relative path (CRIU's layout: the sets side by side in the server's
 * directory too), and takes runs left to it.
 */
static int parent(struct page_xfer *x, const char *prev)
{
	struct ps_hdr h;

	if (!prev)
		return 0;
	if (strlen(prev) > PS_MAX_PARENT) {
		pr_err("page server %s: --prev-images-dir %s is longer than the %d bytes the "
		       "protocol carries",
		       x->peer, prev, PS_MAX_PARENT);
		return -1;
	}
	ps_frame_seal(&h, PS_PARENT, 0, prev, strlen(prev), NULL, 0);
	return send_locked(x, &h, prev, strlen(prev), NULL, 0, "naming the parent set");
}

struct page_xfer *page_xfer_connect(const struct snap_opts *opts, enum page_set set, pid_t root)
{
	struct page_xfer *x = calloc(1, sizeof(*x));

	if (!x) {
		pr_err("out of memory for the page server connection");
		return NULL;
	}
	x->sk = -1;
	x->t_start = now_ns();
	pthread_mutex_init(&x->lock, NULL);
	snprintf(x->peer, sizeof(x->peer), strchr(opts->address, ':') ? "[%s]:%d" : "%s:%d",
		 opts->address, opts->port);
	if (dial(x, opts) || hello(x, set, root) || parent(x, opts->prev_images_dir)) {
		page_xfer_cancel(x);
		return NULL;
	}
	pr_info("page server %s: connected", x->peer);
	return x;
}

static void xfer_free(struct page_xfer *x)
{
	if (x->sk >= 0)
		close(x->sk);
	pthread_mutex_destroy(&x->lock);
	free(x->pages);
	free(x);
}

/*
 * The next PAGES frame of a GET, for pages @idx on of @pid, at most @nr,
 * read into @dst; its count, or -1 (@e says why).
 */
static int64_t read_pages(struct page_xfer *x, uint32_t pid, uint64_t idx, uint64_t nr,
			  uint8_t *dst, char *e, size_t size)
{
	struct ps_pages p;
	struct ps_hdr h;
	char err[256];
	int ret;

	ret = ps_frame_read_pages(x->sk, &x->rx_bytes, &h, x->pages, PS_MAX_PAYLOAD, dst,
				  nr * PAGE_SIZE, err, sizeof(err));
	if (!ret && h.type == PS_ERROR)
		snprintf(e, size, "page server %s: %.*s", x->peer, (int)h.len,
			 (const char *)x->pages);
	else if (ret > 0 || ret == -2)
		snprintf(e, size, "page server %s: connection lost waiting for pid %u's pages: %s",
			 x->peer, pid, ret > 0 ? "closed by the server" : strerror(errno));
	else if (ret < 0)
		snprintf(e, size, "page server %s: pid %u's pages: %s", x->peer, pid, err);
	if (ret || h.type == PS_ERROR)
		return -1;
	memcpy(&p, x->pages, sizeof(p));
	if (h.type != PS_PAGES || h.sink != pid || h.len < sizeof(p) || p.idx != idx || !p.nr ||
	    p.nr > PS_MAX_PAGES || p.nr > nr || h.len != sizeof(p) + p.nr * PAGE_SIZE) {
		snprintf(e, size, "page server %s: a %s frame (sink %u, %u bytes) where pid %u's "
			 "page %llu was due", x->peer, ps_type_name(h.type), h.sink, h.len, pid,
			 (unsigned long long)idx);
		return -1;
	}
	return p.nr;
}

int page_xfer_ask(struct page_xfer *x, uint32_t pid, uint64_t idx, uint64_t nr, char *err,
		  size_t size)
{
	struct ps_get g = { .pid = pid, .idx = idx, .nr = nr };

	snprintf(err, size, "page server %s: the connection failed before", x->peer);
	if (!x->pages)
		x->pages = malloc(PS_MAX_PAYLOAD);
	if (x->broken || !x->pages)
		return -1;
	if (ps_frame_send(x->sk, PS_GET, 0, &g, sizeof(g), NULL, 0, 0)) {
		snprintf(err, size, "page server %s: connection lost asking for pid %u's pages: %s",
			 x->peer, pid, strerror(errno));
		x->broken = true;
		return -1;
	}
	return 0;
}

int page_xfer_take(struct page_xfer *x, uint32_t pid, uint64_t idx, uint64_t nr, uint8_t *dst,
		   char *err, size_t size)
{
	if (x->broken)
		return -1;
	while (nr) {
		/* A frame with more pages than asked is refused before they are read. */
		int64_t n = read_pages(x, pid, idx, nr, dst, err, size);

		if (n < 0) {
			x->broken = true;
			return -1;
		}
		dst += n * PAGE_SIZE;
		idx += n;
		nr -= n;
	}
	return 0;
}

int page_xfer_get(struct page_xfer *x, uint32_t pid, uint64_t idx, uint64_t nr, uint8_t *dst,
		  char *err, size_t size)
{
	if (page_xfer_ask(x, pid, idx, nr, err, size))
		return -1;
	return page_xfer_take(x, pid, idx, nr, dst, err, size);
}

int page_xfer_end(struct page_xfer *x)
{
	struct ps_end e = { x->nr_closed };
	struct ps_hdr h;
	int ret;

	/* Every sink is closed: no other thread uses the connection now. */
	ps_frame_seal(&h, PS_END, 0, &e, sizeof(e), NULL, 0);
	ret = send_locked(x, &h, &e, sizeof(e), NULL, 0, "ending the dump");
	if (!ret)
		ret = read_reply(x, &h, PS_ACK, "the end of the dump");
	if (!ret)
		pr_info("page server %s: %u images, %llu MiB in %llu frames, %.3f s; writers "
			"waited %.3f s for the connection",
			x->peer, x->nr_closed, (unsigned long long)(x->bytes >> 20),
			(unsigned long long)x->frames, (now_ns() - x->t_start) / 1e9,
			x->wait_ns / 1e9);
	xfer_free(x);
	return ret;
}

void page_xfer_cancel(struct page_xfer *x)
{
	struct ps_hdr h;

	if (!x)
		return;
	/* Said on the way out only; the server sees the connection end either way. */
	if (!x->broken && x->sk >= 0) {
		ps_frame_seal(&h, PS_ABORT, 0, NULL, 0, NULL, 0);
		send(x->sk, &h, sizeof(h), MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	xfer_free(x);
}
