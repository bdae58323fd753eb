//! Deploying a RootRegistry, a model's chunk verifiers and BundleVerifier, or its aggregation
//! verifier and AggregatedVerifier (each registered in a registry). The registry's code is the
//! committed artifact; a model's verifiers are generated from its keys and compiled with `solc`
//! (as `chunkproof export-verifier` does).

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, FixedBytes};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolValue;
use chunkproof_evm::{compile_aggregated, compile_model, Solc, EIP170_LIMIT};
use chunkproof_verifier::{AggregationKey, KeySet};

use crate::client::Chain;
use crate::error::{PublishError, Result};
use crate::publish::{aggregated_verifier_of, check_registry, contract_rpc};
use chunkproof_evm::RootRegistry;

/// One deployed contract.
#[derive(Clone, Debug)]
pub struct Deployed {
    /// Contract name.
    pub name: String,
    /// Address.
    pub address: Address,
    /// Gas used by the deployment.
    pub gas_used: u64,
}

/// What [`deploy_model`] did.
#[derive(Clone, Debug)]
pub struct ModelDeployment {
    /// Model id.
    pub model_id: FixedBytes<32>,
    /// Chunk verifiers, in chunk order.
    pub chunk_verifiers: Vec<Deployed>,
    /// The BundleVerifier.
    pub bundle_verifier: Deployed,
    /// Gas of `registerModel`, when a registry was given.
    pub register_gas: Option<u64>,
}

/// What [`deploy_aggregated`] did.
#[derive(Clone, Debug)]
pub struct AggregatedDeployment {
    /// Model id.
    pub model_id: FixedBytes<32>,
    /// The generated aggregation verifier.
    pub verifier: Deployed,
    /// The AggregatedVerifier in front of it.
    pub wrapper: Deployed,
    /// Gas of `registerAggregatedVerifier`, when a registry was given.
    pub register_gas: Option<u64>,
}

/// The registry at `r` must exist and, for a model on the development setup, be in test mode.
async fn check_accepts(chain: &Chain, r: Address, keys: &KeySet) -> Result<()> {
    check_registry(chain, r).await?;
    if keys.is_dev_setup() {
        let reg = RootRegistry::new(r, chain.provider.clone());
        let test_mode = chain
            .retry("RootRegistry.testMode()", || async { reg.testMode().call().await.map_err(contract_rpc) })
            .await?;
        if !test_mode {
            return Err(PublishError::config(format!(
                "the RootRegistry at {r} is not in test mode: it refuses models on the INSECURE \
                 development setup (nothing was deployed)"
            )));
        }
    }
    Ok(())
}

/// Sends an owner-only registration and names the owner rule if it reverts for it.
async fn register(chain: &Chain, what: &str, req: TransactionRequest) -> Result<u64> {
    let receipt = chain.send_and_confirm(what, req).await.map_err(|e| match e {
        PublishError::Reverted { reason, tx, .. } if reason.contains("NotOwner") => PublishError::Reverted {
            what: what.into(),
            tx,
            reason: format!("{reason}: only the registry's owner can register verifiers"),
        },
        other => other,
    })?;
    Ok(receipt.gas_used)
}

async fn create(chain: &Chain, name: &str, code: Vec<u8>) -> Result<Deployed> {
    let from = chain.require_sender()?;
    let req = TransactionRequest::default().from(from).with_deploy_code(Bytes::from(code));
    let r = chain.send_and_confirm(&format!("deployment of {name}"), req).await?;
    let address = r.contract_address.ok_or_else(|| {
        chain.rpc_error(&format!("deploying {name}"), "the receipt has no contract address")
    })?;
    log::info!("deployed {name} at {address} ({} gas)", r.gas_used);
    Ok(Deployed { name: name.into(), address, gas_used: r.gas_used })
}

/// Deploys a RootRegistry owned by the signer. `test_mode` lets it register models on the
/// INSECURE development setup (tests only).
pub async fn deploy_registry(chain: &Chain, test_mode: bool) -> Result<Deployed> {
    if test_mode {
        log::warn!(
            "deploying a RootRegistry in TEST MODE: it accepts models on the INSECURE development setup"
        );
    }
    let code = [RootRegistry::BYTECODE.to_vec(), (test_mode,).abi_encode_params()].concat();
    create(chain, "RootRegistry", code).await
}

/// Deploys the chunk verifiers and the BundleVerifier of `keys` and, if `registry` is given,
/// registers the model there (the signer must be the registry's owner).
pub async fn deploy_model(
    chain: &Chain,
    keys: &KeySet,
    solc: &Solc,
    registry: Option<Address>,
) -> Result<ModelDeployment> {
    let from = chain.require_sender()?;
    if let Some(r) = registry {
        check_accepts(chain, r, keys).await?;
    }
    let model = compile_model(keys, solc)?;
    let mut chunk_verifiers = Vec::with_capacity(model.verifiers.len());
    for (v, c) in model.verifiers.iter().zip(&model.chunk_contracts) {
        chunk_verifiers.push(create(chain, &v.contract, c.creation.clone()).await?);
    }
    let addresses: Vec<Address> = chunk_verifiers.iter().map(|d| d.address).collect();
    let bundle_verifier =
        create(chain, "BundleVerifier", model.bundle_verifier_creation(keys, &addresses)).await?;
    let model_id = FixedBytes::<32>::from(keys.model_id().0);
    let register_gas = match registry {
        None => None,
        Some(r) => {
            let reg = RootRegistry::new(r, chain.provider.clone());
            let req = reg.registerModel(bundle_verifier.address).from(from).into_transaction_request();
            Some(register(chain, "registerModel", req).await?)
        }
    };
    Ok(ModelDeployment { model_id, chunk_verifiers, bundle_verifier, register_gas })
}

/// Deploys the aggregation verifier of `key` (generated from it and compiled with `solc`) and
/// an AggregatedVerifier in front of it, and, if `registry` is given, registers it there for
/// `publishAggregated` (the signer must be the registry's owner). Nothing is sent unless both
/// contracts fit EIP-170.
pub async fn deploy_aggregated(
    chain: &Chain,
    keys: &KeySet,
    key: &AggregationKey,
    solc: &Solc,
    registry: Option<Address>,
) -> Result<AggregatedDeployment> {
    let from = chain.require_sender()?;
    if let Some(r) = registry {
        check_accepts(chain, r, keys).await?;
        let model_id = FixedBytes::<32>::from(keys.model_id().0);
        let existing = aggregated_verifier_of(chain, r, model_id).await?;
        if existing != Address::ZERO {
            return Err(PublishError::config(format!(
                "model {model_id} already has an AggregatedVerifier in the RootRegistry at {r}: {existing} \
                 (a registration is permanent; nothing was deployed)"
            )));
        }
    }
    let compiled = compile_aggregated(keys, key, solc)?;
    for (name, size) in [
        (compiled.generated.contract.as_str(), compiled.verifier.runtime.len()),
        ("AggregatedVerifier", compiled.wrapper.runtime.len()),
    ] {
        if size > EIP170_LIMIT {
            return Err(PublishError::config(format!(
                "{name} is {size} bytes of code, over EIP-170's {EIP170_LIMIT}: it cannot be deployed \
                 (aggregate again with a larger --k for fewer columns; nothing was deployed)"
            )));
        }
    }
    let verifier = create(chain, &compiled.generated.contract, compiled.verifier.creation.clone()).await?;
    let wrapper =
        create(chain, "AggregatedVerifier", compiled.wrapper_creation(keys, key, verifier.address)).await?;
    let register_gas = match registry {
        None => None,
        Some(r) => {
            let reg = RootRegistry::new(r, chain.provider.clone());
            let req = reg.registerAggregatedVerifier(wrapper.address).from(from).into_transaction_request();
            Some(register(chain, "registerAggregatedVerifier", req).await?)
        }
    };
    Ok(AggregatedDeployment {
        model_id: FixedBytes::<32>::from(keys.model_id().0),
        verifier,
        wrapper,
        register_gas,
    })
}
