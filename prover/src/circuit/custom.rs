//! The custom column: dot products with constant weights and Poseidon rounds
//! (gates defined in [`chunkproof_core::shape`]).
//!
//! Cells live in a halo2-base [`Context`] with its own type id, so values handed out are ordinary
//! [`AssignedValue`]s: halo2-base gates can use them (a copy constraint is recorded) and they can
//! use halo2-base cells (likewise). Alongside each row we keep its fixed value and the gate
//! enabled there; [`CustomRegion::assign_raw`] lays them out in the physical columns and registers
//! the cells with the shared copy manager before it resolves equalities.
//!
//! With several custom columns the virtual rows are cut into one run per column. A gate never
//! crosses a cut: when its rows would not fit in what is left of the column, the run ends and
//! the gate starts the next one on copies of the cells it carries in (a dot product's running
//! sum, a permutation's state). The region also holds the layout of the halo2-base gate
//! columns ([`MainLayout`]), which the fixed-point gadgets consult before placing a gate.

use chunkproof_core::poseidon::{self, is_full_round, ROUNDS, WIDTH};
use chunkproof_core::shape::{CustomConfig, MainGatesConfig, DOT_STRIDE, DOT_TERMS, MAX_ROTATION};
use halo2_axiom::circuit::{Region, Value};
use halo2_axiom::halo2curves::ff::Field;
use halo2_axiom::plonk::{Advice, Any, Column, Error};
use halo2_base::utils::halo2::{raw_assign_advice, raw_assign_fixed};
use halo2_base::virtual_region::copy_constraints::{CopyConstraintManager, SharedCopyConstraintManager};
use halo2_base::{AssignedValue, Context, ContextCell, QuantumCell};

use super::layout::MainLayout;
use crate::circuit::Fr;

/// Type id of the custom column's virtual cells (unique among halo2-base virtual regions).
pub const CUSTOM_TYPE_ID: &str = "chunkproof:custom-column";

/// A fixed-point gate on the halo2-base column (see [`chunkproof_core::shape`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MainGate {
    /// `div`.
    Div,
    /// `sign`.
    Sign,
    /// `clamp`.
    Clamp,
    /// `max` (only in circuits with [`chunkproof_core::shape::ChunkCircuitParams::max_gate`]).
    Max,
    /// The function-table lookup.
    Table,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gate {
    None,
    Dot,
    DotFirst,
    Full,
    Partial,
    Partial2,
}

/// The custom column's contents, built during witness generation, and the positions of the
/// fixed-point gates placed on the halo2-base column.
#[derive(Clone, Debug)]
pub struct CustomRegion {
    ctx: Context<Fr>,
    fixed: Vec<Fr>,
    gates: Vec<Gate>,
    main_gates: Vec<(ContextCell, MainGate)>,
    /// Whether a `max` gate was placed (recorded in every mode: it decides the circuit's shape).
    max_used: bool,
    /// Rows one custom column holds (gate rotations included); unbounded with one column.
    cap: usize,
    /// First virtual row of each custom column in use.
    starts: Vec<usize>,
    /// Layout of the halo2-base gate columns.
    main: MainLayout,
}

/// Rows a gate's rotations span from the row where it is enabled.
fn window(gate: Gate) -> usize {
    match gate {
        Gate::Dot | Gate::DotFirst => DOT_STRIDE + 1,
        Gate::Full | Gate::Partial2 => 3 * WIDTH,
        Gate::Partial => 2 * WIDTH + 1,
        Gate::None => 1,
    }
}

impl CustomRegion {
    /// An empty region sharing `copy_manager` with the halo2-base builder.
    pub fn new(witness_gen_only: bool, copy_manager: SharedCopyConstraintManager<Fr>) -> Self {
        Self {
            ctx: Context::new(witness_gen_only, 0, CUSTOM_TYPE_ID, 0, copy_manager),
            fixed: Vec::new(),
            gates: Vec::new(),
            main_gates: Vec::new(),
            max_used: false,
            cap: usize::MAX,
            starts: vec![0],
            main: MainLayout::unbounded(),
        }
    }

    /// Sets how many custom columns of `usable_rows` the circuit has (one: never cut) and the
    /// layout of its halo2-base gate columns. Call before any cell is placed.
    pub fn set_layout(&mut self, custom_columns: usize, usable_rows: usize, main: MainLayout) {
        self.cap = if custom_columns > 1 { usable_rows.saturating_sub(MAX_ROTATION + 1) } else { usize::MAX };
        self.main = main;
    }

    /// The halo2-base gate columns' layout (see [`MainLayout::make_room`]).
    pub fn main_layout(&mut self) -> &mut MainLayout {
        &mut self.main
    }

    /// First virtual row of the current custom column.
    fn run_start(&self) -> usize {
        *self.starts.last().expect("one run at least")
    }

    /// Whether a gate enabled at virtual row `at` with `rows` rows of rotations fits in the
    /// current custom column.
    fn fits(&self, at: usize, rows: usize) -> bool {
        self.cap == usize::MAX || at.saturating_sub(self.run_start()) + rows <= self.cap
    }

    /// Ends the current custom column's run: the next row starts the next column.
    fn next_column(&mut self) {
        self.starts.push(self.rows());
    }

    /// Custom columns in use.
    pub fn columns_used(&self) -> usize {
        self.starts.len()
    }

    /// Rows the last custom column in use needs (with the last gate's rotations): where the
    /// randomized product check may start in it.
    pub fn last_rows_needed(&self) -> usize {
        self.rows() - self.run_start() + MAX_ROTATION + 1
    }

    /// Records that `gate` is enabled at cell `offset` of the halo2-base context `ctx`
    /// (only needed, and only possible, when constraints are recorded).
    pub fn record_main(&mut self, ctx: &Context<Fr>, offset: usize, gate: MainGate) {
        self.max_used |= gate == MainGate::Max;
        if !ctx.witness_gen_only() {
            let cell = ctx.get(offset as isize).cell.expect("constraint mode has cells");
            self.main_gates.push((cell, gate));
        }
    }

    /// Enables the recorded halo2-base-column gates at the rows their cells were assigned to.
    /// Must run after the halo2-base column is assigned.
    pub fn enable_main_gates(
        &self,
        cfgs: &[MainGatesConfig],
        columns: &[Column<Advice>],
        region: &mut Region<'_, Fr>,
        copy: &CopyConstraintManager<Fr>,
    ) -> Result<(), Error> {
        for (cell, gate) in &self.main_gates {
            let at = copy.assigned_advices.get(cell).ok_or(Error::Synthesis)?;
            let row = at.row_offset;
            let i =
                columns.iter().position(|c| Column::<Any>::from(*c) == at.column).ok_or(Error::Synthesis)?;
            let cfg = cfgs.get(i).ok_or(Error::Synthesis)?;
            match gate {
                MainGate::Div => cfg.q_div.enable(region, row),
                MainGate::Sign => cfg.q_sign.enable(region, row),
                MainGate::Clamp => cfg.q_clamp.enable(region, row),
                MainGate::Max => cfg.q_max.ok_or(Error::Synthesis)?.enable(region, row),
                MainGate::Table => cfg.table.ok_or(Error::Synthesis)?.q_table.enable(region, row),
            }?;
        }
        Ok(())
    }

    /// Whether a `max` gate was placed: the circuit then needs
    /// [`chunkproof_core::shape::ChunkCircuitParams::max_gate`].
    pub fn max_used(&self) -> bool {
        self.max_used
    }

    /// Rows used so far.
    pub fn rows(&self) -> usize {
        self.ctx.advice.len()
    }

    /// Rows the tallest custom column needs, with the last gate's rotations.
    pub fn rows_needed(&self) -> usize {
        let ends = self.starts[1..].iter().copied().chain([self.rows()]);
        self.starts.iter().zip(ends).map(|(s, e)| e - s).max().unwrap_or(0) + MAX_ROTATION + 1
    }

    fn push(&mut self, cell: QuantumCell<Fr>, fixed: Fr, gate: Gate) -> AssignedValue<Fr> {
        self.ctx.assign_cell(cell);
        self.fixed.push(fixed);
        self.gates.push(gate);
        self.ctx.last().expect("just pushed")
    }

    /// `addend + Σ w·x` over `terms`, four products per gate. The first gate (`dot_first`) sits
    /// on the row before the dot product and ignores its value, so no row is spent seeding the
    /// accumulator.
    pub fn dot(&mut self, terms: &[(AssignedValue<Fr>, Fr)], addend: Fr) -> AssignedValue<Fr> {
        let blocks = terms.len().div_ceil(DOT_TERMS).max(1);
        let mut acc = Fr::ZERO;
        for b in 0..blocks {
            let add = if b == 0 { addend } else { Fr::ZERO };
            if self.rows() == self.run_start() || !self.fits(self.rows() - 1, window(Gate::Dot)) {
                // the first gate needs a row before it; a later one its running sum
                let carried = if b == 0 { None } else { self.ctx.last() };
                if self.rows() != self.run_start() {
                    self.next_column();
                }
                match carried {
                    Some(sum) => self.push(QuantumCell::Existing(sum), Fr::ZERO, Gate::None),
                    None => self.push(QuantumCell::Witness(Fr::ZERO), Fr::ZERO, Gate::None),
                };
            }
            let last = self.rows() - 1;
            self.fixed[last] = add;
            self.gates[last] = if b == 0 { Gate::DotFirst } else { Gate::Dot };
            acc += add;
            for t in 0..DOT_TERMS {
                match terms.get(b * DOT_TERMS + t) {
                    Some((x, w)) => {
                        acc += *x.value() * w;
                        self.push(QuantumCell::Existing(*x), *w, Gate::None);
                    }
                    None => {
                        self.push(QuantumCell::Witness(Fr::ZERO), Fr::ZERO, Gate::None);
                    }
                }
            }
            if b + 1 == blocks && crate::fault::hit(crate::fault::Site::Dot) {
                acc += Fr::ONE;
            }
            self.push(QuantumCell::Witness(acc), Fr::ZERO, Gate::None);
        }
        self.ctx.last().expect("just pushed")
    }

    /// The Poseidon permutation of [`poseidon::permute`]: one gate per full round, one per pair
    /// of partial rounds (and one for a last unpaired partial round).
    pub fn permute(&mut self, state: [AssignedValue<Fr>; WIDTH]) -> [AssignedValue<Fr>; WIDTH] {
        let p = poseidon::params();
        // gate covering rounds starting at r, and how many rounds it covers
        let step = |r: usize| -> (Gate, usize) {
            if is_full_round(r) {
                (Gate::Full, 1)
            } else if r + 1 < ROUNDS && !is_full_round(r + 1) {
                (Gate::Partial2, 2)
            } else {
                (Gate::Partial, 1)
            }
        };
        let fault = |s: &mut [Fr; WIDTH]| {
            if crate::fault::hit(crate::fault::Site::Permutation) {
                s[1] += Fr::ONE;
            }
            if crate::fault::hit(crate::fault::Site::PermutationLane0) {
                s[0] += Fr::ONE;
            }
        };
        let mut s: [Fr; WIDTH] = state.map(|c| *c.value());
        let mut out = state;
        let (g0, _) = step(0);
        if !self.fits(self.rows(), window(g0)) {
            self.next_column();
        }
        for (j, cell) in state.iter().enumerate() {
            out[j] = self.push(
                QuantumCell::Existing(*cell),
                p.round_constants[0][j],
                if j == 0 { g0 } else { Gate::None },
            );
        }
        let mut r = 0;
        while r < ROUNDS {
            let (gate, span) = step(r);
            let at = self.rows() - WIDTH;
            if !self.fits(at, window(gate)) {
                // the round starts the next column on copies of the state
                self.gates[at] = Gate::None;
                self.next_column();
                for (j, cell) in out.iter_mut().enumerate() {
                    let g = if j == 0 { gate } else { Gate::None };
                    *cell = self.push(QuantumCell::Existing(*cell), p.round_constants[r][j], g);
                }
            }
            let x: [Fr; WIDTH] = std::array::from_fn(|j| s[j] + p.round_constants[r][j]);
            let mut w: [Fr; WIDTH] = x.map(|v| v.square());
            if crate::fault::hit(crate::fault::Site::PermutationSquare) {
                w[0] += Fr::ONE;
            }
            match gate {
                Gate::Full => {
                    for wj in w {
                        self.push(QuantumCell::Witness(wj), Fr::ZERO, Gate::None);
                    }
                    let y: [Fr; WIDTH] = std::array::from_fn(|j| w[j].square() * x[j]);
                    s = std::array::from_fn(|i| (0..WIDTH).map(|j| p.mds[i][j] * y[j]).sum());
                    fault(&mut s);
                }
                Gate::Partial => {
                    self.push(QuantumCell::Witness(w[0]), Fr::ZERO, Gate::None);
                    let y = [w[0].square() * x[0], x[1], x[2]];
                    s = std::array::from_fn(|i| (0..WIDTH).map(|j| p.mds[i][j] * y[j]).sum());
                    fault(&mut s);
                }
                Gate::Partial2 => {
                    let c2 = p.round_constants[r + 1];
                    let y = [w[0].square() * x[0], x[1], x[2]];
                    let mut s1: [Fr; WIDTH] =
                        std::array::from_fn(|i| (0..WIDTH).map(|j| p.mds[i][j] * y[j]).sum());
                    fault(&mut s1);
                    let x2: [Fr; WIDTH] = std::array::from_fn(|j| s1[j] + c2[j]);
                    let mut v0 = x2[0].square();
                    if crate::fault::hit(crate::fault::Site::PermutationSquare) {
                        v0 += Fr::ONE;
                    }
                    self.push(QuantumCell::Witness(w[0]), c2[0], Gate::None);
                    self.push(QuantumCell::Witness(s1[0]), c2[1], Gate::None);
                    self.push(QuantumCell::Witness(v0), c2[2], Gate::None);
                    let y2 = [v0.square() * x2[0], x2[1], x2[2]];
                    s = std::array::from_fn(|i| (0..WIDTH).map(|j| p.mds[i][j] * y2[j]).sum());
                    fault(&mut s);
                }
                _ => unreachable!("round gates only"),
            }
            r += span;
            let next = (r < ROUNDS).then(|| step(r).0);
            for (i, si) in s.iter().enumerate() {
                let (fixed, g) = match next {
                    Some(g) => (p.round_constants[r][i], if i == 0 { g } else { Gate::None }),
                    None => (Fr::ZERO, Gate::None),
                };
                out[i] = self.push(QuantumCell::Witness(*si), fixed, g);
            }
        }
        out
    }

    /// Overwrites the witness at `row` (negative tests only).
    #[doc(hidden)]
    pub fn prank(&mut self, cell: &AssignedValue<Fr>, value: Fr) {
        let row = cell.cell.expect("prank needs a keygen-mode cell").offset;
        self.ctx.advice[row] = value.into();
    }

    /// Assigns the column, its fixed values and selectors, and registers the cells with the copy
    /// manager. Must run before the copy manager resolves equalities.
    pub fn assign_raw(
        &self,
        cfgs: &[CustomConfig],
        region: &mut Region<'_, Fr>,
        usable_rows: usize,
    ) -> Result<(), Error> {
        if self.rows_needed() > usable_rows || self.columns_used() > cfgs.len() {
            return Err(Error::Synthesis);
        }
        let witness_gen_only = self.ctx.witness_gen_only();
        let mut copy = (!witness_gen_only).then(|| self.ctx.copy_manager.lock().expect("copy manager lock"));
        let mut column = 0;
        for (v, value) in self.ctx.advice.iter().enumerate() {
            while column + 1 < self.starts.len() && self.starts[column + 1] <= v {
                column += 1;
            }
            let (cfg, row) = (&cfgs[column], v - self.starts[column]);
            let cell = raw_assign_advice(region, cfg.advice, row, Value::known(*value)).cell();
            if let Some(copy) = copy.as_mut() {
                copy.assigned_advices.insert(ContextCell::new(CUSTOM_TYPE_ID, 0, v), cell);
                raw_assign_fixed(region, cfg.fixed, row, self.fixed[v]);
                match self.gates[v] {
                    Gate::None => Ok(()),
                    Gate::Dot => cfg.q_dot.enable(region, row),
                    Gate::DotFirst => cfg.q_dot_first.enable(region, row),
                    Gate::Full => cfg.q_full.enable(region, row),
                    Gate::Partial => cfg.q_partial.enable(region, row),
                    Gate::Partial2 => cfg.q_partial2.enable(region, row),
                }?;
            }
        }
        Ok(())
    }
}
