//! In-circuit linkage: the Poseidon sponge, salted boundary leaves and Merkle paths, computed
//! exactly as [`chunkproof_verifier`] computes them natively.

use chunkproof_core::linkage::{Packing, TAG_LEAF, TAG_NODE};
use chunkproof_core::poseidon::{self, RATE};
use halo2_axiom::halo2curves::ff::{Field, PrimeField};
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};

use super::custom::CustomRegion;
use super::gadgets::signed_range;
use crate::circuit::Fr;

/// The sponge of [`poseidon::hash`]: absorption on the halo2-base column, permutations in the
/// custom column.
pub fn hash(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    custom: &mut CustomRegion,
    inputs: &[AssignedValue<Fr>],
) -> AssignedValue<Fr> {
    let gate = range.gate();
    let init = poseidon::initial_state();
    let mut state = [ctx.load_constant(init[0]), ctx.load_zero(), ctx.load_zero()];
    let mut absorb =
        |ctx: &mut Context<Fr>, state: &mut [AssignedValue<Fr>; 3], block: &[AssignedValue<Fr>]| {
            for (j, x) in block.iter().enumerate() {
                state[1 + j] = gate.add(ctx, state[1 + j], *x);
            }
            if block.len() < RATE {
                state[1 + block.len()] = gate.add(ctx, state[1 + block.len()], Constant(Fr::ONE));
            }
            *state = custom.permute(*state);
        };
    for block in inputs.chunks(RATE) {
        absorb(ctx, &mut state, block);
    }
    if inputs.len().is_multiple_of(RATE) {
        absorb(ctx, &mut state, &[]);
    }
    state[1]
}

/// Leaf `index` over `values` with `salt` packed by `packing` (see
/// [`chunkproof_core::linkage::leaf_hash`]). Proves every value `v` has `v + offset` in
/// `[0, 2^bits)` so that the packing is injective: for the wide packing with the sign gate
/// (`v ∈ [-2^31, 2^31)`), for a 16-bit one with one lookup in the range table (after adding the
/// offset, when there is one).
pub fn leaf(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    custom: &mut CustomRegion,
    index: u64,
    salt: AssignedValue<Fr>,
    values: &[AssignedValue<Fr>],
    packing: Packing,
) -> AssignedValue<Fr> {
    let offset = Fr::from(packing.offset);
    for v in values {
        if packing == Packing::WIDE {
            signed_range(ctx, range, custom, *v);
            continue;
        }
        let shifted = if packing.offset == 0 { *v } else { range.gate().add(ctx, *v, Constant(offset)) };
        range.range_check(ctx, shifted, packing.bits as usize);
    }
    let shift = Fr::from_u128(1u128 << packing.bits);
    let mut preimage = vec![
        ctx.load_constant(Fr::from_u128(TAG_LEAF)),
        ctx.load_constant(Fr::from(index)),
        salt,
        ctx.load_constant(packing.header(values.len())),
    ];
    for group in values.chunks(packing.per_element()) {
        let mut weight = Fr::ONE;
        let mut addend = Fr::ZERO;
        let terms: Vec<(AssignedValue<Fr>, Fr)> = group
            .iter()
            .map(|v| {
                let t = (*v, weight);
                addend += weight * offset;
                weight *= shift;
                t
            })
            .collect();
        preimage.push(custom.dot(&terms, addend));
    }
    hash(ctx, range, custom, &preimage)
}

/// The root reached from `leaf` at position `index` with `siblings` (bottom-up); the positions
/// are constants of the circuit.
pub fn merkle_root(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    custom: &mut CustomRegion,
    leaf: AssignedValue<Fr>,
    index: usize,
    siblings: &[AssignedValue<Fr>],
) -> AssignedValue<Fr> {
    let tag = ctx.load_constant(Fr::from_u128(TAG_NODE));
    let mut node = leaf;
    for (level, sib) in siblings.iter().enumerate() {
        let pair = if (index >> level) & 1 == 0 { [tag, node, *sib] } else { [tag, *sib, node] };
        node = hash(ctx, range, custom, &pair);
    }
    node
}
