//! The constraint system of every chunk circuit.
//!
//! A verifying key can only be read back with the circuit's `configure`, so the shape of the
//! chunk circuits is defined here, in the verifier, and the prover builds its circuits on it.
//!
//! Columns (the same for every chunk; only `k` and the lookup size vary):
//! - halo2-base's vertical gate `q·(a + b·c − d)` on **one** advice column, with its range-check
//!   lookup table enabled on that same column by a selector, one fixed column for constants and
//!   one instance column (the Merkle root first, then public inputs/outputs);
//! - one *custom* advice column and one custom fixed column holding three gates:
//!   - `dot`: `acc' = acc + f₀ + Σ_{t=1..4} f_t·x_t` — four multiply-accumulates per five rows,
//!     weights in the fixed column (used by convolutions, dense layers, pooling and packing);
//!   - `poseidon_full` / `poseidon_partial`: one round of the Poseidon permutation of
//!     [`crate::poseidon`] per six (full) or four (partial) rows, round constants in the fixed
//!     column. With `x_j = s_j + rc_j` and `w_j = x_j²` stored, every constraint has degree ≤ 4.
//!
//! Custom-column layouts, relative to the row where the selector is on:
//!
//! | gate | advice rows | fixed rows |
//! |---|---|---|
//! | dot | 0: acc, 1–4: x, 5: acc' | 0: f₀, 1–4: weights |
//! | full round | 0–2: s, 3–5: w, 6–8: s' | 0–2: rc |
//! | partial round | 0–2: s, 3: w₀, 4–6: s' | 0–2: rc |

use halo2_axiom::circuit::{Layouter, SimpleFloorPlanner};
use halo2_axiom::plonk::{
    Advice, Circuit, Column, ConstraintSystem, Error, Expression, Fixed, Selector,
};
use halo2_axiom::poly::Rotation;
use halo2_base::gates::circuit::{BaseCircuitParams, BaseConfig};
use serde::{Deserialize, Serialize};

use crate::field::Fr;
use crate::poseidon::{self, WIDTH};

/// Multiply-accumulates per `dot` gate.
pub const DOT_TERMS: usize = 4;
/// Rows of one `dot` gate before the next one may start (its `acc'` is the next `acc`).
pub const DOT_STRIDE: usize = DOT_TERMS + 1;
/// Rows of one full Poseidon round (its `s'` is the next round's `s`).
pub const FULL_ROUND_STRIDE: usize = 2 * WIDTH;
/// Rows of one partial Poseidon round.
pub const PARTIAL_ROUND_STRIDE: usize = WIDTH + 1;
/// Largest rotation any custom gate queries.
pub const MAX_ROTATION: usize = 3 * WIDTH - 1;
/// Smallest and largest supported circuit sizes.
pub const K_RANGE: std::ops::RangeInclusive<u32> = 8..=26;

/// What distinguishes one chunk circuit's shape from another's: its size and lookup table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChunkCircuitParams {
    /// The circuit has `2^k` rows.
    pub k: u32,
    /// Range-check lookup table is `[0, 2^lookup_bits)`.
    pub lookup_bits: u32,
}

impl Default for ChunkCircuitParams {
    fn default() -> Self {
        Self { k: 17, lookup_bits: 16 }
    }
}

impl ChunkCircuitParams {
    /// Checks the parameters before they reach halo2 (which asserts on bad ones).
    pub fn validate(&self) -> Result<(), String> {
        if !K_RANGE.contains(&self.k) {
            return Err(format!("k = {} is outside {:?}", self.k, K_RANGE));
        }
        if self.lookup_bits == 0 || self.lookup_bits >= self.k {
            return Err(format!(
                "lookup_bits = {} must be in [1, k - 1 = {}]",
                self.lookup_bits,
                self.k - 1
            ));
        }
        Ok(())
    }

    /// The halo2-base part of the configuration.
    pub fn base(&self) -> BaseCircuitParams {
        BaseCircuitParams {
            k: self.k as usize,
            num_advice_per_phase: vec![1],
            num_fixed: 1,
            num_lookup_advice_per_phase: vec![1],
            lookup_bits: Some(self.lookup_bits as usize),
            num_instance_columns: 1,
        }
    }

    /// Rows usable for witnesses (the rest hold blinding factors).
    pub fn usable_rows(&self) -> usize {
        let mut meta = ConstraintSystem::<Fr>::default();
        let _ = configure(&mut meta, self);
        (1usize << self.k) - meta.minimum_rows()
    }
}

/// The custom column and its gates.
#[derive(Clone, Debug)]
pub struct CustomConfig {
    /// The custom advice column (equality enabled).
    pub advice: Column<Advice>,
    /// Weights and round constants.
    pub fixed: Column<Fixed>,
    /// Enables the `dot` gate.
    pub q_dot: Selector,
    /// Enables a full Poseidon round.
    pub q_full: Selector,
    /// Enables a partial Poseidon round.
    pub q_partial: Selector,
}

/// The whole chunk circuit configuration.
#[derive(Clone, Debug)]
pub struct ChunkConfig {
    /// halo2-base gate, range lookup, constants and instance column.
    pub base: BaseConfig<Fr>,
    /// Dot-product and Poseidon gates.
    pub custom: CustomConfig,
}

/// Builds the constraint system of a chunk circuit.
pub fn configure(meta: &mut ConstraintSystem<Fr>, params: &ChunkCircuitParams) -> ChunkConfig {
    let mut base = BaseConfig::configure(meta, params.base());
    let custom = configure_custom(meta);
    // The custom column's rotations add blinding rows: recompute what halo2-base may use.
    base.set_usable_rows((1usize << params.k) - meta.minimum_rows());
    ChunkConfig { base, custom }
}

fn configure_custom(meta: &mut ConstraintSystem<Fr>) -> CustomConfig {
    let advice = meta.advice_column();
    meta.enable_equality(advice);
    let fixed = meta.fixed_column();
    let q_dot = meta.selector();
    let q_full = meta.selector();
    let q_partial = meta.selector();

    meta.create_gate("dot", |m| {
        let q = m.query_selector(q_dot);
        let a: Vec<_> = (0..=DOT_STRIDE).map(|r| m.query_advice(advice, Rotation(r as i32))).collect();
        let f: Vec<_> = (0..=DOT_TERMS).map(|r| m.query_fixed(fixed, Rotation(r as i32))).collect();
        let mut rhs = a[0].clone() + f[0].clone();
        for t in 1..=DOT_TERMS {
            rhs = rhs + f[t].clone() * a[t].clone();
        }
        vec![q * (a[DOT_STRIDE].clone() - rhs)]
    });

    let mds = poseidon::params().mds;
    meta.create_gate("poseidon_full", |m| {
        let q = m.query_selector(q_full);
        let a: Vec<_> = (0..=MAX_ROTATION).map(|r| m.query_advice(advice, Rotation(r as i32))).collect();
        let x: Vec<Expression<Fr>> =
            (0..WIDTH).map(|j| a[j].clone() + m.query_fixed(fixed, Rotation(j as i32))).collect();
        let w: Vec<Expression<Fr>> = (0..WIDTH).map(|j| a[WIDTH + j].clone()).collect();
        let mut out = Vec::with_capacity(2 * WIDTH);
        for j in 0..WIDTH {
            out.push(q.clone() * (w[j].clone() - x[j].clone() * x[j].clone()));
        }
        for (i, row) in mds.iter().enumerate() {
            let sum = (0..WIDTH)
                .map(|j| Expression::Constant(row[j]) * w[j].clone() * w[j].clone() * x[j].clone())
                .reduce(|acc, e| acc + e)
                .expect("width > 0");
            out.push(q.clone() * (a[2 * WIDTH + i].clone() - sum));
        }
        out
    });

    meta.create_gate("poseidon_partial", |m| {
        let q = m.query_selector(q_partial);
        let a: Vec<_> =
            (0..=2 * WIDTH).map(|r| m.query_advice(advice, Rotation(r as i32))).collect();
        let x: Vec<Expression<Fr>> =
            (0..WIDTH).map(|j| a[j].clone() + m.query_fixed(fixed, Rotation(j as i32))).collect();
        let w0 = a[WIDTH].clone();
        let mut out = vec![q.clone() * (w0.clone() - x[0].clone() * x[0].clone())];
        for (i, row) in mds.iter().enumerate() {
            let mut sum = Expression::Constant(row[0]) * w0.clone() * w0.clone() * x[0].clone();
            for j in 1..WIDTH {
                sum = sum + Expression::Constant(row[j]) * x[j].clone();
            }
            out.push(q.clone() * (a[WIDTH + 1 + i].clone() - sum));
        }
        out
    });

    CustomConfig { advice, fixed, q_dot, q_full, q_partial }
}

/// A witness-less chunk circuit of a given shape: what a verifier needs to read a verifying key.
#[derive(Clone, Debug, Default)]
pub struct ChunkShape(pub ChunkCircuitParams);

impl Circuit<Fr> for ChunkShape {
    type Config = ChunkConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ChunkCircuitParams;

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn params(&self) -> Self::Params {
        self.0
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: Self::Params) -> Self::Config {
        configure(meta, &params)
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> Self::Config {
        configure(meta, &ChunkCircuitParams::default())
    }

    fn synthesize(&self, _: Self::Config, _: impl Layouter<Fr>) -> Result<(), Error> {
        // A shape has no witness: it exists to read verifying keys, never to prove.
        Err(Error::Synthesis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degree_stays_at_halo2_base_level() {
        let mut meta = ConstraintSystem::<Fr>::default();
        let _ = configure(&mut meta, &ChunkCircuitParams::default());
        assert!(meta.degree() <= 5, "degree {}", meta.degree());
        assert_eq!(meta.num_advice_columns(), 2);
        assert_eq!(meta.num_instance_columns(), 1);
    }

    #[test]
    fn params_are_validated() {
        assert!(ChunkCircuitParams { k: 17, lookup_bits: 16 }.validate().is_ok());
        assert!(ChunkCircuitParams { k: 17, lookup_bits: 17 }.validate().is_err());
        assert!(ChunkCircuitParams { k: 40, lookup_bits: 16 }.validate().is_err());
        assert!(ChunkCircuitParams { k: 10, lookup_bits: 9 }.usable_rows() > 1000);
    }
}
