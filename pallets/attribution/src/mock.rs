//! A runtime with balances, rewards and attribution, stand-ins for pallet-datanets, pallet-models
//! and pallet-compute (operators, and the juror pool with stakes kept as free balance), and a cast
//! of keys to sign with.

use crate as pallet_attribution;
use attribution_primitives::{
    attribution::{
        AttributionEntry, InferenceAuthorization, InferenceBatch, InferenceRecord,
        SignedInferenceBatch,
    },
    traits::{
        DatanetsInspect, JurorPool, ModelsInspect, OperatorsInspect, PoolId, ServingModel,
        VersionMember, VersionSummary,
    },
    AccountId, Balance, ContributionId, DatanetId, Hash, ModelId, VersionIndex,
};
use frame_support::{derive_impl, parameter_types, traits::ConstU128, PalletId};
use frame_system::EnsureRoot;
use sp_core::{sr25519, Pair};
use sp_runtime::{traits::IdentityLookup, BuildStorage};
use std::{cell::RefCell, collections::BTreeMap};

type Block = frame_system::mocking::MockBlockU32<Test>;

pub const ED: Balance = 1;
pub const USER_FUNDS: Balance = 1_000_000;
/// Blocks between a withdrawal request and the withdrawal, until governance sets another delay.
pub const WITHDRAWAL_DELAY: u32 = 10;
/// The longest withdrawal delay governance may set.
pub const MAX_WITHDRAWAL_DELAY: u32 = 100;
/// Blocks between an allowance reduction's announcement and the reduction.
pub const ALLOWANCE_DELAY: u32 = 20;
/// The operator's advertised price per token: the records of `record` (30 tokens) may charge at
/// most 30 times this.
pub const PRICE: Balance = 1_000;
/// Batch commitments kept.
pub const BATCH_RETENTION: u64 = 3;
/// Blocks a settled record may be challenged.
pub const CHALLENGE_WINDOW: u32 = 50;
/// Blocks a jury votes.
pub const VOTE_PERIOD: u32 = 10;
/// A challenger's bond.
pub const CHALLENGE_BOND: Balance = 5_000;
/// What a timed-out challenge costs its challenger.
pub const TIMEOUT_FEE: Balance = 500;
/// The least fee of a record.
pub const MIN_RECORD_FEE: Balance = 10;
/// Jurors per attribution challenge in the stand-in pool.
pub const JURY_SIZE: usize = 3;
/// Each operator's stake in the stand-in juror pool (kept as its free balance).
pub const STAKE: Balance = 100_000;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Rewards: pallet_rewards,
        Attribution: pallet_attribution,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountId = AccountId;
    type Lookup = IdentityLookup<AccountId>;
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
    pub const AttributionPalletId: PalletId = PalletId(*b"ac/attrb");
    pub TreasuryAccount: AccountId = treasury();
    pub const WithdrawalDelay: u32 = WITHDRAWAL_DELAY;
    pub const MaxWithdrawalDelay: u32 = MAX_WITHDRAWAL_DELAY;
    pub const AllowanceDelay: u32 = ALLOWANCE_DELAY;
    pub const BatchRetention: u64 = BATCH_RETENTION;
    pub const ChallengeWindow: u32 = CHALLENGE_WINDOW;
    pub const MisattributionSlash: sp_runtime::Perbill = sp_runtime::Perbill::from_percent(10);
    pub const ChallengerShare: sp_runtime::Perbill = sp_runtime::Perbill::from_percent(10);
}

impl pallet_rewards::Config for Test {
    type Currency = Balances;
    type Datanets = MockDatanets;
    type PalletId = RewardsPalletId;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = MockDatanets;
}

impl pallet_attribution::Config for Test {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Jurors = MockOperators;
    type MinRecordFee = ConstU128<MIN_RECORD_FEE>;
    type DefaultChallengeWindow = ChallengeWindow;
    type ChallengeBond = ConstU128<CHALLENGE_BOND>;
    type TimeoutFee = ConstU128<TIMEOUT_FEE>;
    type MisattributionSlash = MisattributionSlash;
    type ChallengerShare = ChallengerShare;
    type Rewards = Rewards;
    type Datanets = MockDatanets;
    type Models = MockModels;
    type Operators = MockOperators;
    type Treasury = TreasuryAccount;
    type PalletId = AttributionPalletId;
    type DefaultWithdrawalDelay = WithdrawalDelay;
    type MaxWithdrawalDelay = MaxWithdrawalDelay;
    type AllowanceDelay = AllowanceDelay;
    type BatchRetention = BatchRetention;
    type AdminOrigin = EnsureRoot<AccountId>;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = MockChain;
}

/// What the stand-ins answer: published versions (contributions by id, with contributor and
/// weight), active models and registered operators.
#[derive(Default)]
struct MockState {
    versions: BTreeMap<PoolId, BTreeMap<ContributionId, (AccountId, u128)>>,
    models: BTreeMap<ModelId, ServingModel<AccountId>>,
    /// Worker key and price per token of each operator.
    operators: BTreeMap<AccountId, (sr25519::Public, Balance)>,
    /// The juror pool: each operator's stake, in registration order.
    pool: Vec<(AccountId, Balance)>,
    /// Jury seats each operator holds.
    seats: BTreeMap<AccountId, u32>,
}

thread_local! {
    static STATE: RefCell<MockState> = RefCell::new(MockState::default());
}

/// Stand-in for pallet-datanets.
pub struct MockDatanets;
/// Stand-in for pallet-models.
pub struct MockModels;
/// Stand-in for pallet-compute.
pub struct MockOperators;
/// Sets the stand-ins up.
pub struct MockChain;

impl MockChain {
    pub fn publish(pool: PoolId, contributions: &[(ContributionId, AccountId, u128)]) {
        let members = contributions
            .iter()
            .map(|(id, who, weight)| (*id, (who.clone(), *weight)))
            .collect();
        STATE.with(|state| state.borrow_mut().versions.insert(pool, members));
    }

    pub fn activate_model(model: ModelId, owner: AccountId, trained_on: Option<PoolId>) {
        STATE.with(|state| {
            state
                .borrow_mut()
                .models
                .insert(model, ServingModel { owner, trained_on })
        });
    }

    /// Adds the operator's sybil's contributions 103 to 106 (weight 1 each) to `VERSION`.
    pub fn publish_sybil_contributions() {
        MockChain::publish(
            VERSION,
            &[
                (100, carol(), 60),
                (101, dave(), 30),
                (102, carol(), 10),
                (103, sybil(), 1),
                (104, sybil(), 1),
                (105, sybil(), 1),
                (106, sybil(), 1),
            ],
        );
    }

    pub fn deactivate_model(model: ModelId) {
        STATE.with(|state| state.borrow_mut().models.remove(&model));
    }

    pub fn register_operator(operator: AccountId, worker_key: sr25519::Public, price: Balance) {
        STATE.with(|state| {
            state
                .borrow_mut()
                .operators
                .insert(operator, (worker_key, price))
        });
    }

    /// Puts `operator` in the juror pool with `stake`, which it must own as free balance.
    pub fn join_pool(operator: AccountId, stake: Balance) {
        STATE.with(|state| state.borrow_mut().pool.push((operator, stake)));
    }

    /// The jury seats `operator` holds.
    pub fn seats(operator: &AccountId) -> u32 {
        STATE.with(|state| state.borrow().seats.get(operator).copied().unwrap_or(0))
    }

    /// Whether `operator` is still in the juror pool.
    pub fn in_pool(operator: &AccountId) -> bool {
        STATE.with(|state| state.borrow().pool.iter().any(|(who, _)| who == operator))
    }
}

impl DatanetsInspect<AccountId> for MockDatanets {
    fn version(datanet: DatanetId, version: VersionIndex) -> Option<VersionSummary> {
        STATE.with(|state| {
            state
                .borrow()
                .versions
                .get(&PoolId { datanet, version })
                .map(|members| VersionSummary {
                    merkle_root: Hash::zero(),
                    contributions: members.len() as u32,
                    total_weight: members.values().map(|(_, weight)| weight).sum(),
                })
        })
    }

    fn member(
        datanet: DatanetId,
        version: VersionIndex,
        contribution: ContributionId,
    ) -> Option<VersionMember<AccountId>> {
        STATE.with(|state| {
            let state = state.borrow();
            let (contributor, weight) = state
                .versions
                .get(&PoolId { datanet, version })?
                .get(&contribution)?
                .clone();
            Some(VersionMember {
                contributor,
                weight,
            })
        })
    }

    fn points(datanet: DatanetId, version: VersionIndex, who: &AccountId) -> u128 {
        STATE.with(|state| {
            state
                .borrow()
                .versions
                .get(&PoolId { datanet, version })
                .map_or(0, |members| {
                    members
                        .values()
                        .filter(|(contributor, _)| contributor == who)
                        .map(|(_, weight)| weight)
                        .sum()
                })
        })
    }
}

impl ModelsInspect<AccountId> for MockModels {
    fn serving_model(model: ModelId) -> Option<ServingModel<AccountId>> {
        STATE.with(|state| state.borrow().models.get(&model).cloned())
    }

    fn base_weights_hash(_: ModelId) -> Option<Hash> {
        None
    }
}

impl OperatorsInspect<AccountId> for MockOperators {
    fn worker_key(operator: &AccountId) -> Option<sr25519::Public> {
        STATE.with(|state| state.borrow().operators.get(operator).map(|(key, _)| *key))
    }

    fn inference_price(operator: &AccountId) -> Option<Balance> {
        STATE.with(|state| {
            state
                .borrow()
                .operators
                .get(operator)
                .map(|(_, price)| *price)
        })
    }
}

/// The stand-in pool draws the first [`JURY_SIZE`] members not excluded, in registration order
/// (pallet-compute's tests cover the stake-weighted draw).
impl JurorPool<AccountId> for MockOperators {
    fn draw(_seed: &[u8], exclude: &[AccountId]) -> Vec<AccountId> {
        STATE.with(|state| {
            let mut state = state.borrow_mut();
            let drawn: Vec<AccountId> = state
                .pool
                .iter()
                .filter(|(who, stake)| !exclude.contains(who) && *stake > 0)
                .take(JURY_SIZE)
                .map(|(who, _)| who.clone())
                .collect();
            for juror in &drawn {
                *state.seats.entry(juror.clone()).or_default() += 1;
            }
            drawn
        })
    }

    fn release(juror: &AccountId) {
        STATE.with(|state| {
            let mut state = state.borrow_mut();
            let seats = state.seats.entry(juror.clone()).or_default();
            *seats = seats
                .checked_sub(1)
                .expect("a juror released more than seated");
        });
    }

    fn punish_absence(juror: &AccountId) -> Result<Balance, sp_runtime::DispatchError> {
        let slashed = Self::slash(juror, Self::stake(juror) / 20, &treasury())?;
        STATE.with(|state| state.borrow_mut().pool.retain(|(who, _)| who != juror));
        Ok(slashed)
    }

    fn stake(operator: &AccountId) -> Balance {
        STATE.with(|state| {
            state
                .borrow()
                .pool
                .iter()
                .find(|(who, _)| who == operator)
                .map_or(0, |(_, stake)| *stake)
        })
    }

    fn slash(
        operator: &AccountId,
        amount: Balance,
        to: &AccountId,
    ) -> Result<Balance, sp_runtime::DispatchError> {
        use frame_support::traits::{fungible::Mutate, tokens::Preservation};
        let amount = amount.min(Self::stake(operator));
        if amount > 0 {
            Balances::transfer(operator, to, amount, Preservation::Expendable)?;
        }
        STATE.with(|state| {
            if let Some(entry) = state
                .borrow_mut()
                .pool
                .iter_mut()
                .find(|(who, _)| who == operator)
            {
                entry.1 -= amount;
            }
        });
        Ok(amount)
    }

    fn vote_period() -> u32 {
        VOTE_PERIOD
    }
}

#[cfg(feature = "runtime-benchmarks")]
impl pallet_rewards::BenchmarkHelper<AccountId> for MockDatanets {
    fn create_pool(pool: PoolId, members: u32, who: &AccountId) {
        let mut contributions = vec![(0, who.clone(), 1)];
        contributions.extend((1..members).map(|id| (u64::from(id), AccountId::new([0xee; 32]), 1)));
        MockChain::publish(pool, &contributions);
    }
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper for MockChain {
    /// Registers `operator` staked in the pool, as pallet-compute registers operators (the mock
    /// of pallet-compute does not check the possession proof).
    fn register_operator(
        operator: &AccountId,
        worker_key: sr25519::Public,
        _possession: sr25519::Signature,
        price: Balance,
    ) {
        use frame_support::traits::fungible::Mutate;
        MockChain::register_operator(operator.clone(), worker_key, price);
        Balances::set_balance(operator, STAKE + ED);
        MockChain::join_pool(operator.clone(), STAKE);
    }

    fn serving_model(
        model: ModelId,
        owner: &AccountId,
        pool: PoolId,
        first: ContributionId,
        contributions: u32,
    ) {
        let members: Vec<_> = (first..first.saturating_add(contributions.into()))
            .map(|id| {
                let mut account = [0u8; 32];
                account[..8].copy_from_slice(&id.to_le_bytes());
                (id, AccountId::new(account), 1)
            })
            .collect();
        MockChain::publish(pool, &members);
        MockChain::activate_model(model, owner.clone(), Some(pool));
    }

    fn juror_pool(members: u32) {
        use frame_support::traits::fungible::Mutate;
        for index in 0..members {
            let juror: AccountId = frame_benchmarking::account("juror", index, 0);
            Balances::set_balance(&juror, STAKE + ED);
            MockChain::join_pool(juror, STAKE);
        }
    }
}

fn account(seed: u8) -> AccountId {
    AccountId::new([seed; 32])
}

pub fn key(seed: u8) -> sr25519::Pair {
    sr25519::Pair::from_seed(&[seed; 32])
}

pub fn account_of(pair: &sr25519::Pair) -> AccountId {
    pair.public().into()
}

/// The operator's account, which submits batches.
pub fn operator() -> AccountId {
    account(1)
}
/// The operator's worker key, which signs batches.
pub fn worker() -> sr25519::Pair {
    key(2)
}
/// Another registered operator, at the same price.
pub fn other_operator() -> AccountId {
    account(10)
}
/// The other operator's worker key.
pub fn other_worker() -> sr25519::Pair {
    key(11)
}
/// Users who pay for inference.
pub fn alice_key() -> sr25519::Pair {
    key(3)
}
pub fn bob_key() -> sr25519::Pair {
    key(4)
}
pub fn model_owner() -> AccountId {
    account(5)
}
/// Contributor of contributions 100 (weight 60) and 102 (weight 10) of `VERSION`.
pub fn carol() -> AccountId {
    account(6)
}
/// Contributor of contribution 101 (weight 30) of `VERSION`.
pub fn dave() -> AccountId {
    account(7)
}
/// Contributor of contribution 200, in another datanet.
pub fn erin() -> AccountId {
    account(8)
}
/// Operators in the juror pool besides [`operator`] and [`other_operator`].
pub fn juror(n: u8) -> AccountId {
    account(20 + n)
}
/// The operator's sybil: contributor of contributions 103 to 106 of `VERSION`, each of weight 1.
pub fn sybil() -> AccountId {
    account(30)
}
pub fn treasury() -> AccountId {
    account(9)
}

/// The version the adapter `ADAPTER` was trained on.
pub const VERSION: PoolId = PoolId {
    datanet: 0,
    version: 1,
};
/// A version of another datanet.
pub const OTHER_VERSION: PoolId = PoolId {
    datanet: 1,
    version: 1,
};
/// An active adapter trained on `VERSION`.
pub const ADAPTER: ModelId = 1;
/// An active base model: no lineage.
pub const BASE_MODEL: ModelId = 2;
/// A model that is not active.
pub const RETIRED: ModelId = 3;

/// Builds the test externalities with the cast above funded and registered.
pub struct ExtBuilder {
    endowed: Vec<(AccountId, Balance)>,
}

impl Default for ExtBuilder {
    fn default() -> Self {
        let alice = account_of(&alice_key());
        let bob = account_of(&bob_key());
        // The treasury is endowed by the pallet's genesis build.
        let mut endowed = vec![(alice, USER_FUNDS), (bob, USER_FUNDS)];
        // Operators own their stake (the stand-in pool keeps it as free balance) plus a little.
        endowed.extend(
            [operator(), other_operator(), juror(1), juror(2), juror(3)]
                .into_iter()
                .map(|who| (who, STAKE + ED)),
        );
        Self { endowed }
    }
}

impl ExtBuilder {
    pub fn build(self) -> sp_io::TestExternalities {
        STATE.with(|state| *state.borrow_mut() = MockState::default());
        MockChain::publish(
            VERSION,
            &[(100, carol(), 60), (101, dave(), 30), (102, carol(), 10)],
        );
        MockChain::publish(OTHER_VERSION, &[(200, erin(), 5)]);
        MockChain::activate_model(ADAPTER, model_owner(), Some(VERSION));
        MockChain::activate_model(BASE_MODEL, model_owner(), None);
        MockChain::register_operator(operator(), worker().public(), PRICE);
        MockChain::register_operator(other_operator(), other_worker().public(), PRICE);
        for who in [operator(), juror(1), juror(2), juror(3), other_operator()] {
            MockChain::join_pool(who, STAKE);
        }

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
        pallet_attribution::GenesisConfig::<Test>::default()
            .assimilate_storage(&mut storage)
            .unwrap();
        let mut ext = sp_io::TestExternalities::new(storage);
        ext.register_extension(sp_keystore::KeystoreExt::new(
            sp_keystore::testing::MemoryKeystore::new(),
        ));
        ext.execute_with(|| System::set_block_number(1));
        ext
    }

    /// Runs `test`, then checks the invariants of both pallets.
    pub fn build_and_execute(self, test: impl FnOnce()) {
        self.build().execute_with(|| {
            test();
            Attribution::do_try_state().expect("attribution invariants hold after the test");
            Rewards::do_try_state().expect("rewards invariants hold after the test");
        })
    }
}

/// The genesis hash authorizations and batches are signed for: what frame-system's genesis build
/// stores as block 0's hash (`hash69`).
pub fn genesis() -> Hash {
    Hash::repeat_byte(69)
}

/// A record for `user` on `model` served by [`operator`], signed by `user`, charging `fee` (its
/// `max_fee` too), with `attribution` as `(contribution, weight ppm)` and expiry at block 100.
pub fn record(
    user: &sr25519::Pair,
    model: ModelId,
    nonce: u64,
    fee: Balance,
    attribution: &[(ContributionId, u32)],
) -> InferenceRecord {
    let authorization = InferenceAuthorization {
        user: account_of(user),
        operator: operator(),
        model,
        prompt_hash: Hash::from(sp_io::hashing::blake2_256(PROMPT)),
        max_fee: fee,
        nonce,
        expiry: 100,
    };
    signed_record(authorization, user, fee, attribution)
}

/// The request body of the records `record` builds: its blake2-256 is their prompt hash.
pub const PROMPT: &[u8] =
    br#"{"model":"adapter","messages":[{"role":"user","content":"Who wrote it?"}]}"#;
/// The answer of the records `record` builds: its blake2-256 is their output hash.
pub const ANSWER: &[u8] = b"Carol wrote it, with Dave's notes.";

/// What `record` says it retrieved: every contribution of `VERSION` (with the sybil's), of
/// `OTHER_VERSION`, and 999, which exists nowhere (the lineage checks still apply).
pub fn provenance() -> pallet_attribution::AttributionProvenance {
    pallet_attribution::AttributionProvenance {
        retrieved: vec![100, 101, 102, 103, 104, 105, 106, 200, 999]
            .try_into()
            .expect("within the bound"),
        method: b"contextcite-v1+spans-v1+influence-v1"
            .to_vec()
            .try_into()
            .expect("within the bound"),
        seed: Hash::repeat_byte(0x5e),
    }
}

/// A record of `authorization` signed by `signer`.
pub fn signed_record(
    authorization: InferenceAuthorization,
    signer: &sr25519::Pair,
    fee: Balance,
    attribution: &[(ContributionId, u32)],
) -> InferenceRecord {
    let user_signature = authorization.sign(&genesis(), signer);
    InferenceRecord {
        authorization,
        user_signature,
        output_hash: Hash::from(sp_io::hashing::blake2_256(ANSWER)),
        tokens_in: 10,
        tokens_out: 20,
        fee,
        attribution: attribution
            .iter()
            .map(|(contribution, weight_ppm)| AttributionEntry {
                contribution: *contribution,
                weight_ppm: *weight_ppm,
            })
            .collect::<Vec<_>>()
            .try_into()
            .expect("tests stay within the attribution bound"),
        provenance: provenance(),
    }
}

/// A batch of the operator signed by its worker key.
pub fn batch(nonce: u64, records: Vec<InferenceRecord>) -> SignedInferenceBatch {
    batch_of(operator(), &worker(), nonce, records)
}

/// A batch of `operator` signed by `worker`.
pub fn batch_of(
    operator: AccountId,
    worker: &sr25519::Pair,
    nonce: u64,
    records: Vec<InferenceRecord>,
) -> SignedInferenceBatch {
    let batch = InferenceBatch {
        operator,
        nonce,
        records: records.try_into().expect("within the bound"),
    };
    SignedInferenceBatch::sign(batch, &genesis(), worker)
}

pub fn submit(signed: SignedInferenceBatch) -> sp_runtime::DispatchResult {
    submit_with_info(signed)
        .map(|_| ())
        .map_err(|error| error.error)
}

/// Submits `signed` from [`operator`], with what the call reports about its weight.
pub fn submit_with_info(
    signed: SignedInferenceBatch,
) -> frame_support::dispatch::DispatchResultWithPostInfo {
    Attribution::submit_inference_batch(RuntimeOrigin::signed(operator()), signed)
}

/// Deposits `amount` of `user`'s OPEN and grants it all to [`operator`].
pub fn fund_allowance(user: &sr25519::Pair, amount: Balance) {
    let origin = || RuntimeOrigin::signed(account_of(user));
    frame_support::assert_ok!(Attribution::deposit_credit(origin(), amount));
    frame_support::assert_ok!(Attribution::grant_allowance(origin(), operator(), amount));
}

pub fn balance(who: &AccountId) -> Balance {
    Balances::free_balance(who)
}

/// The events this pallet deposited, oldest first.
pub fn attribution_events() -> Vec<pallet_attribution::Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Attribution(event) => Some(event),
            _ => None,
        })
        .collect()
}
