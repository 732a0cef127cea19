//! # Rewards
//!
//! Pull-based OPEN rewards for everyone the attribution flow pays: data contributors, model owners
//! and compute operators. Paying pallets move OPEN in at once through [`RewardsCredit`]; the
//! owners pull it out with a claim. Crediting a datanet version's pool of any size and claiming
//! one's share of it are both O(1).
//!
//! ## Index
//!
//! * [Key terms](#key-terms)
//! * [Usage](#usage)
//! * [Implementor's guide](#implementors-guide)
//! * [Design](#design)
//!
//! ## Key terms
//!
//! * pool: the reward pool of one published datanet version, identified by a [`PoolId`]. See
//!   [`RewardPool`] and [`Pools`].
//! * points: a member's weight in a pool, answered by [`DatanetsInspect::points`]: the summed
//!   weights of their contributions in that version. A pool's total points are the version's
//!   `total_weight`. Versions are immutable, so points never change.
//! * direct credit: an amount credited to one account, by [`RewardSource`]. See
//!   [`PendingRewards`] and [`Pending`].
//! * pallet account: the key-less account derived from [`Config::PalletId`] that holds every
//!   credited and unclaimed OPEN (see [`Pallet::account_id`]).
//!
//! ## Usage
//!
//! ### Crediting (other pallets)
//!
//! [`RewardsCredit::credit_account`] moves an amount from the payer into the pallet account and
//! adds it to the receiver's pending rewards for a source. [`RewardsCredit::credit_pool`] moves an
//! amount into the pallet account and adds it to a pool; the first credit of a pool reads the
//! version's total weight from [`Config::Datanets`] and fails for an unknown or empty version.
//! Zero amounts are accepted and change nothing.
//!
//! ### Claim direct rewards
//!
//! [`Call::claim`] pays the caller all their direct credits (every source) and clears them.
//!
//! ### Claim a pool share
//!
//! [`Call::claim_pool`] pays the caller what is pending for them in one pool. Calling it again
//! before the pool is credited again pays nothing and fails with [`Error::NothingToClaim`].
//!
//! ## Implementor's guide
//!
//! * Pending amounts are answered by the [`RewardsApi`](attribution_primitives::rewards::RewardsApi)
//!   runtime API: [`Pallet::pending_rewards`], [`Pallet::pending_pool_rewards`], [`Pallet::pool`].
//!   A contributor may hold points in many versions; the dApp lists the versions they contributed
//!   to and asks for those pools.
//! * A claim transfers to the claimant, so a claim by an account that does not exist yet must be at
//!   least the existential deposit, otherwise it fails with a token error and nothing changes.
//! * Every payment in is `Preserve`: crediting never kills the payer's account.
//!
//! ## Design
//!
//! ### Goals
//!
//! * Every operation is independent of the number of pool members: no loop over members, ever.
//! * OPEN is conserved: nothing is paid out that was not paid in, and rounding never creates OPEN.
//!
//! ### Reward pool arithmetic
//!
//! A pool's reward counter, "OPEN per point", is kept as the exact fraction
//! `credited / total_points` instead of a truncated fixed-point number: crediting adds to the
//! numerator, the denominator never changes. A member with `p` points is entitled over the pool's
//! whole life to
//!
//! ```text
//! entitled(p) = floor(p * credited / total_points)     (256-bit intermediate, exact)
//! pending(p)  = entitled(p) - claimed_by_member
//! ```
//!
//! Because points never change, storing what a member has claimed ([`PoolClaims`]) is equivalent to
//! storing the counter at their last claim, and lossless: no precision is lost when crediting, and
//! repeated claims do not accumulate rounding. A member's claimed total is always exactly
//! `entitled(p)`, the floor of their true share.
//!
//! ### Rounding dust
//!
//! The floors leave `credited - sum(entitled)` in the pool, less than one planck per member. It is
//! never paid out and never created: it stays in the pallet account as part of the pool's
//! `credited - claimed`. Points are capped at `total_points` and a claim is capped at what the pool
//! still holds, so an inconsistent [`DatanetsInspect`] cannot drain other pools.
//!
//! ### Funds
//!
//! All credited OPEN sits in the pallet account (no holds). The genesis build endows that account
//! with the existential deposit, which it never pays out (payouts are `Preserve`).
//!
//! ### Invariants (checked by `do_try_state`)
//!
//! ```text
//! balance(pallet account) >= existential deposit
//!                          + sum(pending direct credits)
//!                          + sum over pools (credited - claimed)
//!                          (>=: anyone may donate to the account)
//! for every pool:  claimed <= credited,  total_points > 0
//! for every pool:  sum of its members' claims == claimed
//! ```
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

pub use attribution_primitives::{
    paging::MAX_PAGE_LEN,
    rewards::{PendingRewards, RewardPool},
    traits::{DatanetsInspect, PoolId, RewardSource, RewardsCredit},
    Balance,
};
pub use weights::WeightInfo;

/// The pool size [`Call::claim_pool`] is weighed at: the largest benchmarked. Its cost does not
/// depend on the pool's size (the benchmark shows a flat slope), so any size pays the same.
pub const POOL_MEMBERS_FOR_WEIGHT: u32 = 100_000;

/// Sets up state for benchmarks that the pallet cannot create itself.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
    /// Makes `pool` a published version of `members` contributions of equal weight, one of which
    /// belongs to `who`, so that [`DatanetsInspect`] answers for it.
    fn create_pool(pool: PoolId, members: u32, who: &AccountId);
}

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use alloc::vec::Vec;
    use frame_support::{
        pallet_prelude::*,
        traits::{
            fungible::{Inspect, Mutate},
            tokens::Preservation,
        },
        PalletId,
    };
    use frame_system::pallet_prelude::*;
    use sp_runtime::{
        helpers_128bit::multiply_by_rational_with_rounding, traits::AccountIdConversion, Rounding,
    };

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
        /// The OPEN token.
        type Currency: Mutate<Self::AccountId, Balance = Balance>;
        /// Published datanet versions: a pool's total points and each member's points.
        type Datanets: DatanetsInspect<Self::AccountId>;
        /// Derives the pallet account that holds credited, unclaimed OPEN.
        #[pallet::constant]
        type PalletId: Get<PalletId>;
        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
        /// Creates pools of any size for the benchmarks.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
    }

    /// Direct credits not yet claimed, per account. Removed when claimed.
    #[pallet::storage]
    pub type Pending<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, PendingRewards<Balance>>;

    /// Reward pools, created by their first credit.
    #[pallet::storage]
    pub type Pools<T: Config> = StorageMap<_, Blake2_128Concat, PoolId, RewardPool<Balance>>;

    /// What each member has claimed from each pool so far.
    #[pallet::storage]
    pub type PoolClaims<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        PoolId,
        Blake2_128Concat,
        T::AccountId,
        Balance,
        ValueQuery,
    >;

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// `amount` moved from `payer` and became claimable by `who`.
        AccountCredited {
            payer: T::AccountId,
            who: T::AccountId,
            source: RewardSource,
            amount: Balance,
        },
        /// `amount` moved from `payer` into `pool`, shared among its members by points.
        PoolCredited {
            payer: T::AccountId,
            pool: PoolId,
            amount: Balance,
        },
        /// `who` was paid all their direct credits.
        Claimed {
            who: T::AccountId,
            rewards: PendingRewards<Balance>,
        },
        /// `who` was paid `amount`, their pending share of `pool`.
        PoolClaimed {
            who: T::AccountId,
            pool: PoolId,
            amount: Balance,
        },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// Nothing is pending for the caller.
        NothingToClaim,
        /// The pool's datanet version is not published.
        UnknownVersion,
        /// The pool's datanet version has no weight, so nobody could ever claim from it.
        EmptyPool,
    }

    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        #[serde(skip)]
        pub _config: core::marker::PhantomData<T>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            let account = Pallet::<T>::account_id();
            let endowment = T::Currency::minimum_balance();
            if T::Currency::balance(&account) < endowment {
                // Keeps the pallet account alive whatever is credited or claimed; part of genesis
                // issuance, never paid out.
                let _ = T::Currency::mint_into(&account, endowment);
            }
        }
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Pays the caller all their direct credits (data, model and compute).
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::claim())]
        pub fn claim(origin: OriginFor<T>) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let rewards = Pending::<T>::get(&who).ok_or(Error::<T>::NothingToClaim)?;
            let total = total_of(&rewards);
            ensure!(total > 0, Error::<T>::NothingToClaim);
            T::Currency::transfer(&Self::account_id(), &who, total, Preservation::Preserve)?;
            Pending::<T>::remove(&who);
            Self::deposit_event(Event::Claimed { who, rewards });
            Ok(())
        }

        /// Pays the caller their pending share of `pool`, in O(1) whatever the pool's size.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::claim_pool(POOL_MEMBERS_FOR_WEIGHT))]
        pub fn claim_pool(origin: OriginFor<T>, pool: PoolId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut state = Pools::<T>::get(pool).ok_or(Error::<T>::NothingToClaim)?;
            let amount = Self::pool_pending(pool, &state, &who);
            ensure!(amount > 0, Error::<T>::NothingToClaim);
            T::Currency::transfer(&Self::account_id(), &who, amount, Preservation::Preserve)?;
            // Both sums are bounded by `state.credited`, itself bounded by the total issuance.
            state.claimed = state.claimed.saturating_add(amount);
            Pools::<T>::insert(pool, state);
            PoolClaims::<T>::mutate(pool, &who, |claimed| {
                *claimed = claimed.saturating_add(amount)
            });
            Self::deposit_event(Event::PoolClaimed { who, pool, amount });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// The account holding all credited, unclaimed OPEN.
        pub fn account_id() -> T::AccountId {
            T::PalletId::get().into_account_truncating()
        }

        /// Direct credits `who` can claim now, by source (runtime API).
        pub fn pending_rewards(who: &T::AccountId) -> PendingRewards<Balance> {
            Pending::<T>::get(who).unwrap_or_default()
        }

        /// What `who` can claim now from each of the first [`MAX_PAGE_LEN`] of `pools` (runtime
        /// API: its input is bounded like the other pages, security review L3).
        pub fn pending_pool_rewards(
            who: &T::AccountId,
            pools: Vec<PoolId>,
        ) -> Vec<(PoolId, Balance)> {
            pools
                .into_iter()
                .take(MAX_PAGE_LEN as usize)
                .map(|pool| {
                    let pending = Pools::<T>::get(pool)
                        .map_or(0, |state| Self::pool_pending(pool, &state, who));
                    (pool, pending)
                })
                .collect()
        }

        /// The state of `pool`, `None` if it was never credited (runtime API).
        pub fn pool(pool: PoolId) -> Option<RewardPool<Balance>> {
            Pools::<T>::get(pool)
        }

        /// Everything `who` with their points is entitled to from a pool over its whole life:
        /// `floor(points * credited / total_points)`, points capped at the pool's total.
        pub fn pool_entitlement(
            pool: PoolId,
            state: &RewardPool<Balance>,
            who: &T::AccountId,
        ) -> Balance {
            let points =
                T::Datanets::points(pool.datanet, pool.version, who).min(state.total_points);
            // `points <= total_points` so the result is at most `credited` and always fits; `None`
            // only for a zero denominator, which pools never have.
            multiply_by_rational_with_rounding(
                points,
                state.credited,
                state.total_points,
                Rounding::Down,
            )
            .unwrap_or(0)
        }

        fn pool_pending(pool: PoolId, state: &RewardPool<Balance>, who: &T::AccountId) -> Balance {
            let entitled = Self::pool_entitlement(pool, state, who);
            let outstanding = state.credited.saturating_sub(state.claimed);
            entitled
                .saturating_sub(PoolClaims::<T>::get(pool, who))
                .min(outstanding)
        }

        fn pay_in(payer: &T::AccountId, amount: Balance) -> DispatchResult {
            T::Currency::transfer(payer, &Self::account_id(), amount, Preservation::Preserve)
                .map(|_| ())
        }

        /// Checks the invariants listed in the crate docs.
        #[cfg(any(feature = "try-runtime", feature = "std"))]
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            use sp_runtime::traits::Zero;
            let mut owed: Balance = 0;
            for (_, rewards) in Pending::<T>::iter() {
                ensure!(total_of(&rewards) > 0, "an empty pending entry is stored");
                owed = owed
                    .checked_add(total_of(&rewards))
                    .ok_or("pending credits overflow")?;
            }
            let mut claims_by_pool = alloc::collections::BTreeMap::<PoolId, Balance>::new();
            for (pool, _, claimed) in PoolClaims::<T>::iter() {
                let sum = claims_by_pool.entry(pool).or_default();
                *sum = sum.checked_add(claimed).ok_or("pool claims overflow")?;
            }
            for (pool, state) in Pools::<T>::iter() {
                ensure!(!state.total_points.is_zero(), "a pool has no points");
                ensure!(
                    state.claimed <= state.credited,
                    "a pool paid more than it was credited"
                );
                ensure!(
                    claims_by_pool.remove(&pool).unwrap_or_default() == state.claimed,
                    "members' claims differ from the pool's claimed total"
                );
                owed = owed
                    .checked_add(state.credited.saturating_sub(state.claimed))
                    .ok_or("pool credits overflow")?;
            }
            ensure!(
                claims_by_pool.is_empty(),
                "claims recorded for a pool that does not exist"
            );
            let expected = owed
                .checked_add(T::Currency::minimum_balance())
                .ok_or("owed overflows")?;
            // At least, not exactly: anyone may send OPEN to this derivable account, and a
            // donation must not fail the check for good (review L2). A shortfall still does.
            ensure!(
                T::Currency::balance(&Self::account_id()) >= expected,
                "the pallet account holds less than what is owed plus the existential deposit"
            );
            Ok(())
        }
    }

    impl<T: Config> RewardsCredit<T::AccountId, Balance> for Pallet<T> {
        fn credit_pool(payer: &T::AccountId, pool: PoolId, amount: Balance) -> DispatchResult {
            if amount == 0 {
                return Ok(());
            }
            let mut state = match Pools::<T>::get(pool) {
                Some(state) => state,
                None => {
                    let version = T::Datanets::version(pool.datanet, pool.version)
                        .ok_or(Error::<T>::UnknownVersion)?;
                    ensure!(version.total_weight > 0, Error::<T>::EmptyPool);
                    RewardPool {
                        total_points: version.total_weight,
                        credited: 0,
                        claimed: 0,
                    }
                }
            };
            Self::pay_in(payer, amount)?;
            // Bounded by the total issuance, which the transfer above proved can hold it.
            state.credited = state.credited.saturating_add(amount);
            Pools::<T>::insert(pool, state);
            Self::deposit_event(Event::PoolCredited {
                payer: payer.clone(),
                pool,
                amount,
            });
            Ok(())
        }

        fn credit_account(
            payer: &T::AccountId,
            who: &T::AccountId,
            source: RewardSource,
            amount: Balance,
        ) -> DispatchResult {
            if amount == 0 {
                return Ok(());
            }
            Self::pay_in(payer, amount)?;
            Pending::<T>::mutate(who, |pending| {
                let rewards = pending.get_or_insert_with(Default::default);
                let slot = match source {
                    RewardSource::Data => &mut rewards.data,
                    RewardSource::Model => &mut rewards.model,
                    RewardSource::Compute => &mut rewards.compute,
                };
                *slot = slot.saturating_add(amount);
            });
            Self::deposit_event(Event::AccountCredited {
                payer: payer.clone(),
                who: who.clone(),
                source,
                amount,
            });
            Ok(())
        }
    }

    /// The sum of all sources; bounded by the total issuance, so it never saturates.
    fn total_of(rewards: &PendingRewards<Balance>) -> Balance {
        rewards
            .data
            .saturating_add(rewards.model)
            .saturating_add(rewards.compute)
    }
}
