//! [`NativeRuntime`]: the Llama forward pass in plain Rust on the CPU, over weights kept in
//! their storage format ([`WeightFormat`]) and sequences that each own a [`KvCache`].
//!
//! One [`Runtime::forward`] concatenates every chunk's tokens into one activation
//! `[tokens, d_model]`, so each projection reads its weights once per pass however many
//! sequences take part; only attention runs per sequence, against that sequence's cache. The
//! computation is the one of [`crate::model::Llama`] (pre-norm blocks, RMSNorm, RoPE "rotate
//! half", grouped-query attention, SwiGLU, tied or untied head):
//!
//! ```text
//! x   = embed[tokens]                                  [T, d]
//! per block:
//!   h   = rms_norm(x)·γ₁ ;  q|k|v = h·W_qkvᵀ (+ LoRA)   [T, q + 2·kv]
//!   q,k = rope(q, k at each sequence's own positions); append k, v to the caches
//!   x  += attention(q, cache)·W_oᵀ (+ LoRA)
//!   h   = rms_norm(x)·γ₂ ;  g|u = h·W_guᵀ (+ LoRA)     [T, 2·ff]
//!   x  += (silu(g)⊙u)·W_downᵀ (+ LoRA)
//! logits = rms_norm(x[rows asked for])·headᵀ           [rows, vocab]
//! ```

use super::adapter::{Adapter, AdapterRows, LowRank};
use super::attention::{attend, Heads, KeyValues};
use super::cache::{HeadRows, KvCache, KvFormat};
use super::capture::Capture;
use super::exp::exp_in_place;
use super::kernels::Isa;
use super::matmul::{matmul, Columns, Product};
use super::phases::{Laps, Phase, PhaseTimes};
use super::quant::{QMatrix, WeightFormat};
use super::team::{self, Team};
use super::{AdapterKey, Chunk, Logits, LoraWeights, Runtime, SlotId};
use crate::checkpoint::{ModelWeights, WeightSource};
use crate::gguf::llama::{gguf_name, unpermute_rows};
use crate::lora::TargetModule;
use crate::model::{projection_path, LlamaConfig};
use anyhow::{bail, ensure, Context, Result};
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

/// Rows from which SwiGLU runs on every thread. A lone decode row is little work to hand
/// over; eight rows took 16 µs on one thread (on rayon's pool, long enough for its other thread
/// to fall asleep and be woken for the next product). From two rows on, 8-stream decode steps
/// were 3 % shorter (in-process alternation, 2026-12-02).
const PARALLEL_SWIGLU_ROWS: usize = 2;

/// How a [`NativeRuntime`] holds and runs its model.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Storage of every weight matrix, the embedding and head included.
    pub weights: WeightFormat,
    /// Sequences held at once.
    pub max_slots: usize,
    /// Positions (prompt and answer) one sequence holds.
    pub max_positions: usize,
    /// Threads of the runtime's team ([`super::team`]), the one calling it included.
    pub threads: usize,
    /// What the sequences' caches keep keys and values in.
    pub kv: KvFormat,
}

/// One transformer block's weights; the projections that read the same input are stacked so
/// they share one pass (`q|k|v`, `gate|up`).
struct Block {
    input_norm: Vec<f32>,
    post_attention_norm: Vec<f32>,
    /// `[q_dim + 2·kv_dim, d_model]`
    qkv: QMatrix,
    /// `[d_model, q_dim]`
    o: QMatrix,
    /// `[2·ff, d_model]`
    gate_up: QMatrix,
    /// `[d_model, ff]`
    down: QMatrix,
}

struct Slot {
    adapter: Option<AdapterKey>,
    cache: KvCache,
}

/// The rows of one chunk in a pass.
struct Span {
    slot: SlotId,
    /// First row in the pass's activations.
    start: usize,
    len: usize,
    /// Positions already in the cache: the first token's position.
    offset: usize,
    adapter: Option<AdapterKey>,
    /// The cached positions the rows attend to (all of `..offset` but hidden ones), in order.
    visible: Vec<Range<usize>>,
    /// Whether the rows' keys and values join the slot's cache (a scoring pass under hidden
    /// positions leaves the slot as it was).
    append: bool,
}

/// The Llama model on the CPU, with slots and adapters.
pub struct NativeRuntime {
    config: LlamaConfig,
    options: RuntimeOptions,
    isa: Isa,
    team: Team,
    /// `[vocab, d_model]`
    embed: QMatrix,
    /// `[vocab, d_model]`; `None` when tied to `embed`.
    head: Option<QMatrix>,
    norm: Vec<f32>,
    blocks: Vec<Block>,
    /// `[max_positions, head_dim / 2]` each.
    rope_cos: Vec<f32>,
    rope_sin: Vec<f32>,
    slots: BTreeMap<SlotId, Slot>,
    next_slot: SlotId,
    adapters: BTreeMap<AdapterKey, Adapter>,
    next_adapter: AdapterKey,
    /// Hugging Face module path -> (layer, projection).
    projections: HashMap<String, (usize, TargetModule)>,
    /// Set by [`Runtime::forward_attention`] for the one pass it runs.
    capture: Option<Capture>,
    /// Set while [`Runtime::time_phases`] is on.
    phases: Option<PhaseTimes>,
}

impl NativeRuntime {
    /// Loads `weights` in `options.weights`' format. A GGUF tensor already stored in that
    /// format keeps its blocks as they are; any other is decoded and quantized once.
    pub fn load(weights: &ModelWeights, options: RuntimeOptions) -> Result<Self> {
        let config = weights.config().clone();
        config.validate()?;
        ensure!(
            options.max_slots > 0 && options.threads > 0,
            "the runtime needs at least one slot and one thread"
        );
        ensure!(
            (1..=config.max_position_embeddings).contains(&options.max_positions),
            "max_positions {} must be in 1..={} (the model's max_position_embeddings)",
            options.max_positions,
            config.max_position_embeddings
        );
        let format = options.weights;
        // NF4 is QLoRA's format for the projections; QLoRA keeps the embeddings as the
        // checkpoint stores them, and so does the runtime then (`f32` for another GGUF type).
        let table_format = |name: &str| match format {
            WeightFormat::Nf4 => stored_format(weights, name).unwrap_or(WeightFormat::F32),
            other => other,
        };
        let d = config.hidden_size;
        let matrix = |name: &str, rows: usize, cols: usize, format| -> Result<QMatrix> {
            read_matrix(weights, &config, name, rows, cols, format)
                .with_context(|| format!("loading `{name}` as {format:?}"))
        };
        let vector = |name: &str| -> Result<Vec<f32>> { Ok(weights.read(name, &[d])?.values) };
        let mut blocks = Vec::with_capacity(config.num_hidden_layers);
        for layer in 0..config.num_hidden_layers {
            let projection = |target: TargetModule| -> Result<QMatrix> {
                let [d_in, d_out] = config.projection_shape(target);
                matrix(
                    &format!("{}.weight", projection_path(layer, target)),
                    d_out,
                    d_in,
                    format,
                )
            };
            use TargetModule::*;
            blocks.push(Block {
                input_norm: vector(&format!("model.layers.{layer}.input_layernorm.weight"))?,
                post_attention_norm: vector(&format!(
                    "model.layers.{layer}.post_attention_layernorm.weight"
                ))?,
                qkv: QMatrix::stack(vec![projection(Q)?, projection(K)?, projection(V)?])?,
                o: projection(O)?,
                gate_up: QMatrix::stack(vec![projection(Gate)?, projection(Up)?])?,
                down: projection(Down)?,
            });
        }
        let embed_name = "model.embed_tokens.weight";
        let embed = matrix(embed_name, config.vocab_size, d, table_format(embed_name))?;
        let head = if config.tie_word_embeddings {
            None
        } else {
            let name = "lm_head.weight";
            Some(matrix(name, config.vocab_size, d, table_format(name))?)
        };
        let (rope_cos, rope_sin) =
            rope_tables(config.head_dim(), options.max_positions, config.rope_theta);
        let projections = (0..config.num_hidden_layers)
            .flat_map(|layer| {
                TargetModule::ALL.map(|target| (projection_path(layer, target), (layer, target)))
            })
            .collect();
        let team = Team::new(options.threads).context("starting the runtime's threads")?;
        let isa = Isa::detect();
        let runtime = Self {
            norm: vector("model.norm.weight")?,
            config,
            options,
            isa,
            team,
            embed,
            head,
            blocks,
            rope_cos,
            rope_sin,
            slots: BTreeMap::new(),
            next_slot: 0,
            adapters: BTreeMap::new(),
            next_adapter: 0,
            projections,
            capture: None,
            phases: None,
        };
        tracing::info!(
            format = ?format,
            ?isa,
            weight_bytes = runtime.weight_bytes(),
            "runtime loaded"
        );
        Ok(runtime)
    }

    /// The instruction set the kernels run with.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Runs the kernels with `isa` instead of the detected one (to compare the scalar path
    /// with the SIMD one).
    pub fn set_isa(&mut self, isa: Isa) {
        self.isa = isa;
    }

    /// Resident bytes of the weight matrices.
    pub fn weight_bytes(&self) -> usize {
        let blocks: usize = self
            .blocks
            .iter()
            .map(|b| b.qkv.bytes() + b.o.bytes() + b.gate_up.bytes() + b.down.bytes())
            .sum();
        blocks + self.embed.bytes() + self.head.as_ref().map_or(0, QMatrix::bytes)
    }

    fn check_room(&self) -> Result<()> {
        ensure!(
            self.slots.len() < self.options.max_slots,
            "all {} slots are in use",
            self.options.max_slots
        );
        Ok(())
    }

    fn new_slot(&mut self, slot: Slot) -> SlotId {
        let id = self.next_slot;
        self.next_slot = self.next_slot.wrapping_add(1);
        self.slots.insert(id, slot);
        id
    }

    /// The rows of each chunk, checked before anything changes (a refused pass leaves every
    /// cache as it was).
    fn plan(&self, chunks: &[Chunk<'_>]) -> Result<Vec<Span>> {
        let mut spans = Vec::with_capacity(chunks.len());
        let mut start = 0;
        for chunk in chunks {
            let slot = self
                .slots
                .get(&chunk.slot)
                .with_context(|| format!("unknown slot {}", chunk.slot))?;
            ensure!(
                !spans.iter().any(|s: &Span| s.slot == chunk.slot),
                "slot {} appears twice in one pass",
                chunk.slot
            );
            ensure!(!chunk.tokens.is_empty(), "slot {}: empty chunk", chunk.slot);
            if let Some(&token) = chunk
                .tokens
                .iter()
                .find(|&&t| t as usize >= self.config.vocab_size)
            {
                bail!(
                    "slot {}: token {token} is outside the vocabulary ({})",
                    chunk.slot,
                    self.config.vocab_size
                );
            }
            ensure!(
                chunk.tokens.len() <= slot.cache.free(),
                "slot {} is full: {} positions + {} new exceed max_positions {}",
                chunk.slot,
                slot.cache.len(),
                chunk.tokens.len(),
                self.options.max_positions
            );
            spans.push(Span {
                slot: chunk.slot,
                start,
                len: chunk.tokens.len(),
                offset: slot.cache.len(),
                adapter: slot.adapter,
                visible: std::iter::once(0..slot.cache.len()).collect(),
                append: true,
            });
            start += chunk.tokens.len();
        }
        Ok(spans)
    }

    /// The rows of a [`Runtime::forward_hidden`] pass: `tokens` after `slot`'s positions once
    /// per entry of `hidden`, checked before anything runs.
    fn plan_hidden(
        &self,
        slot: SlotId,
        tokens: &[u32],
        hidden: &[Vec<Range<usize>>],
    ) -> Result<Vec<Span>> {
        let held = self
            .slots
            .get(&slot)
            .with_context(|| format!("unknown slot {slot}"))?;
        ensure!(!tokens.is_empty(), "slot {slot}: no tokens to score");
        ensure!(
            !hidden.is_empty(),
            "slot {slot}: no ablation to score under"
        );
        if let Some(&token) = tokens
            .iter()
            .find(|&&t| t as usize >= self.config.vocab_size)
        {
            bail!(
                "token {token} is outside the vocabulary ({})",
                self.config.vocab_size
            );
        }
        let offset = held.cache.len();
        ensure!(
            tokens.len() <= held.cache.free(),
            "slot {slot}: {offset} positions + {} scored exceed max_positions {}",
            tokens.len(),
            self.options.max_positions
        );
        hidden
            .iter()
            .enumerate()
            .map(|(index, ranges)| {
                Ok(Span {
                    slot,
                    start: index * tokens.len(),
                    len: tokens.len(),
                    offset,
                    adapter: held.adapter,
                    visible: visible_positions(offset, ranges)?,
                    append: false,
                })
            })
            .collect()
    }

    /// One pass over `tokens` (the spans' rows, concatenated): each projection reads its
    /// weights once for all rows; attention runs per span against its slot's visible cache.
    /// Returns the logits of `logit_rows`, `[rows, vocab]`; appending spans join their caches.
    fn run(&mut self, spans: &[Span], tokens: &[u32], logit_rows: &[usize]) -> Vec<f32> {
        let Self {
            config,
            isa,
            team,
            embed,
            head,
            norm,
            blocks,
            rope_cos,
            rope_sin,
            slots,
            adapters,
            capture,
            phases,
            ..
        } = self;
        let isa = *isa;
        let (d, eps) = (config.hidden_size, config.rms_norm_eps);
        let (heads, kv_heads, head_dim) = (
            config.num_attention_heads,
            config.kv_heads(),
            config.head_dim(),
        );
        let (q_dim, kv_dim, ff) = (
            heads * head_dim,
            kv_heads * head_dim,
            config.intermediate_size,
        );
        let total = tokens.len();
        let half = head_dim / 2;
        // The rows of each adapter, for the low-rank terms.
        let mut by_adapter: BTreeMap<AdapterKey, Vec<usize>> = BTreeMap::new();
        for span in spans {
            if let Some(key) = span.adapter {
                by_adapter
                    .entry(key)
                    .or_default()
                    .extend(span.start..span.start + span.len);
            }
        }
        let groups: Vec<AdapterRows<'_>> = by_adapter
            .into_iter()
            .map(|(key, rows)| AdapterRows {
                adapter: &adapters[&key],
                rows,
            })
            .collect();
        // `x·Wᵀ`, and each row's adapter's term added to `y[:, offset..offset + d_out]` for each
        // `(target, offset)` (targets that read the same `x`). The terms' first half runs in
        // one phase with the base product's tasks (`LowRank`).
        let project =
            |layer: usize, w: &QMatrix, targets: &[(TargetModule, usize)], x: &[f32]| -> Vec<f32> {
                if groups.is_empty() {
                    return matmul(isa, w, x);
                }
                let d_in = config.projection_shape(targets[0].0)[0];
                let down = |beside_tasks, beside: &(dyn Fn(usize) + Sync)| {
                    LowRank::down(isa, &groups, layer, targets, x, d_in, beside_tasks, beside)
                };
                let (mut y, terms) = match Product::new(isa, w, x) {
                    Ok(product) => {
                        let terms = down(product.tasks(), &|task| product.task(task));
                        (product.output(), terms)
                    }
                    // NF4's product has phases of its own.
                    Err(stack) => (stack.matmul(isa, x), down(0, &|_| {})),
                };
                terms.add_to(isa, &mut y, w.rows);
                y
            };

        let mut laps = Laps::start(phases.as_mut());
        let logits = team.run(|| {
            let mut x = vec![0.0; total * d];
            for (&token, row) in tokens.iter().zip(x.chunks_exact_mut(d)) {
                embed.dequantize_row(token as usize, row);
            }
            laps.lap(Phase::Embed);
            for (layer, block) in blocks.iter().enumerate() {
                let h = rms_norm(&x, &block.input_norm, eps);
                laps.lap(Phase::Norms);
                let width = q_dim + 2 * kv_dim;
                use TargetModule::*;
                let qkv_targets = [(Q, 0), (K, q_dim), (V, q_dim + kv_dim)];
                let mut qkv = project(layer, &block.qkv, &qkv_targets, &h);
                laps.lap(Phase::Qkv);
                // Each span's new keys and values (rotated), head by head as the cache keeps
                // them: `[kv_heads, len, head_dim]` each.
                let mut new_kv: Vec<(Vec<f32>, Vec<f32>)> = Vec::with_capacity(spans.len());
                for span in spans {
                    for i in 0..span.len {
                        let pos = span.offset + i;
                        let (cos, sin) = (
                            &rope_cos[pos * half..(pos + 1) * half],
                            &rope_sin[pos * half..(pos + 1) * half],
                        );
                        let row = &mut qkv[(span.start + i) * width..][..q_dim + kv_dim];
                        for head in row.chunks_exact_mut(head_dim) {
                            rope(head, cos, sin);
                        }
                    }
                    let rows = &qkv[span.start * width..(span.start + span.len) * width];
                    let by_head = |at: usize| -> Vec<f32> {
                        let mut heads = Vec::with_capacity(span.len * kv_dim);
                        for h in 0..kv_heads {
                            let head = at + h * head_dim..at + (h + 1) * head_dim;
                            for row in rows.chunks_exact(width) {
                                heads.extend_from_slice(&row[head.clone()]);
                            }
                        }
                        heads
                    };
                    new_kv.push((by_head(q_dim), by_head(q_dim + kv_dim)));
                }
                if let (Some(capture), Some(span)) = (capture.as_mut(), spans.first()) {
                    let rows = &qkv[span.start * width..(span.start + span.len) * width];
                    let cache = &slots[&span.slot].cache;
                    let keys: Vec<_> = (0..kv_heads)
                        .map(|h| cache.head(layer, h).widened_keys(span.offset * head_dim))
                        .collect();
                    let keys: Vec<&[f32]> = keys.iter().map(|k| &**k).collect();
                    let new_keys = cache.format().round(&new_kv[0].0);
                    capture.record(layer, rows, width, &keys, &new_keys, head_dim);
                }
                laps.lap(Phase::Rope);
                // Every (sequence, key/value head) attends independently, for the query heads
                // that share it, to the cached positions it sees and its own new ones.
                let group = heads / kv_heads;
                let outputs: Vec<Vec<f32>> = {
                    let slots = &*slots;
                    let qkv = &qkv;
                    let new_kv = &new_kv;
                    team::map(spans.len() * kv_heads, |task| {
                        let (s, kv_head) = (task / kv_heads, task % kv_heads);
                        let span = &spans[s];
                        let mut q = Vec::with_capacity(span.len * group * head_dim);
                        for i in 0..span.len {
                            let row = (span.start + i) * width + kv_head * group * head_dim;
                            q.extend_from_slice(&qkv[row..row + group * head_dim]);
                        }
                        let (k, v) = &new_kv[s];
                        let new =
                            kv_head * span.len * head_dim..(kv_head + 1) * span.len * head_dim;
                        let new = (&k[new.clone()], &v[new]);
                        let heads = Heads { head_dim, group };
                        let visible = &span.visible;
                        match slots[&span.slot].cache.head(layer, kv_head) {
                            HeadRows::F32(kv) => {
                                attend(isa, &q, &runs(kv, visible, head_dim), new, heads)
                            }
                            HeadRows::F16(kv) => {
                                attend(isa, &q, &runs(kv, visible, head_dim), new, heads)
                            }
                        }
                    })
                };
                laps.lap(Phase::Attention);
                for (span, (k, v)) in spans.iter().zip(&new_kv) {
                    if span.append {
                        let cache = &mut slots.get_mut(&span.slot).expect("planned").cache;
                        cache.append(layer, k, v);
                    }
                }
                let mut attn = vec![0.0; total * q_dim];
                for ((span, kv_head), out) in spans
                    .iter()
                    .flat_map(|span| (0..kv_heads).map(move |h| (span, h)))
                    .zip(&outputs)
                {
                    for (i, out) in out.chunks_exact(group * head_dim).enumerate() {
                        let at = (span.start + i) * q_dim + kv_head * group * head_dim;
                        attn[at..at + group * head_dim].copy_from_slice(out);
                    }
                }
                laps.lap(Phase::Cache);
                let o = project(layer, &block.o, &[(O, 0)], &attn);
                laps.lap(Phase::O);
                x.iter_mut().zip(&o).for_each(|(x, o)| *x += o);
                laps.lap(Phase::Residuals);

                let h = rms_norm(&x, &block.post_attention_norm, eps);
                laps.lap(Phase::Norms);
                let gate_up = project(layer, &block.gate_up, &[(Gate, 0), (Up, ff)], &h);
                laps.lap(Phase::GateUp);
                // SwiGLU; rows in parallel but for a lone row.
                let mut act = vec![0.0; total * ff];
                let rows = Columns(act.as_mut_ptr());
                let swiglu = |r: usize| {
                    // SAFETY: row `r` of `act`; each call writes its own row, and nothing reads
                    // `act` until they end.
                    let act = unsafe { std::slice::from_raw_parts_mut(rows.at(r * ff), ff) };
                    let (gate, up) = gate_up[r * 2 * ff..(r + 1) * 2 * ff].split_at(ff);
                    for (a, g) in act.iter_mut().zip(gate) {
                        *a = -g;
                    }
                    exp_in_place(isa, act);
                    for ((a, g), u) in act.iter_mut().zip(gate).zip(up) {
                        *a = g / (1.0 + *a) * u;
                    }
                };
                if total >= PARALLEL_SWIGLU_ROWS {
                    team::for_each(total, swiglu);
                } else {
                    (0..total).for_each(swiglu);
                }
                laps.lap(Phase::SwiGlu);
                let down = project(layer, &block.down, &[(Down, 0)], &act);
                laps.lap(Phase::Down);
                x.iter_mut().zip(&down).for_each(|(x, o)| *x += o);
                laps.lap(Phase::Residuals);
            }
            let rows: Vec<f32> = logit_rows
                .iter()
                .flat_map(|&r| x[r * d..(r + 1) * d].iter().copied())
                .collect();
            let logits = if rows.is_empty() {
                Vec::new()
            } else {
                let rows = rms_norm(&rows, norm, eps);
                laps.lap(Phase::Norms);
                matmul(isa, head.as_ref().unwrap_or(embed), &rows)
            };
            laps.lap(Phase::Head);
            logits
        });
        laps.finish();
        for span in spans.iter().filter(|s| s.append) {
            slots
                .get_mut(&span.slot)
                .expect("planned")
                .cache
                .advance(span.len);
        }
        logits
    }
}

/// The rows of `visible` positions of one head's cached keys and values.
fn runs<'a, E>(
    (keys, values): KeyValues<'a, E>,
    visible: &[Range<usize>],
    head_dim: usize,
) -> Vec<KeyValues<'a, E>> {
    visible
        .iter()
        .map(|r| {
            let rows = r.start * head_dim..r.end * head_dim;
            (&keys[rows.clone()], &values[rows])
        })
        .collect()
}

/// `0..len` without the `hidden` ranges, as ordered runs; a hidden range must lie in `..len`.
fn visible_positions(len: usize, hidden: &[Range<usize>]) -> Result<Vec<Range<usize>>> {
    let mut hidden = hidden.to_vec();
    hidden.sort_by_key(|r| (r.start, r.end));
    let mut visible = Vec::with_capacity(hidden.len() + 1);
    let mut next = 0;
    for range in hidden {
        ensure!(
            range.start <= range.end && range.end <= len,
            "hidden positions {range:?} are not within the {len} cached"
        );
        if range.start > next {
            visible.push(next..range.start);
        }
        next = next.max(range.end);
    }
    if next < len {
        visible.push(next..len);
    }
    Ok(visible)
}

/// The format a GGUF file stores `name` in, when the runtime computes with it.
fn stored_format(weights: &ModelWeights, name: &str) -> Option<WeightFormat> {
    let info = weights.gguf()?.tensor_info(&gguf_name(name)?)?;
    [WeightFormat::F32, WeightFormat::Q8_0, WeightFormat::Q4]
        .into_iter()
        .find(|format| format.ggml_type() == Some(info.ggml_type))
}

/// A weight matrix `[rows, cols]` (Hugging Face name and layout) in `format`.
fn read_matrix(
    weights: &ModelWeights,
    config: &LlamaConfig,
    name: &str,
    rows: usize,
    cols: usize,
    format: WeightFormat,
) -> Result<QMatrix> {
    let stored = weights.gguf().and_then(|file| {
        let info = file.tensor_info(&gguf_name(name)?)?;
        (Some(info.ggml_type) == format.ggml_type() && info.shape() == [rows, cols])
            .then(|| file.raw(info).map(|bytes| (info.ggml_type, bytes)))
    });
    if let Some(stored) = stored {
        let (ggml_type, bytes) = stored?;
        if let Some(matrix) = QMatrix::from_ggml(ggml_type, &bytes, rows, cols) {
            // llama.cpp's row order of q/k, undone on whole rows of blocks.
            let heads = if name.ends_with("self_attn.q_proj.weight") {
                Some(config.num_attention_heads)
            } else if name.ends_with("self_attn.k_proj.weight") {
                Some(config.kv_heads())
            } else {
                None
            };
            return Ok(match heads {
                Some(heads) => {
                    let rows_in: Vec<f32> = (0..rows).map(|r| r as f32).collect();
                    let order: Vec<usize> = unpermute_rows(&rows_in, heads, config.head_dim(), 1)
                        .into_iter()
                        .map(|r| r as usize)
                        .collect();
                    matrix.permute_rows(&order)?
                }
                None => matrix,
            });
        }
    }
    let tensor = weights.read(name, &[rows, cols])?;
    QMatrix::quantize(&tensor.values, rows, cols, format)
}

/// `cos`/`sin` of `pos · theta^(-2i/head_dim)` for `i < head_dim/2`, computed in `f64` as
/// [`crate::model::RotaryEmbedding`] does.
fn rope_tables(head_dim: usize, positions: usize, theta: f64) -> (Vec<f32>, Vec<f32>) {
    let half = head_dim / 2;
    let mut cos = Vec::with_capacity(positions * half);
    let mut sin = Vec::with_capacity(positions * half);
    for pos in 0..positions {
        for i in 0..half {
            let angle = pos as f64 * theta.powf(-2.0 * i as f64 / head_dim as f64);
            cos.push(angle.cos() as f32);
            sin.push(angle.sin() as f32);
        }
    }
    (cos, sin)
}

/// Rows whose sums of squares advance side by side in [`rms_norm`]: one row's sum is a chain
/// of `d` dependent adds, which alone left the adder waiting most cycles (a decode step's eight
/// rows were 3 % of its time).
const NORM_ROWS: usize = 8;

/// `x / sqrt(mean(x²) + eps) · γ` per row; `x: [rows, d]`. Each row's squares are summed in
/// order, so a row's bits do not depend on the rows beside it.
fn rms_norm(x: &[f32], gamma: &[f32], eps: f64) -> Vec<f32> {
    let d = gamma.len();
    let mut out = vec![0.0; x.len()];
    for (x, out) in x.chunks(NORM_ROWS * d).zip(out.chunks_mut(NORM_ROWS * d)) {
        let sums = sums_of_squares(x, d);
        for ((x, out), sum) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)).zip(sums) {
            let rms = (sum / d as f32 + eps as f32).sqrt();
            for ((o, v), g) in out.iter_mut().zip(x).zip(gamma) {
                *o = v / rms * g;
            }
        }
    }
    out
}

/// `Σ v²` of each row of `x: [rows ≤ NORM_ROWS, d]`, in order; a full set of rows in lockstep.
fn sums_of_squares(x: &[f32], d: usize) -> [f32; NORM_ROWS] {
    let mut sums = [0.0f32; NORM_ROWS];
    if x.len() == NORM_ROWS * d {
        let rows: [&[f32]; NORM_ROWS] = std::array::from_fn(|r| &x[r * d..(r + 1) * d]);
        for i in 0..d {
            for (sum, row) in sums.iter_mut().zip(&rows) {
                *sum += row[i] * row[i];
            }
        }
    } else {
        for (sum, row) in sums.iter_mut().zip(x.chunks_exact(d)) {
            *sum = row.iter().fold(0.0, |sum, v| sum + v * v);
        }
    }
    sums
}

/// Rotates one head's vector (`head_dim` values) to position `pos`.
fn rope(x: &mut [f32], cos: &[f32], sin: &[f32]) {
    let half = x.len() / 2;
    let (first, second) = x.split_at_mut(half);
    for i in 0..half {
        let (a, b) = (first[i], second[i]);
        first[i] = a * cos[i] - b * sin[i];
        second[i] = b * cos[i] + a * sin[i];
    }
}

impl Runtime for NativeRuntime {
    fn config(&self) -> &LlamaConfig {
        &self.config
    }

    fn max_positions(&self) -> usize {
        self.options.max_positions
    }

    fn allocate(&mut self, adapter: Option<AdapterKey>) -> Result<SlotId> {
        if let Some(key) = adapter {
            ensure!(self.adapters.contains_key(&key), "unknown adapter {key}");
        }
        self.check_room()?;
        let cache = KvCache::new(
            self.options.kv,
            self.config.num_hidden_layers,
            self.config.kv_heads(),
            self.config.head_dim(),
            self.options.max_positions,
        );
        Ok(self.new_slot(Slot { adapter, cache }))
    }

    fn fork(&mut self, from: SlotId, len: usize) -> Result<SlotId> {
        let source = self
            .slots
            .get(&from)
            .with_context(|| format!("unknown slot {from}"))?;
        ensure!(
            len <= source.cache.len(),
            "cannot fork {len} positions of slot {from}, which holds {}",
            source.cache.len()
        );
        let slot = Slot {
            adapter: source.adapter,
            cache: source.cache.prefix(len),
        };
        self.check_room()?;
        Ok(self.new_slot(slot))
    }

    fn release(&mut self, slot: SlotId) {
        self.slots.remove(&slot);
    }

    fn positions(&self, slot: SlotId) -> usize {
        self.slots.get(&slot).map_or(0, |s| s.cache.len())
    }

    fn forward(&mut self, chunks: &[Chunk<'_>]) -> Result<Vec<f32>> {
        let spans = self.plan(chunks)?;
        let tokens: Vec<u32> = chunks
            .iter()
            .flat_map(|c| c.tokens.iter().copied())
            .collect();
        // Rows whose logits are returned, in chunk order.
        let logit_rows: Vec<usize> = chunks
            .iter()
            .zip(&spans)
            .flat_map(|(chunk, span)| match chunk.logits {
                Logits::None => 0..0,
                Logits::Last => span.start + span.len - 1..span.start + span.len,
                Logits::All => span.start..span.start + span.len,
            })
            .collect();
        Ok(self.run(&spans, &tokens, &logit_rows))
    }

    fn forward_hidden(
        &mut self,
        slot: SlotId,
        tokens: &[u32],
        hidden: &[Vec<Range<usize>>],
    ) -> Result<Vec<f32>> {
        let spans = self.plan_hidden(slot, tokens, hidden)?;
        let all: Vec<u32> = spans.iter().flat_map(|_| tokens.iter().copied()).collect();
        let rows: Vec<usize> = (0..all.len()).collect();
        Ok(self.run(&spans, &all, &rows))
    }

    fn forward_attention(
        &mut self,
        slot: SlotId,
        tokens: &[u32],
        ranges: &[Range<usize>],
    ) -> Result<Vec<f32>> {
        let spans = self.plan_hidden(slot, tokens, &[Vec::new()])?;
        let cached = spans[0].offset;
        if let Some(range) = ranges.iter().find(|r| r.start > r.end || r.end > cached) {
            bail!("positions {range:?} are not within the {cached} cached");
        }
        self.capture = Some(Capture::new(
            ranges.to_vec(),
            tokens.len(),
            self.config.num_hidden_layers,
            self.config.num_attention_heads,
        ));
        self.run(&spans, tokens, &[]);
        Ok(self.capture.take().map(|c| c.mass).unwrap_or_default())
    }
    fn load_adapter(&mut self, adapter: LoraWeights) -> Result<(AdapterKey, usize)> {
        let config = &self.config;
        let loaded = Adapter::new(
            adapter,
            config.num_hidden_layers,
            |path| self.projections.get(path).copied(),
            |target| config.projection_shape(target),
        )?;
        let key = self.next_adapter;
        self.next_adapter = self.next_adapter.wrapping_add(1);
        let bytes = loaded.bytes;
        self.adapters.insert(key, loaded);
        Ok((key, bytes))
    }

    fn time_phases(&mut self, on: bool) {
        self.phases = on.then(PhaseTimes::default);
    }

    fn phase_times(&self) -> Option<PhaseTimes> {
        self.phases.clone()
    }

    fn unload_adapter(&mut self, key: AdapterKey) -> Result<()> {
        ensure!(self.adapters.contains_key(&key), "unknown adapter {key}");
        if let Some((slot, _)) = self.slots.iter().find(|(_, s)| s.adapter == Some(key)) {
            bail!("adapter {key} is in use by slot {slot}");
        }
        self.adapters.remove(&key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(values: &[f32]) -> Vec<u32> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    /// Eleven rows (a lockstep set of eight, then three): each row's norm is the bits of the
    /// plain in-order rule, the one served records were computed with, alone or among others.
    #[test]
    fn a_rows_norm_is_the_in_order_rules_bits_whatever_rows_are_beside_it() {
        let (d, eps) = (40, 1e-5);
        let x: Vec<f32> = (0..11 * d)
            .map(|i| ((i * 7919 % 101) as f32 - 50.0) / 17.0)
            .collect();
        let gamma: Vec<f32> = (0..d).map(|i| 0.5 + i as f32 / 80.0).collect();
        let together = rms_norm(&x, &gamma, eps);
        for (row, normed) in x.chunks_exact(d).zip(together.chunks_exact(d)) {
            let rms = (row.iter().map(|v| v * v).sum::<f32>() / d as f32 + eps as f32).sqrt();
            let rule: Vec<f32> = row.iter().zip(&gamma).map(|(v, g)| v / rms * g).collect();
            assert_eq!(bits(normed), bits(&rule));
            assert_eq!(bits(&rms_norm(row, &gamma, eps)), bits(&rule));
        }
    }
}
