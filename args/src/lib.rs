#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod aggregate;
mod failure;
mod prove;

pub use aggregate::{run_aggregate, AggregateArgs};
pub use failure::{exit, init_logging, Failure};
pub use prove::{ChunkingArgs, ProveArgs, ProveChunkArgs, SetupArgs};
