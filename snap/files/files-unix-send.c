// SPDX-License-Identifier: GPL-2.0
/*
 * Unix sockets, restore: a queued message sent again with the credentials
 * it was sent with (SCM_CREDENTIALS: pid, uid, gid). Root may name any uid
 * and gid, and any pid, but the pid must exist: the kernel keeps a
 * reference to it with the message. Restore fills queues before the
 * processes of the tree exist, so a sender of the tree has no pid yet; a
 * child of snap made with that pid (clone3 set_tid) sends the message for
 * it and exits. The receiver reads the pid number it was sent with; the
 * number is free again for the process restored with it. In a tree with a
 * pid namespace of its own, the tree's root sends, and its helper is made
 * under a process at a pid none of the tree's has: snap, looking for the
 * root's children by pid meanwhile, must not take it for one of them (in
 * snap's pid namespace, where such a pid may be any process's, under a
 * process at whatever pid it gets).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "files/files-unix.h"
#include "log.h"

static size_t msg_len(const struct msghdr *mh)
{
	size_t len = 0;

	for (size_t i = 0; i < mh->msg_iovlen; i++)
		len += mh->msg_iov[i].iov_len;
	return len;
}

/* Wait for @child: 0 when it exited 0, else -1 with errno its exit code (EINTR: killed). */
static int reap(pid_t child, const char *who)
{
	int status;

	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			pr_perror("%s: waiting for helper %d", who, child);
			return -1;
		}
	}
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	errno = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
	return -1;
}

/*
 * In a child that has pid @pid: send, and say how it went in the exit
 * code. @via: a pid the child is made under (files_spare_pid()), UNIX_VIA_ANY
 * (any pid), or 0 (none).
 */
static int send_as(int fd, struct msghdr *mh, pid_t pid, pid_t via, const char *who)
{
	long child;

	child = files_clone_at(via == UNIX_VIA_ANY ? 0 : via ? via : pid);
	if (child == 0 && via) {
		child = files_clone_at(pid);
		if (child > 0)
			_exit(reap(child, who) ? (errno ? errno : EIO) : 0);
		if (child < 0)
			_exit(errno);
	}
	if (child < 0) {
		pr_perror("%s: cannot make a process with pid %d to send a message as it", who,
			  via > 0 ? via : pid);
		return -1;
	}
	if (child == 0) {
		ssize_t n = sendmsg(fd, mh, MSG_DONTWAIT | MSG_NOSIGNAL);

		_exit(n == (ssize_t)msg_len(mh) ? 0 : n < 0 ? errno : EAGAIN);
	}
	if (!reap(child, who))
		return 0;
	pr_perror("%s: pid %d could not queue its message again", who, pid);
	return -1;
}

int unix_send_creds(int fd, struct msghdr *mh, const UnixCreds *cr, pid_t via, const char *who)
{
	ssize_t n = sendmsg(fd, mh, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n == (ssize_t)msg_len(mh))
		return 0;
	if (n >= 0 || errno != ESRCH) {
		if (n >= 0)
			errno = EAGAIN;
		pr_perror("%s: cannot queue a message from pid %u again", who, cr->pid);
		return -1;
	}
	return send_as(fd, mh, cr->pid, via, who);
}
