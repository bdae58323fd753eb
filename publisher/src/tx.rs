//! Sending a transaction and waiting for it, robustly: transport errors are retried, a
//! transaction the node forgot (it restarted) is reported as dropped so the caller can check
//! the chain state and send again, and a revert is decoded into the contract's custom error.

use std::time::Instant;

use alloy::primitives::{Bytes, TxHash};
use alloy::providers::Provider;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::SolInterface;
use alloy::transports::RpcError;

use crate::client::{is_transport, Chain};
use crate::error::{PublishError, Result};
use chunkproof_evm::{AggregatedVerifier, BundleVerifier, RootRegistry};

/// How a send attempt ended.
pub(crate) enum Sent {
    /// The node accepted it.
    Hash(TxHash),
    /// A transport error hid whether the node got it and the node now refuses the resend
    /// (`already known`, `nonce too low`): the caller must look at the chain state.
    Ambiguous(String),
}

/// How waiting ended.
pub(crate) enum Waited {
    /// Mined with status 1 and confirmed.
    Mined(TransactionReceipt),
    /// Mined with status 0.
    Reverted(TransactionReceipt),
    /// The node does not know the transaction any more (restarted or reorganised).
    Dropped,
}

/// Decodes revert data as a RootRegistry, BundleVerifier or AggregatedVerifier custom error.
pub(crate) fn decode_revert(data: &Bytes) -> String {
    if let Ok(e) = RootRegistry::RootRegistryErrors::abi_decode(data) {
        return format!("RootRegistry.{e:?}");
    }
    if let Ok(e) = BundleVerifier::BundleVerifierErrors::abi_decode(data) {
        return format!("BundleVerifier.{e:?}");
    }
    if let Ok(e) = AggregatedVerifier::AggregatedVerifierErrors::abi_decode(data) {
        return format!("AggregatedVerifier.{e:?}");
    }
    if data.is_empty() {
        "no revert data (out of gas, or a failed deployment)".into()
    } else {
        format!("revert data 0x{}", hex::encode(data))
    }
}

impl Chain {
    /// Sends `req`, retrying transport errors. A node-side refusal carrying revert data (the
    /// gas estimate simulated a revert) becomes [`PublishError::Reverted`] with nothing sent.
    ///
    /// The nonce is always read from the node (pending block) right before sending, never
    /// from a local cache: after a node restart lost a pending transaction, the resend must
    /// reuse its nonce.
    pub(crate) async fn send(&self, what: &str, mut req: TransactionRequest) -> Result<Sent> {
        let from = self.require_sender()?;
        let p = self.provider.clone();
        let nonce = self
            .retry("eth_getTransactionCount", || async { p.get_transaction_count(from).pending().await })
            .await?;
        req.from = Some(from);
        req.nonce = Some(nonce);
        let mut delay = self.opts.backoff;
        let mut transport_failures = 0;
        loop {
            match self.provider.send_transaction(req.clone()).await {
                Ok(pending) => {
                    let hash = *pending.tx_hash();
                    log::info!("{what}: sent transaction {hash}");
                    return Ok(Sent::Hash(hash));
                }
                Err(e) if is_transport(&e) && transport_failures < self.opts.retries => {
                    transport_failures += 1;
                    log::warn!(
                        "{what}: {}; retry {transport_failures}/{} in {delay:?}",
                        self.scrub(&e),
                        self.opts.retries
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(8));
                }
                Err(RpcError::ErrorResp(payload)) => {
                    if let Some(data) = payload.as_revert_data() {
                        return Err(PublishError::Reverted {
                            what: what.into(),
                            tx: None,
                            reason: decode_revert(&data),
                        });
                    }
                    if transport_failures > 0 {
                        return Ok(Sent::Ambiguous(payload.message.to_string()));
                    }
                    return Err(self.rpc_error(&format!("sending {what}"), payload));
                }
                Err(e) => return Err(self.rpc_error(&format!("sending {what}"), e)),
            }
        }
    }

    /// Waits for `hash` to be mined and confirmed, until the receipt timeout.
    pub(crate) async fn wait(&self, what: &str, hash: TxHash) -> Result<Waited> {
        let deadline = Instant::now() + self.opts.receipt_timeout;
        let mut unknown = 0;
        let mut last_error = String::from("no receipt yet");
        while Instant::now() < deadline {
            match self.provider.get_transaction_receipt(hash).await {
                Ok(Some(r)) if !r.status() => return Ok(Waited::Reverted(r)),
                Ok(Some(r)) => {
                    let block = r.block_number.unwrap_or_default();
                    match self.provider.get_block_number().await {
                        Ok(head) if head + 1 >= block + self.opts.confirmations => {
                            return Ok(Waited::Mined(r))
                        }
                        Ok(head) => {
                            last_error =
                                format!("{} of {} confirmations", head + 1 - block, self.opts.confirmations)
                        }
                        Err(e) => last_error = self.scrub(&e),
                    }
                }
                Ok(None) => match self.provider.get_transaction_by_hash(hash).await {
                    Ok(None) => {
                        unknown += 1;
                        if unknown >= 3 {
                            log::warn!("{what}: the node no longer knows transaction {hash}");
                            return Ok(Waited::Dropped);
                        }
                    }
                    Ok(Some(_)) => unknown = 0,
                    Err(e) => last_error = self.scrub(&e),
                },
                Err(e) => {
                    last_error = self.scrub(&e);
                    log::warn!("{what}: waiting for the receipt of {hash}: {last_error}");
                }
            }
            tokio::time::sleep(self.opts.poll).await;
        }
        Err(PublishError::Unconfirmed { tx: hash.to_string(), detail: last_error })
    }

    /// Sends `req` and waits for a successful receipt (deployments and owner calls: no
    /// idempotency check, so a dropped transaction is an error here).
    pub(crate) async fn send_and_confirm(
        &self,
        what: &str,
        req: TransactionRequest,
    ) -> Result<TransactionReceipt> {
        let hash = match self.send(what, req.clone()).await? {
            Sent::Hash(h) => h,
            Sent::Ambiguous(m) => {
                return Err(self.rpc_error(
                    &format!("sending {what}"),
                    format!("outcome unknown after a transport error: {m}"),
                ))
            }
        };
        match self.wait(what, hash).await? {
            Waited::Mined(r) => Ok(r),
            Waited::Reverted(r) => Err(self.revert_reason(what, &req, &r).await),
            Waited::Dropped => {
                Err(self.rpc_error(what, format!("transaction {hash} was dropped by the node")))
            }
        }
    }

    /// After its confirmations, `r`'s transaction must still be in the block its receipt named.
    pub(crate) async fn still_included(&self, what: &str, r: &TransactionReceipt) -> Result<()> {
        let hash = r.transaction_hash;
        let p = self.provider.clone();
        let again = self.retry("eth_getTransactionReceipt", || p.get_transaction_receipt(hash)).await?;
        match again {
            Some(a) if a.block_hash == r.block_hash => Ok(()),
            Some(a) => Err(PublishError::Reorganised {
                what: what.into(),
                tx: hash.to_string(),
                detail: format!(
                    "it moved from block {} to block {}",
                    r.block_number.unwrap_or_default(),
                    a.block_number.unwrap_or_default()
                ),
            }),
            None => Err(PublishError::Reorganised {
                what: what.into(),
                tx: hash.to_string(),
                detail: format!("it is no longer in block {}", r.block_number.unwrap_or_default()),
            }),
        }
    }

    /// Replays a mined, reverted transaction as a call at its block's parent to learn why.
    pub(crate) async fn revert_reason(
        &self,
        what: &str,
        req: &TransactionRequest,
        r: &TransactionReceipt,
    ) -> PublishError {
        let block = r.block_number.unwrap_or_default().saturating_sub(1);
        let mut call = req.clone();
        call.gas = None;
        let reason = match self.provider.call(call).block(block.into()).await {
            Err(RpcError::ErrorResp(p)) => {
                p.as_revert_data().map(|d| decode_revert(&d)).unwrap_or_else(|| p.message.to_string())
            }
            Err(e) => format!("(could not replay: {})", self.scrub(&e)),
            Ok(_) => format!("status 0 with {} gas used (out of gas?)", r.gas_used),
        };
        PublishError::Reverted { what: what.into(), tx: Some(r.transaction_hash.to_string()), reason }
    }
}
