//! Datanets as everyone outside pallet-datanets sees them: the records it stores, what its runtime
//! API answers, and the [`DatanetsApi`] declaration itself.
//!
//! The node's content store uses [`DatanetsApi::announced`] to accept only bytes a contribution
//! pays for, and [`DatanetsApi::version_manifest`] to serve a version's manifest; the worker
//! fetches the manifest's blobs and checks them against its Merkle root with [`crate::merkle`].

use crate::{AccountId, Balance, BlockNumber, ContributionId, DatanetId, Hash, VersionIndex};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::ConstU32;
use sp_runtime::BoundedVec;

/// One mebibyte.
pub const MIB: u64 = 1024 * 1024;
/// Default largest contribution: 5 MiB.
pub const DEFAULT_MAX_CONTRIBUTION_BYTES: u64 = 5 * MIB;
/// Default bytes one account may announce to one datanet per day: 10 MiB.
pub const DEFAULT_DAILY_BYTES: u64 = 10 * MIB;
/// Default contributions one account may announce to one datanet per day.
pub const DEFAULT_DAILY_FILES: u32 = 20;

/// Longest datanet name, in bytes (UTF-8).
pub const MAX_NAME_LEN: u32 = 64;
/// Longest datanet description, in bytes (UTF-8).
pub const MAX_DESCRIPTION_LEN: u32 = 1024;
/// Longest license tag (an SPDX identifier such as `CC-BY-4.0`), in bytes.
pub const MAX_LICENSE_LEN: u32 = 64;
/// Longest contribution metadata, in bytes (free-form, e.g. a small JSON object).
pub const MAX_METADATA_LEN: u32 = 256;
/// Most curators a datanet may have besides its owner.
pub const MAX_CURATORS: u32 = 16;
/// Most entries one page of a runtime API answer holds; larger requests are cut to this.
pub const MAX_PAGE_LEN: u32 = 256;

pub type DatanetName = BoundedVec<u8, ConstU32<MAX_NAME_LEN>>;
pub type DatanetDescription = BoundedVec<u8, ConstU32<MAX_DESCRIPTION_LEN>>;
pub type LicenseTag = BoundedVec<u8, ConstU32<MAX_LICENSE_LEN>>;
pub type ContributionMetadata = BoundedVec<u8, ConstU32<MAX_METADATA_LEN>>;
pub type Curators<AccountId> = BoundedVec<AccountId, ConstU32<MAX_CURATORS>>;

/// What a datanet's contributions hold.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum DataKind {
    /// UTF-8 JSONL: every non-empty line an object with string `prompt` and `completion`, or a
    /// string `text`. The node's content store checks every row on upload.
    Text,
    /// Images (declared; the content store checks only hash and size).
    Image,
    /// Audio (declared; the content store checks only hash and size).
    Audio,
}

/// The rules a datanet's contributions follow, fixed when it is created.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct DatanetRules<Balance> {
    /// Largest contribution, in bytes.
    pub max_contribution_bytes: u64,
    /// Bytes one account may announce per day.
    pub daily_bytes: u64,
    /// Contributions one account may announce per day.
    pub daily_files: u32,
    /// OPEN held from the contributor while a contribution is pending.
    pub bond: Balance,
}

/// The rules a creator may set; `None` takes the default.
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
pub struct RuleOverrides<Balance> {
    /// Largest contribution in bytes; default [`DEFAULT_MAX_CONTRIBUTION_BYTES`].
    pub max_contribution_bytes: Option<u64>,
    /// Bytes per account per day; default [`DEFAULT_DAILY_BYTES`].
    pub daily_bytes: Option<u64>,
    /// Contributions per account per day; default [`DEFAULT_DAILY_FILES`].
    pub daily_files: Option<u32>,
    /// Bond per contribution; default pallet-datanets' `MinContributionBond`.
    pub bond: Option<Balance>,
}

/// A datanet.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct DatanetInfo<AccountId, Balance, BlockNumber> {
    /// Who created it: manages curators, curates and publishes versions.
    pub owner: AccountId,
    /// Human-readable name (UTF-8).
    pub name: DatanetName,
    /// What it is for (UTF-8).
    pub description: DatanetDescription,
    /// What its contributions hold.
    pub kind: DataKind,
    /// Its contribution rules.
    pub rules: DatanetRules<Balance>,
    /// Accounts besides the owner that may approve and reject.
    pub curators: Curators<AccountId>,
    /// OPEN held from the owner for as long as the datanet exists.
    pub deposit: Balance,
    /// Block in which it was created.
    pub created_at: BlockNumber,
    /// Contributions ever announced to it; also the position the next one gets.
    pub announced: u32,
    /// Contributions announced and not yet curated.
    pub pending: u32,
    /// Approved contributions waiting for the next version.
    pub approved_unpublished: u32,
    /// Versions published so far; the latest is number `versions` (versions count from 1).
    pub versions: VersionIndex,
}

/// Where a contribution is in its life. A rejected contribution is removed, so its hash may be
/// announced again.
///
/// ```text
/// Pending ──approve──▶ Approved ──publish_version──▶ Published(N)
///    └──reject──▶ (removed; bond released, or slashed when spam)
/// ```
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum ContributionStatus {
    /// Announced; its bond is held.
    Pending,
    /// Approved; it will be part of the datanet's next version.
    Approved,
    /// Part of this published version, for good.
    Published(VersionIndex),
}

/// A contribution: a blob announced on chain, whose bytes live in content stores.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct ContributionInfo<AccountId, Balance, BlockNumber> {
    /// The datanet it belongs to.
    pub datanet: DatanetId,
    /// Its position among the datanet's announcements (paging key of [`DatanetsApi::contributions`]).
    pub position: u32,
    /// Who announced it (and is paid for it).
    pub contributor: AccountId,
    /// blake2-256 of its bytes.
    pub content_hash: Hash,
    /// Its length in bytes.
    pub size: u64,
    /// Its license (an SPDX identifier).
    pub license: LicenseTag,
    /// Small free-form metadata.
    pub metadata: ContributionMetadata,
    /// OPEN held while pending; zero once curated.
    pub bond: Balance,
    /// Where it is.
    pub status: ContributionStatus,
    /// Block in which it was announced.
    pub announced_at: BlockNumber,
}

impl<AccountId, Balance, BlockNumber> ContributionInfo<AccountId, Balance, BlockNumber> {
    /// Its weight once approved: its size in bytes, for now.
    pub fn weight(&self) -> u128 {
        u128::from(self.size)
    }
}

/// A published, immutable version of a datanet.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct VersionInfo<BlockNumber> {
    /// [`crate::merkle::root`] over the content hashes of its contributions, in manifest order.
    pub merkle_root: Hash,
    /// Number of contributions.
    pub contributions: u32,
    /// Sum of their weights: the points of the version's reward pool.
    pub total_weight: u128,
    /// Sum of their sizes, in bytes.
    pub total_bytes: u64,
    /// Block in which it was published.
    pub published_at: BlockNumber,
}

/// One contribution of a version's manifest. Its position in the manifest is its leaf index.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ManifestEntry {
    /// The contribution.
    pub contribution: ContributionId,
    /// blake2-256 of its bytes: the Merkle leaf.
    pub content_hash: Hash,
    /// Its length in bytes.
    pub size: u64,
}

/// A page of a version's manifest: entries `start .. start + entries.len()` of `total`.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ManifestPage {
    /// The version's Merkle root.
    pub merkle_root: Hash,
    /// Number of entries in the whole manifest.
    pub total: u32,
    /// Leaf index of the first entry of this page.
    pub start: u32,
    /// The entries, in leaf order.
    pub entries: Vec<ManifestEntry>,
}

/// A page of a datanet's contributions in announcement order.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct ContributionsPage<AccountId, Balance, BlockNumber> {
    /// The contributions at positions `start .. next` that still exist (rejected ones are gone).
    pub contributions: Vec<(
        ContributionId,
        ContributionInfo<AccountId, Balance, BlockNumber>,
    )>,
    /// The position to ask for next, `None` when this page reached the last announcement.
    pub next: Option<u32>,
}

/// What one account has contributed, over all datanets.
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
pub struct ContributorStats<Balance> {
    /// Contributions announced and not yet curated.
    pub pending: u32,
    /// Contributions approved (published or not).
    pub approved: u32,
    /// Contributions rejected without a slash.
    pub rejected: u32,
    /// Contributions rejected as spam, their bond slashed.
    pub slashed: u32,
    /// Bytes of the approved contributions: the account's total weight.
    pub approved_bytes: u64,
    /// OPEN held now for pending contributions.
    pub bond_held: Balance,
    /// OPEN slashed so far.
    pub bond_slashed: Balance,
}

/// A contribution that announces some bytes: what the content store needs to accept them.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Announcement {
    /// The announcing contribution.
    pub contribution: ContributionId,
    /// Its datanet.
    pub datanet: DatanetId,
    /// The datanet's data kind: text is validated row by row.
    pub kind: DataKind,
    /// The datanet's largest contribution.
    pub max_contribution_bytes: u64,
    /// The size the contribution announces; differs from the asked size only when no
    /// contribution announces the hash with that size.
    pub size: u64,
    /// Pending, approved or published.
    pub status: ContributionStatus,
}

/// A datanet as the runtime API returns it.
pub type Datanet = DatanetInfo<AccountId, Balance, BlockNumber>;
/// A contribution as the runtime API returns it.
pub type Contribution = ContributionInfo<AccountId, Balance, BlockNumber>;

sp_api::decl_runtime_apis! {
    /// Queries of datanets, contributions and versions. Pages are cut to [`MAX_PAGE_LEN`] entries.
    pub trait DatanetsApi {
        /// The datanet, `None` if there is none with this id.
        fn datanet(id: DatanetId) -> Option<Datanet>;
        /// A published version, `None` if it is not published.
        fn version(datanet: DatanetId, version: VersionIndex) -> Option<VersionInfo<BlockNumber>>;
        /// The datanet's contributions at positions `start .. start + limit`, in announcement order.
        fn contributions(
            datanet: DatanetId,
            start: u32,
            limit: u32,
        ) -> ContributionsPage<AccountId, Balance, BlockNumber>;
        /// What `who` has contributed over all datanets.
        fn contributor_stats(who: AccountId) -> ContributorStats<Balance>;
        /// A pending, approved or published contribution announcing this hash, in any datanet:
        /// one announcing `size` bytes if there is one, otherwise any (so a caller can tell a
        /// wrong size from an unannounced hash); `None` if no contribution announces the hash.
        fn announced(content_hash: Hash, size: u64) -> Option<Announcement>;
        /// The largest contribution any datanet may accept, in bytes: a content store refuses
        /// larger uploads before decoding them.
        fn max_contribution_bytes() -> u64;
        /// Entries `start .. start + limit` of a published version's manifest, `None` if the version
        /// is not published.
        fn version_manifest(
            datanet: DatanetId,
            version: VersionIndex,
            start: u32,
            limit: u32,
        ) -> Option<ManifestPage>;
    }
}
