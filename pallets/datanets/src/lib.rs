//! # Datanets
//!
//! Curated, versioned datasets. An owner creates a datanet with its rules; contributors announce
//! blobs (content hash, size, license) with a bond and upload the bytes to a node's content store;
//! the owner and curators approve or reject them; the owner publishes **versions**: immutable sets
//! of approved contributions committed to by a binary Merkle root. Models are trained on a version,
//! and a version is the reward pool its contributors are paid from.
//!
//! ## Index
//!
//! * [Key terms](#key-terms)
//! * [Usage](#usage)
//! * [Implementor's guide](#implementors-guide)
//! * [Design](#design)
//!
//! ## Key terms
//!
//! * datanet: a dataset with an owner, a [`DataKind`], [`DatanetRules`] and curators. See
//!   [`DatanetInfo`] and [`Datanets`].
//! * contribution: one announced blob, identified by a global [`ContributionId`]. Its bytes live
//!   off chain; the chain holds its blake2-256 hash and size. See [`ContributionInfo`] and
//!   [`Contributions`].
//! * bond: OPEN held from the contributor while a contribution is pending
//!   ([`HoldReason::ContributionBond`]); returned on approval, plain rejection, withdrawal or
//!   expiry, slashed to [`Config::Treasury`] on rejection as spam. At most [`Config::MaxBond`].
//! * storage deposit: OPEN held from the contributor per announced byte
//!   ([`Config::StorageDepositPerByte`], [`HoldReason::StorageDeposit`]) for as long as the
//!   contribution exists, i.e. for as long as nodes keep its blob: returned when it is rejected,
//!   withdrawn or expires (and nodes delete the blob), kept while it is approved or published.
//! * deposit: OPEN held from the owner until the datanet is closed
//!   ([`HoldReason::DatanetDeposit`], [`Config::DatanetDeposit`]).
//! * weight: what an approved contribution counts for in its version's reward pool: its
//!   [`measure::weight`](attribution_primitives::datanets::measure::weight), the distinct rows'
//!   distinct 3-byte windows, which padding cannot inflate. Declared with the announcement; every
//!   node recomputes it from the bytes and refuses an upload whose declaration is wrong, so a
//!   wrong declaration leaves a blob nobody stores and a curator cannot approve.
//! * owner share: the part of a version's weight contributed by the datanet's owner, at most
//!   [`Config::MaxOwnerShare`] (checked at every approval of an owner's contribution).
//! * version: the approved contributions frozen together by [`Call::publish_version`], numbered
//!   from 1. See [`VersionInfo`], [`Versions`] and the manifest in [`Manifests`].
//! * points: the summed weights of one account's contributions in one version ([`Points`]).
//! * day: `block_number / Config::BlocksPerDay`; the daily limits count per account, per datanet,
//!   per day.
//!
//! ## Usage
//!
//! ### Create a datanet
//!
//! [`Call::create_datanet`] holds [`Config::DatanetDeposit`] from the caller, who becomes the
//! owner. Each rule in [`RuleOverrides`] left `None` takes its default: 5 MiB per contribution,
//! 10 MiB and 20 contributions per account per day, and a bond of [`Config::MinContributionBond`].
//!
//! ### Manage curators
//!
//! [`Call::add_curator`] and [`Call::remove_curator`], by the owner only, at most
//! [`MAX_CURATORS`] curators.
//!
//! ### Contribute
//!
//! [`Call::contribute`] announces a blob: its hash, size, measured weight, license tag and small
//! metadata. It holds the datanet's bond and the storage deposit, and counts against the caller's
//! daily limits and the pending-bytes quotas of the caller ([`Config::MaxPendingBytesPerAccount`])
//! and of the datanet ([`Config::MaxPendingBytesPerDatanet`]). A hash already announced to the
//! same datanet (pending, approved or published) is refused. The bytes are uploaded to a node
//! afterwards with the contributor's signature
//! ([`UploadAuthorization`](attribution_primitives::datanets::UploadAuthorization)); nodes store
//! only announced bytes, and only for the account that announced them.
//!
//! ### Curate
//!
//! [`Call::approve`] (owner or curator) returns the bond and queues the contribution for the next
//! version; approving one of the owner's own contributions is flagged (`by_owner`) and refused
//! past [`Config::MaxOwnerShare`] of the queued weight. [`Call::reject`] returns the bond, or with
//! `spam: true` moves it to the treasury, returns the storage deposit and removes the
//! contribution, so its hash may be announced again.
//!
//! ### Withdraw, expire
//!
//! [`Call::withdraw`]: the contributor takes back a pending contribution. [`Call::expire`]: anyone
//! removes a contribution left pending for [`Config::PendingTimeout`] blocks. Both return the bond
//! and the storage deposit; nodes delete the blob.
//!
//! ### Close a datanet
//!
//! [`Call::close_datanet`] (owner), once nothing is pending or waiting for a version, returns the
//! deposit; published versions stay, and no contribution is accepted any more.
//!
//! ### Publish a version
//!
//! [`Call::publish_version`] (owner) freezes the queued approved contributions, in approval order,
//! as the next version: stores its manifest, Merkle root, totals and every contributor's points.
//!
//! ## Implementor's guide
//!
//! * Other pallets read published versions through [`DatanetsInspect`], implemented by [`Pallet`].
//! * The runtime answers [`DatanetsApi`](attribution_primitives::datanets::DatanetsApi) with
//!   [`Pallet::datanet_info`], [`Pallet::version_info`], [`Pallet::contributions_page`],
//!   [`Pallet::contributor_stats`], [`Pallet::announcement`], [`Pallet::max_contribution_bytes`] and
//!   [`Pallet::manifest_page`].
//! * A version's Merkle root is [`attribution_primitives::merkle::root`] over its manifest's content
//!   hashes in manifest order; a worker that fetched every blob recomputes it to check the dataset.
//! * Announce first, upload second: a node's content store refuses bytes until a pending, approved
//!   or published contribution of the named datanet announces exactly that hash, size and weight,
//!   and the upload carries its contributor's signature.
//! * Nodes follow finalized [`Event::Rejected`], [`Event::Withdrawn`] and [`Event::Expired`] and
//!   delete the blob once [`Pallet::is_announced`] says nothing announces its hash any more.
//! * Money uses `fungible` holds on the contributor's and owner's own accounts (no pallet account).
//!
//! ## Design
//!
//! ### Goals
//!
//! * Every call but [`Call::publish_version`] is O(1); publishing is O(n) in the contributions it
//!   freezes, at most [`Config::MaxContributionsPerVersion`], and weighed by n.
//! * Reading a version for rewards is O(1): [`Points`] is filled once at publish, so
//!   [`DatanetsInspect::points`] is one read however large the version.
//! * Published versions never change; storage is bounded everywhere (`MaxEncodedLen`).
//! * Nothing is left behind: a rejected, withdrawn or expired contribution is removed with both
//!   its index entries. The one entry kept per (datanet, contributor) is [`Usage`], a fixed-size
//!   record overwritten day after day.
//! * Nobody's power is unbounded: contributors get their bond back if curators stay silent
//!   ([`Call::expire`]), owners get their deposit back ([`Call::close_datanet`]), rules are capped
//!   by [`Config::MaxDailyBytes`], [`Config::MaxDailyFiles`] and [`Config::MaxBond`], and what
//!   anyone can make nodes store is paid by a deposit and bounded by the pending-bytes quotas.
//!
//! ### Invariants (checked by `do_try_state`)
//!
//! * Per account, OPEN held for [`HoldReason::ContributionBond`] equals the bonds of its pending
//!   contributions, equals its stats' `bond_held`; held for [`HoldReason::StorageDeposit`] equals
//!   the deposits of its contributions, equals its stats' `deposit_held`; held for
//!   [`HoldReason::DatanetDeposit`] equals the deposits of the datanets it owns (zero once closed).
//! * Per account and per datanet, `pending_bytes` equals the summed sizes of the pending
//!   contributions and is within its quota; a datanet's `unpublished_weight` and
//!   `owner_unpublished_weight` are the summed weights of its queued contributions (all, and the
//!   owner's); a closed datanet has nothing pending or queued.
//! * Every contribution is indexed exactly once by hash ([`ContributionByHash`]) and by position
//!   ([`ContributionByPosition`]), and vice versa; a datanet's `pending` and
//!   `approved_unpublished` counters match its contributions, and [`Unpublished`] holds exactly its
//!   approved, unpublished ones.
//! * Version `v` of a datanet exists for every `1 ..= versions`; its manifest lists exactly the
//!   contributions `Published(v)`; its count, total bytes and total weight are the manifest's; its
//!   root is the Merkle root of the manifest's hashes; its points sum to its total weight.
//!
//! ### Arithmetic
//!
//! ```text
//! day(now)         = now / BlocksPerDay                (BlocksPerDay = 0 counts everything as day 0)
//! usage(day)       = reset to 0 when the stored day differs from day(now)
//! contribute ok    ⇔ usage.bytes + size ≤ daily_bytes  ∧  usage.files + 1 ≤ daily_files
//!                    ∧ pending_bytes(account) + size ≤ MaxPendingBytesPerAccount
//!                    ∧ pending_bytes(datanet) + size ≤ MaxPendingBytesPerDatanet
//!                    ∧ 0 < weight ≤ size
//! storage deposit  = size × StorageDepositPerByte
//! weight(c)        = measure::weight(bytes of c)   (declared, checked by nodes at upload)
//! owner approve ok ⇔ owner_queued + w ≤ MaxOwnerShare × (queued + w)
//! expire ok        ⇔ now ≥ announced_at + PendingTimeout
//! total_weight(v)  = Σ weight(c) for c in v    = Σ points(v, a) over accounts a
//! ```
//! Counters use checked arithmetic and fail with [`Error::Overflow`]; sizes are `u64`, weights
//! `u128`, so sums of at most `u32::MAX` sizes cannot overflow.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
mod queries;
#[cfg(test)]
mod tests;
#[cfg(any(feature = "try-runtime", test))]
mod try_state;
pub mod weights;

pub use attribution_primitives::{
    datanets::{
        Announcement, ContributionInfo, ContributionMetadata, ContributionStatus,
        ContributionsPage, ContributorStats, DataKind, DatanetDescription, DatanetInfo,
        DatanetName, DatanetRules, LicenseTag, ManifestEntry, ManifestPage, RuleOverrides,
        UploadAuthorization, VersionInfo, DEFAULT_DAILY_BYTES, DEFAULT_DAILY_FILES,
        DEFAULT_MAX_CONTRIBUTION_BYTES, MAX_CURATORS, MAX_PAGE_LEN,
    },
    traits::{DatanetsInspect, PoolId, VersionMember, VersionSummary},
    Balance, ContributionId, DatanetId, Hash, VersionIndex,
};
pub use weights::WeightInfo;

/// What one account announced to one datanet on one day.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    codec::Encode,
    codec::Decode,
    scale_info::TypeInfo,
    codec::MaxEncodedLen,
)]
pub struct DailyUsage<BlockNumber> {
    /// The day counted (block number / blocks per day).
    pub day: BlockNumber,
    /// Bytes announced that day.
    pub bytes: u64,
    /// Contributions announced that day.
    pub files: u32,
}

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use alloc::{collections::BTreeMap, vec::Vec};
    use attribution_primitives::merkle;
    use frame_support::{
        pallet_prelude::*,
        traits::{
            fungible::{Inspect, Mutate, MutateHold},
            tokens::{Fortitude, Precision, Restriction},
        },
    };
    use frame_system::pallet_prelude::*;
    use sp_runtime::{
        traits::{Saturating, Zero},
        Perbill,
    };

    pub(crate) type DatanetOf<T> =
        DatanetInfo<<T as frame_system::Config>::AccountId, Balance, BlockNumberFor<T>>;
    pub(crate) type ContributionOf<T> =
        ContributionInfo<<T as frame_system::Config>::AccountId, Balance, BlockNumberFor<T>>;
    pub(crate) type ContributionIds<T> =
        BoundedVec<ContributionId, <T as Config>::MaxContributionsPerVersion>;
    pub(crate) type Manifest<T> =
        BoundedVec<ManifestEntry, <T as Config>::MaxContributionsPerVersion>;

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
        /// The OPEN token; bonds and deposits are holds on the payer's own account.
        type Currency: Inspect<Self::AccountId, Balance = Balance>
            + Mutate<Self::AccountId>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
        /// The runtime's hold reasons.
        type RuntimeHoldReason: From<HoldReason>;
        /// Receives the bonds of contributions rejected as spam. Must exist (hold at least the
        /// existential deposit) or a slash smaller than the existential deposit fails.
        type Treasury: Get<Self::AccountId>;
        /// OPEN held from a datanet's owner while it exists.
        #[pallet::constant]
        type DatanetDeposit: Get<Balance>;
        /// The smallest bond a datanet may ask per contribution (and the default bond).
        #[pallet::constant]
        type MinContributionBond: Get<Balance>;
        /// The largest `max_contribution_bytes` any datanet may set: what a content store must be
        /// ready to accept in one upload.
        #[pallet::constant]
        type MaxContributionBytes: Get<u64>;
        /// Blocks per day of the daily limits.
        #[pallet::constant]
        type BlocksPerDay: Get<BlockNumberFor<Self>>;
        /// Most contributions one version holds; approvals beyond it wait for the next publish.
        #[pallet::constant]
        type MaxContributionsPerVersion: Get<u32>;
        /// The largest `daily_bytes` any datanet may set.
        #[pallet::constant]
        type MaxDailyBytes: Get<u64>;
        /// The largest `daily_files` any datanet may set.
        #[pallet::constant]
        type MaxDailyFiles: Get<u32>;
        /// The largest bond any datanet may ask.
        #[pallet::constant]
        type MaxBond: Get<Balance>;
        /// OPEN held per announced byte for as long as the contribution exists (nodes keep its
        /// blob).
        #[pallet::constant]
        type StorageDepositPerByte: Get<Balance>;
        /// Most bytes one account may have pending over all datanets.
        #[pallet::constant]
        type MaxPendingBytesPerAccount: Get<u64>;
        /// Most bytes one datanet may have pending over all contributors.
        #[pallet::constant]
        type MaxPendingBytesPerDatanet: Get<u64>;
        /// Blocks a contribution may stay pending before anyone may [`Call::expire`] it.
        #[pallet::constant]
        type PendingTimeout: Get<BlockNumberFor<Self>>;
        /// Most of a version's weight the datanet's owner may have contributed.
        #[pallet::constant]
        type MaxOwnerShare: Get<Perbill>;
        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
    }

    /// Why this pallet holds OPEN.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// A datanet owner's deposit.
        DatanetDeposit,
        /// A pending contribution's bond.
        ContributionBond,
        /// A contribution's storage deposit, held while nodes keep its blob.
        StorageDeposit,
    }

    /// The id the next datanet gets.
    #[pallet::storage]
    pub type NextDatanetId<T: Config> = StorageValue<_, DatanetId, ValueQuery>;

    /// Datanets by id.
    #[pallet::storage]
    pub type Datanets<T: Config> = StorageMap<_, Twox64Concat, DatanetId, DatanetOf<T>>;

    /// The id the next contribution gets (global over all datanets).
    #[pallet::storage]
    pub type NextContributionId<T: Config> = StorageValue<_, ContributionId, ValueQuery>;

    /// Contributions by id. Rejected contributions are removed.
    #[pallet::storage]
    pub type Contributions<T: Config> =
        StorageMap<_, Twox64Concat, ContributionId, ContributionOf<T>>;

    /// Contributions by content hash and datanet: refuses duplicates, and tells a content store
    /// whether bytes are announced.
    #[pallet::storage]
    pub type ContributionByHash<T: Config> =
        StorageDoubleMap<_, Blake2_128Concat, Hash, Twox64Concat, DatanetId, ContributionId>;

    /// Contributions by datanet and position in its announcement order: pages them.
    #[pallet::storage]
    pub type ContributionByPosition<T: Config> =
        StorageDoubleMap<_, Twox64Concat, DatanetId, Twox64Concat, u32, ContributionId>;

    /// Approved contributions waiting for a datanet's next version, in approval order.
    #[pallet::storage]
    pub type Unpublished<T: Config> =
        StorageMap<_, Twox64Concat, DatanetId, ContributionIds<T>, ValueQuery>;

    /// Published versions.
    #[pallet::storage]
    pub type Versions<T: Config> = StorageDoubleMap<
        _,
        Twox64Concat,
        DatanetId,
        Twox64Concat,
        VersionIndex,
        VersionInfo<BlockNumberFor<T>>,
    >;

    /// Each published version's manifest: its contributions in leaf order.
    #[pallet::storage]
    pub type Manifests<T: Config> =
        StorageDoubleMap<_, Twox64Concat, DatanetId, Twox64Concat, VersionIndex, Manifest<T>>;

    /// Each account's points in each published version, written once at publish.
    #[pallet::storage]
    pub type Points<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        PoolId,
        Blake2_128Concat,
        T::AccountId,
        u128,
        ValueQuery,
    >;

    /// What each account announced to each datanet on its last contributing day.
    #[pallet::storage]
    pub type Usage<T: Config> = StorageDoubleMap<
        _,
        Twox64Concat,
        DatanetId,
        Blake2_128Concat,
        T::AccountId,
        DailyUsage<BlockNumberFor<T>>,
        ValueQuery,
    >;

    /// Each contributor's totals over all datanets.
    #[pallet::storage]
    pub type Stats<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, ContributorStats<Balance>, ValueQuery>;

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// A datanet was created and `deposit` held from its owner.
        DatanetCreated {
            datanet: DatanetId,
            owner: T::AccountId,
            kind: DataKind,
            deposit: Balance,
        },
        /// The owner made `curator` a curator.
        CuratorAdded {
            datanet: DatanetId,
            curator: T::AccountId,
        },
        /// The owner removed `curator`.
        CuratorRemoved {
            datanet: DatanetId,
            curator: T::AccountId,
        },
        /// A contribution was announced and its bond held.
        Contributed {
            contribution: ContributionId,
            datanet: DatanetId,
            contributor: T::AccountId,
            content_hash: Hash,
            size: u64,
            weight: u64,
            bond: Balance,
            deposit: Balance,
        },
        /// A contribution was approved, its bond returned; it joins the next version.
        /// `by_owner`: it is the datanet owner's own contribution (counted against
        /// [`Config::MaxOwnerShare`]).
        Approved {
            contribution: ContributionId,
            datanet: DatanetId,
            curator: T::AccountId,
            weight: u128,
            by_owner: bool,
        },
        /// A contribution was rejected and removed; `slashed` of its bond went to the treasury
        /// (zero unless spam), the rest and the storage deposit returned. Nodes delete the blob
        /// once nothing else announces `content_hash`.
        Rejected {
            contribution: ContributionId,
            datanet: DatanetId,
            curator: T::AccountId,
            spam: bool,
            slashed: Balance,
            content_hash: Hash,
        },
        /// The contributor withdrew a pending contribution; bond and storage deposit returned.
        Withdrawn {
            contribution: ContributionId,
            datanet: DatanetId,
            contributor: T::AccountId,
            content_hash: Hash,
        },
        /// A contribution left pending past [`Config::PendingTimeout`] was removed; bond and
        /// storage deposit returned.
        Expired {
            contribution: ContributionId,
            datanet: DatanetId,
            contributor: T::AccountId,
            content_hash: Hash,
        },
        /// The owner closed a datanet and got `deposit` back.
        DatanetClosed {
            datanet: DatanetId,
            owner: T::AccountId,
            deposit: Balance,
        },
        /// A version was published.
        VersionPublished {
            datanet: DatanetId,
            version: VersionIndex,
            merkle_root: Hash,
            contributions: u32,
            total_weight: u128,
        },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// No datanet has this id.
        UnknownDatanet,
        /// Only the datanet's owner may do this.
        NotOwner,
        /// Only the datanet's owner or a curator may do this.
        NotCurator,
        /// The account is already a curator (or is the owner).
        AlreadyCurator,
        /// The account is not a curator.
        CuratorNotFound,
        /// The datanet already has [`MAX_CURATORS`] curators.
        TooManyCurators,
        /// A datanet needs a name.
        EmptyName,
        /// The name is longer than the bound.
        NameTooLong,
        /// The description is longer than the bound.
        DescriptionTooLong,
        /// A limit of the rules is zero.
        ZeroLimit,
        /// `max_contribution_bytes` is above [`Config::MaxContributionBytes`].
        ContributionLimitTooLarge,
        /// The bond is below [`Config::MinContributionBond`].
        BondTooLow,
        /// No contribution has this id.
        UnknownContribution,
        /// A contribution has at least one byte.
        EmptyContribution,
        /// The size is above the datanet's `max_contribution_bytes`.
        ContributionTooLarge,
        /// A contribution needs a license tag.
        EmptyLicense,
        /// The license tag is longer than the bound.
        LicenseTooLong,
        /// The metadata is longer than the bound.
        MetadataTooLong,
        /// This hash is already announced to this datanet.
        DuplicateContribution,
        /// The caller's bytes announced to this datanet today would exceed its daily limit.
        DailyBytesExceeded,
        /// The caller's contributions to this datanet today would exceed its daily limit.
        DailyFilesExceeded,
        /// The contribution was already curated.
        NotPending,
        /// The next version already holds [`Config::MaxContributionsPerVersion`] contributions;
        /// publish first.
        VersionFull,
        /// No approved contribution waits for a version.
        NothingToPublish,
        /// A counter would overflow.
        Overflow,
        /// `daily_bytes` or `daily_files` is above [`Config::MaxDailyBytes`] or
        /// [`Config::MaxDailyFiles`].
        DailyLimitTooLarge,
        /// The bond is above [`Config::MaxBond`].
        BondTooHigh,
        /// The datanet is closed.
        DatanetClosed,
        /// A contribution's declared weight must be above zero.
        ZeroWeight,
        /// A contribution's declared weight cannot exceed its size.
        WeightAboveSize,
        /// The caller's pending bytes over all datanets would exceed
        /// [`Config::MaxPendingBytesPerAccount`].
        AccountPendingBytesExceeded,
        /// The datanet's pending bytes would exceed [`Config::MaxPendingBytesPerDatanet`].
        DatanetPendingBytesExceeded,
        /// The owner's contributions would exceed [`Config::MaxOwnerShare`] of the next version's
        /// weight; approve others' contributions first.
        OwnerShareExceeded,
        /// Only the contributor may do this.
        NotContributor,
        /// The contribution has not been pending for [`Config::PendingTimeout`] blocks yet.
        NotExpired,
        /// The datanet still has pending contributions or approved ones waiting for a version.
        DatanetBusy,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Creates a datanet owned by the caller and holds [`Config::DatanetDeposit`] from them.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::create_datanet())]
        pub fn create_datanet(
            origin: OriginFor<T>,
            name: Vec<u8>,
            description: Vec<u8>,
            kind: DataKind,
            rules: RuleOverrides<Balance>,
        ) -> DispatchResult {
            let owner = ensure_signed(origin)?;
            ensure!(!name.is_empty(), Error::<T>::EmptyName);
            let name = DatanetName::try_from(name).map_err(|_| Error::<T>::NameTooLong)?;
            let description = DatanetDescription::try_from(description)
                .map_err(|_| Error::<T>::DescriptionTooLong)?;
            let rules = Self::rules_from(rules)?;
            let datanet = NextDatanetId::<T>::get();
            let next = datanet.checked_add(1).ok_or(Error::<T>::Overflow)?;
            let deposit = T::DatanetDeposit::get();
            T::Currency::hold(&HoldReason::DatanetDeposit.into(), &owner, deposit)?;
            Datanets::<T>::insert(
                datanet,
                DatanetInfo {
                    owner: owner.clone(),
                    name,
                    description,
                    kind,
                    rules,
                    curators: Default::default(),
                    deposit,
                    created_at: frame_system::Pallet::<T>::block_number(),
                    announced: 0,
                    pending: 0,
                    approved_unpublished: 0,
                    versions: 0,
                    pending_bytes: 0,
                    unpublished_weight: 0,
                    owner_unpublished_weight: 0,
                    closed: false,
                },
            );
            NextDatanetId::<T>::put(next);
            Self::deposit_event(Event::DatanetCreated {
                datanet,
                owner,
                kind,
                deposit,
            });
            Ok(())
        }

        /// Lets `curator` approve and reject contributions. Owner only.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::add_curator(MAX_CURATORS))]
        pub fn add_curator(
            origin: OriginFor<T>,
            datanet: DatanetId,
            curator: T::AccountId,
        ) -> DispatchResult {
            let owner = ensure_signed(origin)?;
            Datanets::<T>::try_mutate(datanet, |info| {
                let info = info.as_mut().ok_or(Error::<T>::UnknownDatanet)?;
                ensure!(info.owner == owner, Error::<T>::NotOwner);
                ensure!(
                    curator != owner && !info.curators.contains(&curator),
                    Error::<T>::AlreadyCurator
                );
                info.curators
                    .try_push(curator.clone())
                    .map_err(|_| Error::<T>::TooManyCurators)?;
                Ok::<_, DispatchError>(())
            })?;
            Self::deposit_event(Event::CuratorAdded { datanet, curator });
            Ok(())
        }

        /// Takes curation rights away from `curator`. Owner only.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::remove_curator(MAX_CURATORS))]
        pub fn remove_curator(
            origin: OriginFor<T>,
            datanet: DatanetId,
            curator: T::AccountId,
        ) -> DispatchResult {
            let owner = ensure_signed(origin)?;
            Datanets::<T>::try_mutate(datanet, |info| {
                let info = info.as_mut().ok_or(Error::<T>::UnknownDatanet)?;
                ensure!(info.owner == owner, Error::<T>::NotOwner);
                let index = info
                    .curators
                    .iter()
                    .position(|c| *c == curator)
                    .ok_or(Error::<T>::CuratorNotFound)?;
                info.curators.remove(index);
                Ok::<_, DispatchError>(())
            })?;
            Self::deposit_event(Event::CuratorRemoved { datanet, curator });
            Ok(())
        }

        /// Announces a blob of `size` bytes hashing (blake2-256) to `content_hash` whose
        /// [`measure::weight`](attribution_primitives::datanets::measure::weight) is `weight`,
        /// holding the datanet's bond and `size × StorageDepositPerByte` from the caller.
        ///
        /// # Conditions
        /// The datanet is open; `0 < size ≤ max_contribution_bytes`; `0 < weight ≤ size`; the
        /// hash is not announced to this datanet yet; the daily limits and the pending-bytes
        /// quotas of the caller and of the datanet hold.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::contribute())]
        pub fn contribute(
            origin: OriginFor<T>,
            datanet: DatanetId,
            content_hash: Hash,
            size: u64,
            weight: u64,
            license: Vec<u8>,
            metadata: Vec<u8>,
        ) -> DispatchResult {
            let contributor = ensure_signed(origin)?;
            let mut info = Datanets::<T>::get(datanet).ok_or(Error::<T>::UnknownDatanet)?;
            ensure!(!info.closed, Error::<T>::DatanetClosed);
            ensure!(size > 0, Error::<T>::EmptyContribution);
            ensure!(
                size <= info.rules.max_contribution_bytes,
                Error::<T>::ContributionTooLarge
            );
            ensure!(weight > 0, Error::<T>::ZeroWeight);
            ensure!(weight <= size, Error::<T>::WeightAboveSize);
            ensure!(!license.is_empty(), Error::<T>::EmptyLicense);
            let license = LicenseTag::try_from(license).map_err(|_| Error::<T>::LicenseTooLong)?;
            let metadata = ContributionMetadata::try_from(metadata)
                .map_err(|_| Error::<T>::MetadataTooLong)?;
            ensure!(
                !ContributionByHash::<T>::contains_key(content_hash, datanet),
                Error::<T>::DuplicateContribution
            );
            let usage = Self::count_daily_usage(datanet, &contributor, size, &info.rules)?;
            let mut stats = Stats::<T>::get(&contributor);
            stats.pending_bytes = stats
                .pending_bytes
                .checked_add(size)
                .filter(|bytes| *bytes <= T::MaxPendingBytesPerAccount::get())
                .ok_or(Error::<T>::AccountPendingBytesExceeded)?;
            info.pending_bytes = info
                .pending_bytes
                .checked_add(size)
                .filter(|bytes| *bytes <= T::MaxPendingBytesPerDatanet::get())
                .ok_or(Error::<T>::DatanetPendingBytesExceeded)?;

            let contribution = NextContributionId::<T>::get();
            let next = contribution.checked_add(1).ok_or(Error::<T>::Overflow)?;
            let position = info.announced;
            info.announced = position.checked_add(1).ok_or(Error::<T>::Overflow)?;
            info.pending = info.pending.checked_add(1).ok_or(Error::<T>::Overflow)?;
            let bond = info.rules.bond;
            let deposit = Self::storage_deposit(size)?;
            T::Currency::hold(&HoldReason::ContributionBond.into(), &contributor, bond)?;
            T::Currency::hold(&HoldReason::StorageDeposit.into(), &contributor, deposit)?;

            Contributions::<T>::insert(
                contribution,
                ContributionInfo {
                    datanet,
                    position,
                    contributor: contributor.clone(),
                    content_hash,
                    size,
                    weight,
                    license,
                    metadata,
                    bond,
                    deposit,
                    status: ContributionStatus::Pending,
                    announced_at: frame_system::Pallet::<T>::block_number(),
                },
            );
            ContributionByHash::<T>::insert(content_hash, datanet, contribution);
            ContributionByPosition::<T>::insert(datanet, position, contribution);
            Datanets::<T>::insert(datanet, info);
            NextContributionId::<T>::put(next);
            Usage::<T>::insert(datanet, &contributor, usage);
            stats.pending = stats.pending.saturating_add(1);
            stats.bond_held = stats.bond_held.saturating_add(bond);
            stats.deposit_held = stats.deposit_held.saturating_add(deposit);
            Stats::<T>::insert(&contributor, stats);
            Self::deposit_event(Event::Contributed {
                contribution,
                datanet,
                contributor,
                content_hash,
                size,
                weight,
                bond,
                deposit,
            });
            Ok(())
        }

        /// Approves a pending contribution (owner or curator): returns its bond (the storage
        /// deposit stays held) and queues it for the next version with its measured weight.
        ///
        /// # Conditions
        /// The caller is the owner or a curator; the contribution is pending; the next version
        /// has room; for the owner's own contribution, the owner's share of the queued weight
        /// stays within [`Config::MaxOwnerShare`].
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::approve(T::MaxContributionsPerVersion::get()))]
        pub fn approve(origin: OriginFor<T>, contribution: ContributionId) -> DispatchResult {
            let curator = ensure_signed(origin)?;
            let (mut record, mut info) = Self::pending_for_curator(contribution, &curator)?;
            let weight = record.weight();
            let by_owner = record.contributor == info.owner;
            info.unpublished_weight = info
                .unpublished_weight
                .checked_add(weight)
                .ok_or(Error::<T>::Overflow)?;
            if by_owner {
                info.owner_unpublished_weight = info
                    .owner_unpublished_weight
                    .checked_add(weight)
                    .ok_or(Error::<T>::Overflow)?;
                ensure!(
                    info.owner_unpublished_weight
                        <= T::MaxOwnerShare::get().mul_floor(info.unpublished_weight),
                    Error::<T>::OwnerShareExceeded
                );
            }
            Unpublished::<T>::try_mutate(record.datanet, |queue| queue.try_push(contribution))
                .map_err(|_| Error::<T>::VersionFull)?;
            T::Currency::release(
                &HoldReason::ContributionBond.into(),
                &record.contributor,
                record.bond,
                Precision::Exact,
            )?;
            Stats::<T>::mutate(&record.contributor, |stats| {
                stats.pending = stats.pending.saturating_sub(1);
                stats.pending_bytes = stats.pending_bytes.saturating_sub(record.size);
                stats.approved = stats.approved.saturating_add(1);
                stats.approved_bytes = stats.approved_bytes.saturating_add(record.size);
                stats.bond_held = stats.bond_held.saturating_sub(record.bond);
            });
            info.pending = info.pending.saturating_sub(1);
            info.pending_bytes = info.pending_bytes.saturating_sub(record.size);
            info.approved_unpublished = info
                .approved_unpublished
                .checked_add(1)
                .ok_or(Error::<T>::Overflow)?;
            record.status = ContributionStatus::Approved;
            record.bond = Zero::zero();
            let datanet = record.datanet;
            Datanets::<T>::insert(datanet, info);
            Contributions::<T>::insert(contribution, record);
            Self::deposit_event(Event::Approved {
                contribution,
                datanet,
                curator,
                weight,
                by_owner,
            });
            Ok(())
        }

        /// Rejects and removes a pending contribution (owner or curator). Its bond is returned, or
        /// moved to the treasury when `spam`; its storage deposit is returned.
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::reject())]
        pub fn reject(
            origin: OriginFor<T>,
            contribution: ContributionId,
            spam: bool,
        ) -> DispatchResult {
            let curator = ensure_signed(origin)?;
            let (record, info) = Self::pending_for_curator(contribution, &curator)?;
            let slashed = Self::remove_pending(contribution, &record, info, spam)?;
            Stats::<T>::mutate(&record.contributor, |stats| {
                if spam {
                    stats.slashed = stats.slashed.saturating_add(1);
                    stats.bond_slashed = stats.bond_slashed.saturating_add(slashed);
                } else {
                    stats.rejected = stats.rejected.saturating_add(1);
                }
            });
            Self::deposit_event(Event::Rejected {
                contribution,
                datanet: record.datanet,
                curator,
                spam,
                slashed,
                content_hash: record.content_hash,
            });
            Ok(())
        }

        /// Publishes the approved contributions waiting for a version as the datanet's next
        /// version (owner only). Weighed by the number of contributions frozen.
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::publish_version(T::MaxContributionsPerVersion::get()))]
        pub fn publish_version(
            origin: OriginFor<T>,
            datanet: DatanetId,
        ) -> DispatchResultWithPostInfo {
            let owner = ensure_signed(origin)?;
            let mut info = Datanets::<T>::get(datanet).ok_or(Error::<T>::UnknownDatanet)?;
            ensure!(info.owner == owner, Error::<T>::NotOwner);
            let queued = Unpublished::<T>::take(datanet);
            ensure!(!queued.is_empty(), Error::<T>::NothingToPublish);
            let version = info.versions.checked_add(1).ok_or(Error::<T>::Overflow)?;

            let mut entries = Vec::with_capacity(queued.len());
            let mut points = BTreeMap::<T::AccountId, u128>::new();
            let (mut total_weight, mut owner_weight, mut total_bytes) = (0u128, 0u128, 0u64);
            for &contribution in queued.iter() {
                let mut record =
                    Contributions::<T>::get(contribution).ok_or(Error::<T>::UnknownContribution)?;
                let weight = record.weight();
                total_weight = total_weight
                    .checked_add(weight)
                    .ok_or(Error::<T>::Overflow)?;
                total_bytes = total_bytes
                    .checked_add(record.size)
                    .ok_or(Error::<T>::Overflow)?;
                if record.contributor == info.owner {
                    owner_weight = owner_weight
                        .checked_add(weight)
                        .ok_or(Error::<T>::Overflow)?;
                }
                let account_points = points.entry(record.contributor.clone()).or_default();
                *account_points = account_points
                    .checked_add(weight)
                    .ok_or(Error::<T>::Overflow)?;
                entries.push(ManifestEntry {
                    contribution,
                    content_hash: record.content_hash,
                    size: record.size,
                });
                record.status = ContributionStatus::Published(version);
                Contributions::<T>::insert(contribution, record);
            }
            let leaves: Vec<Hash> = entries.iter().map(|entry| entry.content_hash).collect();
            let merkle_root = merkle::root(&leaves);
            let count = u32::try_from(queued.len()).map_err(|_| Error::<T>::Overflow)?;
            let manifest = Manifest::<T>::try_from(entries).map_err(|_| Error::<T>::VersionFull)?;

            let pool = PoolId { datanet, version };
            for (account, account_points) in points {
                Points::<T>::insert(pool, account, account_points);
            }
            Manifests::<T>::insert(datanet, version, manifest);
            Versions::<T>::insert(
                datanet,
                version,
                VersionInfo {
                    merkle_root,
                    contributions: count,
                    total_weight,
                    owner_weight,
                    total_bytes,
                    published_at: frame_system::Pallet::<T>::block_number(),
                },
            );
            info.versions = version;
            info.approved_unpublished = 0;
            info.unpublished_weight = 0;
            info.owner_unpublished_weight = 0;
            Datanets::<T>::insert(datanet, info);
            Self::deposit_event(Event::VersionPublished {
                datanet,
                version,
                merkle_root,
                contributions: count,
                total_weight,
            });
            Ok(Some(T::WeightInfo::publish_version(count)).into())
        }

        /// Takes back a pending contribution (its contributor only): bond and storage deposit
        /// returned, the contribution removed; nodes delete its blob.
        #[pallet::call_index(7)]
        #[pallet::weight(T::WeightInfo::withdraw())]
        pub fn withdraw(origin: OriginFor<T>, contribution: ContributionId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let (record, info) = Self::pending(contribution)?;
            ensure!(record.contributor == who, Error::<T>::NotContributor);
            Self::remove_pending(contribution, &record, info, false)?;
            Stats::<T>::mutate(&who, |stats| {
                stats.withdrawn = stats.withdrawn.saturating_add(1)
            });
            Self::deposit_event(Event::Withdrawn {
                contribution,
                datanet: record.datanet,
                contributor: who,
                content_hash: record.content_hash,
            });
            Ok(())
        }

        /// Removes a contribution left pending for [`Config::PendingTimeout`] blocks (anyone may
        /// call it): bond and storage deposit returned to the contributor; nodes delete its blob.
        #[pallet::call_index(8)]
        #[pallet::weight(T::WeightInfo::expire())]
        pub fn expire(origin: OriginFor<T>, contribution: ContributionId) -> DispatchResult {
            ensure_signed(origin)?;
            let (record, info) = Self::pending(contribution)?;
            let deadline = record.announced_at.saturating_add(T::PendingTimeout::get());
            ensure!(
                frame_system::Pallet::<T>::block_number() >= deadline,
                Error::<T>::NotExpired
            );
            Self::remove_pending(contribution, &record, info, false)?;
            Stats::<T>::mutate(&record.contributor, |stats| {
                stats.expired = stats.expired.saturating_add(1)
            });
            Self::deposit_event(Event::Expired {
                contribution,
                datanet: record.datanet,
                contributor: record.contributor,
                content_hash: record.content_hash,
            });
            Ok(())
        }

        /// Closes a datanet (owner only) and returns its deposit. Its published versions stay;
        /// no contribution is accepted any more.
        ///
        /// # Conditions
        /// Nothing is pending and nothing approved waits for a version.
        #[pallet::call_index(9)]
        #[pallet::weight(T::WeightInfo::close_datanet())]
        pub fn close_datanet(origin: OriginFor<T>, datanet: DatanetId) -> DispatchResult {
            let owner = ensure_signed(origin)?;
            let mut info = Datanets::<T>::get(datanet).ok_or(Error::<T>::UnknownDatanet)?;
            ensure!(info.owner == owner, Error::<T>::NotOwner);
            ensure!(!info.closed, Error::<T>::DatanetClosed);
            ensure!(
                info.pending == 0 && info.approved_unpublished == 0,
                Error::<T>::DatanetBusy
            );
            let deposit = info.deposit;
            T::Currency::release(
                &HoldReason::DatanetDeposit.into(),
                &owner,
                deposit,
                Precision::Exact,
            )?;
            info.deposit = Zero::zero();
            info.closed = true;
            Datanets::<T>::insert(datanet, info);
            Self::deposit_event(Event::DatanetClosed {
                datanet,
                owner,
                deposit,
            });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// The creator's overrides with defaults filled in, checked against the bounds.
        fn rules_from(
            overrides: RuleOverrides<Balance>,
        ) -> Result<DatanetRules<Balance>, Error<T>> {
            let rules = DatanetRules {
                max_contribution_bytes: overrides
                    .max_contribution_bytes
                    .unwrap_or(DEFAULT_MAX_CONTRIBUTION_BYTES),
                daily_bytes: overrides.daily_bytes.unwrap_or(DEFAULT_DAILY_BYTES),
                daily_files: overrides.daily_files.unwrap_or(DEFAULT_DAILY_FILES),
                bond: overrides.bond.unwrap_or_else(T::MinContributionBond::get),
            };
            ensure!(
                rules.max_contribution_bytes > 0 && rules.daily_bytes > 0 && rules.daily_files > 0,
                Error::<T>::ZeroLimit
            );
            ensure!(
                rules.max_contribution_bytes <= T::MaxContributionBytes::get(),
                Error::<T>::ContributionLimitTooLarge
            );
            ensure!(
                rules.daily_bytes <= T::MaxDailyBytes::get()
                    && rules.daily_files <= T::MaxDailyFiles::get(),
                Error::<T>::DailyLimitTooLarge
            );
            ensure!(
                rules.bond >= T::MinContributionBond::get(),
                Error::<T>::BondTooLow
            );
            ensure!(rules.bond <= T::MaxBond::get(), Error::<T>::BondTooHigh);
            Ok(rules)
        }

        /// The day `now` falls in.
        pub(crate) fn day(now: BlockNumberFor<T>) -> BlockNumberFor<T> {
            let per_day = T::BlocksPerDay::get();
            if per_day.is_zero() {
                Zero::zero()
            } else {
                now / per_day
            }
        }

        /// `who`'s usage of `datanet` today with one more contribution of `size` bytes, or the
        /// daily limit it would break.
        fn count_daily_usage(
            datanet: DatanetId,
            who: &T::AccountId,
            size: u64,
            rules: &DatanetRules<Balance>,
        ) -> Result<DailyUsage<BlockNumberFor<T>>, Error<T>> {
            let today = Self::day(frame_system::Pallet::<T>::block_number());
            let mut usage = Usage::<T>::get(datanet, who);
            if usage.day != today {
                usage = DailyUsage {
                    day: today,
                    bytes: 0,
                    files: 0,
                };
            }
            usage.files = usage
                .files
                .checked_add(1)
                .filter(|files| *files <= rules.daily_files)
                .ok_or(Error::<T>::DailyFilesExceeded)?;
            usage.bytes = usage
                .bytes
                .checked_add(size)
                .filter(|bytes| *bytes <= rules.daily_bytes)
                .ok_or(Error::<T>::DailyBytesExceeded)?;
            Ok(usage)
        }

        /// The storage deposit of a contribution of `size` bytes.
        pub(crate) fn storage_deposit(size: u64) -> Result<Balance, Error<T>> {
            T::StorageDepositPerByte::get()
                .checked_mul(Balance::from(size))
                .ok_or(Error::<T>::Overflow)
        }

        /// The pending contribution and its datanet.
        fn pending(
            contribution: ContributionId,
        ) -> Result<(ContributionOf<T>, DatanetOf<T>), Error<T>> {
            let record =
                Contributions::<T>::get(contribution).ok_or(Error::<T>::UnknownContribution)?;
            let info = Datanets::<T>::get(record.datanet).ok_or(Error::<T>::UnknownDatanet)?;
            ensure!(
                record.status == ContributionStatus::Pending,
                Error::<T>::NotPending
            );
            Ok((record, info))
        }

        /// The pending contribution and its datanet, if `who` may curate it.
        fn pending_for_curator(
            contribution: ContributionId,
            who: &T::AccountId,
        ) -> Result<(ContributionOf<T>, DatanetOf<T>), Error<T>> {
            let (record, info) = Self::pending(contribution)?;
            ensure!(
                info.owner == *who || info.curators.contains(who),
                Error::<T>::NotCurator
            );
            Ok((record, info))
        }

        /// Removes a pending contribution with its index entries: returns its storage deposit,
        /// and its bond (or moves it to the treasury when `slash`, returning what was slashed),
        /// and takes it off its datanet's and contributor's pending counters.
        fn remove_pending(
            contribution: ContributionId,
            record: &ContributionOf<T>,
            mut info: DatanetOf<T>,
            slash: bool,
        ) -> Result<Balance, DispatchError> {
            let bond = HoldReason::ContributionBond.into();
            let slashed = if slash {
                T::Currency::transfer_on_hold(
                    &bond,
                    &record.contributor,
                    &T::Treasury::get(),
                    record.bond,
                    Precision::Exact,
                    Restriction::Free,
                    Fortitude::Force,
                )?
            } else {
                T::Currency::release(&bond, &record.contributor, record.bond, Precision::Exact)?;
                Zero::zero()
            };
            T::Currency::release(
                &HoldReason::StorageDeposit.into(),
                &record.contributor,
                record.deposit,
                Precision::Exact,
            )?;
            Stats::<T>::mutate(&record.contributor, |stats| {
                stats.pending = stats.pending.saturating_sub(1);
                stats.pending_bytes = stats.pending_bytes.saturating_sub(record.size);
                stats.bond_held = stats.bond_held.saturating_sub(record.bond);
                stats.deposit_held = stats.deposit_held.saturating_sub(record.deposit);
            });
            info.pending = info.pending.saturating_sub(1);
            info.pending_bytes = info.pending_bytes.saturating_sub(record.size);
            let datanet = record.datanet;
            Datanets::<T>::insert(datanet, info);
            Contributions::<T>::remove(contribution);
            ContributionByHash::<T>::remove(record.content_hash, datanet);
            ContributionByPosition::<T>::remove(datanet, record.position);
            Ok(slashed)
        }
    }

    impl<T: Config> DatanetsInspect<T::AccountId> for Pallet<T> {
        fn version(datanet: DatanetId, version: VersionIndex) -> Option<VersionSummary> {
            Versions::<T>::get(datanet, version).map(|info| VersionSummary {
                merkle_root: info.merkle_root,
                contributions: info.contributions,
                total_weight: info.total_weight,
            })
        }

        fn member(
            datanet: DatanetId,
            version: VersionIndex,
            contribution: ContributionId,
        ) -> Option<VersionMember<T::AccountId>> {
            Contributions::<T>::get(contribution)
                .filter(|c| {
                    c.datanet == datanet && c.status == ContributionStatus::Published(version)
                })
                .map(|c| VersionMember {
                    weight: c.weight(),
                    contributor: c.contributor,
                })
        }

        fn points(datanet: DatanetId, version: VersionIndex, who: &T::AccountId) -> u128 {
            Points::<T>::get(PoolId { datanet, version }, who)
        }
    }
}
