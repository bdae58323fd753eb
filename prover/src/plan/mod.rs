//! The chunk planner: cuts at layer boundaries, balanced by estimated circuit rows, after
//! cutting layers into parts where one layer would otherwise bound a chunk ([`split`]).
//!
//! A chunk's cost is the larger of its two columns (halo2-base cells, custom rows), since both
//! must fit in `2^k` rows: its layers, plus the linkage of both boundaries (range checks, packing,
//! Poseidon) and two Merkle paths. Cuts where few values cross are cheap, which the search sees,
//! and so are cuts whose values the model bounds to 16 bits ([`boundary_packing`]): they are
//! packed fifteen to a field element instead of seven, with one lookup per value.
//! The search minimises the largest circuit (`2^k` for the chunk's estimated rows at the
//! circuit width), then the work of all circuits together (what proving time follows: rows
//! `2^k` in narrow circuits, estimated rows in wide ones), then the sum of squared chunk
//! estimates (so that the chunks are as even as the rest allows), over all contiguous
//! partitions in which no chunk is data movement alone (such a chunk would prove nothing but its
//! linkage).
//!
//! [`plan_request`] first splits layers: with `--chunks N` it cuts the costliest layer of the
//! largest chunk into more parts until the largest chunk is within 1.15× the mean, and keeps the
//! split only if the plan then proves cheaper (a smaller largest circuit `2^k`, then fewer rows
//! `2^k` in all: boundaries committed between parts cost rows too); with `--max-k K` it splits
//! only when whole layers do not fit, then takes the fewest chunks that fit.

pub mod split;

pub use split::{max_parts, Split, SplitGraph};

use std::collections::{BTreeMap, BTreeSet};

use chunkproof_core::linkage::Packing;
use chunkproof_core::merkle::depth_for;
use chunkproof_core::poseidon;
use chunkproof_core::poseidon::ROUNDS;
use chunkproof_core::shape::{FULL_ROUND_STRIDE, PARTIAL_PAIR_STRIDE, PARTIAL_ROUND_STRIDE};

use crate::error::{ProverError, Result};
use crate::layers::bounds::{tensor_bounds, Interval};
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

/// Cost of one side of a boundary of `n` values packed by `packing`: loading or passing them,
/// range checks (a sign gate each for the wide packing; one lookup, after adding the offset
/// when there is one, for a 16-bit packing), packing and the leaf hash.
pub fn boundary_cost(n: usize, packing: Packing) -> Cost {
    let per = packing.per_element();
    let packed = n.div_ceil(per);
    let perms = permutations(4 + packed);
    let range = match packing {
        Packing::WIDE => SIGNED_RANGE,
        Packing { offset: 0, .. } => 0,
        _ => GATE,
    };
    Cost {
        main: n + n * range + 8 + perms * 2 * GATE,
        custom: packed * dot_rows(per) + perms * PERMUTATION_ROWS,
        product: 0,
    }
}

/// How boundary set `set` is packed: 16 bits when the model bounds every value of its tensors
/// to 16 bits (see [`crate::layers::bounds`]), else the wide packing.
pub fn boundary_packing(bounds: &BTreeMap<TensorId, Interval>, set: &[TensorId]) -> Packing {
    boundary_bound(bounds, set).and_then(|b| Packing::short(b.lo, b.hi)).unwrap_or(Packing::WIDE)
}

/// The bound of every value of boundary set `set`, if each of its tensors has one.
fn boundary_bound(bounds: &BTreeMap<TensorId, Interval>, set: &[TensorId]) -> Option<Interval> {
    set.iter()
        .map(|id| bounds.get(id).copied())
        .collect::<Option<Vec<Interval>>>()
        .and_then(|b| b.into_iter().reduce(Interval::union))
}

/// The packings of a plan's boundaries once its chunks' sizes are known: a boundary between
/// chunks whose range tables will likely be below 16 bits (`2^(k − 1)` entries for a chunk of
/// `2^k` rows), and whose bound fits the smaller one, is packed in that table's bits — one
/// lookup per value in the smaller table instead of two limbs and a shifted copy, and more
/// values per field element.
/// `table_bits[c]` is chunk `c`'s estimated table; any packing is sound (each is range-checked
/// on both sides), the estimate only decides its cost.
fn table_packings(
    bounds: &BTreeMap<TensorId, Interval>,
    leaves: &[Vec<TensorId>],
    reads: &[Vec<usize>],
    packings: Vec<Packing>,
    table_bits: &[u32],
) -> Vec<Packing> {
    packings
        .into_iter()
        .enumerate()
        .map(|(j, packing)| {
            // the chunk that writes leaf j and every chunk that reads it
            let touching: Vec<u32> = j
                .checked_sub(1)
                .into_iter()
                .chain((0..reads.len()).filter(|c| reads[*c].contains(&j)))
                .map(|c| table_bits[c])
                .collect();
            // A chunk with the 16-bit table checks a 16-bit value with one lookup, a shorter one
            // with a shifted copy and two: it keeps the 16-bit packing (it is the larger chunk).
            let (Some(bits), Some(largest)) = (touching.iter().min().copied(), touching.iter().max()) else {
                return packing;
            };
            if *largest >= Packing::SHORT_BITS {
                return packing;
            }
            boundary_bound(bounds, &leaves[j])
                .and_then(|b| Packing::fitting(b.lo, b.hi, bits))
                .unwrap_or(packing)
        })
        .collect()
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
    /// The tensors of leaves `0 … N` (ids, sorted): leaf 0 the model inputs, leaf `c + 1` what
    /// chunk `c` computes that a later chunk reads (the last chunk's: the model outputs). In a
    /// plan where no chunk passes values on, leaf `c` is the boundary set at cut `c`.
    pub leaves: Vec<Vec<TensorId>>,
    /// How each leaf's values are packed.
    pub packings: Vec<Packing>,
    /// The leaves each chunk reads (increasing; chunk `c` reads leaf `c` at least when it reads
    /// anything its predecessor computed).
    pub reads: Vec<Vec<usize>>,
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

    /// True if chunk `c` reads only leaf `c` (its predecessor's, or the model inputs).
    pub fn reads_only_previous(&self, c: usize) -> bool {
        self.reads[c] == [c]
    }
}

/// Where each tensor comes from and who reads it, in execution positions.
struct Flow {
    /// Producing layer position (`None`: a model input).
    producer: BTreeMap<TensorId, Option<usize>>,
    /// Last position that reads it.
    last_use: BTreeMap<TensorId, usize>,
    outputs: BTreeSet<TensorId>,
}

impl Flow {
    fn of(graph: &Graph) -> Self {
        let mut producer: BTreeMap<TensorId, Option<usize>> =
            graph.inputs.iter().map(|id| (*id, None)).collect();
        let mut last_use = BTreeMap::new();
        for (pos, layer) in graph.layers.iter().enumerate() {
            for id in &layer.outputs {
                producer.insert(*id, Some(pos));
            }
            for id in layer.inputs.iter().filter(|id| !graph.is_constant(**id)) {
                last_use.insert(*id, pos);
            }
        }
        Self { producer, last_use, outputs: graph.outputs.iter().copied().collect() }
    }

    /// Produced before position `at` (model inputs included).
    fn before(&self, id: TensorId, at: usize) -> bool {
        self.producer.get(&id).is_some_and(|p| p.is_none_or(|p| p < at))
    }

    /// Read at position `at` or later, or a model output.
    fn needed_from(&self, id: TensorId, at: usize) -> bool {
        self.outputs.contains(&id) || self.last_use.get(&id).is_some_and(|u| *u >= at)
    }
}

/// The leaves of the plan with layer boundaries `cuts`, and the leaves each chunk reads.
pub fn producer_leaves(graph: &Graph, cuts: &[usize]) -> (Vec<Vec<TensorId>>, Vec<Vec<usize>>) {
    let flow = Flow::of(graph);
    let n = cuts.len() - 1;
    let sorted = |mut v: Vec<TensorId>| {
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut leaves = vec![sorted(graph.inputs.clone())];
    for c in 0..n {
        if c + 1 == n {
            leaves.push(sorted(graph.outputs.clone()));
            break;
        }
        let (start, end) = (cuts[c], cuts[c + 1]);
        leaves.push(
            flow.producer
                .iter()
                .filter(|(id, p)| p.is_some_and(|p| (start..end).contains(&p)) && flow.needed_from(**id, end))
                .map(|(id, _)| *id)
                .collect(),
        );
    }
    // the leaf holding a tensor produced before chunk `c`
    let leaf_of = |id: TensorId| match flow.producer.get(&id).copied().flatten() {
        None => 0,
        Some(p) => cuts.partition_point(|cut| *cut <= p),
    };
    let reads = (0..n)
        .map(|c| {
            let start = cuts[c];
            if c == 0 {
                return vec![0];
            }
            let mut read: BTreeSet<usize> = graph.layers[start..cuts[c + 1]]
                .iter()
                .flat_map(|l| l.inputs.iter().copied())
                .filter(|id| !graph.is_constant(*id) && flow.before(*id, start))
                .map(leaf_of)
                .collect();
            if c + 1 == n {
                read.extend(
                    graph.outputs.iter().filter(|id| flow.before(**id, start)).map(|id| leaf_of(*id)),
                );
            }
            if read.is_empty() {
                read.insert(c);
            }
            read.into_iter().collect()
        })
        .collect();
    (leaves, reads)
}

/// The packing, length and bound of a growing set of tensors.
#[derive(Clone, Copy, Default)]
struct Acc {
    len: usize,
    bound: Option<Interval>,
    unbounded: bool,
}

impl Acc {
    fn add(&mut self, graph: &Graph, bounds: &BTreeMap<TensorId, Interval>, id: TensorId) {
        self.len += graph.numel(id);
        match bounds.get(&id) {
            Some(b) => self.bound = Some(self.bound.map_or(*b, |a| a.union(*b))),
            None => self.unbounded = true,
        }
    }

    fn packing(&self) -> Packing {
        match self.bound {
            Some(b) if !self.unbounded => Packing::short(b.lo, b.hi).unwrap_or(Packing::WIDE),
            _ => Packing::WIDE,
        }
    }

    fn cost(&self) -> Cost {
        boundary_cost(self.len, self.packing())
    }
}

/// Estimated linkage cost of a chunk `[i, j)` of `l` layers, for every `i < j`, whatever the
/// cuts before and after it: hashing the values it reads that were computed before it (the
/// values it reads, not whole leaves, with a path for each layer that produced some of them,
/// as if each were a leaf of its own) and the leaf it writes (what it computes that is needed
/// after it, or the model outputs), with its path. Exact for a chunk that passes nothing on and
/// reads the outputs of one layer.
#[allow(clippy::needless_range_loop)] // index loops over chunk bounds `[i, j)`, read as such
fn linkage_costs(graph: &Graph, bounds: &BTreeMap<TensorId, Interval>, depth: usize) -> Vec<Vec<Cost>> {
    let l = graph.layers.len();
    let flow = Flow::of(graph);
    let mut out = vec![vec![Cost::default(); l + 1]; l + 1];
    let mut model_in = Acc::default();
    for id in &graph.inputs {
        model_in.add(graph, bounds, *id);
    }
    let mut model_out = Acc::default();
    for id in &graph.outputs {
        model_out.add(graph, bounds, *id);
    }
    // reads: grow j for each i
    for i in 0..l {
        let mut acc = Acc::default();
        let mut seen: BTreeSet<TensorId> = BTreeSet::new();
        let mut producers: BTreeSet<Option<usize>> = BTreeSet::new();
        for j in i + 1..=l {
            for id in &graph.layers[j - 1].inputs {
                if !graph.is_constant(*id) && flow.before(*id, i) && seen.insert(*id) {
                    acc.add(graph, bounds, *id);
                    producers.insert(flow.producer[id]);
                }
            }
            let (read, paths) = if i == 0 {
                (model_in, 1)
            } else if j == l {
                let (mut last, mut from) = (acc, producers.clone());
                for id in graph.outputs.iter().filter(|id| flow.before(**id, i) && !seen.contains(id)) {
                    last.add(graph, bounds, *id);
                    from.insert(flow.producer[id]);
                }
                (last, from.len().max(1))
            } else {
                (acc, producers.len().max(1))
            };
            // a path for each group read and one for the leaf written (linear in the levels)
            out[i][j] = read.cost() + path_cost(depth * (paths + 1));
        }
    }
    // writes: grow i downwards for each j
    for j in 1..=l {
        let mut acc = Acc::default();
        for i in (0..j).rev() {
            if j < l {
                for id in graph.layers[i].outputs.iter().filter(|id| flow.needed_from(**id, j)) {
                    acc.add(graph, bounds, *id);
                }
            }
            let written = if j == l { model_out } else { acc };
            out[i][j] = out[i][j] + written.cost();
        }
    }
    out
}

/// Exact linkage cost of chunk `c` of a plan: every leaf it reads, whole, with its path, and the
/// leaf it writes with its path.
fn chunk_linkage(
    leaf_len: &[usize],
    packings: &[Packing],
    reads: &[Vec<usize>],
    c: usize,
    depth: usize,
) -> Cost {
    reads[c]
        .iter()
        .map(|r| boundary_cost(leaf_len[*r], packings[*r]) + path_cost(depth))
        .fold(boundary_cost(leaf_len[c + 1], packings[c + 1]) + path_cost(depth), |a, b| a + b)
}

/// `A_j` for every cut position `j = 0 … L`: tensors produced before layer `j` (or model inputs)
/// that a layer at or after `j` reads, plus model outputs already produced.
pub fn boundary_sets(graph: &Graph) -> Vec<Vec<TensorId>> {
    let l = graph.layers.len();
    let flow = Flow::of(graph);
    let sorted = |mut v: Vec<TensorId>| {
        v.sort_unstable();
        v
    };
    (0..=l)
        .map(|j| match j {
            0 => sorted(graph.inputs.clone()),
            _ if j == l => sorted(graph.outputs.clone()),
            _ => flow
                .producer
                .keys()
                .copied()
                .filter(|id| flow.before(*id, j) && flow.needed_from(*id, j))
                .collect(),
        })
        .collect()
}

/// Rows of one column that `rows` estimated rows take in a circuit of up to `width` advice
/// columns of each kind: a wide circuit holds about `0.8·width` times the rows of a narrow one
/// (cuts between columns, and smaller range tables whose limbs cost a cell more per value).
pub fn column_rows(rows: usize, width: u32) -> usize {
    if width <= 1 {
        rows
    } else {
        (rows * 5).div_ceil(4 * width as usize)
    }
}

/// The inverse of [`column_rows`]: the estimated rows that `rows` rows of one column hold.
fn rows_of_columns(rows: usize, width: u32) -> usize {
    if width <= 1 {
        rows
    } else {
        rows / 5 * 4 * width as usize
    }
}

/// The rows a circuit of `rows` estimated rows is counted at: a chunk over 90% of `2^k` as the
/// next size (see [`plan`]).
fn circuit_size(rows: usize, width: u32) -> usize {
    (column_rows(rows, width).max(1) * 10).div_ceil(9).next_power_of_two()
}

/// Plans `n` chunks for circuits of up to `width` advice columns of each kind (the width
/// decides each chunk's `2^k`, which the plan minimises).
pub fn plan(graph: &Graph, n: usize, width: u32, input_public: bool, output_public: bool) -> Result<Plan> {
    let l = graph.layers.len();
    if n == 0 || n > l {
        return Err(ProverError::Plan {
            chunks: n,
            detail: format!("the model has {l} layers (1 to {l} chunks possible)"),
        });
    }
    let bounds = tensor_bounds(graph);
    let layers: Vec<Cost> = (0..l).map(|i| layer_cost(graph, i)).collect();
    let mut prefix = vec![Cost::default(); l + 1];
    for i in 0..l {
        prefix[i + 1] = prefix[i] + layers[i];
    }
    let depth = depth_for(n + 1);
    let linkage = linkage_costs(graph, &bounds, depth);
    // moving[j]: layers [0, j) that only move data
    let mut moving = vec![0usize; l + 1];
    for (i, layer) in graph.layers.iter().enumerate() {
        moving[i + 1] = moving[i] + usize::from(crate::layers::moves_data(layer.kind.name()));
    }
    let only_movement = |i: usize, j: usize| n > 1 && moving[j] - moving[i] == j - i;
    let chunk_cost = |i: usize, j: usize| -> Cost {
        let body = Cost {
            main: prefix[j].main - prefix[i].main,
            custom: prefix[j].custom - prefix[i].custom,
            product: prefix[j].product - prefix[i].product,
        };
        body + linkage[i][j]
    };
    // Proving time follows each circuit's size: its rows 2^k in a narrow circuit; in a wide one
    // (several columns of each kind, `k` adapting) about its cells. The plan has the smallest
    // largest circuit, then the least work in all (Σ 2^k narrow, Σ rows wide), then the most
    // even estimates (Σ rows²). For each cap on the largest circuit, smallest first, a partition
    // DP minimises the rest over the chunks within the cap; the smallest cap with a plan wins.
    // A circuit's size counts a chunk over 90% of 2^k as the next size (the estimate errs low
    // at times, and a chunk near 2^16 rows takes a smaller lookup table whose limbs cost more
    // cells); a wider circuit holds more rows ([`column_rows`]).
    let size = |rows: usize| circuit_size(rows, width);
    let work = |rows: usize| if width <= 1 { size(rows) } else { rows } as u128;
    let mut caps: Vec<usize> = (0..l)
        .flat_map(|i| (i + 1..=l).map(move |j| (i, j)))
        .map(|(i, j)| size(chunk_cost(i, j).rows()))
        .collect();
    caps.sort_unstable();
    caps.dedup();
    let within = |cap: usize| {
        partition(l, n, |i, j| {
            let rows = chunk_cost(i, j).rows();
            (!only_movement(i, j) && size(rows) <= cap).then(|| (work(rows), (rows as u128).pow(2)))
        })
    };
    // a larger cap allows every chunk a smaller one does: bisect for the smallest with a plan
    let smallest = caps.partition_point(|cap| within(*cap).is_none());
    let found = caps.get(smallest).and_then(|cap| within(*cap));
    let Some(cuts) = found else {
        return Err(ProverError::Plan {
            chunks: n,
            detail: "every way to cut the model leaves a chunk that only moves data".into(),
        });
    };
    Ok(plan_cuts(graph, cuts, width, input_public, output_public))
}

/// The plan with layer boundaries `cuts` (`0 = b_0 < … < b_N = L`): its leaves, what each chunk
/// reads, packings and estimated costs, for circuits of up to `width` advice columns of each
/// kind.
pub fn plan_cuts(
    graph: &Graph,
    cuts: Vec<usize>,
    width: u32,
    input_public: bool,
    output_public: bool,
) -> Plan {
    let n = cuts.len() - 1;
    let depth = depth_for(n + 1);
    let bounds = tensor_bounds(graph);
    let size = |rows: usize| circuit_size(rows, width);
    let (leaves, reads) = producer_leaves(graph, &cuts);
    let leaf_len: Vec<usize> = leaves.iter().map(|s| s.iter().map(|id| graph.numel(*id)).sum()).collect();
    let packings: Vec<Packing> = leaves.iter().map(|s| boundary_packing(&bounds, s)).collect();
    let costs: Vec<Cost> = (0..n)
        .map(|c| {
            let (i, j) = (cuts[c], cuts[c + 1]);
            let layers = (i..j).map(|pos| layer_cost(graph, pos)).fold(Cost::default(), |a, b| a + b);
            layers + chunk_linkage(&leaf_len, &packings, &reads, c, depth)
        })
        .collect();
    let table_bits: Vec<u32> =
        costs.iter().map(|c| size(c.rows()).trailing_zeros().saturating_sub(1).clamp(8, 16)).collect();
    let packings = table_packings(&bounds, &leaves, &reads, packings, &table_bits);
    Plan { cuts, leaves, packings, reads, costs, input_public, output_public }
}

/// The cuts `0 = b_0 < … < b_n = l` minimising the sum of `cost(b_c, b_{c+1})` (lexicographic
/// pairs, summed per component), where `cost(i, j)` is `None` for a chunk that is not allowed.
/// (Index loops: a textbook partition DP, read as such.)
fn partition(l: usize, n: usize, cost: impl Fn(usize, usize) -> Option<(u128, u128)>) -> Option<Vec<usize>> {
    // best[c][j]: (Σ cost, previous cut) for layers [0, j) in c chunks
    type Best = Option<((u128, u128), usize)>;
    let mut best: Vec<Vec<Best>> = vec![vec![None; l + 1]; n + 1];
    best[0][0] = Some(((0, 0), 0));
    for c in 1..=n {
        for j in c..=l - (n - c) {
            let mut b: Best = None;
            for (i, prev) in best[c - 1].iter().enumerate().take(j).skip(c - 1) {
                let (Some((prev, _)), Some(step)) = (*prev, cost(i, j)) else { continue };
                let total = (prev.0 + step.0, prev.1 + step.1);
                if b.is_none_or(|(t, _)| total < t) {
                    b = Some((total, i));
                }
            }
            best[c][j] = b;
        }
    }
    best[n][l]?;
    let mut cuts = vec![l];
    let mut j = l;
    for c in (1..=n).rev() {
        j = best[c][j]?.1;
        cuts.push(j);
    }
    cuts.reverse();
    Some(cuts)
}

/// What the caller asks of the planner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PlanRequest {
    /// Exactly this many chunks, balanced: layers are split until the largest chunk is within
    /// [`BALANCE_PERCENT`] of the mean, or nothing more can be split.
    Chunks(usize),
    /// The fewest chunks whose estimated rows fit `2^k` each (`width` times that with wider
    /// circuits; layers split as needed).
    MaxK(u32),
    /// Exactly this many chunks, no layer split (cuts between layers only).
    Whole(usize),
}

/// The largest chunk a balanced plan may have, in percent of the mean chunk.
pub const BALANCE_PERCENT: usize = 115;

/// A plan, and the graph it cuts (the model with some layers split into parts).
#[derive(Clone, Debug)]
pub struct Planned {
    /// The layers split, and into how many parts.
    pub splits: Vec<Split>,
    /// The rewritten graph and where its layers came from.
    pub split: SplitGraph,
    /// The plan of `split.graph`.
    pub plan: Plan,
}

/// Rows of the function tables chunk `c` of `plan` needs (its circuit is at least this tall).
fn table_rows(graph: &Graph, plan: &Plan, c: usize) -> usize {
    let tags = graph.layers[plan.cuts[c]..plan.cuts[c + 1]]
        .iter()
        .filter_map(crate::layers::table)
        .fold(0u32, |acc, f| acc | 1 << (f.tag() - 1));
    if tags == 0 {
        0
    } else {
        1 + tags.count_ones() as usize * chunkproof_core::shape::TABLE_ENTRIES
    }
}

/// Values chunk `c` of `plan` reads without using them: the leaves it reads are read whole, so
/// values in them that only a later chunk needs are range-checked, packed and hashed here too
/// (the model outputs the last chunk gathers into its leaf count as used).
pub fn passed_through(graph: &Graph, plan: &Plan, c: usize) -> usize {
    let mut used: BTreeSet<TensorId> =
        graph.layers[plan.cuts[c]..plan.cuts[c + 1]].iter().flat_map(|l| l.inputs.iter().copied()).collect();
    if c + 1 == plan.num_chunks() {
        used.extend(graph.outputs.iter().copied());
    }
    plan.reads[c]
        .iter()
        .flat_map(|r| &plan.leaves[*r])
        .filter(|id| !used.contains(id))
        .map(|id| graph.numel(*id))
        .sum()
}

/// Estimated rows of every chunk: its cost, or its function tables when taller.
pub fn chunk_rows(graph: &Graph, plan: &Plan) -> Vec<usize> {
    (0..plan.num_chunks()).map(|c| plan.costs[c].rows().max(table_rows(graph, plan, c))).collect()
}

/// Plans `request` (see [`PlanRequest`]) for chunk circuits of up to `width` advice columns of
/// each kind (`--max-k` then fits about `width` times the rows in `2^k`).
pub fn plan_request(
    graph: &Graph,
    request: PlanRequest,
    width: u32,
    input_public: bool,
    output_public: bool,
) -> Result<Planned> {
    match request {
        PlanRequest::Whole(n) => {
            let split = split::apply(graph, &[])?;
            let plan = plan(&split.graph, n, width, input_public, output_public)?;
            Ok(Planned { splits: Vec::new(), split, plan })
        }
        PlanRequest::Chunks(n) => balance(graph, n, width, input_public, output_public),
        PlanRequest::MaxK(k) => fit(graph, k, width, input_public, output_public),
    }
}

/// The splits of `parts` (layer → parts), each with the layers after it that its channels carry
/// ([`split::fusable`]); a layer inside such a run is cut with its head, not on its own.
fn split_list(graph: &Graph, parts: &BTreeMap<usize, usize>) -> Vec<Split> {
    let mut out: Vec<Split> = Vec::new();
    for (layer, p) in parts {
        if out.last().is_some_and(|s| *layer <= s.layer + s.fused) {
            continue;
        }
        out.push(Split { layer: *layer, parts: *p, fused: split::fusable(graph, *layer) });
    }
    out
}

/// The layer a split of `pos` starts at: the head of a run of `parts` that covers it, or itself.
fn unit_of(graph: &Graph, parts: &BTreeMap<usize, usize>, pos: usize) -> usize {
    split_list(graph, parts)
        .into_iter()
        .find(|s| s.layer <= pos && pos <= s.layer + s.fused)
        .map_or(pos, |s| s.layer)
}

/// The split unit of chunk `chunk` to cut into more parts: the costliest that can take more.
fn next_cut(
    graph: &Graph,
    splits: &BTreeMap<usize, usize>,
    split: &SplitGraph,
    plan: &Plan,
    chunk: usize,
) -> Option<usize> {
    let mut units: BTreeMap<usize, usize> = BTreeMap::new();
    for (origin, rows) in origin_costs(split, plan, chunk) {
        *units.entry(unit_of(graph, splits, origin)).or_insert(0) += rows;
    }
    units
        .into_iter()
        .filter(|(u, _)| splits.get(u).copied().unwrap_or(1) < max_parts(graph, *u))
        .max_by_key(|(_, rows)| *rows)
        .map(|(u, _)| u)
}

/// Doubles the parts of the split unit at `origin` (2 for a layer not yet split), within what
/// the layer allows.
fn more_parts(graph: &Graph, splits: &mut BTreeMap<usize, usize>, origin: usize) {
    let parts = splits.get(&origin).copied().unwrap_or(1);
    splits.insert(origin, (parts * 2).min(max_parts(graph, origin)));
}

/// Estimated rows of each unsplit layer's share of chunk `chunk` (parts summed).
fn origin_costs(split: &SplitGraph, plan: &Plan, chunk: usize) -> BTreeMap<usize, usize> {
    let mut out = BTreeMap::new();
    for pos in plan.cuts[chunk]..plan.cuts[chunk + 1] {
        let (origin, _) = split.origin[pos];
        *out.entry(origin).or_insert(0) += layer_cost(&split.graph, pos).rows();
    }
    out
}

fn balance(graph: &Graph, n: usize, width: u32, input_public: bool, output_public: bool) -> Result<Planned> {
    let mut splits: BTreeMap<usize, usize> = BTreeMap::new();
    let as_vec = |m: &BTreeMap<usize, usize>| split_list(graph, m);
    let attempt = |m: &BTreeMap<usize, usize>| -> Result<Planned> {
        let splits = as_vec(m);
        let split = split::apply(graph, &splits)?;
        let plan = plan(&split.graph, n, width, input_public, output_public)?;
        Ok(Planned { splits, split, plan })
    };
    let mut best = attempt(&splits)?;
    // What a plan costs to prove: its largest circuit (2^k), then all circuits' rows together
    // (proving time follows 2^k, not the estimate), then its largest estimate.
    let score = |p: &Planned| {
        let rows = chunk_rows(&p.split.graph, &p.plan);
        let k = |r: usize| r.max(1).next_power_of_two();
        (
            rows.iter().map(|r| k(*r)).max().unwrap_or(0),
            rows.iter().map(|r| k(*r)).sum::<usize>(),
            rows.iter().max().copied().unwrap_or(0),
        )
    };
    let mut current = best.clone();
    for _ in 0..32 {
        let rows = chunk_rows(&current.split.graph, &current.plan);
        let total: usize = rows.iter().sum();
        let (largest, max) =
            rows.iter().enumerate().max_by_key(|(_, r)| **r).map(|(i, r)| (i, *r)).unwrap_or((0, 0));
        if max * 100 <= BALANCE_PERCENT * total / n.max(1) {
            break;
        }
        // the costliest layer of the largest chunk that can take more parts
        let Some(origin) = next_cut(graph, &splits, &current.split, &current.plan, largest) else { break };
        more_parts(graph, &mut splits, origin);
        current = match attempt(&splits) {
            Ok(p) => p,
            Err(_) => break,
        };
        if score(&current) < score(&best) {
            best = current.clone();
        }
    }
    Ok(best)
}

/// Rows a chunk may be estimated at for `k` with up to `width` advice columns of each kind: the
/// estimate errs low by a few percent at times (the built circuit decides `k`), so keep a
/// margin; several columns hold a little less than `width` times as much ([`column_rows`]).
fn budget(k: u32, width: u32) -> usize {
    rows_of_columns((1usize << k) / 100 * 90, width)
}

fn fit(graph: &Graph, k: u32, width: u32, input_public: bool, output_public: bool) -> Result<Planned> {
    let table_budget = budget(k, 1);
    let budget = budget(k, width);
    // a chunk with a function table is at least that table (one set of table columns)
    if let Some(layer) = graph.layers.iter().find(|l| {
        crate::layers::table(l).is_some() && 1 + chunkproof_core::shape::TABLE_ENTRIES > table_budget
    }) {
        return Err(ProverError::Plan {
            chunks: 1,
            detail: format!(
                "no plan fits 2^{k} rows per chunk: layer {} ({}) needs a function table of {} rows",
                layer.index,
                layer.kind.name(),
                1 + chunkproof_core::shape::TABLE_ENTRIES
            ),
        });
    }
    // no split unless the whole layers do not fit
    let mut splits: BTreeMap<usize, usize> = BTreeMap::new();
    for _ in 0..32 {
        let list = split_list(graph, &splits);
        let split = split::apply(graph, &list)?;
        let l = split.graph.layers.len();
        let total: usize = (0..l).map(|p| layer_cost(&split.graph, p).rows()).sum();
        // the fewest chunks that fit, counting up from the lower bound (more chunks do not
        // always make the largest one smaller: each reads and writes leaves)
        let fits = |n: usize| -> Option<(bool, Plan)> {
            let plan = plan(&split.graph, n, width, input_public, output_public).ok()?;
            let ok = chunk_rows(&split.graph, &plan).iter().all(|r| *r <= budget);
            Some((ok, plan))
        };
        let mut found: Option<Plan> = None;
        let mut finest: Option<Plan> = None;
        for n in total.div_ceil(budget).clamp(1, l)..=l {
            match fits(n) {
                Some((true, plan)) => {
                    found = Some(plan);
                    break;
                }
                Some((false, plan)) => finest = Some(plan),
                // no valid cut at this count (data movement alone): try more chunks
                None => {}
            }
        }
        if let Some(plan) = found {
            return Ok(Planned { splits: list, split, plan });
        }
        // Even the finest plan has a chunk over budget: cut its costliest layer further.
        if splits.is_empty() {
            // first: every layer over half the budget in parts of about half the budget
            for pos in 0..graph.layers.len() {
                let rows = layer_cost(graph, pos).rows();
                let parts = rows.div_ceil(budget / 2).min(max_parts(graph, pos));
                if parts >= 2 {
                    splits.insert(pos, parts);
                }
            }
            if !splits.is_empty() {
                continue;
            }
        }
        let Some(plan) = finest else { break };
        let rows = chunk_rows(&split.graph, &plan);
        let worst = (0..rows.len()).max_by_key(|c| rows[*c]).unwrap_or(0);
        let Some(origin) = next_cut(graph, &splits, &split, &plan, worst) else { break };
        more_parts(graph, &mut splits, origin);
    }
    let l = graph.layers.len();
    let (pos, rows) = (0..graph.layers.len())
        .map(|p| (p, layer_cost(graph, p).rows()))
        .max_by_key(|(_, r)| *r)
        .unwrap_or((0, 0));
    let layer = &graph.layers[pos];
    Err(ProverError::Plan {
        chunks: l,
        detail: format!(
            "no plan fits 2^{k} rows per chunk: layer {} ({}) needs about {rows} rows and splits into at most {} parts, and every chunk also commits the values crossing its cuts (about 17 rows per value, 8 when the model bounds them to 16 bits)",
            layer.index,
            layer.kind.name(),
            max_parts(graph, pos)
        ),
    })
}
