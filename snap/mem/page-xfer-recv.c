// SPDX-License-Identifier: GPL-2.0
/*
 * The page server's end of the protocol (page-xfer.h): one session, one
 * dump. Each sink the dump opens is written through a local page sink - the
 * very code a local dump runs, so the files are the same to the byte - into
 * a staging directory inside the images directory. A CLOSE is acknowledged
 * once it checks out: every page of the layout arrived exactly once, and the
 * frames counted and summed as the dump counted and summed them. The files
 * move to their names in the images directory only at the END, when every
 * sink is closed, just before the last ACK. Anything wrong ends
 * the session: the dump is told why (ERROR), the unfinished files are
 * removed, and nothing half-written ever carries an image's name.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "mem/page-sink.h"
#include "mem/page-xfer.h"

#define STAGE_PREFIX ".snap-page-server-"
/* How long a server that gave up reads on, so that its ERROR is not lost to a reset. */
#define DRAIN_S 5

struct rx_sink {
	struct page_sink *ps;	/* the local sink writing the staged files */
	enum page_sink_kind kind;
	uint32_t id;
	char image[48];		/* pages-ID.img, shmem-pages-ID.img */
	bool laid_out, closed;
	uint64_t nr_runs, nr_pages;	/* received */
	uint8_t *written;	/* bitmap over page indexes */
	uint64_t nr_written;
	struct ps_sum sum;	/* its frames received so far */
};

struct rx {
	int sk, dirfd;
	int stagefd;		/* STAGE_PREFIX PID, inside dirfd */
	char stage[64];
	const char *peer;
	struct dump_ctx dctx;	/* what the local sinks see: the staging directory */
	struct rx_sink *sinks;	/* handle h is sinks[h - 1] */
	size_t nr, cap, nr_closed;
	uint64_t off, pages;
	uint32_t root_pid;
	bool greeted;
	char parent[PS_MAX_PARENT + 1];	/* PARENT: linked as DIR/parent at the END */
	uint8_t *buf;		/* one frame's payload */
	char err[PS_MAX_TEXT];
	uint64_t t_start;
};

/* A frame to the dump, whole; MSG_NOSIGNAL: a dump that went away is an error, not SIGPIPE. */
static int answer(struct rx *rx, uint16_t type, uint32_t sink, const void *p, size_t len,
		  int flags)
{
	return ps_frame_send(rx->sk, type, sink, p, len, NULL, 0, flags);
}

/* Best effort: the dump may be gone already. */
static void tell(struct rx *rx, const char *text)
{
	answer(rx, PS_ERROR, 0, text, strlen(text), MSG_DONTWAIT);
}

/* The session fails: logged here, and the dump is told in the same words. */
static int __attribute__((format(printf, 2, 3))) fail(struct rx *rx, const char *fmt, ...)
{
	va_list ap;
	char msg[sizeof(rx->err)];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(rx->err, msg, sizeof(msg));
	pr_err("dump from %s: %s", rx->peer, rx->err);
	tell(rx, rx->err);
	return -1;
}

/* The same when the local sink logged the failure already: the dump still needs to hear it. */
static int failed_here(struct rx *rx, const struct rx_sink *s, const char *what)
{
	snprintf(rx->err, sizeof(rx->err), "%s: %s on the page server: %s", s->image, what,
		 strerror(errno));
	tell(rx, rx->err);
	return -1;
}

static const char *pagemap_name(const struct rx_sink *s, char *buf, size_t size)
{
	snprintf(buf, size, "pagemap-%u.img", s->id);
	return buf;
}

/* A sink that did not close: its staged files go. */
static void discard(struct rx *rx, struct rx_sink *s)
{
	char name[48];

	page_sink_abort(s->ps);
	s->ps = NULL;
	unlinkat(rx->stagefd, s->image, 0);
	if (s->kind == PAGE_SINK_TASK)
		unlinkat(rx->stagefd, pagemap_name(s, name, sizeof(name)), 0);
}

/* Empty and remove the staging directory @name inside @dirfd. */
static void remove_stage(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd >= 0 && (d = fdopendir(fd))) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				unlinkat(fd, de->d_name, 0);
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* Staging directories of page servers that were killed: nothing in them was ever finished. */
void page_xfer_remove_stale(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char *end;
	long pid;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, STAGE_PREFIX, strlen(STAGE_PREFIX)))
			continue;
		pid = strtol(de->d_name + strlen(STAGE_PREFIX), &end, 10);
		if (*end || pid <= 0 || (kill(pid, 0) && errno == ESRCH)) {
			pr_info("removing %s, left by a page server that is gone", de->d_name);
			remove_stage(dirfd, de->d_name);
		}
	}
	closedir(d);
}

/* `snap lazy-pages --page-server`: the session is GET frames from here on (1: it ended well). */
static int welcome_lazy(struct rx *rx)
{
	uint32_t version = PS_VERSION;

	if (answer(rx, PS_WELCOME, 0, &version, sizeof(version), 0))
		return fail(rx, "sending WELCOME: %s", strerror(errno));
	pr_info("lazy-pages from %s: serving the pages of this directory", rx->peer);
	return page_xfer_serve_pages(rx->sk, rx->dirfd, rx->peer, rx->buf, &rx->off) ? -1 : 1;
}

static int on_hello(struct rx *rx, const struct ps_hdr *h)
{
	const struct ps_hello *m = (const void *)rx->buf;
	uint32_t version;

	if (h->len != sizeof(*m) || m->magic != PS_MAGIC)
		return fail(rx, "not a snap dump: its first frame is no HELLO of this protocol");
	if (m->version != PS_VERSION)
		return fail(rx, "protocol version %u; this page server speaks version %u only",
			    m->version, PS_VERSION);
	if (m->set != PAGE_SET_DUMP && m->set != PAGE_SET_PRE_DUMP && m->set != PAGE_SET_SERVE)
		return fail(rx, "an image set of unknown kind %u", m->set);
	/* Serving DIR's pages: nothing in it changes. */
	if (m->set == PAGE_SET_SERVE)
		return welcome_lazy(rx);
	/* The set is being rewritten: whatever inventory.img said is over. */
	if (unlinkat(rx->dirfd, "inventory.img", 0) && errno != ENOENT)
		return fail(rx, "cannot remove the old inventory.img: %s", strerror(errno));
	snprintf(rx->stage, sizeof(rx->stage), STAGE_PREFIX "%d", getpid());
	if (mkdirat(rx->dirfd, rx->stage, 0700) && errno != EEXIST)
		return fail(rx, "cannot make the staging directory %s: %s", rx->stage,
			    strerror(errno));
	rx->stagefd = openat(rx->dirfd, rx->stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rx->stagefd < 0)
		return fail(rx, "cannot open the staging directory %s: %s", rx->stage,
			    strerror(errno));
	rx->dctx.dirfd = rx->stagefd;
	rx->root_pid = m->root_pid;
	rx->greeted = true;
	version = PS_VERSION;
	if (answer(rx, PS_WELCOME, 0, &version, sizeof(version), 0))
		return fail(rx, "sending WELCOME: %s", strerror(errno));
	pr_info("dump from %s: the %s of pid %u", rx->peer,
		m->set == PAGE_SET_DUMP ? "dump" : "pre-dump", m->root_pid);
	return 0;
}

/*
 * Protocol 2: the set is made on top of a parent set, @len bytes of path
 * relative to DIR. Before any sink: the sinks are opened for it.
 */
static int on_parent(struct rx *rx, const struct ps_hdr *h)
{
	if (rx->nr || rx->parent[0] || !h->len || h->len > PS_MAX_PARENT ||
	    memchr(rx->buf, 0, h->len) || rx->buf[0] == '/')
		return fail(rx, "a malformed PARENT at byte %llu", (unsigned long long)rx->off);
	memcpy(rx->parent, rx->buf, h->len);
	rx->parent[h->len] = 0;
	rx->dctx.parent_runs = true;
	pr_info("dump from %s: on top of the parent set %s", rx->peer, rx->parent);
	return 0;
}

/* The set's link to its parent, as a local dump makes it (track.c). */
static int link_parent(struct rx *rx)
{
	if (!rx->parent[0])
		return 0;
	if (unlinkat(rx->dirfd, "parent", 0) && errno != ENOENT)
		return fail(rx, "cannot remove the old link \"parent\": %s", strerror(errno));
	if (symlinkat(rx->parent, rx->dirfd, "parent"))
		return fail(rx, "cannot link \"parent\" to %s: %s", rx->parent, strerror(errno));
	return 0;
}

static int on_open(struct rx *rx, const struct ps_hdr *h)
{
	const struct ps_open *o = (const void *)rx->buf;
	struct rx_sink *s;
	char owner[64];

	if (h->len != sizeof(*o) || (o->kind != PS_KIND_TASK && o->kind != PS_KIND_SHMEM) ||
	    !o->id)
		return fail(rx, "a malformed OPEN at byte %llu", (unsigned long long)rx->off);
	if (h->sink != rx->nr + 1)
		return fail(rx, "OPEN of sink %u, expected sink %zu", h->sink, rx->nr + 1);
	for (size_t i = 0; i < rx->nr; i++)
		if (rx->sinks[i].id == o->id && rx->sinks[i].kind == o->kind - 1)
			return fail(rx, "%s opened twice", rx->sinks[i].image);
	if (rx->nr == rx->cap) {
		size_t cap = rx->cap ? 2 * rx->cap : 16;
		void *p = realloc(rx->sinks, cap * sizeof(*rx->sinks));

		if (!p)
			return fail(rx, "out of memory for %zu images", cap);
		rx->sinks = p;
		rx->cap = cap;
	}
	s = &rx->sinks[rx->nr++];
	memset(s, 0, sizeof(*s));
	s->kind = o->kind == PS_KIND_TASK ? PAGE_SINK_TASK : PAGE_SINK_SHMEM;
	s->id = o->id;
	snprintf(s->image, sizeof(s->image),
		 s->kind == PAGE_SINK_TASK ? "pages-%u.img" : "shmem-pages-%u.img", s->id);
	snprintf(owner, sizeof(owner), s->kind == PAGE_SINK_TASK ? "pid %u" : "shared memory %u",
		 s->id);
	s->ps = page_sink_open(&rx->dctx, s->kind, s->id, owner);
	if (!s->ps)
		return failed_here(rx, s, "cannot create it");
	return 0;
}

/* The sink a frame is for: open, and not closed. */
static struct rx_sink *sink_of(struct rx *rx, const struct ps_hdr *h)
{
	struct rx_sink *s;

	if (!h->sink || h->sink > rx->nr) {
		fail(rx, "a %s frame for sink %u, which was never opened", ps_type_name(h->type),
		     h->sink);
		return NULL;
	}
	s = &rx->sinks[h->sink - 1];
	if (s->closed) {
		fail(rx, "a %s frame for %s after its CLOSE", ps_type_name(h->type), s->image);
		return NULL;
	}
	return s;
}

static int on_runs(struct rx *rx, const struct ps_hdr *h, struct rx_sink *s)
{
	const struct ps_run *r = (const void *)rx->buf;
	size_t n = h->len / sizeof(*r);

	if (s->laid_out || !n || h->len % sizeof(*r))
		return fail(rx, "%s: a malformed RUNS at byte %llu", s->image,
			    (unsigned long long)rx->off);
	for (size_t i = 0; i < n; i++) {
		bool in_parent = r[i].nr_pages & PS_RUN_IN_PARENT;
		uint64_t nr = r[i].nr_pages & ~PS_RUN_IN_PARENT;

		if (!nr || r[i].addr % PAGE_SIZE || s->nr_pages + nr < s->nr_pages ||
		    (in_parent && (!rx->parent[0] || s->kind != PAGE_SINK_TASK)))
			return fail(rx, "%s: a malformed run at %llx", s->image,
				    (unsigned long long)r[i].addr);
		/* A run the parent holds has no pages here, and takes no index. */
		if (in_parent) {
			if (page_sink_add_parent_run(s->ps, r[i].addr, nr))
				return failed_here(rx, s, "cannot write its layout");
			continue;
		}
		if (page_sink_add_run(s->ps, r[i].addr, nr))
			return failed_here(rx, s, "cannot write its layout");
		s->nr_pages += nr;
	}
	s->nr_runs += n;
	return 0;
}

static int on_layout(struct rx *rx, const struct ps_hdr *h, struct rx_sink *s)
{
	const struct ps_layout *l = (const void *)rx->buf;

	if (s->laid_out || h->len != sizeof(*l))
		return fail(rx, "%s: a malformed LAYOUT at byte %llu", s->image,
			    (unsigned long long)rx->off);
	if (l->nr_runs != s->nr_runs || l->nr_pages != s->nr_pages)
		return fail(rx, "%s: the dump laid out %llu runs of %llu pages, %llu runs of %llu "
			    "pages arrived",
			    s->image, (unsigned long long)l->nr_runs,
			    (unsigned long long)l->nr_pages, (unsigned long long)s->nr_runs,
			    (unsigned long long)s->nr_pages);
	s->written = calloc(1, s->nr_pages / 8 + 1);
	if (!s->written)
		return fail(rx, "%s: out of memory for %llu pages", s->image,
			    (unsigned long long)s->nr_pages);
	s->laid_out = true;
	if (page_sink_layout_done(s->ps))
		return failed_here(rx, s, "cannot write its layout");
	return 0;
}

static int on_pages(struct rx *rx, const struct ps_hdr *h, struct rx_sink *s)
{
	const struct ps_pages *p = (const void *)rx->buf;

	if (!s->laid_out || h->len < sizeof(*p) || !p->nr || p->nr > PS_MAX_PAGES ||
	    h->len != sizeof(*p) + p->nr * PAGE_SIZE)
		return fail(rx, "%s: a malformed PAGES at byte %llu", s->image,
			    (unsigned long long)rx->off);
	if (p->idx >= s->nr_pages || p->nr > s->nr_pages - p->idx)
		return fail(rx, "%s: pages %llu-%llu are outside its layout of %llu pages",
			    s->image, (unsigned long long)p->idx,
			    (unsigned long long)(p->idx + p->nr), (unsigned long long)s->nr_pages);
	for (uint64_t i = p->idx; i < p->idx + p->nr; i++) {
		if (s->written[i / 8] & (1 << (i % 8)))
			return fail(rx, "%s: page %llu sent twice", s->image,
				    (unsigned long long)i);
		s->written[i / 8] |= 1 << (i % 8);
	}
	if (page_sink_write(s->ps, p->idx, rx->buf + sizeof(*p), p->nr))
		return failed_here(rx, s, "cannot write it");
	s->nr_written += p->nr;
	rx->pages += p->nr;
	return 0;
}

/* The staged files of @s, checked and closed, move to their names. */
static int put_in_place(struct rx *rx, struct rx_sink *s)
{
	char name[48];

	if (renameat(rx->stagefd, s->image, rx->dirfd, s->image))
		return fail(rx, "%s: cannot move it into place: %s", s->image, strerror(errno));
	if (s->kind == PAGE_SINK_TASK) {
		pagemap_name(s, name, sizeof(name));
		if (renameat(rx->stagefd, name, rx->dirfd, name))
			return fail(rx, "%s: cannot move it into place: %s", name, strerror(errno));
	}
	return 0;
}

static int on_close(struct rx *rx, const struct ps_hdr *h, struct rx_sink *s)
{
	const struct ps_sum *sum = (const void *)rx->buf;
	int ret;

	if (!s->laid_out || h->len != sizeof(*sum))
		return fail(rx, "%s: a malformed CLOSE at byte %llu", s->image,
			    (unsigned long long)rx->off);
	if (sum->nr_frames != s->sum.nr_frames || sum->crc_sum != s->sum.crc_sum)
		return fail(rx, "%s: the dump sent %llu frames (crc sum %llx), %llu arrived (crc sum "
			    "%llx)",
			    s->image, (unsigned long long)sum->nr_frames,
			    (unsigned long long)sum->crc_sum, (unsigned long long)s->sum.nr_frames,
			    (unsigned long long)s->sum.crc_sum);
	if (s->nr_written != s->nr_pages)
		return fail(rx, "%s: %llu of its %llu pages arrived", s->image,
			    (unsigned long long)s->nr_written, (unsigned long long)s->nr_pages);
	ret = page_sink_close(s->ps);
	s->ps = NULL;
	if (ret)
		return failed_here(rx, s, "cannot finish it");
	s->closed = true;
	rx->nr_closed++;
	free(s->written);
	s->written = NULL;
	pr_debug("dump from %s: %s, %llu pages, complete", rx->peer, s->image,
		 (unsigned long long)s->nr_pages);
	if (answer(rx, PS_ACK, h->sink, &s->sum, sizeof(s->sum), 0))
		return fail(rx, "%s: sending its ACK: %s", s->image, strerror(errno));
	return 0;
}

static int on_end(struct rx *rx, const struct ps_hdr *h)
{
	const struct ps_end *e = (const void *)rx->buf;

	if (h->len != sizeof(*e))
		return fail(rx, "a malformed END at byte %llu", (unsigned long long)rx->off);
	for (size_t i = 0; i < rx->nr; i++)
		if (!rx->sinks[i].closed)
			return fail(rx, "END while %s is still open", rx->sinks[i].image);
	if (e->nr_sinks != rx->nr_closed)
		return fail(rx, "END counts %llu images, %zu arrived",
			    (unsigned long long)e->nr_sinks, rx->nr_closed);
	/* The whole set arrived: only now do its files take their names. */
	for (size_t i = 0; i < rx->nr; i++)
		if (put_in_place(rx, &rx->sinks[i]))
			return -1;
	if (link_parent(rx))
		return -1;
	if (answer(rx, PS_ACK, 0, e, sizeof(*e), 0))
		return fail(rx, "sending the last ACK: %s", strerror(errno));
	pr_info("dump from %s: the pages of pid %u are in place: %zu images, %llu pages (%llu "
		"MiB), %.3f s",
		rx->peer, rx->root_pid, rx->nr_closed, (unsigned long long)rx->pages,
		(unsigned long long)(rx->off >> 20), (now_ns() - rx->t_start) / 1e9);
	return 1;
}

/* One frame: 1 at the END, 0 to go on, -1 (said, and told) to give up. */
static int on_frame(struct rx *rx, const struct ps_hdr *h)
{
	struct rx_sink *s;
	int ret;

	if (!rx->greeted)
		return h->type == PS_HELLO ? on_hello(rx, h)
					   : fail(rx, "not a snap dump: its first frame is %s",
						  ps_type_name(h->type));
	switch (h->type) {
	case PS_PARENT:
		return on_parent(rx, h);
	case PS_OPEN:
		ret = on_open(rx, h);
		s = ret ? NULL : &rx->sinks[h->sink - 1];
		break;
	case PS_RUNS:
	case PS_LAYOUT:
	case PS_PAGES:
	case PS_CLOSE:
		s = sink_of(rx, h);
		if (!s)
			return -1;
		ret = h->type == PS_RUNS     ? on_runs(rx, h, s)
		      : h->type == PS_LAYOUT ? on_layout(rx, h, s)
		      : h->type == PS_PAGES  ? on_pages(rx, h, s)
					     : on_close(rx, h, s);
		/* CLOSE is not counted in the sum it carries. */
		if (h->type == PS_CLOSE)
			s = NULL;
		break;
	case PS_END:
		return on_end(rx, h);
	case PS_ABORT:
		pr_err("dump from %s: the dump failed on its side; %zu unfinished images discarded",
		       rx->peer, rx->nr - rx->nr_closed);
		return -1;
	default:
		return fail(rx, "a %s frame from the dump", ps_type_name(h->type));
	}
	if (!ret && s) {
		s->sum.nr_frames++;
		s->sum.crc_sum += h->hdr_crc;
	}
	return ret;
}

/* Read what the dump still sends until it closes, a while at most: it then reads our ERROR. */
static void drain(struct rx *rx)
{
	struct timeval tv = { .tv_sec = 1 };
	uint64_t end = now_ns() + DRAIN_S * 1000000000ULL;

	shutdown(rx->sk, SHUT_WR);
	setsockopt(rx->sk, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (now_ns() < end && read(rx->sk, rx->buf, PS_MAX_PAYLOAD) > 0)
		;
}

/* The image a bad frame was for, when its header is sound and names a sink: or "". */
static const char *frame_image(struct rx *rx, const struct ps_hdr *h)
{
	if (ps_crc32c(0, h, offsetof(struct ps_hdr, hdr_crc)) != h->hdr_crc || !h->sink ||
	    h->sink > rx->nr)
		return "";
	return rx->sinks[h->sink - 1].image;
}

static int serve(struct rx *rx)
{
	struct ps_hdr h;
	int ret;

	for (;;) {
		ret = ps_frame_read(rx->sk, &rx->off, &h, rx->buf, PS_MAX_PAYLOAD, rx->err,
				    sizeof(rx->err));
		if (ret > 0)
			return fail(rx, "the connection closed after %llu bytes, before the END "
				    "(a truncated stream); %zu unfinished images discarded",
				    (unsigned long long)rx->off, rx->nr - rx->nr_closed);
		if (ret < 0) {
			const char *image = frame_image(rx, &h);

			return fail(rx, "%s%s%s", image, *image ? ": " : "", rx->err);
		}
		ret = on_frame(rx, &h);
		if (ret)
			return ret > 0 ? 0 : -1;
	}
}

int page_xfer_serve(int sk, int dirfd, const struct snap_opts *opts, const char *peer)
{
	struct rx rx = {
		.sk = sk,
		.dirfd = dirfd,
		.stagefd = -1,
		.peer = peer,
		.dctx = { .opts = opts, .dirfd = -1 },
		.t_start = now_ns(),
	};
	int ret = -1;

	rx.buf = malloc(PS_MAX_PAYLOAD);
	if (!rx.buf) {
		pr_err("out of memory for the page server's buffer");
		return -1;
	}
	ret = serve(&rx);
	for (size_t i = 0; i < rx.nr; i++) {
		if (!rx.sinks[i].closed)
			discard(&rx, &rx.sinks[i]);
		free(rx.sinks[i].written);
	}
	if (ret)
		drain(&rx);
	if (rx.stagefd >= 0) {
		close(rx.stagefd);
		remove_stage(dirfd, rx.stage);
	}
	free(rx.sinks);
	free(rx.buf);
	return ret;
}
