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

use crate::model::Activation;

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
    fn activations() {
        assert_eq!(activate(-3, Activation::Relu, 512), 0);
        assert_eq!(activate(4000, Activation::Relu6, 512), 3072);
        assert_eq!(activate(-4, Activation::None, 512), -4);
    }
}
