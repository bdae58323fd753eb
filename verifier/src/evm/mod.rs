//! The EVM side of verification (feature `evm`): Solidity verifiers generated from the chunk
//! verifying keys, a `solc`-compatible compiler driver, and an in-process EVM (revm) that runs
//! the generated verifiers and the `BundleVerifier` contract on a bundle.
//!
//! The contracts' calling convention, shared with `contracts/src/BundleVerifier.sol`:
//! a chunk verifier takes `instances ‖ proof` as raw calldata (each instance a 32-byte
//! big-endian word: `R`, then public inputs or outputs) and reverts unless the proof verifies.
//! The generated code reduces words modulo `r` and does not check the calldata length, so the
//! `BundleVerifier` checks both before calling it.

mod abi;
mod codegen;
mod exec;
mod export;
mod solc;

pub use abi::{encode_int_values, IBundleVerifier};
pub use codegen::{chunk_verifier, GeneratedVerifier};
pub use exec::{EvmBundleReport, InProcessEvm, EIP170_LIMIT};
pub use export::{
    compile_model, export, verify_bundle_evm, CompiledModel, ExportOptions, ExportReport, BUNDLE_VERIFIER_SOL,
};
pub use solc::{CompiledContract, Solc, SOLC_VERSION};
