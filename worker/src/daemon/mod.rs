//! `attribution-worker run`: the GPU operator's daemon.
//!
//! Following one job through it: the daemon registers the operator when asked, follows the
//! finalized chain, and claims an open job it can serve ([`Daemon::claim_next`]: a method it
//! trains, a base model in its cache, a budget at or above its price, hyper-parameters a node
//! holds). It fetches and verifies the data ([`dataset`]) and the hyper-parameters
//! ([`hyperparameters`]), finds the base model by its registered hash ([`model_cache`]), trains
//! and evaluates ([`training`]), submits the signed proof, uploads the adapter the proof
//! announced, waits out the challenge window and settles. Everything it needs to pick up after a
//! crash lives under its state directory; the chain says where each job is, so a restarted
//! daemon resumes training from its last checkpoint and never submits a second proof.
//! [`status`] serves `GET /health` and `GET /status`. When the chain draws the operator onto a
//! challenge's jury, the daemon re-runs the verification and votes ([`jury`]); drawn onto an
//! attribution challenge's jury, it recomputes the record's attribution and votes
//! ([`attribution_jury`]).

mod attribution_jury;
pub mod cli;
pub mod dataset;
pub mod hyperparameters;
mod jury;
pub mod model_cache;
pub mod paid;
pub mod serving;
pub mod status;
pub mod training;
pub mod verify;

use crate::artifact::blake2b_256;
use anyhow::{bail, Context, Result};
use attribution_primitives::{
    cid::cid_v1,
    compute::{
        ContributionList, Endpoint, Hardware, JobStatus, SignedTrainingProof, TrainingProof,
    },
    merkle,
    models::{Cid, EvalMetrics, ModelKind, TrainingMethod},
    AccountId, Balance, Hash, JobId, OPEN,
};
use attribution_worker_chain::{client::Job, keys::Secret, Chain, ChainError};
use burn::tensor::Device;
use codec::Encode;
use dataset::{fetch_version, split, Dataset};
use hyperparameters::{job_seed, Hyperparameters};
use indicatif::{ProgressBar, ProgressStyle};
use model_cache::ModelCache;
use sp_core::{sr25519, Pair as _};
use status::{Phase, ProofSummary, Status};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;
use training::{JobRun, Observer, StepProgress, TrainedJob};

/// How the daemon runs.
pub struct DaemonConfig {
    /// The node's WebSocket URL.
    pub node: String,
    /// The operator account: signs transactions, holds the stake, is paid.
    pub account: Secret,
    /// Signs training proofs; must be the key registered for the operator.
    pub worker_key: Secret,
    /// Base models, found by their registered weights hash.
    pub models: PathBuf,
    /// Survives restarts: fetched data, checkpoints, results.
    pub state_dir: PathBuf,
    /// Where `/health` and `/status` are served.
    pub http: SocketAddr,
    /// Register the operator with this stake if it is not registered.
    pub register_stake: Option<Balance>,
    /// The inference endpoint registered with the operator.
    pub endpoint: String,
    /// The inference price per token registered with the operator.
    pub price_per_token: Balance,
    /// The lowest budget this operator trains for.
    pub min_budget: Balance,
    /// Show a progress bar (when stderr is a terminal).
    pub progress_bar: bool,
    /// Serve a base model and its adapters over the OpenAI-compatible API, paid.
    pub serve: Option<serving::ServeConfig>,
}

/// The status the HTTP API serves, shared with the daemon loop.
#[derive(Clone, Default)]
pub struct Shared(Arc<RwLock<Status>>);

impl Shared {
    pub fn read(&self) -> RwLockReadGuard<'_, Status> {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        f(&mut self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()));
    }

    fn phase(&self, phase: Phase, job: Option<JobId>) {
        self.update(|s| {
            s.phase = phase;
            s.job = job;
        });
    }
}

/// Runs the daemon until the process is stopped.
pub async fn run(config: DaemonConfig, device: Device) -> Result<()> {
    let account = config.account.signer()?;
    let worker = config.worker_key.pair()?;
    let me = AccountId::from(account.public_key().0);
    let shared = Shared::default();
    shared.update(|s| {
        s.operator = attribution_worker_chain::keys::PublicInfo::of(&sr25519::Public::from_raw(
            account.public_key().0,
        ))
        .ss58_address;
        s.node = config.node.clone();
        s.earned = "0".into();
    });
    std::fs::create_dir_all(&config.state_dir)
        .with_context(|| format!("creating {}", config.state_dir.display()))?;
    let mut daemon = Daemon {
        models: ModelCache::new(&config.models),
        config,
        account,
        worker,
        me,
        shared,
        device,
        chain: None,
        jury_cursor: 0,
        attribution_jury_cursor: 0,
        serving: None,
    };
    let mut serving = None;
    if let Some(serve) = daemon.config.serve.clone() {
        // Serving needs the chain first: the model, the operator (registered now if asked) and
        // its price, the adapters.
        let chain =
            Chain::connect_with_retry(&daemon.config.node, Duration::from_secs(120)).await?;
        if chain.operator(&daemon.me).await?.is_none() {
            daemon.register(&chain).await?;
        }
        let state = serving::start(
            &chain,
            &serve,
            &daemon.models,
            &daemon.config.state_dir,
            daemon.account.clone(),
            daemon.me.clone(),
            daemon.worker.clone(),
        )
        .await?;
        daemon.serving = Some(state.clone());
        serving = Some(state);
    }
    let api = match serving {
        Some(state) => status::router(daemon.shared.clone(), Some(state.engine.clone()))
            .merge(crate::serve::api::router(state)),
        None => status::router(daemon.shared.clone(), None),
    }
    .layer(crate::serve::api::cors());
    let listener = tokio::net::TcpListener::bind(daemon.config.http)
        .await
        .with_context(|| format!("binding the HTTP API to {}", daemon.config.http))?;
    tracing::info!(address = %daemon.config.http, "serving GET /health and GET /status");
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, api).await {
            tracing::error!("the HTTP API stopped: {error}");
        }
    });
    let mut backoff = Duration::from_secs(1);
    loop {
        match daemon.tick().await {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(error) => {
                let transient = error
                    .downcast_ref::<ChainError>()
                    .is_some_and(ChainError::is_transient);
                if transient {
                    daemon.chain = None;
                    daemon.shared.update(|s| s.connected = false);
                }
                tracing::warn!(retry_in = ?backoff, "{error:#}");
                daemon
                    .shared
                    .update(|s| s.last_error = Some(format!("{error:#}")));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

struct Daemon {
    config: DaemonConfig,
    account: subxt_signer::sr25519::Keypair,
    worker: sr25519::Pair,
    me: AccountId,
    shared: Shared,
    models: ModelCache,
    device: Device,
    chain: Option<Chain>,
    /// The lowest challenge id that may still be open (see [`jury`]).
    jury_cursor: attribution_primitives::compute::ChallengeId,
    /// The lowest attribution challenge id that may still be open (see [`attribution_jury`]).
    attribution_jury_cursor: attribution_primitives::attribution::AttributionChallengeId,
    /// What this worker serves, with which it recomputes challenged attributions.
    serving: Option<std::sync::Arc<crate::serve::api::ApiState>>,
}

impl Daemon {
    async fn chain(&mut self) -> Result<Chain> {
        if let Some(chain) = &self.chain {
            return Ok(chain.clone());
        }
        let chain = Chain::connect(&self.config.node).await?;
        tracing::info!(node = %self.config.node, genesis = ?chain.genesis(), "connected");
        self.shared.update(|s| s.connected = true);
        self.chain = Some(chain.clone());
        Ok(chain)
    }

    /// One round: make sure the operator is registered, then advance its job or claim one, then
    /// wait for the next finalized block.
    async fn tick(&mut self) -> Result<()> {
        let chain = self.chain().await?;
        let finalized = chain.finalized_number().await?;
        self.shared.update(|s| s.finalized_block = Some(finalized));
        let operator = match chain.operator(&self.me).await? {
            Some(operator) => operator,
            None => {
                self.register(&chain).await?;
                return Ok(());
            }
        };
        if operator.worker_key != self.worker.public() {
            bail!(
                "the worker key {} is not the one registered for this operator ({}): pass the \
                 registered key or rotate it with Compute::rotate_worker_key",
                self.worker.public(),
                operator.worker_key
            );
        }
        if operator.juries > 0 {
            self.serve_on::<jury::Proofs>(&chain).await?;
        }
        if chain.lent_seats(&self.me).await? > 0 {
            self.serve_on::<attribution_jury::Records>(&chain).await?;
        }
        match operator.current_job {
            Some(job) => self.advance(&chain, job).await?,
            None => self.claim_next(&chain).await?,
        }
        chain.next_finalized(finalized).await?;
        Ok(())
    }

    async fn register(&mut self, chain: &Chain) -> Result<()> {
        let Some(stake) = self.config.register_stake else {
            bail!(
                "{} is not a registered operator: start with --register-stake OPEN to register it",
                self.shared.read().operator
            );
        };
        let endpoint = Endpoint::try_from(self.config.endpoint.clone().into_bytes())
            .map_err(|_| anyhow::anyhow!("the endpoint URL is too long"))?;
        chain
            .register_operator(
                &self.account,
                &self.worker,
                this_machine(),
                endpoint,
                stake,
                self.config.price_per_token,
            )
            .await
            .context("registering the operator")?;
        tracing::info!(stake = %format_open(stake), "operator registered");
        Ok(())
    }

    /// Claims the lowest open job this worker can serve, if any.
    async fn claim_next(&mut self, chain: &Chain) -> Result<()> {
        self.shared.phase(Phase::Idle, None);
        for (id, job) in chain.open_jobs(0, 32).await? {
            match self.can_serve(chain, &job).await {
                Ok(()) => {}
                Err(reason) => {
                    tracing::debug!(job = id, "skipping: {reason:#}");
                    continue;
                }
            }
            match chain.claim_job(&self.account, id).await {
                Ok(()) => {
                    tracing::info!(job = id, budget = %format_open(job.budget), "claimed");
                    return Ok(());
                }
                // Another operator was faster; try the next one.
                Err(error) if is_refusal(&error) => {
                    tracing::info!(job = id, "could not claim: {error:#}");
                }
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    async fn can_serve(&self, chain: &Chain, job: &Job) -> Result<()> {
        if !matches!(job.method, TrainingMethod::Lora | TrainingMethod::Qlora) {
            bail!("method {:?} is not served", job.method);
        }
        if job.budget < self.config.min_budget {
            bail!("budget {} below the price", format_open(job.budget));
        }
        self.base_model(chain, job).await?;
        hyperparameters_of(chain, job).await?;
        Ok(())
    }

    /// The job's base model from the local cache, checked against its registered weights hash.
    async fn base_model(&self, chain: &Chain, job: &Job) -> Result<(PathBuf, Hash)> {
        let model = chain
            .model(job.base_model)
            .await?
            .with_context(|| format!("base model {} is not registered", job.base_model))?;
        let ModelKind::Base(base) = model.model.kind else {
            bail!("model {} is not a base model", job.base_model);
        };
        Ok((self.models.find(&base.weights_hash)?, base.weights_hash))
    }

    /// Moves the operator's current job one stage on.
    async fn advance(&mut self, chain: &Chain, id: JobId) -> Result<()> {
        let Some(job) = chain.job(id).await? else {
            // Settled or rejected by someone else: nothing left to do.
            return Ok(());
        };
        match job.status.clone() {
            JobStatus::Claimed { operator, .. } if operator == self.me => {
                let trained = self.trained(chain, id, &job).await?;
                self.prove(chain, id, &job, &trained).await?;
                self.upload(chain, &trained).await
            }
            JobStatus::Proven { challenge_end, .. } => {
                self.upload(chain, &self.load_result(id)?).await?;
                self.shared.update(|s| {
                    s.phase = Phase::ChallengeWindow;
                    s.job = Some(id);
                    s.challenge_end = Some(challenge_end);
                });
                if chain.finalized_number().await? > challenge_end {
                    self.settle(chain, id).await?;
                }
                Ok(())
            }
            JobStatus::Challenged { open, .. } => {
                self.shared.phase(Phase::Challenged, Some(id));
                tracing::info!(job = id, challenges = ?open, "proof challenged; waiting for the juries");
                Ok(())
            }
            JobStatus::Claimed { .. } | JobStatus::Open => Ok(()),
        }
    }

    fn job_dir(&self, id: JobId) -> PathBuf {
        self.config.state_dir.join("jobs").join(id.to_string())
    }

    fn load_result(&self, id: JobId) -> Result<TrainedJob> {
        let path = self.job_dir(id).join("result.json");
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "job {id} is proven but its result {} is gone",
                path.display()
            )
        })?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// The job's training result: loaded when a previous run finished it, else fetched, trained
    /// and evaluated now (resuming from the last checkpoint).
    async fn trained(&mut self, chain: &Chain, id: JobId, job: &Job) -> Result<TrainedJob> {
        if let Ok(trained) = self.load_result(id) {
            return Ok(trained);
        }
        self.shared.phase(Phase::Fetching, Some(id));
        let dir = self.job_dir(id);
        let hyperparameters = hyperparameters_of(chain, job).await?;
        let (model_path, _) = self.base_model(chain, job).await?;
        let blobs = fetch_version(
            chain,
            job.pool.datanet,
            job.pool.version,
            job.dataset_root,
            &dir.join("data"),
        )
        .await?;
        let dataset: Dataset = split(&blobs, hyperparameters.eval_fraction)?;
        tracing::info!(
            job = id,
            train_rows = dataset.train.len(),
            held_out_rows = dataset.held_out.len(),
            "data verified against the version's Merkle root"
        );

        self.shared.phase(Phase::Training, Some(id));
        let observer = StatusObserver::new(self.shared.clone(), self.config.progress_bar);
        let seed = job_seed(&chain.genesis(), id);
        let device = self.device.clone();
        let run_dir = dir.join("run");
        let trained = tokio::task::spawn_blocking(move || {
            JobRun {
                job: id,
                model_path: &model_path,
                dataset: &dataset,
                hyperparameters: &hyperparameters,
                seed,
                run_dir: &run_dir,
            }
            .run(&device, &observer)
        })
        .await??;
        write_atomically(
            &dir.join("result.json"),
            &serde_json::to_vec_pretty(&trained)?,
        )?;
        Ok(trained)
    }

    async fn prove(
        &mut self,
        chain: &Chain,
        id: JobId,
        job: &Job,
        trained: &TrainedJob,
    ) -> Result<()> {
        self.shared.phase(Phase::Proving, Some(id));
        let (_, base_model_hash) = self.base_model(chain, job).await?;
        let payload = TrainingProof {
            job: id,
            worker_key: self.worker.public(),
            base_model_hash,
            dataset_root: job.dataset_root,
            hyperparameters_hash: job.hyperparameters_hash,
            adapter_hash: trained.adapter_hash,
            adapter_size: trained.adapter_size,
            adapter_cid: Cid::truncate_from(cid_v1(&trained.adapter_hash).into_bytes()),
            steps: trained.steps,
            tokens: trained.tokens,
            metrics: fault_injected(metrics(trained)),
            held_out_root: trained.held_out_root,
            checkpoint_root: merkle::root(&trained.checkpoint_hashes),
            contributions: ContributionList::try_from(trained.contributions.clone()).map_err(
                |_| anyhow::anyhow!("the version has more contributions than a proof lists"),
            )?,
        };
        let proof_hash = Hash::from(blake2b_256(&payload.encode()));
        let proof = SignedTrainingProof::sign(payload, &chain.genesis(), &self.worker);
        chain
            .submit_training_proof(&self.account, proof)
            .await
            .context("submitting the training proof")?;
        let block = chain.finalized_number().await?;
        tracing::info!(job = id, proof = ?proof_hash, "training proof accepted");
        let summary = ProofSummary {
            job: id,
            adapter_hash: format!("{:?}", trained.adapter_hash),
            proof_hash: format!("{proof_hash:?}"),
            base_loss: trained.base.loss,
            adapted_loss: trained.adapted.loss,
            base_rouge_l: trained.base.rouge_l,
            adapted_rouge_l: trained.adapted.rouge_l,
            block,
        };
        self.shared.update(|s| s.last_proof = Some(summary));
        Ok(())
    }

    /// Uploads the adapter the proof announced to the node's content store (once).
    async fn upload(&self, chain: &Chain, trained: &TrainedJob) -> Result<()> {
        let marker = self.job_dir(trained.job).join("uploaded");
        if marker.exists() {
            return Ok(());
        }
        let bytes = std::fs::read(&trained.adapter_path)
            .with_context(|| format!("reading {}", trained.adapter_path.display()))?;
        check_hash(&bytes, trained.adapter_hash, "adapter")?;
        chain
            .upload_artifact(&bytes)
            .await
            .context("uploading the adapter to the node's content store")?;
        std::fs::write(&marker, b"")?;
        tracing::info!(job = trained.job, bytes = bytes.len(), "adapter uploaded");
        Ok(())
    }

    async fn settle(&mut self, chain: &Chain, id: JobId) -> Result<()> {
        self.shared.phase(Phase::Settling, Some(id));
        let paid = chain.settle(&self.account, id).await?;
        tracing::info!(job = id, earned = %format_open(paid), "job settled");
        self.shared.update(|s| {
            let earned: Balance = s.earned.parse().unwrap_or_default();
            s.earned = earned.saturating_add(paid).to_string();
            s.jobs_settled += 1;
            s.phase = Phase::Idle;
            s.job = None;
            s.challenge_end = None;
            s.step = 0;
            s.steps = 0;
        });
        Ok(())
    }
}

/// The proof's figures in parts per million.
pub fn metrics(trained: &TrainedJob) -> EvalMetrics {
    let loss = |l: f64| (l.max(0.0) * 1e6).round() as u64;
    // ROUGE-L is reported in percent.
    let rouge = |r: f64| (r.clamp(0.0, 100.0) * 1e4).round() as u32;
    EvalMetrics {
        base_loss_ppm: loss(trained.base.loss),
        adapted_loss_ppm: loss(trained.adapted.loss),
        base_rouge_ppm: rouge(trained.base.rouge_l),
        adapted_rouge_ppm: rouge(trained.adapted.rouge_l),
    }
}

/// Fault injection for the end-to-end tests of `verify` and challenges:
/// `ATTRIBUTION_WORKER_FAULT=inflate-metrics` makes the proof claim half the adapted loss the
/// worker measured, as a dishonest operator would.
fn fault_injected(mut metrics: EvalMetrics) -> EvalMetrics {
    if std::env::var("ATTRIBUTION_WORKER_FAULT").as_deref() == Ok("inflate-metrics") {
        tracing::warn!("fault injection: claiming half the measured adapted loss");
        metrics.adapted_loss_ppm /= 2;
    }
    metrics
}

/// Whether a chain error is the runtime refusing (as opposed to the node being unreachable).
fn is_refusal(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<ChainError>()
        .is_some_and(|e| e.dispatch_error().is_some())
}

/// The job's hyper-parameters file from the node, checked against its hash and parsed.
async fn hyperparameters_of(chain: &Chain, job: &Job) -> Result<Hyperparameters> {
    let bytes = chain.artifact(job.hyperparameters_hash).await?;
    check_hash(&bytes, job.hyperparameters_hash, "hyper-parameters file")?;
    Hyperparameters::parse(&bytes, job.method)
}

/// Refuses bytes that do not hash to what the chain committed to.
pub(crate) fn check_hash(bytes: &[u8], expected: Hash, what: &str) -> Result<()> {
    let actual = Hash::from(blake2b_256(bytes));
    if actual != expected {
        bail!("refusing the {what}: its bytes hash to {actual:?}, the chain committed to {expected:?}");
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a crash leaves the old
/// file or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = path.with_extension("tmp");
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)?;
    Ok(())
}

/// What this worker runs on, as registered: the CPU and its memory unless a GPU is used.
fn this_machine() -> Hardware {
    let memory_mib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or(1024, |kib| (kib / 1024) as u32);
    Hardware {
        gpu_model: b"cpu".to_vec().try_into().expect("short"),
        gpu_memory_mib: memory_mib.max(1),
        gpu_count: 1,
    }
}

/// `1.5 OPEN`.
pub fn format_open(amount: Balance) -> String {
    let whole = amount / OPEN;
    let fraction = amount % OPEN;
    if fraction == 0 {
        return format!("{whole} OPEN");
    }
    let digits = format!("{fraction:018}");
    format!("{whole}.{} OPEN", digits.trim_end_matches('0'))
}

/// Parses an amount of OPEN (`100`, `0.25`) into plancks.
pub fn parse_open(text: &str) -> Result<Balance> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 18 || (whole.is_empty() && fraction.is_empty()) {
        bail!("`{text}` is not an amount of OPEN (up to 18 decimals)");
    }
    let whole: Balance = if whole.is_empty() { 0 } else { whole.parse()? };
    let fraction: Balance = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<18}").parse()?
    };
    whole
        .checked_mul(OPEN)
        .and_then(|w| w.checked_add(fraction))
        .with_context(|| format!("`{text}` OPEN is too large"))
}

/// Feeds training progress to the status API, and to a progress bar on a terminal.
struct StatusObserver {
    shared: Shared,
    bar: Option<ProgressBar>,
}

impl StatusObserver {
    fn new(shared: Shared, progress_bar: bool) -> Self {
        let bar = progress_bar.then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}  ETA {eta}")
                    .expect("valid template"),
            );
            bar
        });
        Self { shared, bar }
    }
}

impl Observer for StatusObserver {
    fn step(&self, p: StepProgress) {
        self.shared.update(|s| {
            s.step = p.step;
            s.steps = p.steps;
            s.loss = Some(p.loss);
            s.tokens_per_second = Some(p.tokens_per_second);
            s.eta_seconds = Some(p.eta_seconds);
        });
        match &self.bar {
            Some(bar) => {
                bar.set_length(p.steps as u64);
                bar.set_position(p.step as u64);
                bar.set_message(format!(
                    "loss {:.4}  {:.0} tok/s",
                    p.loss, p.tokens_per_second
                ));
            }
            None => tracing::info!(
                step = p.step,
                steps = p.steps,
                loss = p.loss,
                tokens_per_second = p.tokens_per_second.round(),
                eta_seconds = p.eta_seconds.round(),
                "training"
            ),
        }
    }

    fn evaluating(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message("trained; evaluating on the held-out rows");
        }
        self.shared.update(|s| s.phase = Phase::Evaluating);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_amounts_parse_and_format_both_ways() {
        assert_eq!(parse_open("100").unwrap(), 100 * OPEN);
        assert_eq!(parse_open("0.25").unwrap(), OPEN / 4);
        assert_eq!(parse_open(".5").unwrap(), OPEN / 2);
        assert_eq!(format_open(OPEN / 4 + 3 * OPEN), "3.25 OPEN");
        assert_eq!(format_open(7 * OPEN), "7 OPEN");
        for bad in ["", ".", "1.0000000000000000001", "-1", "ten", "1e3"] {
            assert!(parse_open(bad).is_err(), "{bad}");
        }
        assert!(parse_open(&format!("{}", u128::MAX)).is_err());
    }
}
