#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod aggregated;
mod audit;
mod error;
mod keys;
mod trust;
mod verify;

/// The formats and primitives (bundle, key set, plan, field, Poseidon, Merkle, transcript).
pub use chunkproof_core as core;
pub use chunkproof_core::Bundle;

pub use aggregated::{
    accumulator_points, check_accumulator, verify_aggregated, AggregationKey, VerifiedAggregate,
};
pub use audit::{audit, AuditReport, ChunkAudit, LeafRef};
pub use error::{Result, VerifyError};
pub use keys::KeySet;
pub use trust::SrsTrust;
pub use verify::{verify_bundle, verify_chunk_proof, Verified, VerifyOptions};
