//! Invariants that span pallets, checked against the whole state (try-runtime and the simulation's
//! per-block check only; security review L2).
//!
//! Each pallet's `do_try_state` checks its own records against the holds it knows of: from a
//! record to the OPEN held for it. Two things no single pallet can see are checked here:
//!
//! * **holds → records**: every hold pallet-balances keeps under a lifecycle pallet's hold reason
//!   belongs to an account with a live record for that reason. With the pallets' own checks (a
//!   record's account holds exactly what its records say) this makes the check two-way: a hold
//!   leaked by an account with no job, model, datanet or challenge left is caught.
//! * **pallet ↔ pallet**: a job and its adapter agree on where they are, a `Training` or
//!   `Challengeable` adapter has its live job, a job trains on its version's Merkle root, a
//!   proven job's proof is its adapter's, and a reward pool's points are its version's weight.
//!
//! ```text
//! for every hold (who, reason, amount > 0):
//!   Compute(OperatorStake)       who is an operator
//!   Compute(JobBudget)           who posted a live job
//!   Compute(ChallengeBond)       who opened a live training challenge
//!   Datanets(DatanetDeposit)     who owns a datanet with a deposit
//!   Datanets(ContributionBond)   who announced a contribution still bonded
//!   Datanets(StorageDeposit)     who announced a contribution still kept
//!   Models(ModelDeposit)         who owns a model with a deposit
//!   Attribution(AttributionChallengeBond)  who opened a live attribution challenge
//! for every job j (adapter m = Models[j.model]):
//!   m is an adapter whose lineage names j
//!   j Open | Claimed       ⇔ m Training
//!   j Proven | Challenged  ⇔ m Challengeable, and j.proof_hash == m.artifact.proof_hash
//!   j.dataset_root == Versions[j.pool].merkle_root == m.spec.dataset_root
//! for every adapter m Training | Challengeable: Jobs[m.spec.job].model == m
//! for every reward pool p: Pools[p].total_points == Versions[p].total_weight
//! ```

use crate::{Runtime, RuntimeHoldReason};
use alloc::collections::btree_set::BTreeSet;
use attribution_primitives::{
    compute::JobStatus, datanets::ContributionStatus, models::ModelKind, models::ModelStatus,
    AccountId,
};
use frame_support::ensure;
use sp_runtime::{traits::Zero, TryRuntimeError};

/// Every invariant of this module.
pub fn try_state() -> Result<(), TryRuntimeError> {
    holds_belong_to_live_records()?;
    jobs_agree_with_their_adapters()?;
    unfinished_adapters_have_live_jobs()?;
    pools_hold_their_versions_weight()
}

/// The accounts each lifecycle hold reason may be held from: those with a live record for it.
#[derive(Default)]
struct Holders {
    operators: BTreeSet<AccountId>,
    developers: BTreeSet<AccountId>,
    challengers: BTreeSet<AccountId>,
    datanet_owners: BTreeSet<AccountId>,
    bonded_contributors: BTreeSet<AccountId>,
    kept_contributors: BTreeSet<AccountId>,
    model_owners: BTreeSet<AccountId>,
    attribution_challengers: BTreeSet<AccountId>,
}

impl Holders {
    fn from_records() -> Self {
        let mut holders = Self {
            operators: pallet_compute::Operators::<Runtime>::iter_keys().collect(),
            ..Self::default()
        };
        for (_, job) in pallet_compute::Jobs::<Runtime>::iter() {
            holders.developers.insert(job.developer);
        }
        for (_, challenge) in pallet_compute::Challenges::<Runtime>::iter() {
            holders.challengers.insert(challenge.challenger);
        }
        for (_, datanet) in pallet_datanets::Datanets::<Runtime>::iter() {
            if !datanet.deposit.is_zero() {
                holders.datanet_owners.insert(datanet.owner);
            }
        }
        for (_, contribution) in pallet_datanets::Contributions::<Runtime>::iter() {
            if contribution.status == ContributionStatus::Pending && !contribution.bond.is_zero() {
                holders
                    .bonded_contributors
                    .insert(contribution.contributor.clone());
            }
            if !contribution.deposit.is_zero() {
                holders.kept_contributors.insert(contribution.contributor);
            }
        }
        for (_, model) in pallet_models::Models::<Runtime>::iter() {
            if !model.deposit.is_zero() {
                holders.model_owners.insert(model.owner);
            }
        }
        for (_, challenge) in pallet_attribution::AttributionChallenges::<Runtime>::iter() {
            holders.attribution_challengers.insert(challenge.challenger);
        }
        holders
    }

    /// Whether `who` has a live record that `reason` may be held for.
    fn may_hold(&self, reason: &RuntimeHoldReason, who: &AccountId) -> bool {
        use pallet_compute::HoldReason as Compute;
        use pallet_datanets::HoldReason as Datanets;
        let holders = match reason {
            RuntimeHoldReason::Compute(Compute::OperatorStake) => &self.operators,
            RuntimeHoldReason::Compute(Compute::JobBudget) => &self.developers,
            RuntimeHoldReason::Compute(Compute::ChallengeBond) => &self.challengers,
            RuntimeHoldReason::Datanets(Datanets::DatanetDeposit) => &self.datanet_owners,
            RuntimeHoldReason::Datanets(Datanets::ContributionBond) => &self.bonded_contributors,
            RuntimeHoldReason::Datanets(Datanets::StorageDeposit) => &self.kept_contributors,
            RuntimeHoldReason::Models(pallet_models::HoldReason::ModelDeposit) => {
                &self.model_owners
            }
            RuntimeHoldReason::Attribution(
                pallet_attribution::HoldReason::AttributionChallengeBond,
            ) => &self.attribution_challengers,
        };
        holders.contains(who)
    }
}

/// Every non-zero hold under a lifecycle reason is an account's with a live record for it.
fn holds_belong_to_live_records() -> Result<(), TryRuntimeError> {
    let holders = Holders::from_records();
    for (who, holds) in pallet_balances::Holds::<Runtime>::iter() {
        for hold in holds.iter().filter(|hold| !hold.amount.is_zero()) {
            ensure!(
                holders.may_hold(&hold.id, &who),
                "a hold under a lifecycle reason belongs to no live record"
            );
        }
    }
    Ok(())
}

/// Each job against its adapter and its datanet version.
fn jobs_agree_with_their_adapters() -> Result<(), TryRuntimeError> {
    for (id, job) in pallet_compute::Jobs::<Runtime>::iter() {
        let model = pallet_models::Models::<Runtime>::get(job.model)
            .ok_or("a job's adapter is not registered")?;
        let ModelKind::Adapter(lineage) = model.kind else {
            return Err("a job's model is a base model".into());
        };
        ensure!(lineage.spec.job == id, "a job's adapter names another job");
        match job.status {
            JobStatus::Open | JobStatus::Claimed { .. } => ensure!(
                model.status == ModelStatus::Training,
                "an open or claimed job's adapter is not Training"
            ),
            JobStatus::Proven { .. } | JobStatus::Challenged { .. } => {
                ensure!(
                    model.status == ModelStatus::Challengeable,
                    "a proven or challenged job's adapter is not Challengeable"
                );
                ensure!(
                    job.proof_hash.is_some()
                        && job.proof_hash == lineage.artifact.map(|a| a.proof_hash),
                    "a proven job's proof hash is not its adapter's"
                );
            }
        }
        let version = pallet_datanets::Versions::<Runtime>::get(job.pool.datanet, job.pool.version)
            .ok_or("a job trains on a version that is not published")?;
        ensure!(
            job.dataset_root == version.merkle_root
                && lineage.spec.dataset_root == version.merkle_root,
            "a job's dataset root is not its version's Merkle root"
        );
    }
    Ok(())
}

/// A `Training` or `Challengeable` adapter is its live job's.
fn unfinished_adapters_have_live_jobs() -> Result<(), TryRuntimeError> {
    for (id, model) in pallet_models::Models::<Runtime>::iter() {
        if !matches!(
            model.status,
            ModelStatus::Training | ModelStatus::Challengeable
        ) {
            continue;
        }
        let ModelKind::Adapter(lineage) = model.kind else {
            return Err("a base model in an adapter's status".into());
        };
        let job = pallet_compute::Jobs::<Runtime>::get(lineage.spec.job);
        ensure!(
            job.is_some_and(|job| job.model == id),
            "a Training or Challengeable adapter has no live job"
        );
    }
    Ok(())
}

/// A reward pool's points are its version's total weight.
fn pools_hold_their_versions_weight() -> Result<(), TryRuntimeError> {
    for (pool, state) in pallet_rewards::Pools::<Runtime>::iter() {
        let version = pallet_datanets::Versions::<Runtime>::get(pool.datanet, pool.version)
            .ok_or("a reward pool of a version that is not published")?;
        ensure!(
            state.total_points == version.total_weight,
            "a reward pool's points differ from its version's total weight"
        );
    }
    Ok(())
}
