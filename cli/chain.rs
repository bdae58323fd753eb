//! `publish`, `deploy-registry`, `status`, `attest`, `set-attester`, `deprecate-model`: the
//! chain side (crate `chunkproof-publisher`). Nothing is sent before every local check passed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, FixedBytes};
use chunkproof_core::aggregated::{is_aggregated_file, AggregatedProof};
use chunkproof_core::Bundle;
use chunkproof_evm::Solc;
use chunkproof_publisher::{
    self as publisher, Chain, ChainOptions, KeySource, PublishError, PublishOptions, Record,
};
use chunkproof_verifier::AggregationKey;
use clap::Args;
use serde_json::json;

use crate::Failure;

/// Where the chain is.
#[derive(Args, Clone)]
pub(crate) struct ChainArgs {
    /// JSON-RPC endpoint.
    #[arg(long, value_name = "URL")]
    rpc_url: String,
    /// Refuse to send anything unless the node is on this chain (required for sending, except to
    /// a local development chain: 31337 or 1337).
    #[arg(long, value_name = "ID")]
    chain_id: Option<u64>,
    /// Retries of each RPC call after a transport error (exponential backoff from 250 ms).
    #[arg(long, default_value_t = 6)]
    retries: u32,
    /// Blocks that must include a transaction before it counts as done.
    #[arg(long, default_value_t = 1)]
    confirmations: u64,
    /// Seconds to wait for a receipt.
    #[arg(long, default_value_t = 120)]
    receipt_timeout: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Who signs.
#[derive(Args, Clone)]
pub(crate) struct SignerArgs {
    /// Environment variable holding the hex private key (the key itself is never printed).
    #[arg(long, value_name = "VAR", conflicts_with = "keystore")]
    private_key_env: Option<String>,
    /// Encrypted JSON keystore; its password is read from --password-env.
    #[arg(long, value_name = "FILE")]
    keystore: Option<PathBuf>,
    /// Environment variable holding the keystore password.
    #[arg(long, value_name = "VAR", default_value = "CHUNKPROOF_KEYSTORE_PASSWORD")]
    password_env: String,
}

impl SignerArgs {
    fn source(&self) -> Result<KeySource, Failure> {
        match (&self.private_key_env, &self.keystore) {
            (Some(v), _) => Ok(KeySource::Env(v.clone())),
            (None, Some(p)) => {
                Ok(KeySource::Keystore { path: p.clone(), password_env: self.password_env.clone() })
            }
            (None, None) => Err(fail(
                2,
                "error: this command sends a transaction: give --private-key-env VAR or --keystore FILE",
            )),
        }
    }
}

/// `chunkproof publish`.
#[derive(Args)]
pub(crate) struct PublishArgs {
    /// The bundle, or an aggregated proof (`chunkproof aggregate`: published through the
    /// model's AggregatedVerifier in one transaction).
    bundle: PathBuf,
    /// Key directory (the bundle or aggregated proof is verified locally before anything is sent).
    #[arg(long, value_name = "DIR")]
    keys: PathBuf,
    /// The model to check the bundle against (needed when DIR holds several).
    #[arg(long, value_name = "HEX")]
    model_id: Option<String>,
    #[command(flatten)]
    trust: crate::trust::TrustArgs,
    /// The RootRegistry.
    #[arg(long, value_name = "ADDR")]
    registry: String,
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    signer: SignerArgs,
}

/// `chunkproof deploy-registry`.
#[derive(Args)]
pub(crate) struct DeployArgs {
    /// Also deploy this key directory's model (chunk verifiers + BundleVerifier) and register it.
    #[arg(long, value_name = "DIR")]
    keys: Option<PathBuf>,
    /// Which model of --keys (needed when the directory holds several).
    #[arg(long, value_name = "HEX")]
    model_id: Option<String>,
    #[command(flatten)]
    trust: crate::trust::TrustArgs,
    /// Instead of the chunk verifiers and BundleVerifier: the aggregation verifier of this
    /// aggregated proof's key and an AggregatedVerifier, registered for `publishAggregated`.
    #[arg(long, value_name = "FILE", requires = "keys")]
    aggregated: Option<PathBuf>,
    /// Register the model in this existing RootRegistry instead of deploying a new one.
    #[arg(long, value_name = "ADDR", requires = "keys")]
    registry: Option<String>,
    /// Deploy the registry in TEST MODE: it then accepts models on the INSECURE development
    /// setup. Tests only.
    #[arg(long, conflicts_with = "registry")]
    test_mode: bool,
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    signer: SignerArgs,
}

/// `chunkproof status`.
#[derive(Args)]
pub(crate) struct StatusArgs {
    /// Merkle root.
    #[arg(long, value_name = "0x…")]
    root: String,
    /// Model id.
    #[arg(long, value_name = "0x…")]
    model: String,
    /// The RootRegistry.
    #[arg(long, value_name = "ADDR")]
    registry: String,
    #[command(flatten)]
    chain: ChainArgs,
}

/// `chunkproof attest` (trust-based).
#[derive(Args)]
pub(crate) struct AttestArgs {
    /// Merkle root.
    #[arg(long, value_name = "0x…")]
    root: String,
    /// Model id.
    #[arg(long, value_name = "0x…")]
    model: String,
    /// The RootRegistry.
    #[arg(long, value_name = "ADDR")]
    registry: String,
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    signer: SignerArgs,
}

/// `chunkproof deprecate-model` (registry owner).
#[derive(Args)]
pub(crate) struct DeprecateArgs {
    /// Model id.
    #[arg(long, value_name = "0x…")]
    model: String,
    /// The RootRegistry.
    #[arg(long, value_name = "ADDR")]
    registry: String,
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    signer: SignerArgs,
}

/// `chunkproof set-attester` (registry owner).
#[derive(Args)]
pub(crate) struct SetAttesterArgs {
    /// The account to allow (or, with --revoke, forbid).
    attester: String,
    /// Forbid instead of allow.
    #[arg(long)]
    revoke: bool,
    /// The RootRegistry.
    #[arg(long, value_name = "ADDR")]
    registry: String,
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    signer: SignerArgs,
}

fn fail(code: u8, message: impl Into<String>) -> Failure {
    Failure { code, message: message.into() }
}

fn from_publish(e: PublishError) -> Failure {
    match e {
        PublishError::LocalRejection(v) => Failure::from(v),
        PublishError::Verifier(v) => Failure::from(v),
        e @ PublishError::Reverted { .. } => fail(1, format!("rejected: {e}")),
        e => fail(2, format!("error: {e}")),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(2, format!("error: cannot start the async runtime: {e}")))
}

fn address(s: &str, what: &str) -> Result<Address, Failure> {
    s.parse().map_err(|_| fail(2, format!("error: {what} {s:?} is not an address (0x and 40 hex digits)")))
}

fn word(s: &str, what: &str) -> Result<FixedBytes<32>, Failure> {
    s.parse().map_err(|_| fail(2, format!("error: {what} {s:?} is not 0x and 64 hex digits")))
}

fn options(c: &ChainArgs) -> ChainOptions {
    let mut o = ChainOptions::new(c.rpc_url.clone());
    o.chain_id = c.chain_id;
    o.retries = c.retries;
    o.confirmations = c.confirmations.max(1);
    o.receipt_timeout = Duration::from_secs(c.receipt_timeout);
    o
}

fn record_json(r: &Record) -> serde_json::Value {
    json!({
        "block": r.block, "sender": r.sender.to_string(), "attested": r.attested,
        "inputs_hash": (!r.attested).then(|| r.inputs_hash.to_string()),
        "outputs_hash": (!r.attested).then(|| r.outputs_hash.to_string()), "tx": r.tx.map(|t| t.to_string()),
    })
}

fn record_text(r: &Record) -> String {
    format!(
        "block {}, sender {}, tx {}{}",
        r.block,
        r.sender,
        r.tx.map(|t| t.to_string()).unwrap_or_else(|| "unknown".into()),
        if r.attested {
            ", ATTESTED without proofs (trust-based)".to_string()
        } else {
            format!(", verified on chain (inputs hash {}, outputs hash {})", r.inputs_hash, r.outputs_hash)
        }
    )
}

/// `chunkproof publish`.
pub(crate) fn publish(a: PublishArgs) -> Result<(), Failure> {
    let start = Instant::now();
    let aggregated = is_aggregated_file(&a.bundle)?;
    let pinned = crate::parse_model_id(a.model_id.clone())?;
    let keys = crate::trust::load_keys(&a.keys, pinned.as_ref())?;
    let registry = address(&a.registry, "--registry")?;
    let key = a.signer.source()?;
    let opts = PublishOptions { verify: a.trust.options(pinned)?, ..Default::default() };
    let report = if aggregated {
        let agg = AggregatedProof::read(&a.bundle)?;
        let agg_key = AggregationKey::load(&keys, &agg.vk_digest)?;
        runtime()?.block_on(async {
            let chain = Chain::connect(options(&a.chain), Some(&key)).await?;
            publisher::publish_aggregated(&chain, registry, &agg, &keys, &agg_key, &opts).await
        })
    } else {
        let bundle = Bundle::read(&a.bundle)?;
        runtime()?.block_on(async {
            let chain = Chain::connect(options(&a.chain), Some(&key)).await?;
            publisher::publish(&chain, registry, &bundle, &keys, &opts).await
        })
    };
    let r = report.map_err(from_publish)?;
    let secs = start.elapsed().as_secs_f64();
    let by_us = r.recorded_by_sender;
    if a.chain.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "model_id": r.model_id.to_string(), "root": r.root.to_string(), "newly_recorded": r.newly_recorded,
                "upgraded_attestation_by": r.upgraded_attestation.map(|a| a.to_string()),
                "recorded_by_this_key": by_us, "aggregated": aggregated,
                "tx": r.tx.map(|t| t.to_string()), "gas_used": r.gas_used, "record": record_json(&r.record), "seconds": secs,
            }))
            .expect("json")
        );
    } else if r.newly_recorded {
        let upgrade = r
            .upgraded_attestation
            .map(|a| format!(" (it was attested by {a} without proofs; now verified)"))
            .unwrap_or_default();
        println!(
            "published{}: root {} of model {}{upgrade}: tx {}, {}, gas {} ({secs:.1} s)",
            if aggregated { " (aggregated proof)" } else { "" },
            r.root,
            r.model_id,
            r.tx.map(|t| t.to_string()).unwrap_or_default(),
            record_text(&r.record),
            r.gas_used.map(|g| g.to_string()).unwrap_or_else(|| "unknown".into())
        );
    } else {
        println!(
            "already verified {}, nothing sent: root {} of model {}: {}",
            if by_us { "by this key" } else { "by another account" },
            r.root,
            r.model_id,
            record_text(&r.record)
        );
    }
    Ok(())
}

/// What `deploy-registry` deployed for a model.
enum Deployment {
    Bundle(publisher::ModelDeployment),
    Aggregated(publisher::AggregatedDeployment),
}

impl Deployment {
    fn json(&self) -> serde_json::Value {
        let d = |d: &publisher::Deployed| json!({"name": d.name, "address": d.address.to_string(), "gas": d.gas_used});
        match self {
            Self::Bundle(m) => json!({
                "model_id": m.model_id.to_string(),
                "bundle_verifier": m.bundle_verifier.address.to_string(),
                "bundle_verifier_gas": m.bundle_verifier.gas_used,
                "chunk_verifiers": m.chunk_verifiers.iter().map(d).collect::<Vec<_>>(),
                "register_gas": m.register_gas,
            }),
            Self::Aggregated(m) => json!({
                "model_id": m.model_id.to_string(),
                "aggregated_verifier": m.wrapper.address.to_string(),
                "aggregated_verifier_gas": m.wrapper.gas_used,
                "aggregation_verifier": d(&m.verifier),
                "register_gas": m.register_gas,
            }),
        }
    }

    fn print(&self) {
        match self {
            Self::Bundle(m) => {
                for d in &m.chunk_verifiers {
                    println!("  {} at {} (gas {})", d.name, d.address, d.gas_used);
                }
                println!(
                    "BundleVerifier of model {} at {} (gas {}), registered (gas {})",
                    m.model_id,
                    m.bundle_verifier.address,
                    m.bundle_verifier.gas_used,
                    m.register_gas.unwrap_or_default()
                );
            }
            Self::Aggregated(m) => {
                println!("  {} at {} (gas {})", m.verifier.name, m.verifier.address, m.verifier.gas_used);
                println!(
                    "AggregatedVerifier of model {} at {} (gas {}), registered (gas {})",
                    m.model_id,
                    m.wrapper.address,
                    m.wrapper.gas_used,
                    m.register_gas.unwrap_or_default()
                );
            }
        }
    }
}

/// `chunkproof deploy-registry`.
pub(crate) fn deploy(a: DeployArgs) -> Result<(), Failure> {
    let key = a.signer.source()?;
    let model = match &a.keys {
        None => None,
        Some(dir) => {
            let pinned = crate::parse_model_id(a.model_id.clone())?;
            let keys = crate::trust::load_keys(dir, pinned.as_ref())?;
            a.trust.check(&keys)?;
            if keys.is_dev_setup() && a.registry.is_none() && !a.test_mode {
                return Err(fail(
                    2,
                    "error: a RootRegistry refuses models on the INSECURE development setup unless it is \
                     deployed with --test-mode (tests only)",
                ));
            }
            let agg_key = match &a.aggregated {
                None => None,
                Some(path) => {
                    let agg = AggregatedProof::read(path)?;
                    Some(AggregationKey::load(&keys, &agg.vk_digest)?)
                }
            };
            Some((keys, agg_key, Solc::find()?))
        }
    };
    let existing = a.registry.as_deref().map(|r| address(r, "--registry")).transpose()?;
    let rt = runtime()?;
    let out = rt.block_on(async {
        let chain = Chain::connect(options(&a.chain), Some(&key)).await?;
        let registry = match existing {
            Some(r) => (r, None),
            None => {
                let d = publisher::deploy_registry(&chain, a.test_mode).await?;
                (d.address, Some(d.gas_used))
            }
        };
        let model = match &model {
            Some((keys, None, solc)) => {
                Some(Deployment::Bundle(publisher::deploy_model(&chain, keys, solc, Some(registry.0)).await?))
            }
            Some((keys, Some(k), solc)) => Some(Deployment::Aggregated(
                publisher::deploy_aggregated(&chain, keys, k, solc, Some(registry.0)).await?,
            )),
            None => None,
        };
        Ok::<_, PublishError>((registry, model))
    });
    let ((registry, registry_gas), model) = out.map_err(from_publish)?;
    if a.chain.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "registry": registry.to_string(), "registry_gas": registry_gas,
                "model": model.as_ref().map(Deployment::json),
            }))
            .expect("json")
        );
    } else {
        match registry_gas {
            Some(g) if a.test_mode => {
                println!("RootRegistry deployed at {registry} in TEST MODE (accepts INSECURE dev-setup models; gas {g})")
            }
            Some(g) => println!("RootRegistry deployed at {registry} (gas {g})"),
            None => println!("RootRegistry at {registry}"),
        }
        if let Some(m) = model {
            m.print();
        }
    }
    Ok(())
}

/// `chunkproof status`.
pub(crate) fn status(a: StatusArgs) -> Result<(), Failure> {
    let (root, model) = (word(&a.root, "--root")?, word(&a.model, "--model")?);
    let registry = address(&a.registry, "--registry")?;
    let rec = runtime()?
        .block_on(async {
            let chain = Chain::connect(options(&a.chain), None).await?;
            publisher::check_registry(&chain, registry).await?;
            publisher::status(&chain, registry, model, root).await
        })
        .map_err(from_publish)?;
    if a.chain.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "published": rec.is_some(), "record": rec.as_ref().map(record_json) })
            )
            .expect("json")
        );
    } else {
        match &rec {
            Some(r) => println!("published: {}", record_text(r)),
            None => {
                println!("not published: root {root} of model {model} is not in the registry at {registry}")
            }
        }
    }
    Ok(())
}

/// `chunkproof attest`.
pub(crate) fn attest(a: AttestArgs) -> Result<(), Failure> {
    let (root, model) = (word(&a.root, "--root")?, word(&a.model, "--model")?);
    let registry = address(&a.registry, "--registry")?;
    let key = a.signer.source()?;
    let (rec, new, gas) = runtime()?
        .block_on(async {
            let chain = Chain::connect(options(&a.chain), Some(&key)).await?;
            publisher::attest(&chain, registry, model, root).await
        })
        .map_err(from_publish)?;
    if a.chain.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "newly_recorded": new, "gas_used": gas, "record": record_json(&rec) })
            )
            .expect("json")
        );
    } else if new {
        println!(
            "attested (TRUST-BASED, no proofs checked): {} (gas {})",
            record_text(&rec),
            gas.unwrap_or_default()
        );
    } else {
        println!("already recorded, nothing sent: {}", record_text(&rec));
    }
    Ok(())
}

/// `chunkproof deprecate-model`.
pub(crate) fn deprecate(a: DeprecateArgs) -> Result<(), Failure> {
    let model = word(&a.model, "--model")?;
    let registry = address(&a.registry, "--registry")?;
    let key = a.signer.source()?;
    let gas = runtime()?
        .block_on(async {
            let chain = Chain::connect(options(&a.chain), Some(&key)).await?;
            publisher::deprecate_model(&chain, registry, model).await
        })
        .map_err(from_publish)?;
    println!("deprecated model {model}: the registry records nothing more for it (gas {gas})");
    Ok(())
}

/// `chunkproof set-attester`.
pub(crate) fn set_attester(a: SetAttesterArgs) -> Result<(), Failure> {
    let who = address(&a.attester, "attester")?;
    let registry = address(&a.registry, "--registry")?;
    let key = a.signer.source()?;
    let gas = runtime()?
        .block_on(async {
            let chain = Chain::connect(options(&a.chain), Some(&key)).await?;
            publisher::set_attester(&chain, registry, who, !a.revoke).await
        })
        .map_err(from_publish)?;
    println!("{} {who} as attester (gas {gas})", if a.revoke { "revoked" } else { "allowed" });
    Ok(())
}
