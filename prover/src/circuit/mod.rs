//! Chunk circuits on halo2-base: the fixed-point gadgets, the custom column (dot products,
//! Poseidon rounds), linkage, and the chunk circuit that puts the layers' circuits
//! ([`crate::layers`]) between its two committed boundaries.

pub mod chunk;
pub mod custom;
pub mod cx;
pub mod gadgets;
pub mod layout;
pub mod linkage;
pub mod numeric;
pub mod product;

/// The circuits' field: the BN254 scalar field.
pub use chunkproof_core::Fr;

pub use crate::witness::{ChunkSpec, ChunkWitness};
pub use chunk::{build_chunk, choose_params, sizing_params, ChunkCircuit, ChunkHandles};
pub use custom::CustomRegion;
pub use product::ProductRegion;
