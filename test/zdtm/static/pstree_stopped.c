/*
 * Stopped children, as their parent sees them:
 *   A  stopped by SIGSTOP while it spins in user code; the parent has not
 *      collected the stop: waitpid(WUNTRACED) still has it to report;
 *   B  stopped by SIGSTOP while it waits in read(); the parent collected
 *      the stop already: waitpid(WUNTRACED) has nothing to report. Then
 *      a SIGUSR1 (B handles it) and a byte to read come while it is stopped;
 *   C  two threads spinning, in a process group of its own, stopped by
 *      SIGTSTP (the parent has not collected that stop); with the argument
 *      "ttin" or "ttou", by SIGTTIN or SIGTTOU.
 * The parent counts the SIGCHLDs it gets. After SIGTERM it checks that every
 * thread of each child is stopped and does not run, that no SIGCHLD came since
 * the dump, that waitpid(WUNTRACED) reports A's and C's stops once, with their
 * signals, and B's not at all; that no child ran meanwhile (A and C spun no
 * more, B did not run its handler nor read); then that SIGCONT resumes each:
 * A and C spin again, B handles its SIGUSR1 and echoes the byte.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

struct shared {
	atomic_ulong spin_a, spin_c[2];
	atomic_int usr1;	/* B's SIGUSR1 handler ran */
	atomic_int b_ready;	/* B has its handler and goes into read() */
};

static struct shared *sh;
static atomic_int sigchld_stopped, sigchld_other;

static void on_sigchld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code == CLD_STOPPED)
		sigchld_stopped++;
	else
		sigchld_other++;
}

static char state_of(pid_t pid, const char *tid)
{
	char path[320], buf[512], *p;
	int fd, n;

	snprintf(path, sizeof(path), tid[0] == '.' ? "/proc/%d/stat" : "/proc/%d/task/%s/stat", pid, tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p ? p[2] : 0;
}

/* Every thread of @pid is in state T; @nr: how many threads it must have. */
static int all_stopped(pid_t pid, int nr)
{
	char path[64];
	struct dirent *de;
	int n = 0, ok = 1;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			n++;
			ok &= state_of(pid, de->d_name) == 'T';
		}
	closedir(d);
	return ok && n == nr;
}

static void wait_stopped(pid_t pid, int nr)
{
	for (int i = 0; !all_stopped(pid, nr); i++) {
		if (i == 5000)
			fail("pid %d never stopped", pid);
		usleep(1000);
	}
}

/* Stop @pid (@nr threads) with @sig; its SIGCHLD came. */
static void stop(pid_t pid, int sig, int nr)
{
	int before = sigchld_stopped;

	kill(pid, sig);
	wait_stopped(pid, nr);
	for (int i = 0; sigchld_stopped == before; i++) {
		if (i == 5000)
			fail("no SIGCHLD for the stop of %d", pid);
		usleep(1000);
	}
}

static void __attribute__((noreturn)) spin_a(void)
{
	for (;;)
		sh->spin_a++;
}

static void *spin_c(void *arg)
{
	atomic_ulong *n = arg;

	for (;;)
		(*n)++;
	return NULL;
}

static void __attribute__((noreturn)) child_c(void)
{
	pthread_t th;

	if (setpgid(0, 0) || pthread_create(&th, NULL, spin_c, &sh->spin_c[1]))
		_exit(1);
	spin_c(&sh->spin_c[0]);
	_exit(1);
}

static void on_usr1(int sig)
{
	(void)sig;
	sh->usr1 = 1;
}

static void __attribute__((noreturn)) child_b(int in, int out)
{
	char c;

	signal(SIGUSR1, on_usr1);
	sh->b_ready = 1;
	if (read(in, &c, 1) != 1 || write(out, &c, 1) != 1)
		_exit(1);
	_exit(0);
}

static pid_t start(int which, int in, int out)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork: %m");
	if (pid)
		return pid;
	if (which == 'A')
		spin_a();
	if (which == 'B')
		child_b(in, out);
	child_c();
}

/* Spins of @n over 50 ms. */
static unsigned long spins(atomic_ulong *n)
{
	unsigned long before = *n;

	usleep(50000);
	return *n - before;
}

/* @n counts again within 2 s. */
static void runs(atomic_ulong *n, const char *who)
{
	unsigned long before = *n;
	int i;

	for (i = 0; *n == before; i++) {
		if (i == 2000)
			fail("%s does not run after SIGCONT", who);
		usleep(1000);
	}
	test_msg("%s runs after %d ms", who, i);
}

/* waitpid(WUNTRACED) of @pid reports a stop by @sig once, or nothing if @sig is 0. */
static void check_report(pid_t pid, int sig)
{
	int status = 0;
	pid_t r = waitpid(pid, &status, WUNTRACED | WNOHANG);

	if (!sig && r)
		fail("pid %d: waitpid reports %d, status %#x: its stop was collected before the "
		     "dump",
		     pid, r, status);
	if (sig && (r != pid || !WIFSTOPPED(status) || WSTOPSIG(status) != sig))
		fail("pid %d: waitpid reports %d, status %#x; expected stopped by %d", pid, r,
		     status, sig);
	r = waitpid(pid, &status, WUNTRACED | WNOHANG);
	if (r)
		fail("pid %d: waitpid reports its stop twice (%d, status %#x)", pid, r, status);
}

static void check_continued(pid_t pid)
{
	int status = 0;

	if (waitpid(pid, &status, WCONTINUED) != pid || !WIFCONTINUED(status))
		fail("pid %d: waitpid(WCONTINUED) status %#x", pid, status);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_sigchld, .sa_flags = SA_SIGINFO | SA_RESTART };
	int to_b[2], from_b[2], status, stopped_before;
	unsigned long where[3];
	pid_t a, b, c;
	int csig = SIGTSTP;
	char ch = 'x';

	test_init(argc, argv);
	if (test_argc > 1)
		csig = !strcmp(test_argv[1], "ttin") ? SIGTTIN : SIGTTOU;
	test_daemon();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || pipe(to_b) || pipe(from_b) || sigaction(SIGCHLD, &sa, NULL))
		fail("setup: %m");

	a = start('A', 0, 0);
	b = start('B', to_b[0], from_b[1]);
	c = start('C', 0, 0);
	while (!sh->spin_a || !sh->spin_c[0] || !sh->spin_c[1] || !sh->b_ready)
		usleep(1000);
	/* Stopped before its handler, B would die of the SIGUSR1 below once continued. */
	test_wait_syscall(b, SYS_read);
	/* One at a time: SIGCHLDs pending at once would be one. */
	stop(a, SIGSTOP, 1);
	stop(b, SIGSTOP, 1);
	stop(c, csig, 2);
	if (waitpid(b, &status, WUNTRACED) != b || !WIFSTOPPED(status))
		fail("waitpid of B: status %#x", status);
	/* Pending: its handler runs once B is continued, not before; so is its read. */
	kill(b, SIGUSR1);
	if (write(to_b[1], &ch, 1) != 1)
		fail("write to B: %m");
	for (int i = 0; i < 3; i++)
		where[i] = i ? sh->spin_c[i - 1] : sh->spin_a;
	stopped_before = sigchld_stopped;
	test_waitsig();

	if (!all_stopped(a, 1) || !all_stopped(b, 1) || !all_stopped(c, 2))
		fail("not every thread is stopped: A %d, B %d, C %d", all_stopped(a, 1),
		     all_stopped(b, 1), all_stopped(c, 2));
	if (spins(&sh->spin_a) || spins(&sh->spin_c[0]) || spins(&sh->spin_c[1]))
		fail("a stopped child runs");
	if (where[0] != sh->spin_a || where[1] != sh->spin_c[0] || where[2] != sh->spin_c[1])
		fail("a stopped child ran on for a while: A by %lu, C by %lu and %lu",
		     sh->spin_a - where[0], sh->spin_c[0] - where[1], sh->spin_c[1] - where[2]);
	if (sh->usr1)
		fail("B's SIGUSR1 handler ran while B is stopped");
	if (ioctl(to_b[0], FIONREAD, &status) || status != 1)
		fail("B read from its pipe while stopped (%d bytes left)", status);
	if (sigchld_stopped != stopped_before || sigchld_other)
		fail("SIGCHLDs since the dump: %d more CLD_STOPPED, %d others",
		     sigchld_stopped - stopped_before, sigchld_other);
	check_report(a, SIGSTOP);
	check_report(b, 0);
	check_report(c, csig);

	kill(a, SIGCONT);
	kill(c, SIGCONT);
	runs(&sh->spin_a, "A");
	runs(&sh->spin_c[0], "C's main thread");
	runs(&sh->spin_c[1], "C's second thread");
	kill(b, SIGCONT);
	test_msg("B continued");
	if (read(from_b[0], &ch, 1) != 1 || ch != 'x')
		fail("the continued B did not echo");
	if (!sh->usr1)
		fail("B's pending SIGUSR1 was not handled once it was continued");
	test_msg("B echoed");
	check_continued(a);
	check_continued(c);
	test_msg("A and C reported continued");
	if (waitpid(b, &status, 0) != b || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("B: status %#x", status);
	kill(a, SIGKILL);
	kill(c, SIGKILL);
	waitpid(a, NULL, 0);
	waitpid(c, NULL, 0);
	pass();
	return 0;
}
