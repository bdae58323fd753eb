//! Verifying keys, their digests, the verifier's part of the SRS, and the model id.
//!
//! A key directory holds, per model, a manifest `models/<model id>.json` (plan, SRS points, one
//! record per chunk) and the chunk verifying keys it names. Loading recomputes every digest from
//! the bytes on disk, so a manifest cannot vouch for keys it does not match.
//!
//! - `vk digest  = keccak256("chunkproof/vk/v1" ‖ msgpack(params) ‖ vk bytes)`
//! - `srs digest = keccak256("chunkproof/srs/v1" ‖ g₁ ‖ g₂ ‖ [τ]₂)` (compressed points)
//! - `model id   = keccak256("chunkproof/model/v1" ‖ keccak256(msgpack(plan)) ‖ srs digest ‖ vk digest₀ ‖ …)`

use std::path::{Path, PathBuf};

use halo2_axiom::halo2curves::bn256::G1Affine;
use halo2_axiom::plonk::VerifyingKey;
use halo2_axiom::SerdeFormat;
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};

use crate::error::{Result, VerifyError};
use crate::field::Bytes32;
use crate::io::read_capped;
use crate::plan::PlanSummary;
use crate::shape::{ChunkCircuitParams, ChunkShape};
use crate::srs::{ceremony_of, SrsOrigin, SrsRecord, SrsTrust, VerifierSrs};

/// Manifest format version.
pub const KEYSET_VERSION: u32 = 1;
/// Largest manifest accepted.
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;
/// Largest verifying key accepted.
pub const MAX_VK_BYTES: u64 = 256 << 20;
/// Keccak-256 of the concatenation of `parts`.
pub fn keccak(parts: &[&[u8]]) -> Bytes32 {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    Bytes32(h.finalize().into())
}

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

/// A loaded, checked key set.
#[derive(Debug)]
pub struct KeySet {
    /// The key directory.
    pub dir: PathBuf,
    /// The manifest as read.
    pub manifest: KeySetManifest,
    /// The verifier SRS.
    pub srs: VerifierSrs,
    /// Chunk verifying keys, in chunk order.
    pub vks: Vec<VerifyingKey<G1Affine>>,
}

impl KeySet {
    /// Loads the key set of `model_id` from `dir`; with `None`, the only model in `dir`.
    pub fn load(dir: &Path, model_id: Option<&Bytes32>) -> Result<Self> {
        let err = |detail: String| VerifyError::KeySet { path: dir.to_path_buf(), detail };
        let path = match model_id {
            Some(id) => manifest_path(dir, id),
            None => {
                let models = list_models(dir);
                match models.as_slice() {
                    [one] => manifest_path(dir, one),
                    [] => return Err(err("no key set found (no models/*.json)".into())),
                    many => {
                        return Err(err(format!(
                            "holds {} models; name the one to check (--model-id): {}",
                            many.len(),
                            many.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", ")
                        )))
                    }
                }
            }
        };
        if !path.exists() {
            let have = list_models(dir).iter().map(|m| m.to_string()).collect::<Vec<_>>();
            return Err(err(format!(
                "no keys for model {} (models here: {})",
                model_id.map(|m| m.to_string()).unwrap_or_default(),
                if have.is_empty() { "none".into() } else { have.join(", ") }
            )));
        }
        let bytes = read_capped(&path, MAX_MANIFEST_BYTES, "key set manifest")?;
        let manifest: KeySetManifest = serde_json::from_slice(&bytes)
            .map_err(|e| VerifyError::malformed(format!("key set manifest {}", path.display()), e))?;
        Self::from_manifest(dir, manifest)
    }

    /// Checks a manifest against the key files it names.
    pub fn from_manifest(dir: &Path, manifest: KeySetManifest) -> Result<Self> {
        let err = |detail: String| VerifyError::KeySet { path: dir.to_path_buf(), detail };
        if manifest.format != "chunkproof-keyset" {
            return Err(err(format!("not a key set manifest (format {:?})", manifest.format)));
        }
        if manifest.version != KEYSET_VERSION {
            return Err(VerifyError::UnsupportedVersion {
                what: "key set".into(),
                found: manifest.version,
                supported: KEYSET_VERSION,
            });
        }
        manifest.plan.validate().map_err(|e| err(format!("plan: {e}")))?;
        if manifest.chunks.len() != manifest.plan.num_chunks() {
            return Err(err(format!(
                "{} key records for a plan of {} chunks",
                manifest.chunks.len(),
                manifest.plan.num_chunks()
            )));
        }
        let srs = manifest.srs.points().map_err(|e| err(format!("srs: {e}")))?;
        let mut vks = Vec::with_capacity(manifest.chunks.len());
        let mut digests = Vec::with_capacity(manifest.chunks.len());
        for (i, rec) in manifest.chunks.iter().enumerate() {
            if rec.index != i {
                return Err(err(format!("key record {i} has index {}", rec.index)));
            }
            if rec.vk_file.contains("..") || Path::new(&rec.vk_file).is_absolute() {
                return Err(err(format!("chunk {i}: vk file {:?} escapes the directory", rec.vk_file)));
            }
            let params = manifest.plan.chunks[i].params;
            let bytes = read_capped(&dir.join(&rec.vk_file), MAX_VK_BYTES, "verifying key")?;
            let digest = vk_digest(&params, &bytes);
            if digest != rec.vk_digest {
                return Err(err(format!(
                    "chunk {i}: {} has digest {digest}, the manifest says {}",
                    rec.vk_file, rec.vk_digest
                )));
            }
            vks.push(read_vk(&bytes, params, i)?);
            digests.push(digest);
        }
        let id = model_id(&manifest.plan, &srs.digest(), &digests);
        if id != manifest.model_id {
            return Err(err(format!("manifest names model {}, its contents give {id}", manifest.model_id)));
        }
        Ok(Self { dir: dir.to_path_buf(), manifest, srs, vks })
    }

    /// The model id (checked on load).
    pub fn model_id(&self) -> &Bytes32 {
        &self.manifest.model_id
    }

    /// True if the keys rest on the public development setup.
    pub fn is_dev_setup(&self) -> bool {
        self.srs.is_dev() || self.manifest.srs.origin == SrsOrigin::DevInsecure
    }

    /// How this key set's SRS is trusted under `opts`, or why it is not: keys on the development
    /// setup need `allow_dev_setup`; keys on any SRS that is not a known ceremony
    /// ([`CEREMONIES`](crate::CEREMONIES)) need its digest in `trusted_srs`.
    pub fn srs_trust(&self, opts: &crate::VerifyOptions) -> Result<SrsTrust> {
        if self.is_dev_setup() {
            return if opts.allow_dev_setup {
                Ok(SrsTrust::DevInsecure)
            } else {
                Err(VerifyError::InsecureSetupRefused { path: self.dir.clone() })
            };
        }
        let digest = self.srs.digest();
        if let Some(c) = ceremony_of(&digest) {
            return Ok(SrsTrust::Ceremony { name: c.name });
        }
        if opts.trusted_srs.contains(&digest) {
            return Ok(SrsTrust::Pinned { digest });
        }
        Err(VerifyError::UntrustedSrs { path: self.dir.clone(), digest: digest.to_string() })
    }
}

/// Parses a chunk verifying key of the given shape.
pub fn read_vk(bytes: &[u8], params: ChunkCircuitParams, chunk: usize) -> Result<VerifyingKey<G1Affine>> {
    let what = format!("verifying key of chunk {chunk}");
    params.validate().map_err(|e| VerifyError::malformed(what.clone(), e))?;
    let parsed = std::panic::catch_unwind(|| {
        VerifyingKey::<G1Affine>::read::<_, ChunkShape>(&mut &bytes[..], SerdeFormat::Processed, params)
    });
    match parsed {
        Ok(Ok(vk)) => Ok(vk),
        Ok(Err(e)) => Err(VerifyError::malformed(what, e)),
        Err(_) => Err(VerifyError::malformed(what, "parser panicked")),
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
