//! Which SRS a verifier trusts, and why ([`crate::KeySet::srs_trust`]).

use std::fmt;

use chunkproof_core::Bytes32;
use serde::Serialize;

/// Why a key set's SRS is trusted ([`crate::KeySet::srs_trust`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SrsTrust {
    /// A public ceremony of [`CEREMONIES`](crate::core::srs::CEREMONIES).
    Ceremony {
        /// Its name.
        name: &'static str,
    },
    /// The caller named its digest (`--trust-srs`).
    Pinned {
        /// The digest.
        digest: Bytes32,
    },
    /// The public development setup, accepted because the caller asked for it: proves nothing.
    DevInsecure,
}

impl fmt::Display for SrsTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ceremony { name } => write!(f, "{name}"),
            Self::Pinned { digest } => write!(f, "not a known ceremony; trusted by --trust-srs {digest}"),
            Self::DevInsecure => write!(f, "INSECURE development setup (public tau): proves nothing"),
        }
    }
}
