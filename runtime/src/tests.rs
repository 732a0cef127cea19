//! Runtime tests on the native build: genesis presets, the OPEN token, and signed transactions
//! through the full transaction-extension pipeline.

use crate::{
    configs::TreasuryAccount, genesis_config_presets as presets, Balance, Balances, BalancesCall,
    Executive, Header, Nonce, Runtime, RuntimeCall, RuntimeGenesisConfig, SignedPayload, System,
    TxExtension, UncheckedExtrinsic, EXISTENTIAL_DEPOSIT, MINUTES, OPEN,
};
use codec::Encode;
use frame_support::traits::{fungible::Inspect, Get};
use sp_keyring::Sr25519Keyring::{self, Alice, Bob, Charlie, Dave, Ferdie};
use sp_runtime::{
    generic::Era,
    traits::Header as _,
    transaction_validity::{InvalidTransaction, TransactionValidityError},
    BuildStorage,
};

/// Overlays a genesis patch on a full default config, as the node's chain spec builder does.
fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
            for (key, value) in patch {
                merge(base.entry(key).or_insert(serde_json::Value::Null), value);
            }
        }
        (base, patch) => *base = patch,
    }
}

fn externalities(preset: &str) -> sp_io::TestExternalities {
    let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).expect("serializable");
    merge(&mut config, presets::preset(preset).expect("known preset"));
    let config: RuntimeGenesisConfig =
        serde_json::from_value(config).expect("preset matches the config");
    let mut ext: sp_io::TestExternalities = config.build_storage().expect("genesis builds").into();
    ext.execute_with(|| {
        Executive::initialize_block(&Header::new(
            1,
            Default::default(),
            Default::default(),
            System::block_hash(0),
            Default::default(),
        ));
    });
    ext
}

fn transaction_extension(nonce: Nonce) -> TxExtension {
    (
        frame_system::CheckNonZeroSender::new(),
        frame_system::CheckSpecVersion::new(),
        frame_system::CheckTxVersion::new(),
        frame_system::CheckGenesis::new(),
        frame_system::CheckEra::from(Era::Immortal),
        frame_system::CheckNonce::from(nonce),
        frame_system::CheckWeight::new(),
        pallet_transaction_payment::ChargeTransactionPayment::from(0),
        frame_metadata_hash_extension::CheckMetadataHash::new(false),
        frame_system::WeightReclaim::new(),
    )
}

/// A transaction from `signer`, signed by `key` (the same keyring entry unless forging).
fn signed(call: RuntimeCall, signer: Sr25519Keyring, key: Sr25519Keyring) -> UncheckedExtrinsic {
    let nonce = System::account_nonce(signer.to_account_id());
    let extension = transaction_extension(nonce);
    let payload =
        SignedPayload::new(call.clone(), extension.clone()).expect("implicit data is available");
    let signature = payload.using_encoded(|bytes| key.sign(bytes));
    UncheckedExtrinsic::new_signed(
        call,
        signer.to_account_id().into(),
        signature.into(),
        extension,
    )
}

fn transfer(to: Sr25519Keyring, value: Balance) -> RuntimeCall {
    RuntimeCall::Balances(BalancesCall::transfer_keep_alive {
        dest: to.to_account_id().into(),
        value,
    })
}

fn free(who: Sr25519Keyring) -> Balance {
    Balances::balance(&who.to_account_id())
}

#[test]
fn development_preset_has_alice_as_sole_validator_and_funds_dev_accounts() {
    externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
        let aura = pallet_aura::Authorities::<Runtime>::get();
        assert_eq!(aura.into_inner(), vec![Alice.public().into()]);
        assert_eq!(
            pallet_grandpa::Pallet::<Runtime>::grandpa_authorities().len(),
            1
        );
        assert_eq!(
            pallet_sudo::Key::<Runtime>::get(),
            Some(Alice.to_account_id())
        );
        for who in [Alice, Bob, Charlie, Dave, Ferdie] {
            assert_eq!(free(who), presets::ENDOWMENT);
        }
    });
}

#[test]
fn development_presets_shorten_the_challenge_and_withdrawal_delays() {
    for preset in [presets::DEVELOPMENT_PRESET, presets::LOCAL_TESTNET_PRESET] {
        externalities(preset).execute_with(|| {
            assert_eq!(pallet_compute::ChallengePeriod::<Runtime>::get(), MINUTES);
            assert_eq!(pallet_compute::VotePeriod::<Runtime>::get(), MINUTES);
            assert_eq!(
                pallet_attribution::ChallengeWindow::<Runtime>::get(),
                5 * MINUTES
            );
            assert_eq!(
                pallet_attribution::WithdrawalDelay::<Runtime>::get(),
                MINUTES
            );
        });
    }
    // Without a preset, the production defaults.
    sp_io::TestExternalities::new(Default::default()).execute_with(|| {
        assert_eq!(
            pallet_attribution::WithdrawalDelay::<Runtime>::get(),
            10 * MINUTES
        );
    });
}

#[test]
fn local_testnet_preset_has_four_validators() {
    externalities(presets::LOCAL_TESTNET_PRESET).execute_with(|| {
        let aura = pallet_aura::Authorities::<Runtime>::get().into_inner();
        let expected: Vec<_> = [Alice, Bob, Charlie, Dave]
            .iter()
            .map(|k| k.public().into())
            .collect();
        assert_eq!(aura, expected);
        assert_eq!(
            pallet_grandpa::Pallet::<Runtime>::grandpa_authorities().len(),
            4
        );
    });
}

#[test]
fn unknown_preset_is_refused() {
    assert!(presets::preset("mainnet").is_none());
    assert_eq!(presets::preset_names().len(), 2);
}

#[test]
fn open_token_has_18_decimals_and_a_milli_open_existential_deposit() {
    assert_eq!(OPEN, 10u128.pow(18));
    assert_eq!(crate::TOKEN_DECIMALS, 18);
    assert_eq!(crate::TOKEN_SYMBOL, "OPEN");
    let existential_deposit: Balance =
        <Runtime as pallet_balances::Config>::ExistentialDeposit::get();
    assert_eq!(existential_deposit, EXISTENTIAL_DEPOSIT);
    assert_eq!(EXISTENTIAL_DEPOSIT, OPEN / 1000);
}

#[test]
fn blocks_are_two_seconds() {
    assert_eq!(crate::SLOT_DURATION, 2_000);
    assert_eq!(pallet_aura::Pallet::<Runtime>::slot_duration(), 2_000);
}

#[test]
fn signed_transfer_moves_balance_and_pays_its_fee_to_the_treasury() {
    externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
        let treasury_before = Balances::balance(&TreasuryAccount::get());
        let amount = 10 * OPEN;
        let xt = signed(transfer(Bob, amount), Alice, Alice);
        assert_eq!(Executive::apply_extrinsic(xt), Ok(Ok(())));

        assert_eq!(free(Bob), presets::ENDOWMENT + amount);
        let fee = presets::ENDOWMENT - amount - free(Alice);
        assert!(
            fee > 0 && fee < OPEN / 100,
            "a transfer costs a small fee, got {fee}"
        );
        assert_eq!(
            Balances::balance(&TreasuryAccount::get()),
            treasury_before + fee
        );
        assert_eq!(System::account_nonce(Alice.to_account_id()), 1);
    });
}

#[test]
fn forged_signature_is_rejected_and_nothing_moves() {
    externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
        let xt = signed(transfer(Bob, OPEN), Alice, Charlie);
        assert_eq!(
            Executive::apply_extrinsic(xt),
            Err(TransactionValidityError::Invalid(
                InvalidTransaction::BadProof
            ))
        );
        assert_eq!(free(Alice), presets::ENDOWMENT);
        assert_eq!(free(Bob), presets::ENDOWMENT);
    });
}

#[test]
fn replayed_transaction_is_rejected() {
    externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
        let xt = signed(transfer(Bob, OPEN), Alice, Alice);
        assert_eq!(Executive::apply_extrinsic(xt.clone()), Ok(Ok(())));
        assert_eq!(
            Executive::apply_extrinsic(xt),
            Err(TransactionValidityError::Invalid(InvalidTransaction::Stale))
        );
        assert_eq!(free(Bob), presets::ENDOWMENT + OPEN);
    });
}

#[test]
fn transfer_that_would_kill_the_sender_fails_without_moving_funds() {
    externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
        let xt = signed(transfer(Bob, presets::ENDOWMENT), Alice, Alice);
        let outcome = Executive::apply_extrinsic(xt).expect("valid transaction");
        assert!(
            outcome.is_err(),
            "keep-alive transfer of everything must fail"
        );
        assert_eq!(free(Bob), presets::ENDOWMENT);
    });
}

/// What the measured weights (`pallets/*/src/weights.rs`) allow in one block; the figures are
/// printed for docs/performance.md (`cargo test -p attribution-runtime capacity -- --nocapture`).
mod capacity {
    use super::*;
    use crate::configs::{RuntimeBlockLength, RuntimeBlockWeights};
    use attribution_primitives::{
        attribution::{
            AttributionEntry, AttributionProvenance, InferenceAuthorization, InferenceBatch,
            InferenceRecord, SignedInferenceBatch, MAX_ATTRIBUTION_ENTRIES, MAX_BATCH_RECORDS,
            MAX_METHOD_BYTES, MAX_RETRIEVED,
        },
        traits::PoolId,
        Hash, PARTS_PER_MILLION,
    };
    use frame_support::dispatch::{DispatchClass, GetDispatchInfo};
    use sp_core::sr25519;

    /// A full batch: the most records, each with the most attribution entries.
    fn full_batch() -> RuntimeCall {
        let record = InferenceRecord {
            authorization: InferenceAuthorization {
                user: Bob.to_account_id(),
                operator: Alice.to_account_id(),
                model: 1,
                prompt_hash: Hash::repeat_byte(1),
                max_fee: OPEN,
                nonce: 0,
                expiry: 1_000,
            },
            user_signature: sr25519::Signature::from_raw([2; 64]).into(),
            output_hash: Hash::repeat_byte(3),
            tokens_in: 512,
            tokens_out: 512,
            fee: OPEN,
            attribution: (0..MAX_ATTRIBUTION_ENTRIES)
                .map(|contribution| AttributionEntry {
                    contribution: contribution.into(),
                    weight_ppm: PARTS_PER_MILLION / MAX_ATTRIBUTION_ENTRIES,
                })
                .collect::<Vec<_>>()
                .try_into()
                .expect("within the bound"),
            provenance: AttributionProvenance {
                retrieved: (0..MAX_RETRIEVED)
                    .map(u64::from)
                    .collect::<Vec<_>>()
                    .try_into()
                    .expect("within the bound"),
                method: vec![b'm'; MAX_METHOD_BYTES as usize]
                    .try_into()
                    .expect("within the bound"),
                seed: Hash::repeat_byte(5),
            },
        };
        let batch = InferenceBatch {
            operator: Alice.to_account_id(),
            nonce: 1,
            records: vec![record; MAX_BATCH_RECORDS as usize]
                .try_into()
                .expect("within the bound"),
        };
        let signed = SignedInferenceBatch {
            batch,
            signature: sr25519::Signature::from_raw([4; 64]),
        };
        RuntimeCall::Attribution(pallet_attribution::Call::submit_inference_batch { signed })
    }

    /// How many times `call`, signed, fits in a block's share for ordinary transactions: by
    /// weight and by length.
    fn per_block(call: &RuntimeCall) -> (u64, u64) {
        let normal = RuntimeBlockWeights::get()
            .get(DispatchClass::Normal)
            .clone();
        let max_weight = normal.max_total.expect("ordinary transactions are limited");
        let weight = call.get_dispatch_info().total_weight() + normal.base_extrinsic;
        let len = signed(call.clone(), Alice, Alice).encoded_size() as u64;
        let max_len = u64::from(*RuntimeBlockLength::get().max.get(DispatchClass::Normal));
        (max_weight.ref_time() / weight.ref_time(), max_len / len)
    }

    /// What a signed `call` costs its sender in fees, in OPEN's smallest unit.
    fn fee(call: &RuntimeCall) -> Balance {
        let len = signed(call.clone(), Alice, Alice).encoded_size() as u32;
        pallet_transaction_payment::Pallet::<Runtime>::compute_fee(
            len,
            &call.get_dispatch_info(),
            0,
        )
    }

    /// Charged for the worst case (each record its own model, version and 16 contributors, as
    /// `scripts/weights` measured it since the fix of security review M2), a block still settles
    /// a full batch.
    #[test]
    fn a_block_settles_a_full_worst_case_batch() {
        externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
            let (by_weight, by_length) = per_block(&full_batch());
            let records = by_weight.min(by_length) * u64::from(MAX_BATCH_RECORDS);
            println!(
                "full batches ({MAX_BATCH_RECORDS} records) per block: {by_weight} by weight, \
                 {by_length} by length; {records} records per block, {} per second",
                records / 2
            );
            assert!(by_length > by_weight, "weight, not length, is the limit");
            assert!(
                records >= u64::from(MAX_BATCH_RECORDS),
                "{records} records per block"
            );
        });
    }

    /// A typical full batch, one model whose answers draw on the same 16 contributions, pays 18
    /// accounts (owner, operator, 16 contributors) and one pool: it is refunded down to that
    /// payout, so a block holds several times more of its records than of the worst case's.
    #[test]
    fn a_typical_batch_is_refunded_to_its_payees_and_a_block_holds_more_of_them() {
        externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
            let normal = RuntimeBlockWeights::get()
                .get(DispatchClass::Normal)
                .clone();
            let max = normal
                .max_total
                .expect("ordinary transactions are limited")
                .ref_time();
            let declared = full_batch().get_dispatch_info().total_weight().ref_time()
                + normal.base_extrinsic.ref_time();
            let typical = pallet_attribution::PaidPayees {
                accounts: MAX_ATTRIBUTION_ENTRIES + 2,
                pools: 1,
            };
            let actual =
                pallet_attribution::Pallet::<Runtime>::batch_weight(MAX_BATCH_RECORDS, typical)
                    .ref_time()
                    + normal.base_extrinsic.ref_time();
            // A transaction is admitted for its declared weight and the block then counts its
            // actual weight: the last batch needs the declared weight free.
            let worst_batches = max / declared;
            let typical_batches = (max - declared) / actual + 1;
            println!(
                "records per block: worst case {}, typical {} (a full batch declares {} ms, a \
                 typical one uses {} ms)",
                worst_batches * u64::from(MAX_BATCH_RECORDS),
                typical_batches * u64::from(MAX_BATCH_RECORDS),
                declared / 1_000_000_000,
                actual / 1_000_000_000,
            );
            assert!(actual < declared);
            assert!(
                typical_batches > worst_batches,
                "{typical_batches} typical batches"
            );
        });
    }

    #[test]
    fn claiming_from_a_pool_costs_about_the_same_for_ten_or_a_hundred_thousand_members() {
        use pallet_rewards::WeightInfo as _;
        type Weights = <Runtime as pallet_rewards::Config>::WeightInfo;
        externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
            let db = <Runtime as frame_system::Config>::DbWeight::get();
            let small = Weights::claim_pool(10);
            let large = Weights::claim_pool(100_000);
            let ratio = large.ref_time() as f64 / small.ref_time() as f64;
            let claim = RuntimeCall::Rewards(pallet_rewards::Call::claim_pool {
                pool: PoolId {
                    datanet: 0,
                    version: 1,
                },
            });
            let fee = fee(&claim);
            println!(
                "claim_pool: {} µs at 10 members, {} µs at 100 000 (ratio {ratio:.3}; of which \
                 database {} µs); fee {fee} ({:.6} OPEN); {} claims per block",
                small.ref_time() / 1_000_000,
                large.ref_time() / 1_000_000,
                (db.reads(5) + db.writes(4)).ref_time() / 1_000_000,
                fee as f64 / OPEN as f64,
                per_block(&claim).0,
            );
            assert!(ratio < 1.25, "claim_pool grows with its pool: {ratio}");
            assert!(fee < OPEN / 100, "a claim costs under 0.01 OPEN: {fee}");
        });
    }
}

mod quality_gate {
    use super::*;
    use frame_support::{assert_noop, assert_ok, dispatch::GetDispatchInfo};
    use sp_runtime::{traits::Dispatchable, DispatchError};

    fn set_bound(bound_ppm: u32) -> RuntimeCall {
        RuntimeCall::Compute(pallet_compute::Call::set_max_regression { bound_ppm })
    }

    #[test]
    fn new_versions_may_regress_five_percent_until_root_sets_another_bound() {
        externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
            assert_eq!(pallet_compute::MaxRegressionPpm::<Runtime>::get(), 50_000);
            assert_noop!(
                set_bound(10_000).dispatch(crate::RuntimeOrigin::signed(Alice.to_account_id())),
                DispatchError::BadOrigin
            );
            assert_ok!(set_bound(10_000).dispatch(crate::RuntimeOrigin::root()));
            assert_eq!(pallet_compute::MaxRegressionPpm::<Runtime>::get(), 10_000);
            assert_noop!(
                set_bound(1_000_001).dispatch(crate::RuntimeOrigin::root()),
                pallet_compute::Error::<Runtime>::BoundTooLarge
            );
            assert!(set_bound(0).get_dispatch_info().total_weight().ref_time() > 0);
            pallet_compute::Pallet::<Runtime>::do_try_state().expect("compute invariants hold");
        });
    }

    #[test]
    fn artifact_queries_answer_nothing_for_unknown_hashes() {
        externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
            let hash = attribution_primitives::Hash::repeat_byte(7);
            assert_eq!(crate::Compute::hyperparameters_job(hash), None);
            assert_eq!(crate::Models::proven_adapter(hash), None);
        });
    }
}

mod challenges {
    use super::*;
    use crate::{BlockNumber, HOURS, MINUTES};
    use frame_support::{assert_noop, assert_ok, dispatch::GetDispatchInfo};
    use pallet_compute::Config as ComputeConfig;
    use sp_runtime::{traits::Dispatchable, DispatchError};

    fn set_periods(challenge_period: BlockNumber, vote_period: BlockNumber) -> RuntimeCall {
        RuntimeCall::Compute(pallet_compute::Call::set_challenge_periods {
            challenge_period,
            vote_period,
        })
    }

    #[test]
    fn production_windows_are_hours_and_dev_chains_shorten_them_to_a_minute() {
        // Without a genesis override: six hours to challenge, two to vote (2 s blocks).
        let challenge_period = <Runtime as ComputeConfig>::DefaultChallengePeriod::get();
        assert_eq!(challenge_period, 6 * HOURS);
        assert_eq!(challenge_period, 10_800);
        assert_eq!(
            <Runtime as ComputeConfig>::DefaultVotePeriod::get(),
            2 * HOURS
        );
        for preset in [presets::DEVELOPMENT_PRESET, presets::LOCAL_TESTNET_PRESET] {
            externalities(preset).execute_with(|| {
                assert_eq!(pallet_compute::ChallengePeriod::<Runtime>::get(), MINUTES);
                assert_eq!(pallet_compute::VotePeriod::<Runtime>::get(), MINUTES);
                pallet_compute::Pallet::<Runtime>::do_try_state().expect("compute invariants hold");
            });
        }
    }

    #[test]
    fn only_root_changes_the_periods_and_never_to_zero() {
        externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
            assert_noop!(
                set_periods(3 * HOURS, HOURS)
                    .dispatch(crate::RuntimeOrigin::signed(Alice.to_account_id())),
                DispatchError::BadOrigin
            );
            assert_noop!(
                set_periods(0, HOURS).dispatch(crate::RuntimeOrigin::root()),
                pallet_compute::Error::<Runtime>::ZeroPeriod
            );
            assert_ok!(set_periods(3 * HOURS, HOURS).dispatch(crate::RuntimeOrigin::root()));
            assert_eq!(pallet_compute::ChallengePeriod::<Runtime>::get(), 3 * HOURS);
            assert_eq!(pallet_compute::VotePeriod::<Runtime>::get(), HOURS);
            assert!(
                set_periods(1, 1)
                    .get_dispatch_info()
                    .total_weight()
                    .ref_time()
                    > 0
            );
        });
    }
}

/// Congestion pricing (review L7): fees follow how full blocks are, and never fall below nominal.
mod fee_multiplier {
    use super::*;
    use crate::configs::{MaximumMultiplier, MinimumMultiplier};
    use frame_support::{dispatch::DispatchClass, weights::Weight};
    use pallet_transaction_payment::Multiplier;
    use sp_runtime::{
        traits::{Convert, One},
        FixedPointNumber, Perbill,
    };

    type Update = <Runtime as pallet_transaction_payment::Config>::FeeMultiplierUpdate;

    /// The multiplier after `blocks` blocks whose normal class used `fullness` of its capacity.
    fn after(blocks: u32, fullness: Perbill) -> Multiplier {
        let max = <Runtime as frame_system::Config>::BlockWeights::get()
            .get(DispatchClass::Normal)
            .max_total
            .expect("the normal class is bounded");
        let used = Weight::from_parts(fullness * max.ref_time(), 0);
        let mut multiplier = Multiplier::one();
        externalities("development").execute_with(|| {
            for _ in 0..blocks {
                System::set_block_consumed_resources(used, 0);
                multiplier = Update::convert(multiplier);
            }
        });
        multiplier
    }

    #[test]
    fn empty_and_quarter_full_blocks_keep_nominal_fees() {
        assert_eq!(after(1_000, Perbill::zero()), Multiplier::one());
        assert_eq!(after(1_000, Perbill::from_percent(25)), Multiplier::one());
        assert_eq!(MinimumMultiplier::get(), Multiplier::one());
    }

    #[test]
    fn an_hour_of_full_blocks_raises_fees_and_a_day_multiplies_them() {
        // 2 s blocks: 1800 an hour, 43,200 a day.
        let hour = after(1_800, Perbill::one()).to_float();
        assert!(
            (1.12..1.17).contains(&hour),
            "an hour of full blocks: {hour}"
        );
        let day = after(43_200, Perbill::one()).to_float();
        assert!(day > 20.0, "a day of full blocks: {day}");
        assert!(Multiplier::from_float(day) < MaximumMultiplier::get());
    }

    #[test]
    fn fees_come_back_down_when_congestion_ends() {
        let mut multiplier = Multiplier::saturating_from_integer(4);
        externalities("development").execute_with(|| {
            // Two days of empty blocks: down by e^-2.16, clamped at nominal.
            for _ in 0..86_400 {
                System::set_block_consumed_resources(Weight::zero(), 0);
                multiplier = Update::convert(multiplier);
            }
        });
        assert_eq!(multiplier, Multiplier::one());
    }
}
