//! Proving with worker processes or a Ray cluster, resumable: the driver prepares and records
//! the run in its run directory, reuses every result already there, has the backend prove the
//! rest, checks each result, and assembles and verifies the bundle only when all chunks are
//! done. A failure leaves the finished results in the run directory and no bundle.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chunkproof_verifier::{Bundle, Bytes32};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_core::OsRng;

use crate::driver::{assemble, check_result, derive_keys, memory_estimate, prepare, result_file, Provenance};
use crate::error::{ProverError, Result};
use crate::job::{ChunkJob, ChunkResult, JobFile};
use crate::local::{run_local, LocalOptions, PoolEvent, Work, WorkerCommand};
use crate::model::{Graph, ModelInput};
use crate::prove::{ProveConfig, ProveReport};
use crate::ray::{run_ray, RayEvent, RayOptions};
use crate::rundir::{RunDir, RunKey};
use crate::setup::{SetupChoice, Srs};

/// Where the chunk jobs run.
#[derive(Clone, Debug)]
pub enum Backend {
    /// Local worker processes.
    Local {
        /// The worker command.
        cmd: WorkerCommand,
        /// Pool settings.
        opts: LocalOptions,
    },
    /// Ray tasks.
    Ray(RayOptions),
}

impl Backend {
    fn describe(&self) -> String {
        match self {
            Backend::Local { opts, .. } => format!("local workers ({})", opts.workers),
            Backend::Ray(r) => format!("ray ({})", r.address),
        }
    }
}

/// Where the salts come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Salts {
    /// Fresh from the operating system (always, in real use).
    Random,
    /// INSECURE, tests only (accepted with the dev setup only): salts from a seed, so runs with
    /// different backends commit to the same root.
    InsecureSeed(u64),
}

/// What a run reports while it goes.
#[derive(Clone, Debug)]
pub enum RunEvent {
    /// The driver's part is done.
    Planned {
        /// Layer cuts.
        cuts: Vec<usize>,
        /// Estimated memory per chunk, bytes.
        estimates: Vec<u64>,
        /// Chunks whose results were reused from the run directory.
        reused: Vec<usize>,
    },
    /// From the local pool.
    Local(PoolEvent),
    /// From the Ray driver.
    Ray(RayEvent),
    /// The driver has a chunk's verifying key (derived or loaded from its key directory).
    KeyDerived {
        /// Chunk.
        chunk: usize,
        /// Loaded from the key directory?
        cached: bool,
        /// Time, ms.
        ms: u128,
    },
    /// A result already in the run directory was refused (it is proven again).
    ResultRefused {
        /// Chunk.
        chunk: usize,
        /// Why.
        reason: String,
    },
    /// Every chunk is proven; the bundle is being assembled and verified.
    Assembling,
}

/// A finished run.
pub struct Finished {
    /// The verified bundle (not yet written).
    pub bundle: Bundle,
    /// Measurements.
    pub report: ProveReport,
    /// Chunks reused from an earlier run.
    pub reused: Vec<usize>,
}

/// The model to prove.
#[derive(Clone, Copy)]
pub struct ModelRef<'a> {
    /// The parsed graph.
    pub graph: &'a Graph,
    /// The model file it was parsed from (jobs carry it).
    pub bytes: &'a [u8],
    /// The input.
    pub input: &'a ModelInput,
}

/// Proves `model` with `backend`, keeping the run in `run_dir` (created, or resumed when it
/// holds the same run).
pub fn prove_distributed(
    model: ModelRef<'_>,
    cfg: &ProveConfig,
    backend: &Backend,
    run_dir: &Path,
    salts: Salts,
    events: &mut dyn FnMut(RunEvent),
) -> Result<Finished> {
    let ModelRef { graph, bytes: model_bytes, input } = model;
    let start = Instant::now();
    if let (Salts::InsecureSeed(_), SetupChoice::File { .. }) = (salts, &cfg.setup) {
        return Err(ProverError::Setup {
            detail: "seeded (insecure, test-only) salts are refused with a real setup".into(),
        });
    }
    let input_values: Vec<i64> = input.tensors.values().flatten().copied().collect();
    let key = RunKey::new(model_bytes, &input_values, cfg);
    let rd = RunDir::open(run_dir, &key)?;
    let recorded = rd.salts.clone();
    let prep = match (recorded, salts) {
        (Some(s), _) => prepare(graph, model_bytes, input, cfg, Some(s), &mut OsRng)?,
        (None, Salts::Random) => prepare(graph, model_bytes, input, cfg, None, &mut OsRng)?,
        (None, Salts::InsecureSeed(seed)) => {
            prepare(graph, model_bytes, input, cfg, None, &mut ChaCha20Rng::seed_from_u64(seed))?
        }
    };
    let salts: Vec<Bytes32> = prep.linkage.salts.iter().map(Bytes32::from_fr).collect();
    rd.record(&key, salts, &prep.jobs)?;
    let mut srs = Srs::open(&cfg.setup, Some(&cfg.keys_dir))?;
    // The driver's own verifying keys: every result is checked against them.
    let keys = derive_keys(graph, &prep, cfg, &mut srs, &mut |chunk, k| {
        events(RunEvent::KeyDerived { chunk, cached: k.cached, ms: k.ms })
    })?;

    let n = prep.jobs.len();
    let mut results: Vec<Option<ChunkResult>> = rd.finished(&prep.jobs);
    for ((job, r), key) in prep.jobs.iter().zip(results.iter_mut()).zip(&keys) {
        if let Some(res) = r {
            if let Err(e) = check_result(job, res, key, srs.verifier()) {
                log::warn!("{e}; proving it again");
                events(RunEvent::ResultRefused { chunk: job.index, reason: e.to_string() });
                *r = None;
            }
        }
    }
    let reused: Vec<usize> = (0..n).filter(|i| results[*i].is_some()).collect();
    let todo: Vec<usize> = (0..n).filter(|i| results[*i].is_none()).collect();
    let estimates: Vec<u64> = (0..n).map(|i| memory_estimate(&prep.plan, i, cfg.min_k)).collect();
    events(RunEvent::Planned {
        cuts: prep.plan.cuts.clone(),
        estimates: estimates.clone(),
        reused: reused.clone(),
    });

    // Reused chunks took no attempt in this run.
    let mut attempts = vec![Some(0u32); n];
    if !todo.is_empty() {
        match backend {
            Backend::Local { cmd, opts } => {
                let accept =
                    |job: &ChunkJob, r: &ChunkResult| check_result(job, r, &keys[job.index], srs.verifier());
                let work = Work { dir: run_dir, jobs: &prep.jobs, todo: &todo, estimates: &estimates };
                let done = run_local(cmd, opts, work, &accept, &mut |e| events(RunEvent::Local(e)))?;
                for (r, a) in done {
                    attempts[r.index] = Some(a);
                    let i = r.index;
                    results[i] = Some(r);
                }
            }
            Backend::Ray(opts) => {
                run_ray(opts, run_dir, &todo, &mut |e| events(RunEvent::Ray(e.clone())))?;
                for &i in &todo {
                    let r = ChunkResult::read(&result_file(run_dir, i))?;
                    check_result(&prep.jobs[i], &r, &keys[i], srs.verifier())?;
                    attempts[i] = None;
                    results[i] = Some(r);
                }
            }
        }
    }
    let results: Vec<ChunkResult> = results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.ok_or_else(|| ProverError::ChunkFailed {
                chunk: i,
                attempts: 0,
                detail: "the backend returned no result (a bug)".into(),
            })
        })
        .collect::<Result<_>>()?;
    events(RunEvent::Assembling);
    let how = Provenance { backend: backend.describe(), start, attempts };
    let (bundle, report) = assemble(graph, cfg, &prep, &srs, &keys, &results, &how)?;
    Ok(Finished { bundle, report, reused })
}

/// A fresh private run directory for a run without `--resume` (kept on failure so the run can
/// be resumed, removed by the caller on success).
pub fn temp_run_dir() -> Result<PathBuf> {
    let dir = tempfile::Builder::new()
        .prefix("chunkproof-run-")
        .tempdir()
        .map_err(|e| ProverError::io(std::env::temp_dir(), e))?;
    Ok(dir.keep())
}
