/*
 * A test in an ipc namespace of its own (run under unshare --ipc): SysV
 * objects of every kind and the namespace's sysctls survive, with their ids,
 * keys, owners, modes and contents. Shared memory: a segment attached (and
 * SHM_LOCKed) with data in two ranges, one never attached (made by the
 * daemon itself, with shm_rmid_forced set: a reader that attaches and
 * detaches it must not destroy it), one attached and removed. A semaphore
 * set made by another creator, with values; a message queue with messages of
 * different types and sizes, in order, and a byte limit above kernel.msgmnb;
 * another whose limit was lowered below what it holds. The
 * sysctls, a pending sem_next_id among them. The restore makes a new
 * namespace: the ids cannot come from anywhere else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "zdtmtst.h"

#define P PAGE_SIZE

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

struct msg {
	long mtype;
	char text[8192];
};

static const struct {
	long type;
	size_t len;
} msgs[] = { { 1, 5 }, { 5, 100 }, { 2, 0 }, { 1, 6000 }, { 7, 1 } };

static const unsigned short semvals[] = { 1, 2, 3, 0, 32767 };

static const struct {
	const char *name, *value;
} sysctls[] = {
	{ "kernel/shmmax", "123456789" },  { "kernel/shmall", "987654" },
	{ "kernel/shmmni", "1000" },	   { "kernel/msgmax", "16384" },
	{ "kernel/msgmni", "100" },	   { "kernel/sem", "300\t30000\t40\t200" },
	{ "fs/mqueue/msg_max", "20" },	   { "fs/mqueue/queues_max", "64" },
	/* Last: after the daemon made its segment, and the queue its limit. */
	{ "kernel/shm_rmid_forced", "1" }, { "kernel/sem_next_id", "777" },
	{ "kernel/msgmnb", "32768" },
};
#define NR_EARLY 8

static void set_sysctl(const char *name, const char *value)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value))
		fail("set %s to %s: %m", name, value);
	close(fd);
}

static void check_sysctl(const char *name, const char *value)
{
	char path[128], buf[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) < 0)
		fail("read %s: %m", name);
	close(fd);
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	if (strcmp(buf, value))
		fail("%s is %s, expected %s", name, buf, value);
}

static void check_perm(const struct ipc_perm *p, key_t key, int mode, uid_t uid, gid_t gid,
		       uid_t cuid, gid_t cgid)
{
	CHECK_EQ(p->__key, key);
	CHECK_EQ(p->mode & 0777, mode);
	CHECK_EQ(p->uid, uid);
	CHECK_EQ(p->gid, gid);
	CHECK_EQ(p->cuid, cuid);
	CHECK_EQ(p->cgid, cgid);
}

static void check_seg(int id, key_t key, size_t size, int mode, int nattch, int flags)
{
	struct shmid_ds ds;

	if (shmctl(id, IPC_STAT, &ds))
		fail("segment %d is gone: %m", id);
	check_perm(&ds.shm_perm, key, mode, 0, 0, 0, 0);
	CHECK_EQ(ds.shm_segsz, size);
	CHECK_EQ(ds.shm_nattch, nattch);
	CHECK_EQ(ds.shm_perm.mode & (SHM_LOCKED | SHM_DEST), flags);
}

static void set_qbytes(int id, unsigned long qbytes)
{
	struct msqid_ds ds;

	if (msgctl(id, IPC_STAT, &ds))
		fail("queue %d: IPC_STAT: %m", id);
	ds.msg_qbytes = qbytes;
	if (msgctl(id, IPC_SET, &ds))
		fail("queue %d: IPC_SET %lu bytes: %m", id, qbytes);
}

/* Lines of /proc/sysvipc/@what after its header: objects of the namespace. */
static int count_objects(const char *what)
{
	char path[64], line[512];
	int n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sysvipc/%s", what);
	f = fopen(path, "r");
	if (!f)
		fail("open %s: %m", path);
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	key_t key = 0x5b000000 | (getpid() & 0xffff) << 4;
	int a_id, idle_id, gone_id, sem_id, msq_id, full_id;
	unsigned short vals[5];
	union semun arg;
	struct msqid_ds mds;
	struct semid_ds sds;
	char *a, *g, *p;
	struct msg m;
	size_t i;

	test_init(argc, argv);
	for (i = 0; i < NR_EARLY; i++)
		set_sysctl(sysctls[i].name, sysctls[i].value);

	a_id = shmget(key, 8 * P, IPC_CREAT | IPC_EXCL | 0640);
	gone_id = shmget(IPC_PRIVATE, 2 * P, IPC_CREAT | 0600);
	if (a_id < 0 || gone_id < 0)
		fail("shmget: %m");
	a = shmat(a_id, NULL, 0);
	g = shmat(gone_id, NULL, 0);
	if (a == (void *)-1 || g == (void *)-1)
		fail("shmat: %m");
	datagen(a, 2 * P, 11);
	datagen(a + 5 * P, P, 12);
	datagen(g, 2 * P, 13);
	if (shmctl(a_id, SHM_LOCK, NULL) || shmctl(gone_id, IPC_RMID, NULL))
		fail("SHM_LOCK, IPC_RMID: %m");

	/* Another creator: cuid and cgid are not root's. */
	if (setegid(4321) || seteuid(1234))
		fail("seteuid: %m");
	sem_id = semget(key + 2, 5, IPC_CREAT | IPC_EXCL | 0666);
	if (seteuid(0) || setegid(0))
		fail("seteuid back: %m");
	if (sem_id < 0)
		fail("semget: %m");
	memcpy(vals, semvals, sizeof(vals));
	arg.array = vals;
	if (semctl(sem_id, 0, SETALL, arg))
		fail("SETALL: %m");
	arg.buf = &sds;
	if (semctl(sem_id, 0, IPC_STAT, arg))
		fail("sem IPC_STAT: %m");
	sds.sem_perm.uid = 1000;
	sds.sem_perm.gid = 1001;
	sds.sem_perm.mode = 0660;
	if (semctl(sem_id, 0, IPC_SET, arg))
		fail("sem IPC_SET: %m");

	/*
	 * A byte limit above the final msgmnb (only CAP_SYS_RESOURCE may set
	 * that, which the restore may not have); and a queue whose limit was
	 * lowered below what it holds.
	 */
	set_sysctl("kernel/msgmnb", "65536");
	msq_id = msgget(key + 3, IPC_CREAT | IPC_EXCL | 0620);
	full_id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	if (msq_id < 0 || full_id < 0)
		fail("msgget: %m");
	set_qbytes(msq_id, 40000);
	for (i = 0; i < ARRAY_SIZE(msgs); i++) {
		m.mtype = msgs[i].type;
		datagen(m.text, msgs[i].len, 20 + i);
		if (msgsnd(msq_id, &m, msgs[i].len, IPC_NOWAIT))
			fail("msgsnd %zu: %m", i);
	}
	for (i = 0; i < 3; i++) {
		m.mtype = 3 - i;
		datagen(m.text, 100, 30 + i);
		if (msgsnd(full_id, &m, 100, IPC_NOWAIT))
			fail("msgsnd full %zu: %m", i);
	}
	set_qbytes(full_id, 10);

	test_daemon();
	/* The daemon's own: its creator lives on, shm_rmid_forced keeps it. */
	idle_id = shmget(key + 1, 3 * P + 10, IPC_CREAT | IPC_EXCL | 0604);
	if (idle_id < 0)
		fail("shmget idle: %m");
	p = shmat(idle_id, NULL, 0);
	if (p == (void *)-1)
		fail("shmat idle: %m");
	datagen(p, 3 * P + 10, 14);
	if (shmdt(p))
		fail("shmdt: %m");
	for (i = NR_EARLY; i < ARRAY_SIZE(sysctls); i++)
		set_sysctl(sysctls[i].name, sysctls[i].value);
	test_waitsig();

	for (i = 0; i < ARRAY_SIZE(sysctls); i++)
		check_sysctl(sysctls[i].name, sysctls[i].value);
	check_sysctl("kernel/shm_next_id", "-1");
	check_sysctl("kernel/msg_next_id", "-1");

	check_seg(a_id, key, 8 * P, 0640, 1, SHM_LOCKED);
	check_seg(idle_id, key + 1, 3 * P + 10, 0604, 0, 0);
	check_seg(gone_id, IPC_PRIVATE, 2 * P, 0600, 1, SHM_DEST);
	CHECK_DATA(a, 2 * P, 11);
	CHECK(zerochk(a + 2 * P, 3 * P) < 0);
	CHECK_DATA(a + 5 * P, P, 12);
	CHECK(zerochk(a + 6 * P, 2 * P) < 0);
	CHECK_DATA(g, 2 * P, 13);
	/* Nothing else in the namespace. */
	CHECK_EQ(count_objects("shm"), 3);
	CHECK_EQ(count_objects("sem"), 1);
	CHECK_EQ(count_objects("msg"), 2);
	/* With shm_rmid_forced, the idle segment goes when this attachment does. */
	p = shmat(idle_id, NULL, SHM_RDONLY);
	if (p == (void *)-1)
		fail("shmat idle after restore: %m");
	CHECK_DATA(p, 3 * P + 10, 14);
	CHECK(zerochk(p + 3 * P + 10, P - 10) < 0);
	shmdt(p);

	arg.buf = &sds;
	if (semctl(sem_id, 0, IPC_STAT, arg))
		fail("semaphore set %d is gone: %m", sem_id);
	check_perm(&sds.sem_perm, key + 2, 0660, 1000, 1001, 1234, 4321);
	CHECK_EQ(sds.sem_nsems, 5);
	arg.array = vals;
	memset(vals, 0, sizeof(vals));
	if (semctl(sem_id, 0, GETALL, arg))
		fail("GETALL: %m");
	for (i = 0; i < ARRAY_SIZE(vals); i++)
		CHECK_EQ(vals[i], semvals[i]);

	if (msgctl(msq_id, IPC_STAT, &mds))
		fail("message queue %d is gone: %m", msq_id);
	check_perm(&mds.msg_perm, key + 3, 0620, 0, 0, 0, 0);
	CHECK_EQ(mds.msg_qbytes, 40000);
	CHECK_EQ(mds.msg_qnum, ARRAY_SIZE(msgs));
	for (i = 0; i < ARRAY_SIZE(msgs); i++) {
		ssize_t n = msgrcv(msq_id, &m, sizeof(m.text), 0, IPC_NOWAIT);

		if (n < 0)
			fail("msgrcv %zu: %m", i);
		CHECK_EQ(m.mtype, msgs[i].type);
		CHECK_EQ(n, msgs[i].len);
		CHECK_DATA(m.text, msgs[i].len, 20 + i);
	}
	CHECK(msgrcv(msq_id, &m, sizeof(m.text), 0, IPC_NOWAIT) < 0 && errno == ENOMSG);
	if (msgctl(full_id, IPC_STAT, &mds))
		fail("message queue %d is gone: %m", full_id);
	CHECK_EQ(mds.msg_qbytes, 10);
	CHECK_EQ(mds.msg_qnum, 3);
	for (i = 0; i < 3; i++) {
		CHECK_EQ(msgrcv(full_id, &m, sizeof(m.text), 0, IPC_NOWAIT), 100);
		CHECK_EQ(m.mtype, 3 - i);
		CHECK_DATA(m.text, 100, 30 + i);
	}

	shmdt(a);
	shmdt(g);
	pass();
	return 0;
}
