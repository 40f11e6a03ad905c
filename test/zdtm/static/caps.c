/* Capability sets (eff/prm/inh/bounding/ambient) and securebits survive exactly. */
#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define BIT(c)		(1ULL << (c))
#define SECBITS		(SECBIT_KEEP_CAPS | SECBIT_NO_SETUID_FIXUP)

static struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };

static void get_caps(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &hdr, d))
		fail("capget: %m");
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
}

static void set_caps(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ eff >> 32, prm >> 32, inh >> 32 },
	};

	if (syscall(SYS_capset, &hdr, d))
		fail("capset: %m");
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int last = -1;

	if (!f || fscanf(f, "%d", &last) != 1)
		fail("/proc/sys/kernel/cap_last_cap: %m");
	fclose(f);
	return last;
}

static uint64_t bounding(int last)
{
	uint64_t set = 0;
	int c;

	for (c = 0; c <= last; c++)
		if (prctl(PR_CAPBSET_READ, c) == 1)
			set |= BIT(c);
	return set;
}

static uint64_t ambient(int last)
{
	uint64_t set = 0;
	int c;

	for (c = 0; c <= last; c++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1)
			set |= BIT(c);
	return set;
}

int main(int argc, char **argv)
{
	uint64_t eff, prm, inh, bnd, amb, e, p, i;
	int last, s;

	test_init(argc, argv);
	last = last_cap();
	get_caps(&eff, &prm, &inh);
	if (!(eff & BIT(CAP_SETPCAP)) || !(prm & BIT(CAP_KILL)))
		skip("needs CAP_SETPCAP and CAP_KILL");

	if (prctl(PR_CAPBSET_DROP, CAP_AUDIT_WRITE) || prctl(PR_CAPBSET_DROP, CAP_WAKE_ALARM))
		fail("PR_CAPBSET_DROP: %m");
	if (prctl(PR_SET_SECUREBITS, SECBITS))
		fail("PR_SET_SECUREBITS: %m");
	prm &= ~(BIT(CAP_SYS_BOOT) | BIT(CAP_MKNOD) | BIT(CAP_SYS_TIME));
	eff = prm & ~(BIT(CAP_NET_RAW) | BIT(CAP_SYS_NICE) | BIT(CAP_LEASE));
	inh = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE);
	set_caps(eff, prm, inh);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0))
		fail("PR_CAP_AMBIENT_RAISE: %m");
	bnd = bounding(last);
	amb = ambient(last);
	CHECK(!(bnd & BIT(CAP_AUDIT_WRITE)) && (bnd & BIT(CAP_CHOWN)));
	CHECK_EQ(amb, BIT(CAP_KILL));

	test_daemon();
	test_waitsig();

	get_caps(&e, &p, &i);
	if (e != eff || p != prm || i != inh)
		fail("caps eff %#llx prm %#llx inh %#llx, expected %#llx %#llx %#llx",
		     (unsigned long long)e, (unsigned long long)p, (unsigned long long)i,
		     (unsigned long long)eff, (unsigned long long)prm, (unsigned long long)inh);
	if (bounding(last) != bnd)
		fail("bounding set %#llx, expected %#llx", (unsigned long long)bounding(last),
		     (unsigned long long)bnd);
	if (ambient(last) != amb)
		fail("ambient set %#llx, expected %#llx", (unsigned long long)ambient(last),
		     (unsigned long long)amb);
	s = prctl(PR_GET_SECUREBITS);
	if (s != SECBITS)
		fail("securebits %#x, expected %#x", s, SECBITS);

	/* The kernel acts on them: no CAP_NET_RAW, no raw socket. */
	s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (s >= 0 || errno != EPERM)
		fail("raw socket without CAP_NET_RAW: %d (%m)", s);
	pass();
	return 0;
}
