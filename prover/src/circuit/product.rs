//! Products checked with a random challenge (gates in [`chunkproof_core::shape::ProductConfig`]).
//!
//! For `Y = X·W + b` (`X`: `P × K` cells, `W`: constant `K × C`, `b`: constant `C`), the
//! first phase holds copies of the `X` cells and the claimed `Y` as fresh witnesses in the
//! custom advice column, in rows after the custom region's own (called `x` below). After the first phase the verifier's transcript yields `ρ`, and the second phase
//! (`v` column) computes, by Horner chains over the weights in the fixed column,
//! - `−ρ^c` for `c < C`,
//! - `v_k = Σ_c W[k][c]·ρ^c` for every row of `W` that is not all zero, and `β = Σ_c b_c·ρ^c`,
//!
//! and checks for every `p` that `Σ_k X[p][k]·v_k + 1·β − Σ_c Y[p][c]·ρ^c = 0`, four terms per
//! `prod` gate, the running sum ending in a `zero` gate. If some `Y[p] ≠ X[p]·W + b`, the left
//! side is a non-zero polynomial in `ρ` of degree `< C`, so it vanishes with probability at most
//! `(C − 1)/|F|` for a `ρ` drawn after `Y` was committed.
//!
//! Every cell a gate reads is pinned: `X` and `v`/`β`/power uses are copies (permutation
//! argument), padding terms copy a constant-zero cell, the `1` of the bias term copies a
//! constant-one cell, Horner cells and sums are defined by their gates, and every chain and
//! every check starts on a row whose `v` the `zero` gate pins to 0. Cells no gate reads (the
//! `x` cells of Horner, zero and sum rows) are free and unused.
//!
//! The first phase is laid out while the chunk is built (it only needs the witness); the second
//! phase is a small program evaluated when the layouter hands out `ρ`.

use chunkproof_core::shape::{CustomConfig, ProductConfig, PRODUCT_STRIDE, PRODUCT_TERMS};
use halo2_axiom::circuit::{Region, Value};
use halo2_axiom::halo2curves::ff::Field;
use halo2_axiom::plonk::Error;
use halo2_base::utils::halo2::{raw_assign_advice, raw_assign_fixed};
use halo2_base::virtual_region::copy_constraints::SharedCopyConstraintManager;
use halo2_base::{AssignedValue, Context, ContextCell, QuantumCell};

use crate::circuit::Fr;
use crate::fault::{hit, Site};

/// Type id of the `x` column's virtual cells (unique among halo2-base virtual regions).
pub const PRODUCT_TYPE_ID: &str = "chunkproof:product-column";

const HORNER: u8 = 1;
const PROD: u8 = 2;
const ZERO: u8 = 4;

/// How the `v` cell of a row gets its value once `ρ` is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// Zero: read by no gate, or pinned to 0 by the `zero` gate.
    Free,
    /// `ρ·v[row − 1] + f`.
    Horner,
    /// The value of an earlier row (a copy constraint).
    Copy(usize),
    /// The running sum of the `prod` gate five rows up.
    Sum,
}

/// Statistics of the product check, for the planner's cost model and reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProductStats {
    /// Products checked (layers).
    pub products: usize,
    /// Rows of Horner chains.
    pub horner_rows: usize,
    /// Rows of the per-row checks.
    pub check_rows: usize,
}

/// The product check's columns, built during witness generation.
#[derive(Clone, Debug)]
pub struct ProductRegion {
    ctx: Context<Fr>,
    fixed: Vec<Fr>,
    gates: Vec<u8>,
    ops: Vec<Op>,
    constants: Option<(AssignedValue<Fr>, AssignedValue<Fr>)>,
    stats: ProductStats,
}

/// One factor row: `(x cell, k)` pairs, the `k`-th row of `W` multiplying the cell. Missing `k`
/// (convolution padding) are zero terms.
pub type FactorRow = Vec<(AssignedValue<Fr>, usize)>;

impl ProductRegion {
    /// An empty region sharing `copy_manager` with the halo2-base builder.
    pub fn new(witness_gen_only: bool, copy_manager: SharedCopyConstraintManager<Fr>) -> Self {
        Self {
            ctx: Context::new(witness_gen_only, 0, PRODUCT_TYPE_ID, 0, copy_manager),
            fixed: Vec::new(),
            gates: Vec::new(),
            ops: Vec::new(),
            constants: None,
            stats: ProductStats::default(),
        }
    }

    /// Rows used so far.
    pub fn rows(&self) -> usize {
        self.ctx.advice.len()
    }

    /// True when no product was checked (the circuit then has no product columns).
    pub fn is_empty(&self) -> bool {
        self.rows() == 0
    }

    /// Rows the region needs (every gate's rotations stay within its own rows).
    pub fn rows_needed(&self) -> usize {
        self.rows()
    }

    /// What was checked so far.
    pub fn stats(&self) -> ProductStats {
        self.stats
    }

    fn push(&mut self, x: QuantumCell<Fr>, fixed: Fr, op: Op) -> AssignedValue<Fr> {
        self.ctx.assign_cell(x);
        self.fixed.push(fixed);
        self.gates.push(0);
        self.ops.push(op);
        self.ctx.last().expect("just pushed")
    }

    /// Makes sure the last row's `v` is pinned to 0, for a chain or a check to start on.
    fn zero_row(&mut self) {
        if self.gates.last().is_none_or(|g| g & ZERO == 0) {
            self.push(QuantumCell::Witness(Fr::ZERO), Fr::ZERO, Op::Free);
            *self.gates.last_mut().expect("just pushed") |= ZERO;
        }
    }

    /// Horner chain over `coeffs` (highest power first): returns the row holding
    /// `Σ_i coeffs[i]·ρ^(n−1−i)`, or `None` when every coefficient is zero (the value is 0).
    /// Leading zero coefficients cost no row.
    fn horner(&mut self, coeffs: &[Fr]) -> Option<usize> {
        let start = coeffs.iter().position(|c| !bool::from(c.is_zero()))?;
        self.zero_row();
        for f in &coeffs[start..] {
            let gate_row = self.rows() - 1;
            self.gates[gate_row] |= HORNER;
            self.push(QuantumCell::Witness(Fr::ZERO), *f, Op::Horner);
        }
        self.stats.horner_rows += coeffs.len() - start;
        Some(self.rows() - 1)
    }

    /// Claims `Y = X·W + b` and checks it with the challenge; returns the `Y` cells (`P × C`),
    /// first-phase witnesses that later gadgets (rounding) may use.
    ///
    /// `constants` makes the constant-zero and constant-one cells (called once per region).
    pub fn product(
        &mut self,
        constants: impl FnOnce() -> (AssignedValue<Fr>, AssignedValue<Fr>),
        rows: &[FactorRow],
        weights: &[Vec<Fr>],
        bias: &[Fr],
    ) -> Vec<Vec<AssignedValue<Fr>>> {
        let c = bias.len();
        let (zero, one) = *self.constants.get_or_insert_with(constants);
        self.stats.products += 1;
        // −ρ^c for c < C: the chain −1, 0, 0, … passes through every negated power.
        let mut minus_one = vec![Fr::ZERO; c];
        if let Some(first) = minus_one.first_mut() {
            *first = -Fr::ONE;
        }
        let powers_end = self.horner(&minus_one);
        let powers: Vec<usize> = match powers_end {
            Some(end) => (0..c).map(|i| end + 1 + i - c).collect(),
            None => Vec::new(),
        };
        let rev = |row: &[Fr]| row.iter().rev().copied().collect::<Vec<_>>();
        let v_rows: Vec<Option<usize>> = weights.iter().map(|w| self.horner(&rev(w))).collect();
        let beta = self.horner(&rev(bias));

        let rows_before = self.rows();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            // the claimed outputs, computed in the field from the cells' values
            let mut y: Vec<Fr> = bias.to_vec();
            for (x, k) in row {
                for (yc, w) in y.iter_mut().zip(&weights[*k]) {
                    *yc += *x.value() * w;
                }
            }
            if hit(Site::ProductOutput) {
                y[0] += Fr::ONE;
            }
            let mut terms: Vec<(QuantumCell<Fr>, usize)> = Vec::with_capacity(row.len() + 1 + c);
            for (x, k) in row {
                if let Some(v) = v_rows[*k] {
                    terms.push((QuantumCell::Existing(*x), v));
                }
            }
            if let Some(b) = beta {
                terms.push((QuantumCell::Existing(one), b));
            }
            let first_y = terms.len();
            for (yc, p) in y.iter().zip(&powers) {
                terms.push((QuantumCell::Witness(*yc), *p));
            }
            let mut cells = Vec::with_capacity(c);
            self.zero_row();
            let blocks = terms.len().div_ceil(PRODUCT_TERMS).max(1);
            for b in 0..blocks {
                let gate_row = self.rows() - 1;
                self.gates[gate_row] |= PROD;
                for t in 0..PRODUCT_TERMS {
                    let i = b * PRODUCT_TERMS + t;
                    match terms.get(i) {
                        Some((QuantumCell::Existing(x), src)) if hit(Site::ProductOperand) => {
                            // a copy of an operand that is not the operand
                            let forged = self.push(QuantumCell::Witness(*x.value() + Fr::ONE), Fr::ZERO, Op::Copy(*src));
                            self.ctx.constrain_equal(x, &forged);
                        }
                        Some((cell, src)) => {
                            let assigned = self.push(*cell, Fr::ZERO, Op::Copy(*src));
                            if i >= first_y {
                                cells.push(assigned);
                            }
                        }
                        None => {
                            self.push(QuantumCell::Existing(zero), Fr::ZERO, Op::Free);
                        }
                    }
                }
                self.push(QuantumCell::Witness(Fr::ZERO), Fr::ZERO, Op::Sum);
            }
            let last = self.rows() - 1;
            self.gates[last] |= ZERO;
            out.push(cells);
        }
        self.stats.check_rows += self.rows() - rows_before;
        out
    }

    /// The `v` column's values for challenge `rho` (faults applied for negative tests).
    fn second_phase(&self, rho: Fr) -> Vec<Fr> {
        let rho = if hit(Site::ProductChallenge) { rho + Fr::ONE } else { rho };
        let x: Vec<Fr> = self.ctx.advice.iter().map(|a| a.evaluate()).collect();
        let mut v = vec![Fr::ZERO; self.rows()];
        for r in 0..self.rows() {
            v[r] = match self.ops[r] {
                Op::Free => Fr::ZERO,
                Op::Horner => {
                    let h = rho * v[r - 1] + self.fixed[r];
                    if hit(Site::ProductHorner) {
                        h + Fr::ONE
                    } else {
                        h
                    }
                }
                Op::Copy(src) => {
                    if hit(Site::ProductCopy) {
                        v[src] + Fr::ONE
                    } else {
                        v[src]
                    }
                }
                Op::Sum => {
                    let start = r - PRODUCT_STRIDE;
                    let mut s = v[start];
                    for t in 1..=PRODUCT_TERMS {
                        s += x[start + t] * v[start + t];
                    }
                    if hit(Site::ProductSum) {
                        s + Fr::ONE
                    } else {
                        s
                    }
                }
            };
        }
        v
    }

    /// First phase: assigns the region's cells and weights to the custom columns from row
    /// `offset` on (registering the cells with the copy manager) and enables its selectors.
    /// Must run before the copy manager resolves equalities.
    pub fn assign_first_phase(
        &self,
        cfg: &ProductConfig,
        custom: &CustomConfig,
        region: &mut Region<'_, Fr>,
        offset: usize,
        usable_rows: usize,
    ) -> Result<(), Error> {
        if offset + self.rows_needed() > usable_rows {
            return Err(Error::Synthesis);
        }
        let witness_gen_only = self.ctx.witness_gen_only();
        let mut copy = (!witness_gen_only).then(|| self.ctx.copy_manager.lock().expect("copy manager lock"));
        for (row, value) in self.ctx.advice.iter().enumerate() {
            let cell = raw_assign_advice(region, custom.advice, offset + row, Value::known(*value)).cell();
            if let Some(copy) = copy.as_mut() {
                copy.assigned_advices.insert(ContextCell::new(PRODUCT_TYPE_ID, 0, row), cell);
                raw_assign_fixed(region, custom.fixed, offset + row, self.fixed[row]);
                let g = self.gates[row];
                for (bit, sel) in [(HORNER, cfg.q_horner), (PROD, cfg.q_prod), (ZERO, cfg.q_zero)] {
                    if g & bit != 0 {
                        sel.enable(region, offset + row)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Second phase: assigns the `v` column from row `offset` on for `rho` (unknown at keygen)
    /// and, when constraints are recorded, its copy constraints.
    pub fn assign_second_phase(
        &self,
        cfg: &ProductConfig,
        region: &mut Region<'_, Fr>,
        offset: usize,
        rho: Value<Fr>,
    ) -> Result<(), Error> {
        let mut values = None;
        rho.map(|r| values = Some(self.second_phase(r)));
        let cells: Vec<_> = (0..self.rows())
            .map(|row| {
                let value = values.as_ref().map_or(Value::unknown(), |v| Value::known(v[row]));
                raw_assign_advice(region, cfg.v, offset + row, value).cell()
            })
            .collect();
        if !self.ctx.witness_gen_only() {
            for (row, op) in self.ops.iter().enumerate() {
                if let Op::Copy(src) = op {
                    region.constrain_equal(cells[*src], cells[row]);
                }
            }
        }
        Ok(())
    }

    /// Overwrites the first-phase witness of `cell` (negative tests only).
    #[doc(hidden)]
    pub fn prank(&mut self, cell: &AssignedValue<Fr>, value: Fr) {
        let row = cell.cell.expect("prank needs a keygen-mode cell").offset;
        self.ctx.advice[row] = value.into();
    }
}
