//! The arguments of `prove` and `prove-chunk` that every proving binary accepts.

use std::path::PathBuf;

use chunkproof_prover::engine::TranscriptKind;
use chunkproof_prover::model::{Graph, InputRange};
use chunkproof_prover::setup::SetupChoice;
use chunkproof_prover::ProveConfig;
use clap::Args;

use crate::Failure;

/// Where the SRS comes from: exactly one of `--dev-setup` and `--srs FILE --srs-sha256 HEX`.
#[derive(Args, Clone, Debug)]
#[group(id = "setup", required = true, multiple = false)]
pub struct SetupArgs {
    /// Use the deterministic, INSECURE development setup (tests and demos only).
    #[arg(long, group = "setup")]
    pub dev_setup: bool,
    /// A halo2 KZG params (powers-of-tau) file; needs --srs-sha256.
    #[arg(long, value_name = "FILE", group = "setup", requires = "srs_sha256")]
    pub srs: Option<PathBuf>,
}

/// `prove`: what to prove, where the keys go, the setup and the public values.
#[derive(Args, Clone, Debug)]
pub struct ProveArgs {
    /// zkml msgpack model.
    #[arg(long, value_name = "M.msgpack")]
    pub model: PathBuf,
    /// zkml msgpack input.
    #[arg(long, value_name = "I.msgpack")]
    pub input: PathBuf,
    /// How the model is cut into chunks.
    #[command(flatten)]
    pub chunking: ChunkingArgs,
    /// Key directory (created if missing; keys are cached here).
    #[arg(long, value_name = "DIR")]
    pub keys: PathBuf,
    /// Output bundle (written atomically).
    #[arg(long, value_name = "B.bundle")]
    pub out: PathBuf,
    /// The setup.
    #[command(flatten)]
    pub setup: SetupArgs,
    /// Pinned SHA-256 of the --srs file.
    #[arg(long, value_name = "HEX")]
    pub srs_sha256: Option<String>,
    /// Make the model input a public value of chunk 0.
    #[arg(long)]
    pub public_input: bool,
    /// Keep the model output private (by default it is public in the last chunk).
    #[arg(long)]
    pub private_output: bool,
    /// Keep proving keys in the key directory, so that later runs load them instead of deriving
    /// them (the default; large files: about 390 MB for zkml's MNIST in 4 chunks).
    #[arg(long, overrides_with = "no_cache_pk")]
    pub cache_pk: bool,
    /// Derive proving keys on every run and keep none (saves disk).
    #[arg(long, overrides_with = "cache_pk")]
    pub no_cache_pk: bool,
    /// Compute every product instead of checking large ones with random challenges: slower,
    /// but every chunk circuit stays single-phase (what the GPU worker needs; `--gpu` implies it).
    #[arg(long)]
    pub no_product_check: bool,
    /// The chunk proofs' Fiat–Shamir transcript: `keccak` (what the chunk contracts verify) or
    /// `poseidon` (what `chunkproof aggregate` needs; such a bundle verifies in Rust and through
    /// its aggregated proof, not chunk by chunk on chain).
    #[arg(long, default_value = "keccak", value_name = "keccak|poseidon")]
    pub transcript: TranscriptKind,
    /// Smallest circuit size 2^k per chunk (17 or more selects the 16-bit fixed-point gates).
    #[arg(long, default_value_t = 0, hide = true)]
    pub min_k: u32,
    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

impl ProveArgs {
    /// The setup these arguments choose.
    pub fn setup_choice(&self) -> Result<SetupChoice, Failure> {
        match (&self.setup.srs, &self.srs_sha256) {
            _ if self.setup.dev_setup => Ok(SetupChoice::Dev),
            (Some(path), Some(sha)) => Ok(SetupChoice::File { path: path.clone(), sha256: sha.clone() }),
            (Some(_), None) => Err(Failure::error("--srs needs --srs-sha256")),
            (None, _) => Err(Failure::error("choose a setup: --dev-setup or --srs FILE --srs-sha256 HEX")),
        }
    }

    /// The prover configuration these arguments describe.
    pub fn config(&self) -> Result<ProveConfig, Failure> {
        Ok(ProveConfig::new(&self.keys, self.setup_choice()?)
            .chunks(self.chunking.chunks)
            .max_k(self.chunking.max_k)
            .split_layers(!self.chunking.whole_layers)
            .public_input(self.public_input)
            .public_output(!self.private_output)
            .cache_proving_keys(!self.no_cache_pk)
            .min_k(self.min_k)
            .width(self.chunking.width)
            .transcript(self.transcript))
    }
}

/// How a model is cut into chunks (`prove`, `plan`, `inspect`).
#[derive(Args, Clone, Debug)]
pub struct ChunkingArgs {
    /// Number of chunks. The costliest layer of the largest chunk is cut into parts, trying
    /// until that chunk is within 1.15× the mean; a cut is kept only if the plan then proves
    /// cheaper (a smaller largest circuit 2^k, then fewer rows 2^k in all).
    #[arg(long, default_value_t = 4)]
    pub chunks: usize,
    /// Instead of --chunks: the fewest chunks of at most 2^K estimated rows each (layers cut
    /// into parts as needed).
    #[arg(long, value_name = "K", conflicts_with = "chunks", value_parser = clap::value_parser!(u32).range(8..=26))]
    pub max_k: Option<u32>,
    /// Cut between layers only, never inside one.
    #[arg(long, conflicts_with = "max_k")]
    pub whole_layers: bool,
    /// Most advice columns of each kind per chunk circuit. 1 (the default) keeps each chunk's
    /// Solidity verifier deployable; more columns mean fewer rows (a smaller k, and with
    /// --max-k about that many times the rows per chunk) and faster proving, for bundles
    /// verified off chain.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub width: u32,
    /// Declare every model input value a 16-bit integer: `u16` (0..=65535) or `i16`
    /// (-32768..=32767). Chunk 0's circuit enforces it (the input is packed fifteen values to a
    /// field element, each range-checked), and the bounds that follow let later boundaries pack
    /// tighter. An input outside the range is refused before any proving.
    #[arg(long, value_name = "u16|i16")]
    pub input_range: Option<InputRange>,
}

impl ChunkingArgs {
    /// Records the proving choices these arguments make about the model on `graph` (the
    /// declared input range).
    pub fn declare(&self, graph: &mut Graph) {
        graph.input_range = self.input_range;
    }

    /// What the planner is asked for.
    pub fn request(&self) -> chunkproof_prover::plan::PlanRequest {
        use chunkproof_prover::plan::PlanRequest;
        match (self.max_k, self.whole_layers) {
            (Some(k), _) => PlanRequest::MaxK(k),
            (None, false) => PlanRequest::Chunks(self.chunks),
            (None, true) => PlanRequest::Whole(self.chunks),
        }
    }
}

/// `prove-chunk`: prove one chunk job (what local workers and Ray tasks run).
#[derive(Args, Clone, Debug)]
pub struct ProveChunkArgs {
    /// The chunk job file (written by the driver of `chunkproof prove`).
    #[arg(value_name = "JOB")]
    pub job: PathBuf,
    /// Where to write the result (atomically).
    #[arg(long, value_name = "RESULT")]
    pub out: PathBuf,
    /// Key cache directory (keys are generated once per circuit and reused).
    #[arg(long, value_name = "DIR")]
    pub keys: PathBuf,
    /// Also cache proving keys.
    #[arg(long)]
    pub cache_pk: bool,
    /// Print the stages as JSON lines on stdout (for the driver).
    #[arg(long)]
    pub progress_json: bool,
}
