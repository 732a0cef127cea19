//! The node's content store for datanet blobs, and the chain view its RPC checks uploads against:
//! only bytes announced on chain (by a pending, approved or published contribution of the same
//! size) are stored, so storage is always paid for by a bond.

use std::sync::Arc;

use attribution_content_store::{
    rpc::{ChainError, ChainView, Manifest},
    BlobStore,
};
use attribution_primitives::{
    datanets::{Announcement, DatanetsApi, MAX_PAGE_LEN},
    DatanetId, Hash, VersionIndex,
};
use attribution_runtime::opaque::Block;
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
    fn max_upload_bytes(&self) -> Result<u64, ChainError> {
        let best = self.client.info().best_hash;
        self.client
            .runtime_api()
            .max_contribution_bytes(best)
            .map_err(chain_error)
    }

    fn announced(&self, content_hash: Hash, size: u64) -> Result<Option<Announcement>, ChainError> {
        let best = self.client.info().best_hash;
        self.client
            .runtime_api()
            .announced(best, content_hash, size)
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

/// Opens (creating if needed) the blob store under the node's chain directory.
pub fn open_store(chain_dir: &std::path::Path) -> std::io::Result<Arc<BlobStore>> {
    BlobStore::open(chain_dir.join("content-store")).map(Arc::new)
}
