# tcpike: top-level build.
#
#   make            userspace programs (build/) and, when a kernel tree is
#                   available, the module tcpike.ko
#   make check      every test layer (unit, netns, VM); TAP + a final count
#   make check-debug the module tests on the debug kernel (KASAN, lockdep,
#                   kmemleak): scripts/check --layer vm-debug
#   make module     the module only (KDIR=<tree> to choose the kernel)
#   make fuzz       libFuzzer harnesses, bounded run (FUZZ_SECONDS)
#   make style      checkpatch on kernel/ and uapi/
#   make lint       cppcheck on userspace/
#
# Sources are picked up by directory, so adding a file needs no edit here:
#   userspace/{lib,ike,kernel,daemon}/*.c  -> libtcpike.a (daemon/main.c excluded)
#   userspace/daemon/main.c                -> tcpiked
#   userspace/ctl/*.c                      -> tcpikectl
#   userspace/tools/NAME.c                 -> NAME (one program per file)
#   userspace/tests/test_*.c               -> unit tests (ASan+UBSan, kselftest harness)
#   userspace/fuzz/fuzz_*.c                -> libFuzzer harnesses
#   selftests/*.c                          -> test helpers/programs run in the VM

CC      ?= gcc
O       := build
PKGS    := openssl libnl-3.0 libnl-genl-3.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter \
	   -Wmissing-prototypes -Wstrict-prototypes
INCS    := -Iuapi -Iuserspace -Iuserspace/lib -Iuserspace/ike -Iuserspace/daemon \
	   -Iuserspace/kernel $(PKG_CFLAGS)
CFLAGS_BASE := -std=gnu11 -g -D_GNU_SOURCE $(WARN) $(INCS)
CFLAGS  ?= -O2
SANFLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=all
LIBS    := $(PKG_LIBS) -lpthread -lm

LIB_SRCS := $(filter-out userspace/daemon/main.c, \
	$(wildcard userspace/lib/*.c userspace/ike/*.c userspace/kernel/*.c userspace/daemon/*.c))
CTL_SRCS := $(wildcard userspace/ctl/*.c)
TOOL_SRCS := $(wildcard userspace/tools/*.c)
TEST_SRCS := $(wildcard userspace/tests/test_*.c)
FUZZ_SRCS := $(wildcard userspace/fuzz/fuzz_*.c)
SELFTEST_SRCS := $(wildcard selftests/*.c)

# Two flavours of everything: $(O)/ (optimised) and $(O)/asan/ (sanitizers,
# used by make check so the daemons in the namespace tests run under ASan).
define flavour
$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS_BASE) $(2) -MMD -MP -c $$< -o $$@
$(1)/libtcpike.a: $$(patsubst %.c,$(1)/obj/%.o,$$(LIB_SRCS))
	@rm -f $$@
	ar rcs $$@ $$^
$(1)/tcpiked: $(1)/obj/userspace/daemon/main.o $(1)/libtcpike.a
	$$(CC) $(2) -o $$@ $$^ $$(LIBS)
$(1)/tcpikectl: $$(patsubst %.c,$(1)/obj/%.o,$$(CTL_SRCS)) $(1)/libtcpike.a
	$$(CC) $(2) -o $$@ $$^ $$(LIBS)
$(1)/tools/%: $(1)/obj/userspace/tools/%.o $(1)/libtcpike.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -o $$@ $$^ $$(LIBS)
$(1)/selftests/%: $(1)/obj/selftests/%.o $(1)/libtcpike.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -o $$@ $$^ $$(LIBS)
$(1)/tests/%: $(1)/obj/userspace/tests/%.o $(1)/libtcpike.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -o $$@ $$^ $$(LIBS)
endef

$(eval $(call flavour,$(O),$(CFLAGS)))
$(eval $(call flavour,$(O)/asan,$(SANFLAGS)))

PROGS = $(if $(wildcard userspace/daemon/main.c),tcpiked) \
	$(if $(CTL_SRCS),tcpikectl) \
	$(patsubst userspace/tools/%.c,tools/%,$(TOOL_SRCS)) \
	$(patsubst selftests/%.c,selftests/%,$(SELFTEST_SRCS))
TESTS = $(patsubst userspace/tests/%.c,tests/%,$(TEST_SRCS))

# The kselftest harness comes from Debian's linux-source-6.12 tarball; it is
# extracted at build time, never vendored.
HARNESS := $(O)/include/kselftest_harness.h
$(HARNESS):
	scripts/kselftest-headers.sh $(O)/include

$(patsubst %.c,$(O)/obj/%.o,$(TEST_SRCS) $(SELFTEST_SRCS)) \
$(patsubst %.c,$(O)/asan/obj/%.o,$(TEST_SRCS) $(SELFTEST_SRCS)): $(HARNESS)
$(O)/obj/userspace/tests/% $(O)/asan/obj/userspace/tests/% \
$(O)/obj/selftests/% $(O)/asan/obj/selftests/%: CFLAGS_BASE += -I$(O)/include -Wno-missing-prototypes -Wno-sign-compare

.PHONY: demo bench all userspace asan module check check-debug fuzz style lint clean
all: userspace module

userspace: $(addprefix $(O)/,$(PROGS))
asan: $(addprefix $(O)/asan/,$(PROGS) $(TESTS))

# --- kernel module -------------------------------------------------------
# KDIR: the test kernel tree when built (scripts/build-kernel.sh), else the
# running kernel's build directory when it has one.  "make module" with no
# tree available says so and builds nothing.
KDIR ?= $(shell t=$$(scripts/build-kernel.sh --print-dir 2>/dev/null); \
	  if [ -f "$$t/.tcpike-built" ]; then echo $$t; \
	  elif [ -d /lib/modules/$$(uname -r)/build ]; then echo /lib/modules/$$(uname -r)/build; fi)
module:
	@if [ -z "$(KDIR)" ]; then \
		echo "module: no kernel tree (run scripts/build-kernel.sh or set KDIR)"; \
	elif [ -f Kbuild ]; then \
		mkdir -p $(O); \
		if [ "$$(cat $(O)/.module-kdir 2>/dev/null)" != "$(KDIR)" ]; then \
			$(MAKE) -s -C $(KDIR) M=$(CURDIR) clean; \
			echo "$(KDIR)" >$(O)/.module-kdir; \
		fi; \
		$(MAKE) -C $(KDIR) M=$(CURDIR) modules; \
	fi

# --- tests -----------------------------------------------------------------
check:
	scripts/check

check-debug:
	scripts/check --layer vm-debug

demo:
	scripts/demo.sh

# make bench [B=4] [QUICK=1]
bench:
	scripts/bench.sh $(if $(QUICK),--quick) $(B)


fuzz:
	scripts/fuzz.sh


style:
	scripts/style.sh

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr --std=c11 -D_GNU_SOURCE $(INCS) -i userspace/tests userspace/

clean:
	rm -rf $(O)
	@if [ -f Kbuild ] && [ -n "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi

-include $(shell find $(O) -name '*.d' 2>/dev/null)
