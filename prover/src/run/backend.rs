//! Where chunk jobs are proven: one interface for every backend. The driver hands a backend the
//! jobs to prove and its check of a result; the backend returns the accepted results.
//!
//! | backend | where | module |
//! |---|---|---|
//! | [`InProcess`] | this process, one chunk after the other, with any [`ProofEngine`] | here |
//! | [`LocalWorkers`](super::local::LocalWorkers) | worker processes on this machine | [`super::local`] |
//! | [`RayCluster`](super::ray::RayCluster) | Ray tasks across a cluster | [`super::ray`] |

use std::path::{Path, PathBuf};

use super::config::ProveConfig;
use super::job::{ChunkJob, ChunkResult};
use super::report::{RunEvent, WorkerEvent};
use super::worker::prove_job_with;
use crate::engine::ProofEngine;
use crate::error::Result;
use crate::keygen::ChunkVk;
use crate::model::Graph;

/// What a backend is to prove.
#[derive(Clone, Copy)]
pub struct Work<'a> {
    /// The model (parsed).
    pub graph: &'a Graph,
    /// The run's configuration.
    pub cfg: &'a ProveConfig,
    /// The run directory, where jobs, results and logs live (local workers and Ray need one).
    pub dir: Option<&'a Path>,
    /// Every job of the run.
    pub jobs: &'a [ChunkJob],
    /// The driver's verifying key of every chunk.
    pub keys: &'a [ChunkVk],
    /// The chunks to prove.
    pub todo: &'a [usize],
    /// Estimated peak memory per chunk, bytes.
    pub estimates: &'a [u64],
}

impl<'a> Work<'a> {
    /// The run directory, which `backend` cannot work without.
    pub(crate) fn run_dir(&self, backend: &'static str) -> Result<&'a Path> {
        self.dir.ok_or_else(|| crate::error::ProverError::Backend {
            backend,
            detail: "this backend needs a run directory (a bug in the caller)".into(),
        })
    }
}

/// A place where chunk jobs are proven.
pub trait Backend {
    /// For logs and the bundle's metadata, e.g. `local workers (2)`.
    fn describe(&self) -> String;

    /// Proves `work.todo`; returns each result that passed `accept` (the driver's check) with the
    /// attempts it took (`None` where the backend does not know them).
    fn prove(
        &self,
        work: Work<'_>,
        accept: &dyn Fn(&ChunkJob, &ChunkResult) -> Result<()>,
        events: &mut dyn FnMut(RunEvent),
    ) -> Result<Vec<(ChunkResult, Option<u32>)>>;
}

/// Every chunk in this process, one after the other, with `engine`.
#[derive(Clone, Copy)]
pub struct InProcess<'e> {
    /// Makes the proofs.
    pub engine: &'e dyn ProofEngine,
}

impl Backend for InProcess<'_> {
    fn describe(&self) -> String {
        "in-process (sequential)".into()
    }

    fn prove(
        &self,
        work: Work<'_>,
        accept: &dyn Fn(&ChunkJob, &ChunkResult) -> Result<()>,
        events: &mut dyn FnMut(RunEvent),
    ) -> Result<Vec<(ChunkResult, Option<u32>)>> {
        let mut done = Vec::with_capacity(work.todo.len());
        for &chunk in work.todo {
            let job = &work.jobs[chunk];
            events(RunEvent::Worker(WorkerEvent::Started { chunk, attempt: 1, pid: std::process::id() }));
            let label = PathBuf::from(format!("<chunk {chunk} job>"));
            let known = Some((work.keys[chunk].clone(), None));
            let r = prove_job_with(
                job,
                work.graph,
                &label,
                &work.cfg.keys_dir,
                work.cfg.cache_pk,
                self.engine,
                known,
                &mut |stage| events(RunEvent::Worker(WorkerEvent::Stage { chunk, stage })),
            )?;
            accept(job, &r)?;
            events(RunEvent::Worker(WorkerEvent::Done { chunk, result: Box::new(r.clone()) }));
            done.push((r, Some(1)));
        }
        Ok(done)
    }
}
