//! The connection to a chain: endpoint, optional signer, checks made before anything is sent,
//! and retries with exponential backoff for transport errors.

use std::future::Future;
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::transports::{RpcError, TransportErrorKind};

use crate::error::{PublishError, Result};
use crate::key::KeySource;

/// Chain ids of local development nodes (anvil and hardhat 31337, geth --dev and ganache 1337):
/// the only chains a transaction may be sent to without `--chain-id`.
pub const LOCAL_CHAIN_IDS: [u64; 2] = [31337, 1337];

/// How to reach the chain and how patient to be.
#[derive(Clone, Debug)]
pub struct ChainOptions {
    /// JSON-RPC endpoint (`http://` or `https://`).
    pub rpc_url: String,
    /// Refuse to send anything unless the node reports this chain id. Required for sending,
    /// except to a local development chain ([`LOCAL_CHAIN_IDS`]).
    pub chain_id: Option<u64>,
    /// Retries of one RPC call after a transport error (connection refused, reset, timeout).
    pub retries: u32,
    /// First backoff; it doubles on every retry (capped at 8 s).
    pub backoff: Duration,
    /// Blocks that must include the transaction (1 = mined) before success is reported.
    pub confirmations: u64,
    /// How long to wait for a receipt (and confirmations) after sending.
    pub receipt_timeout: Duration,
    /// Receipt polling interval.
    pub poll: Duration,
}

impl ChainOptions {
    /// Defaults: 6 retries from 250 ms (≈ 16 s in all), 1 confirmation, 120 s receipt timeout.
    pub fn new(rpc_url: impl Into<String>) -> Self {
        Self {
            rpc_url: rpc_url.into(),
            chain_id: None,
            retries: 6,
            backoff: Duration::from_millis(250),
            confirmations: 1,
            receipt_timeout: Duration::from_secs(120),
            poll: Duration::from_millis(200),
        }
    }
}

/// A checked connection.
#[derive(Clone, Debug)]
pub struct Chain {
    pub(crate) provider: DynProvider,
    pub(crate) opts: ChainOptions,
    /// The signer's address, when a key was given.
    pub sender: Option<Address>,
    /// The chain id the node reported.
    pub chain_id: u64,
}

/// The endpoint as `scheme://host[:port]` for messages: hosted RPC URLs often carry an API
/// key in the user info, the path or the query, and none of those is ever printed.
pub(crate) fn redacted(url: &str) -> String {
    match url.parse::<reqwest_url::Url>() {
        Ok(u) => {
            let hidden =
                !u.username().is_empty() || u.password().is_some() || u.path() != "/" || u.query().is_some();
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}{}",
                u.scheme(),
                u.host_str().unwrap_or("?"),
                if hidden { "/…" } else { "" }
            )
        }
        Err(_) => "<invalid URL>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn urls_are_printed_without_secrets() {
        assert_eq!(redacted("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(redacted("https://mainnet.infura.io/v3/SECRETKEY"), "https://mainnet.infura.io/…");
        assert_eq!(redacted("https://user:pw@rpc.example/x?key=SECRET"), "https://rpc.example/…");
        assert_eq!(redacted("not a url"), "<invalid URL>");
    }
}

mod reqwest_url {
    pub(super) use alloy::transports::http::reqwest::Url;
}

pub(crate) fn is_transport(e: &RpcError<TransportErrorKind>) -> bool {
    matches!(e, RpcError::Transport(_) | RpcError::NullResp)
}

impl Chain {
    /// Connects, checks the chain id and loads the signer (if any). Sends nothing.
    pub async fn connect(opts: ChainOptions, key: Option<&KeySource>) -> Result<Self> {
        let url: reqwest_url::Url = opts.rpc_url.parse().map_err(|e| {
            PublishError::config(format!("--rpc-url {:?} is not a URL: {e}", redacted(&opts.rpc_url)))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PublishError::config(format!(
                "--rpc-url must be http:// or https://, got {}://",
                url.scheme()
            )));
        }
        let signer = key.map(KeySource::signer).transpose()?;
        let sender = signer.as_ref().map(|s| s.address());
        let provider = match signer {
            Some(s) => ProviderBuilder::new().wallet(EthereumWallet::from(s)).connect_http(url).erased(),
            None => ProviderBuilder::new().connect_http(url).erased(),
        };
        let mut chain = Self { provider, opts, sender, chain_id: 0 };
        let p = chain.provider.clone();
        chain.chain_id = chain.retry("eth_chainId", || p.get_chain_id()).await?;
        match chain.opts.chain_id {
            Some(expected) if expected != chain.chain_id => {
                return Err(PublishError::WrongChain {
                    url: redacted(&chain.opts.rpc_url),
                    expected,
                    got: chain.chain_id,
                });
            }
            Some(_) => {}
            // Sending without naming the chain is allowed on local development chains only.
            None if chain.sender.is_some() && !LOCAL_CHAIN_IDS.contains(&chain.chain_id) => {
                return Err(PublishError::config(format!(
                    "--chain-id is required to send transactions: {} reports chain {}, which is not a local \
                     development chain ({LOCAL_CHAIN_IDS:?}); pass --chain-id {} if that is the chain you mean",
                    redacted(&chain.opts.rpc_url),
                    chain.chain_id,
                    chain.chain_id
                )));
            }
            None if chain.sender.is_some() => log::warn!(
                "no --chain-id given: sending to chain {}, a local development chain",
                chain.chain_id
            ),
            None => {}
        }
        Ok(chain)
    }

    /// The provider (for callers that need more than this crate offers).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    pub(crate) fn rpc_error(&self, op: &str, detail: impl std::fmt::Display) -> PublishError {
        PublishError::Rpc { url: redacted(&self.opts.rpc_url), op: op.into(), detail: self.scrub(detail) }
    }

    /// A transport error's text without the full endpoint URL (it may hold an API key).
    pub(crate) fn scrub(&self, text: impl std::fmt::Display) -> String {
        let mut t = text.to_string();
        let safe = redacted(&self.opts.rpc_url);
        if let Ok(u) = self.opts.rpc_url.parse::<reqwest_url::Url>() {
            t = t.replace(u.as_str(), &safe);
        }
        t.replace(&self.opts.rpc_url, &safe)
    }

    /// Runs `f`, retrying transport errors with exponential backoff.
    pub(crate) async fn retry<T, F, Fut>(&self, op: &str, mut f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, RpcError<TransportErrorKind>>>,
    {
        let mut delay = self.opts.backoff;
        let mut attempt = 0;
        loop {
            match f().await {
                Ok(v) => return Ok(v),
                Err(e) if is_transport(&e) && attempt < self.opts.retries => {
                    attempt += 1;
                    log::warn!(
                        "{op}: {}; retry {attempt}/{} in {delay:?}",
                        self.scrub(&e),
                        self.opts.retries
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(8));
                }
                Err(e) => return Err(self.rpc_error(op, e)),
            }
        }
    }

    /// Fails unless there is contract code at `address`.
    pub async fn require_code(&self, what: &'static str, address: Address) -> Result<()> {
        let p = self.provider.clone();
        let code = self.retry("eth_getCode", || async { p.get_code_at(address).await }).await?;
        if code.is_empty() {
            return Err(PublishError::NoContract {
                what,
                address: address.to_string(),
                detail: format!("the account has no code on chain {}", self.chain_id),
            });
        }
        Ok(())
    }

    /// The signer's address, or an error saying that a key is needed.
    pub(crate) fn require_sender(&self) -> Result<Address> {
        self.sender.ok_or_else(|| {
            PublishError::config("this command sends a transaction: give --private-key-env or --keystore")
        })
    }
}
