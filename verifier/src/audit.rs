//! The linkage report of a bundle: per chunk, what it covers and whether it links.
//!
//! Without keys the audit checks everything that needs no verifying key (model id consistency,
//! leaves → root, every chunk's index, public root, instance count and public values, the
//! count); with keys it also judges the SRS, verifies each proof on its own and compares
//! verifying-key digests. Every problem found, in any row, is part of the verdict.

use std::fmt;

use halo2_axiom::plonk::ConstraintSystem;
use serde::Serialize;

use chunkproof_core::bundle::ChunkProof;
use chunkproof_core::merkle::MerkleTree;
use chunkproof_core::shape::{configure, ChunkCircuitParams};
use chunkproof_core::srs::{ceremony_of, DEV_SRS_DIGEST};
use chunkproof_core::{fr_from_i64, Bundle, Bytes32, Fr};

use crate::keys::KeySet;
use crate::verify::{verify_bundle, verify_chunk_proof, VerifyOptions};

/// Column counts of a chunk circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Columns {
    /// Advice columns.
    pub advice: usize,
    /// Fixed columns, selectors included.
    pub fixed: usize,
    /// Instance columns.
    pub instance: usize,
}

/// Column counts of a chunk circuit of shape `params`.
pub(crate) fn columns(params: &ChunkCircuitParams) -> Columns {
    let mut meta = ConstraintSystem::<Fr>::default();
    let _ = configure(&mut meta, params);
    Columns {
        advice: meta.num_advice_columns(),
        fixed: meta.num_fixed_columns() + meta.num_selectors(),
        instance: meta.num_instance_columns(),
    }
}

/// One row of the audit.
#[derive(Clone, Debug, Serialize)]
pub struct ChunkAudit {
    /// Position in the bundle.
    pub position: usize,
    /// Index the proof claims.
    pub index: usize,
    /// Layers `first..end` and their kinds.
    pub layers: String,
    /// Circuit size `2^k`.
    pub k: u32,
    /// Columns of the circuit.
    pub columns: Columns,
    /// The leaves the chunk reads (from the plan; `[index]` when it reads only its
    /// predecessor's), each with its published hash.
    pub leaves_in: Vec<LeafRef>,
    /// Leaf the chunk proves its output against (`c_{i+1}`).
    pub leaf_out: Option<Bytes32>,
    /// Proof size.
    pub proof_bytes: usize,
    /// Verifying-key digest the proof names.
    pub vk_digest: Bytes32,
    /// `ok`, or what failed.
    pub status: String,
}

/// A leaf of the linkage tree: its position and its published hash (`None` when the bundle
/// has no leaf there).
#[derive(Clone, Debug, Serialize)]
pub struct LeafRef {
    /// Position `j`.
    pub leaf: usize,
    /// `c_j` as published.
    pub hash: Option<Bytes32>,
}

/// The whole audit.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// Model id claimed by the bundle.
    pub model_id: Bytes32,
    /// Whether the model id matches the bundle's plan, SRS digest and key digests.
    pub model_id_consistent: bool,
    /// The root.
    pub root: Bytes32,
    /// Whether the leaves hash to the root.
    pub leaves_hash_to_root: bool,
    /// The SRS digest the bundle names.
    pub srs_digest: Bytes32,
    /// Where that SRS comes from: the ceremony, the caller's `--trust-srs`, the development
    /// setup, or why it is refused (with keys: the keys' SRS, judged; without: the bundle's
    /// claim, unchecked).
    pub srs: String,
    /// Chunks in the plan.
    pub num_chunks: usize,
    /// Whether proofs were checked against keys.
    pub proofs_checked: bool,
    /// Per-chunk rows.
    pub chunks: Vec<ChunkAudit>,
    /// `ok`, or every failure found (the rows' problems included).
    pub verdict: String,
    /// Whether the verdict is `ok`.
    pub ok: bool,
}

/// What can be checked of chunk proof `c` at position `pos` without a key: its index, its
/// root, its number of public instances and the public values it carries.
fn unkeyed_problems(bundle: &Bundle, pos: usize, c: &ChunkProof) -> Vec<String> {
    let plan = &bundle.plan;
    let mut problems = Vec::new();
    if c.index != pos {
        problems.push(format!("claims index {}", c.index));
    }
    if c.instances.first() != Some(&bundle.root) {
        problems.push("public root differs from the bundle root".to_string());
    }
    if c.index < plan.num_chunks() {
        let want = plan.num_instances(c.index);
        if c.instances.len() != want {
            problems.push(format!("{} public instances, its circuit has {want}", c.instances.len()));
        } else {
            let mut values: Vec<(&str, &[i64])> = Vec::new();
            if c.index == 0 && plan.input_public {
                values.push(("input", &bundle.inputs));
            }
            if c.index + 1 == plan.num_chunks() && plan.output_public {
                values.push(("output", &bundle.outputs));
            }
            let claimed =
                values.iter().flat_map(|(w, v)| v.iter().enumerate().map(move |(j, x)| (*w, j, *x)));
            for ((what, j, v), got) in claimed.zip(&c.instances[1..]) {
                if *got != Bytes32::from_fr(&fr_from_i64(v)) {
                    problems.push(format!("public {what}[{j}] differs from the bundle's {v}"));
                    break;
                }
            }
        }
    } else {
        problems.push(format!("index {} is outside the plan", c.index));
    }
    problems
}

/// Audits a bundle, verifying proofs too when `keys` are given.
pub fn audit(bundle: &Bundle, keys: Option<&KeySet>, opts: &VerifyOptions) -> AuditReport {
    let plan = &bundle.plan;
    let leaves: Option<Vec<Fr>> = bundle.leaves.iter().map(|l| l.to_fr()).collect();
    let leaves_ok =
        leaves.as_ref().is_some_and(|l| Bytes32::from_fr(&MerkleTree::new(l).root()) == bundle.root);
    let model_id_consistent = bundle.computed_model_id() == bundle.model_id;
    let params = keys.map(|k| plan.chunks.iter().map(|c| k.srs.params(c.params.k).ok()).collect::<Vec<_>>());
    let srs = match keys {
        Some(k) => match k.srs_trust(opts) {
            Ok(t) => t.to_string(),
            Err(e) => format!("REFUSED: {e}"),
        },
        None => match ceremony_of(&bundle.srs_digest) {
            Some(c) => format!("{} (claimed; unchecked without --keys)", c.name),
            None if bundle.srs_digest.to_string() == DEV_SRS_DIGEST => {
                "INSECURE development setup (claimed; unchecked without --keys)".into()
            }
            None => "not a known ceremony (claimed; unchecked without --keys)".into(),
        },
    };

    let chunks: Vec<ChunkAudit> = bundle
        .chunks
        .iter()
        .enumerate()
        .map(|(pos, c)| {
            let summary = plan.chunks.get(c.index);
            let mut problems = unkeyed_problems(bundle, pos, c);
            if let Some(keys) = keys {
                match keys.manifest.chunks.get(c.index) {
                    Some(rec) if rec.vk_digest != c.vk_digest => {
                        problems.push("verifying-key digest differs from the registered one".into())
                    }
                    None => problems.push("no registered key".into()),
                    _ => {}
                }
                if problems.is_empty() {
                    let inst: Option<Vec<Fr>> = c.instances.iter().map(|b| b.to_fr()).collect();
                    let p = params.as_ref().and_then(|p| p[c.index].as_ref());
                    match (inst, p) {
                        (Some(inst), Some(p)) => {
                            if let Err(e) = verify_chunk_proof(
                                p,
                                &keys.vks[c.index],
                                &inst,
                                &c.proof,
                                (c.index, bundle.transcript),
                            ) {
                                problems.push(e.to_string());
                            }
                        }
                        _ => problems.push("non-canonical instances".into()),
                    }
                }
            }
            ChunkAudit {
                position: pos,
                index: c.index,
                layers: summary
                    .map(|s| format!("{}..{} {}", s.first_layer, s.end_layer, s.layer_kinds.join(",")))
                    .unwrap_or_else(|| "?".into()),
                k: summary.map(|s| s.params.k).unwrap_or(0),
                columns: summary.map(|s| columns(&s.params)).unwrap_or(Columns {
                    advice: 0,
                    fixed: 0,
                    instance: 0,
                }),
                leaves_in: summary
                    .map_or_else(|| vec![c.index], |s| s.leaves_read())
                    .into_iter()
                    .map(|leaf| LeafRef { leaf, hash: bundle.leaves.get(leaf).copied() })
                    .collect(),
                leaf_out: bundle.leaves.get(c.index + 1).copied(),
                proof_bytes: c.proof.len(),
                vk_digest: c.vk_digest,
                status: if problems.is_empty() {
                    if keys.is_some() {
                        "ok".into()
                    } else {
                        "linked (proof unchecked)".into()
                    }
                } else {
                    problems.join("; ")
                },
            }
        })
        .collect();

    let mut verdict = Vec::new();
    if let Some(k) = keys {
        if let Err(e) = verify_bundle(bundle, k, opts) {
            verdict.push(e.to_string());
        }
    } else {
        if !model_id_consistent {
            verdict.push("model id does not match the plan and key digests".to_string());
        }
        if !leaves_ok {
            verdict.push("leaves do not hash to the root".to_string());
        }
        if bundle.chunks.len() != plan.num_chunks() {
            verdict.push(format!("{} of {} chunk proofs present", bundle.chunks.len(), plan.num_chunks()));
        }
    }
    for c in &chunks {
        let fine = c.status == "ok" || c.status == "linked (proof unchecked)";
        let text = format!("chunk at position {}: {}", c.position, c.status);
        if !fine && !verdict.contains(&text) {
            verdict.push(text);
        }
    }
    let ok = verdict.is_empty();
    AuditReport {
        model_id: bundle.model_id,
        model_id_consistent,
        root: bundle.root,
        leaves_hash_to_root: leaves_ok,
        srs_digest: bundle.srs_digest,
        srs,
        num_chunks: plan.num_chunks(),
        proofs_checked: keys.is_some(),
        chunks,
        verdict: if ok { "ok".to_string() } else { verdict.join("; ") },
        ok,
    }
}

impl fmt::Display for AuditReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = |b: &Bytes32| {
            let s = b.to_string();
            format!("{}…{}", &s[..10], &s[s.len() - 6..])
        };
        let yes = |b: bool| if b { "yes" } else { "NO" };
        writeln!(f, "model id   {} (consistent: {})", self.model_id, yes(self.model_id_consistent))?;
        writeln!(f, "root       {} (leaves hash to it: {})", self.root, yes(self.leaves_hash_to_root))?;
        writeln!(f, "srs        {} ({})", self.srs_digest, self.srs)?;
        writeln!(
            f,
            "chunks     {} (proofs {})",
            self.num_chunks,
            if self.proofs_checked { "verified against keys" } else { "not checked: no --keys" }
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:>5} {:<34} {:>3} {:>9} {:<18} {:<18} {:>7} {:<18} status",
            "chunk", "layers", "k", "adv/fix", "leaves in", "leaf out", "bytes", "vk digest"
        )?;
        for c in &self.chunks {
            let mut layers = c.layers.clone();
            if layers.chars().count() > 34 {
                layers = layers.chars().take(33).collect::<String>() + "…";
            }
            writeln!(
                f,
                "{:>5} {:<34} {:>3} {:>9} {:<18} {:<18} {:>7} {:<18} {}",
                c.index,
                layers,
                c.k,
                format!("{}/{}", c.columns.advice, c.columns.fixed),
                match &c.leaves_in[..] {
                    [one] if one.leaf == c.index => one.hash.as_ref().map(short).unwrap_or_default(),
                    many => format!(
                        "leaves {}",
                        many.iter().map(|l| l.leaf.to_string()).collect::<Vec<_>>().join("+")
                    ),
                },
                c.leaf_out.as_ref().map(short).unwrap_or_default(),
                c.proof_bytes,
                short(&c.vk_digest),
                c.status
            )?;
        }
        writeln!(f)?;
        write!(f, "verdict    {}", self.verdict)
    }
}
