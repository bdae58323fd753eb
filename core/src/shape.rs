//! The constraint system of every chunk circuit.
//!
//! A verifying key can only be read back with the circuit's `configure`, so the shape of the
//! chunk circuits is defined here, in the verifier, and the prover builds its circuits on it.
//!
//! Columns (the narrow shape, [`Columns::NARROW`]; a wider circuit repeats each kind of column
//! with its gates, see [`Columns`], and only `k`, the lookup size and the widths vary):
//! - halo2-base's vertical gate `q·(a + b·c − d)` on **one** advice column, one lookup column
//!   whose cells are copies range-checked by its table, one fixed column for constants and
//!   one instance column (the Merkle root first, then public inputs/outputs);
//! - one *custom* advice column and one custom fixed column holding five gates:
//!   - `dot`: `acc' = acc + f₀ + Σ_{t=1..4} f_t·x_t` — four multiply-accumulates per five rows,
//!     weights in the fixed column (used by convolutions, dense layers, pooling and packing);
//!     `dot_first` is the same without `acc`, so a dot product starts on whatever row precedes it;
//!   - `poseidon_full` / `poseidon_partial`: one round of the Poseidon permutation of
//!     [`crate::poseidon`] per six (full) or four (partial) rows, and `poseidon_partial2`: two
//!     partial rounds per six rows (the first round's `s'₁`, `s'₂` are linear in stored cells, so
//!     they are inlined into the second round's constraints instead of stored). Round constants
//!     are in the fixed column. With `x_j = s_j + rc_j` and `w_j = x_j²` stored, every
//!     constraint has degree ≤ 4.
//!
//! - gates on the halo2-base column itself, for fixed-point rounding and activations with
//!   16-bit limbs looked up in the range table (used when `lookup_bits = 16`):
//!   - `div`: `2a + d = 2d·q + r` with `r` and `2d − 1 − r` in the table (so `0 ≤ r < 2d`);
//!   - `sign`: `x + 2^31 = l₀ + 2^16·l₁ + 2^31·b` with `l₀`, `l₁`, `2·l₁` in the table and `b`
//!     boolean — so `x ∈ [−2^31, 2^31)` and `b = [x ≥ 0]` — and `pos = b·x` (ReLU);
//!   - `clamp`: `t = pos − C`, `t`'s sign `c` decomposed as above, `out = pos − c·t` (`min(pos, C)`);
//!   - when the circuit takes maxima (`max_gate`): `max`, the sign `s` of `a − b` decomposed as
//!     above (so `a − b ∈ [−2^31, 2^31)` and `s = [a ≥ b]`) and `m = b + s·(a − b)`
//!     (`max(a, b)`; `b` may be the previous `max`'s `m`, so a running maximum takes six cells
//!     a step);
//!   - when the circuit has function tables (`tables ≠ 0`): a lookup of `(u, tag, y)` on three
//!     consecutive cells into three table columns holding `(0, 0, 0)` and then, per table,
//!     `(x, tag, f(x))` for `x ∈ [0, 2^16)` (non-linear layers; see the prover's `fixed` module).
//!
//! - when the circuit checks products with random challenges (`products`): a second-phase
//!   advice column `v`, challenges `ρ` and `σ` drawn after the first phase, and the gates of
//!   [`ProductConfig`] (its first-phase cells use the custom columns). A product `Y = X·W + b`
//!   (`W` constant, `K × C`) is checked as `Σ_p σ^p·Σ_c ρ^c·(X·W + b − Y)[p][c] = 0`, folded
//!   by Horner chains (see the prover's `circuit::product` and `docs/protocol.md`).
//!
//! Main-column layouts of those gates (rotations from the enabled row):
//!
//! | gate | cells |
//! |---|---|
//! | div | a, d, r, 2d−1−r, q |
//! | sign | x, l₀, l₁, 2·l₁, b, pos |
//! | clamp | pos, C, t, l₀, l₁, 2·l₁, c, out |
//! | max | b, a, l₀, l₁, 2·l₁, s, m |
//!
//! Custom-column layouts, relative to the row where the selector is on:
//!
//! | gate | advice rows | fixed rows |
//! |---|---|---|
//! | dot, dot_first | 0: acc (ignored by dot_first), 1–4: x, 5: acc' | 0: f₀, 1–4: weights |
//! | full round | 0–2: s, 3–5: w, 6–8: s' | 0–2: rc |
//! | partial round | 0–2: s, 3: w₀, 4–6: s' | 0–2: rc |
//! | two partial rounds | 0–2: s, 3: w₀, 4: s'₀, 5: w'₀, 6–8: s'' | 0–2: rc, 3–5: rc' |

use halo2_axiom::circuit::{Layouter, SimpleFloorPlanner};
use halo2_axiom::plonk::{
    Advice, Challenge, Circuit, Column, ConstraintSystem, Error, Expression, FirstPhase, Fixed, SecondPhase,
    Selector, TableColumn,
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
/// Rows of a pair of partial Poseidon rounds.
pub const PARTIAL_PAIR_STRIDE: usize = 2 * WIDTH;
/// Largest rotation any custom gate queries.
pub const MAX_ROTATION: usize = 3 * WIDTH - 1;
/// Rows of one `pair` gate (two products) of the randomized product check before the next one
/// may start. Its rotations, `0..=5`, are those of the custom fixed column, so the `v` column
/// adds no new rotation set to the proof's openings.
pub const PAIR_STRIDE: usize = 5;
/// Smallest and largest supported circuit sizes.
pub const K_RANGE: std::ops::RangeInclusive<u32> = 8..=26;

/// What distinguishes one chunk circuit's shape from another's: its size and lookup tables.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChunkCircuitParams {
    /// The circuit has `2^k` rows.
    pub k: u32,
    /// Range-check lookup table is `[0, 2^lookup_bits)`.
    pub lookup_bits: u32,
    /// Non-linear function tables present (bit `t − 1` for tag `t`); 0 for none. Absent from
    /// files (and from `Debug`) when 0, so table-less circuits keep their earlier encoding.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tables: u32,
    /// The randomized product check's columns and challenge are present (a two-phase circuit).
    /// Absent from files (and from `Debug`) when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub products: bool,
    /// The fixed-point gates split values into limbs of `lookup_bits` bits (see [`Limbs`]);
    /// otherwise into 16-bit limbs, usable only with the 16-bit table (keys made before tables
    /// below 16 bits had gates of their own). Absent from files (and from `Debug`) when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub narrow_limbs: bool,
    /// The `max` gate is present on the halo2-base columns (circuits that take maxima: max
    /// pooling, softmax). Absent from files (and from `Debug`) when false, so circuits without
    /// it keep their earlier keys.
    #[serde(default, skip_serializing_if = "is_false")]
    pub max_gate: bool,
    /// How many advice columns of each kind the circuit has. Absent from files (and from
    /// `Debug`) for the narrow shape, one of each.
    #[serde(default, skip_serializing_if = "Columns::is_narrow")]
    pub columns: Columns,
}

/// Advice columns of a chunk circuit, per kind. More columns mean fewer rows (a smaller `k`)
/// for the same cells, and a larger verifying key and Solidity verifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Columns {
    /// halo2-base gate columns (the fixed-point gates and function-table lookups live on each).
    pub main: u32,
    /// halo2-base lookup columns (cells copied there are range-checked by the table).
    pub lookup: u32,
    /// Custom columns (dot products, Poseidon rounds), each with its own fixed column.
    pub custom: u32,
    /// Of the custom columns, the last `product` also hold the randomized product check's
    /// first-phase cells, each with its own second-phase column (when the circuit checks
    /// products; at most `custom`).
    #[serde(default = "one")]
    pub product: u32,
}

fn one() -> u32 {
    1
}

impl Columns {
    /// One column of each kind: the shape whose Solidity verifier stays deployable.
    pub const NARROW: Self = Self { main: 1, lookup: 1, custom: 1, product: 1 };

    /// True for [`Self::NARROW`].
    pub fn is_narrow(&self) -> bool {
        *self == Self::NARROW
    }

    /// The largest count of any kind.
    pub fn widest(&self) -> u32 {
        self.main.max(self.lookup).max(self.custom)
    }
}

impl Default for Columns {
    fn default() -> Self {
        Self::NARROW
    }
}

/// Most advice columns of one kind a chunk circuit may have.
pub const MAX_COLUMNS: u32 = 16;

fn is_zero(v: &u32) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

impl std::fmt::Debug for ChunkCircuitParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("ChunkCircuitParams");
        d.field("k", &self.k).field("lookup_bits", &self.lookup_bits);
        if self.tables != 0 {
            d.field("tables", &self.tables);
        }
        if self.products {
            d.field("products", &self.products);
        }
        if self.narrow_limbs {
            d.field("narrow_limbs", &self.narrow_limbs);
        }
        if self.max_gate {
            d.field("max_gate", &self.max_gate);
        }
        if !self.columns.is_narrow() {
            d.field("columns", &self.columns);
        }
        d.finish()
    }
}

impl Default for ChunkCircuitParams {
    fn default() -> Self {
        Self {
            k: 17,
            lookup_bits: 16,
            tables: 0,
            products: false,
            narrow_limbs: false,
            max_gate: false,
            columns: Columns::NARROW,
        }
    }
}

/// Number of function-table tags (1 Logistic, 2 Tanh, 3 Exp; see the prover's `NonLinear`).
pub const TABLE_TAGS: u32 = 3;

/// Entries of one non-linear function table (inputs `[0, 2^16)`).
pub const TABLE_ENTRIES: usize = 1 << LIMB_BITS;

impl ChunkCircuitParams {
    /// Checks the parameters before they reach halo2 (which asserts on bad ones).
    pub fn validate(&self) -> Result<(), String> {
        if !K_RANGE.contains(&self.k) {
            return Err(format!("k = {} is outside {:?}", self.k, K_RANGE));
        }
        if self.lookup_bits == 0 || self.lookup_bits >= self.k {
            return Err(format!("lookup_bits = {} must be in [1, k - 1 = {}]", self.lookup_bits, self.k - 1));
        }
        if self.tables != 0 && self.lookup_bits != LIMB_BITS {
            return Err(format!("function tables need lookup_bits = {LIMB_BITS}, not {}", self.lookup_bits));
        }
        if self.tables >> TABLE_TAGS != 0 {
            return Err(format!("unknown function tables {:#x}", self.tables));
        }
        if self.narrow_limbs && !(MIN_LIMB_BITS..LIMB_BITS).contains(&self.lookup_bits) {
            return Err(format!(
                "narrow limbs need lookup_bits in [{MIN_LIMB_BITS}, {}], not {}",
                LIMB_BITS - 1,
                self.lookup_bits
            ));
        }
        if self.max_gate && self.lookup_bits < MIN_LIMB_BITS {
            return Err(format!(
                "the max gate needs lookup_bits ≥ {MIN_LIMB_BITS}, not {}",
                self.lookup_bits
            ));
        }
        let c = self.columns;
        for (kind, n) in
            [("gate", c.main), ("lookup", c.lookup), ("custom", c.custom), ("product", c.product)]
        {
            if !(1..=MAX_COLUMNS).contains(&n) {
                return Err(format!("{n} {kind} columns: must be in [1, {MAX_COLUMNS}]"));
            }
        }
        if c.product > c.custom {
            return Err(format!("{} product columns but {} custom columns", c.product, c.custom));
        }
        Ok(())
    }

    /// How the fixed-point gates split a value into limbs.
    pub fn limbs(&self) -> Limbs {
        Limbs::new(if self.narrow_limbs { self.lookup_bits } else { LIMB_BITS })
    }

    /// Rows of the function tables: one zero row, then [`TABLE_ENTRIES`] per table.
    pub fn table_rows(&self) -> usize {
        if self.tables == 0 {
            0
        } else {
            1 + self.tables.count_ones() as usize * TABLE_ENTRIES
        }
    }

    /// The halo2-base part of the configuration.
    pub fn base(&self) -> BaseCircuitParams {
        BaseCircuitParams {
            k: self.k as usize,
            num_advice_per_phase: vec![self.columns.main as usize],
            num_fixed: 1,
            num_lookup_advice_per_phase: vec![self.columns.lookup as usize],
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
    /// Enables the first block of a dot product (no incoming accumulator).
    pub q_dot_first: Selector,
    /// Enables two partial Poseidon rounds.
    pub q_partial2: Selector,
}

/// Fixed-point gates on the halo2-base column.
#[derive(Clone, Debug)]
pub struct MainGatesConfig {
    /// Enables `div`.
    pub q_div: Selector,
    /// Enables `sign`.
    pub q_sign: Selector,
    /// Enables `clamp`.
    pub q_clamp: Selector,
    /// Enables `max`, when the circuit has it ([`ChunkCircuitParams::max_gate`]).
    pub q_max: Option<Selector>,
    /// The function-table lookup, when the circuit has tables.
    pub table: Option<TableConfig>,
}

/// Function tables: `(u, tag, y)` on three consecutive main-column cells must be a table row
/// `(x, tag, f_tag(x))`.
#[derive(Clone, Copy, Debug)]
pub struct TableConfig {
    /// Enables the lookup (a complex selector).
    pub q_table: Selector,
    /// Table input column.
    pub x: TableColumn,
    /// Table tag column.
    pub tag: TableColumn,
    /// Table output column.
    pub y: TableColumn,
}

/// Number of cells of the `div` layout.
pub const DIV_CELLS: usize = 5;
/// Number of cells of the `sign` layout with 16-bit limbs.
pub const SIGN_CELLS: usize = 6;
/// Number of cells of the `clamp` layout with 16-bit limbs.
pub const CLAMP_CELLS: usize = 8;
/// Number of cells of the `max` layout with 16-bit limbs.
pub const MAX_CELLS: usize = 7;
/// Limb size of the main-column gates with the 16-bit table (and of every key made before
/// narrower limbs existed).
pub const LIMB_BITS: u32 = 16;
/// Smallest table the fixed-point gates use; below it halo2-base's generic gadgets do the work.
pub const MIN_LIMB_BITS: u32 = 10;

/// How the `sign` and `clamp` gates split `y = x + 2^31 ∈ [0, 2^31)` into limbs of `bits` bits,
/// each looked up in the `[0, 2^bits)` table: `count` limbs, the top one of `top_bits` bits,
/// bounded by looking up `2^(bits − top_bits)·l_top` as well.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limbs {
    /// Bits per limb (the table size).
    pub bits: u32,
    /// Number of limbs.
    pub count: usize,
    /// Bits of the top limb (`1 ≤ top_bits < bits`).
    pub top_bits: u32,
}

impl Limbs {
    /// Limbs of `bits` bits (`bits` in `[MIN_LIMB_BITS, 16]`).
    pub fn new(bits: u32) -> Self {
        let count = 31u32.div_ceil(bits);
        Self { bits, count: count as usize, top_bits: 31 - (count - 1) * bits }
    }

    /// Cells of the decomposition: the limbs and the scaled top limb.
    pub fn cells(&self) -> usize {
        self.count + 1
    }

    /// Factor of the scaled top limb, `2^(bits − top_bits)`.
    pub fn top_scale(&self) -> u64 {
        1 << (self.bits - self.top_bits)
    }

    /// Cells of the `sign` layout: `x`, the decomposition, `b`, `b·x`.
    pub fn sign_cells(&self) -> usize {
        1 + self.cells() + 2
    }

    /// Cells of the `clamp` layout: `pos`, `C`, `t`, the decomposition, `c`, `out`.
    pub fn clamp_cells(&self) -> usize {
        3 + self.cells() + 2
    }

    /// Cells of the `max` layout: `b`, `a`, the decomposition, `s`, `m`.
    pub fn max_cells(&self) -> usize {
        2 + self.cells() + 2
    }
}

/// The randomized product check (one per product column). Its first-phase cells (operands and
/// claimed products) and Horner weights live in a custom advice and fixed column, in rows after
/// that column's own (so the custom column's queries serve both); its second-phase values (which
/// depend on the challenges `ρ` and `σ`) in one more advice column `v`. Gates (rotations from
/// the enabled row; `x`, `f`: the custom columns):
///
/// | gate | constraint |
/// |---|---|
/// | `horner` | `v[1] = ρ·v[0] + f[1] + x[1]` |
/// | `fold` | `v[1] = σ·v[0] + x[1]` |
/// | `pair` | `v[5] = v[0] + v[1]·v[2] + v[3]·v[4]` |
///
/// `v` cells that must be 0 (where chains start, and the final sum) are copies of a cell that
/// holds the constant 0.
#[derive(Clone, Copy, Debug)]
pub struct ProductConfig {
    /// Second-phase values (equality enabled).
    pub v: Column<Advice>,
    /// The challenge `ρ` (over a product's outputs), drawn after the first phase.
    pub rho: Challenge,
    /// The challenge `σ` (over a product's rows), drawn after the first phase.
    pub sigma: Challenge,
    /// Enables `horner`.
    pub q_horner: Selector,
    /// Enables `fold`.
    pub q_fold: Selector,
    /// Enables `pair`.
    pub q_pair: Selector,
}

/// The whole chunk circuit configuration.
#[derive(Clone, Debug)]
pub struct ChunkConfig {
    /// halo2-base gate, range lookup, constants and instance column.
    pub base: BaseConfig<Fr>,
    /// Dot-product and Poseidon gates, one set per custom column.
    pub custom: Vec<CustomConfig>,
    /// Rounding and activation gates, one set per halo2-base gate column (in its order).
    pub main: Vec<MainGatesConfig>,
    /// The randomized product check, one per product column (none when the circuit has no
    /// checked product); all share the challenges.
    pub products: Vec<ProductConfig>,
}

/// Builds the constraint system of a chunk circuit.
pub fn configure(meta: &mut ConstraintSystem<Fr>, params: &ChunkCircuitParams) -> ChunkConfig {
    let mut base = BaseConfig::configure(meta, params.base());
    let custom: Vec<CustomConfig> = (0..params.columns.custom).map(|_| configure_custom(meta)).collect();
    let main_cols: Vec<Column<Advice>> = base.gate().basic_gates[0].iter().map(|g| g.value).collect();
    // one set of function tables, looked up from every gate column
    let tables = (params.tables != 0)
        .then(|| [meta.lookup_table_column(), meta.lookup_table_column(), meta.lookup_table_column()]);
    let main: Vec<MainGatesConfig> = main_cols
        .iter()
        .map(|col| configure_main(meta, *col, tables, params.limbs(), params.max_gate))
        .collect();
    let mut products = Vec::new();
    if params.products {
        let rho = meta.challenge_usable_after(FirstPhase);
        let sigma = meta.challenge_usable_after(FirstPhase);
        let first = custom.len().saturating_sub(params.columns.product as usize);
        for col in &custom[first..] {
            products.push(configure_products(meta, col, main_cols[0], (rho, sigma)));
        }
    }
    // The extra rotations add blinding rows: recompute what halo2-base may use.
    base.set_usable_rows((1usize << params.k) - meta.minimum_rows());
    ChunkConfig { base, custom, main, products }
}

fn configure_products(
    meta: &mut ConstraintSystem<Fr>,
    custom: &CustomConfig,
    main: Column<Advice>,
    (rho, sigma): (Challenge, Challenge),
) -> ProductConfig {
    let v = meta.advice_column_in(SecondPhase);
    meta.enable_equality(v);
    let (x, fixed) = (custom.advice, custom.fixed);
    let cfg = ProductConfig {
        v,
        rho,
        sigma,
        q_horner: meta.selector(),
        q_fold: meta.selector(),
        q_pair: meta.selector(),
    };
    meta.create_gate("horner and fold", |m| {
        let (qh, qf) = (m.query_selector(cfg.q_horner), m.query_selector(cfg.q_fold));
        let (rho, sigma) = (m.query_challenge(cfg.rho), m.query_challenge(cfg.sigma));
        let (v0, v1) = (m.query_advice(v, Rotation::cur()), m.query_advice(v, Rotation::next()));
        let f1 = m.query_fixed(fixed, Rotation::next());
        let x1 = m.query_advice(x, Rotation::next());
        vec![qh * (v1.clone() - rho * v0.clone() - f1 - x1.clone()), qf * (v1 - sigma * v0 - x1)]
    });
    meta.create_gate("pair", |m| {
        let q = m.query_selector(cfg.q_pair);
        let vs: Vec<_> = (0..PAIR_STRIDE + 1).map(|r| m.query_advice(v, Rotation(r as i32))).collect();
        let sum = vs[0].clone() + vs[1].clone() * vs[2].clone() + vs[3].clone() * vs[4].clone();
        // A query of the halo2-base column at the custom column's largest rotation, with
        // coefficient 0: both columns then have the same rotation set, which the multi-open
        // argument (and the Solidity verifier) handles as one group — 1.3 kB less code.
        let align = Expression::Constant(Fr::zero()) * m.query_advice(main, Rotation(MAX_ROTATION as i32));
        vec![q * (vs[PAIR_STRIDE].clone() - sum + align)]
    });
    cfg
}

fn configure_main(
    meta: &mut ConstraintSystem<Fr>,
    col: Column<Advice>,
    tables: Option<[TableColumn; 3]>,
    limbs: Limbs,
    max_gate: bool,
) -> MainGatesConfig {
    let q_div = meta.selector();
    let q_sign = meta.selector();
    let q_clamp = meta.selector();
    let c = |v: u64| Expression::Constant(Fr::from(v));
    let two31 = 1u64 << 31;
    let n = limbs.count;
    // x + 2^31 − Σ 2^(bits·j)·l_j − 2^31·b, s − 2^(bits − top)·l_top, b·(b − 1); `d` holds the
    // limbs then the scaled top limb `s`
    let decomposition = |x: Expression<Fr>, d: &[Expression<Fr>], b: Expression<Fr>| {
        let mut eq = x + c(two31) - d[0].clone();
        for (j, l) in d.iter().enumerate().take(n).skip(1) {
            eq = eq - c(1u64 << (limbs.bits as usize * j)) * l.clone();
        }
        vec![
            eq - c(two31) * b.clone(),
            d[n].clone() - c(limbs.top_scale()) * d[n - 1].clone(),
            b.clone() * (b - c(1)),
        ]
    };
    meta.create_gate("div", |m| {
        let q = m.query_selector(q_div);
        let a: Vec<_> = (0..DIV_CELLS).map(|r| m.query_advice(col, Rotation(r as i32))).collect();
        let (x, d, r, r2, quot) = (a[0].clone(), a[1].clone(), a[2].clone(), a[3].clone(), a[4].clone());
        vec![
            q.clone() * (c(2) * x + d.clone() - c(2) * d.clone() * quot - r.clone()),
            q * (r2 - (c(2) * d - c(1) - r)),
        ]
    });
    let w = limbs.cells();
    meta.create_gate("sign", |m| {
        let q = m.query_selector(q_sign);
        let a: Vec<_> = (0..limbs.sign_cells()).map(|r| m.query_advice(col, Rotation(r as i32))).collect();
        let (b, pos) = (a[1 + w].clone(), a[2 + w].clone());
        let mut out = decomposition(a[0].clone(), &a[1..=w], b.clone());
        out.push(pos - b * a[0].clone());
        out.into_iter().map(|e| q.clone() * e).collect::<Vec<_>>()
    });
    meta.create_gate("clamp", |m| {
        let q = m.query_selector(q_clamp);
        let a: Vec<_> = (0..limbs.clamp_cells()).map(|r| m.query_advice(col, Rotation(r as i32))).collect();
        let (pos, cap, t, sign, out) =
            (a[0].clone(), a[1].clone(), a[2].clone(), a[3 + w].clone(), a[4 + w].clone());
        let mut cons = vec![t.clone() - (pos.clone() - cap)];
        cons.extend(decomposition(t.clone(), &a[3..3 + w], sign.clone()));
        cons.push(out - (pos - sign * t));
        cons.into_iter().map(|e| q.clone() * e).collect::<Vec<_>>()
    });
    let q_max = max_gate.then(|| {
        let q_max = meta.selector();
        meta.create_gate("max", |m| {
            let q = m.query_selector(q_max);
            let a: Vec<_> = (0..limbs.max_cells()).map(|r| m.query_advice(col, Rotation(r as i32))).collect();
            let (b, x, s, out) = (a[0].clone(), a[1].clone(), a[2 + w].clone(), a[3 + w].clone());
            let diff = x - b.clone();
            let mut cons = decomposition(diff.clone(), &a[2..2 + w], s.clone());
            cons.push(out - (b + s * diff));
            cons.into_iter().map(|e| q.clone() * e).collect::<Vec<_>>()
        });
        q_max
    });
    let table = tables.map(|[x, tag, y]| {
        let cfg = TableConfig { q_table: meta.complex_selector(), x, tag, y };
        meta.lookup("function table", |m| {
            let q = m.query_selector(cfg.q_table);
            let (u, tag, y) = (
                m.query_advice(col, Rotation(0)),
                m.query_advice(col, Rotation(1)),
                m.query_advice(col, Rotation(2)),
            );
            vec![(q.clone() * u, cfg.x), (q.clone() * tag, cfg.tag), (q * y, cfg.y)]
        });
        cfg
    });
    MainGatesConfig { q_div, q_sign, q_clamp, q_max, table }
}

fn configure_custom(meta: &mut ConstraintSystem<Fr>) -> CustomConfig {
    let advice = meta.advice_column();
    meta.enable_equality(advice);
    let fixed = meta.fixed_column();
    let q_dot = meta.selector();
    let q_full = meta.selector();
    let q_partial = meta.selector();
    let q_dot_first = meta.selector();
    let q_partial2 = meta.selector();

    meta.create_gate("dot_first", |m| {
        let q = m.query_selector(q_dot_first);
        let a: Vec<_> = (1..=DOT_STRIDE).map(|r| m.query_advice(advice, Rotation(r as i32))).collect();
        let f: Vec<_> = (0..=DOT_TERMS).map(|r| m.query_fixed(fixed, Rotation(r as i32))).collect();
        let mut rhs = f[0].clone();
        for t in 1..=DOT_TERMS {
            rhs = rhs + f[t].clone() * a[t - 1].clone();
        }
        vec![q * (a[DOT_STRIDE - 1].clone() - rhs)]
    });

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
        let a: Vec<_> = (0..=2 * WIDTH).map(|r| m.query_advice(advice, Rotation(r as i32))).collect();
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

    meta.create_gate("poseidon_partial2", |m| {
        let q = m.query_selector(q_partial2);
        let a: Vec<_> = (0..=MAX_ROTATION).map(|r| m.query_advice(advice, Rotation(r as i32))).collect();
        let c: Vec<_> = (0..2 * WIDTH).map(|r| m.query_fixed(fixed, Rotation(r as i32))).collect();
        let k = |v: Fr| Expression::Constant(v);
        // first round: x = s + c, y₀ = w₀²·x₀, s' = M·(y₀, x₁, x₂); only s'₀ is stored (a[4])
        let x: Vec<Expression<Fr>> = (0..WIDTH).map(|j| a[j].clone() + c[j].clone()).collect();
        let (w0, t0, v0) = (a[WIDTH].clone(), a[WIDTH + 1].clone(), a[WIDTH + 2].clone());
        let y0 = w0.clone() * w0.clone() * x[0].clone();
        let s1: Vec<Expression<Fr>> = (0..WIDTH)
            .map(|i| k(mds[i][0]) * y0.clone() + k(mds[i][1]) * x[1].clone() + k(mds[i][2]) * x[2].clone())
            .collect();
        // second round: x' = s' + c' with x'₀ = t₀ + c'₀ stored through t₀, y'₀ = v₀²·x'₀
        let xp0 = t0.clone() + c[WIDTH].clone();
        let xp1 = s1[1].clone() + c[WIDTH + 1].clone();
        let xp2 = s1[2].clone() + c[WIDTH + 2].clone();
        let yp0 = v0.clone() * v0.clone() * xp0.clone();
        let mut out = vec![
            q.clone() * (w0.clone() - x[0].clone() * x[0].clone()),
            q.clone() * (t0 - s1[0].clone()),
            q.clone() * (v0 - xp0.clone() * xp0),
        ];
        for (i, row) in mds.iter().enumerate() {
            let sum = k(row[0]) * yp0.clone() + k(row[1]) * xp1.clone() + k(row[2]) * xp2.clone();
            out.push(q.clone() * (a[2 * WIDTH + i].clone() - sum));
        }
        out
    });

    CustomConfig { advice, fixed, q_dot, q_full, q_partial, q_dot_first, q_partial2 }
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
        assert_eq!(meta.num_selectors(), 1 + 1 + 5 + 3);
        assert_eq!(meta.num_advice_columns(), 2);
        assert_eq!(meta.num_instance_columns(), 1);
    }

    #[test]
    fn params_are_validated() {
        assert!(ChunkCircuitParams {
            k: 17,
            lookup_bits: 16,
            tables: 0,
            products: false,
            narrow_limbs: false,
            max_gate: false,
            columns: Columns::NARROW
        }
        .validate()
        .is_ok());
        assert!(ChunkCircuitParams {
            k: 17,
            lookup_bits: 15,
            tables: 1,
            products: false,
            narrow_limbs: false,
            max_gate: false,
            columns: Columns::NARROW
        }
        .validate()
        .is_err());
        assert!(ChunkCircuitParams {
            k: 18,
            lookup_bits: 16,
            tables: 7,
            products: false,
            narrow_limbs: false,
            max_gate: false,
            columns: Columns::NARROW
        }
        .validate()
        .is_ok());
        assert!(ChunkCircuitParams {
            k: 18,
            lookup_bits: 16,
            tables: 8,
            products: false,
            narrow_limbs: false,
            max_gate: false,
            columns: Columns::NARROW
        }
        .validate()
        .is_err());
        assert!(ChunkCircuitParams {
            k: 17,
            lookup_bits: 17,
            tables: 0,
            products: false,
            narrow_limbs: false,
            max_gate: false,
            columns: Columns::NARROW
        }
        .validate()
        .is_err());
        assert!(ChunkCircuitParams {
            k: 40,
            lookup_bits: 16,
            tables: 0,
            products: false,
            narrow_limbs: false,
            max_gate: false,
            columns: Columns::NARROW
        }
        .validate()
        .is_err());
        assert!(
            ChunkCircuitParams {
                k: 10,
                lookup_bits: 9,
                tables: 0,
                products: false,
                narrow_limbs: false,
                max_gate: false,
                columns: Columns::NARROW
            }
            .usable_rows()
                > 1000
        );
        let narrow = ChunkCircuitParams { k: 14, lookup_bits: 12, narrow_limbs: true, ..Default::default() };
        assert!(narrow.validate().is_ok());
        assert!(ChunkCircuitParams { lookup_bits: 16, ..narrow }.validate().is_err());
        assert!(ChunkCircuitParams { lookup_bits: 9, ..narrow }.validate().is_err());
        let max = ChunkCircuitParams { max_gate: true, ..narrow };
        assert!(max.validate().is_ok());
        assert!(ChunkCircuitParams { lookup_bits: 9, narrow_limbs: false, ..max }.validate().is_err());
    }

    /// The `max` gate is one more selector and gate, present only when asked for; a circuit
    /// without it keeps the constraint system (and so the keys) it had before the gate existed,
    /// and its files do not mention it.
    #[test]
    fn the_max_gate_is_optional() {
        let gates = |params: &ChunkCircuitParams| {
            let mut meta = ConstraintSystem::<Fr>::default();
            let _ = configure(&mut meta, params);
            (meta.num_selectors(), meta.gates().len(), meta.degree())
        };
        let plain = ChunkCircuitParams::default();
        let max = ChunkCircuitParams { max_gate: true, ..plain };
        let (s0, g0, d0) = gates(&plain);
        assert_eq!(gates(&max), (s0 + 1, g0 + 1, d0));
        assert_eq!(Limbs::new(16).max_cells(), MAX_CELLS);
        let json = serde_json::to_string(&plain).unwrap();
        assert!(!json.contains("max_gate"), "{json}");
        let json = serde_json::to_string(&max).unwrap();
        assert!(json.contains("\"max_gate\":true"), "{json}");
        assert_eq!(serde_json::from_str::<ChunkCircuitParams>(&json).unwrap(), max);
    }

    #[test]
    fn limbs_cover_31_bits() {
        assert_eq!(Limbs::new(16), Limbs { bits: 16, count: 2, top_bits: 15 });
        assert_eq!(Limbs::new(16).sign_cells(), SIGN_CELLS);
        assert_eq!(Limbs::new(16).clamp_cells(), CLAMP_CELLS);
        for bits in MIN_LIMB_BITS..=LIMB_BITS {
            let l = Limbs::new(bits);
            assert_eq!((l.count as u32 - 1) * bits + l.top_bits, 31, "{l:?}");
            assert!(l.top_bits >= 1 && l.top_bits < bits, "{l:?}");
        }
    }
}
