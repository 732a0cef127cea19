//! The `bench` subcommand: every method on the same model, data and batch in one run, so the
//! ratios are measured side by side on one machine.
//!
//! - Speed: median step time after warm-up, samples/s and peak heap for full fine-tuning, our
//!   LoRA, burn's built-in LoRA (`Module::apply_lora`, which forms `W + s·A·B` and its dense
//!   gradient), QLoRA and P-tuning v2 (prefix 128).
//! - Storage: bytes of the frozen NF4 projections against the same weights in `f32`.
//! - Quality: ROUGE-L of LoRA and QLoRA after the same steps on a held-out split of the
//!   synthetic task.
//!
//! With `--model`, the same methods run on a real checkpoint and real text instead, beside
//! PyTorch + PEFT ([`real`]).

pub mod matmul;
pub mod plan;
pub mod quality;
pub mod real;
pub mod solo;

use crate::checkpoint::Checkpoint;
use crate::data::{encode, Encoded, Example, SpecialTokens};
use crate::eval::{evaluate, EvalReport, Generation};
use crate::lora::{LoraConfig, TargetModule};
use crate::memory::PeakAllocator;
use crate::model::{BaseWeight, Llama};
use crate::ptuning::PrefixConfig;
use crate::synthetic::{SyntheticTask, BOS, EOS, PAD};
use crate::train::{TrainConfig, Trainer};
use crate::tuning::Method;
use anyhow::Result;
use burn::module::{Lora, Module, ModuleVisitor, Param, ParamGroup};
use burn::tensor::{Device, Tensor};
use clap::Args;
use serde::Serialize;

/// Sizes of the benchmark.
#[derive(Debug, Clone, Args, Serialize)]
pub struct BenchConfig {
    #[arg(long, default_value_t = 512)]
    pub hidden: usize,
    #[arg(long, default_value_t = 1376)]
    pub intermediate: usize,
    #[arg(long, default_value_t = 4)]
    pub layers: usize,
    #[arg(long, default_value_t = 8)]
    pub heads: usize,
    #[arg(long, default_value_t = 4)]
    pub kv_heads: usize,
    /// Content words of the synthetic vocabulary.
    #[arg(long, default_value_t = 4001)]
    pub words: usize,
    /// Prompt words per example (the completion has as many).
    #[arg(long, default_value_t = 30)]
    pub prompt_words: usize,
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Timed steps per method (after `warmup` untimed ones); the median is reported.
    #[arg(long, default_value_t = 8)]
    pub steps: usize,
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    #[arg(long, default_value_t = 16)]
    pub rank: usize,
    #[arg(long, default_value_t = 32.0)]
    pub alpha: f64,
    #[arg(long, default_value_t = 128)]
    pub prefix_length: usize,
    /// Steps of the LoRA-vs-QLoRA quality run (0 skips it).
    #[arg(long, default_value_t = 60)]
    pub quality_steps: usize,
    /// Full fine-tuning steps that make the quality run's base model.
    #[arg(long, default_value_t = 1500)]
    pub pretrain_steps: usize,
}

/// One method's speed and memory.
#[derive(Debug, Clone, Serialize)]
pub struct SpeedResult {
    pub method: String,
    pub step_ms: f64,
    pub samples_per_second: f64,
    pub peak_heap_bytes: usize,
    pub trainable_params: usize,
}

/// Everything one `bench` run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub config: BenchConfig,
    pub speed: Vec<SpeedResult>,
    pub nf4_projection_bytes: usize,
    pub f32_projection_bytes: usize,
    pub quality: Vec<QualityResult>,
}

/// LoRA and QLoRA scored after the same number of steps.
#[derive(Debug, Clone, Serialize)]
pub struct QualityResult {
    pub steps: usize,
    pub lora: EvalReport,
    pub qlora: EvalReport,
}

impl BenchReport {
    fn step_ms(&self, method: &str) -> f64 {
        self.speed
            .iter()
            .find(|r| r.method == method)
            .map_or(f64::NAN, |r| r.step_ms)
    }

    /// The report as Markdown, ratios first.
    pub fn markdown(&self) -> String {
        let lora = self.step_ms("lora");
        let mut out = String::from("| method | step (ms) | samples/s | peak heap in a step (MiB) | trainable params |\n|---|---:|---:|---:|---:|\n");
        for r in &self.speed {
            out += &format!(
                "| {} | {:.1} | {:.2} | {:.1} | {} |\n",
                r.method,
                r.step_ms,
                r.samples_per_second,
                r.peak_heap_bytes as f64 / (1 << 20) as f64,
                r.trainable_params
            );
        }
        out += &format!(
            "\n| ratio | measured | target |\n|---|---:|---|\n\
             | LoRA step / full fine-tuning step | {:.3} | <= 0.75 |\n\
             | built-in LoRA step / our LoRA step | {:.3} | >= 1.25 |\n\
             | P-tuning v2 (prefix {}) step / LoRA step | {:.3} | published 3.7 |\n\
             | QLoRA step / LoRA step | {:.3} | |\n\
             | NF4 frozen projection bytes / f32 | {:.4} | <= 0.14 |\n",
            lora / self.step_ms("full"),
            self.step_ms("builtin-lora") / lora,
            self.config.prefix_length,
            self.step_ms("p-tuning-v2") / lora,
            self.step_ms("qlora") / lora,
            self.nf4_projection_bytes as f64 / self.f32_projection_bytes as f64,
        );
        if !self.quality.is_empty() {
            out += "\n| steps | method | held-out loss | ROUGE-1 | ROUGE-2 | ROUGE-L | QLoRA - LoRA ROUGE-L (target: within 1) |\n|---:|---|---:|---:|---:|---:|---:|\n";
        }
        for q in &self.quality {
            for (name, r) in [("LoRA", &q.lora), ("QLoRA", &q.qlora)] {
                let gap = if name == "QLoRA" {
                    format!("{:+.2}", q.qlora.rouge_l - q.lora.rouge_l)
                } else {
                    String::new()
                };
                out += &format!(
                    "| {} | {name} | {:.4} | {:.2} | {:.2} | {:.2} | {gap} |\n",
                    q.steps, r.loss, r.rouge1, r.rouge2, r.rouge_l
                );
            }
        }
        out
    }
}

/// Runs the benchmark on `device` (a plain device; autodiff is added here).
pub fn run(config: &BenchConfig, memory: &PeakAllocator, device: &Device) -> Result<BenchReport> {
    let task = SyntheticTask {
        words: config.words,
        prompt_words: config.prompt_words,
        multiplier: 7,
        shift: 3,
    };
    let model_config = task.config(
        config.hidden,
        config.intermediate,
        config.layers,
        config.heads,
        config.kv_heads,
    );
    let checkpoint = Checkpoint::random(model_config, 11);
    let tokenizer = task.tokenizer()?;
    let special = SpecialTokens {
        bos: Some(BOS),
        eos: Some(EOS),
        pad: PAD,
    };
    let encoded: Vec<Encoded> = task
        .examples(256, 5)
        .iter()
        .map(|e| encode(&tokenizer, e, special, 4 * config.prompt_words + 8))
        .collect::<Result<_>>()?;
    let lora = LoraConfig::new(config.rank, config.alpha).on_every_projection();
    let train_config = TrainConfig {
        steps: config.warmup + config.steps,
        warmup_steps: 1,
        batch_size: config.batch_size,
        learning_rate: 1e-4,
        progress: false,
        ..TrainConfig::default()
    };
    let autodiff = device.clone().autodiff();

    let methods = [
        ("full", Method::Full),
        ("lora", Method::Lora(lora.clone())),
        ("builtin-lora", Method::Full),
        ("qlora", Method::Qlora(lora.clone())),
        (
            "p-tuning-v2",
            Method::PTuning(PrefixConfig::default().with_length(config.prefix_length)),
        ),
    ];
    let build = |name: &str, method: &Method| -> Result<Llama> {
        autodiff.seed(1);
        let model = Llama::from_checkpoint(&checkpoint, method, &autodiff)?;
        if name != "builtin-lora" {
            return Ok(model);
        }
        let targets = TargetModule::ALL.iter().map(|t| t.hf_name()).collect();
        let lora = Lora::new(config.rank, config.alpha)
            .set_param_group(ParamGroup::from_any_predicates(targets));
        Ok(model.no_grad().apply_lora(lora))
    };

    // Memory, one method at a time: the heap high-water mark of two training steps over the
    // built model (weights, activations, gradients, optimizer state), above what was in use
    // before the model was built. Loading transients are not training memory.
    let mut memory_use = Vec::new();
    for (name, method) in &methods {
        let baseline = memory.current();
        let model = build(name, method)?;
        let params = trainable(&model);
        let mut trainer = Trainer::new(model, &encoded, PAD, &train_config, &autodiff)?;
        memory.reset_peak();
        trainer.step();
        trainer.step();
        drop(trainer);
        memory_use.push((memory.peak() - baseline, params));
    }

    // Speed, all methods alive and stepped in turn, so load from other processes on the
    // machine falls on every method alike.
    let mut trainers = methods
        .iter()
        .map(|(name, method)| {
            Trainer::new(
                build(name, method)?,
                &encoded,
                PAD,
                &train_config,
                &autodiff,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let mut seconds = vec![Vec::with_capacity(config.steps); methods.len()];
    for round in 0..config.warmup + config.steps {
        for (trainer, times) in trainers.iter_mut().zip(&mut seconds) {
            let outcome = trainer.step();
            if round >= config.warmup {
                times.push(outcome.seconds);
            }
        }
    }
    drop(trainers);
    let speed = methods
        .iter()
        .zip(seconds.iter().zip(&memory_use))
        .map(
            |((name, _), (times, &(peak_heap_bytes, trainable_params)))| {
                let step = median(times);
                SpeedResult {
                    method: name.to_string(),
                    step_ms: 1e3 * step,
                    samples_per_second: config.batch_size as f64 / step,
                    peak_heap_bytes,
                    trainable_params,
                }
            },
        )
        .collect::<Vec<_>>();
    tracing::info!(?speed, "measured");

    let qlora_model = Llama::from_checkpoint(&checkpoint, &Method::Qlora(lora.clone()), device)?;
    let (mut nf4_projection_bytes, mut f32_projection_bytes) = (0, 0);
    for layer in &qlora_model.layers {
        for target in TargetModule::ALL {
            if let BaseWeight::Nf4(packed) = &layer.projection(target).base {
                let [rows, cols] = packed.matrix.shape();
                nf4_projection_bytes += packed.matrix.stored_bytes();
                f32_projection_bytes += 4 * rows * cols;
            }
        }
    }

    let quality = if config.quality_steps > 0 {
        quality(
            [&Method::Lora(lora.clone()), &Method::Qlora(lora)],
            config,
            device,
        )?
    } else {
        Vec::new()
    };
    Ok(BenchReport {
        config: config.clone(),
        speed,
        nf4_projection_bytes,
        f32_projection_bytes,
        quality,
    })
}

/// The middle value (mean of the middle two for an even count); robust to a step that another
/// process on the machine slowed down.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// Parameters that will receive gradients.
fn trainable(model: &Llama) -> usize {
    struct Count(usize);
    impl ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if param.is_require_grad() {
                self.0 += param.lazy_shape().num_elements();
            }
        }
    }
    let mut count = Count(0);
    model.visit(&mut count);
    count.0
}

/// LoRA-vs-QLoRA quality. A small base is first pretrained (full fine-tuning) on one permutation of
/// the synthetic task, as a downloaded model would have been; each method then adapts it to
/// another permutation for `config.quality_steps` and is scored on 256 held-out examples.
fn quality(
    methods: [&Method; 2],
    config: &BenchConfig,
    device: &Device,
) -> Result<Vec<QualityResult>> {
    let pretrain_task = SyntheticTask {
        words: 61,
        prompt_words: 4,
        multiplier: 7,
        shift: 3,
    };
    let task = SyntheticTask {
        multiplier: 11,
        shift: 20,
        ..pretrain_task
    };
    let model_config = pretrain_task.config(128, 344, 2, 4, 2);
    let tokenizer = task.tokenizer()?;
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
    let autodiff = device.clone().autodiff();
    let schedule = |steps: usize, learning_rate: f64| TrainConfig {
        steps,
        batch_size: 16,
        learning_rate,
        warmup_steps: steps / 10,
        progress: false,
        ..TrainConfig::default()
    };

    let base = pretrain_task.pretrain(
        &Checkpoint::random(model_config, 3),
        config.pretrain_steps,
        4096,
        (2, 20),
        &autodiff,
    )?;

    let train_set = encode_all(&task.examples(2048, 21))?;
    let held_out = task.examples(256, 22);
    let held_out_encoded = encode_all(&held_out)?;
    let generation = Generation {
        max_new_tokens: task.prompt_words + 1,
        eos: Some(EOS),
        pad: PAD,
    };
    // Scored a quarter and half of the way in (before the methods converge) and at the end.
    let checkpoints = [
        config.quality_steps / 4,
        config.quality_steps / 2,
        config.quality_steps,
    ];
    let mut reports = vec![Vec::new(); checkpoints.len()];
    for method in methods {
        autodiff.seed(2);
        let model = Llama::from_checkpoint(&base, method, &autodiff)?;
        let schedule = schedule(config.quality_steps, 5e-3);
        let mut trainer = Trainer::new(model, &train_set, PAD, &schedule, &autodiff)?;
        let mut done = 0;
        for (at, scores) in checkpoints.iter().zip(&mut reports) {
            while done < *at {
                trainer.step();
                done += 1;
            }
            let model = trainer.model().valid();
            scores.push(evaluate(
                &model,
                &tokenizer,
                &held_out,
                &held_out_encoded,
                generation,
                device,
            )?);
        }
    }
    Ok(checkpoints
        .iter()
        .zip(reports)
        .map(|(&steps, scores)| QualityResult {
            steps,
            lora: scores[0],
            qlora: scores[1],
        })
        .collect())
}
