//! Configuration of the AI lifecycle pallets: datanets → models and compute → attribution →
//! rewards. Each names the others it needs through the traits in `attribution-primitives`.

use frame_support::{
    parameter_types,
    traits::{ConstU128, ConstU32},
    PalletId,
};
use frame_system::EnsureRoot;
use sp_runtime::Perbill;

use super::TreasuryAccount;
use crate::{
    AccountId, Balance, Balances, BlockNumber, Compute, Datanets, Models, Rewards, Runtime,
    RuntimeHoldReason, DAYS, HOURS, MINUTES, OPEN,
};

parameter_types! {
    /// Held while a datanet exists: pays for its storage.
    pub const DatanetDeposit: Balance = 10 * OPEN;
    /// The least bond an owner may ask per contribution.
    pub const MinContributionBond: Balance = OPEN;
    /// 5 MiB per contribution: its hex form still fits the node's default 15 MB RPC request cap.
    pub const MaxContributionBytes: u64 = 5 * 1024 * 1024;
    /// Daily upload limits reset every this many blocks.
    pub const BlocksPerDay: BlockNumber = DAYS;
    /// A version freezes at most this many contributions (bounds `publish_version`'s weight).
    pub const MaxContributionsPerVersion: u32 = 1024;
    /// No datanet may let one account announce more than 50 MiB a day…
    pub const MaxDailyBytes: u64 = 50 * 1024 * 1024;
    /// …or more than 200 contributions a day.
    pub const MaxDailyFiles: u32 = 200;
    /// No datanet may ask a bond above 1,000 OPEN.
    pub const MaxBond: Balance = 1_000 * OPEN;
    /// One OPEN per MiB stored, held for as long as the blob is kept (all nodes keep it): a 5 MiB
    /// contribution holds 5 OPEN beside its bond.
    pub const StorageDepositPerByte: Balance = OPEN / (1024 * 1024);
    /// One account may have at most 20 MiB pending over all datanets (four of the largest
    /// contributions)…
    pub const MaxPendingBytesPerAccount: u64 = 20 * 1024 * 1024;
    /// …and one datanet at most 200 MiB pending over all contributors.
    pub const MaxPendingBytesPerDatanet: u64 = 200 * 1024 * 1024;
    /// A contribution nobody curates for a week may be expired by anyone (bond returned).
    pub const PendingTimeout: BlockNumber = 7 * DAYS;
    /// A datanet's owner may have contributed at most a fifth of a version's weight.
    pub const MaxOwnerShare: Perbill = Perbill::from_percent(20);
}

impl pallet_datanets::Config for Runtime {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Treasury = TreasuryAccount;
    type DatanetDeposit = DatanetDeposit;
    type MinContributionBond = MinContributionBond;
    type MaxContributionBytes = MaxContributionBytes;
    type BlocksPerDay = BlocksPerDay;
    type MaxContributionsPerVersion = MaxContributionsPerVersion;
    type MaxDailyBytes = MaxDailyBytes;
    type MaxDailyFiles = MaxDailyFiles;
    type MaxBond = MaxBond;
    type StorageDepositPerByte = StorageDepositPerByte;
    type MaxPendingBytesPerAccount = MaxPendingBytesPerAccount;
    type MaxPendingBytesPerDatanet = MaxPendingBytesPerDatanet;
    type PendingTimeout = PendingTimeout;
    type MaxOwnerShare = MaxOwnerShare;
    type WeightInfo = pallet_datanets::weights::SubstrateWeight<Runtime>;
}

impl pallet_models::Config for Runtime {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type BaseModelDeposit = ConstU128<{ 10 * OPEN }>;
    type WeightInfo = pallet_models::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
    /// Share of an operator's stake slashed when its claim on a job times out.
    pub const ClaimTimeoutSlash: Perbill = Perbill::from_percent(10);
    /// Share of a fraudulent prover's stake that goes to the challenger whose jury found the
    /// fraud; the other 90 % go to the treasury, so a prover challenging its own proof through
    /// a sybil loses 90 % of its stake.
    pub const ChallengerShare: Perbill = Perbill::from_percent(10);
    /// Share of a juror's stake slashed when it did not vote on a challenge that timed out.
    pub const JurorAbsenceSlash: Perbill = Perbill::from_percent(5);
    /// Share of a training budget paid to the datanet version's contributors.
    pub const ContributorShare: Perbill = Perbill::from_percent(30);
    /// How long a claimed job may stay unproven.
    pub const ClaimTimeout: BlockNumber = 2 * HOURS;
    /// The least time a training needs: a job is posted and claimed only with at least this
    /// left before its deadline (the e2e stories and the studio's default give 1 000 blocks,
    /// about 33 minutes).
    pub const MinClaimWindow: BlockNumber = 10 * MINUTES;
    /// How long a training proof may be challenged before it settles, until governance sets
    /// another period: six hours, time to fetch the adapter and re-run
    /// `attribution-worker verify` (the dev and local presets shorten it to a minute).
    pub const DefaultChallengePeriod: BlockNumber = 6 * HOURS;
    /// How long a jury has to vote once drawn: two hours, time for each juror's worker to re-run
    /// the verification.
    pub const DefaultVotePeriod: BlockNumber = 2 * HOURS;
    /// A new version of an adapter may have a held-out loss up to 5 % above the version it
    /// replaces (evaluation noise on a different held-out split), until governance sets another
    /// bound.
    pub const DefaultMaxRegressionPpm: u32 = 50_000;
}

impl pallet_compute::Config for Runtime {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Models = Models;
    type Datanets = Datanets;
    type Rewards = Rewards;
    /// Juries resolve challenges; sudo may still decide one as a fallback until governance
    /// exists.
    type ChallengeOrigin = EnsureRoot<AccountId>;
    /// Sudo sets the regression bound of new adapter versions until governance exists.
    type GovernanceOrigin = EnsureRoot<AccountId>;
    type DefaultMaxRegressionPpm = DefaultMaxRegressionPpm;
    type Treasury = TreasuryAccount;
    type MinOperatorStake = ConstU128<{ 100 * OPEN }>;
    type MinJobBudget = ConstU128<{ OPEN }>;
    type ClaimTimeout = ClaimTimeout;
    type ClaimTimeoutSlash = ClaimTimeoutSlash;
    type MinClaimWindow = MinClaimWindow;
    type DefaultChallengePeriod = DefaultChallengePeriod;
    type DefaultVotePeriod = DefaultVotePeriod;
    type JurySize = ConstU32<5>;
    type JurorAbsenceSlash = JurorAbsenceSlash;
    type ChallengeBond = ConstU128<{ 10 * OPEN }>;
    type ChallengerShare = ChallengerShare;
    type ContributorShare = ContributorShare;
    type WeightInfo = pallet_compute::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = crate::benchmarks::helpers::Lifecycle;
}

parameter_types! {
    pub const RewardsPalletId: PalletId = PalletId(*b"ac/rewrd");
    pub const AttributionPalletId: PalletId = PalletId(*b"ac/attrb");
    /// A withdrawal of inference credit is announced this long ahead (10 minutes), until
    /// governance sets another delay (the dev and local presets shorten it to a minute).
    pub const DefaultCreditWithdrawalDelay: BlockNumber = 10 * MINUTES;
    /// Governance may lengthen the withdrawal delay to a day at most: credit is never held
    /// longer after its owner asks for it.
    pub const MaxCreditWithdrawalDelay: BlockNumber = DAYS;
    /// An allowance stays chargeable by its operator this long after the user announces taking
    /// it back (10 minutes), so a worker that served against it can always settle first.
    pub const AllowanceReductionDelay: BlockNumber = 10 * MINUTES;
    /// Batch commitments kept on chain; older ones are pruned one per new batch.
    pub const BatchRetention: u64 = 100_000;
    /// The least fee of an inference record: one token at the devnet's advertised price
    /// (0.000001 OPEN), so records are never free to store and the treasury's rounded-up share
    /// is always paid (security review L1).
    pub const MinRecordFee: Balance = OPEN / 1_000_000;
    /// How long a settled record may be challenged: six hours, time for a user (or an auditor
    /// the user lets in) to notice a misattribution and for jurors to re-run it (the dev and
    /// local presets shorten it).
    pub const DefaultAttributionChallengeWindow: BlockNumber = 6 * HOURS;
    /// Share of an operator's stake slashed for a proven misattribution, at least what the
    /// attribution diverted: 10 % of the 100 OPEN minimum stake is worth far more than the
    /// contributors' part of any record.
    pub const MisattributionSlash: Perbill = Perbill::from_percent(10);
}

impl pallet_rewards::Config for Runtime {
    type Currency = Balances;
    type Datanets = Datanets;
    type PalletId = RewardsPalletId;
    type WeightInfo = pallet_rewards::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = crate::benchmarks::helpers::Lifecycle;
}

impl pallet_attribution::Config for Runtime {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    /// Attribution challenges are decided by the compute pallet's juror pool.
    type Jurors = Compute;
    type MinRecordFee = MinRecordFee;
    type DefaultChallengeWindow = DefaultAttributionChallengeWindow;
    type ChallengeBond = ConstU128<{ 10 * OPEN }>;
    /// A challenge nobody on the jury decided costs its challenger 1 OPEN.
    type TimeoutFee = ConstU128<{ OPEN }>;
    type MisattributionSlash = MisattributionSlash;
    /// As for training fraud: 10 % of the slash (after the pool is repaid) to the challenger,
    /// the rest to the treasury, so steering and challenging oneself through a sybil loses.
    type ChallengerShare = ChallengerShare;
    type Rewards = Rewards;
    type Datanets = Datanets;
    type Models = Models;
    type Operators = Compute;
    type Treasury = TreasuryAccount;
    type PalletId = AttributionPalletId;
    type DefaultWithdrawalDelay = DefaultCreditWithdrawalDelay;
    type MaxWithdrawalDelay = MaxCreditWithdrawalDelay;
    type AllowanceDelay = AllowanceReductionDelay;
    type BatchRetention = BatchRetention;
    /// Sudo sets the fee split and the withdrawal delay until governance exists.
    type AdminOrigin = EnsureRoot<AccountId>;
    type WeightInfo = pallet_attribution::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = crate::benchmarks::helpers::Lifecycle;
}
