//! The chunk planner: cuts at layer boundaries, balanced by estimated circuit rows.
//!
//! A chunk's cost is the larger of its two columns (halo2-base cells, custom rows), since both
//! must fit in `2^k` rows: its layers, plus the linkage of both boundaries (range checks, packing,
//! Poseidon) and two Merkle paths. Cuts where few values cross are cheap, which the search sees.
//! The search minimises the largest chunk, then the sum of squared chunk sizes (so that when one
//! chunk dominates, the others are still balanced), over all contiguous partitions.

use std::collections::BTreeSet;

use chunkproof_core::linkage::PACK_PER_ELEMENT;
use chunkproof_core::merkle::depth_for;
use chunkproof_core::poseidon;
use chunkproof_core::poseidon::ROUNDS;
use chunkproof_core::shape::{FULL_ROUND_STRIDE, PARTIAL_PAIR_STRIDE, PARTIAL_ROUND_STRIDE};

use crate::error::{ProverError, Result};
use crate::model::{Graph, TensorId};

use crate::layers::cost::{dot_rows, GATE, SIGNED_RANGE};
pub use crate::layers::Cost;

const PERMUTATION_ROWS: usize = 3
    + (ROUNDS - poseidon::PARTIAL_ROUNDS) * FULL_ROUND_STRIDE
    + poseidon::PARTIAL_ROUNDS / 2 * PARTIAL_PAIR_STRIDE
    + poseidon::PARTIAL_ROUNDS % 2 * PARTIAL_ROUND_STRIDE;

/// Poseidon permutations to hash `n` field elements.
fn permutations(n: usize) -> usize {
    n / 2 + 1
}

/// Cost of one side of a boundary of `n` values: loading or passing them, range checks,
/// packing and the leaf hash.
pub fn boundary_cost(n: usize) -> Cost {
    let packed = n.div_ceil(PACK_PER_ELEMENT);
    let perms = permutations(4 + packed);
    Cost {
        main: n + n * SIGNED_RANGE + 8 + perms * 2 * GATE,
        custom: packed * dot_rows(PACK_PER_ELEMENT) + perms * PERMUTATION_ROWS,
        product: 0,
    }
}

/// Cost of a Merkle path of `depth` levels.
pub fn path_cost(depth: usize) -> Cost {
    Cost { main: depth * (1 + 2 * 2 * GATE), custom: depth * 2 * PERMUTATION_ROWS, product: 0 }
}

/// Estimated cost of one layer (its family's estimate, [`crate::layers::cost()`]).
pub fn layer_cost(graph: &Graph, index: usize) -> Cost {
    crate::layers::cost(graph, index)
}

/// A chunk plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Layer boundaries `0 = b_0 < … < b_N = L`.
    pub cuts: Vec<usize>,
    /// Boundary sets `A_0 … A_N` (tensor ids, sorted).
    pub sets: Vec<Vec<TensorId>>,
    /// Estimated cost of each chunk.
    pub costs: Vec<Cost>,
    /// Model inputs are public instances.
    pub input_public: bool,
    /// Model outputs are public instances.
    pub output_public: bool,
}

impl Plan {
    /// Number of chunks.
    pub fn num_chunks(&self) -> usize {
        self.cuts.len() - 1
    }

    /// Depth of the linkage tree.
    pub fn tree_depth(&self) -> usize {
        depth_for(self.num_chunks() + 1)
    }
}

/// `A_j` for every cut position `j = 0 … L`: tensors produced before layer `j` (or model inputs)
/// that a layer at or after `j` reads, plus model outputs already produced.
pub fn boundary_sets(graph: &Graph) -> Vec<Vec<TensorId>> {
    let l = graph.layers.len();
    let mut produced_at: std::collections::BTreeMap<TensorId, usize> =
        graph.inputs.iter().map(|id| (*id, 0)).collect();
    let mut last_use: std::collections::BTreeMap<TensorId, usize> = std::collections::BTreeMap::new();
    // positions in execution order (zkml's layer numbers skip folded layers)
    for (pos, layer) in graph.layers.iter().enumerate() {
        for id in &layer.outputs {
            produced_at.insert(*id, pos + 1);
        }
        for id in &layer.inputs {
            if !graph.is_constant(*id) {
                last_use.insert(*id, pos);
            }
        }
    }
    let outputs: BTreeSet<TensorId> = graph.outputs.iter().copied().collect();
    (0..=l)
        .map(|j| {
            if j == 0 {
                let mut v = graph.inputs.clone();
                v.sort_unstable();
                return v;
            }
            if j == l {
                let mut v = graph.outputs.clone();
                v.sort_unstable();
                return v;
            }
            produced_at
                .iter()
                .filter(|(id, p)| {
                    **p <= j && (last_use.get(id).is_some_and(|u| *u >= j) || outputs.contains(id))
                })
                .map(|(id, _)| *id)
                .collect()
        })
        .collect()
}

/// Plans `n` chunks.
pub fn plan(graph: &Graph, n: usize, input_public: bool, output_public: bool) -> Result<Plan> {
    let l = graph.layers.len();
    if n == 0 || n > l {
        return Err(ProverError::Plan {
            chunks: n,
            detail: format!("the model has {l} layers (1 to {l} chunks possible)"),
        });
    }
    let sets = boundary_sets(graph);
    let set_len: Vec<usize> = sets.iter().map(|s| s.iter().map(|id| graph.numel(*id)).sum()).collect();
    let layers: Vec<Cost> = (0..l).map(|i| layer_cost(graph, i)).collect();
    let mut prefix = vec![Cost::default(); l + 1];
    for i in 0..l {
        prefix[i + 1] = prefix[i] + layers[i];
    }
    let depth = depth_for(n + 1);
    let chunk_cost = |i: usize, j: usize| -> Cost {
        let body = Cost {
            main: prefix[j].main - prefix[i].main,
            custom: prefix[j].custom - prefix[i].custom,
            product: prefix[j].product - prefix[i].product,
        };
        body + boundary_cost(set_len[i]) + boundary_cost(set_len[j]) + path_cost(depth) + path_cost(depth)
    };
    // best[c][j]: (max rows, Σ rows², previous cut) for layers [0, j) in c chunks.
    // (Index loops: this is a textbook partition DP and reads best as such.)
    let inf = (usize::MAX, u128::MAX, 0usize);
    let mut best = vec![vec![inf; l + 1]; n + 1];
    best[0][0] = (0, 0, 0);
    for c in 1..=n {
        for j in c..=l - (n - c) {
            let mut b = inf;
            for (i, prev) in best[c - 1].iter().enumerate().take(j).skip(c - 1) {
                let prev = *prev;
                if prev.0 == usize::MAX {
                    continue;
                }
                let rows = chunk_cost(i, j).rows();
                let cand = (prev.0.max(rows), prev.1 + (rows as u128).pow(2), i);
                if (cand.0, cand.1) < (b.0, b.1) {
                    b = cand;
                }
            }
            best[c][j] = b;
        }
    }
    let mut cuts = vec![l];
    let mut j = l;
    for c in (1..=n).rev() {
        j = best[c][j].2;
        cuts.push(j);
    }
    cuts.reverse();
    let costs = cuts.windows(2).map(|w| chunk_cost(w[0], w[1])).collect();
    let chosen_sets = cuts.iter().map(|c| sets[*c].clone()).collect();
    Ok(Plan { cuts, sets: chosen_sets, costs, input_public, output_public })
}
