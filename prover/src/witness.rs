//! The cheap part done once: boundary values from the interpreter, fresh salts, leaves, the tree
//! and its root, and each chunk's private inputs.

use chunkproof_verifier::{leaf_hash, MerkleTree};
use halo2_axiom::halo2curves::ff::Field;
use rand_core::RngCore;

use crate::circuit::{ChunkWitness, Fr};
use crate::error::Result;
use crate::interpret::Trace;
use crate::plan::Plan;

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
            .enumerate()
            .map(|(j, (v, s))| leaf_hash(j as u64, *s, v))
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
