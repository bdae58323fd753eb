//! The verifier's one error type.
//!
//! Variants fall in two families that callers must be able to tell apart:
//! *format* errors (the input is malformed, truncated, of another version or inconsistent with
//! itself) and *rejections* (the input is well formed but a cryptographic or linkage check
//! failed). [`VerifyError::is_rejection`] tells which.

use std::path::PathBuf;

use chunkproof_core::FormatError;

/// Everything that can go wrong while reading, checking or auditing a bundle or a key set.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    // ---------------------------------------------------------------- input / format
    /// A file or encoding is malformed, truncated, of another version or inconsistent with
    /// itself.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The key set is unusable (wrong model, missing files, insecure setup not allowed, ...).
    #[error("key set {path}: {detail}")]
    KeySet {
        /// The key directory or manifest.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Keys were made with the deterministic, insecure development setup and the caller did not
    /// opt in.
    #[error(
        "the keys in {path} were made with the INSECURE development setup; \
         pass --dev-setup (or VerifyOptions::allow_dev_setup) to accept them for testing"
    )]
    InsecureSetupRefused {
        /// The key directory.
        path: PathBuf,
    },
    /// Keys rest on an SRS that is neither a known ceremony nor named by the caller: whoever
    /// knows its `τ` can forge every proof.
    #[error(
        "the keys in {path} rest on an SRS that is not a known ceremony (digest {digest}); whoever \
         knows its tau can forge proofs. Pass --trust-srs {digest} (VerifyOptions::trusted_srs) if \
         you trust it"
    )]
    UntrustedSrs {
        /// The key directory.
        path: PathBuf,
        /// The SRS digest.
        digest: String,
    },

    // ---------------------------------------------------------------- rejections
    /// The bundle is for a different model than the keys (model id mismatch).
    #[error("bundle is for model {bundle}, but the keys are for model {keys}")]
    ModelMismatch {
        /// Model id claimed by the bundle.
        bundle: String,
        /// Model id computed from the key set.
        keys: String,
    },
    /// The bundle holds another number of chunk proofs than its plan has chunks.
    #[error("bundle holds {got} chunk proofs, the plan has {expected} chunks")]
    ChunkCountMismatch {
        /// Chunks in the plan.
        expected: usize,
        /// Chunk proofs present.
        got: usize,
    },
    /// The chunk proof at a position is not the proof of that chunk (reordered or duplicated).
    #[error("the proof at position {position} is for chunk {found} (chunks out of order or duplicated)")]
    ChunkOutOfOrder {
        /// Position in the bundle.
        position: usize,
        /// Index the proof claims.
        found: usize,
    },
    /// A chunk proof names a verifying key other than the one registered for its index.
    #[error("chunk {chunk}: verifying-key digest {got} differs from the registered {expected}")]
    VkMismatch {
        /// Chunk index.
        chunk: usize,
        /// Digest registered in the key set.
        expected: String,
        /// Digest claimed in the bundle.
        got: String,
    },
    /// A chunk proof carries a Merkle root other than the bundle's.
    #[error("chunk {chunk}: public root {got} differs from the bundle root {expected}")]
    RootMismatch {
        /// Chunk index.
        chunk: usize,
        /// The bundle's root.
        expected: String,
        /// The root in the chunk's public instances.
        got: String,
    },
    /// The published leaves do not hash to the bundle's root.
    #[error("the {leaves} published leaves hash to root {computed}, not to the bundle root {expected}")]
    LeavesDoNotHashToRoot {
        /// Number of leaves.
        leaves: usize,
        /// Root recomputed from the leaves.
        computed: String,
        /// The bundle's root.
        expected: String,
    },
    /// The public values of a chunk (model inputs or outputs) differ from the bundle's claim.
    #[error("chunk {chunk}: public {what}[{index}] is {got}, the bundle claims {expected}")]
    PublicValueMismatch {
        /// Chunk index.
        chunk: usize,
        /// `inputs` or `outputs`.
        what: &'static str,
        /// Position.
        index: usize,
        /// Value claimed by the bundle.
        expected: String,
        /// Value in the proof's instances.
        got: String,
    },
    /// The halo2 proof of a chunk does not verify against its verifying key.
    #[error("chunk {chunk}: proof rejected ({detail})")]
    ProofRejected {
        /// Chunk index.
        chunk: usize,
        /// What failed (transcript parse, opening check, ...).
        detail: String,
    },
    /// The batched pairing check failed but no single chunk failed on its own.
    ///
    /// This cannot happen for honestly generated proofs; it is reported rather than hidden.
    #[error("the batched pairing check failed although every chunk verified on its own")]
    BatchRejected,
    /// An aggregated proof does not belong to these keys (model, SRS, aggregation key, chunk
    /// count or public values).
    #[error("aggregated proof: {what} is {got}, expected {expected}")]
    AggregatedMismatch {
        /// What differs.
        what: String,
        /// What the keys (or the caller) call for.
        expected: String,
        /// What the aggregated proof holds.
        got: String,
    },
    /// The aggregation proof, or its accumulator's final pairing check, is rejected.
    #[error("aggregated proof rejected ({detail})")]
    AggregatedRejected {
        /// What failed.
        detail: String,
    },
}

impl VerifyError {
    /// True for cryptographic or linkage rejections, false for malformed or unusable input.
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            Self::ModelMismatch { .. }
                | Self::ChunkCountMismatch { .. }
                | Self::ChunkOutOfOrder { .. }
                | Self::VkMismatch { .. }
                | Self::RootMismatch { .. }
                | Self::LeavesDoNotHashToRoot { .. }
                | Self::PublicValueMismatch { .. }
                | Self::ProofRejected { .. }
                | Self::BatchRejected
                | Self::AggregatedMismatch { .. }
                | Self::AggregatedRejected { .. }
        )
    }

    /// The chunk this error names, if any.
    pub fn chunk(&self) -> Option<usize> {
        match self {
            Self::ChunkOutOfOrder { position: chunk, .. }
            | Self::VkMismatch { chunk, .. }
            | Self::RootMismatch { chunk, .. }
            | Self::PublicValueMismatch { chunk, .. }
            | Self::ProofRejected { chunk, .. } => Some(*chunk),
            _ => None,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = VerifyError> = std::result::Result<T, E>;
