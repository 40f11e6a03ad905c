// SPDX-License-Identifier: GPL-2.0
/*
 * The page server protocol's frames (page-xfer.h), what both ends share:
 * the CRC, sealing a frame, reading and checking one.
 *
 * CRC-32C because x86 computes it in hardware (SSE4.2), several GB/s: every
 * page goes through it twice, once at each end. The table fallback is for
 * CPUs without the instruction.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mem/page-xfer.h"

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	pthread_once(&crc_once, crc_table_init);
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
							     size_t len)
{
	uint64_t c = crc, v;

	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi(c, *p++);
		len--;
	}
	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	while (len--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}

static bool have_hw(void)
{
	return __builtin_cpu_supports("sse4.2");
}
#else
static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	return crc32c_sw(crc, p, len);
}

static bool have_hw(void)
{
	return false;
}
#endif

uint32_t ps_crc32c(uint32_t crc, const void *buf, size_t len)
{
	crc = ~crc;
	crc = have_hw() ? crc32c_hw(crc, buf, len) : crc32c_sw(crc, buf, len);
	return ~crc;
}

void ps_frame_seal(struct ps_hdr *h, uint16_t type, uint32_t sink, const void *p1, size_t l1,
		   const void *p2, size_t l2)
{
	uint32_t crc = 0;

	h->type = type;
	h->flags = 0;
	h->sink = sink;
	h->len = l1 + l2;
	if (l1)
		crc = ps_crc32c(crc, p1, l1);
	if (l2)
		crc = ps_crc32c(crc, p2, l2);
	h->crc = crc;
	h->hdr_crc = ps_crc32c(0, h, offsetof(struct ps_hdr, hdr_crc));
}

int ps_send_all(int sk, struct iovec *iov, int nr, int flags)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = nr };
	ssize_t n;

	while (mh.msg_iovlen) {
		n = sendmsg(sk, &mh, MSG_NOSIGNAL | flags);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		while (mh.msg_iovlen && (size_t)n >= mh.msg_iov->iov_len) {
			n -= mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + n;
			mh.msg_iov->iov_len -= n;
		}
	}
	return 0;
}

int ps_frame_send(int sk, uint16_t type, uint32_t sink, const void *p1, size_t l1, const void *p2,
		  size_t l2, int flags)
{
	struct ps_hdr h;
	struct iovec iov[3] = { { &h, sizeof(h) }, { (void *)p1, l1 }, { (void *)p2, l2 } };

	ps_frame_seal(&h, type, sink, p1, l1, p2, l2);
	return ps_send_all(sk, iov, 3, flags);
}

const char *ps_type_name(unsigned int type)
{
	static const char *const names[PS_TYPE_MAX] = {
		[PS_HELLO] = "HELLO", [PS_WELCOME] = "WELCOME", [PS_ERROR] = "ERROR",
		[PS_OPEN] = "OPEN",   [PS_RUNS] = "RUNS",       [PS_LAYOUT] = "LAYOUT",
		[PS_PAGES] = "PAGES", [PS_CLOSE] = "CLOSE",     [PS_ACK] = "ACK",
		[PS_END] = "END",     [PS_ABORT] = "ABORT",   [PS_PARENT] = "PARENT",
		[PS_GET] = "GET",
	};

	return type < PS_TYPE_MAX && names[type] ? names[type] : "unknown";
}

/* @len bytes, or fewer at the end of the stream: the count read, or -1 (errno). */
static ssize_t read_upto(int fd, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (!n)
			break;
		done += n;
	}
	return done;
}

/* The payload's first @split bytes into @buf, the rest into @dst (if not NULL). */
static ssize_t read_body(int fd, struct ps_hdr *h, void *buf, size_t split, void *dst)
{
	ssize_t n = read_upto(fd, buf, dst && h->len > split ? split : h->len), m;

	if (n < (ssize_t)split || !dst || h->len <= split)
		return n;
	m = read_upto(fd, dst, h->len - split);
	return m < 0 ? m : n + m;
}

static int frame_read(int fd, uint64_t *off, struct ps_hdr *h, void *buf, size_t max, void *dst,
		      size_t dst_max, char *err, size_t err_size)
{
	uint64_t at = *off;
	size_t split = sizeof(struct ps_pages);
	ssize_t n;
	uint32_t crc;

	n = read_upto(fd, h, sizeof(*h));
	if (n < 0)
		goto read_error;
	*off += n;
	if (n == 0)
		return 1;
	if (n < (ssize_t)sizeof(*h)) {
		snprintf(err, err_size, "the stream ends inside a frame header at byte %llu",
			 (unsigned long long)at);
		return -1;
	}
	if (ps_crc32c(0, h, offsetof(struct ps_hdr, hdr_crc)) != h->hdr_crc) {
		snprintf(err, err_size, "a corrupted frame header at byte %llu: bad crc",
			 (unsigned long long)at);
		return -1;
	}
	/* Only PAGES go to @dst: pages straight where they are wanted. */
	if (h->type != PS_PAGES)
		dst = NULL;
	if (dst)
		max = split + dst_max;
	if (h->type == 0 || h->type >= PS_TYPE_MAX || h->flags || h->len > max) {
		snprintf(err, err_size,
			 "a bad frame header at byte %llu (type %u, flags %#x, %u bytes; at most "
			 "%zu)",
			 (unsigned long long)at, h->type, h->flags, h->len, max);
		return -1;
	}
	n = read_body(fd, h, buf, split, dst);
	if (n < 0)
		goto read_error;
	*off += n;
	if (n < h->len) {
		snprintf(err, err_size,
			 "the stream ends inside a %s frame at byte %llu (%zd of its %u bytes)",
			 ps_type_name(h->type), (unsigned long long)at, n, h->len);
		return -1;
	}
	crc = ps_crc32c(0, buf, dst ? split : h->len);
	if (dst)
		crc = ps_crc32c(crc, dst, h->len - split);
	if (crc != h->crc) {
		snprintf(err, err_size, "a corrupted %s frame (sink %u) at byte %llu: bad crc",
			 ps_type_name(h->type), h->sink, (unsigned long long)at);
		return -1;
	}
	return 0;
read_error:
	snprintf(err, err_size, "reading at byte %llu: %s", (unsigned long long)*off,
		 strerror(errno));
	return -2;
}

int ps_frame_read(int fd, uint64_t *off, struct ps_hdr *h, void *buf, size_t max, char *err,
		  size_t err_size)
{
	return frame_read(fd, off, h, buf, max, NULL, 0, err, err_size);
}

int ps_frame_read_pages(int fd, uint64_t *off, struct ps_hdr *h, void *buf, size_t max,
			void *dst, size_t dst_max, char *err, size_t err_size)
{
	return frame_read(fd, off, h, buf, max, dst, dst_max, err, err_size);
}

void ps_keepalive(int sk)
{
	int one = 1, idle = 30, intvl = 10, cnt = 3;

	setsockopt(sk, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(sk, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(sk, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(sk, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}
