//! The publisher's one error type.

use chunkproof_verifier::VerifyError;

/// What can go wrong while deploying, publishing or reading back.
///
/// Configuration and connection problems ([`Config`](Self::Config), [`Key`](Self::Key),
/// [`Rpc`](Self::Rpc), [`WrongChain`](Self::WrongChain), [`NoContract`](Self::NoContract))
/// are raised before anything is sent. [`LocalRejection`](Self::LocalRejection) means the
/// bundle failed the local verification, so nothing was sent either.
/// [`Reverted`](Self::Reverted) is the chain's own rejection of a transaction that was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// A bad argument or file.
    #[error("{detail}")]
    Config {
        /// What is wrong.
        detail: String,
    },
    /// The signing key could not be obtained. Never contains the key.
    #[error("signing key: {detail}")]
    Key {
        /// What is wrong (the source, never the secret).
        detail: String,
    },
    /// The RPC endpoint failed (after the configured retries for transport errors).
    #[error("RPC {url}: {op} failed: {detail}")]
    Rpc {
        /// Endpoint (without credentials).
        url: String,
        /// What was being done.
        op: String,
        /// The transport's or node's error.
        detail: String,
    },
    /// The endpoint serves another chain than the one asked for.
    #[error("RPC {url} is chain {got}, expected chain {expected}")]
    WrongChain {
        /// Endpoint.
        url: String,
        /// `--chain-id`.
        expected: u64,
        /// What the node reports.
        got: u64,
    },
    /// No contract (or not the expected one) at an address.
    #[error("no {what} at {address}: {detail}")]
    NoContract {
        /// `RootRegistry`, `BundleVerifier`, …
        what: &'static str,
        /// The address.
        address: String,
        /// Why.
        detail: String,
    },
    /// The model is not registered in the registry.
    #[error("model {model_id} is not registered in the RootRegistry at {registry}")]
    UnknownModel {
        /// Model id.
        model_id: String,
        /// Registry address.
        registry: String,
    },
    /// The model was deprecated by the registry's owner: nothing more is recorded for it.
    #[error(
        "model {model_id} is deprecated in the RootRegistry at {registry}: nothing more is recorded for it"
    )]
    Deprecated {
        /// Model id.
        model_id: String,
        /// Registry address.
        registry: String,
    },
    /// The bundle did not pass local verification; nothing was sent.
    #[error("the bundle failed local verification, nothing was sent: {0}")]
    LocalRejection(#[source] VerifyError),
    /// The bundle or keys could not be read.
    #[error(transparent)]
    Verifier(#[from] VerifyError),
    /// The model's contracts could not be generated or compiled.
    #[error(transparent)]
    Evm(#[from] chunkproof_evm::EvmError),
    /// A transaction was mined and reverted, or the node refused it in simulation.
    #[error("{what} reverted{}: {reason}", tx.as_ref().map(|t| format!(" (tx {t})")).unwrap_or_default())]
    Reverted {
        /// The call (`publish`, `attest`, `registerModel`, deployment of X).
        what: String,
        /// Transaction hash when it was mined.
        tx: Option<String>,
        /// The decoded reason (custom error name and fields) or the raw revert data.
        reason: String,
    },
    /// After its confirmations, a transaction or the record it made is no longer on the chain
    /// (a reorganisation). Nothing is claimed; run the command again.
    #[error("{what}: transaction {tx} was confirmed, then {detail} (chain reorganised); nothing is recorded, run it again")]
    Reorganised {
        /// The call.
        what: String,
        /// Transaction hash.
        tx: String,
        /// What is gone.
        detail: String,
    },
    /// The transaction was sent but its outcome is unknown (the node stayed unreachable).
    /// Publishing is idempotent: run it again.
    #[error("transaction {tx} was sent but its receipt could not be obtained: {detail}; publishing is idempotent, run it again")]
    Unconfirmed {
        /// Transaction hash.
        tx: String,
        /// Last error.
        detail: String,
    },
}

impl PublishError {
    pub(crate) fn config(detail: impl Into<String>) -> Self {
        Self::Config { detail: detail.into() }
    }
}

/// Result alias for this crate.
pub type Result<T, E = PublishError> = std::result::Result<T, E>;
