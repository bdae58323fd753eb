//! Self-contained chunk jobs and their results: the unit of work that a local worker process, a
//! Ray task or a GPU worker proves, anywhere, with nothing shared but the setup reference.
//!
//! A [`ChunkJob`] carries the model file itself, the driver's plan (checked, not trusted), the
//! chunk's private boundary values, both salts, both Merkle paths and the root. A
//! [`ChunkResult`] carries the proof, its public instances and the chunk's verifying key, so the
//! driver can check it and assemble the bundle without a shared key directory. Both are msgpack
//! files with a format name and version, written atomically.
//!
//! A job holds private data (boundary activations and salts): treat job files like the model
//! input itself.

use std::path::Path;

use chunkproof_core::shape::ChunkCircuitParams;
use chunkproof_core::transcript::TranscriptKind;
use chunkproof_core::{keccak, read_capped, write_atomic, Bytes32};
use serde::{Deserialize, Serialize};

use crate::circuit::Fr;
use crate::error::{ProverError, Result};
use crate::keygen::KeyMeta;
use crate::model::{Graph, InputRange};
use crate::plan::{plan, Split};
use crate::setup::SetupChoice;
use crate::witness::{ChunkSpec, ChunkWitness};

/// Format name of job files.
pub const JOB_FORMAT: &str = "chunkproof-chunk-job";
/// Format name of result files.
pub const RESULT_FORMAT: &str = "chunkproof-chunk-result";
/// Version of both formats.
pub const JOB_VERSION: u32 = 2;
/// Largest job or result file read (models are carried inside jobs).
pub const MAX_JOB_BYTES: u64 = 1 << 30;

/// One chunk to prove.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkJob {
    /// [`JOB_FORMAT`].
    pub format: String,
    /// [`JOB_VERSION`].
    pub version: u32,
    /// Chunk index.
    pub index: usize,
    /// Number of chunks of the run.
    pub num_chunks: usize,
    /// The zkml msgpack model file, verbatim.
    #[serde(with = "serde_bytes")]
    pub model: Vec<u8>,
    /// Layers the driver cut into parts (positions in the model file's execution order); the
    /// worker applies the same rewrite before it re-plans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub splits: Vec<Split>,
    /// The driver's layer cuts (of the model with its layers split); the worker re-plans and
    /// refuses the job if they differ.
    pub cuts: Vec<usize>,
    /// Model inputs public in chunk 0.
    pub input_public: bool,
    /// Model outputs public in the last chunk.
    pub output_public: bool,
    /// Smallest circuit size.
    pub min_k: u32,
    /// Most advice columns of each kind (jobs written before circuits could be wider read as 1).
    #[serde(default = "narrow", skip_serializing_if = "is_narrow")]
    pub width: u32,
    /// The proof's Fiat–Shamir transcript (left out when Keccak, so older jobs read as Keccak).
    #[serde(default, skip_serializing_if = "TranscriptKind::is_default")]
    pub transcript: TranscriptKind,
    /// Products may be checked with random challenges ([`crate::model::Graph::product_check`]);
    /// jobs written before the choice existed read as `true`.
    #[serde(default = "product_check_default")]
    pub product_check: bool,
    /// The range declared for the model input ([`crate::model::Graph::input_range`]; absent:
    /// none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_range: Option<InputRange>,
    /// Where the SRS comes from.
    pub setup: SetupChoice,
    /// The values of the leaves the chunk reads, leaf after leaf.
    pub inputs: Vec<i64>,
    /// The values of the leaf it writes, `A_{i+1}`, as the driver's interpreter computed them
    /// (the circuit must compute the same).
    pub outputs: Vec<i64>,
    /// The salts of the leaves it reads.
    pub salts_in: Vec<Bytes32>,
    /// `s_{i+1}`.
    pub salt_out: Bytes32,
    /// Siblings of each leaf it reads.
    pub paths_in: Vec<Vec<Bytes32>>,
    /// Siblings of leaf `i+1`.
    pub path_out: Vec<Bytes32>,
    /// The Merkle root `R`.
    pub root: Bytes32,
}

fn narrow() -> u32 {
    1
}

fn is_narrow(w: &u32) -> bool {
    *w == 1
}

fn product_check_default() -> bool {
    true
}

/// A proven chunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkResult {
    /// [`RESULT_FORMAT`].
    pub format: String,
    /// [`JOB_VERSION`].
    pub version: u32,
    /// Chunk index.
    pub index: usize,
    /// [`ChunkJob::digest`] of the job this answers.
    pub job_digest: Bytes32,
    /// Circuit digest (the key cache entry).
    pub circuit_digest: Bytes32,
    /// Shape, break points, size figures and VK digest.
    pub meta: KeyMeta,
    /// The verifying key (`Processed` format).
    #[serde(with = "serde_bytes")]
    pub vk: Vec<u8>,
    /// Public instances.
    pub instances: Vec<Bytes32>,
    /// The SHPLONK proof.
    #[serde(with = "serde_bytes")]
    pub proof: Vec<u8>,
    /// The proof engine's description.
    pub engine: String,
    /// Keys came from the worker's cache.
    pub keys_cached: bool,
    /// Sizing and witness generation, ms.
    pub witness_ms: u64,
    /// Keygen or key loading, ms.
    pub keygen_ms: u64,
    /// Proving, ms.
    pub prove_ms: u64,
    /// Obtaining the SRS parameters (dev setup generation or file reading), ms.
    pub srs_ms: u64,
    /// Peak RSS of the worker process, KiB (Linux).
    pub peak_rss_kib: Option<u64>,
    /// Host name of the worker.
    pub host: String,
}

/// Stages a worker reports while proving one job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "kebab-case")]
pub enum Stage {
    /// The circuit is sized.
    Sized {
        /// Shape.
        params: ChunkCircuitParams,
    },
    /// Keys are ready.
    Keys {
        /// From the cache?
        cached: bool,
        /// ms.
        ms: u64,
    },
    /// Proving started.
    Proving,
}

/// The two file types of this module: versioned msgpack with a format name, read with a size
/// cap, written atomically.
pub trait JobFile: Serialize + serde::de::DeserializeOwned {
    /// Format name in the file.
    const FORMAT: &'static str;

    /// The file's bytes.
    fn to_bytes(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).expect("job types serialise")
    }

    /// Parses the bytes; `path` names the file in errors. The format name and version are
    /// checked first, so a file of another kind or version is refused by name.
    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        #[derive(Deserialize)]
        struct Head {
            format: String,
            version: u32,
        }
        let format = Self::FORMAT;
        let bad = |detail: String| ProverError::BadJobFile { path: path.to_path_buf(), detail };
        let head: Head =
            rmp_serde::from_slice(bytes).map_err(|e| bad(format!("not a {format} file: {e}")))?;
        if head.format != format {
            return Err(bad(format!("format is {:?}, expected {format:?}", head.format)));
        }
        if head.version != JOB_VERSION {
            return Err(bad(format!("{format} version {} (this build reads {JOB_VERSION})", head.version)));
        }
        rmp_serde::from_slice(bytes).map_err(|e| bad(format!("malformed {format}: {e}")))
    }

    /// Reads the file.
    fn read(path: &Path) -> Result<Self> {
        Self::from_bytes(&read_capped(path, MAX_JOB_BYTES, Self::FORMAT)?, path)
    }

    /// Writes the file atomically.
    fn write(&self, path: &Path) -> Result<()> {
        Ok(write_atomic(path, &self.to_bytes())?)
    }
}

impl JobFile for ChunkJob {
    const FORMAT: &'static str = JOB_FORMAT;
}

impl JobFile for ChunkResult {
    const FORMAT: &'static str = RESULT_FORMAT;
}

impl ChunkJob {
    /// Keccak digest of the job's bytes; a result names the job it answers by it.
    pub fn digest(&self) -> Bytes32 {
        keccak(&[b"chunkproof/job/v1", &self.to_bytes()])
    }

    /// The public instances the chunk's proof must have: `R`, then the model inputs (chunk 0,
    /// if public), then the model outputs (last chunk, if public).
    pub fn expected_instances(&self) -> Vec<Bytes32> {
        let mut out = vec![self.root];
        let value = |x: &i64| Bytes32::from_fr(&chunkproof_core::fr_from_i64(*x));
        if self.index == 0 && self.input_public {
            out.extend(self.inputs.iter().map(value));
        }
        if self.index + 1 == self.num_chunks && self.output_public {
            out.extend(self.outputs.iter().map(value));
        }
        out
    }

    /// The model the job proves a chunk of: the model file, with the job's layers split.
    pub fn graph(&self, path: &Path) -> Result<Graph> {
        let mut graph = crate::model::parse_model(&self.model, path)?;
        if !self.splits.is_empty() {
            graph = crate::plan::split::apply(&graph, &self.splits)?.graph;
        }
        graph.product_check = self.product_check;
        graph.input_range = self.input_range;
        Ok(graph)
    }

    /// The chunk's circuit description: the job's cuts must be this build's plan of the model.
    pub fn spec(&self, graph: &Graph, path: &Path) -> Result<ChunkSpec> {
        let bad = |detail: String| ProverError::BadJobFile { path: path.to_path_buf(), detail };
        let plan = plan(graph, self.num_chunks, self.width, self.input_public, self.output_public)?;
        if plan.cuts != self.cuts {
            return Err(bad(format!(
                "the job's layer cuts {:?} differ from this build's plan {:?} (driver and worker versions differ?)",
                self.cuts, plan.cuts
            )));
        }
        if self.index >= plan.num_chunks() {
            return Err(bad(format!("chunk index {} of a {}-chunk plan", self.index, plan.num_chunks())));
        }
        Ok(ChunkSpec::of(&plan, self.index))
    }

    /// The chunk's private witness (boundary values, salts, paths, root).
    pub fn witness(&self, path: &Path) -> Result<ChunkWitness> {
        let fr = |b: &Bytes32, what: &str| {
            b.to_fr().ok_or_else(|| ProverError::BadJobFile {
                path: path.to_path_buf(),
                detail: format!("{what} is not a canonical field element"),
            })
        };
        let frs = |v: &[Bytes32], what: &str| v.iter().map(|b| fr(b, what)).collect::<Result<Vec<Fr>>>();
        Ok(ChunkWitness {
            inputs: self.inputs.clone(),
            salts_in: frs(&self.salts_in, "salts_in")?,
            salt_out: fr(&self.salt_out, "salt_out")?,
            paths_in: self.paths_in.iter().map(|p| frs(p, "paths_in")).collect::<Result<_>>()?,
            path_out: frs(&self.path_out, "path_out")?,
            root: fr(&self.root, "root")?,
        })
    }
}
