#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

pub mod circuit;
pub mod engine;
mod error;
#[doc(hidden)]
pub mod fault;
pub mod fixed;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod interpret;
pub mod keygen;
pub mod model;
pub mod plan;
pub mod prove;
pub mod setup;
#[doc(hidden)]
pub mod testing;
pub mod witness;

pub use engine::{engine, CpuEngine, EngineChoice, ProofEngine};
pub use error::{ProverError, Result};
