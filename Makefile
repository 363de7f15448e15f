# spamtrap - LMTP delivery agent with IMAP-visible quarantine folders.
#
#   make            build bin/spamtrap-lmtpd, bin/spamtrap-folderd, bin/spamtrap
#   make run        build and run the LMTP server on the embedded default
#   make check      build and run the test suite with prove
#   make asan       the test suite under AddressSanitizer + UBSan
#   make deps       install the Debian packages the build and tests need
#   make install    install under $(DESTDIR)$(PREFIX)
#   make bench      benchmark against Dovecot LMTP, spamd and rspamd
#                   (bench/run; results in bench/results/latest.md)
#   make fuzz       run every libFuzzer target for FUZZTIME seconds
#   make valgrind   the unit tests under valgrind, failing on leaks
#
# Every module directory holds its sources; main.c is a program's glue,
# everything else goes into the module's library.  Unit tests are
# t/unit/NNNN-name.c, built as build/t/NNNN-name.t and run by prove
# together with the scripts t/NNNN-name.t.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
SHAREDIR   ?= $(PREFIX)/share/spamtrap
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc/spamtrap
DESTDIR    ?=

CC       ?= cc
BUILD    ?= build
BIN      ?= bin
OPTFLAGS ?= -O2 -g
SANFLAGS ?=
PKGS      = libetpan gmime-3.0 libpcre2-8 libhs

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libetpan's .pc adds Debian's no-pie link specs; keep only -l/-L/-pthread
PKG_LIBS   := $(filter -l% -L% -pthread,$(shell pkg-config --libs $(PKGS) 2>/dev/null))

CFLAGS   += -std=c11 $(OPTFLAGS) $(SANFLAGS) -Wall -Wextra -Werror \
	    -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
	    -Wno-unused-parameter -fno-strict-aliasing
CPPFLAGS += -D_GNU_SOURCE -Icore -Ilmtpd -Irules -Ifolders -Itools \
	    $(PKG_CFLAGS) -MMD -MP
# -lz: qstore keeps held-message copies zlib-compressed until they expire
LDLIBS   += $(PKG_LIBS) -ldb-5.3 -lz -lm -pthread
LDFLAGS  += $(SANFLAGS)

MODULES  = core rules lmtpd folders tools
lib_srcs = $(filter-out $(1)/main.c,$(wildcard $(1)/*.c))
lib_objs = $(patsubst %.c,$(BUILD)/%.o,$(call lib_srcs,$(1)))
LIBS     = $(foreach m,$(MODULES),$(if $(call lib_srcs,$(m)),$(BUILD)/lib$(m).a))
PROGS    = $(BIN)/spamtrap-lmtpd $(BIN)/spamtrap-folderd $(BIN)/spamtrap
UNIT_SRCS  = $(wildcard t/unit/*.c)
UNIT_TESTS = $(patsubst t/unit/%.c,$(BUILD)/t/%.t,$(UNIT_SRCS))
HELPER_SRCS = $(wildcard t/helpers/*.c)
HELPERS    = $(patsubst t/helpers/%.c,$(BUILD)/t/helpers/%,$(HELPER_SRCS))
FUZZ_SRCS  = $(wildcard t/fuzz/*.c)

all: deps-check $(PROGS) $(UNIT_TESTS) $(HELPERS)

# Install missing Debian packages when a dependency is missing.
deps-check:
	@sh mk/deps.sh check build || sh mk/deps.sh install build

deps:
	sh mk/deps.sh install build test

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

define module_lib
$(BUILD)/lib$(1).a: $(call lib_objs,$(1))
	@rm -f $$@
	$(AR) rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(if $(call lib_srcs,$(m)),$(eval $(call module_lib,$(m)))))

LINK = $(CC) $(LDFLAGS) -o $@ $^ -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS)

$(BIN)/spamtrap-lmtpd: $(BUILD)/lmtpd/main.o $(LIBS)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS)

$(BIN)/spamtrap-folderd: $(BUILD)/folders/main.o $(LIBS)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS)

$(BIN)/spamtrap: $(BUILD)/tools/main.o $(LIBS)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS)

$(BUILD)/t/%.t: $(BUILD)/t/unit/%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS)

# test helper programs: t/helpers/NAME.c -> $(BUILD)/t/helpers/NAME
$(HELPERS): $(BUILD)/t/helpers/%: $(BUILD)/t/helpers/%.o $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS)

# benchmark programs: bench/NAME.c -> $(BUILD)/bench-NAME
BENCH_SRCS = $(wildcard bench/*.c)
BENCH_PROGS = $(patsubst bench/%.c,$(BUILD)/bench-%,$(BENCH_SRCS))
$(BENCH_PROGS): $(BUILD)/bench-%: $(BUILD)/bench/%.o $(LIBS)
	$(CC) $(LDFLAGS) -pthread -o $@ $< -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS)

# ---- running

run: all
	@mkdir -p var
	@echo "spamtrap-lmtpd: LMTP on 127.0.0.1:2424, Maildir under ./var/mail/<user>/"
	@echo "Send it mail from another terminal, for example:"
	@echo "  swaks --protocol LMTP --server 127.0.0.1:2424 --from you@example.org --to alice@example.org"
	@echo "then look in ./var/mail/alice@example.org/new/.  Stop with Ctrl-C."
	exec $(BIN)/spamtrap-lmtpd $(RUNFLAGS)

# The tests find the programs through SPAMTRAP_BIN and the unit tests in $(BUILD)/t.
TEST_LIST = $(shell ls t/*.t $(UNIT_TESTS) 2>/dev/null | awk -F/ '{print $$NF" "$$0}' | sort | cut -d' ' -f2)
PROVE     ?= prove
PROVEFLAGS ?= -j2

check: test-deps all
	@SPAMTRAP_BIN=$(abspath $(BIN)) SPAMTRAP_BUILD=$(abspath $(BUILD)) SPAMTRAP_TOP=$(CURDIR) \
	  $(PROVE) $(PROVEFLAGS) $(TEST_LIST)

test-deps:
	@sh mk/deps.sh check build test || sh mk/deps.sh install build test

# bench/run installs what it needs (bench group of mk/deps.sh, the
# corpus), runs every peer on the same messages and prints the table.
bench: all $(BENCH_PROGS)
	@sh mk/deps.sh check build test bench || sh mk/deps.sh install build test bench
	SPAMTRAP_BIN=$(abspath $(BIN)) SPAMTRAP_BUILD=$(abspath $(BUILD)) SPAMTRAP_TOP=$(CURDIR) \
	  python3 bench/run $(BENCHFLAGS)

# every unit test under valgrind; a leak or an error fails the run
valgrind: all
	@command -v valgrind >/dev/null || sh mk/deps.sh install build test
	@SPAMTRAP_BIN=$(abspath $(BIN)) SPAMTRAP_BUILD=$(abspath $(BUILD)) SPAMTRAP_TOP=$(CURDIR) \
	  sh mk/valgrind.sh $(UNIT_TESTS)

asan:
	$(MAKE) BUILD=build/asan BIN=build/asan/bin OPTFLAGS="-O1 -g" \
	  SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  check

# libFuzzer targets t/fuzz/fuzz-NAME.c, each run for FUZZTIME seconds
# from t/fuzz/corpus/NAME with t/fuzz/NAME.dict; crashes land in build/fuzz.
FUZZTIME ?= 60
FUZZ_NAMES = $(patsubst t/fuzz/fuzz-%.c,%,$(FUZZ_SRCS))
fuzz:
	$(MAKE) CC=clang BUILD=build/fuzz BIN=build/fuzz/bin OPTFLAGS="-O1 -g" \
	  SANFLAGS="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined" fuzz-build
	@fail=0; for n in $(FUZZ_NAMES); do \
	  echo "fuzz: $$n for $(FUZZTIME)s"; mkdir -p build/fuzz/corpus-$$n; \
	  build/fuzz/fuzz-$$n -max_total_time=$(FUZZTIME) -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=build/fuzz/$$n- -dict=t/fuzz/$$(echo $$n | sed 's/-.*//').dict \
	    build/fuzz/corpus-$$n t/fuzz/corpus/$$n >build/fuzz/$$n.log 2>&1; rc=$$?; \
	  tail -3 build/fuzz/$$n.log; \
	  if [ $$rc != 0 ]; then fail=1; \
	    echo "fuzz: $$n FAILED (exit $$rc): build/fuzz/$$n.log, build/fuzz/$$n-*"; fi; \
	done; exit $$fail

fuzz-build: $(patsubst %,$(BUILD)/fuzz-%,$(FUZZ_NAMES))

$(BUILD)/fuzz-%: $(BUILD)/t/fuzz/fuzz-%.o $(LIBS)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS)

clean:
	rm -rf $(BUILD) $(BIN)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(SYSCONFDIR) $(DESTDIR)$(SHAREDIR)
	install -m 0755 $(BIN)/spamtrap-lmtpd $(BIN)/spamtrap-folderd $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(BIN)/spamtrap $(DESTDIR)$(BINDIR)/
	for f in man/*.[158]; do \
	  s=$${f##*.}; install -m 0644 $$f $(DESTDIR)$(MANDIR)/man$$s/; done
	install -m 0644 etc/spamtrap.conf $(DESTDIR)$(SHAREDIR)/spamtrap.conf.example
	install -m 0644 etc/spamtrap-lmtpd.service etc/spamtrap-folderd.service \
	  etc/spamtrap-daily.service etc/spamtrap-daily.timer \
	  $(DESTDIR)$(SHAREDIR)/
	if [ -d rules/shipped ]; then \
	  install -d $(DESTDIR)$(SHAREDIR)/rules; \
	  install -m 0644 rules/shipped/* $(DESTDIR)$(SHAREDIR)/rules/; fi

.PHONY: all deps deps-check test-deps run check asan bench valgrind fuzz fuzz-build clean install
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
