//! # Rewards history
//!
//! What a dApp asks a node about payouts: what an account can claim now, and what it was credited
//! and paid, page by page. The node indexes the reward events of every finalized block into its
//! own ParityDB store ([`RewardsHistory`]) and answers two JSON-RPC methods ([`rpc`]):
//!
//! * `rewards_pending(account)`: the account's direct credits by source, from the
//!   `RewardsApi::pending_rewards` runtime API at the best block.
//! * `rewards_history(account, from, limit)`: the account's history entries from block `from`
//!   on, oldest first, at most `limit` (capped at [`MAX_PAGE`]), with the cursor of the next page.
//!
//! ## Wiring (node side)
//!
//! 1. Open the store under the node's base path: [`RewardsHistory::open`].
//! 2. Check the store against the client ([`RewardsHistory::check_chain`]), then spawn
//!    [`follow::follow_finalized`] over the finality notifications (their block numbers), with a
//!    `fetch` that reads a finalized block's hash and `System::Events` (record by record,
//!    [`records::decode_each`]) and turns them into entries with [`history_entries`]. It indexes every block in order from
//!    [`RewardsHistory::last_indexed`] + 1, so on start it catches up: the store survives restarts
//!    and never misses a block.
//! 3. Merge [`rpc::RewardsHistoryRpc`] into the node's RPC module, with a [`rpc::PendingSource`]
//!    that calls the runtime API.
//!
//! Only finalized blocks are indexed, so a reorganisation never leaves stale entries.
//!
//! ## Surviving the node's life (review M3)
//!
//! * **Pruned state.** A block whose state is pruned has no events to read: it is skipped,
//!   counted in [`IndexStatus::skipped_blocks`] and logged, instead of stopping the index
//!   forever at that block.
//! * **Runtime upgrades.** A block's event records are decoded one at a time
//!   ([`records::decode_each`]): the records before one the node cannot decode (an event whose
//!   layout an upgrade changed) are indexed, the rest counted in
//!   [`IndexStatus::partial_blocks`], and the block does not fail whole.
//! * **`purge-chain` and a new chain.** The store keeps the chain's genesis hash and the hash of
//!   the last indexed block; [`RewardsHistory::check_chain`] compares them with the client's at
//!   start and rebuilds the index from block 1 when they differ.
//! * **Falling behind.** [`follow::Lag`] says when the index falls behind finality and when it
//!   has caught up again; the node logs both and exports the lag as a Prometheus gauge.
//!
//! ## Store layout
//!
//! ```text
//! column HISTORY (btree): account (32) ++ block (u32 BE) ++ event index (u32 BE) -> SCALE(HistoryEntry)
//! column META:            b"last"                                               -> SCALE((BlockNumber, Hash))
//!                          b"genesis"                                            -> SCALE(Hash)
//!                          b"status"                                             -> SCALE((u32, u32)): skipped, partial blocks
//! ```
//!
//! Keys sort by account, then block, then event order, so a page is one seek and a forward scan.

pub mod amount;
pub mod follow;
pub mod records;
pub mod rpc;
#[cfg(test)]
mod tests;

use attribution_primitives::{
    rewards::PendingRewards, traits::PoolId, AccountId, Balance, BlockNumber, Hash,
};
use codec::{Decode, Encode};
use std::path::Path;

pub use attribution_primitives::traits::RewardSource;

/// The most entries one history page returns.
pub const MAX_PAGE: u32 = 1_000;

const HISTORY: u8 = 0;
const META: u8 = 1;
const LAST_INDEXED: &[u8] = b"last";
const GENESIS: &[u8] = b"genesis";
const STATUS: &[u8] = b"status";

/// What happened to an account's rewards.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HistoryEvent {
    /// `amount` became claimable, from `source`, paid in by `payer`.
    Credited {
        source: RewardSource,
        #[serde(with = "amount")]
        amount: Balance,
        payer: AccountId,
    },
    /// The account claimed its direct credits.
    Claimed {
        #[serde(with = "amount::by_source")]
        rewards: PendingRewards<Balance>,
    },
    /// The account claimed `amount`, its share of `pool`.
    PoolClaimed {
        pool: PoolId,
        #[serde(with = "amount")]
        amount: Balance,
    },
}

/// One entry of an account's history.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub block: BlockNumber,
    /// The event's index among the block's events.
    pub event_index: u32,
    pub event: HistoryEvent,
}

/// One page of an account's history.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    pub entries: Vec<HistoryEntry>,
    /// `(block, event index)` to pass as the start of the next page, `None` at the end.
    pub next: Option<(BlockNumber, u32)>,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("rewards history store: {0}")]
    Store(#[from] parity_db::Error),
    #[error("rewards history store holds an undecodable value: {0}")]
    Corrupt(#[from] codec::Error),
    #[error("block {got} indexed after block {last}: blocks must be indexed in order")]
    OutOfOrder { last: BlockNumber, got: BlockNumber },
}

/// What the index holds and what it missed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexStatus {
    /// The last block indexed.
    pub last: Option<(BlockNumber, Hash)>,
    /// Blocks whose state was pruned before they were indexed: their entries are missing.
    pub skipped_blocks: u32,
    /// Blocks with event records the node could not decode (a runtime upgrade changed them):
    /// the entries of those records are missing.
    pub partial_blocks: u32,
}

/// What [`RewardsHistory::check_chain`] found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChainCheck {
    /// A new store, now bound to this chain.
    New,
    /// The store's last block is the client's block at that height.
    Matches,
    /// The client has not reached the store's last block yet (its database was purged and is
    /// syncing again): check again later.
    Ahead { last: BlockNumber },
    /// The store was made on another chain (other genesis) or another fork than the client's
    /// (other hash at its last block), or by a version that did not record its chain: it was
    /// emptied and is rebuilt from block 1.
    Rebuilt,
}

/// The persisted index of reward events by account.
pub struct RewardsHistory {
    db: parity_db::Db,
}

impl RewardsHistory {
    /// Opens (or creates) the store in `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let mut options = parity_db::Options::with_columns(path, 2);
        if let Some(history) = options.columns.get_mut(usize::from(HISTORY)) {
            history.btree_index = true;
        }
        Ok(Self {
            db: parity_db::Db::open_or_create(&options)?,
        })
    }

    /// Binds a new store to the chain whose genesis hash is `genesis`, and checks an existing
    /// one against it: `hash_at(n)` is the client's finalized block `n`, `None` if the client
    /// does not have it yet. A store of another chain or fork is emptied (to be rebuilt).
    pub fn check_chain(
        &self,
        genesis: Hash,
        hash_at: impl FnOnce(BlockNumber) -> Option<Hash>,
    ) -> Result<ChainCheck, Error> {
        let stored: Option<Hash> = self
            .db
            .get(META, GENESIS)?
            .map(|bytes| Decode::decode(&mut &bytes[..]))
            .transpose()?;
        let last = self.last_indexed()?;
        match (stored, last) {
            (None, None) => {
                self.db
                    .commit([(META, GENESIS.to_vec(), Some(genesis.encode()))])?;
                return Ok(ChainCheck::New);
            }
            (Some(stored), _) if stored != genesis => {}
            (None, Some(_)) => {}
            (Some(_), None) => return Ok(ChainCheck::Matches),
            (Some(_), Some((number, hash))) => match hash_at(number) {
                Some(client) if client == hash => return Ok(ChainCheck::Matches),
                None => return Ok(ChainCheck::Ahead { last: number }),
                Some(_) => {}
            },
        }
        self.clear(genesis)?;
        Ok(ChainCheck::Rebuilt)
    }

    /// Deletes every entry and the status, and binds the store to `genesis`.
    fn clear(&self, genesis: Hash) -> Result<(), Error> {
        let mut iter = self.db.iter(HISTORY)?;
        iter.seek_to_first()?;
        let mut changes: Vec<(u8, Vec<u8>, Option<Vec<u8>>)> = Vec::new();
        while let Some((key, _)) = iter.next()? {
            changes.push((HISTORY, key, None));
        }
        drop(iter);
        changes.push((META, LAST_INDEXED.to_vec(), None));
        changes.push((META, STATUS.to_vec(), None));
        changes.push((META, GENESIS.to_vec(), Some(genesis.encode())));
        self.db.commit(changes)?;
        Ok(())
    }

    /// The last block indexed and the blocks missed.
    pub fn status(&self) -> Result<IndexStatus, Error> {
        let (skipped_blocks, partial_blocks): (u32, u32) = self
            .db
            .get(META, STATUS)?
            .map(|bytes| Decode::decode(&mut &bytes[..]))
            .transpose()?
            .unwrap_or_default();
        Ok(IndexStatus {
            last: self.last_indexed()?,
            skipped_blocks,
            partial_blocks,
        })
    }

    /// Records block `number` as indexed without entries: its state is pruned, its events lost.
    pub fn skip_block(&self, number: BlockNumber, hash: Hash) -> Result<(), Error> {
        self.commit_block(number, hash, Vec::new(), (1, 0))
    }

    /// The last block indexed, `None` for a new store.
    pub fn last_indexed(&self) -> Result<Option<(BlockNumber, Hash)>, Error> {
        Ok(self
            .db
            .get(META, LAST_INDEXED)?
            .map(|bytes| Decode::decode(&mut &bytes[..]))
            .transpose()?)
    }

    /// Stores the history entries of block `number` (from [`history_entries`]) and records the
    /// block as indexed, in one commit. Blocks are indexed in order; indexing the last block
    /// again is harmless.
    pub fn index_block(
        &self,
        number: BlockNumber,
        hash: Hash,
        entries: impl IntoIterator<Item = (AccountId, u32, HistoryEvent)>,
    ) -> Result<(), Error> {
        self.commit_block(number, hash, entries, (0, 0))
    }

    /// Like [`Self::index_block`], for a block some of whose event records could not be decoded.
    pub fn index_partial_block(
        &self,
        number: BlockNumber,
        hash: Hash,
        entries: impl IntoIterator<Item = (AccountId, u32, HistoryEvent)>,
    ) -> Result<(), Error> {
        self.commit_block(number, hash, entries, (0, 1))
    }

    /// Stores a block's entries, marks it the last indexed and adds `missed` (skipped, partial)
    /// to the status, in one commit.
    fn commit_block(
        &self,
        number: BlockNumber,
        hash: Hash,
        entries: impl IntoIterator<Item = (AccountId, u32, HistoryEvent)>,
        missed: (u32, u32),
    ) -> Result<(), Error> {
        if let Some((last, _)) = self.last_indexed()? {
            if number < last {
                return Err(Error::OutOfOrder { last, got: number });
            }
        }
        let mut changes: Vec<(u8, Vec<u8>, Option<Vec<u8>>)> = entries
            .into_iter()
            .map(|(who, event_index, event)| {
                let entry = HistoryEntry {
                    block: number,
                    event_index,
                    event,
                };
                (
                    HISTORY,
                    key(&who, number, event_index),
                    Some(entry.encode()),
                )
            })
            .collect();
        changes.push((META, LAST_INDEXED.to_vec(), Some((number, hash).encode())));
        if missed != (0, 0) {
            let status = self.status()?;
            let counts = (
                status.skipped_blocks.saturating_add(missed.0),
                status.partial_blocks.saturating_add(missed.1),
            );
            changes.push((META, STATUS.to_vec(), Some(counts.encode())));
        }
        self.db.commit(changes)?;
        Ok(())
    }

    /// `who`'s entries from `(from, from_index)` on, oldest first, at most `limit` (capped at
    /// [`MAX_PAGE`]).
    pub fn history(
        &self,
        who: &AccountId,
        from: (BlockNumber, u32),
        limit: u32,
    ) -> Result<HistoryPage, Error> {
        let limit = limit.min(MAX_PAGE) as usize;
        let prefix: &[u8] = who.as_ref();
        let mut iter = self.db.iter(HISTORY)?;
        iter.seek(&key(who, from.0, from.1))?;
        let mut entries = Vec::new();
        while let Some((key, value)) = iter.next()? {
            if !key.starts_with(prefix) {
                break;
            }
            let entry = HistoryEntry::decode(&mut &value[..])?;
            if entries.len() == limit {
                return Ok(HistoryPage {
                    entries,
                    next: Some((entry.block, entry.event_index)),
                });
            }
            entries.push(entry);
        }
        Ok(HistoryPage {
            entries,
            next: None,
        })
    }
}

fn key(who: &AccountId, block: BlockNumber, event_index: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(40);
    key.extend_from_slice(who.as_ref());
    key.extend_from_slice(&block.to_be_bytes());
    key.extend_from_slice(&event_index.to_be_bytes());
    key
}

/// The history entries among a block's events, given in the block's order (the `event` of each
/// `System::Events` record, as `RuntimeEvent`): each rewards event that concerns one account
/// (credits and claims; pool credits concern no single account), with the account and the
/// event's index in the block.
pub fn history_entries<T, E>(
    events: impl IntoIterator<Item = E>,
) -> Vec<(AccountId, u32, HistoryEvent)>
where
    T: pallet_rewards::Config<AccountId = AccountId>,
    E: TryInto<pallet_rewards::Event<T>>,
{
    events
        .into_iter()
        .enumerate()
        .filter_map(|(index, event)| {
            let index = u32::try_from(index).ok()?;
            let (who, event) = match event.try_into().ok()? {
                pallet_rewards::Event::AccountCredited {
                    payer,
                    who,
                    source,
                    amount,
                } => (
                    who,
                    HistoryEvent::Credited {
                        source,
                        amount,
                        payer,
                    },
                ),
                pallet_rewards::Event::Claimed { who, rewards } => {
                    (who, HistoryEvent::Claimed { rewards })
                }
                pallet_rewards::Event::PoolClaimed { who, pool, amount } => {
                    (who, HistoryEvent::PoolClaimed { pool, amount })
                }
                _ => return None,
            };
            Some((who, index, event))
        })
        .collect()
}
