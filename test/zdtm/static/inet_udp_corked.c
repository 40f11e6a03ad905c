/*
 * A UDP socket with bytes corked in it (UDP_CORK, then a write): only
 * bad/dump_inet_udp_corked runs it (snap cannot read corked bytes and
 * refuses it by name). The task runs on untouched: uncorked, the datagram
 * goes out whole.
 */
#include <netinet/udp.h>

#include "zdtmtst.h"
#include "inet-util.h"

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len = in_loop(AF_INET, 0, &ss);
	int u = socket(AF_INET, SOCK_DGRAM, 0), r = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[64];

	test_init(argc, argv);
	if (bind(r, (struct sockaddr *)&ss, len))
		fail("bind: %m");
	len = sizeof(ss);
	getsockname(r, (struct sockaddr *)&ss, &len);
	in_setopt(u, IPPROTO_UDP, UDP_CORK, 1);
	if (sendto(u, "corked-", 7, 0, (struct sockaddr *)&ss, len) != 7)
		fail("sendto: %m");

	test_daemon();
	test_waitsig();

	/* Uncorking sends what was corked. */
	in_setopt(u, IPPROTO_UDP, UDP_CORK, 0);
	for (int i = 0; i < 100; i++) {
		ssize_t n = recv(r, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 7 && !memcmp(buf, "corked-", 7)) {
			pass();
			return 0;
		}
		if (n >= 0)
			fail("a datagram of %zd bytes, not the corked one", n);
		usleep(10000);
	}
	fail("the corked datagram did not come (%m)");
}
