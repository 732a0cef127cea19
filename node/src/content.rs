//! The node's content store for datanet blobs and training artifacts, and the chain view its RPC
//! checks uploads against: only bytes announced on chain (by a pending, approved or published
//! contribution of the same size and weight, uploaded with its contributor's signature, a live
//! job's hyper-parameters hash, or a proven adapter's hash and size) are stored, so storage is
//! always paid for by a storage deposit or a budget. [`run_collector`] deletes the blobs of
//! rejected, withdrawn and expired contributions as their removal is finalized.

use std::sync::Arc;

use attribution_content_store::{
    artifacts::ArtifactsView,
    gc::{self, References},
    rpc::{max_request_bytes, ChainError, ChainView, Manifest},
    BlobStore,
};
use attribution_primitives::{
    compute::ComputeApi,
    datanets::{Announcement, DatanetsApi, MAX_PAGE_LEN},
    models::{ModelsApi, ProvenAdapter, MAX_ADAPTER_BYTES},
    AccountId, DatanetId, Hash, JobId, VersionIndex,
};
use attribution_runtime::{opaque::Block, RuntimeEvent};
use codec::Decode;
use futures::StreamExt;
use sc_client_api::{BlockchainEvents, StorageProvider};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;

/// Answers the content store's questions with the `DatanetsApi` runtime API at the best block.
pub struct RuntimeChainView<C> {
    client: Arc<C>,
}

impl<C> RuntimeChainView<C> {
    pub fn new(client: Arc<C>) -> Self {
        Self { client }
    }
}

fn chain_error(error: impl std::fmt::Display) -> ChainError {
    ChainError(error.to_string())
}

impl<C> ChainView for RuntimeChainView<C>
where
    C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
    C::Api: DatanetsApi<Block>,
{
    fn genesis_hash(&self) -> Hash {
        self.client.info().genesis_hash
    }

    fn max_upload_bytes(&self) -> Result<u64, ChainError> {
        let best = self.client.info().best_hash;
        self.client
            .runtime_api()
            .max_contribution_bytes(best)
            .map_err(chain_error)
    }

    fn announced(
        &self,
        content_hash: Hash,
        datanet: DatanetId,
    ) -> Result<Option<Announcement<AccountId>>, ChainError> {
        let best = self.client.info().best_hash;
        self.client
            .runtime_api()
            .announced(best, content_hash, datanet)
            .map_err(chain_error)
    }

    fn manifest(
        &self,
        datanet: DatanetId,
        version: VersionIndex,
    ) -> Result<Option<Manifest>, ChainError> {
        // Read every page at one block, so a manifest is never stitched from two states.
        let best = self.client.info().best_hash;
        let api = self.client.runtime_api();
        let mut entries = Vec::new();
        loop {
            let start = u32::try_from(entries.len()).map_err(chain_error)?;
            let Some(page) = api
                .version_manifest(best, datanet, version, start, MAX_PAGE_LEN)
                .map_err(chain_error)?
            else {
                return Ok(None);
            };
            let done = page.entries.is_empty()
                || start.saturating_add(page.entries.len() as u32) >= page.total;
            entries.extend(page.entries);
            if done {
                return Ok(Some(Manifest {
                    merkle_root: page.merkle_root,
                    entries,
                }));
            }
        }
    }
}

impl<C> ArtifactsView for RuntimeChainView<C>
where
    C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
    C::Api: ComputeApi<Block> + ModelsApi<Block>,
{
    fn hyperparameters_job(&self, hash: Hash) -> Result<Option<JobId>, ChainError> {
        let best = self.client.info().best_hash;
        self.client
            .runtime_api()
            .hyperparameters_job(best, hash)
            .map_err(chain_error)
    }

    fn proven_adapter(&self, hash: Hash) -> Result<Option<ProvenAdapter>, ChainError> {
        let best = self.client.info().best_hash;
        self.client
            .runtime_api()
            .proven_adapter(best, hash)
            .map_err(chain_error)
    }
}

/// Whether anything references a hash at one finalized block: a contribution of any datanet,
/// a live job's hyper-parameters file or a proven adapter (they share the store).
struct ReferencesAt<'a, C> {
    client: &'a C,
    at: Hash,
}

impl<C> References for ReferencesAt<'_, C>
where
    C: ProvideRuntimeApi<Block>,
    C::Api: DatanetsApi<Block> + ComputeApi<Block> + ModelsApi<Block>,
{
    fn referenced(&self, hash: Hash) -> Result<bool, ChainError> {
        let api = self.client.runtime_api();
        Ok(api.is_announced(self.at, hash).map_err(chain_error)?
            || api
                .hyperparameters_job(self.at, hash)
                .map_err(chain_error)?
                .is_some()
            || api
                .proven_adapter(self.at, hash)
                .map_err(chain_error)?
                .is_some())
    }
}

/// The content hashes of the contributions a block's events removed (rejected, withdrawn,
/// expired): blobs that may no longer be paid for.
fn released_hashes<C, B>(client: &C, block: Hash) -> Result<Vec<Hash>, String>
where
    C: StorageProvider<Block, B>,
    B: sc_client_api::Backend<Block>,
{
    use pallet_datanets::Event;
    let key = sp_core::storage::StorageKey(crate::payouts::events_key());
    let Some(data) = client.storage(block, &key).map_err(|e| e.to_string())? else {
        return Ok(Vec::new());
    };
    let records = crate::payouts::EventRecords::decode(&mut &data.0[..])
        .map_err(|e| format!("undecodable events: {e}"))?;
    Ok(records
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Datanets(
                Event::Rejected { content_hash, .. }
                | Event::Withdrawn { content_hash, .. }
                | Event::Expired { content_hash, .. },
            ) => Some(content_hash),
            _ => None,
        })
        .collect())
}

/// Deletes, for as long as the node runs, the blobs whose contributions finalized blocks remove
/// (once nothing else references their hash at that block). Blocks finalized while the node was
/// down are not revisited: their blobs stay until deleted by hand (`docs/security.md`).
pub async fn run_collector<C, B>(client: Arc<C>, store: Arc<BlobStore>)
where
    C: ProvideRuntimeApi<Block>
        + StorageProvider<Block, B>
        + BlockchainEvents<Block>
        + Send
        + Sync
        + 'static,
    C::Api: DatanetsApi<Block> + ComputeApi<Block> + ModelsApi<Block>,
    B: sc_client_api::Backend<Block>,
{
    let mut finalized = client.finality_notification_stream();
    while let Some(notification) = finalized.next().await {
        // Every block this notification finalizes, oldest first.
        let blocks = notification
            .tree_route
            .iter()
            .copied()
            .chain(std::iter::once(notification.hash));
        for block in blocks {
            let released = match released_hashes(&*client, block) {
                Ok(released) if released.is_empty() => continue,
                Ok(released) => released,
                Err(error) => {
                    log::warn!(target: "content-store", "reading the events of {block}: {error}");
                    continue;
                }
            };
            let references = ReferencesAt {
                client: &*client,
                at: block,
            };
            match gc::collect(&store, &references, released) {
                Ok(deleted) => {
                    for hash in deleted {
                        log::info!(target: "content-store", "deleted blob {hash:?}, released in {block}");
                    }
                }
                Err(error) => {
                    log::warn!(target: "content-store", "collecting the blobs released in {block}: {error}")
                }
            }
        }
    }
}

/// The RPC request and response caps, in MiB (what `--rpc-max-request-size` and
/// `--rpc-max-response-size` take), that let the largest adapter through as hex both ways.
pub fn min_rpc_payload_mib() -> u32 {
    const MIB: u64 = 1024 * 1024;
    let bytes = max_request_bytes(MAX_ADAPTER_BYTES);
    u32::try_from(bytes.div_ceil(MIB)).unwrap_or(u32::MAX)
}

/// Raises the RPC servers' request and response caps to [`min_rpc_payload_mib`] where they are
/// lower (sc-cli's default is 15 MiB), so `artifacts_upload` and `artifacts_get` of the largest
/// adapter are not cut off by the server. Larger caps set on the command line stay.
pub fn fit_rpc_caps(rpc: &mut sc_service::config::RpcConfiguration) {
    let min = min_rpc_payload_mib();
    rpc.max_request_size = rpc.max_request_size.max(min);
    rpc.max_response_size = rpc.max_response_size.max(min);
    for endpoint in rpc.addr.iter_mut().flatten() {
        endpoint.max_payload_in_mb = endpoint.max_payload_in_mb.max(min);
        endpoint.max_payload_out_mb = endpoint.max_payload_out_mb.max(min);
    }
}

/// Opens (creating if needed) the blob store under the node's chain directory.
pub fn open_store(chain_dir: &std::path::Path) -> std::io::Result<Arc<BlobStore>> {
    BlobStore::open(chain_dir.join("content-store")).map(Arc::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_caps_fit_the_largest_adapter_as_hex() {
        let min = u64::from(min_rpc_payload_mib()) * 1024 * 1024;
        assert!(min >= 2 * MAX_ADAPTER_BYTES + 2 + 1024);
        assert!(min < 2 * MAX_ADAPTER_BYTES + 2 * 1024 * 1024);
    }
}
