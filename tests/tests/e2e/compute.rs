//! Models and compute against the real node: a base model is registered, a LoRA job is posted on
//! a published datanet version, an operator claims it and submits a training proof signed with a
//! worker key the test holds; once the challenge window passes the job settles, the adapter is
//! `Active` with its full lineage, and the budget has moved to the operator and the contributors.
//! A second story challenges a proof without sudo: an account that is no operator challenges with
//! a bond, the next block draws a jury of operators, and the juror's vote rejects the proof.

use anyhow::{ensure, Context, Result};
use attribution_e2e::chain::{
    account, calls, content_hash, event, expect_dispatch_error, poll, Chain, TrainedAdapter, OPEN,
    OPERATOR_STAKE, TRAINING_BUDGET,
};
use attribution_primitives::{
    compute::{Challenge, ChallengeId, JobInfo, OperatorInfo},
    models::{ModelKind, ModelStatus, ModelWithLineage, ModelsPage, TrainingMethod},
    rewards::{PendingRewards, RewardPool},
    traits::PoolId,
    AccountId, Balance, BlockNumber, Hash, JobId, ModelId,
};
use sp_core::Pair as _;
use std::time::Duration;
use subxt_signer::sr25519::dev;

type Model = Option<ModelWithLineage<AccountId, Balance, BlockNumber>>;

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_training_proof_settles_into_an_active_adapter_with_lineage() -> Result<()> {
    let chain = Chain::start().await?;
    let TrainedAdapter {
        proven: trained,
        operator_paid,
        contributors_paid,
    } = chain.train_adapter().await?;
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
    let trained_on: ModelsPage = chain
        .state_call(
            "ModelsApi_models_trained_on",
            (pool.datanet, 0 as ModelId, 10u32),
        )
        .await?;
    ensure!(
        trained_on.models == vec![trained.model] && trained_on.next.is_none(),
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
        contributors_paid == contributors_expected,
        "contributors got {}",
        contributors_paid
    );
    ensure!(
        operator_paid == TRAINING_BUDGET - contributors_expected,
        "operator got {}",
        operator_paid
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
        pending.compute == operator_paid,
        "the operator's pending compute reward: {pending:?}"
    );
    let state: Option<RewardPool<Balance>> = chain.state_call("RewardsApi_pool", pool).await?;
    let state = state.context("the version's pool was credited")?;
    let total = trained.datanet.total_weight();
    ensure!(
        state.credited == contributors_paid && state.total_points == total && state.claimed == 0,
        "pool: {state:?}"
    );
    for contribution in &trained.datanet.contributions {
        let who = account(&contribution.contributor);
        let owed: Vec<(PoolId, Balance)> = chain
            .state_call("RewardsApi_pending_pool_rewards", (who, vec![pool]))
            .await?;
        let share = contribution.weight() * contributors_paid / total;
        ensure!(
            owed == vec![(pool, share)],
            "a contributor's share is by measured weight: {owed:?} vs {share}"
        );
    }

    // Balances move on claim: the operator its payment, a contributor its share of the pool.
    let bob = &trained.datanet.contributions[0];
    let bob_share = bob.weight() * contributors_paid / total;
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
        (operator_paid - OPEN / 10..=operator_paid).contains(&operator_gain),
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

#[tokio::test(flavor = "multi_thread")]
async fn a_jury_of_operators_rejects_a_challenged_proof_without_sudo() -> Result<()> {
    let chain = Chain::start().await?;
    // Dave is an operator besides the prover (Eve): the only one a jury can seat.
    let juror_key = sp_core::sr25519::Pair::from_seed(b"attribution-e2e-juror-worker-key");
    chain.register_operator(&dev::dave(), &juror_key).await?;
    let proven = chain.prove_adapter().await?;
    let (prover, dave) = (account(&proven.operator), account(&dev::dave()));

    // The prover cannot challenge its own proof; Bob, who is no operator, can, with a bond.
    expect_dispatch_error(
        chain
            .submit(&proven.operator, calls::challenge(proven.job, Hash::zero()))
            .await,
        "Compute::OwnProof",
    )?;
    let bob = dev::bob();
    let evidence = Hash::repeat_byte(0xEE);
    let events = chain
        .execute(&bob, calls::challenge(proven.job, evidence))
        .await
        .context("challenge")?;
    let (job, challenge, challenger, bond, committed, vote_end) =
        event::<(JobId, ChallengeId, AccountId, Balance, Hash, BlockNumber)>(
            &events,
            "Compute",
            "Challenged",
        )?;
    ensure!(job == proven.job && challenger == account(&bob) && committed == evidence);
    ensure!(bond == 10 * OPEN, "the runtime's bond: {bond}");
    let (_, bob_reserved) = chain.balance(&account(&bob)).await?;
    ensure!(bob_reserved >= bond, "Bob's bond is held: {bob_reserved}");

    // The next block draws the jury: Dave, never the prover nor the challenger.
    type Open = Challenge<AccountId, Balance, BlockNumber>;
    let drawn: Open = poll("the jury draw", Duration::from_secs(60), || async {
        let found: Option<Open> = chain.state_call("ComputeApi_challenge", challenge).await?;
        Ok(found.filter(|c| !c.jury.is_empty()))
    })
    .await?;
    let jurors: Vec<AccountId> = drawn.jury.iter().map(|seat| seat.juror.clone()).collect();
    ensure!(jurors == vec![dave.clone()], "the jury: {jurors:?}");
    ensure!(drawn.vote_end == vote_end, "{drawn:?}");
    let juror: Option<OperatorInfo<Balance>> = chain
        .state_call("ComputeApi_operator", dave.clone())
        .await?;
    ensure!(
        juror.map(|op| op.juries) == Some(1),
        "Dave sits on one jury"
    );

    // Only jurors vote; Dave's vote of fraud is the jury's majority.
    expect_dispatch_error(
        chain
            .submit(&proven.operator, calls::vote(challenge, false))
            .await,
        "Compute::NotJuror",
    )?;
    let events = chain
        .execute(&dev::dave(), calls::vote(challenge, true))
        .await
        .context("vote")?;
    let (_, decided, operator, winner, to_challenger, to_treasury, refunded) =
        event::<(
            JobId,
            ChallengeId,
            AccountId,
            AccountId,
            Balance,
            Balance,
            Balance,
        )>(&events, "Compute", "FraudProven")?;
    ensure!(decided == challenge && operator == prover && winner == account(&bob));
    ensure!(
        to_challenger == OPERATOR_STAKE / 10 && to_treasury == OPERATOR_STAKE - to_challenger,
        "10 % of the prover's stake to Bob, the rest to the treasury: {to_challenger}, {to_treasury}"
    );
    ensure!(
        refunded == TRAINING_BUDGET,
        "the developer's budget comes back"
    );

    let found: Model = chain.state_call("ModelsApi_model", proven.model).await?;
    ensure!(
        found.map(|m| m.model.status) == Some(ModelStatus::Rejected),
        "the adapter is rejected"
    );
    let gone: Option<OperatorInfo<Balance>> =
        chain.state_call("ComputeApi_operator", prover).await?;
    ensure!(gone.is_none(), "the prover is deregistered");
    let left: Option<Open> = chain.state_call("ComputeApi_challenge", challenge).await?;
    ensure!(left.is_none(), "the resolved challenge is removed");
    Ok(())
}
