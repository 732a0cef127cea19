//! `attribution-worker bench influence`: the quality of training-data influence
//! ([`crate::provenance::influence`]) against re-training, on a small synthetic model where
//! re-training the adapter dozens of times is affordable.
//!
//! The base is a random Llama pretrained (full fine-tuning) on one permutation of the
//! synthetic task; the adapter (LoRA on every projection) is fine-tuned from it on `rows` rows
//! of another permutation; answers are held-out rows of that task (prompt, then the right
//! completion). LDS, top-k removal and the entries rules against leave-one-contribution-out are
//! measured as [`QualitySetup::measure`] describes.
//!
//! The rows belong to `contributors` contributions of unequal size (1 : 2 : … : C) and each
//! contribution's rows use only its own group of the task's words (the words split into C
//! groups), so a row teaches only its group's mappings; with `--spread` a share of each
//! contribution's rows are over any words. Answer `a` uses the words of group
//! `a mod C`, and from the C-th answer on also those of the next group: each answer has one or
//! two contributions that taught it and others that did not.
//!
//! With `--model`, it measures instead what influence costs on a real model, and which
//! contribution each entries rule pays there: an adapter on `q_proj` and `v_proj` (PEFT's
//! default targets) over the model's f32 weights (trained on the rows with `--cost-steps`), the
//! index of `--cost-rows` Debian package rows (`/var/lib/dpkg/status`, as `bench attribution`
//! builds its rows; four contributions of consecutive rows), and `--cost-answers` answers, each
//! a training row's completion after its prompt (with `--cost-context` other rows before it, as
//! retrieval would put them; none by default), timed against the greedy generation of as many
//! tokens by the same adapter on the serving runtime.

use crate::data::{encode, parse_jsonl, Encoded, Example, SpecialTokens};
use crate::job::ModelDir;
use crate::lora::LoraConfig;
use crate::model::Llama;
use crate::peft::{self, save_adapter};
use crate::provenance::index::RowRef;
use crate::provenance::influence::entries::entries as influence_entries;
use crate::provenance::influence::gradient::lora_dims;
use crate::provenance::influence::quality::{QualityFigures, QualitySetup, CANDIDATES};
use crate::provenance::influence::{InfluenceConfig, InfluenceIndex};
use crate::rag::quality::{debian_rows, generate_greedy};
use crate::serve::cli::Weights;
use crate::serve::runtime::{KvFormat, LoraWeights, NativeRuntime, Runtime, RuntimeOptions};
use crate::synthetic::{BOS, EOS, PAD, PRETRAIN_TASK, TASK};
use crate::train::{train, TrainConfig};
use crate::tuning::Method;
use anyhow::{anyhow, ensure, Context, Result};
use burn::tensor::{Device, Distribution, Tensor};
use clap::Args;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args, Debug, Clone)]
pub struct InfluenceBenchArgs {
    #[arg(long, default_value_t = 64)]
    pub hidden: usize,
    #[arg(long, default_value_t = 128)]
    pub intermediate: usize,
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Training rows of the adapter.
    #[arg(long, default_value_t = 64)]
    pub rows: usize,
    /// Contributions the rows belong to (at least 2, at most the task's 24 words).
    #[arg(long, default_value_t = 4)]
    pub contributors: usize,
    /// Share of each contribution's rows over any words (the rest over its group's words).
    #[arg(long, default_value_t = 0.0)]
    pub spread: f64,
    /// Held-out answers scored.
    #[arg(long, default_value_t = 8)]
    pub answers: usize,
    /// Random halves re-trained for LDS.
    #[arg(long, default_value_t = 16)]
    pub subsets: usize,
    /// `k` of top-k removal.
    #[arg(long, default_value_t = 6)]
    pub removed: usize,
    /// Random removals per answer.
    #[arg(long, default_value_t = 3)]
    pub trials: usize,
    /// Adapter training steps (batch 8).
    #[arg(long, default_value_t = 60)]
    pub steps: usize,
    #[arg(long, default_value_t = 1e-2)]
    pub learning_rate: f64,
    #[arg(long, default_value_t = 4)]
    pub rank: usize,
    #[arg(long, default_value_t = 8.0)]
    pub alpha: f64,
    /// Full fine-tuning steps that make the base (0: a random base).
    #[arg(long, default_value_t = 300)]
    pub pretrain_steps: usize,
    /// Projected dimensions `k`.
    #[arg(long, default_value_t = 1024)]
    pub dims: usize,
    /// `λ / mean_i ‖φ_i‖²`.
    #[arg(long, default_value_t = 1.0)]
    pub damping: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Measure the cost on this model (a `.gguf` file or a Hugging Face directory) instead.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// With `--model`: train the adapter on the rows for this many steps (batch 4) instead of
    /// giving it random factors.
    #[arg(long, default_value_t = 0)]
    pub cost_steps: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub cost_learning_rate: f64,
    /// Rows indexed for the cost measurement (at least 2: answers repeat rows after the first).
    #[arg(long, default_value_t = 16, value_parser = at_least(2))]
    pub cost_rows: usize,
    /// With `--model`: answers scored, each repeating another training row.
    #[arg(long, default_value_t = 4, value_parser = at_least(1))]
    pub cost_answers: usize,
    /// With `--model`: other training rows put before each answer's prompt, as retrieval would
    /// (the next rows of the index, never the repeated one).
    #[arg(long, default_value_t = 0)]
    pub cost_context: usize,
    /// With `--model`: the weights the generation it is compared with is served from.
    #[arg(long, value_enum, default_value = "q4")]
    pub cost_weights: Weights,
    #[arg(long, default_value_t = 2, value_parser = at_least(1))]
    pub cost_threads: usize,
    /// The package descriptions the cost rows are made of.
    #[arg(long, default_value = "/var/lib/dpkg/status")]
    pub status: PathBuf,
}

/// A count argument that must be at least `min` (a ratio over zero answers would be NaN).
fn at_least(min: u64) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(min..)
}

/// What influence costs on a real model, and which contribution its rules pay.
#[derive(Clone, Debug, Serialize)]
pub struct CostFigures {
    pub lora_params: usize,
    pub dims: usize,
    pub rows: usize,
    pub row_tokens: f64,
    /// Model load (f32 weights) and adapter attach.
    pub load_seconds: f64,
    /// Training the adapter on the rows (`--cost-steps`; 0 when its B is random).
    pub train_seconds: f64,
    /// Index build per row (gradient, projection; the kernel amortised).
    pub seconds_per_row: f64,
    /// File bytes per row (`12 + 4k`).
    pub bytes_per_row: f64,
    /// All answers' influence time over all answers' generation time.
    pub cost_ratio: f64,
    pub answers: Vec<CostAnswer>,
    /// Each candidate rule over the answers.
    pub rules: Vec<RuleOnAnswers>,
}

/// One answer repeating training row `row` of `contribution`.
#[derive(Clone, Debug, Serialize)]
pub struct CostAnswer {
    pub row: u32,
    pub contribution: u64,
    pub prompt_tokens: usize,
    pub answer_tokens: usize,
    /// Greedy generation of as many tokens with the adapter on the serving runtime.
    pub generation_seconds: f64,
    /// The answer's gradient, projection and scores.
    pub influence_seconds: f64,
    /// Where the repeated row ranks among the rows by score (1: the highest).
    pub repeated_rank: usize,
    /// Each candidate rule's entries `(contribution, ppm)`.
    pub entries: Vec<(String, Vec<(u64, u32)>)>,
}

/// How a rule pays on answers whose source row is known.
#[derive(Clone, Debug, Serialize)]
pub struct RuleOnAnswers {
    pub rule: String,
    /// Answers whose largest entry is the repeated row's contribution.
    pub right_first: usize,
    /// Mean ppm paid to the repeated row's contribution.
    pub right_ppm_mean: f64,
    /// Answers with no entries.
    pub unpaid: usize,
}

impl RuleOnAnswers {
    fn summarise(rule: &str, answers: &[CostAnswer]) -> Self {
        let (mut right_first, mut right_ppm, mut unpaid) = (0, 0u64, 0);
        for answer in answers {
            let Some((_, paid)) = answer.entries.iter().find(|(r, _)| r == rule) else {
                continue;
            };
            // Largest entry, ties to the smaller contribution id (the rule's own order).
            let largest = paid
                .iter()
                .max_by_key(|(c, ppm)| (*ppm, std::cmp::Reverse(*c)));
            match largest {
                Some(&(c, _)) if c == answer.contribution => right_first += 1,
                None => unpaid += 1,
                _ => {}
            }
            right_ppm += paid
                .iter()
                .filter(|(c, _)| *c == answer.contribution)
                .map(|&(_, ppm)| u64::from(ppm))
                .sum::<u64>();
        }
        Self {
            rule: rule.to_string(),
            right_first,
            right_ppm_mean: right_ppm as f64 / answers.len().max(1) as f64,
            unpaid,
        }
    }
}

/// Measures [`CostFigures`] on `args.model`.
pub fn cost(args: &InfluenceBenchArgs, model_path: &Path) -> Result<CostFigures> {
    let device = Device::flex().autodiff();
    let started = Instant::now();
    let model_dir = ModelDir::load(model_path)?;
    let lora = LoraConfig::new(8, 16.0);
    device.seed(args.seed);
    let model =
        Llama::from_checkpoint(&model_dir.checkpoint, &Method::Lora(lora.clone()), &device)?;
    let load_seconds = started.elapsed().as_secs_f64();
    let status = std::fs::read_to_string(&args.status)
        .with_context(|| format!("reading {}", args.status.display()))?;
    let packages = debian_rows(&status);
    ensure!(
        packages.len() >= args.cost_rows + 4,
        "{} has too few packages",
        args.status.display()
    );
    let examples: Vec<Example> = packages[..args.cost_rows]
        .iter()
        .map(|p| parse_jsonl(&p.jsonl).map(|mut rows| rows.remove(0)))
        .collect::<Result<_>>()?;
    let encoded = model_dir.encode(&examples, 256)?;
    let count = encoded.len();
    let rows: Vec<(RowRef, Encoded)> = encoded
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let row = RowRef {
                // Four contributions of consecutive rows.
                contribution: (i * 4 / count) as u64,
                row: i as u32,
            };
            (row, e)
        })
        .collect();
    // Either train the adapter on the rows, or (the cost needs only its shape) give its B
    // factors random values, as training would.
    let started = Instant::now();
    let model = if args.cost_steps > 0 {
        let schedule = TrainConfig {
            steps: args.cost_steps,
            batch_size: 4,
            learning_rate: args.cost_learning_rate,
            warmup_steps: args.cost_steps / 10,
            progress: false,
            seed: args.seed,
            ..TrainConfig::default()
        };
        let examples: Vec<Encoded> = rows.iter().map(|(_, e)| e.clone()).collect();
        let method = Method::Lora(lora.clone());
        let (model, report) = train(
            model,
            &method,
            &examples,
            model_dir.special.pad,
            &schedule,
            None,
            &device,
        )?;
        tracing::info!(losses = ?report.losses, "adapter trained on the rows");
        model
    } else {
        model.map_projections(|_, mut projection| {
            if let Some(adapter) = projection.lora.take() {
                let b = Tensor::random(adapter.b.shape(), Distribution::Normal(0.0, 0.01), &device);
                projection.lora = Some(lora.from_factors(adapter.a.val(), b));
            }
            Ok(projection)
        })?
    };
    let train_seconds = started.elapsed().as_secs_f64();
    let row_tokens =
        rows.iter().map(|(_, e)| e.tokens.len()).sum::<usize>() as f64 / rows.len() as f64;
    let config = InfluenceConfig {
        dims: args.dims,
        seed: args.seed,
        damping: args.damping,
    };
    let started = Instant::now();
    let index = InfluenceIndex::build(
        &model,
        &rows,
        model_dir.special.pad,
        config,
        [0; 32],
        &device,
    )?;
    let seconds_per_row = started.elapsed().as_secs_f64() / rows.len() as f64;
    // The served generation each answer's cost is compared with: the same adapter, from the
    // PEFT file a job would publish, on the serving runtime with the weights it serves.
    let adapter_dir = tempfile::tempdir()?;
    save_adapter(&model, &lora, None, adapter_dir.path())?;
    let adapter = LoraWeights::read_peft(&adapter_dir.path().join(peft::WEIGHTS_FILE), &lora)?;
    let mut runtime = NativeRuntime::load(
        &model_dir.checkpoint,
        RuntimeOptions {
            weights: args.cost_weights.into(),
            max_slots: 2,
            max_positions: 1024.min(model_dir.checkpoint.config.max_position_embeddings),
            threads: args.cost_threads,
            kv: KvFormat::F32,
        },
    )?;
    let (adapter_key, _) = runtime.load_adapter(adapter)?;
    let tokenize = |text: &str| -> Result<Vec<u32>> {
        Ok(model_dir
            .tokenizer
            .encode(text, false)
            .map_err(|e| anyhow!("tokenizing: {e}"))?
            .get_ids()
            .to_vec())
    };
    // Each answer repeats a training row's completion after that row's prompt (no retrieval),
    // so the row's contribution is the one that should be paid; rows spread over the index.
    let mut answers = Vec::with_capacity(args.cost_answers);
    for j in 0..args.cost_answers {
        let row = (1 + j * count / args.cost_answers).min(count - 1);
        let context: String = (1..count)
            .map(|k| (row + k) % count)
            .take(args.cost_context)
            .map(|i| format!("{} {}\n", examples[i].prompt, examples[i].completion))
            .collect();
        let prompt = tokenize(&format!("{context}{}", examples[row].prompt))?;
        let answer = tokenize(&examples[row].completion)?;
        ensure!(
            !prompt.is_empty() && !answer.is_empty(),
            "row {row} has an empty side"
        );
        // Generation of an answer as long, greedy, no stop token: what serving it costs.
        let started = Instant::now();
        let generated =
            generate_greedy(&mut runtime, Some(adapter_key), &prompt, answer.len(), &[])?;
        let generation_seconds = started.elapsed().as_secs_f64();
        ensure!(generated.len() == answer.len(), "generation stopped early");
        let started = Instant::now();
        let attribution =
            index.attribute(&model, &prompt, &answer, model_dir.special.pad, &device)?;
        let influence_seconds = started.elapsed().as_secs_f64();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|&i, &k| attribution.row_scores[k].total_cmp(&attribution.row_scores[i]));
        let repeated_rank = order.iter().position(|&i| i == row).unwrap_or(order.len()) + 1;
        let entries = CANDIDATES
            .iter()
            .map(|rule| {
                let weights = rule.weights(&index.rows, &attribution.row_scores)?;
                let paid = influence_entries(&weights)?
                    .iter()
                    .map(|e| (e.contribution, e.weight_ppm))
                    .collect();
                Ok((rule.to_string(), paid))
            })
            .collect::<Result<Vec<_>>>()?;
        tracing::info!(row, repeated_rank, ?entries, "answer attributed");
        answers.push(CostAnswer {
            row: row as u32,
            contribution: rows[row].0.contribution,
            prompt_tokens: prompt.len(),
            answer_tokens: answer.len(),
            generation_seconds,
            influence_seconds,
            repeated_rank,
            entries,
        });
    }
    let rules = CANDIDATES
        .iter()
        .map(|rule| RuleOnAnswers::summarise(&rule.to_string(), &answers))
        .collect();
    let bytes_per_row = index.to_bytes().len() as f64 / rows.len() as f64;
    let figures = CostFigures {
        lora_params: lora_dims(&model),
        dims: args.dims,
        rows: rows.len(),
        row_tokens,
        load_seconds,
        train_seconds,
        seconds_per_row,
        bytes_per_row,
        cost_ratio: answers.iter().map(|a| a.influence_seconds).sum::<f64>()
            / answers.iter().map(|a| a.generation_seconds).sum::<f64>(),
        answers,
        rules,
    };
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&figures)?)?;
    }
    Ok(figures)
}

/// The cost figures as Markdown tables.
pub fn cost_markdown(f: &CostFigures) -> String {
    let n = f.answers.len();
    let mean = |x: fn(&CostAnswer) -> f64| f.answers.iter().map(x).sum::<f64>() / n.max(1) as f64;
    let mut out = format!(
        "| figure | value |\n|---|---|\n\
         | LoRA parameters d → projected k | {} → {} |\n\
         | model load (f32) + adapter | {:.1} s |\n\
         | adapter training on the rows (--cost-steps) | {:.1} s |\n\
         | index build per row ({} rows, {:.1} tokens on average) | {:.3} s |\n\
         | file bytes per row | {:.0} |\n\
         | answers ({:.1} prompt + {:.1} answer tokens on average) | {} |\n\
         | generation per answer (served adapter) | {:.3} s |\n\
         | influence per answer | {:.3} s |\n\
         | **influence / generation** (totals) | **{:.2}x** |\n\
         | repeated row's rank among {} rows (mean) | {:.1} |\n\n\
         | rule | largest entry = the repeated row's contribution | mean ppm to it | answers unpaid |\n\
         |---|---|---|---|\n",
        f.lora_params,
        f.dims,
        f.load_seconds,
        f.train_seconds,
        f.rows,
        f.row_tokens,
        f.seconds_per_row,
        f.bytes_per_row,
        mean(|a| a.prompt_tokens as f64),
        mean(|a| a.answer_tokens as f64),
        n,
        mean(|a| a.generation_seconds),
        mean(|a| a.influence_seconds),
        f.cost_ratio,
        f.rows,
        mean(|a| a.repeated_rank as f64),
    );
    for rule in &f.rules {
        out.push_str(&format!(
            "| {} | {} of {n} | {:.0} | {} |\n",
            rule.rule, rule.right_first, rule.right_ppm_mean, rule.unpaid
        ));
    }
    out
}

/// Builds the base and runs the measurement.
pub fn run(args: &InfluenceBenchArgs, device: &Device) -> Result<QualityFigures> {
    let autodiff = device.clone().autodiff();
    let config = TASK.config(args.hidden, args.intermediate, args.layers, 4, 2);
    let tokenizer = TASK.tokenizer()?;
    let special = SpecialTokens {
        bos: Some(BOS),
        eos: Some(EOS),
        pad: PAD,
    };
    let encode_all = |examples: &[Example]| -> Result<Vec<Encoded>> {
        examples
            .iter()
            .map(|e| encode(&tokenizer, e, special, 32))
            .collect()
    };
    let base = PRETRAIN_TASK.base(config, args.seed, args.pretrain_steps, &autodiff)?;
    let (rows, contributions) =
        contribution_rows(args.rows, args.contributors, args.spread, args.seed + 200)?;
    let rows = encode_all(&rows)?;
    let answers = encode_all(&answer_rows(
        args.answers,
        args.contributors,
        args.seed + 300,
    )?)?;
    let setup = QualitySetup {
        base: &base,
        lora: LoraConfig::new(args.rank, args.alpha).on_every_projection(),
        train: TrainConfig {
            steps: args.steps,
            batch_size: 8,
            learning_rate: args.learning_rate,
            warmup_steps: args.steps / 10,
            progress: false,
            seed: args.seed,
            ..TrainConfig::default()
        },
        rows: &rows,
        contributions: &contributions,
        answers: &answers,
        pad: PAD,
        influence: InfluenceConfig {
            dims: args.dims,
            seed: args.seed,
            damping: args.damping,
        },
        subsets: args.subsets,
        removed: args.removed,
        trials: args.trials,
        seed: args.seed,
    };
    let figures = setup.measure(&autodiff)?;
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&figures)?)?;
    }
    Ok(figures)
}

/// Task examples drawn per stream, far more than any draw needs (a group of 3 of the 24 words
/// holds 1 in 512 examples).
const STREAM: usize = 1 << 16;

/// The word group (of `groups`) of each word of `example`'s prompt.
fn groups_of(example: &Example, groups: usize) -> Vec<usize> {
    example
        .prompt
        .split_whitespace()
        .filter_map(|token| token.strip_prefix('w')?.parse::<usize>().ok())
        .map(|w| w * groups / TASK.words)
        .collect()
}

/// The first `count` examples of the task (drawn with `seed`) whose words all lie in the
/// `allowed` groups of `groups`.
fn examples_in(count: usize, groups: usize, allowed: &[usize], seed: u64) -> Result<Vec<Example>> {
    let found: Vec<Example> = TASK
        .examples(STREAM, seed)
        .into_iter()
        .filter(|e| groups_of(e, groups).iter().all(|g| allowed.contains(g)))
        .take(count)
        .collect();
    ensure!(
        found.len() == count,
        "the task's examples ran out for word groups {allowed:?}"
    );
    Ok(found)
}

/// `count` training rows over `contributors` contributions: contribution `c` (id `c`) holds
/// about `count · (c + 1) / (C(C + 1)/2)` rows (the last takes the remainder), the share
/// `spread` of them over any words, the rest over group `c`'s words only.
fn contribution_rows(
    count: usize,
    contributors: usize,
    spread: f64,
    seed: u64,
) -> Result<(Vec<Example>, Vec<u64>)> {
    ensure!(
        (2..=TASK.words).contains(&contributors),
        "--contributors must be 2 to {}",
        TASK.words
    );
    ensure!((0.0..=1.0).contains(&spread), "--spread must be in [0, 1]");
    let total = contributors * (contributors + 1) / 2;
    ensure!(count >= total, "--rows must be at least {total}");
    let every: Vec<usize> = (0..contributors).collect();
    let (mut rows, mut ids) = (Vec::new(), Vec::new());
    for c in 0..contributors {
        let size = if c + 1 == contributors {
            count - rows.len()
        } else {
            count * (c + 1) / total
        };
        let free = (spread * size as f64).round() as usize;
        let stream = seed + 1000 * c as u64;
        rows.extend(examples_in(free, contributors, &every, stream + 500)?);
        rows.extend(examples_in(size - free, contributors, &[c], stream)?);
        ids.extend(std::iter::repeat_n(c as u64, size));
    }
    Ok((rows, ids))
}

/// `count` answers: answer `a` over group `a mod C`'s words, and from `a = C` on over those
/// of the next group too.
fn answer_rows(count: usize, contributors: usize, seed: u64) -> Result<Vec<Example>> {
    (0..count)
        .map(|a| {
            let g = a % contributors;
            let allowed = if a < contributors {
                vec![g]
            } else {
                vec![g, (g + 1) % contributors]
            };
            Ok(examples_in(1, contributors, &allowed, seed + 1000 * a as u64)?.remove(0))
        })
        .collect()
}

/// The entries rules against leave-one-contribution-out, as a Markdown table.
pub fn contribution_markdown(f: &QualityFigures) -> String {
    let c = &f.by_contribution;
    let mut out = format!(
        "rows per contribution: {:?}\n\n\
         | rule | Spearman with the true drops | largest entry = largest drop | \
         ppm paid for nothing | ppm paid | answers with no entries |\n|---|---|---|---|---|---|\n",
        c.rows
    );
    for r in &c.rules {
        out.push_str(&format!(
            "| {} | {:.3} | {} of {} | {:.1} % | {:.1} % | {} |\n",
            r.rule,
            r.spearman,
            r.top_hits,
            f.answers,
            r.paid_for_nothing * 100.0,
            r.paid * 100.0,
            r.no_entries
        ));
    }
    out.push_str("\ntrue drops (nats), per answer and contribution:\n");
    for (a, drops) in c.drops.iter().enumerate() {
        let drops: Vec<String> = drops.iter().map(|d| format!("{d:+.2}")).collect();
        out.push_str(&format!("- answer {a}: {}\n", drops.join(", ")));
    }
    out
}

/// The figures as a Markdown table.
pub fn markdown(f: &QualityFigures) -> String {
    let mut out = String::new();
    out.push_str("| figure | value |\n|---|---|\n");
    let mut row = |name: &str, value: String| out.push_str(&format!("| {name} | {value} |\n"));
    row(
        "training rows / answers",
        format!("{} / {}", f.rows, f.answers),
    );
    row(
        "LoRA parameters d → projected k",
        format!("{} → {}", f.lora_params, f.dims),
    );
    row("λ", format!("{:.4e}", f.lambda));
    row(
        &format!("LDS, TRAK ({} random halves, mean of answers)", f.subsets),
        format!("{:.3}", f.lds),
    );
    row(
        "LDS, plain inner product φ·φ_i",
        format!("{:.3}", f.lds_inner_product),
    );
    row(
        "LDS per answer",
        f.lds_per_answer
            .iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    row(
        &format!("log-likelihood drop, top-{} rows removed", f.removed),
        format!("{:.3} nats", f.top_k_drop),
    );
    row(
        &format!(
            "log-likelihood drop, {} random rows removed (mean of {})",
            f.removed, f.trials
        ),
        format!("{:.3} nats", f.random_drop),
    );
    row(
        "answers where top-k beats random",
        format!("{} of {}", f.top_k_beats_random, f.answers),
    );
    row(
        "answer log-likelihood, full adapter",
        format!("{:.3} nats", f.full_log_likelihood),
    );
    row(
        "index build (all rows)",
        format!("{:.3} s", f.index_seconds),
    );
    row(
        "scoring one answer",
        format!("{:.1} ms", f.answer_seconds * 1e3),
    );
    row("one re-training", format!("{:.3} s", f.train_seconds));
    out
}
