#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

mod audit;
mod bundle;
mod error;
#[cfg(feature = "evm")]
pub mod evm;
mod field;
mod io;
mod keys;
mod linkage;
mod merkle;
mod plan;
pub mod poseidon;
pub mod shape;
mod srs;
mod transcript;
mod verify;

pub use audit::{audit, columns, AuditReport, ChunkAudit, Columns};
pub use bundle::{
    Bundle, ChunkProof, ProverMeta, BUNDLE_FORMAT, BUNDLE_VERSION, MAX_BUNDLE_BYTES, MAX_CHUNKS,
    MAX_PROOF_BYTES,
};
pub use error::{Result, VerifyError};
pub use field::{fr_from_i64, fr_to_i64, in_value_range, Bytes32, Fr, G1Affine, VALUE_BITS, VALUE_OFFSET};
pub use io::{read_capped, write_atomic, write_atomic_with};
pub use keys::{
    keccak, list_models, manifest_path, model_id, plan_digest, read_vk, vk_digest, ChunkKeyRecord,
    CircuitStats, KeySet, KeySetManifest, KEYSET_VERSION,
};
pub use linkage::{
    empty_leaf, leaf_hash, leaf_preimage, node_hash, pack_values, PACK_BITS, PACK_PER_ELEMENT, TAG_EMPTY,
    TAG_LEAF, TAG_NODE,
};
pub use merkle::{depth_for, MerklePath, MerkleTree};
pub use plan::{ChunkSummary, PlanSummary, PLAN_VERSION};
pub use srs::{
    ceremony_of, Ceremony, SrsOrigin, SrsRecord, SrsTrust, VerifierSrs, CEREMONIES, DEV_SRS_DIGEST,
};
pub use transcript::{ChallengeEvm, EvmTranscript};
pub use verify::{verify_bundle, verify_chunk_proof, Verified, VerifyOptions};

/// halo2 re-exports, so that users of this crate name the same types.
pub use halo2_axiom;
