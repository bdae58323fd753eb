#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

pub mod circuit;
mod error;
#[doc(hidden)]
pub mod fault;
pub mod fixed;
pub mod interpret;
pub mod keygen;
pub mod model;
pub mod plan;
pub mod prove;
pub mod setup;
#[doc(hidden)]
pub mod testing;
pub mod witness;

pub use error::{ProverError, Result};
