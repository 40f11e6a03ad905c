// SPDX-License-Identifier: GPL-2.0
/*
 * timerfds: the clock, the settime flags, the interval, the next expiry
 * and the expirations counted but not read yet ("ticks"), from fdinfo.
 *
 * A periodic timer that expired stops in the kernel until someone looks:
 * its ticks and next expiry are brought up to date by a read() or a
 * timerfd_gettime(). Dump calls timerfd_gettime(), which takes nothing
 * (what a read() returns afterwards is the same), then reads fdinfo.
 *
 * A relative timer comes back with the time it had left at the dump; one
 * set with TFD_TIMER_ABSTIME with the same absolute expiry on its clock.
 * Restore arms a new timer in snap, then puts the ticks back with the
 * TFD_IOC_SET_TICKS ioctl (CONFIG_CHECKPOINT_RESTORE). A timer whose clock
 * was set under TFD_TIMER_CANCEL_ON_SET (read() gives ECANCELED) comes back
 * not cancelled: fdinfo does not show it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "files/files-anon.h"
#include "kcompat.h"
#include "log.h"

#define NSEC 1000000000ULL
/* How often dump looks again when the timer expires while it is read. */
#define EXPIRY_RETRIES 16

static const char *const timerfd_anon[] = { "[timerfd]", NULL };

static const char *field_of(const char *info, const char *name)
{
	const char *v = strstr(info, name);

	return v ? v + strlen(name) : NULL;
}

/* fdinfo's "it_value: (S, NS)". */
static int read_time(const struct fd_desc *d, const char *info, const char *name,
		     uint64_t *ns)
{
	const char *v = field_of(info, name);
	unsigned long long s, n;

	if (!v || sscanf(v, " (%llu, %llu)", &s, &n) != 2 || n >= NSEC ||
	    s > UINT64_MAX / NSEC - 1) {
		pr_err("pid %d fd %d: its fdinfo has no %s line this snap can read", d->pid, d->fd,
		       name);
		return -1;
	}
	*ns = s * NSEC + n;
	return 0;
}

/*
 * fdinfo after timerfd_gettime(): an expiry right now shows a periodic
 * timer as not re-armed (no time left) until the next look.
 */
static int read_timer(const struct fd_desc *d, TimerfdEntry *te)
{
	unsigned long long clockid, ticks, flags;
	struct itimerspec its;
	char *info = NULL;
	int tries = 0;

	do {
		free(info);
		if (timerfd_gettime(d->local, &its)) {
			pr_perror("pid %d fd %d: timerfd_gettime", d->pid, d->fd);
			return -1;
		}
		info = anon_fdinfo(d);
		if (!info)
			return -1;
		if (anon_field_u64(d, info, "clockid:", 10, &clockid) ||
		    anon_field_u64(d, info, "ticks:", 10, &ticks) ||
		    anon_field_u64(d, info, "settime flags:", 8, &flags) ||
		    read_time(d, info, "it_value:", &te->value_ns) ||
		    read_time(d, info, "it_interval:", &te->interval_ns))
			goto err;
	} while (!te->value_ns && te->interval_ns && ++tries < EXPIRY_RETRIES);
	free(info);
	if (!te->value_ns && te->interval_ns) {
		pr_err("pid %d fd %d: timer with a %llu ns interval expires whenever snap looks; "
		       "cannot save it",
		       d->pid, d->fd, (unsigned long long)te->interval_ns);
		return -1;
	}
	te->clockid = clockid;
	te->ticks = ticks;
	te->settime_flags = flags;
	return 0;
err:
	free(info);
	return -1;
}

static int timerfd_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	struct timespec now;
	TimerfdEntry *te;

	(void)ctx;
	(void)st;
	te = malloc(sizeof(*te));
	if (!te) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	timerfd_entry__init(te);
	fe->timerfd = te;
	te->flags = d->flags;
	if (read_timer(d, te))
		return -1;
	if (!(te->settime_flags & TFD_TIMER_ABSTIME) || !te->value_ns)
		return 0;
	/* fdinfo shows the time left: the expiry is that from now, on its clock. */
	if (clock_gettime(te->clockid, &now)) {
		pr_perror("pid %d fd %d: timer on clock %u: clock_gettime", d->pid, d->fd,
			  te->clockid);
		return -1;
	}
	te->value_ns += now.tv_sec * NSEC + now.tv_nsec;
	return 0;
}

static int timerfd_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const TimerfdEntry *te = fe->timerfd;

	(void)ctx;
	(void)st;
	if (!te) {
		pr_err("files.img: file id %u: a timerfd without its timerfd part", fe->id);
		return -1;
	}
	if (te->settime_flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) {
		pr_err("files.img: file id %u: timerfd settime flags %#o unknown", fe->id,
		       te->settime_flags);
		return -1;
	}
	return 0;
}

static struct timespec to_ts(uint64_t ns)
{
	return (struct timespec){ .tv_sec = ns / NSEC, .tv_nsec = ns % NSEC };
}

/*
 * After settime(), which clears them: the saved ticks, plus any the timer
 * counted since (an absolute expiry passed while the process was away).
 */
static int set_ticks(const FileEntry *fe, int fd)
{
	uint64_t ticks = fe->timerfd->ticks, more = 0;

	if (!ticks)
		return 0;
	if (read(fd, &more, sizeof(more)) < 0 && errno != EAGAIN) {
		pr_perror("files.img: file id %u: cannot read the new timerfd", fe->id);
		return -1;
	}
	ticks += more;
	if (ioctl(fd, TFD_IOC_SET_TICKS, &ticks)) {
		pr_perror("files.img: file id %u: cannot put back the timer's %llu expirations "
			  "not read yet (TFD_IOC_SET_TICKS needs CONFIG_CHECKPOINT_RESTORE)",
			  fe->id, (unsigned long long)ticks);
		return -1;
	}
	return 0;
}

static int timerfd_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const TimerfdEntry *te = fe->timerfd;
	struct itimerspec its = { to_ts(te->interval_ns), to_ts(te->value_ns) };
	int fd;

	(void)ctx;
	(void)st;
	/* Non-blocking until set: set_ticks() reads it. */
	fd = timerfd_create(te->clockid, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0) {
		pr_perror("files.img: file id %u: cannot make a timerfd on clock %u", fe->id,
			  te->clockid);
		return -1;
	}
	if ((te->value_ns || te->interval_ns) &&
	    timerfd_settime(fd, te->settime_flags, &its, NULL)) {
		pr_perror("files.img: file id %u: cannot arm the timerfd (clock %u, flags %#o, "
			  "value %llu ns, interval %llu ns)",
			  fe->id, te->clockid, te->settime_flags,
			  (unsigned long long)te->value_ns, (unsigned long long)te->interval_ns);
		goto err;
	}
	if (set_ticks(fe, fd))
		goto err;
	if (fcntl(fd, F_SETFL, te->flags) < 0) {
		pr_perror("files.img: file id %u: timerfd: cannot set flags %#o", fe->id,
			  te->flags);
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

const struct fd_ops timerfd_fd_ops = {
	.type = FD_TYPE__FD_TIMERFD,
	.name = "timerfd",
	.anon = timerfd_anon,
	.dump = timerfd_dump,
	.prepare = timerfd_prepare,
	.open = timerfd_open,
};
