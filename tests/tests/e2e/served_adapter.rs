//! Training-data attribution through the daemon, paid on chain (issue 15): three contributors
//! publish rows, `attribution-worker run --serve` trains a LoRA adapter on them (from the
//! synthetic base pretrained on another permutation of the task), settles the job and serves
//! the adapter with its retrieval, span and influence indexes. A user pays for a chat, asked
//! with no retrieval (`"retrieval": false`), whose answer only one contributor's training rows
//! contain; the answer's `attribution` pays that contribution more than the others (from the
//! training rows' influence and spans, no context), the record settles in a batch, and each
//! contributor's pending OPEN rises by exactly the share the record's entries and the chain's
//! fee split give it. The daemon serves `contextcite-prior-v1` (`--attribution-method prior`,
//! with coefficients written for the synthetic base), so the record names it. Jurors whose own
//! method is the default `contextcite-v1` recompute the settled record with the method it names:
//! `attribution-worker verify --attribution` finds that it holds, and when the user challenges
//! it, a second operator's daemon (Dave's), drawn onto the jury, votes that it holds and the
//! chain upholds the attribution (the challenger's bond is lost).
//!
//! The rows are the synthetic task's (each prompt word translated by `w -> 7·w + 3 mod 24`), each
//! contributor's over its own eight words (closed under the translation), so retrieval and the
//! gradients of an answer about one contributor's words lead to that contributor's rows.

use anyhow::{ensure, Context, Result};
use attribution_e2e::chain::{account, calls, content_hash, event, poll, Chain};
use attribution_e2e::worker::{
    pretrained_synthetic_chat_model, worker_command_unchecked, write_theta, Worker,
};
use attribution_primitives::attribution::{
    AllowanceInfo, AttributionChallenge, FeeSplit, InferenceAuthorization, SettledRecord,
};
use attribution_primitives::models::ModelStatus;
use attribution_primitives::rewards::PendingRewards;
use attribution_primitives::{AccountId, Balance, BlockNumber, ContributionId, Signature};
use codec::Encode;
use serde_json::{json, Value};
use sp_core::Pair as _;
use std::time::Duration;
use subxt_signer::sr25519::{dev, Keypair};

/// Plancks per token, as Eve advertises it (`--price-per-token 0.000001` OPEN, 18 decimals).
const PRICE: Balance = 1_000_000_000_000;
/// 10 OPEN.
const ALLOWANCE: Balance = 10_000_000_000_000_000_000;
/// The job's held-out share: rows whose hash falls below it are never trained on.
const EVAL_FRACTION: f64 = 0.2;
/// Training, evaluation, a 30-block challenge window of 2 s blocks, finality.
const JOB_TIMEOUT: Duration = Duration::from_secs(420);

/// The synthetic task's mapping (`attribution_worker::synthetic::TASK`): a permutation of 24
/// words made of 2-cycles.
fn partner(w: usize) -> usize {
    (7 * w + 3) % 24
}

/// Each contributor's words: four 2-cycles of [`partner`], so its rows' prompts and completions
/// use its own words only.
const WORD_SETS: [[usize; 8]; 3] = [
    [0, 3, 1, 10, 2, 17, 4, 7],
    [5, 14, 6, 21, 8, 11, 9, 18],
    [12, 15, 13, 22, 16, 19, 20, 23],
];

/// 40 distinct rows over `words`: prompt `"wa wb wc ="`, completion the three partners.
fn rows(words: &[usize; 8]) -> Vec<(String, String)> {
    (0..40)
        .map(|i| {
            let j = i * 37 % 512;
            let picked = [j / 64, j / 8 % 8, j % 8].map(|k| words[k]);
            let text = |ws: [usize; 3]| ws.map(|w| format!("w{w}")).join(" ");
            (format!("{} =", text(picked)), text(picked.map(partner)))
        })
        .collect()
}

fn jsonl(rows: &[(String, String)]) -> Vec<u8> {
    rows.iter()
        .map(|(prompt, completion)| json!({"prompt": prompt, "completion": completion}).to_string())
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

/// Whether the job holds `line` out (the worker's split: the row's blake2-256, its first 8
/// bytes read as a little-endian fraction of 2⁶⁴, below the held-out share).
fn held_out(line: &str) -> bool {
    let hash = content_hash(line.as_bytes());
    let head = u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"));
    (head as f64 / (u64::MAX as f64 + 1.0)) < EVAL_FRACTION
}

fn ppm_of(entries: &Value, contribution: ContributionId) -> Result<u32> {
    let entries = entries.as_array().context("entries")?;
    Ok(entries
        .iter()
        .find(|e| e["contribution"] == contribution)
        .map(|e| e["weight_ppm"].as_u64().unwrap_or(0) as u32)
        .unwrap_or(0))
}

/// Waits until `worker` serves the adapter with its influence index built.
async fn serving_with_influence(worker: &Worker) -> Result<()> {
    poll(
        "the adapter served with its influence index",
        Duration::from_secs(240),
        || async {
            let log = worker.log();
            Ok(
                (log.contains("influence index ready") && log.contains("serving an adapter"))
                    .then_some(()),
            )
        },
    )
    .await
    .with_context(|| worker.log_tail())
}

async fn pending(chain: &Chain, who: &Keypair) -> Result<Balance> {
    let pending: PendingRewards<Balance> = chain
        .state_call("RewardsApi_pending_rewards", account(who))
        .await?;
    Ok(pending.data)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paid_answer_from_a_trained_adapter_pays_the_contributor_whose_rows_it_used() -> Result<()>
{
    let chain = Chain::start().await?;
    let models = tempfile::tempdir()?;
    let (developer, user) = (dev::ferdie(), dev::alice());
    let rows: Vec<Vec<(String, String)>> = WORD_SETS.iter().map(rows).collect();
    let base = pretrained_synthetic_chat_model(models.path())?;
    let theta = models.path().join("theta.json");
    let theta_id = write_theta(&models.path().join("synthetic"), &theta)?;
    let theta = theta.to_string_lossy().into_owned();
    let (datanet, base_model) = tokio::try_join!(
        chain.publish_datanet(
            "e2e-served-adapter",
            rows.iter().map(|r| jsonl(r)).collect()
        ),
        chain.register_base_model(&developer, "e2e-served-base", &base),
    )?;
    let contributors: Vec<&Keypair> = datanet
        .contributions
        .iter()
        .map(|c| &c.contributor)
        .collect();
    let ids: Vec<ContributionId> = datanet.contributions.iter().map(|c| c.id).collect();
    let hyperparameters = json!({
        "method": {"kind": "lora", "rank": 4, "alpha": 8,
                   "targets": ["q_proj", "v_proj", "gate_proj", "up_proj", "down_proj"]},
        "train": {"steps": 60, "batch_size": 8, "learning_rate": 0.01, "warmup_steps": 2,
                  "checkpoint_every": 60},
        "cutoff": 16,
        "eval_fraction": EVAL_FRACTION,
        "max_new_tokens": 4
    })
    .to_string()
    .into_bytes();
    let (_job, adapter) = chain
        .post_job(
            &developer,
            "e2e-served-adapter-lora",
            base_model,
            datanet.pool,
            content_hash(&hyperparameters),
            None,
        )
        .await?;
    chain.upload_artifact(&hyperparameters).await?;
    chain
        .execute(&user, calls::deposit_credit(ALLOWANCE))
        .await?;

    // One daemon trains the adapter, then serves it beside its base.
    let mut worker = Worker::serve_with(
        &chain.node.rpc_url(),
        models.path(),
        base_model,
        "1",
        &["--attribution-method", "prior", "--theta", &theta],
    )?;
    let operator = account(&dev::eve());
    worker
        .wait_for_model(&chain, adapter, ModelStatus::Active, JOB_TIMEOUT)
        .await?;
    // Served, with its influence index over the training rows built.
    serving_with_influence(&worker).await?;
    chain
        .execute(&user, calls::grant_allowance(&operator, ALLOWANCE))
        .await?;
    // Dave, a second operator, serves the same base with the default method: the juror a
    // challenge of Eve's records can seat. He builds his own indexes of the adapter meanwhile.
    let juror = Worker::start_with(
        &chain.node.rpc_url(),
        "//Dave",
        models.path(),
        "100",
        &[],
        &[
            "--serve",
            &base_model.to_string(),
            "--price-per-token",
            "0.000001",
            "--weights",
            "f32",
            "--theta",
            &theta,
        ],
    )?;

    // The question: the prompt of a row of Bob's the adapter trained on, asked without
    // retrieval; only Bob's training rows hold its words and their translations.
    let bob = ids[0];
    let (prompt, _) = rows[0]
        .iter()
        .zip(std::str::from_utf8(&datanet.contributions[0].bytes)?.split('\n'))
        .find(|(_, line)| !held_out(line))
        .map(|(row, _)| row)
        .context("a training row of Bob's")?;
    let question = prompt.trim_end_matches(" =");
    let body = json!({
        "model": adapter.to_string(),
        "messages": [{"role": "user", "content": question}],
        "max_tokens": 4,
        "temperature": 0,
        "retrieval": false,
    })
    .to_string()
    .into_bytes();
    let authorization = InferenceAuthorization {
        user: account(&user),
        operator: operator.clone(),
        model: adapter,
        prompt_hash: content_hash(&body),
        max_fee: 1_000 * PRICE,
        nonce: 0,
        expiry: chain.finalized().await? + 200,
    };
    let pair = sp_core::sr25519::Pair::from_string("//Alice", None)?;
    let signature: Signature = authorization.sign(&chain.genesis_hash(), &pair);
    let header = format!("0x{}", hex::encode((&authorization, &signature).encode()));
    let before: Vec<Balance> = {
        let mut before = Vec::new();
        for contributor in &contributors {
            before.push(pending(&chain, contributor).await?);
        }
        before
    };
    let (code, answer) = worker
        .post(
            "/v1/chat/completions",
            &[("X-Attribution-Authorization", &header)],
            &body,
        )
        .await?;
    ensure!(code == 200, "{code} {answer}");

    // The answer is attributed to Bob: nothing was retrieved, and his training rows raised its
    // likelihood most.
    let attribution = &answer["attribution"];
    // An empty answer (the end-of-turn token first) has no gradient and no influence.
    ensure!(
        answer["usage"]["completion_tokens"].as_u64() > Some(0),
        "the adapter answered nothing, so nothing can be attributed to its training rows: \
         {answer}"
    );
    // Computed on the weights the daemon holds (`f32`), which the name carries.
    let method = format!("contextcite-prior-v1:{theta_id}@f32+spans-v1+influence-v2");
    ensure!(attribution["method"] == method.as_str(), "{attribution}");
    ensure!(
        attribution["retrieved"] == json!([]) && attribution["context"]["entries"] == json!([]),
        "no retrieval, so no source and no context entry: {attribution}"
    );
    let influence = &attribution["influence"]["entries"];
    let bob_influence = ppm_of(influence, bob)?;
    ensure!(
        ids[1..]
            .iter()
            .all(|&c| ppm_of(influence, c).is_ok_and(|ppm| ppm < bob_influence)),
        "Bob's training rows influence the answer most: {answer}"
    );
    let entries = &attribution["entries"];
    let bob_ppm = ppm_of(entries, bob)?;
    ensure!(
        ids[1..]
            .iter()
            .all(|&c| ppm_of(entries, c).is_ok_and(|ppm| ppm < bob_ppm)),
        "Bob is paid more than Charlie and Dave: {attribution}"
    );
    eprintln!(
        "answer {:?}, entries {entries}, influence {influence}",
        answer["choices"][0]["message"]["content"]
    );
    let fee: Balance = answer["receipt"]["fee"].as_str().context("fee")?.parse()?;

    // The batch settles; each contributor's pending OPEN rises by its entry's share of the
    // contributors' part of the fee, as the chain splits it.
    poll("the record settles", Duration::from_secs(120), || async {
        let allowance: AllowanceInfo = chain
            .state_call(
                "AttributionApi_allowance",
                (account(&user), operator.clone()),
            )
            .await?;
        Ok((allowance.balance < ALLOWANCE).then_some(allowance))
    })
    .await
    .with_context(|| worker.log_tail())?;
    let split: FeeSplit = chain.state_call("AttributionApi_fee_split", ()).await?;
    let contributors_part = split.split(fee).contributors;
    for ((contributor, contribution), before) in contributors.iter().zip(&ids).zip(before) {
        let share = split.contribution_share(ppm_of(entries, *contribution)?, contributors_part);
        let after = pending(&chain, contributor).await?;
        ensure!(
            after - before == share,
            "contribution {contribution}: pending data {before} -> {after}, expected +{share} \
             (entries {entries}, fee {fee})"
        );
    }
    ensure!(
        split.contribution_share(bob_ppm, contributors_part) > 0,
        "Bob's share is positive"
    );

    // A juror serving the default method recomputes the settled record with the one it names.
    let text = answer["choices"][0]["message"]["content"]
        .as_str()
        .context("the answer's text")?;
    let mut record = None;
    for id in 0..4u64 {
        let settled: Option<SettledRecord> = chain.state_call("AttributionApi_record", id).await?;
        if settled.is_some_and(|r| r.output_hash == content_hash(text.as_bytes())) {
            record = Some(id);
        }
    }
    let record = record.context("the answer's settled record")?;
    let files = tempfile::tempdir()?;
    let (prompt_file, answer_file) = (files.path().join("prompt"), files.path().join("answer"));
    std::fs::write(&prompt_file, &body)?;
    std::fs::write(&answer_file, text)?;
    let forged = files.path().join("forged");
    std::fs::write(&forged, format!("{text}!"))?;
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let verify = |record: u64, answer: &std::path::Path| {
        worker_command_unchecked(&[
            "verify",
            "--node",
            &chain.node.rpc_url(),
            "--models",
            &path(models.path()),
            "--state-dir",
            &path(&files.path().join("state")),
            // No `--weights`: verify holds the model as the record's method names (`f32`).
            "--theta",
            &theta,
            "--attribution",
            &record.to_string(),
            "--prompt-file",
            &path(&prompt_file),
            "--answer-file",
            &path(answer),
        ])
    };
    // An unknown record and an answer other than the record's are refused before any model runs.
    for (record, answer, reason) in [
        (record + 100, &answer_file, "is not kept on chain"),
        (
            record,
            &forged,
            "the answer is not the one the record commits to",
        ),
    ] {
        let output = verify(record, answer)?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        ensure!(
            !output.status.success() && stderr.contains(reason),
            "record {record}: {stderr}"
        );
    }
    let output = verify(record, &answer_file)?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let finding: Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("verify's finding: {stderr}"))?;
    ensure!(
        output.status.success()
            && finding["holds"] == true
            && finding["method"] == method.as_str()
            && finding["same_seed"] == true,
        "{finding} {stderr}"
    );

    // The user challenges the record anyway. Dave's daemon, once it serves the adapter with its
    // influence index, is the jury (neither Eve nor the challenger can be); it recomputes with
    // the prior, votes that the record holds, and the chain upholds it: the bond is lost.
    serving_with_influence(&juror).await?;
    let challenged = chain
        .execute(
            &user,
            calls::challenge_attribution(record, &body, text.as_bytes()),
        )
        .await?;
    let (challenge, _, _, bond, _): (u64, u64, AccountId, Balance, BlockNumber) =
        event(&challenged, "Attribution", "AttributionChallenged")?;
    let (free, reserved) = chain.balance(&account(&user)).await?;
    poll("the jury's verdict", Duration::from_secs(120), || async {
        let open: Option<AttributionChallenge> = chain
            .state_call("AttributionApi_attribution_challenge", challenge)
            .await?;
        Ok(open.is_none().then_some(()))
    })
    .await
    .with_context(|| juror.log_tail())?;
    // Logged before the vote ("voted as a juror" is logged once the vote is in a block, which
    // may come after the verdict the test just saw); the balances below say how it voted.
    ensure!(
        juror.log().contains("recomputed a challenged attribution"),
        "{}",
        juror.log_tail()
    );
    let (free_after, reserved_after) = chain.balance(&account(&user)).await?;
    ensure!(
        free_after == free && reserved_after + bond == reserved,
        "upheld, so the bond {bond} is lost: free {free} -> {free_after}, reserved {reserved} -> \
         {reserved_after}"
    );
    Ok(())
}
