//! The prover's one error type.

use std::path::PathBuf;

use chunkproof_core::FormatError;
use chunkproof_verifier::VerifyError;

/// Everything that can go wrong while loading, planning, proving or assembling a bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProverError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A model or input file is not valid msgpack of the expected layout.
    #[error("{path}: malformed {what}: {detail}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// `model` or `input`.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A layer uses a zkml construct (a layer type, a parameter value, an operand form) this
    /// version does not implement: the file may be valid for zkml.
    #[error("layer {layer} ({kind}): not supported: {construct}")]
    Unsupported {
        /// Layer index in execution order.
        layer: usize,
        /// Layer type name.
        kind: String,
        /// The construct that is not supported.
        construct: String,
    },
    /// The model file is a weight-less zkml config (its tensors have no data, or are not
    /// listed at all): it describes an architecture but cannot be run or proven.
    #[error("weight-less model config: {detail}; a model file with weights is needed")]
    Weightless {
        /// Which tensor (and layer) showed it.
        detail: String,
    },
    /// A value reaches a layer outside the domain its circuit can prove (a zero divisor, the
    /// root of a negative number, a max-pool difference out of range).
    #[error(
        "layer {layer} ({kind}): input value {value} at position {index} is outside the domain: {detail}"
    )]
    OutsideDomain {
        /// Layer index.
        layer: usize,
        /// Layer type name.
        kind: String,
        /// Flat position (of the output it feeds).
        index: usize,
        /// The value.
        value: i128,
        /// The domain.
        detail: String,
    },
    /// A layer's declared shapes, parameters or tensors are inconsistent.
    #[error("layer {layer} ({kind}): {detail}")]
    InvalidLayer {
        /// Layer index.
        layer: usize,
        /// Layer type name.
        kind: String,
        /// What is wrong.
        detail: String,
    },
    /// The model graph is malformed (dangling tensor, cycle, missing input …).
    #[error("invalid model: {detail}")]
    InvalidModel {
        /// What is wrong.
        detail: String,
    },
    /// The input does not match the model's inputs.
    #[error("invalid input: {detail}")]
    InvalidInput {
        /// What is wrong.
        detail: String,
    },
    /// A model input value is outside the range declared for the model input (`--input-range`).
    #[error("model input tensor {tensor}[{index}] = {value} is outside the declared input range {range}")]
    OutsideInputRange {
        /// The input tensor.
        tensor: u32,
        /// Flat position.
        index: usize,
        /// The value.
        value: i64,
        /// The declared range.
        range: crate::model::InputRange,
    },
    /// A value leaves the fixed-point range the circuits prove.
    #[error("layer {layer} ({kind}): {what}[{index}] = {value} is outside [-2^31, 2^31)")]
    ValueOutOfRange {
        /// Layer index (or `usize::MAX` for the model input).
        layer: usize,
        /// Layer type name.
        kind: String,
        /// Which tensor.
        what: String,
        /// Flat position.
        index: usize,
        /// The value.
        value: i128,
    },
    /// The plan request cannot be satisfied.
    #[error("cannot plan {chunks} chunks: {detail}")]
    Plan {
        /// Chunks requested.
        chunks: usize,
        /// Why.
        detail: String,
    },
    /// A chunk circuit does not fit the largest supported size.
    #[error("chunk {chunk}: circuit needs {rows} rows, more than 2^{max_k}")]
    CircuitTooLarge {
        /// Chunk index.
        chunk: usize,
        /// Rows needed.
        rows: usize,
        /// Largest k supported.
        max_k: u32,
    },
    /// The setup (SRS) is missing, refused or does not match.
    #[error("setup: {detail}")]
    Setup {
        /// What is wrong.
        detail: String,
    },
    /// The key cache holds keys that do not match the circuit.
    #[error("chunk {chunk}: cached keys in {path} do not match the circuit: {detail}")]
    StaleKeys {
        /// Chunk index.
        chunk: usize,
        /// The cache entry.
        path: PathBuf,
        /// What differs.
        detail: String,
    },
    /// halo2 failed while generating keys or a proof.
    #[error("chunk {chunk}: {stage} failed: {detail}")]
    Halo2 {
        /// Chunk index.
        chunk: usize,
        /// `keygen` or `proving`.
        stage: &'static str,
        /// halo2's error.
        detail: String,
    },
    /// A freshly made proof did not verify (a bug or a corrupted key cache, never a user error).
    #[error("chunk {chunk}: the new proof does not verify: {source}")]
    SelfCheck {
        /// Chunk index.
        chunk: usize,
        /// The verifier's verdict.
        #[source]
        source: VerifyError,
    },
    /// The requested proving backend cannot run here (no GPU, no driver, or not compiled in).
    #[error("backend {backend}: {detail}")]
    Backend {
        /// The backend asked for (`cuda-msm`, `cuda-full`, …).
        backend: &'static str,
        /// Why it is unavailable or what failed.
        detail: String,
    },
    /// A chunk job or chunk result file is malformed, of another version, or does not belong to
    /// this run (a format error, not a cryptographic rejection).
    #[error("{path}: {detail}")]
    BadJobFile {
        /// The file (or a label such as `<stdin>`).
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A worker's result for a chunk was refused: its proof does not verify, or it answers
    /// another job.
    #[error("chunk {chunk}: result refused: {detail}")]
    ResultRefused {
        /// Chunk index.
        chunk: usize,
        /// Why.
        detail: String,
    },
    /// A chunk failed on every attempt; no bundle is written.
    #[error("chunk {chunk} failed after {attempts} attempt(s): {detail}")]
    ChunkFailed {
        /// Chunk index.
        chunk: usize,
        /// Attempts made.
        attempts: u32,
        /// The last failure (exit status and the tail of the worker's log).
        detail: String,
    },
    /// A `--resume` directory belongs to another run.
    #[error("cannot resume from {dir}: {detail}")]
    Resume {
        /// The run directory.
        dir: PathBuf,
        /// What differs.
        detail: String,
    },
    /// An error from the verifier crate (key sets, verification).
    #[error(transparent)]
    Verifier(#[from] VerifyError),
    /// A malformed file or encoding (bundle, key set, job, SRS).
    #[error(transparent)]
    Format(#[from] FormatError),
}

impl ProverError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}

/// Result alias for this crate.
pub type Result<T, E = ProverError> = std::result::Result<T, E>;
