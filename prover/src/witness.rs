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
    /// Boundary set `A_i`, sorted by id.
    pub inputs: Vec<TensorId>,
    /// Boundary set `A_{i+1}`, sorted by id.
    pub outputs: Vec<TensorId>,
    /// How `A_i` is packed into its leaf.
    pub input_packing: Packing,
    /// How `A_{i+1}` is packed into its leaf.
    pub output_packing: Packing,
    /// Model inputs are public (matters for chunk 0).
    pub input_public: bool,
    /// Model outputs are public (matters for the last chunk).
    pub output_public: bool,
    /// Depth of the Merkle tree over the `N + 1` leaves.
    pub tree_depth: usize,
}

impl ChunkSpec {
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
    /// `A_i`, flattened in boundary order.
    pub inputs: Vec<i64>,
    /// Salt of leaf `i`.
    pub salt_in: Fr,
    /// Salt of leaf `i + 1`.
    pub salt_out: Fr,
    /// Siblings of leaf `i`, bottom-up.
    pub path_in: Vec<Fr>,
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
            inputs: plan.sets[i].clone(),
            outputs: plan.sets[i + 1].clone(),
            input_packing: plan.packings[i],
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
    /// `A_0 … A_N`, flattened.
    pub values: Vec<Vec<i64>>,
    /// `c_0 … c_N`.
    pub leaves: Vec<Fr>,
    /// The tree over the leaves.
    pub tree: MerkleTree,
}

impl Linkage {
    /// Draws salts from `rng` and commits to every boundary of `plan`.
    pub fn new(plan: &Plan, trace: &Trace, rng: &mut (impl RngCore + ?Sized)) -> Result<Self> {
        let salts: Vec<Fr> = (0..plan.sets.len()).map(|_| Fr::random(&mut *rng)).collect();
        Self::with_salts(plan, trace, salts)
    }

    /// Commits to every boundary of `plan` with the given salts (one per boundary; a resumed
    /// run reuses its recorded salts).
    pub fn with_salts(plan: &Plan, trace: &Trace, salts: Vec<Fr>) -> Result<Self> {
        let values: Vec<Vec<i64>> = plan
            .sets
            .iter()
            .map(|set| set.iter().flat_map(|id| trace.get(*id).iter().copied()).collect())
            .collect();
        if salts.len() != values.len() {
            return Err(crate::error::ProverError::InvalidInput {
                detail: format!("{} salts for {} boundaries", salts.len(), values.len()),
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
        Ok(Self { salts, values, leaves, tree })
    }

    /// The root `R`.
    pub fn root(&self) -> Fr {
        self.tree.root()
    }

    /// Private inputs of chunk `i`.
    pub fn witness(&self, i: usize) -> ChunkWitness {
        let path = |j: usize| self.tree.path(j).expect("leaf exists").siblings;
        ChunkWitness {
            inputs: self.values[i].clone(),
            salt_in: self.salts[i],
            salt_out: self.salts[i + 1],
            path_in: path(i),
            path_out: path(i + 1),
            root: self.root(),
        }
    }
}
