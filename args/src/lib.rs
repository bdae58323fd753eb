#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

mod failure;
mod prove;

pub use failure::{exit, init_logging, Failure};
pub use prove::{ProveArgs, ProveChunkArgs, SetupArgs};
