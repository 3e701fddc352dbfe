# apiserver - build, test and run.  See README.md.
#
#   make deps    install the Debian packages that build and tests need
#   make         build ./apiserver (warnings are errors, hardened)
#   make run     deps, build, start with embedded defaults (TLS, ./var)
#   make test    deps, build, unit tests, integration tests
#   make test-sanitize   the same tests, built with ASan and UBSan
#   make bench   benchmarks side by side, writes bench/RESULTS.md

CC	?= cc
PYTHON	:= /usr/bin/python3

DEPS_BUILD := gcc make pkg-config libcivetweb-dev libbearssl-dev \
	libsqlite3-dev libjansson-dev
DEPS_TEST := python3 curl openssl sqlite3 nodejs shellcheck
DEPS_BENCH := wrk nginx-light python3-flask gunicorn

WARN := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla -Wconversion -Werror
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
OPT	?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -Iframework -Idb -Iapp
CFLAGS	+= $(OPT) $(WARN) $(HARDEN) -pthread
LDFLAGS	+= -pie -Wl,-z,relro,-z,now -pthread
LDLIBS	:= -Wl,-Bstatic -lbearssl -lsqlite3 -Wl,-Bdynamic -lcivetweb \
	-ljansson -lm -ldl

BUILD	?= build
FW_SRC	:= $(sort $(wildcard framework/*.c))
DB_SRC	:= $(sort $(wildcard db/*.c))
APP_SRC	:= $(sort $(wildcard app/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
FW_OBJ	:= $(FW_SRC:%.c=$(BUILD)/%.o)
DB_OBJ	:= $(DB_SRC:%.c=$(BUILD)/%.o)
APP_OBJ	:= $(APP_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
LIB_OBJ	:= $(FW_OBJ) $(DB_OBJ) $(filter-out $(BUILD)/app/main.o,$(APP_OBJ))

BIN	?= apiserver
UNIT	:= $(BUILD)/unit-tests
# The independently computed vectors (read-only, beside the clone when
# present) and our own superset in docs/.
SHARED_VECTORS := $(wildcard ../shared/vectors/v1-signing.json)

.PHONY: all deps run test unit integration test-sanitize bench clean format

all: $(BIN)

$(BIN): $(APP_OBJ) $(FW_OBJ) $(DB_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT): $(UNIT_OBJ) $(LIB_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Install only what is missing; nothing to do when all is there.
deps:
	@missing=""; for p in $(DEPS_BUILD) $(DEPS_TEST); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
		grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null || exit 1; \
	fi

run: deps $(BIN)
	./$(BIN)

unit: $(UNIT)
	$(UNIT) docs/v1-vectors.json
	$(if $(SHARED_VECTORS),$(UNIT) $(SHARED_VECTORS) sign_vectors,\
	    @echo "unit: ../shared/vectors not found; the shared vectors are \
	    also in docs/v1-vectors.json, checked above")

integration: $(BIN)
	$(PYTHON) tests/run.py --bin ./$(BIN)

test: deps
	$(MAKE) --no-print-directory $(BIN) $(UNIT)
	$(MAKE) --no-print-directory unit integration

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
test-sanitize: deps
	$(MAKE) --no-print-directory BUILD=build-san BIN=build-san/apiserver \
		OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
		HARDEN="-fstack-protector-strong -fPIE" unit integration

bench: deps
	@missing=""; for p in $(DEPS_BENCH); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
		grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $$missing >/dev/null; fi
	$(MAKE) --no-print-directory $(BIN)
	bench/run.sh

format:
	clang-format -i framework/*.[ch] db/*.[ch] app/*.[ch] tests/unit/*.[ch]

clean:
	rm -rf build build-san $(BIN)
