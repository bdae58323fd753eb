# chunkproof — the two commands:
#   make demo   prove the shipped fixture in 4 chunks, verify it, audit it
#   make test   every test (installs what it needs from the registries)
#
# Cargo's target directory lives outside the clone by default so that CI and fresh clones can
# reuse a build; override with CARGO_TARGET_DIR.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/chunkproof/target
CARGO ?= cargo
BIN := $(CARGO_TARGET_DIR)/release/chunkproof
FIXTURE := fixtures/digits_v1
OUT ?= out
PYTHON ?= python3

.PHONY: demo build test test-slow lint fmt golden fixtures mutation clean help

help:
	@sed -n '1,4p' Makefile

build:
	$(CARGO) build --release --locked

## The main job: prove the shipped fixture (INSECURE dev setup), verify, audit.
demo: build
	mkdir -p $(OUT)
	$(BIN) prove --model $(FIXTURE)/model.msgpack --input $(FIXTURE)/input.msgpack \
		--chunks 4 --keys $(OUT)/keys --out $(OUT)/digits.bundle --dev-setup
	$(BIN) verify $(OUT)/digits.bundle --keys $(OUT)/keys --dev-setup
	$(BIN) audit $(OUT)/digits.bundle --keys $(OUT)/keys --dev-setup

## Every test that is not marked slow, plus formatting and lints.
test: lint
	$(CARGO) test --release --locked --workspace --all-targets
	$(CARGO) test --release --locked --workspace --doc

## Tests marked #[ignore = "..."] because they are slow.
test-slow:
	$(CARGO) test --release --locked --workspace -- --ignored

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Remove each custom-gate constraint in turn; the soundness tests must catch every one (~30 min).
mutation:
	$(PYTHON) scripts/mutate_gates.py

## Regenerate the golden bundle and its keys (after a circuit change).
golden: build
	rm -rf $(OUT)/golden && mkdir -p $(OUT)/golden
	$(BIN) prove --model $(FIXTURE)/model.msgpack --input $(FIXTURE)/input.msgpack \
		--chunks 4 --keys $(OUT)/golden/keys --out $(OUT)/golden/bundle_v1.bundle --dev-setup
	rm -rf $(FIXTURE)/keys_v1 && mkdir -p $(FIXTURE)/keys_v1
	cd $(OUT)/golden/keys && find models circuits -name '*.json' -o -name 'vk.bin' | \
		xargs -I{} cp --parents {} $(CURDIR)/$(FIXTURE)/keys_v1/
	cp $(OUT)/golden/bundle_v1.bundle $(FIXTURE)/bundle_v1.bundle

## Retrain the fixture model (needs numpy, scikit-learn, msgpack: installed into .venv-fixtures).
fixtures:
	$(PYTHON) -m venv .venv-fixtures
	.venv-fixtures/bin/pip install -q numpy==2.2.6 scikit-learn==1.7.2 msgpack==1.1.1
	.venv-fixtures/bin/python fixtures/train_digits.py --out $(FIXTURE)

clean:
	rm -rf $(OUT)
