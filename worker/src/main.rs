//! `attribution-worker`: fine-tune, evaluate and benchmark Llama-architecture models.

use anyhow::{anyhow, Context, Result};
use attribution_worker::bench::plan::Plan;
use attribution_worker::bench::real::{self as real_bench, RealBenchArgs};
use attribution_worker::bench::{self, solo, BenchConfig};
use attribution_worker::checkpoint::StoredDtype;
use attribution_worker::daemon::cli;
use attribution_worker::data::read_jsonl;
use attribution_worker::device;
use attribution_worker::eval::{
    evaluate_with_runtime, held_out_loss, Generation, Scored, LOSS_BATCH,
};
use attribution_worker::job::{Job, ModelDir};
use attribution_worker::memory::PeakAllocator;
use attribution_worker::model::Llama;
use attribution_worker::peft;
use attribution_worker::provenance::benchmark::{self as provenance_bench, ProvenanceBenchArgs};
use attribution_worker::serve::runtime::LoraWeights;
use attribution_worker::serve::{self, cli::ServeArgs};
use attribution_worker::synthetic;
use attribution_worker::tuning::Method;
use attribution_worker::{attribution_bench, decode_bench, influence_bench, retrieval_bench};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: PeakAllocator = PeakAllocator::new();

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Run on the CPU even when a GPU is available.
    #[arg(long, global = true)]
    cpu: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fine-tune a local checkpoint on a JSONL dataset as a job file describes.
    Train {
        #[arg(long)]
        config: PathBuf,
        /// Overrides `train.steps`.
        #[arg(long)]
        steps: Option<usize>,
        /// Overrides `train.seed`.
        #[arg(long)]
        seed: Option<u64>,
        /// Overrides `output_dir`.
        #[arg(long)]
        output_dir: Option<PathBuf>,
        /// Hides the progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Loss, perplexity and ROUGE of a model (with an optional PEFT adapter) on a JSONL file:
    /// the loss from the training model, the greedy completions from the serving runtime (f32
    /// weights, KV cache, every row in one batch), as the daemon and `verify` evaluate.
    Eval {
        /// A Hugging Face model directory or a .gguf file.
        #[arg(long)]
        model_dir: PathBuf,
        #[arg(long)]
        adapter: Option<PathBuf>,
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value_t = 512)]
        cutoff: usize,
        /// Longest greedy generation scored with ROUGE; 0 skips generation (ROUGE is null).
        #[arg(long, default_value_t = 64)]
        max_new_tokens: usize,
    },
    /// Fold a PEFT adapter into the base weights and write a full checkpoint.
    Merge {
        #[arg(long)]
        model_dir: PathBuf,
        #[arg(long)]
        adapter: PathBuf,
        #[arg(long)]
        output_dir: PathBuf,
    },
    /// Operator keys (sr25519): generate a key file or show a key's public half.
    Key {
        #[command(subcommand)]
        command: cli::KeyCommand,
    },
    /// Base models: what the chain registers of one.
    Model {
        #[command(subcommand)]
        command: cli::ModelCommand,
    },
    /// The operator daemon: registers when asked, claims training jobs it can serve, trains,
    /// proves, uploads the adapter and settles; serves GET /health and GET /status.
    Run(cli::RunArgs),
    /// Ask an operator's API a question; with --account, pay with a signed authorization.
    Chat(attribution_worker::chat::ChatArgs),
    /// Serve a local model and adapters over the OpenAI-compatible API (free, no chain):
    /// /v1/chat/completions, /v1/completions, /v1/models, /metrics, /health.
    Serve(ServeArgs),
    /// Re-run a proven job's evaluation from public data and check the figures its proof
    /// committed to; optionally challenge the proof when they do not hold.
    Verify(cli::VerifyArgs),
    /// A small random model and the rows of its synthetic task, for tests and trying things out.
    Synthetic {
        #[command(subcommand)]
        command: SyntheticCommand,
    },
    /// Benchmarks: training methods side by side, decode speed against transformers and
    /// llama.cpp, or span provenance.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

impl Command {
    /// Whether the command runs the serving runtime, whose decode steps read the weights, the
    /// KV cache and the adapters from the heap (so it runs on huge pages).
    fn serves(&self) -> bool {
        matches!(
            self,
            Command::Run(_)
                | Command::Serve(_)
                | Command::Bench {
                    command: BenchCommand::Decode(_) | BenchCommand::Attribution(_),
                }
        )
    }
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Measure every tuning method side by side on one synthetic model and task, or with
    /// --model on a real checkpoint and Debian package descriptions, beside PyTorch + PEFT.
    Train {
        #[command(flatten)]
        config: BenchConfig,
        #[command(flatten)]
        real: RealBenchArgs,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Decode speed of the serving runtime (4-bit, 8-bit, f32) at 1 and N streams, beside
    /// transformers and llama.cpp on the same GGUF.
    Decode(decode_bench::DecodeBenchArgs),
    /// Attribution quality (LDS, top-k removal against leave-one-out and random) and its cost
    /// against generation, on questions whose source row is known.
    Attribution(attribution_bench::AttributionBenchArgs),
    /// Span provenance over a 10,000-row version of Debian package descriptions: whether
    /// answers reusing a row verbatim are attributed to its contribution first, index size,
    /// build and query time.
    Provenance(ProvenanceBenchArgs),
    /// Training-data influence (TRAK over LoRA gradients) against re-training on a small
    /// synthetic model: LDS over random halves of the rows and top-k removal.
    Influence(influence_bench::InfluenceBenchArgs),
    /// Retrieval: BM25 (served) against dense retrieval over the model's hidden states and
    /// their fusion, recall and reciprocal rank on queries whose row is known.
    Retrieval(retrieval_bench::RetrievalBenchArgs),
}

#[derive(Subcommand)]
enum SyntheticCommand {
    /// Write a model directory (config.json, model.safetensors, tokenizer.json): a random
    /// model, or with --pretrain-steps one pretrained on another permutation of the task (a
    /// base a LoRA adapter can learn the task's own permutation from).
    Model {
        #[arg(long)]
        output_dir: PathBuf,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Full fine-tuning steps (batch 16) on `w -> multiplier·w + shift mod 24` before
        /// writing; 0 writes the random model.
        #[arg(long, default_value_t = 0)]
        pretrain_steps: usize,
        /// The pretraining permutation's multiplier (coprime with 24).
        #[arg(long, default_value_t = synthetic::PRETRAIN_TASK.multiplier)]
        pretrain_multiplier: usize,
        #[arg(long, default_value_t = synthetic::PRETRAIN_TASK.shift)]
        pretrain_shift: usize,
        #[arg(long, default_value_t = 32)]
        hidden: usize,
        #[arg(long, default_value_t = 64)]
        intermediate: usize,
    },
    /// Print `count` JSONL rows of the synthetic task.
    Rows {
        #[arg(long, default_value_t = 32)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn main() -> Result<()> {
    attribution_worker::memory::use_one_arena();
    let cli = Cli::parse();
    let serves = cli.command.serves();
    if serves {
        attribution_worker::memory::restart_with_huge_page_heap();
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    if serves {
        tracing::info!(
            huge_pages = attribution_worker::memory::heap_on_huge_pages(),
            "the heap's pages (glibc.malloc.hugetlb)"
        );
    }
    let select = |gpu_wanted: bool| device::select(gpu_wanted && !cli.cpu);
    match cli.command {
        Command::Train {
            config,
            steps,
            seed,
            output_dir,
            quiet,
        } => {
            let mut job = Job::load(&config)?;
            job.train.steps = steps.unwrap_or(job.train.steps);
            job.train.seed = seed.unwrap_or(job.train.seed);
            job.train.progress &= !quiet;
            job.output_dir = output_dir.unwrap_or(job.output_dir);
            let report = job.run(&select(job.gpu))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Command::Eval {
            model_dir,
            adapter,
            data,
            cutoff,
            max_new_tokens,
        } => {
            let device = select(true);
            let dir = ModelDir::load(&model_dir)?;
            let mut model = Llama::from_checkpoint(&dir.checkpoint, &Method::Full, &device)?;
            let mut runtime_adapter = None;
            if let Some(adapter) = adapter {
                let (adapted, lora) = peft::load_adapter(model, &adapter)?;
                model = adapted;
                let bytes = std::fs::read(adapter.join(peft::WEIGHTS_FILE))?;
                runtime_adapter = Some(LoraWeights::from_peft(&bytes, &lora)?);
            }
            let examples = read_jsonl(&data)?;
            let encoded = dir.encode(&examples, cutoff)?;
            let loss = held_out_loss(&model, &encoded, LOSS_BATCH, dir.special.pad, &device);
            drop(model);
            let report = if max_new_tokens == 0 {
                serde_json::json!({
                    "loss": loss,
                    "perplexity": loss.exp(),
                    "rouge1": null,
                    "rouge2": null,
                    "rouge_l": null,
                })
            } else {
                let generation = Generation {
                    max_new_tokens,
                    eos: dir.special.eos,
                    pad: dir.special.pad,
                };
                let scored = Scored {
                    loss,
                    adapter: runtime_adapter.as_ref(),
                };
                serde_json::to_value(evaluate_with_runtime(
                    &dir.checkpoint,
                    &dir.tokenizer,
                    &examples,
                    &encoded,
                    generation,
                    &[scored],
                )?)?
                .as_array_mut()
                .and_then(|reports| reports.pop())
                .context("one report for one model")?
            };
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Command::Merge {
            model_dir,
            adapter,
            output_dir,
        } => {
            let dir = ModelDir::load(&model_dir)?;
            let model = Llama::from_checkpoint(&dir.checkpoint, &Method::Full, &select(true))?;
            let (model, _) = peft::load_adapter(model, &adapter)?;
            model
                .merge_adapters()
                .to_checkpoint(&dir.checkpoint.config)
                .save(&output_dir, StoredDtype::F32)?;
            // Written from the loaded tokenizer: a GGUF base has no tokenizer.json to copy.
            dir.tokenizer
                .save(output_dir.join("tokenizer.json"), true)
                .map_err(|e| anyhow!("writing tokenizer.json: {e}"))?;
            println!("merged checkpoint written to {}", output_dir.display());
        }
        Command::Key { command } => cli::key(command)?,
        Command::Model { command } => cli::model(command)?,
        Command::Run(args) => tokio_runtime()?.block_on(cli::run(args, select(true)))?,
        Command::Chat(args) => tokio_runtime()?.block_on(attribution_worker::chat::chat(args))?,
        Command::Serve(args) => tokio_runtime()?.block_on(serve::cli::serve(args))?,
        Command::Verify(args) => {
            tokio_runtime()?.block_on(cli::verify_command(args, select(true)))?
        }
        Command::Synthetic { command } => match command {
            SyntheticCommand::Model {
                output_dir,
                seed,
                pretrain_steps,
                pretrain_multiplier,
                pretrain_shift,
                hidden,
                intermediate,
            } => {
                let pretrain = synthetic::SyntheticTask {
                    multiplier: pretrain_multiplier,
                    shift: pretrain_shift,
                    ..synthetic::PRETRAIN_TASK
                };
                let config = synthetic::TASK.config(hidden, intermediate, 2, 4, 2);
                let base = pretrain.base(config, seed, pretrain_steps, &select(false))?;
                synthetic::TASK.write_checkpoint_dir(&base, StoredDtype::F32, &output_dir)?;
                println!("{}", output_dir.display());
            }
            SyntheticCommand::Rows { count, seed } => {
                for example in synthetic::TASK.examples(count, seed) {
                    let row = serde_json::json!({
                        "prompt": example.prompt,
                        "completion": example.completion,
                    });
                    println!("{row}");
                }
            }
        },
        Command::Bench {
            command: BenchCommand::Train { config, real, json },
        } => {
            if let (Some(method), Some(plan)) = (&real.only, &real.plan) {
                let run = solo::run(&Plan::read(plan)?, method, &ALLOCATOR)?;
                println!("{}", serde_json::to_string(&run)?);
            } else if real.model.is_some() {
                let report = real_bench::run(&config, &real, &std::env::current_exe()?)?;
                if let Some(path) = json {
                    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
                }
                println!("{}", report.markdown());
            } else {
                let report = bench::run(&config, &ALLOCATOR, &select(true))?;
                if let Some(path) = json {
                    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
                }
                println!("{}", report.markdown());
            }
        }
        Command::Bench {
            command: BenchCommand::Decode(args),
        } => {
            decode_bench::run(&args)?;
        }
        Command::Bench {
            command: BenchCommand::Attribution(args),
        } => {
            attribution_bench::run(&args)?;
        }
        Command::Bench {
            command: BenchCommand::Retrieval(args),
        } => {
            retrieval_bench::run(&args)?;
        }
        Command::Bench {
            command: BenchCommand::Provenance(args),
        } => {
            provenance_bench::run(&args)?;
        }
        Command::Bench {
            command: BenchCommand::Influence(args),
        } => {
            if let Some(model) = &args.model {
                let figures = influence_bench::cost(&args, model)?;
                println!("{}", influence_bench::cost_markdown(&figures));
            } else {
                let figures = influence_bench::run(&args, &select(false))?;
                println!("{}", influence_bench::markdown(&figures));
                println!("{}", influence_bench::contribution_markdown(&figures));
            }
        }
    }
    Ok(())
}

fn tokio_runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
