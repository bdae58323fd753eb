//! What to prove and how: the chunk count, key directory, setup, visibility of inputs and
//! outputs, and where the salts come from.

use std::path::PathBuf;

use crate::engine::TranscriptKind;
use crate::model::{Graph, ModelInput};
use crate::setup::SetupChoice;

/// How to prove.
#[derive(Clone, Debug)]
pub struct ProveConfig {
    /// Number of chunks (with `split_layers`, balanced by splitting layers into parts).
    pub chunks: usize,
    /// Instead of a chunk count: the fewest chunks of at most `2^k` estimated rows each.
    pub max_k: Option<u32>,
    /// Layers may be cut into parts (the default); `false` cuts between layers only.
    pub split_layers: bool,
    /// Key directory (cache and key sets).
    pub keys_dir: PathBuf,
    /// Where the SRS comes from.
    pub setup: SetupChoice,
    /// Make the model inputs public instances of chunk 0.
    pub input_public: bool,
    /// Make the model outputs public instances of the last chunk.
    pub output_public: bool,
    /// Store proving keys in the cache (large; saves keygen time on later runs).
    pub cache_pk: bool,
    /// Smallest circuit size (`k ≥ 17` forces the 16-bit fixed-point gates; tests use it).
    pub min_k: u32,
    /// Most advice columns of each kind per chunk circuit (1: the narrow shape, whose Solidity
    /// verifier can be deployed; more: fewer rows, faster proving, larger verifiers).
    pub width: u32,
    /// The chunk proofs' Fiat–Shamir transcript: Keccak for the chunk contracts, Poseidon for
    /// aggregation.
    pub transcript: TranscriptKind,
}

impl ProveConfig {
    /// Proving in `keys_dir` with `setup` (there is no default setup: the caller chooses),
    /// one chunk, private inputs, public outputs, no proving-key cache, no minimum `k`.
    pub fn new(keys_dir: impl Into<PathBuf>, setup: SetupChoice) -> Self {
        Self {
            chunks: 1,
            max_k: None,
            split_layers: true,
            keys_dir: keys_dir.into(),
            setup,
            input_public: false,
            output_public: true,
            cache_pk: false,
            min_k: 0,
            width: 1,
            transcript: TranscriptKind::Keccak,
        }
    }

    /// With `n` chunks.
    pub fn chunks(mut self, n: usize) -> Self {
        self.chunks = n;
        self
    }

    /// With the fewest chunks of at most `2^k` estimated rows each (overrides the chunk count).
    pub fn max_k(mut self, k: Option<u32>) -> Self {
        self.max_k = k;
        self
    }

    /// Letting the planner cut layers into parts (or not).
    pub fn split_layers(mut self, yes: bool) -> Self {
        self.split_layers = yes;
        self
    }

    /// What the planner is asked for.
    pub fn plan_request(&self) -> crate::plan::PlanRequest {
        use crate::plan::PlanRequest;
        match (self.max_k, self.split_layers) {
            (Some(k), _) => PlanRequest::MaxK(k),
            (None, true) => PlanRequest::Chunks(self.chunks),
            (None, false) => PlanRequest::Whole(self.chunks),
        }
    }

    /// The plan of `graph` these options ask for (layers split, chunks, cuts).
    pub fn planned(&self, graph: &crate::model::Graph) -> crate::error::Result<crate::plan::Planned> {
        crate::plan::plan_request(
            graph,
            self.plan_request(),
            self.width,
            self.input_public,
            self.output_public,
        )
    }

    /// With the model inputs public (or not).
    pub fn public_input(mut self, yes: bool) -> Self {
        self.input_public = yes;
        self
    }

    /// With the model outputs public (or not).
    pub fn public_output(mut self, yes: bool) -> Self {
        self.output_public = yes;
        self
    }

    /// Keeping proving keys in the key cache (or not).
    pub fn cache_proving_keys(mut self, yes: bool) -> Self {
        self.cache_pk = yes;
        self
    }

    /// With at most `w` advice columns of each kind per chunk circuit.
    pub fn width(mut self, w: u32) -> Self {
        self.width = w.max(1);
        self
    }

    /// With chunk proofs made with the transcript `t` (Poseidon for `chunkproof aggregate`).
    pub fn transcript(mut self, t: TranscriptKind) -> Self {
        self.transcript = t;
        self
    }

    /// With every chunk circuit at least `2^k` rows.
    pub fn min_k(mut self, k: u32) -> Self {
        self.min_k = k;
        self
    }
}

/// Where the salts come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Salts {
    /// Fresh from the operating system (always, in real use).
    #[default]
    Random,
    /// INSECURE, tests only (accepted with the dev setup only): salts from a seed, so runs with
    /// different backends commit to the same root.
    InsecureSeed(u64),
}

/// The model to prove.
#[derive(Clone, Copy)]
pub struct ModelRef<'a> {
    /// The parsed graph.
    pub graph: &'a Graph,
    /// The model file it was parsed from (jobs carry it; may be empty when every job is proven
    /// in this process).
    pub bytes: &'a [u8],
    /// The input.
    pub input: &'a ModelInput,
}
