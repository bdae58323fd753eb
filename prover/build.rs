//! Compiles the CUDA MSM kernel wrapper when the `gpu` feature is on; does nothing otherwise.

fn main() {
    println!("cargo:rerun-if-changed=cuda/msm_bn254.cu");
    println!("cargo:rerun-if-env-changed=NVCC");
    println!("cargo:rerun-if-env-changed=CHUNKPROOF_CUDA_ARCHS");
    if std::env::var_os("CARGO_FEATURE_GPU").is_none() {
        return;
    }
    gpu::build();
}

mod gpu {
    use std::path::PathBuf;
    use std::process::Command;

    fn fail(msg: &str) -> ! {
        eprintln!("error: chunkproof-prover's `gpu` feature: {msg}");
        std::process::exit(1);
    }

    pub(crate) fn build() {
        let nvcc = std::env::var("NVCC").unwrap_or_else(|_| "nvcc".into());
        let version = Command::new(&nvcc).arg("--version").output().unwrap_or_else(|e| {
            fail(&format!(
                "cannot run `{nvcc}` ({e}). Install the pinned CUDA toolchain with `make gpu-toolchain` \
                 and build with `make gpu-build`, or put nvcc on PATH"
            ))
        });
        if !version.status.success() {
            fail(&format!("`{nvcc} --version` failed"));
        }
        let sppark = std::env::var("DEP_SPPARK_ROOT")
            .unwrap_or_else(|_| fail("sppark did not report its source root (DEP_SPPARK_ROOT)"));
        // sppark's host-side field types are blst's C++ templates.
        let blst = std::env::var("DEP_BLST_C_SRC")
            .unwrap_or_else(|_| fail("blst did not report its source directory (DEP_BLST_C_SRC)"));
        // Real code for Ampere and Hopper, plus PTX for anything newer (JIT-compiled by the driver).
        let archs = std::env::var("CHUNKPROOF_CUDA_ARCHS").unwrap_or_else(|_| "80,90".into());
        let mut b = cc::Build::new();
        b.cuda(true).cudart("static").include(&sppark).include(&blst).file("cuda/msm_bn254.cu");
        b.flag("-DTAKE_RESPONSIBILITY_FOR_ERROR_MESSAGE");
        let mut last = String::new();
        for a in archs.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            b.flag(format!("-gencode=arch=compute_{a},code=sm_{a}"));
            last = a.to_string();
        }
        if !last.is_empty() {
            b.flag(format!("-gencode=arch=compute_{last},code=compute_{last}"));
        }
        b.compile("chunkproof_msm_cuda");
        // The PyPI CUDA wheels keep libcudart_static.a in `<root>/lib`, beside `<root>/bin/nvcc`;
        // cc only looks in `<root>/targets/x86_64-linux/lib`.
        if let Ok(out) = Command::new("sh").arg("-c").arg(format!("command -v {nvcc}")).output() {
            let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if let Some(root) = path.parent().and_then(|bin| bin.parent()) {
                for dir in ["lib", "lib64"] {
                    let d = root.join(dir);
                    if d.join("libcudart_static.a").exists() {
                        println!("cargo:rustc-link-search=native={}", d.display());
                    }
                }
            }
        }
    }
}
