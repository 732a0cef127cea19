//! The real worker against the real node: a datanet of rows from three contributors, a base model
//! in the operator's model cache, a LoRA job posted with its hyper-parameters; the
//! `attribution-worker run` daemon registers, claims, fetches and verifies, trains, evaluates,
//! proves, uploads the adapter, waits out the challenge window and settles, and the contributors
//! claim their OPEN. Variants: a blob damaged on the node is refused and never trained on; the
//! worker killed with SIGKILL mid-training resumes and lands exactly one proof; a proof with
//! inflated figures is caught by `attribution-worker verify`, whose challenge a juror (another
//! operator running `verify --vote`) decides as fraud, rejecting it without sudo.
//!
//! The base model is the worker's small synthetic model (`attribution-worker synthetic model`),
//! so training takes seconds in a debug build.

use anyhow::{bail, ensure, Context, Result};
use attribution_e2e::chain::{account, calls, content_hash, poll, Chain, TRAINING_BUDGET};
use attribution_e2e::worker::{base_model, worker_command, worker_command_unchecked, Worker};
use attribution_primitives::{
    compute::JobInfo,
    models::{ModelKind, ModelStatus, ModelWithLineage},
    traits::PoolId,
    AccountId, Balance, BlockNumber, Hash, JobId, ModelId,
};
use sp_core::Pair as _;
use std::path::{Path, PathBuf};
use std::time::Duration;
use subxt_signer::sr25519::{dev, Keypair};

type Model = Option<ModelWithLineage<AccountId, Balance, BlockNumber>>;
type Job = Option<JobInfo<AccountId, Balance, BlockNumber>>;

/// How long one job may take from posting to settlement (training, evaluation, a 30-block
/// challenge window of 2 s blocks, finality).
const JOB_TIMEOUT: Duration = Duration::from_secs(360);

/// A published version, a registered base model in a model cache, and a posted job.
struct Setup {
    chain: Chain,
    models: tempfile::TempDir,
    pool: PoolId,
    contributors: Vec<Keypair>,
    blobs: Vec<Vec<u8>>,
    job: JobId,
    model: ModelId,
}

/// The job's hyper-parameters: `steps` LoRA steps on five projections, a checkpoint every
/// `checkpoint_every`.
fn hyperparameters(steps: usize, checkpoint_every: usize) -> Vec<u8> {
    serde_json::json!({
        "method": {"kind": "lora", "rank": 4, "alpha": 8,
                   "targets": ["q_proj", "v_proj", "gate_proj", "up_proj", "down_proj"]},
        "train": {"steps": steps, "batch_size": 8, "learning_rate": 0.01, "warmup_steps": 2,
                  "checkpoint_every": checkpoint_every},
        "cutoff": 16,
        "eval_fraction": 0.2,
        "max_new_tokens": 4
    })
    .to_string()
    .into_bytes()
}

impl Setup {
    /// Starts a node, publishes 40 rows from each of Bob, Charlie and Dave (Alice's datanet),
    /// registers the synthetic base model (Ferdie) and posts Ferdie's LoRA job.
    async fn new(steps: usize, checkpoint_every: usize) -> Result<Self> {
        let chain = Chain::start().await?;
        let models = tempfile::tempdir()?;
        let model_dir = models.path().join("synthetic");
        worker_command(&[
            "synthetic",
            "model",
            "--output-dir",
            &model_dir.to_string_lossy(),
        ])?;
        let developer = dev::ferdie();
        let base = base_model(&model_dir)?;

        let contributors = vec![dev::bob(), dev::charlie(), dev::dave()];
        let blobs = (1..=3)
            .map(|seed| {
                Ok(worker_command(&[
                    "synthetic",
                    "rows",
                    "--count",
                    "40",
                    "--seed",
                    &seed.to_string(),
                ])?
                .stdout)
            })
            .collect::<Result<Vec<_>>>()?;
        let owner = dev::alice();
        let (datanet, base_model) = tokio::try_join!(
            chain.create_datanet(&owner, "e2e-worker-rows", Default::default()),
            chain.register_base_model(&developer, "e2e-synthetic", &base),
        )?;
        let announce: Vec<(&Keypair, &[u8])> = contributors
            .iter()
            .zip(&blobs)
            .map(|(k, b)| (k, b.as_slice()))
            .collect();
        let ids = chain.contribute(datanet, &announce).await?;
        for blob in &blobs {
            chain.upload(blob).await.context("datanets_upload")?;
        }
        let (version, _) = chain.approve_and_publish(&owner, datanet, &ids).await?;
        let pool = PoolId { datanet, version };

        let hyperparameters = hyperparameters(steps, checkpoint_every);
        let (job, model) = chain
            .post_job(
                &developer,
                "e2e-synthetic-lora",
                base_model,
                pool,
                content_hash(&hyperparameters),
                None,
            )
            .await?;
        chain
            .upload_artifact(&hyperparameters)
            .await
            .context("artifacts_upload of the hyper-parameters")?;
        Ok(Self {
            chain,
            models,
            pool,
            contributors,
            blobs,
            job,
            model,
        })
    }

    /// Starts `attribution-worker run` for Eve.
    fn worker(&self, env: &[(&str, &str)]) -> Result<Worker> {
        Worker::start(
            &self.chain.node.rpc_url(),
            "//Eve",
            self.models.path(),
            "100",
            env,
        )
    }

    async fn model(&self) -> Result<ModelWithLineage<AccountId, Balance, BlockNumber>> {
        let model: Model = self.chain.state_call("ModelsApi_model", self.model).await?;
        model.context("the adapter model exists")
    }

    /// Waits until the adapter reaches `status` (its job then left the chain if it settled),
    /// failing early if the worker exits.
    async fn wait_for_model(&self, worker: &mut Worker, status: ModelStatus) -> Result<()> {
        worker
            .wait_for_model(&self.chain, self.model, status, JOB_TIMEOUT)
            .await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worker_trains_proves_and_settles_a_job_and_contributors_claim_open() -> Result<()> {
    let setup = Setup::new(40, 10).await?;
    let mut worker = setup.worker(&[])?;
    setup
        .wait_for_model(&mut worker, ModelStatus::Active)
        .await?;

    // The job settled and left the chain; the adapter has its lineage and honest figures.
    let job: Job = setup.chain.state_call("ComputeApi_job", setup.job).await?;
    ensure!(job.is_none(), "a settled job is removed: {job:?}");
    let model = setup.model().await?;
    let ModelKind::Adapter(lineage) = model.model.kind else {
        bail!("the trained model is an adapter");
    };
    let artifact = lineage.artifact.context("the adapter has its artifact")?;
    ensure!(
        artifact.metrics.adapted_loss_ppm < artifact.metrics.base_loss_ppm,
        "the adapter beats the base model on the held-out rows: {:?}",
        artifact.metrics
    );
    ensure!(artifact.steps == 40, "{artifact:?}");
    ensure!(artifact.contributions_used == 3, "{artifact:?}");
    // The adapter the proof announced is on the node, byte for byte.
    let adapter = setup.chain.download_artifact(artifact.adapter_hash).await?;
    ensure!(content_hash(&adapter) == artifact.adapter_hash);
    ensure!(adapter.len() as u64 == artifact.adapter_size);

    // The worker reports what it did.
    let (code, health) = worker.get("/health").await?;
    ensure!(code == 200 && health["status"] == "ok", "{health}");
    // The model is active on the best block before the worker sees its settlement finalized.
    let status = poll("the worker counts the settled job", JOB_TIMEOUT, || async {
        let status = worker.status().await.unwrap_or_default();
        Ok((status["jobs_settled"] == 1).then_some(status))
    })
    .await
    .with_context(|| worker.log_tail())?;
    let earned: u128 = status["earned"].as_str().context("earned")?.parse()?;
    ensure!(earned > 0 && earned < TRAINING_BUDGET, "{status}");
    ensure!(status["last_proof"]["job"] == setup.job, "{status}");
    let (code, _) = worker.get("/no-such-endpoint").await?;
    ensure!(code == 404);

    // The contributors' share of the budget is theirs to claim.
    for contributor in &setup.contributors {
        let who = account(contributor);
        let (before, _) = setup.chain.balance(&who).await?;
        setup
            .chain
            .execute(contributor, calls::claim_pool(setup.pool))
            .await
            .context("claim_pool")?;
        let (after, _) = setup.chain.balance(&who).await?;
        ensure!(
            after > before,
            "a contributor is paid from the pool: {before} -> {after}"
        );
    }
    // The verifier agrees with the committed figures.
    let verdict = worker_command(&[
        "verify",
        "--node",
        &setup.chain.node.rpc_url(),
        "--models",
        &setup.models.path().to_string_lossy(),
        "--model",
        &setup.model.to_string(),
    ])?;
    let verdict: serde_json::Value = serde_json::from_slice(&verdict.stdout)?;
    ensure!(verdict["holds"] == true, "{verdict}");
    Ok(())
}

/// Where the node keeps the blob with `hash`.
fn stored_blob(base_path: &Path, hash: Hash) -> Result<PathBuf> {
    let name = hex::encode(hash.as_bytes());
    let chains = base_path.join("chains");
    for chain in std::fs::read_dir(&chains)? {
        let path = chain?.path().join("content-store").join(&name);
        if path.is_file() {
            return Ok(path);
        }
    }
    bail!("blob {name} not found under {}", chains.display())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_blob_is_refused_and_never_trained_on() -> Result<()> {
    let setup = Setup::new(20, 0).await?;
    let path = stored_blob(&setup.chain.node.base_path(), content_hash(&setup.blobs[1]))?;
    let original = std::fs::read(&path)?;
    let mut damaged = original.clone();
    damaged[10] ^= 0x01;
    std::fs::write(&path, &damaged)?;

    let mut worker = setup.worker(&[])?;
    let error = poll(
        "the worker reports the damaged blob",
        JOB_TIMEOUT,
        || async {
            let status = worker.status().await.unwrap_or_default();
            Ok(status["last_error"]
                .as_str()
                .filter(|e| e.contains("contribution"))
                .map(str::to_string))
        },
    )
    .await
    .with_context(|| worker.log_tail())?;
    ensure!(error.contains("fetching contribution"), "{error}");
    ensure!(
        setup.model().await?.model.status == ModelStatus::Training,
        "no proof while the data does not verify"
    );
    ensure!(
        !worker.log().contains("checkpoint"),
        "nothing was trained:\n{}",
        worker.log_tail()
    );

    // Once the node serves the right bytes again, the job goes through.
    std::fs::write(&path, &original)?;
    setup.wait_for_model(&mut worker, ModelStatus::Active).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_mid_training_resumes_and_proves_once() -> Result<()> {
    // Long enough that the kill lands mid-run: the tiny model takes milliseconds a step.
    const STEPS: usize = 400;
    let setup = Setup::new(STEPS, 25).await?;
    let mut worker = setup.worker(&[])?;
    poll(
        "training past its second checkpoint",
        JOB_TIMEOUT,
        || async {
            let status = worker.status().await.unwrap_or_default();
            Ok((status["step"].as_u64().unwrap_or(0) > 60).then_some(()))
        },
    )
    .await
    .with_context(|| worker.log_tail())?;
    worker.kill()?;
    let killed_at = worker.log().matches("checkpoint").count();
    ensure!(
        killed_at >= 2,
        "checkpoints before the kill:\n{}",
        worker.log_tail()
    );
    ensure!(
        setup.model().await?.model.status == ModelStatus::Training,
        "killed before proving"
    );

    worker.restart()?;
    setup
        .wait_for_model(&mut worker, ModelStatus::Active)
        .await?;
    let log = worker.log();
    ensure!(
        log.contains("resumed from the last checkpoint"),
        "the restarted worker resumed:\n{}",
        worker.log_tail()
    );
    ensure!(
        log.matches("training proof accepted").count() == 1,
        "exactly one proof:\n{log}"
    );
    let ModelKind::Adapter(lineage) = setup.model().await?.model.kind else {
        bail!("an adapter");
    };
    ensure!(lineage.artifact.context("artifact")?.steps == STEPS as u64);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn inflated_figures_are_caught_by_verify_and_the_challenge_rejects_the_proof() -> Result<()> {
    let setup = Setup::new(30, 0).await?;
    // A dishonest worker: its proof claims half the held-out loss it measured.
    let mut worker = setup.worker(&[("ATTRIBUTION_WORKER_FAULT", "inflate-metrics")])?;
    // Charlie will re-run the evaluation and challenge (any account may, with a bond); Dave, an
    // operator besides the prover (Eve), is the one a jury can seat.
    let key = sp_core::sr25519::Pair::from_seed(b"attribution-e2e-juror-worker-key");
    setup.chain.register_operator(&dev::dave(), &key).await?;
    setup
        .wait_for_model(&mut worker, ModelStatus::Challengeable)
        .await?;
    // `verify` runs the moment the proof lands, as a watchful challenger would: the operator
    // uploads the adapter a moment later (once its proof is on chain), and `verify` waits for it.

    let output = worker_command_unchecked(&[
        "verify",
        "--node",
        &setup.chain.node.rpc_url(),
        "--models",
        &setup.models.path().to_string_lossy(),
        "--job",
        &setup.job.to_string(),
        "--challenge",
        "--account",
        "//Charlie",
    ])?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(!output.status.success(), "verify fails on inflated figures");
    ensure!(stderr.contains("challenge opened"), "{stderr}");
    let verdict: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    ensure!(verdict["holds"] == false, "{verdict}");
    ensure!(verdict["adapted_loss"]["holds"] == false, "{verdict}");
    ensure!(verdict["held_out_root_matches"] == true, "{verdict}");

    // The jury (Dave) re-runs the same verification and votes fraud: the adapter is rejected,
    // no sudo involved.
    let challenge = stderr
        .split(": challenge ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|id| id.trim().parse::<u64>().ok())
        .with_context(|| format!("the challenge id in: {stderr}"))?;
    let output = worker_command_unchecked(&[
        "verify",
        "--node",
        &setup.chain.node.rpc_url(),
        "--models",
        &setup.models.path().to_string_lossy(),
        "--vote",
        &challenge.to_string(),
        "--account",
        "//Dave",
    ])?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(!output.status.success(), "the juror's verify fails too");
    ensure!(
        stderr.contains(&format!("voted fraud on challenge {challenge}")),
        "{stderr}"
    );
    ensure!(setup.model().await?.model.status == ModelStatus::Rejected);
    Ok(())
}
