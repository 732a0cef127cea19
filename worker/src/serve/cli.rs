//! `attribution-worker serve`: the OpenAI-compatible API over a local model and adapters, without
//! a chain (the operator daemon `run` serves the chain's models the same way, paid).

use super::api::grounding::Grounding;
use super::api::{self, ApiState, Metrics, ServedModel};
use super::engine::{AdapterSource, Engine, EngineConfig};
use super::runtime::native::{NativeRuntime, RuntimeOptions};
use super::runtime::quant::WeightFormat;
use super::runtime::{KvFormat, LoraWeights, Numerics};
use crate::job::ModelDir;
use crate::peft::{self, PeftConfig};
use crate::provenance::index::{SpanIndex, TrainingRows};
use crate::provenance::influence::adapter::{file_beside, AdapterInfluence, InfluenceSource};
use crate::provenance::influence::InfluenceConfig;
use crate::rag::ablation::Ablation;
use crate::rag::at2::{model_hash, theta_for, Theta};
use crate::rag::attribution::ContextCiteConfig;
use crate::rag::index::{Blob, RowIndex};
use crate::rag::method::Method;
use crate::rag::prior::PriorConfig;
use anyhow::{bail, Context, Result};
use attribution_primitives::traits::PoolId;
use clap::{Args, ValueEnum};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};
use tokenizers::Tokenizer;

/// How the base model's weights are held while serving.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Weights {
    /// 4-bit blocks (ggml Q4_1): the fastest decode, a small loss of precision.
    Q4,
    /// 8-bit blocks (ggml Q8_0).
    Q8,
    /// Dense f32: exact, four times the memory traffic of Q8.
    F32,
    /// The projections in QLoRA's NF4, as an adapter trained with `"base": "nf4"` saw them
    /// (the embeddings as the checkpoint stores them).
    Nf4,
}

/// How grounded answers' retrieved sources are attributed (`docs/attribution.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Attribution {
    /// `contextcite-v1`: 32 random exact ablations (the prompt re-run without the dropped
    /// sources), a LASSO on them. The most faithful to removing sources; measured at 5.7 times
    /// the answer's generation on SmolLM2.
    Exact,
    /// `contextcite-v2`: attention knockout on the generation's own cache. Measured at 0.73
    /// times the generation, LDS 0.90 against v1's 0.92 (the same run as the prior's; on
    /// other answers it has fallen much further).
    Knockout,
    /// `contextcite-prior-v1`: one exact ablation per source on the prefix path, fitted toward
    /// AT2's attention weights; needs the model's AT2 coefficients (committed with the worker
    /// for SmolLM2-135M-Instruct Q4_1, or `--theta`). Measured at 0.77–0.79 times the
    /// generation, LDS 0.87 against v1's 0.92.
    Prior,
}

impl From<Weights> for WeightFormat {
    fn from(weights: Weights) -> Self {
        match weights {
            Weights::Q4 => WeightFormat::Q4,
            Weights::Q8 => WeightFormat::Q8_0,
            Weights::F32 => WeightFormat::F32,
            Weights::Nf4 => WeightFormat::Nf4,
        }
    }
}

/// The engine's limits, shared by `serve` and `run`.
#[derive(Args, Clone, Debug)]
pub struct EngineArgs {
    #[arg(long, value_enum, default_value = "q4")]
    pub weights: Weights,
    /// Requests decoded together (continuous batching).
    #[arg(long, default_value_t = 8)]
    pub max_running: usize,
    /// Requests queued beyond those; more get HTTP 429.
    #[arg(long, default_value_t = 64)]
    pub max_waiting: usize,
    /// Positions (prompt and answer) one request may use.
    #[arg(long, default_value_t = 2048)]
    pub context: usize,
    /// Most new tokens a request may ask for.
    #[arg(long, default_value_t = 1024)]
    pub max_tokens: usize,
    /// Memory for adapters held at once (MiB); the least recently used are dropped.
    #[arg(long, default_value_t = 512)]
    pub adapter_cache_mib: usize,
    /// Compute threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// How grounded answers are attributed to their retrieved sources. A juror recomputes a
    /// record with the method the record names, whichever this is.
    #[arg(long, value_enum, default_value = "exact")]
    pub attribution_method: Attribution,
    /// What the sequences' KV caches keep: `f16` halves their memory and what attention reads,
    /// and rounds every key and value (an attribution names it: `contextcite-v1@q4h+spans-v1`).
    #[arg(long, value_enum, default_value = "f32")]
    pub kv_cache: KvFormat,
    /// AT2's coefficients for the base model (a θ file of `bench attribution --calibrate`),
    /// for `--attribution-method prior` and for recomputing records that used it. Default: the
    /// coefficients committed with the worker for that model file, if any.
    #[arg(long)]
    pub theta: Option<PathBuf>,
}

impl EngineArgs {
    /// What the runtime computes on.
    pub fn numerics(&self) -> Numerics {
        Numerics {
            weights: self.weights.into(),
            kv: self.kv_cache,
        }
    }
}

#[derive(Args)]
pub struct ServeArgs {
    /// A `.gguf` file or a Hugging Face model directory.
    #[arg(long)]
    pub model: PathBuf,
    /// The base model's id in the API (default: the file or directory name).
    #[arg(long)]
    pub name: Option<String>,
    /// An adapter to serve as its own model id: `NAME=DIR`, DIR holding a PEFT
    /// `adapter_config.json` and `adapter_model.safetensors`. Repeatable.
    #[arg(long = "adapter", value_parser = parse_adapter)]
    pub adapters: Vec<(String, PathBuf)>,
    /// Ground the base model's chat answers in these JSONL rows (repeatable; the i-th file is
    /// contribution i): retrieved rows join the prompt, and the answer is attributed to them
    /// and to the rows it repeats verbatim.
    #[arg(long = "rows")]
    pub rows: Vec<PathBuf>,
    /// The adapters were trained on the `--rows`: ground their chat answers in them too, and
    /// attribute each answer to the training rows that raised its likelihood (influence; the
    /// index is read from, or built into, `influence.bin` in each adapter's directory at start).
    #[arg(long, requires = "rows")]
    pub influence: bool,
    /// Token cutoff the adapters' rows were trained with (for `--influence`).
    #[arg(long, default_value_t = 256)]
    pub influence_cutoff: usize,
    /// Address of the HTTP API.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub http: SocketAddr,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// The bytes of local JSONL files.
fn read_files(files: &[PathBuf]) -> Result<Vec<Vec<u8>>> {
    files
        .iter()
        .map(|path| std::fs::read(path).with_context(|| format!("reading {}", path.display())))
        .collect()
}

/// Local files as blobs, the file at index `i` standing for contribution `i`.
fn local_blobs(contents: &[Vec<u8>]) -> Vec<Blob<'_>> {
    contents
        .iter()
        .enumerate()
        .map(|(i, bytes)| Blob {
            contribution: i as u64,
            jsonl: bytes,
        })
        .collect()
}

/// Retrieval and span provenance over local JSONL files (both indexes in memory), for a model
/// served without a chain, attributed with `method` computed on `numerics`.
pub fn local_grounding(
    files: &[PathBuf],
    tokenizer: &Tokenizer,
    method: Method,
    numerics: Numerics,
) -> Result<Grounding> {
    let contents = read_files(files)?;
    let blobs = local_blobs(&contents);
    Ok(Grounding {
        index: RowIndex::create_in_ram(&blobs)?,
        spans: SpanIndex::build(&blobs, tokenizer)?,
        pool: PoolId {
            datanet: 0,
            version: 0,
        },
        chain_model: 0,
        top_k: 4,
        method,
        numerics,
        influence: OnceLock::new(),
    })
}

/// The influence of `rows` on the adapter in `dir`, from `dir/influence.bin` or built there.
fn local_influence(
    model: &ModelDir,
    base: &Path,
    dir: &Path,
    rows: &[PathBuf],
    cutoff: usize,
) -> Result<AdapterInfluence> {
    let config_path = dir.join(peft::CONFIG_FILE);
    let config = std::fs::read(&config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let lora = PeftConfig::parse(&config)?.to_lora()?;
    let weights_path = dir.join(peft::WEIGHTS_FILE);
    let adapter = std::fs::read(&weights_path)
        .with_context(|| format!("reading {}", weights_path.display()))?;
    let contents = read_files(rows)?;
    let blobs = local_blobs(&contents);
    let base_id = base.display().to_string();
    let source = InfluenceSource {
        base: &model.checkpoint,
        base_id: base_id.as_bytes(),
        lora: &lora,
        // A PEFT directory does not say whether its base was NF4: taken as LoRA.
        qlora: false,
        adapter: &adapter,
        rows: TrainingRows::all(&blobs),
        tokenizer: &model.tokenizer,
        special: model.special,
        cutoff,
    };
    AdapterInfluence::load_or_build(&file_beside(dir), &source, InfluenceConfig::default())
}

fn parse_adapter(value: &str) -> Result<(String, PathBuf), String> {
    let (name, dir) = value
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=DIR, got `{value}`"))?;
    if name.is_empty() {
        return Err("the adapter's name is empty".into());
    }
    Ok((name.to_string(), PathBuf::from(dir)))
}

/// Loads the runtime for `model` and starts an engine on it.
pub fn start_engine(model: &ModelDir, args: &EngineArgs) -> Result<Engine> {
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let context = args
        .context
        .min(model.checkpoint.config.max_position_embeddings);
    let started = std::time::Instant::now();
    let runtime = NativeRuntime::load(
        &model.checkpoint,
        RuntimeOptions {
            weights: args.weights.into(),
            // The running requests, as many kept prompts (knockout scores from them), one
            // more for an attribution that runs its prompt itself, and the exact ablation's
            // trie (one slot per distinct mask of a scoring group).
            max_slots: 2 * args.max_running + 1 + ContextCiteConfig::default().max_live_slots,
            max_positions: context,
            threads,
            kv: args.kv_cache,
        },
    )?;
    tracing::info!(
        weights = ?args.weights,
        kv_cache = ?args.kv_cache,
        threads,
        context,
        seconds = started.elapsed().as_secs_f64(),
        "model loaded for serving"
    );
    let eos: HashSet<u32> = model.special.eos.into_iter().collect();
    Ok(Engine::start(
        Box::new(runtime),
        model.tokenizer.clone(),
        eos,
        EngineConfig {
            max_running: args.max_running,
            max_waiting: args.max_waiting,
            prefill_budget: 256,
            adapter_budget: args.adapter_cache_mib << 20,
        },
    ))
}

/// AT2's coefficients for the model file at `path` (`--theta`, else the committed ones) and the
/// method `--attribution-method` asks for: an error when it is the prior and no coefficients are known.
pub fn attribution_method(
    model: &ModelDir,
    path: &Path,
    args: &EngineArgs,
) -> Result<(Method, Option<Arc<Theta>>)> {
    let started = std::time::Instant::now();
    let hash = model_hash(path)?;
    let theta = theta_for(args.theta.as_deref(), &hash, &model.checkpoint.config)?.map(Arc::new);
    let method = match args.attribution_method {
        Attribution::Exact => Method::context_cite(Ablation::Exact),
        Attribution::Knockout => Method::context_cite(Ablation::Knockout),
        Attribution::Prior => Method::Prior(PriorConfig::new(theta.clone().with_context(|| {
            format!(
                "--attribution-method prior needs AT2's coefficients for the model {hash}: none are \
                 committed for it, pass --theta FILE (bench attribution --calibrate writes one)"
            )
        })?)),
    };
    tracing::info!(
        method = %method.name(),
        theta = theta.as_ref().map(|t| t.method()),
        seconds = started.elapsed().as_secs_f64(),
        "attribution method"
    );
    Ok((method, theta))
}

/// The API state for `engine` serving the model in `path` under the id `name`.
pub fn api_state(
    engine: Engine,
    model: &ModelDir,
    path: &Path,
    name: &str,
    args: &EngineArgs,
) -> Result<ApiState> {
    let (attribution, theta) = attribution_method(model, path, args)?;
    Ok(ApiState {
        engine,
        chat_template: model.chat_template.clone(),
        special: model.special,
        base: name.to_string(),
        models: RwLock::new(vec![ServedModel {
            id: name.to_string(),
            adapter: None,
            chain_model: None,
            created: 0,
            owned_by: "attribution-worker".into(),
            grounding: None,
        }]),
        max_tokens_limit: args.max_tokens,
        metrics: Metrics::default(),
        price_per_token: None,
        gate: None,
        attribution,
        theta,
        numerics: args.numerics(),
    })
}

/// An adapter directory's source, its configuration checked now so a bad one fails at start.
pub fn adapter_source(dir: &Path) -> Result<AdapterSource> {
    let config = std::fs::read(dir.join(peft::CONFIG_FILE))
        .with_context(|| format!("reading {}", dir.join(peft::CONFIG_FILE).display()))?;
    let config = PeftConfig::parse(&config)?.to_lora()?;
    let weights = dir.join(peft::WEIGHTS_FILE);
    if !weights.is_file() {
        bail!("{} is missing", weights.display());
    }
    Ok(Arc::new(move || LoraWeights::read_peft(&weights, &config)))
}

/// `attribution-worker serve`.
pub async fn serve(args: ServeArgs) -> Result<()> {
    let model = ModelDir::load(&args.model)?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => args
            .model
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into()),
    };
    let engine = start_engine(&model, &args.engine)?;
    let state = api_state(engine.clone(), &model, &args.model, &name, &args.engine)?;
    if !args.rows.is_empty() {
        let mut base = state.model(&name).context("the base model is served")?;
        base.grounding = Some(Arc::new(local_grounding(
            &args.rows,
            &model.tokenizer,
            state.attribution.clone(),
            state.numerics,
        )?));
        state.serve(base);
    }
    for (index, (adapter, dir)) in args.adapters.iter().enumerate() {
        if adapter == &name || state.model(adapter).is_some() {
            bail!("the model id `{adapter}` is given twice");
        }
        let id = index as u64 + 1;
        engine.add_adapter(id, adapter_source(dir)?);
        let grounding = if args.influence {
            let influence =
                local_influence(&model, &args.model, dir, &args.rows, args.influence_cutoff)?;
            tracing::info!(adapter = %adapter, rows = influence.index.rows.len(), "influence index ready");
            Some(Arc::new(Grounding {
                influence: OnceLock::from(influence),
                ..local_grounding(
                    &args.rows,
                    &model.tokenizer,
                    state.attribution.clone(),
                    state.numerics,
                )?
            }))
        } else {
            None
        };
        state.serve(ServedModel {
            id: adapter.clone(),
            adapter: Some(id),
            chain_model: None,
            created: 0,
            owned_by: "attribution-worker".into(),
            grounding,
        });
    }
    let app = api::router(Arc::new(state))
        .route("/health", axum::routing::get(health))
        .fallback(not_found)
        .layer(api::cors());
    let listener = tokio::net::TcpListener::bind(args.http)
        .await
        .with_context(|| format!("binding {}", args.http))?;
    tracing::info!(address = %args.http, model = %name, adapters = args.adapters.len(), "serving the OpenAI-compatible API");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

async fn not_found() -> api::ApiError {
    api::ApiError::not_found()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An attribution's method names the weights by [`WeightFormat::name`], and `verify
    /// --attribution` parses that name back as a `--weights` value.
    #[test]
    fn a_weight_format_is_named_as_weights_takes_it() {
        for weights in Weights::value_variants() {
            let name = WeightFormat::from(*weights).name();
            let cli = weights
                .to_possible_value()
                .expect("every variant is a value");
            assert_eq!(cli.get_name(), name);
            let parsed = Weights::from_str(name, false).unwrap();
            assert_eq!(WeightFormat::from(parsed), WeightFormat::from(*weights));
        }
    }
}
