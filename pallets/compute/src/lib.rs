//! # Compute
//!
//! GPU operators and the training jobs they run: a developer posts a fine-tune with an escrowed
//! budget, an operator claims it, its worker trains and submits a signed training proof, a
//! challenge window opens, and unchallenged proofs settle: the operator and the datanet version's
//! contributors are paid and the adapter becomes an active model.
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
//! * operator: an account in [`Operators`] ([`OperatorInfo`]) with OPEN held as stake
//!   ([`HoldReason::OperatorStake`]), a worker key, its hardware and an inference endpoint.
//! * worker key: the sr25519 key the operator's `attribution-worker` signs proofs with. It is not
//!   the operator's account key, may be rotated, and is registered by one operator only
//!   ([`WorkerKeys`]).
//! * job: a fine-tune request in [`Jobs`] ([`JobInfo`]): base model, datanet version (a
//!   [`PoolId`]) and its Merkle root, method, hyper-parameters hash, budget and deadline. Posting it
//!   creates its adapter in pallet-models with status `Training`.
//! * budget: OPEN held from the developer ([`HoldReason::JobBudget`]) while the job exists.
//! * claim: an operator's exclusive right to prove a job until the claim expires
//!   ([`Config::ClaimTimeout`], never past the job's deadline).
//! * training proof: a [`SignedTrainingProof`] from the primitives crate: the [`TrainingProof`]
//!   payload signed by the worker key over
//!   `TRAINING_PROOF_DOMAIN || genesis hash || SCALE(payload)`, the genesis hash binding it to
//!   this chain.
//! * quality gate: a proof carries the held-out loss and ROUGE-L of the base model and of the
//!   adapted model on the same held-out rows ([`EvalMetrics`](attribution_primitives::models::EvalMetrics),
//!   the rows committed to by `held_out_root`). The adapted loss must be below the base loss, and a
//!   new version of an adapter may not regress past [`MaxRegressionPpm`] of the previous
//!   version's loss.
//! * challenge window: [`ChallengePeriod`] blocks after a proof is accepted (governance sets it;
//!   hours, long enough to re-run `attribution-worker verify`), during which any account but the
//!   prover may challenge it with a bond ([`Config::ChallengeBond`],
//!   [`HoldReason::ChallengeBond`]). Up to [`MAX_OPEN_CHALLENGES`] challenges may be open on one
//!   proof, and the window stays open at least until each one's vote ends.
//! * challenge: a [`Challenge`] in [`Challenges`]: challenger, bond, evidence hash, jury and
//!   votes, and `vote_end`.
//! * juror pool: [`JurorPool`], the operators (with their stake) a jury is drawn from.
//! * jury: [`Config::JurySize`] operators drawn for one challenge, stake-weighted and without
//!   replacement, never the prover nor the challenger. Each re-runs the verification and votes;
//!   a strict majority of the jury decides.
//!
//! ## Usage
//!
//! ### Operators
//!
//! * [`Call::register_operator`]: holds at least [`Config::MinOperatorStake`] and records the
//!   worker key (with the key's signature over [`WorkerKeyPossession`] naming the caller, so
//!   nobody registers a key they do not hold), hardware (GPU model, memory, count), an `http(s)://` inference endpoint and the
//!   inference price per token it advertises (pallet-attribution refuses records charging more
//!   than this price times their tokens).
//! * [`Call::rotate_worker_key`]: replaces the worker key (with the new key's possession proof);
//!   proofs must be signed by the current one.
//! * [`Call::update_operator`]: replaces the hardware, the endpoint and/or the price.
//! * dApps list operators with their endpoint and price through the runtime API
//!   `ComputeApi::operators` (paged, at most
//!   [`MAX_OPERATORS_PAGE`](attribution_primitives::compute::MAX_OPERATORS_PAGE) a page).
//! * [`Call::deregister_operator`]: releases the stake; refused while the operator has a job. An
//!   operator whose stake was slashed below the minimum cannot claim jobs; it deregisters and
//!   registers again with a full stake.
//!
//! ### Developers
//!
//! * [`Call::request_training`]: posts a job on a published datanet version and an `Active` base
//!   model, holds the budget (at least [`Config::MinJobBudget`]) and creates the adapter
//!   (`Training`) owned by the developer. Naming a `previous` adapter (an `Active` adapter of the
//!   developer's on the same base model) makes the new one its next version.
//! * [`Call::cancel_job`]: while nobody has claimed the job, removes it and its adapter and releases
//!   the budget.
//!
//! ### Jobs
//!
//! * [`Call::claim_job`]: an operator with no other job and at least the minimum stake claims an
//!   open job before its deadline.
//! * [`Call::release_expired_claim`]: anyone reopens a job whose claim expired without a proof;
//!   [`Config::ClaimTimeoutSlash`] of the claimer's stake goes to the treasury.
//! * [`Call::submit_training_proof`]: the claimer submits its worker's signed proof before the
//!   claim expires. The runtime checks the signature against the operator's registered worker key,
//!   the job, the base model's weights hash, the version's Merkle root, the hyper-parameters hash,
//!   the quality gate (below) and that every listed contribution belongs to the version. The
//!   adapter becomes `Challengeable` and the challenge window opens.
//! * [`Call::challenge`]: any account but the prover disputes a proof within the window, holding
//!   [`Config::ChallengeBond`]. The next block's `on_initialize` draws its jury.
//! * [`Call::vote`]: a juror votes `fraud` or not before `vote_end`; the vote that makes a strict
//!   majority of the jury resolves the challenge at once. Fraud: the prover's whole stake is
//!   slashed, [`Config::ChallengerShare`] of it to this challenger and the rest to the treasury,
//!   the prover is deregistered, every open challenge of the proof is closed with its bond
//!   returned, the budget returns to the developer and the adapter is `Rejected` (its hash freed).
//!   Sound: the bond goes to the treasury.
//! * [`Call::close_challenge`]: anyone, after `vote_end`, closes a challenge whose jury reached
//!   no majority. It fails safe: the proof stands and the bond is returned; every juror that did
//!   not vote loses [`Config::JurorAbsenceSlash`] of its stake and leaves the juror pool.
//! * [`Call::set_challenge_periods`]: [`Config::GovernanceOrigin`] sets [`ChallengePeriod`] and
//!   [`VotePeriod`] (the genesis config may set them too: short ones on development chains).
//! * [`Call::set_max_regression`]: [`Config::GovernanceOrigin`] (root, later governance) sets
//!   [`MaxRegressionPpm`], how much worse than the version it replaces a new adapter's held-out
//!   loss may be.
//! * [`Call::resolve_challenge`]: a fallback, never required: [`Config::ChallengeOrigin`] (root,
//!   later governance) decides all open challenges of a proof, as a jury would (fraud: the oldest
//!   open challenge is the winner).
//! * [`Call::settle`]: anyone, after the window and with no challenge pending, pays the budget:
//!   [`Config::ContributorShare`] to the version's pool through [`RewardsCredit::credit_pool`] and
//!   the rest to the operator through [`RewardsCredit::credit_account`] (source `Compute`). The
//!   adapter becomes `Active` and the job is removed, so it cannot settle twice.
//!
//! ## Implementor's guide
//!
//! * The [`ComputeApi`](attribution_primitives::compute::ComputeApi) runtime API is answered by
//!   [`Pallet::operator`], [`Pallet::job`], [`Pallet::open_jobs`] and
//!   [`Pallet::hyperparameters_job`]; the model lineage by pallet-models' `ModelsApi`. A node's
//!   content store accepts a hyper-parameters file (at most
//!   [`MAX_HYPERPARAMETERS_BYTES`](attribution_primitives::compute::MAX_HYPERPARAMETERS_BYTES))
//!   while `hyperparameters_job` answers for its hash, so a developer uploads it after posting
//!   the job.
//! * A worker signs with [`SignedTrainingProof::sign`] (std) and the chain verifies with
//!   [`SignedTrainingProof::verify`]: both use the primitives crate, so the bytes agree. The worker
//!   signs with the chain's genesis block hash (RPC `chain_getBlockHash(0)`); the chain verifies
//!   with [`Pallet::genesis_hash`], so a proof made for another chain is a bad signature here.
//! * The contribution list must be strictly ascending and at most
//!   [`MAX_PROOF_CONTRIBUTIONS`](attribution_primitives::compute::MAX_PROOF_CONTRIBUTIONS) long;
//!   ROUGE is in parts per million (≤ 1 000 000), loss in parts per million of a nat. The worker
//!   evaluates the base and the adapted model on the same held-out rows and commits to them with
//!   `held_out_root` (`merkle::root` over each row's blake2-256, in order); the adapter size is the
//!   weights file's length, which a node checks when the adapter is uploaded.
//! * A proof is identified by `blake2_256(SCALE(payload))` (sr25519 signatures are randomized,
//!   so the signature is left out): the same payload is refused a second time, however signed.
//! * An operator keeps its job, and cannot claim another, until the job settles: the challenge
//!   window is part of the job.
//! * An operator's worker watches [`OperatorInfo::juries`]: when it is drawn (event
//!   [`Event::JuryDrawn`], runtime API `ComputeApi::challenge`) it must re-run the verification
//!   and [`Call::vote`] before `vote_end`, or lose [`Config::JurorAbsenceSlash`] of its stake.
//!   It cannot deregister while it sits on a jury.
//! * Other pallets borrow the juror pool for their own disputes through
//!   [`JurorPool`](attribution_primitives::traits::JurorPool) (pallet-attribution's attribution
//!   challenges): the same draw (seeded by the borrowing pallet with its own domain tag), the same
//!   absence slash; those seats are counted in [`LentSeats`] and also keep an operator from
//!   deregistering.
//! * Settled, cancelled and rejected jobs are removed; their history is in the events and in the
//!   adapter's lineage.
//! * The developer and operator are paid through pallet-rewards, so they claim there.
//!
//! ## Design
//!
//! ### Goals
//!
//! * Every call touches a constant number of storage items, except the proof, which reads one
//!   version membership per listed contribution (bounded, and weighed per contribution).
//! * Hooks do bounded work only: `on_initialize` draws at most [`MAX_DRAWS_PER_BLOCK`] juries,
//!   each reading a pool of at most [`MAX_JUROR_POOL`] operators. Expiry, settlement and
//!   challenge timeouts are explicit calls anyone can make.
//! * No call needs root: a challenge is resolved by its jury or by its timeout.
//! * OPEN is never created or lost: every amount held is released, slashed to a named account or
//!   paid through pallet-rewards.
//!
//! ### Funds
//!
//! All funds are holds on their owners' accounts: stakes on operators, budgets on developers, bonds
//! on challengers. There is no pallet account. At settlement the budget is released and paid from
//! the developer's account to pallet-rewards in the same call.
//!
//! ### Arithmetic
//!
//! ```text
//! contributors = ContributorShare * budget                 (Perbill, rounded down)
//! operator     = budget - contributors
//! claim slash  = ClaimTimeoutSlash * stake                 (Perbill, rounded down)
//! fraud        : challenger = ChallengerShare * stake, treasury = stake - challenger
//! absent juror : slashed    = JurorAbsenceSlash * its stake (to the treasury)
//! vote end     = opened_at + 1 + VotePeriod                 (vote allowed while now <= vote_end,
//!                                                           close once now > vote_end)
//! majority     = floor(jury / 2) + 1 votes alike            (an empty jury never decides)
//! claim expiry = min(claimed_at + ClaimTimeout, deadline)
//! quality gate : adapted_loss < base_loss
//!                with a previous version: adapted_loss <= floor(previous_adapted_loss
//!                                          * (1_000_000 + MaxRegressionPpm) / 1_000_000)  (u128)
//! window end   = max(proven_at + ChallengePeriod, vote_end of every challenge opened)
//!                                                          (challenge allowed while now <= end,
//!                                                           settle once now > end and no
//!                                                           challenge is open)
//! ```
//!
//! ### Randomness
//!
//! A challenge opened in block `n` has its jury drawn in block `n + 1`'s `on_initialize`, seeded
//! by `blake2_256(parent hash, challenge id, round)`, the parent hash being block `n`'s hash. The
//! challenger cannot know that hash when it signs, so it cannot time its challenge for a
//! friendly jury. The runtime has no VRF randomness (Aura, no BABE), so the draw trusts block
//! `n`'s author: by reordering or leaving out extrinsics it can try a few hashes, and a
//! colluding author can bias one jury. Each draw is stake-weighted over the juror pool, so
//! packing a jury costs stake the attacker puts at risk.
//!
//! ### Invariants (checked by `do_try_state`)
//!
//! ```text
//! for every developer:  held JobBudget     == sum of the budgets of their jobs
//! for every operator:   held OperatorStake == its recorded stake
//!                       WorkerKeys[its key] == it, and WorkerKeys has one entry per operator
//!                       current_job == Some(j) iff job j is Claimed/Proven/Challenged by it
//! for every challenger: held ChallengeBond == sum of the bonds of its open challenges
//! for every challenge:  id < NextChallengeId; it is in its job's open list; the jury holds
//!                       neither its challenger nor twice the same juror
//! for every Challenged job: its open list is non-empty, each listed challenge is stored, is
//!                       its own, is not the prover's and ends its vote by challenge_end;
//!                       the open lists hold exactly the stored challenges
//! for every operator:   juries == the number of open challenges' juries it sits on
//! juror pool:           each member once, an operator, weighted by its recorded stake
//! PendingDraws:         open challenges without a jury
//! ChallengePeriod > 0, VotePeriod > 0
//! for every job:        id < NextJobId;  proof_hash is Some iff Proven or Challenged
//!                       JobsByHyperparameters[(its hash, id)] exists, and no other entries do
//! MaxRegressionPpm <= 1_000_000
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
    compute::{
        Challenge, ChallengeId, Endpoint, Hardware, JobInfo, JobStatus, JobsPage, JurorVote, Jury,
        OpenChallenges, OperatorInfo, SignedTrainingProof, TrainingProof, WorkerKeyPossession,
        MAX_DRAWS_PER_BLOCK, MAX_EXPIRED_CLAIMERS, MAX_JUROR_POOL, MAX_JURY, MAX_OPEN_CHALLENGES,
        MAX_OPERATORS_PAGE,
    },
    models::{
        ModelName, ModelsRegistry, TrainedArtifact, TrainingMethod, TrainingSpec, MAX_ADAPTER_BYTES,
    },
    paging::scan_ids,
    traits::{
        DatanetsInspect, ModelsInspect, OperatorsInspect, PoolId, RewardSource, RewardsCredit,
    },
    Balance, ContributionId, Hash, JobId, ModelId,
};
pub use weights::WeightInfo;

/// Sets up what the benchmarks need from other pallets.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
    /// Registers an `Active` base model owned by `owner` whose weights hash is `weights_hash`.
    fn base_model(owner: &AccountId, weights_hash: Hash) -> ModelId;
    /// Publishes a datanet version of `contributions` contributions by `contributor`, so that
    /// `DatanetsInspect` answers for the pool and each contribution, and pallet-rewards can credit
    /// the pool. Returns the pool, its Merkle root and the contribution ids, ascending.
    fn datanet_version(
        contributor: &AccountId,
        contributions: u32,
    ) -> (PoolId, Hash, alloc::vec::Vec<ContributionId>);
}

#[frame_support::pallet]
// `request_training` takes eight arguments, and so does the call constructor the macro derives.
#[allow(clippy::too_many_arguments)]
pub mod pallet {
    use super::*;
    use alloc::{boxed::Box, vec::Vec};
    use frame_support::{
        pallet_prelude::*,
        traits::{
            fungible::{Mutate, MutateHold},
            tokens::{Fortitude, Precision, Restriction},
        },
    };
    use frame_system::pallet_prelude::*;
    use sp_core::sr25519;
    use sp_runtime::{
        traits::{One, Saturating, Zero},
        Perbill, SaturatedConversion,
    };

    /// A job as this runtime stores it.
    pub type JobInfoOf<T> =
        JobInfo<<T as frame_system::Config>::AccountId, Balance, BlockNumberFor<T>>;
    /// A job status as this runtime stores it.
    pub type JobStatusOf<T> = JobStatus<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;
    /// A challenge as this runtime stores it.
    pub type ChallengeOf<T> =
        Challenge<<T as frame_system::Config>::AccountId, Balance, BlockNumberFor<T>>;
    /// The operators that may be drawn as jurors, with their stake (the draw's weights).
    pub type JurorPoolOf<T> =
        BoundedVec<(<T as frame_system::Config>::AccountId, Balance), ConstU32<MAX_JUROR_POOL>>;
    /// The jurors drawn for one challenge.
    pub type JurorsOf<T> = BoundedVec<<T as frame_system::Config>::AccountId, ConstU32<MAX_JURY>>;

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config<Hash = Hash, RuntimeEvent: From<Event<Self>>> {
        /// The OPEN token.
        type Currency: Mutate<Self::AccountId, Balance = Balance>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
        /// The runtime's hold reasons, which include this pallet's [`HoldReason`].
        type RuntimeHoldReason: From<HoldReason>;
        /// The model registry: base weights hashes, and the adapters' lifecycle.
        type Models: ModelsInspect<Self::AccountId> + ModelsRegistry<Self::AccountId>;
        /// Published datanet versions: Merkle roots and membership.
        type Datanets: DatanetsInspect<Self::AccountId>;
        /// Pays settled budgets to the operator and the version's contributors.
        type Rewards: RewardsCredit<Self::AccountId, Balance>;
        /// May resolve challenges instead of their juries: a fallback, never required (juries
        /// and the timeout resolve every challenge without it).
        type ChallengeOrigin: EnsureOrigin<Self::RuntimeOrigin>;
        /// Sets the quality gate's regression bound ([`MaxRegressionPpm`]) and the challenge
        /// periods ([`ChallengePeriod`], [`VotePeriod`]).
        type GovernanceOrigin: EnsureOrigin<Self::RuntimeOrigin>;
        /// The regression bound in force until governance sets one, in parts per million
        /// (at most 1 000 000).
        #[pallet::constant]
        type DefaultMaxRegressionPpm: Get<u32>;
        /// Receives slashed stakes and bonds.
        type Treasury: Get<Self::AccountId>;
        /// Least stake an operator registers with, and must still hold to claim a job.
        #[pallet::constant]
        type MinOperatorStake: Get<Balance>;
        /// Least budget of a training job.
        #[pallet::constant]
        type MinJobBudget: Get<Balance>;
        /// Blocks a claim lasts before anyone may release it.
        #[pallet::constant]
        type ClaimTimeout: Get<BlockNumberFor<Self>>;
        /// Share of the claimer's stake slashed when its claim expires.
        #[pallet::constant]
        type ClaimTimeoutSlash: Get<Perbill>;
        /// The least time a training needs: a job is claimed (and posted) only while at least
        /// this many blocks are left before its deadline, so nobody can claim a job in its last
        /// moments just to have it expire in its hands. At most [`Config::ClaimTimeout`].
        #[pallet::constant]
        type MinClaimWindow: Get<BlockNumberFor<Self>>;
        /// Blocks after a proof during which it may be challenged, until governance (or the
        /// genesis config) sets [`ChallengePeriod`]: long enough to fetch the adapter and re-run
        /// `attribution-worker verify` (hours, not minutes).
        #[pallet::constant]
        type DefaultChallengePeriod: Get<BlockNumberFor<Self>>;
        /// Blocks a jury has to vote after it is drawn, until governance (or the genesis config)
        /// sets [`VotePeriod`].
        #[pallet::constant]
        type DefaultVotePeriod: Get<BlockNumberFor<Self>>;
        /// Jurors drawn per challenge (at most [`MAX_JURY`]); fewer when fewer operators may
        /// sit.
        #[pallet::constant]
        type JurySize: Get<u32>;
        /// Share of a juror's stake slashed to the treasury when it did not vote on a challenge
        /// that timed out (it also leaves the juror pool).
        #[pallet::constant]
        type JurorAbsenceSlash: Get<Perbill>;
        /// OPEN a challenger (any account) holds while its challenge is pending.
        #[pallet::constant]
        type ChallengeBond: Get<Balance>;
        /// Share of a fraudulent prover's stake paid to the challenger whose jury found the fraud
        /// (the rest to the treasury): small, so challenging one's own proof pays nothing.
        #[pallet::constant]
        type ChallengerShare: Get<Perbill>;
        /// Share of a settled budget paid to the datanet version's contributors.
        #[pallet::constant]
        type ContributorShare: Get<Perbill>;
        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
        /// Creates base models and datanet versions for the benchmarks.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
    }

    /// Why this pallet holds OPEN.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// An operator's stake.
        OperatorStake,
        /// A training job's budget, held from its developer.
        JobBudget,
        /// A challenger's bond.
        ChallengeBond,
    }

    /// Registered operators.
    #[pallet::storage]
    pub type Operators<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, OperatorInfo<Balance>>;

    /// The operator each worker key belongs to.
    #[pallet::storage]
    pub type WorkerKeys<T: Config> = StorageMap<_, Blake2_128Concat, sr25519::Public, T::AccountId>;

    /// The id the next job will get.
    #[pallet::storage]
    pub type NextJobId<T: Config> = StorageValue<_, JobId, ValueQuery>;

    /// Jobs not yet settled, cancelled or rejected.
    #[pallet::storage]
    pub type Jobs<T: Config> = StorageMap<_, Blake2_128Concat, JobId, JobInfoOf<T>>;

    /// The operators whose claim on a job expired without a proof, oldest first (at most
    /// [`MAX_EXPIRED_CLAIMERS`]): none of them may claim that job again, so an operator cannot
    /// lock the same job claim after claim. Removed with the job.
    #[pallet::storage]
    pub type ExpiredClaimers<T: Config> = StorageMap<
        _,
        Blake2_128Concat,
        JobId,
        BoundedVec<T::AccountId, ConstU32<MAX_EXPIRED_CLAIMERS>>,
        ValueQuery,
    >;

    /// The live jobs by their hyper-parameters hash: one entry per entry of [`Jobs`], so a node
    /// can tell that a hyper-parameters file is announced with one read.
    #[pallet::storage]
    pub type JobsByHyperparameters<T: Config> =
        StorageDoubleMap<_, Blake2_128Concat, Hash, Blake2_128Concat, JobId, ()>;

    /// How much worse than the version it replaces a new adapter's held-out loss may be, in
    /// parts per million of that loss ([`Config::DefaultMaxRegressionPpm`] until governance sets
    /// it; at most 1 000 000).
    #[pallet::storage]
    pub type MaxRegressionPpm<T: Config> =
        StorageValue<_, u32, ValueQuery, T::DefaultMaxRegressionPpm>;

    /// Blocks after a proof during which it may be challenged
    /// ([`Config::DefaultChallengePeriod`] until governance or the genesis config sets it).
    #[pallet::storage]
    pub type ChallengePeriod<T: Config> =
        StorageValue<_, BlockNumberFor<T>, ValueQuery, T::DefaultChallengePeriod>;

    /// Blocks a jury has to vote after it is drawn ([`Config::DefaultVotePeriod`] until
    /// governance or the genesis config sets it).
    #[pallet::storage]
    pub type VotePeriod<T: Config> =
        StorageValue<_, BlockNumberFor<T>, ValueQuery, T::DefaultVotePeriod>;

    /// The id the next challenge will get.
    #[pallet::storage]
    pub type NextChallengeId<T: Config> = StorageValue<_, ChallengeId, ValueQuery>;

    /// Open challenges; resolved ones are removed (their outcome is in the events).
    #[pallet::storage]
    pub type Challenges<T: Config> = StorageMap<_, Blake2_128Concat, ChallengeId, ChallengeOf<T>>;

    /// Challenges opened in this block, whose juries the next block's `on_initialize` draws
    /// from this block's hash (unknown to the challenger when it submitted).
    #[pallet::storage]
    pub type PendingDraws<T: Config> =
        StorageValue<_, BoundedVec<ChallengeId, ConstU32<MAX_DRAWS_PER_BLOCK>>, ValueQuery>;

    /// The operators that may be drawn as jurors, with their stake: the first
    /// [`MAX_JUROR_POOL`] to register. An operator leaves it when it deregisters, is found
    /// fraudulent, is slashed below [`Config::MinOperatorStake`] or misses a vote.
    #[pallet::storage]
    pub type JurorPool<T: Config> = StorageValue<_, JurorPoolOf<T>, ValueQuery>;

    /// Seats each operator holds on juries of other pallets' disputes (attribution challenges),
    /// drawn through [`JurorPool`](attribution_primitives::traits::JurorPool); removed at 0.
    #[pallet::storage]
    pub type LentSeats<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

    /// Challenge periods other than the defaults, e.g. short ones for a development chain.
    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// [`ChallengePeriod`]; `None` keeps [`Config::DefaultChallengePeriod`].
        pub challenge_period: Option<BlockNumberFor<T>>,
        /// [`VotePeriod`]; `None` keeps [`Config::DefaultVotePeriod`].
        pub vote_period: Option<BlockNumberFor<T>>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            if let Some(period) = self.challenge_period {
                assert!(
                    !period.is_zero(),
                    "a challenge window lasts at least one block"
                );
                ChallengePeriod::<T>::put(period);
            }
            if let Some(period) = self.vote_period {
                assert!(!period.is_zero(), "a vote lasts at least one block");
                VotePeriod::<T>::put(period);
            }
        }
    }

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// An operator registered with `stake` held, serving inference at `price_per_token`.
        OperatorRegistered {
            operator: T::AccountId,
            worker_key: sr25519::Public,
            stake: Balance,
            price_per_token: Balance,
        },
        /// An operator replaced its worker key.
        WorkerKeyRotated {
            operator: T::AccountId,
            old: sr25519::Public,
            new: sr25519::Public,
        },
        /// An operator changed its hardware, endpoint or price.
        OperatorUpdated { operator: T::AccountId },
        /// An operator left; `released` is the stake returned.
        OperatorDeregistered {
            operator: T::AccountId,
            released: Balance,
        },
        /// A developer posted a job; `model` is its adapter, in `Training`.
        JobPosted {
            job: JobId,
            developer: T::AccountId,
            model: ModelId,
            base_model: ModelId,
            pool: PoolId,
            budget: Balance,
            deadline: BlockNumberFor<T>,
        },
        /// The developer cancelled an unclaimed job; the budget was released.
        JobCancelled { job: JobId, refunded: Balance },
        /// An operator claimed a job; its proof is due by `expires_at`.
        JobClaimed {
            job: JobId,
            operator: T::AccountId,
            expires_at: BlockNumberFor<T>,
        },
        /// An expired claim was released: the job is open again and `slashed` went to the treasury.
        ClaimReleased {
            job: JobId,
            operator: T::AccountId,
            slashed: Balance,
        },
        /// A training proof was accepted; it may be challenged until `challenge_end`.
        ProofAccepted {
            job: JobId,
            operator: T::AccountId,
            model: ModelId,
            proof_hash: Hash,
            adapter_hash: Hash,
            challenge_end: BlockNumberFor<T>,
        },
        /// An account challenged a proof, holding `bond`; `evidence` is the hash of its case.
        /// Its jury is drawn in the next block and votes until `vote_end`.
        Challenged {
            job: JobId,
            challenge: ChallengeId,
            challenger: T::AccountId,
            bond: Balance,
            evidence: Hash,
            vote_end: BlockNumberFor<T>,
        },
        /// A challenge's jury was drawn: each juror re-runs the verification and votes. An empty
        /// jury (no operator could sit) leaves the challenge to the timeout or the fallback.
        JuryDrawn {
            challenge: ChallengeId,
            job: JobId,
            jurors: JurorsOf<T>,
        },
        /// A juror voted.
        Voted {
            challenge: ChallengeId,
            juror: T::AccountId,
            fraud: bool,
        },
        /// Fraud was proven: the prover's stake was slashed and the budget returned to the developer.
        FraudProven {
            job: JobId,
            challenge: ChallengeId,
            operator: T::AccountId,
            challenger: T::AccountId,
            to_challenger: Balance,
            to_treasury: Balance,
            refunded: Balance,
        },
        /// A challenge was dismissed: its bond went to the treasury.
        ChallengeDismissed {
            job: JobId,
            challenge: ChallengeId,
            challenger: T::AccountId,
            slashed: Balance,
        },
        /// A challenge's jury reached no majority before `vote_end`: the proof stands and the
        /// bond was returned (the jury, not the challenger, failed).
        ChallengeTimedOut {
            job: JobId,
            challenge: ChallengeId,
            challenger: T::AccountId,
            returned: Balance,
        },
        /// Another challenge of the same proof proved the fraud: this one closed with its bond
        /// returned.
        ChallengeReleased {
            job: JobId,
            challenge: ChallengeId,
            challenger: T::AccountId,
            returned: Balance,
        },
        /// A juror did not vote on a challenge that timed out: `slashed` went to the treasury and
        /// it left the juror pool.
        JurorAbsent {
            challenge: ChallengeId,
            juror: T::AccountId,
            slashed: Balance,
        },
        /// Governance set the challenge window and the jury's voting period.
        ChallengePeriodsSet {
            challenge_period: BlockNumberFor<T>,
            vote_period: BlockNumberFor<T>,
        },
        /// A job settled: the budget was paid and the adapter is `Active`.
        JobSettled {
            job: JobId,
            model: ModelId,
            operator: T::AccountId,
            operator_paid: Balance,
            contributors_paid: Balance,
        },
        /// Governance set the regression bound of new adapter versions.
        MaxRegressionSet { bound_ppm: u32 },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// The caller is already a registered operator.
        AlreadyOperator,
        /// The caller (or the challenger) is not a registered operator.
        NotOperator,
        /// The stake is below [`Config::MinOperatorStake`].
        StakeTooLow,
        /// Another operator registered this worker key.
        WorkerKeyInUse,
        /// The endpoint is not an `http://` or `https://` URL.
        InvalidEndpoint,
        /// The GPU model is empty, or the memory or count is zero.
        InvalidHardware,
        /// An update changes nothing.
        NothingToUpdate,
        /// The operator has a job until it is settled, rejected or released.
        OperatorBusy,
        /// The budget is below [`Config::MinJobBudget`].
        BudgetTooLow,
        /// The deadline has passed (or, for a new job, is not in the future).
        DeadlinePassed,
        /// The datanet version is not published.
        VersionNotFound,
        /// No job has this id.
        JobNotFound,
        /// Only the job's developer may do this.
        NotDeveloper,
        /// The job is not open.
        JobNotOpen,
        /// The job is not claimed.
        JobNotClaimed,
        /// The job is claimed by another operator.
        NotClaimer,
        /// The claim has expired; the proof came too late.
        ClaimExpired,
        /// The claim has not expired yet.
        ClaimNotExpired,
        /// The proof is signed for a worker key that is not the claimer's registered one.
        WrongWorkerKey,
        /// The signature does not verify over the domain-tagged payload.
        BadSignature,
        /// This proof was already accepted.
        ProofReplayed,
        /// The proof's base model hash is not the job's base model's weights hash.
        BaseModelMismatch,
        /// The proof's dataset root is not the version's Merkle root.
        DatasetRootMismatch,
        /// The proof's hyper-parameters hash is not the job's.
        HyperParametersMismatch,
        /// The proof lists no contributions.
        NoContributions,
        /// The contribution ids are not strictly ascending.
        ContributionsNotSorted,
        /// A listed contribution is not part of the version.
        ContributionNotInVersion,
        /// The proof has an empty CID, zero steps, tokens or adapter size, or a ROUGE above one.
        MalformedProof,
        /// The adapter file is larger than
        /// [`MAX_ADAPTER_BYTES`](attribution_primitives::models::MAX_ADAPTER_BYTES).
        AdapterTooLarge,
        /// The adapted model's held-out loss is not below the base model's.
        NoImprovement,
        /// The adapter's held-out loss exceeds its previous version's by more than
        /// [`MaxRegressionPpm`].
        Regressed,
        /// The previous version named by the job has no trained artifact.
        PreviousUntrained,
        /// A regression bound above 1 000 000 ppm.
        BoundTooLarge,
        /// The job has no proof waiting in its challenge window.
        JobNotProven,
        /// The challenge window has closed.
        ChallengeWindowClosed,
        /// The challenge window is still open.
        ChallengeWindowOpen,
        /// A challenge of this proof awaits resolution.
        ChallengePending,
        /// An operator cannot challenge its own proof.
        OwnProof,
        /// The job has no pending challenge.
        NotChallenged,
        /// The proof already has [`MAX_OPEN_CHALLENGES`] open challenges; one must resolve first
        /// (which keeps the window open at least until its vote ends).
        TooManyChallenges,
        /// [`MAX_DRAWS_PER_BLOCK`] challenges were already opened in this block; try the next.
        DrawQueueFull,
        /// No open challenge has this id.
        ChallengeNotFound,
        /// The caller is not on this challenge's jury.
        NotJuror,
        /// The juror already voted.
        AlreadyVoted,
        /// The challenge's voting period is over.
        VotingClosed,
        /// The challenge's voting period is not over yet.
        VotingOpen,
        /// The operator sits on an open challenge's jury.
        OnJury,
        /// A challenge or vote period of zero blocks.
        ZeroPeriod,
        /// Every job id is taken.
        JobIdsExhausted,
        /// Every challenge id is taken.
        ChallengeIdsExhausted,
        /// Less than [`Config::MinClaimWindow`] is left before the job's deadline: too little
        /// for a training.
        DeadlineTooClose,
        /// The caller let a claim on this job expire before: it may not claim it again.
        ClaimExpiredBefore,
        /// The possession proof is not the worker key's signature over
        /// [`WorkerKeyPossession`] naming the caller on this chain: the caller has not shown it
        /// holds the key (forged, signed for another account or chain, or under another domain).
        BadPossessionProof,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn integrity_test() {
            assert!(T::MinJobBudget::get() > 0, "a job must have a budget");
            assert!(
                !T::ClaimTimeout::get().is_zero(),
                "a claim must last at least one block"
            );
            assert!(
                T::MinClaimWindow::get() <= T::ClaimTimeout::get(),
                "a claim must be able to last the least time a training needs"
            );
            assert!(
                !T::DefaultChallengePeriod::get().is_zero(),
                "a challenge window must last at least one block"
            );
            assert!(
                !T::DefaultVotePeriod::get().is_zero(),
                "a vote must last at least one block"
            );
            assert!(
                T::JurySize::get() > 0 && T::JurySize::get() <= MAX_JURY,
                "a jury has between 1 and MAX_JURY jurors"
            );
            assert!(
                T::DefaultMaxRegressionPpm::get() <= attribution_primitives::PARTS_PER_MILLION,
                "the default regression bound is at most 1 000 000 ppm"
            );
        }

        /// Draws the juries of the challenges opened in the previous block, seeded by that
        /// block's hash (see "Randomness" in the crate docs). At most [`MAX_DRAWS_PER_BLOCK`].
        fn on_initialize(_n: BlockNumberFor<T>) -> Weight {
            let pending = PendingDraws::<T>::take();
            let drawn = pending.len() as u32;
            if drawn > 0 {
                let seed = frame_system::Pallet::<T>::parent_hash();
                for challenge in pending {
                    Self::draw_jury(challenge, seed);
                }
            }
            T::WeightInfo::draw_juries(drawn)
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Registers the caller as an operator, holding `stake`, serving inference at `endpoint`
        /// for `price_per_token` per token.
        ///
        /// # Conditions
        ///
        /// * The caller is not an operator and `stake` is at least [`Config::MinOperatorStake`].
        /// * `worker_key` is no other operator's, and `possession` is its signature over
        ///   [`WorkerKeyPossession`] `{ operator: caller, worker_key }` for this chain
        ///   ([`WorkerKeyPossession::sign`]): nobody registers a key they do not hold.
        /// * The hardware is described and the endpoint is an `http(s)://` URL.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::register_operator())]
        pub fn register_operator(
            origin: OriginFor<T>,
            worker_key: sr25519::Public,
            possession: sr25519::Signature,
            hardware: Hardware,
            endpoint: Endpoint,
            stake: Balance,
            price_per_token: Balance,
        ) -> DispatchResult {
            let operator = ensure_signed(origin)?;
            ensure!(
                !Operators::<T>::contains_key(&operator),
                Error::<T>::AlreadyOperator
            );
            ensure!(stake >= T::MinOperatorStake::get(), Error::<T>::StakeTooLow);
            ensure!(
                !WorkerKeys::<T>::contains_key(worker_key),
                Error::<T>::WorkerKeyInUse
            );
            Self::ensure_possession(&operator, worker_key, &possession)?;
            Self::ensure_valid_hardware(&hardware)?;
            Self::ensure_valid_endpoint(&endpoint)?;

            T::Currency::hold(&HoldReason::OperatorStake.into(), &operator, stake)?;
            WorkerKeys::<T>::insert(worker_key, &operator);
            Operators::<T>::insert(
                &operator,
                OperatorInfo {
                    worker_key,
                    hardware,
                    endpoint,
                    price_per_token,
                    stake,
                    current_job: None,
                    juries: 0,
                },
            );
            // A full pool leaves later operators out of the draw (see `MAX_JUROR_POOL`); they
            // still train and serve.
            JurorPool::<T>::mutate(|pool| pool.try_push((operator.clone(), stake)).is_ok());
            Self::deposit_event(Event::OperatorRegistered {
                operator,
                worker_key,
                stake,
                price_per_token,
            });
            Ok(())
        }

        /// Replaces the caller's worker key with `new`, whose signature `possession` over
        /// [`WorkerKeyPossession`] `{ operator: caller, worker_key: new }` for this chain shows
        /// the caller holds it.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::rotate_worker_key())]
        pub fn rotate_worker_key(
            origin: OriginFor<T>,
            new: sr25519::Public,
            possession: sr25519::Signature,
        ) -> DispatchResult {
            let operator = ensure_signed(origin)?;
            ensure!(
                !WorkerKeys::<T>::contains_key(new),
                Error::<T>::WorkerKeyInUse
            );
            Self::ensure_possession(&operator, new, &possession)?;
            let old = Operators::<T>::try_mutate(&operator, |entry| {
                let info = entry.as_mut().ok_or(Error::<T>::NotOperator)?;
                Ok::<_, Error<T>>(core::mem::replace(&mut info.worker_key, new))
            })?;
            WorkerKeys::<T>::remove(old);
            WorkerKeys::<T>::insert(new, &operator);
            Self::deposit_event(Event::WorkerKeyRotated { operator, old, new });
            Ok(())
        }

        /// Replaces the caller's hardware description, inference endpoint and/or inference price
        /// per token. A new price applies to the records the operator settles from then on, so
        /// it settles what it served at the old price first.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::update_operator())]
        pub fn update_operator(
            origin: OriginFor<T>,
            hardware: Option<Hardware>,
            endpoint: Option<Endpoint>,
            price_per_token: Option<Balance>,
        ) -> DispatchResult {
            let operator = ensure_signed(origin)?;
            ensure!(
                hardware.is_some() || endpoint.is_some() || price_per_token.is_some(),
                Error::<T>::NothingToUpdate
            );
            Operators::<T>::try_mutate(&operator, |entry| {
                let info = entry.as_mut().ok_or(Error::<T>::NotOperator)?;
                if let Some(hardware) = hardware {
                    Self::ensure_valid_hardware(&hardware)?;
                    info.hardware = hardware;
                }
                if let Some(endpoint) = endpoint {
                    Self::ensure_valid_endpoint(&endpoint)?;
                    info.endpoint = endpoint;
                }
                if let Some(price) = price_per_token {
                    info.price_per_token = price;
                }
                Ok::<_, DispatchError>(())
            })?;
            Self::deposit_event(Event::OperatorUpdated { operator });
            Ok(())
        }

        /// Deregisters the caller and releases its stake. Refused while it has a job.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::deregister_operator())]
        pub fn deregister_operator(origin: OriginFor<T>) -> DispatchResult {
            let operator = ensure_signed(origin)?;
            let info = Operators::<T>::get(&operator).ok_or(Error::<T>::NotOperator)?;
            ensure!(info.current_job.is_none(), Error::<T>::OperatorBusy);
            ensure!(
                info.juries == 0 && LentSeats::<T>::get(&operator) == 0,
                Error::<T>::OnJury
            );
            let released = T::Currency::release(
                &HoldReason::OperatorStake.into(),
                &operator,
                info.stake,
                Precision::BestEffort,
            )?;
            WorkerKeys::<T>::remove(info.worker_key);
            Operators::<T>::remove(&operator);
            Self::leave_juror_pool(&operator);
            Self::deposit_event(Event::OperatorDeregistered { operator, released });
            Ok(())
        }

        /// Posts a training job: holds `budget` from the caller and creates the adapter `name`,
        /// owned by the caller, in `Training`.
        ///
        /// # Conditions
        ///
        /// * `budget` is at least [`Config::MinJobBudget`] and the caller can hold it.
        /// * `deadline` is in the future.
        /// * `pool` is a published datanet version and `base_model` an `Active` base model.
        /// * `previous`, if given, is an `Active` adapter of the caller's trained from
        ///   `base_model`: the new adapter is its next version, and its held-out loss may exceed
        ///   `previous`'s by at most [`MaxRegressionPpm`] when its proof arrives.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::request_training())]
        #[allow(clippy::too_many_arguments)]
        pub fn request_training(
            origin: OriginFor<T>,
            name: ModelName,
            base_model: ModelId,
            pool: PoolId,
            method: TrainingMethod,
            hyperparameters_hash: Hash,
            budget: Balance,
            deadline: BlockNumberFor<T>,
            previous: Option<ModelId>,
        ) -> DispatchResult {
            let developer = ensure_signed(origin)?;
            ensure!(budget >= T::MinJobBudget::get(), Error::<T>::BudgetTooLow);
            let now = frame_system::Pallet::<T>::block_number();
            ensure!(deadline > now, Error::<T>::DeadlinePassed);
            ensure!(
                Self::leaves_time_to_train(now, deadline),
                Error::<T>::DeadlineTooClose
            );
            let version = T::Datanets::version(pool.datanet, pool.version)
                .ok_or(Error::<T>::VersionNotFound)?;

            let job = NextJobId::<T>::get();
            NextJobId::<T>::put(job.checked_add(1).ok_or(Error::<T>::JobIdsExhausted)?);
            let spec = TrainingSpec {
                base_model,
                pool,
                dataset_root: version.merkle_root,
                method,
                hyperparameters_hash,
                job,
                previous,
            };
            let model = T::Models::begin_training(&developer, name, spec)?;
            T::Currency::hold(&HoldReason::JobBudget.into(), &developer, budget)?;
            Jobs::<T>::insert(
                job,
                JobInfo {
                    developer: developer.clone(),
                    model,
                    base_model,
                    pool,
                    dataset_root: version.merkle_root,
                    method,
                    hyperparameters_hash,
                    previous,
                    budget,
                    deadline,
                    status: JobStatus::Open,
                    proof_hash: None,
                },
            );
            JobsByHyperparameters::<T>::insert(hyperparameters_hash, job, ());
            Self::deposit_event(Event::JobPosted {
                job,
                developer,
                model,
                base_model,
                pool,
                budget,
                deadline,
            });
            Ok(())
        }

        /// Cancels an unclaimed job of the caller's: removes it and its adapter, releases the budget.
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::cancel_job())]
        pub fn cancel_job(origin: OriginFor<T>, job: JobId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let info = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
            ensure!(info.developer == who, Error::<T>::NotDeveloper);
            ensure!(info.status == JobStatus::Open, Error::<T>::JobNotOpen);
            let refunded = Self::release_budget(&info)?;
            T::Models::abandon(info.model)?;
            Self::remove_job(job, &info);
            Self::deposit_event(Event::JobCancelled { job, refunded });
            Ok(())
        }

        /// Claims an open job for the caller until `min(now + ClaimTimeout, deadline)`.
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::claim_job())]
        pub fn claim_job(origin: OriginFor<T>, job: JobId) -> DispatchResult {
            let operator = ensure_signed(origin)?;
            let mut op = Operators::<T>::get(&operator).ok_or(Error::<T>::NotOperator)?;
            ensure!(op.current_job.is_none(), Error::<T>::OperatorBusy);
            ensure!(
                op.stake >= T::MinOperatorStake::get(),
                Error::<T>::StakeTooLow
            );
            let mut info = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
            ensure!(info.status == JobStatus::Open, Error::<T>::JobNotOpen);
            let now = frame_system::Pallet::<T>::block_number();
            ensure!(now <= info.deadline, Error::<T>::DeadlinePassed);
            ensure!(
                Self::leaves_time_to_train(now, info.deadline),
                Error::<T>::DeadlineTooClose
            );
            ensure!(
                !ExpiredClaimers::<T>::get(job).contains(&operator),
                Error::<T>::ClaimExpiredBefore
            );

            let expires_at = now
                .saturating_add(T::ClaimTimeout::get())
                .min(info.deadline);
            info.status = JobStatus::Claimed {
                operator: operator.clone(),
                expires_at,
            };
            op.current_job = Some(job);
            Jobs::<T>::insert(job, info);
            Operators::<T>::insert(&operator, op);
            Self::deposit_event(Event::JobClaimed {
                job,
                operator,
                expires_at,
            });
            Ok(())
        }

        /// Reopens a job whose claim expired without a proof and slashes
        /// [`Config::ClaimTimeoutSlash`] of the claimer's stake to the treasury. Anyone may call it.
        #[pallet::call_index(7)]
        #[pallet::weight(T::WeightInfo::release_expired_claim())]
        pub fn release_expired_claim(origin: OriginFor<T>, job: JobId) -> DispatchResult {
            ensure_signed(origin)?;
            let mut info = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
            let JobStatus::Claimed {
                operator,
                expires_at,
            } = info.status.clone()
            else {
                return Err(Error::<T>::JobNotClaimed.into());
            };
            ensure!(
                frame_system::Pallet::<T>::block_number() > expires_at,
                Error::<T>::ClaimNotExpired
            );

            let mut op = Operators::<T>::get(&operator).ok_or(Error::<T>::NotOperator)?;
            let slashed = Self::slash(
                HoldReason::OperatorStake,
                &operator,
                T::ClaimTimeoutSlash::get().mul_floor(op.stake),
                &T::Treasury::get(),
            )?;
            op.stake = op.stake.saturating_sub(slashed);
            op.current_job = None;
            Self::sync_juror_stake(&operator, op.stake);
            Operators::<T>::insert(&operator, op);
            ExpiredClaimers::<T>::mutate(job, |claimers| {
                if claimers.is_full() {
                    claimers.remove(0);
                }
                // Room was just made.
                let _ = claimers.try_push(operator.clone());
            });
            info.status = JobStatus::Open;
            Jobs::<T>::insert(job, info);
            Self::deposit_event(Event::ClaimReleased {
                job,
                operator,
                slashed,
            });
            Ok(())
        }

        /// Submits the signed training proof of the job the caller claimed.
        ///
        /// # Conditions
        ///
        /// * The caller claimed the job and the claim has not expired.
        /// * The proof is signed by the caller's registered worker key for this chain, and its
        ///   base model hash, dataset root and hyper-parameters hash are the job's.
        /// * CID non-empty; steps, tokens and adapter size non-zero; adapter size at most
        ///   [`MAX_ADAPTER_BYTES`]; both ROUGE figures at most 1 000 000.
        /// * Quality gate: the adapted model's held-out loss is below the base model's, and, for a
        ///   new version of an adapter, at most `previous loss × (1 + MaxRegressionPpm / 10⁶)`.
        /// * The contributions are non-empty, strictly ascending and all in the version.
        ///
        /// A refused proof changes nothing: the claim stays, and a better proof may follow until
        /// it expires.
        #[pallet::call_index(8)]
        #[pallet::weight(T::WeightInfo::submit_training_proof(proof.payload.contributions.len() as u32))]
        pub fn submit_training_proof(
            origin: OriginFor<T>,
            proof: Box<SignedTrainingProof>,
        ) -> DispatchResult {
            let operator = ensure_signed(origin)?;
            let proof = *proof;
            let op = Operators::<T>::get(&operator).ok_or(Error::<T>::NotOperator)?;
            let job = proof.payload.job;
            let mut info = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
            let proof_hash = Hash::from(sp_io::hashing::blake2_256(&proof.payload.encode()));
            let expires_at = match &info.status {
                JobStatus::Claimed {
                    operator: claimer,
                    expires_at,
                } => {
                    ensure!(*claimer == operator, Error::<T>::NotClaimer);
                    *expires_at
                }
                _ if info.proof_hash == Some(proof_hash) => {
                    return Err(Error::<T>::ProofReplayed.into())
                }
                _ => return Err(Error::<T>::JobNotClaimed.into()),
            };
            let now = frame_system::Pallet::<T>::block_number();
            ensure!(now <= expires_at, Error::<T>::ClaimExpired);
            Self::verify_proof(&op, &info, &proof)?;

            let payload = proof.payload;
            let adapter_hash = payload.adapter_hash;
            T::Models::propose(
                info.model,
                TrainedArtifact {
                    trainer: operator.clone(),
                    proof_hash,
                    adapter_hash,
                    adapter_size: payload.adapter_size,
                    adapter_cid: payload.adapter_cid,
                    held_out_root: payload.held_out_root,
                    checkpoint_root: payload.checkpoint_root,
                    steps: payload.steps,
                    tokens: payload.tokens,
                    contributions_used: payload.contributions.len() as u32,
                    metrics: payload.metrics,
                },
            )?;
            let challenge_end = now.saturating_add(ChallengePeriod::<T>::get());
            info.status = JobStatus::Proven {
                operator: operator.clone(),
                challenge_end,
            };
            info.proof_hash = Some(proof_hash);
            let model = info.model;
            Jobs::<T>::insert(job, info);
            Self::deposit_event(Event::ProofAccepted {
                job,
                operator,
                model,
                proof_hash,
                adapter_hash,
                challenge_end,
            });
            Ok(())
        }

        /// Challenges a proof within its window, holding [`Config::ChallengeBond`] from the caller.
        /// `evidence` is the hash of the case made off chain (e.g. the verdict of
        /// `attribution-worker verify`).
        ///
        /// # Conditions
        ///
        /// * Any signed account but the prover; no stake needed.
        /// * The job is proven and `now <= challenge_end`; fewer than [`MAX_OPEN_CHALLENGES`]
        ///   challenges of it are open, and fewer than [`MAX_DRAWS_PER_BLOCK`] challenges were
        ///   opened in this block.
        ///
        /// The jury is drawn in the next block and votes until `now + 1 + VotePeriod`; the window
        /// is extended to at least that block, so others may challenge while this one is pending.
        #[pallet::call_index(9)]
        #[pallet::weight(T::WeightInfo::challenge())]
        pub fn challenge(origin: OriginFor<T>, job: JobId, evidence: Hash) -> DispatchResult {
            let challenger = ensure_signed(origin)?;
            let mut info = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
            let (operator, challenge_end, mut open) = match &info.status {
                JobStatus::Proven {
                    operator,
                    challenge_end,
                } => (operator.clone(), *challenge_end, OpenChallenges::new()),
                JobStatus::Challenged {
                    operator,
                    challenge_end,
                    open,
                } => (operator.clone(), *challenge_end, open.clone()),
                _ => return Err(Error::<T>::JobNotProven.into()),
            };
            ensure!(operator != challenger, Error::<T>::OwnProof);
            let now = frame_system::Pallet::<T>::block_number();
            ensure!(now <= challenge_end, Error::<T>::ChallengeWindowClosed);

            let id = NextChallengeId::<T>::get();
            open.try_push(id)
                .map_err(|_| Error::<T>::TooManyChallenges)?;
            PendingDraws::<T>::try_mutate(|pending| pending.try_push(id))
                .map_err(|_| Error::<T>::DrawQueueFull)?;
            NextChallengeId::<T>::put(id.checked_add(1).ok_or(Error::<T>::ChallengeIdsExhausted)?);
            let bond = T::ChallengeBond::get();
            T::Currency::hold(&HoldReason::ChallengeBond.into(), &challenger, bond)?;
            let vote_end = now
                .saturating_add(One::one())
                .saturating_add(VotePeriod::<T>::get());
            Challenges::<T>::insert(
                id,
                Challenge {
                    job,
                    challenger: challenger.clone(),
                    bond,
                    evidence,
                    opened_at: now,
                    vote_end,
                    jury: Jury::default(),
                },
            );
            info.status = JobStatus::Challenged {
                operator,
                challenge_end: challenge_end.max(vote_end),
                open,
            };
            Jobs::<T>::insert(job, info);
            Self::deposit_event(Event::Challenged {
                job,
                challenge: id,
                challenger,
                bond,
                evidence,
                vote_end,
            });
            Ok(())
        }

        /// Fallback: [`Config::ChallengeOrigin`] decides every open challenge of `job` instead of
        /// their juries. `fraud`: the prover is slashed and deregistered, the adapter rejected,
        /// the budget returned, the oldest open challenge wins and the others get their bonds
        /// back. Otherwise every open challenge is dismissed and its bond slashed. Juries and the
        /// timeout resolve challenges without it.
        #[pallet::call_index(10)]
        #[pallet::weight(T::WeightInfo::resolve_challenge())]
        pub fn resolve_challenge(origin: OriginFor<T>, job: JobId, fraud: bool) -> DispatchResult {
            T::ChallengeOrigin::ensure_origin(origin)?;
            let info = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
            let JobStatus::Challenged { open, .. } = info.status else {
                return Err(Error::<T>::NotChallenged.into());
            };
            if fraud {
                let oldest = *open.first().ok_or(Error::<T>::NotChallenged)?;
                Self::prove_fraud(oldest)
            } else {
                for id in open {
                    Self::dismiss(id)?;
                }
                Ok(())
            }
        }

        /// Settles a proven job once its challenge window has passed: pays the budget and activates
        /// the adapter. Anyone may call it.
        #[pallet::call_index(11)]
        #[pallet::weight(T::WeightInfo::settle())]
        pub fn settle(origin: OriginFor<T>, job: JobId) -> DispatchResult {
            ensure_signed(origin)?;
            let info = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
            let (operator, challenge_end) = match &info.status {
                JobStatus::Proven {
                    operator,
                    challenge_end,
                } => (operator.clone(), *challenge_end),
                JobStatus::Challenged { .. } => return Err(Error::<T>::ChallengePending.into()),
                _ => return Err(Error::<T>::JobNotProven.into()),
            };
            ensure!(
                frame_system::Pallet::<T>::block_number() > challenge_end,
                Error::<T>::ChallengeWindowOpen
            );

            let budget = Self::release_budget(&info)?;
            let contributors_paid = T::ContributorShare::get().mul_floor(budget);
            let operator_paid = budget.saturating_sub(contributors_paid);
            if contributors_paid > 0 {
                T::Rewards::credit_pool(&info.developer, info.pool, contributors_paid)?;
            }
            if operator_paid > 0 {
                T::Rewards::credit_account(
                    &info.developer,
                    &operator,
                    RewardSource::Compute,
                    operator_paid,
                )?;
            }
            T::Models::activate(info.model)?;
            Self::free_operator(&operator);
            Self::remove_job(job, &info);
            Self::deposit_event(Event::JobSettled {
                job,
                model: info.model,
                operator,
                operator_paid,
                contributors_paid,
            });
            Ok(())
        }

        /// Sets how much worse than the version it replaces a new adapter's held-out loss may
        /// be, in parts per million of that loss ([`MaxRegressionPpm`]). Applies to proofs
        /// submitted from now on.
        ///
        /// # Conditions
        ///
        /// * The origin is [`Config::GovernanceOrigin`].
        /// * `bound_ppm` is at most 1 000 000 (a new version may be at most twice as bad).
        #[pallet::call_index(12)]
        #[pallet::weight(T::WeightInfo::set_max_regression())]
        pub fn set_max_regression(origin: OriginFor<T>, bound_ppm: u32) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            ensure!(
                bound_ppm <= attribution_primitives::PARTS_PER_MILLION,
                Error::<T>::BoundTooLarge
            );
            MaxRegressionPpm::<T>::put(bound_ppm);
            Self::deposit_event(Event::MaxRegressionSet { bound_ppm });
            Ok(())
        }

        /// A juror's vote on a challenge: `fraud` if its re-run of the verification does not
        /// reproduce the proof's figures. The first strict majority of the jury decides at once.
        ///
        /// # Conditions
        ///
        /// * The caller is on the challenge's jury and has not voted.
        /// * `now <= vote_end`.
        #[pallet::call_index(13)]
        #[pallet::weight(T::WeightInfo::vote())]
        pub fn vote(origin: OriginFor<T>, challenge: ChallengeId, fraud: bool) -> DispatchResult {
            let juror = ensure_signed(origin)?;
            let mut info = Challenges::<T>::get(challenge).ok_or(Error::<T>::ChallengeNotFound)?;
            ensure!(
                frame_system::Pallet::<T>::block_number() <= info.vote_end,
                Error::<T>::VotingClosed
            );
            let seat = info
                .jury
                .iter_mut()
                .find(|seat| seat.juror == juror)
                .ok_or(Error::<T>::NotJuror)?;
            ensure!(seat.fraud.is_none(), Error::<T>::AlreadyVoted);
            seat.fraud = Some(fraud);
            let verdict = info.verdict();
            Challenges::<T>::insert(challenge, info);
            Self::deposit_event(Event::Voted {
                challenge,
                juror,
                fraud,
            });
            match verdict {
                Some(true) => Self::prove_fraud(challenge),
                Some(false) => Self::dismiss(challenge),
                None => Ok(()),
            }
        }

        /// Closes a challenge whose jury reached no majority by `vote_end`. Anyone may call it.
        /// It fails safe: the proof stands (no slash without a majority finding fraud) and the
        /// bond is returned (the jury, not the challenger, failed); each juror that did not vote
        /// loses [`Config::JurorAbsenceSlash`] of its stake to the treasury and leaves the juror
        /// pool.
        #[pallet::call_index(14)]
        #[pallet::weight(T::WeightInfo::close_challenge())]
        pub fn close_challenge(origin: OriginFor<T>, challenge: ChallengeId) -> DispatchResult {
            ensure_signed(origin)?;
            let info = Challenges::<T>::get(challenge).ok_or(Error::<T>::ChallengeNotFound)?;
            ensure!(
                frame_system::Pallet::<T>::block_number() > info.vote_end,
                Error::<T>::VotingOpen
            );
            for seat in info.jury.iter().filter(|seat| seat.fraud.is_none()) {
                let slashed = Self::punish_absence(&seat.juror)?;
                Self::deposit_event(Event::JurorAbsent {
                    challenge,
                    juror: seat.juror.clone(),
                    slashed,
                });
            }
            let returned = T::Currency::release(
                &HoldReason::ChallengeBond.into(),
                &info.challenger,
                info.bond,
                Precision::BestEffort,
            )?;
            Self::detach(challenge, &info)?;
            Self::deposit_event(Event::ChallengeTimedOut {
                job: info.job,
                challenge,
                challenger: info.challenger,
                returned,
            });
            Ok(())
        }

        /// Sets the challenge window of proofs submitted from now on and the voting period of
        /// juries drawn from now on.
        ///
        /// # Conditions
        ///
        /// * The origin is [`Config::GovernanceOrigin`]; both periods are at least one block.
        #[pallet::call_index(15)]
        #[pallet::weight(T::WeightInfo::set_challenge_periods())]
        pub fn set_challenge_periods(
            origin: OriginFor<T>,
            challenge_period: BlockNumberFor<T>,
            vote_period: BlockNumberFor<T>,
        ) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            ensure!(
                !challenge_period.is_zero() && !vote_period.is_zero(),
                Error::<T>::ZeroPeriod
            );
            ChallengePeriod::<T>::put(challenge_period);
            VotePeriod::<T>::put(vote_period);
            Self::deposit_event(Event::ChallengePeriodsSet {
                challenge_period,
                vote_period,
            });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// A registered operator (for the runtime API).
        pub fn operator(who: T::AccountId) -> Option<OperatorInfo<Balance>> {
            Operators::<T>::get(who)
        }

        /// Up to `max` (at most [`MAX_OPERATORS_PAGE`]) operators in storage order, starting after
        /// `after` (for the runtime API). Reads at most one page of the map.
        pub fn operators(
            after: Option<T::AccountId>,
            max: u32,
        ) -> Vec<(T::AccountId, OperatorInfo<Balance>)> {
            let max = max.min(MAX_OPERATORS_PAGE) as usize;
            match after {
                Some(last) => Operators::<T>::iter_from(Operators::<T>::hashed_key_for(last))
                    .take(max)
                    .collect(),
                None => Operators::<T>::iter().take(max).collect(),
            }
        }

        /// A job that is not yet settled, cancelled or rejected (for the runtime API).
        pub fn job(id: JobId) -> Option<JobInfoOf<T>> {
            Jobs::<T>::get(id)
        }

        /// An open challenge with its jury and votes (for the runtime API).
        pub fn challenge_info(id: ChallengeId) -> Option<ChallengeOf<T>> {
            Challenges::<T>::get(id)
        }

        /// Open jobs with ids from `from`, lowest first, one bounded page (for the runtime API;
        /// see [`attribution_primitives::paging`]).
        pub fn open_jobs(
            from: JobId,
            max: u32,
        ) -> JobsPage<T::AccountId, Balance, BlockNumberFor<T>> {
            let (jobs, next) = scan_ids(from, NextJobId::<T>::get(), max, |id| {
                Jobs::<T>::get(id)
                    .filter(|info| info.status == JobStatus::Open)
                    .map(|info| (id, info))
            });
            JobsPage { jobs, next }
        }

        /// A live job posted with this hyper-parameters hash (for the runtime API: a content
        /// store accepts the file while one exists). Reads one index entry.
        pub fn hyperparameters_job(hash: Hash) -> Option<JobId> {
            JobsByHyperparameters::<T>::iter_key_prefix(hash).next()
        }

        /// This chain's genesis block hash, which training proofs are signed for. frame-system
        /// keeps block 0's hash for good (it prunes only later ones).
        pub fn genesis_hash() -> Hash {
            frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero())
        }

        /// Whether `possession` proves `operator` holds `worker_key` on this chain.
        fn ensure_possession(
            operator: &T::AccountId,
            worker_key: sr25519::Public,
            possession: &sr25519::Signature,
        ) -> DispatchResult {
            let payload = WorkerKeyPossession {
                operator: operator.clone(),
                worker_key,
            };
            ensure!(
                payload.verify(&Self::genesis_hash(), possession),
                Error::<T>::BadPossessionProof
            );
            Ok(())
        }

        fn ensure_valid_hardware(hardware: &Hardware) -> DispatchResult {
            ensure!(
                !hardware.gpu_model.is_empty()
                    && hardware.gpu_memory_mib > 0
                    && hardware.gpu_count > 0,
                Error::<T>::InvalidHardware
            );
            Ok(())
        }

        fn ensure_valid_endpoint(endpoint: &Endpoint) -> DispatchResult {
            let url = endpoint.as_slice();
            let rest = url
                .strip_prefix(b"https://".as_slice())
                .or_else(|| url.strip_prefix(b"http://".as_slice()))
                .ok_or(Error::<T>::InvalidEndpoint)?;
            ensure!(
                !rest.is_empty() && !rest.iter().any(|b| b.is_ascii_whitespace()),
                Error::<T>::InvalidEndpoint
            );
            Ok(())
        }

        /// Checks everything in `proof` the chain can check against `op` and `job`.
        fn verify_proof(
            op: &OperatorInfo<Balance>,
            job: &JobInfoOf<T>,
            proof: &SignedTrainingProof,
        ) -> DispatchResult {
            let payload = &proof.payload;
            ensure!(
                payload.worker_key == op.worker_key,
                Error::<T>::WrongWorkerKey
            );
            ensure!(
                proof.verify(&Self::genesis_hash()),
                Error::<T>::BadSignature
            );
            ensure!(
                T::Models::base_weights_hash(job.base_model) == Some(payload.base_model_hash),
                Error::<T>::BaseModelMismatch
            );
            let version = T::Datanets::version(job.pool.datanet, job.pool.version)
                .ok_or(Error::<T>::VersionNotFound)?;
            ensure!(
                version.merkle_root == payload.dataset_root,
                Error::<T>::DatasetRootMismatch
            );
            ensure!(
                payload.hyperparameters_hash == job.hyperparameters_hash,
                Error::<T>::HyperParametersMismatch
            );
            ensure!(
                !payload.adapter_cid.is_empty()
                    && payload.steps > 0
                    && payload.tokens > 0
                    && payload.adapter_size > 0
                    && payload.metrics.rouge_in_range(),
                Error::<T>::MalformedProof
            );
            ensure!(
                payload.adapter_size <= MAX_ADAPTER_BYTES,
                Error::<T>::AdapterTooLarge
            );
            ensure!(payload.metrics.improves(), Error::<T>::NoImprovement);
            if let Some(previous) = job.previous {
                let earlier =
                    T::Models::trained_metrics(previous).ok_or(Error::<T>::PreviousUntrained)?;
                ensure!(
                    payload.metrics.within_regression_bound(
                        earlier.adapted_loss_ppm,
                        MaxRegressionPpm::<T>::get()
                    ),
                    Error::<T>::Regressed
                );
            }
            ensure!(
                !payload.contributions.is_empty(),
                Error::<T>::NoContributions
            );
            ensure!(
                payload.contributions.windows(2).all(|w| w[0] < w[1]),
                Error::<T>::ContributionsNotSorted
            );
            for contribution in payload.contributions.iter() {
                ensure!(
                    T::Datanets::member(job.pool.datanet, job.pool.version, *contribution)
                        .is_some(),
                    Error::<T>::ContributionNotInVersion
                );
            }
            Ok(())
        }

        /// Removes a settled, cancelled or rejected job and its index entry.
        fn remove_job(job: JobId, info: &JobInfoOf<T>) {
            JobsByHyperparameters::<T>::remove(info.hyperparameters_hash, job);
            ExpiredClaimers::<T>::remove(job);
            Jobs::<T>::remove(job);
        }

        /// Whether a claim at `now` leaves at least [`Config::MinClaimWindow`] before `deadline`.
        fn leaves_time_to_train(now: BlockNumberFor<T>, deadline: BlockNumberFor<T>) -> bool {
            now.saturating_add(T::MinClaimWindow::get()) <= deadline
        }

        fn release_budget(job: &JobInfoOf<T>) -> Result<Balance, DispatchError> {
            T::Currency::release(
                &HoldReason::JobBudget.into(),
                &job.developer,
                job.budget,
                Precision::BestEffort,
            )
        }

        /// Moves up to `amount` held from `who` for `reason` to `to`'s free balance; returns what
        /// moved.
        fn slash(
            reason: HoldReason,
            who: &T::AccountId,
            amount: Balance,
            to: &T::AccountId,
        ) -> Result<Balance, DispatchError> {
            T::Currency::transfer_on_hold(
                &reason.into(),
                who,
                to,
                amount,
                Precision::BestEffort,
                Restriction::Free,
                Fortitude::Force,
            )
        }

        fn free_operator(operator: &T::AccountId) {
            Operators::<T>::mutate(operator, |entry| {
                if let Some(op) = entry {
                    op.current_job = None;
                }
            });
        }

        /// Draws challenge `id`'s jury, stake-weighted without replacement from the juror pool
        /// minus the prover and the challenger, from `seed` (the hash of the block the challenge
        /// was opened in). Reads the pool once and each juror's record once.
        pub(crate) fn draw_jury(id: ChallengeId, seed: Hash) {
            let Some(mut challenge) = Challenges::<T>::get(id) else {
                // Resolved by the fallback in the block it was opened in.
                return;
            };
            let prover = Jobs::<T>::get(challenge.job).and_then(|info| match info.status {
                JobStatus::Challenged { operator, .. } => Some(operator),
                _ => None,
            });
            let mut exclude = alloc::vec![challenge.challenger.clone()];
            exclude.extend(prover);
            let drawn = Self::draw_jurors(&(seed, id).encode(), &exclude);
            for juror in drawn {
                Operators::<T>::mutate(&juror, |entry| {
                    if let Some(op) = entry {
                        op.juries = op.juries.saturating_add(1);
                    }
                });
                if challenge
                    .jury
                    .try_push(JurorVote { juror, fraud: None })
                    .is_err()
                {
                    break;
                }
            }
            let jurors = JurorsOf::<T>::truncate_from(
                challenge
                    .jury
                    .iter()
                    .map(|seat| seat.juror.clone())
                    .collect(),
            );
            let job = challenge.job;
            Challenges::<T>::insert(id, challenge);
            Self::deposit_event(Event::JuryDrawn {
                challenge: id,
                job,
                jurors,
            });
        }

        /// At most [`Config::JurySize`] operators of the juror pool (none in `exclude`, none
        /// without stake), stake-weighted without replacement: round `r` takes the point
        /// `blake2_256(seed ++ SCALE(r))` (its low 16 bytes) modulo the remaining stake.
        fn draw_jurors(seed: &[u8], exclude: &[T::AccountId]) -> Vec<T::AccountId> {
            let mut candidates: Vec<(T::AccountId, Balance)> = JurorPool::<T>::get()
                .into_iter()
                .filter(|(who, stake)| !exclude.contains(who) && *stake > 0)
                .collect();
            let mut total = candidates
                .iter()
                .fold(0u128, |sum, (_, stake)| sum.saturating_add(*stake));
            let size = T::JurySize::get().min(MAX_JURY) as usize;
            let mut drawn = Vec::with_capacity(size);
            let mut round: u32 = 0;
            while drawn.len() < size && total > 0 {
                let mut material = seed.to_vec();
                round.encode_to(&mut material);
                let digest = sp_io::hashing::blake2_256(&material);
                let mut low = [0u8; 16];
                low.copy_from_slice(&digest[..16]);
                let mut point = u128::from_le_bytes(low) % total;
                let index = candidates
                    .iter()
                    .position(|(_, stake)| {
                        if point < *stake {
                            true
                        } else {
                            point = point.saturating_sub(*stake);
                            false
                        }
                    })
                    .unwrap_or(candidates.len().saturating_sub(1));
                if index >= candidates.len() {
                    break;
                }
                let (juror, stake) = candidates.swap_remove(index);
                total = total.saturating_sub(stake);
                round = round.saturating_add(1);
                drawn.push(juror);
            }
            drawn
        }

        /// Removes challenge `id` (already settled in funds) from storage, its job's open list
        /// and its jurors' duties; the job is `Proven` again when no challenge is left.
        fn detach(id: ChallengeId, challenge: &ChallengeOf<T>) -> DispatchResult {
            Self::release_jurors(&challenge.jury);
            Challenges::<T>::remove(id);
            PendingDraws::<T>::mutate(|pending| pending.retain(|c| *c != id));
            Jobs::<T>::try_mutate(challenge.job, |entry| {
                let info = entry.as_mut().ok_or(Error::<T>::JobNotFound)?;
                if let JobStatus::Challenged {
                    operator,
                    challenge_end,
                    open,
                } = &mut info.status
                {
                    open.retain(|c| *c != id);
                    if open.is_empty() {
                        info.status = JobStatus::Proven {
                            operator: operator.clone(),
                            challenge_end: *challenge_end,
                        };
                    }
                }
                Ok(())
            })
        }

        /// The proof holds against challenge `id`: its bond goes to the treasury.
        fn dismiss(id: ChallengeId) -> DispatchResult {
            let challenge = Challenges::<T>::get(id).ok_or(Error::<T>::ChallengeNotFound)?;
            let slashed = Self::slash(
                HoldReason::ChallengeBond,
                &challenge.challenger,
                challenge.bond,
                &T::Treasury::get(),
            )?;
            Self::detach(id, &challenge)?;
            Self::deposit_event(Event::ChallengeDismissed {
                job: challenge.job,
                challenge: id,
                challenger: challenge.challenger,
                slashed,
            });
            Ok(())
        }

        /// Challenge `id` proved the fraud: every open challenge of the job closes with its bond
        /// returned; the prover's whole stake is slashed ([`Config::ChallengerShare`] to this
        /// challenger, the rest to the treasury) and it is deregistered; the adapter is rejected
        /// (freeing its hash) and the budget returned to the developer.
        fn prove_fraud(id: ChallengeId) -> DispatchResult {
            let winner = Challenges::<T>::get(id).ok_or(Error::<T>::ChallengeNotFound)?;
            let job = winner.job;
            let info = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
            let JobStatus::Challenged { operator, open, .. } = info.status.clone() else {
                return Err(Error::<T>::NotChallenged.into());
            };
            for other in open {
                let Some(challenge) = Challenges::<T>::take(other) else {
                    continue;
                };
                Self::release_jurors(&challenge.jury);
                let returned = T::Currency::release(
                    &HoldReason::ChallengeBond.into(),
                    &challenge.challenger,
                    challenge.bond,
                    Precision::BestEffort,
                )?;
                PendingDraws::<T>::mutate(|pending| pending.retain(|c| *c != other));
                if other != id {
                    Self::deposit_event(Event::ChallengeReleased {
                        job,
                        challenge: other,
                        challenger: challenge.challenger,
                        returned,
                    });
                }
            }
            let op = Operators::<T>::take(&operator).ok_or(Error::<T>::NotOperator)?;
            WorkerKeys::<T>::remove(op.worker_key);
            Self::leave_juror_pool(&operator);
            if op.juries > 0 {
                Self::vacate_seats(&operator);
            }
            let to_challenger = Self::slash(
                HoldReason::OperatorStake,
                &operator,
                T::ChallengerShare::get().mul_floor(op.stake),
                &winner.challenger,
            )?;
            let to_treasury = Self::slash(
                HoldReason::OperatorStake,
                &operator,
                op.stake.saturating_sub(to_challenger),
                &T::Treasury::get(),
            )?;
            let refunded = Self::release_budget(&info)?;
            T::Models::reject(info.model)?;
            Self::remove_job(job, &info);
            Self::deposit_event(Event::FraudProven {
                job,
                challenge: id,
                operator,
                challenger: winner.challenger,
                to_challenger,
                to_treasury,
                refunded,
            });
            Ok(())
        }

        /// Takes a prover found fraudulent off the juries it sits on: it judges no one any more,
        /// and its seat count (which leaves with its registration) cannot fall behind the seats
        /// it holds if it registers again (found by the fuzzer). Walks the open challenges, only
        /// when it sits on some; each open challenge holds a bond.
        fn vacate_seats(who: &T::AccountId) {
            let seated: Vec<(ChallengeId, ChallengeOf<T>)> = Challenges::<T>::iter()
                .filter(|(_, challenge)| challenge.jury.iter().any(|seat| seat.juror == *who))
                .collect();
            for (id, mut challenge) in seated {
                challenge.jury.retain(|seat| seat.juror != *who);
                Challenges::<T>::insert(id, challenge);
            }
        }

        /// A juror's seat on a challenge is over.
        fn release_jurors(jury: &Jury<T::AccountId>) {
            for seat in jury.iter() {
                Operators::<T>::mutate(&seat.juror, |entry| {
                    if let Some(op) = entry {
                        op.juries = op.juries.saturating_sub(1);
                    }
                });
            }
        }

        /// Slashes [`Config::JurorAbsenceSlash`] of a juror's stake to the treasury and takes it
        /// out of the juror pool; returns the amount slashed (nothing if it is no operator any
        /// more, e.g. found fraudulent meanwhile).
        fn punish_absence(juror: &T::AccountId) -> Result<Balance, DispatchError> {
            Self::leave_juror_pool(juror);
            let Some(mut op) = Operators::<T>::get(juror) else {
                return Ok(0);
            };
            let slashed = Self::slash(
                HoldReason::OperatorStake,
                juror,
                T::JurorAbsenceSlash::get().mul_floor(op.stake),
                &T::Treasury::get(),
            )?;
            op.stake = op.stake.saturating_sub(slashed);
            Operators::<T>::insert(juror, op);
            Ok(slashed)
        }

        fn leave_juror_pool(who: &T::AccountId) {
            JurorPool::<T>::mutate(|pool| pool.retain(|(juror, _)| juror != who));
        }

        /// Keeps a pool member's draw weight equal to its stake; below the minimum stake it
        /// leaves the pool.
        fn sync_juror_stake(who: &T::AccountId, stake: Balance) {
            JurorPool::<T>::mutate(|pool| {
                if stake < T::MinOperatorStake::get() {
                    pool.retain(|(juror, _)| juror != who);
                } else if let Some(entry) = pool.iter_mut().find(|(juror, _)| juror == who) {
                    entry.1 = stake;
                }
            });
        }

        /// Checks every invariant listed in the crate docs.
        #[cfg(any(feature = "try-runtime", feature = "std"))]
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            use alloc::collections::btree_map::BTreeMap;
            use frame_support::traits::fungible::InspectHold;

            fn held<T: Config>(reason: HoldReason, who: &T::AccountId) -> Balance {
                T::Currency::balance_on_hold(&reason.into(), who)
            }

            let mut budgets: BTreeMap<T::AccountId, Balance> = BTreeMap::new();
            let mut bonds: BTreeMap<T::AccountId, Balance> = BTreeMap::new();
            let mut seats: BTreeMap<T::AccountId, u32> = BTreeMap::new();
            let mut open_challenges = 0usize;
            let next_challenge = NextChallengeId::<T>::get();
            let mut challenges = 0usize;
            for (id, challenge) in Challenges::<T>::iter() {
                challenges = challenges.saturating_add(1);
                ensure!(
                    id < next_challenge,
                    "challenge id not below NextChallengeId"
                );
                let listed = Jobs::<T>::get(challenge.job).is_some_and(|info| {
                    matches!(info.status, JobStatus::Challenged { open, .. } if open.contains(&id))
                });
                ensure!(listed, "a challenge is not open on its job");
                let bond = bonds.entry(challenge.challenger.clone()).or_default();
                *bond = bond.saturating_add(challenge.bond);
                for (i, seat) in challenge.jury.iter().enumerate() {
                    ensure!(
                        seat.juror != challenge.challenger,
                        "a challenger sits on its own jury"
                    );
                    ensure!(
                        challenge
                            .jury
                            .iter()
                            .skip(i + 1)
                            .all(|s| s.juror != seat.juror),
                        "a juror sits twice on one jury"
                    );
                    let count = seats.entry(seat.juror.clone()).or_default();
                    *count = count.saturating_add(1);
                }
            }
            for id in PendingDraws::<T>::get() {
                let waiting = Challenges::<T>::get(id).is_some_and(|c| c.jury.is_empty());
                ensure!(
                    waiting,
                    "a pending draw is not an open challenge without a jury"
                );
            }
            ensure!(
                !ChallengePeriod::<T>::get().is_zero() && !VotePeriod::<T>::get().is_zero(),
                "a challenge or vote period of zero blocks"
            );
            let pool = JurorPool::<T>::get();
            for (i, (juror, stake)) in pool.iter().enumerate() {
                ensure!(
                    pool.iter().skip(i + 1).all(|(other, _)| other != juror),
                    "an operator is twice in the juror pool"
                );
                let op = Operators::<T>::get(juror).ok_or("a juror in the pool is no operator")?;
                ensure!(
                    op.stake == *stake,
                    "a juror's draw weight differs from its stake"
                );
            }
            let next = NextJobId::<T>::get();
            let mut jobs = 0usize;
            for (id, info) in Jobs::<T>::iter() {
                jobs = jobs.saturating_add(1);
                ensure!(id < next, "job id not below NextJobId");
                ensure!(
                    JobsByHyperparameters::<T>::contains_key(info.hyperparameters_hash, id),
                    "job not indexed by its hyper-parameters hash"
                );
                let budget = budgets.entry(info.developer.clone()).or_default();
                *budget = budget.saturating_add(info.budget);
                let worker = match &info.status {
                    JobStatus::Open => None,
                    JobStatus::Claimed { operator, .. } => Some(operator),
                    JobStatus::Proven { operator, .. } => Some(operator),
                    JobStatus::Challenged {
                        operator,
                        challenge_end,
                        open,
                    } => {
                        ensure!(!open.is_empty(), "a challenged job with no open challenge");
                        for challenge in open.iter() {
                            let found = Challenges::<T>::get(challenge)
                                .ok_or("an open challenge of a job is not stored")?;
                            ensure!(found.job == id, "a job lists another job's challenge");
                            ensure!(
                                found.vote_end <= *challenge_end,
                                "a challenge window closes before a pending vote ends"
                            );
                            ensure!(
                                found.challenger != *operator,
                                "a prover challenges its own proof"
                            );
                        }
                        open_challenges = open_challenges.saturating_add(open.len());
                        Some(operator)
                    }
                };
                let proven = matches!(
                    info.status,
                    JobStatus::Proven { .. } | JobStatus::Challenged { .. }
                );
                ensure!(
                    info.proof_hash.is_some() == proven,
                    "proof hash does not match the job status"
                );
                if let Some(operator) = worker {
                    let current = Operators::<T>::get(operator).and_then(|op| op.current_job);
                    ensure!(
                        current == Some(id),
                        "a job's operator does not have it as its current job"
                    );
                }
            }
            for (developer, budget) in budgets {
                ensure!(
                    held::<T>(HoldReason::JobBudget, &developer) == budget,
                    "held budget differs from jobs"
                );
            }
            for (challenger, bond) in bonds {
                ensure!(
                    held::<T>(HoldReason::ChallengeBond, &challenger) == bond,
                    "held bond differs from challenges"
                );
            }
            let mut operators = 0usize;
            for (who, op) in Operators::<T>::iter() {
                operators = operators.saturating_add(1);
                ensure!(
                    held::<T>(HoldReason::OperatorStake, &who) == op.stake,
                    "held stake differs from record"
                );
                ensure!(
                    WorkerKeys::<T>::get(op.worker_key) == Some(who.clone()),
                    "worker key not indexed"
                );
                ensure!(
                    op.juries == seats.get(&who).copied().unwrap_or(0),
                    "an operator's jury count differs from the juries it sits on"
                );
                if let Some(job) = op.current_job {
                    let status = Jobs::<T>::get(job).map(|info| info.status);
                    let works_on_it = match status {
                        Some(JobStatus::Claimed { operator, .. })
                        | Some(JobStatus::Proven { operator, .. })
                        | Some(JobStatus::Challenged { operator, .. }) => operator == who,
                        _ => false,
                    };
                    ensure!(
                        works_on_it,
                        "an operator's current job is not claimed or proven by it"
                    );
                }
            }
            ensure!(
                WorkerKeys::<T>::iter().count() == operators,
                "stale worker key entries"
            );
            ensure!(
                open_challenges == challenges,
                "stored challenges differ from the jobs' open challenges"
            );
            ensure!(
                JobsByHyperparameters::<T>::iter_keys().count() == jobs,
                "stale hyper-parameters index entries"
            );
            for (job, claimers) in ExpiredClaimers::<T>::iter() {
                ensure!(
                    Jobs::<T>::contains_key(job),
                    "expired claimers remembered for a job that is gone"
                );
                ensure!(!claimers.is_empty(), "an empty expired-claimers entry");
                let claimed_by_one_of_them = Jobs::<T>::get(job).is_some_and(|info| {
                    matches!(info.status, JobStatus::Claimed { operator, .. } if claimers.contains(&operator))
                });
                ensure!(
                    !claimed_by_one_of_them,
                    "a job is claimed again by an operator that let its claim expire"
                );
            }
            ensure!(
                MaxRegressionPpm::<T>::get() <= attribution_primitives::PARTS_PER_MILLION,
                "regression bound above 1 000 000 ppm"
            );
            Ok(())
        }
    }

    impl<T: Config> attribution_primitives::traits::JurorPool<T::AccountId> for Pallet<T> {
        fn draw(seed: &[u8], exclude: &[T::AccountId]) -> Vec<T::AccountId> {
            let drawn = Self::draw_jurors(seed, exclude);
            for juror in &drawn {
                LentSeats::<T>::mutate(juror, |seats| *seats = seats.saturating_add(1));
            }
            drawn
        }

        fn release(juror: &T::AccountId) {
            LentSeats::<T>::mutate_exists(juror, |seats| {
                *seats = seats.map(|n| n.saturating_sub(1)).filter(|n| *n > 0);
            });
        }

        fn punish_absence(juror: &T::AccountId) -> Result<Balance, DispatchError> {
            Self::punish_absence(juror)
        }

        fn stake(operator: &T::AccountId) -> Balance {
            Operators::<T>::get(operator).map_or(0, |op| op.stake)
        }

        fn slash(
            operator: &T::AccountId,
            amount: Balance,
            to: &T::AccountId,
        ) -> Result<Balance, DispatchError> {
            let Some(mut op) = Operators::<T>::get(operator) else {
                return Ok(0);
            };
            let slashed = Self::slash(HoldReason::OperatorStake, operator, amount, to)?;
            op.stake = op.stake.saturating_sub(slashed);
            Self::sync_juror_stake(operator, op.stake);
            Operators::<T>::insert(operator, op);
            Ok(slashed)
        }

        fn vote_period() -> attribution_primitives::BlockNumber {
            VotePeriod::<T>::get().saturated_into()
        }
    }

    impl<T: Config> OperatorsInspect<T::AccountId> for Pallet<T> {
        fn worker_key(operator: &T::AccountId) -> Option<sr25519::Public> {
            Operators::<T>::get(operator).map(|op| op.worker_key)
        }

        /// `None` also for an operator slashed below [`Config::MinOperatorStake`]: it settles no
        /// paid inference until it registers again with a full stake. Otherwise every later
        /// proven misattribution would cost it less (a share of what is left), and steering
        /// would pay once the stake is spent.
        fn inference_price(operator: &T::AccountId) -> Option<Balance> {
            Operators::<T>::get(operator)
                .filter(|op| op.stake >= T::MinOperatorStake::get())
                .map(|op| op.price_per_token)
        }
    }
}
