//! The EVM crate's one error type.

use chunkproof_core::FormatError;
use chunkproof_verifier::VerifyError;

/// What can go wrong while generating, compiling or running the contracts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvmError {
    /// The EVM tooling could not do its job (no compiler, a compile error, code over a limit).
    #[error("evm: {detail}")]
    Tooling {
        /// What went wrong.
        detail: String,
    },
    /// A contract reverted or halted on a bundle (in revm or on a chain).
    #[error("evm rejected {}: {reason}", .chunk.map(|c| format!("chunk {c}")).unwrap_or_else(|| "the bundle".into()))]
    Rejected {
        /// The chunk the contract named, if it named one.
        chunk: Option<usize>,
        /// The decoded revert reason.
        reason: String,
    },
    /// The keys could not be used (the verifier's error).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// A file or encoding is malformed.
    #[error(transparent)]
    Format(#[from] FormatError),
}

impl EvmError {
    /// True if the contracts (or the native checks behind them) rejected the bundle.
    pub fn is_rejection(&self) -> bool {
        match self {
            Self::Rejected { .. } => true,
            Self::Verify(v) => v.is_rejection(),
            _ => false,
        }
    }

    /// The chunk this error names, if any.
    pub fn chunk(&self) -> Option<usize> {
        match self {
            Self::Rejected { chunk, .. } => *chunk,
            Self::Verify(v) => v.chunk(),
            _ => None,
        }
    }

    pub(crate) fn tooling(detail: impl ToString) -> Self {
        Self::Tooling { detail: detail.to_string() }
    }
}

/// Result alias for this crate.
pub type Result<T, E = EvmError> = std::result::Result<T, E>;
