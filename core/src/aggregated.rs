//! The aggregated-proof format v1 and the aggregation key record.
//!
//! An aggregated proof is one halo2 proof (SHPLONK, Keccak transcript) of a circuit that
//! verifies every chunk proof of a bundle (made with the Poseidon transcript) and accumulates
//! their KZG openings into one pair of points, left for the verifier's final pairing check.
//! Its public instances, one column, in this order ([`AggregatedInstances`]):
//!
//! | index | value |
//! |---|---|
//! | `0..12` | the accumulator: `lhs.x, lhs.y, rhs.x, rhs.y`, each as three 88-bit limbs, least significant first |
//! | `12, 13` | the model id, high and low 16 bytes (circuit constants: the verifying key fixes them) |
//! | `14` | the Merkle root `R` (every chunk's first instance, constrained equal) |
//! | then | the public model inputs (chunk 0's), then the public model outputs (the last chunk's) |
//!
//! The file is a MessagePack map with field names in one canonical encoding, like the bundle.

use std::path::{Path, PathBuf};

use halo2_axiom::halo2curves::ff::PrimeField;
use serde::{Deserialize, Serialize};

use crate::error::{FormatError, Result};
use crate::field::{fr_from_i64, fr_to_i64, in_value_range, Bytes32, Fr};
use crate::io::{read_capped, write_atomic};

/// The `format` field of every aggregated proof.
pub const AGGREGATED_FORMAT: &str = "chunkproof-aggregated";
/// The aggregated-proof version this crate reads and writes.
pub const AGGREGATED_VERSION: u32 = 1;
/// Largest aggregated-proof file accepted.
pub const MAX_AGGREGATED_BYTES: u64 = 64 << 20;
/// Limbs per accumulator coordinate.
pub const ACC_LIMBS: usize = 3;
/// Bits per accumulator limb.
pub const ACC_LIMB_BITS: usize = 88;
/// Instances before the root: 12 accumulator limbs and the two halves of the model id.
pub const ROOT_INDEX: usize = 4 * ACC_LIMBS + 2;

/// A bundle's aggregated proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregatedProof {
    /// Always [`AGGREGATED_FORMAT`].
    pub format: String,
    /// [`AGGREGATED_VERSION`].
    pub version: u32,
    /// The model whose chunk proofs were aggregated.
    pub model_id: Bytes32,
    /// Digest of the verifier SRS (chunk proofs and the aggregation share it).
    pub srs_digest: Bytes32,
    /// Digest of the aggregation circuit's verifying key ([`AggregationKeyRecord::vk_digest`]).
    pub vk_digest: Bytes32,
    /// Number of chunk proofs aggregated.
    pub num_chunks: usize,
    /// The public instances ([`AggregatedInstances`] layout), 32-byte big-endian each.
    pub instances: Vec<Bytes32>,
    /// The halo2 proof (Keccak EVM transcript).
    #[serde(with = "serde_bytes")]
    pub proof: Vec<u8>,
    /// Facts about how it was made; verification ignores them.
    pub meta: AggregationMeta,
}

/// Prover-side facts recorded in an aggregated proof (not verified).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregationMeta {
    /// Name and version of the tool.
    pub tool: String,
    /// Unix time of creation.
    pub created_unix: u64,
    /// Key generation (or loading) time, ms.
    pub keygen_ms: u64,
    /// Proving time, ms.
    pub prove_ms: u64,
    /// The engine that proved it (`cpu (halo2-axiom)`, or the GPU worker's); empty in files
    /// written before engines were recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub engine: String,
}

/// The public instances of an aggregated proof, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregatedInstances {
    /// `lhs.x, lhs.y, rhs.x, rhs.y`, three limbs each.
    pub accumulator: [Fr; 4 * ACC_LIMBS],
    /// The model id's two halves as field elements.
    pub model_id: [Fr; 2],
    /// `R`.
    pub root: Fr,
    /// Public model inputs.
    pub inputs: Vec<i64>,
    /// Public model outputs.
    pub outputs: Vec<i64>,
}

/// The model id as two field elements: its high and low 16 bytes.
pub fn model_id_halves(id: &Bytes32) -> [Fr; 2] {
    let half = |b: &[u8]| {
        let mut le = [0u8; 16];
        for (d, s) in le.iter_mut().zip(b.iter().rev()) {
            *d = *s;
        }
        Fr::from_u128(u128::from_le_bytes(le))
    };
    [half(&id.0[..16]), half(&id.0[16..])]
}

impl AggregatedInstances {
    /// The instance column.
    pub fn to_column(&self) -> Vec<Fr> {
        self.accumulator
            .iter()
            .chain(self.model_id.iter())
            .copied()
            .chain(std::iter::once(self.root))
            .chain(self.inputs.iter().chain(&self.outputs).map(|v| fr_from_i64(*v)))
            .collect()
    }

    /// Decodes a column with `num_inputs` public inputs and `num_outputs` public outputs.
    pub fn from_column(column: &[Fr], num_inputs: usize, num_outputs: usize) -> Result<Self> {
        let want = ROOT_INDEX + 1 + num_inputs + num_outputs;
        if column.len() != want {
            return Err(FormatError::malformed(
                "aggregated proof",
                format!("{} public instances, expected {want}", column.len()),
            ));
        }
        let value = |(j, f): (usize, &Fr)| {
            fr_to_i64(f).filter(|v| in_value_range(*v as i128)).ok_or_else(|| {
                FormatError::malformed("aggregated proof", format!("instance {j} is not a model value"))
            })
        };
        let values = column[ROOT_INDEX + 1..]
            .iter()
            .enumerate()
            .map(|(j, f)| value((ROOT_INDEX + 1 + j, f)))
            .collect::<Result<Vec<i64>>>()?;
        let mut accumulator = [Fr::from(0u64); 4 * ACC_LIMBS];
        accumulator.copy_from_slice(&column[..4 * ACC_LIMBS]);
        Ok(Self {
            accumulator,
            model_id: [column[4 * ACC_LIMBS], column[4 * ACC_LIMBS + 1]],
            root: column[ROOT_INDEX],
            inputs: values[..num_inputs].to_vec(),
            outputs: values[num_inputs..].to_vec(),
        })
    }
}

#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

/// Whether the file at `path` starts as an aggregated proof does (its first field, `format`,
/// is [`AGGREGATED_FORMAT`]) rather than as a bundle. Only a dispatch: the reader of either
/// format checks the whole file.
pub fn is_aggregated_file(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut prefix = Vec::with_capacity(64);
    std::fs::File::open(path)
        .and_then(|f| f.take(64).read_to_end(&mut prefix))
        .map_err(|e| FormatError::io(path, e))?;
    let needle = AGGREGATED_FORMAT.as_bytes();
    Ok(prefix.windows(needle.len()).any(|w| w == needle))
}

impl AggregatedProof {
    /// Reads and structurally checks an aggregated proof file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = read_capped(path, MAX_AGGREGATED_BYTES, "aggregated proof")?;
        Self::from_bytes(&bytes)
    }

    /// Decodes an aggregated proof, refusing any encoding but the canonical one.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let what = "aggregated proof";
        let header: Header = rmp_serde::from_slice(bytes).map_err(|e| FormatError::malformed(what, e))?;
        if header.format != AGGREGATED_FORMAT {
            return Err(FormatError::malformed(
                what,
                format!("format is {:?}, expected {AGGREGATED_FORMAT:?}", header.format),
            ));
        }
        if header.version != AGGREGATED_VERSION {
            return Err(FormatError::UnsupportedVersion {
                what: what.into(),
                found: header.version,
                supported: AGGREGATED_VERSION,
            });
        }
        let agg: Self = rmp_serde::from_slice(bytes).map_err(|e| FormatError::malformed(what, e))?;
        if agg.to_bytes() != bytes {
            return Err(FormatError::malformed(what, "not in its canonical encoding (or trailing bytes)"));
        }
        if agg.proof.is_empty() || agg.instances.len() < ROOT_INDEX + 1 {
            return Err(FormatError::malformed(
                what,
                format!("{} proof bytes and {} instances", agg.proof.len(), agg.instances.len()),
            ));
        }
        Ok(agg)
    }

    /// The msgpack encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).expect("aggregated proof serialises")
    }

    /// Writes the file atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes())
    }

    /// The instance column as field elements (each must be canonical).
    pub fn instance_column(&self) -> Result<Vec<Fr>> {
        self.instances
            .iter()
            .enumerate()
            .map(|(j, b)| b.to_fr_named(format!("aggregated proof instance {j}")))
            .collect()
    }
}

/// Layout of the aggregation circuit (halo2-base's single-phase builder), as keygen chose it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregationShape {
    /// `log2` of the number of rows.
    pub k: u32,
    /// Gate columns.
    pub num_advice: usize,
    /// Lookup columns.
    pub num_lookup_advice: usize,
    /// Fixed (constant) columns.
    pub num_fixed: usize,
    /// Range-table bits.
    pub lookup_bits: usize,
}

impl AggregationShape {
    /// Bounds a reader can rely on (a file saying otherwise is malformed).
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !(10..=26).contains(&self.k) {
            return Err(format!("k = {} (expected 10..=26)", self.k));
        }
        if self.num_advice == 0
            || self.num_advice > 1024
            || self.num_lookup_advice > 1024
            || self.num_fixed > 64
        {
            return Err(format!(
                "{} gate, {} lookup and {} fixed columns",
                self.num_advice, self.num_lookup_advice, self.num_fixed
            ));
        }
        if self.lookup_bits == 0 || self.lookup_bits >= self.k as usize {
            return Err(format!("lookup_bits = {} at k = {}", self.lookup_bits, self.k));
        }
        Ok(())
    }
}

/// Aggregation key format version.
pub const AGGREGATION_KEY_VERSION: u32 = 1;

/// What the key directory records about an aggregation circuit of a model:
/// `aggregation/<vk digest>.json`, next to the verifying key it names (a model may have
/// several, one per size `k`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregationKeyRecord {
    /// [`AGGREGATION_KEY_VERSION`].
    pub version: u32,
    /// The model whose chunk verifying keys the circuit embeds.
    pub model_id: Bytes32,
    /// The SRS.
    pub srs_digest: Bytes32,
    /// The circuit's layout.
    pub shape: AggregationShape,
    /// Number of public instances.
    pub num_instances: usize,
    /// `keccak256("chunkproof/aggregation-vk/v1" ‖ msgpack(shape) ‖ vk bytes)`.
    pub vk_digest: Bytes32,
    /// The verifying key file, relative to the key directory.
    pub vk_file: String,
    /// For a tree: its arity (the circuit aggregates the proofs of nodes over groups of at
    /// most that many consecutive chunks, or of groups of those; a group of one passes its
    /// proof up unchanged). Absent: the circuit aggregates every chunk proof itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arity: Option<usize>,
}

/// Where the record of the aggregation key with digest `vk_digest` lives in a key directory.
pub fn aggregation_record_path(dir: &Path, vk_digest: &Bytes32) -> PathBuf {
    dir.join("aggregation").join(format!("{vk_digest}.json"))
}

/// The verifying-key file of that record, relative to the key directory.
pub fn aggregation_vk_file(vk_digest: &Bytes32) -> String {
    format!("aggregation/{vk_digest}.vk")
}

/// The digest of an aggregation verifying key.
pub fn aggregation_vk_digest(shape: &AggregationShape, vk_bytes: &[u8]) -> Bytes32 {
    let shape = rmp_serde::to_vec(shape).expect("shape serialises");
    crate::digest::keccak(&[b"chunkproof/aggregation-vk/v1", &shape, vk_bytes])
}

impl From<AggregationShape> for halo2_base::gates::circuit::BaseCircuitParams {
    fn from(s: AggregationShape) -> Self {
        Self {
            k: s.k as usize,
            num_advice_per_phase: vec![s.num_advice],
            num_lookup_advice_per_phase: vec![s.num_lookup_advice],
            num_fixed: s.num_fixed,
            lookup_bits: Some(s.lookup_bits),
            num_instance_columns: 1,
        }
    }
}

/// Parses an aggregation circuit's verifying key (halo2's processed encoding) for `shape`.
pub fn read_aggregation_vk(
    bytes: &[u8],
    shape: AggregationShape,
) -> Result<halo2_axiom::plonk::VerifyingKey<crate::field::G1Affine>> {
    use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
    let what = "aggregation verifying key";
    shape.validate().map_err(|e| FormatError::malformed(what, e))?;
    let parsed = std::panic::catch_unwind(|| {
        halo2_axiom::plonk::VerifyingKey::read::<_, BaseCircuitBuilder<Fr>>(
            &mut &bytes[..],
            halo2_axiom::SerdeFormat::Processed,
            shape.into(),
        )
    });
    match parsed {
        Ok(Ok(vk)) => Ok(vk),
        Ok(Err(e)) => Err(FormatError::malformed(what, e)),
        Err(_) => Err(FormatError::malformed(what, "parser panicked")),
    }
}
