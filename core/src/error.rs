//! The core crate's one error type: input that is malformed, truncated, of another version or
//! inconsistent with itself. Never a cryptographic verdict (those are the verifier's).

use std::path::PathBuf;

/// A file or encoding this crate cannot accept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file is larger than this implementation accepts.
    #[error("{what} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// What was being read.
        what: String,
        /// Its size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// The bytes are not a well-formed encoding of the expected structure.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being decoded (`bundle`, `key set`, `verifying key of chunk 2`, ...).
        what: String,
        /// What is wrong.
        detail: String,
    },
    /// The file is of a format version this build does not implement.
    #[error("unsupported {what} version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// What was being read.
        what: String,
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A structural field of a bundle disagrees with another one (counts, indices, lengths).
    #[error("bundle is inconsistent: {detail}")]
    Inconsistent {
        /// What disagrees.
        detail: String,
    },
    /// A field element is not canonical (not below the BN254 scalar modulus).
    #[error("{what} is not a canonical BN254 scalar: {value}")]
    NonCanonicalScalar {
        /// Where the value was found.
        what: String,
        /// The value, hex.
        value: String,
    },
    /// A signed value does not fit the fixed-point range that the circuits prove.
    #[error("{what}[{index}] = {value} is outside the fixed-point range [-2^31, 2^31)")]
    ValueOutOfRange {
        /// Which vector.
        what: String,
        /// Position in it.
        index: usize,
        /// The value.
        value: i128,
    },
    /// A boundary value does not fit the packing the plan chose for its boundary (the
    /// planner's bound on that boundary's values is wrong for this input).
    #[error(
        "{what}[{index}] = {value} is outside [{lowest}, {highest}], the range its boundary's packing holds"
    )]
    OutsidePacking {
        /// Which vector.
        what: String,
        /// Position in it.
        index: usize,
        /// The value.
        value: i128,
        /// Smallest value the packing holds.
        lowest: i128,
        /// Largest value the packing holds.
        highest: i128,
    },
}

impl FormatError {
    pub(crate) fn malformed(what: impl Into<String>, detail: impl ToString) -> Self {
        Self::Malformed { what: what.into(), detail: detail.to_string() }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}

/// Result alias for this crate.
pub type Result<T, E = FormatError> = std::result::Result<T, E>;
