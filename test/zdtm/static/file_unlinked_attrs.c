/*
 * A deleted open file comes back with its owner and its mode, special bits
 * included: owned by uid 1234, gid 5678, mode 02751 (setgid, set after the
 * chown that would clear it), and a second one 04600 owned by 0:5678.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

struct ghost {
	const char *name;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	int fd;
};

static struct ghost g[] = {
	{ "sgid", 1234, 5678, 02751, -1 },
	{ "suid", 0, 5678, 04600, -1 },
};

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	test_init(argc, argv);
	for (i = 0; i < ARRAY_SIZE(g); i++) {
		test_path(path, sizeof(path), g[i].name);
		g[i].fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (g[i].fd < 0 || write(g[i].fd, "data", 4) != 4 ||
		    fchown(g[i].fd, g[i].uid, g[i].gid) || fchmod(g[i].fd, g[i].mode) ||
		    unlink(path))
			fail("%s: %m", path);
	}

	test_daemon();
	test_waitsig();

	for (i = 0; i < ARRAY_SIZE(g); i++) {
		if (fstat(g[i].fd, &st))
			fail("fstat: %m");
		if (st.st_uid != g[i].uid || st.st_gid != g[i].gid ||
		    (st.st_mode & 07777) != g[i].mode || st.st_nlink || st.st_size != 4)
			fail("deleted file %s: owner %u:%u mode %o links %lu size %lld, expected "
			     "%u:%u %o, no links, 4 bytes",
			     g[i].name, st.st_uid, st.st_gid, st.st_mode & 07777,
			     (unsigned long)st.st_nlink, (long long)st.st_size, g[i].uid,
			     g[i].gid, g[i].mode);
	}
	pass();
	return 0;
}
