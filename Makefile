# popbridge: one non-recursive Makefile.
#   make            build build/popbridge (installs missing build packages)
#   make run        build, init a data directory (./popbridge-data) and serve
#   make test       unit + integration tests (installs test peers), then the
#                   same under ASan+UBSan, then each fuzz target briefly
#   make bench      benchmarks against Dovecot (see tests/bench/README)
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (default 60)
#   SANITIZE=address,undefined  builds into build-san/ with sanitizers

CC ?= cc
BUILD ?= build
SANITIZE ?=
FUZZ_SECONDS ?= 60
PYTHON ?= /usr/bin/python3

BUILD_PKGS = gcc make pkg-config libssl-dev libsqlite3-dev libmicrohttpd-dev
TEST_PKGS = clang libclang-rt-14-dev python3 python3-pytest curl isync \
	neomutt dovecot-imapd dovecot-pop3d openssl sqlite3 procps
# The poller bench's reference client (make bench).
BENCH_PKGS = fetchmail

PKG_CFLAGS = $(shell pkg-config --cflags openssl sqlite3 libmicrohttpd 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs openssl sqlite3 libmicrohttpd 2>/dev/null)

WARN = -Wall -Wextra -Werror -Wshadow -Wcast-qual -Wmissing-prototypes \
	-Wformat=2 -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS)
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif

COMMON_SRCS := $(sort $(wildcard common/*.c))
DB_SRCS := $(sort $(wildcard db/*.c))
BRIDGE_SRCS := $(sort $(filter-out bridge/main.c,$(wildcard bridge/*.c)))
WEB_SRCS := $(sort $(wildcard web/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
COMMON_OBJS := $(call obj,$(COMMON_SRCS))
DB_OBJS := $(call obj,$(DB_SRCS))
BRIDGE_OBJS := $(call obj,$(BRIDGE_SRCS))
WEB_OBJS := $(call obj,$(WEB_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

LIBS_A = $(BUILD)/libpbbridge.a $(BUILD)/libpbweb.a $(BUILD)/libpbdb.a \
	$(BUILD)/libpbcommon.a

.SECONDARY:

.PHONY: all deps test-deps run test unit integ binaries fuzz fuzz-build \
	bench clean format

all: deps $(BUILD)/popbridge

deps:
	@sh tests/tools/ensure-pkgs.sh $(BUILD_PKGS)

test-deps: deps
	@sh tests/tools/ensure-pkgs.sh $(TEST_PKGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libpbcommon.a: $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rc $@ $^ && ranlib $@
$(BUILD)/libpbdb.a: $(DB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rc $@ $^ && ranlib $@
$(BUILD)/libpbbridge.a: $(BRIDGE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rc $@ $^ && ranlib $@
$(BUILD)/libpbweb.a: $(WEB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rc $@ $^ && ranlib $@

$(BUILD)/popbridge: $(BUILD)/bridge/main.o $(LIBS_A)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS_A) $(PKG_LIBS) -lm

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBS_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS_A) $(PKG_LIBS) -lm

run: all
	@sh tests/tools/run.sh $(BUILD)/popbridge

unit: deps $(UNIT_BINS) $(BUILD)/popbridge
	@sh tests/tools/run-unit.sh $(UNIT_BINS)

integ: test-deps $(BUILD)/popbridge
	cd tests/integ && POPBRIDGE=$(CURDIR)/$(BUILD)/popbridge \
		$(PYTHON) -m pytest -q -p no:cacheprovider .

SAN = SANITIZE=address,undefined BUILD=build-san CC=gcc

# Builds run two jobs at a time; the suites run one after the other (the
# integration tests time IDLE pushes and must not compete for the CPU).
# Every runner adds "suite passed failed" to PB_SUMMARY; the last line of
# make test is the total, "N passed, N failed".
export PB_SUMMARY = $(CURDIR)/build/test-summary.txt

test: test-deps
	@mkdir -p build && rm -f $(PB_SUMMARY)
	$(MAKE) -j2 binaries
	-$(MAKE) -k unit integ
	$(MAKE) -j2 binaries $(SAN)
	-$(MAKE) -k unit integ $(SAN)
	$(MAKE) -j2 fuzz-build
	-$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)
	@sh tests/tools/summary.sh $(PB_SUMMARY)

binaries: $(BUILD)/popbridge $(UNIT_BINS)

FUZZ_BUILD = build-fuzz
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 $(PKG_CFLAGS) $(FUZZ_SAN) -MMD -MP
FUZZ_LIB_SRCS = $(COMMON_SRCS) $(DB_SRCS) $(BRIDGE_SRCS) $(WEB_SRCS)
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(FUZZ_LIB_SRCS))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRCS))

# The library objects are built once (fuzzer-no-link instruments them) and
# archived; each target links only what it uses.
$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/libfuzz.a: $(FUZZ_LIB_OBJS)
	rm -f $@ && ar rc $@ $^ && ranlib $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libfuzz.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_BUILD)/libfuzz.a $(PKG_LIBS) -lm

fuzz-build: test-deps $(FUZZ_BINS)

fuzz: fuzz-build
	@sh tests/tools/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# BENCH_ARGS="--only pop3" reruns the poller line alone (see tests/bench/README).
bench: test-deps $(BUILD)/popbridge
	@sh tests/tools/ensure-pkgs.sh $(BENCH_PKGS)
	$(PYTHON) tests/bench/bench.py --popbridge $(abspath $(BUILD))/popbridge \
		$(BENCH_ARGS)

format:
	clang-format -i $(COMMON_SRCS) $(DB_SRCS) bridge/*.c web/*.c */*.h

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
