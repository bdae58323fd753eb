//! The run directory: what makes a run resumable.
//!
//! ```text
//! DIR/run.json                 what was asked (model, input, chunks, options, setup) and the salts
//! DIR/jobs/chunk-NNNN.job      one self-contained job per chunk
//! DIR/results/chunk-NNNN.result  written atomically by whoever proved the chunk
//! DIR/logs/chunk-NNNN.attempt-A.log  each attempt's worker log
//! ```
//!
//! Resuming reuses the recorded salts, so the jobs come out byte for byte the same and every
//! result already in `results/` that answers its job (same job digest, proof verifies) is kept.
//! `run.json` and the jobs hold the salts and boundary activations: the directory is created
//! readable by its owner only.

use std::path::{Path, PathBuf};

use chunkproof_core::transcript::TranscriptKind;
use chunkproof_core::{keccak, read_capped, write_atomic, Bytes32};
use serde::{Deserialize, Serialize};

use super::config::ProveConfig;
use super::job::{ChunkJob, ChunkResult, JobFile};
use crate::error::{ProverError, Result};
use crate::model::InputRange;
use crate::setup::SetupChoice;

const RUN_FORMAT: &str = "chunkproof-run";
const RUN_VERSION: u32 = 1;

/// What identifies a run: a resumed run must ask for exactly the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunKey {
    /// Keccak of the model file.
    pub model: Bytes32,
    /// Keccak of the model input values.
    pub input: Bytes32,
    /// Chunks.
    pub chunks: usize,
    /// What the planner was asked for (absent in runs recorded before it could differ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<crate::plan::PlanRequest>,
    /// Public model input.
    pub input_public: bool,
    /// Public model output.
    pub output_public: bool,
    /// Smallest k.
    pub min_k: u32,
    /// Most advice columns of each kind (absent in runs recorded before circuits could be
    /// wider).
    #[serde(default = "narrow", skip_serializing_if = "is_narrow")]
    pub width: u32,
    /// The proofs' transcript (absent: Keccak).
    #[serde(default, skip_serializing_if = "TranscriptKind::is_default")]
    pub transcript: TranscriptKind,
    /// The range declared for the model input (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_range: Option<InputRange>,
    /// The setup.
    pub setup: SetupChoice,
}

fn range(r: Option<InputRange>) -> String {
    r.map_or("none".into(), |r| r.to_string())
}

fn narrow() -> u32 {
    1
}

fn is_narrow(w: &u32) -> bool {
    *w == 1
}

impl RunKey {
    /// The key of proving `model_bytes` on `input_values` with `cfg`, the model input declared
    /// within `input_range`.
    pub fn new(
        model_bytes: &[u8],
        input_values: &[i64],
        cfg: &ProveConfig,
        input_range: Option<InputRange>,
    ) -> Self {
        let input: Vec<u8> = input_values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Self {
            model: keccak(&[b"chunkproof/run/model", model_bytes]),
            input: keccak(&[b"chunkproof/run/input", &input]),
            chunks: cfg.chunks,
            plan: Some(cfg.plan_request()),
            input_public: cfg.input_public,
            output_public: cfg.output_public,
            min_k: cfg.min_k,
            width: cfg.width,
            transcript: cfg.transcript,
            input_range,
            setup: cfg.setup.clone(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct RunRecord {
    format: String,
    version: u32,
    key: RunKey,
    salts: Vec<Bytes32>,
}

/// An open run directory.
#[derive(Clone, Debug)]
pub struct RunDir {
    /// The directory.
    pub dir: PathBuf,
    /// Salts recorded by an earlier run, when resuming.
    pub salts: Option<Vec<Bytes32>>,
}

fn io<T>(path: &Path, r: std::io::Result<T>) -> Result<T> {
    r.map_err(|e| ProverError::io(path, e))
}

impl RunDir {
    /// Opens `dir` for the run `key`: creates it (owner-only) if new; if it holds an earlier
    /// run, that run must have the same key, and its salts are returned for reuse.
    pub fn open(dir: &Path, key: &RunKey) -> Result<Self> {
        let record = dir.join("run.json");
        if !record.exists() {
            create_private_dir(dir)?;
            return Ok(Self { dir: dir.to_path_buf(), salts: None });
        }
        let refuse = |detail: String| ProverError::Resume { dir: dir.to_path_buf(), detail };
        let bytes = read_capped(&record, 1 << 24, "run record")?;
        let rec: RunRecord =
            serde_json::from_slice(&bytes).map_err(|e| refuse(format!("run.json is malformed: {e}")))?;
        if rec.format != RUN_FORMAT || rec.version != RUN_VERSION {
            return Err(refuse(format!(
                "run.json is {} v{}, expected {RUN_FORMAT} v{RUN_VERSION}",
                rec.format, rec.version
            )));
        }
        let k = &rec.key;
        let diffs: Vec<String> = [
            (k.model != key.model, "model file".to_string()),
            (k.input != key.input, "model input".to_string()),
            (k.chunks != key.chunks, format!("chunks ({} then, {} now)", k.chunks, key.chunks)),
            (k.input_public != key.input_public, "--public-input".to_string()),
            (k.output_public != key.output_public, "--private-output".to_string()),
            (k.min_k != key.min_k, "--min-k".to_string()),
            (k.width != key.width, format!("--width ({} then, {} now)", k.width, key.width)),
            (
                k.transcript != key.transcript,
                format!("--transcript ({} then, {} now)", k.transcript, key.transcript),
            ),
            (
                k.input_range != key.input_range,
                format!("--input-range ({} then, {} now)", range(k.input_range), range(key.input_range)),
            ),
            (k.setup != key.setup, "setup".to_string()),
        ]
        .into_iter()
        .filter_map(|(differs, what)| differs.then_some(what))
        .collect();
        if !diffs.is_empty() {
            return Err(refuse(format!("it holds a run with another {}", diffs.join(", "))));
        }
        if rec.salts.len() != key.chunks + 1 {
            return Err(refuse(format!("run.json has {} salts for {} chunks", rec.salts.len(), key.chunks)));
        }
        Ok(Self { dir: dir.to_path_buf(), salts: Some(rec.salts) })
    }

    /// Records the run (first time only) and writes the jobs.
    pub fn record(&self, key: &RunKey, salts: Vec<Bytes32>, jobs: &[ChunkJob]) -> Result<()> {
        let record = self.dir.join("run.json");
        if !record.exists() {
            let rec = RunRecord { format: RUN_FORMAT.into(), version: RUN_VERSION, key: key.clone(), salts };
            write_atomic(&record, &serde_json::to_vec_pretty(&rec).expect("run record serialises"))?;
        }
        for job in jobs {
            job.write(&job_file(&self.dir, job.index))?;
        }
        Ok(())
    }

    /// Results already present for `jobs`: `Some` where a result file answers its job.
    /// Unreadable or foreign results are ignored (and logged): the chunk is proven again.
    pub fn finished(&self, jobs: &[ChunkJob]) -> Vec<Option<ChunkResult>> {
        jobs.iter()
            .map(|job| {
                let path = result_file(&self.dir, job.index);
                if !path.exists() {
                    return None;
                }
                match ChunkResult::read(&path) {
                    Ok(r) if r.index == job.index && r.job_digest == job.digest() => Some(r),
                    Ok(_) => {
                        log::warn!(
                            "{}: answers another job; proving chunk {} again",
                            path.display(),
                            job.index
                        );
                        None
                    }
                    Err(e) => {
                        log::warn!("{e}; proving chunk {} again", job.index);
                        None
                    }
                }
            })
            .collect()
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    io(dir, std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<()> {
    io(dir, std::fs::create_dir_all(dir))
}

/// The job file of chunk `i` in run directory `dir`.
pub fn job_file(dir: &Path, i: usize) -> PathBuf {
    dir.join("jobs").join(format!("chunk-{i:04}.job"))
}

/// The result file of chunk `i`.
pub fn result_file(dir: &Path, i: usize) -> PathBuf {
    dir.join("results").join(format!("chunk-{i:04}.result"))
}

/// The log of attempt `attempt` (1-based) at chunk `i`.
pub fn log_file(dir: &Path, i: usize, attempt: u32) -> PathBuf {
    dir.join("logs").join(format!("chunk-{i:04}.attempt-{attempt}.log"))
}
