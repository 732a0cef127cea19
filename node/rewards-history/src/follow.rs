//! Keeping the store in step with finality, including catching up after a restart.

use crate::{Error, HistoryEvent, RewardsHistory};
use attribution_primitives::{AccountId, BlockNumber, Hash};
use futures::{Stream, StreamExt};

/// A finalized block as the indexer reads it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Fetched {
    /// Its hash and history entries; `undecodable` of its event records could not be decoded
    /// (see [`crate::records`]), their entries are missing.
    Block {
        hash: Hash,
        entries: Vec<(AccountId, u32, HistoryEvent)>,
        undecodable: u32,
    },
    /// Its state is pruned: its events cannot be read any more, the block is skipped.
    Pruned { hash: Hash },
}

/// What one round of indexing did, for the node's log.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Round {
    /// Blocks indexed (whole, partly or skipped).
    pub indexed: u32,
    /// Of those, blocks skipped because their state was pruned.
    pub pruned: u32,
    /// Of those, blocks with undecodable event records.
    pub partial: u32,
}

/// Indexes every block up to each finalized height `finalized` yields, in order from the block
/// after [`RewardsHistory::last_indexed`] (block 1 for a new store). `fetch(number)` reads the
/// finalized block `number`; `None` stops this round (the block is not available yet) and the
/// next notification retries. `on_round` sees each round's head and what it did. Returns when
/// the stream ends, or with the first store error.
pub async fn follow_finalized<S, F>(
    store: &RewardsHistory,
    mut finalized: S,
    mut fetch: F,
    mut on_round: impl FnMut(BlockNumber, Round),
) -> Result<(), Error>
where
    S: Stream<Item = BlockNumber> + Unpin,
    F: FnMut(BlockNumber) -> Option<Fetched>,
{
    while let Some(head) = finalized.next().await {
        let round = catch_up(store, head, &mut fetch)?;
        on_round(head, round);
    }
    Ok(())
}

/// Indexes the blocks after the last indexed one up to `head`.
pub fn catch_up<F>(store: &RewardsHistory, head: BlockNumber, fetch: &mut F) -> Result<Round, Error>
where
    F: FnMut(BlockNumber) -> Option<Fetched>,
{
    let mut next = store
        .last_indexed()?
        .map_or(1, |(last, _)| last.saturating_add(1));
    let mut round = Round::default();
    while next <= head {
        match fetch(next) {
            None => break,
            Some(Fetched::Pruned { hash }) => {
                store.skip_block(next, hash)?;
                round.pruned += 1;
            }
            Some(Fetched::Block {
                hash,
                entries,
                undecodable: 0,
            }) => store.index_block(next, hash, entries)?,
            Some(Fetched::Block { hash, entries, .. }) => {
                store.index_partial_block(next, hash, entries)?;
                round.partial += 1;
            }
        }
        round.indexed += 1;
        next = next.saturating_add(1);
    }
    Ok(round)
}

/// How far the index is behind finality, and when that is worth saying.
#[derive(Debug)]
pub struct Lag {
    /// Blocks behind at which the index counts as falling behind.
    threshold: BlockNumber,
    behind: bool,
}

/// A change worth a log line.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LagChange {
    /// The index is `blocks` behind the finalized head.
    FellBehind { blocks: BlockNumber },
    /// The index reached the finalized head again.
    CaughtUp,
}

impl Lag {
    pub fn new(threshold: BlockNumber) -> Self {
        Self {
            threshold,
            behind: false,
        }
    }

    /// The blocks between the last indexed block and the finalized head, and whether that
    /// changes the index from keeping up to falling behind or back.
    pub fn observe(
        &mut self,
        indexed: BlockNumber,
        finalized: BlockNumber,
    ) -> (BlockNumber, Option<LagChange>) {
        let blocks = finalized.saturating_sub(indexed);
        let change = match (self.behind, blocks > self.threshold) {
            (false, true) => Some(LagChange::FellBehind { blocks }),
            (true, false) if blocks == 0 => Some(LagChange::CaughtUp),
            _ => None,
        };
        match change {
            Some(LagChange::FellBehind { .. }) => self.behind = true,
            Some(LagChange::CaughtUp) => self.behind = false,
            None => {}
        }
        (blocks, change)
    }
}
