// SPDX-License-Identifier: GPL-2.0
/*
 * File locks: dumped from fdinfo, taken again at restore (see files-locks.h
 * for when and by whom).
 *
 * A lock shows on the fdinfo of the fds it belongs to: a flock or OFD lock
 * on every fd of its open file description, in every process; a POSIX lock
 * on the fds of the description it was taken through, in the processes that
 * share the owner's fd table. Each lock is saved once, with a process and an
 * fd to take it again through: the owner of the fd table for flock and OFD
 * locks (it runs the installed() step), the process that took it for POSIX
 * locks, as fcntl(F_GETLK) reports that pid to others.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files/files-fhandle.h"
#include "files/files-locks.h"
#include "image.h"
#include "log.h"
#include "vpid.h"

#define LOCK_EOF UINT64_MAX

/* One line of /proc/locks or of fdinfo's "lock:" lines, after "N: ". */
struct lock_line {
	char kind[16]; /* FLOCK, POSIX, OFDLCK, LEASE... */
	char mode[16]; /* ADVISORY; a lease's ACTIVE, BREAKING... */
	char type[16]; /* READ, WRITE */
	int pid;
	dev_t dev;
	uint64_t ino;
	uint64_t start, end; /* end inclusive, or LOCK_EOF */
};

/*
 * A POSIX or flock lock /proc/locks shows as taken by a process of the tree,
 * to check that each was saved. (OFD locks show no pid.)
 */
struct sys_lock {
	pid_t pid;
	bool flock, write;
	dev_t dev;
	uint64_t ino, start, end;
};

struct file_locks {
	uint64_t *inos; /* inodes with a lock, from /proc/locks */
	size_t nr_inos;
	struct sys_lock *sys;
	size_t nr_sys;
	FileLockEntry **e; /* file-locks.img */
	uint64_t *e_ino;   /* the inode of each */
	size_t nr, cap;
};

struct file_locks_rst {
	FileLockEntry **e;
	size_t nr;
};

static const char *kind_name(FileLockKind k)
{
	return k == FILE_LOCK_KIND__LOCK_KIND_FLOCK   ? "flock"
	       : k == FILE_LOCK_KIND__LOCK_KIND_POSIX ? "POSIX"
	       : k == FILE_LOCK_KIND__LOCK_KIND_LEASE ? "lease"
						      : "OFD";
}

static const char *type_name(FileLockType t)
{
	return t == FILE_LOCK_TYPE__LOCK_TYPE_WRITE ? "write" : "read";
}

/* "N: KIND MODE TYPE PID MAJ:MIN:INO START END"; false if it is not one. */
static bool parse_lock(const char *s, struct lock_line *l)
{
	unsigned long long ino, start, end;
	unsigned int ma, mi;
	char e[24];

	if (sscanf(s, "%*d: %15s %15s %15s %d %x:%x:%llu %llu %23s", l->kind, l->mode, l->type,
		   &l->pid, &ma, &mi, &ino, &start, e) != 9)
		return false;
	l->dev = makedev(ma, mi);
	l->ino = ino;
	l->start = start;
	if (!strcmp(e, "EOF"))
		l->end = LOCK_EOF;
	else if (sscanf(e, "%llu", &end) == 1)
		l->end = end;
	else
		return false;
	return true;
}

struct file_locks *file_locks_new(void)
{
	struct file_locks *fl = calloc(1, sizeof(*fl));

	if (!fl)
		pr_err("out of memory for the file locks");
	return fl;
}

void file_locks_free(struct file_locks *fl)
{
	if (!fl)
		return;
	for (size_t i = 0; i < fl->nr; i++)
		file_lock_entry__free_unpacked(fl->e[i], NULL);
	free(fl->e);
	free(fl->e_ino);
	free(fl->inos);
	free(fl->sys);
	free(fl);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static const struct dump_task *dump_task_of(const struct dump_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return &ctx->tasks[i];
	return NULL;
}

/* The process whose fd table @t uses: itself, or the ancestor or sibling it shares it with. */
static const struct dump_task *table_owner(const struct dump_ctx *ctx, const struct dump_task *t)
{
	const struct dump_task *p;

	while (t->shares_files &&
	       (p = dump_task_of(ctx, t->files_owner ? t->files_owner : t->ppid)))
		t = p;
	return t;
}

static int note_line(struct dump_ctx *ctx, struct file_locks *fl, const struct lock_line *l)
{
	const struct dump_task *t = dump_task_of(ctx, l->pid);
	struct sys_lock *n;
	uint64_t *ni;

	ni = realloc(fl->inos, (fl->nr_inos + 1) * sizeof(*ni));
	if (!ni)
		return -1;
	fl->inos = ni;
	fl->inos[fl->nr_inos++] = l->ino;
	if ((strcmp(l->kind, "POSIX") && strcmp(l->kind, "FLOCK")) || !t || t->zombie)
		return 0;
	n = realloc(fl->sys, (fl->nr_sys + 1) * sizeof(*n));
	if (!n)
		return -1;
	fl->sys = n;
	fl->sys[fl->nr_sys++] = (struct sys_lock){ .pid = l->pid,
						   .flock = !strcmp(l->kind, "FLOCK"),
						   .write = l->type[0] == 'W',
						   .dev = l->dev,
						   .ino = l->ino,
						   .start = l->start,
						   .end = l->end };
	return 0;
}

int file_locks_collect(struct dump_ctx *ctx, struct file_locks *fl)
{
	struct lock_line l;
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;
	FILE *f;

	f = fopen("/proc/locks", "re");
	if (!f) {
		pr_perror("cannot open /proc/locks");
		return -1;
	}
	while (!ret && getline(&line, &cap, f) > 0) {
		/* "N: -> ..." is a request waiting for a lock, not a lock. */
		if (!parse_lock(line, &l))
			continue;
		if (note_line(ctx, fl, &l)) {
			pr_err("out of memory for the file locks");
			ret = -1;
		}
	}
	free(line);
	fclose(f);
	if (fl->nr_inos)
		qsort(fl->inos, fl->nr_inos, sizeof(*fl->inos), cmp_u64);
	return ret;
}

/* flock and OFD locks show in every process of their description: saved once. */
static bool same_lock(const FileLockEntry *a, const FileLockEntry *b)
{
	return a->kind == b->kind && a->type == b->type && a->file_id == b->file_id &&
	       a->start == b->start && a->len == b->len && a->mapped == b->mapped &&
	       ((a->kind != FILE_LOCK_KIND__LOCK_KIND_POSIX && !a->has_mapped) ||
		a->pid == b->pid);
}

/* Takes @e. */
static int add_entry(struct file_locks *fl, FileLockEntry *e, uint64_t ino)
{
	for (size_t i = 0; i < fl->nr; i++) {
		if (same_lock(fl->e[i], e)) {
			file_lock_entry__free_unpacked(e, NULL);
			return 0;
		}
	}
	if (fl->nr == fl->cap) {
		size_t cap = fl->cap ? fl->cap * 2 : 8;
		FileLockEntry **n = realloc(fl->e, cap * sizeof(*n));
		uint64_t *ni = n ? realloc(fl->e_ino, cap * sizeof(*ni)) : NULL;

		if (n)
			fl->e = n;
		if (!ni) {
			file_lock_entry__free_unpacked(e, NULL);
			return -1;
		}
		fl->e_ino = ni;
		fl->cap = cap;
	}
	fl->e_ino[fl->nr] = ino;
	fl->e[fl->nr++] = e;
	return 0;
}

/*
 * Who takes a POSIX lock again: the process the kernel says took it, if it
 * shares @t's fd table (the lock's owner), else @t.
 */
static pid_t posix_taker(const struct dump_ctx *ctx, const struct dump_task *t, pid_t pid)
{
	const struct dump_task *o = dump_task_of(ctx, pid);

	if (o && table_owner(ctx, o) == table_owner(ctx, t))
		return pid;
	return t->pid;
}

/* A lock of @kind, write or read, that the restored task @pid takes again. */
static FileLockEntry *new_entry(FileLockKind kind, bool write, uint32_t pid)
{
	FileLockEntry *e = malloc(sizeof(*e));

	if (!e)
		return NULL;
	file_lock_entry__init(e);
	e->kind = kind;
	e->type = write ? FILE_LOCK_TYPE__LOCK_TYPE_WRITE : FILE_LOCK_TYPE__LOCK_TYPE_READ;
	e->pid = pid;
	return e;
}

static int dump_lock(struct dump_ctx *ctx, struct file_locks *fl, const struct dump_task *t,
		     const struct fd_desc *d, uint32_t id, const struct lock_line *l)
{
	FileLockEntry *e;
	FileLockKind kind;
	pid_t taker;

	if (!strcmp(l->kind, "FLOCK"))
		kind = FILE_LOCK_KIND__LOCK_KIND_FLOCK;
	else if (!strcmp(l->kind, "POSIX"))
		kind = FILE_LOCK_KIND__LOCK_KIND_POSIX;
	else if (!strcmp(l->kind, "OFDLCK"))
		kind = FILE_LOCK_KIND__LOCK_KIND_OFD;
	else if (!strcmp(l->kind, "LEASE") && !strcmp(l->mode, "ACTIVE"))
		kind = FILE_LOCK_KIND__LOCK_KIND_LEASE;
	else if (!strcmp(l->kind, "LEASE")) {
		/* Another process's open waits for it to go: no lease to take again. */
		pr_err("pid %d fd %d: %s has a lease being broken (%s); not supported", d->pid,
		       d->fd, d->path, l->mode);
		return -1;
	} else {
		pr_err("pid %d fd %d: %s has a %s (a delegation?); not supported", d->pid, d->fd,
		       d->path, l->kind);
		return -1;
	}
	if (strcmp(l->type, "READ") && strcmp(l->type, "WRITE")) {
		pr_err("pid %d fd %d: %s has a %s lock of type %s; not supported", d->pid, d->fd,
		       d->path, l->kind, l->type);
		return -1;
	}
	if (!ctx->opts->file_locks) {
		pr_err("pid %d fd %d: %s holds a %s %s lock; dump with --file-locks to save file "
		       "locks",
		       d->pid, d->fd, d->path, kind_name(kind),
		       l->type[0] == 'R' ? "read" : "write");
		return -1;
	}
	taker = kind == FILE_LOCK_KIND__LOCK_KIND_POSIX ? posix_taker(ctx, t, l->pid)
						       : table_owner(ctx, t)->pid;
	e = new_entry(kind, l->type[0] == 'W', dump_vpid(ctx, taker));
	if (!e)
		goto oom;
	e->fd = d->fd;
	e->file_id = id;
	if (kind != FILE_LOCK_KIND__LOCK_KIND_FLOCK && kind != FILE_LOCK_KIND__LOCK_KIND_LEASE) {
		e->start = l->start;
		e->len = l->end == LOCK_EOF ? 0 : l->end - l->start + 1;
	}
	if (add_entry(fl, e, l->ino))
		goto oom;
	return 0;
oom:
	pr_err("pid %d fd %d: out of memory for its locks", d->pid, d->fd);
	return -1;
}

int file_locks_dump_fd(struct dump_ctx *ctx, struct file_locks *fl, const struct dump_task *t,
		       const struct fd_desc *d, uint32_t id)
{
	uint64_t ino = d->st.st_ino;
	char *text, *p, *line;
	struct lock_line l;
	int ret = 0;

	/* Most files have no lock: their fdinfo is not read again. */
	if (!fl->nr_inos || !bsearch(&ino, fl->inos, fl->nr_inos, sizeof(ino), cmp_u64))
		return 0;
	text = fdinfo_read(d->pid, d->fd);
	if (!text)
		return -1;
	for (p = text; !ret && (line = fdinfo_next_line(&p));) {
		if (strncmp(line, "lock:", 5))
			continue;
		if (!parse_lock(line + 5, &l)) {
			pr_err("pid %d fd %d: cannot parse '%s' of its fdinfo", d->pid, d->fd,
			       line);
			ret = -1;
		} else {
			ret = dump_lock(ctx, fl, t, d, id, &l);
		}
	}
	free(text);
	return ret;
}

static bool saved(const struct file_locks *fl, const struct sys_lock *s)
{
	for (size_t i = 0; i < fl->nr; i++) {
		const FileLockEntry *e = fl->e[i];

		if (fl->e_ino[i] != s->ino)
			continue;
		if (s->flock && e->kind == FILE_LOCK_KIND__LOCK_KIND_FLOCK)
			return true;
		if (!s->flock && e->kind == FILE_LOCK_KIND__LOCK_KIND_POSIX &&
		    e->start == s->start &&
		    (e->len ? e->start + e->len - 1 == s->end : s->end == LOCK_EOF))
			return true;
	}
	return false;
}

/*
 * A flock no fd of the tree shows, on a file @s->pid maps (the description
 * the mapping keeps holds it: a JVM maps its hsperfdata file, locks it and
 * closes the fd): saved with the mapping's address. 1 saved, 0 no such
 * mapping, -1 logged.
 */
static int save_mapped(struct dump_ctx *ctx, struct file_locks *fl, const struct sys_lock *s)
{
	const struct dump_task *t = dump_task_of(ctx, s->pid);
	FileLockEntry *e;

	for (size_t i = 0; t && i < t->vmas.nr; i++) {
		const struct vma *v = &t->vmas.v[i];

		if ((v->kind != VMA_KIND__VMA_FILE_SHARED && v->kind != VMA_KIND__VMA_FILE_PRIVATE) ||
		    v->dev != s->dev || v->ino != s->ino)
			continue;
		if (!ctx->opts->file_locks) {
			pr_err("pid %d holds a flock %s lock on %s, which it maps; dump with "
			       "--file-locks to save file locks",
			       s->pid, s->write ? "write" : "read", v->path);
			return -1;
		}
		e = new_entry(FILE_LOCK_KIND__LOCK_KIND_FLOCK, s->write, dump_vpid(ctx, s->pid));
		if (!e)
			goto oom;
		e->has_mapped = true;
		e->mapped = v->start;
		if (add_entry(fl, e, s->ino))
			goto oom;
		return 1;
	}
	return 0;
oom:
	pr_err("pid %d: out of memory for its locks", s->pid);
	return -1;
}

int file_locks_write(struct dump_ctx *ctx, struct file_locks *fl)
{
	struct image *img;
	int ret = 0;

	/* A lock no fd shows would be lost without a word. */
	for (size_t i = 0; i < fl->nr_sys; i++) {
		const struct sys_lock *s = &fl->sys[i];
		int mapped;

		if (saved(fl, s))
			continue;
		mapped = s->flock ? save_mapped(ctx, fl, s) : 0;
		if (mapped < 0)
			return -1;
		if (mapped)
			continue;
		if (s->flock)
			pr_err("pid %d holds a flock lock on inode %llu that none of the tree's "
			       "fds or mappings shows; not supported",
			       s->pid, (unsigned long long)s->ino);
		else
			pr_err("pid %d holds a POSIX lock on inode %llu (bytes %llu-%lld) that "
			       "none of its fds shows; not supported",
			       s->pid, (unsigned long long)s->ino, (unsigned long long)s->start,
			       s->end == LOCK_EOF ? -1LL : (long long)s->end);
		return -1;
	}
	img = img_open_write(ctx->dirfd, IMG_FILE_LOCKS, 0);
	if (!img)
		return -1;
	for (size_t i = 0; i < fl->nr && !ret; i++)
		ret = img_write(img, &fl->e[i]->base);
	if (img_close(img))
		ret = -1;
	return ret;
}

static const struct restore_task *task_of(const struct restore_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return &ctx->tasks[i];
	return NULL;
}

static const FdinfoEntry *fd_of(const struct restore_task *t, uint32_t fd)
{
	for (size_t i = 0; i < t->nr_fds; i++)
		if (t->fds[i]->fd == fd)
			return t->fds[i];
	return NULL;
}

/* The mapping of @t at @addr, backed by a file; NULL if there is none. */
static const VmaEntry *mapped_vma(const struct restore_task *t, uint64_t addr)
{
	for (size_t i = 0; t->mm && i < t->mm->n_vmas; i++) {
		const VmaEntry *v = t->mm->vmas[i];

		if (v->start == addr && v->path &&
		    (v->kind == VMA_KIND__VMA_FILE_SHARED || v->kind == VMA_KIND__VMA_FILE_PRIVATE))
			return v;
	}
	return NULL;
}

static int check_entry(const struct restore_ctx *ctx, size_t i, const FileLockEntry *e)
{
	const struct restore_task *t = task_of(ctx, e->pid);
	const FdinfoEntry *fi = t ? fd_of(t, e->fd) : NULL;
	bool posix = e->kind == FILE_LOCK_KIND__LOCK_KIND_POSIX;

	if (e->kind < FILE_LOCK_KIND__LOCK_KIND_FLOCK || e->kind > FILE_LOCK_KIND__LOCK_KIND_LEASE ||
	    e->type < FILE_LOCK_TYPE__LOCK_TYPE_READ || e->type > FILE_LOCK_TYPE__LOCK_TYPE_WRITE) {
		pr_err("file-locks.img: lock %zu: unknown kind %d or type %d", i, e->kind, e->type);
		return -1;
	}
	if (!t || t->pe->state == TASK_STATE__TASK_ZOMBIE || (!posix && t->pe->files_shared)) {
		pr_err("file-locks.img: lock %zu: pid %u is not a process of pstree.img that "
		       "holds an fd table",
		       i, e->pid);
		return -1;
	}
	if (e->has_mapped) {
		if (e->kind != FILE_LOCK_KIND__LOCK_KIND_FLOCK || !mapped_vma(t, e->mapped)) {
			pr_err("file-locks.img: lock %zu: pid %u has no file mapping at %llx to "
			       "hold it",
			       i, e->pid, (unsigned long long)e->mapped);
			return -1;
		}
		return 0;
	}
	if (!fi || fi->id != e->file_id) {
		pr_err("file-locks.img: lock %zu: pid %u has no fd %u of file id %u in "
		       "fdinfo-%u.img",
		       i, e->pid, e->fd, e->file_id, e->pid);
		return -1;
	}
	if (e->start > INT64_MAX || e->len > INT64_MAX - e->start ||
	    ((e->kind == FILE_LOCK_KIND__LOCK_KIND_FLOCK ||
	      e->kind == FILE_LOCK_KIND__LOCK_KIND_LEASE) &&
	     (e->start || e->len))) {
		pr_err("file-locks.img: lock %zu: bad range start %llu length %llu", i,
		       (unsigned long long)e->start, (unsigned long long)e->len);
		return -1;
	}
	return 0;
}

int file_locks_load(struct restore_ctx *ctx, struct file_locks_rst **out)
{
	struct file_locks_rst *fr;
	void **msgs;

	*out = fr = calloc(1, sizeof(*fr));
	if (!fr) {
		pr_err("file-locks.img: out of memory");
		return -1;
	}
	/* Images from before file locks have none. */
	if (img_load_all(ctx->dirfd, IMG_FILE_LOCKS, 0, true, &msgs, &fr->nr))
		return -1;
	fr->e = (FileLockEntry **)msgs;
	for (size_t i = 0; i < fr->nr; i++)
		if (check_entry(ctx, i, fr->e[i]))
			return -1;
	return 0;
}

void file_locks_rst_free(struct file_locks_rst *fr)
{
	if (!fr)
		return;
	for (size_t i = 0; i < fr->nr; i++)
		file_lock_entry__free_unpacked(fr->e[i], NULL);
	free(fr->e);
	free(fr);
}

/* "pid 12 fd 3: its POSIX write lock on /path (bytes 10-29)", for messages. */
static void describe(const struct restore_ctx *ctx, const FileLockEntry *e, char *buf, size_t size)
{
	const FileEntry *fe = files_entry(ctx, e->file_id);
	const struct restore_task *t = task_of(ctx, e->pid);
	const VmaEntry *v = e->has_mapped && t ? mapped_vma(t, e->mapped) : NULL;
	bool whole = e->kind == FILE_LOCK_KIND__LOCK_KIND_FLOCK ||
		     e->kind == FILE_LOCK_KIND__LOCK_KIND_LEASE;
	char file[32], range[64] = "";

	if (v) {
		snprintf(buf, size, "pid %u: its flock %s lock on %s (mapped at %llx)", e->pid,
			 type_name(e->type), v->path, (unsigned long long)e->mapped);
		return;
	}
	snprintf(file, sizeof(file), "file id %u", e->file_id);
	if (!whole && e->len)
		snprintf(range, sizeof(range), " (bytes %llu-%llu)", (unsigned long long)e->start,
			 (unsigned long long)(e->start + e->len - 1));
	else if (!whole)
		snprintf(range, sizeof(range), " (bytes %llu to the end)",
			 (unsigned long long)e->start);
	snprintf(buf, size, "pid %u fd %u: its %s %s lock on %s%s", e->pid, e->fd,
		 kind_name(e->kind), type_name(e->type), fe && fe->reg ? fe->reg->path : file,
		 range);
}

static void lock_failed(const struct restore_ctx *ctx, const FileLockEntry *e, int err)
{
	char what[4200];

	describe(ctx, e, what, sizeof(what));
	if (err == EAGAIN || err == EACCES || err == EWOULDBLOCK)
		pr_err("%s cannot be taken again: another process holds a conflicting lock", what);
	else
		pr_err("%s cannot be taken again: %s", what, strerror(err));
}

static int flock_op(const FileLockEntry *e)
{
	return (e->type == FILE_LOCK_TYPE__LOCK_TYPE_WRITE ? LOCK_EX : LOCK_SH) | LOCK_NB;
}

int file_locks_mapped(const struct restore_ctx *ctx, const struct file_locks_rst *fr,
		      const struct restore_task *t, const VmaEntry *v, int fd)
{
	for (size_t i = 0; fr && i < fr->nr; i++) {
		const FileLockEntry *e = fr->e[i];
		const VmaEntry *w;

		if (!e->has_mapped || e->pid != (uint32_t)t->pid)
			continue;
		/* The first mapping of the file opens it; the others map the same open. */
		w = mapped_vma(t, e->mapped);
		if (w->has_ghost_id != v->has_ghost_id ||
		    (w->has_ghost_id ? w->ghost_id != v->ghost_id : strcmp(w->path, v->path)))
			continue;
		if (flock(fd, flock_op(e))) {
			lock_failed(ctx, e, errno);
			return -1;
		}
	}
	return 0;
}

static struct flock to_flock(const FileLockEntry *e)
{
	return (struct flock){
		.l_type = e->type == FILE_LOCK_TYPE__LOCK_TYPE_WRITE ? F_WRLCK : F_RDLCK,
		.l_whence = SEEK_SET,
		.l_start = e->start,
		.l_len = e->len,
	};
}

int file_locks_installed(struct restore_ctx *ctx, const struct file_locks_rst *fr,
			 const struct restore_task *t)
{
	for (size_t i = 0; fr && i < fr->nr; i++) {
		const FileLockEntry *e = fr->e[i];
		struct flock fl = to_flock(e);
		int ret;

		if (e->pid != (uint32_t)t->pid || e->kind == FILE_LOCK_KIND__LOCK_KIND_POSIX ||
		    e->has_mapped)
			continue;
		if (e->kind == FILE_LOCK_KIND__LOCK_KIND_FLOCK)
			ret = flock(e->fd, flock_op(e));
		else if (e->kind == FILE_LOCK_KIND__LOCK_KIND_LEASE)
			ret = fcntl(e->fd, F_SETLEASE, fl.l_type);
		else
			ret = fcntl(e->fd, F_OFD_SETLK, &fl);
		if (ret) {
			lock_failed(ctx, e, errno);
			return -1;
		}
	}
	return 0;
}

int file_locks_finish(struct restore_ctx *ctx, const struct file_locks_rst *fr,
		      const struct restore_task *t, struct task_syscall *ts)
{
	for (size_t i = 0; fr && i < fr->nr; i++) {
		const FileLockEntry *e = fr->e[i];
		struct flock fl = to_flock(e);
		long ret;

		if (e->pid != (uint32_t)t->pid || e->kind != FILE_LOCK_KIND__LOCK_KIND_POSIX)
			continue;
		if (ts->mem_len < sizeof(fl)) {
			pr_err("pid %d: no room in the task to pass a lock", t->pid);
			return -1;
		}
		memcpy(ts->mem, &fl, sizeof(fl));
		if (ts->call(ts, &ret, SYS_fcntl, e->fd, F_SETLK, (long)ts->mem))
			return -1;
		if (ret < 0) {
			lock_failed(ctx, e, -ret);
			return -1;
		}
	}
	return 0;
}
