//! Fixed-point gadgets on the halo2-base column: rounding division, range checks, signs,
//! activations. Each reproduces [`crate::fixed`] exactly; the structure of the constraints never
//! depends on witness values.
//!
//! Two implementations share one interface: with a lookup table of at least
//! [`MIN_LIMB_BITS`] bits the `div`, `sign` and `clamp` gates of [`chunkproof_core::shape`] do
//! the work in 5–9 cells (limbs of the table's size); with a smaller table (tiny circuits)
//! halo2-base's generic gates and range checks do it.

use chunkproof_core::shape::{Limbs, DIV_CELLS, LIMB_BITS, MIN_LIMB_BITS};
use halo2_axiom::halo2curves::ff::{Field, PrimeField};
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::{
    AssignedValue, Context, QuantumCell,
    QuantumCell::{Constant, Existing, Witness},
};

use super::custom::{CustomRegion, MainGate};
use crate::circuit::Fr;
use crate::fault::{hit, Site};
use crate::model::Activation;

/// Offset mapping a value in `[-2^31, 2^31)` to `[0, 2^32)`.
const OFFSET: i128 = 1 << 31;

/// The signed integer of a field element that came from fixed-point arithmetic; 0 if it is not
/// one (only possible for a tampered witness, whose constraints then fail).
pub fn to_i128(f: &Fr) -> i128 {
    let small = |x: &Fr| -> Option<i128> {
        let r = x.to_repr();
        r[16..]
            .iter()
            .all(|b| *b == 0)
            .then(|| u128::from_le_bytes(r[..16].try_into().expect("16 bytes")))
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

/// The 16-bit table that function tables need.
pub(crate) fn sixteen_bit(range: &RangeChip<Fr>) -> bool {
    range.lookup_bits() == LIMB_BITS as usize
}

/// The limbs of the fixed-point gates for this table, or `None` below [`MIN_LIMB_BITS`] (the
/// generic path). The chunk circuit marks tables below 16 bits as `narrow_limbs`.
pub(crate) fn limbs(range: &RangeChip<Fr>) -> Option<Limbs> {
    let bits = range.lookup_bits() as u32;
    (MIN_LIMB_BITS..=LIMB_BITS).contains(&bits).then(|| Limbs::new(bits))
}

/// Makes room in the halo2-base gate column for one of our gates of `cells` cells starting on
/// the last cell (`on_last`) or the next one; returns whether it may start on the last cell
/// (see [`super::layout::MainLayout::make_room`]).
pub(crate) fn room(ctx: &mut Context<Fr>, custom: &mut CustomRegion, cells: usize, on_last: bool) -> bool {
    custom.main_layout().make_room(ctx, cells, on_last)
}

fn lookup(ctx: &Context<Fr>, range: &RangeChip<Fr>, offset: usize) {
    range.lookup_manager()[ctx.phase()].add_lookup(ctx.tag(), [ctx.get(offset as isize)]);
}

/// Cells of a rounding division, for tests that tamper with them.
#[derive(Clone, Copy, Debug)]
pub struct Division {
    /// Quotient `q = ⌊(2a + d) / 2d⌋`.
    pub q: AssignedValue<Fr>,
    /// Remainder `r = 2a + d − 2d·q`.
    pub r: AssignedValue<Fr>,
    /// Whether `q` is the last cell of the context (the sign gate can start on it).
    q_is_last: bool,
}

/// Proves `q = div_round(a, d)`: `2a + d = 2d·q + r` with `0 ≤ r < 2d`. The caller must also
/// bound `q` (with [`signed_range`] or an activation) for the quotient to be unique.
pub fn div_round(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    custom: &mut CustomRegion,
    a: AssignedValue<Fr>,
    d: u64,
) -> Division {
    // Solve the gate's own equation `2a + d = 2d·q + r` from the field value of `2a + d`: for
    // an integer `a` this is `fixed::div_round(a, d)`; for a tampered non-integer `a` whose
    // `2a` is an integer (the negative tests' half-integers) it is the witness an attacker
    // would use, so only the constraints that bound `a` upstream can object.
    let num = to_i128(&(Fr::from(2) * a.value() + Fr::from(d)));
    let (mut q, mut r) = (num.div_euclid(2 * d as i128), num.rem_euclid(2 * d as i128));
    if hit(Site::Quotient) {
        q += 1;
        r -= 2 * d as i128;
    }
    let mut r2 = 2 * d as i128 - 1 - r;
    if hit(Site::DivEquation) {
        q += 1;
    }
    if hit(Site::DivBound) {
        q -= 1;
        r += 2 * d as i128;
        r2 = 0;
    }
    if limbs(range).is_some_and(|l| 2 * d <= 1 << l.bits) {
        room(ctx, custom, DIV_CELLS, false);
        let start = ctx.advice.len();
        ctx.assign_region(
            [
                Existing(a),
                Constant(Fr::from(d)),
                Witness(fr_i128(r)),
                Witness(fr_i128(r2)),
                Witness(fr_i128(q)),
            ],
            [],
        );
        custom.record_main(ctx, start, MainGate::Div);
        lookup(ctx, range, start + 2);
        lookup(ctx, range, start + 3);
        return Division { q: ctx.get(start as isize + 4), r: ctx.get(start as isize + 2), q_is_last: true };
    }
    let u = Fr::from(2) * a.value() + Fr::from(d);
    let start = ctx.advice.len();
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
    let (q, r) = (ctx.get(start as isize + 4), ctx.get(start as isize + 6));
    let bound = 2 * d;
    if bound.is_power_of_two() {
        range.range_check(ctx, r, bound.trailing_zeros() as usize);
    } else {
        range.check_less_than_safe(ctx, r, bound);
    }
    Division { q, r, q_is_last: false }
}

/// The sign decomposition `x + 2^31 = low + 2^31·b` (honest, or with `b` flipped by a fault).
fn decompose(x: i128, site: Site) -> (i128, i128) {
    let y = x + OFFSET;
    let mut b = i128::from(y >= OFFSET);
    if hit(site) {
        b ^= 1;
    }
    (y - b * OFFSET, b)
}

/// The limbs of `low` (then `2^(bits − top)·l_top`) and `b` of `x + 2^31 = low + 2^31·b`, with
/// the single-constraint faults of a sign decomposition applied when armed (`limb`, `double`,
/// `boolean` sites).
fn decomposition_cells(low: i128, b: i128, limbs: Limbs, sites: [Site; 3]) -> (Vec<QuantumCell<Fr>>, Fr) {
    let [limb, double, boolean] = sites;
    let mut low = low;
    let mut bf = fr_i128(b);
    if hit(boolean) {
        // b' = b + δ/2^31 and low' = low − δ keep low + 2^31·b; b' is not a bit
        let delta: i128 = if low >= 1 { 1 } else { -1 };
        bf += fr_i128(delta) * Fr::from(OFFSET as u64).invert().expect("2^31 is invertible");
        low -= delta;
    }
    let size = 1i128 << limbs.bits;
    let mut parts = Vec::with_capacity(limbs.cells());
    let mut rest = low;
    for _ in 0..limbs.count - 1 {
        parts.push(rest.rem_euclid(size));
        rest = rest.div_euclid(size);
    }
    parts.push(rest);
    let scale = limbs.top_scale() as i128;
    parts.push(scale * rest);
    let mut c: Vec<Fr> = parts.iter().map(|v| fr_i128(*v)).collect();
    if hit(limb) {
        c[0] += if parts[0] + 1 < size { Fr::ONE } else { -Fr::ONE };
    }
    if hit(double) {
        let last = c.len() - 1;
        c[last] += if parts[last] + scale < size { fr_i128(scale) } else { -fr_i128(scale) };
    }
    (c.into_iter().map(Witness).collect(), bf)
}

/// `sign` gate on `x` (which must be the last cell if `x_is_last`): returns `(b, b·x)`.
fn sign_gate(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    custom: &mut CustomRegion,
    limbs: Limbs,
    x: AssignedValue<Fr>,
    x_is_last: bool,
) -> (AssignedValue<Fr>, AssignedValue<Fr>) {
    if !room(ctx, custom, limbs.sign_cells(), x_is_last) {
        ctx.assign_cell(Existing(x));
    }
    let start = ctx.advice.len() - 1;
    let xv = to_i128(x.value());
    let (low, b) = decompose(xv, Site::Sign);
    let (mut cells, mut bf) =
        decomposition_cells(low, b, limbs, [Site::SignLimb, Site::SignDouble, Site::SignBool]);
    if limbs.bits == LIMB_BITS && (0..1 << 15).contains(&xv) && hit(Site::SignWrap) {
        // y = x + 2^31 = l0 + 2^15·t with t odd, b = 0: satisfies the gate and the l0, t lookups.
        let y = xv + OFFSET;
        let mut t = y >> 15;
        if t % 2 == 0 {
            t -= 1;
        }
        let l0 = y - (t << 15);
        let l1 = fr_i128(t) * Fr::from(2).invert().expect("2 is invertible");
        cells = vec![Witness(fr_i128(l0)), Witness(l1), Witness(fr_i128(t))];
        bf = Fr::ZERO;
    }
    let mut pos = bf * x.value();
    if hit(Site::SignRelu) {
        pos += Fr::ONE;
    }
    let w = cells.len();
    ctx.assign_region(cells.into_iter().chain([Witness(bf), Witness(pos)]), []);
    custom.record_main(ctx, start, MainGate::Sign);
    for o in 1..=w {
        lookup(ctx, range, start + o);
    }
    (ctx.get((start + w + 1) as isize), ctx.get((start + w + 2) as isize))
}

/// `clamp` gate on `pos`, the last cell: `min(pos, cap)`.
pub(super) fn clamp_gate(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    custom: &mut CustomRegion,
    limbs: Limbs,
    pos: AssignedValue<Fr>,
    cap: u64,
) -> AssignedValue<Fr> {
    if !room(ctx, custom, limbs.clamp_cells(), true) {
        ctx.assign_cell(Existing(pos));
    }
    let start = ctx.advice.len() - 1;
    let mut t = to_i128(pos.value()) - cap as i128;
    if hit(Site::ClampDiff) {
        t += 1;
    }
    let (low, c) = decompose(t, Site::Clamp);
    let (cells, cf) =
        decomposition_cells(low, c, limbs, [Site::ClampLimb, Site::ClampDouble, Site::ClampBool]);
    let mut out = *pos.value() - cf * fr_i128(t);
    if hit(Site::ClampOut) {
        out += Fr::ONE;
    }
    let w = cells.len();
    ctx.assign_region(
        [Constant(Fr::from(cap)), Witness(fr_i128(t))]
            .into_iter()
            .chain(cells)
            .chain([Witness(cf), Witness(out)]),
        [],
    );
    custom.record_main(ctx, start, MainGate::Clamp);
    for o in 3..3 + w {
        lookup(ctx, range, start + o);
    }
    ctx.get((start + 3 + w + 1) as isize)
}

/// `max` gate: `m = b + s·(a − b)` with `s = [a ≥ b]` from the decomposition of `a − b`; `b`
/// must be the last cell if `b_is_last` (a running maximum).
fn max_gate(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    custom: &mut CustomRegion,
    limbs: Limbs,
    a: AssignedValue<Fr>,
    b: AssignedValue<Fr>,
    b_is_last: bool,
) -> AssignedValue<Fr> {
    if !room(ctx, custom, limbs.max_cells(), b_is_last) {
        ctx.assign_cell(Existing(b));
    }
    let start = ctx.advice.len() - 1;
    let (low, s) = decompose(to_i128(a.value()) - to_i128(b.value()), Site::Max);
    let (cells, sf) = decomposition_cells(low, s, limbs, [Site::MaxLimb, Site::MaxDouble, Site::MaxBool]);
    let mut m = *b.value() + sf * (*a.value() - *b.value());
    if hit(Site::MaxOut) {
        m += Fr::ONE;
    }
    let w = cells.len();
    ctx.assign_region([Existing(a)].into_iter().chain(cells).chain([Witness(sf), Witness(m)]), []);
    custom.record_main(ctx, start, MainGate::Max);
    for o in 2..2 + w {
        lookup(ctx, range, start + o);
    }
    ctx.get((start + w + 3) as isize)
}

/// `max(a, b)`, proving `a − b ∈ [−2^31, 2^31)`: the `max` gate with the fixed-point gates
/// (`b_is_last`: `b` is the last cell of `ctx`, as a running maximum is), otherwise
/// `b + relu(a − b)` from halo2-base's generic gadgets.
pub fn maximum(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    custom: &mut CustomRegion,
    a: AssignedValue<Fr>,
    b: AssignedValue<Fr>,
    b_is_last: bool,
) -> AssignedValue<Fr> {
    if let Some(limbs) = limbs(range) {
        return max_gate(ctx, range, custom, limbs, a, b, b_is_last);
    }
    let d = range.gate().sub(ctx, a, b);
    // halo2-base's `sub` returns its first cell, not its last
    // (the scale argument only matters for ReLU6)
    let pos = activation(ctx, range, custom, d, Activation::Relu, 1, true, false);
    range.gate().add(ctx, b, pos)
}

/// Proves `x ∈ [-2^31, 2^31)`.
pub fn signed_range(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    custom: &mut CustomRegion,
    x: AssignedValue<Fr>,
) {
    if let Some(limbs) = limbs(range) {
        sign_gate(ctx, range, custom, limbs, x, false);
        return;
    }
    let y = range.gate().add(ctx, x, Constant(Fr::from(OFFSET as u64)));
    range.range_check(ctx, y, 32);
}

/// Generic path: proves `x ∈ [-2^31, 2^31)` and returns `[x ≥ 0]`.
fn sign_bit_generic(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    x: AssignedValue<Fr>,
    site: Site,
) -> AssignedValue<Fr> {
    let (low, b) = decompose(to_i128(x.value()), site);
    let start = ctx.advice.len() as isize;
    ctx.assign_region(
        [
            Witness(fr_i128(low)),
            Witness(fr_i128(b)),
            Constant(Fr::from(OFFSET as u64)),
            Witness(fr_i128(low + b * OFFSET)),
            Constant(-Fr::from(OFFSET as u64)),
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

/// Applies `act` to `x`. ReLU and ReLU6 prove `x ∈ [-2^31, 2^31)` on the way; with no
/// activation `x` is range-checked only if `bound` (a quotient must be, a sum need not).
/// `x_is_last` says `x` is the last cell of `ctx` (saves a copy on the fast path).
#[allow(clippy::too_many_arguments)]
pub fn activation(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    custom: &mut CustomRegion,
    x: AssignedValue<Fr>,
    act: Activation,
    scale: u64,
    bound: bool,
    x_is_last: bool,
) -> AssignedValue<Fr> {
    if let Some(limbs) = limbs(range) {
        return match act {
            Activation::None => {
                if bound {
                    sign_gate(ctx, range, custom, limbs, x, x_is_last);
                }
                x
            }
            Activation::Relu => sign_gate(ctx, range, custom, limbs, x, x_is_last).1,
            Activation::Relu6 => {
                let (_, pos) = sign_gate(ctx, range, custom, limbs, x, x_is_last);
                clamp_gate(ctx, range, custom, limbs, pos, 6 * scale)
            }
        };
    }
    match act {
        Activation::None => {
            if bound {
                signed_range(ctx, range, custom, x);
            }
            x
        }
        Activation::Relu => {
            let b = sign_bit_generic(ctx, range, x, Site::Sign);
            range.gate().mul(ctx, b, x)
        }
        Activation::Relu6 => {
            let b = sign_bit_generic(ctx, range, x, Site::Sign);
            let pos = range.gate().mul(ctx, b, x);
            // t = pos − 6·sf ∈ [−6·sf, 2^31); c = [pos ≥ 6·sf]; out = pos − c·t
            let t = range.gate().sub(ctx, pos, Constant(Fr::from(6 * scale)));
            let c = sign_bit_generic(ctx, range, t, Site::Clamp);
            range.gate().sub_mul(ctx, pos, c, t)
        }
    }
}

/// Rescales a product accumulator by `d` (rounding) and applies `act`: the output of a
/// convolution, dense layer, pooling or multiplication.
pub fn requantize(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    custom: &mut CustomRegion,
    acc: AssignedValue<Fr>,
    d: u64,
    act: Activation,
    scale: u64,
) -> AssignedValue<Fr> {
    let div = div_round(ctx, range, custom, acc, d);
    activation(ctx, range, custom, div.q, act, scale, true, div.q_is_last)
}
