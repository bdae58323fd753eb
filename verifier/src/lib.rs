//! # chunkproof-verifier
//!
//! Checks a *bundle*: N halo2 (KZG over BN254, SHPLONK, Keccak EVM transcript) proofs of the
//! chunks of one model, linked by a Poseidon Merkle root that is a public value of every proof.
//! Chunk `i` proves that its input commits to leaf `i` and its output to leaf `i+1` of that root,
//! so the chunks chain without revealing the values between them.
//!
//! This crate owns the bundle format, the Poseidon and Merkle definitions, the chunk circuits'
//! constraint-system shape, and verification. It depends on no prover code.
//!
//! ```no_run
//! use chunkproof_verifier::{verify_bundle, Bundle, KeySet, VerifyOptions};
//! # fn main() -> Result<(), chunkproof_verifier::VerifyError> {
//! let bundle = Bundle::read("digits.bundle".as_ref())?;
//! let keys = KeySet::load("keys".as_ref(), Some(&bundle.model_id))?;
//! let ok = verify_bundle(&bundle, &keys, &VerifyOptions::default())?;
//! println!("{} chunks, root {}, outputs {:?}", ok.num_chunks, ok.root, ok.outputs);
//! # Ok(()) }
//! ```
//!
//! The linkage leaves and nodes are computed natively exactly as the circuits compute them:
//!
//! ```
//! use chunkproof_verifier::{leaf_hash, Fr, MerkleTree};
//! let leaves: Vec<Fr> = (0..3u64)
//!     .map(|j| leaf_hash(j, Fr::from(1000 + j), &[1, -2, 3]).unwrap())
//!     .collect();
//! let tree = MerkleTree::new(&leaves);
//! assert_eq!(tree.path(2).unwrap().root_of(leaves[2]), tree.root());
//! ```

#![deny(unsafe_code)]

mod audit;
mod bundle;
mod error;
mod field;
mod io;
mod keys;
mod linkage;
mod merkle;
mod plan;
pub mod poseidon;
pub mod shape;
mod transcript;
mod verify;

pub use audit::{audit, columns, AuditReport, ChunkAudit, Columns};
pub use bundle::{
    Bundle, ChunkProof, ProverMeta, BUNDLE_FORMAT, BUNDLE_VERSION, MAX_BUNDLE_BYTES, MAX_CHUNKS,
    MAX_PROOF_BYTES,
};
pub use error::{Result, VerifyError};
pub use field::{fr_from_i64, fr_to_i64, in_value_range, Bytes32, Fr, G1Affine, VALUE_BITS, VALUE_OFFSET};
pub use io::{read_capped, write_atomic};
pub use keys::{
    keccak, list_models, manifest_path, model_id, plan_digest, read_vk, vk_digest, ChunkKeyRecord,
    CircuitStats, KeySet, KeySetManifest, SrsOrigin, SrsRecord, VerifierSrs, DEV_SRS_DIGEST, KEYSET_VERSION,
};
pub use linkage::{
    empty_leaf, leaf_hash, leaf_preimage, node_hash, pack_values, PACK_BITS, PACK_PER_ELEMENT, TAG_EMPTY,
    TAG_LEAF, TAG_NODE,
};
pub use merkle::{depth_for, MerklePath, MerkleTree};
pub use plan::{ChunkSummary, PlanSummary, PLAN_VERSION};
pub use transcript::{ChallengeEvm, EvmTranscript};
pub use verify::{verify_bundle, verify_chunk_proof, Verified, VerifyOptions};

/// halo2 re-exports, so that users of this crate name the same types.
pub use halo2_axiom;
