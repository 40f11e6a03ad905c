/*
 * A test in a UTS namespace of its own (run under unshare --uts): it sets
 * the host and domain names there; after restore uname() must report them,
 * and the host's names must be untouched (restore made a new namespace).
 */
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "zdtmtst.h"

#define HOST "snap-uts-test"
#define DOMAIN "snap.example"

int main(int argc, char **argv)
{
	struct utsname u;
	char host_before[65];

	test_init(argc, argv);
	if (readlink("/proc/self/ns/uts", host_before, sizeof(host_before)) < 0)
		fail("readlink: %m");
	if (sethostname(HOST, strlen(HOST)) || setdomainname(DOMAIN, strlen(DOMAIN)))
		fail("set names: %m");

	test_daemon();
	test_waitsig();

	if (uname(&u))
		fail("uname: %m");
	if (strcmp(u.nodename, HOST) || strcmp(u.domainname, DOMAIN))
		fail("names after restore: %s / %s", u.nodename, u.domainname);
	pass();
	return 0;
}
