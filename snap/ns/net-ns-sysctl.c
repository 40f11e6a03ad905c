// SPDX-License-Identifier: GPL-2.0
/*
 * The network namespace's sysctls that the tree's sockets depend on: which
 * ports an unbound socket gets, who may open ping sockets, what TCP
 * connects with. A short list on purpose: a new namespace starts from the
 * kernel's defaults, and these are the ones a program notices. Read and
 * written through /proc/sys/net/, which shows the namespace of the thread
 * that opens it (the caller is inside, net-ns-int.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ns/net-ns-int.h"

/* Below /proc/sys/net/; in the order restore writes them. */
static const char *const sysctls[] = {
	"core/somaxconn",
	"ipv4/ip_local_port_range",
	"ipv4/ip_local_reserved_ports",
	"ipv4/ip_unprivileged_port_start",
	"ipv4/ping_group_range",
	"ipv4/tcp_ecn",
	"ipv4/tcp_sack",
	"ipv4/tcp_timestamps",
	"ipv4/tcp_window_scaling",
	"ipv4/tcp_syncookies",
	"ipv4/tcp_fin_timeout",
	"ipv4/tcp_keepalive_time",
	"ipv6/conf/all/disable_ipv6",
	"ipv6/conf/lo/disable_ipv6",
};

#define SYSCTL_MAX 256 /* longer than any of the above holds */

bool net_ns_sysctl_known(const char *name)
{
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++)
		if (!strcmp(sysctls[i], name))
			return true;
	return false;
}

/* 1 and @buf set, 0 when this kernel has no such sysctl, -1 logged. */
static int read_one(const char *who, const char *name, char *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		pr_perror("%s: cannot open %s", who, path);
		return -1;
	}
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0) {
		pr_perror("%s: cannot read %s", who, path);
		return -1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 1;
}

int net_ns_sysctls_dump(const char *who, NetnsEntry *e)
{
	size_t nr = sizeof(sysctls) / sizeof(sysctls[0]);

	e->sysctls = calloc(nr, sizeof(*e->sysctls));
	if (!e->sysctls) {
		pr_err("%s: out of memory for the sysctls", who);
		return -1;
	}
	for (size_t i = 0; i < nr; i++) {
		NetnsSysctlEntry *s;
		char buf[SYSCTL_MAX];
		int ret = read_one(who, sysctls[i], buf, sizeof(buf));

		if (ret <= 0) {
			if (ret < 0)
				return -1;
			continue;
		}
		s = malloc(sizeof(*s));
		if (s) {
			netns_sysctl_entry__init(s);
			s->name = (char *)sysctls[i];
			s->value = strdup(buf);
		}
		if (!s || !s->value) {
			free(s);
			pr_err("%s: out of memory for the sysctls", who);
			return -1;
		}
		e->sysctls[e->n_sysctls++] = s;
	}
	return 0;
}

int net_ns_sysctls_restore(const char *who, const NetnsEntry *e)
{
	for (size_t i = 0; i < e->n_sysctls; i++) {
		const NetnsSysctlEntry *s = e->sysctls[i];
		char path[128], now[SYSCTL_MAX];
		size_t len = strlen(s->value);
		int fd, ret;

		/* A new namespace has most of them as the dump saw them already. */
		ret = read_one(who, s->name, now, sizeof(now));
		if (ret < 0)
			return -1;
		if (ret > 0 && !strcmp(now, s->value))
			continue;
		snprintf(path, sizeof(path), "/proc/sys/net/%s", s->name);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, s->value, len) != (ssize_t)len) {
			pr_perror("%s: cannot set %s to \"%s\"", who, path, s->value);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
		pr_debug("%s: %s set to \"%s\"", who, path, s->value);
	}
	return 0;
}

void net_ns_sysctls_free(NetnsEntry *e)
{
	for (size_t i = 0; i < e->n_sysctls; i++) {
		free(e->sysctls[i]->value);
		free(e->sysctls[i]);
	}
	free(e->sysctls);
	e->sysctls = NULL;
	e->n_sysctls = 0;
}
