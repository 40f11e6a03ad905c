// SPDX-License-Identifier: GPL-2.0
/*
 * Unix socket names: printed for messages, turned into addresses, bound and
 * connected to. A name is what getsockname() reads: a path (maybe relative
 * to the directory it was bound in), an abstract name (a leading 0 byte), or
 * nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files/files-unix.h"

const char *unix_name_str(const uint8_t *name, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	if (!len) {
		snprintf(buf, size, "unnamed");
		return buf;
	}
	/* Abstract names may hold any byte: escape what does not print. */
	for (size_t i = 0; i < len && o + 5 < size; i++) {
		uint8_t c = name[i];

		if (i == 0 && c == 0)
			buf[o++] = '@';
		else if (c == 0 && name[0] != 0)
			break; /* a path ends at its NUL */
		else if (c >= 0x20 && c < 0x7f)
			buf[o++] = c;
		else
			o += snprintf(buf + o, size - o, "\\x%02x", c);
	}
	buf[o] = '\0';
	return buf;
}

const char *unix_who(const struct fd_desc *d, char *buf, size_t size)
{
	if (d->inflight)
		snprintf(buf, size, "a unix socket in flight in a queued message");
	else
		snprintf(buf, size, "pid %d fd %d", d->pid, d->fd);
	return buf;
}

const char *unix_rwho(const struct unix_rsk *r, char *buf, size_t size)
{
	char name[UNIX_NAME_MAX * 4 + 8];

	if (r->ue->has_name)
		snprintf(buf, size, "files.img file id %u (unix socket %s)", r->id,
			 unix_name_str(r->ue->name.data, r->ue->name.len, name, sizeof(name)));
	else
		snprintf(buf, size, "files.img file id %u (unix socket, inode %u at dump)", r->id,
			 r->ino);
	return buf;
}

bool unix_addr(const uint8_t *name, size_t len, struct sockaddr_un *a, socklen_t *alen)
{
	if (len > sizeof(a->sun_path))
		return false;
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, name, len);
	*alen = offsetof(struct sockaddr_un, sun_path) + len;
	return true;
}

/*
 * Is the socket file at @path left by a socket that is gone? A connect()
 * of a socket of @type there is refused then; a live one answers (or, for
 * a stream socket that does not listen, refuses too: it has no use for the
 * path either).
 */
static bool stale_socket_file(const struct sockaddr_un *a, socklen_t alen, int type)
{
	struct stat st;
	int fd, ret;

	if (lstat(a->sun_path, &st) || !S_ISSOCK(st.st_mode))
		return false;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return false;
	ret = connect(fd, (const struct sockaddr *)a, alen);
	close(fd);
	return ret && errno == ECONNREFUSED;
}

static int name_op(int fd, const struct sockaddr_un *a, socklen_t alen, bool do_bind)
{
	socklen_t tlen = sizeof(int);
	int type;

	if (!do_bind)
		return connect(fd, (const struct sockaddr *)a, alen);
	if (!bind(fd, (const struct sockaddr *)a, alen))
		return 0;
	if (errno != EADDRINUSE)
		return -1;
	if (!a->sun_path[0] || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) ||
	    !stale_socket_file(a, alen, type) || unlink(a->sun_path)) {
		errno = EADDRINUSE;
		return -1;
	}
	return bind(fd, (const struct sockaddr *)a, alen);
}

int unix_name_op(int fd, const uint8_t *name, size_t len, const char *dir, bool do_bind)
{
	int cwd = -1, dfd = -1, ret = -1, err;
	struct sockaddr_un a;
	socklen_t alen;

	if (!unix_addr(name, len, &a, &alen)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!dir || a.sun_path[0] == 0 || a.sun_path[0] == '/')
		return name_op(fd, &a, alen, do_bind);
	/* A relative name resolves in its directory: there is no bindat(). */
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || dfd < 0 || fchdir(dfd))
		goto out;
	ret = name_op(fd, &a, alen, do_bind);
	err = errno;
	if (fchdir(cwd)) {
		ret = -1;
		goto out;
	}
	errno = err;
out:
	err = errno;
	if (cwd >= 0)
		close(cwd);
	if (dfd >= 0)
		close(dfd);
	errno = err;
	return ret;
}

int unix_name_unlink(const uint8_t *name, size_t len, const char *dir)
{
	char path[4096 + UNIX_NAME_MAX + 2];
	int n = strnlen((const char *)name, len);

	if (dir)
		snprintf(path, sizeof(path), "%s/%.*s", dir, n, name);
	else
		snprintf(path, sizeof(path), "%.*s", n, name);
	return unlink(path);
}
