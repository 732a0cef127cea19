//! A runtime with balances and the model registry, and builders for the records tests register.

use crate::{self as pallet_models, Architecture, BaseModel, Cid, License, ModelName};
use attribution_primitives::{Balance, Hash};
use frame_support::{derive_impl, traits::ConstU128};
use sp_runtime::BuildStorage;

pub type AccountId = u64;
type Block = frame_system::mocking::MockBlock<Test>;

pub const ED: Balance = 1;
pub const DEPOSIT: Balance = 100;
pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
/// Has less than one deposit.
pub const POOR: AccountId = 3;
pub const FUNDS: Balance = 10_000;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Models: pallet_models,
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
    type BaseModelDeposit = ConstU128<DEPOSIT>;
    type WeightInfo = ();
}

/// A 1B-parameter Llama-3.2-shaped model whose weights hash is `repeat_byte(seed)`.
pub fn base_model(seed: u8) -> BaseModel {
    BaseModel {
        architecture: Architecture {
            hidden_size: 2048,
            intermediate_size: 8192,
            num_layers: 16,
            num_attention_heads: 32,
            num_key_value_heads: 8,
            vocab_size: 128_256,
            max_position_embeddings: 131_072,
            rope_theta: 500_000,
        },
        parameters: 1_235_814_400,
        weights_hash: Hash::repeat_byte(seed),
        weights_cid: cid(b"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"),
        tokenizer_hash: Hash::repeat_byte(seed.wrapping_add(100)),
        license: License::truncate_from(b"llama3.2".to_vec()),
    }
}

pub fn name(text: &[u8]) -> ModelName {
    ModelName::truncate_from(text.to_vec())
}

pub fn cid(text: &[u8]) -> Cid {
    Cid::truncate_from(text.to_vec())
}

#[derive(Default)]
pub struct ExtBuilder;

impl ExtBuilder {
    pub fn build(self) -> sp_io::TestExternalities {
        let mut storage = frame_system::GenesisConfig::<Test>::default()
            .build_storage()
            .unwrap();
        pallet_balances::GenesisConfig::<Test> {
            balances: vec![(ALICE, FUNDS), (BOB, FUNDS), (POOR, DEPOSIT / 2)],
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
            Models::do_try_state().expect("invariants hold after the test");
        })
    }
}

/// The events this pallet deposited, oldest first.
pub fn models_events() -> Vec<pallet_models::Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Models(event) => Some(event),
            _ => None,
        })
        .collect()
}
