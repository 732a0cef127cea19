//! Retrieval and ContextCite attribution: the BM25 index, the ablatable prompt, the LASSO on a
//! scorer of known linear structure, the on-chain ppm rule, the shared-prefix scorer against
//! direct scoring, the pipeline end to end on the small random model, and (when the model is
//! in the cache) the real SmolLM2 benchmark.

mod common;
#[path = "common/reference_runtime.rs"]
mod reference_runtime;

use anyhow::{anyhow, Result};
use attribution_primitives::traits::PoolId;
use attribution_primitives::PARTS_PER_MILLION;
use attribution_worker::checkpoint::{ModelWeights, StoredDtype};
use attribution_worker::job::ModelDir;
use attribution_worker::model::{Llama, LlamaConfig};
use attribution_worker::rag::ablation::{
    ablation_seed, answer_logprobs, answer_logprobs_from_prompt, answer_logprobs_knockout,
    leave_one_out_masks, logit_probability, random_masks, Ablation, KNOCKOUT_SEED_DOMAIN,
    SEED_DOMAIN,
};
use attribution_worker::rag::at2::{
    attribute_at2, calibration_package, fit_theta, mean_spearman, theta_for, CalibrationAnswer,
    Theta, ThetaFile, RIDGE_GRID, THETA_FORMAT,
};
use attribution_worker::rag::attribution::{
    answer_sentences, attribute, AnswerAttribution, AttributionRequest, ContextCiteConfig,
    KNOCKOUT_MIN_MASKS,
};
use attribution_worker::rag::index::{Blob, RowIndex};
use attribution_worker::rag::lasso::fit_lasso;
use attribution_worker::rag::method::Method as AttributionMethod;
use attribution_worker::rag::ppm::attribution_entries;
use attribution_worker::rag::prior::{
    attribute_with_prior, fit_with_prior, prior_masks, PriorConfig, DEFAULT_RANDOM, DEFAULT_RIDGE,
    METHOD as PRIOR_METHOD, PRIOR_SEED_DOMAIN,
};
use attribution_worker::rag::prompt::{group_hits, PromptLayout};
use attribution_worker::rag::quality::{answer_quality, generate_greedy, spearman};
use attribution_worker::serve::runtime::{
    AdapterKey, Chunk, KvFormat, Logits, LoraWeights, NativeRuntime, Runtime, RuntimeOptions,
    SlotId, WeightFormat,
};
use attribution_worker::tuning::Method;
use burn::tensor::{Device, Int, Tensor, TensorData};
use reference_runtime::ReferenceRuntime;
use std::collections::BTreeMap;
use std::ops::Range;

const POOL: PoolId = PoolId {
    datanet: 4,
    version: 2,
};

// ---- the index

fn blobs() -> Vec<(u64, String)> {
    vec![
        (
            11,
            [
                r#"{"prompt": "What does grep do?", "completion": "grep searches files for lines matching a pattern."}"#,
                r#"{"text": "sed is a stream editor that filters and transforms text."}"#,
            ]
            .join("\n"),
        ),
        (
            12,
            [
                r#"{"text": "curl transfers data from or to a server over many protocols."}"#,
                "",
                r#"{"prompt": "What is rsync?", "completion": "rsync copies files quickly and synchronises directories remotely."}"#,
            ]
            .join("\n"),
        ),
    ]
}

fn as_blobs(blobs: &[(u64, String)]) -> Vec<Blob<'_>> {
    blobs
        .iter()
        .map(|(contribution, text)| Blob {
            contribution: *contribution,
            jsonl: text.as_bytes(),
        })
        .collect()
}

#[test]
fn search_returns_the_row_holding_the_words() {
    let blobs = blobs();
    let index = RowIndex::create_in_ram(&as_blobs(&blobs)).unwrap();
    assert_eq!(index.rows(), 4);
    // Stemmed: "synchronising directories" finds "synchronises directories".
    let hits = index.search("synchronising directory", 3).unwrap();
    assert_eq!((hits[0].contribution, hits[0].row), (12, 1));
    assert_eq!(hits.len(), 1);
    assert!(hits[0].text.starts_with("What is rsync?\nrsync copies"));
    let hits = index.search("which tool transforms text?", 2).unwrap();
    assert_eq!((hits[0].contribution, hits[0].row), (11, 1));
    // Query syntax a user may type is not an error.
    assert!(!index.search("grep \"unbalanced (", 2).unwrap().is_empty());
    // A word before a colon is not taken for a field name ("Note: which tool ..."), nor a
    // range or a boost for syntax.
    for query in [
        "Note: what transforms text?",
        "what are: transforms text",
        "[a TO text] NOT transforms^2",
    ] {
        let hits = index.search(query, 2).unwrap();
        assert_eq!((hits[0].contribution, hits[0].row), (11, 1), "{query}");
    }

    let dir = tempfile::tempdir().unwrap();
    let written = RowIndex::create_in_dir(dir.path(), &as_blobs(&blobs)).unwrap();
    let reopened = RowIndex::open(dir.path()).unwrap();
    for query in ["files", "server protocols", "stream editor"] {
        let expected = written.search(query, 3).unwrap();
        assert!(!expected.is_empty());
        assert_eq!(reopened.search(query, 3).unwrap(), expected);
        assert_eq!(index.search(query, 3).unwrap(), expected);
    }
}

#[test]
fn ties_are_ordered_by_contribution_then_row() {
    let row = r#"{"text": "identical row about kernels"}"#;
    let blobs: Vec<(u64, String)> = [9, 3, 5]
        .iter()
        .map(|&c| (c, format!("{row}\n{row}")))
        .collect();
    let index = RowIndex::create_in_ram(&as_blobs(&blobs)).unwrap();
    let hits = index.search("kernels", 3).unwrap();
    let found: Vec<(u64, u32)> = hits.iter().map(|h| (h.contribution, h.row)).collect();
    assert_eq!(found, vec![(3, 0), (3, 1), (5, 0)]);
    assert!(hits.iter().all(|h| h.score == hits[0].score));
}

#[test]
fn a_blob_that_is_not_jsonl_is_refused() {
    let blobs = vec![(1u64, "not json".to_string())];
    let error = RowIndex::create_in_ram(&as_blobs(&blobs)).err().unwrap();
    assert!(format!("{error:#}").contains("contribution 1"), "{error:#}");
}

// ---- ppm entries

#[test]
fn ppm_entries_follow_the_rounding_rule() {
    let entries = attribution_entries(&[7, 3, 5, 1, 2], &[0.5, 0.25, 0.25, -1.0, 0.0]).unwrap();
    let pairs: Vec<(u64, u32)> = entries
        .iter()
        .map(|e| (e.contribution, e.weight_ppm))
        .collect();
    assert_eq!(pairs, vec![(7, 500_000), (3, 250_000), (5, 250_000)]);

    // Three equal weights: 333,333 each and the unit left to the smallest contribution id.
    let entries = attribution_entries(&[30, 10, 20], &[1.0, 1.0, 1.0]).unwrap();
    let pairs: Vec<(u64, u32)> = entries
        .iter()
        .map(|e| (e.contribution, e.weight_ppm))
        .collect();
    assert_eq!(pairs, vec![(10, 333_334), (20, 333_333), (30, 333_333)]);

    // Twenty equal weights: sixteen entries, the other four's share stays with the pool.
    let contributions: Vec<u64> = (100..120).collect();
    let entries = attribution_entries(&contributions, &[0.2; 20]).unwrap();
    assert_eq!(entries.len(), 16);
    assert_eq!(entries.iter().map(|e| e.weight_ppm).sum::<u32>(), 800_000);
    assert!(entries.iter().all(|e| e.contribution < 116));

    assert!(attribution_entries(&[1, 2], &[-0.1, 0.0])
        .unwrap()
        .is_empty());
    assert!(attribution_entries(&[1, 1], &[0.1, 0.2]).is_err());
    assert!(attribution_entries(&[1, 2], &[0.1, f64::NAN]).is_err());
}

// ---- the LASSO on a scorer of known linear structure

/// A runtime whose answer score is exactly linear in the sources present: vocabulary of two, a
/// one-token answer (token 1) whose logits row is `[0, b + Σ_j w_j · present_j]`, so the logit
/// of its probability is that sum. Source `j`'s segment is the token `100 + j`.
struct LinearRuntime {
    config: LlamaConfig,
    intercept: f64,
    weights: Vec<f64>,
    slots: BTreeMap<SlotId, Vec<u32>>,
    next: SlotId,
    passes: usize,
}

impl LinearRuntime {
    fn new(intercept: f64, weights: Vec<f64>) -> Self {
        Self {
            config: LlamaConfig::small(2, 8, 16, 1, 2, 1),
            intercept,
            weights,
            slots: BTreeMap::new(),
            next: 0,
            passes: 0,
        }
    }

    fn layout(&self) -> PromptLayout {
        PromptLayout {
            prefix: vec![1, 1],
            sources: (0..self.weights.len() as u32)
                .map(|j| vec![100 + j])
                .collect(),
            suffix: vec![0, 0],
        }
    }
}

impl LinearRuntime {
    /// The logits row after `seen`: `[0, b + Σ w_j over the sources among them]`.
    fn row(&self, seen: &[u32]) -> [f32; 2] {
        let z = self.intercept
            + self
                .weights
                .iter()
                .enumerate()
                .filter(|(j, _)| seen.contains(&(100 + *j as u32)))
                .map(|(_, w)| w)
                .sum::<f64>();
        [0.0, z as f32]
    }
}

impl Runtime for LinearRuntime {
    fn config(&self) -> &LlamaConfig {
        &self.config
    }
    fn max_positions(&self) -> usize {
        64
    }
    fn allocate(&mut self, _adapter: Option<AdapterKey>) -> Result<SlotId> {
        self.next += 1;
        self.slots.insert(self.next, Vec::new());
        Ok(self.next)
    }
    fn fork(&mut self, from: SlotId, len: usize) -> Result<SlotId> {
        let tokens = self.slots[&from][..len].to_vec();
        let slot = self.allocate(None)?;
        self.slots.insert(slot, tokens);
        Ok(slot)
    }
    fn release(&mut self, slot: SlotId) {
        self.slots.remove(&slot);
    }
    fn positions(&self, slot: SlotId) -> usize {
        self.slots[&slot].len()
    }
    fn forward(&mut self, chunks: &[Chunk<'_>]) -> Result<Vec<f32>> {
        self.passes += 1;
        let mut out = Vec::new();
        for chunk in chunks {
            let tokens = self
                .slots
                .get_mut(&chunk.slot)
                .ok_or_else(|| anyhow!("no slot"))?;
            let start = tokens.len();
            tokens.extend_from_slice(chunk.tokens);
            let rows = match chunk.logits {
                Logits::None => 0..0,
                Logits::Last => tokens.len() - 1..tokens.len(),
                Logits::All => start..tokens.len(),
            };
            let tokens = tokens.clone();
            for position in rows {
                out.extend(self.row(&tokens[..=position]));
            }
        }
        Ok(out)
    }
    fn forward_hidden(
        &mut self,
        slot: SlotId,
        tokens: &[u32],
        hidden: &[Vec<Range<usize>>],
    ) -> Result<Vec<f32>> {
        self.passes += 1;
        let held = self.slots.get(&slot).ok_or_else(|| anyhow!("no slot"))?;
        let mut out = Vec::new();
        for hidden in hidden {
            // The visible tokens: the cache but hidden positions, then the scored ones.
            let mut seen: Vec<u32> = held
                .iter()
                .enumerate()
                .filter(|(p, _)| !hidden.iter().any(|r| r.contains(p)))
                .map(|(_, &t)| t)
                .collect();
            for &token in tokens {
                seen.push(token);
                out.extend(self.row(&seen));
            }
        }
        Ok(out)
    }
    fn load_adapter(&mut self, _adapter: LoraWeights) -> Result<(AdapterKey, usize)> {
        unimplemented!("not used by attribution")
    }
    fn unload_adapter(&mut self, _key: AdapterKey) -> Result<()> {
        unimplemented!("not used by attribution")
    }
}

#[test]
fn lasso_recovers_a_scorer_linear_in_the_mask() {
    let truth = vec![3.0, 0.0, 0.0, -1.5, 0.0, 0.8, 0.0, 0.0];
    let mut runtime = LinearRuntime::new(2.0, truth.clone());
    let layout = runtime.layout();
    let seed = ablation_seed(SEED_DOMAIN, 1, POOL, "question", &[1]);
    let masks = random_masks(&seed, 64, truth.len()).unwrap();
    let logprobs = answer_logprobs(&mut runtime, None, &layout, &[1], &masks, 64).unwrap();
    // One pass for the prefix, one per source, the suffix's head and the scoring pass.
    assert_eq!(runtime.passes, 1 + truth.len() + 2);
    assert!(runtime.slots.is_empty(), "every slot released");
    let scores: Vec<f64> = logprobs.iter().map(|l| logit_probability(l)).collect();
    for (mask, score) in masks.iter().zip(&scores) {
        let expected = 2.0
            + truth
                .iter()
                .zip(mask)
                .filter(|(_, k)| **k)
                .map(|(w, _)| w)
                .sum::<f64>();
        assert!((score - expected).abs() < 1e-4, "{score} vs {expected}");
    }
    let fit = fit_lasso(&masks, &scores, 0.01).unwrap();
    // The penalty shrinks each weight by about alpha / var(x) = 0.04.
    for (w, t) in fit.weights.iter().zip(&truth) {
        assert!((w - t).abs() < 0.06, "{:?} vs {truth:?}", fit.weights);
    }
    assert!(fit.weights[0] > 2.9 && fit.weights[3] < -1.4 && fit.weights[5] > 0.7);
    assert!((fit.predict(&[true; 8]) - 4.3).abs() < 0.15);
    // Unpenalised, the fit is exact.
    let exact = fit_lasso(&masks, &scores, 0.0).unwrap();
    for (w, t) in exact.weights.iter().zip(&truth) {
        assert!((w - t).abs() < 1e-4, "{:?}", exact.weights);
    }
    assert!((exact.intercept - 2.0).abs() < 1e-4);
}

#[test]
fn knockout_scores_every_mask_in_one_pass_from_the_kept_prompt() {
    let truth = vec![3.0, 0.0, 0.0, -1.5, 0.0, 0.8, 0.0, 0.0];
    let mut runtime = LinearRuntime::new(2.0, truth.clone());
    let layout = runtime.layout();
    let seed = ablation_seed(KNOCKOUT_SEED_DOMAIN, 1, POOL, "question", &[1]);
    let masks = random_masks(&seed, 64, truth.len()).unwrap();
    // Run the prompt here: one pass for it, one for every mask.
    let logprobs =
        answer_logprobs_knockout(&mut runtime, None, &layout, &[1], &masks, None).unwrap();
    assert_eq!(runtime.passes, 2);
    assert!(runtime.slots.is_empty(), "every slot released");
    let expected = |mask: &[bool]| {
        2.0 + truth
            .iter()
            .zip(mask)
            .filter(|(_, k)| **k)
            .map(|(w, _)| w)
            .sum::<f64>()
    };
    for (mask, logprobs) in masks.iter().zip(&logprobs) {
        let (score, expected) = (logit_probability(logprobs), expected(mask));
        assert!((score - expected).abs() < 1e-4, "{score} vs {expected}");
    }
    // From a slot that holds the prompt but its last token (the generation's): one pass, and
    // the slot is the caller's.
    let full = layout.full();
    let slot = runtime.allocate(None).unwrap();
    runtime
        .forward(&[Chunk {
            slot,
            tokens: &full[..full.len() - 1],
            logits: Logits::None,
        }])
        .unwrap();
    runtime.passes = 0;
    let again =
        answer_logprobs_knockout(&mut runtime, None, &layout, &[1], &masks, Some(slot)).unwrap();
    assert_eq!((runtime.passes, again), (1, logprobs));
    assert_eq!(runtime.positions(slot), full.len() - 1);
    runtime.release(slot);
    let empty = runtime.allocate(None).unwrap();
    let err = answer_logprobs_knockout(&mut runtime, None, &layout, &[1], &masks[..1], Some(empty))
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds 0 positions"), "{err}");
}

#[test]
fn knockout_uses_its_own_seed_and_masks_on_the_order_of_the_sources() {
    let truth = vec![3.0, 0.0, -1.5];
    let mut runtime = LinearRuntime::new(2.0, truth.clone());
    let layout = runtime.layout();
    let request = AttributionRequest {
        model: 1,
        adapter: None,
        pool: POOL,
        question: "question",
        layout: &layout,
        contributions: &[10, 11, 12],
        answer: &[1],
        prompt_slot: None,
    };
    let (_dir, model, _) = small_model();
    let tokenizer = model.tokenizer;
    // The served default is the exact ablation; knockout is asked for by name.
    assert_eq!(ContextCiteConfig::default().ablation, Ablation::Exact);
    let knockout = ContextCiteConfig {
        ablation: Ablation::Knockout,
        ..ContextCiteConfig::default()
    };
    // 3 sources: max(16, 4 · 3) masks; 8 sources would get 32, 20 sources still 32.
    assert_eq!(
        [3, 8, 20].map(|s| knockout.masks_for(s)),
        [KNOCKOUT_MIN_MASKS, 32, 32]
    );
    let first = attribute(&mut runtime, &tokenizer, &request, &knockout).unwrap();
    assert_eq!(first.masks.len(), KNOCKOUT_MIN_MASKS);
    assert_eq!(
        first.seed,
        ablation_seed(KNOCKOUT_SEED_DOMAIN, 1, POOL, "question", &[1])
    );
    assert_eq!(
        first,
        attribute(&mut runtime, &tokenizer, &request, &knockout).unwrap()
    );
    // The scorer is linear in the sources present, so both ablations find the same weights
    // (up to the penalty's shrinkage), from different masks.
    let exact = ContextCiteConfig {
        ablation: Ablation::Exact,
        ..knockout
    };
    let v1 = attribute(&mut runtime, &tokenizer, &request, &exact).unwrap();
    assert_eq!(v1.masks.len(), 32);
    assert_ne!(v1.seed, first.seed);
    for ((a, b), t) in first
        .surrogate
        .weights
        .iter()
        .zip(&v1.surrogate.weights)
        .zip(&truth)
    {
        assert!((a - t).abs() < 0.1 && (b - t).abs() < 0.1, "{a} {b} vs {t}");
    }
    assert_eq!(first.entries, v1.entries);
    assert_eq!(first.entries[0].contribution, 10);
}

#[test]
fn masks_are_seeded_by_the_request_and_keep_half_the_sources() {
    let seed = ablation_seed(SEED_DOMAIN, 3, POOL, "why?", &[5, 6]);
    assert_eq!(seed, ablation_seed(SEED_DOMAIN, 3, POOL, "why?", &[5, 6]));
    for other in [
        ablation_seed(SEED_DOMAIN, 4, POOL, "why?", &[5, 6]),
        ablation_seed(
            SEED_DOMAIN,
            3,
            PoolId { version: 3, ..POOL },
            "why?",
            &[5, 6],
        ),
        ablation_seed(SEED_DOMAIN, 3, POOL, "why!", &[5, 6]),
        ablation_seed(SEED_DOMAIN, 3, POOL, "why?", &[5, 7]),
    ] {
        assert_ne!(seed, other);
    }
    let masks = random_masks(&seed, 64, 10).unwrap();
    let kept = masks.iter().flatten().filter(|k| **k).count();
    // 640 fair coins: 320 ± 4 standard deviations (~51).
    assert!((269..=371).contains(&kept), "{kept}");
    assert_ne!(masks[0], masks[1]);
    assert!(random_masks(&seed, 1, 257).is_err());
}

// ---- the small random model

fn small_model() -> (tempfile::TempDir, ModelDir, ReferenceRuntime) {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), StoredDtype::F32);
    let model = ModelDir::load(dir.path()).unwrap();
    let device = Device::default();
    let llama = Llama::from_checkpoint(&model.checkpoint, &Method::Full, &device).unwrap();
    let config = model.checkpoint.config.clone();
    (dir, model, ReferenceRuntime::new(llama, config, device))
}

/// Synthetic-task rows (its tokenizer knows only its words), three rows per contribution.
fn task_blobs() -> Vec<(u64, String)> {
    common::TASK
        .examples(12, 5)
        .chunks(3)
        .enumerate()
        .map(|(i, rows)| {
            let lines: Vec<String> = rows
                .iter()
                .map(|e| {
                    serde_json::json!({"prompt": e.prompt, "completion": e.completion}).to_string()
                })
                .collect();
            (40 + i as u64, lines.join("\n"))
        })
        .collect()
}

/// The first task question with its sources retrieved from [`task_blobs`], laid out for
/// `model`.
struct TaskPrompt {
    question: String,
    layout: PromptLayout,
    /// Each source's contribution.
    contributions: Vec<u64>,
}

fn task_prompt(model: &ModelDir) -> TaskPrompt {
    let blobs = task_blobs();
    let index = RowIndex::create_in_ram(&as_blobs(&blobs)).unwrap();
    let question = common::TASK.examples(1, 5)[0].prompt.clone();
    let sources = group_hits(&index.search(&question, 8).unwrap());
    assert!(sources.len() >= 3, "{sources:?}");
    let layout =
        PromptLayout::build(&model.tokenizer, None, model.special, &sources, &question).unwrap();
    TaskPrompt {
        contributions: sources.iter().map(|s| s.contribution).collect(),
        question,
        layout,
    }
}

impl TaskPrompt {
    /// The attribution of `answer` by the base model (model 2) from [`POOL`].
    fn request<'a>(&'a self, answer: &'a [u32]) -> AttributionRequest<'a> {
        AttributionRequest {
            model: 2,
            adapter: None,
            pool: POOL,
            question: &self.question,
            layout: &self.layout,
            contributions: &self.contributions,
            answer,
            prompt_slot: None,
        }
    }
}

#[test]
fn shared_prefix_scoring_equals_scoring_each_prompt_alone() {
    let (_dir, model, mut runtime) = small_model();
    let prompt = task_prompt(&model);
    let layout = &prompt.layout;
    let sources = prompt.contributions.len();
    let spans = layout.source_spans();
    let full = layout.full();
    for (span, segment) in spans.iter().zip(&layout.sources) {
        assert_eq!(&full[span.clone()], segment.as_slice());
    }
    let answer = [7u32, 12, 9];
    let mut masks = random_masks(&[9; 32], 6, sources).unwrap();
    masks.extend(leave_one_out_masks(sources));
    masks.push(masks[0].clone());
    let shared = answer_logprobs(&mut runtime, None, layout, &answer, &masks, 4).unwrap();
    assert_eq!(runtime.live_slots(), 0);
    assert_eq!(shared[0], shared[masks.len() - 1]);

    // Each prompt alone, through the burn model directly.
    let llama =
        Llama::from_checkpoint(&model.checkpoint, &Method::Full, &Device::default()).unwrap();
    for (mask, got) in masks.iter().zip(&shared) {
        let mut tokens = layout.tokens(mask);
        let first = tokens.len();
        tokens.extend(answer);
        let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        let input = Tensor::<2, Int>::from_data(
            TensorData::new(ids, [1, tokens.len()]),
            &Device::default(),
        );
        let logits: Vec<f32> = llama.forward(input).into_data().try_into_vec().unwrap();
        let vocab = runtime.config().vocab_size;
        for (t, &token) in answer.iter().enumerate() {
            let row = &logits[(first - 1 + t) * vocab..(first + t) * vocab];
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse = max + row.iter().map(|x| (x - max).exp()).sum::<f32>().ln();
            let expected = row[token as usize] - lse;
            assert!((got[t] - expected).abs() < 1e-4, "{} vs {expected}", got[t]);
        }
    }
}

#[test]
fn attribution_runs_end_to_end_and_is_deterministic() {
    let (_dir, model, mut runtime) = small_model();
    let prompt = task_prompt(&model);
    let answer = generate_greedy(&mut runtime, None, &prompt.layout.full(), 4, &[]).unwrap();
    assert_eq!(answer.len(), 4);
    let request = prompt.request(&answer);
    // The random model's logits hardly depend on the context (source effects ~1e-3): a
    // penalty that small keeps them, where 0.01 would zero every weight.
    let config = ContextCiteConfig {
        ablation: Ablation::Exact,
        ablations: 24,
        alpha: 1e-5,
        ..ContextCiteConfig::default()
    };
    let first = attribute(&mut runtime, &model.tokenizer, &request, &config).unwrap();
    let second = attribute(&mut runtime, &model.tokenizer, &request, &config).unwrap();
    assert_eq!(first, second);
    assert_eq!(first.masks.len(), 24);
    assert_eq!(first.sources.len(), prompt.contributions.len());
    assert!(first.entries.len() <= 16);
    let total: u32 = first.entries.iter().map(|e| e.weight_ppm).sum();
    assert!(total <= PARTS_PER_MILLION);
    for entry in &first.entries {
        assert!(entry.weight_ppm > 0);
        let source = first
            .sources
            .iter()
            .find(|s| s.contribution == entry.contribution)
            .unwrap();
        assert!(source.weight > 0.0);
    }
    assert_eq!(
        first.entries,
        attribution_entries(&prompt.contributions, &first.surrogate.weights).unwrap()
    );
    // The random model reads its context: some source moves the score.
    assert!(first.surrogate.weights.iter().any(|w| *w != 0.0));

    let [(again, quality)]: [_; 1] = answer_quality(
        &mut runtime,
        &model.tokenizer,
        &request,
        &[AttributionMethod::ContextCite(config)],
        24,
    )
    .unwrap()
    .try_into()
    .unwrap();
    assert_eq!(again, first);
    let lds = quality.lds.unwrap();
    // Measured: 1.0 (the tiny model's response to its sources is nearly linear).
    assert!(lds > 0.8, "LDS {lds}");
    let top = |values: &[f64]| {
        (0..values.len())
            .max_by(|&a, &b| values[a].total_cmp(&values[b]))
            .unwrap()
    };
    assert_eq!(top(&first.surrogate.weights), top(&quality.leave_one_out));
    assert_eq!(quality.leave_one_out.len(), prompt.contributions.len());
    assert!(quality.top1.leave_one_out >= quality.top1.random - 1e-9);
    assert_eq!(runtime.live_slots(), 0);
}

#[test]
fn spearman_is_rank_correlation() {
    assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 300.0]), Some(1.0));
    assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
    assert_eq!(spearman(&[1.0, 1.0, 1.0], &[3.0, 2.0, 1.0]), None);
    // Ties share their mean rank: ranks (1.5, 1.5, 3) against (1, 2, 3).
    let rho = spearman(&[5.0, 5.0, 7.0], &[1.0, 2.0, 3.0]).unwrap();
    assert!((rho - 0.866_025_4).abs() < 1e-6, "{rho}");
}

// ---- SmolLM2, when the cache holds it

#[test]
fn answer_sentences_split_after_sentence_ends() {
    let Some(path) = common::smollm2() else {
        eprintln!("SmolLM2 not in the cache: skipped");
        return;
    };
    let model = ModelDir::load(&path).unwrap();
    let answer = model
        .tokenizer
        .encode("It is grep. It searches text!\nDone", false)
        .unwrap()
        .get_ids()
        .to_vec();
    let sentences = answer_sentences(&model.tokenizer, &answer).unwrap();
    let texts: Vec<String> = sentences
        .iter()
        .map(|s| model.tokenizer.decode(&answer[s.clone()], false).unwrap())
        .collect();
    assert_eq!(
        texts,
        vec!["It is grep.", " It searches text!", "\n", "Done"]
    );
}

// ---- the same bits alone and under load

/// A runtime that runs the caller's passes another way; the caller gets its own logits.
struct Crowded {
    inner: NativeRuntime,
    /// With another request's rows in each pass (a prompt chunk of 1 to 6 tokens of these,
    /// asking for its last logits, before the caller's chunks on even passes and after them on
    /// odd ones), as the engine's batches mix requests; or, when `None`, every token in a pass
    /// of its own, as a sequence alone in decode steps.
    filler: Option<Vec<u32>>,
    passes: usize,
}

impl Runtime for Crowded {
    fn config(&self) -> &LlamaConfig {
        self.inner.config()
    }
    fn max_positions(&self) -> usize {
        self.inner.max_positions()
    }
    fn allocate(&mut self, adapter: Option<AdapterKey>) -> Result<SlotId> {
        self.inner.allocate(adapter)
    }
    fn fork(&mut self, from: SlotId, len: usize) -> Result<SlotId> {
        self.inner.fork(from, len)
    }
    fn release(&mut self, slot: SlotId) {
        self.inner.release(slot)
    }
    fn positions(&self, slot: SlotId) -> usize {
        self.inner.positions(slot)
    }
    fn forward(&mut self, chunks: &[Chunk<'_>]) -> Result<Vec<f32>> {
        self.passes += 1;
        let Some(filler) = &self.filler else {
            let mut logits = Vec::new();
            for chunk in chunks {
                for (i, token) in chunk.tokens.iter().enumerate() {
                    let last = i + 1 == chunk.tokens.len();
                    let wanted = match chunk.logits {
                        Logits::All => Logits::Last,
                        Logits::Last if last => Logits::Last,
                        _ => Logits::None,
                    };
                    logits.extend(self.inner.forward(&[Chunk {
                        slot: chunk.slot,
                        tokens: std::slice::from_ref(token),
                        logits: wanted,
                    }])?);
                }
            }
            return Ok(logits);
        };
        let other = self.inner.allocate(None)?;
        let extra = Chunk {
            slot: other,
            tokens: &filler[..1 + self.passes % 6],
            logits: Logits::Last,
        };
        let first = self.passes.is_multiple_of(2);
        let all: Vec<Chunk<'_>> = if first {
            std::iter::once(extra)
                .chain(chunks.iter().copied())
                .collect()
        } else {
            chunks
                .iter()
                .copied()
                .chain(std::iter::once(extra))
                .collect()
        };
        let logits = self.inner.forward(&all);
        self.inner.release(other);
        let mut logits = logits?;
        let vocab = self.config().vocab_size;
        if first {
            logits.drain(..vocab);
        } else {
            logits.truncate(logits.len() - vocab);
        }
        Ok(logits)
    }
    fn forward_hidden(
        &mut self,
        slot: SlotId,
        tokens: &[u32],
        hidden: &[Vec<Range<usize>>],
    ) -> Result<Vec<f32>> {
        self.inner.forward_hidden(slot, tokens, hidden)
    }
    fn load_adapter(&mut self, adapter: LoraWeights) -> Result<(AdapterKey, usize)> {
        self.inner.load_adapter(adapter)
    }
    fn unload_adapter(&mut self, key: AdapterKey) -> Result<()> {
        self.inner.unload_adapter(key)
    }
}

#[test]
fn an_attribution_is_the_same_bits_alone_under_load_and_on_any_thread_count() {
    // The served runtime on 4-bit weights (the SmolLM2 GGUF's format), `contextcite-v1`.
    let dir = common::model_dir();
    let model = ModelDir::load(dir.path()).unwrap();
    let weights = ModelWeights::open(dir.path()).unwrap();
    let native = |threads: usize| {
        NativeRuntime::load(
            &weights,
            RuntimeOptions {
                weights: WeightFormat::Q4,
                max_slots: 40,
                max_positions: 256,
                threads,
                kv: KvFormat::F32,
            },
        )
        .unwrap()
    };
    let prompt = task_prompt(&model);
    let layout = &prompt.layout;
    let answer = generate_greedy(&mut native(1), None, &layout.full(), 4, &[]).unwrap();
    let request = prompt.request(&answer);
    let config = |max_live_slots| ContextCiteConfig {
        ablation: Ablation::Exact,
        ablations: 24,
        alpha: 1e-5,
        max_live_slots,
    };
    // Alone: one thread, every mask's leaf in one pass.
    let mut alone = native(1);
    let reference = attribute(&mut alone, &model.tokenizer, &request, &config(32)).unwrap();
    let reference_logprobs =
        answer_logprobs(&mut alone, None, layout, &answer, &reference.masks, 32).unwrap();
    assert!(!reference.entries.is_empty(), "{reference:?}");
    assert!(reference.scores.iter().any(|s| *s != reference.scores[0]));
    for threads in [1, 2, 3] {
        // Leaves in passes of 1, 3 or all masks, with and without another request's rows in
        // every pass, and token by token.
        for slots in [1, 3, 32] {
            let mut quiet = native(threads);
            let mut crowded = Crowded {
                inner: native(threads),
                filler: Some(answer.iter().chain(&layout.prefix).copied().collect()),
                passes: 0,
            };
            let mut stepped = Crowded {
                inner: native(threads),
                filler: None,
                passes: 0,
            };
            let runtimes: [&mut dyn Runtime; 3] = [&mut quiet, &mut crowded, &mut stepped];
            let loads = ["quiet", "crowded", "token by token"];
            for (load, runtime) in loads.into_iter().zip(runtimes) {
                let logprobs = answer_logprobs(
                    &mut *runtime,
                    None,
                    layout,
                    &answer,
                    &reference.masks,
                    slots,
                )
                .unwrap();
                assert!(
                    logprobs == reference_logprobs,
                    "{threads} threads, {slots} slots, {load}: log-probabilities differ"
                );
                let got =
                    attribute(&mut *runtime, &model.tokenizer, &request, &config(slots)).unwrap();
                assert_eq!(got, reference, "{threads} threads, {slots} slots, {load}");
            }
            assert!(crowded.passes > 0 && stepped.passes > 0);
        }
    }
}

// ---- AT2: attention features weighted by per-head coefficients

/// A deterministic stream in [0, 1) (an LCG), for synthetic calibration data.
fn uniform_stream(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn theta_file(config: &LlamaConfig, model_hash: &str) -> ThetaFile {
    let width = config.num_hidden_layers * config.num_attention_heads;
    ThetaFile {
        format: THETA_FORMAT.to_string(),
        model_blake2b_256: model_hash.to_string(),
        layers: config.num_hidden_layers,
        heads: config.num_attention_heads,
        ridge: 0.1,
        calibration: Default::default(),
        theta_q32: (0..width as i64)
            .map(|k| (1 << 32) - 1_288_490_189 * k)
            .collect(),
    }
}

/// The task prompt, a runtime on two threads, and the base model's greedy answer of 4 tokens.
fn answered_task(model: &ModelDir) -> (TaskPrompt, NativeRuntime, Vec<u32>) {
    let prompt = task_prompt(model);
    let mut runtime = native_runtime(model, 2);
    let answer = generate_greedy(&mut runtime, None, &prompt.layout.full(), 4, &[]).unwrap();
    (prompt, runtime, answer)
}

fn native_runtime(model: &ModelDir, threads: usize) -> NativeRuntime {
    NativeRuntime::load(
        &model.checkpoint,
        RuntimeOptions {
            weights: WeightFormat::F32,
            max_slots: 8,
            max_positions: 256,
            threads,
            kv: KvFormat::F32,
        },
    )
    .unwrap()
}

/// The small random model in `f32` and a θ file for it (model hash `ab12`).
fn model_with_theta() -> (tempfile::TempDir, ModelDir, Theta) {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), StoredDtype::F32);
    let model = ModelDir::load(dir.path()).unwrap();
    let config = model.checkpoint.config.clone();
    let theta = Theta::parse(
        &serde_json::to_vec(&theta_file(&config, "ab12")).unwrap(),
        "ab12",
        &config,
    )
    .unwrap();
    (dir, model, theta)
}

/// `method`'s attribution `first` of `request` is the same bits again, from the generation's
/// kept prompt and on one thread; a runtime that cannot capture attention and a prompt slot
/// that does not hold the prompt are refused.
fn same_bits_everywhere_and_bad_runtimes_refused(
    model: &ModelDir,
    runtime: &mut NativeRuntime,
    request: &AttributionRequest<'_>,
    method: &AttributionMethod,
    first: &AnswerAttribution,
) {
    let tokenizer = &model.tokenizer;
    assert_eq!(
        &method.attribute(runtime, tokenizer, request).unwrap(),
        first
    );
    let (answer, kept) = attribution_worker::rag::quality::generate_keeping_prompt(
        runtime,
        None,
        &request.layout.full(),
        request.answer.len(),
        &[],
    )
    .unwrap();
    assert_eq!(answer, request.answer);
    let from_kept = AttributionRequest {
        prompt_slot: Some(kept),
        ..*request
    };
    let kept_attribution = method.attribute(runtime, tokenizer, &from_kept);
    runtime.release(kept);
    assert_eq!(&kept_attribution.unwrap(), first);
    let mut one_thread = native_runtime(model, 1);
    assert_eq!(
        &method
            .attribute(&mut one_thread, tokenizer, request)
            .unwrap(),
        first
    );

    let (_ref_dir, _, mut reference) = small_model();
    let err = method
        .attribute(&mut reference, tokenizer, request)
        .unwrap_err();
    assert!(format!("{err:#}").contains("does not capture"), "{err:#}");
    let short = runtime.allocate(None).unwrap();
    let wrong = AttributionRequest {
        prompt_slot: Some(short),
        ..*request
    };
    let err = method.attribute(runtime, tokenizer, &wrong).unwrap_err();
    runtime.release(short);
    assert!(err.to_string().contains("positions"), "{err:#}");
}

#[test]
fn at2_weights_are_theta_on_the_answers_attention_and_the_same_bits_every_time() {
    let (_dir, model, theta) = model_with_theta();
    let method = AttributionMethod::At2(std::sync::Arc::new(theta.clone()));
    assert!(method.name().starts_with("at2-v1:"), "{}", method.name());
    assert_eq!(method.name(), theta.method());

    let (prompt, mut runtime, answer) = answered_task(&model);
    let request = prompt.request(&answer);
    let first = method
        .attribute(&mut runtime, &model.tokenizer, &request)
        .unwrap();
    assert!(first.masks.is_empty() && first.scores.is_empty());
    assert_eq!(first.seed, theta.hash);

    // By hand: the answer's rows after the prompt, their weight on each source.
    let full = prompt.layout.full();
    let mut rows = vec![*full.last().unwrap()];
    rows.extend(&answer[..answer.len() - 1]);
    let slot = runtime.allocate(None).unwrap();
    runtime
        .forward(&[Chunk {
            slot,
            tokens: &full[..full.len() - 1],
            logits: Logits::None,
        }])
        .unwrap();
    let spans = prompt.layout.source_spans();
    let mass = runtime.forward_attention(slot, &rows, &spans).unwrap();
    runtime.release(slot);
    let width = theta.theta.len();
    let expected: Vec<f64> = (0..spans.len())
        .map(|j| {
            let mut w = 0.0;
            for t in 0..rows.len() {
                for (k, coefficient) in theta.theta.iter().enumerate() {
                    w += coefficient * f64::from(mass[(t * width + k) * spans.len() + j]);
                }
            }
            w / rows.len() as f64
        })
        .collect();
    for (got, want) in first.surrogate.weights.iter().zip(&expected) {
        assert!(
            (got - want).abs() < 1e-9 * want.abs().max(1.0),
            "{got} vs {want}"
        );
    }
    assert!(first.surrogate.weights.iter().any(|w| *w != 0.0));
    assert_eq!(
        first.entries,
        attribution_entries(&prompt.contributions, &first.surrogate.weights).unwrap()
    );

    same_bits_everywhere_and_bad_runtimes_refused(&model, &mut runtime, &request, &method, &first);
}

#[test]
fn theta_files_are_checked_against_the_model() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), StoredDtype::F32);
    let model = ModelDir::load(dir.path()).unwrap();
    let config = model.checkpoint.config.clone();
    let good = theta_file(&config, "ab12");
    let bytes = serde_json::to_vec(&good).unwrap();
    let theta = Theta::parse(&bytes, "ab12", &config).unwrap();
    assert_eq!(theta.file, good);
    // The method names the file's own hash: other bytes, another identity.
    let pretty = serde_json::to_vec_pretty(&good).unwrap();
    assert_ne!(
        Theta::parse(&pretty, "ab12", &config).unwrap().method(),
        theta.method()
    );

    let refused = |file: &ThetaFile, hash: &str| {
        let bytes = serde_json::to_vec(file).unwrap();
        format!("{:#}", Theta::parse(&bytes, hash, &config).unwrap_err())
    };
    assert!(refused(&good, "cd34").contains("fitted on the model ab12"));
    let mut other = good.clone();
    other.format = "attribution-chain/at2-theta/v0".into();
    assert!(refused(&other, "ab12").contains("format"));
    let mut other = good.clone();
    other.heads += 1;
    assert!(refused(&other, "ab12").contains("heads"));
    let mut other = good.clone();
    other.theta_q32.pop();
    assert!(refused(&other, "ab12").contains("coefficients"));
    let err = Theta::parse(b"{\"theta\": []}", "ab12", &config).unwrap_err();
    assert!(format!("{err:#}").contains("not a θ file"), "{err:#}");
    let missing = dir.path().join("nope.json");
    let err = Theta::load(&missing, "ab12", &config).unwrap_err();
    assert!(format!("{err:#}").contains("nope.json"), "{err:#}");

    // An operator's file is read and checked; without one, the committed file for the model.
    let path = dir.path().join("ab12.json");
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(
        theta_for(Some(&path), "ab12", &config).unwrap(),
        Some(theta)
    );
    let err = theta_for(Some(&path), "cd34", &config).unwrap_err();
    assert!(
        format!("{err:#}").contains("fitted on the model ab12"),
        "{err:#}"
    );
    assert_eq!(theta_for(None, "ab12", &config).unwrap(), None);
    let smollm2 = "d63af87b96e2fd6551e9e7320602f3934f34c41a91004117dd24981571d02f79";
    let err = theta_for(None, smollm2, &config).unwrap_err();
    assert!(
        format!("{err:#}").contains("committed AT2 coefficients")
            && format!("{err:#}").contains("layers"),
        "{err:#}"
    );
}

/// Calibration answers whose exact scores are linear in the masked attention features under
/// `truth`, plus an intercept per answer and a little noise.
fn synthetic_calibration(truth: &[f64], answers: usize, seed: u64) -> Vec<CalibrationAnswer> {
    let mut next = uniform_stream(seed);
    (0..answers)
        .map(|q| {
            let sources = 3 + q % 4;
            let features: Vec<Vec<f64>> = (0..sources)
                .map(|_| truth.iter().map(|_| next() * 0.2).collect())
                .collect();
            let masks: Vec<Vec<bool>> = (0..24)
                .map(|_| (0..sources).map(|_| next() < 0.5).collect())
                .collect();
            let intercept = 10.0 * next() - 5.0;
            let scores = masks
                .iter()
                .map(|mask| {
                    let effect: f64 = features
                        .iter()
                        .zip(mask)
                        .filter(|(_, &keep)| keep)
                        .map(|(a, _)| a.iter().zip(truth).map(|(x, t)| x * t).sum::<f64>())
                        .sum();
                    intercept + effect + 0.01 * (next() - 0.5)
                })
                .collect();
            CalibrationAnswer {
                package: format!("p{q}"),
                features,
                masks,
                scores,
            }
        })
        .collect()
}

#[test]
fn fitted_theta_predicts_held_out_ablations_of_the_same_structure() {
    // Heads of both signs, summing to 0: a uniform θ predicts nothing.
    let truth = [3.0, -3.0, 0.0, 2.0, -2.0, 0.0];
    let calibration = synthetic_calibration(&truth, 16, 1);
    let fitted = fit_theta(&calibration, "ab12", 2, 3).unwrap();
    assert_eq!(fitted, fit_theta(&calibration, "ab12", 2, 3).unwrap());
    assert_eq!((fitted.layers, fitted.heads), (2, 3));
    assert_eq!(fitted.calibration.answers, 16);
    assert_eq!(fitted.calibration.masks, 16 * 24);
    assert_eq!(fitted.calibration.cross_validated.len(), RIDGE_GRID.len());
    assert!(
        fitted.calibration.in_sample > 0.95,
        "{:?}",
        fitted.calibration
    );
    let evaluation = synthetic_calibration(&truth, 8, 2);
    let held: Vec<&CalibrationAnswer> = evaluation.iter().collect();
    let lds = mean_spearman(&fitted.coefficients(), &held);
    assert!(lds > 0.95, "{lds}");
    // Against coefficients that ignore the heads' signs.
    assert!(mean_spearman(&[1.0; 6], &held) < lds - 0.5);

    // Bad input.
    let err = fit_theta(&calibration[..1], "ab12", 2, 3).unwrap_err();
    assert!(err.to_string().contains("at least 2"), "{err}");
    let err = fit_theta(&calibration, "ab12", 3, 3).unwrap_err();
    assert!(err.to_string().contains("9 features"), "{err}");
    let mut short = calibration.clone();
    short[3].scores.pop();
    assert!(fit_theta(&short, "ab12", 2, 3).is_err());
    let flat: Vec<CalibrationAnswer> = calibration
        .iter()
        .cloned()
        .map(|mut a| {
            a.scores.iter_mut().for_each(|s| *s = 1.0);
            a
        })
        .collect();
    let err = fit_theta(&flat, "ab12", 2, 3).unwrap_err();
    assert!(format!("{err:#}").contains("vary"), "{err:#}");
}

#[test]
fn calibration_and_evaluation_packages_are_disjoint_halves() {
    let names: Vec<String> = (0..1000).map(|i| format!("package-{i}")).collect();
    let calibration = names.iter().filter(|n| calibration_package(n)).count();
    assert!((400..600).contains(&calibration), "{calibration}");
    for name in &names {
        assert_eq!(calibration_package(name), calibration_package(name));
    }
}

// ---- contextcite-prior-v1: a few exact ablations fitted toward AT2's weights

#[test]
fn scoring_from_the_kept_prompt_is_the_exact_ablation_to_the_bit() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), StoredDtype::F32);
    let model = ModelDir::load(dir.path()).unwrap();
    let prompt = task_prompt(&model);
    let layout = &prompt.layout;
    let sources = prompt.contributions.len();
    let mut runtime = native_runtime(&model, 2);
    let (answer, kept) = attribution_worker::rag::quality::generate_keeping_prompt(
        &mut runtime,
        None,
        &layout.full(),
        4,
        &[],
    )
    .unwrap();
    let mut masks = prior_masks(&[3; 32], 5, sources).unwrap();
    masks.extend(leave_one_out_masks(sources));
    masks.push(masks[2].clone());
    let forked =
        answer_logprobs_from_prompt(&mut runtime, layout, &answer, &masks, kept, 3).unwrap();
    let trie = answer_logprobs(&mut runtime, None, layout, &answer, &masks, 4).unwrap();
    assert_eq!(forked, trie);
    // The kept prompt is left as it was: again, the same bits.
    assert_eq!(
        answer_logprobs_from_prompt(&mut runtime, layout, &answer, &masks, kept, 7).unwrap(),
        trie
    );

    // Bad input: a slot that does not hold the prompt, a mask over other sources, no answer.
    // A slot limit of 0 still scores one mask at a time.
    assert_eq!(
        answer_logprobs_from_prompt(&mut runtime, layout, &answer, &masks, kept, 0).unwrap(),
        trie
    );
    let short = runtime.fork(kept, 3).unwrap();
    let err =
        answer_logprobs_from_prompt(&mut runtime, layout, &answer, &masks, short, 8).unwrap_err();
    assert!(err.to_string().contains("positions"), "{err}");
    let err = answer_logprobs_from_prompt(&mut runtime, layout, &answer, &[vec![true]], kept, 8)
        .unwrap_err();
    assert!(err.to_string().contains("a mask over 1 sources"), "{err}");
    let err = answer_logprobs_from_prompt(&mut runtime, layout, &[], &masks, kept, 8).unwrap_err();
    assert!(err.to_string().contains("no answer"), "{err}");
    runtime.release(short);
    runtime.release(kept);
}

#[test]
fn the_prior_fit_recovers_linear_scores_and_refuses_bad_input() {
    let truth = [2.0, -1.0, 0.5, 3.0, 0.0];
    let masks = prior_masks(&[7; 32], 6, truth.len()).unwrap();
    assert_eq!(masks.len(), truth.len() + 1 + 6);
    for (j, mask) in masks[..=truth.len()].iter().enumerate() {
        let kept: Vec<bool> = (0..truth.len()).map(|i| i < j).collect();
        assert_eq!(mask, &kept);
    }
    assert_eq!(
        &masks[truth.len() + 1..],
        random_masks(&[7; 32], 6, 5).unwrap()
    );
    let scores: Vec<f64> = masks
        .iter()
        .map(|m| {
            -4.0 + m
                .iter()
                .zip(&truth)
                .filter(|(&k, _)| k)
                .map(|(_, w)| w)
                .sum::<f64>()
        })
        .collect();
    // A prior proportional to the truth: recovered (whatever its scale), no correction needed
    // (up to the tiny penalty on its scale).
    let prior: Vec<f64> = truth.iter().map(|w| w * 0.1).collect();
    let fit = fit_with_prior(&masks, &scores, &prior, 0.3).unwrap();
    for (got, want) in fit.weights.iter().zip(&truth) {
        assert!((got - want).abs() < 1e-6, "{:?}", fit.weights);
    }
    assert!((fit.intercept + 4.0).abs() < 1e-6);
    assert_eq!(fit, fit_with_prior(&masks, &scores, &prior, 0.3).unwrap());
    // A wrong prior (all zero, or backwards): the masks correct it (the prefix path alone pins
    // every weight), up to the ridge's pull.
    for prior in [vec![0.0; 5], truth.iter().map(|w| -w).collect()] {
        let fit = fit_with_prior(&masks, &scores, &prior, 1e-6).unwrap();
        for (got, want) in fit.weights.iter().zip(&truth) {
            assert!((got - want).abs() < 1e-3, "{:?}", fit.weights);
        }
    }
    // A strong ridge keeps the weights near the prior's shape where the masks would move them.
    let zero = vec![0.0; 5];
    let shrunk = fit_with_prior(&masks, &scores, &zero, 1e6).unwrap();
    assert!(
        shrunk.weights.iter().all(|w| w.abs() < 1e-3),
        "{:?}",
        shrunk.weights
    );

    // Bad input.
    assert!(fit_with_prior(&masks, &scores[1..], &prior, 0.3).is_err());
    assert!(fit_with_prior(&[], &[], &prior, 0.3).is_err());
    assert!(fit_with_prior(&masks, &scores, &prior[1..], 0.3).is_err());
    for ridge in [0.0, -1.0, f64::NAN] {
        let err = fit_with_prior(&masks, &scores, &prior, ridge).unwrap_err();
        assert!(err.to_string().contains("ridge"), "{err}");
    }
    let mut bad = scores.clone();
    bad[2] = f64::INFINITY;
    assert!(fit_with_prior(&masks, &bad, &prior, 0.3).is_err());
    assert!(fit_with_prior(&masks, &scores, &[f64::NAN; 5], 0.3).is_err());
}

#[test]
fn prior_attribution_is_its_rule_on_exact_scores_and_the_same_bits_every_time() {
    let (_dir, model, theta) = model_with_theta();
    let theta = std::sync::Arc::new(theta);
    let prior_config = PriorConfig::new(theta.clone());
    let method = AttributionMethod::Prior(prior_config.clone());
    assert_eq!(
        method.name(),
        format!("{PRIOR_METHOD}:{}", &theta.method()["at2-v1:".len()..])
    );
    let other = PriorConfig {
        random: 2,
        ..prior_config.clone()
    };
    assert!(other.method().contains("random=2"), "{}", other.method());

    let (prompt, mut runtime, answer) = answered_task(&model);
    let sources = prompt.contributions.len();
    let request = prompt.request(&answer);
    let first = method
        .attribute(&mut runtime, &model.tokenizer, &request)
        .unwrap();

    // The rule by hand: its seed and masks, v1's exact scores, AT2's weights, the fit, ppm.
    let seed = ablation_seed(PRIOR_SEED_DOMAIN, 2, POOL, &prompt.question, &answer);
    assert_eq!(first.seed, seed);
    let masks = prior_masks(&seed, DEFAULT_RANDOM, sources).unwrap();
    assert_eq!(first.masks, masks);
    let exact: Vec<f64> = answer_logprobs(&mut runtime, None, &prompt.layout, &answer, &masks, 8)
        .unwrap()
        .iter()
        .map(|l| logit_probability(l))
        .collect();
    assert_eq!(first.scores, exact);
    let at2 = attribute_at2(&mut runtime, &model.tokenizer, &request, &theta).unwrap();
    let fit = fit_with_prior(&masks, &exact, &at2.surrogate.weights, DEFAULT_RIDGE).unwrap();
    assert_eq!(first.surrogate, fit);
    assert!(first.surrogate.weights.iter().any(|w| *w != 0.0));
    assert_eq!(
        first.entries,
        attribution_entries(&prompt.contributions, &fit.weights).unwrap()
    );
    // A changed score (a tampered record's) gives other weights.
    let mut tampered = exact.clone();
    tampered[0] += 1.0;
    assert_ne!(
        fit_with_prior(&masks, &tampered, &at2.surrogate.weights, DEFAULT_RIDGE).unwrap(),
        fit
    );

    same_bits_everywhere_and_bad_runtimes_refused(&model, &mut runtime, &request, &method, &first);

    // Bad input: coefficients for another model's heads, contributions that are not the
    // sources'.
    let mut wrong_theta = (*theta).clone();
    wrong_theta.theta.pop();
    let err = attribute_with_prior(
        &mut runtime,
        &model.tokenizer,
        &request,
        &PriorConfig::new(std::sync::Arc::new(wrong_theta)),
    )
    .unwrap_err();
    assert!(err.to_string().contains("coefficients"), "{err:#}");
    let fewer = AttributionRequest {
        contributions: &prompt.contributions[1..],
        ..request
    };
    let err =
        attribute_with_prior(&mut runtime, &model.tokenizer, &fewer, &prior_config).unwrap_err();
    assert!(err.to_string().contains("contributions"), "{err:#}");
}
