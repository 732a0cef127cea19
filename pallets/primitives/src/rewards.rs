//! What dApps and wallets read from pallet-rewards: pending rewards by source, the state of a
//! datanet version's reward pool, and the runtime API that answers both.

use crate::traits::PoolId;
use alloc::vec::Vec;
use codec::{Codec, Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// Rewards credited directly to one account and not yet claimed, by source.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct PendingRewards<Balance> {
    /// Credited for data contributed (attribution of inference fees).
    pub data: Balance,
    /// Credited as the owner of a model that served inference.
    pub model: Balance,
    /// Credited for compute provided (inference or training).
    pub compute: Balance,
}

/// The reward pool of one datanet version.
///
/// The pool's reward counter is the exact fraction `credited / total_points`: a member with `p`
/// points is entitled to `floor(p * credited / total_points)` over the pool's whole life, and has
/// been paid `claimed` of it.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct RewardPool<Balance> {
    /// The version's total weight, read once when the pool was first credited (versions are
    /// immutable, so it never changes).
    pub total_points: u128,
    /// Everything ever credited to the pool.
    pub credited: Balance,
    /// Everything ever paid out of the pool to its members.
    pub claimed: Balance,
}

sp_api::decl_runtime_apis! {
    /// Rewards as dApps see them. Implemented by the runtime with pallet-rewards.
    pub trait RewardsApi<AccountId, Balance> where AccountId: Codec, Balance: Codec {
        /// Direct rewards `who` can claim now, by source.
        fn pending_rewards(who: AccountId) -> PendingRewards<Balance>;
        /// What `who` can claim now from each of `pools` (0 for pools they have no points in):
        /// the first [`MAX_PAGE_LEN`](crate::paging::MAX_PAGE_LEN) pools only.
        fn pending_pool_rewards(who: AccountId, pools: Vec<PoolId>) -> Vec<(PoolId, Balance)>;
        /// The state of a pool, `None` if it was never credited.
        fn pool(pool: PoolId) -> Option<RewardPool<Balance>>;
    }
}
