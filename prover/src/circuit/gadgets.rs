//! Fixed-point gadgets on the halo2-base column: rounding division, range checks, signs,
//! activations. Each reproduces [`crate::fixed`] exactly; the structure of the constraints never
//! depends on witness values.

use halo2_axiom::halo2curves::ff::{Field, PrimeField};
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::{AssignedValue, Context, QuantumCell::{Constant, Existing, Witness}};

use crate::circuit::Fr;
use crate::model::Activation;

/// Offset mapping a value in `[-2^31, 2^31)` to `[0, 2^32)`.
const OFFSET: u64 = 1 << 31;

/// The signed integer of a field element that came from fixed-point arithmetic; 0 if it is not
/// one (only possible for a tampered witness, whose constraints then fail).
pub fn to_i128(f: &Fr) -> i128 {
    let small = |x: &Fr| -> Option<i128> {
        let r = x.to_repr();
        r[16..].iter().all(|b| *b == 0).then(|| u128::from_le_bytes(r[..16].try_into().expect("16 bytes")))
            .filter(|v| *v < 1 << 126)
            .map(|v| v as i128)
    };
    small(f).or_else(|| small(&-*f).map(|v| -v)).unwrap_or(0)
}

/// Field element of a signed integer.
pub fn fr_i128(v: i128) -> Fr {
    if v >= 0 {
        Fr::from_u128(v as u128)
    } else {
        -Fr::from_u128(v.unsigned_abs())
    }
}

/// Cells of a rounding division, for tests that tamper with them.
#[derive(Clone, Copy, Debug)]
pub struct Division {
    /// Quotient `q = ⌊(2a + d) / 2d⌋`.
    pub q: AssignedValue<Fr>,
    /// Remainder `r = 2a + d − 2d·q`.
    pub r: AssignedValue<Fr>,
}

/// Proves `q = div_round(a, d)`: `2a + d = 2d·q + r` with `0 ≤ r < 2d`. The caller must also
/// bound `q` (with [`signed_range`] or [`sign_bit`]) for the quotient to be unique.
pub fn div_round(ctx: &mut Context<Fr>, range: &RangeChip<Fr>, a: AssignedValue<Fr>, d: u64) -> Division {
    let (q, r) = crate::fixed::div_round(to_i128(a.value()), d);
    let u = Fr::from(2) * a.value() + Fr::from(d);
    let start = ctx.advice.len() as isize;
    ctx.assign_region(
        [
            Constant(Fr::from(d)),
            Existing(a),
            Constant(Fr::from(2)),
            Witness(u),
            Witness(fr_i128(q)),
            Constant(-Fr::from(2 * d)),
            Witness(fr_i128(r)),
        ],
        [0, 3],
    );
    let q = ctx.get(start + 4);
    let r = ctx.get(start + 6);
    let bound = 2 * d;
    if bound.is_power_of_two() {
        range.range_check(ctx, r, bound.trailing_zeros() as usize);
    } else {
        range.check_less_than_safe(ctx, r, bound);
    }
    Division { q, r }
}

/// Proves `x ∈ [-2^31, 2^31)`.
pub fn signed_range(ctx: &mut Context<Fr>, range: &RangeChip<Fr>, x: AssignedValue<Fr>) {
    let y = range.gate().add(ctx, x, Constant(Fr::from(OFFSET)));
    range.range_check(ctx, y, 32);
}

/// Proves `x ∈ [-2^31, 2^31)` and returns the bit `[x ≥ 0]`: `x + 2^31 = low + 2^31·b` with
/// `low ∈ [0, 2^31)` and `b ∈ {0, 1}`.
pub fn sign_bit(ctx: &mut Context<Fr>, range: &RangeChip<Fr>, x: AssignedValue<Fr>) -> AssignedValue<Fr> {
    let y = (to_i128(x.value()) + OFFSET as i128).clamp(0, (1i128 << 32) - 1);
    let (low, b) = (y & (OFFSET as i128 - 1), y >> 31);
    let start = ctx.advice.len() as isize;
    ctx.assign_region(
        [
            Witness(fr_i128(low)),
            Witness(fr_i128(b)),
            Constant(Fr::from(OFFSET)),
            Witness(fr_i128(y)),
            Constant(-Fr::from(OFFSET)),
            Constant(Fr::ONE),
            Existing(x),
        ],
        [0, 3],
    );
    let low = ctx.get(start);
    let b = ctx.get(start + 1);
    range.range_check(ctx, low, 31);
    range.gate().assert_bit(ctx, b);
    b
}

/// `max(x, 0)` given `b = [x ≥ 0]`.
fn relu_with(ctx: &mut Context<Fr>, range: &RangeChip<Fr>, x: AssignedValue<Fr>, b: AssignedValue<Fr>) -> AssignedValue<Fr> {
    range.gate().mul(ctx, b, x)
}

/// Applies `act` to `x`. ReLU and ReLU6 prove `x ∈ [-2^31, 2^31)` on the way; with no
/// activation `x` is range-checked only if `bound` (a quotient must be, a sum need not).
pub fn activation(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    x: AssignedValue<Fr>,
    act: Activation,
    scale: u64,
    bound: bool,
) -> AssignedValue<Fr> {
    match act {
        Activation::None => {
            if bound {
                signed_range(ctx, range, x);
            }
            x
        }
        Activation::Relu => {
            let b = sign_bit(ctx, range, x);
            relu_with(ctx, range, x, b)
        }
        Activation::Relu6 => {
            let b = sign_bit(ctx, range, x);
            let pos = relu_with(ctx, range, x, b);
            let six = Fr::from(6 * scale);
            // t = pos − 6·sf ∈ [−6·sf, 2^31); c = [pos ≥ 6·sf]; out = pos − c·t
            let t = range.gate().sub(ctx, pos, Constant(six));
            let c = sign_bit(ctx, range, t);
            range.gate().sub_mul(ctx, pos, c, t)
        }
    }
}

/// Rescales a product accumulator by `d` (rounding) and applies `act`: the output of a
/// convolution, dense layer, pooling or multiplication.
pub fn requantize(ctx: &mut Context<Fr>, range: &RangeChip<Fr>, acc: AssignedValue<Fr>, d: u64, act: Activation, scale: u64) -> AssignedValue<Fr> {
    let div = div_round(ctx, range, acc, d);
    activation(ctx, range, div.q, act, scale, true)
}
