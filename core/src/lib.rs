#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

pub mod aggregated;
pub mod bundle;
pub mod digest;
mod error;
pub mod field;
pub mod io;
pub mod keyset;
pub mod linkage;
pub mod merkle;
pub mod plan;
pub mod poseidon;
pub mod shape;
pub mod srs;
pub mod transcript;

pub use aggregated::{AggregatedProof, AggregationKeyRecord};
pub use bundle::{Bundle, ChunkProof, ProverMeta, BUNDLE_FORMAT, BUNDLE_VERSION};
pub use digest::keccak;
pub use error::{FormatError, Result};
pub use field::{fr_from_i64, fr_to_i64, in_value_range, Bytes32, Fr, G1Affine};
pub use io::{read_capped, write_atomic, write_atomic_with};
pub use keyset::{model_id, vk_digest, CircuitStats, KeySetManifest};
pub use plan::PlanSummary;
pub use srs::VerifierSrs;
