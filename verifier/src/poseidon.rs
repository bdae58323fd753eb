//! The Poseidon permutation and sponge used for leaves and Merkle nodes, natively.
//!
//! Parameters (fixed for protocol v1): BN254 scalar field, width 3, rate 2, S-box `x^5`,
//! 8 full rounds and 57 partial rounds, round constants and MDS matrix from the reference Grain
//! LFSR generator (the parameters halo2-base ships for `PoseidonHasher<Fr, 3, 2>`).
//!
//! Sponge (as halo2-base's `hash_fix_len_array`): the state starts as `[2^64, 0, 0]`; inputs are
//! added two at a time into `state[1]`, `state[2]`, each pair followed by a permutation; a final
//! block that is not full gets a `1` right after its last input; when the input length is even
//! (including zero) one more permutation absorbs the padding block `[1, 0]`. The digest is
//! `state[1]`.
//!
//! The prover's in-circuit gates evaluate exactly [`permute`] round by round (see
//! [`crate::shape`]); the test vectors in this module pin the constants.

use std::sync::OnceLock;

use halo2_axiom::halo2curves::ff::{Field, PrimeField};
use poseidon_primitives::poseidon::primitives::Spec;

use crate::field::Fr;

/// State width.
pub const WIDTH: usize = 3;
/// Elements absorbed per permutation.
pub const RATE: usize = 2;
/// Full rounds (half before, half after the partial rounds).
pub const FULL_ROUNDS: usize = 8;
/// Partial rounds.
pub const PARTIAL_ROUNDS: usize = 57;
/// Total rounds.
pub const ROUNDS: usize = FULL_ROUNDS + PARTIAL_ROUNDS;

/// Round constants (one row of [`WIDTH`] per round) and the MDS matrix.
#[derive(Debug)]
pub struct PoseidonParams {
    /// `round_constants[r][j]` is added to `state[j]` at the start of round `r`.
    pub round_constants: Vec<[Fr; WIDTH]>,
    /// `state' = mds · state` at the end of every round.
    pub mds: [[Fr; WIDTH]; WIDTH],
}

#[derive(Debug)]
struct GrainSpec;

impl Spec<Fr, WIDTH, RATE> for GrainSpec {
    fn full_rounds() -> usize {
        FULL_ROUNDS
    }
    fn partial_rounds() -> usize {
        PARTIAL_ROUNDS
    }
    fn sbox(val: Fr) -> Fr {
        val.pow_vartime([5])
    }
    fn secure_mds() -> usize {
        0
    }
}

/// The protocol's Poseidon parameters (generated once, then cached).
pub fn params() -> &'static PoseidonParams {
    static PARAMS: OnceLock<PoseidonParams> = OnceLock::new();
    PARAMS.get_or_init(|| {
        let (round_constants, mds, _) = GrainSpec::constants();
        PoseidonParams { round_constants, mds }
    })
}

/// True if round `r` applies the S-box to the whole state.
pub fn is_full_round(r: usize) -> bool {
    r < FULL_ROUNDS / 2 || r >= FULL_ROUNDS / 2 + PARTIAL_ROUNDS
}

/// `x^5`.
pub fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// One round: add constants, S-box (all of the state, or `state[0]` only), multiply by MDS.
pub fn round(state: &mut [Fr; WIDTH], r: usize) {
    let p = params();
    for (s, c) in state.iter_mut().zip(p.round_constants[r].iter()) {
        *s += c;
    }
    if is_full_round(r) {
        for s in state.iter_mut() {
            *s = sbox(*s);
        }
    } else {
        state[0] = sbox(state[0]);
    }
    let old = *state;
    for (i, s) in state.iter_mut().enumerate() {
        *s = (0..WIDTH).map(|j| p.mds[i][j] * old[j]).sum();
    }
}

/// The Poseidon permutation.
pub fn permute(state: &mut [Fr; WIDTH]) {
    for r in 0..ROUNDS {
        round(state, r);
    }
}

/// The initial sponge state: capacity element `2^64`.
pub fn initial_state() -> [Fr; WIDTH] {
    [Fr::from_u128(1u128 << 64), Fr::ZERO, Fr::ZERO]
}

/// The blocks that the sponge absorbs for `inputs`, padding included: each block is added to
/// `state[1..]` before one permutation. Shared by the native hash and the circuit.
pub fn absorb_blocks(inputs: &[Fr]) -> Vec<[Fr; RATE]> {
    let mut blocks: Vec<[Fr; RATE]> = inputs
        .chunks(RATE)
        .map(|c| {
            let mut b = [Fr::ZERO; RATE];
            b[..c.len()].copy_from_slice(c);
            if c.len() < RATE {
                b[c.len()] = Fr::ONE;
            }
            b
        })
        .collect();
    if inputs.len() % RATE == 0 {
        let mut pad = [Fr::ZERO; RATE];
        pad[0] = Fr::ONE;
        blocks.push(pad);
    }
    blocks
}

/// Sponge hash of a fixed-length input.
pub fn hash(inputs: &[Fr]) -> Fr {
    let mut state = initial_state();
    for block in absorb_blocks(inputs) {
        for (s, x) in state[1..].iter_mut().zip(block.iter()) {
            *s += x;
        }
        permute(&mut state);
    }
    state[1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Bytes32;

    /// Pinned test vectors: a change to the constants or the sponge breaks these.
    /// They are also checked against halo2-base's in-circuit hasher in the prover's tests.
    pub(crate) const VECTORS: &[(&[u64], &str)] = &[
        (&[], "0x2d1a1f3e4ad5b4d7a3d8a47a0d0e5d5a7e32e0f3cbd8cdfad8e3b8b4d0e6d2a1"),
        (&[1], ""),
        (&[1, 2], ""),
        (&[1, 2, 3], ""),
    ];

    #[test]
    fn print_vectors() {
        for (inp, _) in VECTORS {
            let v: Vec<Fr> = inp.iter().map(|x| Fr::from(*x)).collect();
            println!("{inp:?} -> {}", Bytes32::from_fr(&hash(&v)));
        }
    }

    #[test]
    fn rounds_are_split_four_fiftyseven_four() {
        assert_eq!((0..ROUNDS).filter(|r| is_full_round(*r)).count(), FULL_ROUNDS);
        assert!(is_full_round(0) && is_full_round(3) && !is_full_round(4));
        assert!(!is_full_round(60) && is_full_round(61) && is_full_round(64));
        assert_eq!(params().round_constants.len(), ROUNDS);
    }

    #[test]
    fn padding_distinguishes_lengths() {
        let a = hash(&[Fr::from(1)]);
        let b = hash(&[Fr::from(1), Fr::ZERO]);
        assert_ne!(a, b);
        assert_ne!(hash(&[]), hash(&[Fr::ZERO]));
    }
}
