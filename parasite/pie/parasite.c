// SPDX-License-Identifier: GPL-2.0
/*
 * The dump-time parasite. snap maps this blob into the target and starts it
 * on the target's main thread (entry.S). It connects back to snap over an
 * abstract unix seqpacket socket and serves commands; the state it collects
 * is only readable from inside the process (sigactions, itimers, altstack,
 * umask, securebits). On FINI it returns the sigframe the host prepared and
 * entry.S rt_sigreturns through it, putting the target back as it was.
 */
#include <linux/prctl.h>
#include <linux/socket.h>
#include <linux/un.h>
#include <linux/net.h>

#include "pie-lib.h"
#include "pie-syscall.h"
#include "protocol.h"

#define AF_UNIX_ 1
#define SOCK_SEQPACKET_ 5
#define SOCK_CLOEXEC_ 02000000

struct k_msghdr {
	void *msg_name;
	int msg_namelen;
	struct k_iovec {
		void *base;
		__u64 len;
	} *msg_iov;
	__u64 msg_iovlen;
	void *msg_control;
	__u64 msg_controllen;
	unsigned int msg_flags;
};

static int dump_misc(struct parasite_misc *m)
{
	long ret;
	int i;

	for (i = 1; i <= K_NSIG; i++) {
		if (i == 9 || i == 19) /* SIGKILL, SIGSTOP: fixed */
			continue;
		ret = sys_rt_sigaction(i, 0, &m->sa[i - 1], 8);
		if (ret)
			return ret;
	}
	for (i = 0; i < 3; i++) {
		ret = sys_getitimer(i, &m->itimers[i]);
		if (ret)
			return ret;
	}
	for (i = 0; i < K_RLIM_NLIMITS; i++) {
		ret = sys_prlimit(0, i, 0, &m->rlimits[i]);
		if (ret)
			return ret;
	}
	ret = sys_sigaltstack(0, &m->altstack);
	if (ret)
		return ret;
	/* umask(2) can only be read by setting it: put it straight back. */
	m->umask = sys_umask(0);
	sys_umask(m->umask);
	m->secbits = sys_prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	m->dumpable = sys_prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	m->brk = sys1(__NR_brk, 0);
	return 0;
}

static long xfer(int sock, struct parasite_msg *msg, int send)
{
	struct k_iovec iov = { msg, sizeof(*msg) };
	struct k_msghdr mh = { 0 };

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	return send ? sys_sendmsg(sock, &mh, 0x4000 /* MSG_NOSIGNAL */) : sys_recvmsg(sock, &mh, 0);
}

/* Returns the rt_sigreturn stack pointer; 0 makes entry.S exit (never on purpose). */
unsigned long blob_main(struct parasite_args *args)
{
	struct parasite_msg msg;
	long sock, ret;

	/* The cure must put back the altstack, which only we can read. */
	sys_sigaltstack(0, &args->frame.frame.uc.uc_stack);

	sock = sys_socket(AF_UNIX_, SOCK_SEQPACKET_ | SOCK_CLOEXEC_, 0);
	if (sock < 0)
		return args->sigframe;
	if (sys_connect(sock, &args->addr, args->addr_len) < 0)
		goto out;

	for (;;) {
		ret = xfer(sock, &msg, 0);
		if (ret != sizeof(msg))
			break; /* snap went away: put the target back */
		if (msg.cmd == PARASITE_CMD_FINI)
			break;
		switch (msg.cmd) {
		case PARASITE_CMD_DUMP_MISC:
			msg.ret = dump_misc(&args->misc);
			break;
		default:
			msg.ret = -22; /* EINVAL */
		}
		if (xfer(sock, &msg, 1) != sizeof(msg))
			break;
	}
out:
	sys_close(sock);
	return args->sigframe;
}
