//! Settling served records: every few seconds, batches written but not known settled are
//! (re)submitted, and unbatched records form a new batch once there are enough of them or the
//! oldest has waited long enough. A batch's nonce is fixed when it is written, so resubmitting
//! after a crash or an error can settle it at most once.

use super::journal::Journal;
use anyhow::Result;
use attribution_primitives::attribution::{
    InferenceBatch, SignedInferenceBatch, MAX_BATCH_RECORDS,
};
use attribution_primitives::AccountId;
use attribution_worker_chain::{Chain, ChainError};
use sp_core::sr25519;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// When records are settled.
#[derive(Clone, Debug)]
pub struct BatchPolicy {
    /// Settle as soon as this many records wait (at most the chain's batch size).
    pub records: usize,
    /// Or once the oldest has waited this long.
    pub max_age: Duration,
    /// How often the batcher looks.
    pub tick: Duration,
}

impl Default for BatchPolicy {
    fn default() -> Self {
        Self {
            records: 16,
            max_age: Duration::from_secs(10),
            tick: Duration::from_secs(2),
        }
    }
}

/// Runs until the process ends; errors are logged and retried at the next tick.
pub async fn run_batcher(
    chain: Chain,
    account: subxt_signer::sr25519::Keypair,
    operator: AccountId,
    worker: sr25519::Pair,
    journal: Arc<Mutex<Journal>>,
    policy: BatchPolicy,
) {
    loop {
        if let Err(error) = tick(&chain, &account, &operator, &worker, &journal, &policy).await {
            tracing::warn!(error = %format!("{error:#}"), "settling inference records; retrying");
        }
        tokio::time::sleep(policy.tick).await;
    }
}

async fn tick(
    chain: &Chain,
    account: &subxt_signer::sr25519::Keypair,
    operator: &AccountId,
    worker: &sr25519::Pair,
    journal: &Mutex<Journal>,
    policy: &BatchPolicy,
) -> Result<()> {
    // Batches already written first: their records may be past due.
    let open: Vec<_> = journal.lock().unwrap().open_batches().cloned().collect();
    for batch in open {
        submit(chain, account, operator, journal, batch.signed).await?;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let (records, signed) = {
        let mut journal = journal.lock().unwrap();
        let waiting: Vec<_> = journal
            .unbatched()
            .take(policy.records.min(MAX_BATCH_RECORDS as usize))
            .cloned()
            .collect();
        let due = waiting.len() >= policy.records
            || waiting
                .first()
                .is_some_and(|oldest| now.saturating_sub(oldest.at) >= policy.max_age.as_secs());
        if waiting.is_empty() || !due {
            return Ok(());
        }
        let nonce = journal.last_nonce().map_or(0, |n| n + 1);
        let batch = InferenceBatch {
            operator: operator.clone(),
            nonce,
            records: waiting
                .iter()
                .map(|p| p.record.clone())
                .collect::<Vec<_>>()
                .try_into()
                .map_err(|_| anyhow::anyhow!("more records than a batch holds"))?,
        };
        let signed = SignedInferenceBatch::sign(batch, &chain.genesis(), worker);
        let records: Vec<u64> = waiting.iter().map(|p| p.seq).collect();
        journal.batch(records.clone(), signed.clone())?;
        (records, signed)
    };
    tracing::info!(
        nonce = signed.batch.nonce,
        records = records.len(),
        "submitting an inference batch"
    );
    submit(chain, account, operator, journal, signed).await
}

async fn submit(
    chain: &Chain,
    account: &subxt_signer::sr25519::Keypair,
    operator: &AccountId,
    journal: &Mutex<Journal>,
    signed: SignedInferenceBatch,
) -> Result<()> {
    let nonce = signed.batch.nonce;
    match chain.submit_inference_batch(account, signed).await {
        Ok(settled) => {
            let rejected: Vec<(u32, String)> = settled
                .rejected
                .iter()
                .map(|(index, reason)| (*index, format!("{reason:?}")))
                .collect();
            for (index, reason) in &rejected {
                tracing::warn!(batch = nonce, index, reason, "the chain rejected a record");
            }
            tracing::info!(
                batch = nonce,
                id = settled.id,
                settled = settled.commitment.records,
                fee = %settled.commitment.total_fee,
                "inference batch settled"
            );
            journal.lock().unwrap().settled(nonce, rejected)
        }
        Err(error) => {
            // A batch nonce the chain already used means this very batch settled before a
            // crash or a lost answer: only this worker signs this operator's batches.
            let dispatch = error
                .downcast_ref::<ChainError>()
                .is_some_and(|e| matches!(e, ChainError::Dispatch(_)));
            if dispatch
                && chain
                    .last_batch_nonce(operator)
                    .await?
                    .is_some_and(|n| n >= nonce)
            {
                tracing::info!(batch = nonce, "the chain had already settled this batch");
                return journal.lock().unwrap().settled(nonce, Vec::new());
            }
            Err(error.context(format!("submitting inference batch {nonce}")))
        }
    }
}
