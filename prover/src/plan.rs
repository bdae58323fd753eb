//! The chunk planner: cuts at layer boundaries, balanced by estimated circuit rows.
//!
//! A chunk's cost is the larger of its two columns (halo2-base cells, custom rows), since both
//! must fit in `2^k` rows: its layers, plus the linkage of both boundaries (range checks, packing,
//! Poseidon) and two Merkle paths. Cuts where few values cross are cheap, which the search sees.
//! The search minimises the largest chunk, then the sum of squared chunk sizes (so that when one
//! chunk dominates, the others are still balanced), over all contiguous partitions.

use std::collections::BTreeSet;

use chunkproof_verifier::poseidon::ROUNDS;
use chunkproof_verifier::shape::{
    DOT_STRIDE, DOT_TERMS, FULL_ROUND_STRIDE, PARTIAL_PAIR_STRIDE, PARTIAL_ROUND_STRIDE,
};
use chunkproof_verifier::{depth_for, poseidon, PACK_PER_ELEMENT};

use crate::circuit::ChunkSpec;
use crate::error::{ProverError, Result};
use crate::model::{Activation, Graph, LayerKind, Padding, TensorId, Window};

/// Estimated size of a piece of circuit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// halo2-base cells.
    pub main: usize,
    /// Custom-column rows.
    pub custom: usize,
}

impl Cost {
    /// Rows a chunk of this cost needs.
    pub fn rows(&self) -> usize {
        self.main.max(self.custom)
    }
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost { main: self.main + o.main, custom: self.custom + o.custom }
    }
}

// Cells of the gadgets with a 16-bit lookup table (see `circuit::gadgets` and the `div`, `sign`,
// `clamp` layouts in `chunkproof_verifier::shape`). A sign gate on the cell just assigned
// (a quotient, a sum) reuses it; on any other cell it copies it first.
const DIV_ROUND: usize = chunkproof_verifier::shape::DIV_CELLS;
const SIGN_ON_LAST: usize = chunkproof_verifier::shape::SIGN_CELLS - 1;
const SIGNED_RANGE: usize = chunkproof_verifier::shape::SIGN_CELLS;
const CLAMP: usize = chunkproof_verifier::shape::CLAMP_CELLS - 1;
const GATE: usize = 4;
const PERMUTATION_ROWS: usize = 3
    + (ROUNDS - poseidon::PARTIAL_ROUNDS) * FULL_ROUND_STRIDE
    + poseidon::PARTIAL_ROUNDS / 2 * PARTIAL_PAIR_STRIDE
    + poseidon::PARTIAL_ROUNDS % 2 * PARTIAL_ROUND_STRIDE;

fn dot_rows(terms: usize) -> usize {
    DOT_STRIDE * terms.div_ceil(DOT_TERMS).max(1)
}

fn activation_cells(act: Activation, bound: bool) -> usize {
    match act {
        Activation::None => {
            if bound {
                SIGN_ON_LAST
            } else {
                0
            }
        }
        Activation::Relu => SIGN_ON_LAST,
        Activation::Relu6 => SIGN_ON_LAST + CLAMP,
    }
}

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
    }
}

/// Cost of a Merkle path of `depth` levels.
pub fn path_cost(depth: usize) -> Cost {
    Cost { main: depth * (1 + 2 * 2 * GATE), custom: depth * 2 * PERMUTATION_ROWS }
}

/// Estimated cost of one layer.
pub fn layer_cost(graph: &Graph, index: usize) -> Cost {
    let layer = &graph.layers[index];
    let out = graph.numel(layer.outputs[0]);
    match &layer.kind {
        LayerKind::Conv2D { padding, activation, stride } => {
            let w = &graph.constants[&layer.inputs[1]];
            let (kh, kw) = (w.shape[1], w.shape[2]);
            let g = Window::new(graph.shape(layer.inputs[0]), kh, kw, *stride, *padding);
            // Border outputs of SAME padding see fewer inputs; estimate with the full window.
            let terms = kh * kw * g.map(|g| g.c).unwrap_or(1);
            let nonzero = w.data.iter().filter(|v| **v != 0).count() as f64 / w.data.len().max(1) as f64;
            let terms = ((terms as f64 * nonzero).ceil() as usize).max(1);
            let _ = Padding::Same;
            Cost {
                main: out * (DIV_ROUND + activation_cells(*activation, true)),
                custom: out * dot_rows(terms),
            }
        }
        LayerKind::FullyConnected { activation } => {
            let k = graph.constants[&layer.inputs[1]].shape[1];
            Cost { main: out * (DIV_ROUND + activation_cells(*activation, true)), custom: out * dot_rows(k) }
        }
        LayerKind::AveragePool2D { window, .. } => {
            Cost { main: out * (DIV_ROUND + SIGN_ON_LAST), custom: out * dot_rows(window.0 * window.1) }
        }
        LayerKind::Mul => Cost { main: out * (GATE + DIV_ROUND + SIGN_ON_LAST), custom: 0 },
        LayerKind::Add { activation } => {
            Cost { main: out * (GATE + activation_cells(*activation, false)), custom: 0 }
        }
        LayerKind::DepthwiseConv2D { activation, .. } => {
            let w = graph.shape(layer.inputs[1]);
            Cost {
                main: out * (DIV_ROUND + activation_cells(*activation, true)),
                custom: out * dot_rows(w[1] * w[2]),
            }
        }
        LayerKind::MaxPool2D { window, .. } => {
            Cost { main: out * (window.0 * window.1 - 1) * MAX2, custom: 0 }
        }
        LayerKind::Sub => Cost { main: out * GATE, custom: 0 },
        LayerKind::SquaredDifference => Cost { main: out * (2 * GATE + REQUANTIZE), custom: 0 },
        LayerKind::Square => Cost { main: out * (GATE + REQUANTIZE), custom: 0 },
        LayerKind::Cube => Cost { main: out * 2 * (GATE + REQUANTIZE), custom: 0 },
        LayerKind::Div { .. } => Cost { main: out * REQUANTIZE, custom: 0 },
        LayerKind::DivVar => Cost { main: out * (GATE + DIV_VAR), custom: 0 },
        LayerKind::Sqrt => Cost { main: out * (GATE + ROOT), custom: 0 },
        LayerKind::Rsqrt => Cost { main: out * (GATE + RANGE32 + ROOT), custom: 0 },
        LayerKind::Pointwise { .. } => Cost { main: out * table_cells(graph.scale), custom: 0 },
        LayerKind::BatchMatMul { .. } => {
            let k = graph.shape(layer.inputs[0])[2];
            Cost { main: out * (3 * k + 1 + REQUANTIZE), custom: 0 }
        }
        LayerKind::Mean { axes, .. } => {
            let x = graph.shape(layer.inputs[0]);
            let count: usize = axes.iter().map(|a| x[*a]).product();
            Cost { main: out * REQUANTIZE, custom: out * dot_rows(count) }
        }
        LayerKind::Update { .. } => Cost { main: out * (4 * GATE + REQUANTIZE), custom: 0 },
        LayerKind::Softmax { .. } => {
            // per element: a max step, x − max, the exp lookup, the sum, e·sf and the division
            Cost { main: out * (MAX2 + GATE + table_cells(graph.scale) + 1 + GATE + DIV_VAR), custom: 0 }
        }
        // Data movement: copies only (and a constant cell for padding or masks).
        _ => Cost { main: 1, custom: 0 },
    }
}

/// `rhu(x / d)` and the range check on the quotient.
const REQUANTIZE: usize = DIV_ROUND + SIGN_ON_LAST;
/// `max(a, b) = b + relu(a − b)` (the difference is not the last cell: its sign gate copies it).
const MAX2: usize = GATE + SIGNED_RANGE + GATE;
/// A 31- or 32-bit (two-limb) range check of halo2-base, as measured (`tests/costs.rs`).
const RANGE32: usize = 7;
/// Division by a cell (`circuit::numeric::div_var`): five gates, three range checks, the
/// quotient's sign gate (47 cells measured).
const DIV_VAR: usize = 1 + 5 * GATE + 3 * RANGE32 + SIGNED_RANGE - 1;
/// Rounded square root (`circuit::numeric::root`): gates, two 40-bit and two 64-bit range
/// checks, the halving (85 cells measured).
const ROOT: usize = 85;

/// Cells of one function-table lookup (with the shift division when `sf > 2^11`).
fn table_cells(scale: u64) -> usize {
    let shift = if crate::fixed::table_shift(scale) > 1 { DIV_ROUND } else { 0 };
    shift + GATE + SIGN_ON_LAST + CLAMP + 2
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

    /// The circuit description of chunk `i`.
    pub fn spec(&self, i: usize) -> ChunkSpec {
        ChunkSpec {
            index: i,
            num_chunks: self.num_chunks(),
            layers: self.cuts[i]..self.cuts[i + 1],
            inputs: self.sets[i].clone(),
            outputs: self.sets[i + 1].clone(),
            input_public: self.input_public,
            output_public: self.output_public,
            tree_depth: self.tree_depth(),
        }
    }
}

/// `A_j` for every cut position `j = 0 … L`: tensors produced before layer `j` (or model inputs)
/// that a layer at or after `j` reads, plus model outputs already produced.
pub fn boundary_sets(graph: &Graph) -> Vec<Vec<TensorId>> {
    let l = graph.layers.len();
    let mut produced_at: std::collections::BTreeMap<TensorId, usize> =
        graph.inputs.iter().map(|id| (*id, 0)).collect();
    let mut last_use: std::collections::BTreeMap<TensorId, usize> = std::collections::BTreeMap::new();
    for layer in &graph.layers {
        for id in &layer.outputs {
            produced_at.insert(*id, layer.index + 1);
        }
        for id in &layer.inputs {
            if !graph.is_constant(*id) {
                last_use.insert(*id, layer.index);
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
        let body =
            Cost { main: prefix[j].main - prefix[i].main, custom: prefix[j].custom - prefix[i].custom };
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
