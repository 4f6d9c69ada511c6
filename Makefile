# moat: make demo runs the end-to-end demo, make test runs every test.
# Both install what is missing first (scripts/setup.sh) and need root.

BIN      := bin/moat
DATA_DIR ?= /var/lib/moat

.PHONY: setup build demo test bench clean

setup:
	@scripts/setup.sh

build: setup
	go build -o $(BIN) ./cmd/moat

demo: build
	$(BIN) --data-dir $(DATA_DIR) doctor
	$(BIN) --data-dir $(DATA_DIR) demo

test: setup
	scripts/test.sh

bench: build
	scripts/bench.sh

clean:
	rm -rf bin
