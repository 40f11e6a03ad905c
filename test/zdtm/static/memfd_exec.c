/*
 * A restored memfd can be executed (fexecve) as the original could: nothing
 * the restore leaves open may hold it for writing (exec would fail with
 * ETXTBSY). Three memfds hold a tiny static program that exits with 42:
 *   plain   the fd memfd_create() gave, read-write, mapped shared too;
 *   sealed  write-sealed, its creating fd kept;
 *   ro      its creating fd closed, a read-only reopen kept.
 * After restore a child fexecve()s each; its exit status must be 42.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define BASE 0x400000UL
#define EXIT_CODE 42

/* mov $42, %edi; mov $60, %eax (exit); syscall */
static const unsigned char code[] = { 0xbf, EXIT_CODE, 0, 0, 0, 0xb8, 60, 0, 0, 0, 0x0f, 0x05 };

struct prog {
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	unsigned char code[sizeof(code)];
} __attribute__((packed));

static void make_prog(struct prog *p)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->eh.e_ident, ELFMAG, SELFMAG);
	p->eh.e_ident[EI_CLASS] = ELFCLASS64;
	p->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	p->eh.e_ident[EI_VERSION] = EV_CURRENT;
	p->eh.e_type = ET_EXEC;
	p->eh.e_machine = EM_X86_64;
	p->eh.e_version = EV_CURRENT;
	p->eh.e_entry = BASE + offsetof(struct prog, code);
	p->eh.e_phoff = offsetof(struct prog, ph);
	p->eh.e_ehsize = sizeof(p->eh);
	p->eh.e_phentsize = sizeof(p->ph);
	p->eh.e_phnum = 1;
	p->ph.p_type = PT_LOAD;
	p->ph.p_flags = PF_R | PF_X;
	p->ph.p_vaddr = p->ph.p_paddr = BASE;
	p->ph.p_filesz = p->ph.p_memsz = sizeof(*p);
	p->ph.p_align = PAGE_SIZE;
	memcpy(p->code, code, sizeof(code));
}

static int make_memfd(const char *name, unsigned int flags)
{
	struct prog p;
	int fd = memfd_create(name, flags);

	make_prog(&p);
	if (fd < 0 || write(fd, &p, sizeof(p)) != sizeof(p))
		fail("memfd %s: %m", name);
	return fd;
}

/* fexecve(@fd) in a child: its exit status, or -errno of the exec. */
static int run(int fd)
{
	char *argv[] = { "memfd-prog", NULL }, *envp[] = { NULL };
	int status, err[2], e = 0;
	pid_t pid;

	if (pipe2(err, O_CLOEXEC))
		fail("pipe: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0) {
		fexecve(fd, argv, envp);
		e = errno;
		if (write(err[1], &e, sizeof(e)) != sizeof(e))
			_exit(1);
		_exit(0);
	}
	close(err[1]);
	if (read(err[0], &e, sizeof(e)) != sizeof(e))
		e = 0;
	close(err[0]);
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid: %m");
	if (e)
		return -e;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 256 + status;
}

static void check_run(const char *what, int fd)
{
	int ret = run(fd);

	if (ret < 0)
		fail("fexecve of the %s memfd: %s", what, strerror(-ret));
	if (ret != EXIT_CODE)
		fail("the %s memfd's program exited with %d, expected %d", what, ret, EXIT_CODE);
}

int main(int argc, char **argv)
{
	int plain, sealed, ro, tmp;
	char path[64], *m;

	test_init(argc, argv);
	plain = make_memfd("exec-plain", MFD_CLOEXEC);
	m = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, plain, 0);
	if (m == MAP_FAILED)
		fail("mmap: %m");
	sealed = make_memfd("exec-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fcntl(sealed, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW))
		fail("F_ADD_SEALS: %m");
	tmp = make_memfd("exec-ro", 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", tmp);
	ro = open(path, O_RDONLY);
	if (ro < 0)
		fail("reopen: %m");
	close(tmp);
	/* The test itself is right: the original can run them. */
	check_run("plain", plain);
	check_run("sealed", sealed);
	check_run("ro", ro);

	test_daemon();
	test_waitsig();

	check_run("plain", plain);
	check_run("sealed", sealed);
	check_run("ro", ro);
	CHECK_EQ(m[1], 'E');
	pass();
	return 0;
}
