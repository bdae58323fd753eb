//! Gadgets whose divisor or radicand comes from the data, and the function-table lookup.
//! Each reproduces [`crate::fixed`] exactly; every witness the prover chooses is pinned down by
//! a range check, so no other value satisfies the constraints.

use halo2_axiom::halo2curves::ff::Field;
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::{
    AssignedValue, Context, QuantumCell,
    QuantumCell::{Constant, Existing, Witness},
};

use super::custom::{CustomRegion, MainGate};
use super::gadgets::{activation, clamp_gate, div_round, fr_i128, signed_range, sixteen_bit, to_i128};
use crate::circuit::Fr;
use crate::fault::{hit, Site};
use crate::fixed::{isqrt, table_shift, table_value, TABLE_BITS};
use crate::model::{Activation, NonLinear};

/// Bits of the slack range checks of [`root`] (all its values stay far below `2^64`).
const ROOT_BITS: usize = 64;
/// Bits of a root `m` and of its halving `y` (`m < 2^40`, so `y ≤ 2^39`).
const ROOT_BITS_OUT: usize = 40;

/// `q = rhu(a / b)` for a divisor cell `b`: `2a + b = 2b·q + r` with `r ∈ [0, 2^32)`,
/// `2b − 1 − r ∈ [0, 2^32)` (so `0 ≤ r < 2b`), `b − 1 ∈ [0, 2^31)` and `q ∈ [−2^31, 2^31)`.
/// With `|a| < 2^52` nothing wraps in the field, so `q` is unique.
pub fn div_var(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    custom: &mut CustomRegion,
    a: AssignedValue<Fr>,
    b: AssignedValue<Fr>,
) -> AssignedValue<Fr> {
    let (av, bv) = (to_i128(a.value()), to_i128(b.value()));
    let mut q = if bv >= 1 { crate::fixed::div_round(av, bv as u64).0 } else { 0 };
    if hit(Site::DivVar) {
        q += 1;
    }
    let gate = range.gate();
    let q = ctx.load_witness(fr_i128(q));
    let lhs = gate.mul_add(ctx, a, Constant(Fr::from(2)), b);
    let two_b = gate.add(ctx, b, b);
    let r = gate.sub_mul(ctx, lhs, two_b, q);
    range.range_check(ctx, r, 32);
    let slack = gate.sub(ctx, two_b, r);
    let slack = gate.sub(ctx, slack, Constant(Fr::ONE));
    range.range_check(ctx, slack, 32);
    let b1 = gate.sub(ctx, b, Constant(Fr::ONE));
    range.range_check(ctx, b1, 31);
    signed_range(ctx, range, custom, q);
    q
}

/// `y = ⌊(m + 1) / 2⌋` with `m = ⌊√(n / d)⌋`, proven by `m²·d ≤ n < (m + 1)²·d` (both slacks
/// range-checked), `m ∈ [0, 2^40)` and `m + 1 = 2y + e` with `e` a bit **and `y ∈ [0, 2^40)`**.
/// Without the range check on `y`, flipping `e` would give the second solution
/// `y ± 2⁻¹ (mod p)`, a field element that a later rounding division turns back into an integer
/// off by one. `d` must be `≥ 1` (the caller proves it) and `n ≥ 0`; then `y` is `√(n / (4d))`
/// rounded half up when `n` carries the factor 4.
pub fn root(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    n: QuantumCell<Fr>,
    d: QuantumCell<Fr>,
) -> AssignedValue<Fr> {
    let (nv, dv) = (to_i128(n.value()), to_i128(d.value()));
    let mut m = if dv >= 1 && nv >= 0 { isqrt(nv / dv) } else { 0 };
    if hit(Site::Root) {
        m += 1;
    }
    let gate = range.gate();
    let mc = ctx.load_witness(fr_i128(m));
    range.range_check(ctx, mc, ROOT_BITS_OUT);
    let m2 = gate.mul(ctx, mc, mc);
    let low = gate.mul(ctx, m2, d);
    let lo_slack = gate.sub(ctx, n, low);
    range.range_check(ctx, lo_slack, ROOT_BITS);
    let m1 = gate.add(ctx, mc, Constant(Fr::ONE));
    let m12 = gate.mul(ctx, m1, m1);
    let high = gate.mul(ctx, m12, d);
    let hi_slack = gate.sub(ctx, high, n);
    let hi_slack = gate.sub(ctx, hi_slack, Constant(Fr::ONE));
    range.range_check(ctx, hi_slack, ROOT_BITS);
    let (mut y, mut e) = (fr_i128((m + 1) / 2), (m + 1) % 2);
    if hit(Site::RootHalf) {
        // y − 1 with e + 2 keeps m + 1 = 2y + e; only the bit check can object
        y -= Fr::ONE;
        e += 2;
    }
    if hit(Site::RootParity) {
        // the other bit: y' = (m + 1 − e') / 2 is a half-integer field element; only the range
        // check on y can object
        e = 1 - e;
        y = (fr_i128(m + 1) - fr_i128(e)) * Fr::from(2).invert().expect("2 is invertible");
    }
    let yc = ctx.load_witness(y);
    let ec = ctx.load_witness(fr_i128(e));
    gate.assert_bit(ctx, ec);
    range.range_check(ctx, yc, ROOT_BITS_OUT);
    let again = gate.mul_add(ctx, yc, Constant(Fr::from(2)), ec);
    ctx.constrain_equal(&again, &m1);
    yc
}

/// `func(x)` through the function table: `u = clamp(rhu(x / shift), −2^15, 2^15 − 1) + 2^15`
/// (a rounding division, a ReLU and a clamp), then `(u, tag, y)` is looked up. Needs the 16-bit
/// range table.
pub fn table_lookup(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    custom: &mut CustomRegion,
    x: AssignedValue<Fr>,
    func: NonLinear,
    scale: u64,
) -> AssignedValue<Fr> {
    debug_assert!(sixteen_bit(range), "function tables need the 16-bit range table");
    let half = 1u64 << (TABLE_BITS - 1);
    let shift = table_shift(scale);
    let q = if shift == 1 { x } else { div_round(ctx, range, custom, x, shift).q };
    let v = range.gate().add(ctx, q, Constant(Fr::from(half)));
    let pos = activation(ctx, range, custom, v, Activation::Relu, scale, true, true);
    let u = clamp_gate(ctx, range, custom, chunkproof_core::shape::Limbs::new(16), pos, 2 * half - 1);
    let mut y = table_value(func, to_i128(u.value()) as i64 - half as i64, scale) as i128;
    if hit(Site::Table) {
        y += 1;
    }
    if !super::gadgets::room(ctx, custom, 3, true) {
        ctx.assign_cell(Existing(u));
    }
    let start = ctx.advice.len() - 1;
    ctx.assign_region([Constant(Fr::from(func.tag())), Witness(fr_i128(y))], []);
    custom.record_main(ctx, start, MainGate::Table);
    ctx.get(start as isize + 2)
}
