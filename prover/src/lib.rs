#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

pub mod circuit;
pub mod engine;
mod error;
pub mod fault;
pub mod fixed;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod interpret;
pub mod keygen;
pub mod layers;
pub mod model;
pub mod plan;
pub mod ptau;
pub mod run;
pub mod setup;
#[cfg(feature = "test-utils")]
pub mod testing;
pub mod witness;
pub mod zoo;

pub use engine::{engine, CpuEngine, EngineChoice, ProofEngine};
pub use error::{ProverError, Result};
pub use run::{prove, prove_model, prove_model_with, ProveConfig};

/// Whether this build has the test hooks (`test-utils`): fault injection, worker failure hooks,
/// seeded salts. Release builds do not.
pub const TEST_UTILS: bool = cfg!(feature = "test-utils");
