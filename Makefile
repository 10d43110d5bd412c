# bicot: build, test, bench, install.
#
#   make deps        install the Debian packages the project uses (as root)
#   make             libbicot (lib/libbicot.a) and every program (bin/)
#   make demo        the main job on what exists today (pipelines/demo.sh)
#   make test        everything above, then the whole test suite
#   make SAN=1 ...   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench       benchmarks beside the PyTorch reference (needs python3 + torch)
#   make install PREFIX=/usr/local
#   make clean
#
# Sources are found by wildcard: a new lib/**/*.c joins libbicot, a new
# bin/NAME.c becomes the program bin/NAME, a new tests/unit/test_*.c or
# tests/golden/test_*.c becomes a test, a new tests/fuzz/fuzz_*.c a fuzz target.

PREFIX ?= /usr/local
CC ?= cc
FUZZ_CC ?= clang
NVCC ?= $(shell command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)

MODE := $(if $(SAN),san,rel)
BUILD := build/$(MODE)

# Debian packages (make deps). msgpack-c, zstd, libpng, libjpeg-turbo,
# OpenBLAS, jansson (JSON), GNU parallel; clang (+ its OpenMP runtime) for the fuzz targets.
DEB_PACKAGES := build-essential pkg-config libmsgpack-dev libzstd-dev zstd libpng-dev libjpeg62-turbo-dev \
                libopenblas-dev libjansson-dev parallel clang libclang-rt-dev libomp-dev

WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g -fopenmp $(WARN) -Ilib -I/usr/include/x86_64-linux-gnu/openblas-pthread
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ifeq ($(SAN),)
  OPT ?= -O2
else
  OPT ?= -O1
  BASE_CFLAGS += $(SAN_FLAGS)
  LDFLAGS += $(SAN_FLAGS)
endif
CFLAGS ?=
ALL_CFLAGS := $(BASE_CFLAGS) $(OPT) $(CFLAGS)
LDLIBS := -fopenmp -lmsgpackc -lzstd -lpng -ljpeg -ljansson -lopenblas -lpthread -lm

LIB_SRC := $(shell find lib kernels/cpu -name '*.c' 2>/dev/null | sort)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
PROG_SRC := $(sort $(wildcard bin/*.c))
PROGS := $(PROG_SRC:%.c=%)
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c tests/golden/test_*.c))
TESTS := $(TEST_SRC:%.c=$(BUILD)/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
CUDA_SRC := $(sort $(wildcard kernels/cuda/*.cu))

# The programs in bin/ come from whichever mode was built last: a stamp
# that changes with the mode makes them relink when it does.
MODE_STAMP := build/mode-$(MODE)
$(shell mkdir -p build; [ -f $(MODE_STAMP) ] || { rm -f build/mode-*; touch $(MODE_STAMP); })

.PHONY: all deps demo test tests fuzz bench install clean cuda
.DEFAULT_GOAL := all
# Keep objects of chained rules (make would delete them as intermediates).
.SECONDARY:

all: lib/libbicot.a $(PROGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The SIMD kernels: -O3 so their lane loops vectorise (sanitizer builds keep -O1).
$(BUILD)/kernels/%.o: kernels/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(if $(SAN),,-O3) -MMD -MP -c $< -o $@

lib/libbicot.a: $(LIB_OBJ) $(MODE_STAMP)
	@rm -f $@
	ar rcs $@ $(LIB_OBJ)

bin/%: $(BUILD)/bin/%.o lib/libbicot.a $(MODE_STAMP)
	$(CC) $(LDFLAGS) $< lib/libbicot.a $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o lib/libbicot.a
	$(CC) $(LDFLAGS) $< lib/libbicot.a $(LDLIBS) -o $@

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests -MMD -MP -c $< -o $@

tests: all $(TESTS)

# Fuzz targets: libFuzzer, built with clang against the library sources
# (ASan + UBSan always on). Skipped with a note when clang is missing.
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Ilib -I/usr/include/x86_64-linux-gnu/openblas-pthread \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
build/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(wildcard lib/*.h lib/*/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $< $(LIB_SRC) $(LDLIBS) -o $@

fuzz:
	@if command -v $(FUZZ_CC) >/dev/null 2>&1; then $(MAKE) --no-print-directory $(FUZZ); \
	 else echo "fuzz: $(FUZZ_CC) not found, fuzz targets not built"; fi

# The test suite: unit + golden test programs, pipeline scripts, a bounded
# fuzz run of every parser. Closing line: "N passed, N failed".
test: tests fuzz
	@BUILD=$(BUILD) sh tests/run.sh

# The main job on what exists today (see pipelines/demo.sh).
demo: all
	@sh pipelines/demo.sh

# Benchmarks time the optimised build: run them without SAN.
bench: all
	@if [ -n "$(SAN)" ]; then echo "bench: run without SAN=1 (sanitizers distort timings)"; exit 1; fi
	@sh tests/bench/run.sh

# CUDA kernels must compile with nvcc; they run only where a device exists.
cuda:
	@if [ -n "$(CUDA_SRC)" ]; then for f in $(CUDA_SRC); do $(NVCC) -c $$f -o build/$$(basename $$f .cu).o || exit 1; done; \
	 else echo "cuda: no kernels yet"; fi

deps:
	@if [ "$$(id -u)" = 0 ]; then \
	   missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	   if [ -n "$$missing" ]; then \
	     echo "installing:$$missing"; \
	     apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	   else echo "deps: all installed"; fi; \
	 else echo "deps: not root; run as root:"; echo "  apt-get install -y $(DEB_PACKAGES)"; fi

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/bicot/io
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 755 pipelines/score-folder.sh $(DESTDIR)$(PREFIX)/bin/bicot-score-folder
	install -m 644 lib/libbicot.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 lib/*.h $(DESTDIR)$(PREFIX)/include/bicot/
	install -m 644 lib/io/*.h $(DESTDIR)$(PREFIX)/include/bicot/io/

clean:
	rm -rf build lib/libbicot.a $(PROGS)

-include $(shell find build -name '*.d' 2>/dev/null)
