/*
 * MADV_WIPEONFORK in a parent and its child. The parent's area A is
 * inherited by the child, wiped and still WIPEONFORK there; the child writes
 * its own data into A and makes an area B of its own. After restore both
 * processes have their data in their areas, the flag on each, and a fork in
 * either still gets zeroed memory; a plain area next to them is copied.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define P PAGE_SIZE
#define NP 16

static char *map(void)
{
	char *p = mmap(NULL, NP * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap: %m");
	return p;
}

/* 0, or why @area (holding @seed's data, WIPEONFORK if @wf) is wrong: 1-4. */
static int check_area(char *area, uint64_t seed, int wf)
{
	int status;
	pid_t pid;

	if (test_vmflag((unsigned long)area, "wf") != wf)
		return 1;
	if (datachk(area, NP * P, seed) >= 0)
		return 2;
	pid = fork();
	if (pid < 0)
		return 3;
	if (pid == 0)
		_exit(wf ? zerochk(area, NP * P) >= 0 : datachk(area, NP * P, seed) >= 0);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return 4;
	return 0;
}

static const char *const why[] = {
	"", "has lost VmFlags wf (or gained it)", "lost its data",
	"cannot fork", "is not wiped (or not copied) in a forked child",
};

int main(int argc, char **argv)
{
	char *a, *b, *plain, c;
	int status, ret, ready[2];
	pid_t child;

	test_init(argc, argv);
	test_daemon();
	a = map();
	plain = map();
	datagen(a, NP * P, 1);
	datagen(plain, NP * P, 2);
	if (madvise(a, NP * P, MADV_WIPEONFORK))
		fail("madvise: %m");

	if (pipe(ready))
		fail("pipe: %m");
	child = fork();
	if (child < 0)
		fail("fork: %m");
	if (child == 0) {
		close(ready[0]);
		if (zerochk(a, NP * P) >= 0 || !test_vmflag((unsigned long)a, "wf"))
			_exit(10);
		b = map();
		datagen(a, NP * P, 11);
		datagen(b, NP * P, 12);
		if (madvise(b, NP * P, MADV_WIPEONFORK))
			_exit(11);
		if (write(ready[1], "R", 1) != 1)
			_exit(12);
		close(ready[1]);
		while (!test_sigterm)
			pause();
		ret = check_area(a, 11, 1);
		if (!ret)
			ret = check_area(b, 12, 1);
		if (!ret)
			ret = check_area(plain, 2, 0);
		_exit(ret);
	}
	/* The child is set up before the dump. */
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		fail("the child failed to set up");
	close(ready[0]);
	test_waitsig();

	ret = check_area(a, 1, 1);
	if (ret)
		fail("the parent's WIPEONFORK area %s", why[ret]);
	ret = check_area(plain, 2, 0);
	if (ret)
		fail("the parent's plain area %s", why[ret]);
	kill(child, SIGTERM);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status))
		fail("the child ended with status %#x", status);
	if (WEXITSTATUS(status) >= 10)
		fail("the child's setup failed (%d)", WEXITSTATUS(status));
	if (WEXITSTATUS(status))
		fail("in the child, a WIPEONFORK area (or the plain one) %s",
		     why[WEXITSTATUS(status)]);
	pass();
	return 0;
}
