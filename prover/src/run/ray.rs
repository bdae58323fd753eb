//! The Ray backend: chunk jobs as Ray tasks across a cluster.
//!
//! The bridge is a thin Python driver shipped inside this crate (`prover/ray/chunkproof_ray.py`,
//! written into the run directory at run time) that submits one task per chunk with retries
//! (`max_retries` plus `retry_exceptions`, so a worker process that exits non-zero or is killed
//! is retried), an optional custom resource (`--ray-resource`) and CPU or GPU requirements. Job
//! and result bytes travel through Ray's object store: the nodes share no filesystem, only the
//! worker binary at the same path (and an SRS file, if one is used). Each task runs the worker
//! binary's `prove-chunk` on its node; the driver here checks every result as for local workers.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::backend::{Backend, Work};
use super::job::{ChunkJob, ChunkResult, JobFile};
use super::local::log_tail;
use super::report::{RayEvent, RunEvent};
use super::rundir::result_file;
use crate::error::{ProverError, Result};

/// The Python driver's source.
pub const DRIVER_PY: &str = include_str!("../../ray/chunkproof_ray.py");
/// The Ray version the driver is tested with (pip: `ray==2.60.0`).
pub const RAY_VERSION: &str = "2.60.0";

/// Ray backend settings.
#[derive(Clone, Debug)]
pub struct RayOptions {
    /// Cluster address (`HOST:PORT`, or `auto`).
    pub address: String,
    /// The Python interpreter that has `ray` installed.
    pub python: PathBuf,
    /// The worker command before the job file, as run on every node.
    pub worker: Vec<String>,
    /// Key cache directory on the worker nodes (`~` is expanded there).
    pub keys_dir: String,
    /// Extra attempts per chunk.
    pub retries: u32,
    /// Custom resource every task needs one unit of (puts chunks on the nodes that have it).
    pub resource: Option<String>,
    /// CPUs per task.
    pub num_cpus: f64,
    /// GPUs per task (1 for GPU workers).
    pub num_gpus: f64,
    /// Extra environment for the worker processes.
    pub env: Vec<(String, String)>,
}

impl RayOptions {
    /// The environment this process passes on to Ray's worker processes: `RUST_LOG`, and the
    /// worker test hooks in builds that have them.
    pub fn forwarded_env() -> Vec<(String, String)> {
        let hooks: &[&str] = if crate::TEST_UTILS { &super::worker::TEST_HOOK_ENV } else { &[] };
        hooks
            .iter()
            .chain(&["RUST_LOG"])
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect()
    }
}

/// A Ray cluster.
#[derive(Clone, Debug)]
pub struct RayCluster(pub RayOptions);

impl Backend for RayCluster {
    fn describe(&self) -> String {
        format!("ray ({})", self.0.address)
    }

    fn prove(
        &self,
        work: Work<'_>,
        accept: &dyn Fn(&ChunkJob, &ChunkResult) -> Result<()>,
        events: &mut dyn FnMut(RunEvent),
    ) -> Result<Vec<(ChunkResult, Option<u32>)>> {
        let dir = work.run_dir("ray")?;
        run_ray(&self.0, dir, work.todo, &mut |e| events(RunEvent::Ray(e.clone())))?;
        work.todo
            .iter()
            .map(|&i| {
                let r = ChunkResult::read(&result_file(dir, i))?;
                accept(&work.jobs[i], &r)?;
                // Ray retries inside the cluster: the attempts are not known here.
                Ok((r, None))
            })
            .collect()
    }
}

/// Proves the chunks `todo` of the run in `dir` on the Ray cluster; their results are in
/// `dir/results/` when this returns `Ok`. Returns the `Done` events.
fn run_ray(
    opts: &RayOptions,
    dir: &Path,
    todo: &[usize],
    events: &mut dyn FnMut(&RayEvent),
) -> Result<Vec<RayEvent>> {
    let backend = |detail: String| ProverError::Backend { backend: "ray", detail };
    let script = dir.join("chunkproof_ray.py");
    chunkproof_core::write_atomic(&script, DRIVER_PY.as_bytes())?;
    let log = dir.join("logs").join("ray-driver.log");
    std::fs::create_dir_all(dir.join("logs")).map_err(|e| ProverError::io(dir.join("logs"), e))?;
    let log_handle = std::fs::File::create(&log).map_err(|e| ProverError::io(&log, e))?;
    let chunks: Vec<String> = todo.iter().map(|i| i.to_string()).collect();
    let env: serde_json::Map<String, serde_json::Value> =
        opts.env.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    let mut cmd = Command::new(&opts.python);
    cmd.arg("-u")
        .arg(&script)
        .args(["--address", &opts.address])
        .arg("--run-dir")
        .arg(dir)
        .args(["--chunks", &chunks.join(",")])
        .args(["--worker", &serde_json::to_string(&opts.worker).expect("json")])
        .args(["--keys-dir", &opts.keys_dir])
        .args(["--retries", &opts.retries.to_string()])
        .args(["--num-cpus", &opts.num_cpus.to_string()])
        .args(["--num-gpus", &opts.num_gpus.to_string()])
        .args(["--env", &serde_json::Value::Object(env).to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_handle));
    if let Some(r) = &opts.resource {
        cmd.args(["--resource", r]);
    }
    let mut child = cmd.spawn().map_err(|e| {
        backend(format!(
            "cannot start Python ({}): {e}; install Python 3 with ray=={RAY_VERSION}, or name the \
             interpreter in CHUNKPROOF_PYTHON",
            opts.python.display()
        ))
    })?;
    let stdout = child.stdout.take().expect("piped");
    let mut done = Vec::new();
    let mut failure: Option<ProverError> = None;
    for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
        let Ok(event) = serde_json::from_str::<RayEvent>(&line) else {
            log::debug!("ray driver: {line}");
            continue;
        };
        events(&event);
        match &event {
            RayEvent::Done { .. } => done.push(event),
            RayEvent::Failed { chunk, attempts, error } => {
                failure = Some(ProverError::ChunkFailed {
                    chunk: *chunk,
                    attempts: *attempts,
                    detail: format!("on the Ray cluster: {error}"),
                })
            }
            RayEvent::Error { error } => failure = Some(backend(error.clone())),
            _ => {}
        }
    }
    let status = child.wait().map_err(|e| ProverError::io(&script, e))?;
    match (status.code(), failure) {
        (Some(3), _) => Err(backend(format!(
            "{} has no `ray` module: pip install ray=={RAY_VERSION} (or name another interpreter in \
             CHUNKPROOF_PYTHON)",
            opts.python.display()
        ))),
        (_, Some(f)) => Err(f),
        (Some(0), None) => Ok(done),
        (code, None) => Err(backend(format!(
            "the Ray driver failed ({}); log {}:\n{}",
            code.map(|c| format!("exit status {c}")).unwrap_or_else(|| "killed".into()),
            log.display(),
            log_tail(&log, 10)
        ))),
    }
}
