// SPDX-License-Identifier: GPL-2.0
/*
 * The page server's other session kind (Documentation/page-server.md,
 * "Serving a lazy restore"): a `snap lazy-pages --page-server` on the
 * restore host asks for pages by process and index (GET), and we answer
 * from the complete image set in our DIR with PAGES frames, in order. The
 * index counts every run of the process's pagemap, the parent sets' too:
 * an incremental set is resolved through its chain (page-chain.c) as the
 * GETs reach its pages. Nothing in DIR is written.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "mem/page-chain.h"
#include "mem/page-xfer.h"

#define MAX_PIDS 1024

struct src {
	uint32_t pid;
	struct page_reader *r;
	uint64_t nr_pages;
};

struct tx {
	int sk, dirfd;
	const char *peer;
	uint8_t *buf;
	uint64_t *off;
	struct src srcs[MAX_PIDS];
	size_t nr;
	uint64_t gets, pages;
};

static int __attribute__((format(printf, 2, 3))) fail(struct tx *tx, const char *fmt, ...)
{
	char msg[PS_MAX_TEXT];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_err("lazy-pages from %s: %s", tx->peer, msg);
	ps_frame_send(tx->sk, PS_ERROR, 0, msg, strlen(msg), NULL, 0, MSG_DONTWAIT);
	return -1;
}

static struct src *src_of(struct tx *tx, uint32_t pid)
{
	struct src *s;

	for (size_t i = 0; i < tx->nr; i++)
		if (tx->srcs[i].pid == pid)
			return &tx->srcs[i];
	if (tx->nr == MAX_PIDS) {
		fail(tx, "pid %u: more than %d processes asked for", pid, MAX_PIDS);
		return NULL;
	}
	s = &tx->srcs[tx->nr];
	s->r = page_reader_open(tx->dirfd, "the served directory", pid, &s->nr_pages);
	if (!s->r) {
		/* Logged here already: lazy-pages hears it in short. */
		static const char msg[] = "its images cannot be read on the page server";
		char text[96];

		snprintf(text, sizeof(text), "pid %u: %s", pid, msg);
		ps_frame_send(tx->sk, PS_ERROR, 0, text, strlen(text), NULL, 0, MSG_DONTWAIT);
		return NULL;
	}
	s->pid = pid;
	tx->nr++;
	return s;
}

static int on_get(struct tx *tx, const struct ps_hdr *h)
{
	struct ps_get g;
	struct src *s;

	memcpy(&g, tx->buf, sizeof(g));
	if (h->len != sizeof(g) || g.reserved || !g.nr || g.nr > PS_MAX_GET)
		return fail(tx, "a malformed GET at byte %llu", (unsigned long long)*tx->off);
	s = src_of(tx, g.pid);
	if (!s)
		return -1;
	if (g.idx >= s->nr_pages || g.nr > s->nr_pages - g.idx)
		return fail(tx, "pid %u: GET of pages %llu-%llu; its image has %llu", g.pid,
			    (unsigned long long)g.idx, (unsigned long long)(g.idx + g.nr - 1),
			    (unsigned long long)s->nr_pages);
	tx->gets++;
	while (g.nr) {
		struct ps_pages p = { g.idx, g.nr < PS_MAX_PAGES ? g.nr : PS_MAX_PAGES };
		size_t len = p.nr * PAGE_SIZE;

		/* Its own line says why; the peer gets this one. */
		if (page_reader_read(s->r, p.idx, p.nr, tx->buf))
			return fail(tx, "pid %u: pages %llu-%llu cannot be read", g.pid,
				    (unsigned long long)p.idx,
				    (unsigned long long)(p.idx + p.nr - 1));
		if (ps_frame_send(tx->sk, PS_PAGES, g.pid, &p, sizeof(p), tx->buf, len, 0)) {
			pr_perror("lazy-pages from %s: sending pid %u's pages", tx->peer, g.pid);
			return -1;
		}
		tx->pages += p.nr;
		g.idx += p.nr;
		g.nr -= p.nr;
	}
	return 0;
}

static int serve(struct tx *tx)
{
	char err[256];
	struct ps_hdr h;
	int ret;

	for (;;) {
		ret = ps_frame_read(tx->sk, tx->off, &h, tx->buf, PS_MAX_PAYLOAD, err, sizeof(err));
		if (ret > 0)
			return fail(tx, "the connection closed after %llu bytes, without END",
				    (unsigned long long)*tx->off);
		if (ret < 0)
			return fail(tx, "%s", err);
		if (h.type == PS_END) {
			if (ps_frame_send(tx->sk, PS_ACK, 0, tx->buf, h.len, NULL, 0, 0)) {
				pr_perror("lazy-pages from %s: acknowledging its END", tx->peer);
				return -1;
			}
			return 0;
		}
		if (h.type == PS_ABORT) {
			pr_err("lazy-pages from %s: it gave up (its own log says why)", tx->peer);
			return -1;
		}
		if (h.type != PS_GET)
			return fail(tx, "a %s frame in a lazy-pages session",
				    ps_type_name(h.type));
		if (on_get(tx, &h))
			return -1;
	}
}

int page_xfer_serve_pages(int sk, int dirfd, const char *peer, uint8_t *buf, uint64_t *off)
{
	struct tx *tx = calloc(1, sizeof(*tx));
	int ret;

	if (!tx) {
		pr_err("out of memory for a lazy-pages session");
		return -1;
	}
	*tx = (struct tx){ .sk = sk, .dirfd = dirfd, .peer = peer, .buf = buf, .off = off };
	ret = serve(tx);
	if (!ret)
		pr_info("lazy-pages from %s: %llu pages served in %llu GETs", peer,
			(unsigned long long)tx->pages, (unsigned long long)tx->gets);
	for (size_t i = 0; i < tx->nr; i++)
		page_reader_close(tx->srcs[i].r);
	free(tx);
	return ret;
}
