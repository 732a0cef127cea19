//! The operator's commands: `key`, `run` and `verify` (a training proof, or with
//! `--attribution` an inference record's attribution).

use crate::artifact::blake2b_256;
use crate::daemon::attribution_jury::{check_commitments, check_record, TOLERANCE_PPM};
use crate::daemon::model_cache::ModelCache;
use crate::daemon::paid::BatchPolicy;
use crate::daemon::serving::{serve_adapter_for_checks, ServeConfig};
use crate::daemon::verify::{verify, Tolerance};
use crate::daemon::{parse_open, DaemonConfig};
use crate::job::ModelDir;
use crate::serve::cli::{EngineArgs, Weights};
use crate::serve::runtime::Numerics;
use anyhow::{bail, Context, Result};
use attribution_primitives::attribution::RecordId;
use attribution_primitives::cid::cid_v1;
use attribution_primitives::models::{Architecture, BaseModel, Cid, License};
use attribution_primitives::{compute::ChallengeId, Hash, JobId, ModelId};
use attribution_worker_chain::keys::{PublicInfo, Secret};
use attribution_worker_chain::Chain;
use burn::tensor::Device;
use clap::{Args, Subcommand, ValueEnum};
use sp_core::Pair as _;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The default base-model cache (where `scripts/fetch-model` puts SmolLM2).
fn default_models() -> PathBuf {
    cache_dir().join("models")
}

pub fn cache_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".cache/attribution-chain")
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate an sr25519 key into a new file (mode 0600); prints only its public key and address.
    Generate {
        /// The key file to create (never overwritten).
        #[arg(long)]
        output: PathBuf,
    },
    /// Print the public key and SS58 address of a key (a file or a secret URI such as `//Alice`).
    Inspect { key: String },
}

/// `attribution-worker key …`.
pub fn key(command: KeyCommand) -> Result<()> {
    let secret = match command {
        KeyCommand::Generate { output } => Secret::generate(&output)?,
        KeyCommand::Inspect { key } => Secret::parse(&key)?,
    };
    let info = PublicInfo::of(&secret.pair()?.public());
    println!("{}", serde_json::to_string_pretty(&info)?);
    Ok(())
}

#[derive(Args)]
pub struct NodeArgs {
    /// The node's WebSocket RPC URL.
    #[arg(long, default_value = "ws://127.0.0.1:9944")]
    pub node: String,
    /// Where base models are found by their registered weights hash (`.gguf` files or Hugging
    /// Face directories).
    #[arg(long, default_value_os_t = default_models())]
    pub models: PathBuf,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub node: NodeArgs,
    /// The operator account: a key file or a secret URI (`//Alice` on a dev chain). It signs
    /// transactions, holds the stake and is paid.
    #[arg(long)]
    pub account: String,
    /// The worker's signing key (file or secret URI), registered with the operator.
    #[arg(long)]
    pub worker_key: String,
    /// Survives restarts: fetched data, checkpoints and results of each job.
    #[arg(long, default_value_os_t = cache_dir().join("worker"))]
    pub state_dir: PathBuf,
    /// Address of the HTTP API (`GET /health`, `GET /status`).
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub http: SocketAddr,
    /// Register the operator with this stake (in OPEN) if it is not registered yet.
    #[arg(long, value_parser = parse_open)]
    pub register_stake: Option<u128>,
    /// The inference endpoint registered with the operator (default: the HTTP API's address).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// The inference price per token (in OPEN) registered with the operator.
    #[arg(long, default_value = "0", value_parser = parse_open)]
    pub price_per_token: u128,
    /// Claim only jobs whose budget is at least this (in OPEN).
    #[arg(long, default_value = "0", value_parser = parse_open)]
    pub min_budget: u128,
    /// Log progress instead of drawing a progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Also serve this registered base model (its id on chain) and its active adapters over the
    /// OpenAI-compatible API on the same port, paid by signed authorizations.
    #[arg(long)]
    pub serve: Option<ModelId>,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Settle served requests once this many wait...
    #[arg(long, default_value_t = 16)]
    pub batch_records: usize,
    /// ...or once the oldest has waited this many seconds.
    #[arg(long, default_value_t = 10)]
    pub batch_age: u64,
}

/// `attribution-worker run`.
pub async fn run(args: RunArgs, device: Device) -> Result<()> {
    let config = DaemonConfig {
        node: args.node.node,
        account: Secret::parse(&args.account).context("--account")?,
        worker_key: Secret::parse(&args.worker_key).context("--worker-key")?,
        models: args.node.models,
        state_dir: args.state_dir,
        endpoint: args
            .endpoint
            .unwrap_or_else(|| format!("http://{}", args.http)),
        http: args.http,
        register_stake: args.register_stake,
        price_per_token: args.price_per_token,
        min_budget: args.min_budget,
        progress_bar: !args.quiet && std::io::stderr().is_terminal(),
        serve: args.serve.map(|model| ServeConfig {
            model,
            engine: args.engine,
            batches: BatchPolicy {
                records: args.batch_records.max(1),
                max_age: std::time::Duration::from_secs(args.batch_age),
                ..BatchPolicy::default()
            },
        }),
    };
    crate::daemon::run(config, device).await
}

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub node: NodeArgs,
    /// The proven job to verify (while it is on chain: before settlement).
    #[arg(
        long,
        conflicts_with = "model",
        required_unless_present_any = ["model", "vote", "attribution"]
    )]
    pub job: Option<JobId>,
    /// The adapter model to verify (also after its job settled).
    #[arg(long)]
    pub model: Option<ModelId>,
    /// Recompute the attribution of this settled inference record (as its jury does) from the
    /// request body and the answer, and report whether its entries hold within the tolerance.
    #[arg(
        long,
        conflicts_with_all = ["job", "model", "vote"],
        requires_all = ["prompt_file", "answer_file"]
    )]
    pub attribution: Option<RecordId>,
    /// With --attribution: the exact request body the user signed (its blake2-256 is the
    /// record's prompt hash).
    #[arg(long, requires = "attribution")]
    pub prompt_file: Option<PathBuf>,
    /// With --attribution: the answer's text (its blake2-256 is the record's output hash).
    #[arg(long, requires = "attribution")]
    pub answer_file: Option<PathBuf>,
    /// With --attribution: the runtime that recomputes it.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// With --attribution: where the retrieval, span and influence indexes are kept.
    #[arg(long, default_value_os_t = cache_dir().join("verify"))]
    pub state_dir: PathBuf,
    /// When the figures (or the attribution) do not hold, open a challenge on chain (holds the
    /// challenge bond from --account, any account: no stake needed).
    #[arg(long, requires = "account", conflicts_with = "vote")]
    pub challenge: bool,
    /// Vote on this challenge as one of its jurors with the verdict (fraud when the figures do
    /// not hold), signed by --account (the juror operator's account); verifies the challenged
    /// job.
    #[arg(long, requires = "account", conflicts_with = "model")]
    pub vote: Option<ChallengeId>,
    /// The account that challenges or votes: a key file or a secret URI.
    #[arg(long)]
    pub account: Option<String>,
    /// Largest accepted difference in held-out loss, in nats.
    #[arg(long, default_value_t = Tolerance::default().loss_ppm as f64 / 1e6)]
    pub loss_tolerance: f64,
    /// Largest accepted difference in held-out ROUGE-L F1, in points (0–100).
    #[arg(long, default_value_t = f64::from(Tolerance::default().rouge_ppm) / 1e4)]
    pub rouge_tolerance: f64,
}

/// `attribution-worker verify`: prints the verdict as JSON; exits with an error when the figures
/// do not hold.
pub async fn verify_command(args: VerifyArgs, device: Device) -> Result<()> {
    if let Some(record) = args.attribution {
        return verify_attribution(&args, record).await;
    }
    let chain = Chain::connect(&args.node.node).await?;
    let voted_job = match args.vote {
        Some(challenge) => Some(
            chain
                .open_challenge(challenge)
                .await?
                .with_context(|| format!("challenge {challenge} is not open"))?
                .job,
        ),
        None => None,
    };
    let (job, model) = match (args.job.or(voted_job), args.model) {
        (Some(job), _) => {
            let info = chain.job(job).await?.with_context(|| {
                format!("job {job} is not on chain (settled jobs: use --model)")
            })?;
            (Some(job), info.model)
        }
        (None, Some(model)) => (None, model),
        (None, None) => bail!("pass --job or --model"),
    };
    let tolerance = Tolerance {
        loss_ppm: (args.loss_tolerance * 1e6).round() as u64,
        rouge_ppm: (args.rouge_tolerance * 1e4).round() as u32,
    };
    let work_dir = tempfile::tempdir()?;
    let verdict = verify(
        &chain,
        job,
        model,
        &ModelCache::new(&args.node.models),
        work_dir.path(),
        tolerance,
        &device,
    )
    .await?;
    println!("{}", serde_json::to_string_pretty(&verdict)?);
    if let Some(challenge) = args.vote {
        let account = Secret::parse(args.account.as_deref().unwrap_or_default())?.signer()?;
        chain
            .vote(&account, challenge, !verdict.holds)
            .await
            .with_context(|| format!("voting on challenge {challenge}"))?;
        eprintln!(
            "voted {} on challenge {challenge}",
            if verdict.holds { "sound" } else { "fraud" }
        );
    }
    if verdict.holds {
        eprintln!("the committed figures hold");
        return Ok(());
    }
    if args.challenge {
        let job = job.context("a challenge needs --job (the proof's window must still be open)")?;
        let account = Secret::parse(args.account.as_deref().unwrap_or_default())?.signer()?;
        let (challenge, vote_end) = chain
            .challenge(&account, job, verdict.evidence()?)
            .await
            .context("opening the challenge")?;
        eprintln!(
            "challenge opened against job {job}: challenge {challenge}, its jury votes until \
             block {vote_end}"
        );
    }
    bail!("the committed figures do not hold")
}

/// `attribution-worker verify --attribution RECORD`: fetches the settled record, recomputes its
/// attribution from the request body and the answer ([`check_record`], the jury's own
/// function) on its model, prints the finding as JSON and, with `--challenge`, challenges a
/// record that does not hold. Exits with an error when it does not hold.
async fn verify_attribution(args: &VerifyArgs, record_id: RecordId) -> Result<()> {
    let read = |path: &Option<PathBuf>, flag: &str| -> Result<Vec<u8>> {
        let path = path
            .as_ref()
            .with_context(|| format!("--attribution needs {flag}"))?;
        std::fs::read(path).with_context(|| format!("{flag}: reading {}", path.display()))
    };
    let prompt = read(&args.prompt_file, "--prompt-file")?;
    let answer = read(&args.answer_file, "--answer-file")?;
    let chain = Chain::connect(&args.node.node).await?;
    let record = chain.settled_record(record_id).await?.with_context(|| {
        format!("record {record_id} is not kept on chain (unknown, or its window has closed)")
    })?;
    check_commitments(&record, &prompt, &answer)?;
    let method = String::from_utf8_lossy(&record.provenance.method).into_owned();
    let name = crate::provenance::combined::split_method(&method);
    // The model is held in the formats the record was computed on (`--weights` and
    // `--kv-cache` otherwise).
    let mut engine = args.engine.clone();
    if let Some(numerics) = name.and_then(|name| name.weights) {
        let unknown = || {
            anyhow::anyhow!(
                "record {record_id}'s method `{method}` names unknown numerics `{numerics}`"
            )
        };
        let (weights, kv) = Numerics::split(numerics);
        engine.weights = Weights::from_str(weights, false).map_err(|_| unknown())?;
        engine.kv_cache = kv;
    }
    let state = serve_adapter_for_checks(
        &chain,
        record.model,
        &ModelCache::new(&args.node.models),
        &args.state_dir,
        &engine,
        name.is_some_and(|name| name.influence),
    )
    .await?;
    let finding = check_record(&state, &record, &prompt, &answer).await?;
    let report = serde_json::json!({
        "record": record_id,
        "model": record.model,
        "method": method,
        "tolerance_ppm": TOLERANCE_PPM,
        "distance_ppm": finding.distance,
        "same_retrieval": finding.same_retrieval,
        "same_seed": finding.same_seed,
        "holds": !finding.misattributed,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if !finding.misattributed {
        eprintln!("the record's attribution holds");
        return Ok(());
    }
    if args.challenge {
        let account = Secret::parse(args.account.as_deref().unwrap_or_default())?.signer()?;
        let (challenge, vote_end) = chain
            .challenge_attribution(&account, record_id, prompt, answer)
            .await
            .context("opening the attribution challenge")?;
        eprintln!(
            "challenge opened against record {record_id}: attribution challenge {challenge}, \
             its jury votes until block {vote_end}"
        );
    }
    bail!("the record's attribution does not hold")
}

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Print what the chain registers of a base model (`Models::register_base_model`): its
    /// weights hash, architecture and parameter count, and the whole record SCALE-encoded.
    Info {
        /// A `.gguf` file or a Hugging Face directory.
        #[arg(long)]
        model: PathBuf,
        /// The license the weights are published under.
        #[arg(long, default_value = "Apache-2.0")]
        license: String,
    },
}

/// `attribution-worker model …`.
pub fn model(command: ModelCommand) -> Result<()> {
    let ModelCommand::Info { model, license } = command;
    let base = base_model_record(&model, &license)?;
    let info = serde_json::json!({
        "weights_hash": format!("{:?}", base.weights_hash),
        "weights_cid": String::from_utf8_lossy(&base.weights_cid),
        "tokenizer_hash": format!("{:?}", base.tokenizer_hash),
        "parameters": base.parameters,
        "architecture": {
            "hidden_size": base.architecture.hidden_size,
            "intermediate_size": base.architecture.intermediate_size,
            "num_layers": base.architecture.num_layers,
            "num_attention_heads": base.architecture.num_attention_heads,
            "num_key_value_heads": base.architecture.num_key_value_heads,
            "vocab_size": base.architecture.vocab_size,
            "max_position_embeddings": base.architecture.max_position_embeddings,
            "rope_theta": base.architecture.rope_theta,
        },
        "scale": format!("0x{}", hex::encode(codec::Encode::encode(&base))),
    });
    println!("{}", serde_json::to_string_pretty(&info)?);
    Ok(())
}

/// The base-model record of the model at `path`: the weights hash is the `.gguf` file's (whose
/// metadata also holds the tokenizer) or the directory's `model.safetensors`'.
pub fn base_model_record(path: &std::path::Path, license: &str) -> Result<BaseModel> {
    let (weights, tokenizer) = if path.is_dir() {
        (path.join("model.safetensors"), path.join("tokenizer.json"))
    } else {
        (path.to_path_buf(), path.to_path_buf())
    };
    let hash = |file: &std::path::Path| -> Result<Hash> {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        Ok(Hash::from(blake2b_256(&bytes)))
    };
    let weights_hash = hash(&weights)?;
    let dir = ModelDir::load(path)?;
    let config = &dir.checkpoint.config;
    let parameters: usize = config
        .tensor_shapes()
        .iter()
        .map(|(_, shape)| shape.iter().product::<usize>())
        .sum();
    let narrow = |v: usize| u32::try_from(v).context("a dimension over u32");
    Ok(BaseModel {
        architecture: Architecture {
            hidden_size: narrow(config.hidden_size)?,
            intermediate_size: narrow(config.intermediate_size)?,
            num_layers: narrow(config.num_hidden_layers)?,
            num_attention_heads: narrow(config.num_attention_heads)?,
            num_key_value_heads: narrow(config.kv_heads())?,
            vocab_size: narrow(config.vocab_size)?,
            max_position_embeddings: narrow(config.max_position_embeddings)?,
            rope_theta: config.rope_theta.round() as u32,
        },
        parameters: parameters as u64,
        weights_hash,
        weights_cid: Cid::truncate_from(cid_v1(&weights_hash).into_bytes()),
        tokenizer_hash: hash(&tokenizer)?,
        license: License::try_from(license.as_bytes().to_vec())
            .map_err(|_| anyhow::anyhow!("the license name is too long"))?,
    })
}
