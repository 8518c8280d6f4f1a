# mq - a message broker as a toolkit of small Unix tools.
#
#   make                 libmq (static, shared, libmq.pc) and every tool, into lib/ and bin/
#   make check           install missing test dependencies, then run every test
#   make install         PREFIX=/usr/local DESTDIR= (with bash and zsh completion)
#
# Every libmq/*.c is part of the library, every cmd/mq-*.c is one tool
# (linked with cmd/tool.c), every tests/unit/test_*.c one cmocka program.

VERSION	= 0.1.0
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
LIBDIR	?= $(PREFIX)/lib
INCDIR	?= $(PREFIX)/include
MANDIR	?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions

# O is where objects go and B the tree that holds bin/ and lib/; the
# sanitizer build uses its own of both.
O	?= build
B	?= .

CC	?= cc
CFLAGS	?= -O2 -g
WARN	= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	  -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE -Ilibmq $(shell pkg-config --cflags libbsd-overlay 2>/dev/null)
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(SANFLAGS)
LIBBSD	= $(shell pkg-config --libs libbsd-overlay 2>/dev/null || echo -lbsd)
LDLIBS	+= $(LIBBSD)

LIB_SRC	= $(wildcard libmq/*.c)
LIB_OBJ	= $(LIB_SRC:%.c=$(O)/%.o)
TOOL_SRC = $(wildcard cmd/mq-*.c)
TOOLS	= $(TOOL_SRC:cmd/%.c=$(B)/bin/%)
TOOL_LIB_SRC = cmd/tool.c cmd/json_id.c cmd/utf8.c cmd/opterr.c cmd/progress.c \
	  cmd/wait.c cmd/stream_cache.c
TOOL_LIB_OBJ = $(TOOL_LIB_SRC:%.c=$(O)/%.o)
SERVE_SRC = $(wildcard cmd/mq-serve/*.c cmd/mq-serve/*/*.c)
SERVE_OBJ = $(SERVE_SRC:%.c=$(O)/%.o) $(O)/cmd/opterr.o
SERVE_LIBS = -lcrypt -lsodium -pthread
TEST_SRC = $(wildcard tests/unit/test_*.c)
TESTS	= $(TEST_SRC:tests/unit/%.c=$(O)/tests/%)
MAN	= $(wildcard man/*.[1-8])

STATIC	= $(B)/lib/libmq.a
SHARED	= $(B)/lib/libmq.so.0
PC	= $(B)/lib/libmq.pc

all: $(STATIC) $(SHARED) $(PC) $(TOOLS) $(B)/bin/mq-serve

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -fPIC -MMD -MP -c -o $@ $<

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(SHARED): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,libmq.so.0 -o $@ $(LIB_OBJ) $(LDFLAGS) $(LDLIBS)
	ln -sf libmq.so.0 $(B)/lib/libmq.so

# The file names the directories of an install: `make install` writes it
# again for its own PREFIX, which may not be the build's.
PC_SED	= sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCDIR@|$(INCDIR)|' -e 's|@VERSION@|$(VERSION)|' libmq.pc.in

$(PC): libmq.pc.in Makefile
	@mkdir -p $(dir $@)
	$(PC_SED) > $@

# Tools link libmq statically: one file to copy, no LD_LIBRARY_PATH.
# Their objects come from the pattern rules alone, so make would delete
# them as intermediate files, and build every tool again the next time.
.SECONDARY: $(TOOL_SRC:%.c=$(O)/%.o) $(TOOL_LIB_OBJ)
$(B)/bin/%: $(O)/cmd/%.o $(TOOL_LIB_OBJ) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(TOOL_LIB_OBJ) $(STATIC) $(LDFLAGS) $(LDLIBS)

# mq-serve: one event loop and its core (cmd/mq-serve, cmd/mq-serve/core),
# and a folder per protocol, its door (cmd/mq-serve/resp, ...).
$(SERVE_OBJ): CPPFLAGS += -Icmd/mq-serve
$(B)/bin/mq-serve: $(SERVE_OBJ) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(SERVE_OBJ) $(STATIC) $(LDFLAGS) $(LDLIBS) $(SERVE_LIBS)

# mq-serve-test: mq-serve's core with the RESP door and the line door of
# tests/serve/, for the interop tests of the core (doors.bats); not
# installed.
SERVE_TEST = $(O)/tests/mq-serve-test
SERVE_TEST_SRC = $(wildcard tests/serve/*.c)
SERVE_TEST_OBJ = $(SERVE_TEST_SRC:%.c=$(O)/%.o) \
	$(filter-out $(O)/cmd/mq-serve/main.o,$(SERVE_OBJ))
$(SERVE_TEST_SRC:%.c=$(O)/%.o): CPPFLAGS += -Icmd/mq-serve
$(SERVE_TEST): $(SERVE_TEST_OBJ) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(SERVE_TEST_OBJ) $(STATIC) $(LDFLAGS) $(LDLIBS) $(SERVE_LIBS)

# A unit test links libmq, and the sources of mq-serve it names here
# (and the libraries those need).
TEST_EXTRA_test_resp_parse = $(O)/cmd/mq-serve/resp/parse.o
# The AMQP codec: pure, so the unit test and the fuzz target link it alone.
AMQP_CODEC = $(addprefix cmd/mq-serve/amqp/,spec.c parse.c props.c table.c \
	sasl.c buf.c encode.c)
TEST_EXTRA_test_amqp_parse = $(AMQP_CODEC:%.c=$(O)/%.o)
TEST_EXTRA_test_amqp_message = $(AMQP_CODEC:%.c=$(O)/%.o) \
	$(O)/cmd/mq-serve/amqp/message.o $(O)/cmd/mq-serve/amqp/death.o
TEST_EXTRA_test_amqp_headers = $(AMQP_CODEC:%.c=$(O)/%.o) \
	$(O)/cmd/mq-serve/amqp/headers.o
TEST_EXTRA_test_users = $(O)/cmd/mq-serve/users.o
TEST_EXTRA_test_fanout = $(O)/cmd/mq-serve/core/fanout.o \
	$(O)/cmd/mq-serve/core/grow.o
TEST_EXTRA_test_conn = $(O)/cmd/mq-serve/conn.o $(O)/cmd/mq-serve/loop.o \
	$(O)/cmd/mq-serve/core/grow.o
TEST_EXTRA_test_loop = $(O)/cmd/mq-serve/loop.o $(O)/cmd/mq-serve/core/grow.o
TEST_EXTRA_test_json_id = $(O)/cmd/json_id.o $(O)/cmd/utf8.o
TEST_LIBS_test_users = $(SERVE_LIBS)
TEST_EXTRA_test_auth = $(O)/cmd/mq-serve/auth.o $(O)/cmd/mq-serve/loop.o \
	$(O)/cmd/mq-serve/users.o $(O)/cmd/mq-serve/log.o \
	$(O)/cmd/mq-serve/core/grow.o
TEST_LIBS_test_auth = $(SERVE_LIBS)
# Writes that fail once their bytes are in place (the test's wrappers).
TEST_LIBS_test_wal = -Wl,--wrap=mq_spool_dirty_mark -Wl,--wrap=mq_spool_dirty
# Races with another process at a chosen moment (the test's wrappers).
TEST_LIBS_test_qdecl = -Wl,--wrap=mq_owner_alive -Wl,--wrap=mq_stream_lock \
	-Wl,--wrap=mq_stream_exists_enc

.SECONDEXPANSION:
$(O)/tests/%: tests/unit/%.c tests/unit/helpers.h $(STATIC) $$(TEST_EXTRA_$$*)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit -Icmd -Icmd/mq-serve $(ALL_CFLAGS) -o $@ $< \
	    $(TEST_EXTRA_$*) $(STATIC) $(LDFLAGS) -lcmocka $(TEST_LIBS_$*) $(LDLIBS)

tests: $(TESTS) $(SERVE_TEST)

# check: dependencies, the unit and CLI tests, the fuzzers for a short
# while, then the unit, CLI and client tests again under ASan+UBSan.
check:
	sh scripts/install-deps.sh --test
	$(MAKE) all tests
	$(MAKE) lint-symbols check-unit check-cli check-interop check-interop-always check-fuzz
	$(MAKE) check-asan

check-unit: $(TESTS)
	sh scripts/run-unit-tests.sh $(TESTS)

check-cli: all
	MQ_BIN=$(abspath $(B)/bin) bats --print-output-on-failure tests/cli

# Real clients (redis-cli, python3-redis, predis, Symfony) against
# mq-serve, and the same command scripts against Debian's redis-server.
check-interop: all $(SERVE_TEST)
	MQ_BIN=$(abspath $(B)/bin) MQ_SERVE_TEST=$(abspath $(SERVE_TEST)) \
	    MQ_REQUIRE_SERVE=1 bats --print-output-on-failure -r tests/interop

# The clients again, with --fsync always: replies wait for their sync.
ALWAYS_TESTS = python-redis redis-cli predis symfony-messenger deadletter
check-interop-always: all
	MQ_BIN=$(abspath $(B)/bin) MQ_REQUIRE_SERVE=1 \
	    MQ_SERVE_CMD=$(abspath tests/interop/serve-fsync-always) \
	    bats --print-output-on-failure $(ALWAYS_TESTS:%=tests/interop/%.bats)

check-asan:
	$(MAKE) O=build-asan B=build-asan CC=clang CFLAGS="-O1 -g" \
	    SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    all tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(MAKE) O=build-asan B=build-asan SANFLAGS="-fsanitize=address,undefined" \
	    MQ_CLI_QUICK=1 check-unit check-cli check-interop

# Each fuzz target runs FUZZ_SECONDS under libFuzzer with ASan+UBSan.
FUZZ_SECONDS ?= 20
FUZZ_LIB = libmq/batch.c libmq/crc32c.c libmq/err.c libmq/id.c libmq/walrec.c
FUZZ_EXTRA_fuzz_resp_parse = cmd/mq-serve/resp/parse.c
FUZZ_EXTRA_fuzz_amqp_parse = $(AMQP_CODEC) cmd/mq-serve/amqp/headers.c
FUZZ_EXTRA_fuzz_json_id = cmd/json_id.c cmd/utf8.c
FUZZERS	= $(wildcard tests/fuzz/fuzz_*.c)

$(O)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB) $$(FUZZ_EXTRA_$$*)
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) -Icmd -Icmd/mq-serve -g -O1 -fsanitize=fuzzer,address,undefined \
	    -o $@ $< $(FUZZ_EXTRA_$*) $(FUZZ_LIB) $(LDLIBS) -lpthread

check-fuzz: $(FUZZERS:tests/fuzz/%.c=$(O)/fuzz/%)
	@for f in $^; do \
	    echo "fuzz: $$f for $(FUZZ_SECONDS)s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 >$$f.log 2>&1 || \
	        { tail -40 $$f.log; exit 1; }; tail -1 $$f.log; \
	done

lint-man:
	mandoc -Tlint -Wwarning $(MAN)

# Each door's global symbols carry its prefix (resp_, amqp_, ...).
lint-symbols: $(B)/bin/mq-serve
	sh scripts/check-prefix.sh $(O)/cmd/mq-serve

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)
	install -m 755 $(TOOLS) $(B)/bin/mq-serve $(DESTDIR)$(BINDIR)
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)
	ln -sf libmq.so.0 $(DESTDIR)$(LIBDIR)/libmq.so
	$(PC_SED) > $(DESTDIR)$(LIBDIR)/pkgconfig/libmq.pc
	install -m 644 libmq/mq.h $(DESTDIR)$(INCDIR)
	for m in $(MAN); do \
	    s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
	    install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s; done
	# Completion: bash-completion loads the file named for the command.
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 644 scripts/completion/mq.bash $(DESTDIR)$(BASHCOMPDIR)/mq
	for t in $(TOOLS:$(B)/bin/%=%) mq-serve; do \
	    ln -sf mq $(DESTDIR)$(BASHCOMPDIR)/$$t; done
	install -m 644 scripts/completion/_mq $(DESTDIR)$(ZSHCOMPDIR)

clean:
	rm -rf build build-asan bin lib

.PHONY: all tests check check-unit check-cli check-interop check-interop-always check-fuzz check-asan lint-man lint-symbols install clean

-include $(wildcard $(O)/libmq/*.d $(O)/cmd/*.d $(O)/cmd/mq-serve/*.d \
    $(O)/cmd/mq-serve/*/*.d $(O)/tests/serve/*.d)
