#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod aggregation;
pub mod bindings;
mod codegen;
mod error;
mod exec;
mod export;
mod solc;

pub use aggregation::{
    aggregation_verifier, compile_aggregated, export_aggregated, verify_aggregated_call,
    verify_aggregated_evm, AggregatedExportOptions, CompiledAggregated, EvmAggregateReport,
    GeneratedAggregationVerifier, AGGREGATED_VERIFIER_SOL,
};
pub use bindings::{chunk_calldata, encode_int_values, AggregatedVerifier, BundleVerifier, RootRegistry};
pub use codegen::{chunk_verifier, GeneratedVerifier};
pub use error::{EvmError, Result};
pub use exec::{EvmBundleReport, InProcessEvm, EIP170_LIMIT};
pub use export::{
    compile_model, export, verify_bundle_evm, CompiledModel, ExportOptions, ExportReport, BUNDLE_VERIFIER_SOL,
};
pub use solc::{CompiledContract, Solc, SOLC_VERSION};
