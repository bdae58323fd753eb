//! The custom column: dot products with constant weights and Poseidon rounds
//! (gates defined in [`chunkproof_verifier::shape`]).
//!
//! Cells live in a halo2-base [`Context`] with its own type id, so values handed out are ordinary
//! [`AssignedValue`]s: halo2-base gates can use them (a copy constraint is recorded) and they can
//! use halo2-base cells (likewise). Alongside each row we keep its fixed value and the gate
//! enabled there; [`CustomRegion::assign_raw`] lays them out in the physical columns and registers
//! the cells with the shared copy manager before it resolves equalities.

use chunkproof_verifier::poseidon::{self, is_full_round, ROUNDS, WIDTH};
use chunkproof_verifier::shape::{CustomConfig, MainGatesConfig, DOT_TERMS, MAX_ROTATION};
use halo2_axiom::circuit::{Region, Value};
use halo2_axiom::halo2curves::ff::Field;
use halo2_axiom::plonk::Error;
use halo2_base::utils::halo2::{raw_assign_advice, raw_assign_fixed};
use halo2_base::virtual_region::copy_constraints::{CopyConstraintManager, SharedCopyConstraintManager};
use halo2_base::{AssignedValue, Context, ContextCell, QuantumCell};

use crate::circuit::Fr;

/// Type id of the custom column's virtual cells (unique among halo2-base virtual regions).
pub const CUSTOM_TYPE_ID: &str = "chunkproof:custom-column";

/// A fixed-point gate on the halo2-base column (see [`chunkproof_verifier::shape`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MainGate {
    /// `div`.
    Div,
    /// `sign`.
    Sign,
    /// `clamp`.
    Clamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gate {
    None,
    Dot,
    Full,
    Partial,
}

/// The custom column's contents, built during witness generation, and the positions of the
/// fixed-point gates placed on the halo2-base column.
#[derive(Clone, Debug)]
pub struct CustomRegion {
    ctx: Context<Fr>,
    fixed: Vec<Fr>,
    gates: Vec<Gate>,
    main_gates: Vec<(ContextCell, MainGate)>,
}

impl CustomRegion {
    /// An empty region sharing `copy_manager` with the halo2-base builder.
    pub fn new(witness_gen_only: bool, copy_manager: SharedCopyConstraintManager<Fr>) -> Self {
        Self {
            ctx: Context::new(witness_gen_only, 0, CUSTOM_TYPE_ID, 0, copy_manager),
            fixed: Vec::new(),
            gates: Vec::new(),
            main_gates: Vec::new(),
        }
    }

    /// Records that `gate` is enabled at cell `offset` of the halo2-base context `ctx`
    /// (only needed, and only possible, when constraints are recorded).
    pub fn record_main(&mut self, ctx: &Context<Fr>, offset: usize, gate: MainGate) {
        if !ctx.witness_gen_only() {
            let cell = ctx.get(offset as isize).cell.expect("constraint mode has cells");
            self.main_gates.push((cell, gate));
        }
    }

    /// Enables the recorded halo2-base-column gates at the rows their cells were assigned to.
    /// Must run after the halo2-base column is assigned.
    pub fn enable_main_gates(
        &self,
        cfg: &MainGatesConfig,
        region: &mut Region<Fr>,
        copy: &CopyConstraintManager<Fr>,
    ) -> Result<(), Error> {
        for (cell, gate) in &self.main_gates {
            let row = copy.assigned_advices.get(cell).ok_or(Error::Synthesis)?.row_offset;
            match gate {
                MainGate::Div => cfg.q_div.enable(region, row),
                MainGate::Sign => cfg.q_sign.enable(region, row),
                MainGate::Clamp => cfg.q_clamp.enable(region, row),
            }?;
        }
        Ok(())
    }

    /// Rows used so far.
    pub fn rows(&self) -> usize {
        self.ctx.advice.len()
    }

    /// Rows the physical column must have beyond [`Self::rows`] for the last gate's rotations.
    pub fn rows_needed(&self) -> usize {
        self.rows() + MAX_ROTATION + 1
    }

    fn push(&mut self, cell: QuantumCell<Fr>, fixed: Fr, gate: Gate) -> AssignedValue<Fr> {
        self.ctx.assign_cell(cell);
        self.fixed.push(fixed);
        self.gates.push(gate);
        self.ctx.last().expect("just pushed")
    }

    /// `addend + Σ w·x` over `terms`, four products per gate. `zero` must be a cell constrained
    /// to 0 (it seeds the accumulator).
    pub fn dot(
        &mut self,
        zero: AssignedValue<Fr>,
        terms: &[(AssignedValue<Fr>, Fr)],
        addend: Fr,
    ) -> AssignedValue<Fr> {
        let blocks = terms.len().div_ceil(DOT_TERMS).max(1);
        let mut acc = Fr::ZERO;
        let mut acc_cell = QuantumCell::Existing(zero);
        for b in 0..blocks {
            let add = if b == 0 { addend } else { Fr::ZERO };
            self.push(acc_cell, add, Gate::Dot);
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
            acc_cell = QuantumCell::Witness(acc);
        }
        self.push(acc_cell, Fr::ZERO, Gate::None)
    }

    /// The Poseidon permutation of [`poseidon::permute`], one gate per round.
    pub fn permute(&mut self, state: [AssignedValue<Fr>; WIDTH]) -> [AssignedValue<Fr>; WIDTH] {
        let p = poseidon::params();
        let gate_of = |r: usize| if is_full_round(r) { Gate::Full } else { Gate::Partial };
        let mut s: [Fr; WIDTH] = state.map(|c| *c.value());
        let mut out = state;
        for (j, cell) in state.iter().enumerate() {
            let g = if j == 0 { gate_of(0) } else { Gate::None };
            out[j] = self.push(QuantumCell::Existing(*cell), p.round_constants[0][j], g);
        }
        for r in 0..ROUNDS {
            let x: [Fr; WIDTH] = std::array::from_fn(|j| s[j] + p.round_constants[r][j]);
            let w: [Fr; WIDTH] = x.map(|v| v.square());
            let sboxed: [Fr; WIDTH] = if is_full_round(r) {
                std::array::from_fn(|j| w[j].square() * x[j])
            } else {
                std::array::from_fn(|j| if j == 0 { w[0].square() * x[0] } else { x[j] })
            };
            let stored_w = if is_full_round(r) { WIDTH } else { 1 };
            for wj in w.iter().take(stored_w) {
                self.push(QuantumCell::Witness(*wj), Fr::ZERO, Gate::None);
            }
            s = std::array::from_fn(|i| (0..WIDTH).map(|j| p.mds[i][j] * sboxed[j]).sum());
            if crate::fault::hit(crate::fault::Site::Permutation) {
                s[1] += Fr::ONE;
            }
            for (i, si) in s.iter().enumerate() {
                let (fixed, g) = match r + 1 < ROUNDS {
                    true => (p.round_constants[r + 1][i], if i == 0 { gate_of(r + 1) } else { Gate::None }),
                    false => (Fr::ZERO, Gate::None),
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
        cfg: &CustomConfig,
        region: &mut Region<Fr>,
        usable_rows: usize,
    ) -> Result<(), Error> {
        if self.rows_needed() > usable_rows {
            return Err(Error::Synthesis);
        }
        let witness_gen_only = self.ctx.witness_gen_only();
        let mut copy = (!witness_gen_only).then(|| self.ctx.copy_manager.lock().expect("copy manager lock"));
        for (row, value) in self.ctx.advice.iter().enumerate() {
            let cell = raw_assign_advice(region, cfg.advice, row, Value::known(*value)).cell();
            if let Some(copy) = copy.as_mut() {
                copy.assigned_advices.insert(ContextCell::new(CUSTOM_TYPE_ID, 0, row), cell);
                raw_assign_fixed(region, cfg.fixed, row, self.fixed[row]);
                match self.gates[row] {
                    Gate::None => Ok(()),
                    Gate::Dot => cfg.q_dot.enable(region, row),
                    Gate::Full => cfg.q_full.enable(region, row),
                    Gate::Partial => cfg.q_partial.enable(region, row),
                }?;
            }
        }
        Ok(())
    }
}
