//! The payout history dApps read: rewards events of finalized blocks are indexed into the node's
//! own ParityDB store as they are finalized (and caught up after a restart), and `rewards_pending`
//! is answered by the `RewardsApi` runtime API. The index is checked against the chain at start
//! (rebuilt after a purge to another chain or fork), skips blocks whose state is pruned, keeps the
//! readable records of blocks an upgrade made partly undecodable, and says when it falls behind
//! (log lines and the `attribution_rewards_history_*` Prometheus gauges).

use std::sync::Arc;

use attribution_primitives::{
    rewards::{PendingRewards, RewardsApi},
    AccountId, Balance, BlockNumber,
};
use attribution_rewards_history::{
    follow::{catch_up, follow_finalized, Fetched, Lag, LagChange, Round},
    history_entries, records,
    rpc::PendingSource,
    ChainCheck, IndexStatus, RewardsHistory,
};
use attribution_runtime::{opaque::Block, Runtime, RuntimeEvent};
use futures::StreamExt;
use sc_client_api::{BlockchainEvents, StorageProvider};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_runtime::traits::Header;
use substrate_prometheus_endpoint::{register, Gauge, PrometheusError, Registry, U64};

/// One of a block's `System::Events`.
pub(crate) type EventRecord = frame_system::EventRecord<RuntimeEvent, attribution_primitives::Hash>;
/// A block's `System::Events`.
pub(crate) type EventRecords = Vec<EventRecord>;

/// The storage key of `System::Events` (frame-system keeps the storage item private).
pub(crate) fn events_key() -> Vec<u8> {
    [
        sp_io::hashing::twox_128(b"System"),
        sp_io::hashing::twox_128(b"Events"),
    ]
    .concat()
}

/// Blocks the index may trail finality by before the node says it has fallen behind.
const LAG_THRESHOLD: BlockNumber = 16;

/// Reads finalized block `number`: its hash and rewards history entries, `Pruned` if its state
/// is gone, `None` if the client does not have the block yet.
fn indexed_block<C, B>(client: &C, number: BlockNumber) -> Option<Fetched>
where
    C: HeaderBackend<Block> + StorageProvider<Block, B>,
    B: sc_client_api::Backend<Block>,
{
    let hash = client.hash(number).ok()??;
    let key = sp_core::storage::StorageKey(events_key());
    let data = match client.storage(hash, &key) {
        Ok(data) => data,
        // The header is here, the state is not: pruned (or never downloaded, after warp sync).
        Err(_) => return Some(Fetched::Pruned { hash }),
    };
    let (records, undecodable) = match data {
        Some(data) => records::decode_each::<EventRecord>(&data.0),
        None => (Vec::new(), 0),
    };
    let entries = history_entries::<Runtime, _>(records.into_iter().map(|record| record.event));
    Some(Fetched::Block {
        hash,
        entries,
        undecodable,
    })
}

/// Metrics of the index, when the node exports Prometheus metrics.
struct Metrics {
    lag: Gauge<U64>,
    skipped: Gauge<U64>,
    partial: Gauge<U64>,
}

impl Metrics {
    fn register(registry: &Registry) -> Result<Self, PrometheusError> {
        Ok(Self {
            lag: register(
                Gauge::new(
                    "attribution_rewards_history_lag_blocks",
                    "Finalized blocks not yet in the payout history index",
                )?,
                registry,
            )?,
            skipped: register(
                Gauge::new(
                    "attribution_rewards_history_skipped_blocks",
                    "Blocks the payout history index skipped because their state was pruned",
                )?,
                registry,
            )?,
            partial: register(
                Gauge::new(
                    "attribution_rewards_history_partial_blocks",
                    "Blocks with event records the payout history index could not decode",
                )?,
                registry,
            )?,
        })
    }

    fn update(&self, lag: BlockNumber, status: &IndexStatus) {
        self.lag.set(lag.into());
        self.skipped.set(status.skipped_blocks.into());
        self.partial.set(status.partial_blocks.into());
    }
}

/// Logs what a round of indexing missed and whether the index keeps up with finality, and
/// updates the metrics.
struct Reporter {
    lag: Lag,
    metrics: Option<Metrics>,
}

impl Reporter {
    fn report(&mut self, history: &RewardsHistory, head: BlockNumber, round: Round) {
        if round.pruned > 0 {
            log::warn!(
                target: "rewards-history",
                "skipped {} finalized blocks whose state is pruned: their payouts are missing \
                 from the history (run the node with --state-pruning archive-canonical to keep them)",
                round.pruned
            );
        }
        if round.partial > 0 {
            log::warn!(
                target: "rewards-history",
                "{} blocks hold event records this node cannot decode (a runtime upgrade \
                 changed them): only the records before those are indexed; upgrade the node",
                round.partial
            );
        }
        let status = match history.status() {
            Ok(status) => status,
            Err(error) => {
                log::warn!(target: "rewards-history", "reading the index status: {error}");
                return;
            }
        };
        let indexed = status.last.map_or(0, |(number, _)| number);
        let (lag, change) = self.lag.observe(indexed, head);
        match change {
            Some(LagChange::FellBehind { blocks }) => log::warn!(
                target: "rewards-history",
                "the payout history index is {blocks} blocks behind finality (at #{indexed}, \
                 finalized #{head}): rewards_history answers are incomplete until it catches up"
            ),
            Some(LagChange::CaughtUp) => log::info!(
                target: "rewards-history",
                "the payout history index caught up with finality at #{head}"
            ),
            None => {}
        }
        if let Some(metrics) = &self.metrics {
            metrics.update(lag, &status);
        }
    }
}

/// Checks `history` against the client's chain (rebuilding it if it belongs to another chain or
/// fork, see [`RewardsHistory::check_chain`]); `false` while the client has not reached the
/// index's last block (after `purge-chain`) and the check must wait.
fn check_chain<C>(client: &C, history: &RewardsHistory) -> Result<bool, String>
where
    C: HeaderBackend<Block>,
{
    let info = client.info();
    let hash_at = |number: BlockNumber| {
        (number <= info.finalized_number)
            .then(|| client.hash(number).ok().flatten())
            .flatten()
    };
    match history
        .check_chain(info.genesis_hash, hash_at)
        .map_err(|e| e.to_string())?
    {
        ChainCheck::New | ChainCheck::Matches => Ok(true),
        ChainCheck::Ahead { last } => {
            log::info!(
                target: "rewards-history",
                "the payout history index is at #{last}, the chain at #{}: waiting for the \
                 chain to sync before checking it",
                info.finalized_number
            );
            Ok(false)
        }
        ChainCheck::Rebuilt => {
            log::warn!(
                target: "rewards-history",
                "the payout history index belonged to another chain or fork (purged \
                 database?): rebuilt from block 1"
            );
            Ok(true)
        }
    }
}

/// Indexes finalized blocks into `history` for as long as the node runs.
pub async fn run_indexer<C, B>(
    client: Arc<C>,
    history: Arc<RewardsHistory>,
    registry: Option<Registry>,
) where
    C: HeaderBackend<Block>
        + StorageProvider<Block, B>
        + BlockchainEvents<Block>
        + Send
        + Sync
        + 'static,
    B: sc_client_api::Backend<Block>,
{
    let metrics = registry.as_ref().and_then(|registry| {
        Metrics::register(registry)
            .map_err(|error| log::warn!(target: "rewards-history", "metrics: {error}"))
            .ok()
    });
    let mut reporter = Reporter {
        lag: Lag::new(LAG_THRESHOLD),
        metrics,
    };
    let mut finalized = client
        .finality_notification_stream()
        .map(|notification| *notification.header.number());
    // Until the client reaches the index's last block, its hash cannot be checked.
    loop {
        match check_chain(&*client, &history) {
            Ok(true) => break,
            Ok(false) => {
                if finalized.next().await.is_none() {
                    return;
                }
            }
            Err(error) => {
                log::error!(target: "rewards-history", "checking the index: {error}");
                return;
            }
        }
    }
    let mut fetch = |number| indexed_block(&*client, number);
    let head = client.info().finalized_number;
    match catch_up(&history, head, &mut fetch) {
        Ok(round) => reporter.report(&history, head, round),
        Err(error) => {
            log::error!(target: "rewards-history", "catching up failed: {error}");
            return;
        }
    }
    let report = |head, round| reporter.report(&history, head, round);
    if let Err(error) = follow_finalized(&history, finalized, fetch, report).await {
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
