//! How good an attribution is, and what it costs.
//!
//! - **LDS** (linear datamodeling score): Spearman's rank correlation, over held-out random
//!   masks (seeded from [`HELD_OUT_DOMAIN`], never the fitted ones), between the surrogate's
//!   predicted score and the model's actual score.
//! - **Top-k removal drop**: the answer's score with every source minus its score with the k
//!   top-ranked sources removed (larger: the ranking found what the answer depends on), for
//!   ContextCite's ranking, leave-one-out's (one pass per source, the reference) and random
//!   rankings (the floor; mean of [`RANDOM_RANKINGS`] seeded draws).
//! - **Cost**: attribution wall time over the answer's generation time, for ContextCite and for
//!   span provenance (`crate::provenance`, over the same rows) apart.
//!
//! [`attribution_benchmark`] measures them on real text whose source is known: the Debian
//! package descriptions of `/var/lib/dpkg/status`, one row per package, a question naming one
//! package's summary and asking for the package, answered in exactly one retrieved row.

use super::ablation::{
    ablation_seed, answer_logprobs, leave_one_out_masks, logit_probability, random_masks, Ablation,
    Mask, HELD_OUT_DOMAIN, SEED_DOMAIN,
};
use super::at2::{answer_features, calibration_package, CalibrationAnswer};
use super::attribution::{AnswerAttribution, AttributionRequest, ContextCiteConfig};
use super::index::{Blob, RowIndex};
use super::method::Method;
use super::prompt::{group_hits, PromptLayout, Source};
use crate::job::ModelDir;
use crate::provenance::index::SpanIndex;
use crate::serve::runtime::{AdapterKey, Chunk, Logits, Runtime, SlotId};
use crate::serve::sampling::argmax;
use anyhow::{anyhow, bail, Context, Result};
use attribution_primitives::attribution::AttributionEntry;
use attribution_primitives::traits::PoolId;
use attribution_primitives::ContributionId;
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use serde::Serialize;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Random rankings averaged for the random baseline.
pub const RANDOM_RANKINGS: usize = 4;

/// Spearman's rank correlation (ties take their mean rank); `None` when either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let mean = (a.len() as f64 + 1.0) / 2.0;
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        cov += (x - mean) * (y - mean);
        va += (x - mean) * (x - mean);
        vb += (y - mean) * (y - mean);
    }
    (va > 0.0 && vb > 0.0).then(|| cov / (va * vb).sqrt())
}

/// 1-based ranks, tied values sharing their mean rank.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end + 1) as f64 / 2.0;
        for &index in &order[start..end] {
            ranks[index] = rank;
        }
        start = end;
    }
    ranks
}

/// Score drops when the top-k sources of each ranking are removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct RemovalDrops {
    pub context_cite: f64,
    pub leave_one_out: f64,
    pub random: f64,
}

/// The quality figures of one attributed answer.
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerQuality {
    /// `None` when the held-out scores (or predictions) are all equal.
    pub lds: Option<f64>,
    pub top1: RemovalDrops,
    pub top3: RemovalDrops,
    /// Leave-one-out: the score drop when each source alone is removed.
    pub leave_one_out: Vec<f64>,
    pub attribution_seconds: f64,
}

/// Sources ordered by `values` (largest first; ties: earlier source first).
fn ranking(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order
}

/// The mask without the first `k` sources of `ranking`.
fn without(ranking: &[usize], k: usize) -> Mask {
    let mut keep = vec![true; ranking.len()];
    for &source in ranking.iter().take(k) {
        keep[source] = false;
    }
    keep
}

/// A random ranking of `sources` drawn from `seed`: sources ordered by BLAKE2b-256(`seed ‖ draw
/// (u32 LE) ‖ source (u32 LE)`).
fn random_ranking(seed: &[u8; 32], draw: u32, sources: usize) -> Vec<usize> {
    let key = |source: usize| -> [u8; 32] {
        let mut hasher = Blake2b::<U32>::new();
        hasher.update(seed);
        hasher.update(draw.to_le_bytes());
        hasher.update((source as u32).to_le_bytes());
        hasher.finalize().into()
    };
    let mut order: Vec<usize> = (0..sources).collect();
    order.sort_by_key(|&source| key(source));
    order
}

/// Attributes `request` once per entry of `methods` (each in turn, timed) and measures
/// every attribution against the same ground truth, the exact ablation: `held_out` fresh masks
/// (LDS), and the removal of each ranking's top-k sources against leave-one-out's and random
/// rankings'. Returns each method's attribution and quality, in the order of `methods`.
pub fn answer_quality<R: Runtime + ?Sized>(
    runtime: &mut R,
    tokenizer: &tokenizers::Tokenizer,
    request: &AttributionRequest<'_>,
    methods: &[Method],
    held_out: usize,
) -> Result<Vec<(AnswerAttribution, AnswerQuality)>> {
    let mut attributions = Vec::with_capacity(methods.len());
    for method in methods {
        let started = Instant::now();
        let attribution = method.attribute(runtime, tokenizer, request)?;
        attributions.push((attribution, started.elapsed().as_secs_f64()));
    }
    let max_live_slots = methods
        .iter()
        .map(Method::max_live_slots)
        .max()
        .unwrap_or(1)
        .max(ContextCiteConfig::default().max_live_slots);

    let sources = request.layout.sources.len();
    let seed = ablation_seed(
        HELD_OUT_DOMAIN,
        request.model,
        request.pool,
        request.question,
        request.answer,
    );
    let random: Vec<Vec<usize>> = (0..RANDOM_RANKINGS as u32)
        .map(|draw| random_ranking(&seed, draw, sources))
        .collect();
    let rankings: Vec<Vec<usize>> = attributions
        .iter()
        .map(|(a, _)| ranking(&a.surrogate.weights))
        .collect();
    // One scoring call: held-out masks, every source, leave-one-out, the random top-k removals
    // and each method's (they share the trie).
    let mut masks = random_masks(&seed, held_out, sources)?;
    masks.push(vec![true; sources]);
    masks.extend(leave_one_out_masks(sources));
    for k in [1, 3] {
        masks.extend(random.iter().map(|r| without(r, k)));
        masks.extend(rankings.iter().map(|r| without(r, k)));
    }
    let exact = |runtime: &mut R, masks: &[Mask]| -> Result<Vec<f64>> {
        Ok(answer_logprobs(
            runtime,
            request.adapter,
            request.layout,
            request.answer,
            masks,
            max_live_slots,
        )?
        .iter()
        .map(|l| logit_probability(l))
        .collect())
    };
    let scores = exact(runtime, &masks)?;
    let (held, rest) = scores.split_at(held_out);
    let full = rest[0];
    let leave_one_out: Vec<f64> = rest[1..=sources].iter().map(|s| full - s).collect();
    let removals = &rest[1 + sources..];
    let loo_ranking = ranking(&leave_one_out);
    let loo_top3 = exact(runtime, &[without(&loo_ranking, 3)])?[0];
    let block = RANDOM_RANKINGS + rankings.len();
    let random_drop = |k_block: &[f64]| {
        k_block[..RANDOM_RANKINGS]
            .iter()
            .map(|s| full - s)
            .sum::<f64>()
            / RANDOM_RANKINGS as f64
    };
    let (top1, top3) = (&removals[..block], &removals[block..2 * block]);
    Ok(attributions
        .into_iter()
        .enumerate()
        .map(|(method, (attribution, attribution_seconds))| {
            let predicted: Vec<f64> = masks[..held_out]
                .iter()
                .map(|m| attribution.surrogate.predict(m))
                .collect();
            let quality = AnswerQuality {
                lds: spearman(&predicted, held),
                top1: RemovalDrops {
                    context_cite: full - top1[RANDOM_RANKINGS + method],
                    leave_one_out: leave_one_out[loo_ranking[0]],
                    random: random_drop(top1),
                },
                top3: RemovalDrops {
                    context_cite: full - top3[RANDOM_RANKINGS + method],
                    leave_one_out: full - loo_top3,
                    random: random_drop(top3),
                },
                leave_one_out: leave_one_out.clone(),
                attribution_seconds,
            };
            (attribution, quality)
        })
        .collect())
}

/// Greedy decoding of up to `max_new_tokens` after `prompt` with `adapter` (the base when
/// `None`), stopping before a token of `stop`; one slot, the prompt prefilled in one chunk,
/// then one token per pass.
pub fn generate_greedy<R: Runtime + ?Sized>(
    runtime: &mut R,
    adapter: Option<AdapterKey>,
    prompt: &[u32],
    max_new_tokens: usize,
    stop: &[u32],
) -> Result<Vec<u32>> {
    let (answer, kept) = generate_keeping_prompt(runtime, adapter, prompt, max_new_tokens, stop)?;
    runtime.release(kept);
    Ok(answer)
}

/// [`generate_greedy`], also returning a slot that holds the prompt's cache but its last token
/// (what attention knockout scores from, [`AttributionRequest::prompt_slot`]); the caller
/// releases it.
pub fn generate_keeping_prompt<R: Runtime + ?Sized>(
    runtime: &mut R,
    adapter: Option<AdapterKey>,
    prompt: &[u32],
    max_new_tokens: usize,
    stop: &[u32],
) -> Result<(Vec<u32>, crate::serve::runtime::SlotId)> {
    if prompt.is_empty() {
        bail!("the prompt is empty");
    }
    let slot = runtime.allocate(adapter)?;
    let result: Result<(Vec<u32>, crate::serve::runtime::SlotId)> = (|| {
        let mut answer = Vec::new();
        let mut input = prompt.to_vec();
        while answer.len() < max_new_tokens {
            let logits = runtime.forward(&[Chunk {
                slot,
                tokens: &input,
                logits: Logits::Last,
            }])?;
            if logits.is_empty() {
                bail!("the runtime returned no logits");
            }
            let next = argmax(&logits);
            if stop.contains(&next) {
                break;
            }
            answer.push(next);
            input = vec![next];
        }
        Ok((answer, runtime.fork(slot, prompt.len() - 1)?))
    })();
    runtime.release(slot);
    result
}

/// One package of `/var/lib/dpkg/status` as a datanet row.
#[derive(Clone, Debug, PartialEq)]
pub struct PackageRow {
    pub package: String,
    /// The one-line description.
    pub summary: String,
    /// The JSONL row: `{"prompt": "What is the Debian package P?", "completion": "P: summary.
    /// first sentence of the long description"}` (as the e2e demo builds its datanet).
    pub jsonl: String,
}

/// The package descriptions the benchmarks read: the dpkg status file at `path`, or this
/// machine's `apt-cache dumpavail`.
pub fn packages_text(path: Option<&Path>) -> Result<String> {
    if let Some(path) = path {
        return std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()));
    }
    let output = Command::new("apt-cache")
        .arg("dumpavail")
        .output()
        .context("running apt-cache dumpavail")?;
    if !output.status.success() {
        bail!(
            "apt-cache dumpavail failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// The lines of a dpkg stanza's long description up to its first paragraph break, trimmed.
pub fn long_description(stanza: &str) -> Vec<&str> {
    stanza
        .lines()
        .skip_while(|l| !l.starts_with("Description:"))
        .skip(1)
        .take_while(|l| l.starts_with(' ') && l.trim() != ".")
        .map(str::trim)
        .collect()
}

/// The packages of a dpkg status file that have a description.
pub fn debian_rows(status: &str) -> Vec<PackageRow> {
    let mut rows = Vec::new();
    for stanza in status.split("\n\n") {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::trim)
        };
        let (Some(package), Some(summary)) = (field("Package:"), field("Description:")) else {
            continue;
        };
        let long = long_description(stanza);
        let mut completion = format!("{package}: {summary}.");
        if !long.is_empty() {
            let text = long.join(" ");
            let first = text.split_inclusive(". ").next().unwrap_or(&text).trim();
            completion = format!("{completion} {first}");
        }
        let jsonl = serde_json::json!({
            "prompt": format!("What is the Debian package {package}?"),
            "completion": completion,
        })
        .to_string();
        rows.push(PackageRow {
            package: package.to_string(),
            summary: summary.to_string(),
            jsonl,
        });
    }
    rows
}

/// The benchmark's settings.
#[derive(Clone, Debug)]
pub struct BenchmarkConfig {
    /// Questions asked (fewer if the data has fewer usable packages).
    pub questions: usize,
    /// Rows per contribution blob (consecutive packages).
    pub rows_per_contribution: usize,
    /// Rows retrieved per question.
    pub retrieved: usize,
    pub max_answer_tokens: usize,
    /// The methods compared on every answer, in this order (A/B in one run).
    pub methods: Vec<Method>,
    /// Held-out masks for the LDS.
    pub held_out: usize,
    /// Which packages are asked about: AT2's calibration split or the evaluation one
    /// ([`calibration_package`]), so a fit is never judged on its own packages.
    pub split: Split,
}

/// The benchmark's packages, in two disjoint halves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Calibration,
    Evaluation,
}

impl Default for BenchmarkConfig {
    fn default() -> Self {
        Self {
            questions: 12,
            rows_per_contribution: 4,
            retrieved: 6,
            max_answer_tokens: 24,
            methods: [Ablation::Exact, Ablation::Knockout]
                .map(|ablation| {
                    Method::ContextCite(ContextCiteConfig {
                        ablation,
                        ..ContextCiteConfig::default()
                    })
                })
                .to_vec(),
            held_out: 32,
            split: Split::Evaluation,
        }
    }
}

/// One method's figures in the benchmark (means over questions).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MethodFigures {
    pub method: String,
    pub ablations_mean: f64,
    /// Mean LDS against the exact ablation's held-out scores, over the answers where it is
    /// defined, and how many those are.
    pub lds_mean: f64,
    pub lds_answers: usize,
    /// Exact-ablation score drops when this method's (leave-one-out's, random) top-k sources
    /// are removed.
    pub top1_drop: RemovalDrops,
    pub top3_drop: RemovalDrops,
    /// Answers whose top source (positive weight) is the contribution holding the package's row.
    pub top1_correct: usize,
    /// Answers whose top source is the first method's top source.
    pub top1_agrees_with_first: usize,
    pub attribution_seconds_mean: f64,
    /// Total attribution time over total generation time.
    pub cost_ratio: f64,
}

/// One method's figures on one answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnswerMethodFigures {
    pub ablations: usize,
    pub lds: Option<f64>,
    pub top1_drop: RemovalDrops,
    pub top3_drop: RemovalDrops,
    /// The top source (positive weight), 0-based in prompt order.
    pub top_source: Option<usize>,
    pub attribution_seconds: f64,
    /// The entries the method serves (parts per million a contribution): two runs' files
    /// compare answer by answer where their `answer`s agree (`docs/attribution.md`).
    pub entries: Vec<AttributionEntry>,
}

/// One answer's figures: the spread behind the means.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnswerFigures {
    pub package: String,
    pub answer: String,
    pub sources: usize,
    pub answer_tokens: usize,
    /// The source holding the package's row, 0-based in prompt order.
    pub truth: usize,
    pub generation_seconds: f64,
    /// Per method, in the order of [`BenchmarkConfig::methods`].
    pub methods: Vec<AnswerMethodFigures>,
}

/// The benchmark's figures (means over questions).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttributionFigures {
    pub questions: usize,
    pub rows_indexed: u64,
    pub sources_mean: f64,
    pub answer_tokens_mean: f64,
    /// Per method, in the order of [`BenchmarkConfig::methods`].
    pub methods: Vec<MethodFigures>,
    /// Answers whose text names the asked package.
    pub answers_naming_package: usize,
    /// Answers whose top leave-one-out source is the contribution holding the package's row.
    pub leave_one_out_top1_correct: usize,
    pub generation_seconds_mean: f64,
    /// The span index of the same rows under the model's tokenizer: tokens, build time.
    pub span_index_tokens: u64,
    pub span_index_seconds: f64,
    /// Answers sharing at least one kept span with the rows.
    pub answers_with_spans: usize,
    /// Span provenance per answer (spans, entries, text offsets).
    pub spans_seconds_mean: f64,
    /// Total span provenance time over total generation time.
    pub spans_cost_ratio: f64,
    /// `uptime`'s load averages when the run ended (other work shares the cores).
    pub load_average: String,
    /// Each answer's own figures.
    pub answers: Vec<AnswerFigures>,
}

/// The benchmark's datanet: the packages of a dpkg status file, `rows_per_contribution`
/// consecutive ones per contribution, and their BM25 index.
pub struct BenchmarkRows {
    pub packages: Vec<PackageRow>,
    /// `(contribution, JSONL)` per blob.
    pub blobs: Vec<(ContributionId, String)>,
    pub index: RowIndex,
    per_blob: usize,
}

impl BenchmarkRows {
    pub fn new(status: &str, rows_per_contribution: usize) -> Result<Self> {
        let packages = debian_rows(status);
        if packages.is_empty() {
            bail!("no package descriptions in the status file");
        }
        let per_blob = rows_per_contribution.max(1);
        let blobs: Vec<(ContributionId, String)> = packages
            .chunks(per_blob)
            .enumerate()
            .map(|(index, chunk)| {
                let rows: Vec<&str> = chunk.iter().map(|p| p.jsonl.as_str()).collect();
                (index as ContributionId + 1, rows.join("\n"))
            })
            .collect();
        let index = RowIndex::create_in_ram(&blob_list(&blobs))?;
        Ok(Self {
            packages,
            blobs,
            index,
            per_blob,
        })
    }

    /// The blobs as the indexes read them.
    pub fn blob_refs(&self) -> Vec<Blob<'_>> {
        blob_list(&self.blobs)
    }
}

fn blob_list(blobs: &[(ContributionId, String)]) -> Vec<Blob<'_>> {
    blobs
        .iter()
        .map(|(contribution, text)| Blob {
            contribution: *contribution,
            jsonl: text.as_bytes(),
        })
        .collect()
}

/// A benchmark question and the model's greedy answer.
pub struct Asked<'a> {
    pub package: &'a PackageRow,
    pub question: String,
    pub sources: Vec<Source>,
    pub layout: PromptLayout,
    /// The contribution holding the package's row.
    pub owner: ContributionId,
    pub answer: Vec<u32>,
    /// Holds the prompt but its last token (released after `visit`).
    pub prompt_slot: SlotId,
    pub generation_seconds: f64,
}

/// The benchmark's datanet version.
const POOL: PoolId = PoolId {
    datanet: 1,
    version: 1,
};

/// Asks up to `config.questions` questions of `config.split`'s packages and calls `visit` on
/// each non-empty answer: a question quotes a package's one-line description (at least 3
/// words) and asks for its name; it is asked when exactly one retrieved row names the package
/// (its own) and at least 2 contributions are retrieved. Packages are taken spread over the
/// list, in order. Returns how many were visited.
pub fn ask_questions<R: Runtime + ?Sized>(
    runtime: &mut R,
    model: &ModelDir,
    rows: &BenchmarkRows,
    config: &BenchmarkConfig,
    mut visit: impl FnMut(&mut R, &Asked<'_>) -> Result<()>,
) -> Result<usize> {
    let stop: Vec<u32> = model.special.eos.into_iter().collect();
    let mut asked = 0;
    // Packages spread over the list, so questions do not all come from one corner of it (half
    // of them are in the other split).
    let stride = (rows.packages.len() / (config.questions * 8).max(1)).max(1);
    for (position, package) in rows.packages.iter().enumerate().step_by(stride) {
        if asked == config.questions {
            break;
        }
        if calibration_package(&package.package) != (config.split == Split::Calibration)
            || package.summary.split_whitespace().count() < 3
        {
            continue;
        }
        let owner = (position / rows.per_blob + 1) as ContributionId;
        let question = format!(
            "Which Debian package is described as \"{}\"? Answer with the package name.",
            package.summary
        );
        let hits = rows.index.search(&question, config.retrieved)?;
        let holding: Vec<_> = hits
            .iter()
            .filter(|h| names_package(&h.text, &package.package))
            .collect();
        // The answer must be in exactly one retrieved row: the package's own.
        if holding.len() != 1 || holding[0].contribution != owner {
            continue;
        }
        let sources = group_hits(&hits);
        if sources.len() < 2 {
            continue;
        }
        let layout = PromptLayout::build(
            &model.tokenizer,
            model.chat_template.as_ref(),
            model.special,
            &sources,
            &question,
        )?;
        let started = Instant::now();
        let (answer, prompt_slot) = generate_keeping_prompt(
            runtime,
            None,
            &layout.full(),
            config.max_answer_tokens,
            &stop,
        )?;
        let generation_seconds = started.elapsed().as_secs_f64();
        if answer.is_empty() {
            runtime.release(prompt_slot);
            continue;
        }
        let question = Asked {
            package,
            question,
            sources,
            layout,
            owner,
            answer,
            prompt_slot,
            generation_seconds,
        };
        let visited = visit(runtime, &question);
        runtime.release(prompt_slot);
        visited?;
        asked += 1;
    }
    Ok(asked)
}

/// Whether `text` names `package` as a word.
fn names_package(text: &str, package: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || c == ':' || c == '?' || c == ',')
        .any(|word| word == package)
}

/// AT2's calibration data: for up to `config.questions` answers of the calibration split, the
/// answer's attention features and the exact ablation (`contextcite-v1`'s seed and masks,
/// `ablations` of them) scores. Runs the exact ablation: as costly as v1 on each answer.
/// `progress` sees the answers so far after each one (to save them as they come).
pub fn at2_calibration<R: Runtime + ?Sized>(
    runtime: &mut R,
    model: &ModelDir,
    status: &str,
    config: &BenchmarkConfig,
    ablations: usize,
    mut progress: impl FnMut(&[CalibrationAnswer]) -> Result<()>,
) -> Result<Vec<CalibrationAnswer>> {
    let rows = BenchmarkRows::new(status, config.rows_per_contribution)?;
    let mut answers = Vec::new();
    let max_live_slots = ContextCiteConfig::default().max_live_slots;
    ask_questions(runtime, model, &rows, config, |runtime, asked| {
        let started = Instant::now();
        let features = answer_features(
            runtime,
            None,
            &asked.layout,
            &asked.answer,
            Some(asked.prompt_slot),
        )?;
        let seed = ablation_seed(SEED_DOMAIN, 0, POOL, &asked.question, &asked.answer);
        let masks = random_masks(&seed, ablations, asked.sources.len())?;
        let logprobs = answer_logprobs(
            runtime,
            None,
            &asked.layout,
            &asked.answer,
            &masks,
            max_live_slots,
        )?;
        tracing::info!(
            package = %asked.package.package,
            sources = asked.sources.len(),
            answer_tokens = asked.answer.len(),
            seconds = started.elapsed().as_secs_f64(),
            "calibration answer"
        );
        answers.push(CalibrationAnswer::new(
            asked.package.package.clone(),
            &features,
            masks,
            &logprobs,
        ));
        progress(&answers)
    })?;
    Ok(answers)
}

/// Runs the benchmark on the packages of `status` (a dpkg status file's text) with `model`
/// through `runtime`.
pub fn attribution_benchmark<R: Runtime + ?Sized>(
    runtime: &mut R,
    model: &ModelDir,
    status: &str,
    config: &BenchmarkConfig,
) -> Result<AttributionFigures> {
    if config.methods.is_empty() {
        bail!("no attribution method to measure");
    }
    let rows = BenchmarkRows::new(status, config.rows_per_contribution)?;
    let started = Instant::now();
    let span_index = SpanIndex::build(&rows.blob_refs(), &model.tokenizer)?;
    let span_index_seconds = started.elapsed().as_secs_f64();

    let mut figures = AttributionFigures {
        questions: 0,
        rows_indexed: rows.index.rows(),
        sources_mean: 0.0,
        answer_tokens_mean: 0.0,
        methods: config
            .methods
            .iter()
            .map(|m| MethodFigures {
                method: m.name(),
                ..MethodFigures::default()
            })
            .collect(),
        answers_naming_package: 0,
        leave_one_out_top1_correct: 0,
        generation_seconds_mean: 0.0,
        span_index_tokens: span_index.tokens(),
        span_index_seconds,
        answers_with_spans: 0,
        spans_seconds_mean: 0.0,
        spans_cost_ratio: 0.0,
        load_average: String::new(),
        answers: Vec::new(),
    };
    let (mut generation_total, mut spans_total) = (0.0, 0.0);
    let mut attribution_totals = vec![0.0; config.methods.len()];
    ask_questions(runtime, model, &rows, config, |runtime, asked| {
        let Asked {
            package,
            question,
            sources,
            layout,
            owner,
            answer,
            prompt_slot,
            generation_seconds,
        } = asked;
        let contributions: Vec<ContributionId> = sources.iter().map(|s| s.contribution).collect();
        let request = AttributionRequest {
            model: 0,
            adapter: None,
            pool: POOL,
            question,
            layout,
            contributions: &contributions,
            answer,
            prompt_slot: Some(*prompt_slot),
        };
        let measured = answer_quality(
            runtime,
            &model.tokenizer,
            &request,
            &config.methods,
            config.held_out,
        )?;
        let started = Instant::now();
        let spans = span_index.attribute(&model.tokenizer, answer)?;
        let spans_seconds = started.elapsed().as_secs_f64();
        let answer_text = model
            .tokenizer
            .decode(answer, true)
            .map_err(|e| anyhow!("decoding the answer: {e}"))?;
        let truth = contributions
            .iter()
            .position(|c| c == owner)
            .ok_or_else(|| anyhow!("the owner's contribution is not among the sources"))?;
        let leave_one_out = &measured[0].1.leave_one_out;
        let loo_top = ranking(leave_one_out)[0];
        let tops: Vec<Option<usize>> = measured
            .iter()
            .map(|(attribution, _)| {
                let weights = &attribution.surrogate.weights;
                let top = ranking(weights)[0];
                (weights[top] > 0.0).then_some(top)
            })
            .collect();
        tracing::info!(
            package = %package.package,
            answer = %answer_text,
            lds = ?measured.iter().map(|(_, q)| q.lds).collect::<Vec<_>>(),
            tops = ?tops,
            loo_top,
            truth,
            entries = ?measured.iter().map(|(a, _)| &a.entries).collect::<Vec<_>>(),
            span_entries = ?spans.entries,
            spans_seconds,
            "attributed"
        );
        figures.answers.push(AnswerFigures {
            package: package.package.clone(),
            answer: answer_text.clone(),
            sources: sources.len(),
            answer_tokens: answer.len(),
            truth,
            generation_seconds: *generation_seconds,
            methods: measured
                .iter()
                .zip(&tops)
                .map(|((attribution, quality), top)| AnswerMethodFigures {
                    ablations: attribution.masks.len(),
                    lds: quality.lds,
                    top1_drop: quality.top1,
                    top3_drop: quality.top3,
                    top_source: *top,
                    attribution_seconds: quality.attribution_seconds,
                    entries: attribution.entries.clone(),
                })
                .collect(),
        });
        figures.questions += 1;
        figures.sources_mean += sources.len() as f64;
        figures.answer_tokens_mean += answer.len() as f64;
        for (((sum, (attribution, quality)), top), total) in figures
            .methods
            .iter_mut()
            .zip(&measured)
            .zip(&tops)
            .zip(&mut attribution_totals)
        {
            sum.ablations_mean += attribution.masks.len() as f64;
            if let Some(lds) = quality.lds {
                sum.lds_mean += lds;
                sum.lds_answers += 1;
            }
            for (sum, drops) in [
                (&mut sum.top1_drop, quality.top1),
                (&mut sum.top3_drop, quality.top3),
            ] {
                sum.context_cite += drops.context_cite;
                sum.leave_one_out += drops.leave_one_out;
                sum.random += drops.random;
            }
            sum.top1_correct += usize::from(*top == Some(truth));
            sum.top1_agrees_with_first += usize::from(top.is_some() && *top == tops[0]);
            *total += quality.attribution_seconds;
        }
        figures.answers_naming_package +=
            usize::from(names_package(&answer_text, &package.package));
        figures.leave_one_out_top1_correct += usize::from(loo_top == truth);
        figures.answers_with_spans += usize::from(!spans.spans.is_empty());
        generation_total += generation_seconds;
        spans_total += spans_seconds;
        Ok(())
    })?;
    let n = figures.questions.max(1) as f64;
    figures.sources_mean /= n;
    figures.answer_tokens_mean /= n;
    for (method, total) in figures.methods.iter_mut().zip(attribution_totals) {
        method.ablations_mean /= n;
        method.lds_mean /= method.lds_answers.max(1) as f64;
        for drops in [&mut method.top1_drop, &mut method.top3_drop] {
            drops.context_cite /= n;
            drops.leave_one_out /= n;
            drops.random /= n;
        }
        method.attribution_seconds_mean = total / n;
        method.cost_ratio = total / generation_total.max(f64::MIN_POSITIVE);
    }
    figures.generation_seconds_mean = generation_total / n;
    figures.spans_seconds_mean = spans_total / n;
    figures.spans_cost_ratio = spans_total / generation_total.max(f64::MIN_POSITIVE);
    figures.load_average = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    Ok(figures)
}
