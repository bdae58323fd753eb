//! The aggregation crate's one error type.

use chunkproof_core::FormatError;
use chunkproof_verifier::VerifyError;

/// Why a bundle could not be aggregated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AggregateError {
    /// The bundle's chunk proofs use a transcript the aggregation circuit cannot recompute.
    #[error(
        "the bundle's chunk proofs use the {found} transcript; aggregation needs proofs made with \
         `chunkproof prove --transcript poseidon`"
    )]
    WrongTranscript {
        /// The bundle's transcript.
        found: String,
    },
    /// The bundle, or the keys, did not pass verification (nothing is aggregated that does not
    /// verify on its own).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// A file could not be read, written or decoded.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The prover side (setup, parameters) failed.
    #[error(transparent)]
    Prover(#[from] chunkproof_prover::ProverError),
    /// The SRS opened for aggregation is not the one the chunk keys were made with.
    #[error("the setup gives SRS {got}, the chunk keys were made with {expected}")]
    SrsMismatch {
        /// The keys' SRS digest.
        expected: String,
        /// The opened setup's digest.
        got: String,
    },
    /// The aggregation circuit does not fit the size asked for, or halo2 failed.
    #[error("aggregation circuit: {detail}")]
    Circuit {
        /// What went wrong.
        detail: String,
    },
    /// A proving key kept by an earlier aggregation cannot be used.
    #[error("kept aggregation keys {}: {detail}", path.display())]
    KeptKey {
        /// The file.
        path: std::path::PathBuf,
        /// Why it was refused.
        detail: String,
    },
    /// The aggregated proof this run made does not verify (a bug, reported rather than written).
    #[error("self-check of the aggregated proof failed: {0}")]
    SelfCheck(VerifyError),
}

/// Result alias for this crate.
pub type Result<T, E = AggregateError> = std::result::Result<T, E>;
