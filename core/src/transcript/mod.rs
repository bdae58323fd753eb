//! The two Fiat–Shamir transcripts a chunk proof can be made with.
//!
//! - [`EvmTranscript`] (Keccak-256): what the generated Solidity verifiers read; the default.
//! - [`PoseidonTranscript`]: what an aggregation circuit can afford to recompute in-circuit, so
//!   a bundle meant for `chunkproof aggregate` is proven with it.
//!
//! Both are sound Fiat–Shamir transforms of the same interactive protocol; a bundle records
//! which one its proofs use ([`TranscriptKind`]) and the verifier reads them with that one.

mod evm;
mod poseidon;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use evm::{ChallengeEvm, EvmTranscript};
pub use poseidon::{ChallengePoseidon, PoseidonTranscript};

/// Which transcript a bundle's chunk proofs are made with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TranscriptKind {
    /// Keccak-256, EVM byte encodings ([`EvmTranscript`]): verifiable by the chunk contracts.
    #[default]
    Keccak,
    /// Poseidon over the scalar field ([`PoseidonTranscript`]): verifiable inside an
    /// aggregation circuit, not by the chunk contracts.
    Poseidon,
}

impl TranscriptKind {
    /// Whether this is the default ([`TranscriptKind::Keccak`]), which files leave out.
    pub fn is_default(&self) -> bool {
        *self == Self::Keccak
    }

    /// The name used on the command line and in files.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Keccak => "keccak",
            Self::Poseidon => "poseidon",
        }
    }
}

impl fmt::Display for TranscriptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for TranscriptKind {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "keccak" => Ok(Self::Keccak),
            "poseidon" => Ok(Self::Poseidon),
            other => Err(format!("unknown transcript {other:?} (keccak or poseidon)")),
        }
    }
}

/// A fresh transcript of one of the two kinds, for a prover to write one proof into.
pub enum ProofSink<'a> {
    /// The Keccak EVM transcript.
    Keccak(&'a mut EvmTranscript<Vec<u8>>),
    /// The Poseidon transcript.
    Poseidon(&'a mut PoseidonTranscript<Vec<u8>>),
}

/// Runs `write` on a fresh transcript of kind `kind` and returns the proof it wrote, or the
/// error `write` returned. Every prover (halo2-axiom's, the GPU fork's) writes chunk and
/// aggregation proofs through this one function.
pub fn write_proof<E>(
    kind: TranscriptKind,
    write: impl FnOnce(ProofSink<'_>) -> Result<(), E>,
) -> Result<Vec<u8>, E> {
    match kind {
        TranscriptKind::Keccak => {
            let mut t = EvmTranscript::new(Vec::new());
            write(ProofSink::Keccak(&mut t))?;
            Ok(t.into_inner())
        }
        TranscriptKind::Poseidon => {
            let mut t = PoseidonTranscript::new(Vec::new());
            write(ProofSink::Poseidon(&mut t))?;
            Ok(t.into_inner())
        }
    }
}
