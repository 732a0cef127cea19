//! `attribution-demo`: walks one path through the whole system against a running dev chain and
//! worker (`scripts/devnet`), printing each step: a datanet of real text rows from three
//! contributors, a fine-tuning job on the base model, training with progress, the proof, the
//! challenge window, settlement, and the contributors' OPEN.
//!
//! The rows are the descriptions of the Debian packages installed on this machine
//! (`/var/lib/dpkg/status`): real text that no one here wrote.

use anyhow::{bail, ensure, Context, Result};
use attribution_e2e::chain::{account, calls, content_hash, event, ss58, Chain, OPEN};
use attribution_e2e::worker::{http_get, worker_command};
use attribution_primitives::{
    models::{BaseModel, MAX_MODEL_NAME_LEN},
    rewards::PendingRewards,
    traits::PoolId,
    Balance, ModelId,
};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use subxt_signer::sr25519::{dev, Keypair};

#[derive(Parser)]
#[command(about = "Walk one path through Attribution Chain against a running dev chain and worker")]
struct Args {
    /// RPC port of the dev node.
    #[arg(long, default_value_t = 9944)]
    rpc_port: u16,
    /// Port of the worker's HTTP API.
    #[arg(long, default_value_t = 8000)]
    worker_port: u16,
    /// The base model (a `.gguf` file or a Hugging Face directory) the worker has.
    #[arg(long)]
    model: PathBuf,
    /// Rows per contributor.
    #[arg(long, default_value_t = 30)]
    rows: usize,
    /// Optimizer steps of the fine-tune.
    #[arg(long, default_value_t = 30)]
    steps: usize,
    /// Only register the base model (if it is not registered yet) and print its id.
    #[arg(long)]
    register_only: bool,
}

fn step(title: &str) {
    println!("\n== {title}");
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let chain = Chain::attach(args.rpc_port).await.with_context(|| {
        format!(
            "no dev chain answers on port {}: start scripts/devnet",
            args.rpc_port
        )
    })?;
    let developer = dev::ferdie();
    let base_model = register_base_model(&chain, &developer, &args.model).await?;
    if args.register_only {
        println!("{base_model}");
        return Ok(());
    }

    step("1. A datanet of real text rows from three contributors");
    let owner = dev::alice();
    let datanet = chain
        .create_datanet(&owner, "debian-package-descriptions", Default::default())
        .await?;
    println!("Alice created datanet {datanet}.");
    let rows = debian_rows()?;
    ensure!(
        rows.len() >= 3 * args.rows,
        "only {} package descriptions on this machine",
        rows.len()
    );
    let contributors = [
        ("Bob", dev::bob()),
        ("Charlie", dev::charlie()),
        ("Dave", dev::dave()),
    ];
    let blobs: Vec<Vec<u8>> = rows
        .chunks(args.rows)
        .take(3)
        .map(|chunk| chunk.join("\n").into_bytes())
        .collect();
    let announce: Vec<(&Keypair, &[u8])> = contributors
        .iter()
        .zip(&blobs)
        .map(|((_, k), b)| (k, b.as_slice()))
        .collect();
    let ids = chain.contribute(datanet, &announce).await?;
    for (((name, _), blob), id) in contributors.iter().zip(&blobs).zip(&ids) {
        chain.upload(blob).await.context("datanets_upload")?;
        println!(
            "{name} announced contribution {id} ({} rows, {} bytes, hash {:?}) and uploaded it.",
            args.rows,
            blob.len(),
            content_hash(blob)
        );
    }
    let (version, root) = chain.approve_and_publish(&owner, datanet, &ids).await?;
    let pool = PoolId { datanet, version };
    println!("Alice approved them and published version {version} (Merkle root {root:?}).");

    step("2. A fine-tuning job on the base model");
    let hyperparameters = serde_json::json!({
        "method": {"kind": "lora", "rank": 8, "alpha": 16, "targets": ["q_proj", "v_proj"]},
        "train": {"steps": args.steps, "batch_size": 4, "learning_rate": 0.001,
                  "warmup_steps": 3, "checkpoint_every": 10},
        "cutoff": 96,
        "eval_fraction": 0.1,
        "max_new_tokens": 24
    })
    .to_string()
    .into_bytes();
    let budget: Balance = 20 * OPEN;
    let (job, model) = chain
        .post_job(
            &developer,
            "smollm2-debian-lora",
            base_model,
            pool,
            content_hash(&hyperparameters),
            None,
        )
        .await?;
    chain.upload_artifact(&hyperparameters).await?;
    println!(
        "Ferdie posted job {job} (LoRA rank 8 on q/v, {} steps) with a budget held in escrow; \
         adapter model {model} is in training. Hyper-parameters uploaded: {}",
        args.steps,
        String::from_utf8_lossy(&hyperparameters)
    );
    let _ = budget;

    step("3. The worker claims, verifies the data, trains and evaluates");
    let started = Instant::now();
    let mut last_phase = String::new();
    let mut last_step = 0;
    let summary = loop {
        ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "the job did not settle within 30 minutes"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        let Ok((_, status)) = http_get(args.worker_port, "/status").await else {
            bail!(
                "no worker answers on port {}: start scripts/devnet",
                args.worker_port
            );
        };
        let phase = status["phase"].as_str().unwrap_or_default().to_string();
        let step_now = status["step"].as_u64().unwrap_or(0);
        if phase == "training" && step_now != last_step {
            last_step = step_now;
            println!(
                "  step {step_now}/{}  loss {:.3}  {:.0} tokens/s  ETA {:.0} s",
                status["steps"],
                status["loss"].as_f64().unwrap_or(f64::NAN),
                status["tokens_per_second"].as_f64().unwrap_or(0.0),
                status["eta_seconds"].as_f64().unwrap_or(0.0)
            );
        }
        if phase != last_phase {
            println!("  worker: {phase}");
            if phase == "challenge_window" {
                let proof = &status["last_proof"];
                step("4. The signed training proof is on chain");
                println!(
                    "  held-out loss {:.3} (base) -> {:.3} (adapted); ROUGE-L {:.1} -> {:.1}",
                    proof["base_loss"].as_f64().unwrap_or_default(),
                    proof["adapted_loss"].as_f64().unwrap_or_default(),
                    proof["base_rouge_l"].as_f64().unwrap_or_default(),
                    proof["adapted_rouge_l"].as_f64().unwrap_or_default()
                );
                println!(
                    "  adapter {} ; anyone can re-run the evaluation with \
                     `attribution-worker verify --job {job}` until block {}",
                    proof["adapter_hash"], status["challenge_end"]
                );
            }
            last_phase = phase.clone();
        }
        if let Some(error) = status["last_error"].as_str() {
            if phase != "training" && phase != "evaluating" {
                println!("  (worker reports: {error})");
            }
        }
        if status["jobs_settled"].as_u64().unwrap_or(0) > 0 && phase == "idle" {
            break status;
        }
    };

    step("5. Settled: the adapter is active and the budget is paid");
    println!(
        "  the operator earned {} OPEN; the rest went to the version's reward pool",
        format_open(summary["earned"].as_str().unwrap_or("0").parse()?)
    );
    for (name, contributor) in &contributors {
        let who = account(contributor);
        let pending: Vec<(PoolId, Balance)> = chain
            .state_call("RewardsApi_pending_pool_rewards", (&who, vec![pool]))
            .await?;
        let amount = pending.first().map_or(0, |(_, a)| *a);
        let (before, _) = chain.balance(&who).await?;
        chain.execute(contributor, calls::claim_pool(pool)).await?;
        let (after, _) = chain.balance(&who).await?;
        println!(
            "  {name} ({}) had {} OPEN pending and claimed it: free balance {} -> {} OPEN",
            ss58(&who),
            format_open(amount),
            format_open(before),
            format_open(after)
        );
    }
    let direct: PendingRewards<Balance> = chain
        .state_call("RewardsApi_pending_rewards", account(&developer))
        .await?;
    println!("  Ferdie's direct pending rewards: {direct:?}");
    println!("\nDone: model {model} is active with its lineage (ModelsApi_model({model})).");
    Ok(())
}

/// Registers the base model (Ferdie) unless a model with its weights hash exists; returns its id.
async fn register_base_model(chain: &Chain, developer: &Keypair, path: &Path) -> Result<ModelId> {
    let info = worker_command(&["model", "info", "--model", &path.to_string_lossy()])?;
    let base: BaseModel = {
        let json: serde_json::Value = serde_json::from_slice(&info.stdout)?;
        let hex = json["scale"]
            .as_str()
            .context("model info without `scale`")?;
        codec::Decode::decode(&mut hex::decode(hex.trim_start_matches("0x"))?.as_slice())?
    };
    let existing: Option<ModelId> = chain
        .state_call("ModelsApi_model_by_artifact", base.weights_hash)
        .await?;
    if let Some(id) = existing {
        println!("Base model {id} ({}) is registered.", path.display());
        return Ok(id);
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "base".into());
    let name: String = name.chars().take(MAX_MODEL_NAME_LEN as usize).collect();
    let events = chain
        .execute(developer, calls::register_base_model(&name, &base))
        .await
        .context("register_base_model")?;
    let id = event::<ModelId>(&events, "Models", "BaseModelRegistered")?;
    println!(
        "Ferdie registered base model {id} ({}, {} parameters, weights hash {:?}).",
        path.display(),
        base.parameters,
        base.weights_hash
    );
    Ok(id)
}

/// One JSONL row per installed Debian package: its name as the prompt, its description as the
/// completion.
fn debian_rows() -> Result<Vec<String>> {
    let status = std::fs::read_to_string("/var/lib/dpkg/status")
        .context("reading /var/lib/dpkg/status (a Debian system's package list)")?;
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
        // The long description: the indented lines after `Description:`, up to its first
        // paragraph break.
        let long: Vec<&str> = stanza
            .lines()
            .skip_while(|l| !l.starts_with("Description:"))
            .skip(1)
            .take_while(|l| l.starts_with(' ') && l.trim() != ".")
            .map(str::trim)
            .collect();
        let mut completion = format!("{package}: {summary}.");
        if !long.is_empty() {
            let text = long.join(" ");
            let first = text.split_inclusive(". ").next().unwrap_or(&text).trim();
            completion = format!("{completion} {first}");
        }
        let row = serde_json::json!({
            "prompt": format!("What is the Debian package {package}?"),
            "completion": completion,
        });
        rows.push(row.to_string());
    }
    Ok(rows)
}

fn format_open(amount: Balance) -> String {
    format!("{:.4}", amount as f64 / OPEN as f64)
}
