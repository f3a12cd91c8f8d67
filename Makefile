# Front end over CMake (the one build system). `make run` runs the tour,
# `make test` builds and runs the whole test suite.
BUILD ?= build
CMAKE ?= cmake
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: install-check all build run test test-poll bench bench-instr bench-net install clean asan tsan valgrind aarch64 ucontext examples

all: build

$(BUILD)/CMakeCache.txt:
	$(CMAKE) -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	$(CMAKE) --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/coop-tour $(ARGS)

test: build
	.ci/deps.sh test
	tests/run.sh $(BUILD)

# The same suite on the portable poll() backend.
test-poll: build
	COOP_BACKEND=poll tests/run.sh $(BUILD)

# Sanitizer and alternative-switch builds, each in its own build directory.
asan:
	COOP_TEST_TIMEOUT_SCALE=4 $(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DCOOP_ASAN=ON -DCOOP_BUILD_BENCH=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug"
tsan:
	COOP_TEST_TIMEOUT_SCALE=6 $(MAKE) test BUILD=build-tsan CMAKE_FLAGS="-DCOOP_TSAN=ON -DCOOP_BUILD_BENCH=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug"
ucontext:
	$(MAKE) test BUILD=build-ucontext CMAKE_FLAGS="-DCOOP_UCONTEXT=ON -DCOOP_BUILD_BENCH=OFF"
valgrind: build
	COOP_TEST_WRAP="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --track-fds=no" \
	  COOP_TEST_TIMEOUT_SCALE=20 tests/run.sh $(BUILD)
aarch64:
	tests/aarch64.sh

bench: build
	bench/run.sh $(BUILD)
bench-instr: build
	bench/run.sh --instr $(BUILD)
bench-net: build
	bench/net.sh $(BUILD)

install-check: build
	tests/install.sh $(BUILD)

install: build
	$(CMAKE) --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX),)

clean:
	rm -rf build build-asan build-tsan build-ucontext build-aarch64
