//! Benchmarks: one per call; `submit_inference_batch` over 1 to `MAX_BATCH_RECORDS` records in
//! the worst case: every record valid and paying the most parties. Each record is from its own
//! user, signed as a browser extension signs (so both forms of the signature are checked), for
//! its own model (its own owner, datanet version and pool) with the full
//! `MAX_ATTRIBUTION_ENTRIES` attribution entries on contributions of as many contributors, and
//! weights leaving a rest for the version's pool: every payee is a new one; and the batch prunes
//! the most expired records it may. `pay_batch` measures a batch's payout alone, over the payees
//! credited, which the call refunds by.
//!
//! The attribution challenge calls are measured on records settled by that call, with the
//! longest prompt and answer a challenge may carry, and juries drawn from a full juror pool:
//! `vote_attribution` at the deciding vote that proves a misattribution (three slashes, a pool
//! credit, the bond released and every seat freed), `close_attribution_challenge` over the
//! jurors who did not vote, and `draw_attribution_juries` (`on_initialize`) over the challenges
//! opened in the previous block.

use super::*;
use crate::payouts::MAX_PAYEE_ACCOUNTS;
use alloc::vec::Vec;
use attribution_primitives::compute::{
    WorkerKeyPossession, MAX_DRAWS_PER_BLOCK, MAX_JUROR_POOL, MAX_JURY,
};
use attribution_primitives::{
    attribution::{AttributionEntry, MAX_ATTRIBUTION_ENTRIES, MAX_BATCH_RECORDS, MAX_METHOD_BYTES},
    signing::{
        extension_wrapped, signing_message, INFERENCE_AUTHORIZATION_DOMAIN, INFERENCE_BATCH_DOMAIN,
    },
    Hash, Signature, PARTS_PER_MILLION,
};
use codec::Encode;
use frame_benchmarking::v2::*;
use frame_support::traits::{
    fungible::{Inspect, Mutate},
    EnsureOrigin, Get, Hooks,
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
    let possession = WorkerKeyPossession {
        operator: operator.clone(),
        worker_key: worker,
    };
    let proof = sign(&worker, &possession.message(&Pallet::<T>::genesis_hash()));
    T::BenchmarkHelper::register_operator(&operator, worker, proof, fee);
    (operator, worker)
}

/// A record by a fresh user with an allowance for `operator`, signed through a browser extension
/// (the costlier form to check) for the chain of `genesis`, charging `fee` for `model` with the full attribution on contributions
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
        &extension_wrapped(&signing_message(
            INFERENCE_AUTHORIZATION_DOMAIN,
            genesis,
            &authorization,
        )),
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

/// A batch of `records` records of `operator` (signed by `worker`), each from its own user on
/// its own model (ids 1, 3, 5, …), version (datanets 0, 1, 2, …) and 16 contributions of as many
/// contributors, so that every payee is a new one.
fn worst_case_batch<T: Config>(
    operator: &AccountId,
    worker: &sr25519::Public,
    records: u32,
    fee: Balance,
) -> SignedInferenceBatch {
    let entries = u64::from(MAX_ATTRIBUTION_ENTRIES);
    let genesis = Pallet::<T>::genesis_hash();
    let records: Vec<_> = (0..records)
        .map(|index| {
            let model = ModelId::from(index) * 2 + 1;
            let owner: AccountId = account("owner", index, 0);
            let first = u64::from(index) * entries;
            let pool = PoolId {
                datanet: index,
                version: 1,
            };
            T::BenchmarkHelper::serving_model(model, &owner, pool, first, MAX_ATTRIBUTION_ENTRIES);
            signed_record::<T>(&genesis, operator, model, first, fee)
        })
        .collect();
    let treasury = T::Treasury::get();
    T::Currency::set_balance(&treasury, T::Currency::balance(&treasury).max(unit::<T>()));
    let batch = InferenceBatch {
        operator: operator.clone(),
        nonce: BatchNonces::<T>::get(operator).map_or(1, |last| last + 1),
        records: records.try_into().expect("within the bound"),
    };
    let signature = sign(
        worker,
        &signing_message(INFERENCE_BATCH_DOMAIN, &genesis, &batch),
    );
    SignedInferenceBatch { batch, signature }
}

/// The longest prompt and answer a challenge carries.
fn longest_texts() -> (ChallengePrompt, ChallengeAnswer) {
    (
        alloc::vec![b'p'; MAX_CHALLENGE_PROMPT_BYTES as usize]
            .try_into()
            .expect("exactly the bound"),
        alloc::vec![b'a'; MAX_CHALLENGE_ANSWER_BYTES as usize]
            .try_into()
            .expect("exactly the bound"),
    )
}

/// `count` records settled by one operator, each with the full attribution and provenance,
/// whose prompt and answer are `prompt` and `answer` (written over the signed hashes: the
/// signatures were checked at settlement). Returns the operator and the record ids.
fn settled_records<T: Config>(
    count: u32,
    prompt: &[u8],
    answer: &[u8],
) -> Result<(AccountId, Vec<RecordId>), BenchmarkError> {
    let fee = unit::<T>().saturating_mul(1_000_000);
    let (operator, worker) = operator::<T>(fee);
    let first = NextRecordId::<T>::get();
    let signed = worst_case_batch::<T>(&operator, &worker, count, fee);
    Pallet::<T>::submit_inference_batch(RawOrigin::Signed(operator.clone()).into(), signed)
        .map_err(|_| BenchmarkError::Stop("the batch did not settle"))?;
    let ids: Vec<RecordId> = (first..first + RecordId::from(count)).collect();
    for id in &ids {
        Records::<T>::mutate(id, |record| {
            if let Some(record) = record {
                record.prompt_hash = sp_io::hashing::blake2_256(prompt).into();
                record.output_hash = sp_io::hashing::blake2_256(answer).into();
            }
        });
    }
    Ok((operator, ids))
}

/// A funded account that challenges.
fn challenger<T: Config>(index: u32) -> AccountId {
    let who: AccountId = account("challenger", index, 0);
    T::Currency::set_balance(
        &who,
        T::ChallengeBond::get().saturating_add(unit::<T>().saturating_mul(1_000)),
    );
    who
}

/// Opens a challenge of each record with the longest texts, each by its own challenger.
fn open_challenges<T: Config>(
    records: &[RecordId],
) -> Result<Vec<AttributionChallengeId>, BenchmarkError> {
    let (prompt, answer) = longest_texts();
    records
        .iter()
        .zip(0u32..)
        .map(|(record, index)| {
            let id = NextAttributionChallengeId::<T>::get();
            Pallet::<T>::challenge_attribution(
                RawOrigin::Signed(challenger::<T>(index)).into(),
                *record,
                prompt.clone(),
                answer.clone(),
            )
            .map_err(|_| BenchmarkError::Stop("the challenge was refused"))?;
            Ok(id)
        })
        .collect()
}

/// One challenge with its jury drawn from a full juror pool; returns it and its jurors.
fn challenge_with_jury<T: Config>(
) -> Result<(AttributionChallengeId, Vec<AccountId>), BenchmarkError> {
    T::BenchmarkHelper::juror_pool(MAX_JUROR_POOL);
    let (prompt, answer) = longest_texts();
    let (_, records) = settled_records::<T>(1, &prompt, &answer)?;
    let challenge = open_challenges::<T>(&records)?[0];
    PendingJuryDraws::<T>::kill();
    Pallet::<T>::draw_jury(challenge, Hash::repeat_byte(0x5E));
    let jurors: Vec<AccountId> = AttributionChallenges::<T>::get(challenge)
        .map(|c| c.jury.into_iter().map(|seat| seat.juror).collect())
        .unwrap_or_default();
    if jurors.is_empty() {
        return Err(BenchmarkError::Stop("no jury was drawn"));
    }
    Ok((challenge, jurors))
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
        let signed = worst_case_batch::<T>(&operator, &worker, r, fee);
        // The most records a batch prunes, each past its window and as large as a record gets.
        let expired = SettledRecord {
            batch: 0,
            operator: operator.clone(),
            user: signed.batch.records[0].authorization.user.clone(),
            model: 1,
            pool: Some(PoolId {
                datanet: 0,
                version: 1,
            }),
            prompt_hash: Hash::repeat_byte(1),
            output_hash: Hash::repeat_byte(2),
            provenance: signed.batch.records[0].provenance.clone(),
            attribution: signed.batch.records[0].attribution.clone(),
            attributed: fee,
            challengeable_until: 0,
            challenge: None,
        };
        for id in 0..RecordId::from(MAX_BATCH_RECORDS) {
            Records::<T>::insert(id, expired.clone());
        }
        NextRecordId::<T>::put(RecordId::from(MAX_BATCH_RECORDS));
        frame_system::Pallet::<T>::set_block_number(1u32.into());
        // The oldest kept commitment is pruned too.
        let retention = T::BatchRetention::get();
        NextBatchId::<T>::put(retention);
        let hash = sp_io::hashing::blake2_256(&signed.batch.encode());

        #[extrinsic_call]
        _(RawOrigin::Signed(operator), signed);

        assert_eq!(
            Batches::<T>::get(retention).map(|c| (c.hash, c.records, c.rejected)),
            Some((hash.into(), r, 0))
        );
        assert_eq!(
            OldestRecordId::<T>::get(),
            RecordId::from(MAX_BATCH_RECORDS)
        );
    }

    #[benchmark]
    fn pay_batch(
        a: Linear<0, MAX_PAYEE_ACCOUNTS>,
        p: Linear<0, MAX_BATCH_RECORDS>,
    ) -> Result<(), BenchmarkError> {
        let amount = unit::<T>().saturating_mul(1_000);
        let mut owed = Payouts::default();
        for index in 0..a {
            owed.credit_account(&account("payee", index, 0), RewardSource::Data, amount);
        }
        for index in 0..p {
            let pool = PoolId {
                datanet: index,
                version: 1,
            };
            // A published version whose pool was never credited: its first credit reads it.
            T::BenchmarkHelper::serving_model(
                ModelId::from(index) * 2 + 1,
                &account("owner", index, 0),
                pool,
                u64::from(index),
                1,
            );
            owed.credit_pool(pool, amount);
        }
        owed.credit_treasury(amount);
        escrow::<T>(amount.saturating_mul(Balance::from(a + p + 1)));
        let treasury = T::Treasury::get();
        T::Currency::set_balance(&treasury, T::Currency::balance(&treasury).max(unit::<T>()));
        let payer = Pallet::<T>::account_id();
        let paid;

        #[block]
        {
            paid = owed.pay::<T>(&payer);
        }

        assert_eq!(
            paid.map_err(|_| BenchmarkError::Stop("the payout failed"))?,
            PaidPayees {
                accounts: a,
                pools: p
            }
        );
        Ok(())
    }

    #[benchmark]
    fn challenge_attribution(
        p: Linear<0, MAX_CHALLENGE_PROMPT_BYTES>,
        a: Linear<0, MAX_CHALLENGE_ANSWER_BYTES>,
    ) -> Result<(), BenchmarkError> {
        let prompt: ChallengePrompt = alloc::vec![b'p'; p as usize]
            .try_into()
            .map_err(|_| BenchmarkError::Stop("p is within the bound"))?;
        let answer: ChallengeAnswer = alloc::vec![b'a'; a as usize]
            .try_into()
            .map_err(|_| BenchmarkError::Stop("a is within the bound"))?;
        let (_, records) = settled_records::<T>(1, &prompt, &answer)?;
        // Every draw slot but one taken in this block.
        for pending in 1_000..1_000 + AttributionChallengeId::from(MAX_DRAWS_PER_BLOCK) - 1 {
            PendingJuryDraws::<T>::try_append(pending)
                .map_err(|_| BenchmarkError::Stop("within the bound"))?;
        }
        let who = challenger::<T>(0);
        let id = NextAttributionChallengeId::<T>::get();

        #[extrinsic_call]
        _(RawOrigin::Signed(who), records[0], prompt, answer);

        assert!(AttributionChallenges::<T>::contains_key(id));
        Ok(())
    }

    // The deciding vote that proves a misattribution.
    #[benchmark]
    fn vote_attribution() -> Result<(), BenchmarkError> {
        let (challenge, jurors) = challenge_with_jury::<T>()?;
        let majority = jurors.len() / 2 + 1;
        for juror in jurors.iter().take(majority - 1) {
            Pallet::<T>::vote_attribution(RawOrigin::Signed(juror.clone()).into(), challenge, true)
                .map_err(|_| BenchmarkError::Stop("a juror votes once in time"))?;
        }
        let last = jurors[majority - 1].clone();

        #[extrinsic_call]
        _(RawOrigin::Signed(last), challenge, true);

        assert!(!AttributionChallenges::<T>::contains_key(challenge));
        Ok(())
    }

    // `j` jurors who did not vote, each slashed and taken out of the pool.
    #[benchmark]
    fn close_attribution_challenge(j: Linear<0, MAX_JURY>) -> Result<(), BenchmarkError> {
        let (challenge, jurors) = challenge_with_jury::<T>()?;
        let absent = (j as usize).min(jurors.len());
        // The others voted, split so that no majority formed (written directly: the calls would
        // decide the challenge).
        AttributionChallenges::<T>::mutate(challenge, |info| {
            if let Some(info) = info {
                for (seat, index) in info.jury.iter_mut().skip(absent).zip(0u32..) {
                    seat.fraud = Some(index % 2 == 0);
                }
            }
        });
        let vote_end = AttributionChallenges::<T>::get(challenge)
            .map(|c| c.vote_end)
            .unwrap_or_default();
        frame_system::Pallet::<T>::set_block_number(vote_end.saturating_add(1).into());
        let caller: AccountId = account("anyone", 0, 0);

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), challenge);

        assert!(!AttributionChallenges::<T>::contains_key(challenge));
        Ok(())
    }

    // `on_initialize` drawing `n` juries, each from a full juror pool, for challenges carrying
    // the longest texts.
    #[benchmark]
    fn draw_attribution_juries(n: Linear<0, MAX_DRAWS_PER_BLOCK>) -> Result<(), BenchmarkError> {
        T::BenchmarkHelper::juror_pool(MAX_JUROR_POOL);
        let (prompt, answer) = longest_texts();
        let challenges = if n > 0 {
            let (_, records) = settled_records::<T>(n, &prompt, &answer)?;
            open_challenges::<T>(&records)?
        } else {
            Vec::new()
        };
        let now = frame_system::Pallet::<T>::block_number();

        #[block]
        {
            Pallet::<T>::on_initialize(now);
        }

        assert!(PendingJuryDraws::<T>::get().is_empty());
        for id in challenges {
            assert!(AttributionChallenges::<T>::get(id).is_some_and(|c| !c.jury.is_empty()));
        }
        Ok(())
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

    #[benchmark]
    fn set_withdrawal_delay() -> Result<(), BenchmarkError> {
        let origin =
            T::AdminOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        let delay = T::MaxWithdrawalDelay::get();

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, delay);

        assert_eq!(WithdrawalDelay::<T>::get(), delay);
        Ok(())
    }

    impl_benchmark_test_suite!(
        Pallet,
        crate::mock::ExtBuilder::default().build(),
        crate::mock::Test
    );
}
