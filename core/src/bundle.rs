//! Bundle format v1: N chunk proofs, the Merkle root and leaves linking them, the public values,
//! and the plan. Encoded as a MessagePack map with field names, in one canonical encoding (what
//! [`Bundle::to_bytes`] writes; anything else — trailing bytes, unknown or repeated fields,
//! another field order, a struct as an array, 32-byte values as arrays or strings, wider
//! integers — is refused as malformed), read with a size cap, written atomically.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{FormatError, Result};
use crate::field::{in_value_range, Bytes32};
use crate::io::{read_capped, write_atomic};
use crate::keyset::model_id;
use crate::plan::PlanSummary;
use crate::transcript::TranscriptKind;

/// The `format` field of every bundle.
pub const BUNDLE_FORMAT: &str = "chunkproof-bundle";
/// The bundle version this crate reads and writes.
pub const BUNDLE_VERSION: u32 = 1;
/// Largest bundle file accepted.
pub const MAX_BUNDLE_BYTES: u64 = 256 << 20;
/// Largest number of chunks accepted.
pub const MAX_CHUNKS: usize = 4096;
/// Largest single proof accepted.
pub const MAX_PROOF_BYTES: usize = 16 << 20;

/// A bundle of chunk proofs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// [`BUNDLE_VERSION`].
    pub version: u32,
    /// Digest of the plan, the SRS and the chunk verifying keys.
    pub model_id: Bytes32,
    /// Digest of the verifier SRS the keys were made with.
    pub srs_digest: Bytes32,
    /// The chunk plan.
    pub plan: PlanSummary,
    /// The Merkle root `R`, public in every chunk proof.
    pub root: Bytes32,
    /// The leaves `c_0 … c_N` (salted: they reveal nothing of the boundary values).
    pub leaves: Vec<Bytes32>,
    /// One proof per chunk, in order.
    pub chunks: Vec<ChunkProof>,
    /// The Fiat–Shamir transcript of every chunk proof (left out of the file when Keccak).
    #[serde(default, skip_serializing_if = "TranscriptKind::is_default")]
    pub transcript: TranscriptKind,
    /// Model input values, when the plan makes them public; empty otherwise.
    pub inputs: Vec<i64>,
    /// Model output values, when the plan makes them public; empty otherwise.
    pub outputs: Vec<i64>,
    /// Facts about how the bundle was made; verification ignores them.
    pub meta: ProverMeta,
}

/// The proof of one chunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkProof {
    /// Chunk index.
    pub index: usize,
    /// Digest of the verifying key this proof is for.
    pub vk_digest: Bytes32,
    /// Public instances, in order: `R`, then public inputs/outputs (32-byte big-endian each).
    pub instances: Vec<Bytes32>,
    /// The halo2 proof, with the bundle's transcript.
    #[serde(with = "serde_bytes")]
    pub proof: Vec<u8>,
}

/// Prover-side facts recorded in a bundle (not verified).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProverMeta {
    /// Name and version of the tool that made the bundle.
    pub tool: String,
    /// Unix time of creation.
    pub created_unix: u64,
    /// Proving backend (`cpu-local`, …).
    pub backend: String,
    /// MSM backend (`cpu`, …).
    pub msm: String,
    /// Wall time of each chunk's proof, ms.
    pub chunk_prove_ms: Vec<u64>,
    /// Wall time of the whole run, ms.
    pub total_ms: u64,
}

#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

impl Bundle {
    /// Reads and structurally checks a bundle file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = read_capped(path, MAX_BUNDLE_BYTES, "bundle")?;
        Self::from_bytes(&bytes)
    }

    /// Decodes and structurally checks a bundle.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let header: Header = rmp_serde::from_slice(bytes).map_err(|e| FormatError::malformed("bundle", e))?;
        if header.format != BUNDLE_FORMAT {
            return Err(FormatError::malformed(
                "bundle",
                format!("format is {:?}, expected {BUNDLE_FORMAT:?}", header.format),
            ));
        }
        if header.version != BUNDLE_VERSION {
            return Err(FormatError::UnsupportedVersion {
                what: "bundle".into(),
                found: header.version,
                supported: BUNDLE_VERSION,
            });
        }
        let bundle: Self = rmp_serde::from_slice(bytes).map_err(|e| FormatError::malformed("bundle", e))?;
        // One encoding per bundle, so that its hash identifies it: the bytes must be exactly
        // what `to_bytes` writes for the decoded value.
        let canonical = bundle.to_bytes();
        if canonical != bytes {
            let detail = if bytes.len() > canonical.len() && bytes.starts_with(&canonical) {
                format!("{} trailing bytes after the bundle", bytes.len() - canonical.len())
            } else {
                "not in its canonical encoding (a field encoded another way, repeated, unknown or \
                 out of order, or an integer wider than needed)"
                    .to_string()
            };
            return Err(FormatError::malformed("bundle", detail));
        }
        bundle.check_structure()?;
        Ok(bundle)
    }

    /// The msgpack encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).expect("bundle serialises")
    }

    /// Writes the bundle atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes())
    }

    /// Number of chunks the plan calls for.
    pub fn num_chunks(&self) -> usize {
        self.plan.num_chunks()
    }

    /// The model id recomputed from the plan, SRS digest and listed verifying-key digests.
    pub fn computed_model_id(&self) -> Bytes32 {
        let vks: Vec<Bytes32> = self.chunks.iter().map(|c| c.vk_digest).collect();
        model_id(&self.plan, &self.srs_digest, &vks)
    }

    /// Format-level checks: everything that can be judged without cryptography and that does not
    /// depend on which chunk proofs are present. Chunk count and order are checked by
    /// verification (they are rejections, not format errors).
    pub fn check_structure(&self) -> Result<()> {
        let inconsistent = |detail: String| FormatError::Inconsistent { detail };
        self.plan.validate().map_err(|e| inconsistent(format!("plan: {e}")))?;
        let n = self.plan.num_chunks();
        if n > MAX_CHUNKS {
            return Err(inconsistent(format!("{n} chunks (at most {MAX_CHUNKS})")));
        }
        if self.chunks.len() > MAX_CHUNKS {
            return Err(inconsistent(format!("{} chunk proofs (at most {MAX_CHUNKS})", self.chunks.len())));
        }
        if self.leaves.len() != n + 1 {
            return Err(inconsistent(format!(
                "{} leaves for {n} chunks (expected {})",
                self.leaves.len(),
                n + 1
            )));
        }
        let want_in = if self.plan.input_public { self.plan.num_inputs } else { 0 };
        if self.inputs.len() != want_in {
            return Err(inconsistent(format!(
                "{} public inputs, the plan calls for {want_in}",
                self.inputs.len()
            )));
        }
        let want_out = if self.plan.output_public { self.plan.num_outputs } else { 0 };
        if self.outputs.len() != want_out {
            return Err(inconsistent(format!(
                "{} public outputs, the plan calls for {want_out}",
                self.outputs.len()
            )));
        }
        for (what, values) in [("inputs", &self.inputs), ("outputs", &self.outputs)] {
            if let Some((index, v)) = values.iter().enumerate().find(|(_, v)| !in_value_range(**v as i128)) {
                return Err(FormatError::ValueOutOfRange { what: what.into(), index, value: *v as i128 });
            }
        }
        for (pos, c) in self.chunks.iter().enumerate() {
            if c.proof.is_empty() || c.proof.len() > MAX_PROOF_BYTES {
                return Err(inconsistent(format!(
                    "chunk at position {pos}: proof of {} bytes",
                    c.proof.len()
                )));
            }
            if c.instances.is_empty() {
                return Err(inconsistent(format!("chunk at position {pos} has no public instances")));
            }
        }
        Ok(())
    }
}
