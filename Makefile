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

# Pinned Ray (PyPI) for the Ray backend and its tests, in a virtual environment.
RAY_VENV ?= $(HOME)/.cache/chunkproof/ray-venv
RAY_VERSION := 2.60.0
export CHUNKPROOF_PYTHON ?= $(RAY_VENV)/bin/python
export CHUNKPROOF_RAY ?= $(RAY_VENV)/bin/ray

.PHONY: toolchain ray-env bench-parallel demo build test test-slow lint fmt golden golden-aggregated golden-table-aggregated contracts forge-test tools fixtures mutation clean help \
	gpu-toolchain gpu-build gpu-check gpu-test gpu-bench artifacts

help:
	@sed -n '1,4p' Makefile

## The pinned Rust (rust-toolchain.toml), without a download where stable is that version.
toolchain:
	@tools/ensure-toolchain.sh

build: toolchain
	$(CARGO) build --release --locked

## The main job: prove the shipped fixture (INSECURE dev setup), verify, audit.
demo: build
	mkdir -p $(OUT)
	$(BIN) prove --model $(FIXTURE)/model.msgpack --input $(FIXTURE)/input.msgpack \
		--chunks 4 --keys $(OUT)/keys --out $(OUT)/digits.bundle --dev-setup
	$(BIN) verify $(OUT)/digits.bundle --keys $(OUT)/keys --dev-setup
	$(BIN) audit $(OUT)/digits.bundle --keys $(OUT)/keys --dev-setup

## Every test that is not marked slow, plus formatting and lints; also proves that the GPU
## build compiles and links here (no GPU needed).
## A test whose prerequisite is missing fails, except for those named in CHUNKPROOF_SKIP, which
## a fresh machine may lack on purpose: zkml's files in ../shared, a GPU, `unshare -n` (root).
## They then print SKIPPED and why. `make test CHUNKPROOF_SKIP=` requires them all.
export CHUNKPROOF_SKIP ?= shared,gpu,unshare
test: toolchain tools ray-env lint forge-test
	$(CARGO) test --release --locked --workspace --all-targets
	$(CARGO) test --release --locked --workspace --doc
	$(MAKE) gpu-check

## Python with the pinned ray, for `prove --ray` and tests/ray.rs, and numpy for the reference
## interpreter (scripts/zkml_reference.py) the fixture tests compare against.
NUMPY_VERSION := 2.2.6
ray-env: $(RAY_VENV)/.installed-numpy
$(RAY_VENV)/.installed:
	$(PYTHON) -m venv $(RAY_VENV)
	$(RAY_VENV)/bin/pip install -q ray==$(RAY_VERSION)
	touch $@
$(RAY_VENV)/.installed-numpy: $(RAY_VENV)/.installed
	$(RAY_VENV)/bin/pip install -q numpy==$(NUMPY_VERSION) msgpack
	touch $@

## Local workers W = 1, 2 vs the monolithic proof (zkml MNIST from ../shared when present).
bench-parallel: build
	$(PYTHON) tools/bench_parallel.py --bin $(BIN) --out docs/bench-parallel.md

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
	rm -rf contracts/src/generated
	$(BIN) export-verifier --keys $(FIXTURE)/keys_v5 --out contracts/src/generated --dev-setup \
		--bundle $(FIXTURE)/bundle_v5.bundle --fixture contracts/test/fixtures/BundleFixture.sol
	$(BIN) export-verifier --keys $(FIXTURE)/keys_agg_v1 --out contracts/src/generated/aggregated --dev-setup \
		--aggregated $(FIXTURE)/aggregated_v1.agg --aggregated-verifier-import ../../AggregatedVerifier.sol \
		--fixture contracts/test/fixtures/AggregatedFixture.sol

## --- GPU (CUDA) -------------------------------------------------------------------------
## The pinned CUDA 13.0 compiler from PyPI (no GPU or driver needed to build), a link-time
## stand-in for the driver's libcuda.so (tools/libcuda-stub.sh), and the environment the
## builds need. On a machine with a system CUDA toolkit, set CUDA_ROOT to it instead.
GPU_CACHE ?= $(HOME)/.cache/chunkproof/cuda13
CUDA_ROOT ?= $(GPU_CACHE)/site/nvidia/cu13
CUDA_WHEELS := nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 \
	nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85
# Hopper (H100/H200) machine code plus PTX; e.g. CUDA_ARCHS=80,90 adds Ampere.
CUDA_ARCHS ?= 90
GPU_ENV := PATH="$(CUDA_ROOT)/bin:$$PATH" CUDA_PATH="$(CUDA_ROOT)" LIBRARY_PATH="$(CUDA_ROOT)/lib" \
	CUDA_LIB_DIR="$(GPU_CACHE)/link" CUDA_ARCH="$(CUDA_ARCHS)" CHUNKPROOF_CUDA_ARCHS="$(CUDA_ARCHS)"

gpu-toolchain: $(GPU_CACHE)/.installed
$(GPU_CACHE)/.installed: tools/libcuda-stub.sh tools/libcuda-stub.syms
	$(PYTHON) -m pip install -q --no-deps --target $(GPU_CACHE)/site $(CUDA_WHEELS)
	tools/libcuda-stub.sh $(GPU_CACHE)/link
	ln -sf $(CUDA_ROOT)/lib/libcudart_static.a $(GPU_CACHE)/link/libcudart.a
	touch $@

## `chunkproof` with CUDA MSMs (--engine cuda-msm) and the full-GPU worker (--engine cuda-full).
gpu-build: toolchain gpu-toolchain
	$(GPU_ENV) $(CARGO) build --release --locked --features gpu --bin chunkproof
	$(GPU_ENV) $(CARGO) build --release --locked -p chunkproof-gpu-worker --features cuda

## Builds and lints the GPU code and runs its tests; without a GPU the device tests say SKIPPED.
gpu-check: gpu-build
	$(GPU_ENV) $(CARGO) clippy --release --locked --features gpu -p chunkproof -p chunkproof-prover --all-targets -- -D warnings
	$(GPU_ENV) $(CARGO) clippy --release --locked -p chunkproof-gpu-worker --features cuda --all-targets -- -D warnings
	$(GPU_ENV) $(CARGO) test --release --locked -p chunkproof-prover --features gpu --test gpu -- --nocapture
	test -x $(CARGO_TARGET_DIR)/release/chunkproof-gpu-worker

## On a GPU machine: the GPU tests for real. `make gpu-bench` also runs them.
gpu-test: gpu-build
	$(GPU_ENV) $(CARGO) test --release --locked -p chunkproof-prover --features gpu --test gpu -- --nocapture

## On a GPU machine: MSM 2^16..2^22 and zkml MNIST in 4 chunks, cpu vs cuda-msm vs cuda-full.
MNIST ?= ../shared/fixtures/zkml/mnist
gpu-bench: gpu-build
	mkdir -p $(OUT)/gpu-bench/bin
	cp $(CARGO_TARGET_DIR)/release/chunkproof $(CARGO_TARGET_DIR)/release/chunkproof-gpu-worker $(OUT)/gpu-bench/bin/
	cp "$$($(GPU_ENV) $(CARGO) test --release --locked -p chunkproof-prover --features gpu --test gpu --no-run --message-format=json \
		| $(PYTHON) -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable")][-1])')" \
		$(OUT)/gpu-bench/bin/gpu-tests
	tools/gpu-bench.sh $(OUT)/gpu-bench/bin $(MNIST) $(OUT)/gpu-bench/results

## Tests marked #[ignore = "..."] because they are slow.
test-slow:
	$(CARGO) test --release --locked --workspace -- --ignored

# The generated models proven for real: cnn_large_v1 in five chunks of k <= 20 and in ten of
# k <= 18, conv1x1_v1 in chunks of k <= 20 (~30 min on 2 cores).
test-large:
	$(CARGO) test --release --locked --test large_model -- --ignored --nocapture

lint: toolchain
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --release --locked --workspace --no-deps

fmt:
	$(CARGO) fmt --all

## Remove each custom-gate constraint in turn; the soundness tests must catch every one (~30 min).
mutation:
	$(PYTHON) scripts/mutate_gates.py

## Recompile contracts/artifacts/*.json (the publisher's `sol!` bindings and deployment code).
artifacts: tools
	CHUNKPROOF_BLESS=1 $(CARGO) test --release --locked -p chunkproof-evm --test artifacts

## Regenerate the current golden bundle and its keys (after a circuit change; a change of
## keys gets a new version suffix, and the earlier golden files stay as they are).
golden: build
	rm -rf $(OUT)/golden && mkdir -p $(OUT)/golden
	$(BIN) prove --model $(FIXTURE)/model.msgpack --input $(FIXTURE)/input.msgpack \
		--chunks 4 --keys $(OUT)/golden/keys --out $(OUT)/golden/bundle_v5.bundle --dev-setup
	rm -rf $(FIXTURE)/keys_v5 && mkdir -p $(FIXTURE)/keys_v5
	cd $(OUT)/golden/keys && find models circuits -name '*.json' -o -name 'vk.bin' | \
		xargs -I{} cp --parents {} $(CURDIR)/$(FIXTURE)/keys_v5/
	cp $(OUT)/golden/bundle_v5.bundle $(FIXTURE)/bundle_v5.bundle
	$(MAKE) contracts

## A golden aggregated proof: the model in $(1) (model.msgpack, input.msgpack) proven in 2 chunks
## with the Poseidon transcript in work directory $(2), aggregated at the deployable default, and
## the bundle, the proof and the keys (verifying keys only) copied into fixture directory $(3)
## with version suffix $(4) (bundle_poseidon_$(4).bundle, aggregated_$(4).agg, keys_agg_$(4)/).
define golden_aggregate
	rm -rf $(2) && mkdir -p $(2)
	$(BIN) prove --model $(1)/model.msgpack --input $(1)/input.msgpack --chunks 2 \
		--transcript poseidon --keys $(2)/keys --out $(2)/bundle_poseidon_$(4).bundle --dev-setup
	$(BIN) aggregate $(2)/bundle_poseidon_$(4).bundle --keys $(2)/keys --out $(2)/aggregated_$(4).agg --dev-setup
	rm -rf $(3)/keys_agg_$(4) && mkdir -p $(3)/keys_agg_$(4)
	cd $(2)/keys && find models circuits aggregation -name '*.json' -o -name 'vk.bin' -o -name '*.vk' | \
		xargs -I{} cp --parents {} $(CURDIR)/$(3)/keys_agg_$(4)/
	cp $(2)/bundle_poseidon_$(4).bundle $(2)/aggregated_$(4).agg $(3)/
endef

## Regenerate the golden aggregated proof: the fixture in 2 chunks with the Poseidon transcript,
## aggregated (≈ 5 min, ≈ 9 GiB), its keys (verifying keys only) and the contracts.
golden-aggregated: build
	$(call golden_aggregate,$(FIXTURE),$(OUT)/golden-agg,$(FIXTURE),v1)
	$(MAKE) contracts

## Regenerate the golden aggregated proof of a model with function tables: tiny_table_v1
## (generated by gen-fixture, Tanh, max pooling and Softmax) in 2 chunks, aggregated (5.4 to 9.5
## min measured, ≈ 9.4 GiB), with its verifying keys and aggregation key, in fixtures/tiny_table_v1
## as _v2 (chunks with the `max` gate; the _v1 files, made before it, are kept and still verify).
golden-table-aggregated: build
	rm -rf $(OUT)/golden-table-model && mkdir -p $(OUT)/golden-table-model
	$(BIN) gen-fixture tiny_table_v1 --out $(OUT)/golden-table-model
	$(call golden_aggregate,$(OUT)/golden-table-model,$(OUT)/golden-table,fixtures/tiny_table_v1,v2)

## Retrain the fixture model (needs numpy, scikit-learn, msgpack: installed into .venv-fixtures).
fixtures:
	$(PYTHON) -m venv .venv-fixtures
	.venv-fixtures/bin/pip install -q numpy==2.2.6 scikit-learn==1.7.2 msgpack==1.1.1
	.venv-fixtures/bin/python fixtures/train_digits.py --out $(FIXTURE)

clean:
	rm -rf $(OUT)
