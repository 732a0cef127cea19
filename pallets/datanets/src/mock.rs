//! A runtime with balances and datanets, small limits so every bound is reachable in a test.

use crate as pallet_datanets;
use crate::{DataKind, RuleOverrides};
use attribution_primitives::{Balance, ContributionId, DatanetId, Hash};
use frame_support::{
    assert_ok, derive_impl, parameter_types,
    traits::{ConstU128, ConstU32, ConstU64},
};
use sp_runtime::{BuildStorage, Perbill};

pub type AccountId = u64;
type Block = frame_system::mocking::MockBlock<Test>;

pub const ED: Balance = 1;
pub const OWNER: AccountId = 1;
pub const CURATOR: AccountId = 2;
pub const ALICE: AccountId = 10;
pub const BOB: AccountId = 11;
pub const CHARLIE: AccountId = 12;
/// Holds only the existential deposit: cannot pay a bond or a deposit.
pub const POOR: AccountId = 13;
pub const TREASURY: AccountId = 99;
pub const FUNDS: Balance = 100_000_000;

pub const DEPOSIT: Balance = 500;
pub const MIN_BOND: Balance = 10;
/// The largest `max_contribution_bytes` a datanet may set.
pub const MAX_BYTES_LIMIT: u64 = 8 * 1024 * 1024;
pub const BLOCKS_PER_DAY: u64 = 10;
pub const MAX_PER_VERSION: u32 = 4;
pub const MAX_DAILY_BYTES: u64 = 64 * 1024 * 1024;
pub const MAX_DAILY_FILES: u32 = 1000;
pub const MAX_BOND: Balance = 10_000;
/// One planck per byte: a contribution of `n` bytes holds `n` more.
pub const DEPOSIT_PER_BYTE: Balance = 1;
/// Room for two contributions of [`MAX_BYTES_LIMIT`].
pub const MAX_PENDING_PER_ACCOUNT: u64 = 16 * 1024 * 1024;
pub const MAX_PENDING_PER_DATANET: u64 = 24 * 1024 * 1024;
pub const PENDING_TIMEOUT: u64 = 50;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Datanets: pallet_datanets,
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
    pub const Treasury: AccountId = TREASURY;
    pub const MaxOwnerShare: Perbill = Perbill::from_percent(50);
}

impl pallet_datanets::Config for Test {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Treasury = Treasury;
    type DatanetDeposit = ConstU128<DEPOSIT>;
    type MinContributionBond = ConstU128<MIN_BOND>;
    type MaxContributionBytes = ConstU64<MAX_BYTES_LIMIT>;
    type BlocksPerDay = ConstU64<BLOCKS_PER_DAY>;
    type MaxContributionsPerVersion = ConstU32<MAX_PER_VERSION>;
    type MaxDailyBytes = ConstU64<MAX_DAILY_BYTES>;
    type MaxDailyFiles = ConstU32<MAX_DAILY_FILES>;
    type MaxBond = ConstU128<MAX_BOND>;
    type StorageDepositPerByte = ConstU128<DEPOSIT_PER_BYTE>;
    type MaxPendingBytesPerAccount = ConstU64<MAX_PENDING_PER_ACCOUNT>;
    type MaxPendingBytesPerDatanet = ConstU64<MAX_PENDING_PER_DATANET>;
    type PendingTimeout = ConstU64<PENDING_TIMEOUT>;
    type MaxOwnerShare = MaxOwnerShare;
    type WeightInfo = ();
}

#[derive(Default)]
pub struct ExtBuilder;

impl ExtBuilder {
    pub fn build(self) -> sp_io::TestExternalities {
        let mut storage = frame_system::GenesisConfig::<Test>::default()
            .build_storage()
            .unwrap();
        pallet_balances::GenesisConfig::<Test> {
            balances: vec![
                (OWNER, FUNDS),
                (CURATOR, FUNDS),
                (ALICE, FUNDS),
                (BOB, FUNDS),
                (CHARLIE, FUNDS),
                (POOR, ED),
                (TREASURY, ED),
            ],
            ..Default::default()
        }
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
            Datanets::do_try_state().expect("invariants hold after the test");
        })
    }
}

/// The events this pallet deposited, oldest first.
pub fn datanet_events() -> Vec<pallet_datanets::Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Datanets(event) => Some(event),
            _ => None,
        })
        .collect()
}

pub fn last_event() -> pallet_datanets::Event<Test> {
    datanet_events().pop().expect("an event was deposited")
}

pub fn free(who: AccountId) -> Balance {
    Balances::free_balance(who)
}

/// The content hash of the `n`-th test blob.
pub fn blob(n: u8) -> Hash {
    Hash::repeat_byte(n)
}

/// `OWNER` creates a text datanet with default rules and `CURATOR` as curator; returns its id.
pub fn text_datanet() -> DatanetId {
    datanet_with(RuleOverrides::default())
}

/// `OWNER` creates a text datanet with these rules and `CURATOR` as curator; returns its id.
pub fn datanet_with(rules: RuleOverrides<Balance>) -> DatanetId {
    let id = pallet_datanets::NextDatanetId::<Test>::get();
    assert_ok!(Datanets::create_datanet(
        RuntimeOrigin::signed(OWNER),
        b"instructions".to_vec(),
        b"prompt/completion pairs".to_vec(),
        DataKind::Text,
        rules,
    ));
    assert_ok!(Datanets::add_curator(
        RuntimeOrigin::signed(OWNER),
        id,
        CURATOR
    ));
    id
}

/// The weight the tests declare for a blob of `size` bytes: its size (the most it may be), so
/// weights and sizes can be read off each other; the tests of the owner cap and of padding use
/// other weights.
pub fn weight_of(size: u64) -> u64 {
    size
}

/// `who` announces blob `n` of `size` bytes (weight [`weight_of`]) to `datanet`; returns the
/// contribution id.
pub fn contribute(who: AccountId, datanet: DatanetId, n: u8, size: u64) -> ContributionId {
    contribute_weighted(who, datanet, blob(n), size, weight_of(size))
}

/// `who` announces `hash` of `size` bytes and `weight` to `datanet`; returns the contribution id.
pub fn contribute_weighted(
    who: AccountId,
    datanet: DatanetId,
    hash: Hash,
    size: u64,
    weight: u64,
) -> ContributionId {
    let id = pallet_datanets::NextContributionId::<Test>::get();
    assert_ok!(Datanets::contribute(
        RuntimeOrigin::signed(who),
        datanet,
        hash,
        size,
        weight,
        b"CC-BY-4.0".to_vec(),
        b"{}".to_vec(),
    ));
    id
}

/// `CURATOR` approves `contribution`.
pub fn approve(contribution: ContributionId) {
    assert_ok!(Datanets::approve(
        RuntimeOrigin::signed(CURATOR),
        contribution
    ));
}
