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

# Pinned Solidity toolchain (npm): solc-js behind tools/solc, forge, anvil, cast.
FOUNDRY_BIN := $(CURDIR)/tools/node_modules/@foundry-rs
FORGE := $(FOUNDRY_BIN)/forge-linux-amd64/bin/forge
export CHUNKPROOF_SOLC ?= $(CURDIR)/tools/solc
export CHUNKPROOF_FORGE ?= $(FORGE)
export CHUNKPROOF_ANVIL ?= $(FOUNDRY_BIN)/anvil-linux-amd64/bin/anvil
export CHUNKPROOF_CAST ?= $(FOUNDRY_BIN)/cast-linux-amd64/bin/cast
export FOUNDRY_PROFILE ?= offline

.PHONY: demo build test test-slow lint fmt golden contracts forge-test tools fixtures mutation clean help

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
test: tools lint forge-test
	$(CARGO) test --release --locked --workspace --all-targets
	$(CARGO) test --release --locked --workspace --doc

## The pinned npm tools (tools/package-lock.json): solc-js, forge, anvil, cast.
tools: tools/node_modules/.installed
tools/node_modules/.installed: tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund
	touch $@

## Foundry: build the contracts and run the forge tests against the golden bundle.
forge-test: tools
	$(FORGE) test

## Regenerate the Solidity verifiers and the bundle fixture from the golden keys and bundle.
contracts: build
	$(BIN) export-verifier --keys $(FIXTURE)/keys_v1 --out contracts/src/generated --dev-setup \
		--bundle $(FIXTURE)/bundle_v1.bundle --fixture contracts/test/fixtures/BundleFixture.sol

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
	$(MAKE) contracts

## Retrain the fixture model (needs numpy, scikit-learn, msgpack: installed into .venv-fixtures).
fixtures:
	$(PYTHON) -m venv .venv-fixtures
	.venv-fixtures/bin/pip install -q numpy==2.2.6 scikit-learn==1.7.2 msgpack==1.1.1
	.venv-fixtures/bin/python fixtures/train_digits.py --out $(FIXTURE)

clean:
	rm -rf $(OUT)
