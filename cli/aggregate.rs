//! `aggregate` and the verification of aggregated proofs (`verify B.agg`).

use std::path::Path;

use chunkproof_aggregate::CpuAggregation;
use chunkproof_args::{run_aggregate, AggregateArgs};
use chunkproof_core::aggregated::AggregatedProof;
use chunkproof_verifier::{verify_aggregated, AggregationKey, VerifyOptions};

use crate::{fmt_values, gpu_worker, Failure};

/// `chunkproof aggregate`: on the CPU here, or with `--gpu` in the GPU worker.
pub(crate) fn aggregate_cmd(a: AggregateArgs) -> Result<(), Failure> {
    if a.gpu {
        return gpu_worker::delegate("aggregated proof");
    }
    run_aggregate(&a, &CpuAggregation)
}

/// `chunkproof verify B.agg`: the aggregated proof against the key directory.
pub(crate) fn verify_aggregated_cmd(
    path: &Path,
    keys: &chunkproof_verifier::KeySet,
    opts: &VerifyOptions,
    (json, evm): (bool, bool),
) -> Result<(), Failure> {
    let start = std::time::Instant::now();
    let agg = AggregatedProof::read(path)?;
    let key = AggregationKey::load(keys, &agg.vk_digest)?;
    let ok = verify_aggregated(&agg, keys, &key, opts)?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let evm = if evm {
        let solc = chunkproof_evm::Solc::find()?;
        Some(chunkproof_evm::verify_aggregated_evm(&agg, keys, &key, &solc)?)
    } else {
        None
    };
    if json {
        let out = serde_json::json!({
            "ok": true,
            "aggregated": true,
            "chunks": ok.num_chunks,
            "model_id": ok.model_id.to_string(),
            "root": ok.root.to_string(),
            "inputs": ok.inputs,
            "outputs": ok.outputs,
            "srs": { "digest": keys.srs.digest().to_string(), "trust": ok.srs.to_string() },
            "aggregation_key": agg.vk_digest.to_string(),
            "total_ms": ms,
            "evm": evm.as_ref().map(|r| serde_json::json!({
                "runtime_size": r.runtime_size, "wrapper_size": r.wrapper_size, "deployable": r.deployable, "deploy_gas": r.deploy_gas, "verify_gas": r.verify_gas, "verifier_gas": r.verifier_gas,
            })),
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        println!(
            "ok: aggregated proof of {} chunks, root {}, outputs {}",
            ok.num_chunks,
            ok.root,
            fmt_values(&ok.outputs)
        );
        println!("model {}", ok.model_id);
        println!("srs   {} ({})", keys.srs.digest(), ok.srs);
        println!("aggregation key {} ({ms:.0} ms)", agg.vk_digest);
        if let Some(r) = &evm {
            println!(
                "evm: aggregation verifier {} bytes of runtime code and AggregatedVerifier {} bytes{}, deployed for {} gas; \
                 verifyAggregated {} gas (the generated verifier alone: {} gas)",
                r.runtime_size,
                r.wrapper_size,
                if r.deployable {
                    String::new()
                } else {
                    format!(
                        " (OVER EIP-170's {}: not deployable on Ethereum; measured without the limit; \
                         aggregate with a larger --k)",
                        chunkproof_evm::EIP170_LIMIT
                    )
                },
                r.deploy_gas,
                r.verify_gas,
                r.verifier_gas
            );
        }
    }
    Ok(())
}
