//! The body of a worker's `prove-chunk` command (shared by `chunkproof` and the GPU worker),
//! with the test hooks the fault tests of the local and Ray backends use (`test-utils` only).

use std::path::Path;

use crate::engine::ProofEngine;
use crate::error::Result;
use crate::job::{prove_job, ChunkJob, ChunkResult, JobFile, Stage};

/// Test hooks of worker processes (environment variables, for the fault tests of the local
/// and Ray backends; only in builds with the `test-utils` feature):
/// `CHUNKPROOF_WORKER_START_DELAY_MS` sleeps before proving (a window to kill the worker in);
/// `CHUNKPROOF_WORKER_FAIL_CHUNK=i` makes every attempt at chunk `i` fail.
#[cfg(feature = "test-utils")]
fn worker_test_hooks(chunk: usize) -> Result<()> {
    if let Some(ms) = std::env::var("CHUNKPROOF_WORKER_START_DELAY_MS").ok().and_then(|v| v.parse().ok()) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    if std::env::var("CHUNKPROOF_WORKER_FAIL_CHUNK").ok().and_then(|v| v.parse::<usize>().ok()) == Some(chunk)
    {
        return Err(crate::error::ProverError::Backend {
            backend: "test",
            detail: format!("injected failure of chunk {chunk} (CHUNKPROOF_WORKER_FAIL_CHUNK)"),
        });
    }
    Ok(())
}

/// The body of a worker's `prove-chunk` command: reads the job, proves it with `engine`,
/// writes the result atomically. With `progress_json`, prints each [`Stage`] as a JSON line on
/// stdout (what the local backend reads).
pub fn run_worker(
    job_path: &Path,
    out: &Path,
    keys_dir: &Path,
    cache_pk: bool,
    engine: &dyn ProofEngine,
    progress_json: bool,
) -> Result<ChunkResult> {
    let job = ChunkJob::read(job_path)?;
    log::info!("chunk {} of {}: proving with {}", job.index, job.num_chunks, engine.describe());
    #[cfg(feature = "test-utils")]
    worker_test_hooks(job.index)?;
    let mut progress = |s: Stage| {
        if progress_json {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", serde_json::to_string(&s).expect("stage serialises"));
            let _ = out.flush();
        }
    };
    let result = prove_job(&job, job_path, keys_dir, cache_pk, engine, &mut progress)?;
    result.write(out)?;
    Ok(result)
}
