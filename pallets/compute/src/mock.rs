//! A runtime with balances, the real model registry and compute, plus stand-ins for
//! pallet-datanets (versions the tests publish directly) and pallet-rewards (credits recorded and
//! paid into a pot account).

use crate::{self as pallet_compute, Endpoint, Hardware, PoolId};
use attribution_primitives::{
    models::{Architecture, BaseModel, Cid, License},
    traits::{DatanetsInspect, RewardSource, RewardsCredit, VersionMember, VersionSummary},
    Balance, ContributionId, DatanetId, Hash, VersionIndex,
};
use frame_support::{
    derive_impl, parameter_types,
    traits::{fungible::Mutate, tokens::Preservation, ConstU128, ConstU32, ConstU64},
};
use frame_system::EnsureRoot;
use sp_core::{sr25519, Pair};
use sp_keystore::{testing::MemoryKeystore, KeystoreExt};
use sp_runtime::{BuildStorage, DispatchResult, Perbill};
use std::{cell::RefCell, collections::BTreeMap};

pub type AccountId = u64;
type Block = frame_system::mocking::MockBlock<Test>;

pub const ED: Balance = 1;
pub const MIN_STAKE: Balance = 1_000;
pub const MIN_BUDGET: Balance = 100;
pub const CLAIM_TIMEOUT: u64 = 10;
/// The least time a training needs: claims leave at least this before the deadline.
pub const MIN_CLAIM_WINDOW: u64 = 5;
pub const CHALLENGE_PERIOD: u64 = 5;
pub const VOTE_PERIOD: u64 = 4;
pub const JURY_SIZE: u32 = 3;
pub const BOND: Balance = 200;
pub const MODEL_DEPOSIT: Balance = 50;
pub const FUNDS: Balance = 100_000;
/// The default regression bound of new adapter versions: 5 %.
pub const MAX_REGRESSION: u32 = 50_000;

/// Posts jobs.
pub const DEV: AccountId = 1;
/// Owns the base model.
pub const MODEL_OWNER: AccountId = 2;
/// Operators.
pub const OP_A: AccountId = 10;
pub const OP_B: AccountId = 11;
pub const OP_C: AccountId = 12;
pub const OP_D: AccountId = 13;
pub const OP_E: AccountId = 14;
/// Funded, but no operator.
pub const STRANGER: AccountId = 20;
/// Owns the contributions of the published version.
pub const CONTRIBUTOR: AccountId = 30;
pub const TREASURY: AccountId = 99;
/// Where the rewards stand-in moves credited OPEN.
pub const REWARDS_POT: AccountId = 98;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Models: pallet_models,
        Compute: pallet_compute,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type Balance = Balance;
    type ExistentialDeposit = ConstU128<ED>;
    type AccountStore = System;
}

impl pallet_models::Config for Test {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type BaseModelDeposit = ConstU128<MODEL_DEPOSIT>;
    type WeightInfo = ();
}

parameter_types! {
    pub const Treasury: AccountId = TREASURY;
    pub const ClaimTimeoutSlash: Perbill = Perbill::from_percent(10);
    pub const ChallengerShare: Perbill = Perbill::from_percent(10);
    pub const JurorAbsenceSlash: Perbill = Perbill::from_percent(5);
    pub const ContributorShare: Perbill = Perbill::from_percent(30);
}

impl pallet_compute::Config for Test {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Models = Models;
    type Datanets = MockDatanets;
    type Rewards = MockRewards;
    type ChallengeOrigin = EnsureRoot<AccountId>;
    type GovernanceOrigin = EnsureRoot<AccountId>;
    type DefaultMaxRegressionPpm = ConstU32<MAX_REGRESSION>;
    type Treasury = Treasury;
    type MinOperatorStake = ConstU128<MIN_STAKE>;
    type MinJobBudget = ConstU128<MIN_BUDGET>;
    type ClaimTimeout = ConstU64<CLAIM_TIMEOUT>;
    type ClaimTimeoutSlash = ClaimTimeoutSlash;
    type MinClaimWindow = ConstU64<MIN_CLAIM_WINDOW>;
    type DefaultChallengePeriod = ConstU64<CHALLENGE_PERIOD>;
    type DefaultVotePeriod = ConstU64<VOTE_PERIOD>;
    type JurySize = ConstU32<JURY_SIZE>;
    type JurorAbsenceSlash = JurorAbsenceSlash;
    type ChallengeBond = ConstU128<BOND>;
    type ChallengerShare = ChallengerShare;
    type ContributorShare = ContributorShare;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = MockDatanets;
}

/// A published version as the stand-in keeps it.
struct MockVersion {
    root: Hash,
    members: BTreeMap<ContributionId, AccountId>,
}

/// A credit the rewards stand-in received.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Credit {
    Pool {
        payer: AccountId,
        pool: PoolId,
        amount: Balance,
    },
    Account {
        payer: AccountId,
        who: AccountId,
        source: RewardSource,
        amount: Balance,
    },
}

thread_local! {
    static VERSIONS: RefCell<BTreeMap<PoolId, MockVersion>> = const { RefCell::new(BTreeMap::new()) };
    static CREDITS: RefCell<Vec<Credit>> = const { RefCell::new(Vec::new()) };
}

/// Stand-in for pallet-datanets.
pub struct MockDatanets;

impl MockDatanets {
    /// Publishes `pool` with Merkle root `root` and the given contributions, all by [`CONTRIBUTOR`].
    pub fn publish(
        pool: PoolId,
        root: Hash,
        contributions: impl IntoIterator<Item = ContributionId>,
    ) {
        let members = contributions
            .into_iter()
            .map(|id| (id, CONTRIBUTOR))
            .collect();
        VERSIONS.with(|versions| {
            versions
                .borrow_mut()
                .insert(pool, MockVersion { root, members })
        });
    }
}

impl DatanetsInspect<AccountId> for MockDatanets {
    fn version(datanet: DatanetId, version: VersionIndex) -> Option<VersionSummary> {
        VERSIONS.with(|versions| {
            versions
                .borrow()
                .get(&PoolId { datanet, version })
                .map(|v| VersionSummary {
                    merkle_root: v.root,
                    contributions: v.members.len() as u32,
                    total_weight: v.members.len() as u128,
                })
        })
    }

    fn member(
        datanet: DatanetId,
        version: VersionIndex,
        contribution: ContributionId,
    ) -> Option<VersionMember<AccountId>> {
        VERSIONS.with(|versions| {
            versions
                .borrow()
                .get(&PoolId { datanet, version })
                .and_then(|v| v.members.get(&contribution).copied())
                .map(|contributor| VersionMember {
                    contributor,
                    weight: 1,
                })
        })
    }

    fn points(datanet: DatanetId, version: VersionIndex, who: &AccountId) -> u128 {
        VERSIONS.with(|versions| {
            versions
                .borrow()
                .get(&PoolId { datanet, version })
                .map(|v| v.members.values().filter(|c| *c == who).count() as u128)
                .unwrap_or(0)
        })
    }
}

/// Stand-in for pallet-rewards: moves credited OPEN to [`REWARDS_POT`] and records the credit.
pub struct MockRewards;

impl MockRewards {
    pub fn credits() -> Vec<Credit> {
        CREDITS.with(|credits| credits.borrow().clone())
    }

    fn take(payer: &AccountId, amount: Balance, credit: Credit) -> DispatchResult {
        <Balances as Mutate<AccountId>>::transfer(
            payer,
            &REWARDS_POT,
            amount,
            Preservation::Preserve,
        )?;
        CREDITS.with(|credits| credits.borrow_mut().push(credit));
        Ok(())
    }
}

impl RewardsCredit<AccountId, Balance> for MockRewards {
    fn credit_pool(payer: &AccountId, pool: PoolId, amount: Balance) -> DispatchResult {
        Self::take(
            payer,
            amount,
            Credit::Pool {
                payer: *payer,
                pool,
                amount,
            },
        )
    }

    fn credit_account(
        payer: &AccountId,
        who: &AccountId,
        source: RewardSource,
        amount: Balance,
    ) -> DispatchResult {
        Self::take(
            payer,
            amount,
            Credit::Account {
                payer: *payer,
                who: *who,
                source,
                amount,
            },
        )
    }
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId> for MockDatanets {
    fn base_model(owner: &AccountId, weights_hash: Hash) -> attribution_primitives::ModelId {
        Balances::set_balance(owner, FUNDS);
        let id = pallet_models::NextModelId::<Test>::get();
        Models::register_base_model(
            RuntimeOrigin::signed(*owner),
            model_name(b"bench"),
            base_model(weights_hash),
        )
        .expect("the owner is funded and the model is valid");
        id
    }

    fn datanet_version(
        _contributor: &AccountId,
        contributions: u32,
    ) -> (PoolId, Hash, Vec<ContributionId>) {
        let ids: Vec<ContributionId> = (1..=ContributionId::from(contributions)).collect();
        Self::publish(POOL, ROOT, ids.clone());
        (POOL, ROOT, ids)
    }
}

/// The version jobs train on in the tests, and its root.
pub const POOL: PoolId = PoolId {
    datanet: 3,
    version: 1,
};
pub const ROOT: Hash = Hash::repeat_byte(0x77);
/// The base model's weights hash.
pub const BASE_HASH: Hash = Hash::repeat_byte(0x11);
/// The hyper-parameters jobs are posted with.
pub const HYPER: Hash = Hash::repeat_byte(0x22);

pub fn base_model(weights_hash: Hash) -> BaseModel {
    BaseModel {
        architecture: Architecture {
            hidden_size: 576,
            intermediate_size: 1536,
            num_layers: 30,
            num_attention_heads: 9,
            num_key_value_heads: 3,
            vocab_size: 49_152,
            max_position_embeddings: 8192,
            rope_theta: 100_000,
        },
        parameters: 134_515_008,
        weights_hash,
        weights_cid: Cid::truncate_from(b"bafybase".to_vec()),
        tokenizer_hash: Hash::repeat_byte(0x12),
        license: License::truncate_from(b"apache-2.0".to_vec()),
    }
}

pub fn model_name(text: &[u8]) -> attribution_primitives::models::ModelName {
    attribution_primitives::models::ModelName::truncate_from(text.to_vec())
}

pub fn hardware() -> Hardware {
    Hardware {
        gpu_model: b"NVIDIA RTX 4090".to_vec().try_into().unwrap(),
        gpu_memory_mib: 24_576,
        gpu_count: 1,
    }
}

pub fn endpoint(url: &[u8]) -> Endpoint {
    Endpoint::truncate_from(url.to_vec())
}

/// The worker key pair of operator `seed` (held by the test, never by the chain).
pub fn worker(seed: u8) -> sr25519::Pair {
    sr25519::Pair::from_seed(&[seed; 32])
}

/// The genesis hash proofs are signed for: what frame-system's genesis build stores as block 0's
/// hash (`hash69`).
pub fn genesis() -> Hash {
    Hash::repeat_byte(69)
}

#[derive(Default)]
pub struct ExtBuilder;

impl ExtBuilder {
    pub fn build(self) -> sp_io::TestExternalities {
        VERSIONS.with(|versions| versions.borrow_mut().clear());
        CREDITS.with(|credits| credits.borrow_mut().clear());
        let mut storage = frame_system::GenesisConfig::<Test>::default()
            .build_storage()
            .unwrap();
        let funded = [
            DEV,
            MODEL_OWNER,
            OP_A,
            OP_B,
            OP_C,
            OP_D,
            OP_E,
            STRANGER,
            TREASURY,
            REWARDS_POT,
        ];
        pallet_balances::GenesisConfig::<Test> {
            balances: funded
                .iter()
                .map(|who| {
                    (
                        *who,
                        if *who == TREASURY || *who == REWARDS_POT {
                            ED
                        } else {
                            FUNDS
                        },
                    )
                })
                .collect(),
            ..Default::default()
        }
        .assimilate_storage(&mut storage)
        .unwrap();
        let mut ext = sp_io::TestExternalities::new(storage);
        ext.register_extension(KeystoreExt::new(MemoryKeystore::new()));
        ext.execute_with(|| System::set_block_number(1));
        ext
    }

    /// Runs `test`, then checks every invariant of compute and of the model registry.
    pub fn build_and_execute(self, test: impl FnOnce()) {
        self.build().execute_with(|| {
            test();
            Compute::do_try_state().expect("compute invariants hold after the test");
            Models::do_try_state().expect("model invariants hold after the test");
        })
    }
}

/// The events compute deposited, oldest first.
pub fn compute_events() -> Vec<pallet_compute::Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Compute(event) => Some(event),
            _ => None,
        })
        .collect()
}

pub fn free(who: AccountId) -> Balance {
    Balances::free_balance(who)
}

/// Moves to `block`, running compute's `on_initialize` in each block on the way with a parent
/// hash that differs per block (the juries' seed).
pub fn run_to(block: u64) {
    use frame_support::traits::Hooks;
    let mut now = System::block_number();
    while now < block {
        System::set_parent_hash(Hash::from(sp_io::hashing::blake2_256(&now.to_le_bytes())));
        now += 1;
        System::set_block_number(now);
        Compute::on_initialize(now);
    }
}
