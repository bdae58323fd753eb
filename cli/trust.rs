//! What a verifying command trusts: the development setup (only when asked) and SRSs named by
//! digest besides the known ceremonies; and which model of a key directory it checks.

use std::path::Path;

use chunkproof_core::Bytes32;
use chunkproof_verifier::{KeySet, SrsTrust, VerifyOptions};
use clap::Args;

use crate::Failure;

/// `--dev-setup` and `--trust-srs`, shared by every command that loads keys.
#[derive(Args, Clone, Debug, Default)]
pub(crate) struct TrustArgs {
    /// Accept keys made with the INSECURE development setup (its tau is public: proofs prove
    /// nothing).
    #[arg(long)]
    pub dev_setup: bool,
    /// Trust the SRS with this digest besides the known ceremonies (repeatable). Whoever knows
    /// its tau can forge proofs: name only an SRS whose ceremony you trust.
    #[arg(long = "trust-srs", value_name = "DIGEST")]
    pub trust_srs: Vec<String>,
}

impl TrustArgs {
    /// The verification options these arguments ask for.
    pub(crate) fn options(&self, expected_model_id: Option<Bytes32>) -> Result<VerifyOptions, Failure> {
        let trusted_srs = self
            .trust_srs
            .iter()
            .map(|s| {
                Bytes32::from_hex(s)
                    .ok_or(Failure::error(format!("--trust-srs {s:?} is not a 32-byte hex digest")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(VerifyOptions { allow_dev_setup: self.dev_setup, expected_model_id, trusted_srs })
    }

    /// Checks that `keys` rest on an SRS these arguments trust.
    pub(crate) fn check(&self, keys: &KeySet) -> Result<SrsTrust, Failure> {
        Ok(keys.srs_trust(&self.options(None)?)?)
    }

    /// The flags, as they appear on a command line (for generated files' headers).
    pub(crate) fn command_line(&self) -> String {
        let mut s = String::new();
        if self.dev_setup {
            s.push_str(" --dev-setup");
        }
        for d in &self.trust_srs {
            s.push_str(&format!(" --trust-srs {d}"));
        }
        s
    }
}

/// The key set in `dir` a command checks: the one named by `model_id`, or the only one there.
/// A directory with several models needs `--model-id`: a bundle never picks its own keys.
pub(crate) fn load_keys(dir: &Path, model_id: Option<&Bytes32>) -> Result<KeySet, Failure> {
    Ok(KeySet::load(dir, model_id)?)
}
