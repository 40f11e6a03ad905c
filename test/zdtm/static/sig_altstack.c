/* The sigaltstack (sp, size, SS_AUTODISARM) survives; SA_ONSTACK handlers run on it. */
#include <string.h>
#include <sys/mman.h>

#include "zdtmtst.h"

#define ALT_SIZE (64 * 1024)

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)	/* linux/signal.h; glibc lacks it */
#endif

static volatile unsigned long handler_sp[NSIG];

static void handler(int sig)
{
	volatile int local;

	handler_sp[sig] = (unsigned long)&local;
}

static void set_handler(int sig, int flags)
{
	struct sigaction sa = { .sa_handler = handler, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		fail("sigaction(%d): %m", sig);
}

int main(int argc, char **argv)
{
	stack_t ss, now;
	char *alt;

	test_init(argc, argv);
	alt = mmap(NULL, ALT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (alt == MAP_FAILED)
		fail("mmap: %m");
	ss.ss_sp = alt;
	ss.ss_size = ALT_SIZE;
	ss.ss_flags = SS_AUTODISARM;
	if (sigaltstack(&ss, NULL))
		fail("sigaltstack: %m");
	set_handler(SIGUSR1, SA_ONSTACK);
	set_handler(SIGUSR2, 0);

	test_daemon();
	test_waitsig();

	if (sigaltstack(NULL, &now))
		fail("sigaltstack: %m");
	if (now.ss_sp != alt || now.ss_size != ALT_SIZE || (unsigned int)now.ss_flags != SS_AUTODISARM)
		fail("alt stack is %p+%zu flags %#x, expected %p+%d flags %#x", now.ss_sp,
		     now.ss_size, now.ss_flags, alt, ALT_SIZE, SS_AUTODISARM);

	raise(SIGUSR1);
	if (handler_sp[SIGUSR1] < (unsigned long)alt ||
	    handler_sp[SIGUSR1] >= (unsigned long)alt + ALT_SIZE)
		fail("SA_ONSTACK handler ran at %#lx, outside the alt stack %p", handler_sp[SIGUSR1],
		     alt);
	raise(SIGUSR2);
	if (handler_sp[SIGUSR2] >= (unsigned long)alt &&
	    handler_sp[SIGUSR2] < (unsigned long)alt + ALT_SIZE)
		fail("a handler without SA_ONSTACK ran on the alt stack");
	pass();
	return 0;
}
