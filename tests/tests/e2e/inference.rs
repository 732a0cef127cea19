//! Paid inference with the real node and the real worker: a user deposits credit and grants it
//! to Eve's operator; `attribution-worker run --serve` answers a chat request that carries the
//! user's signed authorization, writes the record, and settles it on chain in a batch. Forged,
//! replayed, expired and other-operator authorizations are refused before anything is generated,
//! and a worker killed between answering and settling settles each record exactly once after
//! its restart.
//!
//! The served model is the worker's small synthetic base model with a chat template, so a debug
//! build answers in milliseconds.

use anyhow::{ensure, Context, Result};
use attribution_e2e::chain::{account, calls, content_hash, poll, Chain};
use attribution_e2e::worker::{synthetic_chat_model, Worker};
use attribution_primitives::attribution::{AllowanceInfo, BatchCommitment, InferenceAuthorization};
use attribution_primitives::{AccountId, Balance, ModelId, Signature};
use codec::Encode;
use serde_json::{json, Value};
use sp_core::Pair as _;
use std::time::Duration;
use subxt_signer::sr25519::dev;

/// Plancks per token, as Eve advertises it (`--price-per-token 0.000001` OPEN, 18 decimals).
const PRICE: Balance = 1_000_000_000_000;
/// 10 OPEN.
const ALLOWANCE: Balance = 10_000_000_000_000_000_000;

struct Setup {
    chain: Chain,
    _models: tempfile::TempDir,
    model: ModelId,
    worker: Worker,
    operator: AccountId,
}

impl Setup {
    /// A node, the synthetic base model registered, Eve serving it with `batch_age` seconds
    /// between settlements, and Charlie's credit granted to Eve.
    async fn new(batch_age: &str) -> Result<Self> {
        let chain = Chain::start().await?;
        let models = tempfile::tempdir()?;
        let (charlie, ferdie) = (dev::charlie(), dev::ferdie());
        let base = synthetic_chat_model(models.path())?;
        let (_, model) = tokio::try_join!(
            chain.execute(&charlie, calls::deposit_credit(ALLOWANCE)),
            chain.register_base_model(&ferdie, "e2e-served", &base),
        )?;
        let worker = Worker::serve(&chain.node.rpc_url(), models.path(), model, batch_age)?;
        let operator = account(&dev::eve());
        let setup = Self {
            chain,
            _models: models,
            model,
            worker,
            operator,
        };
        poll(
            "the worker serves the model",
            Duration::from_secs(180),
            || async {
                let (code, models) = setup.worker.get("/v1/models").await.unwrap_or_default();
                Ok((code == 200 && models["data"][0]["chain_model"] == setup.model).then_some(()))
            },
        )
        .await
        .with_context(|| setup.worker.log_tail())?;
        // Eve is registered once she serves: Charlie's credit becomes her allowance.
        setup
            .chain
            .execute(&charlie, calls::grant_allowance(&setup.operator, ALLOWANCE))
            .await?;
        Ok(setup)
    }

    fn body(&self, question: &str) -> Vec<u8> {
        json!({
            "model": self.model.to_string(),
            "messages": [{"role": "user", "content": question}],
            "max_tokens": 8,
            "temperature": 0,
        })
        .to_string()
        .into_bytes()
    }

    /// Charlie's authorization for `body`.
    async fn authorization(&self, body: &[u8], nonce: u64) -> Result<InferenceAuthorization> {
        Ok(InferenceAuthorization {
            user: account(&dev::charlie()),
            operator: self.operator.clone(),
            model: self.model,
            prompt_hash: content_hash(body),
            max_fee: 1_000 * PRICE,
            nonce,
            expiry: self.chain.finalized().await? + 200,
        })
    }

    async fn ask(
        &self,
        body: &[u8],
        authorization: &InferenceAuthorization,
        signer: &str,
    ) -> Result<(u16, Value)> {
        let pair = sp_core::sr25519::Pair::from_string(signer, None)?;
        let signature: Signature = authorization.sign(&self.chain.genesis_hash(), &pair);
        let header = format!("0x{}", hex::encode((authorization, &signature).encode()));
        self.worker
            .post(
                "/v1/chat/completions",
                &[("X-Attribution-Authorization", &header)],
                body,
            )
            .await
    }

    async fn allowance(&self) -> Result<AllowanceInfo> {
        self.chain
            .state_call(
                "AttributionApi_allowance",
                (account(&dev::charlie()), self.operator.clone()),
            )
            .await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paid_chat_is_answered_recorded_and_settled_and_bad_authorizations_are_refused(
) -> Result<()> {
    let setup = Setup::new("1").await?;
    let body = setup.body("w3 w7 w11");
    let authorization = setup.authorization(&body, 0).await?;

    // Refused before generating: forged (signed by someone else), for another operator, expired,
    // for another body, and without a header. The engine's counter shows nothing was generated.
    let (code, forged) = setup.ask(&body, &authorization, "//Dave").await?;
    ensure!(
        code == 401 && forged["error"]["code"] == "bad_signature",
        "{code} {forged}"
    );
    let other = InferenceAuthorization {
        operator: account(&dev::ferdie()),
        ..authorization.clone()
    };
    let (code, answer) = setup.ask(&body, &other, "//Charlie").await?;
    ensure!(
        code == 403 && answer["error"]["code"] == "wrong_operator",
        "{code} {answer}"
    );
    let expired = InferenceAuthorization {
        expiry: setup.chain.finalized().await?,
        ..authorization.clone()
    };
    let (code, answer) = setup.ask(&body, &expired, "//Charlie").await?;
    ensure!(
        code == 402 && answer["error"]["code"] == "expired",
        "{code} {answer}"
    );
    let (code, answer) = setup
        .ask(&setup.body("w1 w2 w3"), &authorization, "//Charlie")
        .await?;
    ensure!(
        code == 403 && answer["error"]["code"] == "prompt_mismatch",
        "{code} {answer}"
    );
    let (code, answer) = setup
        .worker
        .post("/v1/chat/completions", &[], &body)
        .await?;
    ensure!(
        code == 402 && answer["error"]["code"] == "authorization_required",
        "{code} {answer}"
    );
    let (code, answer) = setup
        .worker
        .post(
            "/v1/chat/completions",
            &[("X-Attribution-Authorization", "0x1234")],
            &body,
        )
        .await?;
    ensure!(
        code == 400 && answer["error"]["code"] == "invalid_authorization",
        "{code} {answer}"
    );
    let status = setup.worker.status().await?;
    ensure!(status["serving"]["generated_tokens"] == 0, "{status}");

    // The real one is answered, with a receipt; the same authorization again is a replay.
    let (code, answer) = setup.ask(&body, &authorization, "//Charlie").await?;
    ensure!(code == 200, "{code} {answer}");
    let receipt = &answer["receipt"];
    let tokens = answer["usage"]["total_tokens"].as_u64().context("usage")? as Balance;
    let fee = tokens * PRICE;
    ensure!(
        receipt["fee"] == fee.to_string(),
        "{receipt} for {tokens} tokens"
    );
    ensure!(receipt["nonce"] == 0, "{receipt}");
    let (code, replay) = setup.ask(&body, &authorization, "//Charlie").await?;
    ensure!(
        code == 409 && replay["error"]["code"] == "nonce_used",
        "{code} {replay}"
    );

    // The batch settles: Charlie's allowance pays exactly the fee, once.
    poll("the record settles", Duration::from_secs(120), || async {
        let allowance = setup.allowance().await?;
        Ok((allowance.balance < ALLOWANCE).then_some(allowance))
    })
    .await
    .with_context(|| setup.worker.log_tail())?;
    let allowance = setup.allowance().await?;
    ensure!(
        allowance.balance == ALLOWANCE - fee,
        "{allowance:?} after a fee of {fee}"
    );
    // The worker learns of the settlement when the block is in, possibly after the query above.
    let log = poll(
        "the worker sees the settlement",
        Duration::from_secs(60),
        || async {
            let log = setup.worker.log();
            Ok(log.contains("inference batch settled").then_some(log))
        },
    )
    .await?;
    ensure!(log.matches("inference batch settled").count() == 1, "{log}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_between_answering_and_settling_settles_each_record_once() -> Result<()> {
    // Batches wait an hour: the answers are journaled but not settled when the worker dies.
    let mut setup = Setup::new("3600").await?;
    let mut fees = 0;
    for (nonce, question) in ["w1 w2 w3", "w4 w5 w6", "w7 w8 w9"].iter().enumerate() {
        let body = setup.body(question);
        let authorization = setup.authorization(&body, nonce as u64).await?;
        let (code, answer) = setup.ask(&body, &authorization, "//Charlie").await?;
        ensure!(code == 200, "{code} {answer}");
        fees += answer["receipt"]["fee"]
            .as_str()
            .context("fee")?
            .parse::<Balance>()?;
    }
    setup.worker.kill()?;
    ensure!(
        setup.allowance().await?.balance == ALLOWANCE,
        "nothing settled before the kill"
    );

    // Restarted to settle at once, it finds the records in its journal.
    setup.worker.restart_setting("--batch-age", "0")?;
    poll("the records settle", Duration::from_secs(180), || async {
        let allowance = setup.allowance().await?;
        Ok((allowance.balance < ALLOWANCE).then_some(()))
    })
    .await
    .with_context(|| setup.worker.log_tail())?;
    // Give a second batch time to appear if the worker were to settle twice.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let allowance = setup.allowance().await?;
    ensure!(
        allowance.balance == ALLOWANCE - fees,
        "{allowance:?}, fees {fees}"
    );
    let batch: Option<BatchCommitment> =
        setup.chain.state_call("AttributionApi_batch", 0u64).await?;
    let batch = batch.context("batch 0 settled")?;
    ensure!(batch.records == 3 && batch.total_fee == fees, "{batch:?}");
    let second: Option<BatchCommitment> =
        setup.chain.state_call("AttributionApi_batch", 1u64).await?;
    ensure!(second.is_none(), "a second batch: {second:?}");
    Ok(())
}
