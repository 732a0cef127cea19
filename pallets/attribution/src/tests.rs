//! Stories of credits, allowances, batches and their rejections, and a property test of
//! conservation across attribution and rewards.

use crate::{
    mock::*, AllowanceInfo, Allowances, BatchNonces, Batches, CreditInfo, Credits, Error, Event,
    FeeSplit, NonceWindow, Nonces, PendingWithdrawal, RecordRejection,
};
use attribution_primitives::{
    attribution::{InferenceAuthorization, InferenceBatch, MAX_BATCH_RECORDS, NONCE_WINDOW},
    rewards::{PendingRewards, RewardPool},
    Hash,
};
use codec::{Decode, Encode};
use frame_support::{assert_noop, assert_ok, traits::fungible::Mutate};
use sp_core::Pair;
use sp_runtime::{DispatchError, DispatchResult, Perbill, TokenError};

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
    fn credit_granted_to_an_operator_is_no_longer_withdrawn() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            deposit(&alice_key(), 1_000);
            assert_ok!(Attribution::request_withdrawal(
                RuntimeOrigin::signed(alice.clone()),
                1_000
            ));
            assert_ok!(Attribution::grant_allowance(
                RuntimeOrigin::signed(alice.clone()),
                operator(),
                600
            ));

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
            assert_eq!(Attribution::allowance(&alice, &operator()).balance, 600);
            assert_eq!(balance(&alice), USER_FUNDS - 600);
        });
    }
}

mod withdrawal_delay {
    use super::*;
    use crate::WithdrawalDelay;
    use sp_runtime::BuildStorage;

    fn set_delay(origin: RuntimeOrigin, delay: u32) -> DispatchResult {
        Attribution::set_withdrawal_delay(origin, delay)
    }

    #[test]
    fn governance_sets_the_delay_of_requests_made_from_then_on() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            let bob = account_of(&bob_key());
            deposit(&alice_key(), 1_000);
            deposit(&bob_key(), 1_000);
            assert_eq!(WithdrawalDelay::<Test>::get(), WITHDRAWAL_DELAY);
            assert_ok!(Attribution::request_withdrawal(
                RuntimeOrigin::signed(alice.clone()),
                400
            ));

            assert_ok!(set_delay(RuntimeOrigin::root(), 3));
            assert_eq!(WithdrawalDelay::<Test>::get(), 3);
            assert_eq!(
                attribution_events().last(),
                Some(&Event::WithdrawalDelaySet { delay: 3 })
            );
            // Bob's request counts the new delay; Alice's keeps the block it unlocks at.
            System::set_block_number(2);
            assert_ok!(Attribution::request_withdrawal(
                RuntimeOrigin::signed(bob.clone()),
                300
            ));
            assert_eq!(
                Attribution::credit(&bob).withdrawal,
                Some(PendingWithdrawal {
                    amount: 300,
                    unlocks_at: 5
                })
            );
            assert_eq!(
                Attribution::credit(&alice).withdrawal,
                Some(PendingWithdrawal {
                    amount: 400,
                    unlocks_at: 1 + WITHDRAWAL_DELAY
                })
            );

            System::set_block_number(5);
            assert_ok!(Attribution::withdraw(RuntimeOrigin::signed(bob.clone())));
            assert_noop!(
                Attribution::withdraw(RuntimeOrigin::signed(alice.clone())),
                Error::<Test>::WithdrawalLocked
            );
            assert_eq!(balance(&bob), USER_FUNDS - 700);
        });
    }

    #[test]
    fn only_governance_sets_a_delay_and_only_one_within_bounds() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = RuntimeOrigin::signed(account_of(&alice_key()));
            assert_noop!(set_delay(alice, 3), DispatchError::BadOrigin);
            assert_noop!(
                set_delay(RuntimeOrigin::root(), 0),
                Error::<Test>::ZeroWithdrawalDelay
            );
            assert_noop!(
                set_delay(RuntimeOrigin::root(), MAX_WITHDRAWAL_DELAY + 1),
                Error::<Test>::WithdrawalDelayTooLong
            );
            assert_noop!(
                set_delay(RuntimeOrigin::root(), u32::MAX),
                Error::<Test>::WithdrawalDelayTooLong
            );
            assert_eq!(WithdrawalDelay::<Test>::get(), WITHDRAWAL_DELAY);
            // Both bounds are allowed.
            assert_ok!(set_delay(RuntimeOrigin::root(), MAX_WITHDRAWAL_DELAY));
            assert_ok!(set_delay(RuntimeOrigin::root(), 1));
            assert_eq!(WithdrawalDelay::<Test>::get(), 1);
        });
    }

    fn genesis_delay(delay: Option<u32>) -> u32 {
        let storage = crate::GenesisConfig::<Test> {
            withdrawal_delay: delay,
            ..Default::default()
        }
        .build_storage()
        .unwrap();
        sp_io::TestExternalities::new(storage).execute_with(WithdrawalDelay::<Test>::get)
    }

    #[test]
    fn the_genesis_config_sets_the_delay() {
        assert_eq!(genesis_delay(Some(3)), 3);
        assert_eq!(
            genesis_delay(Some(MAX_WITHDRAWAL_DELAY)),
            MAX_WITHDRAWAL_DELAY
        );
        assert_eq!(genesis_delay(None), WITHDRAWAL_DELAY);
    }

    #[test]
    #[should_panic(expected = "a withdrawal delay lasts between one block and MaxWithdrawalDelay")]
    fn a_genesis_delay_of_zero_is_refused() {
        genesis_delay(Some(0));
    }

    #[test]
    #[should_panic(expected = "a withdrawal delay lasts between one block and MaxWithdrawalDelay")]
    fn a_genesis_delay_above_the_bound_is_refused() {
        genesis_delay(Some(MAX_WITHDRAWAL_DELAY + 1));
    }

    #[test]
    fn try_state_finds_a_delay_or_a_request_out_of_bounds() {
        ExtBuilder::default().build().execute_with(|| {
            WithdrawalDelay::<Test>::put(0);
            assert!(Attribution::do_try_state().is_err());
            WithdrawalDelay::<Test>::put(MAX_WITHDRAWAL_DELAY + 1);
            assert!(Attribution::do_try_state().is_err());
            WithdrawalDelay::<Test>::put(MAX_WITHDRAWAL_DELAY);
            assert_ok!(Attribution::do_try_state());

            deposit(&alice_key(), 1_000);
            let alice = account_of(&alice_key());
            assert_ok!(Attribution::request_withdrawal(
                RuntimeOrigin::signed(alice.clone()),
                400
            ));
            assert_ok!(Attribution::do_try_state());
            Credits::<Test>::mutate(&alice, |credit| {
                if let Some(w) = credit.as_mut().and_then(|c| c.withdrawal.as_mut()) {
                    w.unlocks_at += 1;
                }
            });
            assert!(Attribution::do_try_state().is_err());
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

            fund_allowance(&alice_key(), 1_000);
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
            fund_allowance(&alice_key(), 5_000);
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
            assert_eq!(Attribution::allowance(&alice, &operator()).balance, 4_000);
            assert_eq!(Attribution::credit(&alice), CreditInfo::default());
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
                Nonces::<Test>::get(&alice, operator()),
                Some(NonceWindow::starting_at(0))
            );
            assert_eq!(BatchNonces::<Test>::get(operator()), Some(7));
            let commitment = Attribution::batch(0).expect("the commitment is kept");
            assert_eq!(
                (
                    commitment.hash,
                    commitment.records,
                    commitment.rejected,
                    commitment.total_fee
                ),
                (hash, 1, 0, 1_000)
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
                    record: 0,
                    challengeable_until: 1 + CHALLENGE_WINDOW,
                    user: alice,
                    model: ADAPTER,
                    nonce: 0,
                    fee: 1_000,
                    output_hash: Hash::from(sp_io::hashing::blake2_256(ANSWER))
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
    fn an_authorization_signed_through_a_browser_extension_settles_like_a_bare_one() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            fund_allowance(&alice_key(), 5_000);
            let bare = record(&alice_key(), ADAPTER, 0, 1_000, &[]);
            let mut by_extension = record(&alice_key(), ADAPTER, 1, 1_000, &[]);
            by_extension.user_signature = by_extension
                .authorization
                .sign_as_extension(&genesis(), &alice_key());
            assert_ne!(bare.user_signature, by_extension.user_signature);

            assert_ok!(submit(batch(1, vec![bare, by_extension])));

            let commitment = Attribution::batch(0).expect("the commitment is kept");
            assert_eq!(
                (
                    commitment.records,
                    commitment.rejected,
                    commitment.total_fee
                ),
                (2, 0, 2_000)
            );
            assert_eq!(Attribution::allowance(&alice, &operator()).balance, 3_000);
        });
    }

    #[test]
    fn contributors_then_claim_through_rewards_once() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), 5_000);
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
            fund_allowance(&alice_key(), 5_000);
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
            fund_allowance(&alice_key(), 5_000);
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
            fund_allowance(&alice_key(), 5_000);
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
            fund_allowance(&alice_key(), 5_000);
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
                Nonces::<Test>::get(&alice_account, operator()),
                Some(NonceWindow {
                    highest: 5,
                    used: 0b111
                })
            );
            assert_eq!(
                Attribution::nonce_window(&alice_account, &operator()),
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
            fund_allowance(&alice_key(), 5_000);
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

mod allowances {
    use super::*;

    fn grant(user: &sp_core::sr25519::Pair, to: crate::AccountId, amount: u128) -> DispatchResult {
        Attribution::grant_allowance(RuntimeOrigin::signed(account_of(user)), to, amount)
    }

    #[test]
    fn grant_moves_credit_into_the_allowance_for_one_operator() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            deposit(&alice_key(), 1_000);
            assert_ok!(grant(&alice_key(), operator(), 400));
            assert_ok!(grant(&alice_key(), operator(), 100));
            assert_ok!(grant(&alice_key(), other_operator(), 300));

            assert_eq!(Attribution::credit(&alice).balance, 200);
            assert_eq!(
                Attribution::allowance(&alice, &operator()),
                AllowanceInfo {
                    balance: 500,
                    reduction: None
                }
            );
            assert_eq!(
                Allowances::<Test>::get(&alice, other_operator()).map(|a| a.balance),
                Some(300)
            );
            // Still escrowed in the pallet account: nothing moved out.
            assert_eq!(balance(&Attribution::account_id()), ED + 1_000);
            assert_eq!(
                attribution_events().last(),
                Some(&Event::AllowanceGranted {
                    user: alice,
                    operator: other_operator(),
                    amount: 300
                })
            );
        });
    }

    #[test]
    fn grants_of_nothing_beyond_the_credit_or_to_a_non_operator_fail() {
        ExtBuilder::default().build_and_execute(|| {
            assert_noop!(
                grant(&alice_key(), operator(), 1),
                Error::<Test>::InsufficientCredit
            );
            deposit(&alice_key(), 1_000);
            assert_noop!(
                grant(&alice_key(), operator(), 1_001),
                Error::<Test>::InsufficientCredit
            );
            assert_noop!(
                grant(&alice_key(), operator(), 0),
                Error::<Test>::ZeroAmount
            );
            assert_noop!(
                grant(&alice_key(), account_of(&bob_key()), 10),
                Error::<Test>::UnknownOperator
            );
            assert_noop!(
                Attribution::grant_allowance(RuntimeOrigin::root(), operator(), 10),
                DispatchError::BadOrigin
            );
        });
    }

    #[test]
    fn the_same_credit_cannot_be_promised_to_two_operators() {
        ExtBuilder::default().build_and_execute(|| {
            deposit(&alice_key(), 1_000);
            assert_ok!(grant(&alice_key(), operator(), 1_000));
            assert_noop!(
                grant(&alice_key(), other_operator(), 1),
                Error::<Test>::InsufficientCredit
            );
            // The other operator cannot charge the first one's allowance either.
            let mut stolen = record(&alice_key(), ADAPTER, 0, 100, &[]);
            stolen.authorization.operator = other_operator();
            stolen.user_signature = stolen.authorization.sign(&genesis(), &alice_key());
            assert_ok!(Attribution::submit_inference_batch(
                RuntimeOrigin::signed(other_operator()),
                batch_of(other_operator(), &other_worker(), 1, vec![stolen])
            ));
            assert!(matches!(
                attribution_events().iter().rev().nth(1),
                Some(Event::InferenceRejected {
                    reason: RecordRejection::AllowanceTooLow,
                    ..
                })
            ));
            assert_eq!(
                Attribution::allowance(&account_of(&alice_key()), &operator()).balance,
                1_000
            );
        });
    }

    #[test]
    fn a_reduction_waits_for_the_delay_while_the_operator_still_charges() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            fund_allowance(&alice_key(), 1_000);
            assert_ok!(Attribution::request_allowance_reduction(
                RuntimeOrigin::signed(alice.clone()),
                operator(),
                1_000
            ));
            let unlocks_at = 1 + ALLOWANCE_DELAY;
            assert_eq!(
                attribution_events().last(),
                Some(&Event::AllowanceReductionRequested {
                    user: alice.clone(),
                    operator: operator(),
                    amount: 1_000,
                    unlocks_at
                })
            );
            // The operator (and its worker) sees the reduction coming.
            assert_eq!(
                Attribution::allowance(&alice, &operator()),
                AllowanceInfo {
                    balance: 1_000,
                    reduction: Some(PendingWithdrawal {
                        amount: 1_000,
                        unlocks_at
                    })
                }
            );

            System::set_block_number(unlocks_at - 1);
            assert_noop!(
                Attribution::reduce_allowance(RuntimeOrigin::signed(alice.clone()), operator()),
                Error::<Test>::ReductionLocked
            );
            // What it served before the reduction unlocks is paid.
            assert_ok!(submit(batch(
                1,
                vec![record(&alice_key(), ADAPTER, 0, 600, &[])]
            )));
            assert_eq!(Rewards::pending_rewards(&operator()).compute, 120);

            System::set_block_number(unlocks_at);
            assert_ok!(Attribution::reduce_allowance(
                RuntimeOrigin::signed(alice.clone()),
                operator()
            ));
            assert_eq!(
                attribution_events().last(),
                Some(&Event::AllowanceReduced {
                    user: alice.clone(),
                    operator: operator(),
                    amount: 400
                })
            );
            assert!(Allowances::<Test>::get(&alice, operator()).is_none());
            assert_eq!(Attribution::credit(&alice).balance, 400);

            // The credit is the user's again: withdrawn after its own delay.
            assert_ok!(Attribution::request_withdrawal(
                RuntimeOrigin::signed(alice.clone()),
                400
            ));
            System::set_block_number(unlocks_at + WITHDRAWAL_DELAY);
            assert_ok!(Attribution::withdraw(RuntimeOrigin::signed(alice.clone())));
            assert_eq!(balance(&alice), USER_FUNDS - 600);
        });
    }

    #[test]
    fn a_partial_reduction_keeps_the_rest_and_a_new_one_restarts_the_delay() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            let origin = || RuntimeOrigin::signed(alice.clone());
            fund_allowance(&alice_key(), 1_000);
            assert_ok!(Attribution::request_allowance_reduction(
                origin(),
                operator(),
                100
            ));
            System::set_block_number(5);
            assert_ok!(Attribution::request_allowance_reduction(
                origin(),
                operator(),
                300
            ));

            System::set_block_number(1 + ALLOWANCE_DELAY);
            assert_noop!(
                Attribution::reduce_allowance(origin(), operator()),
                Error::<Test>::ReductionLocked
            );
            System::set_block_number(5 + ALLOWANCE_DELAY);
            assert_ok!(Attribution::reduce_allowance(origin(), operator()));
            assert_eq!(
                Attribution::allowance(&alice, &operator()),
                AllowanceInfo {
                    balance: 700,
                    reduction: None
                }
            );
            assert_eq!(Attribution::credit(&alice).balance, 300);
            assert_noop!(
                Attribution::reduce_allowance(origin(), operator()),
                Error::<Test>::NoReductionRequested
            );
        });
    }

    #[test]
    fn reductions_of_nothing_beyond_the_allowance_or_unrequested_fail() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = RuntimeOrigin::signed(account_of(&alice_key()));
            assert_noop!(
                Attribution::request_allowance_reduction(alice.clone(), operator(), 1),
                Error::<Test>::InsufficientAllowance
            );
            assert_noop!(
                Attribution::reduce_allowance(alice.clone(), operator()),
                Error::<Test>::NoReductionRequested
            );
            fund_allowance(&alice_key(), 1_000);
            assert_noop!(
                Attribution::request_allowance_reduction(alice.clone(), operator(), 1_001),
                Error::<Test>::InsufficientAllowance
            );
            assert_noop!(
                Attribution::request_allowance_reduction(alice.clone(), other_operator(), 1),
                Error::<Test>::InsufficientAllowance
            );
            assert_noop!(
                Attribution::request_allowance_reduction(alice.clone(), operator(), 0),
                Error::<Test>::ZeroAmount
            );
            assert_noop!(
                Attribution::reduce_allowance(alice, operator()),
                Error::<Test>::NoReductionRequested
            );
        });
    }

    #[test]
    fn nonces_are_kept_per_operator() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            deposit(&alice_key(), 2_000);
            assert_ok!(grant(&alice_key(), operator(), 1_000));
            assert_ok!(grant(&alice_key(), other_operator(), 1_000));
            // Alice jumps far ahead with the other operator...
            let mut far = record(&alice_key(), ADAPTER, 10 * NONCE_WINDOW, 100, &[]);
            far.authorization.operator = other_operator();
            far.user_signature = far.authorization.sign(&genesis(), &alice_key());
            assert_ok!(Attribution::submit_inference_batch(
                RuntimeOrigin::signed(other_operator()),
                batch_of(other_operator(), &other_worker(), 1, vec![far])
            ));
            // ...which neither makes the first operator's nonce 0 too old nor used.
            assert_ok!(submit(batch(
                1,
                vec![record(&alice_key(), ADAPTER, 0, 100, &[])]
            )));
            assert_eq!(
                Attribution::nonce_window(&alice, &operator()),
                Some(NonceWindow::starting_at(0))
            );
            assert_eq!(
                Attribution::nonce_window(&alice, &other_operator()),
                Some(NonceWindow::starting_at(10 * NONCE_WINDOW))
            );
            assert_eq!(Attribution::allowance(&alice, &operator()).balance, 900);
            assert_eq!(
                Attribution::allowance(&alice, &other_operator()).balance,
                900
            );
        });
    }
}

mod rejections {
    use super::*;
    use crate::{NextBatchId, SignedInferenceBatch};

    /// Submitting `signed` fails with `error` and changes nothing.
    fn refused(signed: SignedInferenceBatch, error: impl Into<DispatchError>) {
        assert_noop!(submit(signed), error.into());
    }

    /// Submitting `signed` succeeds but rejects its only record for `reason`: no funds move, no
    /// nonce is used, and the commitment counts no settled record.
    fn rejected(signed: SignedInferenceBatch, reason: RecordRejection) {
        let record = signed.batch.records[0].clone();
        let user = record.authorization.user.clone();
        let allowance = Attribution::allowance(&user, &operator());
        let nonces = Nonces::<Test>::get(&user, operator());
        let holders = [Attribution::account_id(), Rewards::account_id(), treasury()];
        let balances: Vec<_> = holders.iter().map(balance).collect();
        let pending = Rewards::pending_rewards(&operator());
        let id = NextBatchId::<Test>::get();

        assert_ok!(submit(signed));

        assert_eq!(Attribution::allowance(&user, &operator()), allowance);
        assert_eq!(Nonces::<Test>::get(&user, operator()), nonces);
        assert_eq!(holders.iter().map(balance).collect::<Vec<_>>(), balances);
        assert_eq!(Rewards::pending_rewards(&operator()), pending);
        let commitment = Attribution::batch(id).expect("the commitment is kept");
        assert_eq!(
            (
                commitment.records,
                commitment.rejected,
                commitment.total_fee,
                commitment.tokens_in
            ),
            (0, 1, 0, 0)
        );
        let events = attribution_events();
        assert_eq!(
            events[events.len() - 2],
            Event::InferenceRejected {
                batch: id,
                index: 0,
                user,
                nonce: record.authorization.nonce,
                reason
            }
        );
    }

    #[test]
    fn forged_user_authorization() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), 5_000);
            // Bob signs an authorization that charges Alice.
            let mut forged = record(&alice_key(), ADAPTER, 0, 100, &[]);
            forged.user_signature = forged.authorization.sign(&genesis(), &bob_key());
            rejected(batch(1, vec![forged]), RecordRejection::BadUserSignature);

            // Alice's signature does not cover a raised maximum fee.
            let mut tampered = record(&alice_key(), ADAPTER, 0, 100, &[]);
            tampered.authorization.max_fee = 1_000;
            tampered.fee = 1_000;
            rejected(batch(2, vec![tampered]), RecordRejection::BadUserSignature);

            // Nor does Bob's signature through a browser extension, nor Alice's extension
            // signature of another authorization.
            let mut by_bobs_extension = record(&alice_key(), ADAPTER, 0, 100, &[]);
            by_bobs_extension.user_signature = by_bobs_extension
                .authorization
                .sign_as_extension(&genesis(), &bob_key());
            rejected(
                batch(3, vec![by_bobs_extension]),
                RecordRejection::BadUserSignature,
            );
            let mut other_by_extension = record(&alice_key(), ADAPTER, 0, 100, &[]);
            other_by_extension.user_signature = InferenceAuthorization {
                nonce: 1,
                ..other_by_extension.authorization.clone()
            }
            .sign_as_extension(&genesis(), &alice_key());
            rejected(
                batch(4, vec![other_by_extension]),
                RecordRejection::BadUserSignature,
            );
        });
    }

    #[test]
    fn forged_worker_signature() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), 5_000);
            let mut signed = batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]);
            signed.signature = key(42).sign(&attribution_primitives::signing::signing_message(
                attribution_primitives::signing::INFERENCE_BATCH_DOMAIN,
                &genesis(),
                &signed.batch,
            ));
            refused(signed.clone(), Error::<Test>::BadWorkerSignature);

            // The worker's signature does not cover a record added afterwards.
            let mut extended = batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]);
            extended
                .batch
                .records
                .try_push(record(&alice_key(), ADAPTER, 1, 100, &[]))
                .unwrap();
            refused(extended, Error::<Test>::BadWorkerSignature);
        });
    }

    #[test]
    fn signed_for_another_chain() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), 5_000);
            let other_chain = Hash::repeat_byte(0x42);

            // The worker's batch, signed for another chain.
            let signed = batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]);
            let replayed = SignedInferenceBatch::sign(signed.batch, &other_chain, &worker());
            refused(replayed, Error::<Test>::BadWorkerSignature);

            // Alice's authorization, signed for another chain, in a batch signed for this one.
            let mut replayed = record(&alice_key(), ADAPTER, 0, 100, &[]);
            replayed.user_signature = replayed.authorization.sign(&other_chain, &alice_key());
            rejected(batch(1, vec![replayed]), RecordRejection::BadUserSignature);

            // The same record signed for this chain settles.
            assert_eq!(Attribution::genesis_hash(), genesis());
            assert_ok!(submit(batch(
                2,
                vec![record(&alice_key(), ADAPTER, 0, 100, &[])]
            )));
            assert_eq!(Attribution::batch(1).map(|c| c.records), Some(1));
        });
    }

    #[test]
    fn batches_from_someone_else_than_the_registered_operator() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), 5_000);
            let signed = batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]);
            let bob = RuntimeOrigin::signed(account_of(&bob_key()));
            assert_noop!(
                Attribution::submit_inference_batch(bob, signed.clone()),
                Error::<Test>::NotBatchOperator
            );

            let mut unregistered = signed.batch.clone();
            unregistered.operator = account_of(&bob_key());
            let unregistered = SignedInferenceBatch::sign(unregistered, &genesis(), &worker());
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
        ExtBuilder::default()
            .build_and_execute(|| refused(batch(1, vec![]), Error::<Test>::EmptyBatch));
    }

    #[test]
    fn oversize_batch_cannot_be_decoded() {
        ExtBuilder::default().build_and_execute(|| {
            let records =
                vec![record(&alice_key(), ADAPTER, 0, 1, &[]); MAX_BATCH_RECORDS as usize + 1];
            let encoded = (operator(), 1u64, records).encode();
            assert!(InferenceBatch::decode(&mut &encoded[..]).is_err());
        });
    }

    #[test]
    fn replayed_batch() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), 5_000);
            let signed = batch(2, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]);
            assert_ok!(submit(signed.clone()));
            refused(signed, Error::<Test>::BatchNonceUsed);
            refused(
                batch(1, vec![record(&alice_key(), ADAPTER, 1, 100, &[])]),
                Error::<Test>::BatchNonceUsed,
            );
        });
    }

    #[test]
    fn replayed_nonce() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            fund_allowance(&alice_key(), 5_000);
            let paid = record(&alice_key(), ADAPTER, 0, 100, &[]);
            assert_ok!(submit(batch(1, vec![paid.clone()])));
            // The same record again in a fresh batch.
            rejected(batch(2, vec![paid]), RecordRejection::NonceUsed);

            // Two records with one nonce in one batch: the first settles, the second is rejected.
            let twice = vec![
                record(&alice_key(), ADAPTER, 1, 100, &[]),
                record(&alice_key(), ADAPTER, 1, 50, &[]),
            ];
            assert_ok!(submit(batch(3, twice)));
            assert_eq!(Attribution::allowance(&alice, &operator()).balance, 4_800);
            let commitment = Attribution::batch(2).expect("kept");
            assert_eq!(
                (
                    commitment.records,
                    commitment.rejected,
                    commitment.total_fee
                ),
                (1, 1, 100)
            );
            assert!(attribution_events().contains(&Event::InferenceRejected {
                batch: 2,
                index: 1,
                user: alice,
                nonce: 1,
                reason: RecordRejection::NonceUsed
            }));
        });
    }

    #[test]
    fn nonce_older_than_the_window() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), 5_000);
            assert_ok!(submit(batch(
                1,
                vec![record(&alice_key(), ADAPTER, NONCE_WINDOW, 10, &[])]
            )));
            rejected(
                batch(2, vec![record(&alice_key(), ADAPTER, 0, 10, &[])]),
                RecordRejection::NonceTooOld,
            );
        });
    }

    #[test]
    fn expired_authorization() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), 5_000);
            System::set_block_number(101);
            rejected(
                batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]),
                RecordRejection::Expired,
            );
        });
    }

    #[test]
    fn fee_over_max() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), 5_000);
            let mut greedy = record(&alice_key(), ADAPTER, 0, 100, &[]);
            greedy.fee = 101;
            rejected(batch(1, vec![greedy]), RecordRejection::FeeOverMax);
        });
    }

    #[test]
    fn fee_over_the_advertised_price() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            fund_allowance(&alice_key(), 100_000);
            // 10 + 20 tokens at PRICE each.
            let most = 30 * PRICE;
            rejected(
                batch(1, vec![record(&alice_key(), ADAPTER, 0, most + 1, &[])]),
                RecordRejection::FeeOverPrice,
            );
            // The same fee over one more token is within the price (tokens are the worker's to
            // report: `max_fee` is the user's bound, the price the operator's public one).
            let mut padded = record(&alice_key(), ADAPTER, 0, most + 1, &[]);
            padded.tokens_out = 21;
            assert_ok!(submit(batch(2, vec![padded])));
            assert_eq!(
                Attribution::allowance(&alice, &operator()).balance,
                100_000 - most - 1
            );

            // A price so high that price x tokens overflows bounds nothing.
            MockChain::register_operator(operator(), worker().public(), u128::MAX);
            assert_ok!(submit(batch(
                3,
                vec![record(&alice_key(), ADAPTER, 1, 50_000, &[])]
            )));
            assert_eq!(
                Attribution::allowance(&alice, &operator()).balance,
                100_000 - most - 1 - 50_000
            );
        });
    }

    #[test]
    fn a_record_for_another_operator_cannot_be_settled_by_a_front_runner() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            fund_allowance(&alice_key(), 5_000);
            let honest = batch(
                1,
                vec![
                    record(&alice_key(), ADAPTER, 0, 100, &[]),
                    record(&alice_key(), ADAPTER, 1, 200, &[]),
                ],
            );
            // Another operator copies the first record, with Alice's signature, into its own
            // batch and gets it in first: rejected, nothing charged.
            let copied = honest.batch.records[0].clone();
            assert_ok!(Attribution::submit_inference_batch(
                RuntimeOrigin::signed(other_operator()),
                batch_of(other_operator(), &other_worker(), 1, vec![copied])
            ));
            assert!(attribution_events().contains(&Event::InferenceRejected {
                batch: 0,
                index: 0,
                user: alice.clone(),
                nonce: 0,
                reason: RecordRejection::OtherOperator
            }));
            assert_eq!(Rewards::pending_rewards(&other_operator()).compute, 0);

            // The honest batch then settles whole.
            assert_ok!(submit(honest));
            assert_eq!(Attribution::batch(1).map(|c| c.records), Some(2));
            assert_eq!(Attribution::allowance(&alice, &operator()).balance, 4_700);
            assert_eq!(Rewards::pending_rewards(&operator()).compute, 60);

            // An authorization for the other operator is likewise refused in this one's batch.
            let mut elsewhere = record(&alice_key(), ADAPTER, 2, 100, &[]);
            elsewhere.authorization.operator = other_operator();
            elsewhere.user_signature = elsewhere.authorization.sign(&genesis(), &alice_key());
            rejected(batch(2, vec![elsewhere]), RecordRejection::OtherOperator);
        });
    }

    #[test]
    fn inactive_model() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), 5_000);
            rejected(
                batch(1, vec![record(&alice_key(), RETIRED, 0, 100, &[])]),
                RecordRejection::ModelNotServing,
            );
            MockChain::deactivate_model(ADAPTER);
            rejected(
                batch(2, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]),
                RecordRejection::ModelNotServing,
            );
        });
    }

    #[test]
    fn weights_over_one_million() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), 5_000);
            let over = record(
                &alice_key(),
                ADAPTER,
                0,
                100,
                &[(100, 600_000), (101, 400_001)],
            );
            rejected(
                batch(1, vec![over]),
                RecordRejection::AttributionOverMillion,
            );
            let overflowing = record(&alice_key(), ADAPTER, 0, 100, &[(100, u32::MAX), (101, 1)]);
            rejected(
                batch(2, vec![overflowing]),
                RecordRejection::AttributionOverMillion,
            );
        });
    }

    #[test]
    fn zero_weight_and_duplicate_contribution() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), 5_000);
            rejected(
                batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[(100, 0)])]),
                RecordRejection::ZeroWeight,
            );
            // Listing a contribution twice would get round the cap.
            let twice = record(
                &alice_key(),
                ADAPTER,
                0,
                100,
                &[(100, 250_000), (100, 250_000)],
            );
            rejected(
                batch(2, vec![twice]),
                RecordRejection::DuplicateContribution,
            );
        });
    }

    #[test]
    fn contribution_from_another_datanet() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), 5_000);
            rejected(
                batch(
                    1,
                    vec![record(&alice_key(), ADAPTER, 0, 100, &[(200, 1_000)])],
                ),
                RecordRejection::ContributionNotInLineage,
            );
            rejected(
                batch(
                    2,
                    vec![record(&alice_key(), ADAPTER, 0, 100, &[(999, 1_000)])],
                ),
                RecordRejection::ContributionNotInLineage,
            );
            // A base model has no lineage to attribute.
            rejected(
                batch(
                    3,
                    vec![record(&alice_key(), BASE_MODEL, 0, 100, &[(100, 1_000)])],
                ),
                RecordRejection::ContributionNotInLineage,
            );
        });
    }

    #[test]
    fn allowance_too_low() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            rejected(
                batch(1, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]),
                RecordRejection::AllowanceTooLow,
            );
            // Credit not granted to the operator pays nothing.
            deposit(&alice_key(), 5_000);
            rejected(
                batch(2, vec![record(&alice_key(), ADAPTER, 0, 100, &[])]),
                RecordRejection::AllowanceTooLow,
            );
            // Of two records, the allowance covers the first only.
            assert_ok!(Attribution::grant_allowance(
                RuntimeOrigin::signed(alice.clone()),
                operator(),
                150
            ));
            let both = vec![
                record(&alice_key(), ADAPTER, 0, 100, &[]),
                record(&alice_key(), ADAPTER, 1, 100, &[]),
            ];
            assert_ok!(submit(batch(3, both)));
            assert_eq!(Attribution::allowance(&alice, &operator()).balance, 50);
            assert_eq!(Attribution::credit(&alice).balance, 4_850);
            assert!(attribution_events().contains(&Event::InferenceRejected {
                batch: 2,
                index: 1,
                user: alice.clone(),
                nonce: 1,
                reason: RecordRejection::AllowanceTooLow
            }));
            // The rejected record's nonce is still free once the allowance covers it.
            assert_ok!(Attribution::grant_allowance(
                RuntimeOrigin::signed(alice.clone()),
                operator(),
                50
            ));
            assert_ok!(submit(batch(
                4,
                vec![record(&alice_key(), ADAPTER, 1, 100, &[])]
            )));
            assert!(Allowances::<Test>::get(&alice, operator()).is_none());
        });
    }

    #[test]
    fn bad_records_are_rejected_and_the_rest_of_the_batch_settles() {
        ExtBuilder::default().build_and_execute(|| {
            let (alice, bob) = (account_of(&alice_key()), account_of(&bob_key()));
            fund_allowance(&alice_key(), 5_000);
            fund_allowance(&bob_key(), 5_000);
            let good = record(&alice_key(), ADAPTER, 0, 100, &[(100, 500_000)]);
            let bad = record(&bob_key(), RETIRED, 0, 300, &[]);
            let also_good = record(&bob_key(), BASE_MODEL, 1, 200, &[]);
            let signed = batch(1, vec![good, bad, also_good]);
            let hash: Hash = sp_io::hashing::blake2_256(&signed.batch.encode()).into();
            assert_ok!(submit(signed));

            assert_eq!(Attribution::allowance(&alice, &operator()).balance, 4_900);
            assert_eq!(Attribution::allowance(&bob, &operator()).balance, 4_800);
            // Bob's nonce 0 was not used by the rejected record.
            assert_eq!(
                Attribution::nonce_window(&bob, &operator()),
                Some(NonceWindow::starting_at(1))
            );
            let commitment = Attribution::batch(0).expect("kept");
            assert_eq!(
                (
                    commitment.hash,
                    commitment.records,
                    commitment.rejected,
                    commitment.total_fee,
                    commitment.tokens_in,
                    commitment.tokens_out
                ),
                (hash, 2, 1, 300, 20, 40)
            );
            let events = attribution_events();
            let outcomes: Vec<_> = events
                .iter()
                .filter_map(|event| match event {
                    Event::InferenceSettled { nonce, fee, .. } => Some((true, *nonce, *fee)),
                    Event::InferenceRejected { index, reason, .. } => {
                        assert_eq!(*reason, RecordRejection::ModelNotServing);
                        Some((false, u64::from(*index), 0))
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(
                outcomes,
                vec![(true, 0, 100), (false, 1, 0), (true, 1, 200)]
            );
        });
    }
}

mod aggregated_payouts {
    use super::*;
    use crate::{weights::WeightInfo, PaidPayees};
    use attribution_primitives::attribution::InferenceRecord;

    /// Alice's and Bob's records on the adapter and the base model, with fees whose splits
    /// round, attributing Carol's and Dave's contributions in different shares, and one record
    /// for a retired model, which is rejected.
    fn mixed_records() -> Vec<InferenceRecord> {
        vec![
            record(
                &alice_key(),
                ADAPTER,
                0,
                1_001,
                &[(100, 200_000), (101, 100_000)],
            ),
            record(&bob_key(), ADAPTER, 0, 777, &[(100, 333_333)]),
            record(&alice_key(), RETIRED, 1, 500, &[]),
            record(&alice_key(), BASE_MODEL, 2, 999, &[]),
            record(&bob_key(), ADAPTER, 1, 12_345, &[(101, 250_000), (102, 1)]),
            record(&alice_key(), ADAPTER, 3, 10, &[(102, 999_999)]),
        ]
    }

    /// Everything a settlement moves: what each payee may claim, the version's pool, the
    /// balances of the treasury and of both pallet accounts, and the users' allowances.
    fn settled_state() -> Vec<u128> {
        let mut state = Vec::new();
        for who in [model_owner(), operator(), carol(), dave()] {
            let pending = Rewards::pending_rewards(&who);
            state.extend([pending.data, pending.model, pending.compute]);
        }
        let pool = Rewards::pool(VERSION).expect("the version's pool was credited");
        state.extend([pool.total_points, pool.credited, pool.claimed]);
        for who in [treasury(), Attribution::account_id(), Rewards::account_id()] {
            state.push(balance(&who));
        }
        for user in [alice_key(), bob_key()] {
            state.push(Attribution::allowance(&account_of(&user), &operator()).balance);
        }
        state
    }

    #[test]
    fn one_batch_pays_exactly_what_settling_record_by_record_pays() {
        let by_record = ExtBuilder::default().build().execute_with(|| {
            fund_allowance(&alice_key(), 50_000);
            fund_allowance(&bob_key(), 50_000);
            for (nonce, record) in (1..).zip(mixed_records()) {
                assert_ok!(submit(batch(nonce, vec![record])));
            }
            settled_state()
        });
        let together = ExtBuilder::default().build().execute_with(|| {
            fund_allowance(&alice_key(), 50_000);
            fund_allowance(&bob_key(), 50_000);
            assert_ok!(submit(batch(1, mixed_records())));
            let commitment = Attribution::batch(0).expect("the commitment is kept");
            assert_eq!((commitment.records, commitment.rejected), (5, 1));
            Attribution::do_try_state().expect("attribution invariants hold");
            Rewards::do_try_state().expect("rewards invariants hold");
            settled_state()
        });
        assert_eq!(together, by_record);
        // 1,001 + 777 + 999 + 12,345 + 10 charged, the retired model's 500 not.
        let allowances = &together[together.len() - 2..];
        assert_eq!(
            allowances,
            &[50_000 - 1_001 - 999 - 10, 50_000 - 777 - 12_345]
        );
    }

    #[test]
    fn each_payee_is_credited_once_per_batch() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), 50_000);
            fund_allowance(&bob_key(), 50_000);
            System::reset_events();
            assert_ok!(submit(batch(1, mixed_records())));
            let credited: Vec<_> = System::events()
                .into_iter()
                .filter_map(|record| match record.event {
                    RuntimeEvent::Rewards(pallet_rewards::Event::AccountCredited {
                        who,
                        source,
                        ..
                    }) => Some((who, source)),
                    _ => None,
                })
                .collect();
            // The owner's Model share, the operator's Compute share, Carol's and Dave's Data
            // shares: four credits for five settled records.
            assert_eq!(credited.len(), 4);
            let pools = System::events()
                .into_iter()
                .filter(|record| {
                    matches!(
                        record.event,
                        RuntimeEvent::Rewards(pallet_rewards::Event::PoolCredited { .. })
                    )
                })
                .count();
            assert_eq!(pools, 1);
        });
    }

    #[test]
    fn a_batch_with_few_payees_is_refunded_to_their_payout() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), 100_000);
            let records: Vec<_> = (0..u64::from(MAX_BATCH_RECORDS))
                .map(|nonce| {
                    record(
                        &alice_key(),
                        ADAPTER,
                        nonce,
                        1_000,
                        &[(100, 200_000), (101, 100_000)],
                    )
                })
                .collect();
            let info = submit_with_info(batch(1, records)).expect("the batch settles");

            let declared = <() as WeightInfo>::submit_inference_batch(MAX_BATCH_RECORDS);
            let actual = info
                .actual_weight
                .expect("the call reports its actual weight");
            // Owner, operator, Carol and Dave; one pool.
            let paid = PaidPayees {
                accounts: 4,
                pools: 1,
            };
            assert_eq!(actual, Attribution::batch_weight(MAX_BATCH_RECORDS, paid));
            let worst = PaidPayees::worst_case(MAX_BATCH_RECORDS);
            assert_eq!((worst.accounts, worst.pools), (1_089, 64));
            let refund = declared.saturating_sub(actual);
            assert_eq!(
                refund,
                <() as WeightInfo>::pay_batch(worst.accounts, worst.pools)
                    .saturating_sub(<() as WeightInfo>::pay_batch(4, 1))
            );
            assert!(refund.ref_time() > 0 && refund.proof_size() > 0);
        });
    }

    #[test]
    fn a_batch_whose_payees_are_all_new_is_charged_the_worst_case() {
        for records in [1, 7, MAX_BATCH_RECORDS] {
            assert_eq!(
                Attribution::batch_weight(records, PaidPayees::worst_case(records)),
                <() as WeightInfo>::submit_inference_batch(records)
            );
        }
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
    fn try_state_catches_an_empty_stored_credit_and_accepts_a_donation() {
        ExtBuilder::default().build().execute_with(|| {
            Credits::<Test>::insert(account_of(&alice_key()), CreditInfo::default());
            assert!(Attribution::do_try_state().is_err());
            Credits::<Test>::remove(account_of(&alice_key()));
            // A planck sent to the credit account must not make try-runtime fail for good.
            assert_ok!(Balances::mint_into(&Attribution::account_id(), 1));
            assert_ok!(Attribution::do_try_state());
        });
    }

    #[test]
    fn try_state_counts_allowances_as_escrowed_and_catches_bad_ones() {
        ExtBuilder::default().build().execute_with(|| {
            let alice = account_of(&alice_key());
            fund_allowance(&alice_key(), 1_000);
            assert_ok!(Attribution::do_try_state());

            // An allowance the pallet account does not hold.
            Allowances::<Test>::insert(
                &alice,
                other_operator(),
                AllowanceInfo {
                    balance: 1,
                    reduction: None,
                },
            );
            assert!(Attribution::do_try_state().is_err());
            // An empty one.
            Allowances::<Test>::insert(&alice, other_operator(), AllowanceInfo::default());
            assert!(Attribution::do_try_state().is_err());
            Allowances::<Test>::remove(&alice, other_operator());
            assert_ok!(Attribution::do_try_state());
            // A reduction of nothing.
            Allowances::<Test>::mutate(&alice, operator(), |allowance| {
                if let Some(allowance) = allowance {
                    allowance.reduction = Some(PendingWithdrawal {
                        amount: 0,
                        unlocks_at: 5,
                    });
                }
            });
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
                MIN_RECORD_FEE..5_000u128,
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
                            fund_allowance(&user(u), amount);
                            *credit.entry(u).or_default() += amount;
                        },
                        Op::Settle { user: u, fee, pattern, base_model } => {
                            let attribution = if base_model { &[][..] } else { PATTERNS[pattern] };
                            let model = if base_model { BASE_MODEL } else { ADAPTER };
                            let next = nonce.entry(u).or_default();
                            batch_nonce += 1;
                            let result = submit(batch(batch_nonce, vec![record(&user(u), model, *next, fee, attribution)]));
                            let available = credit.entry(u).or_default();
                            assert_ok!(result);
                            if *available < fee {
                                assert!(matches!(
                                    attribution_events().iter().rev().nth(1),
                                    Some(Event::InferenceRejected { reason: RecordRejection::AllowanceTooLow, .. })
                                ));
                                continue;
                            }
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
                // The operator also owns its stake in the stand-in juror pool.
                assert_eq!(balance(&operator()), STAKE + ED + owed.get(&operator()).copied().unwrap_or(0));
                assert_eq!(balance(&treasury()), ED + treasury_paid);
                let dust = pool_credited - pool_share(70) - pool_share(30);
                assert!(dust < 2, "less than a planck of dust per pool member");
                assert_eq!(balance(&Rewards::account_id()), ED + dust);
                assert_eq!(balance(&Attribution::account_id()), ED + credit.values().sum::<u128>());
            });
        }
    }
}

/// Attribution challenges: the steering attack (an operator attributing a record to its own
/// sybil's contributions) proven and paid back, and every way a challenge is refused.
mod challenges {
    use super::*;
    use crate::{AttributionChallenges, ChallengeAnswer, ChallengePrompt, Records, SettledRecord};
    use attribution_primitives::AccountId;
    use frame_support::traits::Hooks;

    /// The fee of the records settled here: the contributors' part is 40 % of it, 4_000.
    const FEE: u128 = 10_000;

    fn prompt(bytes: &[u8]) -> ChallengePrompt {
        bytes.to_vec().try_into().unwrap()
    }

    fn answer(bytes: &[u8]) -> ChallengeAnswer {
        bytes.to_vec().try_into().unwrap()
    }

    /// Settles one record of Alice's with `attribution`; returns its id.
    fn settle(attribution: &[(u64, u32)]) -> u64 {
        fund_allowance(&alice_key(), FEE);
        let next = crate::NextRecordId::<Test>::get();
        assert_ok!(submit(batch(
            1,
            vec![record(&alice_key(), ADAPTER, 0, FEE, attribution)]
        )));
        assert_eq!(crate::NextRecordId::<Test>::get(), next + 1);
        next
    }

    /// The steering attack: every attributed weight on the operator's sybil's contributions.
    fn steer() -> u64 {
        MockChain::publish_sybil_contributions();
        settle(&[
            (103, 250_000),
            (104, 250_000),
            (105, 250_000),
            (106, 250_000),
        ])
    }

    fn challenge(who: &AccountId, record: u64) -> DispatchResult {
        Attribution::challenge_attribution(
            RuntimeOrigin::signed(who.clone()),
            record,
            prompt(PROMPT),
            answer(ANSWER),
        )
    }

    /// Moves to the next block and runs the pallet's `on_initialize` (the jury draw).
    fn next_block() {
        let now = System::block_number() + 1;
        System::set_block_number(now);
        Attribution::on_initialize(now);
    }

    fn vote(juror: &AccountId, challenge: u64, misattributed: bool) -> DispatchResult {
        Attribution::vote_attribution(
            RuntimeOrigin::signed(juror.clone()),
            challenge,
            misattributed,
        )
    }

    fn held_bond(who: &AccountId) -> u128 {
        use frame_support::traits::fungible::InspectHold;
        Balances::balance_on_hold(&crate::HoldReason::AttributionChallengeBond.into(), who)
    }

    fn pool_credited() -> u128 {
        pallet_rewards::Pools::<Test>::get(VERSION).map_or(0, |pool| pool.credited)
    }

    #[test]
    fn a_settled_record_keeps_what_determines_its_attribution_for_the_window() {
        ExtBuilder::default().build_and_execute(|| {
            let id = settle(&[(100, 600_000), (101, 300_000)]);
            let kept = Records::<Test>::get(id).unwrap();
            assert_eq!(
                kept,
                SettledRecord {
                    batch: 0,
                    operator: operator(),
                    user: account_of(&alice_key()),
                    model: ADAPTER,
                    pool: Some(VERSION),
                    prompt_hash: Hash::from(sp_io::hashing::blake2_256(PROMPT)),
                    output_hash: Hash::from(sp_io::hashing::blake2_256(ANSWER)),
                    provenance: provenance(),
                    attribution: kept.attribution.clone(),
                    // 25 % cap of 4_000 for 100, 30 % capped to 25 % for 101.
                    attributed: 2_000,
                    challengeable_until: 1 + CHALLENGE_WINDOW,
                    challenge: None,
                }
            );
            assert_eq!(kept.attribution.len(), 2);
            assert!(attribution_events().contains(&Event::InferenceSettled {
                batch: 0,
                record: id,
                challengeable_until: 1 + CHALLENGE_WINDOW,
                user: account_of(&alice_key()),
                model: ADAPTER,
                nonce: 0,
                fee: FEE,
                output_hash: Hash::from(sp_io::hashing::blake2_256(ANSWER)),
            }));
        });
    }

    #[test]
    fn steering_to_sybil_contributions_is_proven_slashed_and_the_pool_repaid() {
        ExtBuilder::default().build_and_execute(|| {
            let alice = account_of(&alice_key());
            let id = steer();
            // The attack paid the sybil the whole attributable part: 4 x 25 % of 4_000.
            assert_eq!(Rewards::pending_rewards(&sybil()).data, 4_000);
            let pool_before = pool_credited();
            let operator_before = balance(&operator());
            let alice_before = balance(&alice);
            let treasury_before = balance(&treasury());

            assert_ok!(challenge(&alice, id));
            assert_eq!(held_bond(&alice), CHALLENGE_BOND);
            assert_eq!(Records::<Test>::get(id).unwrap().challenge, Some(0));
            next_block();
            let jury: Vec<_> = AttributionChallenges::<Test>::get(0)
                .unwrap()
                .jury
                .iter()
                .map(|seat| seat.juror.clone())
                .collect();
            // Never the record's operator nor the challenger.
            assert_eq!(jury, vec![juror(1), juror(2), juror(3)]);
            assert_eq!(MockChain::seats(&juror(1)), 1);

            assert_ok!(vote(&juror(1), 0, true));
            assert_ok!(vote(&juror(3), 0, true));

            // slash = max(10 % of 100_000, 4_000 diverted) = 10_000: 4_000 back to the pool,
            // 10 % of the other 6_000 to Alice, the rest to the treasury.
            assert_eq!(
                attribution_events().last(),
                Some(&Event::MisattributionProven {
                    challenge: 0,
                    record: id,
                    operator: operator(),
                    challenger: alice.clone(),
                    slashed: 10_000,
                    to_pool: 4_000,
                    to_challenger: 600,
                    to_treasury: 5_400,
                })
            );
            assert_eq!(balance(&operator()), operator_before - 10_000);
            assert_eq!(pool_credited(), pool_before + 4_000);
            assert_eq!(balance(&alice), alice_before + 600);
            assert_eq!(held_bond(&alice), 0);
            assert_eq!(balance(&treasury()), treasury_before + 5_400);
            assert!(AttributionChallenges::<Test>::get(0).is_none());
            assert_eq!(MockChain::seats(&juror(1)), 0);
            // The steering lost the operator and its sybil 6_000 (10_000 slashed, 4_000 gained).
            let gained = Rewards::pending_rewards(&sybil()).data as i128;
            assert_eq!(gained - 10_000, -6_000);
        });
    }

    #[test]
    fn an_upheld_attribution_costs_the_challenger_its_bond() {
        ExtBuilder::default().build_and_execute(|| {
            let bob = account_of(&bob_key());
            let id = settle(&[(100, 500_000)]);
            let treasury_before = balance(&treasury());
            assert_ok!(challenge(&bob, id));
            next_block();
            assert_ok!(vote(&juror(1), 0, false));
            assert_ok!(vote(&juror(2), 0, true));
            assert_ok!(vote(&juror(3), 0, false));
            assert_eq!(
                attribution_events().last(),
                Some(&Event::AttributionUpheld {
                    challenge: 0,
                    record: id,
                    challenger: bob.clone(),
                    slashed: CHALLENGE_BOND,
                })
            );
            assert_eq!(balance(&bob), USER_FUNDS - CHALLENGE_BOND);
            assert_eq!(balance(&treasury()), treasury_before + CHALLENGE_BOND);
            assert_eq!(balance(&operator()), STAKE + ED);
        });
    }

    #[test]
    fn a_jury_without_verdict_times_out_the_record_stands_and_absent_jurors_pay() {
        ExtBuilder::default().build_and_execute(|| {
            let bob = account_of(&bob_key());
            let id = steer();
            assert_ok!(challenge(&bob, id));
            next_block();
            assert_ok!(vote(&juror(2), 0, true));
            let vote_end = AttributionChallenges::<Test>::get(0).unwrap().vote_end;
            assert_eq!(vote_end, 1 + 1 + VOTE_PERIOD);
            assert_noop!(
                Attribution::close_attribution_challenge(RuntimeOrigin::signed(bob.clone()), 0),
                Error::<Test>::VotingOpen
            );
            System::set_block_number(vote_end + 1);
            assert_noop!(vote(&juror(1), 0, true), Error::<Test>::VotingClosed);
            assert_ok!(Attribution::close_attribution_challenge(
                RuntimeOrigin::signed(dave()),
                0
            ));
            assert_eq!(
                attribution_events().last(),
                Some(&Event::AttributionChallengeTimedOut {
                    challenge: 0,
                    record: id,
                    challenger: bob.clone(),
                    returned: CHALLENGE_BOND - TIMEOUT_FEE,
                    fee: TIMEOUT_FEE,
                })
            );
            assert_eq!(balance(&bob), USER_FUNDS - TIMEOUT_FEE);
            // Jurors 1 and 3 did not vote: 5 % of their stake, and out of the pool.
            assert_eq!(balance(&juror(1)), STAKE + ED - STAKE / 20);
            assert_eq!(balance(&juror(2)), STAKE + ED);
            assert!(!MockChain::in_pool(&juror(1)) && MockChain::in_pool(&juror(2)));
            assert_eq!(balance(&operator()), STAKE + ED);
            // Still the record's one challenge.
            assert_noop!(challenge(&bob, id), Error::<Test>::AlreadyChallenged);
        });
    }

    #[test]
    fn a_wrong_prompt_or_answer_is_refused() {
        ExtBuilder::default().build_and_execute(|| {
            let bob = RuntimeOrigin::signed(account_of(&bob_key()));
            let id = steer();
            assert_noop!(
                Attribution::challenge_attribution(
                    bob.clone(),
                    id,
                    prompt(b"{\"messages\":[]}"),
                    answer(ANSWER)
                ),
                Error::<Test>::WrongPrompt
            );
            assert_noop!(
                Attribution::challenge_attribution(
                    bob,
                    id,
                    prompt(PROMPT),
                    answer(b"Someone else wrote it.")
                ),
                Error::<Test>::WrongAnswer
            );
        });
    }

    #[test]
    fn a_late_challenge_is_refused_and_expired_records_are_pruned() {
        ExtBuilder::default().build_and_execute(|| {
            let bob = account_of(&bob_key());
            let id = steer();
            System::set_block_number(1 + CHALLENGE_WINDOW + 1);
            assert_noop!(challenge(&bob, id), Error::<Test>::ChallengeWindowClosed);
            // The next batch prunes it.
            fund_allowance(&alice_key(), FEE);
            assert_ok!(submit(batch(
                2,
                vec![record(&alice_key(), ADAPTER, 1, FEE, &[(100, 1)])]
            )));
            assert!(Records::<Test>::get(id).is_none());
            assert_eq!(crate::OldestRecordId::<Test>::get(), id + 1);
            assert!(Records::<Test>::get(id + 1).is_some());
            assert_noop!(challenge(&bob, id), Error::<Test>::RecordNotFound);
            assert_noop!(challenge(&bob, 99), Error::<Test>::RecordNotFound);
        });
    }

    #[test]
    fn a_record_is_challenged_once_and_votes_are_counted_once() {
        ExtBuilder::default().build_and_execute(|| {
            let bob = account_of(&bob_key());
            let alice = account_of(&alice_key());
            let id = steer();
            assert_ok!(challenge(&bob, id));
            assert_noop!(challenge(&alice, id), Error::<Test>::AlreadyChallenged);
            assert_noop!(challenge(&bob, id), Error::<Test>::AlreadyChallenged);
            next_block();
            assert_noop!(vote(&dave(), 0, true), Error::<Test>::NotJuror);
            assert_noop!(vote(&operator(), 0, false), Error::<Test>::NotJuror);
            assert_ok!(vote(&juror(1), 0, true));
            assert_noop!(vote(&juror(1), 0, true), Error::<Test>::AlreadyVoted);
            assert_ok!(vote(&juror(2), 0, true));
            // Resolved: the challenge is gone, the record can never be challenged again.
            assert_noop!(vote(&juror(3), 0, true), Error::<Test>::ChallengeNotFound);
            assert_noop!(challenge(&alice, id), Error::<Test>::AlreadyChallenged);
        });
    }

    #[test]
    fn an_operator_challenging_its_own_record_gains_nothing() {
        ExtBuilder::default().build_and_execute(|| {
            let id = steer();
            assert_noop!(challenge(&operator(), id), Error::<Test>::OwnRecord);
            // Through its sybil (say, to occupy the record's one challenge): the jury still
            // re-runs the attribution, and the pair loses most of the slash.
            let sybil_funds = 2 * CHALLENGE_BOND;
            assert_ok!(<Balances as Mutate<_>>::mint_into(&sybil(), sybil_funds));
            assert_ok!(challenge(&sybil(), id));
            next_block();
            assert_ok!(vote(&juror(1), 0, true));
            assert_ok!(vote(&juror(2), 0, true));
            let pair_gain = (balance(&sybil()) as i128 - sybil_funds as i128)
                + (balance(&operator()) as i128 - (STAKE + ED) as i128)
                + Rewards::pending_rewards(&sybil()).data as i128;
            // -10_000 slashed + 600 challenger share + 4_000 steered = -5_400.
            assert_eq!(pair_gain, -5_400);
        });
    }

    #[test]
    fn nothing_attributed_is_nothing_to_challenge() {
        ExtBuilder::default().build_and_execute(|| {
            let id = settle(&[]);
            assert_noop!(
                challenge(&account_of(&bob_key()), id),
                Error::<Test>::NothingAttributed
            );
        });
    }

    #[test]
    fn a_fee_below_the_minimum_is_rejected() {
        ExtBuilder::default().build_and_execute(|| {
            fund_allowance(&alice_key(), FEE);
            let tiny = record(&alice_key(), ADAPTER, 1, MIN_RECORD_FEE - 1, &[]);
            let least = record(&alice_key(), ADAPTER, 2, MIN_RECORD_FEE, &[]);
            assert_ok!(submit(batch(1, vec![tiny, least])));
            let reasons: Vec<_> = attribution_events()
                .into_iter()
                .filter_map(|event| match event {
                    Event::InferenceRejected { reason, .. } => Some(reason),
                    _ => None,
                })
                .collect();
            assert_eq!(reasons, vec![RecordRejection::FeeBelowMinimum]);
            // The other one settled, and is kept as record 0.
            assert_eq!(crate::NextRecordId::<Test>::get(), 1);
            assert_eq!(Records::<Test>::get(0).map(|r| r.attributed), Some(0));
        });
    }
}
