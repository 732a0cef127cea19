//! The store's paging, persistence and ordering, and the RPC methods over it.

use crate::{
    rpc::{error_code, PendingSource, RewardsHistoryApiServer, RewardsHistoryRpc},
    Error, HistoryEntry, HistoryEvent, RewardSource, RewardsHistory,
};
use attribution_primitives::{
    rewards::PendingRewards, traits::PoolId, AccountId, Balance, BlockNumber, Hash,
};
use std::sync::Arc;

fn account(seed: u8) -> AccountId {
    AccountId::new([seed; 32])
}

fn credited(amount: Balance) -> HistoryEvent {
    HistoryEvent::Credited {
        source: RewardSource::Data,
        amount,
        payer: account(9),
    }
}

/// Blocks 1..=5; in each, account 1 is credited `block` and account 2 is credited `10 * block`;
/// account 1 claims its pool share in block 5.
fn filled(store: &RewardsHistory) {
    for block in 1..=5u32 {
        let mut entries = vec![
            (account(1), 0, credited(block.into())),
            (account(2), 1, credited(10 * u128::from(block))),
        ];
        if block == 5 {
            entries.push((
                account(1),
                2,
                HistoryEvent::PoolClaimed {
                    pool: PoolId {
                        datanet: 0,
                        version: 1,
                    },
                    amount: 7,
                },
            ));
        }
        store
            .index_block(block, Hash::repeat_byte(block as u8), entries)
            .unwrap();
    }
}

#[test]
fn history_pages_by_account_and_block_range() {
    let dir = tempfile::tempdir().unwrap();
    let store = RewardsHistory::open(dir.path()).unwrap();
    filled(&store);

    let first = store.history(&account(1), (2, 0), 2).unwrap();
    assert_eq!(
        first.entries,
        vec![
            HistoryEntry {
                block: 2,
                event_index: 0,
                event: credited(2)
            },
            HistoryEntry {
                block: 3,
                event_index: 0,
                event: credited(3)
            },
        ]
    );
    assert_eq!(first.next, Some((4, 0)));

    let rest = store.history(&account(1), first.next.unwrap(), 10).unwrap();
    assert_eq!(rest.entries.len(), 3);
    assert_eq!(
        rest.entries[2].event,
        HistoryEvent::PoolClaimed {
            pool: PoolId {
                datanet: 0,
                version: 1
            },
            amount: 7
        }
    );
    assert_eq!(rest.next, None);

    // Another account's entries never leak into a page.
    assert!(store
        .history(&account(2), (0, 0), 100)
        .unwrap()
        .entries
        .iter()
        .all(|e| e.event != credited(1)));
    assert!(store
        .history(&account(3), (0, 0), 100)
        .unwrap()
        .entries
        .is_empty());
}

#[test]
fn the_store_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = RewardsHistory::open(dir.path()).unwrap();
        assert_eq!(store.last_indexed().unwrap(), None);
        filled(&store);
    }
    let store = RewardsHistory::open(dir.path()).unwrap();
    assert_eq!(
        store.last_indexed().unwrap(),
        Some((5, Hash::repeat_byte(5)))
    );
    assert_eq!(
        store
            .history(&account(2), (0, 0), 100)
            .unwrap()
            .entries
            .len(),
        5
    );
}

#[test]
fn blocks_are_indexed_in_order_and_reindexing_the_last_is_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let store = RewardsHistory::open(dir.path()).unwrap();
    filled(&store);
    assert!(matches!(
        store.index_block(4, Hash::zero(), vec![]),
        Err(Error::OutOfOrder { last: 5, got: 4 })
    ));
    store
        .index_block(5, Hash::repeat_byte(5), vec![(account(1), 0, credited(5))])
        .unwrap();
    assert_eq!(
        store
            .history(&account(1), (5, 0), 10)
            .unwrap()
            .entries
            .len(),
        2
    );
}

struct FixedPending(Result<PendingRewards<Balance>, String>);

impl PendingSource for FixedPending {
    fn pending(&self, _: &AccountId) -> Result<PendingRewards<Balance>, String> {
        self.0.clone()
    }
}

#[test]
fn rpc_answers_pending_and_history_and_refuses_bad_limits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RewardsHistory::open(dir.path()).unwrap());
    filled(&store);
    let pending = PendingRewards {
        data: 1,
        model: 2,
        compute: 3,
    };
    let rpc = RewardsHistoryRpc::new(store.clone(), FixedPending(Ok(pending)));

    assert_eq!(rpc.pending(account(1)).unwrap().0, pending);
    let page = rpc.history(account(1), 5, 1, Some(1)).unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].event_index, 2);
    assert_eq!(
        rpc.history(account(1), 0, 0, None).unwrap_err().code(),
        error_code::BAD_LIMIT
    );
    assert_eq!(
        rpc.history(account(1), 0, 1_001, None).unwrap_err().code(),
        error_code::BAD_LIMIT
    );

    let failing = RewardsHistoryRpc::new(store, FixedPending(Err("no state".into())));
    assert_eq!(
        failing.pending(account(1)).unwrap_err().code(),
        error_code::RUNTIME
    );
}

#[test]
fn entries_serialize_for_dapps() {
    let entry = HistoryEntry {
        block: 3,
        event_index: 1,
        event: credited(5),
    };
    let json = serde_json::to_value(&entry).unwrap();
    assert_eq!(json["block"], 3);
    assert_eq!(json["event"]["credited"]["source"], "Data");
    assert_eq!(json["event"]["credited"]["amount"], "5");
    let big = HistoryEvent::Claimed {
        rewards: PendingRewards {
            data: u128::MAX,
            model: 0,
            compute: 1,
        },
    };
    let json = serde_json::to_string(&big).unwrap();
    assert_eq!(
        json,
        format!(
            r#"{{"claimed":{{"rewards":{{"data":"{}","model":"0","compute":"1"}}}}}}"#,
            u128::MAX
        )
    );
    assert_eq!(serde_json::from_str::<HistoryEvent>(&json).unwrap(), big);
}

/// A runtime with rewards, to turn real `RuntimeEvent`s into entries.
mod runtime {
    use attribution_primitives::{
        traits::{DatanetsInspect, VersionMember, VersionSummary},
        AccountId, Balance, ContributionId, DatanetId, VersionIndex,
    };
    use frame_support::{derive_impl, parameter_types, traits::ConstU128, PalletId};

    frame_support::construct_runtime!(
        pub enum Test {
            System: frame_system,
            Balances: pallet_balances,
            Rewards: pallet_rewards,
        }
    );

    #[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
    impl frame_system::Config for Test {
        type Block = frame_system::mocking::MockBlockU32<Test>;
        type AccountId = AccountId;
        type Lookup = sp_runtime::traits::IdentityLookup<AccountId>;
        type AccountData = pallet_balances::AccountData<Balance>;
    }

    #[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
    impl pallet_balances::Config for Test {
        type Balance = Balance;
        type ExistentialDeposit = ConstU128<1>;
        type AccountStore = System;
    }

    parameter_types! {
        pub const RewardsPalletId: PalletId = PalletId(*b"ac/rewrd");
    }

    /// No datanets: only the event types matter here.
    pub struct NoDatanets;
    impl DatanetsInspect<AccountId> for NoDatanets {
        fn version(_: DatanetId, _: VersionIndex) -> Option<VersionSummary> {
            None
        }
        fn member(
            _: DatanetId,
            _: VersionIndex,
            _: ContributionId,
        ) -> Option<VersionMember<AccountId>> {
            None
        }
        fn points(_: DatanetId, _: VersionIndex, _: &AccountId) -> u128 {
            0
        }
    }

    impl pallet_rewards::Config for Test {
        type Currency = Balances;
        type Datanets = NoDatanets;
        type PalletId = RewardsPalletId;
        type WeightInfo = ();
    }
}

#[test]
fn runtime_events_become_entries_of_the_accounts_they_concern() {
    use runtime::{RuntimeEvent, Test};
    let pool = PoolId {
        datanet: 0,
        version: 1,
    };
    let rewards = PendingRewards {
        data: 4,
        model: 0,
        compute: 0,
    };
    let events = vec![
        RuntimeEvent::System(frame_system::Event::NewAccount {
            account: account(1),
        }),
        RuntimeEvent::Rewards(pallet_rewards::Event::AccountCredited {
            payer: account(9),
            who: account(1),
            source: RewardSource::Data,
            amount: 4,
        }),
        RuntimeEvent::Rewards(pallet_rewards::Event::PoolCredited {
            payer: account(9),
            pool,
            amount: 10,
        }),
        RuntimeEvent::Rewards(pallet_rewards::Event::Claimed {
            who: account(1),
            rewards,
        }),
        RuntimeEvent::Rewards(pallet_rewards::Event::PoolClaimed {
            who: account(2),
            pool,
            amount: 6,
        }),
    ];

    assert_eq!(
        crate::history_entries::<Test, _>(events),
        vec![
            (account(1), 1, credited(4).with_payer(account(9))),
            (account(1), 3, HistoryEvent::Claimed { rewards }),
            (account(2), 4, HistoryEvent::PoolClaimed { pool, amount: 6 }),
        ]
    );
}

impl HistoryEvent {
    fn with_payer(self, payer: AccountId) -> Self {
        match self {
            HistoryEvent::Credited { source, amount, .. } => HistoryEvent::Credited {
                source,
                amount,
                payer,
            },
            other => other,
        }
    }
}

#[test]
fn following_finality_indexes_every_block_in_order_and_catches_up_after_a_restart() {
    use crate::follow::{catch_up, follow_finalized};
    let dir = tempfile::tempdir().unwrap();
    // Block n credits account 1 with n; block 4 is not available at first.
    let chain = |available: BlockNumber| {
        move |n: BlockNumber| {
            (n <= available).then(|| {
                (
                    Hash::repeat_byte(n as u8),
                    vec![(account(1), 0, credited(n.into()))],
                )
            })
        }
    };
    {
        let store = RewardsHistory::open(dir.path()).unwrap();
        let heads = futures::stream::iter(vec![2, 5]);
        futures::executor::block_on(follow_finalized(&store, heads, chain(3))).unwrap();
        assert_eq!(
            store.last_indexed().unwrap(),
            Some((3, Hash::repeat_byte(3)))
        );
    }
    // After a restart the next head catches up from block 4.
    let store = RewardsHistory::open(dir.path()).unwrap();
    catch_up(&store, 6, &mut chain(10)).unwrap();
    let blocks: Vec<_> = store
        .history(&account(1), (0, 0), 100)
        .unwrap()
        .entries
        .iter()
        .map(|e| e.block)
        .collect();
    assert_eq!(blocks, vec![1, 2, 3, 4, 5, 6]);
}
