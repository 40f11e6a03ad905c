/*
 * Unix sockets across processes: a socketpair whose ends live in parent and
 * child, with data queued both ways, and a socket both hold (one open file
 * description: a flag the child sets shows in the parent). After restore
 * they still talk to each other.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "zdtmtst.h"
#include "unix-util.h"

int main(int argc, char **argv)
{
	int sv[2], sh[2], status, sig;
	sigset_t set;
	pid_t kid;
	char buf[8];

	test_init(argc, argv);
	test_daemon();

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || socketpair(AF_UNIX, SOCK_DGRAM, 0, sh))
		fail("socketpair: %m");
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	kid = fork();
	if (kid < 0)
		fail("fork: %m");
	if (!kid) {
		close(sv[0]);
		sk_send(sv[1], 4000, 1);
		sk_send(sh[0], 64, 2);
		sigwait(&set, &sig);
		sk_expect_bytes(sv[1], 3000, 3);
		if (send(sv[1], "ok", 2, 0) != 2)
			_exit(1);
		fcntl(sh[0], F_SETFL, O_NONBLOCK);
		_exit(0);
	}
	close(sv[1]);
	sk_send(sv[0], 3000, 3);
	/* The child's data is queued before the test counts as ready. */
	if (recv(sh[1], buf, 1, MSG_PEEK) != 1)
		fail("recv: %m");

	test_waitsig();

	sk_expect_bytes(sv[0], 4000, 1);
	sk_expect_msg(sh[1], 64, 2);
	CHECK_EQ(fcntl(sh[0], F_GETFL) & O_NONBLOCK, 0);
	kill(kid, SIGUSR1);
	if (waitpid(kid, &status, 0) != kid || status)
		fail("the child failed (%#x)", status);
	if (recv(sv[0], buf, sizeof(buf), 0) != 2 || memcmp(buf, "ok", 2))
		fail("the child's answer did not come");
	if (!(fcntl(sh[0], F_GETFL) & O_NONBLOCK))
		fail("the socket the child set non-blocking is not the parent's any more");
	sk_check_pair(sh[0], sh[1]);
	pass();
	return 0;
}
