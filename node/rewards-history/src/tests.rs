//! The store's paging, persistence and ordering, and the RPC methods over it.

use crate::{
    follow::Fetched,
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

/// A chain whose block `n` credits account 1 with `n` and has hash `[n; 32]`; blocks above
/// `available` are not there yet.
fn chain(available: BlockNumber) -> impl FnMut(BlockNumber) -> Option<Fetched> {
    move |n: BlockNumber| {
        (n <= available).then(|| Fetched::Block {
            hash: Hash::repeat_byte(n as u8),
            entries: vec![(account(1), 0, credited(n.into()))],
            undecodable: 0,
        })
    }
}

fn indexed_blocks(store: &RewardsHistory) -> Vec<BlockNumber> {
    store
        .history(&account(1), (0, 0), 100)
        .unwrap()
        .entries
        .iter()
        .map(|e| e.block)
        .collect()
}

#[test]
fn following_finality_indexes_every_block_in_order_and_catches_up_after_a_restart() {
    use crate::follow::{catch_up, follow_finalized, Round};
    let dir = tempfile::tempdir().unwrap();
    {
        let store = RewardsHistory::open(dir.path()).unwrap();
        let heads = futures::stream::iter(vec![2, 5]);
        let mut rounds = vec![];
        futures::executor::block_on(follow_finalized(&store, heads, chain(3), |head, round| {
            rounds.push((head, round.indexed))
        }))
        .unwrap();
        assert_eq!(rounds, vec![(2, 2), (5, 1)], "block 4 is not available yet");
        assert_eq!(
            store.last_indexed().unwrap(),
            Some((3, Hash::repeat_byte(3)))
        );
    }
    // After a restart the next head catches up from block 4.
    let store = RewardsHistory::open(dir.path()).unwrap();
    assert_eq!(
        catch_up(&store, 6, &mut chain(10)).unwrap(),
        Round {
            indexed: 3,
            pruned: 0,
            partial: 0
        }
    );
    assert_eq!(indexed_blocks(&store), vec![1, 2, 3, 4, 5, 6]);
}

#[test]
fn blocks_with_pruned_state_are_skipped_and_counted_not_a_dead_end() {
    use crate::follow::{catch_up, Round};
    let dir = tempfile::tempdir().unwrap();
    let store = RewardsHistory::open(dir.path()).unwrap();
    // Blocks 1..=3 were pruned before the node indexed them (it was down, or warp-synced).
    let mut fetch = |n: BlockNumber| {
        if n <= 3 {
            Some(Fetched::Pruned {
                hash: Hash::repeat_byte(n as u8),
            })
        } else {
            chain(5)(n)
        }
    };
    assert_eq!(
        catch_up(&store, 5, &mut fetch).unwrap(),
        Round {
            indexed: 5,
            pruned: 3,
            partial: 0
        }
    );
    assert_eq!(indexed_blocks(&store), vec![4, 5]);
    let status = store.status().unwrap();
    assert_eq!(status.last, Some((5, Hash::repeat_byte(5))));
    assert_eq!((status.skipped_blocks, status.partial_blocks), (3, 0));
    // The counts survive a restart.
    drop(store);
    let store = RewardsHistory::open(dir.path()).unwrap();
    assert_eq!(store.status().unwrap().skipped_blocks, 3);
}

#[test]
fn a_block_with_undecodable_records_keeps_its_readable_entries() {
    use crate::follow::catch_up;
    let dir = tempfile::tempdir().unwrap();
    let store = RewardsHistory::open(dir.path()).unwrap();
    let mut fetch = |n: BlockNumber| {
        (n <= 3).then(|| Fetched::Block {
            hash: Hash::repeat_byte(n as u8),
            entries: vec![(account(1), 0, credited(n.into()))],
            // Block 2 was written by an upgraded runtime whose later events the node cannot read.
            undecodable: u32::from(n == 2) * 4,
        })
    };
    let round = catch_up(&store, 3, &mut fetch).unwrap();
    assert_eq!((round.indexed, round.partial), (3, 1));
    assert_eq!(indexed_blocks(&store), vec![1, 2, 3]);
    assert_eq!(store.status().unwrap().partial_blocks, 1);
}

#[test]
fn the_store_is_bound_to_its_chain_and_rebuilt_after_a_purge_to_another() {
    use crate::{follow::catch_up, ChainCheck};
    let dir = tempfile::tempdir().unwrap();
    let genesis = Hash::repeat_byte(0xee);
    let store = RewardsHistory::open(dir.path()).unwrap();
    assert_eq!(
        store
            .check_chain(genesis, |_| unreachable!("empty store"))
            .unwrap(),
        ChainCheck::New
    );
    catch_up(&store, 4, &mut chain(4)).unwrap();

    // Restarted on the same chain: block 4 is the one indexed.
    let same = |n: BlockNumber| Some(Hash::repeat_byte(n as u8));
    assert_eq!(
        store.check_chain(genesis, same).unwrap(),
        ChainCheck::Matches
    );
    // Purged and syncing again: the client is not at block 4 yet; nothing is thrown away.
    assert_eq!(
        store.check_chain(genesis, |_| None).unwrap(),
        ChainCheck::Ahead { last: 4 }
    );
    assert_eq!(indexed_blocks(&store), vec![1, 2, 3, 4]);

    // Purged and synced to another fork: block 4 differs, so the index is rebuilt.
    let other_fork = |_| Some(Hash::repeat_byte(0x44));
    assert_eq!(
        store.check_chain(genesis, other_fork).unwrap(),
        ChainCheck::Rebuilt
    );
    assert_eq!(store.last_indexed().unwrap(), None);
    assert!(indexed_blocks(&store).is_empty());
    catch_up(&store, 2, &mut chain(2)).unwrap();
    assert_eq!(indexed_blocks(&store), vec![1, 2]);

    // A new chain under the same directory (a `--dev` chain started again): rebuilt.
    assert_eq!(
        store.check_chain(Hash::repeat_byte(0x01), same).unwrap(),
        ChainCheck::Rebuilt
    );
    assert!(indexed_blocks(&store).is_empty());
    assert_eq!(store.status().unwrap(), crate::IndexStatus::default());
}

#[test]
fn a_store_that_never_recorded_its_chain_is_rebuilt() {
    use crate::ChainCheck;
    let dir = tempfile::tempdir().unwrap();
    let store = RewardsHistory::open(dir.path()).unwrap();
    // What a node before this version left: entries and `last`, no genesis.
    store
        .index_block(1, Hash::repeat_byte(1), vec![(account(1), 0, credited(1))])
        .unwrap();
    assert_eq!(
        store
            .check_chain(Hash::repeat_byte(0xee), |n| Some(Hash::repeat_byte(
                n as u8
            )))
            .unwrap(),
        ChainCheck::Rebuilt
    );
    assert!(indexed_blocks(&store).is_empty());
}

#[test]
fn lag_is_reported_once_when_falling_behind_and_once_when_caught_up() {
    use crate::follow::{Lag, LagChange};
    let mut lag = Lag::new(8);
    assert_eq!(lag.observe(10, 12), (2, None));
    assert_eq!(
        lag.observe(10, 30),
        (20, Some(LagChange::FellBehind { blocks: 20 }))
    );
    assert_eq!(lag.observe(20, 40), (20, None), "said once");
    assert_eq!(lag.observe(38, 40), (2, None), "not caught up yet");
    assert_eq!(lag.observe(40, 40), (0, Some(LagChange::CaughtUp)));
    assert_eq!(lag.observe(41, 41), (0, None));
}
