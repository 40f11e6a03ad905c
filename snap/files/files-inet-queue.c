// SPDX-License-Identifier: GPL-2.0
/*
 * Inet sockets, dump: what is queued in them (a TCP connection's bytes, UDP
 * datagrams with their senders), kept as inet-queues.img entries until
 * write().
 */
#include <stdlib.h>
#include <string.h>

#include "files/files-inet.h"
#include "log.h"

static int bytes_set(ProtobufCBinaryData *b, const void *p, size_t len)
{
	b->data = malloc(len);
	if (!b->data)
		return -1;
	memcpy(b->data, p, len);
	b->len = len;
	return 0;
}

int inet_queue_add(struct inet_dump_state *is, uint32_t ino, InetQueue queue, uint8_t *data,
		   size_t len, const uint8_t *addr, size_t alen, uint32_t port)
{
	InetQueueEntry *q, **n;

	if (is->nr_q == is->cap_q) {
		size_t cap = is->cap_q ? is->cap_q * 2 : 64;

		n = realloc(is->q, cap * sizeof(*n));
		if (!n)
			goto oom;
		is->q = n;
		is->cap_q = cap;
	}
	q = malloc(sizeof(*q));
	if (!q)
		goto oom;
	inet_queue_entry__init(q);
	is->q[is->nr_q++] = q;
	q->ino = ino;
	q->queue = queue;
	q->data.data = data;
	q->data.len = len;
	if (addr) {
		q->has_addr = q->has_port = true;
		q->port = port;
		if (bytes_set(&q->addr, addr, alen))
			goto oom;
	}
	return 0;
oom:
	pr_err("inet socket %u: out of memory for its queue", ino);
	return -1;
}
