//! `chunkproof-gpu-worker`: full GPU proving of chunk proofs and aggregated proofs with
//! halo2-axiom-gpu.
//!
//! The binary is built only with the `cuda` feature (`make gpu-build`): halo2-axiom-gpu needs
//! nvcc at build time and initialises CUDA before `main`, so a process that links it cannot
//! start on a machine without a GPU. That is why full GPU proving is a separate executable,
//! which `chunkproof prove --engine cuda-full` (or `--gpu`) and `chunkproof aggregate --gpu` run
//! as a child process with the same arguments. Everything except the proof itself (interpretation, planning, linkage,
//! keys, self-check with the ordinary verifier, bundle) is the prover crate's code, so the
//! bundles it writes are the ones the CPU path writes.
//!
//! This library part holds only the pieces that build without CUDA.
#![allow(unused_crate_dependencies)] // the dependencies are the `cuda` binary's; this library holds one constant

/// The proving engine's name, as recorded in a bundle's `meta.msm`.
pub const ENGINE_NAME: &str =
    "cuda-full (halo2-axiom-gpu: MSM, NTT, quotient, lookups, permutation on the GPU)";
