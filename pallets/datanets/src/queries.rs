//! What the runtime answers [`DatanetsApi`](attribution_primitives::datanets::DatanetsApi) with.
//! Read-only; pages are cut to [`MAX_PAGE_LEN`] entries.

use crate::{
    pallet::{ContributionOf, DatanetOf},
    Announcement, Config, ContributionByHash, ContributionByPosition, Contributions,
    ContributionsPage, ContributorStats, Datanets, Hash, ManifestPage, Manifests, Pallet, Stats,
    Versions, MAX_PAGE_LEN,
};
use alloc::vec::Vec;
use attribution_primitives::{datanets::VersionInfo, Balance, DatanetId, VersionIndex};
use frame_support::traits::Get;
use frame_system::pallet_prelude::BlockNumberFor;

impl<T: Config> Pallet<T> {
    /// [`DatanetsApi::datanet`](attribution_primitives::datanets::DatanetsApi::datanet).
    pub fn datanet_info(id: DatanetId) -> Option<DatanetOf<T>> {
        Datanets::<T>::get(id)
    }

    /// [`DatanetsApi::version`](attribution_primitives::datanets::DatanetsApi::version).
    pub fn version_info(
        datanet: DatanetId,
        version: VersionIndex,
    ) -> Option<VersionInfo<BlockNumberFor<T>>> {
        Versions::<T>::get(datanet, version)
    }

    /// [`DatanetsApi::contributions`](attribution_primitives::datanets::DatanetsApi::contributions):
    /// positions `start .. start + min(limit, MAX_PAGE_LEN)` of the datanet's announcements that
    /// still exist. Empty for an unknown datanet.
    pub fn contributions_page(
        datanet: DatanetId,
        start: u32,
        limit: u32,
    ) -> ContributionsPage<T::AccountId, Balance, BlockNumberFor<T>> {
        let announced = Datanets::<T>::get(datanet).map_or(0, |info| info.announced);
        let end = start.saturating_add(limit.min(MAX_PAGE_LEN)).min(announced);
        let contributions: Vec<(_, ContributionOf<T>)> = (start..end)
            .filter_map(|position| ContributionByPosition::<T>::get(datanet, position))
            .filter_map(|id| Contributions::<T>::get(id).map(|record| (id, record)))
            .collect();
        ContributionsPage {
            contributions,
            next: (end < announced).then_some(end),
        }
    }

    /// [`DatanetsApi::contributor_stats`](attribution_primitives::datanets::DatanetsApi::contributor_stats).
    pub fn contributor_stats(who: &T::AccountId) -> ContributorStats<Balance> {
        Stats::<T>::get(who)
    }

    /// [`DatanetsApi::announced`](attribution_primitives::datanets::DatanetsApi::announced): the
    /// contribution of `datanet` announcing this hash. Every stored contribution is pending,
    /// approved or published (rejected, withdrawn and expired ones are removed).
    pub fn announcement(
        content_hash: Hash,
        datanet: DatanetId,
    ) -> Option<Announcement<T::AccountId>> {
        let id = ContributionByHash::<T>::get(content_hash, datanet)?;
        let record = Contributions::<T>::get(id)?;
        let info = Datanets::<T>::get(datanet)?;
        Some(Announcement {
            contribution: id,
            datanet,
            contributor: record.contributor,
            kind: info.kind,
            max_contribution_bytes: info.rules.max_contribution_bytes,
            size: record.size,
            weight: record.weight,
            status: record.status,
        })
    }

    /// [`DatanetsApi::is_announced`](attribution_primitives::datanets::DatanetsApi::is_announced):
    /// whether a contribution of any datanet announces this hash. Reads one key at most.
    pub fn is_announced(content_hash: Hash) -> bool {
        ContributionByHash::<T>::iter_prefix(content_hash)
            .next()
            .is_some()
    }

    /// [`DatanetsApi::max_contribution_bytes`](attribution_primitives::datanets::DatanetsApi::max_contribution_bytes).
    pub fn max_contribution_bytes() -> u64 {
        T::MaxContributionBytes::get()
    }

    /// [`DatanetsApi::version_manifest`](attribution_primitives::datanets::DatanetsApi::version_manifest):
    /// entries `start .. start + min(limit, MAX_PAGE_LEN)` of a published version's manifest.
    pub fn manifest_page(
        datanet: DatanetId,
        version: VersionIndex,
        start: u32,
        limit: u32,
    ) -> Option<ManifestPage> {
        let info = Versions::<T>::get(datanet, version)?;
        let manifest = Manifests::<T>::get(datanet, version).unwrap_or_default();
        let entries = manifest
            .iter()
            .skip(start as usize)
            .take(limit.min(MAX_PAGE_LEN) as usize)
            .cloned()
            .collect();
        Some(ManifestPage {
            merkle_root: info.merkle_root,
            total: info.contributions,
            start,
            entries,
        })
    }
}
