#![doc = include_str!("../README.md")]

mod bindings;
mod client;
mod deploy;
mod error;
mod key;
mod publish;
mod tx;

pub use bindings::{BundleVerifier, RootRegistry, ARTIFACTS};
pub use client::{Chain, ChainOptions, LOCAL_CHAIN_IDS};
pub use deploy::{deploy_model, deploy_registry, Deployed, ModelDeployment};
pub use error::{PublishError, Result};
pub use key::KeySource;
pub use publish::{
    attest, check_registry, deprecate_model, publish, set_attester, status, PublishOptions, PublishReport,
    Record,
};
