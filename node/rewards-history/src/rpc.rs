//! `rewards_pending` and `rewards_history` over JSON-RPC.

use crate::{HistoryPage, RewardsHistory, MAX_PAGE};
use attribution_primitives::{rewards::PendingRewards, AccountId, Balance, BlockNumber};
use jsonrpsee::{core::RpcResult, proc_macros::rpc, types::ErrorObjectOwned};
use std::sync::Arc;

/// Answers what an account can claim now; the node implements it with the `RewardsApi` runtime
/// API at the best block.
pub trait PendingSource: Send + Sync + 'static {
    fn pending(&self, who: &AccountId) -> Result<PendingRewards<Balance>, String>;
}

/// Payout queries for dApps.
#[rpc(server, namespace = "rewards")]
pub trait RewardsHistoryApi {
    /// `account`'s direct credits it can claim now, by source (decimal strings of planck).
    #[method(name = "pending")]
    fn pending(&self, account: AccountId) -> RpcResult<Pending>;

    /// `account`'s credits and claims from block `from` (and event index `from_index`, default 0)
    /// on, oldest first, at most `limit` (at most 1,000).
    #[method(name = "history")]
    fn history(
        &self,
        account: AccountId,
        from: BlockNumber,
        limit: u32,
        from_index: Option<u32>,
    ) -> RpcResult<HistoryPage>;
}

/// What `rewards_pending` answers: `{ data, model, compute }` as decimal strings.
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Pending(#[serde(with = "crate::amount::by_source")] pub PendingRewards<Balance>);

/// The server side of [`RewardsHistoryApiServer`].
pub struct RewardsHistoryRpc<P> {
    history: Arc<RewardsHistory>,
    pending: P,
}

impl<P: PendingSource> RewardsHistoryRpc<P> {
    pub fn new(history: Arc<RewardsHistory>, pending: P) -> Self {
        Self { history, pending }
    }
}

/// JSON-RPC error codes of these methods.
pub mod error_code {
    /// The runtime API call failed.
    pub const RUNTIME: i32 = 9001;
    /// The history store failed.
    pub const STORE: i32 = 9002;
    /// `limit` is 0 or above the maximum page.
    pub const BAD_LIMIT: i32 = 9003;
}

fn error(code: i32, message: impl ToString) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.to_string(), None::<()>)
}

impl<P: PendingSource> RewardsHistoryApiServer for RewardsHistoryRpc<P> {
    fn pending(&self, account: AccountId) -> RpcResult<Pending> {
        self.pending
            .pending(&account)
            .map(Pending)
            .map_err(|e| error(error_code::RUNTIME, e))
    }

    fn history(
        &self,
        account: AccountId,
        from: BlockNumber,
        limit: u32,
        from_index: Option<u32>,
    ) -> RpcResult<HistoryPage> {
        if limit == 0 || limit > MAX_PAGE {
            return Err(error(
                error_code::BAD_LIMIT,
                format!("limit must be between 1 and {MAX_PAGE}"),
            ));
        }
        self.history
            .history(&account, (from, from_index.unwrap_or(0)), limit)
            .map_err(|e| error(error_code::STORE, e))
    }
}
