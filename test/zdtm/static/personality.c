/* The personality (ADDR_NO_RANDOMIZE | UNAME26) survives and still changes uname(). */
#include <string.h>
#include <sys/personality.h>
#include <sys/utsname.h>

#include "zdtmtst.h"

#define PERS (PER_LINUX | ADDR_NO_RANDOMIZE | UNAME26)

int main(int argc, char **argv)
{
	struct utsname u;
	int pers;

	test_init(argc, argv);
	if (personality(PERS) < 0)
		fail("personality: %m");
	CHECK_EQ(personality(0xffffffff), PERS);

	test_daemon();
	test_waitsig();

	pers = personality(0xffffffff);
	if (pers != PERS)
		fail("personality is %#x, expected %#x", pers, PERS);
	if (uname(&u))
		fail("uname: %m");
	if (strncmp(u.release, "2.6.", 4))
		fail("UNAME26 has no effect: release is %s", u.release);
	pass();
	return 0;
}
