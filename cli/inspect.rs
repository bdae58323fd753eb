//! `chunkproof inspect`: a model's layers, shapes, weights and estimated circuit rows, and the
//! plan for N chunks, without proving anything.

use std::path::PathBuf;

use chunkproof_prover::model::{load_model, Graph, LayerKind};
use chunkproof_prover::plan::{chunk_rows, layer_cost, passed_through, plan, plan_request};
use chunkproof_prover::run::driver::{estimated_k, memory_estimate};
use clap::Args;
use serde_json::json;

use crate::Failure;

#[derive(Args)]
pub(crate) struct InspectArgs {
    /// zkml msgpack model.
    #[arg(value_name = "M.msgpack")]
    model: PathBuf,
    /// The plan to show.
    #[command(flatten)]
    chunking: chunkproof_args::ChunkingArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Multiply-accumulates of layer `i` (convolutions and dense layers; 0 for the others).
fn macs(graph: &Graph, i: usize) -> usize {
    let layer = &graph.layers[i];
    let out = graph.numel(layer.outputs[0]);
    match &layer.kind {
        LayerKind::Conv2D { .. } => {
            let w = graph.shape(layer.inputs[1]);
            out * w[1..].iter().product::<usize>()
        }
        LayerKind::DepthwiseConv2D { .. } => {
            let w = graph.shape(layer.inputs[1]);
            out * w[1] * w[2]
        }
        LayerKind::FullyConnected { .. } => out * graph.shape(layer.inputs[1])[1],
        LayerKind::BatchMatMul { .. } => out * graph.shape(layer.inputs[0])[2],
        _ => 0,
    }
}

/// Runs `chunkproof inspect`.
pub(crate) fn inspect(a: InspectArgs) -> Result<(), Failure> {
    let mut graph = load_model(&a.model)?;
    a.chunking.declare(&mut graph);
    let layers: Vec<serde_json::Value> = graph
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let (consts, acts): (Vec<u32>, Vec<u32>) =
                l.inputs.iter().partition(|id| graph.is_constant(**id));
            let cost = layer_cost(&graph, i);
            json!({
                "index": i,
                "zkml_layer": l.index,
                "kind": l.kind.name(),
                "inputs": acts.iter().map(|id| graph.shape(*id).to_vec()).collect::<Vec<_>>(),
                "outputs": l.outputs.iter().map(|id| graph.shape(*id).to_vec()).collect::<Vec<_>>(),
                "weights": consts.iter().map(|id| graph.numel(*id)).sum::<usize>(),
                "macs": macs(&graph, i),
                "main_cells": cost.main,
                "custom_rows": cost.custom,
                "product_rows": cost.product,
                "check": if cost.product > 0 { "random challenge" } else { "direct" },
            })
        })
        .collect();
    let mono = plan(&graph, 1, a.chunking.width, false, true)?;
    let planned = plan_request(&graph, a.chunking.request(), a.chunking.width, false, true)?;
    let p = &planned.plan;
    let rows = chunk_rows(&planned.split.graph, p);
    let chunks: Vec<serde_json::Value> = (0..p.num_chunks())
        .map(|i| {
            json!({
                "index": i,
                "layers": [p.cuts[i], p.cuts[i + 1]],
                "kinds": (p.cuts[i]..p.cuts[i + 1]).map(|pos| crate::layer_label(&planned, pos)).collect::<Vec<_>>(),
                "rows": rows[i],
                "reads": p.reads[i].iter().map(|j| json!({
                    "leaf": j,
                    "values": p.leaves[*j].iter().map(|id| planned.split.graph.numel(*id)).sum::<usize>(),
                    "bits": p.packings[*j].bits, "offset": p.packings[*j].offset,
                })).collect::<Vec<_>>(),
                "boundary_out": {"values": p.leaves[i + 1].iter().map(|id| planned.split.graph.numel(*id)).sum::<usize>(),
                                 "bits": p.packings[i + 1].bits, "offset": p.packings[i + 1].offset},
                "passed_through": passed_through(&planned.split.graph, p, i),
                "k": estimated_k(rows[i], 0, a.chunking.width),
                "memory_estimate_mib": memory_estimate(p, i, 0, a.chunking.width) >> 20,
            })
        })
        .collect();
    let splits: Vec<serde_json::Value> = planned
        .splits
        .iter()
        .map(|s| json!({"layer": s.layer, "zkml_layer": graph.layers[s.layer].index, "parts": s.parts}))
        .collect();
    let weights: u64 = layers.iter().map(|l| l["weights"].as_u64().unwrap_or(0)).sum();
    let folded = graph.folded.len();
    let summary = json!({
        "model": a.model,
        "scale": graph.scale,
        "layers": layers,
        "weights": weights,
        "monolithic": {"rows": mono.costs[0].rows(), "k": estimated_k(mono.costs[0].rows(), 0, a.chunking.width),
                       "memory_estimate_mib": memory_estimate(&mono, 0, 0, a.chunking.width) >> 20},
        "plan": chunks,
        "splits": splits,
        "folded_layers": folded,
        "peak_rss_kib": chunkproof_prover::run::report::peak_rss_kib(),
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary).expect("json"));
        return Ok(());
    }
    println!(
        "{}: {} layers, {weights} weights, scale {}",
        a.model.display(),
        graph.layers.len(),
        graph.scale
    );
    if folded > 0 {
        println!("{folded} zkml layers folded at load (shape plumbing, data movement on constants); zkml's numbers in the second column");
    }
    println!(
        "{:>3} {:>5}  {:<16} {:<20} {:<16} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "#", "zkml", "layer", "input", "output", "weights", "MACs", "cells", "rows", "product"
    );
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    for l in &summary["layers"].as_array().cloned().unwrap_or_default() {
        let shape = |v: &serde_json::Value| {
            v.as_array()
                .map(|a| a.iter().map(|s| s.to_string().replace(',', "×")).collect::<Vec<_>>().join(" "))
                .unwrap_or_default()
        };
        println!(
            "{:>3} {:>5}  {:<16} {:<20} {:<16} {:>8} {:>10} {:>10} {:>10} {:>10}",
            n(&l["index"]),
            n(&l["zkml_layer"]),
            l["kind"].as_str().unwrap_or(""),
            shape(&l["inputs"]),
            shape(&l["outputs"]),
            n(&l["weights"]),
            n(&l["macs"]),
            n(&l["main_cells"]),
            n(&l["custom_rows"]),
            n(&l["product_rows"])
        );
    }
    let m = &summary["monolithic"];
    println!(
        "monolithic: ~{} rows, k ≈ {}, peak memory ≈ {} MiB",
        m["rows"], m["k"], m["memory_estimate_mib"]
    );
    println!("plan for {} chunks:", p.num_chunks());
    for s in &planned.splits {
        let l = &graph.layers[s.layer];
        println!("  layer {} ({}) cut into {} parts", s.layer, l.kind.name(), s.parts);
    }
    for (i, c) in chunks.iter().enumerate() {
        let kinds: Vec<&str> =
            c["kinds"].as_array().into_iter().flatten().filter_map(|k| k.as_str()).collect();
        println!(
            "  chunk {}: layers {}..{} [{}], {}, out {} values ({}-bit{}), ~{} rows, k ≈ {}, peak memory ≈ {} MiB",
            c["index"],
            c["layers"][0],
            c["layers"][1],
            kinds.join(", "),
            crate::reads_text(&planned.split.graph, p, i),
            c["boundary_out"]["values"],
            c["boundary_out"]["bits"],
            crate::through(c["passed_through"].as_u64().unwrap_or(0) as usize),
            c["rows"],
            c["k"],
            c["memory_estimate_mib"]
        );
    }
    Ok(())
}

#[derive(Args)]
pub(crate) struct GenFixtureArgs {
    /// Which fixture: `cnn_large_v1`, `tiny_table_v1`, `tiny_dense_v1`, `transformer_v1`, `ranking_v1`,
    /// `conv1x1_v1`.
    #[arg(value_name = "NAME")]
    name: String,
    /// Directory to write `model.msgpack` and `input.msgpack` into.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `chunkproof gen-fixture`.
pub(crate) fn gen_fixture(a: GenFixtureArgs) -> Result<(), Failure> {
    let Some((model, input)) = chunkproof_prover::zoo::generate(&a.name) else {
        return Err(Failure {
            code: 2,
            message: format!(
                "error: unknown fixture {:?} (known: {})",
                a.name,
                chunkproof_prover::zoo::FIXTURES.join(", ")
            ),
        });
    };
    std::fs::create_dir_all(&a.out)
        .map_err(|e| Failure { code: 2, message: format!("error: {}: {e}", a.out.display()) })?;
    for (name, bytes) in [("model.msgpack", &model), ("input.msgpack", &input)] {
        chunkproof_core::write_atomic(&a.out.join(name), bytes)?;
    }
    println!(
        "wrote {} ({} bytes) and {} ({} bytes)",
        a.out.join("model.msgpack").display(),
        model.len(),
        a.out.join("input.msgpack").display(),
        input.len()
    );
    Ok(())
}
