/*
 * Entry of both blobs, at offset 0. The host sets:
 *   %rdi = argument area, %rsp = top of the blob's stack (16-byte aligned).
 * blob_main(args) returns the address of an rt_sigframe's ucontext; we load
 * it into %rsp and rt_sigreturn through it, which restores every register,
 * the FPU state, the signal mask and the alternate stack in one syscall.
 * A zero return means "no frame": exit the thread group (restorer failure).
 */
	.section .head.text, "ax"
	.globl __blob_entry
__blob_entry:
	call	blob_main
	test	%rax, %rax
	jz	1f
	mov	%rax, %rsp
	mov	$15, %eax		/* __NR_rt_sigreturn */
	syscall
1:	mov	$1, %edi
	mov	$231, %eax		/* __NR_exit_group */
	syscall
	hlt
	.section .note.GNU-stack,"",@progbits
