// SPDX-License-Identifier: GPL-2.0
/*
 * A mount namespace with a container's kind of mount tree, pivot_root'ed
 * into: a non-recursive bind of / as the root, proc, a tmpfs /dev with a
 * device node, a symlink, a FIFO, a hard link and a file with data and a
 * hole, devpts and mqueue on it, a read-only sysfs, a read-only bind, a bind
 * of /dev/null over a file (a masked file), an empty read-only tmpfs (a
 * masked dir), an external bind (the host's /proc/sys at /srv: no mount
 * of the tree shows that proc, so the dump must be told with --external
 * mnt[/srv]:psys, and the restore gives --external mnt[psys]:/proc/sys),
 * and a shared tmpfs with a slave bind of it. After restore the mountinfo
 * must read the same (ids and devices aside, peer groups by relation) and
 * every file, flag and propagation must still hold.
 *
 * With the argument "ramfs" a ramfs is mounted at /mnt too: a file system
 * snap cannot mount anew, whose dump must be refused (bad_mnt.py).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "zdtmtst.h"

#define DATA_LEN  5000
#define TAIL_OFF  (1 << 20)
#define FILE_MTIME 1234567890
#define MAX_MOUNTS 64

static char dir[1024];		/* our mountpoints, same path inside and out */
static char lines[MAX_MOUNTS][1024];
static int nr_lines;
static int have_xattr;
static int data_fd;		/* on /dev/data, at DATA_OFF: reopened inside the tree */
#define DATA_OFF 123

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static void must(int ok, const char *what)
{
	if (!ok)
		fail("setup: %s: %m", what);
}

static void mkdir_p(const char *root, const char *sub)
{
	char p[8192];

	snprintf(p, sizeof(p), "%s%s", root, sub);
	if (mkdir(p, 0755) && errno != EEXIST)
		fail("setup: mkdir %s: %m", p);
}

/* Mount ids and devices change; peer groups are named by first appearance. */
static int read_mountinfo(char out[][1024])
{
	char line[2048], groups[32][16];
	int n = 0, nr_groups = 0;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		fail("mountinfo: %m");
	while (fgets(line, sizeof(line), f) && n < MAX_MOUNTS) {
		char *save, *tok, *o = out[n];
		int field = 0;

		o[0] = '\0';
		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
			char *colon = strchr(tok, ':');

			if (field++ < 3)
				continue;
			if (colon && (!strncmp(tok, "shared:", 7) || !strncmp(tok, "master:", 7))) {
				int g;

				for (g = 0; g < nr_groups && strcmp(groups[g], colon + 1); g++)
					;
				if (g == nr_groups && nr_groups < 32)
					snprintf(groups[nr_groups++], 16, "%s", colon + 1);
				sprintf(o + strlen(o), "%.*s%c ", (int)(colon - tok + 1), tok, 'A' + g);
				continue;
			}
			strcat(o, tok);
			strcat(o, " ");
		}
		n++;
	}
	fclose(f);
	return n;
}

static void build(void)
{
	char root[1024], p[4096], ext[4096];
	char buf[DATA_LEN];
	int fd;

	test_path(root, sizeof(root), "root");
	test_path(dir, sizeof(dir), "m");
	if (mkdir(root, 0755) || mkdir(dir, 0755))
		fail("setup: mkdir: %m");
	mkdir_p(dir, "/ro");
	mkdir_p(dir, "/masked");
	mkdir_p(dir, "/a");
	mkdir_p(dir, "/b");
	path_of(p, sizeof(p), "maskfile");
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	must(fd >= 0, "maskfile");
	close(fd);

	must(!unshare(CLONE_NEWNS), "unshare");
	must(!mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "rprivate");
	must(!mount("/", root, NULL, MS_BIND, NULL), "bind /");
	snprintf(p, sizeof(p), "%s/proc", root);
	must(!mount("proc", p, "proc", 0, NULL), "proc");
	snprintf(p, sizeof(p), "%s/dev", root);
	must(!mount("tmpfs", p, "tmpfs", MS_NOSUID, "size=2m,mode=755"), "tmpfs /dev");
	snprintf(p, sizeof(p), "%s/dev/null", root);
	must(!mknod(p, S_IFCHR | 0666, makedev(1, 3)) && !chmod(p, 0666), "mknod null");
	snprintf(p, sizeof(p), "%s/dev/fd", root);
	must(!symlink("/proc/self/fd", p), "symlink");
	snprintf(p, sizeof(p), "%s/dev/fifo", root);
	must(!mkfifo(p, 0600), "fifo");
	snprintf(p, sizeof(p), "%s/dev/data", root);
	fd = open(p, O_CREAT | O_WRONLY, 0640);
	must(fd >= 0, "data");
	datagen(buf, DATA_LEN, 7);
	must(write(fd, buf, DATA_LEN) == DATA_LEN, "data write");
	must(pwrite(fd, "tail", 4, TAIL_OFF) == 4, "tail write");
	have_xattr = !fsetxattr(fd, "user.snap", "xv", 2, 0);
	must(!fchown(fd, 1000, 1000), "chown");
	close(fd);
	{
		struct timespec ts[2] = { { FILE_MTIME, 0 }, { FILE_MTIME, 5 } };

		must(!utimensat(AT_FDCWD, p, ts, 0), "utimensat");
	}
	snprintf(buf, sizeof(buf), "%s/dev/data2", root);
	must(!link(p, buf), "link");
	snprintf(p, sizeof(p), "%s/dev/pts", root);
	must(!mkdir(p, 0755), "mkdir pts");
	must(!mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC,
		    "newinstance,ptmxmode=0666,mode=0620,gid=5"), "devpts");
	snprintf(p, sizeof(p), "%s/dev/mqueue", root);
	must(!mkdir(p, 0755), "mkdir mqueue");
	must(!mount("mqueue", p, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mqueue");
	snprintf(p, sizeof(p), "%s/sys", root);
	must(!mount("sysfs", p, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL),
	     "sysfs");

	snprintf(p, sizeof(p), "%s%s/ro", root, dir);
	snprintf(ext, sizeof(ext), "%s/usr", root);
	must(!mount(ext, p, NULL, MS_BIND, NULL), "bind usr");
	must(!mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID, NULL),
	     "ro remount");
	snprintf(p, sizeof(p), "%s%s/maskfile", root, dir);
	snprintf(ext, sizeof(ext), "%s/dev/null", root);
	must(!mount(ext, p, NULL, MS_BIND, NULL), "mask file");
	snprintf(p, sizeof(p), "%s%s/masked", root, dir);
	must(!mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL), "mask dir");
	snprintf(p, sizeof(p), "%s/srv", root);
	must(!mount("/proc/sys", p, NULL, MS_BIND, NULL), "external bind");
	snprintf(p, sizeof(p), "%s%s/a", root, dir);
	must(!mount("tmpfs", p, "tmpfs", 0, "size=1m") &&
		     !mount(NULL, p, NULL, MS_SHARED, NULL), "shared tmpfs");
	snprintf(ext, sizeof(ext), "%s%s/b", root, dir);
	must(!mount(p, ext, NULL, MS_BIND, NULL) && !mount(NULL, ext, NULL, MS_SLAVE, NULL),
	     "slave bind");

	if (test_argc > 1 && !strcmp(test_argv[1], "ramfs")) {
		snprintf(p, sizeof(p), "%s/mnt", root);
		must(!mount("ramfs", p, "ramfs", 0, NULL), "ramfs");
	}
	must(!chdir(root) && !syscall(SYS_pivot_root, ".", "."), "pivot_root");
	must(!umount2(".", MNT_DETACH) && !chdir("/"), "detach the old root");
}

static void check_mounts(void)
{
	static char now[MAX_MOUNTS][1024];
	int n = read_mountinfo(now);

	for (int i = 0; i < nr_lines || i < n; i++)
		if (i >= n || i >= nr_lines || strcmp(lines[i], now[i]))
			fail("mountinfo line %d was '%s', is '%s'", i + 1,
			     i < nr_lines ? lines[i] : "(none)", i < n ? now[i] : "(none)");
}

static void check_dev(void)
{
	char buf[DATA_LEN], x[8];
	struct stat st, st2;
	int fd;

	if (stat("/dev/null", &st) || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3) ||
	    (st.st_mode & 07777) != 0666)
		fail("/dev/null is not the node made (mode %o)", st.st_mode);
	if (readlink("/dev/fd", buf, sizeof(buf)) != 13 || memcmp(buf, "/proc/self/fd", 13))
		fail("/dev/fd is not the symlink made");
	if (lstat("/dev/fifo", &st) || !S_ISFIFO(st.st_mode) || (st.st_mode & 0777) != 0600)
		fail("/dev/fifo is not the FIFO made");
	if (stat("/dev/data", &st) || stat("/dev/data2", &st2) || st.st_ino != st2.st_ino)
		fail("/dev/data2 is no longer a hard link of /dev/data");
	if (st.st_size != TAIL_OFF + 4 || st.st_uid != 1000 || st.st_gid != 1000 ||
	    (st.st_mode & 0777) != 0640 || st.st_mtim.tv_sec != FILE_MTIME ||
	    st.st_mtim.tv_nsec != 5)
		fail("/dev/data: size %lld owner %d:%d mode %o mtime %lld.%ld", (long long)st.st_size,
		     st.st_uid, st.st_gid, st.st_mode, (long long)st.st_mtim.tv_sec,
		     st.st_mtim.tv_nsec);
	if (st.st_blocks > 64)
		fail("/dev/data lost its hole: %lld blocks", (long long)st.st_blocks);
	fd = open("/dev/data", O_RDONLY);
	if (fd < 0 || pread(fd, buf, DATA_LEN, 0) != DATA_LEN || datachk(buf, DATA_LEN, 7) >= 0)
		fail("/dev/data: its data differ");
	if (pread(fd, buf, 4, TAIL_OFF) != 4 || memcmp(buf, "tail", 4) ||
	    pread(fd, buf, 100, TAIL_OFF - 100) != 100 || zerochk(buf, 100) >= 0)
		fail("/dev/data: its tail or hole differ");
	if (have_xattr && (fgetxattr(fd, "user.snap", x, sizeof(x)) != 2 || memcmp(x, "xv", 2)))
		fail("/dev/data lost its xattr");
	close(fd);
	fd = open("/dev/null", O_WRONLY);
	if (fd < 0 || write(fd, "x", 1) != 1)
		fail("/dev/null does not work: %m");
	close(fd);
}

static void check_flags(void)
{
	char p[8192];
	struct stat st, st2;

	path_of(p, sizeof(p), "ro/snap-mnt-tree");
	if (mkdir(p, 0755) == 0 || errno != EROFS)
		fail("the read-only bind is writable (%m)");
	path_of(p, sizeof(p), "masked/x");
	if (mkdir(p, 0755) == 0 || errno != EROFS)
		fail("the masked dir is writable (%m)");
	path_of(p, sizeof(p), "maskfile");
	if (stat(p, &st) || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		fail("the masked file is not /dev/null");
	/* The host's proc, not the tree's own. */
	if (stat("/srv/kernel/ostype", &st) || stat("/proc/self", &st2) ||
	    st.st_dev == st2.st_dev)
		fail("/srv is not the external bind of the host's /proc/sys");
	if (stat("/proc/self/stat", &st))
		fail("proc does not work: %m");
}

/* A mount under the shared one shows under its slave; not the other way round. */
static void check_propagation(void)
{
	char a[8192], b[8192];
	struct stat sa, sb;

	path_of(a, sizeof(a), "a/sub");
	path_of(b, sizeof(b), "b/sub");
	if (mkdir(a, 0755) || mount("tmpfs", a, "tmpfs", 0, "size=64k"))
		fail("mount under the shared tmpfs: %m");
	if (stat(a, &sa) || stat(b, &sb) || sa.st_dev != sb.st_dev)
		fail("a mount under the shared tmpfs did not reach its slave");
	path_of(a, sizeof(a), "a/sub2");
	path_of(b, sizeof(b), "b/sub2");
	if (mkdir(a, 0755) || mount("tmpfs", b, "tmpfs", 0, "size=64k"))
		fail("mount under the slave: %m");
	if (stat(a, &sa) || stat(b, &sb) || sa.st_dev == sb.st_dev)
		fail("a mount under the slave reached its master");
}

/* An open file and the cwd, both on mounts of the tree, are found through them again. */
static void check_files(void)
{
	struct stat a, b;
	char cwd[64];

	if (fstat(data_fd, &a) || stat("/dev/data", &b) || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev)
		fail("the fd on /dev/data is not on the tree's /dev/data");
	if (lseek(data_fd, 0, SEEK_CUR) != DATA_OFF)
		fail("the fd on /dev/data lost its offset");
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/dev/pts") || stat(".", &a) ||
	    stat("/dev/pts", &b) || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		fail("the cwd is not the tree's /dev/pts");
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	test_daemon();
	build();
	nr_lines = read_mountinfo(lines);
	data_fd = open("/dev/data", O_RDWR);
	if (data_fd < 0 || lseek(data_fd, DATA_OFF, SEEK_SET) != DATA_OFF || chdir("/dev/pts"))
		fail("setup: open /dev/data, chdir /dev/pts: %m");
	test_waitsig();
	check_files();
	check_mounts();
	check_dev();
	check_flags();
	check_propagation();
	pass();
	return 0;
}
