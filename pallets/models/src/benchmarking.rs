//! Benchmarks of the model registry's calls.

use super::*;
use crate::Pallet as ModelsPallet;
use alloc::vec;
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Get};
use frame_system::RawOrigin;

fn base_model(weights_hash: Hash) -> BaseModel {
    BaseModel {
        architecture: Architecture {
            hidden_size: 4096,
            intermediate_size: 14_336,
            num_layers: 32,
            num_attention_heads: 32,
            num_key_value_heads: 8,
            vocab_size: 128_256,
            max_position_embeddings: 131_072,
            rope_theta: 500_000,
        },
        parameters: 8_030_261_248,
        weights_hash,
        // Bounded fields at their longest: the worst case to decode and store.
        weights_cid: Cid::truncate_from(vec![b'b'; Cid::bound()]),
        tokenizer_hash: Hash::repeat_byte(2),
        license: License::truncate_from(vec![b'l'; License::bound()]),
    }
}

fn longest_name() -> ModelName {
    ModelName::truncate_from(vec![b'n'; ModelName::bound()])
}

fn funded_owner<T: Config>() -> T::AccountId {
    let owner: T::AccountId = whitelisted_caller();
    T::Currency::set_balance(
        &owner,
        T::BaseModelDeposit::get()
            .saturating_mul(10)
            .saturating_add(1_000_000_000),
    );
    owner
}

fn registered<T: Config>(owner: &T::AccountId) -> ModelId {
    let id = NextModelId::<T>::get();
    ModelsPallet::<T>::register_base_model(
        RawOrigin::Signed(owner.clone()).into(),
        longest_name(),
        base_model(Hash::repeat_byte(1)),
    )
    .expect("the owner is funded and the record is valid");
    id
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn register_base_model() {
        let owner = funded_owner::<T>();
        let id = NextModelId::<T>::get();

        #[extrinsic_call]
        _(
            RawOrigin::Signed(owner),
            longest_name(),
            base_model(Hash::repeat_byte(1)),
        );

        assert_eq!(
            ModelsPallet::<T>::base_weights_hash(id),
            Some(Hash::repeat_byte(1))
        );
    }

    #[benchmark]
    fn update_base_model() {
        let owner = funded_owner::<T>();
        let id = registered::<T>(&owner);
        let cid = Cid::truncate_from(vec![b'c'; Cid::bound()]);

        #[extrinsic_call]
        _(
            RawOrigin::Signed(owner),
            id,
            Some(longest_name()),
            Some(cid.clone()),
            Some(License::truncate_from(vec![b'm'; License::bound()])),
        );

        let Some(ModelKind::Base(base)) = Models::<T>::get(id).map(|record| record.kind) else {
            panic!("the base model is still registered");
        };
        assert_eq!(base.weights_cid, cid);
    }

    #[benchmark]
    fn retire_model() {
        let owner = funded_owner::<T>();
        let id = registered::<T>(&owner);

        #[extrinsic_call]
        _(RawOrigin::Signed(owner), id);

        assert_eq!(
            Models::<T>::get(id).map(|record| record.status),
            Some(ModelStatus::Retired)
        );
    }

    impl_benchmark_test_suite!(
        ModelsPallet,
        crate::mock::ExtBuilder.build(),
        crate::mock::Test
    );
}
