//! The payout history dApps read: rewards events of finalized blocks are indexed into the node's
//! own ParityDB store as they are finalized (and caught up after a restart), and `rewards_pending`
//! is answered by the `RewardsApi` runtime API.

use std::sync::Arc;

use attribution_primitives::{
    rewards::{PendingRewards, RewardsApi},
    AccountId, Balance, BlockNumber,
};
use attribution_rewards_history::{
    follow::{catch_up, follow_finalized, IndexedBlock},
    history_entries,
    rpc::PendingSource,
    RewardsHistory,
};
use attribution_runtime::{opaque::Block, Runtime, RuntimeEvent};
use codec::Decode;
use futures::StreamExt;
use sc_client_api::{BlockchainEvents, StorageProvider};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_runtime::traits::Header;

/// A block's `System::Events`.
pub(crate) type EventRecords =
    Vec<frame_system::EventRecord<RuntimeEvent, attribution_primitives::Hash>>;

/// The storage key of `System::Events` (frame-system keeps the storage item private).
pub(crate) fn events_key() -> Vec<u8> {
    [
        sp_io::hashing::twox_128(b"System"),
        sp_io::hashing::twox_128(b"Events"),
    ]
    .concat()
}

/// Reads finalized block `number`'s hash and its rewards history entries.
fn indexed_block<C, B>(client: &C, number: BlockNumber) -> Option<IndexedBlock>
where
    C: HeaderBackend<Block> + StorageProvider<Block, B>,
    B: sc_client_api::Backend<Block>,
{
    let hash = client.hash(number).ok()??;
    let key = sp_core::storage::StorageKey(events_key());
    let records = match client.storage(hash, &key).ok()? {
        Some(data) => EventRecords::decode(&mut &data.0[..]).ok()?,
        None => Vec::new(),
    };
    let entries = history_entries::<Runtime, _>(records.into_iter().map(|record| record.event));
    Some((hash, entries))
}

/// Indexes finalized blocks into `history` for as long as the node runs.
pub async fn run_indexer<C, B>(client: Arc<C>, history: Arc<RewardsHistory>)
where
    C: HeaderBackend<Block>
        + StorageProvider<Block, B>
        + BlockchainEvents<Block>
        + Send
        + Sync
        + 'static,
    B: sc_client_api::Backend<Block>,
{
    let mut fetch = |number| indexed_block(&*client, number);
    if let Err(error) = catch_up(&history, client.info().finalized_number, &mut fetch) {
        log::error!(target: "rewards-history", "catching up failed: {error}");
        return;
    }
    let finalized = client
        .finality_notification_stream()
        .map(|notification| *notification.header.number());
    if let Err(error) = follow_finalized(&history, finalized, fetch).await {
        log::error!(target: "rewards-history", "indexing stopped: {error}");
    }
}

/// Answers `rewards_pending` with the `RewardsApi` runtime API at the best block.
pub struct RuntimePending<C> {
    client: Arc<C>,
}

impl<C> RuntimePending<C> {
    pub fn new(client: Arc<C>) -> Self {
        Self { client }
    }
}

impl<C> PendingSource for RuntimePending<C>
where
    C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
    C::Api: RewardsApi<Block, AccountId, Balance>,
{
    fn pending(&self, who: &AccountId) -> Result<PendingRewards<Balance>, String> {
        let best = self.client.info().best_hash;
        self.client
            .runtime_api()
            .pending_rewards(best, who.clone())
            .map_err(|e| e.to_string())
    }
}

/// Opens (creating if needed) the history store under the node's chain directory.
pub fn open_history(chain_dir: &std::path::Path) -> Result<Arc<RewardsHistory>, String> {
    RewardsHistory::open(&chain_dir.join("rewards-history"))
        .map(Arc::new)
        .map_err(|e| e.to_string())
}
