// chunkproof: BN254 G1 multi-scalar multiplication on a CUDA GPU, through sppark's Pippenger.
//
// Built only with the prover's `gpu` feature (see prover/build.rs). The memory layout of the
// inputs is halo2curves' own: an affine point is two Montgomery-form base-field elements
// (the point at infinity is (0, 0)), a scalar is a Montgomery-form element of Fr. The result
// is a Jacobian point in Montgomery form; the Rust side converts and checks it.

#include <cstring>

#define FEATURE_BN254
#include <ec/jacobian_t.hpp>
#include <ec/xyzz_t.hpp>
#include <ff/alt_bn128.hpp>

// pippenger.cuh instantiates its kernels for these four names.
typedef jacobian_t<fp_t> point_t;
typedef xyzz_t<fp_t> bucket_t;
typedef bucket_t::affine_t affine_t;
typedef fr_t scalar_t;

#include <msm/pippenger.cuh>

#ifndef __CUDA_ARCH__

// ngpus() and gpu_props() are sppark's (util/gpu_t.cuh, built into its all_gpus.cpp).

extern "C" RustError chunkproof_cuda_msm_bn254(point_t* out, const affine_t* bases,
                                               const scalar_t* scalars, size_t n)
{
    // Scalars arrive in Montgomery form (mont = true converts them on the device).
    return mult_pippenger<bucket_t>(out, bases, n, scalars, true, sizeof(affine_t));
}

// Number of usable GPUs (0 when there is no driver or no device); writes the first one's name.
extern "C" size_t chunkproof_cuda_devices(char* name, size_t name_len)
{
    size_t n = ngpus();
    if (name_len > 0) {
        name[0] = '\0';
        if (n > 0) {
            std::strncpy(name, gpu_props(0).name, name_len - 1);
            name[name_len - 1] = '\0';
        }
    }
    return n;
}

#endif
