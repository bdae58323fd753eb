//! `prove --engine cuda-full` and `aggregate --gpu`: hand the whole run to the
//! `chunkproof-gpu-worker` binary.
//!
//! Full GPU proving (halo2-axiom-gpu) cannot live in this binary: that library initialises CUDA
//! before `main` and aborts the process on a machine without a GPU. The worker is a separate
//! executable (crate `gpu-worker/`, `make gpu-build`) that accepts the same `prove` and `aggregate` arguments;
//! running it as a child process keeps a missing GPU a clean error here.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Command;

use crate::Failure;

/// Environment variable naming the worker binary (default: beside this executable).
pub(crate) const WORKER_ENV: &str = "CHUNKPROOF_GPU_WORKER";
const WORKER_NAME: &str = "chunkproof-gpu-worker";

fn worker_path() -> Result<PathBuf, Failure> {
    if let Some(p) = std::env::var_os(WORKER_ENV) {
        return Ok(PathBuf::from(p));
    }
    let exe =
        std::env::current_exe().map_err(|e| Failure::error(format!("cannot locate this executable: {e}")))?;
    let p = exe.with_file_name(WORKER_NAME);
    if p.is_file() {
        Ok(p)
    } else {
        Err(Failure {
            code: 2,
            message: format!(
                "error: GPU proving needs the GPU worker binary, not found at {} \
                 (build it with `make gpu-build`, or set {WORKER_ENV})",
                p.display()
            ),
        })
    }
}

/// The arguments of this invocation (the subcommand first), without the engine selection.
fn forwarded_args() -> Vec<String> {
    let mut out = Vec::new();
    let mut args = std::env::args().skip(1).peekable();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--gpu" => {}
            "--engine" => {
                args.next();
            }
            _ if a.starts_with("--engine=") => {}
            _ => out.push(a),
        }
    }
    out
}

/// Runs the worker with this invocation's arguments and returns its verdict; `what` names the
/// output a failure leaves unwritten (`bundle`, `aggregated proof`).
pub(crate) fn delegate(what: &str) -> Result<(), Failure> {
    let worker = worker_path()?;
    log::info!("proof engine: cuda-full (halo2-axiom-gpu) in {}", worker.display());
    let status = Command::new(&worker).args(forwarded_args()).status().map_err(|e| Failure {
        code: 2,
        message: format!("error: cannot start the GPU worker {}: {e}", worker.display()),
    })?;
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(()),
        (Some(127), _) => Err(Failure {
            code: 2,
            message: format!(
                "error: the GPU worker could not start (exit status 127: the NVIDIA driver's \
                      libcuda.so.1 is missing; full GPU proving needs an NVIDIA GPU and driver); \
                      no {what} was written"
            ),
        }),
        (Some(code), _) => Err(Failure {
            code: code.clamp(1, 255) as u8,
            message: format!("error: the GPU worker failed (exit status {code}); no {what} was written"),
        }),
        (None, sig) => Err(Failure {
            code: 2,
            message: format!(
                "error: the GPU worker was killed by signal {} (it aborts at start when there is no \
                 usable NVIDIA GPU or driver); no {what} was written",
                sig.unwrap_or(0)
            ),
        }),
    }
}
