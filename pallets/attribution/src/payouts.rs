//! What a batch owes, summed per payee before anything is paid.
//!
//! A typical batch serves one model to many users: every record pays the same model owner, the
//! same operator, the treasury, often the same contributors and the same version's pool.
//! Crediting each part as it is computed would touch each payee's `Rewards::Pending` entry (and
//! move funds, and emit an event) once per record; summing first touches it once per batch. The
//! sum of the parts is the same planck for planck, since each record's parts are rounded on
//! their own exactly as before and only then added up.

use crate::{AccountId, Balance, Config, PoolId, RewardSource, RewardsCredit};
use alloc::collections::btree_map::BTreeMap;
use attribution_primitives::attribution::MAX_ATTRIBUTION_ENTRIES;
use frame_support::traits::{fungible::Mutate, tokens::Preservation, Get};
use sp_runtime::DispatchError;

/// Parts owed to accounts (by reward source), to version pools and to the treasury.
#[derive(Default, Debug, PartialEq, Eq)]
pub(crate) struct Payouts {
    accounts: BTreeMap<(AccountId, RewardSource), Balance>,
    pools: BTreeMap<PoolId, Balance>,
    treasury: Balance,
}

/// The most accounts one batch credits: [`PaidPayees::worst_case`] of a full batch.
#[cfg(feature = "runtime-benchmarks")]
pub const MAX_PAYEE_ACCOUNTS: u32 =
    attribution_primitives::attribution::MAX_BATCH_RECORDS * (MAX_ATTRIBUTION_ENTRIES + 1) + 1;

/// How many payees a batch's payout credited: what its actual weight is counted from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaidPayees {
    /// Distinct `(account, source)` pairs credited through pallet-rewards.
    pub accounts: u32,
    /// Distinct version pools credited.
    pub pools: u32,
}

impl PaidPayees {
    /// The payees of the worst batch of `records` records: each record pays its own model owner
    /// and [`MAX_ATTRIBUTION_ENTRIES`] contributors of its own, and its own version's pool; the
    /// operator is credited once.
    pub fn worst_case(records: u32) -> Self {
        Self {
            accounts: records
                .saturating_mul(MAX_ATTRIBUTION_ENTRIES.saturating_add(1))
                .saturating_add(1),
            pools: records,
        }
    }
}

impl Payouts {
    /// Owes `amount` to `who` from `source`. Nothing is recorded for zero.
    pub(crate) fn credit_account(
        &mut self,
        who: &AccountId,
        source: RewardSource,
        amount: Balance,
    ) {
        if amount > 0 {
            let owed = self.accounts.entry((who.clone(), source)).or_default();
            // Sums of fees charged to allowances: bounded by the total issuance.
            *owed = owed.saturating_add(amount);
        }
    }

    /// Owes `amount` to the members of `pool`. Nothing is recorded for zero.
    pub(crate) fn credit_pool(&mut self, pool: PoolId, amount: Balance) {
        if amount > 0 {
            let owed = self.pools.entry(pool).or_default();
            *owed = owed.saturating_add(amount);
        }
    }

    /// Owes `amount` to the treasury.
    pub(crate) fn credit_treasury(&mut self, amount: Balance) {
        self.treasury = self.treasury.saturating_add(amount);
    }

    /// Adds what `other` owes to what this owes.
    pub(crate) fn merge(&mut self, other: Payouts) {
        for ((who, source), amount) in other.accounts {
            self.credit_account(&who, source, amount);
        }
        for (pool, amount) in other.pools {
            self.credit_pool(pool, amount);
        }
        self.credit_treasury(other.treasury);
    }

    /// The payees this would credit.
    pub(crate) fn payees(&self) -> PaidPayees {
        PaidPayees {
            accounts: self.accounts.len().try_into().unwrap_or(u32::MAX),
            pools: self.pools.len().try_into().unwrap_or(u32::MAX),
        }
    }

    /// Pays everything out of `payer`: each account and pool is credited once, the treasury
    /// receives one transfer. Fails only if `payer` lacks the funds or a pool cannot be credited,
    /// which the records' checks rule out (their fees are escrowed, their models' versions are
    /// published and not empty).
    pub(crate) fn pay<T: Config>(self, payer: &AccountId) -> Result<PaidPayees, DispatchError> {
        let payees = self.payees();
        for ((who, source), amount) in self.accounts {
            T::Rewards::credit_account(payer, &who, source, amount)?;
        }
        for (pool, amount) in self.pools {
            T::Rewards::credit_pool(payer, pool, amount)?;
        }
        if self.treasury > 0 {
            T::Currency::transfer(
                payer,
                &T::Treasury::get(),
                self.treasury,
                Preservation::Preserve,
            )?;
        }
        Ok(payees)
    }
}
