//! One failure type with its exit status, and the mapping of every crate's errors to it.

use std::process::ExitCode;

use chunkproof_core::FormatError;
use chunkproof_prover::ProverError;
use chunkproof_verifier::VerifyError;

/// A failure with its exit status: 1 rejected, 2 could not run.
#[derive(Debug)]
pub struct Failure {
    /// Process exit status.
    pub code: u8,
    /// What to print on stderr (starting with `error:` or `rejected:`).
    pub message: String,
}

impl Failure {
    /// The command could not run (exit 2).
    pub fn error(detail: impl std::fmt::Display) -> Self {
        Self { code: 2, message: format!("error: {detail}") }
    }

    /// The input was rejected (exit 1).
    pub fn rejected(detail: impl std::fmt::Display) -> Self {
        Self { code: 1, message: format!("rejected: {detail}") }
    }
}

impl From<FormatError> for Failure {
    fn from(e: FormatError) -> Self {
        // A file that cannot be read is "could not run"; one that is malformed is the input's fault.
        let code = if matches!(e, FormatError::Io { .. }) { 2 } else { 1 };
        Self { code, message: format!("error: {e}") }
    }
}

impl From<VerifyError> for Failure {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Format(f) => f.into(),
            e if e.is_rejection() => Self::rejected(e),
            e => Self::error(e),
        }
    }
}

/// Proving failures are "could not run", whatever their cause: a prover that cannot make a
/// bundle which verifies has not produced anything to reject.
impl From<ProverError> for Failure {
    fn from(e: ProverError) -> Self {
        Self::error(e)
    }
}

#[cfg(feature = "evm")]
impl From<chunkproof_evm::EvmError> for Failure {
    fn from(e: chunkproof_evm::EvmError) -> Self {
        use chunkproof_evm::EvmError;
        match e {
            EvmError::Verify(v) => v.into(),
            EvmError::Format(f) => f.into(),
            e if e.is_rejection() => Self::rejected(e),
            e => Self::error(e),
        }
    }
}

/// Prints a failure on stderr and turns the outcome into the process exit status.
pub fn exit(outcome: Result<(), Failure>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("{}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// Logging on stderr at `warn`, `info` (`-v`) or `debug` (`-vv`); `RUST_LOG` overrides it. The
/// aggregation's steps (minutes each) are always shown, as progress.
pub fn init_logging(verbose: u8) {
    let level = ["warn", "info", "debug"][usize::from(verbose.min(2))];
    env_logger::Builder::from_env(
        env_logger::Env::default()
            .default_filter_or(format!("{level},chunkproof_aggregate=info,halo2_base=error")),
    )
    .format_timestamp(None)
    .init();
}
