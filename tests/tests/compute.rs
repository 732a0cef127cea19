//! Models and compute against the real node: a base model is registered, a LoRA job is posted on
//! a published datanet version, an operator claims it and submits a training proof signed with a
//! worker key the test holds; once the challenge window passes the job settles, the adapter is
//! `Active` with its full lineage, and the budget has moved to the operator and the contributors.

use anyhow::{ensure, Context, Result};
use attribution_e2e::chain::{
    account, calls, content_hash, event, expect_dispatch_error, Chain, OPEN, TRAINING_BUDGET,
};
use attribution_primitives::{
    compute::{JobInfo, OperatorInfo},
    models::{ModelKind, ModelStatus, ModelWithLineage, TrainingMethod},
    rewards::{PendingRewards, RewardPool},
    traits::PoolId,
    AccountId, Balance, BlockNumber, JobId, ModelId,
};
use sp_core::Pair as _;

type Model = Option<ModelWithLineage<AccountId, Balance, BlockNumber>>;

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_training_proof_settles_into_an_active_adapter_with_lineage() -> Result<()> {
    let chain = Chain::start().await?;
    let trained = chain.train_adapter().await?;
    let pool = trained.datanet.pool;
    let (developer, operator) = (account(&trained.developer), account(&trained.operator));
    let settled_at = chain.finalized().await?;
    ensure!(
        settled_at > trained.challenge_end,
        "settled after the challenge window"
    );

    // The adapter's lineage, through the runtime API.
    let found: Model = chain.state_call("ModelsApi_model", trained.model).await?;
    let found = found.context("ModelsApi_model knows the adapter")?;
    ensure!(found.id == trained.model, "{found:?}");
    ensure!(
        found.model.status == ModelStatus::Active,
        "the settled adapter is Active: {found:?}"
    );
    ensure!(
        found.model.owner == developer,
        "the developer owns the adapter"
    );
    let ModelKind::Adapter(lineage) = &found.model.kind else {
        anyhow::bail!("the trained model is an adapter: {found:?}");
    };
    let spec = &lineage.spec;
    ensure!(
        spec.base_model == trained.base_model,
        "base model in lineage: {spec:?}"
    );
    ensure!(spec.pool == pool, "datanet version in lineage: {spec:?}");
    ensure!(
        spec.dataset_root == trained.datanet.merkle_root,
        "dataset root in lineage: {spec:?}"
    );
    ensure!(
        spec.method == TrainingMethod::Lora && spec.job == trained.job,
        "{spec:?}"
    );
    ensure!(
        spec.hyperparameters_hash == trained.proof.hyperparameters_hash,
        "{spec:?}"
    );
    let artifact = lineage
        .artifact
        .as_ref()
        .context("the settled adapter has its artifact")?;
    ensure!(
        artifact.trainer == operator,
        "the operator trained it: {artifact:?}"
    );
    ensure!(
        artifact.adapter_hash == trained.proof.adapter_hash,
        "adapter hash: {artifact:?}"
    );
    ensure!(
        artifact.adapter_cid == trained.proof.adapter_cid,
        "adapter CID: {artifact:?}"
    );
    ensure!(
        artifact.checkpoint_root == trained.proof.checkpoint_root,
        "{artifact:?}"
    );
    ensure!(
        artifact.steps == 100 && artifact.tokens == 51_200,
        "{artifact:?}"
    );
    ensure!(
        artifact.metrics == trained.proof.metrics,
        "held-out metrics: {artifact:?}"
    );
    ensure!(
        artifact.adapter_size == trained.adapter.len() as u64
            && artifact.held_out_root == trained.proof.held_out_root,
        "adapter size and held-out root: {artifact:?}"
    );
    ensure!(
        artifact.contributions_used == 3,
        "three contributions used: {artifact:?}"
    );
    let proof_hash = content_hash(&codec::Encode::encode(&trained.proof));
    ensure!(
        artifact.proof_hash == proof_hash,
        "proof hash is blake2 of the payload"
    );
    let (base_id, base) = found
        .base
        .as_ref()
        .context("an adapter comes with its base model")?;
    ensure!(*base_id == trained.base_model, "base model id: {base_id}");
    let ModelKind::Base(base) = &base.kind else {
        anyhow::bail!("the base model is a base model: {base:?}");
    };
    ensure!(
        *base == trained.base,
        "the base model's record is what was registered"
    );

    let by_artifact: Option<ModelId> = chain
        .state_call("ModelsApi_model_by_artifact", trained.proof.adapter_hash)
        .await?;
    ensure!(
        by_artifact == Some(trained.model),
        "the adapter is found by its hash"
    );
    let trained_on: Vec<ModelId> = chain
        .state_call("ModelsApi_models_trained_on", (pool.datanet, 10u32))
        .await?;
    ensure!(
        trained_on == vec![trained.model],
        "the datanet's trained models: {trained_on:?}"
    );

    // The job is gone and the operator is free again.
    let job: Option<JobInfo<AccountId, Balance, BlockNumber>> =
        chain.state_call("ComputeApi_job", trained.job).await?;
    ensure!(job.is_none(), "a settled job is removed: {job:?}");
    let info: Option<OperatorInfo<Balance>> = chain
        .state_call("ComputeApi_operator", operator.clone())
        .await?;
    let info = info.context("the operator is still registered")?;
    ensure!(
        info.current_job.is_none(),
        "the operator may claim again: {info:?}"
    );
    ensure!(
        info.worker_key == trained.worker.public(),
        "the worker key is the test's: {info:?}"
    );

    // The budget: 30% to the version's contributors, the rest to the operator.
    let contributors_expected = TRAINING_BUDGET * 30 / 100;
    ensure!(
        trained.contributors_paid == contributors_expected,
        "contributors got {}",
        trained.contributors_paid
    );
    ensure!(
        trained.operator_paid == TRAINING_BUDGET - contributors_expected,
        "operator got {}",
        trained.operator_paid
    );
    let (free, reserved) = chain.balance(&developer).await?;
    let spent = trained.developer_before.0 + trained.developer_before.1 - free - reserved;
    ensure!(
        (TRAINING_BUDGET..TRAINING_BUDGET + OPEN).contains(&spent),
        "the developer paid the budget and fees: {spent}"
    );

    let pending: PendingRewards<Balance> = chain
        .state_call("RewardsApi_pending_rewards", operator.clone())
        .await?;
    ensure!(
        pending.compute == trained.operator_paid,
        "the operator's pending compute reward: {pending:?}"
    );
    let state: Option<RewardPool<Balance>> = chain.state_call("RewardsApi_pool", pool).await?;
    let state = state.context("the version's pool was credited")?;
    let total = trained.datanet.total_weight();
    ensure!(
        state.credited == trained.contributors_paid
            && state.total_points == total
            && state.claimed == 0,
        "pool: {state:?}"
    );
    for contribution in &trained.datanet.contributions {
        let who = account(&contribution.contributor);
        let owed: Vec<(PoolId, Balance)> = chain
            .state_call("RewardsApi_pending_pool_rewards", (who, vec![pool]))
            .await?;
        let share = contribution.weight() * trained.contributors_paid / total;
        ensure!(
            owed == vec![(pool, share)],
            "a contributor's share is by measured weight: {owed:?} vs {share}"
        );
    }

    // Balances move on claim: the operator its payment, a contributor its share of the pool.
    let bob = &trained.datanet.contributions[0];
    let bob_share = bob.weight() * trained.contributors_paid / total;
    let operator_before = chain.balance(&operator).await?.0;
    let bob_before = chain.balance(&account(&bob.contributor)).await?.0;
    let [operator_claim, bob_claim] = chain
        .submit_each([
            (&trained.operator, calls::claim()),
            (&bob.contributor, calls::claim_pool(pool)),
        ])
        .await;
    let (claimer, _) =
        event::<(AccountId, PendingRewards<Balance>)>(&operator_claim?, "Rewards", "Claimed")?;
    ensure!(claimer == operator, "the operator claimed");
    bob_claim.context("Bob claims his share of the pool")?;
    let operator_gain = chain.balance(&operator).await?.0 - operator_before;
    ensure!(
        (trained.operator_paid - OPEN / 10..=trained.operator_paid).contains(&operator_gain),
        "the operator received its payment less a fee: {operator_gain}"
    );
    let bob_gain = chain.balance(&account(&bob.contributor)).await?.0 - bob_before;
    ensure!(
        (bob_share - OPEN / 10..=bob_share).contains(&bob_gain),
        "Bob received his share less a fee: {bob_gain}"
    );
    let state: Option<RewardPool<Balance>> = chain.state_call("RewardsApi_pool", pool).await?;
    ensure!(
        state.map(|s| s.claimed) == Some(bob_share),
        "the pool counts Bob's claim"
    );

    // Settling twice, or a job that does not exist, is refused.
    expect_dispatch_error(
        chain
            .submit(&trained.operator, calls::settle(trained.job))
            .await,
        "Compute::JobNotFound",
    )?;
    expect_dispatch_error(
        chain
            .submit(
                &trained.operator,
                calls::claim_job(trained.job + 1 as JobId),
            )
            .await,
        "Compute::JobNotFound",
    )?;
    Ok(())
}
