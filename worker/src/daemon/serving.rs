//! The daemon's inference side: one registered base model served from the model cache, each of
//! its active adapters on chain served as its own model id (fetched from the node's content
//! store, checked against the proof's hash, kept on disk), every request paid through the
//! [`PaidGate`] and settled by the batcher.

use super::check_hash;
use super::dataset::{fetch_version, split, Blob as FetchedBlob};
use super::hyperparameters::Hyperparameters;
use super::model_cache::ModelCache;
use super::paid::{run_batcher, BatchPolicy, Journal, PaidGate};
use crate::job::ModelDir;
use crate::lora::LoraConfig;
use crate::provenance;
use crate::provenance::index::{RowRef, SpanIndex, TrainingRows};
use crate::provenance::influence::adapter::{file_beside, AdapterInfluence, InfluenceSource};
use crate::provenance::influence::InfluenceConfig;
use crate::rag::index::{Blob, RowIndex};
use crate::serve::api::grounding::Grounding;
use crate::serve::api::{ApiState, ServedModel};
use crate::serve::cli::start_engine;
use crate::serve::cli::{api_state, EngineArgs};
use crate::serve::runtime::LoraWeights;
use crate::tuning::Method;
use anyhow::{bail, Context, Result};
use attribution_primitives::models::{ModelKind, ModelStatus};
use attribution_primitives::{AccountId, ModelId};
use attribution_worker_chain::Chain;
use sp_core::sr25519;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// What `run --serve` serves.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The registered base model.
    pub model: ModelId,
    pub engine: EngineArgs,
    pub batches: BatchPolicy,
}

/// Loads the base model, starts the engine, the gate and the batcher; returns the API state and
/// a task that keeps the adapters in step with the chain.
pub async fn start(
    chain: &Chain,
    config: &ServeConfig,
    models: &ModelCache,
    state_dir: &std::path::Path,
    account: subxt_signer::sr25519::Keypair,
    operator: AccountId,
    worker: sr25519::Pair,
) -> Result<Arc<ApiState>> {
    let record = chain
        .model(config.model)
        .await?
        .with_context(|| format!("model {} is not registered", config.model))?;
    let ModelKind::Base(base) = &record.model.kind else {
        bail!("model {} is an adapter: serve its base model", config.model);
    };
    let path = models.find(&base.weights_hash)?;
    let model_dir = Arc::new(ModelDir::load(&path)?);
    let engine = start_engine(&model_dir, &config.engine)?;
    let price = chain
        .inference_price(&operator)
        .await?
        .context("the operator is not registered: register it before serving")?;
    let journal = Arc::new(Mutex::new(Journal::open(&state_dir.join("inference"))?));
    let name = config.model.to_string();
    let mut state = api_state(engine, &model_dir, &path, &name, &config.engine)?;
    state.price_per_token = Some(price);
    state.gate = Some(Arc::new(PaidGate::new(
        chain.clone(),
        operator.clone(),
        price,
        journal.clone(),
    )));
    let owner = operator.to_string();
    state.models.write().unwrap()[0] = ServedModel {
        id: name,
        adapter: None,
        chain_model: Some(config.model),
        created: 0,
        owned_by: owner.clone(),
        grounding: None,
    };
    let state = Arc::new(state);
    tracing::info!(model = config.model, path = %path.display(), price = %price, "serving the base model, paid");

    tokio::spawn(run_batcher(
        chain.clone(),
        account,
        operator,
        worker,
        journal,
        config.batches.clone(),
    ));
    let adapters = Adapters {
        chain: chain.clone(),
        state: state.clone(),
        base: config.model,
        dir: state_dir.join("adapters"),
        owner,
        served: BTreeSet::new(),
        model_dir,
        base_id: base.weights_hash.as_ref().to_vec(),
    };
    tokio::spawn(adapters.follow());
    Ok(state)
}

/// Serves adapter `model` on its base, unpaid and only here, to recompute the attribution of
/// its records away from a daemon (`verify --attribution`), with the daemon's own code: the
/// same retrieval, span and influence indexes (under `state_dir`), waiting for the influence
/// index when `influence` (the record's method has it).
pub async fn serve_adapter_for_checks(
    chain: &Chain,
    model: ModelId,
    models: &ModelCache,
    state_dir: &std::path::Path,
    engine: &EngineArgs,
    influence: bool,
) -> Result<Arc<ApiState>> {
    let record = chain
        .model(model)
        .await?
        .with_context(|| format!("model {model} is not registered"))?;
    let ModelKind::Adapter(lineage) = &record.model.kind else {
        bail!("model {model} is a base model: its answers are not grounded, nothing to recompute");
    };
    let (base_id, base) = record
        .base
        .as_ref()
        .with_context(|| format!("adapter {model} names no base model"))?;
    let base_id = *base_id;
    let ModelKind::Base(base) = &base.kind else {
        bail!("model {base_id}, the base of {model}, is not a base model");
    };
    let path = models.find(&base.weights_hash)?;
    let model_dir = Arc::new(ModelDir::load(&path)?);
    let name = base_id.to_string();
    let state = Arc::new(api_state(
        start_engine(&model_dir, engine)?,
        &model_dir,
        &path,
        &name,
        engine,
    )?);
    let adapters = Adapters {
        chain: chain.clone(),
        state: state.clone(),
        base: base_id,
        dir: state_dir.join("adapters"),
        owner: String::new(),
        served: BTreeSet::new(),
        model_dir,
        base_id: base.weights_hash.as_ref().to_vec(),
    };
    let building = adapters.add(model, lineage).await?;
    if influence {
        building.await.context("building the influence index")?;
    }
    Ok(state)
}

/// Keeps the served adapters in step with the chain's active adapters of the base.
struct Adapters {
    chain: Chain,
    state: Arc<ApiState>,
    base: ModelId,
    dir: PathBuf,
    owner: String,
    served: BTreeSet<ModelId>,
    /// The base model, for the adapters' influence models.
    model_dir: Arc<ModelDir>,
    /// The base's weights hash (it names the base in influence fingerprints).
    base_id: Vec<u8>,
}

impl Adapters {
    async fn follow(mut self) {
        loop {
            if let Err(error) = self.refresh().await {
                tracing::warn!(error = %format!("{error:#}"), "refreshing the served adapters");
            }
            tokio::time::sleep(Duration::from_secs(6)).await;
        }
    }

    /// Adds every active adapter of the base not served yet (model ids are dense from 0).
    async fn refresh(&mut self) -> Result<()> {
        let mut id: ModelId = 0;
        while let Some(model) = self.chain.model(id).await? {
            let serve = !self.served.contains(&id)
                && model.model.status == ModelStatus::Active
                && model
                    .base
                    .as_ref()
                    .is_some_and(|(base, _)| *base == self.base);
            if serve {
                if let ModelKind::Adapter(lineage) = &model.model.kind {
                    match self.add(id, lineage).await {
                        Ok(_influence) => {
                            self.served.insert(id);
                        }
                        Err(error) => {
                            tracing::warn!(adapter = id, error = %format!("{error:#}"), "cannot serve an adapter")
                        }
                    }
                }
            }
            id += 1;
        }
        Ok(())
    }

    /// Serves adapter `id`; returns the task building its influence index.
    async fn add(
        &self,
        id: ModelId,
        lineage: &attribution_primitives::models::Lineage<AccountId>,
    ) -> Result<tokio::task::JoinHandle<()>> {
        let artifact = lineage.artifact.as_ref().context("no artifact")?;
        let hp_bytes = self
            .chain
            .artifact(lineage.spec.hyperparameters_hash)
            .await?;
        check_hash(
            &hp_bytes,
            lineage.spec.hyperparameters_hash,
            "hyper-parameters file",
        )?;
        let hyperparameters = Hyperparameters::parse(&hp_bytes, lineage.spec.method)?;
        let lora = hyperparameters
            .method
            .lora()
            .context("only LoRA and QLoRA adapters are served")?
            .clone();
        let qlora = matches!(hyperparameters.method, Method::Qlora(_));
        std::fs::create_dir_all(&self.dir)?;
        let path = self.dir.join(format!("{id}.safetensors"));
        if !path.is_file() {
            let bytes = self.chain.artifact(artifact.adapter_hash).await?;
            check_hash(&bytes, artifact.adapter_hash, "adapter")?;
            std::fs::write(&path, &bytes)?;
        }
        // Parsed once now, so a file the runtime cannot read is refused before it is listed.
        let bytes = std::fs::read(&path)?;
        LoraWeights::from_peft(&bytes, &lora)?;
        let (grounding, blobs, held_out) = self
            .grounding(id, lineage, hyperparameters.eval_fraction)
            .await?;
        let grounding = Arc::new(grounding);
        let adapter = u64::from(id);
        let source_path = path.clone();
        let runtime_lora = lora.clone();
        self.state.engine.add_adapter(
            adapter,
            Arc::new(move || LoraWeights::read_peft(&source_path, &runtime_lora)),
        );
        self.state.serve(ServedModel {
            id: id.to_string(),
            adapter: Some(adapter),
            chain_model: Some(id),
            created: 0,
            owned_by: self.owner.clone(),
            grounding: Some(grounding.clone()),
        });
        tracing::info!(adapter = id, "serving an adapter");
        Ok(self.build_influence(
            id,
            grounding,
            blobs,
            held_out,
            lora,
            qlora,
            bytes,
            hyperparameters.cutoff,
            path,
        ))
    }

    /// Reads or builds the adapter's influence index (`{id}.influence.bin` beside its weights)
    /// on a blocking thread, one backward pass per training row (the held-out ones left out); answers use it once it is set,
    /// and are attributed without influence (the older method) until then.
    #[allow(clippy::too_many_arguments)]
    fn build_influence(
        &self,
        id: ModelId,
        grounding: Arc<Grounding>,
        blobs: Vec<FetchedBlob>,
        held_out: BTreeSet<RowRef>,
        lora: LoraConfig,
        qlora: bool,
        adapter: Vec<u8>,
        cutoff: usize,
        adapter_path: PathBuf,
    ) -> tokio::task::JoinHandle<()> {
        let model_dir = self.model_dir.clone();
        let base_id = self.base_id.clone();
        tokio::task::spawn_blocking(move || {
            let blobs: Vec<Blob<'_>> = blobs
                .iter()
                .map(|b| Blob {
                    contribution: b.contribution,
                    jsonl: &b.bytes,
                })
                .collect();
            let source = InfluenceSource {
                base: &model_dir.checkpoint,
                base_id: &base_id,
                lora: &lora,
                qlora,
                adapter: &adapter,
                rows: TrainingRows {
                    blobs: &blobs,
                    held_out: &held_out,
                },
                tokenizer: &model_dir.tokenizer,
                special: model_dir.special,
                cutoff,
            };
            let started = std::time::Instant::now();
            match AdapterInfluence::load_or_build(
                &file_beside(&adapter_path),
                &source,
                InfluenceConfig::default(),
            ) {
                Ok(influence) => {
                    tracing::info!(
                        adapter = id,
                        rows = influence.index.rows.len(),
                        seconds = started.elapsed().as_secs_f64(),
                        "influence index ready"
                    );
                    let _ = grounding.influence.set(influence);
                }
                Err(error) => tracing::warn!(
                    adapter = id,
                    error = %format!("{error:#}"),
                    "no influence index: answers are attributed without it"
                ),
            }
        })
    }

    /// The retrieval index over every row of the version the adapter was trained on, the span
    /// index over its training rows (all but those the job held out for evaluation, recomputed
    /// from the rows' hashes and `eval_fraction` as the job split them), both built from blobs
    /// checked against the version's root (both kept on disk, the retrieval index rebuilt if
    /// unreadable, the span index if missing, corrupt or built from other rows or another
    /// tokenizer); those blobs and the held-out rows. Retrieval keeps the held-out rows: a row
    /// in the answer's context is paid for what the answer read (ContextCite measures it),
    /// whether or not it trained the adapter.
    async fn grounding(
        &self,
        id: ModelId,
        lineage: &attribution_primitives::models::Lineage<AccountId>,
        eval_fraction: f64,
    ) -> Result<(Grounding, Vec<FetchedBlob>, BTreeSet<RowRef>)> {
        let pool = lineage.spec.pool;
        let indexes = self.dir.join("indexes");
        let name = format!("{}-{}", pool.datanet, pool.version);
        let dir = indexes.join(&name);
        let fetched = fetch_version(
            &self.chain,
            pool.datanet,
            pool.version,
            lineage.spec.dataset_root,
            &self.dir.join("blobs"),
        )
        .await?;
        let held_out = split(&fetched, eval_fraction)?.held_out_rows();
        let blobs: Vec<Blob<'_>> = fetched
            .iter()
            .map(|b| Blob {
                contribution: b.contribution,
                jsonl: &b.bytes,
            })
            .collect();
        let index = match RowIndex::open(&dir) {
            Ok(index) => index,
            Err(_) => {
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir)?;
                RowIndex::create_in_dir(&dir, &blobs)?
            }
        };
        // Named by the split too: adapters of one version trained with other held-out shares
        // have other training rows.
        let spans_path = indexes.join(format!(
            "{name}-eval{eval_fraction}.{}",
            provenance::file::FILE_NAME
        ));
        let rows = TrainingRows {
            blobs: &blobs,
            held_out: &held_out,
        };
        let spans = SpanIndex::load_or_build(&spans_path, rows, self.state.engine.tokenizer())?;
        tracing::info!(
            adapter = id,
            rows = index.rows(),
            span_rows = spans.rows(),
            held_out = held_out.len(),
            span_tokens = spans.tokens(),
            datanet = pool.datanet,
            version = pool.version,
            "retrieval and span indexes ready"
        );
        let grounding = Grounding {
            index,
            spans,
            pool,
            chain_model: id,
            top_k: 4,
            method: self.state.attribution.clone(),
            numerics: self.state.numerics,
            influence: OnceLock::new(),
        };
        Ok((grounding, fetched, held_out))
    }
}
