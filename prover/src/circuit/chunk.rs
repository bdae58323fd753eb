//! A chunk circuit: its layers, the linkage leaves it reads and writes with their Merkle paths,
//! and the public root.
//!
//! What chunk `i` proves (protocol v1, `docs/protocol.md`):
//! 1. the values of the leaf it writes are its layers applied to the values of the leaves it
//!    reads (leaf `i` alone when it reads only its predecessor's);
//! 2. `c_j = leaf(j, s_j, values)` for every leaf `j` it reads and for `j = i + 1`, over those
//!    very cells;
//! 3. each of those leaves, at its position `j`, hashes up to the root `R`;
//! 4. public instances: `R`, then the model inputs (chunk 0, if public), then the model outputs
//!    (last chunk, if public).

use chunkproof_core::shape::{
    configure, ChunkCircuitParams, ChunkConfig, Columns, TableConfig, K_RANGE, LIMB_BITS, MAX_COLUMNS,
    MAX_ROTATION, MIN_LIMB_BITS, PAIR_STRIDE, TABLE_ENTRIES,
};
use chunkproof_core::{fr_from_i64, CircuitStats};
use halo2_axiom::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_axiom::plonk::{Circuit, ConstraintSystem, Error};
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::{CircuitBuilderStage, MaybeRangeConfig};
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::virtual_region::manager::VirtualRegionManager;
use halo2_base::AssignedValue;

use super::custom::CustomRegion;
use super::cx::{Cx, Env};
use super::gadgets::to_i128;
use super::layout::MainLayout;
use super::linkage::{leaf, merkle_root};
use super::product::ProductRegion;
use crate::error::{ProverError, Result};
use crate::fixed::table_value;
use crate::model::{Graph, NonLinear, TensorId};
use crate::witness::{ChunkSpec, ChunkWitness};
use chunkproof_core::Fr;

/// Cells of interest, for tests that tamper with a witness.
#[derive(Clone, Debug, Default)]
pub struct ChunkHandles {
    /// The root cell (public instance 0).
    pub root: Option<AssignedValue<Fr>>,
    /// The cells of the leaves read, leaf after leaf.
    pub inputs: Vec<AssignedValue<Fr>>,
    /// `A_{i+1}` cells.
    pub outputs: Vec<AssignedValue<Fr>>,
    /// Salt cells (each leaf read, then the leaf written).
    pub salts: Vec<AssignedValue<Fr>>,
    /// Leaf cells (each leaf read, then the leaf written).
    pub leaves: Vec<AssignedValue<Fr>>,
}

/// A chunk circuit ready for keygen, proving or the mock prover.
#[derive(Clone, Debug)]
pub struct ChunkCircuit {
    /// The halo2-base column, lookups, constants and instances.
    pub builder: BaseCircuitBuilder<Fr>,
    /// The custom column.
    pub custom: CustomRegion,
    /// The randomized product check's columns.
    pub product: ProductRegion,
    /// Circuit shape.
    pub params: ChunkCircuitParams,
    /// The model's scale (sets the function tables).
    pub scale: u64,
    /// Size figures.
    pub stats: CircuitStats,
    /// Public instances, in order.
    pub instances: Vec<Fr>,
    /// Values of the output boundary `A_{i+1}` as computed in-circuit.
    pub output_values: Vec<i64>,
    /// Cells for tests.
    pub handles: ChunkHandles,
    /// halo2-base gate columns the cells take (`None` when the layout came from keygen's
    /// break points, which fit by construction).
    pub main_columns_used: Option<usize>,
}

/// The function tables the layers of `spec` need (bit `tag − 1` per [`NonLinear::tag`]).
pub fn required_tables(graph: &Graph, spec: &ChunkSpec) -> u32 {
    graph.layers[spec.layers.clone()]
        .iter()
        .filter_map(crate::layers::table)
        .fold(0, |acc, f| acc | 1 << (f.tag() - 1))
}

fn assign_tables(
    cfg: &TableConfig,
    tables: u32,
    scale: u64,
    layouter: &mut impl Layouter<Fr>,
) -> std::result::Result<(), Error> {
    layouter.assign_table(
        || "function tables",
        |mut table| {
            let mut row = 0;
            let mut put = |t: &mut halo2_axiom::circuit::Table<'_, Fr>, x: Fr, tag: Fr, y: Fr| {
                for (col, v) in [(cfg.x, x), (cfg.tag, tag), (cfg.y, y)] {
                    t.assign_cell(|| "entry", col, row, || Value::known(v))?;
                }
                row += 1;
                Ok::<(), Error>(())
            };
            put(&mut table, Fr::zero(), Fr::zero(), Fr::zero())?;
            for func in NonLinear::ALL.into_iter().filter(|f| tables >> (f.tag() - 1) & 1 == 1) {
                for u in 0..TABLE_ENTRIES {
                    let y = table_value(func, u as i64 - (TABLE_ENTRIES / 2) as i64, scale);
                    put(&mut table, Fr::from(u as u64), Fr::from(func.tag()), fr_from_i64(y))?;
                }
            }
            Ok(())
        },
    )
}

fn boundary_len(graph: &Graph, ids: &[TensorId]) -> usize {
    ids.iter().map(|id| graph.numel(*id)).sum()
}

/// Builds the chunk circuit for `spec` and `witness` with shape `params`.
///
/// `stage` selects keygen (constraints recorded), proving (witnesses only; `break_points` from
/// keygen required) or the mock prover.
pub fn build_chunk(
    graph: &Graph,
    spec: &ChunkSpec,
    witness: &ChunkWitness,
    params: ChunkCircuitParams,
    stage: CircuitBuilderStage,
    break_points: Option<MultiPhaseThreadBreakPoints>,
) -> Result<ChunkCircuit> {
    let bad =
        |detail: String| ProverError::InvalidModel { detail: format!("chunk {}: {detail}", spec.index) };
    let inputs_len = boundary_len(graph, &spec.inputs());
    if witness.inputs.len() != inputs_len {
        return Err(bad(format!(
            "{} input values for the {inputs_len} of the leaves it reads",
            witness.inputs.len()
        )));
    }
    if witness.salts_in.len() != spec.reads.len() || witness.paths_in.len() != spec.reads.len() {
        return Err(bad(format!(
            "{} salts and {} paths for the {} leaves it reads",
            witness.salts_in.len(),
            witness.paths_in.len(),
            spec.reads.len()
        )));
    }
    if witness.paths_in.iter().any(|p| p.len() != spec.tree_depth)
        || witness.path_out.len() != spec.tree_depth
    {
        return Err(bad("Merkle paths do not match the tree depth".into()));
    }
    // Tables of MIN_LIMB_BITS..16 bits use the fixed-point gates with limbs of the table's size.
    let narrow_limbs = (MIN_LIMB_BITS..LIMB_BITS).contains(&params.lookup_bits);
    let params = ChunkCircuitParams { tables: required_tables(graph, spec), narrow_limbs, ..params };
    params.validate().map_err(bad)?;
    let mut builder = BaseCircuitBuilder::from_stage(stage).use_params(params.base());
    let usable = params.usable_rows();
    let main_columns = params.columns.main as usize;
    let layout = match &break_points {
        _ if main_columns == 1 => MainLayout::unbounded(),
        Some(bp) if stage.witness_gen_only() => {
            MainLayout::from_break_points(usable, main_columns, bp.first().map_or(&[][..], |p| &p[..]))
        }
        _ => MainLayout::simulated(usable, main_columns),
    };
    if let Some(bp) = break_points {
        builder.set_break_points(bp);
    }
    let range = builder.range_chip();
    let mut custom = CustomRegion::new(stage.witness_gen_only(), builder.core().copy_manager.clone());
    custom.set_layout(params.columns.custom as usize, usable, layout);
    let mut product = ProductRegion::new(stage.witness_gen_only(), builder.core().copy_manager.clone());
    product.set_layout(params.columns.product as usize, usable);
    let mut handles = ChunkHandles::default();
    let mut stats = CircuitStats::default();

    let ctx = builder.main(0);
    let root = ctx.load_witness(witness.root);
    handles.root = Some(root);

    // --- the leaves it reads: load, commit, prove membership
    let (main0, custom0) = (ctx.advice.len(), custom.rows());
    let inputs = ctx.assign_witnesses(witness.inputs.iter().map(|v| fr_from_i64(*v)));
    let mut env = Env::new();
    let mut at = 0;
    for ((read, salt), path) in spec.reads.iter().zip(&witness.salts_in).zip(&witness.paths_in) {
        let start = at;
        for id in &read.tensors {
            let n = graph.numel(*id);
            env.insert(*id, inputs[at..at + n].to_vec());
            at += n;
        }
        let salt = ctx.load_witness(*salt);
        let leaf_in =
            leaf(ctx, &range, &mut custom, read.leaf as u64, salt, &inputs[start..at], read.packing);
        let path = ctx.assign_witnesses(path.iter().copied());
        let root_in = merkle_root(ctx, &range, &mut custom, leaf_in, read.leaf, &path);
        ctx.constrain_equal(&root_in, &root);
        handles.salts.push(salt);
        handles.leaves.push(leaf_in);
    }
    stats.linkage_main_cells += ctx.advice.len() - main0;
    stats.linkage_custom_rows += custom.rows() - custom0;

    // --- the layers
    {
        let mut cx = Cx { ctx, range: &range, custom: &mut custom, product: &mut product, graph };
        for layer in &graph.layers[spec.layers.clone()] {
            crate::layers::synthesize(&mut cx, layer, &mut env)?;
        }
    }
    let ctx = builder.main(0);

    // --- output boundary
    let (main0, custom0) = (ctx.advice.len(), custom.rows());
    let mut outputs = Vec::with_capacity(boundary_len(graph, &spec.outputs));
    for id in &spec.outputs {
        let cells = env
            .get(id)
            .ok_or_else(|| bad(format!("output tensor {id} is not computed by or passed into this chunk")))?;
        outputs.extend(cells.iter().copied());
    }
    let salt_out = ctx.load_witness(witness.salt_out);
    let leaf_out =
        leaf(ctx, &range, &mut custom, spec.index as u64 + 1, salt_out, &outputs, spec.output_packing);
    let path_out = ctx.assign_witnesses(witness.path_out.iter().copied());
    let root_out = merkle_root(ctx, &range, &mut custom, leaf_out, spec.index + 1, &path_out);
    ctx.constrain_equal(&root_out, &root);
    stats.linkage_main_cells += ctx.advice.len() - main0;
    stats.linkage_custom_rows += custom.rows() - custom0;

    // --- public instances
    let mut public = vec![root];
    if spec.is_first() && spec.input_public {
        public.extend(inputs.iter().copied());
    }
    if spec.is_last() && spec.output_public {
        public.extend(outputs.iter().copied());
    }
    let instances: Vec<Fr> = public.iter().map(|c| *c.value()).collect();
    let output_values = outputs.iter().map(|c| to_i128(c.value()) as i64).collect();
    handles.inputs = inputs;
    handles.outputs = outputs;
    handles.salts.push(salt_out);
    handles.leaves.push(leaf_out);
    builder.assigned_instances = vec![public];

    let main_columns_used = custom.main_layout().columns_used(builder.main(0));
    let st = builder.statistics();
    stats.main_cells = st.gate.total_advice_per_phase[0];
    stats.lookup_cells = st.total_lookup_advice_per_phase[0];
    stats.constants = st.gate.total_fixed;
    stats.custom_rows = custom.rows();
    stats.product_rows = product.rows();
    // The product columns exist only in circuits that check a product, the `max` gate only in
    // circuits that take a maximum.
    let params = ChunkCircuitParams { products: !product.is_empty(), max_gate: custom.max_used(), ..params };
    stats.usable_rows = params.usable_rows();
    Ok(ChunkCircuit {
        main_columns_used,
        builder,
        custom,
        product,
        params,
        scale: graph.scale,
        stats,
        instances,
        output_values,
        handles,
    })
}

impl ChunkCircuit {
    /// Where the product check's runs go: `(product column, first row)` per run, the product
    /// columns being the last `columns.product` custom columns. The last run (the shortest)
    /// goes to the first product column, after the custom rows when the custom region reaches
    /// that column; the others fill the product columns after it. `None` when they do not fit.
    pub fn product_places(&self) -> Option<Vec<(usize, usize)>> {
        let c = self.params.columns;
        let shared = (c.custom - c.product) as usize;
        let offset = match self.custom.columns_used() {
            n if n == shared + 1 => self.custom.last_rows_needed(),
            n if n <= shared => 0,
            _ => return None,
        };
        let runs = self.product.runs();
        if runs.len() > c.product as usize {
            return None;
        }
        let mut places: Vec<(usize, usize)> = (1..runs.len()).map(|col| (col, 0)).collect();
        places.push((0, offset));
        Some(places)
    }

    /// What does not fit in this circuit's shape, if anything: which kind of column, and the
    /// rows it needs against the usable rows (or the columns against those it has).
    pub fn overflow(&self) -> Option<Overflow> {
        let p = &self.params;
        let usable = self.stats.usable_rows;
        let c = p.columns;
        let main = match self.main_columns_used {
            _ if c.main == 1 => self.stats.main_cells + 4 > usable,
            Some(used) => used > c.main as usize,
            None => false,
        };
        if main {
            return Some(Overflow::Main);
        }
        if self.stats.lookup_cells.div_ceil(c.lookup as usize) > usable {
            return Some(Overflow::Lookup);
        }
        let products_fit = self.product.is_empty()
            || self.product_places().is_some_and(|places| {
                places.iter().zip(self.product.runs()).all(|((_, offset), len)| offset + len <= usable)
            });
        if self.custom.columns_used() > c.custom as usize
            || self.custom.rows_needed() > usable
            || !products_fit
        {
            return Some(Overflow::Custom);
        }
        if (1usize << p.lookup_bits).max(p.table_rows()).max(self.stats.constants) > usable {
            return Some(Overflow::Tables);
        }
        None
    }

    /// The break points to pass when re-building this circuit for proving.
    pub fn break_points(&self) -> MultiPhaseThreadBreakPoints {
        self.builder.break_points()
    }
}

/// The part of a circuit that does not fit its shape (see [`ChunkCircuit::overflow`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// The halo2-base gate columns.
    Main,
    /// The lookup columns.
    Lookup,
    /// The custom columns (with the product check).
    Custom,
    /// The lookup or function tables, or the constants.
    Tables,
}

/// The shape to build a circuit with while sizing it (`choose_params`'s `build`): the largest
/// `k`, one column of each kind, the given table; tables, products and limbs are set by
/// [`build_chunk`] itself.
pub fn sizing_params(lookup_bits: u32) -> ChunkCircuitParams {
    ChunkCircuitParams { k: *K_RANGE.end(), lookup_bits, ..Default::default() }
}

/// Columns of each kind that hold `circuit`'s cells (measured on one column of each kind, at a
/// `k` without bound) in `usable` rows, allowing for what cutting into columns adds; `None`
/// when more than `width` of a kind would be needed.
fn columns_for(circuit: &ChunkCircuit, usable: usize, width: u32) -> Option<Columns> {
    // Per cut: halo2-base's copied cell and unfinished gate (up to 4 cells) and our padding
    // (up to a gate's cells); a custom column loses up to a window and the carried cells.
    const MAIN_SLACK: usize = 24;
    const CUSTOM_SLACK: usize = 2 * MAX_ROTATION + 4;
    let st = &circuit.stats;
    let main =
        if st.main_cells + 4 <= usable { 1 } else { st.main_cells.div_ceil(usable.checked_sub(MAIN_SLACK)?) };
    let lookup = st.lookup_cells.div_ceil(usable).max(1);
    let rows = circuit.custom.rows();
    let products = circuit.product.rows_needed();
    let cap = usable.checked_sub(MAX_ROTATION + 1)?;
    let mut custom = if rows <= cap { 1 } else { rows.div_ceil(cap.checked_sub(CUSTOM_SLACK)?) };
    let mut product = 1;
    if products > 0 {
        // product runs: full columns but the last, which shares the custom region's last
        // column when it fits there (each cut costs a carried row and a pair window)
        let run = usable.checked_sub(PAIR_STRIDE + 2)?;
        product = if products <= usable { 1 } else { products.div_ceil(run) };
        let last_run = products - (product - 1) * run.min(products);
        let last_custom = rows - (custom - 1) * cap.saturating_sub(CUSTOM_SLACK).min(rows);
        custom += product - 1;
        if last_custom + MAX_ROTATION + 1 + last_run > usable {
            custom += 1;
        }
    }
    let c =
        Columns { main: main as u32, lookup: lookup as u32, custom: custom as u32, product: product as u32 };
    (c.widest() <= width).then_some(c)
}

/// Chooses the smallest `k ≥ min_k` (and the largest lookup table for it) that fits the circuit
/// with at most `width` advice columns of each kind, then the fewest columns at that `k`.
/// `build(params, exact)` builds the circuit; with `exact` it must record selectors (the keygen
/// or mock stage), so that the layout of several columns is known and checked. Tables of
/// [`MIN_LIMB_BITS`] to 16 bits use the fixed-point gates of the halo2-base columns (limbs of
/// the table's size); smaller tables fall back to generic gates.
pub fn choose_params(
    chunk: usize,
    min_k: u32,
    width: u32,
    mut build: impl FnMut(ChunkCircuitParams, bool) -> Result<ChunkCircuit>,
) -> Result<ChunkCircuitParams> {
    let max_k = *K_RANGE.end();
    let width = width.max(1);
    let mut best: Option<ChunkCircuitParams> = None;
    let mut lookup_bits = 16u32;
    loop {
        let circuit = build(sizing_params(lookup_bits), false)?;
        let shape =
            |k: u32, columns: Columns| ChunkCircuitParams { k, lookup_bits, columns, ..circuit.params };
        let mut candidate = None;
        for k in (lookup_bits + 1).max(min_k)..=max_k {
            let usable = shape(k, Columns::NARROW).usable_rows();
            if (1usize << lookup_bits)
                .max(shape(k, Columns::NARROW).table_rows())
                .max(circuit.stats.constants)
                > usable
            {
                continue;
            }
            if let Some(columns) = columns_for(&circuit, usable, width) {
                candidate = Some(shape(k, columns));
                break;
            }
        }
        let mut candidate = candidate.ok_or_else(|| too_large(chunk, &circuit, width))?;
        if !candidate.columns.is_narrow() {
            // several columns: build the circuit in that shape and grow it until it fits
            candidate = fit_exactly(chunk, candidate, width, &mut build)?;
        }
        match best {
            Some(b) if b.k <= candidate.k => break,
            _ => best = Some(candidate),
        }
        // A smaller table only helps when the table, not the rows, sets k — with as many
        // columns as allowed (and function tables need the 16-bit one).
        let w = width as usize;
        let st = &circuit.stats;
        let (custom, products) = (circuit.custom.rows_needed(), circuit.product.rows_needed());
        let custom_rows = (custom + products).div_ceil(w);
        let rows_per_column =
            (st.main_cells + 4).div_ceil(w).max(st.lookup_cells.div_ceil(w)).max(custom_rows);
        if rows_per_column >= 1 << lookup_bits || lookup_bits <= 8 || circuit.params.tables != 0 {
            break;
        }
        lookup_bits -= 1;
    }
    Ok(best.expect("at least one candidate"))
}

fn too_large(chunk: usize, circuit: &ChunkCircuit, width: u32) -> ProverError {
    let st = &circuit.stats;
    let rows = (st.main_cells + 4).max(circuit.custom.rows_needed() + circuit.product.rows_needed());
    ProverError::CircuitTooLarge { chunk, rows: rows.div_ceil(width.max(1) as usize), max_k: *K_RANGE.end() }
}

/// Builds `params` exactly and adds columns (up to `width` of a kind), then rows, until the
/// circuit fits.
fn fit_exactly(
    chunk: usize,
    mut params: ChunkCircuitParams,
    width: u32,
    build: &mut impl FnMut(ChunkCircuitParams, bool) -> Result<ChunkCircuit>,
) -> Result<ChunkCircuitParams> {
    // each try adds a column (at most MAX_COLUMNS of each of four kinds) or a row doubling
    let tries = 4 * MAX_COLUMNS as usize + *K_RANGE.end() as usize;
    for _ in 0..tries {
        let circuit = build(params, true)?;
        let Some(over) = circuit.overflow() else { return Ok(params) };
        // more product columns when the product check has more runs than columns
        let runs = circuit.product.runs();
        let usable = circuit.stats.usable_rows;
        let more_products = over == Overflow::Custom
            && !circuit.product.is_empty()
            && (runs.len() > params.columns.product as usize || runs.iter().any(|len| *len > usable));
        let c = &mut params.columns;
        let grown = match over {
            Overflow::Main if c.main < width => Some(&mut c.main),
            Overflow::Lookup if c.lookup < width => Some(&mut c.lookup),
            Overflow::Custom if c.custom < width => Some(&mut c.custom),
            _ => None,
        };
        match grown {
            Some(n) => *n += 1,
            None if params.k < *K_RANGE.end() => params.k += 1,
            None => return Err(too_large(chunk, &circuit, width)),
        }
        if more_products && params.columns.product < params.columns.custom {
            params.columns.product += 1;
        }
    }
    let circuit = build(params, true)?;
    Err(too_large(chunk, &circuit, width))
}

impl Circuit<Fr> for ChunkCircuit {
    type Config = ChunkConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ChunkCircuitParams;

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn params(&self) -> Self::Params {
        self.params
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: Self::Params) -> Self::Config {
        configure(meta, &params)
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> Self::Config {
        configure(meta, &ChunkCircuitParams::default())
    }

    fn synthesize(&self, config: Self::Config, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        if self.params.products == config.products.is_empty()
            || self.params.products == self.product.is_empty()
        {
            return Err(Error::Synthesis);
        }
        // The mock prover synthesizes once per phase and knows `ρ` in the second pass, where
        // it records nothing of the first phase; provers and keygen synthesize once.
        let rho_known_early = match config.products.first() {
            Some(p) => {
                let mut known = false;
                layouter.get_challenge(p.rho).map(|_| known = true);
                known
            }
            None => false,
        };
        if !rho_known_early {
            self.synthesize_first_phase(&config, &mut layouter)?;
        }
        if let Some(p) = config.products.first() {
            layouter.next_phase();
            let challenges = (layouter.get_challenge(p.rho), layouter.get_challenge(p.sigma));
            let places = self.product_places().ok_or(Error::Synthesis)?;
            let usable = config.base.gate().max_rows;
            layouter.assign_region(
                || "products, second phase",
                |mut region| {
                    self.product.assign_second_phase(
                        &config.products,
                        &mut region,
                        &places,
                        usable,
                        challenges,
                    )
                },
            )?;
        }
        Ok(())
    }
}

impl ChunkCircuit {
    fn synthesize_first_phase(
        &self,
        config: &ChunkConfig,
        layouter: &mut impl Layouter<Fr>,
    ) -> Result<(), Error> {
        config.base.initialize(layouter);
        if let Some(table) = config.main.first().and_then(|m| m.table) {
            assign_tables(&table, self.params.tables, self.scale, layouter)?;
        }
        layouter.assign_region(
            || "chunk",
            |mut region| {
                let usable = config.base.gate().max_rows;
                let main_cols: Vec<_> = config.base.gate().basic_gates[0].iter().map(|g| g.value).collect();
                self.builder.core().phase_manager[0]
                    .assign_raw(&(config.base.gate().basic_gates[0].clone(), usable), &mut region);
                if let MaybeRangeConfig::WithRange(range) = &config.base.base {
                    self.builder.assign_lookups_in_phase(range, &mut region, 0);
                }
                self.custom.assign_raw(&config.custom, &mut region, usable)?;
                if !config.products.is_empty() {
                    let places = self.product_places().ok_or(Error::Synthesis)?;
                    let first =
                        config.custom.len().checked_sub(config.products.len()).ok_or(Error::Synthesis)?;
                    let customs = &config.custom[first..];
                    self.product.assign_first_phase(
                        &config.products,
                        customs,
                        &mut region,
                        &places,
                        usable,
                    )?;
                }
                if !self.builder.witness_gen_only() {
                    let copy = self.builder.core().copy_manager.lock().expect("copy manager lock");
                    self.custom.enable_main_gates(&config.main, &main_cols, &mut region, &copy)?;
                    drop(copy);
                    self.builder.core().copy_manager.assign_raw(config.base.constants(), &mut region);
                }
                Ok(())
            },
        )?;
        self.builder.assign_instances(&config.base.instance, layouter.namespace(|| "expose"));
        Ok(())
    }
}
