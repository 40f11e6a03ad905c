/* /proc/self cmdline, environ, auxv and the mm bounds in /proc/self/stat are unchanged. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NFIELDS 8

/* /proc/self/stat fields (1-based, see proc(5)) that describe the mm. */
static const int fields[NFIELDS] = { 26, 27, 28, 45, 46, 47, 48, 49 };
static const char *const field_names[NFIELDS] = {
	"start_code", "end_code", "start_stack", "start_data",
	"end_data",   "start_brk", "arg_start",  "arg_end",
};

struct snapshot {
	char cmdline[4096], environ[65536], auxv[4096];
	ssize_t cmdline_len, environ_len, auxv_len;
	unsigned long long stat[NFIELDS], env_start, env_end;
};

static ssize_t read_all(const char *path, char *buf, size_t size)
{
	ssize_t n, len = 0;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		fail("%s: %m", path);
	while ((n = read(fd, buf + len, size - len)) > 0)
		len += n;
	close(fd);
	if (n < 0)
		fail("read %s: %m", path);
	return len;
}

static void take(struct snapshot *s)
{
	char buf[4096], *p, *save;
	int field, i = 0;

	s->cmdline_len = read_all("/proc/self/cmdline", s->cmdline, sizeof(s->cmdline));
	s->environ_len = read_all("/proc/self/environ", s->environ, sizeof(s->environ));
	s->auxv_len = read_all("/proc/self/auxv", s->auxv, sizeof(s->auxv));
	buf[read_all("/proc/self/stat", buf, sizeof(buf) - 1)] = '\0';

	/* Field 3 follows the ")" that ends the command name. */
	p = strrchr(buf, ')');
	if (!p)
		fail("unparsable /proc/self/stat");
	for (field = 3, p = strtok_r(p + 1, " \n", &save); p; field++, p = strtok_r(NULL, " \n", &save)) {
		unsigned long long v = strtoull(p, NULL, 10);

		if (i < NFIELDS && field == fields[i])
			s->stat[i++] = v;
		else if (field == 50)
			s->env_start = v;
		else if (field == 51)
			s->env_end = v;
	}
	if (i != NFIELDS || field <= 51)
		fail("/proc/self/stat has only %d fields", field - 1);
}

int main(int argc, char **argv)
{
	struct snapshot before, after;
	int i;

	test_init(argc, argv);
	test_daemon();
	take(&before);
	test_waitsig();
	take(&after);

	if (after.cmdline_len != before.cmdline_len ||
	    memcmp(after.cmdline, before.cmdline, before.cmdline_len))
		fail("/proc/self/cmdline changed");
	if (after.environ_len != before.environ_len ||
	    memcmp(after.environ, before.environ, before.environ_len))
		fail("/proc/self/environ changed");
	if (after.auxv_len != before.auxv_len || memcmp(after.auxv, before.auxv, before.auxv_len))
		fail("/proc/self/auxv changed");
	for (i = 0; i < NFIELDS; i++)
		if (after.stat[i] != before.stat[i])
			fail("%s is %#llx, expected %#llx", field_names[i], after.stat[i],
			     before.stat[i]);
	if (after.env_start != before.env_start || after.env_end != before.env_end)
		fail("env_start/env_end changed");
	pass();
	return 0;
}
