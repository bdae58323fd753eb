//! Chunk circuits: layer gadgets, linkage and the custom column, on halo2-base.

pub mod chunk;
pub mod custom;
pub mod gadgets;
pub mod layers;
pub mod linkage;
pub mod numeric;
pub mod ops;

/// The circuits' field: the BN254 scalar field.
pub use chunkproof_verifier::Fr;

pub use chunk::{build_chunk, choose_params, ChunkCircuit, ChunkHandles, ChunkSpec, ChunkWitness};
pub use custom::CustomRegion;
