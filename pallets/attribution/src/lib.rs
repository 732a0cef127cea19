//! # Attribution
//!
//! Paid inference with data attribution. Users keep OPEN in an inference credit and grant part of
//! it to the operators they use as per-operator allowances; workers settle batches of signed
//! inference records against the allowance for their operator; each fee is split between the
//! model's owner, the data contributors whose contributions shaped the answer, the operator and
//! the treasury, and paid through pallet-rewards ([`RewardsCredit`]).
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
//! * inference credit: OPEN a user set aside for inference and has not granted to an operator.
//!   See [`CreditInfo`] and [`Credits`]. It sits in the pallet account ([`Pallet::account_id`]),
//!   not on hold. Records are never charged to it.
//! * allowance: credit a user granted to one operator; only that operator's batches may charge it,
//!   and the user takes it back only after [`Config::AllowanceDelay`] blocks, announced. See
//!   [`AllowanceInfo`] and [`Allowances`].
//! * authorization: a user's signed permission for one operator to charge at most `max_fee` for
//!   one request. See [`InferenceAuthorization`].
//! * record: an authorization with what the worker did: output hash, tokens, fee and attribution
//!   entries `(contribution, weight in ppm)`. See [`InferenceRecord`].
//! * batch: records an operator's worker signs together. See [`InferenceBatch`] and
//!   [`SignedInferenceBatch`].
//! * rejection: why one record of a batch was not settled. See [`RecordRejection`].
//! * nonce window: which of a user's authorization nonces for one operator are used. See
//!   [`NonceWindow`] and [`Nonces`].
//! * fee split: the shares of a fee, set by [`Config::AdminOrigin`]. See [`FeeSplit`].
//! * batch commitment: what is kept of a settled batch: its hash and the counts of its settled
//!   records. See [`BatchCommitment`] and [`Batches`].
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
//! [`WithdrawalDelay`] blocks have passed. A new request replaces the previous one and
//! restarts the delay. The withdrawal pays what was asked or, if credit was granted to operators
//! meanwhile, what is left.
//!
//! [`Call::set_withdrawal_delay`]: [`Config::AdminOrigin`] (root, later governance) sets
//! [`WithdrawalDelay`], between one block and [`Config::MaxWithdrawalDelay`]; the genesis config
//! may set it too (a development chain shortens it). A request already made keeps the block it
//! unlocks at.
//!
//! ### Grant and take back an allowance
//!
//! [`Call::grant_allowance`] moves credit into the caller's allowance for a registered operator.
//! [`Call::request_allowance_reduction`] announces that an amount will be taken back;
//! [`Call::reduce_allowance`] moves it back into the credit once [`Config::AllowanceDelay`] blocks
//! have passed: the amount announced, or what is left if the operator charged records meanwhile.
//! Until then the operator may still charge the whole allowance. A new request replaces the
//! previous one and restarts the delay.
//!
//! ### Settle a batch
//!
//! [`Call::submit_inference_batch`] is called by a registered operator (from the account named in
//! the batch) with a batch signed by its worker key ([`OperatorsInspect::worker_key`]). These fail
//! the whole call: a submitter other than the batch's operator or not an operator, a bad worker
//! signature, an empty batch, a batch nonce not above the operator's last one.
//!
//! Each record is then settled or rejected on its own, in order. The runtime checks: the user's
//! signature, that the authorization names this operator, the expiry, `fee <= max_fee`, `fee <=
//! price_per_token * (tokens_in + tokens_out)` ([`OperatorsInspect::inference_price`]), that the
//! model is active ([`ModelsInspect::serving_model`]), the attribution (positive weights, each
//! contribution once, weights summing to at most 1,000,000 ppm, each contribution a member of the
//! model's datanet version, [`DatanetsInspect::member`]), the nonce for this operator, and the
//! allowance for this operator. Then it charges the fee to the allowance and splits it
//! ([`Event::InferenceSettled`]). A record failing a check is rejected
//! ([`Event::InferenceRejected`] with its index and [`RecordRejection`]): it moves no funds and
//! uses no nonce. The batch's commitment ([`Event::BatchSettled`]) counts settled records only.
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
//!   is rejected as a bad signature.
//! * Users: grant an allowance to the operator before asking it to serve, and name that operator
//!   in each authorization. Count authorization nonces up from 0 per operator. A nonce is
//!   accepted once per operator, and at most
//!   [`NONCE_WINDOW`](attribution_primitives::attribution::NONCE_WINDOW) behind the highest used
//!   with that operator.
//! * Workers: before generating, read `AttributionApi::allowance(user, operator)`. Count the
//!   allowance's balance minus any announced reduction that unlocks before you will settle, and
//!   serve only if that covers the fees you have not yet settled for this user plus the new
//!   `max_fee`. Nobody else can charge the allowance and no reduction is unannounced, so such a
//!   record is paid if it is settled before its expiry (and the model stays active). Settle each
//!   nonce once: only your own batches use your nonce window with the user.
//! * dApps: `ComputeApi::operators` lists operators with their endpoint and price per token.
//! * The fee split's defaults: model owner 30%, contributors 40%, operator 20%, treasury 10%;
//!   one contribution takes at most 25% of the contributors' share of a record.
//! * The treasury account must exist, since its part is transferred to it directly and may be below
//!   the existential deposit: the genesis build endows it (and the pallet account) if needed.
//!
//! ## Design
//!
//! ### Goals
//!
//! * A settled fee is paid exactly: every planck charged to an allowance reaches a recipient or a
//!   pool; a rejected record moves nothing.
//! * A worker knows before serving whether it will be paid: credit is reserved per operator, and
//!   authorizations, nonces and allowances are all bound to one operator, so no other operator's
//!   settlement can take a record's payment away.
//! * Bounded: records are not stored; each (user, operator) pair's replay protection is a constant
//!   24 bytes; batch commitments are kept for [`Config::BatchRetention`] batches.
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
//! balance(pallet account) == existential deposit + sum(credit balances) + sum(allowance balances)
//! no stored credit or allowance is empty; an announced reduction is positive
//! 0 < WithdrawalDelay <= MaxWithdrawalDelay
//! every pending withdrawal unlocks at most MaxWithdrawalDelay blocks from now
//! the fee split sums to 100%
//! every kept batch id is below NextBatchId and at most BatchRetention behind it
//! ```
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
mod payouts;
#[cfg(test)]
mod tests;
pub mod weights;

pub use payouts::PaidPayees;
use payouts::Payouts;

pub use attribution_primitives::{
    attribution::{
        AllowanceInfo, Attribution, AttributionChallenge, AttributionChallengeId,
        AttributionProvenance, BatchCommitment, BatchId, CreditInfo, FeeSplit,
        InferenceAuthorization, InferenceBatch, InferenceRecord, NonceWindow, PendingWithdrawal,
        RecordId, RecordRejection, SettledRecord, SignedInferenceBatch, StaleNonce,
        MAX_CHALLENGE_ANSWER_BYTES, MAX_CHALLENGE_PROMPT_BYTES,
    },
    traits::{
        DatanetsInspect, JurorPool, ModelsInspect, OperatorsInspect, PoolId, RewardSource,
        RewardsCredit, ServingModel,
    },
    AccountId, Balance, BlockNumber, ModelId,
};
pub use weights::WeightInfo;

/// Sets up what the benchmarks need from the pallets this one reads.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper {
    /// Registers `operator` with the worker key `worker_key`, serving at `price_per_token`;
    /// `possession` is the key's signature over
    /// [`WorkerKeyPossession`](attribution_primitives::compute::WorkerKeyPossession) naming
    /// `operator` on this chain.
    fn register_operator(
        operator: &AccountId,
        worker_key: sp_core::sr25519::Public,
        possession: sp_core::sr25519::Signature,
        price_per_token: Balance,
    );
    /// Makes `model` an active adapter owned by `owner`, trained on `pool`, a published version
    /// whose contributions `first..first + contributions` each belong to a different account.
    /// It may write a base model at `model + 1`: give each call its own pair of ids.
    fn serving_model(
        model: ModelId,
        owner: &AccountId,
        pool: PoolId,
        first: attribution_primitives::ContributionId,
        contributions: u32,
    );
    /// Fills the juror pool the challenges draw from to `members` operators, each staked.
    fn juror_pool(members: u32);
}

/// Domain tag of the seed an attribution challenge's jury is drawn from, so that its draw never
/// coincides with a training challenge's.
pub const ATTRIBUTION_JURY_DOMAIN: &[u8] = b"attribution-chain/attribution-jury/v1";

/// A challenge's request body.
pub type ChallengePrompt =
    sp_runtime::BoundedVec<u8, sp_core::ConstU32<MAX_CHALLENGE_PROMPT_BYTES>>;
/// A challenge's answer.
pub type ChallengeAnswer =
    sp_runtime::BoundedVec<u8, sp_core::ConstU32<MAX_CHALLENGE_ANSWER_BYTES>>;

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use alloc::vec::Vec;
    use attribution_primitives::{
        attribution::MAX_BATCH_RECORDS,
        compute::{jury_verdict, JurorVote, Jury, MAX_DRAWS_PER_BLOCK},
        Hash, PARTS_PER_MILLION,
    };
    use frame_support::{
        pallet_prelude::*,
        storage::{with_transaction, TransactionOutcome},
        traits::{
            fungible::{Inspect, Mutate, MutateHold},
            tokens::{Fortitude, Precision, Preservation, Restriction},
        },
        PalletId,
    };
    use frame_system::pallet_prelude::*;
    use sp_runtime::{traits::AccountIdConversion, ArithmeticError, Perbill, SaturatedConversion};

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config:
        frame_system::Config<AccountId = AccountId, Hash = Hash, RuntimeEvent: From<Event<Self>>>
    {
        /// The OPEN token; challengers' bonds are held.
        type Currency: Mutate<AccountId, Balance = Balance>
            + MutateHold<AccountId, Reason = Self::RuntimeHoldReason>;
        /// The runtime's hold reasons, which include this pallet's.
        type RuntimeHoldReason: From<HoldReason>;
        /// The operators' juror pool and stakes (pallet-compute's), which attribution challenges
        /// draw their juries from and slash.
        type Jurors: JurorPool<AccountId>;
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
        /// Blocks between a withdrawal request and the withdrawal, until the genesis config or
        /// [`Config::AdminOrigin`] sets another [`WithdrawalDelay`].
        #[pallet::constant]
        type DefaultWithdrawalDelay: Get<BlockNumber>;
        /// The longest [`WithdrawalDelay`] that may be set: no user's credit is ever held longer
        /// than this after they ask for it.
        #[pallet::constant]
        type MaxWithdrawalDelay: Get<BlockNumber>;
        /// Blocks between announcing an allowance reduction and taking it back: what an operator
        /// has to settle the records it served against the allowance.
        #[pallet::constant]
        type AllowanceDelay: Get<BlockNumber>;
        /// How many of the latest batch commitments are kept.
        #[pallet::constant]
        type BatchRetention: Get<BatchId>;
        /// The least fee a record may charge: records are not free to settle, store and
        /// challenge (security review L1).
        #[pallet::constant]
        type MinRecordFee: Get<Balance>;
        /// Blocks after settlement during which a record may be challenged, until the genesis
        /// config sets another [`ChallengeWindow`].
        #[pallet::constant]
        type DefaultChallengeWindow: Get<BlockNumber>;
        /// OPEN a challenger holds while its attribution challenge is pending.
        #[pallet::constant]
        type ChallengeBond: Get<Balance>;
        /// What a challenger whose jury reached no verdict pays out of its bond (to the
        /// treasury): challenging is not free even when jurors fail.
        #[pallet::constant]
        type TimeoutFee: Get<Balance>;
        /// Share of an operator's stake slashed for a proven misattribution (at least what the
        /// attribution diverted, at most the whole stake).
        #[pallet::constant]
        type MisattributionSlash: Get<Perbill>;
        /// Share of a slash, after the pool is repaid, that goes to the challenger; the rest
        /// goes to the treasury.
        #[pallet::constant]
        type ChallengerShare: Get<Perbill>;
        /// May change the fee split and the withdrawal delay.
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

    /// Credit each user granted to each operator: `(user, operator)`; removed when empty.
    #[pallet::storage]
    pub type Allowances<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        AccountId,
        Blake2_128Concat,
        AccountId,
        AllowanceInfo,
    >;

    /// Which authorization nonces each user has used with each operator: `(user, operator)`.
    #[pallet::storage]
    pub type Nonces<T: Config> =
        StorageDoubleMap<_, Blake2_128Concat, AccountId, Blake2_128Concat, AccountId, NonceWindow>;

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

    /// Settled records within their challenge window (and a few past it, until pruned).
    #[pallet::storage]
    pub type Records<T: Config> = StorageMap<_, Twox64Concat, RecordId, SettledRecord>;

    /// The id the next settled record gets.
    #[pallet::storage]
    pub type NextRecordId<T: Config> = StorageValue<_, RecordId, ValueQuery>;

    /// The lowest record id that may still be stored: pruning goes up from here.
    #[pallet::storage]
    pub type OldestRecordId<T: Config> = StorageValue<_, RecordId, ValueQuery>;

    /// Blocks between a withdrawal request and the withdrawal ([`Config::DefaultWithdrawalDelay`]
    /// until the genesis config or [`Config::AdminOrigin`] sets it; at most
    /// [`Config::MaxWithdrawalDelay`]).
    #[pallet::storage]
    pub type WithdrawalDelay<T: Config> =
        StorageValue<_, BlockNumber, ValueQuery, T::DefaultWithdrawalDelay>;

    /// Blocks during which a settled record may be challenged. Set once, at genesis, so that
    /// records expire in id order.
    #[pallet::storage]
    pub type ChallengeWindow<T: Config> =
        StorageValue<_, BlockNumber, ValueQuery, T::DefaultChallengeWindow>;

    /// Open attribution challenges; resolved ones are removed (their outcome is in the events).
    #[pallet::storage]
    pub type AttributionChallenges<T: Config> =
        StorageMap<_, Blake2_128Concat, AttributionChallengeId, AttributionChallenge>;

    /// The id the next attribution challenge gets.
    #[pallet::storage]
    pub type NextAttributionChallengeId<T: Config> =
        StorageValue<_, AttributionChallengeId, ValueQuery>;

    /// Challenges opened in this block, whose juries the next block's `on_initialize` draws
    /// from this block's hash (unknown to the challenger when it submitted).
    #[pallet::storage]
    pub type PendingJuryDraws<T: Config> = StorageValue<
        _,
        BoundedVec<AttributionChallengeId, ConstU32<MAX_DRAWS_PER_BLOCK>>,
        ValueQuery,
    >;

    /// Why this pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// An attribution challenger's bond.
        AttributionChallengeBond,
    }

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
        /// `amount` of `user`'s credit was granted to `operator`.
        AllowanceGranted {
            user: AccountId,
            operator: AccountId,
            amount: Balance,
        },
        /// `user` announced taking back `amount` of their allowance for `operator`, from block
        /// `unlocks_at`; until then the operator may still charge it.
        AllowanceReductionRequested {
            user: AccountId,
            operator: AccountId,
            amount: Balance,
            unlocks_at: BlockNumber,
        },
        /// `amount` of `user`'s allowance for `operator` went back into their credit.
        AllowanceReduced {
            user: AccountId,
            operator: AccountId,
            amount: Balance,
        },
        /// One record of batch `batch` was settled: `fee` charged to `user` for `model`; it may be
        /// challenged as `record` until `challengeable_until`.
        InferenceSettled {
            batch: BatchId,
            user: AccountId,
            model: ModelId,
            nonce: u64,
            fee: Balance,
            output_hash: sp_core::H256,
            record: RecordId,
            challengeable_until: BlockNumber,
        },
        /// Record `index` (from 0) of batch `batch` was not settled, for `reason`; it moved no
        /// funds and used no nonce.
        InferenceRejected {
            batch: BatchId,
            index: u32,
            user: AccountId,
            nonce: u64,
            reason: RecordRejection,
        },
        /// `challenger` challenged the attribution of `record`, holding `bond`; its jury is drawn
        /// in the next block and votes until `vote_end`.
        AttributionChallenged {
            challenge: AttributionChallengeId,
            record: RecordId,
            challenger: AccountId,
            bond: Balance,
            vote_end: BlockNumber,
        },
        /// An attribution challenge's jury was drawn: each juror re-runs the attribution and
        /// votes. An empty jury leaves the challenge to the timeout.
        AttributionJuryDrawn {
            challenge: AttributionChallengeId,
            jurors: Vec<AccountId>,
        },
        /// A juror voted: `misattributed` if its recomputation is farther than the tolerance
        /// from the record's entries.
        AttributionVoted {
            challenge: AttributionChallengeId,
            juror: AccountId,
            misattributed: bool,
        },
        /// The jury found the record misattributed: `slashed` of the operator's stake went
        /// `to_pool` (the version's pool, repaying what the attribution diverted),
        /// `to_challenger` and `to_treasury`; the challenger's bond was returned.
        MisattributionProven {
            challenge: AttributionChallengeId,
            record: RecordId,
            operator: AccountId,
            challenger: AccountId,
            slashed: Balance,
            to_pool: Balance,
            to_challenger: Balance,
            to_treasury: Balance,
        },
        /// The jury found the attribution right: the challenger's bond went to the treasury.
        AttributionUpheld {
            challenge: AttributionChallengeId,
            record: RecordId,
            challenger: AccountId,
            slashed: Balance,
        },
        /// The jury reached no verdict by `vote_end`: the record stands, and the bond was
        /// returned minus `fee` (to the treasury).
        AttributionChallengeTimedOut {
            challenge: AttributionChallengeId,
            record: RecordId,
            challenger: AccountId,
            returned: Balance,
            fee: Balance,
        },
        /// A juror did not vote on an attribution challenge that timed out: `slashed` of its
        /// stake went to the treasury and it left the juror pool.
        AttributionJurorAbsent {
            challenge: AttributionChallengeId,
            juror: AccountId,
            slashed: Balance,
        },
        /// A batch was processed and its commitment (counting its settled records) stored;
        /// `pruned` is the commitment dropped to keep only the latest [`Config::BatchRetention`].
        BatchSettled {
            id: BatchId,
            commitment: BatchCommitment,
            pruned: Option<BatchId>,
        },
        /// Governance set the delay of withdrawals requested from now on.
        WithdrawalDelaySet { delay: BlockNumber },
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
        /// The account an allowance is granted to is not a registered operator.
        UnknownOperator,
        /// The allowance does not cover the amount.
        InsufficientAllowance,
        /// No allowance reduction was requested.
        NoReductionRequested,
        /// The allowance reduction's delay has not passed yet.
        ReductionLocked,
        /// No such record is kept (never settled, or pruned after its window).
        RecordNotFound,
        /// The record's challenge window has closed.
        ChallengeWindowClosed,
        /// The record was challenged already: a record is challenged once.
        AlreadyChallenged,
        /// An operator cannot challenge its own record.
        OwnRecord,
        /// The record attributes nothing: there is nothing to steer.
        NothingAttributed,
        /// The prompt's blake2-256 is not the record's prompt hash.
        WrongPrompt,
        /// The answer's blake2-256 is not the record's output hash.
        WrongAnswer,
        /// Too many challenges were opened in this block; try in the next one.
        TooManyChallenges,
        /// Every challenge id is taken.
        ChallengeIdsExhausted,
        /// No such open attribution challenge.
        ChallengeNotFound,
        /// The jury's voting period has ended.
        VotingClosed,
        /// The voting period has not ended yet.
        VotingOpen,
        /// The caller is not on the challenge's jury.
        NotJuror,
        /// The juror voted already.
        AlreadyVoted,
        /// A withdrawal delay lasts at least one block.
        ZeroWithdrawalDelay,
        /// The withdrawal delay is longer than [`Config::MaxWithdrawalDelay`].
        WithdrawalDelayTooLong,
    }

    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// [`ChallengeWindow`]; `None` keeps [`Config::DefaultChallengeWindow`] (a development
        /// chain shortens it).
        pub challenge_window: Option<BlockNumber>,
        /// [`WithdrawalDelay`]; `None` keeps [`Config::DefaultWithdrawalDelay`] (a development
        /// chain shortens it).
        pub withdrawal_delay: Option<BlockNumber>,
        #[serde(skip)]
        pub _config: core::marker::PhantomData<T>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            if let Some(window) = self.challenge_window {
                assert!(
                    window > 0,
                    "a record may be challenged for at least a block"
                );
                ChallengeWindow::<T>::put(window);
            }
            if let Some(delay) = self.withdrawal_delay {
                assert!(
                    delay > 0 && delay <= T::MaxWithdrawalDelay::get(),
                    "a withdrawal delay lasts between one block and MaxWithdrawalDelay"
                );
                WithdrawalDelay::<T>::put(delay);
            }
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
                T::DefaultWithdrawalDelay::get() > 0,
                "a user must see a withdrawal at least a block ahead"
            );
            assert!(
                T::DefaultWithdrawalDelay::get() <= T::MaxWithdrawalDelay::get(),
                "the default withdrawal delay is at most MaxWithdrawalDelay"
            );
            assert!(
                T::AllowanceDelay::get() > 0,
                "a worker must have at least a block to settle"
            );
            assert!(
                T::DefaultChallengeWindow::get() > 0,
                "a record may be challenged for at least a block"
            );
            assert!(
                T::MinRecordFee::get() > 0,
                "records must pay something (security review L1)"
            );
        }

        /// Draws the juries of the attribution challenges opened in the previous block, seeded by
        /// that block's hash. At most [`MAX_DRAWS_PER_BLOCK`].
        fn on_initialize(_n: BlockNumberFor<T>) -> Weight {
            let pending = PendingJuryDraws::<T>::take();
            let drawn = pending.len() as u32;
            if drawn > 0 {
                let seed = frame_system::Pallet::<T>::parent_hash();
                for challenge in pending {
                    Self::draw_jury(challenge, seed);
                }
            }
            T::WeightInfo::draw_attribution_juries(drawn)
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

        /// Asks for `amount` of the caller's credit back after [`WithdrawalDelay`] blocks,
        /// replacing any earlier request.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::request_withdrawal())]
        pub fn request_withdrawal(
            origin: OriginFor<T>,
            #[pallet::compact] amount: Balance,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            ensure!(amount > 0, Error::<T>::ZeroAmount);
            let unlocks_at = Self::now().saturating_add(WithdrawalDelay::<T>::get());
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

        /// Settles the valid records of a batch signed by the caller's worker key, each charged
        /// to its user's allowance for the caller, and rejects the others one by one
        /// ([`Event::InferenceRejected`]).
        ///
        /// # Conditions
        ///
        /// The whole call fails if the caller is not the batch's operator
        /// ([`Error::NotBatchOperator`]) or not a registered operator ([`Error::NotOperator`]),
        /// the worker key's signature does not verify ([`Error::BadWorkerSignature`]), the batch
        /// is empty ([`Error::EmptyBatch`]), or its nonce is not above the operator's last one
        /// ([`Error::BatchNonceUsed`]). A record is rejected for any [`RecordRejection`].
        ///
        /// # Weight
        ///
        /// Charged up front for the worst case of its number of records (every record a different
        /// model, owner, version and 16 contributors: every payee a new one); the parts owed are
        /// summed per payee and each payee credited once, and the weight of the payees the batch
        /// did not credit is refunded ([`Pallet::batch_weight`]).
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::submit_inference_batch(signed.batch.records.len() as u32))]
        pub fn submit_inference_batch(
            origin: OriginFor<T>,
            signed: SignedInferenceBatch,
        ) -> DispatchResultWithPostInfo {
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
            let context = Settlement {
                batch: id,
                operator: &who,
                // Registered: its worker key was just read.
                price_per_token: T::Operators::inference_price(&who)
                    .ok_or(Error::<T>::NotOperator)?,
                genesis,
                now: Self::now(),
                challengeable_until: Self::now().saturating_add(ChallengeWindow::<T>::get()),
                split: FeeSplitInForce::<T>::get(),
            };
            let mut commitment = BatchCommitment {
                operator: who.clone(),
                nonce: batch.nonce,
                hash: sp_io::hashing::blake2_256(&batch.encode()).into(),
                records: 0,
                rejected: 0,
                tokens_in: 0,
                tokens_out: 0,
                total_fee: 0,
                settled_at: context.now,
            };
            let mut owed = Payouts::default();
            for (index, record) in (0u32..).zip(batch.records.iter()) {
                // A rejected record's writes (if a check failed after its nonce was used) are
                // rolled back; what a settled record owes is paid with the batch's, below.
                let outcome = with_transaction(|| {
                    let outcome = Self::settle(&context, record);
                    let keep = outcome.is_ok();
                    let outcome = Ok::<_, DispatchError>(outcome);
                    if keep {
                        TransactionOutcome::Commit(outcome)
                    } else {
                        TransactionOutcome::Rollback(outcome)
                    }
                })?;
                match outcome {
                    Ok(parts) => {
                        owed.merge(parts);
                        // At most MAX_BATCH_RECORDS records of u32 tokens: none of these saturate.
                        commitment.records = commitment.records.saturating_add(1);
                        commitment.tokens_in =
                            commitment.tokens_in.saturating_add(record.tokens_in.into());
                        commitment.tokens_out = commitment
                            .tokens_out
                            .saturating_add(record.tokens_out.into());
                        // Bounded by the allowances charged, hence by the total issuance.
                        commitment.total_fee = commitment.total_fee.saturating_add(record.fee);
                    }
                    Err(reason) => {
                        commitment.rejected = commitment.rejected.saturating_add(1);
                        Self::deposit_event(Event::InferenceRejected {
                            batch: id,
                            index,
                            user: record.authorization.user.clone(),
                            nonce: record.authorization.nonce,
                            reason,
                        });
                    }
                }
            }

            let paid = owed.pay::<T>(&Self::account_id())?;
            Self::prune_records(context.now, MAX_BATCH_RECORDS);
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
            Ok(Some(Self::batch_weight(batch.records.len() as u32, paid)).into())
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

        /// Moves `amount` of the caller's credit into their allowance for `operator`, which only
        /// that operator's batches may charge.
        ///
        /// # Conditions
        ///
        /// `amount` is positive and within the caller's credit; `operator` is registered.
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::grant_allowance())]
        pub fn grant_allowance(
            origin: OriginFor<T>,
            operator: AccountId,
            #[pallet::compact] amount: Balance,
        ) -> DispatchResult {
            let user = ensure_signed(origin)?;
            ensure!(amount > 0, Error::<T>::ZeroAmount);
            ensure!(
                T::Operators::worker_key(&operator).is_some(),
                Error::<T>::UnknownOperator
            );
            let mut credit = Credits::<T>::get(&user).unwrap_or_default();
            credit.balance = credit
                .balance
                .checked_sub(amount)
                .ok_or(Error::<T>::InsufficientCredit)?;
            let mut allowance = Allowances::<T>::get(&user, &operator).unwrap_or_default();
            allowance.balance = allowance
                .balance
                .checked_add(amount)
                .ok_or(ArithmeticError::Overflow)?;
            Self::store_credit(&user, credit);
            Self::store_allowance(&user, &operator, allowance);
            Self::deposit_event(Event::AllowanceGranted {
                user,
                operator,
                amount,
            });
            Ok(())
        }

        /// Announces that `amount` of the caller's allowance for `operator` will be taken back
        /// after [`Config::AllowanceDelay`] blocks, replacing any earlier announcement. Until then
        /// the operator may still charge the whole allowance.
        ///
        /// # Conditions
        ///
        /// `amount` is positive and within the allowance.
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::request_allowance_reduction())]
        pub fn request_allowance_reduction(
            origin: OriginFor<T>,
            operator: AccountId,
            #[pallet::compact] amount: Balance,
        ) -> DispatchResult {
            let user = ensure_signed(origin)?;
            ensure!(amount > 0, Error::<T>::ZeroAmount);
            let unlocks_at = Self::now().saturating_add(T::AllowanceDelay::get());
            Allowances::<T>::try_mutate(&user, &operator, |allowance| -> DispatchResult {
                let allowance = allowance
                    .as_mut()
                    .filter(|a| a.balance >= amount)
                    .ok_or(Error::<T>::InsufficientAllowance)?;
                allowance.reduction = Some(PendingWithdrawal { amount, unlocks_at });
                Ok(())
            })?;
            Self::deposit_event(Event::AllowanceReductionRequested {
                user,
                operator,
                amount,
                unlocks_at,
            });
            Ok(())
        }

        /// Moves the announced reduction of the caller's allowance for `operator` back into
        /// their credit once its delay has passed: the amount announced, or what is left of the
        /// allowance if less.
        ///
        /// # Conditions
        ///
        /// A reduction was announced ([`Error::NoReductionRequested`]) and has unlocked
        /// ([`Error::ReductionLocked`]).
        #[pallet::call_index(7)]
        #[pallet::weight(T::WeightInfo::reduce_allowance())]
        pub fn reduce_allowance(origin: OriginFor<T>, operator: AccountId) -> DispatchResult {
            let user = ensure_signed(origin)?;
            let mut allowance =
                Allowances::<T>::get(&user, &operator).ok_or(Error::<T>::NoReductionRequested)?;
            let request = allowance
                .reduction
                .take()
                .ok_or(Error::<T>::NoReductionRequested)?;
            ensure!(
                Self::now() >= request.unlocks_at,
                Error::<T>::ReductionLocked
            );
            let amount = request.amount.min(allowance.balance);
            allowance.balance = allowance.balance.saturating_sub(amount);
            let mut credit = Credits::<T>::get(&user).unwrap_or_default();
            credit.balance = credit
                .balance
                .checked_add(amount)
                .ok_or(ArithmeticError::Overflow)?;
            Self::store_credit(&user, credit);
            Self::store_allowance(&user, &operator, allowance);
            Self::deposit_event(Event::AllowanceReduced {
                user,
                operator,
                amount,
            });
            Ok(())
        }

        /// Challenges the attribution of settled record `record`: the caller shows it holds the
        /// prompt (the exact request body, whose blake2-256 the user signed) and the answer, and
        /// holds [`Config::ChallengeBond`]. The next block draws a jury of operators
        /// (stake-weighted, never the record's operator nor the challenger) who re-run the
        /// attribution from the record's provenance and vote.
        ///
        /// # Conditions
        ///
        /// * The record is kept ([`Error::RecordNotFound`]), its window is open
        ///   ([`Error::ChallengeWindowClosed`]), it was never challenged
        ///   ([`Error::AlreadyChallenged`]) and it attributes something
        ///   ([`Error::NothingAttributed`]).
        /// * The caller is not the record's operator ([`Error::OwnRecord`]).
        /// * `blake2_256(prompt)` is the record's prompt hash ([`Error::WrongPrompt`]) and
        ///   `blake2_256(answer)` its output hash ([`Error::WrongAnswer`]).
        /// * Fewer than [`MAX_DRAWS_PER_BLOCK`] challenges were opened in this block.
        #[pallet::call_index(8)]
        #[pallet::weight(T::WeightInfo::challenge_attribution(
            prompt.len() as u32,
            answer.len() as u32,
        ))]
        pub fn challenge_attribution(
            origin: OriginFor<T>,
            record: RecordId,
            prompt: ChallengePrompt,
            answer: ChallengeAnswer,
        ) -> DispatchResult {
            let challenger = ensure_signed(origin)?;
            let mut settled = Records::<T>::get(record).ok_or(Error::<T>::RecordNotFound)?;
            let now = Self::now();
            ensure!(
                now <= settled.challengeable_until,
                Error::<T>::ChallengeWindowClosed
            );
            ensure!(settled.challenge.is_none(), Error::<T>::AlreadyChallenged);
            ensure!(challenger != settled.operator, Error::<T>::OwnRecord);
            ensure!(
                !settled.attribution.is_empty(),
                Error::<T>::NothingAttributed
            );
            ensure!(
                Hash::from(sp_io::hashing::blake2_256(&prompt)) == settled.prompt_hash,
                Error::<T>::WrongPrompt
            );
            ensure!(
                Hash::from(sp_io::hashing::blake2_256(&answer)) == settled.output_hash,
                Error::<T>::WrongAnswer
            );
            let id = NextAttributionChallengeId::<T>::get();
            let next = id.checked_add(1).ok_or(Error::<T>::ChallengeIdsExhausted)?;
            PendingJuryDraws::<T>::try_append(id).map_err(|_| Error::<T>::TooManyChallenges)?;
            let bond = T::ChallengeBond::get();
            T::Currency::hold(
                &HoldReason::AttributionChallengeBond.into(),
                &challenger,
                bond,
            )?;
            // The draw happens in the next block; the jury then has the vote period.
            let vote_end = now
                .saturating_add(1)
                .saturating_add(T::Jurors::vote_period());
            settled.challenge = Some(id);
            Records::<T>::insert(record, settled.clone());
            AttributionChallenges::<T>::insert(
                id,
                AttributionChallenge {
                    record_id: record,
                    record: settled,
                    challenger: challenger.clone(),
                    bond,
                    prompt,
                    answer,
                    opened_at: now,
                    vote_end,
                    jury: Jury::default(),
                },
            );
            NextAttributionChallengeId::<T>::put(next);
            Self::deposit_event(Event::AttributionChallenged {
                challenge: id,
                record,
                challenger,
                bond,
                vote_end,
            });
            Ok(())
        }

        /// A juror's vote on an attribution challenge: `misattributed` if its recomputation of
        /// the attribution is farther than the tolerance from the record's entries. The first
        /// strict majority of the jury decides at once.
        ///
        /// # Conditions
        ///
        /// The caller is on the jury and has not voted; `now <= vote_end`.
        #[pallet::call_index(9)]
        #[pallet::weight(T::WeightInfo::vote_attribution())]
        pub fn vote_attribution(
            origin: OriginFor<T>,
            challenge: AttributionChallengeId,
            misattributed: bool,
        ) -> DispatchResult {
            let juror = ensure_signed(origin)?;
            let mut info =
                AttributionChallenges::<T>::get(challenge).ok_or(Error::<T>::ChallengeNotFound)?;
            ensure!(Self::now() <= info.vote_end, Error::<T>::VotingClosed);
            let seat = info
                .jury
                .iter_mut()
                .find(|seat| seat.juror == juror)
                .ok_or(Error::<T>::NotJuror)?;
            ensure!(seat.fraud.is_none(), Error::<T>::AlreadyVoted);
            seat.fraud = Some(misattributed);
            let verdict = jury_verdict(&info.jury);
            Self::deposit_event(Event::AttributionVoted {
                challenge,
                juror,
                misattributed,
            });
            match verdict {
                Some(true) => Self::prove_misattribution(challenge, info),
                Some(false) => Self::uphold(challenge, info),
                None => {
                    AttributionChallenges::<T>::insert(challenge, info);
                    Ok(())
                }
            }
        }

        /// Closes an attribution challenge whose jury reached no verdict by `vote_end`. Anyone
        /// may call it. The record stands (no slash without a majority); the bond is returned
        /// minus [`Config::TimeoutFee`]; each juror that did not vote is punished by the juror
        /// pool (a share of its stake, and it leaves the pool).
        #[pallet::call_index(10)]
        #[pallet::weight(T::WeightInfo::close_attribution_challenge(
            attribution_primitives::compute::MAX_JURY
        ))]
        pub fn close_attribution_challenge(
            origin: OriginFor<T>,
            challenge: AttributionChallengeId,
        ) -> DispatchResultWithPostInfo {
            ensure_signed(origin)?;
            let info =
                AttributionChallenges::<T>::get(challenge).ok_or(Error::<T>::ChallengeNotFound)?;
            ensure!(Self::now() > info.vote_end, Error::<T>::VotingOpen);
            let mut absent: u32 = 0;
            for seat in info.jury.iter().filter(|seat| seat.fraud.is_none()) {
                absent = absent.saturating_add(1);
                let slashed = T::Jurors::punish_absence(&seat.juror)?;
                Self::deposit_event(Event::AttributionJurorAbsent {
                    challenge,
                    juror: seat.juror.clone(),
                    slashed,
                });
            }
            let fee = Self::slash_bond(&info, T::TimeoutFee::get())?;
            let returned = T::Currency::release(
                &HoldReason::AttributionChallengeBond.into(),
                &info.challenger,
                info.bond.saturating_sub(fee),
                Precision::BestEffort,
            )?;
            Self::detach(challenge, &info);
            Self::deposit_event(Event::AttributionChallengeTimedOut {
                challenge,
                record: info.record_id,
                challenger: info.challenger,
                returned,
                fee,
            });
            Ok(Some(T::WeightInfo::close_attribution_challenge(absent)).into())
        }

        /// Sets [`WithdrawalDelay`], the delay of withdrawals requested from now on; a request
        /// already made keeps the block it unlocks at.
        ///
        /// # Conditions
        ///
        /// * The origin is [`Config::AdminOrigin`].
        /// * `0 < delay <= `[`Config::MaxWithdrawalDelay`]: a user sees each withdrawal at least a
        ///   block ahead, and no credit is held longer than the bound.
        #[pallet::call_index(11)]
        #[pallet::weight(T::WeightInfo::set_withdrawal_delay())]
        pub fn set_withdrawal_delay(origin: OriginFor<T>, delay: BlockNumber) -> DispatchResult {
            T::AdminOrigin::ensure_origin(origin)?;
            ensure!(delay > 0, Error::<T>::ZeroWithdrawalDelay);
            ensure!(
                delay <= T::MaxWithdrawalDelay::get(),
                Error::<T>::WithdrawalDelayTooLong
            );
            WithdrawalDelay::<T>::put(delay);
            Self::deposit_event(Event::WithdrawalDelaySet { delay });
            Ok(())
        }
    }

    /// What every record of one batch is settled with.
    struct Settlement<'a> {
        batch: BatchId,
        operator: &'a AccountId,
        price_per_token: Balance,
        genesis: Hash,
        now: BlockNumber,
        /// The last block in which the records settled now may be challenged.
        challengeable_until: BlockNumber,
        split: FeeSplit,
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

        /// `user`'s allowance for `operator`, zero if none (runtime API).
        pub fn allowance(user: &AccountId, operator: &AccountId) -> AllowanceInfo {
            Allowances::<T>::get(user, operator).unwrap_or_default()
        }

        /// The nonces `user` has used with `operator` (runtime API).
        pub fn nonce_window(user: &AccountId, operator: &AccountId) -> Option<NonceWindow> {
            Nonces::<T>::get(user, operator)
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

        /// Stores `allowance`, or removes it when nothing is left in it.
        fn store_allowance(user: &AccountId, operator: &AccountId, allowance: AllowanceInfo) {
            if allowance == AllowanceInfo::default() {
                Allowances::<T>::remove(user, operator);
            } else {
                Allowances::<T>::insert(user, operator, allowance);
            }
        }

        /// The weight of a batch of `records` records whose payout credited `paid`: the measured
        /// worst case for that many records, with the payout of the worst case's payees replaced
        /// by the payout of those credited. Never more than the worst case.
        pub fn batch_weight(records: u32, paid: PaidPayees) -> Weight {
            let worst_case = T::WeightInfo::submit_inference_batch(records);
            let worst_payees = PaidPayees::worst_case(records);
            worst_case
                .saturating_sub(T::WeightInfo::pay_batch(
                    worst_payees.accounts,
                    worst_payees.pools,
                ))
                .saturating_add(T::WeightInfo::pay_batch(paid.accounts, paid.pools))
                .min(worst_case)
        }

        /// Checks one record and charges its fee to the user's allowance for the operator; returns
        /// the split it owes, or why the record is rejected. Run in a storage layer that is rolled
        /// back on rejection.
        fn settle(
            context: &Settlement,
            record: &InferenceRecord,
        ) -> Result<Payouts, RecordRejection> {
            let auth = &record.authorization;
            ensure!(
                auth.verify(&context.genesis, &record.user_signature),
                RecordRejection::BadUserSignature
            );
            ensure!(
                auth.operator == *context.operator,
                RecordRejection::OtherOperator
            );
            ensure!(context.now <= auth.expiry, RecordRejection::Expired);
            ensure!(
                record.fee >= T::MinRecordFee::get(),
                RecordRejection::FeeBelowMinimum
            );
            ensure!(record.fee <= auth.max_fee, RecordRejection::FeeOverMax);
            // Two u32 counts cannot overflow a u128; a price times tokens that does is no bound.
            let tokens = u128::from(record.tokens_in).saturating_add(u128::from(record.tokens_out));
            ensure!(
                context
                    .price_per_token
                    .checked_mul(tokens)
                    .is_none_or(|most| record.fee <= most),
                RecordRejection::FeeOverPrice
            );
            let model =
                T::Models::serving_model(auth.model).ok_or(RecordRejection::ModelNotServing)?;
            let contributors =
                Self::attributed_contributors(&record.attribution, model.trained_on)?;
            Self::use_nonce(&auth.user, context.operator, auth.nonce)?;
            Self::charge(&auth.user, context.operator, record.fee)?;
            let (owed, attributed) = Self::owed(
                record.fee,
                &model,
                context.operator,
                &contributors,
                &context.split,
            );
            let id = NextRecordId::<T>::get();
            NextRecordId::<T>::put(id.saturating_add(1));
            Records::<T>::insert(
                id,
                SettledRecord {
                    batch: context.batch,
                    operator: context.operator.clone(),
                    user: auth.user.clone(),
                    model: auth.model,
                    pool: model.trained_on,
                    prompt_hash: auth.prompt_hash,
                    output_hash: record.output_hash,
                    provenance: record.provenance.clone(),
                    attribution: record.attribution.clone(),
                    attributed,
                    challengeable_until: context.challengeable_until,
                    challenge: None,
                },
            );
            Self::deposit_event(Event::InferenceSettled {
                batch: context.batch,
                record: id,
                challengeable_until: context.challengeable_until,
                user: auth.user.clone(),
                model: auth.model,
                nonce: auth.nonce,
                fee: record.fee,
                output_hash: record.output_hash,
            });
            Ok(owed)
        }

        /// The contributor and weight of each attribution entry, once the entries are checked.
        fn attributed_contributors(
            attribution: &Attribution,
            lineage: Option<PoolId>,
        ) -> Result<Vec<(AccountId, u32)>, RecordRejection> {
            let mut total: u32 = 0;
            let mut contributors = Vec::with_capacity(attribution.len());
            for (index, entry) in attribution.iter().enumerate() {
                ensure!(entry.weight_ppm > 0, RecordRejection::ZeroWeight);
                total = total
                    .checked_add(entry.weight_ppm)
                    .filter(|total| *total <= PARTS_PER_MILLION)
                    .ok_or(RecordRejection::AttributionOverMillion)?;
                ensure!(
                    !attribution
                        .iter()
                        .take(index)
                        .any(|earlier| earlier.contribution == entry.contribution),
                    RecordRejection::DuplicateContribution
                );
                let version = lineage.ok_or(RecordRejection::ContributionNotInLineage)?;
                let member =
                    T::Datanets::member(version.datanet, version.version, entry.contribution)
                        .ok_or(RecordRejection::ContributionNotInLineage)?;
                contributors.push((member.contributor, entry.weight_ppm));
            }
            Ok(contributors)
        }

        fn use_nonce(
            user: &AccountId,
            operator: &AccountId,
            nonce: u64,
        ) -> Result<(), RecordRejection> {
            Nonces::<T>::try_mutate(user, operator, |window| match window {
                None => {
                    *window = Some(NonceWindow::starting_at(nonce));
                    Ok(())
                }
                Some(window) => window.use_nonce(nonce).map_err(|stale| match stale {
                    StaleNonce::Used => RecordRejection::NonceUsed,
                    StaleNonce::TooOld => RecordRejection::NonceTooOld,
                }),
            })
        }

        fn charge(
            user: &AccountId,
            operator: &AccountId,
            fee: Balance,
        ) -> Result<(), RecordRejection> {
            let mut allowance = Allowances::<T>::get(user, operator).unwrap_or_default();
            allowance.balance = allowance
                .balance
                .checked_sub(fee)
                .ok_or(RecordRejection::AllowanceTooLow)?;
            Self::store_allowance(user, operator, allowance);
            Ok(())
        }

        /// What `fee`, already charged to an allowance, owes by `split`, and what of it the
        /// attribution entries are owed.
        fn owed(
            fee: Balance,
            model: &ServingModel<AccountId>,
            operator: &AccountId,
            contributors: &[(AccountId, u32)],
            split: &FeeSplit,
        ) -> (Payouts, Balance) {
            let parts = split.split(fee);
            let mut owed = Payouts::default();
            owed.credit_account(&model.owner, RewardSource::Model, parts.model_owner);
            owed.credit_account(operator, RewardSource::Compute, parts.operator);
            owed.credit_treasury(parts.treasury);
            let mut rest = parts.contributors;
            for (contributor, weight_ppm) in contributors {
                let share = split.contribution_share(*weight_ppm, parts.contributors);
                owed.credit_account(contributor, RewardSource::Data, share);
                // Shares sum to at most the contributors' part: weights sum to at most 100%.
                rest = rest.saturating_sub(share);
            }
            match model.trained_on {
                Some(version) => owed.credit_pool(version, rest),
                None => owed.credit_treasury(rest),
            }
            (owed, parts.contributors.saturating_sub(rest))
        }

        /// Draws attribution challenge `id`'s jury from the juror pool, never the record's
        /// operator nor the challenger, from `seed` (the hash of the block it was opened in)
        /// tagged with [`ATTRIBUTION_JURY_DOMAIN`] and the challenge id.
        pub(crate) fn draw_jury(id: AttributionChallengeId, seed: Hash) {
            let Some(mut challenge) = AttributionChallenges::<T>::get(id) else {
                return;
            };
            let material = (ATTRIBUTION_JURY_DOMAIN, seed, id).encode();
            let exclude = [
                challenge.record.operator.clone(),
                challenge.challenger.clone(),
            ];
            let jurors = T::Jurors::draw(&material, &exclude);
            for juror in &jurors {
                if challenge
                    .jury
                    .try_push(JurorVote {
                        juror: juror.clone(),
                        fraud: None,
                    })
                    .is_err()
                {
                    // The pool drew more than a jury holds: that seat is not taken.
                    T::Jurors::release(juror);
                }
            }
            let jurors = challenge.jury.iter().map(|s| s.juror.clone()).collect();
            AttributionChallenges::<T>::insert(id, challenge);
            Self::deposit_event(Event::AttributionJuryDrawn {
                challenge: id,
                jurors,
            });
        }

        /// Removes a challenge (already settled in funds) and frees its jurors' seats. The
        /// record keeps its `challenge` mark: it is never challenged again.
        fn detach(id: AttributionChallengeId, challenge: &AttributionChallenge) {
            for seat in challenge.jury.iter() {
                T::Jurors::release(&seat.juror);
            }
            AttributionChallenges::<T>::remove(id);
            PendingJuryDraws::<T>::mutate(|pending| pending.retain(|c| *c != id));
        }

        /// Moves up to `amount` of the challenger's held bond to the treasury; returns what
        /// moved.
        fn slash_bond(
            challenge: &AttributionChallenge,
            amount: Balance,
        ) -> Result<Balance, DispatchError> {
            T::Currency::transfer_on_hold(
                &HoldReason::AttributionChallengeBond.into(),
                &challenge.challenger,
                &T::Treasury::get(),
                amount.min(challenge.bond),
                Precision::BestEffort,
                Restriction::Free,
                Fortitude::Force,
            )
        }

        /// The jury upheld the record: the challenger's bond goes to the treasury.
        fn uphold(id: AttributionChallengeId, challenge: AttributionChallenge) -> DispatchResult {
            let slashed = Self::slash_bond(&challenge, challenge.bond)?;
            Self::detach(id, &challenge);
            Self::deposit_event(Event::AttributionUpheld {
                challenge: id,
                record: challenge.record_id,
                challenger: challenge.challenger,
                slashed,
            });
            Ok(())
        }

        /// The jury found the record misattributed. The operator loses
        /// `max(MisattributionSlash * stake, attributed)`, at most its stake: first what the
        /// entries were paid goes back to the version's pool, then [`Config::ChallengerShare`]
        /// of the rest to the challenger and the remainder to the treasury. The bond is returned.
        fn prove_misattribution(
            id: AttributionChallengeId,
            challenge: AttributionChallenge,
        ) -> DispatchResult {
            let record = &challenge.record;
            let operator = &record.operator;
            let stake = T::Jurors::stake(operator);
            let slash = T::MisattributionSlash::get()
                .mul_floor(stake)
                .max(record.attributed)
                .min(stake);
            let to_pool = match record.pool {
                Some(pool) => {
                    let account = Self::account_id();
                    let moved = T::Jurors::slash(operator, slash.min(record.attributed), &account)?;
                    T::Rewards::credit_pool(&account, pool, moved)?;
                    moved
                }
                None => 0,
            };
            let rest = slash.saturating_sub(to_pool);
            let to_challenger = T::Jurors::slash(
                operator,
                T::ChallengerShare::get().mul_floor(rest),
                &challenge.challenger,
            )?;
            let to_treasury = T::Jurors::slash(
                operator,
                rest.saturating_sub(to_challenger),
                &T::Treasury::get(),
            )?;
            T::Currency::release(
                &HoldReason::AttributionChallengeBond.into(),
                &challenge.challenger,
                challenge.bond,
                Precision::BestEffort,
            )?;
            Self::detach(id, &challenge);
            Self::deposit_event(Event::MisattributionProven {
                challenge: id,
                record: challenge.record_id,
                operator: operator.clone(),
                challenger: challenge.challenger.clone(),
                slashed: to_pool
                    .saturating_add(to_challenger)
                    .saturating_add(to_treasury),
                to_pool,
                to_challenger,
                to_treasury,
            });
            Ok(())
        }

        /// Removes up to `max` records whose window closed before `now`, oldest first. Every
        /// record gets the same window, so records expire in id order.
        fn prune_records(now: BlockNumber, max: u32) {
            let next = NextRecordId::<T>::get();
            let mut oldest = OldestRecordId::<T>::get();
            let mut pruned = 0;
            while oldest < next && pruned < max {
                match Records::<T>::get(oldest) {
                    Some(record) if record.challengeable_until >= now => break,
                    Some(_) => Records::<T>::remove(oldest),
                    None => {}
                }
                oldest = oldest.saturating_add(1);
                pruned += 1;
            }
            OldestRecordId::<T>::put(oldest);
        }

        /// A kept settled record (runtime API).
        pub fn record(id: RecordId) -> Option<SettledRecord> {
            Records::<T>::get(id)
        }

        /// An open attribution challenge (runtime API).
        pub fn attribution_challenge(id: AttributionChallengeId) -> Option<AttributionChallenge> {
            AttributionChallenges::<T>::get(id)
        }

        /// Checks the invariants listed in the crate docs.
        #[cfg(any(feature = "try-runtime", feature = "std"))]
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            let max_delay = T::MaxWithdrawalDelay::get();
            let delay = WithdrawalDelay::<T>::get();
            ensure!(
                delay > 0 && delay <= max_delay,
                "the withdrawal delay is zero or above MaxWithdrawalDelay"
            );
            let latest_unlock = Self::now().saturating_add(max_delay);
            let mut held: Balance = 0;
            for (_, credit) in Credits::<T>::iter() {
                ensure!(credit != CreditInfo::default(), "an empty credit is stored");
                ensure!(
                    credit
                        .withdrawal
                        .is_none_or(|w| w.unlocks_at <= latest_unlock),
                    "a withdrawal unlocks more than MaxWithdrawalDelay blocks from now"
                );
                held = held.checked_add(credit.balance).ok_or("credits overflow")?;
            }
            for (_, _, allowance) in Allowances::<T>::iter() {
                ensure!(
                    allowance != AllowanceInfo::default(),
                    "an empty allowance is stored"
                );
                ensure!(
                    allowance.reduction.is_none_or(|r| r.amount > 0),
                    "an allowance reduction of nothing is announced"
                );
                held = held
                    .checked_add(allowance.balance)
                    .ok_or("allowances overflow")?;
            }
            let expected = held
                .checked_add(T::Currency::minimum_balance())
                .ok_or("credits overflow")?;
            // At least, not exactly: anyone may send the account a donation (review L2).
            ensure!(
                T::Currency::balance(&Self::account_id()) >= expected,
                "the credit account holds less than the credits and allowances plus the \
                 existential deposit"
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
            let (oldest, next_record) = (OldestRecordId::<T>::get(), NextRecordId::<T>::get());
            ensure!(
                oldest <= next_record,
                "the pruning cursor is past the records"
            );
            for (id, record) in Records::<T>::iter() {
                ensure!(
                    oldest <= id && id < next_record,
                    "a record outside the kept range"
                );
                if let Some(challenge) = record.challenge {
                    ensure!(
                        challenge < NextAttributionChallengeId::<T>::get(),
                        "a record challenged by a challenge from the future"
                    );
                }
            }
            let mut bonds: alloc::collections::btree_map::BTreeMap<AccountId, Balance> =
                Default::default();
            for (id, challenge) in AttributionChallenges::<T>::iter() {
                ensure!(
                    challenge.record.challenge == Some(id),
                    "a challenge whose record copy does not name it"
                );
                if let Some(record) = Records::<T>::get(challenge.record_id) {
                    ensure!(
                        record.challenge == Some(id),
                        "a kept record does not name its open challenge"
                    );
                }
                let bond = bonds.entry(challenge.challenger.clone()).or_default();
                *bond = bond.saturating_add(challenge.bond);
            }
            for (challenger, bond) in bonds {
                ensure!(
                    <T::Currency as frame_support::traits::fungible::InspectHold<_>>::balance_on_hold(
                        &HoldReason::AttributionChallengeBond.into(),
                        &challenger
                    ) == bond,
                    "a challenger's held bond differs from its open challenges' bonds"
                );
            }
            for id in PendingJuryDraws::<T>::get() {
                ensure!(
                    AttributionChallenges::<T>::contains_key(id),
                    "a pending draw for a closed challenge"
                );
            }
            Ok(())
        }
    }
}
