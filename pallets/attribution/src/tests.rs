//! Stories of credits, batches and their rejections, and a property test of conservation across
//! attribution and rewards.

use crate::{
    mock::*, BatchNonces, Batches, CreditInfo, Credits, Error, Event, FeeSplit, NonceWindow,
    Nonces, PendingWithdrawal,
};
use attribution_primitives::{
    attribution::{InferenceBatch, MAX_BATCH_RECORDS, NONCE_WINDOW},
    rewards::{PendingRewards, RewardPool},
    Hash,
};
use codec::{Decode, Encode};
use frame_support::{assert_noop, assert_ok, traits::fungible::Mutate};
use sp_core::Pair;
use sp_runtime::{DispatchError, Perbill, TokenError};

fn deposit(user: &sp_core::sr25519::Pair, amount: u128) {
    assert_ok!(Attribution::deposit_credit(
        RuntimeOrigin::signed(account_of(user)),
        amount
    ));
}

fn data(amount: u128) -> PendingRewards<u128> {
    PendingRewards {
        data: amount,
        model: 0,
        compute: 0,
    }
}

mod credits {
    use super::*;

    #[test]
    fn deposit_moves_open_into_the_credit() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            deposit(&alice_key(), 1_000);
            deposit(&alice_key(), 500);

            assert_eq!(
                Attribution::credit(&alice),
                CreditInfo {
                    balance: 1_500,
                    withdrawal: None
                }
            );
            assert_eq!(balance(&alice), USER_FUNDS - 1_500);
            assert_eq!(balance(&Attribution::account_id()), ED + 1_500);
            assert_eq!(
                attribution_events().last(),
                Some(&Event::CreditDeposited {
                    who: alice,
                    amount: 500
                })
            );
        });
    }

    #[test]
    fn deposit_of_nothing_or_more_than_owned_fails() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = RuntimeOrigin::signed(account_of(&alice_key()));
            assert_noop!(
                Attribution::deposit_credit(alice.clone(), 0),
                Error::<Test>::ZeroAmount
            );
            assert_noop!(
                Attribution::deposit_credit(alice, USER_FUNDS + 1),
                TokenError::FundsUnavailable
            );
            assert_noop!(
                Attribution::deposit_credit(RuntimeOrigin::root(), 1),
                DispatchError::BadOrigin
            );
        });
    }

    #[test]
    fn withdrawal_is_paid_only_after_the_delay() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            deposit(&alice_key(), 1_000);

            assert_ok!(Attribution::request_withdrawal(
                RuntimeOrigin::signed(alice.clone()),
                400
            ));
            let unlocks_at = 1 + WITHDRAWAL_DELAY;
            assert_eq!(
                attribution_events().last(),
                Some(&Event::WithdrawalRequested {
                    who: alice.clone(),
                    amount: 400,
                    unlocks_at
                })
            );
            assert_eq!(
                Attribution::credit(&alice).withdrawal,
                Some(PendingWithdrawal {
                    amount: 400,
                    unlocks_at
                })
            );

            System::set_block_number(unlocks_at - 1);
            assert_noop!(
                Attribution::withdraw(RuntimeOrigin::signed(alice.clone())),
                Error::<Test>::WithdrawalLocked
            );

            System::set_block_number(unlocks_at);
            assert_ok!(Attribution::withdraw(RuntimeOrigin::signed(alice.clone())));
            assert_eq!(
                Attribution::credit(&alice),
                CreditInfo {
                    balance: 600,
                    withdrawal: None
                }
            );
            assert_eq!(balance(&alice), USER_FUNDS - 600);
            assert_eq!(
                attribution_events().last(),
                Some(&Event::CreditWithdrawn {
                    who: alice,
                    amount: 400
                })
            );
        });
    }

    #[test]
    fn a_new_request_replaces_the_old_one_and_restarts_the_delay() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            deposit(&alice_key(), 1_000);
            assert_ok!(Attribution::request_withdrawal(
                RuntimeOrigin::signed(alice.clone()),
                400
            ));
            System::set_block_number(5);
            assert_ok!(Attribution::request_withdrawal(
                RuntimeOrigin::signed(alice.clone()),
                1_000
            ));

            System::set_block_number(1 + WITHDRAWAL_DELAY);
            assert_noop!(
                Attribution::withdraw(RuntimeOrigin::signed(alice.clone())),
                Error::<Test>::WithdrawalLocked
            );
            System::set_block_number(5 + WITHDRAWAL_DELAY);
            assert_ok!(Attribution::withdraw(RuntimeOrigin::signed(alice.clone())));
            // Everything was withdrawn, so nothing is stored for her any more.
            assert!(Credits::<Test>::get(&alice).is_none());
            assert_eq!(balance(&alice), USER_FUNDS);
        });
    }

    #[test]
    fn withdrawal_requests_beyond_the_credit_or_of_nothing_fail() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = RuntimeOrigin::signed(account_of(&alice_key()));
            assert_noop!(
                Attribution::request_withdrawal(alice.clone(), 1),
                Error::<Test>::InsufficientCredit
            );
            deposit(&alice_key(), 1_000);
            assert_noop!(
                Attribution::request_withdrawal(alice.clone(), 1_001),
                Error::<Test>::InsufficientCredit
            );
            assert_noop!(
                Attribution::request_withdrawal(alice, 0),
                Error::<Test>::ZeroAmount
            );
        });
    }

    #[test]
    fn withdraw_without_a_request_fails() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = RuntimeOrigin::signed(account_of(&alice_key()));
            assert_noop!(
                Attribution::withdraw(alice.clone()),
                Error::<Test>::NoWithdrawalRequested
            );
            deposit(&alice_key(), 1_000);
            assert_noop!(
                Attribution::withdraw(alice),
                Error::<Test>::NoWithdrawalRequested
            );
        });
    }

    #[test]
    fn a_worker_holding_an_authorization_is_paid_during_the_withdrawal_delay() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            deposit(&alice_key(), 1_000);
            assert_ok!(Attribution::request_withdrawal(
                RuntimeOrigin::signed(alice.clone()),
                1_000
            ));

            System::set_block_number(WITHDRAWAL_DELAY);
            assert_ok!(submit(batch(
                1,
                vec![record(&alice_key(), ADAPTER, 0, 600, &[])]
            )));

            System::set_block_number(1 + WITHDRAWAL_DELAY);
            assert_ok!(Attribution::withdraw(RuntimeOrigin::signed(alice.clone())));
            assert_eq!(
                attribution_events().last(),
                Some(&Event::CreditWithdrawn {
                    who: alice.clone(),
                    amount: 400
                })
            );
            assert!(Credits::<Test>::get(&alice).is_none());
        });
    }
}

mod fee_split {
    use super::*;

    fn even_split() -> FeeSplit {
        FeeSplit {
            model_owner: Perbill::from_percent(25),
            contributors: Perbill::from_percent(25),
            operator: Perbill::from_percent(25),
            treasury: Perbill::from_percent(25),
            contribution_cap: Perbill::from_percent(100),
        }
    }

    #[test]
    fn governance_sets_a_complete_split_and_it_applies_to_the_next_batch() {
        ExtBuilder::default().build_and_execute(|| {
            assert_eq!(Attribution::fee_split(), FeeSplit::default());
            assert_ok!(Attribution::set_fee_split(
                RuntimeOrigin::root(),
                even_split()
            ));
            assert_eq!(
                attribution_events().last(),
                Some(&Event::FeeSplitSet {
                    split: even_split()
                })
            );

            deposit(&alice_key(), 1_000);
            assert_ok!(submit(batch(
                1,
                vec![record(&alice_key(), ADAPTER, 0, 400, &[(100, 1_000_000)])]
            )));
            assert_eq!(Rewards::pending_rewards(&carol()), data(100));
            assert_eq!(Rewards::pending_rewards(&model_owner()).model, 100);
            assert_eq!(Rewards::pending_rewards(&operator()).compute, 100);
            assert_eq!(balance(&treasury()), ED + 100);
        });
    }

    #[test]
    fn only_governance_sets_the_split_and_only_a_complete_one() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = RuntimeOrigin::signed(account_of(&alice_key()));
            assert_noop!(
                Attribution::set_fee_split(alice, even_split()),
                DispatchError::BadOrigin
            );
            let incomplete = FeeSplit {
                treasury: Perbill::from_percent(24),
                ..even_split()
            };
            assert_noop!(
                Attribution::set_fee_split(RuntimeOrigin::root(), incomplete),
                Error::<Test>::InvalidFeeSplit
            );
        });
    }
}

mod settlement {
    use super::*;

    #[test]
    fn a_batch_charges_the_user_and_splits_the_fee() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            deposit(&alice_key(), 5_000);
            let signed = batch(
                7,
                vec![record(
                    &alice_key(),
                    ADAPTER,
                    0,
                    1_000,
                    &[(100, 200_000), (101, 100_000)],
                )],
            );
            let hash = sp_io::hashing::blake2_256(&signed.batch.encode()).into();

            assert_ok!(submit(signed));

            // Default split of 1,000: owner 300, operator 200, treasury 100, contributors 400.
            // Carol's contribution 100 is 20% of 400, Dave's 101 10%; the other 280 go to the pool.
            assert_eq!(Attribution::credit(&alice).balance, 4_000);
            assert_eq!(
                Rewards::pending_rewards(&model_owner()),
                PendingRewards {
                    data: 0,
                    model: 300,
                    compute: 0
                }
            );
            assert_eq!(
                Rewards::pending_rewards(&operator()),
                PendingRewards {
                    data: 0,
                    model: 0,
                    compute: 200
                }
            );
            assert_eq!(balance(&treasury()), ED + 100);
            assert_eq!(Rewards::pending_rewards(&carol()), data(80));
            assert_eq!(Rewards::pending_rewards(&dave()), data(40));
            assert_eq!(
                Rewards::pool(VERSION),
                Some(RewardPool {
                    total_points: 100,
                    credited: 280,
                    claimed: 0
                })
            );
            // The pool pays by version weight: Carol 70 points, Dave 30.
            assert_eq!(
                Rewards::pending_pool_rewards(&carol(), vec![VERSION]),
                vec![(VERSION, 196)]
            );
            assert_eq!(
                Rewards::pending_pool_rewards(&dave(), vec![VERSION]),
                vec![(VERSION, 84)]
            );

            assert_eq!(
                Nonces::<Test>::get(&alice),
                Some(NonceWindow::starting_at(0))
            );
            assert_eq!(BatchNonces::<Test>::get(operator()), Some(7));
            let commitment = Attribution::batch(0).expect("the commitment is kept");
            assert_eq!(
                (commitment.hash, commitment.records, commitment.total_fee),
                (hash, 1, 1_000)
            );
            assert_eq!(
                (
                    commitment.tokens_in,
                    commitment.tokens_out,
                    commitment.settled_at
                ),
                (10, 20, 1)
            );
            let events = attribution_events();
            assert_eq!(
                events[events.len() - 2],
                Event::InferenceSettled {
                    batch: 0,
                    user: alice,
                    model: ADAPTER,
                    nonce: 0,
                    fee: 1_000,
                    output_hash: sp_core::H256::repeat_byte(0xbb)
                }
            );
            assert_eq!(
                events.last(),
                Some(&Event::BatchSettled {
                    id: 0,
                    commitment,
                    pruned: None
                })
            );
        });
    }

    #[test]
    fn contributors_then_claim_through_rewards_once() {
        ExtBuilder::default().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            assert_ok!(submit(batch(
                1,
                vec![record(&alice_key(), ADAPTER, 0, 1_000, &[(101, 100_000)])]
            )));

            assert_ok!(Rewards::claim(RuntimeOrigin::signed(dave())));
            assert_ok!(Rewards::claim_pool(RuntimeOrigin::signed(dave()), VERSION));
            // 40 attributed, and 30% of the 360 left in the pool.
            assert_eq!(balance(&dave()), 40 + 108);
            assert_noop!(
                Rewards::claim(RuntimeOrigin::signed(dave())),
                pallet_rewards::Error::<Test>::NothingToClaim
            );
            assert_noop!(
                Rewards::claim_pool(RuntimeOrigin::signed(dave()), VERSION),
                pallet_rewards::Error::<Test>::NothingToClaim
            );
        });
    }

    #[test]
    fn without_attribution_the_contributors_share_goes_to_the_version_pool() {
        ExtBuilder::default().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            assert_ok!(submit(batch(
                1,
                vec![record(&alice_key(), ADAPTER, 0, 1_000, &[])]
            )));
            assert_eq!(Rewards::pool(VERSION).map(|pool| pool.credited), Some(400));
            assert_eq!(
                Rewards::pending_rewards(&carol()),
                PendingRewards::default()
            );
        });
    }

    #[test]
    fn one_contribution_takes_at_most_the_cap_and_the_rest_goes_to_the_pool() {
        ExtBuilder::default().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            assert_ok!(submit(batch(
                1,
                vec![record(&alice_key(), ADAPTER, 0, 1_000, &[(100, 1_000_000)])]
            )));
            // 25% of the contributors' 400.
            assert_eq!(Rewards::pending_rewards(&carol()), data(100));
            assert_eq!(Rewards::pool(VERSION).map(|pool| pool.credited), Some(300));
        });
    }

    #[test]
    fn a_base_models_contributors_share_goes_to_the_treasury() {
        ExtBuilder::default().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            assert_ok!(submit(batch(
                1,
                vec![record(&alice_key(), BASE_MODEL, 0, 1_000, &[])]
            )));
            assert_eq!(balance(&treasury()), ED + 100 + 400);
            assert_eq!(Rewards::pool(VERSION), None);
        });
    }

    #[test]
    fn nonces_may_arrive_out_of_order_within_the_window() {
        ExtBuilder::default().build_and_execute(|| {
            let alice_account = account_of(&alice_key());
            deposit(&alice_key(), 5_000);
            assert_ok!(submit(batch(
                1,
                vec![
                    record(&alice_key(), ADAPTER, 5, 10, &[]),
                    record(&alice_key(), ADAPTER, 3, 10, &[])
                ]
            )));
            assert_ok!(submit(batch(
                2,
                vec![record(&alice_key(), ADAPTER, 4, 10, &[])]
            )));
            assert_eq!(
                Nonces::<Test>::get(&alice_account),
                Some(NonceWindow {
                    highest: 5,
                    used: 0b111
                })
            );
            assert_eq!(
                Attribution::nonce_window(&alice_account),
                Some(NonceWindow {
                    highest: 5,
                    used: 0b111
                })
            );
        });
    }

    #[test]
    fn only_the_latest_batch_commitments_are_kept() {
        ExtBuilder::default().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            for nonce in 0..=BATCH_RETENTION {
                assert_ok!(submit(batch(
                    nonce + 1,
                    vec![record(&alice_key(), ADAPTER, nonce, 10, &[])]
                )));
            }
            assert!(Batches::<Test>::get(0).is_none());
            assert!(Batches::<Test>::get(BATCH_RETENTION).is_some());
            assert!(matches!(
                attribution_events().last(),
                Some(Event::BatchSettled {
                    id: BATCH_RETENTION,
                    pruned: Some(0),
                    ..
                })
            ));
        });
    }
}

mod rejections {
    use super::*;

    /// Submitting `signed` fails with `error` and changes nothing.
    fn rejected(signed: crate::SignedInferenceBatch, error: impl Into<DispatchError>) {
        assert_noop!(submit(signed), error.into());
    }

    fn funded() -> ExtBuilder {
        ExtBuilder::default()
    }

    #[test]
    fn forged_user_authorization() {
        funded().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            // Bob signs an authorization that charges Alice.
            let mut forged = record(&alice_key(), ADAPTER, 0, 100, &[]);
            forged.user_signature = forged.authorization.sign(&genesis(), &bob_key());
            rejected(batch(1, vec![forged]), Error::<Test>::BadUserSignature);

            // Alice's signature does not cover a raised maximum fee.
            let mut tampered = record(&alice_key(), ADAPTER, 0, 100, &[]);
            tampered.authorization.max_fee = 1_000;
            tampered.fee = 1_000;
            rejected(batch(1, vec![tampered]), Error::<Test>::BadUserSignature);
        });
    }

    #[test]
    fn forged_worker_signature() {
        funded().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            let mut signed = batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]);
            signed.signature = key(42).sign(&attribution_primitives::signing::signing_message(
                attribution_primitives::signing::INFERENCE_BATCH_DOMAIN,
                &genesis(),
                &signed.batch,
            ));
            rejected(signed.clone(), Error::<Test>::BadWorkerSignature);

            // The worker's signature does not cover a record added afterwards.
            let mut extended = batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]);
            extended
                .batch
                .records
                .try_push(record(&alice_key(), ADAPTER, 1, 100, &[]))
                .unwrap();
            rejected(extended, Error::<Test>::BadWorkerSignature);
        });
    }

    #[test]
    fn signed_for_another_chain() {
        funded().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            let other_chain = Hash::repeat_byte(0x42);

            // The worker's batch, signed for another chain.
            let signed = batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]);
            let replayed = crate::SignedInferenceBatch::sign(signed.batch, &other_chain, &worker());
            rejected(replayed, Error::<Test>::BadWorkerSignature);

            // Alice's authorization, signed for another chain, in a batch signed for this one.
            let mut replayed = record(&alice_key(), ADAPTER, 0, 100, &[]);
            replayed.user_signature = replayed.authorization.sign(&other_chain, &alice_key());
            rejected(batch(1, vec![replayed]), Error::<Test>::BadUserSignature);

            // The same records signed for this chain settle.
            assert_eq!(Attribution::genesis_hash(), genesis());
            assert_ok!(submit(batch(
                1,
                vec![record(&alice_key(), ADAPTER, 0, 100, &[])]
            )));
        });
    }

    #[test]
    fn batches_from_someone_else_than_the_registered_operator() {
        funded().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            let signed = batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]);
            let bob = RuntimeOrigin::signed(account_of(&bob_key()));
            assert_noop!(
                Attribution::submit_inference_batch(bob, signed.clone()),
                Error::<Test>::NotBatchOperator
            );

            let mut unregistered = signed.batch.clone();
            unregistered.operator = account_of(&bob_key());
            let unregistered =
                crate::SignedInferenceBatch::sign(unregistered, &genesis(), &worker());
            let bob = RuntimeOrigin::signed(account_of(&bob_key()));
            assert_noop!(
                Attribution::submit_inference_batch(bob, unregistered),
                Error::<Test>::NotOperator
            );
            assert_noop!(
                Attribution::submit_inference_batch(RuntimeOrigin::root(), signed),
                DispatchError::BadOrigin
            );
        });
    }

    #[test]
    fn empty_batch() {
        funded().build_and_execute(|| rejected(batch(1, vec![]), Error::<Test>::EmptyBatch));
    }

    #[test]
    fn oversize_batch_cannot_be_decoded() {
        funded().build_and_execute(|| {
            let records =
                vec![record(&alice_key(), ADAPTER, 0, 1, &[]); MAX_BATCH_RECORDS as usize + 1];
            let encoded = (operator(), 1u64, records).encode();
            assert!(InferenceBatch::decode(&mut &encoded[..]).is_err());
        });
    }

    #[test]
    fn replayed_batch() {
        funded().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            let signed = batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]);
            assert_ok!(submit(signed.clone()));
            rejected(signed, Error::<Test>::BatchNonceUsed);
        });
    }

    #[test]
    fn replayed_nonce() {
        funded().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            let paid = record(&alice_key(), ADAPTER, 0, 100, &[]);
            assert_ok!(submit(batch(1, vec![paid.clone()])));
            // The same record again in a fresh batch.
            rejected(batch(2, vec![paid]), Error::<Test>::NonceUsed);
            // Two records with one nonce in one batch.
            let twice = vec![
                record(&alice_key(), ADAPTER, 1, 100, &[]),
                record(&alice_key(), ADAPTER, 1, 50, &[]),
            ];
            rejected(batch(2, twice), Error::<Test>::NonceUsed);
        });
    }

    #[test]
    fn nonce_older_than_the_window() {
        funded().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            assert_ok!(submit(batch(
                1,
                vec![record(&alice_key(), ADAPTER, NONCE_WINDOW, 10, &[])]
            )));
            rejected(
                batch(2, vec![record(&alice_key(), ADAPTER, 0, 10, &[])]),
                Error::<Test>::NonceTooOld,
            );
        });
    }

    #[test]
    fn expired_authorization() {
        funded().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            System::set_block_number(101);
            rejected(
                batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]),
                Error::<Test>::AuthorizationExpired,
            );
        });
    }

    #[test]
    fn fee_over_max() {
        funded().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            let mut greedy = record(&alice_key(), ADAPTER, 0, 100, &[]);
            greedy.fee = 101;
            rejected(batch(1, vec![greedy]), Error::<Test>::FeeOverMax);
        });
    }

    #[test]
    fn inactive_model() {
        funded().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            rejected(
                batch(1, vec![record(&alice_key(), RETIRED, 0, 100, &[])]),
                Error::<Test>::ModelNotServing,
            );
            MockChain::deactivate_model(ADAPTER);
            rejected(
                batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]),
                Error::<Test>::ModelNotServing,
            );
        });
    }

    #[test]
    fn weights_over_one_million() {
        funded().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            let over = record(
                &alice_key(),
                ADAPTER,
                0,
                100,
                &[(100, 600_000), (101, 400_001)],
            );
            rejected(batch(1, vec![over]), Error::<Test>::AttributionOverMillion);
            let overflowing = record(&alice_key(), ADAPTER, 0, 100, &[(100, u32::MAX), (101, 1)]);
            rejected(
                batch(1, vec![overflowing]),
                Error::<Test>::AttributionOverMillion,
            );
        });
    }

    #[test]
    fn zero_weight_and_duplicate_contribution() {
        funded().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            rejected(
                batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[(100, 0)])]),
                Error::<Test>::ZeroWeight,
            );
            // Listing a contribution twice would get round the cap.
            let twice = record(
                &alice_key(),
                ADAPTER,
                0,
                100,
                &[(100, 250_000), (100, 250_000)],
            );
            rejected(batch(1, vec![twice]), Error::<Test>::DuplicateContribution);
        });
    }

    #[test]
    fn contribution_from_another_datanet() {
        funded().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            rejected(
                batch(
                    1,
                    vec![record(&alice_key(), ADAPTER, 0, 100, &[(200, 1_000)])],
                ),
                Error::<Test>::ContributionNotInLineage,
            );
            rejected(
                batch(
                    1,
                    vec![record(&alice_key(), ADAPTER, 0, 100, &[(999, 1_000)])],
                ),
                Error::<Test>::ContributionNotInLineage,
            );
            // A base model has no lineage to attribute.
            rejected(
                batch(
                    1,
                    vec![record(&alice_key(), BASE_MODEL, 0, 100, &[(100, 1_000)])],
                ),
                Error::<Test>::ContributionNotInLineage,
            );
        });
    }

    #[test]
    fn insufficient_credit() {
        funded().build_and_execute(|| {
            rejected(
                batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]),
                Error::<Test>::InsufficientCredit,
            );
            deposit(&alice_key(), 150);
            let both = vec![
                record(&alice_key(), ADAPTER, 0, 100, &[]),
                record(&alice_key(), ADAPTER, 1, 100, &[]),
            ];
            rejected(batch(1, both), Error::<Test>::InsufficientCredit);
        });
    }

    #[test]
    fn one_bad_record_fails_the_whole_batch() {
        funded().build_and_execute(|| {
            deposit(&alice_key(), 5_000);
            deposit(&bob_key(), 5_000);
            let good = record(&alice_key(), ADAPTER, 0, 100, &[(100, 500_000)]);
            let bad = record(&bob_key(), RETIRED, 0, 100, &[]);
            rejected(batch(1, vec![good, bad]), Error::<Test>::ModelNotServing);
            assert_eq!(
                Attribution::credit(&account_of(&alice_key())).balance,
                5_000
            );
        });
    }
}

mod invariants {
    use super::*;

    #[test]
    fn try_state_catches_credit_that_is_not_escrowed() {
        ExtBuilder::default().build().execute_with(|| {
            assert_ok!(Attribution::do_try_state());
            Credits::<Test>::insert(
                account_of(&alice_key()),
                CreditInfo {
                    balance: 1,
                    withdrawal: None,
                },
            );
            assert!(Attribution::do_try_state().is_err());
        });
    }

    #[test]
    fn try_state_catches_an_empty_stored_credit_and_stray_funds() {
        ExtBuilder::default().build().execute_with(|| {
            Credits::<Test>::insert(account_of(&alice_key()), CreditInfo::default());
            assert!(Attribution::do_try_state().is_err());
            Credits::<Test>::remove(account_of(&alice_key()));
            assert_ok!(Balances::mint_into(&Attribution::account_id(), 1));
            assert!(Attribution::do_try_state().is_err());
        });
    }
}

/// Random sequences of deposits, batches and claims across attribution and rewards keep OPEN
/// conserved, and every recipient ends up with exactly the documented share.
mod conservation_property {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Attributions a record may carry: none, partial, capped, and every contribution of the version.
    const PATTERNS: [&[(u64, u32)]; 4] = [
        &[],
        &[(100, 200_000), (101, 100_000)],
        &[(100, 1_000_000)],
        &[(101, 333_333), (102, 333_333), (100, 333_334)],
    ];

    #[derive(Clone, Debug)]
    enum Op {
        Deposit {
            user: bool,
            amount: u128,
        },
        Settle {
            user: bool,
            fee: u128,
            pattern: usize,
            base_model: bool,
        },
        Claim {
            who: usize,
        },
        ClaimPool {
            who: usize,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (any::<bool>(), 1..20_000u128).prop_map(|(user, amount)| Op::Deposit { user, amount }),
            (
                any::<bool>(),
                0..5_000u128,
                0..PATTERNS.len(),
                any::<bool>()
            )
                .prop_map(|(user, fee, pattern, base_model)| Op::Settle {
                    user,
                    fee,
                    pattern,
                    base_model
                }),
            (0..4usize).prop_map(|who| Op::Claim { who }),
            (0..2usize).prop_map(|who| Op::ClaimPool { who }),
        ]
    }

    fn user(bob: bool) -> sp_core::sr25519::Pair {
        if bob {
            bob_key()
        } else {
            alice_key()
        }
    }

    fn everyone() -> Vec<crate::AccountId> {
        vec![
            account_of(&alice_key()),
            account_of(&bob_key()),
            treasury(),
            carol(),
            dave(),
            model_owner(),
            operator(),
            Attribution::account_id(),
            Rewards::account_id(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn deposits_batches_and_claims_conserve_open_and_pay_exact_shares(ops in proptest::collection::vec(op(), 1..60)) {
            ExtBuilder::default().build_and_execute(|| {
                let total_before: u128 = everyone().iter().map(balance).sum();
                let split = FeeSplit::default();
                let recipients = [carol(), dave(), model_owner(), operator()];
                let mut credit: BTreeMap<bool, u128> = BTreeMap::new();
                let mut nonce: BTreeMap<bool, u64> = BTreeMap::new();
                let mut batch_nonce = 0;
                let mut owed: BTreeMap<crate::AccountId, u128> = BTreeMap::new();
                let mut paid: BTreeMap<crate::AccountId, u128> = BTreeMap::new();
                let (mut pool_credited, mut treasury_paid) = (0u128, 0u128);

                for op in ops {
                    match op {
                        Op::Deposit { user: u, amount } => {
                            deposit(&user(u), amount);
                            *credit.entry(u).or_default() += amount;
                        },
                        Op::Settle { user: u, fee, pattern, base_model } => {
                            let attribution = if base_model { &[][..] } else { PATTERNS[pattern] };
                            let model = if base_model { BASE_MODEL } else { ADAPTER };
                            let next = nonce.entry(u).or_default();
                            batch_nonce += 1;
                            let result = submit(batch(batch_nonce, vec![record(&user(u), model, *next, fee, attribution)]));
                            let available = credit.entry(u).or_default();
                            if *available < fee {
                                assert_eq!(result, Err(Error::<Test>::InsufficientCredit.into()));
                                continue;
                            }
                            assert_ok!(result);
                            *available -= fee;
                            *next += 1;
                            let parts = split.split(fee);
                            *owed.entry(model_owner()).or_default() += parts.model_owner;
                            *owed.entry(operator()).or_default() += parts.operator;
                            treasury_paid += parts.treasury;
                            let mut rest = parts.contributors;
                            for (contribution, weight) in attribution {
                                let share = split.contribution_share(*weight, parts.contributors);
                                let contributor = if *contribution == 101 { dave() } else { carol() };
                                *owed.entry(contributor).or_default() += share;
                                rest -= share;
                            }
                            if base_model { treasury_paid += rest } else { pool_credited += rest }
                        },
                        Op::Claim { who } => {
                            let who = recipients[who].clone();
                            let pending = owed.get(&who).copied().unwrap_or(0) - paid.get(&who).copied().unwrap_or(0);
                            let result = Rewards::claim(RuntimeOrigin::signed(who.clone()));
                            if pending == 0 {
                                assert_eq!(result, Err(pallet_rewards::Error::<Test>::NothingToClaim.into()));
                            } else {
                                assert_ok!(result);
                                *paid.entry(who).or_default() += pending;
                            }
                        },
                        Op::ClaimPool { who } => {
                            // May find nothing pending; the amounts are checked at the end.
                            let _ = Rewards::claim_pool(RuntimeOrigin::signed(recipients[who].clone()), VERSION);
                        },
                    }
                    Attribution::do_try_state().expect("attribution conserves OPEN after every step");
                    Rewards::do_try_state().expect("rewards conserves OPEN after every step");
                    assert_eq!(everyone().iter().map(balance).sum::<u128>(), total_before, "no OPEN created or lost");
                }

                for who in &recipients {
                    let _ = Rewards::claim(RuntimeOrigin::signed(who.clone()));
                    let _ = Rewards::claim_pool(RuntimeOrigin::signed(who.clone()), VERSION);
                }
                // Carol has 70 of the version's 100 points, Dave 30.
                let pool_share = |points: u128| points * pool_credited / 100;
                assert_eq!(balance(&carol()), owed.get(&carol()).copied().unwrap_or(0) + pool_share(70));
                assert_eq!(balance(&dave()), owed.get(&dave()).copied().unwrap_or(0) + pool_share(30));
                assert_eq!(balance(&model_owner()), owed.get(&model_owner()).copied().unwrap_or(0));
                assert_eq!(balance(&operator()), owed.get(&operator()).copied().unwrap_or(0));
                assert_eq!(balance(&treasury()), ED + treasury_paid);
                let dust = pool_credited - pool_share(70) - pool_share(30);
                assert!(dust < 2, "less than a planck of dust per pool member");
                assert_eq!(balance(&Rewards::account_id()), ED + dust);
                assert_eq!(balance(&Attribution::account_id()), ED + credit.values().sum::<u128>());
            });
        }
    }
}
