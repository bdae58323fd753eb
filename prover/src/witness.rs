//! What each chunk circuit is built from: its description ([`ChunkSpec`], from the plan) and its
//! private inputs ([`ChunkWitness`]), made once for all chunks from the interpreter's boundary
//! values, fresh salts, the leaves, the tree and its root ([`Linkage`]).

use std::ops::Range;

use chunkproof_core::linkage::{leaf_hash, Packing};
use chunkproof_core::merkle::MerkleTree;
use chunkproof_core::Fr;
use halo2_axiom::halo2curves::ff::Field;
use rand_core::RngCore;

use crate::error::Result;
use crate::interpret::Trace;
use crate::model::TensorId;
use crate::plan::Plan;

/// Everything that fixes the circuit of one chunk (but not its witness).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkSpec {
    /// Chunk index `i`.
    pub index: usize,
    /// Number of chunks `N`.
    pub num_chunks: usize,
    /// Layers `[b_i, b_{i+1})`.
    pub layers: Range<usize>,
    /// The leaves the chunk reads, increasing (for a chunk that reads only its predecessor's
    /// leaf: leaf `i`, boundary set `A_i`).
    pub reads: Vec<LeafRead>,
    /// The tensors of the leaf it writes, leaf `i + 1` (`A_{i+1}`), sorted by id.
    pub outputs: Vec<TensorId>,
    /// How leaf `i + 1` is packed.
    pub output_packing: Packing,
    /// Model inputs are public (matters for chunk 0).
    pub input_public: bool,
    /// Model outputs are public (matters for the last chunk).
    pub output_public: bool,
    /// Depth of the Merkle tree over the `N + 1` leaves.
    pub tree_depth: usize,
}

/// A leaf a chunk reads: its position in the tree, its tensors (sorted by id) and packing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafRead {
    /// Leaf index `j`.
    pub leaf: usize,
    /// Its tensors.
    pub tensors: Vec<TensorId>,
    /// How its values are packed.
    pub packing: Packing,
}

impl ChunkSpec {
    /// The tensors the chunk reads, leaf after leaf (the order of [`ChunkWitness::inputs`]).
    pub fn inputs(&self) -> Vec<TensorId> {
        self.reads.iter().flat_map(|r| r.tensors.iter().copied()).collect()
    }

    /// True if the chunk reads only leaf `i`.
    pub fn reads_only_previous(&self) -> bool {
        self.reads.len() == 1 && self.reads[0].leaf == self.index
    }

    /// True for the first chunk.
    pub fn is_first(&self) -> bool {
        self.index == 0
    }

    /// True for the last chunk.
    pub fn is_last(&self) -> bool {
        self.index + 1 == self.num_chunks
    }
}

/// The private inputs of one chunk proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkWitness {
    /// The values of the leaves read, leaf after leaf, each flattened in leaf order.
    pub inputs: Vec<i64>,
    /// Salts of the leaves read.
    pub salts_in: Vec<Fr>,
    /// Salt of leaf `i + 1`.
    pub salt_out: Fr,
    /// Siblings of each leaf read, bottom-up.
    pub paths_in: Vec<Vec<Fr>>,
    /// Siblings of leaf `i + 1`, bottom-up.
    pub path_out: Vec<Fr>,
    /// The root `R`.
    pub root: Fr,
}

impl ChunkSpec {
    /// The description of chunk `i` of `plan`.
    pub fn of(plan: &Plan, i: usize) -> Self {
        Self {
            index: i,
            num_chunks: plan.num_chunks(),
            layers: plan.cuts[i]..plan.cuts[i + 1],
            reads: plan.reads[i]
                .iter()
                .map(|j| LeafRead { leaf: *j, tensors: plan.leaves[*j].clone(), packing: plan.packings[*j] })
                .collect(),
            outputs: plan.leaves[i + 1].clone(),
            output_packing: plan.packings[i + 1],
            input_public: plan.input_public,
            output_public: plan.output_public,
            tree_depth: plan.tree_depth(),
        }
    }
}

/// Salts, boundary values, leaves and tree of one inference.
#[derive(Clone, Debug)]
pub struct Linkage {
    /// `s_0 … s_N`, uniformly random.
    pub salts: Vec<Fr>,
    /// The values of leaves `0 … N`, each flattened.
    pub values: Vec<Vec<i64>>,
    /// The leaves each chunk reads.
    pub reads: Vec<Vec<usize>>,
    /// `c_0 … c_N`.
    pub leaves: Vec<Fr>,
    /// The tree over the leaves.
    pub tree: MerkleTree,
}

impl Linkage {
    /// Draws salts from `rng` and commits to every leaf of `plan`.
    pub fn new(plan: &Plan, trace: &Trace, rng: &mut (impl RngCore + ?Sized)) -> Result<Self> {
        let salts: Vec<Fr> = (0..plan.leaves.len()).map(|_| Fr::random(&mut *rng)).collect();
        Self::with_salts(plan, trace, salts)
    }

    /// Commits to every leaf of `plan` with the given salts (one per leaf; a resumed run reuses
    /// its recorded salts).
    pub fn with_salts(plan: &Plan, trace: &Trace, salts: Vec<Fr>) -> Result<Self> {
        let values: Vec<Vec<i64>> = plan
            .leaves
            .iter()
            .map(|set| set.iter().flat_map(|id| trace.get(*id).iter().copied()).collect())
            .collect();
        if salts.len() != values.len() {
            return Err(crate::error::ProverError::InvalidInput {
                detail: format!("{} salts for {} leaves", salts.len(), values.len()),
            });
        }
        let leaves = values
            .iter()
            .zip(&salts)
            .zip(&plan.packings)
            .enumerate()
            .map(|(j, ((v, s), p))| leaf_hash(j as u64, *s, v, *p))
            .collect::<std::result::Result<Vec<Fr>, _>>()?;
        let tree = MerkleTree::new(&leaves);
        Ok(Self { salts, values, reads: plan.reads.clone(), leaves, tree })
    }

    /// The root `R`.
    pub fn root(&self) -> Fr {
        self.tree.root()
    }

    /// Private inputs of chunk `i`.
    pub fn witness(&self, i: usize) -> ChunkWitness {
        let path = |j: usize| self.tree.path(j).expect("leaf exists").siblings;
        let reads = &self.reads[i];
        ChunkWitness {
            inputs: reads.iter().flat_map(|j| self.values[*j].iter().copied()).collect(),
            salts_in: reads.iter().map(|j| self.salts[*j]).collect(),
            salt_out: self.salts[i + 1],
            paths_in: reads.iter().map(|j| path(*j)).collect(),
            path_out: path(i + 1),
            root: self.root(),
        }
    }
}
