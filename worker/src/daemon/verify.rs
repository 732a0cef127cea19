//! `attribution-worker verify`: re-runs a proven job's evaluation from public data and says
//! whether the figures its proof committed to hold.
//!
//! Everything is fetched and checked against the chain as the daemon does it: the version's
//! blobs against the Merkle root, the hyper-parameters and the adapter against their hashes, the
//! base model against its registered weights hash. The held-out split is recomputed from the
//! rows' hashes and its root compared; then the base model and the adapted model are scored on
//! it and compared with the committed figures within [`Tolerance`].

use crate::artifact::blake2b_256;
use crate::daemon::check_hash;
use crate::daemon::dataset::{fetch_version, split};
use crate::daemon::hyperparameters::Hyperparameters;
use crate::daemon::model_cache::ModelCache;
use crate::data::Example;
use crate::eval::{evaluate_base_and_adapted, held_out_loss, EvalReport, Generation, LOSS_BATCH};
use crate::job::ModelDir;
use crate::model::Llama;
use crate::peft::{self, PeftConfig};
use crate::serve::runtime::LoraWeights;
use crate::tuning::Method;
use anyhow::{bail, Context, Result};
use attribution_primitives::content_store::codes;
use attribution_primitives::models::{EvalMetrics, ModelKind};
use attribution_primitives::{Hash, JobId, ModelId};
use attribution_worker_chain::{Chain, ChainError};
use burn::tensor::Device;
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long `verify` waits for an artifact the chain announced but the node does not store yet.
/// The node stores only what the chain announced, so a prover uploads its adapter once its proof
/// is included: a challenger who verifies the moment the proof lands asks a little before it.
/// A prover that never uploads leaves the error after this wait.
const ARTIFACT_WAIT: Duration = Duration::from_secs(120);
/// How often the node is asked again meanwhile.
const ARTIFACT_POLL: Duration = Duration::from_secs(2);

/// `artifacts_get` of `hash` (named `what` in messages), asked again while the node answers that
/// it does not store it, for up to [`ARTIFACT_WAIT`].
async fn announced_artifact(chain: &Chain, hash: Hash, what: &str) -> Result<Vec<u8>> {
    let started = Instant::now();
    let mut waiting = false;
    loop {
        let error = match chain.artifact(hash).await {
            Ok(bytes) => return Ok(bytes),
            Err(error) => error,
        };
        let not_stored = error
            .downcast_ref::<ChainError>()
            .and_then(ChainError::rpc_code)
            == Some(codes::NOT_FOUND);
        if !not_stored || started.elapsed() >= ARTIFACT_WAIT {
            let waited = if waiting {
                format!(
                    " (after {} s waiting for its upload)",
                    started.elapsed().as_secs()
                )
            } else {
                String::new()
            };
            return Err(error.context(format!(
                "fetching the {what} {hash:?} from the node's content store{waited}"
            )));
        }
        if !waiting {
            tracing::info!(
                %what,
                ?hash,
                "announced on chain but not on the node yet: waiting for its upload"
            );
            waiting = true;
        }
        tokio::time::sleep(ARTIFACT_POLL).await;
    }
}

/// How far a re-run may land from the committed figures and still count as the same.
///
/// Evaluation is deterministic for one binary on one machine; across machines, thread counts
/// and backends the float sums are ordered differently. The loss moves by far less than
/// [`Tolerance::loss_ppm`]; ROUGE can move more, since one flipped greedy token changes the
/// rest of a generation (see docs/gpu-operators-and-model-developers.md for the measured spread).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Tolerance {
    /// Nats × 10⁶.
    pub loss_ppm: u64,
    /// ROUGE-L F1 × 10⁶.
    pub rouge_ppm: u32,
}

impl Default for Tolerance {
    fn default() -> Self {
        Self {
            loss_ppm: 5_000,
            rouge_ppm: 20_000,
        }
    }
}

/// One committed figure beside its re-computation.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub claimed: f64,
    pub measured: f64,
    pub holds: bool,
}

/// What `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub job: Option<JobId>,
    pub model: ModelId,
    pub held_out_rows: usize,
    pub held_out_root_matches: bool,
    pub base_loss: Figure,
    pub adapted_loss: Figure,
    pub base_rouge_l: Figure,
    pub adapted_rouge_l: Figure,
    pub tolerance: Tolerance,
    /// Every check above holds.
    pub holds: bool,
}

impl Verdict {
    /// blake2-256 of the verdict's JSON: the evidence a challenge commits to.
    pub fn evidence(&self) -> Result<Hash> {
        Ok(Hash::from(blake2b_256(&serde_json::to_vec(self)?)))
    }
}

/// Verifies the adapter `model` (proven by `job`, when it is still on chain).
pub async fn verify(
    chain: &Chain,
    job: Option<JobId>,
    model: ModelId,
    models: &ModelCache,
    work_dir: &Path,
    tolerance: Tolerance,
    device: &Device,
) -> Result<Verdict> {
    let record = chain
        .model(model)
        .await?
        .with_context(|| format!("model {model} is not registered"))?;
    let ModelKind::Adapter(lineage) = record.model.kind else {
        bail!("model {model} is a base model: only trained adapters have a proof to verify");
    };
    let artifact = lineage
        .artifact
        .with_context(|| format!("model {model} has no training proof yet"))?;
    let (_, base) = record
        .base
        .with_context(|| format!("model {model} has no base model"))?;
    let ModelKind::Base(base) = base.kind else {
        bail!("the base of model {model} is not a base model");
    };
    let spec = lineage.spec;

    let hp_bytes =
        announced_artifact(chain, spec.hyperparameters_hash, "hyper-parameters file").await?;
    check_hash(
        &hp_bytes,
        spec.hyperparameters_hash,
        "hyper-parameters file",
    )?;
    let hyperparameters = Hyperparameters::parse(&hp_bytes, spec.method)?;
    let blobs = fetch_version(
        chain,
        spec.pool.datanet,
        spec.pool.version,
        spec.dataset_root,
        &work_dir.join("data"),
    )
    .await?;
    let dataset = split(&blobs, hyperparameters.eval_fraction)?;
    let adapter = announced_artifact(chain, artifact.adapter_hash, "adapter").await?;
    check_hash(&adapter, artifact.adapter_hash, "adapter")?;
    let adapter_dir = work_dir.join("adapter");
    std::fs::create_dir_all(&adapter_dir)?;
    std::fs::write(adapter_dir.join(peft::WEIGHTS_FILE), &adapter)?;
    let lora = hyperparameters
        .method
        .lora()
        .context("only LoRA and QLoRA adapters can be verified")?;
    std::fs::write(
        adapter_dir.join(peft::CONFIG_FILE),
        serde_json::to_vec_pretty(&PeftConfig::from_lora(lora, None)?)?,
    )?;
    let model_path = models.find(&base.weights_hash)?;

    let held_out: Vec<Example> = dataset.held_out.iter().map(|r| r.example.clone()).collect();
    let held_out_root_matches = dataset.held_out_root() == artifact.held_out_root;
    let device = device.clone();
    let method = hyperparameters.method.clone();
    let (base_report, adapted_report) = tokio::task::spawn_blocking(move || {
        score(
            &model_path,
            &adapter_dir,
            &method,
            &hyperparameters,
            &held_out,
            &device,
        )
    })
    .await??;

    let claimed = artifact.metrics;
    let verdict = compare(
        job,
        model,
        dataset.held_out.len(),
        held_out_root_matches,
        &claimed,
        &base_report,
        &adapted_report,
        tolerance,
    );
    Ok(verdict)
}

/// Scores the base model and the adapted model on the held-out rows as the training worker
/// does: losses with the training model (the adapter on the job method's base: for QLoRA the
/// quantized base its `base` names, built from the same checkpoint as in training),
/// completions with the serving runtime over the stored weights in `f32` for both methods
/// ([`evaluate_base_and_adapted`]).
fn score(
    model_path: &Path,
    adapter_dir: &Path,
    method: &Method,
    hyperparameters: &Hyperparameters,
    held_out: &[Example],
    device: &Device,
) -> Result<(EvalReport, EvalReport)> {
    let dir = ModelDir::load(model_path)?;
    let encoded = dir.encode(held_out, hyperparameters.cutoff)?;
    let pad = dir.special.pad;
    let generation = Generation {
        max_new_tokens: hyperparameters.max_new_tokens,
        eos: dir.special.eos,
        pad,
    };
    let base = Llama::from_checkpoint(&dir.checkpoint, &Method::Full, device)?;
    let base_loss = held_out_loss(&base, &encoded, LOSS_BATCH, pad, device);
    drop(base);
    let adapted = Llama::from_checkpoint(&dir.checkpoint, method, device)?;
    let (adapted, lora) = peft::load_adapter(adapted, adapter_dir)?;
    let adapted_loss = held_out_loss(&adapted, &encoded, LOSS_BATCH, pad, device);
    drop(adapted);
    let adapter =
        LoraWeights::from_peft(&std::fs::read(adapter_dir.join(peft::WEIGHTS_FILE))?, &lora)?;
    evaluate_base_and_adapted(
        &dir.checkpoint,
        &dir.tokenizer,
        held_out,
        &encoded,
        generation,
        (base_loss, adapted_loss),
        &adapter,
    )
}

#[allow(clippy::too_many_arguments)]
fn compare(
    job: Option<JobId>,
    model: ModelId,
    held_out_rows: usize,
    held_out_root_matches: bool,
    claimed: &EvalMetrics,
    base: &EvalReport,
    adapted: &EvalReport,
    tolerance: Tolerance,
) -> Verdict {
    let loss = |claimed_ppm: u64, measured: f64| {
        let claimed = claimed_ppm as f64 / 1e6;
        Figure {
            claimed,
            measured,
            holds: ((measured - claimed).abs() * 1e6).round() <= tolerance.loss_ppm as f64,
        }
    };
    // ROUGE-L: committed as F1 × 10⁶, reported by the evaluation in percent.
    let rouge = |claimed_ppm: u32, measured_percent: f64| {
        let claimed = f64::from(claimed_ppm) / 1e4;
        Figure {
            claimed,
            measured: measured_percent,
            holds: ((measured_percent - claimed).abs() * 1e4).round()
                <= f64::from(tolerance.rouge_ppm),
        }
    };
    let base_loss = loss(claimed.base_loss_ppm, base.loss);
    let adapted_loss = loss(claimed.adapted_loss_ppm, adapted.loss);
    let base_rouge_l = rouge(claimed.base_rouge_ppm, base.rouge_l);
    let adapted_rouge_l = rouge(claimed.adapted_rouge_ppm, adapted.rouge_l);
    let holds = held_out_root_matches
        && [&base_loss, &adapted_loss, &base_rouge_l, &adapted_rouge_l]
            .iter()
            .all(|f| f.holds);
    Verdict {
        job,
        model,
        held_out_rows,
        held_out_root_matches,
        base_loss,
        adapted_loss,
        base_rouge_l,
        adapted_rouge_l,
        tolerance,
        holds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(loss: f64, rouge_l: f64) -> EvalReport {
        EvalReport {
            loss,
            perplexity: loss.exp(),
            rouge1: rouge_l,
            rouge2: rouge_l,
            rouge_l,
        }
    }

    fn claimed(
        base_loss: f64,
        adapted_loss: f64,
        base_rouge: f64,
        adapted_rouge: f64,
    ) -> EvalMetrics {
        EvalMetrics {
            base_loss_ppm: (base_loss * 1e6) as u64,
            adapted_loss_ppm: (adapted_loss * 1e6) as u64,
            base_rouge_ppm: (base_rouge * 1e4) as u32,
            adapted_rouge_ppm: (adapted_rouge * 1e4) as u32,
        }
    }

    #[test]
    fn honest_figures_hold_and_inflated_ones_do_not() {
        let (base, adapted) = (report(2.5, 10.0), report(1.2, 40.0));
        let tolerance = Tolerance::default();
        let honest = claimed(2.5, 1.2, 10.0, 40.0);
        assert!(compare(Some(1), 2, 9, true, &honest, &base, &adapted, tolerance).holds);
        // Within the tolerance still holds.
        let close = claimed(2.501, 1.199, 10.5, 39.0);
        assert!(compare(Some(1), 2, 9, true, &close, &base, &adapted, tolerance).holds);
        // A claimed loss far better than the re-run does not.
        let inflated = claimed(2.5, 0.6, 10.0, 40.0);
        let verdict = compare(Some(1), 2, 9, true, &inflated, &base, &adapted, tolerance);
        assert!(!verdict.holds && !verdict.adapted_loss.holds && verdict.base_loss.holds);
        // Nor a different held-out set, whatever the figures.
        assert!(!compare(Some(1), 2, 9, false, &honest, &base, &adapted, tolerance).holds);
    }

    #[test]
    fn the_evidence_commits_to_the_verdict() {
        let (base, adapted) = (report(2.5, 10.0), report(1.2, 40.0));
        let tolerance = Tolerance::default();
        let a = compare(
            Some(1),
            2,
            9,
            true,
            &claimed(2.5, 1.2, 10.0, 40.0),
            &base,
            &adapted,
            tolerance,
        );
        let b = compare(
            Some(1),
            2,
            9,
            true,
            &claimed(2.5, 0.6, 10.0, 40.0),
            &base,
            &adapted,
            tolerance,
        );
        assert_ne!(a.evidence().unwrap(), b.evidence().unwrap());
    }
}
