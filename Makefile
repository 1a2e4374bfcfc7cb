# tidemark: `make run` to start the whole pipeline, `make test` to build and run every test.
BUILD ?= build
SANITIZE ?= 0
DATA ?= ./data
LISTEN ?= 127.0.0.1:8080
JOBS ?= $(shell nproc)

ifeq ($(SANITIZE),1)
BUILD := build-asan
CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIDEMARK_SANITIZE=ON
else
CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=Release
endif

.PHONY: deps test-deps configure build run test bench clean

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test
	@scripts/install-test-tools.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

configure: $(BUILD)/build.ninja

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@scripts/run.sh $(BUILD)/src/cli/tidemark $(DATA) $(LISTEN)

test: test-deps configure
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && TIDEMARK_BIN=$(CURDIR)/$(BUILD)/src/cli/tidemark ctest --output-on-failure -j $(JOBS) --timeout 900

bench:
	@scripts/install-deps.sh --bench
	@scripts/install-test-tools.sh
	cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DTIDEMARK_BUILD_TESTS=OFF
	cmake --build build-bench -j $(JOBS)
	bench/run.sh build-bench

clean:
	rm -rf build build-asan build-bench
