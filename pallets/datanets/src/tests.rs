//! Stories of datanets: creation, curators, contributions, curation and versions.

use crate::{
    mock::*, pallet::Error, ContributionByHash, ContributionByPosition, ContributionStatus,
    Contributions, ContributorStats, DailyUsage, DataKind, DatanetRules,
    Datanets as DatanetsStorage, DatanetsInspect, Event, HoldReason, ManifestEntry, Manifests,
    NextContributionId, NextDatanetId, Points, PoolId, RuleOverrides, Stats, Unpublished, Usage,
    VersionMember, VersionSummary, Versions, WeightInfo, DEFAULT_DAILY_BYTES, DEFAULT_DAILY_FILES,
    DEFAULT_MAX_CONTRIBUTION_BYTES, MAX_CURATORS,
};
use attribution_primitives::{
    datanets::{
        MAX_DESCRIPTION_LEN, MAX_LICENSE_LEN, MAX_METADATA_LEN, MAX_NAME_LEN, MAX_PAGE_LEN,
    },
    merkle, Hash,
};
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold};
use sp_runtime::{DispatchError, TokenError};

fn held(reason: HoldReason, who: AccountId) -> u128 {
    Balances::balance_on_hold(&RuntimeHoldReason::Datanets(reason), &who)
}

fn create(
    name: &[u8],
    description: &[u8],
    rules: RuleOverrides<u128>,
) -> sp_runtime::DispatchResult {
    Datanets::create_datanet(
        RuntimeOrigin::signed(OWNER),
        name.to_vec(),
        description.to_vec(),
        DataKind::Text,
        rules,
    )
}

fn announce(
    who: AccountId,
    datanet: u32,
    hash: Hash,
    size: u64,
    license: &[u8],
    metadata: &[u8],
) -> sp_runtime::DispatchResult {
    Datanets::contribute(
        RuntimeOrigin::signed(who),
        datanet,
        hash,
        size,
        weight_of(size),
        license.to_vec(),
        metadata.to_vec(),
    )
}

mod create_datanet {
    use super::*;

    #[test]
    fn holds_the_deposit_and_fills_in_default_rules() {
        ExtBuilder.build_and_execute(|| {
            assert_ok!(Datanets::create_datanet(
                RuntimeOrigin::signed(OWNER),
                b"speech".to_vec(),
                b"read news".to_vec(),
                DataKind::Audio,
                RuleOverrides::default(),
            ));

            assert_eq!(
                last_event(),
                Event::DatanetCreated {
                    datanet: 0,
                    owner: OWNER,
                    kind: DataKind::Audio,
                    deposit: DEPOSIT
                }
            );
            let info = DatanetsStorage::<Test>::get(0).unwrap();
            assert_eq!(info.owner, OWNER);
            assert_eq!(info.name.to_vec(), b"speech".to_vec());
            assert_eq!(info.kind, DataKind::Audio);
            assert_eq!(
                info.rules,
                DatanetRules {
                    max_contribution_bytes: DEFAULT_MAX_CONTRIBUTION_BYTES,
                    daily_bytes: DEFAULT_DAILY_BYTES,
                    daily_files: DEFAULT_DAILY_FILES,
                    bond: MIN_BOND,
                }
            );
            assert_eq!(
                (info.deposit, info.created_at, info.versions),
                (DEPOSIT, 1, 0)
            );
            assert_eq!(held(HoldReason::DatanetDeposit, OWNER), DEPOSIT);
            assert_eq!(free(OWNER), FUNDS - DEPOSIT);
            assert_eq!(NextDatanetId::<Test>::get(), 1);
        });
    }

    #[test]
    fn keeps_the_rules_the_owner_sets() {
        ExtBuilder.build_and_execute(|| {
            let rules = RuleOverrides {
                max_contribution_bytes: Some(MAX_BYTES_LIMIT),
                daily_bytes: Some(1),
                daily_files: Some(3),
                bond: Some(77),
            };
            assert_ok!(create(b"n", b"", rules));
            assert_eq!(
                DatanetsStorage::<Test>::get(0).unwrap().rules,
                DatanetRules {
                    max_contribution_bytes: MAX_BYTES_LIMIT,
                    daily_bytes: 1,
                    daily_files: 3,
                    bond: 77
                }
            );
        });
    }

    #[test]
    fn accepts_name_and_description_at_their_bounds() {
        ExtBuilder.build_and_execute(|| {
            let name = vec![b'n'; MAX_NAME_LEN as usize];
            let description = vec![b'd'; MAX_DESCRIPTION_LEN as usize];
            assert_ok!(create(&name, &description, RuleOverrides::default()));
        });
    }

    #[test]
    fn refuses_malformed_names_and_descriptions() {
        ExtBuilder.build_and_execute(|| {
            let default = RuleOverrides::default();
            assert_noop!(create(b"", b"d", default), Error::<Test>::EmptyName);
            assert_noop!(
                create(&vec![b'n'; MAX_NAME_LEN as usize + 1], b"d", default),
                Error::<Test>::NameTooLong
            );
            assert_noop!(
                create(b"n", &vec![b'd'; MAX_DESCRIPTION_LEN as usize + 1], default),
                Error::<Test>::DescriptionTooLong
            );
        });
    }

    #[test]
    fn refuses_zero_limits_oversize_limits_and_low_bonds() {
        ExtBuilder.build_and_execute(|| {
            for zero in [
                RuleOverrides {
                    max_contribution_bytes: Some(0),
                    ..Default::default()
                },
                RuleOverrides {
                    daily_bytes: Some(0),
                    ..Default::default()
                },
                RuleOverrides {
                    daily_files: Some(0),
                    ..Default::default()
                },
            ] {
                assert_noop!(create(b"n", b"", zero), Error::<Test>::ZeroLimit);
            }
            assert_noop!(
                create(
                    b"n",
                    b"",
                    RuleOverrides {
                        max_contribution_bytes: Some(MAX_BYTES_LIMIT + 1),
                        ..Default::default()
                    }
                ),
                Error::<Test>::ContributionLimitTooLarge
            );
            assert_noop!(
                create(
                    b"n",
                    b"",
                    RuleOverrides {
                        bond: Some(MIN_BOND - 1),
                        ..Default::default()
                    }
                ),
                Error::<Test>::BondTooLow
            );
        });
    }

    #[test]
    fn needs_the_deposit_and_a_signed_origin() {
        ExtBuilder.build_and_execute(|| {
            assert_noop!(
                Datanets::create_datanet(
                    RuntimeOrigin::signed(POOR),
                    b"n".to_vec(),
                    vec![],
                    DataKind::Text,
                    Default::default()
                ),
                TokenError::FundsUnavailable
            );
            assert_noop!(
                Datanets::create_datanet(
                    RuntimeOrigin::none(),
                    b"n".to_vec(),
                    vec![],
                    DataKind::Text,
                    Default::default()
                ),
                DispatchError::BadOrigin
            );
        });
    }

    #[test]
    fn refuses_when_ids_run_out() {
        ExtBuilder.build_and_execute(|| {
            NextDatanetId::<Test>::put(u32::MAX);
            assert_noop!(
                create(b"n", b"", RuleOverrides::default()),
                Error::<Test>::Overflow
            );
        });
    }
}

mod curators {
    use super::*;

    #[test]
    fn owner_adds_and_removes_curators() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            assert_eq!(
                last_event(),
                Event::CuratorAdded {
                    datanet: id,
                    curator: CURATOR
                }
            );
            assert_eq!(
                DatanetsStorage::<Test>::get(id).unwrap().curators.to_vec(),
                vec![CURATOR]
            );

            assert_ok!(Datanets::remove_curator(
                RuntimeOrigin::signed(OWNER),
                id,
                CURATOR
            ));
            assert_eq!(
                last_event(),
                Event::CuratorRemoved {
                    datanet: id,
                    curator: CURATOR
                }
            );
            assert!(DatanetsStorage::<Test>::get(id)
                .unwrap()
                .curators
                .is_empty());

            // A removed curator can no longer curate.
            let c = contribute(ALICE, id, 1, 100);
            assert_noop!(
                Datanets::approve(RuntimeOrigin::signed(CURATOR), c),
                Error::<Test>::NotCurator
            );
        });
    }

    #[test]
    fn only_the_owner_manages_curators_of_a_known_datanet() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            assert_noop!(
                Datanets::add_curator(RuntimeOrigin::signed(CURATOR), id, BOB),
                Error::<Test>::NotOwner
            );
            assert_noop!(
                Datanets::remove_curator(RuntimeOrigin::signed(CURATOR), id, CURATOR),
                Error::<Test>::NotOwner
            );
            assert_noop!(
                Datanets::add_curator(RuntimeOrigin::signed(OWNER), 9, BOB),
                Error::<Test>::UnknownDatanet
            );
            assert_noop!(
                Datanets::remove_curator(RuntimeOrigin::signed(OWNER), 9, BOB),
                Error::<Test>::UnknownDatanet
            );
        });
    }

    #[test]
    fn refuses_duplicates_the_owner_unknown_curators_and_too_many() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            assert_noop!(
                Datanets::add_curator(RuntimeOrigin::signed(OWNER), id, CURATOR),
                Error::<Test>::AlreadyCurator
            );
            assert_noop!(
                Datanets::add_curator(RuntimeOrigin::signed(OWNER), id, OWNER),
                Error::<Test>::AlreadyCurator
            );
            assert_noop!(
                Datanets::remove_curator(RuntimeOrigin::signed(OWNER), id, BOB),
                Error::<Test>::CuratorNotFound
            );
            for curator in 1..MAX_CURATORS as u64 {
                assert_ok!(Datanets::add_curator(
                    RuntimeOrigin::signed(OWNER),
                    id,
                    1000 + curator
                ));
            }
            assert_noop!(
                Datanets::add_curator(RuntimeOrigin::signed(OWNER), id, 5000),
                Error::<Test>::TooManyCurators
            );
        });
    }
}

mod contribute {
    use super::*;

    #[test]
    fn announces_holds_the_bond_and_counts_the_day() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            assert_ok!(announce(ALICE, id, blob(1), 1234, b"MIT", b"{\"rows\":3}"));

            assert_eq!(
                last_event(),
                Event::Contributed {
                    contribution: 0,
                    datanet: id,
                    contributor: ALICE,
                    content_hash: blob(1),
                    size: 1234,
                    weight: 1234,
                    bond: MIN_BOND,
                    deposit: 1234 * DEPOSIT_PER_BYTE,
                }
            );
            let record = Contributions::<Test>::get(0).unwrap();
            assert_eq!(
                (record.datanet, record.position, record.contributor),
                (id, 0, ALICE)
            );
            assert_eq!(
                (record.content_hash, record.size, record.bond),
                (blob(1), 1234, MIN_BOND)
            );
            assert_eq!(record.license.to_vec(), b"MIT".to_vec());
            assert_eq!(record.metadata.to_vec(), b"{\"rows\":3}".to_vec());
            assert_eq!(record.status, ContributionStatus::Pending);
            assert_eq!(ContributionByHash::<Test>::get(blob(1), id), Some(0));
            assert_eq!(ContributionByPosition::<Test>::get(id, 0), Some(0));
            assert_eq!(held(HoldReason::ContributionBond, ALICE), MIN_BOND);
            assert_eq!(
                Usage::<Test>::get(id, ALICE),
                DailyUsage {
                    day: 0,
                    bytes: 1234,
                    files: 1
                }
            );
            assert_eq!(
                held(HoldReason::StorageDeposit, ALICE),
                1234 * DEPOSIT_PER_BYTE
            );
            assert_eq!(
                Stats::<Test>::get(ALICE),
                ContributorStats {
                    pending: 1,
                    pending_bytes: 1234,
                    bond_held: MIN_BOND,
                    deposit_held: 1234 * DEPOSIT_PER_BYTE,
                    ..Default::default()
                }
            );
            let info = DatanetsStorage::<Test>::get(id).unwrap();
            assert_eq!((info.announced, info.pending), (1, 1));
            assert_eq!(NextContributionId::<Test>::get(), 1);
        });
    }

    #[test]
    fn refuses_unknown_datanets_empty_and_oversize_blobs() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            assert_noop!(
                announce(ALICE, 9, blob(1), 1, b"MIT", b""),
                Error::<Test>::UnknownDatanet
            );
            assert_noop!(
                announce(ALICE, id, blob(1), 0, b"MIT", b""),
                Error::<Test>::EmptyContribution
            );
            assert_noop!(
                announce(
                    ALICE,
                    id,
                    blob(1),
                    DEFAULT_MAX_CONTRIBUTION_BYTES + 1,
                    b"MIT",
                    b""
                ),
                Error::<Test>::ContributionTooLarge
            );
            assert_ok!(announce(
                ALICE,
                id,
                blob(1),
                DEFAULT_MAX_CONTRIBUTION_BYTES,
                b"MIT",
                b""
            ));
        });
    }

    #[test]
    fn refuses_malformed_license_and_metadata() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            assert_noop!(
                announce(ALICE, id, blob(1), 1, b"", b""),
                Error::<Test>::EmptyLicense
            );
            assert_noop!(
                announce(
                    ALICE,
                    id,
                    blob(1),
                    1,
                    &vec![b'l'; MAX_LICENSE_LEN as usize + 1],
                    b""
                ),
                Error::<Test>::LicenseTooLong
            );
            assert_noop!(
                announce(
                    ALICE,
                    id,
                    blob(1),
                    1,
                    b"MIT",
                    &vec![b'm'; MAX_METADATA_LEN as usize + 1]
                ),
                Error::<Test>::MetadataTooLong
            );
        });
    }

    #[test]
    fn refuses_a_hash_already_in_the_datanet_but_not_in_another() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let other = text_datanet();
            contribute(ALICE, id, 1, 100);
            assert_noop!(
                announce(BOB, id, blob(1), 100, b"MIT", b""),
                Error::<Test>::DuplicateContribution
            );
            // Replayed by the same account, with another size: still a duplicate.
            assert_noop!(
                announce(ALICE, id, blob(1), 99, b"MIT", b""),
                Error::<Test>::DuplicateContribution
            );
            contribute(BOB, other, 1, 100);

            // Still refused once approved and once published.
            approve(0);
            assert_noop!(
                announce(BOB, id, blob(1), 100, b"MIT", b""),
                Error::<Test>::DuplicateContribution
            );
            assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));
            assert_noop!(
                announce(BOB, id, blob(1), 100, b"MIT", b""),
                Error::<Test>::DuplicateContribution
            );
        });
    }

    #[test]
    fn enforces_daily_files_per_account_and_resets_the_next_day() {
        ExtBuilder.build_and_execute(|| {
            let id = datanet_with(RuleOverrides {
                daily_files: Some(2),
                ..Default::default()
            });
            contribute(ALICE, id, 1, 10);
            contribute(ALICE, id, 2, 10);
            assert_noop!(
                announce(ALICE, id, blob(3), 10, b"MIT", b""),
                Error::<Test>::DailyFilesExceeded
            );
            // Another account has its own allowance.
            contribute(BOB, id, 3, 10);

            System::set_block_number(BLOCKS_PER_DAY);
            contribute(ALICE, id, 4, 10);
            assert_eq!(
                Usage::<Test>::get(id, ALICE),
                DailyUsage {
                    day: 1,
                    bytes: 10,
                    files: 1
                }
            );
        });
    }

    #[test]
    fn enforces_daily_bytes_per_account_and_resets_the_next_day() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            contribute(ALICE, id, 1, DEFAULT_MAX_CONTRIBUTION_BYTES);
            contribute(
                ALICE,
                id,
                2,
                DEFAULT_DAILY_BYTES - DEFAULT_MAX_CONTRIBUTION_BYTES,
            );
            assert_noop!(
                announce(ALICE, id, blob(3), 1, b"MIT", b""),
                Error::<Test>::DailyBytesExceeded
            );
            contribute(BOB, id, 3, 1);

            System::set_block_number(2 * BLOCKS_PER_DAY + 3);
            contribute(ALICE, id, 4, 1);
        });
    }

    #[test]
    fn refuses_contributors_who_cannot_pay_the_bond() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            assert_noop!(
                announce(POOR, id, blob(1), 1, b"MIT", b""),
                TokenError::FundsUnavailable
            );
        });
    }

    #[test]
    fn refuses_when_ids_run_out() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            NextContributionId::<Test>::put(u64::MAX);
            assert_noop!(
                announce(ALICE, id, blob(1), 1, b"MIT", b""),
                Error::<Test>::Overflow
            );
        });
    }
}

mod curation {
    use super::*;

    #[test]
    fn approval_returns_the_bond_and_queues_for_the_next_version() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let c = contribute(ALICE, id, 1, 300);
            assert_eq!(free(ALICE), FUNDS - MIN_BOND - 300 * DEPOSIT_PER_BYTE);

            approve(c);

            assert_eq!(
                last_event(),
                Event::Approved {
                    contribution: c,
                    datanet: id,
                    curator: CURATOR,
                    weight: 300,
                    by_owner: false,
                }
            );
            // The bond is back; the storage deposit stays for as long as the blob is kept.
            assert_eq!(free(ALICE), FUNDS - 300 * DEPOSIT_PER_BYTE);
            assert_eq!(held(HoldReason::ContributionBond, ALICE), 0);
            assert_eq!(
                held(HoldReason::StorageDeposit, ALICE),
                300 * DEPOSIT_PER_BYTE
            );
            let record = Contributions::<Test>::get(c).unwrap();
            assert_eq!(
                (record.status, record.bond),
                (ContributionStatus::Approved, 0)
            );
            assert_eq!(Unpublished::<Test>::get(id).to_vec(), vec![c]);
            assert_eq!(
                Stats::<Test>::get(ALICE),
                ContributorStats {
                    approved: 1,
                    approved_bytes: 300,
                    deposit_held: 300 * DEPOSIT_PER_BYTE,
                    ..Default::default()
                }
            );
            let info = DatanetsStorage::<Test>::get(id).unwrap();
            assert_eq!((info.pending, info.approved_unpublished), (0, 1));
        });
    }

    #[test]
    fn the_owner_curates_too() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let c = contribute(ALICE, id, 1, 300);
            assert_ok!(Datanets::approve(RuntimeOrigin::signed(OWNER), c));
            let d = contribute(ALICE, id, 2, 300);
            assert_ok!(Datanets::reject(RuntimeOrigin::signed(OWNER), d, false));
        });
    }

    #[test]
    fn plain_rejection_returns_the_bond_and_frees_the_hash() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let c = contribute(ALICE, id, 1, 300);

            assert_ok!(Datanets::reject(RuntimeOrigin::signed(CURATOR), c, false));

            assert_eq!(
                last_event(),
                Event::Rejected {
                    contribution: c,
                    datanet: id,
                    curator: CURATOR,
                    spam: false,
                    slashed: 0,
                    content_hash: blob(1),
                }
            );
            assert_eq!(free(ALICE), FUNDS);
            assert_eq!(free(TREASURY), ED);
            assert!(Contributions::<Test>::get(c).is_none());
            assert!(ContributionByHash::<Test>::get(blob(1), id).is_none());
            assert!(ContributionByPosition::<Test>::get(id, 0).is_none());
            assert_eq!(
                Stats::<Test>::get(ALICE),
                ContributorStats {
                    rejected: 1,
                    ..Default::default()
                }
            );
            // The same bytes may be announced again (the day's allowance still counts them).
            contribute(ALICE, id, 1, 300);
        });
    }

    #[test]
    fn spam_rejection_slashes_the_bond_to_the_treasury() {
        ExtBuilder.build_and_execute(|| {
            let id = datanet_with(RuleOverrides {
                bond: Some(40),
                ..Default::default()
            });
            let c = contribute(ALICE, id, 1, 300);

            assert_ok!(Datanets::reject(RuntimeOrigin::signed(CURATOR), c, true));

            assert_eq!(
                last_event(),
                Event::Rejected {
                    contribution: c,
                    datanet: id,
                    curator: CURATOR,
                    spam: true,
                    slashed: 40,
                    content_hash: blob(1),
                }
            );
            assert_eq!(free(ALICE), FUNDS - 40);
            assert_eq!(held(HoldReason::ContributionBond, ALICE), 0);
            assert_eq!(free(TREASURY), ED + 40);
            assert_eq!(
                Stats::<Test>::get(ALICE),
                ContributorStats {
                    slashed: 1,
                    bond_slashed: 40,
                    ..Default::default()
                }
            );
            assert!(Contributions::<Test>::get(c).is_none());
        });
    }

    #[test]
    fn only_owner_or_curators_curate() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let c = contribute(ALICE, id, 1, 300);
            // Not even the contributor themself.
            assert_noop!(
                Datanets::approve(RuntimeOrigin::signed(ALICE), c),
                Error::<Test>::NotCurator
            );
            assert_noop!(
                Datanets::reject(RuntimeOrigin::signed(BOB), c, true),
                Error::<Test>::NotCurator
            );
            // A curator of another datanet is a stranger here.
            let other = text_datanet();
            assert_ok!(Datanets::add_curator(
                RuntimeOrigin::signed(OWNER),
                other,
                CHARLIE
            ));
            assert_noop!(
                Datanets::approve(RuntimeOrigin::signed(CHARLIE), c),
                Error::<Test>::NotCurator
            );
        });
    }

    #[test]
    fn unknown_and_already_curated_contributions_are_refused() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            assert_noop!(
                Datanets::approve(RuntimeOrigin::signed(CURATOR), 7),
                Error::<Test>::UnknownContribution
            );
            assert_noop!(
                Datanets::reject(RuntimeOrigin::signed(CURATOR), 7, false),
                Error::<Test>::UnknownContribution
            );
            let c = contribute(ALICE, id, 1, 300);
            approve(c);
            // Replayed or out of order.
            assert_noop!(
                Datanets::approve(RuntimeOrigin::signed(CURATOR), c),
                Error::<Test>::NotPending
            );
            assert_noop!(
                Datanets::reject(RuntimeOrigin::signed(CURATOR), c, true),
                Error::<Test>::NotPending
            );
            let d = contribute(ALICE, id, 2, 300);
            assert_ok!(Datanets::reject(RuntimeOrigin::signed(CURATOR), d, false));
            assert_noop!(
                Datanets::approve(RuntimeOrigin::signed(CURATOR), d),
                Error::<Test>::UnknownContribution
            );
        });
    }

    #[test]
    fn approvals_beyond_a_full_version_wait_for_the_publish() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let ids: Vec<_> = (1..=MAX_PER_VERSION as u8 + 1)
                .map(|n| contribute(ALICE, id, n, 10))
                .collect();
            for &c in &ids[..MAX_PER_VERSION as usize] {
                approve(c);
            }
            let last = ids[MAX_PER_VERSION as usize];
            assert_noop!(
                Datanets::approve(RuntimeOrigin::signed(CURATOR), last),
                Error::<Test>::VersionFull
            );

            assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));
            approve(last);
        });
    }
}

mod publish_version {
    use super::*;

    /// A datanet with approved contributions from three accounts (Alice twice) and a pending one.
    fn curated_datanet() -> (u32, Vec<u64>) {
        let id = text_datanet();
        let ids = vec![
            contribute(ALICE, id, 1, 100),
            contribute(BOB, id, 2, 250),
            contribute(ALICE, id, 3, 50),
            contribute(CHARLIE, id, 4, 7),
        ];
        for &c in &ids {
            approve(c);
        }
        contribute(BOB, id, 5, 999);
        (id, ids)
    }

    #[test]
    fn freezes_the_approved_set_with_its_root_manifest_and_points() {
        ExtBuilder.build_and_execute(|| {
            let (id, ids) = curated_datanet();
            System::set_block_number(5);

            assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));

            let leaves = [blob(1), blob(2), blob(3), blob(4)];
            let root = merkle::root(&leaves);
            assert_eq!(
                last_event(),
                Event::VersionPublished {
                    datanet: id,
                    version: 1,
                    merkle_root: root,
                    contributions: 4,
                    total_weight: 407
                }
            );
            let version = Versions::<Test>::get(id, 1).unwrap();
            assert_eq!(
                (
                    version.merkle_root,
                    version.contributions,
                    version.total_weight
                ),
                (root, 4, 407)
            );
            assert_eq!((version.total_bytes, version.published_at), (407, 5));
            let manifest = Manifests::<Test>::get(id, 1).unwrap();
            assert_eq!(
                manifest[1],
                ManifestEntry {
                    contribution: ids[1],
                    content_hash: blob(2),
                    size: 250
                }
            );
            // Every manifest entry proves its membership against the root.
            for (index, entry) in manifest.iter().enumerate() {
                let proof = merkle::proof(&leaves, index as u32).unwrap();
                assert!(merkle::verify(
                    &version.merkle_root,
                    &entry.content_hash,
                    &proof
                ));
            }
            let pool = PoolId {
                datanet: id,
                version: 1,
            };
            assert_eq!(Points::<Test>::get(pool, ALICE), 150);
            assert_eq!(Points::<Test>::get(pool, BOB), 250);
            assert_eq!(Points::<Test>::get(pool, CHARLIE), 7);
            for &c in &ids {
                assert_eq!(
                    Contributions::<Test>::get(c).unwrap().status,
                    ContributionStatus::Published(1)
                );
            }
            assert!(Unpublished::<Test>::get(id).is_empty());
            let info = DatanetsStorage::<Test>::get(id).unwrap();
            assert_eq!(
                (info.versions, info.approved_unpublished, info.pending),
                (1, 0, 1)
            );
        });
    }

    #[test]
    fn is_weighed_by_the_contributions_it_freezes() {
        ExtBuilder.build_and_execute(|| {
            let (id, _) = curated_datanet();
            let info = Datanets::publish_version(RuntimeOrigin::signed(OWNER), id).unwrap();
            assert_eq!(
                info.actual_weight,
                Some(<() as WeightInfo>::publish_version(4))
            );
        });
    }

    #[test]
    fn later_approvals_go_to_the_next_version_and_earlier_versions_never_change() {
        ExtBuilder.build_and_execute(|| {
            let (id, _) = curated_datanet();
            assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));
            let first = Versions::<Test>::get(id, 1).unwrap();
            let first_manifest = Manifests::<Test>::get(id, 1).unwrap();

            approve(4); // Bob's pending blob 5
            let e = contribute(CHARLIE, id, 6, 3);
            approve(e);
            assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));

            assert_eq!(Versions::<Test>::get(id, 1).unwrap(), first);
            assert_eq!(Manifests::<Test>::get(id, 1).unwrap(), first_manifest);
            let second = Versions::<Test>::get(id, 2).unwrap();
            assert_eq!((second.contributions, second.total_weight), (2, 1002));
            assert_eq!(second.merkle_root, merkle::root(&[blob(5), blob(6)]));
            assert_eq!(
                Points::<Test>::get(
                    PoolId {
                        datanet: id,
                        version: 2
                    },
                    ALICE
                ),
                0
            );
            assert_eq!(
                Points::<Test>::get(
                    PoolId {
                        datanet: id,
                        version: 2
                    },
                    BOB
                ),
                999
            );
            assert_eq!(
                Contributions::<Test>::get(4).unwrap().status,
                ContributionStatus::Published(2)
            );
        });
    }

    #[test]
    fn only_the_owner_publishes_something_of_a_known_datanet() {
        ExtBuilder.build_and_execute(|| {
            let (id, _) = curated_datanet();
            assert_noop!(
                Datanets::publish_version(RuntimeOrigin::signed(CURATOR), id),
                Error::<Test>::NotOwner
            );
            assert_noop!(
                Datanets::publish_version(RuntimeOrigin::signed(OWNER), 9),
                Error::<Test>::UnknownDatanet
            );
            assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));
            // Replayed: nothing approved since.
            assert_noop!(
                Datanets::publish_version(RuntimeOrigin::signed(OWNER), id),
                Error::<Test>::NothingToPublish
            );
        });
    }
}

mod inspect {
    use super::*;

    #[test]
    fn answers_versions_members_and_points() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let a = contribute(ALICE, id, 1, 100);
            let b = contribute(BOB, id, 2, 20);
            approve(a);
            approve(b);
            let pending = contribute(BOB, id, 3, 5);
            assert_eq!(<Datanets as DatanetsInspect<_>>::version(id, 1), None);
            assert_eq!(
                <Datanets as DatanetsInspect<_>>::member(id, 1, a),
                None,
                "approved but not published"
            );
            assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));

            assert_eq!(
                <Datanets as DatanetsInspect<_>>::version(id, 1),
                Some(VersionSummary {
                    merkle_root: merkle::root(&[blob(1), blob(2)]),
                    contributions: 2,
                    total_weight: 120
                })
            );
            assert_eq!(
                <Datanets as DatanetsInspect<_>>::member(id, 1, a),
                Some(VersionMember {
                    contributor: ALICE,
                    weight: 100
                })
            );
            assert_eq!(
                <Datanets as DatanetsInspect<_>>::member(id, 2, a),
                None,
                "wrong version"
            );
            assert_eq!(
                <Datanets as DatanetsInspect<_>>::member(id + 1, 1, a),
                None,
                "wrong datanet"
            );
            assert_eq!(
                <Datanets as DatanetsInspect<_>>::member(id, 1, pending),
                None,
                "pending"
            );
            assert_eq!(<Datanets as DatanetsInspect<_>>::points(id, 1, &BOB), 20);
            assert_eq!(<Datanets as DatanetsInspect<_>>::points(id, 1, &CHARLIE), 0);
        });
    }
}

mod queries {
    use super::*;

    #[test]
    fn pages_contributions_in_announcement_order_skipping_rejected_ones() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let other = text_datanet();
            let ids: Vec<_> = (1..=5).map(|n| contribute(ALICE, id, n, 10)).collect();
            contribute(BOB, other, 9, 10);
            assert_ok!(Datanets::reject(
                RuntimeOrigin::signed(CURATOR),
                ids[1],
                false
            ));

            let first = Datanets::contributions_page(id, 0, 3);
            let got: Vec<_> = first.contributions.iter().map(|(c, _)| *c).collect();
            assert_eq!(got, vec![ids[0], ids[2]]);
            assert_eq!(first.next, Some(3));
            let second = Datanets::contributions_page(id, 3, 3);
            assert_eq!(
                second
                    .contributions
                    .iter()
                    .map(|(c, _)| *c)
                    .collect::<Vec<_>>(),
                vec![ids[3], ids[4]]
            );
            assert_eq!(second.next, None);
            assert!(Datanets::contributions_page(9, 0, 3)
                .contributions
                .is_empty());
            // Huge limits are cut to a page; huge starts are empty.
            assert_eq!(
                Datanets::contributions_page(id, 0, u32::MAX)
                    .contributions
                    .len(),
                4
            );
            assert!(Datanets::contributions_page(id, u32::MAX, u32::MAX)
                .contributions
                .is_empty());
        });
    }

    #[test]
    fn tells_who_announced_a_hash_in_which_datanet() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let c = contribute_weighted(ALICE, id, blob(1), 10, 7);
            assert_eq!(
                Datanets::announcement(blob(1), id),
                Some(crate::Announcement {
                    contribution: c,
                    datanet: id,
                    contributor: ALICE,
                    kind: DataKind::Text,
                    max_contribution_bytes: DEFAULT_MAX_CONTRIBUTION_BYTES,
                    size: 10,
                    weight: 7,
                    status: ContributionStatus::Pending,
                })
            );
            assert!(Datanets::is_announced(blob(1)));
            assert_eq!(Datanets::announcement(blob(2), id), None, "unannounced");
            assert!(!Datanets::is_announced(blob(2)));

            approve(c);
            assert_eq!(
                Datanets::announcement(blob(1), id).unwrap().status,
                ContributionStatus::Approved
            );
            let d = contribute(ALICE, id, 2, 10);
            assert_ok!(Datanets::reject(RuntimeOrigin::signed(CURATOR), d, true));
            assert_eq!(Datanets::announcement(blob(2), id), None, "rejected");
            assert!(!Datanets::is_announced(blob(2)), "rejected");

            // The same hash in another datanet is another announcement, by another contributor:
            // an upload names its datanet, so the stricter kind's check cannot be skipped.
            let images = NextDatanetId::<Test>::get();
            assert_ok!(Datanets::create_datanet(
                RuntimeOrigin::signed(BOB),
                b"images".to_vec(),
                vec![],
                DataKind::Image,
                RuleOverrides::default(),
            ));
            let theirs = contribute(BOB, images, 1, 99);
            let announced = Datanets::announcement(blob(1), images).unwrap();
            assert_eq!(
                (
                    announced.contribution,
                    announced.contributor,
                    announced.kind
                ),
                (theirs, BOB, DataKind::Image)
            );
            assert_eq!(
                Datanets::announcement(blob(1), id).unwrap().contributor,
                ALICE
            );
            assert_eq!(Datanets::announcement(blob(1), 77), None, "unknown datanet");
        });
    }

    #[test]
    fn pages_a_version_manifest() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            for n in 1..=3 {
                let c = contribute(ALICE, id, n, u64::from(n));
                approve(c);
            }
            assert_eq!(Datanets::manifest_page(id, 1, 0, 10), None);
            assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));

            let page = Datanets::manifest_page(id, 1, 1, 10).unwrap();
            assert_eq!((page.total, page.start), (3, 1));
            assert_eq!(page.merkle_root, merkle::root(&[blob(1), blob(2), blob(3)]));
            assert_eq!(
                page.entries
                    .iter()
                    .map(|e| e.content_hash)
                    .collect::<Vec<_>>(),
                vec![blob(2), blob(3)]
            );
            assert_eq!(
                Datanets::manifest_page(id, 1, 0, 1).unwrap().entries.len(),
                1
            );
            assert!(Datanets::manifest_page(id, 1, 5, MAX_PAGE_LEN)
                .unwrap()
                .entries
                .is_empty());
            assert_eq!(Datanets::version_info(id, 1).unwrap().contributions, 3);
            assert_eq!(Datanets::datanet_info(id).unwrap().versions, 1);
            assert_eq!(Datanets::contributor_stats(&ALICE).approved, 3);
            assert_eq!(Datanets::max_contribution_bytes(), MAX_BYTES_LIMIT);
        });
    }
}

mod invariants {
    use super::*;

    fn with_curated_state(corrupt: impl FnOnce(), expected: &'static str) {
        ExtBuilder.build().execute_with(|| {
            let id = text_datanet();
            let a = contribute(ALICE, id, 1, 100);
            approve(a);
            assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));
            contribute(BOB, id, 2, 10);
            assert_ok!(Datanets::do_try_state());
            corrupt();
            let error = Datanets::do_try_state().unwrap_err();
            assert_eq!(error, DispatchError::Other(expected));
        });
    }

    /// Security review L2: the per-account tally must be used up by the `Stats` loop, so an
    /// account whose contributions exist but whose stats (and holds) were lost is caught.
    #[test]
    fn detects_contributions_of_an_account_without_stats() {
        with_curated_state(
            || Stats::<Test>::remove(ALICE),
            "contributions of an account without stats",
        );
    }

    #[test]
    fn detects_bonds_that_differ_from_the_holds() {
        with_curated_state(
            || Stats::<Test>::mutate(BOB, |stats| stats.bond_held += 1),
            "stats bond_held differs from pending bonds",
        );
    }

    #[test]
    fn detects_pending_bytes_that_differ_from_the_pending_contributions() {
        with_curated_state(
            || Stats::<Test>::mutate(BOB, |stats| stats.pending_bytes += 1),
            "stats pending bytes differ from pending contributions'",
        );
        with_curated_state(
            || DatanetsStorage::<Test>::mutate(0, |info| info.as_mut().unwrap().pending_bytes = 0),
            "datanet pending bytes differ from its pending contributions'",
        );
    }

    #[test]
    fn detects_storage_deposits_that_differ_from_the_holds() {
        with_curated_state(
            || Stats::<Test>::mutate(ALICE, |stats| stats.deposit_held = 0),
            "stats deposit_held differs from the contributions' storage deposits",
        );
        with_curated_state(
            || {
                Contributions::<Test>::mutate(0, |c| c.as_mut().unwrap().deposit += 1);
            },
            "storage deposit differs from size × StorageDepositPerByte",
        );
    }

    #[test]
    fn detects_a_closed_datanet_that_kept_its_deposit() {
        with_curated_state(
            || DatanetsStorage::<Test>::mutate(0, |info| info.as_mut().unwrap().closed = true),
            "a closed datanet has pending or queued contributions",
        );
    }

    #[test]
    fn detects_a_tampered_version_root() {
        with_curated_state(
            || Versions::<Test>::mutate(0, 1, |v| v.as_mut().unwrap().merkle_root = Hash::zero()),
            "version root differs from its manifest's",
        );
    }

    #[test]
    fn detects_points_that_differ_from_the_weights() {
        with_curated_state(
            || {
                Points::<Test>::insert(
                    PoolId {
                        datanet: 0,
                        version: 1,
                    },
                    ALICE,
                    1,
                )
            },
            "version points differ from its contributors' weights",
        );
    }

    #[test]
    fn detects_approved_stats_that_differ_from_the_contributions() {
        with_curated_state(
            || Stats::<Test>::mutate(ALICE, |stats| stats.approved_bytes = 1),
            "stats approved count or bytes wrong",
        );
    }

    #[test]
    fn detects_a_published_contribution_missing_from_its_manifest() {
        ExtBuilder.build().execute_with(|| {
            let id = text_datanet();
            for n in 1..=2 {
                let c = contribute(ALICE, id, n, 10);
                approve(c);
            }
            assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));
            Manifests::<Test>::mutate(id, 1, |m| m.as_mut().unwrap().pop());
            Versions::<Test>::mutate(id, 1, |v| v.as_mut().unwrap().contributions = 1);
            assert_eq!(
                Datanets::do_try_state(),
                Err(DispatchError::Other(
                    "a contribution published in a version is missing from its manifest"
                ))
            );
        });
    }

    #[test]
    fn detects_a_stale_hash_index() {
        with_curated_state(
            || ContributionByHash::<Test>::insert(blob(9), 0, 42),
            "stale hash index entries",
        );
    }
}

mod front_running {
    use super::*;

    /// Eve copies Alice's announcement from the transaction pool and lands first. The chain
    /// records Eve as the announcer, so nodes take the bytes only with Eve's signature
    /// (`UploadAuthorization`, tested with real keys in the primitives and the content store):
    /// Eve's contribution never gets a blob. The curator rejects it as spam (Eve loses her bond)
    /// or it expires, and Alice announces her own bytes.
    #[test]
    fn the_squatter_gains_nothing_and_loses_the_bond() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let eve = BOB;
            let squatted = contribute(eve, id, 1, 300);
            assert_noop!(
                announce(ALICE, id, blob(1), 300, b"MIT", b""),
                Error::<Test>::DuplicateContribution
            );
            let announced = Datanets::announcement(blob(1), id).unwrap();
            assert_eq!(
                announced.contributor, eve,
                "only Eve's signature lets bytes in"
            );

            assert_ok!(Datanets::reject(
                RuntimeOrigin::signed(CURATOR),
                squatted,
                true
            ));
            assert_eq!(
                free(eve),
                FUNDS - MIN_BOND,
                "Eve paid the bond, got nothing"
            );
            assert_eq!(Stats::<Test>::get(eve).slashed, 1);

            let alices = contribute(ALICE, id, 1, 300);
            approve(alices);
            assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));
            assert_eq!(
                Points::<Test>::get(
                    PoolId {
                        datanet: id,
                        version: 1
                    },
                    ALICE
                ),
                300
            );
            assert_eq!(
                Points::<Test>::get(
                    PoolId {
                        datanet: id,
                        version: 1
                    },
                    eve
                ),
                0
            );
        });
    }

    #[test]
    fn a_squat_nobody_curates_expires_and_frees_the_hash() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let squatted = contribute(BOB, id, 1, 300);
            System::set_block_number(1 + PENDING_TIMEOUT);
            assert_ok!(Datanets::expire(RuntimeOrigin::signed(ALICE), squatted));
            contribute(ALICE, id, 1, 300);
        });
    }
}

mod measured_weight {
    use super::*;
    use attribution_primitives::datanets::measure;

    /// Bob pads the same two rows (a run of spaces inside one, of `a`s after the other) and
    /// repeats them 50 times: 300 times the bytes, and he declares the measured weight honestly.
    /// He earns at most the few edge windows of each padding run more than Alice's plain rows.
    #[test]
    fn padding_earns_no_more_points_than_the_rows_it_pads() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let rows = b"{\"prompt\":\"Capital of France?\",\"completion\":\"Paris\"}\n{\"text\":\"The Seine flows through Paris.\"}\n".to_vec();
            let padded_rows = format!(
                "{{\"prompt\":\"Capital of   {}France?\",\"completion\":\"Paris\"}}\n{{\"text\":\"The Seine flows through Paris.{}\"}}\n",
                " ".repeat(5000),
                "a".repeat(5000)
            );
            let padded = padded_rows.repeat(50).into_bytes();
            let honest_weight = measure::weight(&rows);
            let padded_weight = measure::weight(&padded);
            assert!(padded.len() > 300 * rows.len());
            assert!(honest_weight as usize > rows.len() * 3 / 4, "{honest_weight}");
            assert!(padded_weight <= honest_weight + 6, "{padded_weight} vs {honest_weight}");

            let honest = contribute_weighted(ALICE, id, blob(1), rows.len() as u64, honest_weight);
            let padder = contribute_weighted(BOB, id, blob(2), padded.len() as u64, padded_weight);
            approve(honest);
            approve(padder);
            assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));
            let pool = PoolId { datanet: id, version: 1 };
            let (alice, bob) = (Points::<Test>::get(pool, ALICE), Points::<Test>::get(pool, BOB));
            assert_eq!(alice, u128::from(honest_weight));
            assert!(bob <= alice + 6, "padded {bob} vs honest {alice} points");
            let version = Versions::<Test>::get(id, 1).unwrap();
            assert_eq!(version.total_weight, alice + bob);
            assert_eq!(version.total_bytes, (rows.len() + padded.len()) as u64);
        });
    }

    #[test]
    fn refuses_a_zero_weight_or_one_above_the_size() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let call = |weight| {
                Datanets::contribute(
                    RuntimeOrigin::signed(ALICE),
                    id,
                    blob(1),
                    10,
                    weight,
                    b"MIT".to_vec(),
                    vec![],
                )
            };
            assert_noop!(call(0), Error::<Test>::ZeroWeight);
            assert_noop!(call(11), Error::<Test>::WeightAboveSize);
            assert_ok!(call(10));
        });
    }
}

mod storage_paid_while_used {
    use super::*;

    #[test]
    fn the_deposit_is_held_while_the_contribution_exists() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let kept = contribute(ALICE, id, 1, 1000);
            let dropped = contribute(ALICE, id, 2, 500);
            assert_eq!(
                held(HoldReason::StorageDeposit, ALICE),
                1500 * DEPOSIT_PER_BYTE
            );
            approve(kept);
            assert_ok!(Datanets::reject(
                RuntimeOrigin::signed(CURATOR),
                dropped,
                false
            ));
            assert_eq!(
                held(HoldReason::StorageDeposit, ALICE),
                1000 * DEPOSIT_PER_BYTE
            );
            assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));
            assert_eq!(
                held(HoldReason::StorageDeposit, ALICE),
                1000 * DEPOSIT_PER_BYTE,
                "a published blob is kept, and paid for, for good"
            );
            assert_eq!(free(ALICE), FUNDS - 1000 * DEPOSIT_PER_BYTE);
        });
    }

    #[test]
    fn pending_bytes_are_capped_per_account_and_per_datanet() {
        ExtBuilder.build_and_execute(|| {
            let id = datanet_with(RuleOverrides {
                max_contribution_bytes: Some(MAX_BYTES_LIMIT),
                daily_bytes: Some(MAX_DAILY_BYTES),
                ..Default::default()
            });
            contribute(ALICE, id, 1, MAX_BYTES_LIMIT);
            let room = MAX_PENDING_PER_ACCOUNT - MAX_BYTES_LIMIT;
            contribute(ALICE, id, 2, room);
            assert_noop!(
                announce(ALICE, id, blob(3), 1, b"MIT", b""),
                Error::<Test>::AccountPendingBytesExceeded
            );
            // Another datanet does not help: the quota is the account's.
            let other = text_datanet();
            assert_noop!(
                announce(ALICE, other, blob(3), 1, b"MIT", b""),
                Error::<Test>::AccountPendingBytesExceeded
            );
            let left = MAX_PENDING_PER_DATANET - MAX_PENDING_PER_ACCOUNT;
            let bobs = contribute(BOB, id, 4, left);
            assert_noop!(
                announce(CHARLIE, id, blob(5), 1, b"MIT", b""),
                Error::<Test>::DatanetPendingBytesExceeded
            );
            // Curating frees the quota.
            assert_ok!(Datanets::withdraw(RuntimeOrigin::signed(BOB), bobs));
            contribute(CHARLIE, id, 5, 1);
            assert_eq!(
                DatanetsStorage::<Test>::get(id).unwrap().pending_bytes,
                MAX_PENDING_PER_ACCOUNT + 1
            );
        });
    }

    #[test]
    fn daily_limits_and_bonds_are_bounded_above() {
        ExtBuilder.build_and_execute(|| {
            let with = |rules| create(b"n", b"", rules);
            assert_noop!(
                with(RuleOverrides {
                    daily_bytes: Some(MAX_DAILY_BYTES + 1),
                    ..Default::default()
                }),
                Error::<Test>::DailyLimitTooLarge
            );
            assert_noop!(
                with(RuleOverrides {
                    daily_files: Some(MAX_DAILY_FILES + 1),
                    ..Default::default()
                }),
                Error::<Test>::DailyLimitTooLarge
            );
            assert_noop!(
                with(RuleOverrides {
                    bond: Some(MAX_BOND + 1),
                    ..Default::default()
                }),
                Error::<Test>::BondTooHigh
            );
            assert_ok!(with(RuleOverrides {
                daily_bytes: Some(MAX_DAILY_BYTES),
                daily_files: Some(MAX_DAILY_FILES),
                bond: Some(MAX_BOND),
                ..Default::default()
            }));
        });
    }
}

mod bounded_powers {
    use super::*;

    #[test]
    fn the_contributor_withdraws_a_pending_contribution() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let c = contribute(ALICE, id, 1, 300);
            assert_noop!(
                Datanets::withdraw(RuntimeOrigin::signed(BOB), c),
                Error::<Test>::NotContributor
            );
            assert_noop!(
                Datanets::withdraw(RuntimeOrigin::signed(OWNER), c),
                Error::<Test>::NotContributor
            );
            assert_ok!(Datanets::withdraw(RuntimeOrigin::signed(ALICE), c));
            assert_eq!(
                last_event(),
                Event::Withdrawn {
                    contribution: c,
                    datanet: id,
                    contributor: ALICE,
                    content_hash: blob(1),
                }
            );
            assert_eq!(free(ALICE), FUNDS);
            assert_eq!(
                Stats::<Test>::get(ALICE),
                ContributorStats {
                    withdrawn: 1,
                    ..Default::default()
                }
            );
            assert_noop!(
                Datanets::withdraw(RuntimeOrigin::signed(ALICE), c),
                Error::<Test>::UnknownContribution
            );
            let approved = contribute(ALICE, id, 2, 300);
            approve(approved);
            assert_noop!(
                Datanets::withdraw(RuntimeOrigin::signed(ALICE), approved),
                Error::<Test>::NotPending
            );
        });
    }

    #[test]
    fn anyone_expires_a_contribution_left_pending_past_the_timeout() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let c = contribute(ALICE, id, 1, 300);
            System::set_block_number(PENDING_TIMEOUT);
            assert_noop!(
                Datanets::expire(RuntimeOrigin::signed(CHARLIE), c),
                Error::<Test>::NotExpired
            );
            System::set_block_number(1 + PENDING_TIMEOUT);
            assert_ok!(Datanets::expire(RuntimeOrigin::signed(CHARLIE), c));
            assert_eq!(
                last_event(),
                Event::Expired {
                    contribution: c,
                    datanet: id,
                    contributor: ALICE,
                    content_hash: blob(1),
                }
            );
            assert_eq!(free(ALICE), FUNDS, "bond and deposit returned");
            assert_eq!(free(CHARLIE), FUNDS);
            assert_eq!(Stats::<Test>::get(ALICE).expired, 1);
            assert!(!Datanets::is_announced(blob(1)));
            assert_noop!(
                Datanets::expire(RuntimeOrigin::signed(CHARLIE), c),
                Error::<Test>::UnknownContribution
            );
        });
    }

    #[test]
    fn the_owner_closes_an_idle_datanet_and_recovers_the_deposit() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let c = contribute(ALICE, id, 1, 300);
            assert_noop!(
                Datanets::close_datanet(RuntimeOrigin::signed(OWNER), id),
                Error::<Test>::DatanetBusy
            );
            approve(c);
            assert_noop!(
                Datanets::close_datanet(RuntimeOrigin::signed(OWNER), id),
                Error::<Test>::DatanetBusy
            );
            assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));
            assert_noop!(
                Datanets::close_datanet(RuntimeOrigin::signed(CURATOR), id),
                Error::<Test>::NotOwner
            );
            assert_eq!(free(OWNER), FUNDS - DEPOSIT);

            assert_ok!(Datanets::close_datanet(RuntimeOrigin::signed(OWNER), id));

            assert_eq!(
                last_event(),
                Event::DatanetClosed {
                    datanet: id,
                    owner: OWNER,
                    deposit: DEPOSIT
                }
            );
            assert_eq!(free(OWNER), FUNDS);
            assert_eq!(held(HoldReason::DatanetDeposit, OWNER), 0);
            assert_noop!(
                announce(BOB, id, blob(2), 10, b"MIT", b""),
                Error::<Test>::DatanetClosed
            );
            assert_noop!(
                Datanets::close_datanet(RuntimeOrigin::signed(OWNER), id),
                Error::<Test>::DatanetClosed
            );
            // Its published version stays, for the models trained on it.
            assert_eq!(Datanets::version(id, 1).map(|v| v.contributions), Some(1));
            assert_noop!(
                Datanets::close_datanet(RuntimeOrigin::signed(OWNER), 42),
                Error::<Test>::UnknownDatanet
            );
        });
    }

    /// The mock caps the owner at 50% of a version's weight.
    #[test]
    fn the_owners_own_contributions_are_flagged_and_capped_per_version() {
        ExtBuilder.build_and_execute(|| {
            let id = text_datanet();
            let own = contribute(OWNER, id, 1, 100);
            assert_noop!(
                Datanets::approve(RuntimeOrigin::signed(OWNER), own),
                Error::<Test>::OwnerShareExceeded
            );
            assert_noop!(
                Datanets::approve(RuntimeOrigin::signed(CURATOR), own),
                Error::<Test>::OwnerShareExceeded
            );
            let alices = contribute(ALICE, id, 2, 100);
            approve(alices);
            assert_ok!(Datanets::approve(RuntimeOrigin::signed(OWNER), own));
            assert_eq!(
                last_event(),
                Event::Approved {
                    contribution: own,
                    datanet: id,
                    curator: OWNER,
                    weight: 100,
                    by_owner: true,
                }
            );
            let more = contribute(OWNER, id, 3, 1);
            assert_noop!(
                Datanets::approve(RuntimeOrigin::signed(OWNER), more),
                Error::<Test>::OwnerShareExceeded
            );
            assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));
            let version = Versions::<Test>::get(id, 1).unwrap();
            assert_eq!((version.total_weight, version.owner_weight), (200, 100));
            // The cap is per version: the queue starts empty again.
            let info = DatanetsStorage::<Test>::get(id).unwrap();
            assert_eq!(
                (info.unpublished_weight, info.owner_unpublished_weight),
                (0, 0)
            );
            assert_noop!(
                Datanets::approve(RuntimeOrigin::signed(OWNER), more),
                Error::<Test>::OwnerShareExceeded
            );
        });
    }
}
