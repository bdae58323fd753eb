//! A chunk circuit: its layers, both linkage leaves and Merkle paths, and the public root.
//!
//! What chunk `i` proves (protocol v1, `docs/protocol.md`):
//! 1. its output boundary values are its layers applied to its input boundary values;
//! 2. `c_i = leaf(i, s_i, A_i)` and `c_{i+1} = leaf(i+1, s_{i+1}, A_{i+1})` over those very cells;
//! 3. `c_i` at position `i` and `c_{i+1}` at position `i+1` hash up to the root `R`;
//! 4. public instances: `R`, then the model inputs (chunk 0, if public), then the model outputs
//!    (last chunk, if public).

use chunkproof_core::shape::{
    configure, ChunkCircuitParams, ChunkConfig, TableConfig, K_RANGE, LIMB_BITS, MIN_LIMB_BITS, TABLE_ENTRIES,
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
    /// `A_i` cells.
    pub inputs: Vec<AssignedValue<Fr>>,
    /// `A_{i+1}` cells.
    pub outputs: Vec<AssignedValue<Fr>>,
    /// Salt cells (in, out).
    pub salts: Vec<AssignedValue<Fr>>,
    /// Leaf cells (in, out).
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
    if witness.inputs.len() != boundary_len(graph, &spec.inputs) {
        return Err(bad(format!(
            "{} input values for a boundary of {}",
            witness.inputs.len(),
            boundary_len(graph, &spec.inputs)
        )));
    }
    if witness.path_in.len() != spec.tree_depth || witness.path_out.len() != spec.tree_depth {
        return Err(bad("Merkle paths do not match the tree depth".into()));
    }
    // Tables of MIN_LIMB_BITS..16 bits use the fixed-point gates with limbs of the table's size.
    let narrow_limbs = (MIN_LIMB_BITS..LIMB_BITS).contains(&params.lookup_bits);
    let params = ChunkCircuitParams { tables: required_tables(graph, spec), narrow_limbs, ..params };
    params.validate().map_err(bad)?;
    let mut builder = BaseCircuitBuilder::from_stage(stage).use_params(params.base());
    if let Some(bp) = break_points {
        builder.set_break_points(bp);
    }
    let range = builder.range_chip();
    let mut custom = CustomRegion::new(stage.witness_gen_only(), builder.core().copy_manager.clone());
    let mut product = ProductRegion::new(stage.witness_gen_only(), builder.core().copy_manager.clone());
    let mut handles = ChunkHandles::default();
    let mut stats = CircuitStats::default();

    let ctx = builder.main(0);
    let root = ctx.load_witness(witness.root);
    handles.root = Some(root);

    // --- input boundary: load, commit, prove membership
    let (main0, custom0) = (ctx.advice.len(), custom.rows());
    let inputs = ctx.assign_witnesses(witness.inputs.iter().map(|v| fr_from_i64(*v)));
    let salt_in = ctx.load_witness(witness.salt_in);
    let leaf_in = leaf(ctx, &range, &mut custom, spec.index as u64, salt_in, &inputs);
    let path_in = ctx.assign_witnesses(witness.path_in.iter().copied());
    let root_in = merkle_root(ctx, &range, &mut custom, leaf_in, spec.index, &path_in);
    ctx.constrain_equal(&root_in, &root);
    stats.linkage_main_cells += ctx.advice.len() - main0;
    stats.linkage_custom_rows += custom.rows() - custom0;

    let mut env = Env::new();
    let mut at = 0;
    for id in &spec.inputs {
        let n = graph.numel(*id);
        env.insert(*id, inputs[at..at + n].to_vec());
        at += n;
    }

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
    let leaf_out = leaf(ctx, &range, &mut custom, spec.index as u64 + 1, salt_out, &outputs);
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
    handles.salts = vec![salt_in, salt_out];
    handles.leaves = vec![leaf_in, leaf_out];
    builder.assigned_instances = vec![public];

    let st = builder.statistics();
    stats.main_cells = st.gate.total_advice_per_phase[0];
    stats.lookup_cells = st.total_lookup_advice_per_phase[0];
    stats.constants = st.gate.total_fixed;
    stats.custom_rows = custom.rows();
    stats.product_rows = product.rows();
    // The product columns exist only in circuits that check a product.
    let params = ChunkCircuitParams { products: !product.is_empty(), ..params };
    stats.usable_rows = params.usable_rows();
    Ok(ChunkCircuit {
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
    /// Rows this circuit needs, beyond which `k` must grow: the halo2-base column (with room for
    /// its last gate), the custom column (with its rotations) and the lookup table.
    pub fn rows_needed(&self) -> usize {
        (self.stats.main_cells + 4)
            .max(self.custom.rows_needed() + self.product.rows_needed())
            .max(1 << self.params.lookup_bits)
            .max(self.params.table_rows())
    }

    /// The break points to pass when re-building this circuit for proving.
    pub fn break_points(&self) -> MultiPhaseThreadBreakPoints {
        self.builder.break_points()
    }
}

/// The shape to build a circuit with while sizing it (`choose_params`'s `build`): the largest
/// `k`, the given table; tables, products and limbs are set by [`build_chunk`] itself.
pub fn sizing_params(lookup_bits: u32) -> ChunkCircuitParams {
    ChunkCircuitParams { k: *K_RANGE.end(), lookup_bits, ..Default::default() }
}

/// Chooses the smallest `k ≥ min_k` (and the largest lookup table for it) that fits the circuit
/// built by `build(lookup_bits)`. Tables of [`MIN_LIMB_BITS`] to 16 bits use the fixed-point
/// gates of the halo2-base column (limbs of the table's size); smaller tables fall back to
/// generic gates.
pub fn choose_params(
    chunk: usize,
    min_k: u32,
    mut build: impl FnMut(u32) -> Result<ChunkCircuit>,
) -> Result<ChunkCircuitParams> {
    let max_k = *K_RANGE.end();
    let mut best: Option<ChunkCircuitParams> = None;
    let mut lookup_bits = 16u32;
    loop {
        let circuit = build(lookup_bits)?;
        let (tables, products, narrow_limbs) =
            (circuit.params.tables, circuit.params.products, circuit.params.narrow_limbs);
        let rows =
            (circuit.stats.main_cells + 4).max(circuit.custom.rows_needed() + circuit.product.rows_needed());
        let need = circuit.rows_needed();
        let k = ((lookup_bits + 1).max(min_k)..=max_k)
            .find(|k| {
                ChunkCircuitParams { k: *k, lookup_bits, tables, products, narrow_limbs }.usable_rows()
                    >= need
            })
            .ok_or(ProverError::CircuitTooLarge { chunk, rows: need, max_k })?;
        let candidate = ChunkCircuitParams { k, lookup_bits, tables, products, narrow_limbs };
        match best {
            Some(b) if b.k <= k => break,
            _ => best = Some(candidate),
        }
        // A smaller table only helps when the table, not the rows, sets k (and function tables
        // need the 16-bit one).
        if rows >= 1 << lookup_bits || lookup_bits <= 8 || tables != 0 {
            break;
        }
        lookup_bits -= 1;
    }
    Ok(best.expect("at least one candidate"))
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
        if self.params.products != config.products.is_some()
            || self.params.products == self.product.is_empty()
        {
            return Err(Error::Synthesis);
        }
        // The mock prover synthesizes once per phase and knows `ρ` in the second pass, where
        // it records nothing of the first phase; provers and keygen synthesize once.
        let rho_known_early = match &config.products {
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
        if let Some(p) = &config.products {
            layouter.next_phase();
            let (rho, sigma) = (layouter.get_challenge(p.rho), layouter.get_challenge(p.sigma));
            layouter.assign_region(
                || "products, second phase",
                |mut region| {
                    self.product.assign_second_phase(p, &mut region, self.custom.rows_needed(), rho, sigma)
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
        if let Some(table) = &config.main.table {
            assign_tables(table, self.params.tables, self.scale, layouter)?;
        }
        layouter.assign_region(
            || "chunk",
            |mut region| {
                let usable = config.base.gate().max_rows;
                self.builder.core().phase_manager[0]
                    .assign_raw(&(config.base.gate().basic_gates[0].clone(), usable), &mut region);
                if let MaybeRangeConfig::WithRange(range) = &config.base.base {
                    self.builder.assign_lookups_in_phase(range, &mut region, 0);
                }
                self.custom.assign_raw(&config.custom, &mut region, usable)?;
                if let Some(p) = &config.products {
                    let offset = self.custom.rows_needed();
                    self.product.assign_first_phase(p, &config.custom, &mut region, offset, usable)?;
                }
                if !self.builder.witness_gen_only() {
                    let copy = self.builder.core().copy_manager.lock().expect("copy manager lock");
                    self.custom.enable_main_gates(&config.main, &mut region, &copy)?;
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
