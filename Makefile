# snap — build, test, demo. See README.md.
#
#   make          build snap/snap (and the parasite/restorer blobs it embeds)
#   make check    install missing deps, build, run the whole test suite
#   make demo     install missing deps, build, checkpoint/restore a sample program
#   make install  copy snap to $(PREFIX)/sbin

CC	?= gcc
LD	?= ld
PREFIX	?= /usr/local
WARN	:= -Wall -Wextra -Werror
CFLAGS	?= -O2 -g
PKGS	:= libprotobuf-c libcap libbsd libnl-3.0 libnl-route-3.0

SNAP_CFLAGS := $(CFLAGS) $(WARN) -D_GNU_SOURCE -Isnap -Iimages -Iparasite/include -Iparasite/host \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
SNAP_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lprotobuf-c -lcap -lbsd -lnl-route-3 -lnl-3) -pthread

# Freestanding code run inside other processes: position independent, no libc,
# no SSE (the target's FPU state must survive untouched until rt_sigreturn).
PIE_CFLAGS := -O2 -g0 $(WARN) -D_GNU_SOURCE -Iparasite/include -fpie -fno-plt -ffreestanding \
	-nostdlib -fno-stack-protector -fno-builtin -mgeneral-regs-only -fvisibility=hidden \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none -fno-jump-tables

PROTOS	:= $(wildcard images/*.proto)
PB_C	:= $(PROTOS:.proto=.pb-c.c)
PB_H	:= $(PROTOS:.proto=.pb-c.h)
SNAP_DIRS := cr proc mem live files ns net rpc lazy cgroup
SNAP_SRC := $(wildcard snap/*.c $(SNAP_DIRS:%=snap/%/*.c)) $(wildcard parasite/host/*.c)
SNAP_OBJ := $(SNAP_SRC:.c=.o) $(PB_C:.c=.o) parasite/blobs.o
PIE_COMMON := parasite/pie/entry.o parasite/pie/lib.o
BLOBS	:= parasite/parasite.bin parasite/restorer.bin

all: snap/snap tests

snap/snap: $(SNAP_OBJ)
	$(CC) -o $@ $^ $(SNAP_LIBS)

images/%.pb-c.c images/%.pb-c.h: images/%.proto
	cd images && protoc-c --c_out=. $*.proto

# Generated code includes the headers of the protos it imports.
images/%.pb-c.o: images/%.pb-c.c $(PB_H)
	$(CC) $(CFLAGS) -Wall -Iimages -c -o $@ $<

$(SNAP_SRC:.c=.o): %.o: %.c $(PB_H)
	$(CC) $(SNAP_CFLAGS) -MMD -c -o $@ $<

parasite/pie/%.o: parasite/pie/%.c $(wildcard parasite/include/*.h parasite/pie/*.h)
	$(CC) $(PIE_CFLAGS) -c -o $@ $<
parasite/pie/%.o: parasite/pie/%.S
	$(CC) $(PIE_CFLAGS) -c -o $@ $<

# A blob is linked at address 0 into a flat binary. Only PC-relative
# relocations are allowed: anything absolute would point into address 0.
# Extra objects of a blob: parasite/NAME.bin: parasite/pie/NAME-*.o
parasite/restorer.bin: parasite/pie/restorer-proc.o parasite/pie/restorer-threads.o \
	parasite/pie/restorer-lazy.o parasite/pie/restorer-fill.o

parasite/%.bin: parasite/pie/%.o $(PIE_COMMON) parasite/pie/blob.lds
	@bad=$$(readelf -rW $(filter %.o,$^) | awk '/R_X86_64_/ {print $$3}' | \
		grep -vE '^R_X86_64_(PC32|PLT32)$$' | sort -u); \
	if [ -n "$$bad" ]; then echo "$@: absolute relocations: $$bad" >&2; exit 1; fi
	$(LD) -static -nostdlib --no-warn-rwx-segments -T parasite/pie/blob.lds -o $(@:.bin=.elf) $(filter %.o,$^)
	objcopy -O binary $(@:.bin=.elf) $@

parasite/blobs.o: parasite/blobs.S $(BLOBS)
	$(CC) -c -o $@ $<

tests: snap/snap
	$(MAKE) -C test/zdtm

deps:
	./scripts/install-deps.sh

check: deps
	$(MAKE) all
	./scripts/check.sh

demo: deps
	$(MAKE) snap/snap
	./scripts/demo.sh

install: snap/snap
	install -D -m 755 snap/snap $(DESTDIR)$(PREFIX)/sbin/snap

format:
	clang-format -i $(wildcard snap/*.[ch] snap/*/*.[ch]) parasite/*/*.[ch]

clean:
	rm -f snap/snap snap/*.o snap/*.d snap/*/*.o snap/*/*.d parasite/*/*.o parasite/*/*.d parasite/*.o \
		parasite/*.bin parasite/*.elf images/*.pb-c.[cho]
	-$(MAKE) -C test/zdtm clean

.PHONY: all tests deps check demo install format clean
.SECONDARY: $(PB_C) $(PB_H) $(PIE_COMMON) parasite/pie/parasite.o parasite/pie/restorer.o \
	parasite/pie/restorer-proc.o
-include $(wildcard snap/*.d snap/*/*.d parasite/host/*.d)
