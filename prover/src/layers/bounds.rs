//! Bounds on the values of tensors, known from the model alone (its weights and activations)
//! and the range declared for its input, if any, for every input: what lets the planner pack a
//! boundary's values in fewer bits.
//!
//! A bound only has to be right for the circuit to be *satisfiable*: the circuit range-checks
//! every packed value against its packing whatever the bound said, so a wrong bound makes an
//! honest proof fail (with a typed error before any proving), never a false one pass. Each
//! family states the bounds of its outputs ([`super::bounds_of`]); the rules here
//! follow the interpreter's arithmetic: rounding divisions and the activations are monotone,
//! so the bounds of their inputs map to bounds of their outputs.

use std::collections::BTreeMap;

use crate::fixed::{activate, div_round};
use crate::model::graph::{Graph, TensorId};
use crate::model::kind::Activation;

/// The closed interval `[lo, hi]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    /// Smallest value.
    pub lo: i128,
    /// Largest value.
    pub hi: i128,
}

/// Values beyond this magnitude are not tracked (they do not fit any packing narrower than the
/// wide one, and keeping them small keeps the arithmetic far from overflow).
const LIMIT: i128 = 1 << 62;

impl Interval {
    /// `[lo, hi]`, or `None` when it is empty or beyond the tracked magnitude.
    pub fn new(lo: i128, hi: i128) -> Option<Self> {
        (lo <= hi && lo > -LIMIT && hi < LIMIT).then_some(Self { lo, hi })
    }

    /// The smallest interval holding every value of `data` (`None` for no data).
    pub fn of(data: &[i64]) -> Option<Self> {
        let lo = data.iter().min()?;
        let hi = data.iter().max()?;
        Self::new(*lo as i128, *hi as i128)
    }

    /// Both intervals.
    pub fn union(self, o: Self) -> Self {
        Self { lo: self.lo.min(o.lo), hi: self.hi.max(o.hi) }
    }

    /// The interval also holding 0 (a padding value).
    pub fn with_zero(self) -> Self {
        Self { lo: self.lo.min(0), hi: self.hi.max(0) }
    }

    /// `a + b` for `a ∈ self`, `b ∈ o`.
    pub fn plus(self, o: Self) -> Option<Self> {
        Self::new(self.lo + o.lo, self.hi + o.hi)
    }

    /// `a − b` for `a ∈ self`, `b ∈ o`.
    pub fn minus(self, o: Self) -> Option<Self> {
        Self::new(self.lo - o.hi, self.hi - o.lo)
    }

    /// `a·b` for `a ∈ self`, `b ∈ o`.
    pub fn product(self, o: Self) -> Option<Self> {
        let p = [self.lo * o.lo, self.lo * o.hi, self.hi * o.lo, self.hi * o.hi];
        Self::new(*p.iter().min()?, *p.iter().max()?)
    }

    /// `x²` for `x ∈ self`.
    pub fn square(self) -> Option<Self> {
        let m = self.lo.abs().max(self.hi.abs());
        let lo = if self.lo <= 0 && self.hi >= 0 { 0 } else { self.lo.abs().min(self.hi.abs()) };
        Self::new(lo * lo, m * m)
    }

    /// `n` times: the sum of `n` values of `self`.
    pub fn times(self, n: usize) -> Option<Self> {
        let n = i128::try_from(n).ok()?;
        Self::new(self.lo.checked_mul(n)?, self.hi.checked_mul(n)?)
    }

    /// `Σ_t w_t·x_t + c` for `x_t ∈ self`.
    pub fn affine(self, weights: &[i64], c: i128) -> Option<Self> {
        let (mut lo, mut hi) = (c, c);
        for w in weights {
            let w = *w as i128;
            let (a, b) = (w * self.lo, w * self.hi);
            lo += a.min(b);
            hi += a.max(b);
            if lo <= -LIMIT || hi >= LIMIT {
                return None;
            }
        }
        Self::new(lo, hi)
    }

    /// `rhu(x / d)` for `x ∈ self` (monotone).
    pub fn div_round(self, d: u64) -> Self {
        Self { lo: div_round(self.lo, d).0, hi: div_round(self.hi, d).0 }
    }

    /// `act(x)` for `x ∈ self` (monotone).
    pub fn activate(self, act: Activation, scale: u64) -> Self {
        Self { lo: activate(self.lo, act, scale), hi: activate(self.hi, act, scale) }
    }

    /// `act(rhu(x / sf))`: the output of a product layer.
    pub fn rescale(self, act: Activation, scale: u64) -> Self {
        self.div_round(scale).activate(act, scale)
    }
}

/// What an activation alone bounds its output to, whatever its input: `[0, 6·sf]` for ReLU6.
pub fn activation_only(act: Activation, scale: u64) -> Option<Interval> {
    match act {
        Activation::Relu6 => Interval::new(0, 6 * scale as i128),
        Activation::None | Activation::Relu => None,
    }
}

/// Bounds of every tensor of `graph` that has one: constants by their values, model inputs by
/// their declared range ([`Graph::input_range`]; none when undeclared), every other tensor by
/// its layer's family.
pub fn tensor_bounds(graph: &Graph) -> BTreeMap<TensorId, Interval> {
    let mut out: BTreeMap<TensorId, Interval> = BTreeMap::new();
    if let Some(range) = graph.input_range {
        let (lo, hi) = range.bounds();
        for id in &graph.inputs {
            out.extend(Interval::new(lo as i128, hi as i128).map(|b| (*id, b)));
        }
    }
    for (id, t) in &graph.constants {
        if let Some(b) = Interval::of(&t.data) {
            out.insert(*id, b);
        }
    }
    for layer in &graph.layers {
        let ins: Vec<Option<Interval>> = layer.inputs.iter().map(|id| out.get(id).copied()).collect();
        for (id, b) in layer.outputs.iter().zip(super::bounds_of(graph, layer, &ins)) {
            if let Some(b) = b {
                out.insert(*id, b);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_arithmetic() {
        let a = Interval::new(-3, 5).unwrap();
        let b = Interval::new(2, 4).unwrap();
        assert_eq!(a.product(b), Interval::new(-12, 20));
        assert_eq!(a.minus(b), Interval::new(-7, 3));
        assert_eq!(a.square(), Interval::new(0, 25));
        assert_eq!(b.square(), Interval::new(4, 16));
        assert_eq!(a.affine(&[2, -1], 10), Interval::new(10 - 6 - 5, 10 + 10 + 3));
        assert_eq!(
            Interval::new(-1000, 1000).unwrap().rescale(Activation::Relu, 512),
            Interval::new(0, 2).unwrap()
        );
        assert_eq!(Interval::new(5, 4), None);
        assert_eq!(Interval::new(0, LIMIT), None);
    }
}
