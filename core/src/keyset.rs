//! The key-set format: a key directory holds, per model, a manifest `models/<model id>.json`
//! (plan, SRS points, one record per chunk) and the chunk verifying keys it names; and the
//! identities computed from them.
//!
//! - `vk digest  = keccak256("chunkproof/vk/v1" ‖ msgpack(params) ‖ vk bytes)`
//! - `plan digest = keccak256("chunkproof/plan/v1" ‖ msgpack(plan))`
//! - `model id   = keccak256("chunkproof/model/v1" ‖ plan digest ‖ srs digest ‖ vk digest₀ ‖ …)`

use std::path::{Path, PathBuf};

use halo2_axiom::halo2curves::bn256::G1Affine;
use halo2_axiom::plonk::VerifyingKey;
use halo2_axiom::SerdeFormat;
use serde::{Deserialize, Serialize};

use crate::digest::keccak;
use crate::error::{FormatError, Result};
use crate::field::Bytes32;
use crate::plan::PlanSummary;
use crate::shape::{ChunkCircuitParams, ChunkShape};
use crate::srs::SrsRecord;

/// Manifest format version.
pub const KEYSET_VERSION: u32 = 1;
/// Largest manifest accepted.
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;
/// Largest verifying key accepted.
pub const MAX_VK_BYTES: u64 = 256 << 20;
/// Size figures of one chunk circuit (informational, not part of the model id).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitStats {
    /// Cells used in the halo2-base advice column.
    pub main_cells: usize,
    /// Rows used in the custom column.
    pub custom_rows: usize,
    /// Cells range-checked through the lookup table.
    pub lookup_cells: usize,
    /// Main cells spent on linkage (packing, range checks, Merkle paths).
    pub linkage_main_cells: usize,
    /// Custom rows spent on linkage (Poseidon rounds, packing).
    pub linkage_custom_rows: usize,
    /// Rows available for witnesses at this `k`.
    pub usable_rows: usize,
    /// Distinct constants in the fixed column.
    pub constants: usize,
    /// Rows used by the randomized product check (absent from files when 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub product_rows: usize,
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}

/// One chunk's key record in a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkKeyRecord {
    /// Chunk index.
    pub index: usize,
    /// Digest of the circuit description the keys were generated from (the prover's cache key).
    pub circuit_digest: Bytes32,
    /// Verifying-key digest.
    pub vk_digest: Bytes32,
    /// The verifying key's file, relative to the key directory.
    pub vk_file: String,
    /// Size figures.
    pub stats: CircuitStats,
}

/// A key set manifest, `models/<model id>.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySetManifest {
    /// Always `chunkproof-keyset`.
    pub format: String,
    /// [`KEYSET_VERSION`].
    pub version: u32,
    /// The model id (recomputed on load).
    pub model_id: Bytes32,
    /// SRS points and provenance.
    pub srs: SrsRecord,
    /// The chunk plan.
    pub plan: PlanSummary,
    /// One record per chunk.
    pub chunks: Vec<ChunkKeyRecord>,
}

/// Digest of a chunk verifying key together with its circuit parameters.
pub fn vk_digest(params: &ChunkCircuitParams, vk_bytes: &[u8]) -> Bytes32 {
    let p = rmp_serde::to_vec_named(params).expect("params serialise");
    keccak(&[b"chunkproof/vk/v1", &p, vk_bytes])
}

/// Digest of a plan.
pub fn plan_digest(plan: &PlanSummary) -> Bytes32 {
    let p = rmp_serde::to_vec_named(plan).expect("plan serialises");
    keccak(&[b"chunkproof/plan/v1", &p])
}

/// The model id.
pub fn model_id(plan: &PlanSummary, srs_digest: &Bytes32, vk_digests: &[Bytes32]) -> Bytes32 {
    let mut parts: Vec<&[u8]> = vec![b"chunkproof/model/v1"];
    let pd = plan_digest(plan);
    parts.push(&pd.0);
    parts.push(&srs_digest.0);
    for d in vk_digests {
        parts.push(&d.0);
    }
    keccak(&parts)
}

/// Path of the manifest of `model_id` inside key directory `dir`.
pub fn manifest_path(dir: &Path, model_id: &Bytes32) -> PathBuf {
    dir.join("models").join(format!("{model_id}.json"))
}

/// Parses a chunk verifying key of the given shape.
pub fn read_vk(bytes: &[u8], params: ChunkCircuitParams, chunk: usize) -> Result<VerifyingKey<G1Affine>> {
    let what = format!("verifying key of chunk {chunk}");
    params.validate().map_err(|e| FormatError::malformed(what.clone(), e))?;
    let parsed = std::panic::catch_unwind(|| {
        VerifyingKey::<G1Affine>::read::<_, ChunkShape>(&mut &bytes[..], SerdeFormat::Processed, params)
    });
    match parsed {
        Ok(Ok(vk)) => Ok(vk),
        Ok(Err(e)) => Err(FormatError::malformed(what, e)),
        Err(_) => Err(FormatError::malformed(what, "parser panicked")),
    }
}

/// Model ids that have a manifest in `dir`, sorted.
pub fn list_models(dir: &Path) -> Vec<Bytes32> {
    let mut out: Vec<Bytes32> = std::fs::read_dir(dir.join("models"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            Bytes32::from_hex(name.strip_suffix(".json")?)
        })
        .collect();
    out.sort();
    out
}
