#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

pub mod circuit;
pub mod distribute;
pub mod driver;
pub mod engine;
mod error;
pub mod fault;
pub mod fixed;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod interpret;
pub mod job;
pub mod keygen;
pub mod local;
pub mod model;
pub mod plan;
pub mod prove;
pub mod ptau;
pub mod ray;
pub mod rundir;
pub mod setup;
#[cfg(feature = "test-utils")]
pub mod testing;
pub mod witness;
pub mod worker;
pub mod zoo;

pub use engine::{engine, CpuEngine, EngineChoice, ProofEngine};

/// Whether this build has the test hooks (`test-utils`): fault injection, worker failure hooks,
/// seeded salts. Release builds do not.
pub const TEST_UTILS: bool = cfg!(feature = "test-utils");
pub use error::{ProverError, Result};
