# wafer: `make run` to build and start, `make test` to run the tests. Idempotent; no network when
# everything is already present.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= release
BIN := .build/$(CONFIG)/wafer
DEBIAN_PACKAGES := libncurses-dev pkg-config tmux

.PHONY: run build test deps model model-gemma models eval-edits bench-compare clean

# Starts the chat with the default model, qwen-coder (ARGS="--model smollm2" for the fast one).
run: deps build model
	@$(BIN) $(ARGS)

build:
	$(SWIFT) build -c $(CONFIG) --product wafer

# The tmux end-to-end tests drive the real binary with the real model (WAFER_E2E_BINARY).
test: deps models
	@mkdir -p .build
	WAFER_E2E_BINARY=$(CURDIR)/$(BIN) $(SWIFT) test -c $(CONFIG) 2>&1 | tee .build/test.log | grep -E --line-buffered "error:|failed|Executed|passed after|Test Suite 'All tests'|✘|Test run with" ; \
	  status=$${PIPESTATUS[0]}; tail -n 3 .build/test.log; exit $$status

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "missing Debian packages:$$missing; run: sudo apt-get install -y$$missing" >&2; exit 1; fi

# The default model (qwen-coder); `make models` fetches every model `wafer models` lists.
model:
	@scripts/fetch-model.sh qwen-coder

model-gemma:
	@scripts/fetch-model.sh gemma3

models: model
	@scripts/fetch-model.sh smollm2
	@scripts/fetch-model.sh gemma3

# Ten edit scenarios (Python and Swift) driven through the real binary at temperature 0; a benchmark,
# not part of `make test`. EVAL_ARGS="--model smollm2" or "--only NAME" to narrow it.
eval-edits: deps build model
	@python3 scripts/eval-edits/run.py --wafer $(CURDIR)/$(BIN) $(EVAL_ARGS)

# wafer against llama.cpp (llama-cpp-python in a venv outside git, created on first use) on every model
# present; ARGS passes options, e.g. make bench-compare ARGS="--rounds 9 --threads 2".
bench-compare: model model-gemma
	$(SWIFT) build -c release --product wafer
	python3 scripts/bench-compare.py $(ARGS)

clean:
	rm -rf .build
