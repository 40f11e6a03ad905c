/*
 * prctl() settings survive: no_new_privs, child subreaper, THP disable,
 * the parent-death signal and the timer slack; THP disable still acts.
 */
#include <sys/prctl.h>

#include "zdtmtst.h"

#define SLACK_NS 123457

int main(int argc, char **argv)
{
	int sig = 0, reaper = 0;

	test_init(argc, argv);
	test_daemon();

	/* The parent-death signal fires when the zdtm parent exits: ignore it. */
	signal(SIGUSR2, SIG_IGN);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) ||
	    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) || prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0) ||
	    prctl(PR_SET_TIMERSLACK, SLACK_NS, 0, 0, 0))
		fail("prctl: %m");

	test_waitsig();

	CHECK_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
	if (prctl(PR_GET_CHILD_SUBREAPER, &reaper, 0, 0, 0) ||
	    prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0))
		fail("prctl: %m");
	CHECK_EQ(reaper, 1);
	CHECK_EQ(sig, SIGUSR2);
	CHECK_EQ(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), 1);
	CHECK_EQ(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0), SLACK_NS);
	/* What the kernel does with them, not only what it reports. */
	CHECK_EQ(test_status_long("THP_enabled"), 0);
	CHECK_EQ(test_status_long("NoNewPrivs"), 1);
	pass();
	return 0;
}
