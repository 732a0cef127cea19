//! Every invariant of the pallet, checked against the whole state (tests and try-runtime only).

use crate::{
    pallet::DatanetOf, Config, ContributionByHash, ContributionByPosition, ContributionStatus,
    Contributions, Datanets, HoldReason, Manifests, NextContributionId, NextDatanetId, Pallet,
    Points, PoolId, Stats, Unpublished, Versions,
};
use alloc::{collections::BTreeMap, vec::Vec};
use attribution_primitives::{merkle, Balance, DatanetId, Hash};
use frame_support::{
    ensure,
    traits::{fungible::InspectHold, Get},
};
use sp_runtime::traits::Zero;
use sp_runtime::TryRuntimeError;

/// What the contributions say a datanet's counters must be.
#[derive(Default)]
struct DatanetTally {
    pending: u32,
    pending_bytes: u64,
    approved_unpublished: u32,
    unpublished_weight: u128,
    owner_unpublished_weight: u128,
}

/// What the contributions say an account's stats and holds must be.
#[derive(Default, PartialEq, Eq)]
struct AccountTally {
    pending: u32,
    pending_bytes: u64,
    bonds: Balance,
    deposits: Balance,
    approved: u32,
    approved_bytes: u64,
}

impl<T: Config> Pallet<T> {
    /// Checks every invariant listed in the crate docs.
    pub fn do_try_state() -> Result<(), TryRuntimeError> {
        let datanets: BTreeMap<DatanetId, DatanetOf<T>> = Datanets::<T>::iter().collect();
        Self::check_contributions(&datanets)?;
        Self::check_deposits(&datanets)?;
        Self::check_versions(&datanets)
    }

    /// Contributions against their indexes, their datanets' counters, the stats and the holds.
    fn check_contributions(
        datanets: &BTreeMap<DatanetId, DatanetOf<T>>,
    ) -> Result<(), TryRuntimeError> {
        let next_id = NextContributionId::<T>::get();
        let mut tallies = BTreeMap::<DatanetId, DatanetTally>::new();
        let mut accounts = BTreeMap::<T::AccountId, AccountTally>::new();
        let mut count = 0usize;
        for (id, record) in Contributions::<T>::iter() {
            count += 1;
            ensure!(
                id < next_id,
                "contribution id at or past NextContributionId"
            );
            let info = datanets
                .get(&record.datanet)
                .ok_or("contribution of an unknown datanet")?;
            ensure!(
                record.position < info.announced,
                "position past the datanet's announcements"
            );
            ensure!(
                ContributionByHash::<T>::get(record.content_hash, record.datanet) == Some(id),
                "contribution not indexed by its hash"
            );
            ensure!(
                ContributionByPosition::<T>::get(record.datanet, record.position) == Some(id),
                "contribution not indexed by its position"
            );
            ensure!(
                record.size > 0 && record.size <= info.rules.max_contribution_bytes,
                "size out of the rules"
            );
            ensure!(
                record.weight > 0 && record.weight <= record.size,
                "weight not within 1 ..= size"
            );
            ensure!(
                Self::storage_deposit(record.size).ok() == Some(record.deposit),
                "storage deposit differs from size × StorageDepositPerByte"
            );
            let tally = tallies.entry(record.datanet).or_default();
            let account = accounts.entry(record.contributor.clone()).or_default();
            account.deposits += record.deposit;
            if record.status != ContributionStatus::Pending {
                account.approved += 1;
                account.approved_bytes += record.size;
            }
            match record.status {
                ContributionStatus::Pending => {
                    tally.pending += 1;
                    tally.pending_bytes += record.size;
                    account.pending += 1;
                    account.pending_bytes += record.size;
                    account.bonds += record.bond;
                }
                ContributionStatus::Approved => {
                    ensure!(record.bond == 0, "approved contribution still bonded");
                    tally.approved_unpublished += 1;
                    tally.unpublished_weight += record.weight();
                    if record.contributor == info.owner {
                        tally.owner_unpublished_weight += record.weight();
                    }
                    ensure!(
                        Unpublished::<T>::get(record.datanet).contains(&id),
                        "approved contribution not queued for the next version"
                    );
                }
                ContributionStatus::Published(version) => {
                    ensure!(record.bond == 0, "published contribution still bonded");
                    ensure!(
                        version >= 1 && version <= info.versions,
                        "published in an unknown version"
                    );
                }
            }
        }
        ensure!(
            ContributionByHash::<T>::iter().count() == count,
            "stale hash index entries"
        );
        ensure!(
            ContributionByPosition::<T>::iter().count() == count,
            "stale position index entries"
        );

        for (id, info) in datanets {
            let tally = tallies.remove(id).unwrap_or_default();
            ensure!(
                info.pending == tally.pending,
                "datanet pending counter wrong"
            );
            ensure!(
                info.pending_bytes == tally.pending_bytes,
                "datanet pending bytes differ from its pending contributions'"
            );
            ensure!(
                info.pending_bytes <= T::MaxPendingBytesPerDatanet::get(),
                "datanet pending bytes over the quota"
            );
            ensure!(
                info.unpublished_weight == tally.unpublished_weight
                    && info.owner_unpublished_weight == tally.owner_unpublished_weight,
                "datanet queued weights differ from its queued contributions'"
            );
            ensure!(
                info.owner_unpublished_weight
                    <= T::MaxOwnerShare::get().mul_floor(info.unpublished_weight),
                "owner's queued weight over its share"
            );
            ensure!(
                !info.closed || (info.pending == 0 && info.approved_unpublished == 0),
                "a closed datanet has pending or queued contributions"
            );
            ensure!(
                info.approved_unpublished == tally.approved_unpublished,
                "datanet approved counter wrong"
            );
            ensure!(
                Unpublished::<T>::get(id).len() == tally.approved_unpublished as usize,
                "queue for the next version holds other than the approved contributions"
            );
            ensure!(
                !info.curators.contains(&info.owner),
                "owner listed as a curator"
            );
        }
        ensure!(
            Unpublished::<T>::iter_keys().all(|id| datanets.contains_key(&id)),
            "queue of an unknown datanet"
        );

        for (who, stats) in Stats::<T>::iter() {
            let tally = accounts.remove(&who).unwrap_or_default();
            ensure!(stats.pending == tally.pending, "stats pending count wrong");
            ensure!(
                (stats.approved, stats.approved_bytes) == (tally.approved, tally.approved_bytes),
                "stats approved count or bytes wrong"
            );
            ensure!(
                stats.pending_bytes == tally.pending_bytes,
                "stats pending bytes differ from pending contributions'"
            );
            ensure!(
                stats.pending_bytes <= T::MaxPendingBytesPerAccount::get(),
                "account pending bytes over the quota"
            );
            ensure!(
                stats.bond_held == tally.bonds,
                "stats bond_held differs from pending bonds"
            );
            ensure!(
                Self::held(HoldReason::ContributionBond, &who) == tally.bonds,
                "held bonds differ from pending bonds"
            );
            ensure!(
                stats.deposit_held == tally.deposits,
                "stats deposit_held differs from the contributions' storage deposits"
            );
            ensure!(
                Self::held(HoldReason::StorageDeposit, &who) == tally.deposits,
                "held storage deposits differ from the contributions'"
            );
        }
        ensure!(
            accounts.is_empty(),
            "contributions of an account without stats"
        );
        Ok(())
    }

    /// OPEN held from `who` for `reason` by this pallet.
    fn held(reason: HoldReason, who: &T::AccountId) -> Balance {
        T::Currency::balance_on_hold(&reason.into(), who)
    }

    /// Each owner's held deposit is the sum of its datanets' deposits.
    fn check_deposits(datanets: &BTreeMap<DatanetId, DatanetOf<T>>) -> Result<(), TryRuntimeError> {
        let next_id = NextDatanetId::<T>::get();
        let mut deposits = BTreeMap::<T::AccountId, Balance>::new();
        for (id, info) in datanets {
            ensure!(*id < next_id, "datanet id at or past NextDatanetId");
            ensure!(
                info.closed == info.deposit.is_zero(),
                "an open datanet without its deposit, or a closed one with it"
            );
            *deposits.entry(info.owner.clone()).or_default() += info.deposit;
        }
        for (owner, deposit) in deposits {
            ensure!(
                Self::held(HoldReason::DatanetDeposit, &owner) == deposit,
                "held deposit differs"
            );
        }
        Ok(())
    }

    /// Every version against its manifest, the contributions it lists and its points.
    fn check_versions(datanets: &BTreeMap<DatanetId, DatanetOf<T>>) -> Result<(), TryRuntimeError> {
        let (mut versions, mut point_entries) = (0usize, 0usize);
        let mut published = BTreeMap::<(DatanetId, u32), usize>::new();
        for (_, record) in Contributions::<T>::iter() {
            if let ContributionStatus::Published(version) = record.status {
                *published.entry((record.datanet, version)).or_default() += 1;
            }
        }
        for (datanet, info) in datanets {
            for version in 1..=info.versions {
                versions += 1;
                let summary =
                    Versions::<T>::get(datanet, version).ok_or("a published version is missing")?;
                let manifest = Manifests::<T>::get(datanet, version)
                    .ok_or("a version's manifest is missing")?;
                ensure!(
                    summary.contributions as usize == manifest.len(),
                    "version count differs from manifest"
                );
                ensure!(!manifest.is_empty(), "empty version");
                ensure!(
                    published
                        .get(&(*datanet, version))
                        .copied()
                        .unwrap_or_default()
                        == manifest.len(),
                    "a contribution published in a version is missing from its manifest"
                );
                let leaves: Vec<Hash> = manifest.iter().map(|entry| entry.content_hash).collect();
                ensure!(
                    summary.merkle_root == merkle::root(&leaves),
                    "version root differs from its manifest's"
                );
                let mut points = BTreeMap::<T::AccountId, u128>::new();
                let (mut weight, mut owner_weight, mut bytes) = (0u128, 0u128, 0u64);
                for entry in manifest.iter() {
                    let record = Contributions::<T>::get(entry.contribution)
                        .ok_or("manifest lists a missing contribution")?;
                    ensure!(
                        record.datanet == *datanet
                            && record.status == ContributionStatus::Published(version),
                        "manifest lists a contribution of another version"
                    );
                    ensure!(
                        record.content_hash == entry.content_hash && record.size == entry.size,
                        "manifest entry differs from its contribution"
                    );
                    weight += record.weight();
                    if record.contributor == info.owner {
                        owner_weight += record.weight();
                    }
                    bytes += record.size;
                    *points.entry(record.contributor).or_default() += record.weight();
                }
                ensure!(
                    summary.total_weight == weight,
                    "version total weight differs from its manifest's"
                );
                ensure!(
                    summary.owner_weight == owner_weight,
                    "version owner weight differs from its manifest's"
                );
                ensure!(
                    summary.total_bytes == bytes,
                    "version total bytes differ from its manifest's"
                );
                let pool = PoolId {
                    datanet: *datanet,
                    version,
                };
                let stored: BTreeMap<T::AccountId, u128> = Points::<T>::iter_prefix(pool).collect();
                ensure!(
                    stored == points,
                    "version points differ from its contributors' weights"
                );
                point_entries += stored.len();
            }
        }
        ensure!(
            Versions::<T>::iter().count() == versions,
            "version beyond a datanet's count"
        );
        ensure!(
            Manifests::<T>::iter().count() == versions,
            "manifest without a version"
        );
        ensure!(
            Points::<T>::iter().count() == point_entries,
            "points of an unpublished version"
        );
        Ok(())
    }
}
