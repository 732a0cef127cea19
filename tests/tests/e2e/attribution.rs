//! Attribution and settlement against the real node: on a settled adapter, a user deposits
//! inference credit and grants it to the operator as an allowance, the operator submits a batch of
//! two records (each with the user's signed authorization naming the operator, the whole batch
//! signed by the worker key), the fee is split between the model owner, the attributed
//! contributors, the operator, the treasury and the version's pool; a second batch settles its
//! valid record and rejects the replayed, other operator's and overpriced ones; a contributor
//! claims, and `rewards_pending` / `rewards_history` report it over RPC.

use anyhow::{ensure, Context, Result};
use attribution_e2e::chain::{
    account, calls, content_hash, event, events, expect_dispatch_error, poll, ss58, Chain,
    TrainedAdapter, OPEN, OPERATOR_PRICE_PER_TOKEN,
};
use attribution_primitives::{
    attribution::{
        AllowanceInfo, AttributionEntry, AttributionProvenance, BatchCommitment, BatchId,
        CreditInfo, FeeSplit, InferenceAuthorization, InferenceBatch, InferenceRecord, NonceWindow,
        PendingWithdrawal, RecordRejection, SignedInferenceBatch,
    },
    compute::OperatorInfo,
    rewards::{PendingRewards, RewardPool},
    AccountId, Balance, BlockNumber,
};
use sp_core::{sr25519, Pair as _};
use std::time::Duration;
use subxt::rpcs::rpc_params;
use subxt_signer::sr25519::dev;

const CREDIT: Balance = 10 * OPEN;

#[tokio::test(flavor = "multi_thread")]
async fn an_inference_batch_pays_contributors_who_claim_and_see_their_history() -> Result<()> {
    let chain = Chain::start().await?;
    let TrainedAdapter {
        proven: trained,
        operator_paid,
        ..
    } = chain.train_adapter().await?;
    let pool = trained.datanet.pool;
    let operator = account(&trained.operator);
    let model_owner = account(&trained.developer);
    let [bob, charlie, _dave] = &trained.datanet.contributions[..] else {
        anyhow::bail!("three sample contributions");
    };

    // The user (Alice) deposits credit, grants it to the operator and signs two authorizations
    // naming that operator with her account key.
    let user_signer = dev::alice();
    let user_pair =
        sr25519::Pair::from_string("//Alice", None).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    ensure!(
        user_pair.public().0 == user_signer.public_key().0,
        "one key for Alice"
    );
    let user = account(&user_signer);
    let events_of_deposit = chain
        .execute(&user_signer, calls::deposit_credit(CREDIT))
        .await?;
    let (who, amount) =
        event::<(AccountId, Balance)>(&events_of_deposit, "Attribution", "CreditDeposited")?;
    ensure!(who == user && amount == CREDIT, "credit deposited");
    let granted = chain
        .execute(&user_signer, calls::grant_allowance(&operator, CREDIT))
        .await?;
    let (who, to, amount) =
        event::<(AccountId, AccountId, Balance)>(&granted, "Attribution", "AllowanceGranted")?;
    ensure!(
        who == user && to == operator && amount == CREDIT,
        "allowance granted"
    );

    // dApps find the operator's endpoint and price per token.
    let listed: Vec<(AccountId, OperatorInfo<Balance>)> = chain
        .state_call("ComputeApi_operators", (None::<AccountId>, 10u32))
        .await?;
    let (_, info) = listed
        .iter()
        .find(|(who, _)| *who == operator)
        .context("the operator is listed")?;
    ensure!(
        info.price_per_token == OPERATOR_PRICE_PER_TOKEN
            && info.endpoint.as_slice() == b"http://127.0.0.1:8080",
        "{info:?}"
    );

    let expiry = chain.finalized().await? + 200;
    let genesis = chain.genesis_hash();
    let authorize = |nonce: u64, prompt: &[u8], max_fee: Balance| InferenceAuthorization {
        user: user.clone(),
        operator: operator.clone(),
        model: trained.model,
        prompt_hash: content_hash(prompt),
        max_fee,
        nonce,
        expiry,
    };
    let record = |authorization: InferenceAuthorization,
                  fee: Balance,
                  attribution: Vec<AttributionEntry>| {
        InferenceRecord {
            user_signature: authorization.sign(&genesis, &user_pair),
            authorization,
            output_hash: content_hash(format!("answer for fee {fee}").as_bytes()),
            tokens_in: 12,
            tokens_out: 34,
            fee,
            provenance: AttributionProvenance {
                retrieved: attribution
                    .iter()
                    .map(|entry| entry.contribution)
                    .collect::<Vec<_>>()
                    .try_into()
                    .expect("at most 16 retrieved"),
                method: b"contextcite-v1+spans-v1"
                    .to_vec()
                    .try_into()
                    .expect("short"),
                seed: content_hash(format!("seed for fee {fee}").as_bytes()),
            },
            attribution: attribution.try_into().expect("at most 16 entries"),
        }
    };
    let (fee_1, fee_2) = (OPEN, OPEN / 2);
    // Bob's weight is above the per-contribution cap; Charlie's is below it.
    let first = record(
        authorize(0, b"What is 0 + 1?", 2 * OPEN),
        fee_1,
        vec![
            AttributionEntry {
                contribution: bob.id,
                weight_ppm: 600_000,
            },
            AttributionEntry {
                contribution: charlie.id,
                weight_ppm: 200_000,
            },
        ],
    );
    // No attribution: the contributors' part goes to the version's pool.
    let second = record(authorize(1, b"Say hello.", OPEN), fee_2, vec![]);
    let batch = |nonce: u64, records: Vec<InferenceRecord>| {
        let batch = InferenceBatch {
            operator: operator.clone(),
            nonce,
            records: records.try_into().expect("a small batch"),
        };
        SignedInferenceBatch::sign(batch, &genesis, &trained.worker)
    };

    let split: FeeSplit = chain.state_call("AttributionApi_fee_split", ()).await?;
    let pool_before: RewardPool<Balance> = chain
        .state_call::<Option<RewardPool<Balance>>>("RewardsApi_pool", pool)
        .await?
        .context("pool")?;
    let signed = batch(1, vec![first.clone(), second.clone()]);
    let settled = chain
        .execute(&trained.operator, calls::submit_inference_batch(&signed))
        .await?;
    let (batch_id, commitment) =
        event::<(BatchId, BatchCommitment)>(&settled, "Attribution", "BatchSettled")?;
    let fees: Vec<(BatchId, AccountId, u32, u64, Balance)> =
        events(&settled, "Attribution", "InferenceSettled")?;
    ensure!(
        fees.len() == 2 && fees.iter().all(|f| f.0 == batch_id && f.1 == user),
        "two records settled: {fees:?}"
    );
    ensure!(
        commitment.records == 2
            && commitment.rejected == 0
            && commitment.total_fee == fee_1 + fee_2,
        "{commitment:?}"
    );
    ensure!(
        commitment.operator == operator && commitment.nonce == 1,
        "{commitment:?}"
    );
    ensure!(
        commitment.tokens_in == 24 && commitment.tokens_out == 68,
        "{commitment:?}"
    );
    let hash = content_hash(&codec::Encode::encode(&signed.batch));
    ensure!(commitment.hash == hash, "the commitment hashes the batch");
    let kept: Option<BatchCommitment> = chain.state_call("AttributionApi_batch", batch_id).await?;
    ensure!(
        kept.as_ref() == Some(&commitment),
        "the commitment is kept: {kept:?}"
    );

    // The user paid both fees out of the allowance; both nonces are used with this operator.
    let credit: CreditInfo = chain
        .state_call("AttributionApi_credit", user.clone())
        .await?;
    ensure!(credit == CreditInfo::default(), "all granted: {credit:?}");
    let allowance: AllowanceInfo = chain
        .state_call("AttributionApi_allowance", (user.clone(), operator.clone()))
        .await?;
    ensure!(
        allowance.balance == CREDIT - fee_1 - fee_2 && allowance.reduction.is_none(),
        "{allowance:?}"
    );
    let window: Option<NonceWindow> = chain
        .state_call(
            "AttributionApi_nonce_window",
            (user.clone(), operator.clone()),
        )
        .await?;
    ensure!(
        window
            == Some(NonceWindow {
                highest: 1,
                used: 0b11
            }),
        "nonces 0 and 1 used: {window:?}"
    );

    // The split, computed with the primitives' own arithmetic.
    let (parts_1, parts_2) = (split.split(fee_1), split.split(fee_2));
    let bob_share = split.contribution_share(600_000, parts_1.contributors);
    let charlie_share = split.contribution_share(200_000, parts_1.contributors);
    ensure!(
        bob_share < parts_1.contributors * 6 / 10,
        "Bob's share is capped: {bob_share}"
    );
    let pending = |who: AccountId| {
        chain.state_call::<PendingRewards<Balance>>("RewardsApi_pending_rewards", who)
    };
    let bob_pending = pending(account(&bob.contributor)).await?;
    ensure!(
        bob_pending.data == bob_share,
        "Bob's data reward: {bob_pending:?} vs {bob_share}"
    );
    let charlie_pending = pending(account(&charlie.contributor)).await?;
    ensure!(
        charlie_pending.data == charlie_share,
        "Charlie's data reward: {charlie_pending:?}"
    );
    let owner_pending = pending(model_owner.clone()).await?;
    ensure!(
        owner_pending.model == parts_1.model_owner + parts_2.model_owner,
        "model owner: {owner_pending:?}"
    );
    let operator_pending = pending(operator.clone()).await?;
    ensure!(
        operator_pending.compute == operator_paid + parts_1.operator + parts_2.operator,
        "operator: {operator_pending:?}"
    );
    let pool_after: RewardPool<Balance> = chain
        .state_call::<Option<RewardPool<Balance>>>("RewardsApi_pool", pool)
        .await?
        .context("pool")?;
    let to_pool = parts_1.contributors - bob_share - charlie_share + parts_2.contributors;
    ensure!(
        pool_after.credited - pool_before.credited == to_pool,
        "pool credited {pool_after:?}, expected +{to_pool}"
    );

    // The user holds the first record's prompt and answer: it may challenge the attribution
    // within the window (a wrong prompt is refused, a record is challenged once) and the
    // challenge, with both texts, is on chain for the jurors.
    type Settled = (
        BatchId,
        AccountId,
        u32,
        u64,
        Balance,
        sp_core::H256,
        u64,
        BlockNumber,
    );
    let settled_records: Vec<Settled> = events(&settled, "Attribution", "InferenceSettled")?;
    let first_record = settled_records
        .iter()
        .find(|r| r.3 == 0)
        .context("the first record settled")?
        .6;
    let first_answer = format!("answer for fee {fee_1}");
    let wrong = chain
        .submit(
            &user_signer,
            calls::challenge_attribution(first_record, b"What is 1 + 1?", first_answer.as_bytes()),
        )
        .await;
    expect_dispatch_error(wrong, "Attribution::WrongPrompt")?;
    let challenged = chain
        .execute(
            &user_signer,
            calls::challenge_attribution(first_record, b"What is 0 + 1?", first_answer.as_bytes()),
        )
        .await?;
    let (challenge_id, challenged_record, challenger, _bond, _vote_end) =
        event::<(u64, u64, AccountId, Balance, BlockNumber)>(
            &challenged,
            "Attribution",
            "AttributionChallenged",
        )?;
    ensure!(
        challenged_record == first_record && challenger == user,
        "challenge {challenge_id} of record {challenged_record} by {challenger}"
    );
    let open: Option<attribution_primitives::attribution::AttributionChallenge> = chain
        .state_call("AttributionApi_attribution_challenge", challenge_id)
        .await?;
    let open = open.context("the challenge is open")?;
    ensure!(
        open.prompt.as_slice() == b"What is 0 + 1?"
            && open.answer.as_slice() == first_answer.as_bytes()
            && open.record.attribution == first.attribution,
        "{open:?}"
    );
    let again = chain
        .submit(
            &user_signer,
            calls::challenge_attribution(first_record, b"What is 0 + 1?", first_answer.as_bytes()),
        )
        .await;
    expect_dispatch_error(again, "Attribution::AlreadyChallenged")?;

    // A replayed batch nonce fails the whole call.
    let replay = chain
        .submit(&trained.operator, calls::submit_inference_batch(&signed))
        .await;
    expect_dispatch_error(replay, "Attribution::BatchNonceUsed")?;

    // Under a new batch nonce, bad records are rejected one by one and the valid one settles:
    // a replayed record, one authorized for another operator, one above the advertised price.
    let mut elsewhere = authorize(3, b"Who serves me?", OPEN);
    elsewhere.operator = account(&dev::dave());
    let elsewhere = record(elsewhere, OPEN / 4, vec![]);
    let tokens = u128::from(first.tokens_in + first.tokens_out);
    let overpriced_fee = OPERATOR_PRICE_PER_TOKEN * tokens + 1;
    let overpriced = record(
        authorize(4, b"Costly?", overpriced_fee),
        overpriced_fee,
        vec![],
    );
    let fee_3 = OPEN / 4;
    let valid = record(authorize(2, b"Say goodbye.", OPEN), fee_3, vec![]);
    let mixed = chain
        .execute(
            &trained.operator,
            calls::submit_inference_batch(&batch(
                2,
                vec![first.clone(), elsewhere, valid, overpriced],
            )),
        )
        .await?;
    let rejected: Vec<(BatchId, u32, AccountId, u64, RecordRejection)> =
        events(&mixed, "Attribution", "InferenceRejected")?;
    let reasons: Vec<(u32, u64, RecordRejection)> = rejected
        .iter()
        .map(|(_, index, _, nonce, reason)| (*index, *nonce, *reason))
        .collect();
    ensure!(
        reasons
            == vec![
                (0, 0, RecordRejection::NonceUsed),
                (1, 3, RecordRejection::OtherOperator),
                (3, 4, RecordRejection::FeeOverPrice),
            ],
        "{reasons:?}"
    );
    let (_, mixed_commitment) =
        event::<(BatchId, BatchCommitment)>(&mixed, "Attribution", "BatchSettled")?;
    ensure!(
        mixed_commitment.records == 1
            && mixed_commitment.rejected == 3
            && mixed_commitment.total_fee == fee_3,
        "{mixed_commitment:?}"
    );
    let allowance: AllowanceInfo = chain
        .state_call("AttributionApi_allowance", (user.clone(), operator.clone()))
        .await?;
    let left = CREDIT - fee_1 - fee_2 - fee_3;
    ensure!(allowance.balance == left, "{allowance:?}");

    // Alice announces taking the rest back: the operator sees it coming.
    let announced = chain
        .execute(
            &user_signer,
            calls::request_allowance_reduction(&operator, left),
        )
        .await?;
    let (_, _, amount, unlocks_at) = event::<(AccountId, AccountId, Balance, BlockNumber)>(
        &announced,
        "Attribution",
        "AllowanceReductionRequested",
    )?;
    ensure!(amount == left, "reduction of {amount}");
    let allowance: AllowanceInfo = chain
        .state_call("AttributionApi_allowance", (user.clone(), operator.clone()))
        .await?;
    ensure!(
        allowance.reduction
            == Some(PendingWithdrawal {
                amount: left,
                unlocks_at
            }),
        "{allowance:?}"
    );
    expect_dispatch_error(
        chain
            .submit(&user_signer, calls::reduce_allowance(&operator))
            .await,
        "Attribution::ReductionLocked",
    )?;

    // Over RPC: Bob's pending rewards, then he claims his direct credit and his share of the pool.
    let bob_account = account(&bob.contributor);
    let answer = chain
        .rpc_call("rewards_pending", rpc_params![ss58(&bob_account)])
        .await?;
    let expected =
        serde_json::json!({ "data": bob_share.to_string(), "model": "0", "compute": "0" });
    ensure!(
        answer == expected,
        "rewards_pending of Bob: {answer}, expected {expected}"
    );
    let bob_pool_share: Vec<(attribution_primitives::traits::PoolId, Balance)> = chain
        .state_call(
            "RewardsApi_pending_pool_rewards",
            (bob_account.clone(), vec![pool]),
        )
        .await?;
    let bob_pool_share = bob_pool_share
        .first()
        .map(|(_, amount)| *amount)
        .context("Bob's pool share")?;
    ensure!(bob_pool_share > 0, "Bob has a share of the pool");
    let [claim, claim_pool] = chain
        .submit_each([
            (&bob.contributor, calls::claim()),
            (&bob.contributor, calls::claim_pool(pool)),
        ])
        .await;
    let claim_block = claim.context("Bob claims his direct credit")?;
    let (_, claimed) =
        event::<(AccountId, PendingRewards<Balance>)>(&claim_block, "Rewards", "Claimed")?;
    ensure!(
        claimed.data == bob_share,
        "Bob claimed his data reward: {claimed:?}"
    );
    claim_pool.context("Bob claims his share of the pool")?;
    let answer = chain
        .rpc_call("rewards_pending", rpc_params![ss58(&bob_account)])
        .await?;
    ensure!(
        answer == serde_json::json!({ "data": "0", "model": "0", "compute": "0" }),
        "nothing pending after the claim: {answer}"
    );
    expect_dispatch_error(
        chain.submit(&bob.contributor, calls::claim()).await,
        "Rewards::NothingToClaim",
    )?;

    // The history is indexed from finalized blocks: poll until it shows the credit and both claims.
    let history = poll("Bob's rewards history", Duration::from_secs(60), || async {
        let page = chain
            .rpc_call(
                "rewards_history",
                rpc_params![ss58(&bob_account), 0u32, 100u32],
            )
            .await?;
        let entries = page["entries"].as_array().cloned().unwrap_or_default();
        let kinds: Vec<bool> = ["credited", "claimed", "poolClaimed"]
            .iter()
            .map(|kind| entries.iter().any(|e| e["event"].get(*kind).is_some()))
            .collect();
        Ok(kinds.iter().all(|k| *k).then_some(page))
    })
    .await?;
    let entries = history["entries"].as_array().context("history entries")?;
    let credited = entries
        .iter()
        .find(|e| e["event"]["credited"]["amount"] == bob_share.to_string())
        .with_context(|| format!("the data credit in Bob's history: {history}"))?;
    ensure!(
        credited["event"]["credited"]["source"]
            .as_str()
            .map(str::to_lowercase)
            == Some("data".into()),
        "{credited}"
    );
    let claimed = entries
        .iter()
        .find(|e| e["event"].get("claimed").is_some())
        .context("claim")?;
    ensure!(
        claimed["event"]["claimed"]["rewards"]["data"] == bob_share.to_string(),
        "{claimed}"
    );
    let pool_claimed = entries
        .iter()
        .find(|e| e["event"].get("poolClaimed").is_some())
        .context("pool claim")?;
    ensure!(
        pool_claimed["event"]["poolClaimed"]["amount"] == bob_pool_share.to_string(),
        "{pool_claimed}"
    );
    ensure!(
        pool_claimed["event"]["poolClaimed"]["pool"]
            == serde_json::json!({ "datanet": pool.datanet, "version": pool.version }),
        "{pool_claimed}"
    );
    let blocks: Vec<u64> = entries.iter().filter_map(|e| e["block"].as_u64()).collect();
    ensure!(
        blocks.len() == entries.len() && blocks.windows(2).all(|w| w[0] <= w[1]),
        "oldest first: {history}"
    );

    // Paging: one entry at a time from the first, then from where the page says to go on.
    let first_page = chain
        .rpc_call(
            "rewards_history",
            rpc_params![ss58(&bob_account), 0u32, 1u32],
        )
        .await?;
    ensure!(
        first_page["entries"].as_array().map(Vec::len) == Some(1),
        "{first_page}"
    );
    let next = first_page["next"]
        .as_array()
        .context("a next cursor")?
        .clone();
    let second_page = chain
        .rpc_call(
            "rewards_history",
            rpc_params![ss58(&bob_account), next[0].clone(), 1u32, next[1].clone()],
        )
        .await?;
    ensure!(
        second_page["entries"][0] == entries[1],
        "the second page starts at the second entry: {second_page}"
    );
    let limit = chain
        .rpc_call(
            "rewards_history",
            rpc_params![ss58(&bob_account), 0u32, 0u32],
        )
        .await;
    attribution_e2e::chain::expect_rpc_error(limit, 9003)?;
    Ok(())
}
