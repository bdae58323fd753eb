#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod circuit;
mod engine;
mod error;
mod run;

pub use engine::{AggregationEngine, CpuAggregation};
pub use error::{AggregateError, Result};
pub use run::{
    aggregate, aggregate_with, AggregateConfig, AggregateReport, NodeReport, AGGREGATION_K, ARITY,
    DEFAULT_ARITY, DEPLOYABLE_GATE_COLUMNS,
};
#[cfg(feature = "test-utils")]
#[doc(hidden)]
pub use run::{aggregate_unchecked, mock_unchecked};
