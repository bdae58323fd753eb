//! What a run measures and reports: per-chunk figures, the whole run, and the events a progress
//! display follows.

use chunkproof_core::shape::ChunkCircuitParams;
use chunkproof_core::CircuitStats;

use serde::Deserialize;

use super::job::{ChunkResult, Stage};

/// Measurements of one chunk.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ChunkReport {
    /// Chunk index.
    pub index: usize,
    /// Layers covered.
    pub layers: std::ops::Range<usize>,
    /// Circuit shape.
    pub params: ChunkCircuitParams,
    /// Size figures.
    pub stats: CircuitStats,
    /// Keys from the cache?
    pub keys_cached: bool,
    /// Sizing and witness generation, ms.
    pub witness_ms: u128,
    /// Keygen (or key loading), ms.
    pub keygen_ms: u128,
    /// Proof generation, ms.
    pub prove_ms: u128,
    /// Proof size.
    pub proof_bytes: usize,
    /// Peak RSS of the process that proved the chunk, KiB (Linux).
    pub peak_rss_kib: Option<u64>,
    /// Host that proved the chunk.
    pub host: String,
    /// Attempts it took (1 = no retry; `None` where the backend does not say, as with Ray, whose
    /// retries happen inside the cluster).
    pub attempts: Option<u32>,
}

/// Measurements of a whole run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProveReport {
    /// Per chunk.
    pub chunks: Vec<ChunkReport>,
    /// Whole run, ms.
    pub total_ms: u128,
    /// Final bundle verification, ms.
    pub verify_ms: u128,
    /// Time spent obtaining SRS parameters (dev setup generation or file reading), ms.
    pub srs_ms: u128,
    /// Peak resident memory of this process so far (Linux `VmHWM`), KiB.
    pub peak_rss_kib: Option<u64>,
}

/// Peak resident set size of this process (Linux only), KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Host name of this machine (Linux), for reports.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// What a worker reports about one chunk (a worker process, a Ray task's process, or this
/// process for the in-process backend).
#[derive(Clone, Debug)]
pub enum WorkerEvent {
    /// A worker started on a chunk.
    Started {
        /// Chunk.
        chunk: usize,
        /// Attempt (1-based).
        attempt: u32,
        /// Process id of the worker.
        pid: u32,
    },
    /// A worker reported a stage.
    Stage {
        /// Chunk.
        chunk: usize,
        /// Stage.
        stage: Stage,
    },
    /// A chunk is proven and its result accepted.
    Done {
        /// Chunk.
        chunk: usize,
        /// The result.
        result: Box<ChunkResult>,
    },
    /// An attempt failed.
    Failed {
        /// Chunk.
        chunk: usize,
        /// Attempt (1-based).
        attempt: u32,
        /// Whether it will be tried again.
        retry: bool,
        /// Why.
        reason: String,
    },
    /// A chunk waits because the memory budget is taken.
    Waiting {
        /// Chunk.
        chunk: usize,
        /// Its estimate, bytes.
        need: u64,
    },
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
    /// From a worker (local processes or this process).
    Worker(WorkerEvent),
    /// From the Ray driver.
    Ray(RayEvent),
    /// Every chunk is proven; the bundle is being assembled and verified.
    Assembling,
}

/// What the Ray driver reports.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum RayEvent {
    /// A task was submitted.
    Submitted {
        /// Chunk.
        chunk: usize,
    },
    /// A chunk's result is written.
    Done {
        /// Chunk.
        chunk: usize,
        /// Ray node id that proved it.
        node: String,
        /// That node's host name.
        host: String,
        /// Resource names of that node.
        node_resources: Vec<String>,
        /// Seconds from submission.
        seconds: f64,
    },
    /// A chunk failed every attempt.
    Failed {
        /// Chunk.
        chunk: usize,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        error: String,
    },
    /// A warning (e.g. another Ray version).
    Warning {
        /// Text.
        warning: String,
    },
    /// The driver could not run.
    Error {
        /// Text.
        error: String,
    },
}
