//! Training artifacts in the node's content store, and the quality gate, against the real node:
//! a job's hyper-parameters file and its proven adapter are uploaded with `artifacts_upload` and
//! served back by `artifacts_get`; files the chain does not announce (or announces with another
//! size, or over the limit) are refused with their error codes; a new version of the adapter is
//! refused while it does not beat its base model or regresses past the bound, and accepted when
//! it does neither; `attribution-worker verify` waits for an adapter the chain announced and its
//! prover has not uploaded yet.

use anyhow::{ensure, Context, Result};
use attribution_e2e::chain::{
    calls, content_hash, event, expect_dispatch_error, expect_rpc_error, hash_from_json, hex_of,
    sample_adapter, sample_proof, Chain, TrainedAdapter, SAMPLE_METRICS,
};
use attribution_e2e::worker::worker_binary;
use attribution_primitives::{
    compute::{SignedTrainingProof, MAX_HYPERPARAMETERS_BYTES},
    content_store::codes::{INVALID_ENCODING, NOT_FOUND, OVERSIZE, UNANNOUNCED, WRONG_SIZE},
    models::{EvalMetrics, ProvenAdapter},
    AccountId, BlockNumber, Hash, JobId, ModelId,
};
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;
use subxt::rpcs::rpc_params;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test(flavor = "multi_thread")]
async fn artifacts_are_stored_only_as_announced_and_new_versions_pass_the_quality_gate(
) -> Result<()> {
    let chain = Chain::start().await?;
    let TrainedAdapter {
        proven: trained, ..
    } = chain.train_adapter().await?;

    // What the train flow uploaded: receipts name the job and the model, and the files come back.
    let receipt = &trained.hyperparameters_receipt;
    ensure!(
        receipt["kind"] == json!({ "hyperparameters": { "job": trained.job } })
            && receipt["size"] == json!(trained.hyperparameters.len()),
        "hyper-parameters receipt: {receipt}"
    );
    let hash = hash_from_json(&receipt["hash"])?;
    ensure!(hash == trained.proof.hyperparameters_hash, "{receipt}");
    ensure!(
        chain.download_artifact(hash).await? == trained.hyperparameters,
        "artifacts_get serves the hyper-parameters back"
    );
    let receipt = trained
        .adapter_receipt
        .as_ref()
        .context("the adapter's receipt")?;
    ensure!(
        receipt["kind"] == json!({ "adapter": { "model": trained.model } })
            && receipt["size"] == json!(trained.adapter.len()),
        "adapter receipt: {receipt}"
    );
    ensure!(
        receipt["cid"]
            .as_str()
            .is_some_and(|cid| cid.starts_with("bafk2bzace")),
        "{receipt}"
    );
    ensure!(
        chain.download_artifact(trained.proof.adapter_hash).await? == trained.adapter,
        "artifacts_get serves the adapter back"
    );
    let proven: Option<ProvenAdapter> = chain
        .state_call("ModelsApi_proven_adapter", trained.proof.adapter_hash)
        .await?;
    ensure!(
        proven
            == Some(ProvenAdapter {
                model: trained.model,
                size: trained.adapter.len() as u64
            }),
        "ModelsApi_proven_adapter: {proven:?}"
    );

    // Bad input: unannounced bytes, not hex, not a string.
    expect_rpc_error(
        chain.upload_artifact(b"nobody announced this").await,
        UNANNOUNCED,
    )?;
    expect_rpc_error(
        chain
            .rpc_call("artifacts_upload", rpc_params!["7b7d"])
            .await,
        INVALID_ENCODING,
    )?;
    expect_rpc_error(
        chain
            .rpc_call("artifacts_upload", rpc_params!["0xnothex"])
            .await,
        INVALID_ENCODING,
    )?;

    // The node raised its request cap past sc-cli's 15 MiB default for adapters: a 20 MiB file
    // (40 MiB as hex) is read whole and refused for what it is, not cut off by the server.
    let large = vec![0x5a; 20 * 1024 * 1024];
    expect_rpc_error(
        chain
            .http_rpc_call("artifacts_upload", json!([hex_of(&large)]))
            .await,
        UNANNOUNCED,
    )?;

    // A new version of the adapter, with a hyper-parameters file over the limit.
    let oversize = vec![b' '; MAX_HYPERPARAMETERS_BYTES as usize + 1];
    let (job, model) = chain
        .post_job(
            &trained.developer,
            "e2e-llama-tiny-lora-v2",
            trained.base_model,
            trained.datanet.pool,
            content_hash(&oversize),
            Some(trained.model),
        )
        .await?;
    let live: Option<JobId> = chain
        .state_call("ComputeApi_hyperparameters_job", content_hash(&oversize))
        .await?;
    ensure!(
        live == Some(job),
        "the new job announces its hash: {live:?}"
    );
    expect_rpc_error(chain.upload_artifact(&oversize).await, OVERSIZE)?;

    chain
        .execute(&trained.operator, calls::claim_job(job))
        .await
        .context("claim_job")?;
    let adapter = sample_adapter(1);
    let proof = |metrics: EvalMetrics, size_delta: u64| {
        let mut payload = sample_proof(
            job,
            &trained.worker,
            &trained.base,
            &trained.datanet,
            content_hash(&oversize),
            &adapter,
            metrics,
        );
        payload.adapter_size += size_delta;
        calls::submit_training_proof(&SignedTrainingProof::sign(
            payload,
            &chain.genesis_hash(),
            &trained.worker,
        ))
    };
    let previous = SAMPLE_METRICS.adapted_loss_ppm;
    // No better than the base model; worse than the previous version by more than 5 %.
    let [no_better, regressed] = chain
        .submit_each([
            (
                &trained.operator,
                proof(
                    EvalMetrics {
                        adapted_loss_ppm: SAMPLE_METRICS.base_loss_ppm,
                        ..SAMPLE_METRICS
                    },
                    0,
                ),
            ),
            (
                &trained.operator,
                proof(
                    EvalMetrics {
                        adapted_loss_ppm: previous * 105 / 100 + 1,
                        ..SAMPLE_METRICS
                    },
                    0,
                ),
            ),
        ])
        .await;
    expect_dispatch_error(no_better, "Compute::NoImprovement")?;
    expect_dispatch_error(regressed, "Compute::Regressed")?;
    // Not proven yet: the adapter is not announced.
    expect_rpc_error(chain.upload_artifact(&adapter).await, UNANNOUNCED)?;

    // Within the bound, and proven with a size one byte off the file: the node refuses the file.
    let events = chain
        .execute(
            &trained.operator,
            proof(
                EvalMetrics {
                    adapted_loss_ppm: previous * 105 / 100,
                    ..SAMPLE_METRICS
                },
                1,
            ),
        )
        .await
        .context("a proof within the regression bound")?;
    let (proven_job, _, proposed, _, adapter_hash, _) =
        event::<(JobId, AccountId, ModelId, Hash, Hash, BlockNumber)>(
            &events,
            "Compute",
            "ProofAccepted",
        )?;
    ensure!(
        (proven_job, proposed, adapter_hash) == (job, model, content_hash(&adapter)),
        "the new version was proposed"
    );
    expect_rpc_error(chain.upload_artifact(&adapter).await, WRONG_SIZE)?;
    let stored = chain
        .rpc_call(
            "artifacts_get",
            rpc_params![hex_of(content_hash(&adapter).as_bytes())],
        )
        .await;
    expect_rpc_error(stored, NOT_FOUND)?;
    Ok(())
}

/// A challenger who runs `verify` the moment a proof lands asks for an adapter its prover has
/// not uploaded yet (the node stores only what the chain announced, so the upload follows the
/// proof): `verify` waits for the upload instead of failing.
#[tokio::test(flavor = "multi_thread")]
async fn verify_waits_for_an_adapter_its_prover_has_not_uploaded_yet() -> Result<()> {
    let chain = Chain::start().await?;
    let proven = chain.prove_adapter_without_upload().await?;
    let stored = chain
        .rpc_call(
            "artifacts_get",
            rpc_params![hex_of(proven.proof.adapter_hash.as_bytes())],
        )
        .await;
    expect_rpc_error(stored, NOT_FOUND)?;

    // No base model in the cache: `verify` fetches the adapter, then stops at the base model.
    let models = tempfile::tempdir()?;
    let mut verify = tokio::process::Command::new(worker_binary()?)
        .args(["verify", "--node", &chain.node.rpc_url(), "--job"])
        .arg(proven.job.to_string())
        .arg("--models")
        .arg(models.path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(verify.stderr.take().context("verify's stderr")?).lines();
    let mut log = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !log.contains("waiting for its upload") {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .with_context(|| format!("verify did not wait for the adapter: {log}"))??
            .with_context(|| format!("verify ended without waiting for the adapter: {log}"))?;
        log.push_str(&line);
        log.push('\n');
    }

    chain.upload_artifact(&proven.adapter).await?;
    while let Some(line) = tokio::time::timeout_at(deadline, lines.next_line())
        .await
        .with_context(|| format!("verify did not end: {log}"))??
    {
        log.push_str(&line);
        log.push('\n');
    }
    ensure!(
        !verify.wait().await?.success(),
        "verify has no base model to score: {log}"
    );
    ensure!(
        log.contains("has the registered weights hash") && !log.contains("not stored on this node"),
        "verify fetched the adapter once it was uploaded and went on to the base model: {log}"
    );
    Ok(())
}
