//! BN254 G1 multi-scalar multiplication on a CUDA GPU (sppark's Pippenger), with the checks
//! that keep a foreign-memory interface honest.
//!
//! The CUDA side reads halo2curves' in-memory representation directly (Montgomery limbs,
//! affine `(x, y)`, infinity `(0, 0)`), so no conversion pass is needed. That is only valid if
//! halo2curves lays its types out as expected; [`Device::open`] verifies this before any MSM
//! runs and refuses otherwise. The result comes back as a Jacobian point, is converted here,
//! and must lie on the curve or the call fails.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_void, CStr};
use std::mem::size_of;
use std::sync::Mutex;

use halo2_axiom::halo2curves::bn256::{Fq, Fr, G1Affine, G1};
use halo2_axiom::halo2curves::ff::Field;
use halo2_axiom::halo2curves::group::prime::PrimeCurveAffine;
use halo2_axiom::halo2curves::group::{Curve, Group};
use halo2_axiom::halo2curves::serde::SerdeObject;
use halo2_axiom::halo2curves::CurveAffine;

use crate::error::{ProverError, Result};

/// sppark's `jacobian_t<fp_t>`: X, Y, Z in Montgomery form (x = X/Z², y = Y/Z³).
#[repr(C)]
#[derive(Clone, Copy)]
struct Jacobian {
    x: [u64; 4],
    y: [u64; 4],
    z: [u64; 4],
}

extern "C" {
    fn chunkproof_cuda_msm_bn254(
        out: *mut Jacobian,
        bases: *const c_void,
        scalars: *const c_void,
        n: usize,
    ) -> sppark::Error;
    fn chunkproof_cuda_devices(name: *mut c_char, name_len: usize) -> usize;
}

/// One MSM at a time on the device: sppark's per-call state is not meant to be shared by
/// halo2's concurrent commitment threads.
static DEVICE_LOCK: Mutex<()> = Mutex::new(());

fn backend_err(detail: impl Into<String>) -> ProverError {
    ProverError::Backend { backend: "cuda-msm", detail: detail.into() }
}

fn raw_bytes<T>(v: &T) -> &[u8] {
    // SAFETY: reading the bytes of a plain `Copy` value of known size.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()) }
}

/// Checks that halo2curves' in-memory layout is the one the CUDA code reads.
fn check_layout() -> Result<()> {
    let g = G1Affine::generator();
    let s = Fr::from(0x1234_5678_9abc_def0u64).square();
    let ok = size_of::<G1Affine>() == 64
        && size_of::<Fr>() == 32
        && raw_bytes(&g) == g.to_raw_bytes().as_slice()
        && raw_bytes(&s) == s.to_raw_bytes().as_slice()
        && raw_bytes(&G1Affine::identity()) == [0u8; 64];
    if ok {
        Ok(())
    } else {
        Err(backend_err("halo2curves' point or scalar layout is not the one the CUDA kernel expects"))
    }
}

fn fq_from_limbs(l: [u64; 4]) -> Result<Fq> {
    let mut bytes = [0u8; 32];
    for (chunk, limb) in bytes.chunks_exact_mut(8).zip(l) {
        chunk.copy_from_slice(&limb.to_le_bytes());
    }
    Fq::from_raw_bytes(&bytes).ok_or_else(|| backend_err("the GPU returned a non-canonical field element"))
}

fn to_curve(p: Jacobian) -> Result<G1> {
    let z = fq_from_limbs(p.z)?;
    if bool::from(z.is_zero()) {
        return Ok(G1::identity());
    }
    let (x, y) = (fq_from_limbs(p.x)?, fq_from_limbs(p.y)?);
    let zi = z.invert().unwrap();
    let zi2 = zi.square();
    let a = G1Affine::from_xy(x * zi2, y * zi2 * zi);
    Option::<G1Affine>::from(a)
        .map(|a| a.to_curve())
        .ok_or_else(|| backend_err("the GPU returned a point that is not on BN254"))
}

/// An opened CUDA device on which MSMs can run.
#[derive(Debug, Clone)]
pub struct Device {
    /// The device's name, e.g. `NVIDIA H100 80GB HBM3`.
    pub name: String,
    /// Number of usable CUDA devices (sppark uses the first).
    pub count: usize,
}

impl Device {
    /// Finds a usable GPU (compute capability ≥ 7.0) and checks the memory layout contract.
    pub fn open() -> Result<Self> {
        check_layout()?;
        let mut name = [0 as c_char; 256];
        // SAFETY: the callee writes at most `name.len()` bytes, NUL-terminated.
        let count = unsafe { chunkproof_cuda_devices(name.as_mut_ptr(), name.len()) };
        if count == 0 {
            return Err(backend_err(
                "no usable CUDA GPU (no NVIDIA driver, no device, or compute capability below 7.0)",
            ));
        }
        // SAFETY: NUL-terminated by the callee.
        let name = unsafe { CStr::from_ptr(name.as_ptr()) }.to_string_lossy().into_owned();
        Ok(Self { name, count })
    }

    /// `Σ scalars[i]·bases[i]` on the GPU. `bases` may be longer than `scalars`.
    pub fn msm(&self, scalars: &[Fr], bases: &[G1Affine]) -> Result<G1> {
        if bases.len() < scalars.len() {
            return Err(backend_err(format!("{} scalars but only {} bases", scalars.len(), bases.len())));
        }
        if scalars.is_empty() {
            return Ok(G1::identity());
        }
        let mut out = Jacobian { x: [0; 4], y: [0; 4], z: [0; 4] };
        let err = {
            let _guard = DEVICE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
            // SAFETY: `bases` and `scalars` hold at least `scalars.len()` elements whose layout
            // `check_layout` verified when this `Device` was opened; `out` is a valid pointer.
            unsafe {
                chunkproof_cuda_msm_bn254(
                    &mut out,
                    bases.as_ptr().cast(),
                    scalars.as_ptr().cast(),
                    scalars.len(),
                )
            }
        };
        if err.code != 0 {
            return Err(backend_err(format!("sppark MSM of {} points failed: {err}", scalars.len())));
        }
        to_curve(out)
    }
}

/// The CPU MSM the GPU result is compared with (halo2-axiom's multi-threaded Pippenger).
pub fn cpu_msm(scalars: &[Fr], bases: &[G1Affine]) -> G1 {
    halo2_axiom::arithmetic::best_multiexp(scalars, &bases[..scalars.len()])
}

/// Checks a GPU MSM result against the CPU on the same input (used by tests and the MSM bench).
pub fn same_point(a: &G1, b: &G1) -> bool {
    a.to_affine() == b.to_affine()
}
