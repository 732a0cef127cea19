//! Benchmarks of every call at its worst case (frame-benchmarking v2).

use super::*;
use crate::Pallet as Datanets;
use alloc::vec;
use attribution_primitives::datanets::{
    MAX_DESCRIPTION_LEN, MAX_LICENSE_LEN, MAX_METADATA_LEN, MAX_NAME_LEN,
};
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Get};
use frame_system::RawOrigin;
use sp_runtime::traits::{BlakeTwo256, Hash as _};

/// An account with more OPEN than any benchmark spends.
fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
    let who: T::AccountId = account(name, index, 0);
    T::Currency::set_balance(&who, 1u128 << 100);
    who
}

/// Rules that never stop a benchmark: the largest blobs, no daily limit that setup could hit.
fn open_rules<T: Config>() -> RuleOverrides<Balance> {
    RuleOverrides {
        max_contribution_bytes: Some(T::MaxContributionBytes::get()),
        daily_bytes: Some(T::MaxDailyBytes::get()),
        daily_files: Some(T::MaxDailyFiles::get()),
        bond: None,
    }
}

/// A datanet owned by a fresh account; returns (id, owner).
fn datanet<T: Config>() -> (DatanetId, T::AccountId) {
    let owner = funded::<T>("owner", 0);
    let id = NextDatanetId::<T>::get();
    Datanets::<T>::create_datanet(
        RawOrigin::Signed(owner.clone()).into(),
        vec![b'n'],
        vec![],
        DataKind::Text,
        open_rules::<T>(),
    )
    .expect("a funded owner creates a datanet");
    (id, owner)
}

/// `who` announces the `n`-th benchmark blob to `datanet`; returns its id.
fn announce<T: Config>(who: &T::AccountId, datanet: DatanetId, n: u32) -> ContributionId {
    let id = NextContributionId::<T>::get();
    Datanets::<T>::contribute(
        RawOrigin::Signed(who.clone()).into(),
        datanet,
        BlakeTwo256::hash_of(&n),
        1,
        1,
        vec![b'l'],
        vec![],
    )
    .expect("a funded contributor announces a fresh blob");
    id
}

/// `u` approved contributions waiting for the next version, from `u` distinct contributors.
fn queue_approved<T: Config>(datanet: DatanetId, owner: &T::AccountId, u: u32) {
    for n in 0..u {
        let contributor = funded::<T>("contributor", n);
        let id = announce::<T>(&contributor, datanet, n);
        Datanets::<T>::approve(RawOrigin::Signed(owner.clone()).into(), id)
            .expect("the owner curates");
    }
}

/// `c` curators besides the owner.
fn add_curators<T: Config>(datanet: DatanetId, owner: &T::AccountId, c: u32) {
    for index in 0..c {
        Datanets::<T>::add_curator(
            RawOrigin::Signed(owner.clone()).into(),
            datanet,
            account("curator", index, 0),
        )
        .expect("below the curator bound");
    }
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn create_datanet() {
        let owner = funded::<T>("owner", 0);
        let name = vec![b'n'; MAX_NAME_LEN as usize];
        let description = vec![b'd'; MAX_DESCRIPTION_LEN as usize];

        #[extrinsic_call]
        _(
            RawOrigin::Signed(owner.clone()),
            name,
            description,
            DataKind::Text,
            open_rules::<T>(),
        );

        assert_eq!(
            Datanets::<T>::datanet_info(0).map(|info| info.owner),
            Some(owner)
        );
    }

    #[benchmark]
    fn add_curator(c: Linear<0, { MAX_CURATORS - 1 }>) {
        let (id, owner) = datanet::<T>();
        add_curators::<T>(id, &owner, c);
        let curator: T::AccountId = account("new-curator", 0, 0);

        #[extrinsic_call]
        _(RawOrigin::Signed(owner), id, curator.clone());

        frame_system::Pallet::<T>::assert_last_event(
            Event::<T>::CuratorAdded {
                datanet: id,
                curator,
            }
            .into(),
        );
    }

    #[benchmark]
    fn remove_curator(c: Linear<1, MAX_CURATORS>) {
        let (id, owner) = datanet::<T>();
        add_curators::<T>(id, &owner, c);
        // The last one: the longest search.
        let curator: T::AccountId = account("curator", c - 1, 0);

        #[extrinsic_call]
        _(RawOrigin::Signed(owner), id, curator.clone());

        frame_system::Pallet::<T>::assert_last_event(
            Event::<T>::CuratorRemoved {
                datanet: id,
                curator,
            }
            .into(),
        );
    }

    #[benchmark]
    fn contribute() {
        let (id, _) = datanet::<T>();
        let contributor = funded::<T>("contributor", 0);
        // An earlier contribution today: the usage is read and updated, not created.
        announce::<T>(&contributor, id, 0);
        let hash = Hash::repeat_byte(0xab);
        let size = T::MaxContributionBytes::get();

        #[extrinsic_call]
        _(
            RawOrigin::Signed(contributor),
            id,
            hash,
            size,
            size,
            vec![b'l'; MAX_LICENSE_LEN as usize],
            vec![b'm'; MAX_METADATA_LEN as usize],
        );

        assert!(ContributionByHash::<T>::contains_key(hash, id));
    }

    #[benchmark]
    fn approve(u: Linear<0, { T::MaxContributionsPerVersion::get() - 1 }>) {
        let (id, owner) = datanet::<T>();
        queue_approved::<T>(id, &owner, u);
        let contributor = funded::<T>("pending", 0);
        let contribution = announce::<T>(&contributor, id, u);

        #[extrinsic_call]
        _(RawOrigin::Signed(owner), contribution);

        assert_eq!(Unpublished::<T>::get(id).len() as u32, u + 1);
    }

    #[benchmark]
    fn reject() {
        let (id, owner) = datanet::<T>();
        T::Currency::set_balance(&T::Treasury::get(), 1u128 << 100);
        let contributor = funded::<T>("contributor", 0);
        let contribution = announce::<T>(&contributor, id, 0);

        // Spam: the slash moves the bond to the treasury, the costlier path.
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), contribution, true);

        assert!(Contributions::<T>::get(contribution).is_none());
    }

    #[benchmark]
    fn publish_version(n: Linear<1, { T::MaxContributionsPerVersion::get() }>) {
        let (id, owner) = datanet::<T>();
        // Distinct contributors: one points entry each, the most writes.
        queue_approved::<T>(id, &owner, n);

        #[extrinsic_call]
        _(RawOrigin::Signed(owner), id);

        assert_eq!(Versions::<T>::get(id, 1).map(|v| v.contributions), Some(n));
    }

    #[benchmark]
    fn withdraw() {
        let (id, _) = datanet::<T>();
        let contributor = funded::<T>("contributor", 0);
        let contribution = announce::<T>(&contributor, id, 0);

        #[extrinsic_call]
        _(RawOrigin::Signed(contributor), contribution);

        assert!(Contributions::<T>::get(contribution).is_none());
    }

    #[benchmark]
    fn expire() {
        let (id, _) = datanet::<T>();
        let contributor = funded::<T>("contributor", 0);
        let contribution = announce::<T>(&contributor, id, 0);
        let now = frame_system::Pallet::<T>::block_number();
        frame_system::Pallet::<T>::set_block_number(now + T::PendingTimeout::get());
        let caller = funded::<T>("caller", 0);

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), contribution);

        assert!(Contributions::<T>::get(contribution).is_none());
    }

    #[benchmark]
    fn close_datanet() {
        let (id, owner) = datanet::<T>();

        #[extrinsic_call]
        _(RawOrigin::Signed(owner), id);

        assert_eq!(
            Datanets::<T>::datanet_info(id).map(|info| info.closed),
            Some(true)
        );
    }

    impl_benchmark_test_suite!(Datanets, crate::mock::ExtBuilder.build(), crate::mock::Test);
}
