//! Binary Merkle tree over the boundary leaves `c_0 … c_N`, padded to a power of two with
//! [`empty_leaf`].

use crate::field::Fr;
use crate::linkage::{empty_leaf, node_hash};

/// Depth of the tree over `num_leaves` leaves (at least 1).
pub fn depth_for(num_leaves: usize) -> usize {
    num_leaves.max(2).next_power_of_two().trailing_zeros() as usize
}

/// A full tree, level 0 being the padded leaves.
#[derive(Clone, Debug)]
pub struct MerkleTree {
    levels: Vec<Vec<Fr>>,
    num_leaves: usize,
}

/// Siblings from the leaf up to (not including) the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerklePath {
    /// Leaf position.
    pub index: usize,
    /// `siblings[l]` is the sibling at level `l`.
    pub siblings: Vec<Fr>,
}

impl MerkleTree {
    /// Builds the tree; `leaves` must not be empty.
    pub fn new(leaves: &[Fr]) -> Self {
        let depth = depth_for(leaves.len());
        let mut level = leaves.to_vec();
        level.resize(1 << depth, empty_leaf());
        let mut levels = vec![level];
        for _ in 0..depth {
            let prev = levels.last().expect("at least one level");
            levels.push(prev.chunks(2).map(|p| node_hash(p[0], p[1])).collect());
        }
        Self { levels, num_leaves: leaves.len() }
    }

    /// The root.
    pub fn root(&self) -> Fr {
        self.levels.last().expect("at least one level")[0]
    }

    /// Number of levels below the root.
    pub fn depth(&self) -> usize {
        self.levels.len() - 1
    }

    /// Number of real (unpadded) leaves.
    pub fn num_leaves(&self) -> usize {
        self.num_leaves
    }

    /// The authentication path of leaf `index`, if it exists.
    pub fn path(&self, index: usize) -> Option<MerklePath> {
        if index >= self.num_leaves {
            return None;
        }
        let siblings = (0..self.depth()).map(|l| self.levels[l][(index >> l) ^ 1]).collect();
        Some(MerklePath { index, siblings })
    }
}

impl MerklePath {
    /// The root that `leaf` at this path's position hashes to.
    pub fn root_of(&self, leaf: Fr) -> Fr {
        self.siblings.iter().enumerate().fold(leaf, |node, (l, sib)| {
            if (self.index >> l) & 1 == 0 {
                node_hash(node, *sib)
            } else {
                node_hash(*sib, node)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_reach_the_root() {
        for n in [2usize, 3, 5, 8, 9] {
            let leaves: Vec<Fr> = (0..n as u64).map(|i| Fr::from(100 + i)).collect();
            let t = MerkleTree::new(&leaves);
            assert_eq!(t.depth(), depth_for(n));
            for (i, leaf) in leaves.iter().enumerate() {
                let p = t.path(i).unwrap();
                assert_eq!(p.root_of(*leaf), t.root(), "n={n} i={i}");
                assert_ne!(p.root_of(Fr::from(1)), t.root());
            }
            assert!(t.path(n).is_none());
        }
    }

    #[test]
    fn position_matters() {
        let leaves: Vec<Fr> = (0..4u64).map(Fr::from).collect();
        let t = MerkleTree::new(&leaves);
        let mut p = t.path(1).unwrap();
        p.index = 0;
        assert_ne!(p.root_of(leaves[1]), t.root());
        assert_eq!(depth_for(1), 1);
        assert_eq!(depth_for(5), 3);
    }
}
