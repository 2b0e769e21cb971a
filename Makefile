# The two commands a new user needs: `make demo` and `make test`. Both install missing Debian packages first.
PRESET ?= release
JOBS ?= $(shell nproc)

.PHONY: deps build demo test bench format clean

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS)

demo: build
	./build/$(PRESET)/seek demo

test: build
	ctest --preset $(PRESET) -j $(JOBS)

bench: build
	@bash bench/run-all.sh

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build
