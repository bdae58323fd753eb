//! Deploying a RootRegistry, and a model's chunk verifiers and BundleVerifier (registered in a
//! registry). The registry's code is the committed artifact; a model's verifiers are generated
//! from its key set and compiled with `solc` (as `chunkproof export-verifier` does).

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, FixedBytes};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolValue;
use chunkproof_evm::{compile_model, Solc};
use chunkproof_verifier::KeySet;

use crate::client::Chain;
use crate::error::{PublishError, Result};
use crate::publish::{check_registry, contract_rpc};
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
        check_registry(chain, r).await?;
        if keys.is_dev_setup() {
            let reg = RootRegistry::new(r, chain.provider.clone());
            let test_mode = chain
                .retry("RootRegistry.testMode()", || async {
                    reg.testMode().call().await.map_err(contract_rpc)
                })
                .await?;
            if !test_mode {
                return Err(PublishError::config(format!(
                    "the RootRegistry at {r} is not in test mode: it refuses models on the INSECURE \
                     development setup (nothing was deployed)"
                )));
            }
        }
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
            let receipt = chain.send_and_confirm("registerModel", req).await.map_err(|e| match e {
                PublishError::Reverted { reason, tx, .. } if reason.contains("NotOwner") => {
                    PublishError::Reverted {
                        what: "registerModel".into(),
                        tx,
                        reason: format!("{reason}: only the registry's owner can register models"),
                    }
                }
                other => other,
            })?;
            Some(receipt.gas_used)
        }
    };
    Ok(ModelDeployment { model_id, chunk_verifiers, bundle_verifier, register_gas })
}
