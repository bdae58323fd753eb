//! Where cells land when a circuit has several halo2-base gate columns.
//!
//! halo2-base lays its one virtual column out over the physical columns itself: it moves to the
//! next column when a cell reaches the last usable row, or when one of its own gates would run
//! past it, and copies the cell where it breaks into the next column. The fixed-point gates of
//! [`chunkproof_core::shape`] span several consecutive cells and are not halo2-base gates, so
//! before one is placed [`MainLayout::make_room`] checks that its cells stay in one column and,
//! when they would not, pads with free cells up to the break. halo2-base then puts the gate at
//! the top of the next column.
//!
//! The layout must be the same each time a circuit is built: at keygen (and in the mock prover)
//! it is computed with halo2-base's own rule from the cells and selectors so far; when proving
//! (no selectors recorded) it is read from the break points keygen found. A circuit with one
//! gate column never pads, so its cells are what they were before circuits had several.

use halo2_axiom::halo2curves::ff::Field;
use halo2_base::Context;

use crate::circuit::Fr;

/// Rotations of halo2-base's vertical gate (its break rule keeps them in one column).
const BASE_GATE_ROWS: usize = 4;

/// The layout of the halo2-base gate columns, as far as cells have been placed.
#[derive(Clone, Debug)]
pub struct MainLayout {
    /// Usable rows per column.
    max_rows: usize,
    /// Physical columns; padding only happens while the current column is not the last.
    columns: usize,
    /// Break cells read from keygen's break points (virtual indices, ascending), when proving.
    known: Option<Vec<usize>>,
    /// Simulation of halo2-base's rule: next cell to look at, its row, its column.
    cursor: usize,
    row: usize,
    column: usize,
    /// Break cells found by the simulation.
    breaks: Vec<usize>,
}

impl MainLayout {
    /// One column without a bound: nothing is ever padded (sizing builds, narrow circuits).
    pub fn unbounded() -> Self {
        Self::simulated(usize::MAX, 1)
    }

    /// The layout of `columns` columns of `max_rows` usable rows, found by simulating
    /// halo2-base (the context must record selectors: keygen and mock stages).
    pub fn simulated(max_rows: usize, columns: usize) -> Self {
        Self { max_rows, columns, known: None, cursor: 0, row: 0, column: 0, breaks: Vec::new() }
    }

    /// The layout keygen found: `break_points[j]` is the row of column `j` where column `j + 1`
    /// starts (halo2-base's phase-0 break points).
    pub fn from_break_points(max_rows: usize, columns: usize, break_points: &[usize]) -> Self {
        let mut known = Vec::with_capacity(break_points.len());
        let mut at = 0;
        for bp in break_points {
            at = usize::saturating_add(at, *bp);
            known.push(at);
        }
        Self { known: Some(known), ..Self::simulated(max_rows, columns) }
    }

    /// Runs halo2-base's break rule over the cells added since the last call.
    fn advance(&mut self, ctx: &Context<Fr>) {
        let len = ctx.advice.len();
        while self.cursor < len {
            let q = ctx.selector.get(self.cursor).copied().unwrap_or(false);
            if (q && self.row + BASE_GATE_ROWS > self.max_rows) || self.row + 1 >= self.max_rows {
                self.breaks.push(self.cursor);
                self.column += 1;
                self.row = 0;
            }
            self.row += 1;
            self.cursor += 1;
        }
    }

    /// The first break cell at or after virtual index `from`, if one is known or will come
    /// from cells without halo2-base gates appended from here on.
    fn next_break(&mut self, ctx: &Context<Fr>, from: usize) -> Option<usize> {
        if let Some(known) = &self.known {
            let i = known.partition_point(|b| *b < from);
            return known.get(i).copied();
        }
        self.advance(ctx);
        if let Some(b) = self.breaks.last().filter(|b| **b >= from) {
            return Some(*b);
        }
        // no padding on the last column: a circuit that overflows it does not fit anyway
        (self.column + 1 < self.columns && self.max_rows != usize::MAX)
            .then(|| ctx.advice.len() + (self.max_rows - 1).saturating_sub(self.row))
    }

    /// Makes room for a gate of `cells` consecutive cells that starts on the context's last
    /// cell (`on_last`) or on the next one. Returns whether it may start on the last cell: when
    /// that cell is the last of its column the gate cannot, and the caller copies it into a
    /// fresh cell instead. Pads with free cells when the gate would cross into the next column.
    pub fn make_room(&mut self, ctx: &mut Context<Fr>, cells: usize, on_last: bool) -> bool {
        let len = ctx.advice.len();
        let start = if on_last && len > 0 { len - 1 } else { len };
        let Some(b) = self.next_break(ctx, start) else { return on_last };
        if b + 1 >= start + cells {
            return on_last;
        }
        // a break inside the gate's cells: fill up to and including the break cell (never more
        // than a column: break points that say otherwise do not come from this layout)
        if b.saturating_sub(len) >= self.max_rows {
            return false;
        }
        while ctx.advice.len() <= b {
            ctx.load_witness(Fr::ZERO);
        }
        false
    }

    /// Gate columns used by the cells placed so far (simulated layouts), or `None` when the
    /// layout was read from break points.
    pub fn columns_used(&mut self, ctx: &Context<Fr>) -> Option<usize> {
        if self.known.is_some() {
            return None;
        }
        self.advance(ctx);
        Some(self.column + 1)
    }
}
