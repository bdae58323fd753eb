//! CUDA acceleration (the `gpu` feature): MSMs on the GPU through sppark, inside the ordinary
//! halo2-axiom prover. See [`crate::engine`] for how an engine is chosen.

// sppark's host-side field arithmetic calls into blst's C library.
use blst as _;

mod msm;
mod scheme;

pub use msm::{cpu_msm, same_point, Device};
pub use scheme::{CudaKzg, CudaMsmEngine, CudaParams, CudaShplonk, MsmStats, MIN_GPU_POINTS};
