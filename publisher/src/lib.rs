#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(unused_crate_dependencies))]

/// The contracts' bindings (generated from the committed artifacts by `chunkproof-evm`).
pub use chunkproof_evm::{BundleVerifier, RootRegistry};

mod client;
mod deploy;
mod error;
mod key;
mod publish;
mod tx;

pub use client::{Chain, ChainOptions, LOCAL_CHAIN_IDS};
pub use deploy::{
    deploy_aggregated, deploy_model, deploy_registry, AggregatedDeployment, Deployed, ModelDeployment,
};
pub use error::{PublishError, Result};
pub use key::KeySource;
pub use publish::{
    attest, check_registry, deprecate_model, publish, publish_aggregated, set_attester, status,
    PublishOptions, PublishReport, Record,
};
