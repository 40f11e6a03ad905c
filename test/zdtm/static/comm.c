/* The process name set with PR_SET_NAME survives (PR_GET_NAME and /proc/self/comm). */
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NAME "zdtm-comm-xy"

int main(int argc, char **argv)
{
	char name[17] = "", comm[64] = "";
	ssize_t n;
	int fd;

	test_init(argc, argv);
	test_daemon();
	if (prctl(PR_SET_NAME, NAME))
		fail("PR_SET_NAME: %m");
	test_waitsig();

	if (prctl(PR_GET_NAME, name))
		fail("PR_GET_NAME: %m");
	if (strcmp(name, NAME))
		fail("name is \"%s\", expected \"%s\"", name, NAME);
	fd = open("/proc/self/comm", O_RDONLY);
	n = fd < 0 ? -1 : read(fd, comm, sizeof(comm) - 1);
	if (n < 0)
		fail("/proc/self/comm: %m");
	if (strcmp(comm, NAME "\n"))
		fail("/proc/self/comm is \"%s\"", comm);
	pass();
	return 0;
}
