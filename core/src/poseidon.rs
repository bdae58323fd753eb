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
    !(FULL_ROUNDS / 2..FULL_ROUNDS / 2 + PARTIAL_ROUNDS).contains(&r)
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
    if inputs.len().is_multiple_of(RATE) {
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

/// Published test vectors: `hash([])`, `hash([1])`, `hash([1, 2])`, `hash([1, 2, 3])`, as
/// 32-byte big-endian hex. The prover's tests check that halo2-base's hasher and our gates agree.
pub const TEST_VECTORS: [&str; 4] = [
    "0x14b2e5484b232721d64f405caa487febbce835dd07c5de940f2a775dc9aa0da6",
    "0x0852dd5e76ddcfab001c178a8e3ff6e40ed9c34bf8fd53868704c7ca58042de1",
    "0x305df2f9f9f1c0b591427aa9fd8ff8b8b8ad8a16953065fca066cb6a69deff53",
    "0x1e771e80490bde52a453e40889e14665d5396a81ff3076ac798ce39ef71b6cf1",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Bytes32;

    #[test]
    fn pinned_vectors() {
        for (n, want) in TEST_VECTORS.iter().enumerate() {
            let x: Vec<Fr> = (1..=n as u64).map(Fr::from).collect();
            assert_eq!(Bytes32::from_fr(&hash(&x)).to_string(), *want, "hash of 1..={n}");
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
