//! Fixed-point semantics, shared by the interpreter and the circuit gadgets.
//!
//! Values are integers at scale `sf` in `[-2^31, 2^31)`. After a product of two scaled values the
//! result carries `sf²` and is divided by `sf`:
//!
//! **Rounding.** `div_round(a, d) = ⌊(2a + d) / 2d⌋` for `d > 0`: round to nearest, ties towards
//! +∞. The circuit proves it with the remainder `r = 2a + d − 2d·q`, `0 ≤ r < 2d`, and a range
//! check on `q`.
//!
//! **Layers.**
//! - Conv2D / FullyConnected: `q = div_round(b·sf + Σ x·w, sf)`, then the activation.
//! - AveragePool2D: `div_round(Σ window, fh·fw)`.
//! - Mul: `div_round(x·y, sf)`. Add: `x + y`, then the activation.
//! - ReLU: `max(q, 0)`; ReLU6: `min(max(q, 0), 6·sf)`.

use crate::model::{Activation, NonLinear};

/// `⌊(2a + d) / 2d⌋` and its remainder `2a + d − 2d·q ∈ [0, 2d)`.
pub fn div_round(a: i128, d: u64) -> (i128, i128) {
    debug_assert!(d > 0);
    let d = d as i128;
    let num = 2 * a + d;
    let q = num.div_euclid(2 * d);
    (q, num - 2 * d * q)
}

/// The activation of `q`.
pub fn activate(q: i128, act: Activation, scale: u64) -> i128 {
    match act {
        Activation::None => q,
        Activation::Relu => q.max(0),
        Activation::Relu6 => q.clamp(0, 6 * scale as i128),
    }
}

/// `⌊a / d⌋` for `d > 0`, as the rounding division proves it: `div_round(2a − d, 2d)`.
pub fn floor_div(a: i128, d: u64) -> i128 {
    div_round(2 * a - d as i128, 2 * d).0
}

/// `⌊√v⌋` for `v ≥ 0`.
pub fn isqrt(v: i128) -> i128 {
    debug_assert!(v >= 0);
    let mut y = (v as f64).sqrt() as i128;
    while y * y > v {
        y -= 1;
    }
    while (y + 1) * (y + 1) <= v {
        y += 1;
    }
    y
}

/// `√v` rounded half up, for `v ≥ 0`: `⌊(⌊√(4v)⌋ + 1) / 2⌋` (exact integer arithmetic).
pub fn sqrt_round(v: i128) -> i128 {
    (isqrt(4 * v) + 1) / 2
}

/// `sf / √(x / sf) = √(sf³ / x)` rounded half up, for `x ≥ 1`: `⌊(⌊√(4·sf³ / x)⌋ + 1) / 2⌋`.
pub fn rsqrt_round(x: i128, scale: u64) -> i128 {
    debug_assert!(x >= 1);
    (isqrt(4 * (scale as i128).pow(3) / x) + 1) / 2
}

/// Bits of a non-linear table's input: the table covers `[−2^15, 2^15)`.
pub const TABLE_BITS: u32 = 16;

/// The power of two a non-linear layer divides its input by before the table, so that the table
/// covers real inputs in `[−16, 16)`: `2^max(0, ⌈log2 sf⌉ − 11)`.
pub fn table_shift(scale: u64) -> u64 {
    let bits = 64 - (scale.max(1) - 1).leading_zeros();
    1u64 << bits.saturating_sub(11)
}

/// `e^x` with IEEE-754 basic operations only (range reduction by ln 2, Taylor series), so that
/// every machine computes the same table bit for bit.
pub fn exp_det(x: f64) -> f64 {
    if x < -745.0 {
        return 0.0;
    }
    let n = (x / std::f64::consts::LN_2).round();
    let r = x - n * std::f64::consts::LN_2;
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    for i in 1..30 {
        term = term * r / i as f64;
        sum += term;
    }
    let mut p = sum;
    let (mut e, step) = (n as i64, if n < 0.0 { 0.5 } else { 2.0 });
    while e != 0 {
        p *= step;
        e -= e.signum();
    }
    p
}

/// The table entry of `func` at table input `u`: `round(f(u·shift / sf)·sf)`, ties away from 0.
pub fn table_value(func: NonLinear, u: i64, scale: u64) -> i64 {
    let sf = scale as f64;
    let x = u as f64 * table_shift(scale) as f64 / sf;
    let y = match func {
        NonLinear::Logistic => 1.0 / (1.0 + exp_det(-x)),
        NonLinear::Tanh => {
            let e = exp_det(-2.0 * x.abs());
            ((1.0 - e) / (1.0 + e)).copysign(x)
        }
        NonLinear::Exp => exp_det(x.min(0.0)),
    };
    (y * sf).round() as i64
}

/// The table input for `x`: `clamp(rhu(x / shift), −2^15, 2^15 − 1)`.
pub fn table_input(x: i128, scale: u64) -> i128 {
    let half = 1i128 << (TABLE_BITS - 1);
    let shift = table_shift(scale);
    let u = if shift == 1 { x } else { div_round(x, shift).0 };
    u.clamp(-half, half - 1)
}

/// A non-linear layer's output for `x`.
pub fn nonlinear(func: NonLinear, x: i128, scale: u64) -> i128 {
    table_value(func, table_input(x, scale) as i64, scale) as i128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_nearest_ties_up() {
        assert_eq!(div_round(5, 2).0, 3); // 2.5 -> 3
        assert_eq!(div_round(-5, 2).0, -2); // -2.5 -> -2
        assert_eq!(div_round(7, 3).0, 2); // 2.33 -> 2
        assert_eq!(div_round(8, 3).0, 3); // 2.67 -> 3
        assert_eq!(div_round(-8, 3).0, -3);
        assert_eq!(div_round(512 * 512 * 3, 512).0, 1536);
        for a in -50i128..50 {
            for d in 1u64..7 {
                let (q, r) = div_round(a, d);
                assert!((0..2 * d as i128).contains(&r));
                assert_eq!(2 * a + d as i128, 2 * d as i128 * q + r);
                assert!((a as f64 / d as f64 - q as f64).abs() <= 0.5);
            }
        }
    }

    #[test]
    fn roots_floors_and_tables() {
        for v in 0i128..2000 {
            let y = sqrt_round(v);
            assert!(((v as f64).sqrt() - y as f64).abs() <= 0.5, "{v} -> {y}");
        }
        for x in 1i128..3000 {
            let y = rsqrt_round(x, 64) as f64;
            assert!(
                ((64.0f64).powi(3) / x as f64).sqrt() - y <= 0.5
                    && y - ((64.0f64).powi(3) / x as f64).sqrt() < 0.5
            );
        }
        assert_eq!(floor_div(-7, 2), -4);
        assert_eq!(floor_div(7, 2), 3);
        assert_eq!(floor_div(6, 3), 2);
        for x in [-20.0, -3.3, -0.5, 0.0, 0.7, 5.0, 30.0] {
            assert!((exp_det(x) - f64::exp(x)).abs() <= 1e-12 * f64::exp(x).max(1.0), "{x}");
        }
        assert_eq!(table_shift(512), 1);
        assert_eq!(table_shift(1 << 16), 32);
        assert_eq!(nonlinear(NonLinear::Logistic, 0, 512), 256);
        assert_eq!(nonlinear(NonLinear::Tanh, 1 << 30, 512), 512);
        assert_eq!(nonlinear(NonLinear::Exp, -(1 << 30), 512), 0);
        assert_eq!(nonlinear(NonLinear::Exp, 0, 512), 512);
    }

    #[test]
    fn activations() {
        assert_eq!(activate(-3, Activation::Relu, 512), 0);
        assert_eq!(activate(4000, Activation::Relu6, 512), 3072);
        assert_eq!(activate(-4, Activation::None, 512), -4);
    }
}
