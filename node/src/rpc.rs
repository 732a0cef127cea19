//! The node's RPC methods beyond the standard ones sc-service provides (system, chain, state,
//! author): account nonces, transaction fees, datanet blobs (`datanets_upload`, `datanets_get`,
//! `datanets_version`), training artifacts (`artifacts_upload`, `artifacts_get`) and payouts
//! (`rewards_pending`, `rewards_history`).

use std::sync::Arc;

use attribution_content_store::{
    artifacts::{Artifacts, ArtifactsRpcServer},
    rpc::{Datanets, DatanetsRpcServer},
    uploads::UploadSlots,
    BlobStore,
};
use attribution_primitives::{
    compute::ComputeApi, datanets::DatanetsApi, models::ModelsApi, rewards::RewardsApi,
};
use attribution_rewards_history::{
    rpc::{RewardsHistoryApiServer, RewardsHistoryRpc},
    RewardsHistory,
};
use attribution_runtime::{opaque::Block, AccountId, Balance, Nonce};
use jsonrpsee::RpcModule;
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};

/// What the RPC methods need from the node.
pub struct FullDeps<C, P> {
    /// The client, to read the chain and call runtime APIs.
    pub client: Arc<C>,
    /// The transaction pool.
    pub pool: Arc<P>,
    /// Datanet blobs uploaded to this node.
    pub content_store: Arc<BlobStore>,
    /// Fetches a blob this node lacks from its peers, for `datanets_get`.
    pub remote_blobs: crate::availability::RemoteHandle,
    /// Indexed payout history.
    pub rewards_history: Arc<RewardsHistory>,
}

/// All custom RPC methods of a full node.
pub fn create_full<C, P>(
    deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
    C: ProvideRuntimeApi<Block>
        + HeaderBackend<Block>
        + HeaderMetadata<Block, Error = BlockChainError>
        + Send
        + Sync
        + 'static,
    C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>,
    C::Api: pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>,
    C::Api: BlockBuilder<Block>,
    C::Api: DatanetsApi<Block>,
    C::Api: ComputeApi<Block>,
    C::Api: ModelsApi<Block>,
    C::Api: RewardsApi<Block, AccountId, Balance>,
    P: TransactionPool + 'static,
{
    use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
    use substrate_frame_rpc_system::{System, SystemApiServer};

    let FullDeps {
        client,
        pool,
        content_store,
        remote_blobs,
        rewards_history,
    } = deps;
    let mut module = RpcModule::new(());
    module.merge(System::new(client.clone(), pool).into_rpc())?;
    module.merge(TransactionPayment::new(client.clone()).into_rpc())?;
    // One cap on uploads at once, over both upload methods.
    let uploads = UploadSlots::default();
    let chain_view = crate::content::RuntimeChainView::new(client.clone());
    module.merge(
        Datanets::new(content_store.clone(), chain_view)
            .with_remote(remote_blobs)
            .with_upload_slots(uploads.clone())
            .into_rpc(),
    )?;
    let artifacts_view = crate::content::RuntimeChainView::new(client.clone());
    module.merge(
        Artifacts::new(content_store, artifacts_view)
            .with_upload_slots(uploads)
            .into_rpc(),
    )?;
    let pending = crate::payouts::RuntimePending::new(client);
    module.merge(RewardsHistoryRpc::new(rewards_history, pending).into_rpc())?;
    Ok(module)
}
