# Thin wrapper over CMake: the two commands README.md promises.
#   make demo   install what is missing, build, run the live 7-node demo
#   make walkthrough   the CLI alone on two data directories (USB sticks)
#   make test   install what is missing, build with ASan+UBSan, run the suite
#   make deb    the Debian package linli_VERSION_ARCH.deb, left here for
#               `apt install ./linli_*.deb`
#   make fuzz   build the libFuzzer targets with clang, run each FUZZ_SECONDS
BUILD      ?= build
BUILD_SAN  ?= build/asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
BUILD_FUZZ ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= delta bundle summary session config trust

.PHONY: all deps build build-san demo walkthrough test deb fuzz clean

all: build

deps:
	@sh deploy/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLINLI_TESTS=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-san: deps
	cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DLINLI_SANITIZE=ON >/dev/null
	cmake --build $(BUILD_SAN) -j $(JOBS)

demo: build
	@sh deploy/demo.sh $(BUILD)

walkthrough: build
	@sh deploy/walkthrough.sh $(BUILD)/linli

# The suite runs twice: once as built for use, once under ASan+UBSan.
test: build build-san
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# CPack packs the build (deploy/package.cmake); dpkg-shlibdeps, from
# dpkg-dev, computes the libraries it depends on.
deb: build
	@sh deploy/install-deps.sh deb
	rm -f $(BUILD)/deb/linli_*.deb
	cd $(BUILD) && cpack
	cp $(BUILD)/deb/linli_*.deb .
	@if command -v lintian >/dev/null; then lintian linli_*.deb; fi
	@ls linli_*.deb

# libFuzzer with ASan+UBSan (clang, its own build directory); new inputs
# go to $(BUILD_FUZZ)/corpus, crashes to $(BUILD_FUZZ)/crash-*.
fuzz:
	@sh deploy/install-deps.sh --fuzz
	cmake -S . -B $(BUILD_FUZZ) -DCMAKE_C_COMPILER=clang-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DLINLI_TESTS=OFF -DLINLI_FUZZ=ON >/dev/null
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzz_targets
	@sh tests/fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD)
