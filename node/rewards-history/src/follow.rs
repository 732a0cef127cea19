//! Keeping the store in step with finality, including catching up after a restart.

use crate::{Error, HistoryEvent, RewardsHistory};
use attribution_primitives::{AccountId, BlockNumber, Hash};
use futures::{Stream, StreamExt};

/// A finalized block as the indexer needs it: its hash and its history entries.
pub type IndexedBlock = (Hash, Vec<(AccountId, u32, HistoryEvent)>);

/// Indexes every block up to each finalized height `finalized` yields, in order from the block
/// after [`RewardsHistory::last_indexed`] (block 1 for a new store). `fetch(number)` reads the
/// finalized block `number` (its hash and [`crate::history_entries`] of its `System::Events`);
/// `None` stops this round (the block is not available yet) and the next notification retries.
/// Returns when the stream ends, or with the first store error.
pub async fn follow_finalized<S, F>(
    store: &RewardsHistory,
    mut finalized: S,
    mut fetch: F,
) -> Result<(), Error>
where
    S: Stream<Item = BlockNumber> + Unpin,
    F: FnMut(BlockNumber) -> Option<IndexedBlock>,
{
    while let Some(head) = finalized.next().await {
        catch_up(store, head, &mut fetch)?;
    }
    Ok(())
}

/// Indexes the blocks after the last indexed one up to `head`.
pub fn catch_up<F>(store: &RewardsHistory, head: BlockNumber, fetch: &mut F) -> Result<(), Error>
where
    F: FnMut(BlockNumber) -> Option<IndexedBlock>,
{
    let mut next = store
        .last_indexed()?
        .map_or(1, |(last, _)| last.saturating_add(1));
    while next <= head {
        let Some((hash, entries)) = fetch(next) else {
            break;
        };
        store.index_block(next, hash, entries)?;
        next = next.saturating_add(1);
    }
    Ok(())
}
