//! Data available from every node: a blob uploaded to one node reaches every other node over the
//! node's own libp2p network, with a request-response protocol registered beside Substrate's
//! block requests (`attribution_content_store::exchange` has the wire format and checks).
//!
//! * [`run_server`] answers peers' requests: a content hash in, the blob out, only while the
//!   chain (at the finalized block) announces the hash.
//! * [`Fetcher::run`] fetches the announced blobs this node lacks: those named by `Contributed`
//!   events of newly finalized blocks, every announced hash once at start (blobs announced while
//!   the node was down), and those `datanets_get` asks for ([`RemoteHandle`]). At most
//!   [`MAX_CONCURRENT_FETCHES`] run at once; a blob no peer has yet is retried with backoff
//!   until it is stored or no longer announced. Every response is checked against the hash; a
//!   forged one costs its peer reputation and the next peer is asked; bytes that hash right are
//!   also checked as an upload is (size, weight, JSONL) against every datanet announcing them.

use std::{
    collections::HashMap,
    sync::{mpsc as std_mpsc, Arc},
    time::{Duration, Instant},
};

use attribution_content_store::{
    exchange::{self, Announced, FetchError, ServeError},
    rpc::{ChainError, Remote},
    wanted::Wanted,
    BlobStore,
};
use attribution_primitives::{
    datanets::{Announcement, DatanetsApi},
    AccountId, DatanetId, Hash,
};
use attribution_runtime::{opaque::Block, RuntimeEvent};
use codec::{Decode, DecodeAll, Encode};
use futures::{channel::mpsc, stream::FuturesUnordered, StreamExt};
use sc_client_api::{BlockchainEvents, StorageProvider};
use sc_network::{
    request_responses::{IncomingRequest, OutgoingResponse},
    service::traits::NetworkService,
    IfDisconnected, NetworkBackend, PeerId, ProtocolName, ReputationChange,
};
use sc_network_sync::SyncingService;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;

use crate::service::FullClient;

const LOG_TARGET: &str = "blob-exchange";

/// Fetches running at once.
pub const MAX_CONCURRENT_FETCHES: usize = 4;
/// Peers' requests queued before new ones are refused.
const INBOUND_QUEUE: usize = 32;
/// How long one peer may take to answer (a 5 MiB blob over a slow link).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// How long `datanets_get` waits for a blob from the peers.
const ON_DEMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// What a malformed request or a forged blob costs the peer that sent it.
const MISBEHAVIOUR: ReputationChange = ReputationChange::new(-(1 << 12), "bad blob exchange");

/// The protocol's name and the largest blob it carries.
#[derive(Clone)]
pub struct Protocol {
    name: ProtocolName,
    max_blob: u64,
}

/// The protocol's configuration for sc-network, the queue its requests arrive on, and what the
/// fetcher needs to use it. `max_blob` is the chain's largest contribution
/// (`DatanetsApi::max_contribution_bytes`).
pub fn protocol<N: NetworkBackend<Block, Hash>>(
    genesis: &Hash,
    max_blob: u64,
) -> (
    N::RequestResponseProtocolConfig,
    async_channel::Receiver<IncomingRequest>,
    Protocol,
) {
    let (sender, requests) = async_channel::bounded(INBOUND_QUEUE);
    let name: ProtocolName = exchange::protocol_name(genesis).into();
    let config = N::request_response_config(
        name.clone(),
        Vec::new(),
        exchange::MAX_REQUEST_BYTES,
        exchange::max_response_bytes(max_blob),
        REQUEST_TIMEOUT,
        Some(sender),
    );
    (config, requests, Protocol { name, max_blob })
}

/// The chain at its finalized block: what a node serves and fetches never depends on a block
/// that may be reverted.
pub struct FinalizedView<C> {
    client: Arc<C>,
}

impl<C> FinalizedView<C> {
    pub fn new(client: Arc<C>) -> Self {
        Self { client }
    }
}

impl<C> Announced for FinalizedView<C>
where
    C: ProvideRuntimeApi<Block> + HeaderBackend<Block>,
    C::Api: DatanetsApi<Block>,
{
    fn is_announced(&self, hash: Hash) -> Result<bool, ChainError> {
        let finalized = self.client.info().finalized_hash;
        self.client
            .runtime_api()
            .is_announced(finalized, hash)
            .map_err(|e| ChainError(e.to_string()))
    }
}

impl FinalizedView<FullClient> {
    /// Every pending, approved or published contribution announcing `hash`, one per datanet:
    /// the datanets come from pallet-datanets' `ContributionByHash` keys, the announcements from
    /// `DatanetsApi::announced`.
    fn announcements(&self, hash: Hash) -> Result<Vec<Announcement<AccountId>>, ChainError> {
        let chain_error = |e: String| ChainError(e);
        let finalized = self.client.info().finalized_hash;
        let prefix = sp_core::storage::StorageKey(
            [
                announced_prefix(),
                sp_io::hashing::blake2_128(hash.as_bytes()).to_vec(),
                hash.as_bytes().to_vec(),
            ]
            .concat(),
        );
        let keys = self
            .client
            .storage_keys(finalized, Some(&prefix), None)
            .map_err(|e| chain_error(e.to_string()))?;
        let api = self.client.runtime_api();
        let mut announcements = Vec::new();
        for key in keys {
            let Some(datanet) = datanet_of_announcement_key(&key.0) else {
                continue;
            };
            if let Some(announcement) = api
                .announced(finalized, hash, datanet)
                .map_err(|e| chain_error(e.to_string()))?
            {
                announcements.push(announcement);
            }
        }
        Ok(announcements)
    }
}

/// Answers peers' blob requests for as long as the node runs.
pub async fn run_server<C>(
    store: Arc<BlobStore>,
    chain: FinalizedView<C>,
    requests: async_channel::Receiver<IncomingRequest>,
) where
    C: ProvideRuntimeApi<Block> + HeaderBackend<Block>,
    C::Api: DatanetsApi<Block>,
{
    while let Ok(IncomingRequest {
        peer,
        payload,
        pending_response,
    }) = requests.recv().await
    {
        let (result, reputation_changes) = match exchange::answer(&store, &chain, &payload) {
            Ok(response) => (Ok(response.encode()), Vec::new()),
            Err(error) => {
                tracing::debug!(target: LOG_TARGET, %peer, %error, "refused a blob request");
                let penalty = matches!(error, ServeError::Malformed(_));
                (
                    Err(()),
                    penalty.then_some(MISBEHAVIOUR).into_iter().collect(),
                )
            }
        };
        // The peer may have given up waiting; nothing to do then.
        let _ = pending_response.send(OutgoingResponse {
            result,
            reputation_changes,
            sent_feedback: None,
        });
    }
}

/// A `datanets_get` waiting for a blob: answered with whether it is now stored.
type Demand = (Hash, std_mpsc::Sender<bool>);

/// What `datanets_get` uses to ask the [`Fetcher`] for a blob this node lacks.
#[derive(Clone)]
pub struct RemoteHandle {
    demands: mpsc::UnboundedSender<Demand>,
}

impl Remote for RemoteHandle {
    fn fetch(&self, hash: Hash) -> bool {
        let (answer, answered) = std_mpsc::channel();
        if self.demands.unbounded_send((hash, answer)).is_err() {
            return false;
        }
        // `datanets_get` runs on the RPC server's blocking pool, so waiting here blocks no task.
        answered.recv_timeout(ON_DEMAND_TIMEOUT).unwrap_or(false)
    }
}

/// How one attempt at a blob ended.
enum Outcome {
    Stored,
    /// No contribution announces it at the finalized block: stop wanting it.
    NotAnnounced,
    /// No peer gave the bytes this time.
    Missing,
}

/// Fetches the announced blobs this node lacks from its peers.
pub struct Fetcher {
    client: Arc<FullClient>,
    store: Arc<BlobStore>,
    network: Arc<dyn NetworkService>,
    sync: Arc<SyncingService<Block>>,
    protocol: Protocol,
    demands: mpsc::UnboundedReceiver<Demand>,
}

/// A fetcher and the handle `datanets_get` asks it through.
pub fn fetcher(
    client: Arc<FullClient>,
    store: Arc<BlobStore>,
    network: Arc<dyn NetworkService>,
    sync: Arc<SyncingService<Block>>,
    protocol: Protocol,
) -> (Fetcher, RemoteHandle) {
    let (demands_tx, demands) = mpsc::unbounded();
    let fetcher = Fetcher {
        client,
        store,
        network,
        sync,
        protocol,
        demands,
    };
    (
        fetcher,
        RemoteHandle {
            demands: demands_tx,
        },
    )
}

/// The storage key prefix of pallet-datanets' `ContributionByHash` (content hash, datanet) →
/// contribution. Keys are `prefix ++ blake2_128(hash) ++ hash ++ twox64(datanet) ++ datanet`.
fn announced_prefix() -> Vec<u8> {
    [
        sp_io::hashing::twox_128(b"Datanets"),
        sp_io::hashing::twox_128(b"ContributionByHash"),
    ]
    .concat()
}

/// The content hash in a `ContributionByHash` key, `None` if the key is not one.
fn hash_of_announcement_key(key: &[u8]) -> Option<Hash> {
    let start = 32 + 16;
    let bytes: [u8; 32] = key.get(start..start + 32)?.try_into().ok()?;
    Some(Hash::from(bytes))
}

/// The datanet in a `ContributionByHash` key (its last 4 bytes, after its twox64), `None` if the
/// key is not one.
fn datanet_of_announcement_key(key: &[u8]) -> Option<DatanetId> {
    let start = 32 + 16 + 32 + 8;
    let bytes = key.get(start..)?;
    DatanetId::decode_all(&mut &bytes[..]).ok()
}

impl Fetcher {
    /// The content hashes and sizes a finalized block's `Contributed` events announce.
    fn contributed(&self, block: Hash) -> Result<Vec<(Hash, u64)>, String> {
        let key = sp_core::storage::StorageKey(crate::payouts::events_key());
        let Some(data) = self
            .client
            .storage(block, &key)
            .map_err(|e| e.to_string())?
        else {
            return Ok(Vec::new());
        };
        let records = crate::payouts::EventRecords::decode(&mut &data.0[..])
            .map_err(|e| format!("undecodable events: {e}"))?;
        Ok(records
            .into_iter()
            .filter_map(|record| match record.event {
                RuntimeEvent::Datanets(pallet_datanets::Event::Contributed {
                    content_hash,
                    size,
                    ..
                }) => Some((content_hash, size)),
                _ => None,
            })
            .collect())
    }

    /// Every hash announced at the finalized block that this node lacks.
    fn missing_announced(&self) -> Result<Vec<Hash>, String> {
        let finalized = self.client.info().finalized_hash;
        let prefix = sp_core::storage::StorageKey(announced_prefix());
        let keys = self
            .client
            .storage_keys(finalized, Some(&prefix), None)
            .map_err(|e| e.to_string())?;
        let mut missing: Vec<Hash> = keys
            .filter_map(|key| hash_of_announcement_key(&key.0))
            .filter(|hash| !self.store.contains(hash))
            .collect();
        missing.dedup();
        Ok(missing)
    }

    /// Asks the connected peers for `hash`, one after the other, until one sends the bytes.
    async fn attempt(
        network: Arc<dyn NetworkService>,
        sync: Arc<SyncingService<Block>>,
        store: Arc<BlobStore>,
        chain: FinalizedView<FullClient>,
        protocol: Protocol,
        hash: Hash,
        max_bytes: u64,
    ) -> (Hash, Outcome) {
        let announcements = match chain.announcements(hash) {
            Ok(announcements) if announcements.is_empty() => return (hash, Outcome::NotAnnounced),
            Ok(announcements) => announcements,
            Err(error) => {
                tracing::warn!(target: LOG_TARGET, %error, "cannot tell whether {hash:?} is announced");
                return (hash, Outcome::Missing);
            }
        };
        let peers: Vec<PeerId> = match sync.peers_info().await {
            Ok(peers) => peers.into_iter().map(|(peer, _)| peer).collect(),
            Err(_) => return (hash, Outcome::Missing),
        };
        for peer in peers {
            let response = network
                .request(
                    peer,
                    protocol.name.clone(),
                    exchange::encode_request(&hash),
                    None,
                    IfDisconnected::ImmediateError,
                )
                .await;
            let bytes = match response {
                Ok((bytes, _)) => bytes,
                Err(error) => {
                    tracing::debug!(target: LOG_TARGET, %peer, %error, "asking for {hash:?}");
                    continue;
                }
            };
            let checked = exchange::check_response(hash, max_bytes, &bytes).and_then(|blob| {
                exchange::check_announced(&blob, &announcements)?;
                Ok(blob)
            });
            match checked {
                Ok(blob) => {
                    if let Err(error) = store.put(&blob) {
                        tracing::warn!(target: LOG_TARGET, %error, "storing {hash:?}");
                        return (hash, Outcome::Missing);
                    }
                    tracing::info!(
                        target: LOG_TARGET,
                        %peer,
                        size = blob.len(),
                        "fetched blob {hash:?}"
                    );
                    return (hash, Outcome::Stored);
                }
                Err(FetchError::NotStored | FetchError::NotAnnounced) => {}
                Err(error) => {
                    tracing::warn!(target: LOG_TARGET, %peer, %error, "refused a response for {hash:?}");
                    network.report_peer(peer, MISBEHAVIOUR);
                }
            }
        }
        (hash, Outcome::Missing)
    }

    /// Fetches for as long as the node runs.
    pub async fn run(mut self) {
        let mut wanted = Wanted::default();
        let mut waiting: HashMap<Hash, Vec<std_mpsc::Sender<bool>>> = HashMap::new();
        let mut running = FuturesUnordered::new();
        let mut finalized = self.client.finality_notification_stream();

        let now = Instant::now();
        match self.missing_announced() {
            Ok(missing) => {
                if !missing.is_empty() {
                    tracing::info!(
                        target: LOG_TARGET,
                        count = missing.len(),
                        "announced blobs missing here: fetching them from peers"
                    );
                }
                for hash in missing {
                    wanted.want(hash, self.protocol.max_blob, now);
                }
            }
            Err(error) => {
                tracing::warn!(target: LOG_TARGET, %error, "listing the announced blobs")
            }
        }

        loop {
            let now = Instant::now();
            let free = MAX_CONCURRENT_FETCHES.saturating_sub(running.len());
            for (hash, max_bytes) in wanted.start_due(now, free) {
                running.push(Self::attempt(
                    self.network.clone(),
                    self.sync.clone(),
                    self.store.clone(),
                    FinalizedView::new(self.client.clone()),
                    self.protocol.clone(),
                    hash,
                    max_bytes,
                ));
            }
            let sleep = wanted.next_due().map_or(Duration::from_secs(3600), |due| {
                due.saturating_duration_since(now)
            });
            tokio::select! {
                notification = finalized.next() => {
                    let Some(notification) = notification else { return };
                    let blocks = notification
                        .tree_route
                        .iter()
                        .copied()
                        .chain(std::iter::once(notification.hash));
                    for block in blocks {
                        match self.contributed(block) {
                            Ok(announced) => {
                                for (hash, size) in announced {
                                    if !self.store.contains(&hash) {
                                        wanted.want(hash, size, Instant::now());
                                    }
                                }
                            }
                            Err(error) => tracing::warn!(
                                target: LOG_TARGET,
                                %error,
                                "reading the events of {block}"
                            ),
                        }
                    }
                }
                Some((hash, answer)) = self.demands.next() => {
                    if self.store.contains(&hash) {
                        let _ = answer.send(true);
                    } else {
                        wanted.want(hash, self.protocol.max_blob, Instant::now());
                        waiting.entry(hash).or_default().push(answer);
                    }
                }
                Some((hash, outcome)) = running.next(), if !running.is_empty() => {
                    let stored = matches!(outcome, Outcome::Stored);
                    match outcome {
                        Outcome::Stored | Outcome::NotAnnounced => wanted.forget(&hash),
                        Outcome::Missing => {
                            if let Some(wait) = wanted.failed(&hash, Instant::now()) {
                                tracing::debug!(
                                    target: LOG_TARGET,
                                    "no peer has {hash:?} yet; retrying in {wait:?}"
                                );
                            }
                        }
                    }
                    for answer in waiting.remove(&hash).unwrap_or_default() {
                        let _ = answer.send(stored);
                    }
                }
                _ = tokio::time::sleep(sleep) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_hash_and_datanet_out_of_an_announcement_key() {
        let hash = Hash::repeat_byte(0x5a);
        let datanet: u32 = 7;
        let key = [
            announced_prefix(),
            sp_io::hashing::blake2_128(hash.as_bytes()).to_vec(),
            hash.as_bytes().to_vec(),
            sp_io::hashing::twox_64(&datanet.encode()).to_vec(),
            datanet.encode(),
        ]
        .concat();
        assert_eq!(hash_of_announcement_key(&key), Some(hash));
        assert_eq!(datanet_of_announcement_key(&key), Some(datanet));
        assert_eq!(hash_of_announcement_key(&key[..60]), None);
        assert_eq!(datanet_of_announcement_key(&key[..90]), None);
    }
}
