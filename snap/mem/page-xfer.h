/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The page server protocol (Documentation/page-server.md), both ends: a dump
 * (page-xfer-net.c, the page sink's network backend) sends the pages of its
 * sinks over one TCP connection to `snap page-server` (page-xfer-recv.c),
 * which writes the same image files a local dump would.
 *
 * Everything on the wire is a frame: a 20-byte header, then its payload.
 * Integers are little-endian. The header carries the CRC-32C of the payload
 * and then its own, checked before the payload is read: a damaged length
 * cannot make a reader wait for bytes that never come. A flipped bit
 * anywhere, or a frame cut short, is caught where it is read.
 */
#ifndef SNAP_PAGE_XFER_H
#define SNAP_PAGE_XFER_H

#include <stddef.h>
#include <stdint.h>

#include "ctx.h"
#include "mem/page-sink.h"

#define PS_MAGIC	0x4547415050414e53ULL	/* "SNAPPAGE" as a little-endian u64 */
#define PS_VERSION	3			/* 2: PARENT, runs in the parent; 3: GET */
#define PS_MAX_PAGES	256			/* pages in one PAGES frame */
#define PS_MAX_RUNS	4096			/* runs in one RUNS frame */
#define PS_MAX_PAYLOAD	(16 + PS_MAX_PAGES * PAGE_SIZE)
#define PS_MAX_TEXT	1024			/* an ERROR frame's message */
#define PS_MAX_PARENT	255			/* a PARENT frame's path */
/* In a RUNS entry's nr_pages: the parent set holds the run; no pages come for it. */
#define PS_RUN_IN_PARENT (1ULL << 63)
/* How long a dump waits for the server to take data or to answer. */
#define PS_TIMEOUT_S	60

enum ps_type {
	PS_HELLO = 1,	/* dump -> server, sink 0: struct ps_hello */
	PS_WELCOME,	/* server -> dump, sink 0: u32 version */
	PS_ERROR,	/* server -> dump: text, the server gives up */
	PS_OPEN,	/* sink h: struct ps_open */
	PS_RUNS,	/* sink h: struct ps_run[], the layout in page order */
	PS_LAYOUT,	/* sink h: struct ps_layout, the layout is complete */
	PS_PAGES,	/* sink h: struct ps_pages, then nr pages */
	PS_CLOSE,	/* sink h: struct ps_sum of the sink's frames before it */
	PS_ACK,		/* server -> dump: sink h closed (struct ps_sum echoed), 0: END */
	PS_END,		/* sink 0: struct ps_end, every sink is closed */
	PS_ABORT,	/* sink 0, no payload: the dump failed, discard its images */
	PS_PARENT,	/* sink 0, before any OPEN: the parent set's path, relative to DIR */
	PS_GET,		/* lazy-pages -> server, sink 0: struct ps_get; PAGES (sink pid) answer */
	PS_TYPE_MAX,
};

/* Sink kinds, as enum page_sink_kind + 1 (0 is no kind). */
enum ps_kind {
	PS_KIND_TASK = 1,	/* pages-ID.img, pagemap-ID.img */
	PS_KIND_SHMEM = 2,	/* shmem-pages-ID.img */
};

struct ps_hdr {
	uint16_t type;
	uint16_t flags;		/* 0 */
	uint32_t sink;		/* 0: the session */
	uint32_t len;		/* payload bytes after the header */
	uint32_t crc;		/* CRC-32C of the payload */
	uint32_t hdr_crc;	/* CRC-32C of the 16 bytes above */
};

struct ps_hello {
	uint64_t magic;
	uint32_t version;
	uint32_t set;		/* enum page_set: which image set */
	uint32_t root_pid;
	uint32_t reserved;	/* 0 */
};

struct ps_open {
	uint32_t kind;		/* enum ps_kind */
	uint32_t id;		/* pid, or shmem.img object id */
};

struct ps_run {
	uint64_t addr;
	uint64_t nr_pages;
};

struct ps_layout {
	uint64_t nr_runs;
	uint64_t nr_pages;
};

struct ps_pages {
	uint64_t idx;
	uint64_t nr;
};

/*
 * Every frame of one sink sent before its CLOSE (OPEN, RUNS, LAYOUT and the
 * PAGES, in whatever order threads sent them): how many, and the sum of
 * their hdr_crc fields modulo 2^64 (each covers its frame whole), which no
 * order changes.
 */
struct ps_sum {
	uint64_t nr_frames;
	uint64_t crc_sum;
};

/* Pages idx..idx+nr-1 of @pid, in pagemap order, the parent sets' runs included. */
struct ps_get {
	uint32_t pid;
	uint32_t reserved;	/* 0 */
	uint64_t idx;
	uint64_t nr;		/* 1..PS_MAX_GET */
};

#define PS_MAX_GET	4096	/* pages one GET asks for */

struct ps_end {
	uint64_t nr_sinks;	/* opened, and closed */
};

_Static_assert(sizeof(struct ps_hdr) == 20, "ps_hdr is 20 bytes on the wire");
_Static_assert(sizeof(struct ps_hello) == 24, "ps_hello is 24 bytes on the wire");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the structs are the wire format");

/* CRC-32C (Castagnoli), as iSCSI and ext4 use it; start with 0, chain through @crc. */
uint32_t ps_crc32c(uint32_t crc, const void *buf, size_t len);
/* Fill @h and its crcs, the payload being @p1 then @p2 (either may be empty). */
void ps_frame_seal(struct ps_hdr *h, uint16_t type, uint32_t sink, const void *p1, size_t l1,
		   const void *p2, size_t l2);
const char *ps_type_name(unsigned int type);
/*
 * A peer that vanished without a word (a host down, a cable out) is found
 * within about a minute, however long the other end legitimately stays
 * silent (a dump freezing a big tree, a server writing).
 */
void ps_keepalive(int sk);

/*
 * Read the next frame at @fd, its payload into @buf (at most @max bytes);
 * *@off counts the bytes read, for messages. 0: a frame; 1: the peer closed
 * the connection between frames; -1: @err (of @err_size bytes) says what was
 * wrong - the stream ends inside a frame, a frame too long or with a bad crc;
 * -2: a read error, errno set (and @err says it too). Nothing logged: each
 * end says it its own way.
 */
struct iovec;
/* Send @nr iovecs whole (MSG_NOSIGNAL and @flags; EINTR retried): 0, or -1 with errno. */
int ps_send_all(int sk, struct iovec *iov, int nr, int flags);
/* Send one frame whole (MSG_NOSIGNAL and @flags): 0, or -1 with errno. */
int ps_frame_send(int sk, uint16_t type, uint32_t sink, const void *p1, size_t l1, const void *p2,
		  size_t l2, int flags);

int ps_frame_read(int fd, uint64_t *off, struct ps_hdr *h, void *buf, size_t max, char *err,
		  size_t err_size);
/*
 * The same, but a PAGES frame's pages go to @dst (at most @dst_max bytes),
 * its struct ps_pages to @buf: no copy on the way. Other frames: to @buf.
 */
int ps_frame_read_pages(int fd, uint64_t *off, struct ps_hdr *h, void *buf, size_t max,
			void *dst, size_t dst_max, char *err, size_t err_size);

/* The dump's end, page-xfer-net.c: one connection, shared by every sink. */
struct page_xfer;

/*
 * Connect to the page server at --address, --port and have it accept the
 * image set @set of the tree of @root. NULL on error, logged.
 */
struct page_xfer *page_xfer_connect(const struct snap_opts *opts, enum page_set set, pid_t root);
/*
 * A PAGE_SET_SERVE session (lazy-pages): pages @idx..@idx+@nr-1 of @pid's
 * image on the server into @dst. 0, or -1 with @err (@size bytes) saying
 * why, not logged (the caller knows what dies of it): the connection is
 * then of no more use.
 */
int page_xfer_get(struct page_xfer *x, uint32_t pid, uint64_t idx, uint64_t nr, uint8_t *dst,
		  char *err, size_t size);
/*
 * page_xfer_get() in two halves, for several GETs in flight: ask sends the
 * GET; take reads its answer into @dst, and must be called for each ask,
 * in the order asked, with the same @pid, @idx and @nr. 0 or -1 (@err).
 */
int page_xfer_ask(struct page_xfer *x, uint32_t pid, uint64_t idx, uint64_t nr, char *err,
		  size_t size);
int page_xfer_take(struct page_xfer *x, uint32_t pid, uint64_t idx, uint64_t nr, uint8_t *dst,
		   char *err, size_t size);
/* Every sink is closed: END, and the server's ack. Frees @x. 0 or -1 (logged). */
int page_xfer_end(struct page_xfer *x);
/* The dump failed: tell the server (if the connection stands) and free @x. NULL is fine. */
void page_xfer_cancel(struct page_xfer *x);

/*
 * The server's end, page-xfer-recv.c: one session on the connected socket
 * @sk from @peer ("ADDR:PORT"), its images written into @dirfd. 0 once the
 * dump ended it and every image is in place; -1 (logged) otherwise, and no
 * unfinished image is left under an image's name.
 */
int page_xfer_serve(int sk, int dirfd, const struct snap_opts *opts, const char *peer);
/*
 * page-xfer-serve.c: after a PAGE_SET_SERVE HELLO was welcomed, answer GET
 * frames from the images in @dirfd until END (0, acknowledged) or an error
 * (-1, logged and sent as ERROR). @buf holds PS_MAX_PAYLOAD bytes; *@off
 * counts the bytes read.
 */
int page_xfer_serve_pages(int sk, int dirfd, const char *peer, uint8_t *buf, uint64_t *off);
/* Remove the staging directories in @dirfd of page servers that are gone (killed). */
void page_xfer_remove_stale(int dirfd);

#endif
