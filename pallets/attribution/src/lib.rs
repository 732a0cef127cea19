//! # Attribution
//!
//! Paid inference with data attribution. Users keep OPEN in an inference credit; workers settle
//! batches of signed inference records against it; each fee is split between the model's owner,
//! the data contributors whose contributions shaped the answer, the operator and the treasury, and
//! paid through pallet-rewards ([`RewardsCredit`]).
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
//! * inference credit: OPEN a user set aside to pay for inference. See [`CreditInfo`] and
//!   [`Credits`]. It sits in the pallet account ([`Pallet::account_id`]), not on hold.
//! * authorization: a user's signed permission to charge at most `max_fee` for one request. See
//!   [`InferenceAuthorization`].
//! * record: an authorization with what the worker did: output hash, tokens, fee and attribution
//!   entries `(contribution, weight in ppm)`. See [`InferenceRecord`].
//! * batch: records an operator's worker signs together. See [`InferenceBatch`] and
//!   [`SignedInferenceBatch`].
//! * nonce window: which of a user's authorization nonces are used. See [`NonceWindow`] and
//!   [`Nonces`].
//! * fee split: the shares of a fee, set by [`Config::AdminOrigin`]. See [`FeeSplit`].
//! * batch commitment: what is kept of a settled batch: its hash and counts. See
//!   [`BatchCommitment`] and [`Batches`].
//!
//! ## Usage
//!
//! ### Deposit credit
//!
//! [`Call::deposit_credit`] moves OPEN from the caller into their inference credit.
//!
//! ### Withdraw credit
//!
//! [`Call::request_withdrawal`] asks for an amount back; [`Call::withdraw`] pays it once
//! [`Config::WithdrawalDelay`] blocks have passed. Until then the amount can still be charged, so a
//! worker holding an authorization is paid. A new request replaces the previous one and restarts
//! the delay. The withdrawal pays what was asked or, if records were charged meanwhile, what is
//! left.
//!
//! ### Settle a batch
//!
//! [`Call::submit_inference_batch`] is called by a registered operator (from the account named in
//! the batch) with a batch signed by its worker key ([`OperatorsInspect::worker_key`]). For each
//! record the runtime checks, in this order: the user's signature, the expiry, `fee <= max_fee`,
//! that the model is active ([`ModelsInspect::serving_model`]), the attribution (positive weights,
//! each contribution once, weights summing to at most 1,000,000 ppm, each contribution a member of
//! the model's datanet version, [`DatanetsInspect::member`]), the nonce, and the credit. Then it
//! charges the fee and splits it.
//!
//! A batch is atomic: one invalid record fails the whole call with that record's error and nothing
//! is charged. The worker validates records when it accepts them, so a failure means a bug or an
//! attack, and the operator (who pays the transaction fee) is the one to fix it.
//!
//! ### Set the fee split
//!
//! [`Call::set_fee_split`] (governance; sudo for now) replaces the split. Its four shares must sum
//! to 100%.
//!
//! ## Implementor's guide
//!
//! * Users and workers sign for this chain: the signed message is
//!   `domain tag || genesis block hash || SCALE(payload)` (see `attribution_primitives::signing`),
//!   checked against [`Pallet::genesis_hash`]. An authorization or batch signed for another chain
//!   fails as a bad signature.
//! * Users: count authorization nonces up from 0. A nonce is accepted once, and at most
//!   [`NONCE_WINDOW`](attribution_primitives::attribution::NONCE_WINDOW) behind the highest used.
//! * Workers: accept an authorization only if the user's credit covers `max_fee` (runtime API
//!   `AttributionApi::credit`) and settle it before its expiry and before any pending withdrawal
//!   unlocks: a withdrawal is announced at least `WithdrawalDelay` blocks ahead.
//! * The fee split's defaults: model owner 30%, contributors 40%, operator 20%, treasury 10%;
//!   one contribution takes at most 25% of the contributors' share of a record.
//! * The treasury account must exist, since its part is transferred to it directly and may be below
//!   the existential deposit: the genesis build endows it (and the pallet account) if needed.
//!
//! ## Design
//!
//! ### Goals
//!
//! * A settled fee is paid exactly: every planck charged to a user reaches a recipient or a pool.
//! * Bounded: records are not stored; each user's replay protection is a constant 24 bytes;
//!   batch commitments are kept for [`Config::BatchRetention`] batches.
//!
//! ### Fee arithmetic
//!
//! ```text
//! model_owner  = floor(split.model_owner * fee)         -> RewardsCredit::credit_account(Model)
//! operator     = floor(split.operator * fee)            -> RewardsCredit::credit_account(Compute)
//! treasury     = floor(split.treasury * fee)            -> transfer to Config::Treasury
//! contributors = fee - model_owner - operator - treasury   (takes the rounding)
//! for each entry:  share = floor(min(weight_ppm / 1e6, cap) * contributors)
//!                                                       -> RewardsCredit::credit_account(Data)
//! rest = contributors - sum(shares)                      -> RewardsCredit::credit_pool(version)
//! ```
//!
//! The rest is the unattributed weight, what the cap cut off and rounding; with no attribution it
//! is the whole contributors' part. A base model has no datanet version: it cannot carry
//! attribution and its contributors' part goes to the treasury.
//!
//! ### Invariants (checked by `do_try_state`)
//!
//! ```text
//! balance(pallet account) == existential deposit + sum(credit balances)
//! no stored credit is empty; the fee split sums to 100%
//! every kept batch id is below NextBatchId and at most BatchRetention behind it
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
    attribution::{
        Attribution, BatchCommitment, BatchId, CreditInfo, FeeSplit, InferenceAuthorization,
        InferenceBatch, InferenceRecord, NonceWindow, PendingWithdrawal, SignedInferenceBatch,
        StaleNonce,
    },
    traits::{
        DatanetsInspect, ModelsInspect, OperatorsInspect, PoolId, RewardSource, RewardsCredit,
        ServingModel,
    },
    AccountId, Balance, BlockNumber, ModelId,
};
pub use weights::WeightInfo;

/// Sets up what the benchmarks need from the pallets this one reads.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper {
    /// Registers `operator` with the worker key `worker_key`.
    fn register_operator(operator: &AccountId, worker_key: sp_core::sr25519::Public);
    /// Makes `model` an active adapter owned by `owner`, trained on `pool`, a published version
    /// whose contributions `0..contributions` each belong to a different account.
    fn serving_model(model: ModelId, owner: &AccountId, pool: PoolId, contributions: u32);
}

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use alloc::vec::Vec;
    use attribution_primitives::{Hash, PARTS_PER_MILLION};
    use frame_support::{
        pallet_prelude::*,
        traits::{
            fungible::{Inspect, Mutate},
            tokens::Preservation,
        },
        PalletId,
    };
    use frame_system::pallet_prelude::*;
    use sp_runtime::{traits::AccountIdConversion, SaturatedConversion};

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config:
        frame_system::Config<AccountId = AccountId, Hash = Hash, RuntimeEvent: From<Event<Self>>>
    {
        /// The OPEN token.
        type Currency: Mutate<AccountId, Balance = Balance>;
        /// Where fee parts are credited for their recipients to claim.
        type Rewards: RewardsCredit<AccountId, Balance>;
        /// Datanet versions: which contributions a model's lineage may attribute.
        type Datanets: DatanetsInspect<AccountId>;
        /// Which models are active, their owners and lineage.
        type Models: ModelsInspect<AccountId>;
        /// Registered operators and their worker keys.
        type Operators: OperatorsInspect<AccountId>;
        /// Receives the treasury's part of fees; must exist.
        type Treasury: Get<AccountId>;
        /// Derives the pallet account holding inference credits.
        #[pallet::constant]
        type PalletId: Get<PalletId>;
        /// Blocks between a withdrawal request and the withdrawal.
        #[pallet::constant]
        type WithdrawalDelay: Get<BlockNumber>;
        /// How many of the latest batch commitments are kept.
        #[pallet::constant]
        type BatchRetention: Get<BatchId>;
        /// May change the fee split.
        type AdminOrigin: EnsureOrigin<Self::RuntimeOrigin>;
        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
        /// Sets up operators, models and versions for the benchmarks.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: BenchmarkHelper;
    }

    /// Users' inference credits; removed when empty.
    #[pallet::storage]
    pub type Credits<T: Config> = StorageMap<_, Blake2_128Concat, AccountId, CreditInfo>;

    /// Which authorization nonces each user has used.
    #[pallet::storage]
    pub type Nonces<T: Config> = StorageMap<_, Blake2_128Concat, AccountId, NonceWindow>;

    /// The last batch nonce each operator used.
    #[pallet::storage]
    pub type BatchNonces<T: Config> = StorageMap<_, Blake2_128Concat, AccountId, u64>;

    /// Commitments of the latest [`Config::BatchRetention`] settled batches.
    #[pallet::storage]
    pub type Batches<T: Config> = StorageMap<_, Twox64Concat, BatchId, BatchCommitment>;

    /// The id the next settled batch gets.
    #[pallet::storage]
    pub type NextBatchId<T: Config> = StorageValue<_, BatchId, ValueQuery>;

    /// The fee split in force; [`FeeSplit::default`] until governance sets one.
    #[pallet::storage]
    pub type FeeSplitInForce<T: Config> = StorageValue<_, FeeSplit, ValueQuery>;

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// `amount` moved from `who` into their inference credit.
        CreditDeposited { who: AccountId, amount: Balance },
        /// `who` asked for `amount` back, payable from block `unlocks_at`.
        WithdrawalRequested {
            who: AccountId,
            amount: Balance,
            unlocks_at: BlockNumber,
        },
        /// `amount` of `who`'s credit was paid back to them.
        CreditWithdrawn { who: AccountId, amount: Balance },
        /// The fee split was replaced.
        FeeSplitSet { split: FeeSplit },
        /// One record of batch `batch` was settled: `fee` charged to `user` for `model`.
        InferenceSettled {
            batch: BatchId,
            user: AccountId,
            model: ModelId,
            nonce: u64,
            fee: Balance,
            output_hash: sp_core::H256,
        },
        /// A batch was settled and its commitment stored; `pruned` is the commitment dropped to
        /// keep only the latest [`Config::BatchRetention`].
        BatchSettled {
            id: BatchId,
            commitment: BatchCommitment,
            pruned: Option<BatchId>,
        },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// Amounts must be positive.
        ZeroAmount,
        /// The credit does not cover the amount.
        InsufficientCredit,
        /// No withdrawal was requested.
        NoWithdrawalRequested,
        /// The withdrawal's delay has not passed yet.
        WithdrawalLocked,
        /// The fee split's shares do not sum to 100%.
        InvalidFeeSplit,
        /// The caller is not a registered operator.
        NotOperator,
        /// The batch names another operator than the caller.
        NotBatchOperator,
        /// The batch is not signed by the operator's worker key.
        BadWorkerSignature,
        /// A batch must carry at least one record.
        EmptyBatch,
        /// The operator already used this batch nonce or a higher one.
        BatchNonceUsed,
        /// A record's authorization is not signed by its user.
        BadUserSignature,
        /// A record's authorization has expired.
        AuthorizationExpired,
        /// A record charges more than its authorization allows.
        FeeOverMax,
        /// A record's model is not active.
        ModelNotServing,
        /// An attribution entry has weight 0.
        ZeroWeight,
        /// A record's attribution weights sum to more than 1,000,000 ppm.
        AttributionOverMillion,
        /// A record attributes the same contribution twice.
        DuplicateContribution,
        /// An attributed contribution is not in the datanet version the model was trained on.
        ContributionNotInLineage,
        /// The authorization's nonce was used already.
        NonceUsed,
        /// The authorization's nonce is older than the user's nonce window.
        NonceTooOld,
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
            // Keeps the credit account alive, and makes sure the treasury exists so that its part
            // of a fee may be smaller than the existential deposit. Part of genesis issuance.
            let endowment = T::Currency::minimum_balance();
            for account in [Pallet::<T>::account_id(), T::Treasury::get()] {
                if T::Currency::balance(&account) < endowment {
                    let _ = T::Currency::mint_into(&account, endowment);
                }
            }
        }
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn integrity_test() {
            assert!(
                T::BatchRetention::get() > 0,
                "at least the latest batch commitment must be kept"
            );
            assert!(
                T::WithdrawalDelay::get() > 0,
                "a worker must have at least a block to settle"
            );
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Moves `amount` from the caller into their inference credit.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::deposit_credit())]
        pub fn deposit_credit(
            origin: OriginFor<T>,
            #[pallet::compact] amount: Balance,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            ensure!(amount > 0, Error::<T>::ZeroAmount);
            T::Currency::transfer(&who, &Self::account_id(), amount, Preservation::Preserve)?;
            Credits::<T>::mutate(&who, |credit| {
                let credit = credit.get_or_insert_with(Default::default);
                // Bounded by the total issuance, which the transfer proved can hold it.
                credit.balance = credit.balance.saturating_add(amount);
            });
            Self::deposit_event(Event::CreditDeposited { who, amount });
            Ok(())
        }

        /// Asks for `amount` of the caller's credit back after [`Config::WithdrawalDelay`] blocks,
        /// replacing any earlier request.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::request_withdrawal())]
        pub fn request_withdrawal(
            origin: OriginFor<T>,
            #[pallet::compact] amount: Balance,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            ensure!(amount > 0, Error::<T>::ZeroAmount);
            let unlocks_at = Self::now().saturating_add(T::WithdrawalDelay::get());
            Credits::<T>::try_mutate(&who, |credit| -> DispatchResult {
                let credit = credit
                    .as_mut()
                    .filter(|c| c.balance >= amount)
                    .ok_or(Error::<T>::InsufficientCredit)?;
                credit.withdrawal = Some(PendingWithdrawal { amount, unlocks_at });
                Ok(())
            })?;
            Self::deposit_event(Event::WithdrawalRequested {
                who,
                amount,
                unlocks_at,
            });
            Ok(())
        }

        /// Pays the caller's requested withdrawal once its delay has passed: the amount asked, or
        /// what is left of the credit if less.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::withdraw())]
        pub fn withdraw(origin: OriginFor<T>) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut credit = Credits::<T>::get(&who).ok_or(Error::<T>::NoWithdrawalRequested)?;
            let request = credit
                .withdrawal
                .take()
                .ok_or(Error::<T>::NoWithdrawalRequested)?;
            ensure!(
                Self::now() >= request.unlocks_at,
                Error::<T>::WithdrawalLocked
            );
            let amount = request.amount.min(credit.balance);
            if amount > 0 {
                T::Currency::transfer(&Self::account_id(), &who, amount, Preservation::Preserve)?;
            }
            credit.balance = credit.balance.saturating_sub(amount);
            Self::store_credit(&who, credit);
            Self::deposit_event(Event::CreditWithdrawn { who, amount });
            Ok(())
        }

        /// Settles a batch of inference records signed by the caller's worker key. Atomic: one
        /// invalid record fails the whole batch.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::submit_inference_batch(signed.batch.records.len() as u32))]
        pub fn submit_inference_batch(
            origin: OriginFor<T>,
            signed: SignedInferenceBatch,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let batch = &signed.batch;
            ensure!(batch.operator == who, Error::<T>::NotBatchOperator);
            let worker_key = T::Operators::worker_key(&who).ok_or(Error::<T>::NotOperator)?;
            let genesis = Self::genesis_hash();
            ensure!(
                signed.verify(&genesis, &worker_key),
                Error::<T>::BadWorkerSignature
            );
            ensure!(!batch.records.is_empty(), Error::<T>::EmptyBatch);
            ensure!(
                BatchNonces::<T>::get(&who).is_none_or(|last| batch.nonce > last),
                Error::<T>::BatchNonceUsed
            );
            BatchNonces::<T>::insert(&who, batch.nonce);

            let id = NextBatchId::<T>::get();
            let now = Self::now();
            let split = FeeSplitInForce::<T>::get();
            let mut commitment = BatchCommitment {
                operator: who.clone(),
                nonce: batch.nonce,
                hash: sp_io::hashing::blake2_256(&batch.encode()).into(),
                records: batch.records.len() as u32,
                tokens_in: 0,
                tokens_out: 0,
                total_fee: 0,
                settled_at: now,
            };
            for record in &batch.records {
                Self::settle(id, &who, record, &genesis, now, &split)?;
                commitment.tokens_in = commitment.tokens_in.saturating_add(record.tokens_in.into());
                commitment.tokens_out = commitment
                    .tokens_out
                    .saturating_add(record.tokens_out.into());
                commitment.total_fee = commitment.total_fee.saturating_add(record.fee);
            }

            Batches::<T>::insert(id, commitment.clone());
            NextBatchId::<T>::put(id.saturating_add(1));
            let pruned = id.checked_sub(T::BatchRetention::get());
            if let Some(old) = pruned {
                Batches::<T>::remove(old);
            }
            Self::deposit_event(Event::BatchSettled {
                id,
                commitment,
                pruned,
            });
            Ok(())
        }

        /// Replaces the fee split; its four shares must sum to 100%.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::set_fee_split())]
        pub fn set_fee_split(origin: OriginFor<T>, split: FeeSplit) -> DispatchResult {
            T::AdminOrigin::ensure_origin(origin)?;
            ensure!(split.is_complete(), Error::<T>::InvalidFeeSplit);
            FeeSplitInForce::<T>::put(split);
            Self::deposit_event(Event::FeeSplitSet { split });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// The account holding all inference credits.
        pub fn account_id() -> AccountId {
            T::PalletId::get().into_account_truncating()
        }

        /// `who`'s inference credit, zero if none (runtime API).
        pub fn credit(who: &AccountId) -> CreditInfo {
            Credits::<T>::get(who).unwrap_or_default()
        }

        /// The nonces `who` has used (runtime API).
        pub fn nonce_window(who: &AccountId) -> Option<NonceWindow> {
            Nonces::<T>::get(who)
        }

        /// The fee split in force (runtime API).
        pub fn fee_split() -> FeeSplit {
            FeeSplitInForce::<T>::get()
        }

        /// A kept batch commitment (runtime API).
        pub fn batch(id: BatchId) -> Option<BatchCommitment> {
            Batches::<T>::get(id)
        }

        /// This chain's genesis block hash, which authorizations and batches are signed for.
        /// frame-system keeps block 0's hash for good (it prunes only later ones).
        pub fn genesis_hash() -> Hash {
            frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero())
        }

        fn now() -> BlockNumber {
            frame_system::Pallet::<T>::block_number().saturated_into()
        }

        /// Stores `credit`, or removes it when nothing is left in it.
        fn store_credit(who: &AccountId, credit: CreditInfo) {
            if credit == CreditInfo::default() {
                Credits::<T>::remove(who);
            } else {
                Credits::<T>::insert(who, credit);
            }
        }

        /// Checks one record, charges its fee and pays the split.
        fn settle(
            batch: BatchId,
            operator: &AccountId,
            record: &InferenceRecord,
            genesis: &Hash,
            now: BlockNumber,
            split: &FeeSplit,
        ) -> DispatchResult {
            let auth = &record.authorization;
            ensure!(
                auth.verify(genesis, &record.user_signature),
                Error::<T>::BadUserSignature
            );
            ensure!(now <= auth.expiry, Error::<T>::AuthorizationExpired);
            ensure!(record.fee <= auth.max_fee, Error::<T>::FeeOverMax);
            let model = T::Models::serving_model(auth.model).ok_or(Error::<T>::ModelNotServing)?;
            let contributors =
                Self::attributed_contributors(&record.attribution, model.trained_on)?;
            Self::use_nonce(&auth.user, auth.nonce)?;
            Self::charge(&auth.user, record.fee)?;
            Self::pay_fee(record.fee, &model, operator, &contributors, split)?;
            Self::deposit_event(Event::InferenceSettled {
                batch,
                user: auth.user.clone(),
                model: auth.model,
                nonce: auth.nonce,
                fee: record.fee,
                output_hash: record.output_hash,
            });
            Ok(())
        }

        /// The contributor and weight of each attribution entry, once the entries are checked.
        fn attributed_contributors(
            attribution: &Attribution,
            lineage: Option<PoolId>,
        ) -> Result<Vec<(AccountId, u32)>, DispatchError> {
            let mut total: u32 = 0;
            let mut contributors = Vec::with_capacity(attribution.len());
            for (index, entry) in attribution.iter().enumerate() {
                ensure!(entry.weight_ppm > 0, Error::<T>::ZeroWeight);
                total = total
                    .checked_add(entry.weight_ppm)
                    .filter(|total| *total <= PARTS_PER_MILLION)
                    .ok_or(Error::<T>::AttributionOverMillion)?;
                ensure!(
                    !attribution
                        .iter()
                        .take(index)
                        .any(|earlier| earlier.contribution == entry.contribution),
                    Error::<T>::DuplicateContribution
                );
                let version = lineage.ok_or(Error::<T>::ContributionNotInLineage)?;
                let member =
                    T::Datanets::member(version.datanet, version.version, entry.contribution)
                        .ok_or(Error::<T>::ContributionNotInLineage)?;
                contributors.push((member.contributor, entry.weight_ppm));
            }
            Ok(contributors)
        }

        fn use_nonce(user: &AccountId, nonce: u64) -> DispatchResult {
            Nonces::<T>::try_mutate(user, |window| match window {
                None => {
                    *window = Some(NonceWindow::starting_at(nonce));
                    Ok(())
                }
                Some(window) => window.use_nonce(nonce).map_err(|stale| match stale {
                    StaleNonce::Used => Error::<T>::NonceUsed.into(),
                    StaleNonce::TooOld => Error::<T>::NonceTooOld.into(),
                }),
            })
        }

        fn charge(user: &AccountId, fee: Balance) -> DispatchResult {
            let mut credit = Credits::<T>::get(user).unwrap_or_default();
            credit.balance = credit
                .balance
                .checked_sub(fee)
                .ok_or(Error::<T>::InsufficientCredit)?;
            Self::store_credit(user, credit);
            Ok(())
        }

        /// Pays `fee`, already charged to a credit, out of the pallet account by `split`.
        fn pay_fee(
            fee: Balance,
            model: &ServingModel<AccountId>,
            operator: &AccountId,
            contributors: &[(AccountId, u32)],
            split: &FeeSplit,
        ) -> DispatchResult {
            let payer = Self::account_id();
            let parts = split.split(fee);
            T::Rewards::credit_account(
                &payer,
                &model.owner,
                RewardSource::Model,
                parts.model_owner,
            )?;
            T::Rewards::credit_account(&payer, operator, RewardSource::Compute, parts.operator)?;
            Self::pay_treasury(&payer, parts.treasury)?;
            let mut rest = parts.contributors;
            for (contributor, weight_ppm) in contributors {
                let share = split.contribution_share(*weight_ppm, parts.contributors);
                T::Rewards::credit_account(&payer, contributor, RewardSource::Data, share)?;
                // Shares sum to at most the contributors' part: weights sum to at most 100%.
                rest = rest.saturating_sub(share);
            }
            match model.trained_on {
                Some(version) => T::Rewards::credit_pool(&payer, version, rest),
                None => Self::pay_treasury(&payer, rest),
            }
        }

        fn pay_treasury(payer: &AccountId, amount: Balance) -> DispatchResult {
            if amount > 0 {
                T::Currency::transfer(payer, &T::Treasury::get(), amount, Preservation::Preserve)?;
            }
            Ok(())
        }

        /// Checks the invariants listed in the crate docs.
        #[cfg(any(feature = "try-runtime", feature = "std"))]
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            let mut credits: Balance = 0;
            for (_, credit) in Credits::<T>::iter() {
                ensure!(credit != CreditInfo::default(), "an empty credit is stored");
                credits = credits
                    .checked_add(credit.balance)
                    .ok_or("credits overflow")?;
            }
            let expected = credits
                .checked_add(T::Currency::minimum_balance())
                .ok_or("credits overflow")?;
            ensure!(
                T::Currency::balance(&Self::account_id()) == expected,
                "the credit account does not hold exactly the credits plus the existential deposit"
            );
            ensure!(
                FeeSplitInForce::<T>::get().is_complete(),
                "the fee split does not sum to 100%"
            );
            let next = NextBatchId::<T>::get();
            for (id, _) in Batches::<T>::iter() {
                ensure!(id < next, "a batch commitment from the future");
                ensure!(
                    next - id <= T::BatchRetention::get(),
                    "a batch commitment kept too long"
                );
            }
            Ok(())
        }
    }
}
