//! Proving a model in chunks, from the model to the verified bundle.
//!
//! The data flow, and the module of each step:
//! model → plan → linkage (salts, leaves, root) → chunk jobs ([`driver::prepare`], [`job`]) →
//! every chunk's verifying key, derived by the driver ([`driver::derive_keys`]) → proofs, made
//! wherever the [`Backend`] runs its jobs ([`worker`] is what a worker does with one) → each
//! result checked under the driver's key ([`driver::check_result`]) → the key set and the
//! bundle, verified before it is returned ([`driver::assemble`]).
//!
//! [`prove`] runs all of it, resumably when given a run directory ([`rundir`]): results already
//! there are checked and reused, and a failure leaves the finished results and no bundle.

pub mod backend;
pub mod config;
pub mod driver;
pub mod job;
pub mod local;
pub mod ray;
pub mod report;
pub mod rundir;
pub mod worker;

use std::path::{Path, PathBuf};
use std::time::Instant;

use chunkproof_core::{Bundle, Bytes32};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_core::OsRng;

pub use backend::{Backend, InProcess, Work};
pub use config::{ModelRef, ProveConfig, Salts};
pub use local::{LocalOptions, LocalWorkers, WorkerCommand};
pub use ray::{RayCluster, RayOptions};
pub use report::{ChunkReport, ProveReport, RunEvent, WorkerEvent};

use crate::engine::{CpuEngine, ProofEngine};
use crate::error::{ProverError, Result};
use crate::model::{Graph, ModelInput};
use crate::setup::{SetupChoice, Srs};
use driver::{assemble, check_result, derive_keys, memory_estimate, prepare, Provenance};
use job::ChunkResult;
use rundir::{RunDir, RunKey};

/// A finished run.
pub struct Finished {
    /// The verified bundle (not yet written).
    pub bundle: Bundle,
    /// Measurements.
    pub report: ProveReport,
    /// Chunks reused from an earlier run.
    pub reused: Vec<usize>,
}

/// Proves `model` with `backend`. With `run_dir`, the run is recorded there (created, or
/// resumed when it holds the same run) and every result already there that passes the driver's
/// check is reused; local workers and Ray need one.
pub fn prove(
    model: ModelRef<'_>,
    cfg: &ProveConfig,
    backend: &dyn Backend,
    run_dir: Option<&Path>,
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
    let key = RunKey::new(model_bytes, &input_values, cfg, graph.input_range);
    let rd = run_dir.map(|d| RunDir::open(d, &key)).transpose()?;
    let recorded = rd.as_ref().and_then(|r| r.salts.clone());
    let prep = match (recorded, salts) {
        (Some(s), _) => prepare(graph, model_bytes, input, cfg, Some(s), &mut OsRng)?,
        (None, Salts::Random) => prepare(graph, model_bytes, input, cfg, None, &mut OsRng)?,
        (None, Salts::InsecureSeed(seed)) => {
            prepare(graph, model_bytes, input, cfg, None, &mut ChaCha20Rng::seed_from_u64(seed))?
        }
    };
    if let Some(rd) = &rd {
        let salts: Vec<Bytes32> = prep.linkage.salts.iter().map(Bytes32::from_fr).collect();
        rd.record(&key, salts, &prep.jobs)?;
    }
    // From here on, the model as proven (layers the planner split replaced by their parts).
    let graph = &prep.graph;
    let mut srs = Srs::open(&cfg.setup, Some(&cfg.keys_dir))?;
    // The driver's own verifying keys: every result is checked against them.
    let keys = derive_keys(graph, &prep, cfg, &mut srs, &mut |chunk, k| {
        events(RunEvent::KeyDerived { chunk, cached: k.cached, ms: k.ms })
    })?;
    let accept =
        |job: &job::ChunkJob, r: &ChunkResult| check_result(job, r, &keys[job.index], srs.verifier());

    let n = prep.jobs.len();
    let mut results: Vec<Option<ChunkResult>> = match &rd {
        Some(rd) => rd.finished(&prep.jobs),
        None => vec![None; n],
    };
    for (job, r) in prep.jobs.iter().zip(results.iter_mut()) {
        if let Some(res) = r {
            if let Err(e) = accept(job, res) {
                log::warn!("{e}; proving it again");
                events(RunEvent::ResultRefused { chunk: job.index, reason: e.to_string() });
                *r = None;
            }
        }
    }
    let reused: Vec<usize> = (0..n).filter(|i| results[*i].is_some()).collect();
    let todo: Vec<usize> = (0..n).filter(|i| results[*i].is_none()).collect();
    let estimates: Vec<u64> = (0..n).map(|i| memory_estimate(&prep.plan, i, cfg.min_k, cfg.width)).collect();
    events(RunEvent::Planned {
        cuts: prep.plan.cuts.clone(),
        estimates: estimates.clone(),
        reused: reused.clone(),
    });

    // Reused chunks took no attempt in this run.
    let mut attempts = vec![Some(0u32); n];
    if !todo.is_empty() {
        let work = Work {
            graph,
            cfg,
            dir: rd.as_ref().map(|r| r.dir.as_path()),
            jobs: &prep.jobs,
            keys: &keys,
            todo: &todo,
            estimates: &estimates,
        };
        for (r, a) in backend.prove(work, &accept, events)? {
            let i = r.index;
            attempts[i] = a;
            results[i] = Some(r);
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

/// Proves `graph` on `input` in this process on the CPU and returns the verified bundle.
pub fn prove_model(
    graph: &Graph,
    input: &ModelInput,
    cfg: &ProveConfig,
    events: &mut dyn FnMut(RunEvent),
) -> Result<(Bundle, ProveReport)> {
    prove_model_with(graph, input, cfg, &CpuEngine, events)
}

/// [`prove_model`] with the proofs made by `engine` (every other step is the same for every
/// engine and backend).
pub fn prove_model_with(
    graph: &Graph,
    input: &ModelInput,
    cfg: &ProveConfig,
    engine: &dyn ProofEngine,
    events: &mut dyn FnMut(RunEvent),
) -> Result<(Bundle, ProveReport)> {
    let model = ModelRef { graph, bytes: &[], input };
    let f = prove(model, cfg, &InProcess { engine }, None, Salts::Random, events)?;
    Ok((f.bundle, f.report))
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
