//! The planner's estimate of a piece of circuit, and what each gadget costs (checked against
//! built circuits by `prover/tests/costs.rs`).
//!
//! Cells of the gadgets with a 16-bit lookup table (see `circuit::gadgets` and the `div`, `sign`,
//! `clamp` layouts in `chunkproof_core::shape`). A sign gate on the cell just assigned (a
//! quotient, a sum) reuses it; on any other cell it copies it first.

use chunkproof_core::shape::{DOT_STRIDE, DOT_TERMS, PAIR_STRIDE};

use crate::model::kind::Activation;

/// Estimated size of a piece of circuit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// halo2-base cells.
    pub main: usize,
    /// Custom-column rows.
    pub custom: usize,
    /// Rows of the randomized product check (in the custom columns, after the custom rows).
    pub product: usize,
}

impl Cost {
    /// Rows a chunk of this cost needs.
    pub fn rows(&self) -> usize {
        self.main.max(self.custom + self.product)
    }
}

/// The cheaper way to handle a product: computed (`direct`) or checked with random challenges
/// (`checked`, only when `allowed`), by cells and rows in all. The planner and the circuit both
/// decide through this, so they always agree. Returns the cost and whether it is checked.
pub(crate) fn cheaper(allowed: bool, direct: Cost, checked: Cost) -> (Cost, bool) {
    let total = |c: &Cost| c.main + c.custom + c.product;
    if allowed && total(&checked) < total(&direct) {
        (checked, true)
    } else {
        (direct, false)
    }
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost { main: self.main + o.main, custom: self.custom + o.custom, product: self.product + o.product }
    }
}

pub(crate) const DIV_ROUND: usize = chunkproof_core::shape::DIV_CELLS;
pub(crate) const SIGN_ON_LAST: usize = chunkproof_core::shape::SIGN_CELLS - 1;
pub(crate) const SIGNED_RANGE: usize = chunkproof_core::shape::SIGN_CELLS;
pub(crate) const CLAMP: usize = chunkproof_core::shape::CLAMP_CELLS - 1;
pub(crate) const GATE: usize = 4;
/// `rhu(x / d)` and the range check on the quotient.
pub(crate) const REQUANTIZE: usize = DIV_ROUND + SIGN_ON_LAST;
/// One step of a running maximum: a `max` gate starting on the previous maximum.
pub(crate) const MAX_STEP: usize = chunkproof_core::shape::MAX_CELLS - 1;

/// Cells of the maximum of `n` values: `max` gates, the first on copies of both operands.
pub(crate) fn max_chain(n: usize) -> usize {
    if n < 2 {
        0
    } else {
        MAX_STEP * (n - 1) + 1
    }
}
/// A 31- or 32-bit (two-limb) range check of halo2-base, as measured (`tests/costs.rs`).
pub(crate) const RANGE32: usize = 7;
/// Division by a cell (`circuit::numeric::div_var`): five gates, three range checks, the
/// quotient's sign gate (47 cells measured).
pub(crate) const DIV_VAR: usize = 1 + 5 * GATE + 3 * RANGE32 + SIGNED_RANGE - 1;
/// Rounded square root (`circuit::numeric::root`): gates, two 40-bit and two 64-bit range
/// checks, the halving (85 cells measured).
pub(crate) const ROOT: usize = 85;

/// Custom rows of a dot product of `terms` terms.
pub(crate) fn dot_rows(terms: usize) -> usize {
    DOT_STRIDE * terms.div_ceil(DOT_TERMS).max(1)
}

/// Rows of the randomized product check (`circuit::product`) of `p` factor rows of `k` terms
/// against `c` outputs (`bias`: with a bias term): folds over products and operands, Horner
/// chains over the weights, the pair sum, and a zero row per chain.
pub(crate) fn product_rows(p: usize, k: usize, c: usize, bias: bool) -> usize {
    let b = usize::from(bias);
    let folds = p * (c + k + b);
    let horner = c + k * c + b * c;
    let pairs = PAIR_STRIDE * (c + k + b).div_ceil(2);
    let zero_rows = c + 2 * k + 2 * b + 2;
    folds + horner + pairs + zero_rows
}

/// Cells of an activation after a rounding (`bound`: the quotient is range-checked even without
/// one).
pub(crate) fn activation_cells(act: Activation, bound: bool) -> usize {
    match act {
        Activation::None => {
            if bound {
                SIGN_ON_LAST
            } else {
                0
            }
        }
        Activation::Relu => SIGN_ON_LAST,
        Activation::Relu6 => SIGN_ON_LAST + CLAMP,
    }
}

/// Cells of one function-table lookup (with the shift division when `sf > 2^11`).
pub(crate) fn table_cells(scale: u64) -> usize {
    let shift = if crate::fixed::table_shift(scale) > 1 { DIV_ROUND } else { 0 };
    shift + GATE + SIGN_ON_LAST + CLAMP + 2
}
