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
//! 2. Spawn [`follow::follow_finalized`] over the finality notifications (their block numbers),
//!    with a `fetch` that reads a finalized block's hash and `System::Events` and turns them into
//!    entries with [`history_entries`]. It indexes every block in order from
//!    [`RewardsHistory::last_indexed`] + 1, so on start it catches up: the store survives restarts
//!    and never misses a block.
//! 3. Merge [`rpc::RewardsHistoryRpc`] into the node's RPC module, with a [`rpc::PendingSource`]
//!    that calls the runtime API.
//!
//! Only finalized blocks are indexed, so a reorganisation never leaves stale entries.
//!
//! ## Store layout
//!
//! ```text
//! column HISTORY (btree): account (32) ++ block (u32 BE) ++ event index (u32 BE) -> SCALE(HistoryEntry)
//! column META:            b"last"                                               -> SCALE((BlockNumber, Hash))
//! ```
//!
//! Keys sort by account, then block, then event order, so a page is one seek and a forward scan.

pub mod amount;
pub mod follow;
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
