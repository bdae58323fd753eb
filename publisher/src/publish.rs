//! Publishing a verified root exactly once, the trust-based attester path, and status.

use alloy::primitives::{Address, Bytes, FixedBytes, TxHash, I256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolEvent;
use chunkproof_core::aggregated::AggregatedProof;
use chunkproof_core::Bundle;
use chunkproof_verifier::{verify_aggregated, verify_bundle, AggregationKey, KeySet, VerifyOptions};

use crate::client::Chain;
use crate::error::{PublishError, Result};
use crate::tx::{Sent, Waited};
use chunkproof_evm::{encode_int_values, RootRegistry};

/// A root's record in the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Block in which it was recorded (or upgraded to verified).
    pub block: u64,
    /// Who recorded it (the publisher, once verified).
    pub sender: Address,
    /// Recorded by an attester without proofs (trust-based) and not verified since.
    pub attested: bool,
    /// keccak256(abi.encode(inputs)) of the verified bundle's public model inputs (of the empty
    /// array when they are private; zero while attested).
    pub inputs_hash: FixedBytes<32>,
    /// keccak256(abi.encode(outputs)) of the verified bundle's public outputs (zero while
    /// attested).
    pub outputs_hash: FixedBytes<32>,
    /// The transaction that recorded it (from the `RootPublished` event; `None` if the node
    /// no longer has that block's logs).
    pub tx: Option<TxHash>,
}

/// What `publish` did.
#[derive(Clone, Debug)]
pub struct PublishReport {
    /// Model id.
    pub model_id: FixedBytes<32>,
    /// Merkle root.
    pub root: FixedBytes<32>,
    /// True if a transaction of this call verified the root; false if it was verified already
    /// (then nothing was sent, or our transaction was a no-op).
    pub newly_recorded: bool,
    /// The attester whose proof-less record this call's bundle verified, if any.
    pub upgraded_attestation: Option<Address>,
    /// Whether the verified record was made by this call's signer (now or earlier).
    pub recorded_by_sender: bool,
    /// Our transaction, if one was sent and mined.
    pub tx: Option<TxHash>,
    /// Gas used by our transaction.
    pub gas_used: Option<u64>,
    /// The record as it now stands (confirmed).
    pub record: Record,
}

/// Options of [`publish`].
#[derive(Clone, Debug, Default)]
pub struct PublishOptions {
    /// How the bundle is verified locally before anything is sent (which setups and model to
    /// accept).
    pub verify: VerifyOptions,
    /// TESTS ONLY (feature `test-utils`): send without verifying locally first (to see the
    /// chain reject a bad bundle).
    #[cfg(feature = "test-utils")]
    pub skip_local_verification_for_tests: bool,
    /// Fixed gas limit instead of an estimate (an estimate refuses a reverting transaction
    /// before sending; a fixed limit lets it be mined and revert on chain).
    pub gas_limit: Option<u64>,
}

impl PublishOptions {
    /// Whether to verify before sending (always, outside the test hook).
    fn verify_locally(&self) -> bool {
        #[cfg(feature = "test-utils")]
        return !self.skip_local_verification_for_tests;
        #[cfg(not(feature = "test-utils"))]
        true
    }
}

fn registry(
    chain: &Chain,
    address: Address,
) -> RootRegistry::RootRegistryInstance<alloy::providers::DynProvider> {
    RootRegistry::new(address, chain.provider.clone())
}

/// Checks that `address` holds a RootRegistry (code, and an answer to `owner()`).
pub async fn check_registry(chain: &Chain, address: Address) -> Result<()> {
    chain.require_code("RootRegistry", address).await?;
    let reg = registry(chain, address);
    chain
        .retry("RootRegistry.owner()", || async { reg.owner().call().await.map_err(contract_rpc) })
        .await
        .map_err(|e| PublishError::NoContract {
            what: "RootRegistry",
            address: address.to_string(),
            detail: format!("it does not answer owner(): {e}"),
        })?;
    Ok(())
}

/// Maps a contract-call error to a transport-level error for the retry helper.
pub(crate) fn contract_rpc(e: alloy::contract::Error) -> alloy::transports::TransportError {
    match e {
        alloy::contract::Error::TransportError(t) => t,
        other => alloy::transports::TransportErrorKind::custom_str(&other.to_string()),
    }
}

/// The record of (model, root), or `None`.
pub async fn status(
    chain: &Chain,
    registry_address: Address,
    model_id: FixedBytes<32>,
    root: FixedBytes<32>,
) -> Result<Option<Record>> {
    let reg = registry(chain, registry_address);
    let r = chain
        .retry("RootRegistry.recordOf()", || async {
            reg.recordOf(model_id, root).call().await.map_err(contract_rpc)
        })
        .await?;
    if r.blockNumber == 0 {
        return Ok(None);
    }
    let block = r.blockNumber;
    let filter = Filter::new()
        .address(registry_address)
        .event_signature(RootRegistry::RootPublished::SIGNATURE_HASH)
        .topic1(model_id)
        .topic2(root)
        .from_block(block)
        .to_block(block);
    let p = chain.provider.clone();
    let tx = match p.get_logs(&filter).await {
        Ok(logs) => logs.first().and_then(|l| l.transaction_hash),
        Err(e) => {
            log::warn!("eth_getLogs for the RootPublished event: {}", chain.scrub(&e));
            None
        }
    };
    Ok(Some(Record {
        block,
        sender: r.sender,
        attested: r.attested,
        inputs_hash: r.inputsHash,
        outputs_hash: r.outputsHash,
        tx,
    }))
}

/// Verifies `bundle` locally with `keys`, then records its root in the registry as verified,
/// exactly once: a root already verified is reported, not sent again (with who verified it); a
/// root recorded only by an attester is verified now (an upgrade); transport errors are retried;
/// a transaction lost by a restarting node is detected and, after checking the registry again,
/// sent again (the contract itself ignores a second recording). After the confirmations, the
/// transaction and the record are read back; if either is gone the chain reorganised and the
/// call fails.
pub async fn publish(
    chain: &Chain,
    registry_address: Address,
    bundle: &Bundle,
    keys: &KeySet,
    opts: &PublishOptions,
) -> Result<PublishReport> {
    if opts.verify_locally() {
        verify_bundle(bundle, keys, &opts.verify).map_err(PublishError::LocalRejection)?;
    }
    let sender = chain.require_sender()?;
    check_registry(chain, registry_address).await?;
    let model_id = FixedBytes::<32>::from(bundle.model_id.0);
    let root = FixedBytes::<32>::from(bundle.root.0);
    live_model(chain, registry_address, model_id, Via::Bundle).await?;
    let reg = registry(chain, registry_address);
    let plan = &keys.manifest.plan;
    let public = |yes: bool, values: &[i64]| if yes { encode_int_values(values) } else { Vec::<I256>::new() };
    let inputs = public(plan.input_public, &bundle.inputs);
    let outputs = public(plan.output_public, &bundle.outputs);
    let proofs: Vec<Bytes> = bundle.chunks.iter().map(|c| c.proof.clone().into()).collect();
    let mut call = reg.publish(model_id, root, proofs, inputs, outputs).from(sender);
    if let Some(g) = opts.gas_limit {
        call = call.gas(g);
    }
    record_verified(chain, registry_address, (model_id, root), "publish", call.into_transaction_request())
        .await
}

/// Verifies the aggregated proof `agg` locally (with `keys` and its aggregation key), then
/// records its root in the registry as verified through the model's AggregatedVerifier
/// (`publishAggregated`), exactly once, with the same guarantees as [`publish`]: one
/// transaction of constant gas, whatever the number of chunks.
pub async fn publish_aggregated(
    chain: &Chain,
    registry_address: Address,
    agg: &AggregatedProof,
    keys: &KeySet,
    key: &AggregationKey,
    opts: &PublishOptions,
) -> Result<PublishReport> {
    if opts.verify_locally() {
        verify_aggregated(agg, keys, key, &opts.verify).map_err(PublishError::LocalRejection)?;
    }
    let call = chunkproof_evm::verify_aggregated_call(agg, keys)?;
    let sender = chain.require_sender()?;
    check_registry(chain, registry_address).await?;
    let model_id = FixedBytes::<32>::from(agg.model_id.0);
    live_model(chain, registry_address, model_id, Via::Aggregated).await?;
    let reg = registry(chain, registry_address);
    let mut tx = reg
        .publishAggregated(model_id, call.root, call.accumulator, call.inputs, call.outputs, call.proof)
        .from(sender);
    if let Some(g) = opts.gas_limit {
        tx = tx.gas(g);
    }
    record_verified(
        chain,
        registry_address,
        (model_id, call.root),
        "publishAggregated",
        tx.into_transaction_request(),
    )
    .await
}

/// Sends `req` (a `publish` or `publishAggregated` of `(model, root)`) until the registry holds
/// a verified record of the root: a root already verified is reported, not sent again; a root
/// only attested is verified (an upgrade); a transaction lost by a restarting node is sent
/// again after checking the registry; after the confirmations, the transaction and the record
/// are read back.
async fn record_verified(
    chain: &Chain,
    registry_address: Address,
    (model_id, root): (FixedBytes<32>, FixedBytes<32>),
    what: &str,
    req: TransactionRequest,
) -> Result<PublishReport> {
    let sender = chain.require_sender()?;
    let mut ours: Option<TxHash> = None;
    let mut attester: Option<Address> = None;
    for round in 0..4 {
        match status(chain, registry_address, model_id, root).await? {
            Some(record) if !record.attested => {
                let newly =
                    ours.is_some() && record.sender == sender && (record.tx.is_none() || record.tx == ours);
                return Ok(PublishReport {
                    model_id,
                    root,
                    newly_recorded: newly,
                    upgraded_attestation: attester.filter(|_| newly),
                    recorded_by_sender: record.sender == sender,
                    tx: ours,
                    gas_used: None,
                    record,
                });
            }
            Some(record) => {
                log::info!("{what}: the root is attested by {} without proofs; verifying it", record.sender);
                attester.get_or_insert(record.sender);
            }
            None => {}
        }
        if round > 0 {
            log::warn!("{what}: the root is not verified yet; sending again (attempt {})", round + 1);
        }
        let hash = match chain.send(what, req.clone()).await? {
            Sent::Hash(h) => h,
            Sent::Ambiguous(msg) => {
                log::warn!("{what}: {msg}; checking the registry");
                continue;
            }
        };
        ours = Some(hash);
        match chain.wait(what, hash).await? {
            Waited::Mined(r) => {
                let newly = r.decoded_log::<RootRegistry::RootPublished>().is_some_and(|l| !l.attested);
                chain.still_included(what, &r).await?;
                let record = status(chain, registry_address, model_id, root)
                    .await?
                    .filter(|rec| !rec.attested)
                    .ok_or_else(|| PublishError::Reorganised {
                        what: what.into(),
                        tx: hash.to_string(),
                        detail: "the registry holds no verified record of the root".into(),
                    })?;
                return Ok(PublishReport {
                    model_id,
                    root,
                    newly_recorded: newly,
                    upgraded_attestation: attester.filter(|_| newly),
                    recorded_by_sender: record.sender == sender,
                    tx: Some(hash),
                    gas_used: Some(r.gas_used),
                    record,
                });
            }
            Waited::Reverted(r) => return Err(chain.revert_reason(what, &req, &r).await),
            Waited::Dropped => continue,
        }
    }
    Err(chain.rpc_error(what, "the transaction was dropped four times"))
}

/// Which of the model's verifiers a publication goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    /// Its BundleVerifier (`publish`, `attest`).
    Bundle,
    /// Its AggregatedVerifier (`publishAggregated`).
    Aggregated,
}

/// The AggregatedVerifier registered for `model_id`, or the zero address.
pub(crate) async fn aggregated_verifier_of(
    chain: &Chain,
    registry_address: Address,
    model_id: FixedBytes<32>,
) -> Result<Address> {
    let reg = registry(chain, registry_address);
    chain
        .retry("RootRegistry.aggregatedVerifierOf()", || async {
            reg.aggregatedVerifierOf(model_id).call().await.map_err(contract_rpc)
        })
        .await
}

/// The model must have the verifier `via` registered and not be deprecated.
async fn live_model(
    chain: &Chain,
    registry_address: Address,
    model_id: FixedBytes<32>,
    via: Via,
) -> Result<()> {
    let reg = registry(chain, registry_address);
    let verifier = match via {
        Via::Bundle => {
            chain
                .retry("RootRegistry.verifierOf()", || async {
                    reg.verifierOf(model_id).call().await.map_err(contract_rpc)
                })
                .await?
        }
        Via::Aggregated => aggregated_verifier_of(chain, registry_address, model_id).await?,
    };
    if verifier == Address::ZERO {
        return Err(match via {
            Via::Bundle => PublishError::UnknownModel {
                model_id: model_id.to_string(),
                registry: registry_address.to_string(),
            },
            Via::Aggregated => PublishError::config(format!(
                "model {model_id} has no AggregatedVerifier in the RootRegistry at {registry_address} \
                 (`chunkproof deploy-registry --aggregated B.agg` deploys and registers one; nothing was sent)"
            )),
        });
    }
    let deprecated = chain
        .retry("RootRegistry.deprecated()", || async {
            reg.deprecated(model_id).call().await.map_err(contract_rpc)
        })
        .await?;
    if deprecated {
        return Err(PublishError::Deprecated {
            model_id: model_id.to_string(),
            registry: registry_address.to_string(),
        });
    }
    Ok(())
}

/// TRUST-BASED: records `root` without proofs (the sender must be an attester named by the
/// registry's owner). Returns the record and whether this call created it, and the gas used.
pub async fn attest(
    chain: &Chain,
    registry_address: Address,
    model_id: FixedBytes<32>,
    root: FixedBytes<32>,
) -> Result<(Record, bool, Option<u64>)> {
    let sender = chain.require_sender()?;
    check_registry(chain, registry_address).await?;
    live_model(chain, registry_address, model_id, Via::Bundle).await?;
    if let Some(r) = status(chain, registry_address, model_id, root).await? {
        return Ok((r, false, None));
    }
    let req =
        registry(chain, registry_address).attest(model_id, root).from(sender).into_transaction_request();
    let r = chain.send_and_confirm("attest", req).await?;
    chain.still_included("attest", &r).await?;
    let record =
        status(chain, registry_address, model_id, root).await?.ok_or_else(|| PublishError::Reorganised {
            what: "attest".into(),
            tx: r.transaction_hash.to_string(),
            detail: "the registry holds no record of the root".into(),
        })?;
    Ok((record, true, Some(r.gas_used)))
}

/// Owner only: retires `model_id`; the registry then refuses to record anything for it.
pub async fn deprecate_model(
    chain: &Chain,
    registry_address: Address,
    model_id: FixedBytes<32>,
) -> Result<u64> {
    let sender = chain.require_sender()?;
    check_registry(chain, registry_address).await?;
    let req =
        registry(chain, registry_address).deprecateModel(model_id).from(sender).into_transaction_request();
    Ok(chain.send_and_confirm("deprecateModel", req).await?.gas_used)
}

/// Owner only: allows or forbids `attester` to record roots without proofs.
pub async fn set_attester(
    chain: &Chain,
    registry_address: Address,
    attester: Address,
    allowed: bool,
) -> Result<u64> {
    let sender = chain.require_sender()?;
    check_registry(chain, registry_address).await?;
    let req = registry(chain, registry_address)
        .setAttester(attester, allowed)
        .from(sender)
        .into_transaction_request();
    Ok(chain.send_and_confirm("setAttester", req).await?.gas_used)
}
