# tcpike: top-level build.
#
#   make            userspace programs (build/) and, when a kernel tree is
#                   available, the module tcpike.ko
#   make install    programs, unit, man pages, completion, example config
#                   (PREFIX, DESTDIR, sbindir, sysconfdir, mandir, ...);
#                   make uninstall removes them but the configuration
#   make check      every test layer (unit, netns, VM); TAP + a final count
#   make check-debug the module tests on the debug kernel (KASAN, lockdep,
#                   kmemleak): scripts/check --layer vm-debug
#   make mutate     mutation testing (selftests/MUTATIONS, scripts/mutate)
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

.DEFAULT_GOAL := all
CC      ?= gcc
O       := build

# The version: git describe on a checkout with tags, else the packaging's
# version with the commit, else (a release tarball) the packaging's alone.
# debian/rules passes the package version.
PKG_VERSION := $(shell head -n 1 debian/changelog 2>/dev/null | cut -d' ' -f2 | tr -d '()' | cut -d- -f1)
ifeq ($(origin TCPIKE_VERSION),undefined)
TCPIKE_VERSION := $(shell git describe --tags --dirty 2>/dev/null || \
	{ h=$$(git rev-parse --short HEAD 2>/dev/null) && \
	  echo "$(PKG_VERSION)+g$$h$$(git diff --quiet HEAD -- 2>/dev/null || echo -dirty)"; } || \
	echo "$(PKG_VERSION)")
endif
PKGS    := openssl libnl-3.0 libnl-genl-3.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter \
	   -Wmissing-prototypes -Wstrict-prototypes
INCS    := -Iuapi -Iuserspace -Iuserspace/lib -Iuserspace/ike -Iuserspace/daemon \
	   -Iuserspace/kernel $(PKG_CFLAGS)
CFLAGS_BASE := -std=gnu11 -g -D_GNU_SOURCE -DTCPIKE_VERSION=\"$(TCPIKE_VERSION)\" $(WARN) $(INCS) \
	       $(CPPFLAGS)
CFLAGS  ?= -O2
SANFLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=all
LIBS    := $(PKG_LIBS) -lpthread -lm

LIB_SRCS := $(filter-out userspace/daemon/main.c, \
	$(wildcard userspace/lib/*.c userspace/ike/*.c userspace/kernel/*.c userspace/daemon/*.c))
CTL_SRCS := $(wildcard userspace/ctl/*.c)
TOOL_SRCS := $(wildcard userspace/tools/*.c)
TEST_SRCS := $(wildcard userspace/tests/test_*.c)
# Linked into every unit test, which it leak-checks (-Wl,--wrap=_exit)
TEST_LEAKCHECK := userspace/tests/leakcheck.c
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
	$$(CC) $(2) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)
$(1)/tcpikectl: $$(patsubst %.c,$(1)/obj/%.o,$$(CTL_SRCS)) $(1)/libtcpike.a
	$$(CC) $(2) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)
$(1)/tools/%: $(1)/obj/userspace/tools/%.o $(1)/libtcpike.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)
$(1)/selftests/%: $(1)/obj/selftests/%.o $(1)/libtcpike.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -o $$@ $$^ $$(LIBS)
$(1)/tests/%: $(1)/obj/userspace/tests/%.o $(1)/obj/userspace/tests/leakcheck.o $(1)/libtcpike.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -Wl,--wrap=_exit -o $$@ $$^ $$(LIBS)
endef

$(eval $(call flavour,$(O),$(CFLAGS)))
$(eval $(call flavour,$(O)/asan,$(SANFLAGS)))
# The daemon's code keeps multi-KB structures (a parsed SA payload is ~70 KB)
# off the stack: struct engine's scratch or the heap.  Checked on the
# optimised build (ASan's redzones change the frames).
$(patsubst %.c,$(O)/obj/%.o,$(LIB_SRCS) userspace/daemon/main.c): CFLAGS_BASE += -Wstack-usage=20480

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

$(patsubst %.c,$(O)/obj/%.o,$(TEST_SRCS) $(TEST_LEAKCHECK) $(SELFTEST_SRCS)) \
$(patsubst %.c,$(O)/asan/obj/%.o,$(TEST_SRCS) $(TEST_LEAKCHECK) $(SELFTEST_SRCS)): $(HARNESS)
$(O)/obj/userspace/tests/% $(O)/asan/obj/userspace/tests/% \
$(O)/obj/selftests/% $(O)/asan/obj/selftests/%: CFLAGS_BASE += -I$(O)/include -Wno-missing-prototypes -Wno-sign-compare

.PHONY: demo bench all userspace asan module check check-debug mutate fuzz style lint clean \
	install uninstall programs install-dkms
# make: what a user runs (the programs, the tools, the unit and the
# configuration to install) and the module when a kernel tree is there; the
# test programs (make userspace, make asan) also need the kselftest harness.
all: programs $(addprefix $(O)/,$(filter tools/%,$(PROGS))) module

userspace: $(addprefix $(O)/,$(PROGS))
# What make install needs, and no test program (those want the kselftest
# harness from linux-source): the Debian package builds this.
programs: $(O)/tcpiked $(O)/tcpikectl $(O)/tools/tcpike-nl $(O)/tcpiked.service $(O)/tcpiked.conf \
	  $(O)/man/tcpiked.conf.5
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

# --- install ---------------------------------------------------------------
# tcpiked, tcpikectl and tcpike-nl (the module's own client, for the
# administrator) go to sbin; the load generators in userspace/tools/ are
# test tools and are not installed.  The configuration is installed only
# when there is none, mode 600 (it holds secrets); it is the example with
# its connections and secrets commented out, so the service starts with no
# shared secret anyone could know.  The example itself goes to the docs.
# The module is not installed here: dkms.conf (and the tcpike-dkms package)
# build it for every installed kernel.
PREFIX      ?= /usr/local
sbindir     ?= $(PREFIX)/sbin
datadir     ?= $(PREFIX)/share
mandir      ?= $(datadir)/man
docdir      ?= $(datadir)/doc/tcpike
sysconfdir  ?= /etc
bashcompdir ?= $(datadir)/bash-completion/completions
# systemd's own directory when installing to /usr, else under PREFIX
# (/usr/local/lib/systemd/system is on systemd's unit path too).
systemdunitdir ?= $(if $(filter /usr,$(PREFIX)),$(or $(shell pkg-config \
	--variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system),$(PREFIX)/lib/systemd/system)
INSTALL     ?= install

SBIN_PROGS := tcpiked tcpikectl tcpike-nl
MAN8       := tcpiked tcpikectl tcpike-nl
MAN5       := tcpiked.conf

# Rewritten only when the directories it names change (FORCE: they are
# make variables, not files).
$(O)/tcpiked.service: systemd/tcpiked.service.in FORCE
	@mkdir -p $(O)
	@sed -e 's|@sbindir@|$(sbindir)|g' -e 's|@sysconfdir@|$(sysconfdir)|g' $< >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
FORCE:

# tcpiked.conf(5): the hand-written page around the key reference that
# config.c's table generates, so the page cannot drift from the parser.
$(O)/man/tcpiked.conf.5: man/tcpiked.conf.5.in $(O)/tcpiked
	@mkdir -p $(@D)
	$(O)/tcpiked --config-reference=mdoc >$@.ref
	sed -e '/^\.\\" @CONFIG_REFERENCE@$$/{r $@.ref' -e 'd;}' $< >$@.tmp
	@grep -q '^\.Ss The daemon section' $@.tmp || { echo "$@: no generated reference" >&2; exit 1; }
	mv $@.tmp $@; rm -f $@.ref

$(O)/tcpiked.conf: userspace/daemon/tcpiked.conf.example Makefile
	@mkdir -p $(O)
	awk '/^connections[ \t]*\{/ && !off { off = 1; \
		print "# Connections and secrets: uncomment, set your own secret, see tcpiked.conf(5)."; \
		print "" } \
	     off && NF { print "#" $$0; next } { print }' $< >$@

install: programs
	$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(mandir)/man5 $(DESTDIR)$(mandir)/man8 \
		$(DESTDIR)$(systemdunitdir) $(DESTDIR)$(bashcompdir) $(DESTDIR)$(docdir)/examples \
		$(DESTDIR)$(sysconfdir)
	$(INSTALL) -m 755 $(O)/tcpiked $(O)/tcpikectl $(O)/tools/tcpike-nl $(DESTDIR)$(sbindir)/
	$(INSTALL) -m 644 $(O)/tcpiked.service $(DESTDIR)$(systemdunitdir)/tcpiked.service
	$(INSTALL) -m 644 $(patsubst %,man/%.8,$(MAN8)) $(DESTDIR)$(mandir)/man8/
	$(INSTALL) -m 644 $(patsubst %,$(O)/man/%.5,$(MAN5)) $(DESTDIR)$(mandir)/man5/
	$(INSTALL) -m 644 $(patsubst %,scripts/completion/%,$(SBIN_PROGS)) $(DESTDIR)$(bashcompdir)/
	$(INSTALL) -m 644 userspace/daemon/tcpiked.conf.example \
		$(DESTDIR)$(docdir)/examples/tcpiked.conf
	@if [ -e $(DESTDIR)$(sysconfdir)/tcpiked.conf ]; then \
		echo "install: keeping the existing $(DESTDIR)$(sysconfdir)/tcpiked.conf"; \
	else \
		echo "$(INSTALL) -m 600 $(O)/tcpiked.conf $(DESTDIR)$(sysconfdir)/tcpiked.conf"; \
		$(INSTALL) -m 600 $(O)/tcpiked.conf $(DESTDIR)$(sysconfdir)/tcpiked.conf; \
	fi

# The module's source where DKMS looks for it, then: dkms install tcpike/$(PKG_VERSION)
install-dkms:
	$(INSTALL) -d $(DESTDIR)/usr/src/tcpike-$(PKG_VERSION)/kernel $(DESTDIR)/usr/src/tcpike-$(PKG_VERSION)/uapi/linux
	$(INSTALL) -m 644 Kbuild $(DESTDIR)/usr/src/tcpike-$(PKG_VERSION)/
	$(INSTALL) -m 644 kernel/*.c kernel/*.h $(DESTDIR)/usr/src/tcpike-$(PKG_VERSION)/kernel/
	$(INSTALL) -m 644 uapi/linux/*.h $(DESTDIR)/usr/src/tcpike-$(PKG_VERSION)/uapi/linux/
	sed 's/#MODULE_VERSION#/$(PKG_VERSION)/' dkms.conf >$(DESTDIR)/usr/src/tcpike-$(PKG_VERSION)/dkms.conf

uninstall:
	rm -f $(addprefix $(DESTDIR)$(sbindir)/,$(SBIN_PROGS)) \
		$(DESTDIR)$(systemdunitdir)/tcpiked.service \
		$(patsubst %,$(DESTDIR)$(mandir)/man8/%.8,$(MAN8)) \
		$(patsubst %,$(DESTDIR)$(mandir)/man5/%.5,$(MAN5)) \
		$(addprefix $(DESTDIR)$(bashcompdir)/,$(SBIN_PROGS)) \
		$(DESTDIR)$(docdir)/examples/tcpiked.conf
	-rmdir $(DESTDIR)$(docdir)/examples $(DESTDIR)$(docdir) 2>/dev/null
	@echo "uninstall: $(DESTDIR)$(sysconfdir)/tcpiked.conf is yours and stays"

# --- tests -----------------------------------------------------------------
check:
	scripts/check

check-debug:
	scripts/check --layer vm-debug

# Mutation testing, long, not in make check: selftests/MUTATIONS, each one
# built and run against the tests CONFORMANCE.md cites for its rows.
mutate:
	scripts/mutate

demo:
	scripts/demo.sh

# make bench [B=4] [QUICK=1]
bench:
	bench/run.sh $(if $(QUICK),--quick) $(B)


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
