// SPDX-License-Identifier: GPL-2.0
/*
 * SOL_SOCKET options, saved and set again (see sk-opts.h). Only what differs
 * from a fresh socket of the same kind is saved, so that a restore on a
 * machine with other defaults (net.core.wmem_default) keeps those.
 *
 * Buffer sizes read back doubled (the kernel keeps twice what is set, for
 * its overhead) and are set as half. Past net.core.[rw]mem_max only the
 * *BUFFORCE options, which need CAP_NET_ADMIN, get there.
 *
 * The plain int options (SO_REUSEADDR, SO_KEEPALIVE, SO_PRIORITY...) are
 * one table, compared with the fresh socket one by one: a family that lacks
 * one fails the same on both sockets, and it is left out.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <stdbool.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "kcompat.h"
#include "log.h"
#include "net/sk-opts.h"

/* An int option saved in SkOpts as has_<field> and <field> (both 32 bits wide). */
struct int_opt {
	int opt;
	const char *name;
	size_t has, val;
};

#define INT_OPT(o, f) { o, #o, offsetof(SkOpts, has_##f), offsetof(SkOpts, f) }

static const struct int_opt int_opts[] = {
	INT_OPT(SO_REUSEADDR, reuseaddr),
	INT_OPT(SO_REUSEPORT, reuseport),
	INT_OPT(SO_KEEPALIVE, keepalive),
	INT_OPT(SO_BROADCAST, broadcast),
	INT_OPT(SO_PRIORITY, priority),
	INT_OPT(SO_MARK, mark),
	INT_OPT(SO_OOBINLINE, oobinline),
	INT_OPT(SO_DONTROUTE, dontroute),
	INT_OPT(SO_NO_CHECK, no_check),
	INT_OPT(SO_TIMESTAMP_OLD, timestamp),
	INT_OPT(SO_TIMESTAMPNS_OLD, timestampns),
	INT_OPT(SO_TIMESTAMPING_OLD, timestamping),
	INT_OPT(SO_RCVMARK, rcvmark),
	INT_OPT(SO_SELECT_ERR_QUEUE, select_err_queue),
	INT_OPT(SO_BUSY_POLL, busy_poll),
};

#define NR_INT_OPTS (sizeof(int_opts) / sizeof(int_opts[0]))

/* Fresh-socket values the options are compared with. */
struct sk_defaults {
	int rcvbuf, sndbuf;
	int ints[NR_INT_OPTS];
	bool has_int[NR_INT_OPTS];	/* the family has the option */
	uint64_t pacing;
};

static int get_int(int fd, int opt, int *v)
{
	socklen_t len = sizeof(*v);

	return getsockopt(fd, SOL_SOCKET, opt, v, &len);
}

static int get_timeo(int fd, int opt, uint64_t *us)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len))
		return -1;
	*us = (uint64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	return 0;
}

static int get_pacing(int fd, uint64_t *v)
{
	socklen_t len = sizeof(*v);

	*v = 0;
	return getsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, v, &len);
}

static int read_defaults(int family, int type, int protocol, struct sk_defaults *def,
			 const char *who)
{
	int fd = socket(family, type | SOCK_CLOEXEC, protocol);

	if (fd < 0) {
		pr_perror("%s: cannot make a fresh socket to compare its options with", who);
		return -1;
	}
	if (get_int(fd, SO_RCVBUF, &def->rcvbuf) || get_int(fd, SO_SNDBUF, &def->sndbuf)) {
		pr_perror("%s: cannot read a fresh socket's buffer sizes", who);
		close(fd);
		return -1;
	}
	for (size_t i = 0; i < NR_INT_OPTS; i++)
		def->has_int[i] = !get_int(fd, int_opts[i].opt, &def->ints[i]);
	if (get_pacing(fd, &def->pacing))
		def->pacing = 0;
	close(fd);
	return 0;
}

void *sk_kind_find(const struct sk_kind_cache *c, size_t size, const struct sk_kind *k)
{
	for (size_t i = 0; i < c->nr; i++) {
		char *e = (char *)c->v + i * size;

		if (!memcmp(e, k, sizeof(*k)))
			return e;
	}
	return NULL;
}

void *sk_kind_keep(struct sk_kind_cache *c, size_t size, const void *e)
{
	char *n = realloc(c->v, (c->nr + 1) * size);

	if (!n)
		return NULL;
	c->v = n;
	return memcpy(n + c->nr++ * size, e, size);
}

void sk_kind_cache_free(struct sk_kind_cache *c)
{
	free(c->v);
	c->v = NULL;
	c->nr = 0;
}

/* One kind of socket's defaults in a cache. */
struct sk_kind_defaults {
	struct sk_kind k;
	struct sk_defaults def;
};

/* A fresh socket's values for kind @k: from @c once read, else read (and kept in @c). */
static int defaults(struct sk_kind_cache *c, const struct sk_kind *k, struct sk_defaults *def,
		    const char *who)
{
	const struct sk_kind_defaults *hit = c ? sk_kind_find(c, sizeof(*hit), k) : NULL;
	struct sk_kind_defaults e;

	if (hit) {
		*def = hit->def;
		return 0;
	}
	if (read_defaults(k->family, k->type, k->protocol, def, who))
		return -1;
	/* Not kept (no memory): the next socket of the kind reads them again. */
	e = (struct sk_kind_defaults){*k, *def};
	if (c)
		sk_kind_keep(c, sizeof(e), &e);
	return 0;
}

/* The attached classic filter, if any. An eBPF one cannot be read back. */
static int dump_filter(int fd, SkOpts *o, const char *who)
{
	struct sock_filter *f;
	socklen_t n = 0;
	int v;

	if (getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, NULL, &n)) {
		if (errno == EACCES)
			pr_err("%s: an eBPF socket filter is attached (SO_ATTACH_BPF); snap cannot "
			       "save one",
			       who);
		else
			pr_perror("%s: SO_GET_FILTER", who);
		return -1;
	}
	if (!n)
		return 0;
	/* SO_GET_FILTER counts in instructions, not bytes. */
	f = calloc(n, sizeof(*f));
	o->filter = calloc(n, sizeof(*o->filter));
	if (!f || !o->filter) {
		free(f);
		pr_err("%s: out of memory for its socket filter", who);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, f, &n)) {
		pr_perror("%s: SO_GET_FILTER", who);
		free(f);
		return -1;
	}
	for (socklen_t i = 0; i < n; i++)
		o->filter[i] = (uint64_t)f[i].code << 48 | (uint64_t)f[i].jt << 40 |
			       (uint64_t)f[i].jf << 32 | f[i].k;
	o->n_filter = n;
	free(f);
	if (!get_int(fd, SO_LOCK_FILTER, &v) && v)
		o->has_filter_locked = o->filter_locked = true;
	return 0;
}

static void set_field(SkOpts *o, size_t off, uint32_t v)
{
	memcpy((char *)o + off, &v, sizeof(v));
}

static uint32_t field(const SkOpts *o, size_t off)
{
	uint32_t v;

	memcpy(&v, (const char *)o + off, sizeof(v));
	return v;
}

/* The table's options, SO_LINGER, SO_BINDTODEVICE, SO_MAX_PACING_RATE. */
static int dump_more(int fd, const struct sk_defaults *def, SkOpts *o, struct sk_read *rd,
		     const char *who)
{
	char dev[IFNAMSIZ + 1] = "";
	struct linger lg;
	socklen_t len;
	uint64_t rate;
	int v;

	for (size_t i = 0; i < NR_INT_OPTS; i++) {
		if (!def->has_int[i])
			continue;
		if (get_int(fd, int_opts[i].opt, &v)) {
			pr_perror("%s: cannot read %s", who, int_opts[i].name);
			return -1;
		}
		if (int_opts[i].opt == SO_REUSEADDR)
			rd->reuseaddr = v;
		if (v == def->ints[i])
			continue;
		set_field(o, int_opts[i].has, 1);
		set_field(o, int_opts[i].val, v);
	}
	len = sizeof(lg);
	if (!getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len) && lg.l_onoff) {
		o->has_linger_s = true;
		o->linger_s = lg.l_linger;
	}
	len = sizeof(dev) - 1;
	if (!getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len) && len && dev[0]) {
		dev[len < sizeof(dev) ? len : sizeof(dev) - 1] = '\0';
		o->bindtodevice = strdup(dev);
		if (!o->bindtodevice) {
			pr_err("%s: out of memory", who);
			return -1;
		}
	}
	if (!get_pacing(fd, &rate) && rate != def->pacing) {
		o->has_max_pacing_rate = true;
		o->max_pacing_rate = rate;
	}
	return 0;
}

static bool any_set(const SkOpts *o)
{
	if (o->has_passcred || o->has_passsec || o->has_passpidfd || o->has_rcvbuf ||
	    o->has_sndbuf || o->has_peek_off || o->has_rcvtimeo_us || o->has_sndtimeo_us ||
	    o->has_rcvlowat || o->n_filter || o->has_linger_s || o->bindtodevice ||
	    o->has_max_pacing_rate)
		return true;
	for (size_t i = 0; i < NR_INT_OPTS; i++)
		if (field(o, int_opts[i].has))
			return true;
	return false;
}

int sk_opts_dump(int fd, int family, int type, int protocol, struct sk_kind_cache *cache,
		 const char *who, SkOpts **out, struct sk_read *rd)
{
	struct sk_kind k = {family, type, protocol};
	struct sk_read ignored;
	struct sk_defaults def;
	SkOpts *o;
	int v;

	*out = NULL;
	if (!rd)
		rd = &ignored;
	rd->peek_off = rd->reuseaddr = -1;
	if (defaults(cache, &k, &def, who))
		return -1;
	o = malloc(sizeof(*o));
	if (!o) {
		pr_err("%s: out of memory for its options", who);
		return -1;
	}
	sk_opts__init(o);
	/* Newer kernels have them on unix and netlink sockets only: elsewhere off. */
	if (!get_int(fd, SO_PASSCRED, &v))
		o->has_passcred = o->passcred = v;
	else if (errno != EOPNOTSUPP)
		goto err;
	if (!get_int(fd, SO_PASSSEC, &v))
		o->has_passsec = o->passsec = v;
	else if (errno != EOPNOTSUPP)
		goto err;
	/* Older kernels lack it: then it is off. */
	if (!get_int(fd, SO_PASSPIDFD, &v))
		o->has_passpidfd = o->passpidfd = v;
	if (get_int(fd, SO_RCVBUF, &v))
		goto err;
	rd->rcvbuf = v;
	if (v != def.rcvbuf) {
		o->has_rcvbuf = true;
		o->rcvbuf = v;
	}
	if (get_int(fd, SO_SNDBUF, &v))
		goto err;
	rd->sndbuf = v;
	if (v != def.sndbuf) {
		o->has_sndbuf = true;
		o->sndbuf = v;
	}
	/* Only some families have one (EOPNOTSUPP). */
	if (!get_int(fd, SO_PEEK_OFF, &v)) {
		rd->peek_off = v;
		if (v != -1) {
			o->has_peek_off = true;
			o->peek_off = v;
		}
	} else if (errno != EOPNOTSUPP) {
		goto err;
	}
	if (get_timeo(fd, SO_RCVTIMEO, &o->rcvtimeo_us) ||
	    get_timeo(fd, SO_SNDTIMEO, &o->sndtimeo_us) || get_int(fd, SO_RCVLOWAT, &v))
		goto err;
	o->has_rcvtimeo_us = o->rcvtimeo_us;
	o->has_sndtimeo_us = o->sndtimeo_us;
	if (v != 1) {
		o->has_rcvlowat = true;
		o->rcvlowat = v;
	}
	if (dump_filter(fd, o, who) || dump_more(fd, &def, o, rd, who))
		goto free;
	if (any_set(o)) {
		*out = o;
		return 0;
	}
	sk_opts_free(o);
	return 0;
err:
	pr_perror("%s: cannot read its socket options", who);
free:
	sk_opts_free(o);
	return -1;
}

void sk_opts_free(SkOpts *o)
{
	if (o)
		sk_opts__free_unpacked(o, NULL);
}

static int set_int(int fd, int opt, int v)
{
	return setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

/* A buffer size as it read (doubled): set, or forced past the sysctl maximum. */
static int set_buf(int fd, int opt, int force_opt, uint32_t size, const char *what,
		   const char *who)
{
	int half = size / 2, now;

	if (set_int(fd, opt, half) || get_int(fd, opt, &now)) {
		pr_perror("%s: cannot set %s to %u", who, what, size);
		return -1;
	}
	if ((uint32_t)now >= size)
		return 0;
	if (!set_int(fd, force_opt, half))
		return 0;
	if (errno == EPERM) {
		pr_warn("%s: %s is %d, not %u: the sysctl maximum is lower and snap lacks "
			"CAP_NET_ADMIN to pass it",
			who, what, now, size);
		return 0;
	}
	pr_perror("%s: cannot force %s to %u", who, what, size);
	return -1;
}

static int set_timeo(int fd, int opt, uint64_t us)
{
	struct timeval tv = { .tv_sec = us / 1000000, .tv_usec = us % 1000000 };

	return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

int sk_opts_restore_filter(int fd, const SkOpts *o, const char *who)
{
	struct sock_fprog prog;
	struct sock_filter *f;
	int ret;

	f = calloc(o->n_filter, sizeof(*f));
	if (!f) {
		pr_err("%s: out of memory for its socket filter", who);
		return -1;
	}
	for (size_t i = 0; i < o->n_filter; i++) {
		f[i].code = o->filter[i] >> 48;
		f[i].jt = o->filter[i] >> 40;
		f[i].jf = o->filter[i] >> 32;
		f[i].k = o->filter[i];
	}
	prog.len = o->n_filter;
	prog.filter = f;
	ret = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
	free(f);
	if (ret) {
		pr_perror("%s: cannot attach its socket filter (%zu instructions)", who,
			  o->n_filter);
		return -1;
	}
	return 0;
}

int sk_opts_restore_bind(int fd, const SkOpts *o, const char *who)
{
	if (!o)
		return 0;
	if ((o->has_reuseaddr && set_int(fd, SO_REUSEADDR, o->reuseaddr)) ||
	    (o->has_reuseport && set_int(fd, SO_REUSEPORT, o->reuseport))) {
		pr_perror("%s: cannot set SO_REUSEADDR/SO_REUSEPORT", who);
		return -1;
	}
	if (o->bindtodevice && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->bindtodevice,
					  strlen(o->bindtodevice))) {
		pr_perror("%s: cannot bind to device %s (SO_BINDTODEVICE)", who, o->bindtodevice);
		return -1;
	}
	return 0;
}

static int restore_more(int fd, const SkOpts *o, const char *who)
{
	struct linger lg = { 1, o->linger_s };

	for (size_t i = 0; i < NR_INT_OPTS; i++) {
		if (!field(o, int_opts[i].has))
			continue;
		if (set_int(fd, int_opts[i].opt, field(o, int_opts[i].val))) {
			pr_perror("%s: cannot set %s to %u", who, int_opts[i].name,
				  field(o, int_opts[i].val));
			return -1;
		}
	}
	if (o->has_linger_s && setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))) {
		pr_perror("%s: cannot set SO_LINGER", who);
		return -1;
	}
	if (o->has_max_pacing_rate && setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE,
						 &o->max_pacing_rate, sizeof(uint64_t))) {
		pr_perror("%s: cannot set SO_MAX_PACING_RATE", who);
		return -1;
	}
	return sk_opts_restore_bind(fd, o, who);
}

int sk_opts_restore(int fd, const SkOpts *o, const char *who)
{
	if (!o)
		return 0;
	if (restore_more(fd, o, who))
		return -1;
	if ((o->has_passcred && set_int(fd, SO_PASSCRED, o->passcred)) ||
	    (o->has_passsec && set_int(fd, SO_PASSSEC, o->passsec)) ||
	    (o->has_passpidfd && o->passpidfd && set_int(fd, SO_PASSPIDFD, 1)) ||
	    (o->has_peek_off && set_int(fd, SO_PEEK_OFF, o->peek_off)) ||
	    (o->has_rcvtimeo_us && set_timeo(fd, SO_RCVTIMEO, o->rcvtimeo_us)) ||
	    (o->has_sndtimeo_us && set_timeo(fd, SO_SNDTIMEO, o->sndtimeo_us)) ||
	    (o->has_rcvlowat && set_int(fd, SO_RCVLOWAT, o->rcvlowat))) {
		pr_perror("%s: cannot set its socket options", who);
		return -1;
	}
	if (o->has_rcvbuf &&
	    set_buf(fd, SO_RCVBUF, SO_RCVBUFFORCE, o->rcvbuf, "SO_RCVBUF", who))
		return -1;
	if (o->has_sndbuf &&
	    set_buf(fd, SO_SNDBUF, SO_SNDBUFFORCE, o->sndbuf, "SO_SNDBUF", who))
		return -1;
	if (o->n_filter && sk_opts_restore_filter(fd, o, who))
		return -1;
	if (o->filter_locked && set_int(fd, SO_LOCK_FILTER, 1)) {
		pr_perror("%s: cannot lock its socket filter", who);
		return -1;
	}
	return 0;
}

int sk_opts_check(const SkOpts *o, const char *who)
{
	if (!o)
		return 0;
	if (o->n_filter > BPF_MAXINSNS) {
		pr_err("%s: a socket filter of %zu instructions, more than the kernel's %d", who,
		       o->n_filter, BPF_MAXINSNS);
		return -1;
	}
	if ((o->has_rcvbuf && o->rcvbuf > INT_MAX) || (o->has_sndbuf && o->sndbuf > INT_MAX) ||
	    (o->has_rcvlowat && o->rcvlowat > INT_MAX) ||
	    (o->has_peek_off && o->peek_off < -1) ||
	    (o->has_linger_s && o->linger_s > INT_MAX) ||
	    (o->bindtodevice && strlen(o->bindtodevice) >= IFNAMSIZ)) {
		pr_err("%s: socket options out of range", who);
		return -1;
	}
	return 0;
}

int sk_sndbuf_reserve(int fd, size_t bytes, size_t nr, int *prev, const char *who)
{
	/* Each message costs its bytes and an skb: about 1 KiB more. */
	uint64_t need = (uint64_t)bytes + (uint64_t)nr * 1024 + 4096, want;

	if (get_int(fd, SO_SNDBUF, prev)) {
		pr_perror("%s: cannot read SO_SNDBUF", who);
		return -1;
	}
	want = (uint64_t)*prev + need;
	if (want > INT_MAX)
		want = INT_MAX;
	if (set_int(fd, SO_SNDBUFFORCE, want / 2 + 1)) {
		pr_perror("%s: cannot make SO_SNDBUF %llu bytes to refill its peer's queue", who,
			  (unsigned long long)want);
		return -1;
	}
	return 0;
}

int sk_sndbuf_put_back(int fd, int prev, const char *who)
{
	if (set_int(fd, SO_SNDBUFFORCE, prev / 2)) {
		pr_perror("%s: cannot put SO_SNDBUF back to %d", who, prev);
		return -1;
	}
	return 0;
}
