//! Interfaces through which the pallets use one another.
//!
//! Each pallet names what it needs from another as one of these traits in its `Config`; the
//! runtime wires the real pallets in, and each pallet's mock wires a small stand-in, so every pallet
//! can be built and tested on its own.

use crate::{ContributionId, DatanetId, Hash, ModelId, VersionIndex};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::{DispatchError, DispatchResult};

/// A published, immutable version of a datanet as other pallets see it.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct VersionSummary {
    /// Binary Merkle root over the approved contribution hashes of the version.
    pub merkle_root: Hash,
    /// Number of contributions in the version.
    pub contributions: u32,
    /// Sum of the contributions' weights: the points of the version's reward pool.
    pub total_weight: u128,
}

/// A contribution that is part of a published version.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct VersionMember<AccountId> {
    /// Who contributed it (and is paid for it).
    pub contributor: AccountId,
    /// Its weight in the version (its size in bytes, for now).
    pub weight: u128,
}

/// What pallet-datanets answers to other pallets.
pub trait DatanetsInspect<AccountId> {
    /// The summary of a published version, `None` if it does not exist.
    fn version(datanet: DatanetId, version: VersionIndex) -> Option<VersionSummary>;
    /// The contribution if it belongs to the given published version, `None` otherwise.
    fn member(
        datanet: DatanetId,
        version: VersionIndex,
        contribution: ContributionId,
    ) -> Option<VersionMember<AccountId>>;
    /// The sum of the weights of `who`'s contributions in a published version (0 if none):
    /// `who`'s points in that version's reward pool.
    fn points(datanet: DatanetId, version: VersionIndex, who: &AccountId) -> u128;
}

/// The reward pool of one published datanet version.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct PoolId {
    pub datanet: DatanetId,
    pub version: VersionIndex,
}

/// Where a direct reward comes from, so payouts can be shown by source.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum RewardSource {
    /// Data contributed to a datanet.
    Data,
    /// A model owned.
    Model,
    /// Compute provided (training or inference).
    Compute,
}

/// How other pallets pay rewards through pallet-rewards. Both calls move `amount` out of `payer`
/// at once and make it claimable; they are O(1) whatever the number of pool members.
pub trait RewardsCredit<AccountId, Balance> {
    /// Shares `amount` among the members of `pool` by their points.
    fn credit_pool(payer: &AccountId, pool: PoolId, amount: Balance) -> DispatchResult;
    /// Makes `amount` claimable by `who`.
    fn credit_account(
        payer: &AccountId,
        who: &AccountId,
        source: RewardSource,
        amount: Balance,
    ) -> DispatchResult;
}

/// A model that may serve paid inference, with the lineage fee splitting needs.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct ServingModel<AccountId> {
    /// Who receives the model owner's share of fees.
    pub owner: AccountId,
    /// The datanet version it was trained on, if any (base models have none).
    pub trained_on: Option<PoolId>,
}

/// What pallet-models answers to other pallets.
pub trait ModelsInspect<AccountId> {
    /// The model if it is `Active`, `None` otherwise.
    fn serving_model(model: ModelId) -> Option<ServingModel<AccountId>>;
    /// The weights hash of a registered base model, `None` if it is not a registered base model.
    fn base_weights_hash(model: ModelId) -> Option<Hash>;
}

/// What pallet-compute answers to other pallets.
pub trait OperatorsInspect<AccountId> {
    /// The worker signing key (sr25519 public key) of a registered operator.
    fn worker_key(operator: &AccountId) -> Option<sp_core::sr25519::Public>;
    /// A registered operator's advertised inference price per token; `None` when it may not
    /// settle paid inference (not registered, or its stake was slashed below the minimum).
    fn inference_price(operator: &AccountId) -> Option<crate::Balance>;
}

/// The operators' juror pool, kept by pallet-compute, lent to disputes other pallets resolve
/// (attribution challenges): the same stake-weighted draw, the same duty (a juror cannot
/// deregister while seated) and the same absence slash as training challenges, so there is one
/// jury and one set of stakes at risk.
pub trait JurorPool<AccountId> {
    /// Draws at most the runtime's jury size of operators, stake-weighted without replacement,
    /// none of them in `exclude`. Round `r` picks from `blake2_256(seed ++ SCALE(r))`. Each juror
    /// drawn is seated until [`JurorPool::release`].
    fn draw(seed: &[u8], exclude: &[AccountId]) -> alloc::vec::Vec<AccountId>;
    /// Ends one seat of `juror`.
    fn release(juror: &AccountId);
    /// Slashes the absence share of `juror`'s stake to the treasury and takes it out of the
    /// pool; returns the amount slashed.
    fn punish_absence(juror: &AccountId) -> Result<crate::Balance, DispatchError>;
    /// `operator`'s stake (0 if it is not registered).
    fn stake(operator: &AccountId) -> crate::Balance;
    /// Moves up to `amount` of `operator`'s stake to `to`'s free balance; returns what moved.
    fn slash(
        operator: &AccountId,
        amount: crate::Balance,
        to: &AccountId,
    ) -> Result<crate::Balance, DispatchError>;
    /// Blocks a jury has to vote once drawn.
    fn vote_period() -> crate::BlockNumber;
}
