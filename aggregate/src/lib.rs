//! Aggregates a chunkproof bundle into one proof.
//!
//! The bundle's chunk proofs (made with `chunkproof prove --transcript poseidon`) are verified
//! inside one halo2 circuit with snark-verifier's halo2 loader; their KZG openings are
//! accumulated into one pair of points that the circuit exposes, with the root, the public
//! model values and the model id, as public instances. Verifying the aggregated proof
//! ([`chunkproof_verifier::verify_aggregated`]) is one halo2 verification and one more pairing
//! check, whatever the number of chunks.
#![deny(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod circuit;
mod error;
mod run;

pub use error::{AggregateError, Result};
#[cfg(feature = "test-utils")]
#[doc(hidden)]
pub use run::aggregate_unchecked;
pub use run::{aggregate, AggregateConfig, AggregateReport, AGGREGATION_K, DEPLOYABLE_GATE_COLUMNS};
