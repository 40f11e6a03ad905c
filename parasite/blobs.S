/* The freestanding blobs, embedded into snap as read-only data. */
	.section .rodata
	.balign 64
	.globl parasite_blob, parasite_blob_end
parasite_blob:
	.incbin "parasite/parasite.bin"
parasite_blob_end:
	.balign 64
	.globl restorer_blob, restorer_blob_end
restorer_blob:
	.incbin "parasite/restorer.bin"
restorer_blob_end:
	.section .note.GNU-stack,"",@progbits
