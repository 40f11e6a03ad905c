// SPDX-License-Identifier: GPL-2.0
/*
 * Inet sockets, dump: what every inet socket has (family, type, protocol,
 * state, addresses, shutdown state, options, multicast groups), then its
 * protocol's part: TCP (files-inet-tcp.c), UDP datagrams
 * (files-inet-dgram.c). Raw and ping sockets keep no queue: the packets
 * waiting in them are left out with a warning, as a network may drop
 * packets (and theirs cannot be put back in order with their headers).
 *
 * The syscalls on the socket say most; sock_diag says the rest (shutdown)
 * for the sockets it lists. One it does not list is either unbound, or of
 * a protocol the kernel has no diag module for (raw without raw_diag,
 * ping), or of another network namespace, which SIOCGSKNS tells apart.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "files/files-inet.h"
#include "log.h"
#include "net/sk-opts.h"

static int get_int(int fd, int opt, int *v)
{
	socklen_t len = sizeof(*v);

	return getsockopt(fd, SOL_SOCKET, opt, v, &len);
}

static int bytes_set(ProtobufCBinaryData *b, const void *p, size_t len)
{
	b->data = malloc(len);
	if (!b->data)
		return -1;
	memcpy(b->data, p, len);
	b->len = len;
	return 0;
}

/* Not in the sock_diag tables: the tree's, or of another network namespace? */
static int check_netns(const struct fd_desc *d, const char *who)
{
	int ours = sk_in_our_netns(d->local);

	if (ours < 0) {
		pr_perror("%s: cannot tell the network namespace of socket inode %lu", who,
			  (unsigned long)d->st.st_ino);
		return -1;
	}
	if (!ours) {
		pr_err("%s: inet socket inode %lu lives in another network namespace than its "
		       "tree's, which snap does not dump",
		       who, (unsigned long)d->st.st_ino);
		return -1;
	}
	return 0;
}

/* getsockname()/getpeername() into @ie: the address bytes and the port. */
static int dump_name(int fd, InetSkEntry *ie, bool peer, const char *who)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	static const uint8_t any[16];
	const uint8_t *addr;
	size_t alen;
	int port;

	memset(&ss, 0, sizeof(ss));
	if ((peer ? getpeername : getsockname)(fd, (struct sockaddr *)&ss, &len)) {
		if (peer && errno == ENOTCONN)
			return 0;
		pr_perror("%s: cannot read its %s address", who, peer ? "peer" : "own");
		return -1;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		addr = (const uint8_t *)&sin6->sin6_addr;
		alen = 16;
		port = ntohs(sin6->sin6_port);
		if (!peer && sin6->sin6_scope_id) {
			ie->has_scope_id = true;
			ie->scope_id = sin6->sin6_scope_id;
		}
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		addr = (const uint8_t *)&sin->sin_addr;
		alen = 4;
		port = ntohs(sin->sin_port);
	}
	/* Unbound: nothing to bind again. */
	if (!peer && !port && !memcmp(addr, any, alen))
		return 0;
	if (bytes_set(peer ? &ie->dst_addr : &ie->src_addr, addr, alen)) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	if (peer) {
		ie->has_dst_addr = ie->has_dst_port = true;
		ie->dst_port = port;
	} else {
		ie->has_src_addr = ie->has_src_port = true;
		ie->src_port = port;
	}
	return 0;
}

/* A raw or ping socket has no peer port: getpeername() says ENOTCONN when connected. */
static int proc_peer(const struct fd_desc *d, InetSkEntry *ie, const char *who)
{
	bool ping = ie->type == SOCK_DGRAM &&
		    (ie->protocol == IPPROTO_ICMP || ie->protocol == IPPROTO_ICMPV6);
	struct inet_proc_sk p;
	int ret;

	if (ie->has_dst_addr || (ie->type != SOCK_RAW && !ping))
		return 0;
	ret = inet_proc_find(ie->family, ping, d->st.st_ino, &p);
	if (ret <= 0) {
		if (!ret)
			pr_err("%s: socket inode %lu is not in /proc/net", who,
			       (unsigned long)d->st.st_ino);
		return -1;
	}
	if (p.state != TCPS_ESTABLISHED)
		return 0;
	ie->has_dst_addr = ie->has_dst_port = true;
	ie->dst_port = 0;
	if (bytes_set(&ie->dst_addr, p.dst, ie->family == AF_INET ? 4 : 16)) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	return 0;
}

/* Corked bytes (UDP_CORK, MSG_MORE) sit in the socket where no syscall reads them. */
static int check_corked(int fd, const char *who)
{
	int outq = 0;

	for (int i = 0; i < 20; i++) {
		if (ioctl(fd, SIOCOUTQ, &outq)) {
			pr_perror("%s: SIOCOUTQ", who);
			return -1;
		}
		if (!outq)
			return 0;
		/* Or datagrams on their way out, freed in a moment. */
		usleep(5000);
	}
	pr_err("%s: data is corked in it (UDP_CORK or MSG_MORE, %d bytes of socket memory) and "
	       "no syscall can read it back: snap cannot save it",
	       who, outq);
	return -1;
}

/* Raw and ping sockets: what is queued is left out. */
static void warn_queued(const struct inet_diag *diag, int fd, const char *who)
{
	int inq = 0;

	if (diag)
		inq = diag->rqueue;
	else if (ioctl(fd, SIOCINQ, &inq))
		inq = 0;
	if (inq > 0)
		pr_warn("%s: the packets queued to it (%d bytes or more) are not saved", who, inq);
}

/*
 * A socket sock_diag does not list (unbound, or closed) tells its shutdown
 * state through poll(): POLLRDHUP for RCV_SHUTDOWN, POLLHUP once shut both
 * ways (which a closed TCP socket always says: its state then tells).
 */
static void poll_shutdown(int fd, InetSkEntry *ie)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};

	if (poll(&p, 1, 0) < 0 || !(p.revents & POLLRDHUP))
		return;
	ie->has_shutdown = true;
	ie->shutdown = INET_RCV_SHUTDOWN;
	if (ie->type == SOCK_STREAM || p.revents & POLLHUP)
		ie->shutdown |= INET_SEND_SHUTDOWN;
}

/* TCP, UDP, UDP-lite, ping and raw: not SCTP, MPTCP, DCCP... */
static bool known(const InetSkEntry *ie)
{
	if (ie->type == SOCK_STREAM)
		return ie->protocol == IPPROTO_TCP;
	if (ie->type == SOCK_DGRAM)
		return ie->protocol == IPPROTO_UDP || ie->protocol == IPPROTO_UDPLITE ||
		       (ie->family == AF_INET && ie->protocol == IPPROTO_ICMP) ||
		       (ie->family == AF_INET6 && ie->protocol == IPPROTO_ICMPV6);
	return ie->type == SOCK_RAW;
}

static int dump_common(struct inet_dump_state *is, const struct fd_desc *d,
		       const struct inet_diag *diag, InetSkEntry *ie, struct sk_read *rd, char *who)
{
	int family = d->domain, type, protocol;

	if (get_int(d->local, SO_TYPE, &type) || get_int(d->local, SO_PROTOCOL, &protocol)) {
		pr_perror("%s: cannot read the kind of socket", who);
		return -1;
	}
	ie->ino = d->st.st_ino;
	ie->family = family;
	ie->type = type;
	ie->protocol = protocol;
	ie->flags = d->flags;
	if (!known(ie)) {
		char proto[48];

		pr_err("%s: %s sockets are not supported", who,
		       inet_proto_str(family, type, protocol, proto, sizeof(proto)));
		return -1;
	}
	if (dump_name(d->local, ie, false, who) || dump_name(d->local, ie, true, who) ||
	    proc_peer(d, ie, who))
		return -1;
	ie->state = ie->has_dst_addr ? TCPS_ESTABLISHED : TCPS_CLOSE;
	if (diag)
		ie->state = diag->state;
	if (diag && diag->shutdown) {
		ie->has_shutdown = true;
		ie->shutdown = diag->shutdown;
	} else if (!diag) {
		poll_shutdown(d->local, ie);
	}
	inet_who(d, ie, who, INET_WHO_MAX);
	if (sk_opts_dump(d->local, family, type, protocol, &is->sk_defaults, who, &ie->opts, rd) ||
	    inet_opts_dump(d->local, ie, diag, &is->inet_defaults, who))
		return -1;
	return inet_mc_dump(d->local, ie, &is->mc, who);
}

int inet_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	struct inet_dump_state *is = st;
	const struct inet_diag *diag;
	char who[INET_WHO_MAX];
	struct sk_read rd;
	InetSkEntry *ie;

	inet_who(d, NULL, who, sizeof(who));
	if (inet_diag_lookup(&is->diag, d->local, d->st.st_ino, &diag))
		return -1;
	if (!diag && check_netns(d, who))
		return -1;
	ie = malloc(sizeof(*ie));
	if (!ie) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	inet_sk_entry__init(ie);
	fe->inet_sk = ie;
	if (dump_common(is, d, diag, ie, &rd, who))
		return -1;
	is->nr_dumped++;
	if (ie->type == SOCK_STREAM)
		return inet_tcp_dump(ctx, is, d, diag, ie, &rd, who);
	if (ie->type == SOCK_DGRAM &&
	    (ie->protocol == IPPROTO_UDP || ie->protocol == IPPROTO_UDPLITE))
		return check_corked(d->local, who) || inet_dgram_dump(is, d->local, ie, who);
	warn_queued(diag, d->local, who);
	return 0;
}
