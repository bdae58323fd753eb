//! Products checked with random challenges (gates in [`chunkproof_core::shape::ProductConfig`]).
//!
//! For `Y = X·W + b` (`X`: `P × K` cells, `W`: constant `K × C`, `b`: constant `C`), the first
//! phase holds the claimed `Y` as fresh witnesses and copies of the `X` cells in the custom
//! advice column, in rows after the custom region's own (called `x` below). After the first
//! phase the transcript yields `ρ` and `σ`, and the second phase (`v` column) computes
//! - by `fold` chains over `x`: `t_c = Σ_p σ^p·Y[p][c]`, `u_k = Σ_p σ^p·X[p][k]` and, with a
//!   bias, `s = Σ_p σ^p`;
//! - by `horner` chains over the weights in the fixed column (constant `W`; the chain's `x`
//!   cells are copies of the constant 0) or over copies of the weight cells (an activation `W`,
//!   with zero fixed values): `−ρ^c`, `v_k = Σ_c W[k][c]·ρ^c` and `β = Σ_c b_c·ρ^c`;
//! - by `pair` gates: `Σ_k v_k·u_k + β·s + Σ_c (−ρ^c)·t_c`, whose last cell is a copy of the
//!   constant 0.
//!
//! That sum is `Σ_p σ^p·Σ_c ρ^c·E[p][c]` with `E = X·W + b − Y`: if `E ≠ 0` it is a non-zero
//! polynomial of degree `< P` in `σ` and `< C` in `ρ`, so it vanishes with probability at most
//! `(P + C − 2)/|F|` for challenges drawn after `Y` was committed (Schwartz–Zippel).
//!
//! Every cell a gate reads is pinned: `X` uses are copies (permutation argument), missing
//! operands (convolution padding) copy a constant-zero cell and the bias fold a constant-one
//! cell, the pair operands are copies of chain results, chain cells and sums are defined by
//! their gates, and every chain and the pair sum start on a row whose `v` is a copy of the
//! constant-zero cell. Cells no gate reads (`x` on Horner, zero and pair rows) are free and unused.
//!
//! The first phase is laid out while the chunk is built (it only needs the witness); the second
//! phase is a small program evaluated when the layouter hands out the challenges.
//!
//! With several product columns the rows are cut into runs, one per column; no gate crosses a
//! cut: a chain or a pair sum that would continue past it goes on in the next run from a copy
//! of its last value (or a fresh zero row where it starts). The last run, usually the shortest,
//! shares its column with the custom region's last rows; the others get columns of their own.

use chunkproof_core::shape::{CustomConfig, ProductConfig, PAIR_STRIDE};
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
const FOLD: u8 = 2;
const PAIR: u8 = 4;
const ZERO: u8 = 8;

/// How the `v` cell of a row gets its value once `ρ` is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// Zero: read by no gate, or pinned to 0 by the `zero` gate.
    Free,
    /// `ρ·v[row − 1] + f + x`.
    Horner,
    /// `σ·v[row − 1] + x`.
    Fold,
    /// The value of an earlier row (a copy constraint).
    Copy(usize),
    /// `v[row − 5] + v[row − 4]·v[row − 3] + v[row − 2]·v[row − 1]`.
    Pair,
}

/// Statistics of the product check, for the planner's cost model and reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProductStats {
    /// Products checked (layers).
    pub products: usize,
    /// Rows of Horner chains over the weights.
    pub horner_rows: usize,
    /// Rows of fold chains over the operands and products.
    pub fold_rows: usize,
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
    /// Rows per run (unbounded with one product column).
    cap: usize,
    /// First virtual row of each run.
    starts: Vec<usize>,
}

/// Where the runs of the product region go: `(product column, first row)` per run.
pub type Placement = Vec<(usize, usize)>;

/// The right factor `W` (`K × C`) of a checked product.
#[derive(Clone, Copy, Debug)]
pub enum Weights<'a> {
    /// Circuit constants (in the fixed column; the verifying key fixes them).
    Constant(&'a [Vec<Fr>]),
    /// Witness cells (an activation times an activation).
    Cells(&'a [Vec<AssignedValue<Fr>>]),
}

impl Weights<'_> {
    fn rows(&self) -> usize {
        match self {
            Weights::Constant(w) => w.len(),
            Weights::Cells(w) => w.len(),
        }
    }

    fn value(&self, k: usize, c: usize) -> Fr {
        match self {
            Weights::Constant(w) => w[k][c],
            Weights::Cells(w) => *w[k][c].value(),
        }
    }
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
            cap: usize::MAX,
            starts: vec![0],
        }
    }

    /// With `columns` product columns of `usable_rows` (one: never cut). Call before any row.
    pub fn set_layout(&mut self, columns: usize, usable_rows: usize) {
        self.cap = if columns > 1 { usable_rows } else { usize::MAX };
    }

    /// Rows of each run.
    pub fn runs(&self) -> Vec<usize> {
        let ends = self.starts[1..].iter().copied().chain([self.rows()]);
        self.starts.iter().zip(ends).map(|(s, e)| e - s).collect()
    }

    /// Makes sure a gate enabled on the last row with `window` rows of rotations stays in the
    /// current run; otherwise starts the next run on a copy of the last row's value (a zero
    /// row stays a zero row).
    fn room(&mut self, window: usize) {
        let last = self.rows() - 1;
        let start = *self.starts.last().expect("one run at least");
        if self.cap == usize::MAX || last - start + window <= self.cap {
            return;
        }
        self.starts.push(self.rows());
        if self.gates[last] & ZERO != 0 {
            self.push(QuantumCell::Witness(Fr::ZERO), Fr::ZERO, Op::Free);
            *self.gates.last_mut().expect("just pushed") |= ZERO;
        } else {
            self.push(QuantumCell::Witness(Fr::ZERO), Fr::ZERO, Op::Copy(last));
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

    /// Makes sure the last row's `v` is pinned to 0 (a copy of the constant 0), for a chain or
    /// the pair sum to start on.
    fn zero_row(&mut self) {
        if self.gates.last().is_none_or(|g| g & ZERO == 0) {
            // a full run: the zero row starts the next one (no gate reads across)
            let start = *self.starts.last().expect("one run at least");
            if self.cap != usize::MAX && self.rows() - start >= self.cap {
                self.starts.push(self.rows());
            }
            self.push(QuantumCell::Witness(Fr::ZERO), Fr::ZERO, Op::Free);
            *self.gates.last_mut().expect("just pushed") |= ZERO;
        }
    }

    /// Horner chain over `coeffs` (highest power first): returns the row holding
    /// `Σ_i coeffs[i]·ρ^(n−1−i)`, or `None` when every coefficient is zero (the value is 0).
    /// Leading zero coefficients cost no row.
    fn horner(&mut self, coeffs: &[Fr]) -> Option<usize> {
        self.horner_steps(coeffs).last().copied()
    }

    /// [`Self::horner`], returning the row of every step (after the leading zeros).
    fn horner_steps(&mut self, coeffs: &[Fr]) -> Vec<usize> {
        let Some(start) = coeffs.iter().position(|c| !bool::from(c.is_zero())) else { return Vec::new() };
        let (zero, _) = self.constants.expect("constants are made before any chain");
        self.zero_row();
        let mut rows = Vec::with_capacity(coeffs.len() - start);
        for f in &coeffs[start..] {
            self.room(2);
            let gate_row = self.rows() - 1;
            self.gates[gate_row] |= HORNER;
            // the gate adds `x`: a copy of the constant 0 here
            self.push(QuantumCell::Existing(zero), *f, Op::Horner);
            rows.push(self.rows() - 1);
        }
        self.stats.horner_rows += coeffs.len() - start;
        rows
    }

    /// Horner chain over cells (highest power first), weights that are witnesses: returns the
    /// row holding `Σ_i cells[i]·ρ^(n−1−i)`.
    fn horner_cells(&mut self, cells: &[AssignedValue<Fr>]) -> usize {
        self.zero_row();
        for cell in cells {
            self.room(2);
            let gate_row = self.rows() - 1;
            self.gates[gate_row] |= HORNER;
            if hit(Site::ProductOperand) {
                let forged = self.push(QuantumCell::Witness(*cell.value() + Fr::ONE), Fr::ZERO, Op::Horner);
                self.ctx.constrain_equal(cell, &forged);
            } else {
                self.push(QuantumCell::Existing(*cell), Fr::ZERO, Op::Horner);
            }
        }
        self.stats.horner_rows += cells.len();
        self.rows() - 1
    }

    /// A `fold` chain over `cells`; returns the row of
    /// `Σ_p σ^p·cells[P − 1 − p]` and the cells placed in `x`.
    fn fold(&mut self, cells: &[QuantumCell<Fr>]) -> (usize, Vec<AssignedValue<Fr>>) {
        self.zero_row();
        let mut placed = Vec::with_capacity(cells.len());
        for cell in cells {
            self.room(2);
            let gate_row = self.rows() - 1;
            self.gates[gate_row] |= FOLD;
            let assigned = match cell {
                QuantumCell::Existing(x) if hit(Site::ProductOperand) => {
                    // a copy of an operand that is not the operand
                    let forged = self.push(QuantumCell::Witness(*x.value() + Fr::ONE), Fr::ZERO, Op::Fold);
                    self.ctx.constrain_equal(x, &forged);
                    forged
                }
                cell => self.push(*cell, Fr::ZERO, Op::Fold),
            };
            placed.push(assigned);
        }
        self.stats.fold_rows += cells.len();
        (self.rows() - 1, placed)
    }

    /// Claims `Y = X·W + b` and checks it with the challenges; returns the `Y` cells (`P × C`),
    /// first-phase witnesses that later gadgets (rounding) may use.
    ///
    /// `constants` makes the constant-zero and constant-one cells (called once per region).
    pub fn product(
        &mut self,
        constants: impl FnOnce() -> (AssignedValue<Fr>, AssignedValue<Fr>),
        rows: &[FactorRow],
        weights: Weights<'_>,
        bias: &[Fr],
    ) -> Vec<Vec<AssignedValue<Fr>>> {
        let (p, c) = (rows.len(), bias.len());
        if p == 0 || c == 0 {
            // nothing to claim (a planner never picks this: it costs rows for no output)
            return vec![Vec::new(); p];
        }
        let (zero, one) = *self.constants.get_or_insert_with(constants);
        self.stats.products += 1;
        // the claimed outputs, computed in the field from the cells' values
        let mut y: Vec<Vec<Fr>> = vec![bias.to_vec(); p];
        for (yp, row) in y.iter_mut().zip(rows) {
            for (x, k) in row {
                for (c, yc) in yp.iter_mut().enumerate() {
                    *yc += *x.value() * weights.value(*k, c);
                }
            }
            if hit(Site::ProductOutput) {
                yp[0] += Fr::ONE;
            }
        }
        // Folds run over p from the last row to the first, so that row p gets σ^p.
        let mut out = vec![Vec::with_capacity(c); p];
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        let mut minus_one = vec![Fr::ZERO; c];
        if let Some(first) = minus_one.first_mut() {
            *first = -Fr::ONE;
        }
        let powers = self.horner_steps(&minus_one);
        for col in 0..c {
            let cells: Vec<_> = y.iter().rev().map(|yp| QuantumCell::Witness(yp[col])).collect();
            let (t, placed) = self.fold(&cells);
            for (i, cell) in placed.into_iter().rev().enumerate() {
                out[i].push(cell);
            }
            pairs.push((powers[col], t));
        }
        let rev = |row: &[Fr]| row.iter().rev().copied().collect::<Vec<_>>();
        let mut operand: Vec<Vec<Option<AssignedValue<Fr>>>> = vec![vec![None; p]; weights.rows()];
        for (i, row) in rows.iter().enumerate() {
            for (x, k) in row {
                operand[*k][i] = Some(*x);
            }
        }
        for k in 0..weights.rows() {
            let v = match weights {
                // a row of zero weights contributes nothing: no chain at all
                Weights::Constant(w) => match self.horner(&rev(&w[k])) {
                    Some(v) => v,
                    None => continue,
                },
                Weights::Cells(w) => {
                    let cells: Vec<_> = w[k].iter().rev().copied().collect();
                    self.horner_cells(&cells)
                }
            };
            let cells: Vec<_> =
                operand[k].iter().rev().map(|x| QuantumCell::Existing(x.unwrap_or(zero))).collect();
            let (u, _) = self.fold(&cells);
            pairs.push((v, u));
        }
        if let Some(beta) = self.horner(&rev(bias)) {
            let (s, _) = self.fold(&vec![QuantumCell::Existing(one); p]);
            pairs.push((beta, s));
        }
        self.zero_row();
        for two in pairs.chunks(2) {
            self.room(PAIR_STRIDE + 1);
            let gate_row = self.rows() - 1;
            self.gates[gate_row] |= PAIR;
            for i in 0..2 {
                match two.get(i) {
                    Some((a, b)) => {
                        self.push(QuantumCell::Witness(Fr::ZERO), Fr::ZERO, Op::Copy(*a));
                        self.push(QuantumCell::Witness(Fr::ZERO), Fr::ZERO, Op::Copy(*b));
                    }
                    None => {
                        // an empty pair: two copies of the constant 0
                        for _ in 0..2 {
                            self.push(QuantumCell::Witness(Fr::ZERO), Fr::ZERO, Op::Free);
                            *self.gates.last_mut().expect("just pushed") |= ZERO;
                        }
                    }
                }
            }
            self.push(QuantumCell::Witness(Fr::ZERO), Fr::ZERO, Op::Pair);
        }
        let last = self.rows() - 1;
        self.gates[last] |= ZERO;
        out
    }

    /// The `v` column's values for the challenges (faults applied for negative tests).
    fn second_phase(&self, rho: Fr, sigma: Fr) -> Vec<Fr> {
        let (rho, sigma) =
            if hit(Site::ProductChallenge) { (rho + Fr::ONE, sigma + Fr::ONE) } else { (rho, sigma) };
        let x: Vec<Fr> = self.ctx.advice.iter().map(|a| a.evaluate()).collect();
        let mut v = vec![Fr::ZERO; self.rows()];
        for r in 0..self.rows() {
            v[r] = match self.ops[r] {
                Op::Free => Fr::ZERO,
                Op::Horner => {
                    let h = rho * v[r - 1] + self.fixed[r] + x[r];
                    if hit(Site::ProductHorner) {
                        h + Fr::ONE
                    } else {
                        h
                    }
                }
                Op::Fold => {
                    let h = sigma * v[r - 1] + x[r];
                    if hit(Site::ProductFold) {
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
                Op::Pair => {
                    let s = v[r - PAIR_STRIDE] + v[r - 4] * v[r - 3] + v[r - 2] * v[r - 1];
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

    /// The product column and physical row of every virtual row, for runs placed at `places`.
    fn physical(&self, places: &[(usize, usize)], usable_rows: usize) -> Result<Vec<(usize, usize)>, Error> {
        let runs = self.runs();
        if places.len() != runs.len() {
            return Err(Error::Synthesis);
        }
        let mut at = Vec::with_capacity(self.rows());
        for (len, (col, offset)) in runs.iter().zip(places) {
            if offset + len > usable_rows {
                return Err(Error::Synthesis);
            }
            at.extend((0..*len).map(|r| (*col, offset + r)));
        }
        Ok(at)
    }

    /// First phase: assigns the region's cells and weights to the product columns' custom
    /// advice and fixed columns, run by run at `places` (registering the cells with the copy
    /// manager), and enables its selectors. Must run before the copy manager resolves
    /// equalities.
    pub fn assign_first_phase(
        &self,
        cfgs: &[ProductConfig],
        customs: &[CustomConfig],
        region: &mut Region<'_, Fr>,
        places: &[(usize, usize)],
        usable_rows: usize,
    ) -> Result<(), Error> {
        let at = self.physical(places, usable_rows)?;
        let witness_gen_only = self.ctx.witness_gen_only();
        let mut copy = (!witness_gen_only).then(|| self.ctx.copy_manager.lock().expect("copy manager lock"));
        for (v, value) in self.ctx.advice.iter().enumerate() {
            let (col, row) = at[v];
            let (cfg, custom) =
                (cfgs.get(col).ok_or(Error::Synthesis)?, customs.get(col).ok_or(Error::Synthesis)?);
            let cell = raw_assign_advice(region, custom.advice, row, Value::known(*value)).cell();
            if let Some(copy) = copy.as_mut() {
                copy.assigned_advices.insert(ContextCell::new(PRODUCT_TYPE_ID, 0, v), cell);
                raw_assign_fixed(region, custom.fixed, row, self.fixed[v]);
                let g = self.gates[v];
                for (bit, sel) in [(HORNER, cfg.q_horner), (FOLD, cfg.q_fold), (PAIR, cfg.q_pair)] {
                    if g & bit != 0 {
                        sel.enable(region, row)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Second phase: assigns the `v` columns, run by run at `places`, for the challenges
    /// (unknown at keygen) and, when constraints are recorded, their copy constraints.
    pub fn assign_second_phase(
        &self,
        cfgs: &[ProductConfig],
        region: &mut Region<'_, Fr>,
        places: &[(usize, usize)],
        usable_rows: usize,
        (rho, sigma): (Value<Fr>, Value<Fr>),
    ) -> Result<(), Error> {
        let at = self.physical(places, usable_rows)?;
        let mut values = None;
        rho.zip(sigma).map(|(r, s)| values = Some(self.second_phase(r, s)));
        let mut cells = Vec::with_capacity(self.rows());
        for (v, (col, row)) in at.iter().enumerate() {
            let value = values.as_ref().map_or(Value::unknown(), |vals| Value::known(vals[v]));
            let cfg = cfgs.get(*col).ok_or(Error::Synthesis)?;
            cells.push(raw_assign_advice(region, cfg.v, *row, value).cell());
        }
        if !self.ctx.witness_gen_only() {
            // the halo2-base cell that holds the constant 0 (a copy of the constants column)
            let zero_cell = self.constants.and_then(|(zero, _)| zero.cell).ok_or(Error::Synthesis)?;
            let zero = *self
                .ctx
                .copy_manager
                .lock()
                .expect("copy manager lock")
                .assigned_advices
                .get(&zero_cell)
                .ok_or(Error::Synthesis)?;
            for (row, op) in self.ops.iter().enumerate() {
                if let Op::Copy(src) = op {
                    region.constrain_equal(cells[*src], cells[row]);
                }
                if self.gates[row] & ZERO != 0 {
                    region.constrain_equal(cells[row], zero);
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
