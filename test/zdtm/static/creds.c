/* Real/effective/saved/fs uids and gids and supplementary groups survive, and act. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

static const gid_t groups[] = { 1001, 1002, 1003, 40000 };

static int cmp_gid(const void *a, const void *b)
{
	return *(const gid_t *)a - *(const gid_t *)b;
}

int main(int argc, char **argv)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct caps[2];
	uid_t ru, eu, su;
	gid_t rg, eg, sg, got[64];
	char secret[4096];
	int fd, n, i;

	test_init(argc, argv);

	/* A root-only file: once the ids are dropped it must stay out of reach. */
	test_path(secret, sizeof(secret), "secret");
	fd = open(secret, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (fd < 0 || fchmod(fd, 0600))
		fail("%s: %m", secret);
	close(fd);

	/*
	 * In the child: the parent must stay root to write the pidfile. Groups
	 * and gids first: after the uid change there is no CAP_SETGID.
	 */
	test_daemon();
	if (setgroups(ARRAY_SIZE(groups), groups))
		fail("setgroups: %m");
	if (setresgid(2001, 2002, 2003))
		fail("setresgid: %m");
	if (setresuid(3001, 3002, 3003))
		fail("setresuid: %m");

	test_waitsig();

	if (getresuid(&ru, &eu, &su))
		fail("getresuid: %m");
	if (ru != 3001 || eu != 3002 || su != 3003)
		fail("uids are %d/%d/%d, expected 3001/3002/3003", ru, eu, su);
	if (getresgid(&rg, &eg, &sg))
		fail("getresgid: %m");
	if (rg != 2001 || eg != 2002 || sg != 2003)
		fail("gids are %d/%d/%d, expected 2001/2002/2003", rg, eg, sg);
	/* setfs[ug]id() with an invalid id only reports the current one. */
	CHECK_EQ(setfsuid(-1), 3002);
	CHECK_EQ(setfsgid(-1), 2002);

	n = getgroups(ARRAY_SIZE(got), got);
	if (n != (int)ARRAY_SIZE(groups))
		fail("%d supplementary groups, expected %zu", n, ARRAY_SIZE(groups));
	qsort(got, n, sizeof(got[0]), cmp_gid);
	for (i = 0; i < n; i++)
		if (got[i] != groups[i])
			fail("supplementary group %d is %d, expected %d", i, got[i], groups[i]);

	/* Non-root ids without SECBIT_KEEP_CAPS: no capabilities at all. */
	if (syscall(SYS_capget, &hdr, caps))
		fail("capget: %m");
	for (i = 0; i < 2; i++)
		if (caps[i].effective || caps[i].permitted || caps[i].inheritable)
			fail("capabilities left: word %d eff %#x prm %#x inh %#x", i,
			     caps[i].effective, caps[i].permitted, caps[i].inheritable);

	/* The kernel acts on the restored ids. */
	fd = open(secret, O_RDONLY);
	if (fd >= 0 || errno != EACCES)
		fail("a root-only 0600 file opened as uid 3002 (%m)");
	pass();
	return 0;
}
