/*
 * The launcher of the "ns" flavour: `nsrun PROG ARGS... --pidfile=P ...`
 * runs the test as pid 1 of new pid, mount, ipc, uts and net namespaces,
 * in a root of its own built as a container runtime builds one:
 *
 *	/		a bind of the host's / (not recursive)
 *	/proc		proc of the new pid namespace
 *	/sys		sysfs of the new net namespace, read-only
 *	/dev		tmpfs with null, zero, full, random, urandom, tty and the
 *			usual symlinks (its contents are what a dump must save)
 *	/dev/pts	a devpts instance of its own (ptmx: /dev/ptmx -> pts/ptmx)
 *	/dev/shm	tmpfs
 *	/dev/mqueue	mqueue of the new ipc namespace
 *
 * pivot_root'ed into, the host's tree detached; loopback up. The test sees
 * itself as pid 1 and does not daemonize (zdtmtst.c): this launcher plays
 * the daemonizing parent for the runner, waits for the test's pidfile and
 * writes the test's host pid into it, then exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROOT "/tmp/zdtm-nsroot"

static void die(const char *what)
{
	fprintf(stderr, "nsrun: %s: %m\n", what);
	exit(1);
}

static void mnt(const char *src, const char *dst, const char *type, unsigned long flags,
		const char *data)
{
	if (mount(src, dst, type, flags, data)) {
		fprintf(stderr, "nsrun: mount %s on %s: %m\n", type ? type : src, dst);
		exit(1);
	}
}

static void make_dev(void)
{
	static const struct {
		const char *name;
		unsigned int major, minor;
	} nodes[] = { { "null", 1, 3 },	   { "zero", 1, 5 }, { "full", 1, 7 },
		      { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 } };
	static const char *links[][2] = { { "/proc/self/fd", "fd" },
					  { "/proc/self/fd/0", "stdin" },
					  { "/proc/self/fd/1", "stdout" },
					  { "/proc/self/fd/2", "stderr" },
					  { "pts/ptmx", "ptmx" } };
	char path[128];

	mnt("tmpfs", ROOT "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(path, sizeof(path), ROOT "/dev/%s", nodes[i].name);
		if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) ||
		    chmod(path, 0666))
			die(path);
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), ROOT "/dev/%s", links[i][1]);
		if (symlink(links[i][0], path))
			die(path);
	}
	if (mkdir(ROOT "/dev/pts", 0755) || mkdir(ROOT "/dev/shm", 01777) ||
	    mkdir(ROOT "/dev/mqueue", 0755))
		die("mkdir in /dev");
	mnt("devpts", ROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	    "newinstance,ptmxmode=0666,mode=620,gid=5");
	mnt("shm", ROOT "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k");
	mnt("mqueue", ROOT "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

static void loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr))
		die("lo flags");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		die("lo up");
	close(s);
}

/* pid 1 of the new namespaces: its root, then the test. */
static void child(char **argv)
{
	mnt(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	mnt("/", ROOT, NULL, MS_BIND, NULL);
	mnt("proc", ROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mnt("sysfs", ROOT "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
	make_dev();
	if (chdir(ROOT) || syscall(SYS_pivot_root, ".", "."))
		die("pivot_root");
	if (umount2(".", MNT_DETACH) || chdir("/"))
		die("detaching the old root");
	loopback_up();
	execv(argv[0], argv);
	die(argv[0]);
}

static const char *pidfile_of(char **argv)
{
	for (; *argv; argv++)
		if (!strncmp(*argv, "--pidfile=", 10))
			return *argv + 10;
	return NULL;
}

int main(int argc, char **argv)
{
	const char *pidfile = pidfile_of(argv);
	char tmp[4096];
	int status;
	pid_t pid;
	FILE *f;

	if (argc < 2 || !pidfile) {
		fprintf(stderr, "usage: nsrun PROG [ARGS] --pidfile=P ...\n");
		return 2;
	}
	if (mkdir(ROOT, 0755) && errno != EEXIST)
		die(ROOT);
	if (unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET))
		die("unshare");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid)
		child(argv + 1);
	/* The test writes "1" once ready: the runner wants the pid it can see. */
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		if (!access(pidfile, F_OK))
			break;
		usleep(10000);
	}
	snprintf(tmp, sizeof(tmp), "%s.nsrun", pidfile);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", pid) < 0 || fclose(f) || rename(tmp, pidfile))
		die(pidfile);
	return 0;
}
