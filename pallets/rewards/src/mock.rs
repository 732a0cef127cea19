//! A runtime with balances and rewards, and a stand-in for pallet-datanets whose published
//! versions the tests set directly.

use crate as pallet_rewards;
use attribution_primitives::{
    traits::{DatanetsInspect, PoolId, VersionMember, VersionSummary},
    Balance, ContributionId, DatanetId, VersionIndex,
};
use frame_support::{derive_impl, parameter_types, traits::ConstU128, PalletId};
use sp_runtime::BuildStorage;
use std::{cell::RefCell, collections::BTreeMap};

pub type AccountId = u64;
type Block = frame_system::mocking::MockBlock<Test>;

/// Existential deposit: large enough that tests can show a claim below it failing.
pub const ED: Balance = 10;
/// Pays every credit in the tests.
pub const PAYER: AccountId = 1;
pub const ALICE: AccountId = 10;
pub const BOB: AccountId = 11;
pub const CHARLIE: AccountId = 12;
/// Starts with no balance at all.
pub const NEWCOMER: AccountId = 13;
pub const PAYER_FUNDS: Balance = 1_000_000_000;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Rewards: pallet_rewards,
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

parameter_types! {
    pub const RewardsPalletId: PalletId = PalletId(*b"ac/rewrd");
}

impl pallet_rewards::Config for Test {
    type Currency = Balances;
    type Datanets = MockDatanets;
    type PalletId = RewardsPalletId;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = MockDatanets;
}

/// A published version as the stand-in keeps it: the total weight and each member's points.
#[derive(Default)]
struct MockVersion {
    total_weight: u128,
    points: BTreeMap<AccountId, u128>,
}

thread_local! {
    static VERSIONS: RefCell<BTreeMap<PoolId, MockVersion>> = const { RefCell::new(BTreeMap::new()) };
}

/// Stand-in for pallet-datanets.
pub struct MockDatanets;

impl MockDatanets {
    /// Publishes `pool`'s version with the given members and points.
    pub fn publish(pool: PoolId, members: &[(AccountId, u128)]) {
        let version = MockVersion {
            total_weight: members.iter().map(|(_, points)| points).sum(),
            points: members.iter().copied().collect(),
        };
        VERSIONS.with(|versions| versions.borrow_mut().insert(pool, version));
    }

    /// Makes the stand-in answer a member's points inconsistently with the version's total.
    pub fn set_points(pool: PoolId, who: AccountId, points: u128) {
        VERSIONS.with(|versions| {
            versions
                .borrow_mut()
                .entry(pool)
                .or_default()
                .points
                .insert(who, points)
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
                    merkle_root: Default::default(),
                    contributions: v.points.len() as u32,
                    total_weight: v.total_weight,
                })
        })
    }

    fn member(
        _: DatanetId,
        _: VersionIndex,
        _: ContributionId,
    ) -> Option<VersionMember<AccountId>> {
        None
    }

    fn points(datanet: DatanetId, version: VersionIndex, who: &AccountId) -> u128 {
        VERSIONS.with(|versions| {
            versions
                .borrow()
                .get(&PoolId { datanet, version })
                .and_then(|v| v.points.get(who).copied())
                .unwrap_or(0)
        })
    }
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId> for MockDatanets {
    fn create_pool(pool: PoolId, members: u32, who: &AccountId) {
        // Only the total and the claimant's points are ever read, so a pool of any size costs the
        // same to set up.
        let mut version = MockVersion {
            total_weight: u128::from(members),
            points: BTreeMap::new(),
        };
        version.points.insert(*who, 1);
        VERSIONS.with(|versions| versions.borrow_mut().insert(pool, version));
    }
}

/// The pool of datanet 0, version 1.
pub const POOL: PoolId = PoolId {
    datanet: 0,
    version: 1,
};
/// The pool of datanet 1, version 1.
pub const OTHER_POOL: PoolId = PoolId {
    datanet: 1,
    version: 1,
};

/// Builds the test externalities: accounts endowed at genesis and the pallet account.
pub struct ExtBuilder {
    endowed: Vec<(AccountId, Balance)>,
}

impl Default for ExtBuilder {
    fn default() -> Self {
        Self {
            endowed: vec![(PAYER, PAYER_FUNDS), (ALICE, ED), (BOB, ED), (CHARLIE, ED)],
        }
    }
}

impl ExtBuilder {
    pub fn build(self) -> sp_io::TestExternalities {
        VERSIONS.with(|versions| versions.borrow_mut().clear());
        let mut storage = frame_system::GenesisConfig::<Test>::default()
            .build_storage()
            .unwrap();
        pallet_balances::GenesisConfig::<Test> {
            balances: self.endowed,
            ..Default::default()
        }
        .assimilate_storage(&mut storage)
        .unwrap();
        pallet_rewards::GenesisConfig::<Test>::default()
            .assimilate_storage(&mut storage)
            .unwrap();
        let mut ext = sp_io::TestExternalities::new(storage);
        ext.execute_with(|| System::set_block_number(1));
        ext
    }

    /// Runs `test`, then checks every invariant of the pallet.
    pub fn build_and_execute(self, test: impl FnOnce()) {
        self.build().execute_with(|| {
            test();
            Rewards::do_try_state().expect("invariants hold after the test");
        })
    }
}

/// The events this pallet deposited, oldest first.
pub fn rewards_events() -> Vec<pallet_rewards::Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Rewards(event) => Some(event),
            _ => None,
        })
        .collect()
}

pub fn balance(who: AccountId) -> Balance {
    Balances::free_balance(who)
}
