//! Benchmarks: one per call; `submit_inference_batch` over 1 to `MAX_BATCH_RECORDS` records in
//! the worst case: every record valid and paying the most parties. Each record is from its own
//! user, for its own model (its own owner, datanet version and pool) with the full
//! `MAX_ATTRIBUTION_ENTRIES` attribution entries on contributions of as many contributors, and
//! weights leaving a rest for the version's pool.

use super::*;
use alloc::vec::Vec;
use attribution_primitives::{
    attribution::{AttributionEntry, MAX_ATTRIBUTION_ENTRIES, MAX_BATCH_RECORDS, MAX_METHOD_BYTES},
    signing::{signing_message, INFERENCE_AUTHORIZATION_DOMAIN, INFERENCE_BATCH_DOMAIN},
    Hash, Signature, PARTS_PER_MILLION,
};
use codec::Encode;
use frame_benchmarking::v2::*;
use frame_support::traits::{
    fungible::{Inspect, Mutate},
    EnsureOrigin, Get,
};
use frame_system::RawOrigin;
use sp_core::{crypto::KeyTypeId, sr25519};
use sp_runtime::Perbill;

/// Keys the benchmarks generate in the keystore to sign with.
const KEY_TYPE: KeyTypeId = KeyTypeId(*b"bnch");

fn new_key() -> sr25519::Public {
    sp_io::crypto::sr25519_generate(KEY_TYPE, None)
}

fn sign(key: &sr25519::Public, message: &[u8]) -> sr25519::Signature {
    sp_io::crypto::sr25519_sign(KEY_TYPE, key, message)
        .expect("the key was generated in the keystore")
}

fn unit<T: Config>() -> Balance {
    T::Currency::minimum_balance().max(1)
}

/// Adds `amount` to the pallet account, which escrows credits and allowances.
fn escrow<T: Config>(amount: Balance) {
    let escrow = Pallet::<T>::account_id();
    T::Currency::set_balance(
        &escrow,
        T::Currency::balance(&escrow).saturating_add(amount),
    );
}

/// An account with plenty of OPEN and `credit` of it already in its inference credit.
fn user_with_credit<T: Config>(who: &AccountId, credit: Balance) {
    T::Currency::set_balance(who, unit::<T>().saturating_mul(1_000_000_000));
    Credits::<T>::insert(
        who,
        CreditInfo {
            balance: credit,
            withdrawal: None,
        },
    );
    escrow::<T>(credit);
}

/// `amount` already in `user`'s allowance for `operator`.
fn user_with_allowance<T: Config>(user: &AccountId, operator: &AccountId, amount: Balance) {
    Allowances::<T>::insert(
        user,
        operator,
        AllowanceInfo {
            balance: amount,
            reduction: None,
        },
    );
    escrow::<T>(amount);
}

/// A registered operator whose price lets a record charge `fee` over 200 tokens.
fn operator<T: Config>(fee: Balance) -> (AccountId, sr25519::Public) {
    let operator: AccountId = account("operator", 0, 0);
    let worker = new_key();
    T::BenchmarkHelper::register_operator(&operator, worker, fee);
    (operator, worker)
}

/// A record by a fresh user with an allowance for `operator`, signed for the chain of
/// `genesis`, charging `fee` for `model` with the full attribution on contributions
/// `first..first + MAX_ATTRIBUTION_ENTRIES`.
fn signed_record<T: Config>(
    genesis: &Hash,
    operator: &AccountId,
    model: ModelId,
    first: u64,
    fee: Balance,
) -> InferenceRecord {
    let key = new_key();
    let user = AccountId::from(key);
    user_with_allowance::<T>(&user, operator, fee);
    let authorization = InferenceAuthorization {
        user,
        operator: operator.clone(),
        model,
        prompt_hash: Hash::repeat_byte(1),
        max_fee: fee,
        nonce: 0,
        expiry: BlockNumber::MAX,
    };
    let user_signature = Signature::Sr25519(sign(
        &key,
        &signing_message(INFERENCE_AUTHORIZATION_DOMAIN, genesis, &authorization),
    ));
    // Just under an even share each, so that a rest reaches the version's pool too.
    let weight_ppm = PARTS_PER_MILLION / MAX_ATTRIBUTION_ENTRIES - 1;
    let attribution: Vec<_> = (0..u64::from(MAX_ATTRIBUTION_ENTRIES))
        .map(|index| AttributionEntry {
            contribution: first + index,
            weight_ppm,
        })
        .collect();
    InferenceRecord {
        authorization,
        user_signature,
        output_hash: Hash::repeat_byte(2),
        tokens_in: 100,
        tokens_out: 100,
        fee,
        provenance: AttributionProvenance {
            retrieved: attribution
                .iter()
                .map(|entry| entry.contribution)
                .collect::<Vec<_>>()
                .try_into()
                .expect("exactly the bound"),
            method: alloc::vec![b'm'; MAX_METHOD_BYTES as usize]
                .try_into()
                .expect("exactly the bound"),
            seed: Hash::repeat_byte(3),
        },
        attribution: attribution.try_into().expect("exactly the bound"),
    }
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn deposit_credit() {
        let who: AccountId = account("user", 0, 0);
        user_with_credit::<T>(&who, unit::<T>());
        let amount = unit::<T>().saturating_mul(1_000);

        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), amount);

        assert_eq!(
            Credits::<T>::get(&who).map(|c| c.balance),
            Some(unit::<T>().saturating_mul(1_001))
        );
    }

    #[benchmark]
    fn request_withdrawal() {
        let who: AccountId = account("user", 0, 0);
        user_with_credit::<T>(&who, unit::<T>().saturating_mul(1_000));

        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), unit::<T>());

        assert!(Credits::<T>::get(&who).and_then(|c| c.withdrawal).is_some());
    }

    #[benchmark]
    fn withdraw() -> Result<(), BenchmarkError> {
        let who: AccountId = account("user", 0, 0);
        user_with_credit::<T>(&who, unit::<T>().saturating_mul(1_000));
        Pallet::<T>::request_withdrawal(RawOrigin::Signed(who.clone()).into(), unit::<T>())?;
        let unlocks_at = Credits::<T>::get(&who)
            .and_then(|c| c.withdrawal)
            .map_or(0, |w| w.unlocks_at);
        frame_system::Pallet::<T>::set_block_number(unlocks_at.into());

        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()));

        assert_eq!(
            Credits::<T>::get(&who).map(|c| c.balance),
            Some(unit::<T>().saturating_mul(999))
        );
        Ok(())
    }

    #[benchmark]
    fn submit_inference_batch(r: Linear<1, MAX_BATCH_RECORDS>) {
        let fee = unit::<T>().saturating_mul(1_000_000);
        let (operator, worker) = operator::<T>(fee);
        let entries = u64::from(MAX_ATTRIBUTION_ENTRIES);
        let genesis = Pallet::<T>::genesis_hash();
        // Each record its own model, owner, version and contributors: nothing is read or
        // written once for the whole batch that a worst case would read per record.
        let records: Vec<_> = (0..r)
            .map(|index| {
                let model = ModelId::from(index) * 2 + 1;
                let owner: AccountId = account("owner", index, 0);
                let first = u64::from(index) * entries;
                let pool = PoolId {
                    datanet: index,
                    version: 1,
                };
                T::BenchmarkHelper::serving_model(
                    model,
                    &owner,
                    pool,
                    first,
                    MAX_ATTRIBUTION_ENTRIES,
                );
                signed_record::<T>(&genesis, &operator, model, first, fee)
            })
            .collect();
        let treasury = T::Treasury::get();
        T::Currency::set_balance(&treasury, T::Currency::balance(&treasury).max(unit::<T>()));
        // The oldest kept commitment is pruned too.
        let retention = T::BatchRetention::get();
        NextBatchId::<T>::put(retention);
        let batch = InferenceBatch {
            operator: operator.clone(),
            nonce: 1,
            records: records.try_into().expect("r is within the bound"),
        };
        let signature = sign(
            &worker,
            &signing_message(INFERENCE_BATCH_DOMAIN, &genesis, &batch),
        );
        let hash = sp_io::hashing::blake2_256(&batch.encode());

        #[extrinsic_call]
        _(
            RawOrigin::Signed(operator),
            SignedInferenceBatch { batch, signature },
        );

        assert_eq!(
            Batches::<T>::get(retention).map(|c| (c.hash, c.records, c.rejected)),
            Some((hash.into(), r, 0))
        );
    }

    #[benchmark]
    fn grant_allowance() {
        let (operator, _) = operator::<T>(unit::<T>());
        let who: AccountId = account("user", 0, 0);
        user_with_credit::<T>(&who, unit::<T>().saturating_mul(1_000));
        user_with_allowance::<T>(&who, &operator, unit::<T>());

        #[extrinsic_call]
        _(
            RawOrigin::Signed(who.clone()),
            operator.clone(),
            unit::<T>(),
        );

        assert_eq!(
            Allowances::<T>::get(&who, &operator).map(|a| a.balance),
            Some(unit::<T>().saturating_mul(2))
        );
    }

    #[benchmark]
    fn request_allowance_reduction() {
        let (operator, _) = operator::<T>(unit::<T>());
        let who: AccountId = account("user", 0, 0);
        user_with_allowance::<T>(&who, &operator, unit::<T>().saturating_mul(1_000));

        #[extrinsic_call]
        _(
            RawOrigin::Signed(who.clone()),
            operator.clone(),
            unit::<T>(),
        );

        assert!(Allowances::<T>::get(&who, &operator)
            .and_then(|a| a.reduction)
            .is_some());
    }

    #[benchmark]
    fn reduce_allowance() -> Result<(), BenchmarkError> {
        let (operator, _) = operator::<T>(unit::<T>());
        let who: AccountId = account("user", 0, 0);
        user_with_credit::<T>(&who, unit::<T>());
        user_with_allowance::<T>(&who, &operator, unit::<T>().saturating_mul(1_000));
        Pallet::<T>::request_allowance_reduction(
            RawOrigin::Signed(who.clone()).into(),
            operator.clone(),
            unit::<T>(),
        )?;
        let unlocks_at = Allowances::<T>::get(&who, &operator)
            .and_then(|a| a.reduction)
            .map_or(0, |r| r.unlocks_at);
        frame_system::Pallet::<T>::set_block_number(unlocks_at.into());

        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), operator.clone());

        assert_eq!(
            Credits::<T>::get(&who).map(|c| c.balance),
            Some(unit::<T>().saturating_mul(2))
        );
        Ok(())
    }

    #[benchmark]
    fn set_fee_split() -> Result<(), BenchmarkError> {
        let origin =
            T::AdminOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        let split = FeeSplit {
            contribution_cap: Perbill::from_percent(50),
            ..FeeSplit::default()
        };

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, split);

        assert_eq!(FeeSplitInForce::<T>::get(), split);
        Ok(())
    }

    impl_benchmark_test_suite!(
        Pallet,
        crate::mock::ExtBuilder::default().build(),
        crate::mock::Test
    );
}
