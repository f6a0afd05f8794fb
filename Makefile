# racetrace build.  `make` builds ./racetrace from objects under build/<variant>/.
# Variants: release (default), asan-ubsan (SANITIZE=address,undefined),
# tsan (SANITIZE=thread).  Dependencies come from Debian through pkg-config;
# `make deps` installs what is missing (apt-get as root, sudo otherwise).

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
SANITIZE ?=
FUZZ_SECONDS ?= 20

PKGS    := libcurl libcjson libmicrohttpd libwebsockets libcrypto zlib
TESTPKG := cmocka libpng
DEBS    := build-essential pkg-config libcurl4-openssl-dev libcjson-dev \
           libmicrohttpd-dev libwebsockets-dev libcmocka-dev libpng-dev libssl-dev zlib1g-dev gnuplot-nox \
           chromium

comma := ,
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

ifeq ($(SANITIZE),)
  VARIANT := release
  SANFLAGS :=
  OPT := -O2
else ifeq ($(SANITIZE),address$(comma)undefined)
  VARIANT := asan-ubsan
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
  OPT := -O1
else ifeq ($(SANITIZE),thread)
  VARIANT := tsan
  SANFLAGS := -fsanitize=thread
  OPT := -O1
else
  $(error SANITIZE must be empty, 'address,undefined' or 'thread')
endif

BUILD := build/$(VARIANT)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wvla -Wpointer-arith -Wcast-qual -Wundef \
        -Wno-unused-parameter -Wimplicit-fallthrough
ifneq ($(CI),)
  WARN += -Werror
endif
ifneq ($(WERROR),)
  WARN += -Werror
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_CFLAGS = $(shell pkg-config --cflags $(TESTPKG) 2>/dev/null)
TEST_LIBS   = $(shell pkg-config --libs $(TESTPKG) 2>/dev/null)

CPPFLAGS += -Iinclude -D_GNU_SOURCE -DRT_VERSION=\"$(VERSION)\"
CFLAGS   += -std=c11 $(OPT) -g $(WARN) $(SANFLAGS) -pthread -MMD -MP
LDFLAGS  += $(SANFLAGS) -pthread
LDLIBS   += $(PKG_LIBS) -lm

LIB_SRC  := $(wildcard src/base/*.c src/api/*.c src/sim/*.c src/harness/*.c \
              src/analysis/*.c src/report/*.c src/cli/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/src/main.o
LIBA     := $(BUILD)/libracetrace.a
BIN      := $(BUILD)/racetrace

UNIT_SRC := $(wildcard tests/unit/test_*.c tests/integration/test_*.c)
TEST_BIN := $(UNIT_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_SUPPORT_SRC := $(wildcard tests/support/*.c)
TEST_SUPPORT_OBJ := $(TEST_SUPPORT_SRC:%.c=$(BUILD)/%.o)

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz-replay/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

.PHONY: all deps run test check-deps fuzz fuzz-replay format format-check \
        install uninstall bench clean tests
.DEFAULT_GOAL := all

all: racetrace

racetrace: $(BIN)
ifeq ($(VARIANT),release)
	@ln -sf $(BIN) racetrace
endif

$(BIN): $(MAIN_OBJ) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(TEST_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(LIBA) $(TEST_SUPPORT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(PKG_CFLAGS) $(TEST_CFLAGS) $(CFLAGS) \
	  -o $@ $< $(TEST_SUPPORT_OBJ) $(LIBA) $(LDFLAGS) $(LDLIBS) $(TEST_LIBS)

# Fuzz targets double as corpus replayers: linked with tests/fuzz/replay.c
# they read every file under tests/fuzz/corpus/<target>/ and run it.
$(BUILD)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -o $@ $< tests/fuzz/replay.c \
	  $(LIBA) $(LDFLAGS) $(LDLIBS)

tests: $(BIN) $(TEST_BIN) $(FUZZ_REPLAY)

test: deps
	@$(MAKE) --no-print-directory -s tests
	@BUILD=$(BUILD) sh tests/run.sh

fuzz-replay: $(FUZZ_REPLAY)

# libFuzzer builds with clang, each target time-boxed to FUZZ_SECONDS.
build/fuzz/%: tests/fuzz/%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) $(PKG_CFLAGS) -std=c11 -O1 -g -pthread \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -o $@ $< $(LIB_SRC) $(PKG_LIBS) -lm

fuzz: deps $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do \
	  t=$$(basename $$f); mkdir -p build/fuzz/corpus-$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
	    build/fuzz/corpus-$$t tests/fuzz/corpus/$$t >build/fuzz/$$t.log 2>&1 \
	    || { tail -40 build/fuzz/$$t.log; exit 1; }; \
	done; echo "fuzz: no crash"

# node/npm for tests/sdk (the official JavaScript SDK), only when missing:
# NodeSource's nodejs ships npm and conflicts with Debian's npm package.
SDK_DEBS = $(if $(shell command -v node),,nodejs) $(if $(shell command -v npm),,npm)

deps:
	@sh tools/deps.sh $(DEBS) $(SDK_DEBS)

run: deps
	@$(MAKE) --no-print-directory -s all
	@echo "racetrace: recording scenarios/predictive-bump.json (about 90 s)..."
	@./racetrace run scenarios/predictive-bump.json

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format: ok"

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/racetrace/scenarios
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/racetrace
	install -m 0644 scenarios/*.json $(DESTDIR)$(PREFIX)/share/racetrace/scenarios/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/racetrace
	rm -rf $(DESTDIR)$(PREFIX)/share/racetrace

# The observer benchmark program: the harness against the embedded
# simulator, linked like a test program but without cmocka.
BENCH_OBSERVER := $(BUILD)/bench/bench_observer

$(BENCH_OBSERVER): bench/bench_observer.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -o $@ $< $(LIBA) \
	  $(LDFLAGS) $(LDLIBS)

# The synthetic run directory generator for the analysis benchmark.
GEN_HISTORY := $(BUILD)/bench/gen_history

$(GEN_HISTORY): bench/gen_history.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -o $@ $< $(LIBA) \
	  $(LDFLAGS) $(LDLIBS)

-include $(GEN_HISTORY).d

bench: deps
	@sh tools/deps.sh wrk nginx-light
	@$(MAKE) --no-print-directory all $(BENCH_OBSERVER) $(GEN_HISTORY)
	@BENCH_OBSERVER=$(BENCH_OBSERVER) sh bench/run.sh
	@GEN_HISTORY=$(GEN_HISTORY) sh bench/analyze.sh

clean:
	rm -rf build racetrace

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(BENCH_OBSERVER).d
