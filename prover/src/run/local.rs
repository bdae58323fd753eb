//! The local backend: one worker **process** per chunk job (so a chunk's memory is returned to
//! the system when it ends), at most `workers` at a time and, with a memory budget, only as
//! many as the budget's estimate allows. A worker that exits non-zero, is killed, or returns a
//! result that fails the driver's check is retried; a chunk that fails every attempt stops the
//! run with its log, and the running workers are killed.
//!
//! Workers are `PROGRAM ARGS… JOB --out RESULT --keys DIR --progress-json` (the `prove-chunk`
//! command of `chunkproof` or of the GPU worker); they print their stages as JSON lines on
//! stdout and write the result file atomically.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::backend::{Backend, Work};
use super::job::{ChunkJob, ChunkResult, JobFile, Stage};
use super::report::{RunEvent, WorkerEvent};
use super::rundir::{job_file, log_file, result_file};
use crate::error::{ProverError, Result};

/// The worker program and its leading arguments (e.g. `chunkproof prove-chunk --engine cpu`).
#[derive(Clone, Debug)]
pub struct WorkerCommand {
    /// Executable.
    pub program: PathBuf,
    /// Arguments before the job file.
    pub args: Vec<OsString>,
}

/// Local backend settings.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// Most workers at once (≥ 1).
    pub workers: usize,
    /// Memory budget for all running workers, bytes (estimates, see
    /// [`memory_estimate`](super::driver::memory_estimate)).
    pub max_memory: Option<u64>,
    /// Extra attempts per chunk after a failure.
    pub retries: u32,
    /// Threads of each worker's prover (`RAYON_NUM_THREADS`); `None` leaves the default (all
    /// cores).
    pub threads_per_worker: Option<usize>,
    /// Key directory shared by the workers (a cache: keys are generated once per circuit).
    pub keys_dir: PathBuf,
}

impl LocalOptions {
    /// The budget when the user names none: 80% of the memory available now (Linux
    /// `MemAvailable`); `None` where that cannot be read.
    pub fn default_memory_budget() -> Option<u64> {
        let info = std::fs::read_to_string("/proc/meminfo").ok()?;
        let kib: u64 =
            info.lines().find(|l| l.starts_with("MemAvailable:"))?.split_whitespace().nth(1)?.parse().ok()?;
        let budget = kib * 1024 / 10 * 8;
        log::info!("memory budget for workers: {} MiB (80% of MemAvailable)", budget >> 20);
        Some(budget)
    }
}

struct Running {
    chunk: usize,
    attempt: u32,
    child: Child,
    estimate: u64,
}

/// The last `n` lines of a worker's log.
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Local worker processes ([`WorkerCommand`] with [`LocalOptions`]).
#[derive(Clone, Debug)]
pub struct LocalWorkers {
    /// The worker command.
    pub cmd: WorkerCommand,
    /// Pool settings.
    pub opts: LocalOptions,
}

impl Backend for LocalWorkers {
    fn describe(&self) -> String {
        format!("local workers ({})", self.opts.workers)
    }

    fn prove(
        &self,
        work: Work<'_>,
        accept: &dyn Fn(&ChunkJob, &ChunkResult) -> Result<()>,
        events: &mut dyn FnMut(RunEvent),
    ) -> Result<Vec<(ChunkResult, Option<u32>)>> {
        let dir = work.run_dir("local")?;
        let done =
            run_local(&self.cmd, &self.opts, dir, &work, accept, &mut |e| events(RunEvent::Worker(e)))?;
        Ok(done.into_iter().map(|(r, a)| (r, Some(a))).collect())
    }
}

/// Proves the chunks `work.todo` and returns their accepted results with the attempts each
/// took. `accept` is the driver's check of a result.
fn run_local(
    cmd: &WorkerCommand,
    opts: &LocalOptions,
    dir: &Path,
    work: &Work<'_>,
    accept: &dyn Fn(&ChunkJob, &ChunkResult) -> Result<()>,
    events: &mut dyn FnMut(WorkerEvent),
) -> Result<Vec<(ChunkResult, u32)>> {
    let (jobs, todo, estimates) = (work.jobs, work.todo, work.estimates);
    let mut queue: Vec<usize> = todo.to_vec();
    // Largest first: the longest chunk bounds the wall time.
    queue.sort_by_key(|i| std::cmp::Reverse(estimates[*i]));
    let mut queue: VecDeque<(usize, u32)> = queue.into_iter().map(|i| (i, 1)).collect();
    let (tx, rx) = mpsc::channel::<(usize, Stage)>();
    let mut running: Vec<Running> = Vec::new();
    let mut done = Vec::new();
    let mut waiting_said = None;
    let workers = opts.workers.max(1);

    let outcome = (|| -> Result<()> {
        while !queue.is_empty() || !running.is_empty() {
            // Start what fits.
            while running.len() < workers {
                let Some(&(chunk, attempt)) = queue.front() else { break };
                let need = estimates[chunk];
                let used: u64 = running.iter().map(|r| r.estimate).sum();
                if let Some(budget) = opts.max_memory {
                    if !running.is_empty() && used + need > budget {
                        if waiting_said != Some(chunk) {
                            events(WorkerEvent::Waiting { chunk, need });
                            waiting_said = Some(chunk);
                        }
                        break;
                    }
                }
                queue.pop_front();
                let child = spawn(cmd, opts, dir, chunk, attempt, tx.clone())?;
                events(WorkerEvent::Started { chunk, attempt, pid: child.id() });
                running.push(Running { chunk, attempt, child, estimate: need });
            }
            // Stage reports.
            if let Ok((chunk, stage)) = rx.recv_timeout(Duration::from_millis(50)) {
                events(WorkerEvent::Stage { chunk, stage });
                while let Ok((chunk, stage)) = rx.try_recv() {
                    events(WorkerEvent::Stage { chunk, stage });
                }
            }
            // Finished workers.
            let mut k = 0;
            while k < running.len() {
                let status = running[k]
                    .child
                    .try_wait()
                    .map_err(|e| ProverError::io(job_file(dir, running[k].chunk), e))?;
                let Some(status) = status else {
                    k += 1;
                    continue;
                };
                let r = running.swap_remove(k);
                let failure = if status.success() {
                    let path = result_file(dir, r.chunk);
                    match ChunkResult::read(&path).and_then(|res| accept(&jobs[r.chunk], &res).map(|_| res)) {
                        Ok(res) => {
                            events(WorkerEvent::Done { chunk: r.chunk, result: Box::new(res.clone()) });
                            done.push((res, r.attempt));
                            continue;
                        }
                        Err(e) => {
                            let _ = std::fs::remove_file(&path);
                            e.to_string()
                        }
                    }
                } else {
                    describe_exit(status)
                };
                let log = log_file(dir, r.chunk, r.attempt);
                let retry = r.attempt <= opts.retries;
                events(WorkerEvent::Failed {
                    chunk: r.chunk,
                    attempt: r.attempt,
                    retry,
                    reason: failure.clone(),
                });
                if !retry {
                    let tail = log_tail(&log, 8);
                    return Err(ProverError::ChunkFailed {
                        chunk: r.chunk,
                        attempts: r.attempt,
                        detail: format!(
                            "{failure}; log {}{}",
                            log.display(),
                            if tail.is_empty() { String::new() } else { format!(":\n{tail}") }
                        ),
                    });
                }
                queue.push_front((r.chunk, r.attempt + 1));
            }
        }
        Ok(())
    })();
    if outcome.is_err() {
        for mut r in running {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
    }
    outcome.map(|_| done)
}

fn spawn(
    cmd: &WorkerCommand,
    opts: &LocalOptions,
    dir: &Path,
    chunk: usize,
    attempt: u32,
    tx: mpsc::Sender<(usize, Stage)>,
) -> Result<Child> {
    let log = log_file(dir, chunk, attempt);
    if let Some(p) = log.parent() {
        std::fs::create_dir_all(p).map_err(|e| ProverError::io(p, e))?;
    }
    let log_handle = std::fs::File::create(&log).map_err(|e| ProverError::io(&log, e))?;
    let mut c = Command::new(&cmd.program);
    c.args(&cmd.args)
        .arg(job_file(dir, chunk))
        .arg("--out")
        .arg(result_file(dir, chunk))
        .arg("--keys")
        .arg(&opts.keys_dir)
        .arg("--progress-json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_handle));
    if let Some(t) = opts.threads_per_worker {
        c.env("RAYON_NUM_THREADS", t.max(1).to_string());
    }
    let mut child = c.spawn().map_err(|e| ProverError::Backend {
        backend: "local",
        detail: format!("cannot start worker {}: {e}", cmd.program.display()),
    })?;
    let stdout = child.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
            if let Ok(stage) = serde_json::from_str::<Stage>(&line) {
                if tx.send((chunk, stage)).is_err() {
                    break;
                }
            }
        }
    });
    Ok(child)
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("worker exited with status {code}"),
        (None, Some(sig)) => format!(
            "worker killed by signal {sig}{}",
            if sig == 9 { " (SIGKILL: out of memory?)" } else { "" }
        ),
        _ => "worker ended abnormally".into(),
    }
}
