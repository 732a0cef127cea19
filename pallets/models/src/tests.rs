//! Stories of base models and adapters through the registry.

use crate::{
    mock::*, AdaptersByHash, BaseModelByWeights, Error, Event, HoldReason, Lineage, ModelKind,
    ModelStatus, Models as ModelRecords, ModelsInspect, ModelsPage, ModelsRegistry, NextModelId,
    ServingModel, TrainedArtifact, TrainingSpec,
};
use attribution_primitives::{
    models::EvalMetrics, models::TrainingMethod, traits::PoolId, Hash, ModelId,
};
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold};
use sp_runtime::DispatchError;

const POOL: PoolId = PoolId {
    datanet: 4,
    version: 2,
};

fn register(owner: AccountId, seed: u8) -> ModelId {
    let id = NextModelId::<Test>::get();
    assert_ok!(Models::register_base_model(
        RuntimeOrigin::signed(owner),
        name(b"llama-1b"),
        base_model(seed)
    ));
    id
}

fn held(who: AccountId) -> Balance {
    Balances::balance_on_hold(&HoldReason::ModelDeposit.into(), &who)
}

fn spec(base_model: ModelId) -> TrainingSpec {
    TrainingSpec {
        base_model,
        pool: POOL,
        dataset_root: Hash::repeat_byte(0xdd),
        method: TrainingMethod::Qlora,
        hyperparameters_hash: Hash::repeat_byte(0xee),
        job: 7,
        previous: None,
    }
}

fn artifact(adapter_seed: u8) -> TrainedArtifact<AccountId> {
    TrainedArtifact {
        trainer: BOB,
        proof_hash: Hash::repeat_byte(0x50),
        adapter_hash: Hash::repeat_byte(adapter_seed),
        adapter_size: 2_097_152,
        adapter_cid: cid(b"bafkadapter"),
        held_out_root: Hash::repeat_byte(0x52),
        checkpoint_root: Hash::repeat_byte(0x51),
        steps: 300,
        tokens: 150_000,
        contributions_used: 12,
        metrics: EvalMetrics {
            base_loss_ppm: 2_400_000,
            adapted_loss_ppm: 1_800_000,
            base_rouge_ppm: 300_000,
            adapted_rouge_ppm: 420_000,
        },
    }
}

/// A base model of ALICE's and an adapter of BOB's trained from it, in `Training`.
fn adapter_in_training() -> (ModelId, ModelId) {
    let base = register(ALICE, 1);
    let adapter = Models::begin_training(&BOB, name(b"llama-1b-legal"), spec(base)).unwrap();
    (base, adapter)
}

fn status(model: ModelId) -> ModelStatus {
    ModelRecords::<Test>::get(model).unwrap().status
}

type Balance = attribution_primitives::Balance;

mod register_base_model {
    use super::*;

    #[test]
    fn registers_an_active_base_model_and_holds_the_deposit() {
        ExtBuilder.build_and_execute(|| {
            let id = register(ALICE, 1);

            let record = ModelRecords::<Test>::get(id).unwrap();
            assert_eq!(record.owner, ALICE);
            assert_eq!(record.status, ModelStatus::Active);
            assert_eq!(record.deposit, DEPOSIT);
            assert_eq!(record.kind, ModelKind::Base(base_model(1)));
            assert_eq!(
                BaseModelByWeights::<Test>::get(Hash::repeat_byte(1)),
                Some(id)
            );
            assert_eq!(held(ALICE), DEPOSIT);
            assert_eq!(
                models_events(),
                vec![Event::BaseModelRegistered {
                    model: id,
                    owner: ALICE,
                    weights_hash: Hash::repeat_byte(1),
                    deposit: DEPOSIT
                }]
            );
            assert_eq!(Models::base_weights_hash(id), Some(Hash::repeat_byte(1)));
            assert_eq!(
                Models::serving_model(id),
                Some(ServingModel {
                    owner: ALICE,
                    trained_on: None
                })
            );
        });
    }

    #[test]
    fn ids_follow_registration_order() {
        ExtBuilder.build_and_execute(|| {
            assert_eq!(register(ALICE, 1), 0);
            assert_eq!(register(BOB, 2), 1);
            assert_eq!(NextModelId::<Test>::get(), 2);
        });
    }

    #[test]
    fn refuses_a_duplicate_weights_hash() {
        ExtBuilder.build_and_execute(|| {
            register(ALICE, 1);
            assert_noop!(
                Models::register_base_model(
                    RuntimeOrigin::signed(BOB),
                    name(b"copy"),
                    base_model(1)
                ),
                Error::<Test>::ArtifactAlreadyRegistered
            );
        });
    }

    #[test]
    fn refuses_malformed_records() {
        ExtBuilder.build_and_execute(|| {
            let origin = || RuntimeOrigin::signed(ALICE);
            assert_noop!(
                Models::register_base_model(origin(), name(b""), base_model(1)),
                Error::<Test>::EmptyName
            );

            let mut no_cid = base_model(1);
            no_cid.weights_cid = cid(b"");
            assert_noop!(
                Models::register_base_model(origin(), name(b"m"), no_cid),
                Error::<Test>::EmptyCid
            );

            let mut no_parameters = base_model(1);
            no_parameters.parameters = 0;
            assert_noop!(
                Models::register_base_model(origin(), name(b"m"), no_parameters),
                Error::<Test>::NoParameters
            );

            let mut zero_layers = base_model(1);
            zero_layers.architecture.num_layers = 0;
            assert_noop!(
                Models::register_base_model(origin(), name(b"m"), zero_layers),
                Error::<Test>::InvalidArchitecture
            );

            let mut uneven_heads = base_model(1);
            uneven_heads.architecture.num_attention_heads = 30;
            assert_noop!(
                Models::register_base_model(origin(), name(b"m"), uneven_heads),
                Error::<Test>::InvalidArchitecture
            );

            let mut uneven_kv_heads = base_model(1);
            uneven_kv_heads.architecture.num_key_value_heads = 5;
            assert_noop!(
                Models::register_base_model(origin(), name(b"m"), uneven_kv_heads),
                Error::<Test>::InvalidArchitecture
            );
        });
    }

    #[test]
    fn refuses_an_owner_who_cannot_pay_the_deposit() {
        ExtBuilder.build_and_execute(|| {
            assert!(Models::register_base_model(
                RuntimeOrigin::signed(POOR),
                name(b"m"),
                base_model(1)
            )
            .is_err());
            assert_eq!(ModelRecords::<Test>::iter().count(), 0);
            assert_eq!(held(POOR), 0);
        });
    }

    #[test]
    fn refuses_when_ids_are_exhausted() {
        ExtBuilder.build_and_execute(|| {
            NextModelId::<Test>::put(ModelId::MAX);
            assert_noop!(
                Models::register_base_model(
                    RuntimeOrigin::signed(ALICE),
                    name(b"m"),
                    base_model(1)
                ),
                Error::<Test>::ModelIdsExhausted
            );
        });
    }
}

mod update_base_model {
    use super::*;

    #[test]
    fn owner_changes_name_cid_and_license_but_not_hashes() {
        ExtBuilder.build_and_execute(|| {
            let id = register(ALICE, 1);
            let license = crate::License::truncate_from(b"apache-2.0".to_vec());
            assert_ok!(Models::update_base_model(
                RuntimeOrigin::signed(ALICE),
                id,
                Some(name(b"renamed")),
                Some(cid(b"bafynew")),
                Some(license.clone()),
            ));

            let record = ModelRecords::<Test>::get(id).unwrap();
            assert_eq!(record.name, name(b"renamed"));
            let ModelKind::Base(base) = record.kind else {
                panic!("still a base model")
            };
            assert_eq!(base.weights_cid, cid(b"bafynew"));
            assert_eq!(base.license, license);
            assert_eq!(base.weights_hash, Hash::repeat_byte(1));
            assert_eq!(
                models_events().last(),
                Some(&Event::BaseModelUpdated { model: id })
            );
        });
    }

    #[test]
    fn refuses_bad_updates() {
        ExtBuilder.build_and_execute(|| {
            let id = register(ALICE, 1);
            let alice = || RuntimeOrigin::signed(ALICE);
            assert_noop!(
                Models::update_base_model(alice(), id, None, None, None),
                Error::<Test>::NothingToUpdate
            );
            assert_noop!(
                Models::update_base_model(alice(), 99, Some(name(b"x")), None, None),
                Error::<Test>::ModelNotFound
            );
            assert_noop!(
                Models::update_base_model(
                    RuntimeOrigin::signed(BOB),
                    id,
                    Some(name(b"x")),
                    None,
                    None
                ),
                Error::<Test>::NotOwner
            );
            assert_noop!(
                Models::update_base_model(alice(), id, Some(name(b"")), None, None),
                Error::<Test>::EmptyName
            );
            assert_noop!(
                Models::update_base_model(alice(), id, None, Some(cid(b"")), None),
                Error::<Test>::EmptyCid
            );
        });
    }

    #[test]
    fn refuses_adapters_and_retired_models() {
        ExtBuilder.build_and_execute(|| {
            let (base, adapter) = adapter_in_training();
            Models::propose(adapter, artifact(9)).unwrap();
            Models::activate(adapter).unwrap();
            assert_noop!(
                Models::update_base_model(
                    RuntimeOrigin::signed(BOB),
                    adapter,
                    Some(name(b"x")),
                    None,
                    None
                ),
                Error::<Test>::NotBaseModel
            );

            assert_ok!(Models::retire_model(RuntimeOrigin::signed(ALICE), base));
            assert_noop!(
                Models::update_base_model(
                    RuntimeOrigin::signed(ALICE),
                    base,
                    Some(name(b"x")),
                    None,
                    None
                ),
                Error::<Test>::NotActive
            );
        });
    }
}

mod retire_model {
    use super::*;

    #[test]
    fn retiring_a_base_model_releases_its_deposit_and_frees_its_hash() {
        ExtBuilder.build_and_execute(|| {
            let id = register(ALICE, 1);
            assert_ok!(Models::retire_model(RuntimeOrigin::signed(ALICE), id));

            assert_eq!(status(id), ModelStatus::Retired);
            assert_eq!(held(ALICE), 0);
            assert_eq!(Balances::free_balance(ALICE), FUNDS);
            assert_eq!(
                models_events().last(),
                Some(&Event::ModelRetired {
                    model: id,
                    released: DEPOSIT
                })
            );
            assert_eq!(Models::serving_model(id), None);
            // Jobs posted before the retirement can still be proven against its weights.
            assert_eq!(Models::base_weights_hash(id), Some(Hash::repeat_byte(1)));
            // But no new training starts from it.
            assert_noop!(
                Models::begin_training(&BOB, name(b"a"), spec(id)),
                Error::<Test>::BaseModelNotActive
            );
        });
    }

    #[test]
    fn a_retired_base_models_weights_hash_can_be_registered_again() {
        ExtBuilder.build_and_execute(|| {
            // A squatter registers the weights first; while its model is active the real
            // author is refused.
            let squatted = register(ALICE, 1);
            assert_noop!(
                Models::register_base_model(
                    RuntimeOrigin::signed(BOB),
                    name(b"real"),
                    base_model(1)
                ),
                Error::<Test>::ArtifactAlreadyRegistered
            );
            assert_ok!(Models::retire_model(RuntimeOrigin::signed(ALICE), squatted));
            assert_eq!(BaseModelByWeights::<Test>::get(Hash::repeat_byte(1)), None);

            assert_ok!(Models::register_base_model(
                RuntimeOrigin::signed(BOB),
                name(b"real"),
                base_model(1)
            ));
            let real = squatted + 1;
            assert_eq!(ModelRecords::<Test>::get(real).unwrap().owner, BOB);
            assert_eq!(
                BaseModelByWeights::<Test>::get(Hash::repeat_byte(1)),
                Some(real)
            );
            assert_eq!(Models::model_by_artifact(Hash::repeat_byte(1)), Some(real));
            // The retired record keeps its weights hash for the lineage of its adapters.
            assert_eq!(
                Models::base_weights_hash(squatted),
                Some(Hash::repeat_byte(1))
            );
            assert_ok!(Models::do_try_state());
        });
    }

    #[test]
    fn owner_retires_an_active_adapter() {
        ExtBuilder.build_and_execute(|| {
            let (_, adapter) = adapter_in_training();
            Models::propose(adapter, artifact(9)).unwrap();
            Models::activate(adapter).unwrap();
            assert_ok!(Models::retire_model(RuntimeOrigin::signed(BOB), adapter));
            assert_eq!(status(adapter), ModelStatus::Retired);
            assert_eq!(
                models_events().last(),
                Some(&Event::ModelRetired {
                    model: adapter,
                    released: 0
                })
            );
        });
    }

    #[test]
    fn refuses_strangers_unknown_and_inactive_models() {
        ExtBuilder.build_and_execute(|| {
            let (base, adapter) = adapter_in_training();
            assert_noop!(
                Models::retire_model(RuntimeOrigin::signed(ALICE), 99),
                Error::<Test>::ModelNotFound
            );
            assert_noop!(
                Models::retire_model(RuntimeOrigin::signed(BOB), base),
                Error::<Test>::NotOwner
            );
            assert_noop!(
                Models::retire_model(RuntimeOrigin::signed(BOB), adapter),
                Error::<Test>::NotActive
            );
            assert_ok!(Models::retire_model(RuntimeOrigin::signed(ALICE), base));
            assert_noop!(
                Models::retire_model(RuntimeOrigin::signed(ALICE), base),
                Error::<Test>::NotActive
            );
        });
    }

    #[test]
    fn refuses_unsigned_origins() {
        ExtBuilder.build_and_execute(|| {
            let id = register(ALICE, 1);
            assert_noop!(
                Models::retire_model(RuntimeOrigin::root(), id),
                DispatchError::BadOrigin
            );
            assert_noop!(
                Models::register_base_model(RuntimeOrigin::none(), name(b"m"), base_model(2)),
                DispatchError::BadOrigin
            );
        });
    }
}

mod adapters {
    use super::*;

    /// Review L3: the listing reads a bounded range of ids per call and says where to go on.
    #[test]
    fn adapters_of_a_datanet_are_listed_in_bounded_pages() {
        ExtBuilder.build_and_execute(|| {
            let (base, adapter) = adapter_in_training();
            assert!(base < adapter);
            // A base model is never listed; the page reaches the last id.
            assert_eq!(
                Models::models_trained_on(POOL.datanet, base, u32::MAX),
                ModelsPage {
                    models: vec![adapter],
                    next: None
                }
            );
            // A limit of 0 reads nothing and continues where it started.
            assert_eq!(
                Models::models_trained_on(POOL.datanet, base, 0),
                ModelsPage {
                    models: vec![],
                    next: Some(base)
                }
            );
            // Far more ids than a page reads: it stops after MAX_PAGE_SCAN of them.
            NextModelId::<Test>::put(adapter + 10_000);
            let after = adapter + 1;
            assert_eq!(
                Models::models_trained_on(POOL.datanet, after, 10),
                ModelsPage {
                    models: vec![],
                    next: Some(after + attribution_primitives::paging::MAX_PAGE_SCAN)
                }
            );
            assert_eq!(
                Models::models_trained_on(POOL.datanet, ModelId::MAX, 10),
                ModelsPage {
                    models: vec![],
                    next: None
                }
            );
        });
    }

    #[test]
    fn an_adapter_goes_from_training_to_active_with_its_lineage() {
        ExtBuilder.build_and_execute(|| {
            let (base, adapter) = adapter_in_training();
            let record = ModelRecords::<Test>::get(adapter).unwrap();
            assert_eq!(record.owner, BOB);
            assert_eq!(record.status, ModelStatus::Training);
            assert_eq!(
                record.kind,
                ModelKind::Adapter(Lineage {
                    spec: spec(base),
                    artifact: None
                })
            );
            assert_eq!(Models::serving_model(adapter), None);
            assert_eq!(Models::base_weights_hash(adapter), None);

            assert_ok!(Models::propose(adapter, artifact(9)));
            assert_eq!(status(adapter), ModelStatus::Challengeable);
            assert!(AdaptersByHash::<Test>::contains_key(
                Hash::repeat_byte(9),
                adapter
            ));
            assert_eq!(
                Models::model_by_artifact(Hash::repeat_byte(9)),
                Some(adapter)
            );
            assert_eq!(Models::serving_model(adapter), None);

            assert_ok!(Models::activate(adapter));
            assert_eq!(status(adapter), ModelStatus::Active);
            assert_eq!(
                Models::serving_model(adapter),
                Some(ServingModel {
                    owner: BOB,
                    trained_on: Some(POOL)
                })
            );

            let with_lineage = Models::model_with_lineage(adapter).unwrap();
            assert_eq!(with_lineage.id, adapter);
            assert_eq!(
                with_lineage.model.kind,
                ModelKind::Adapter(Lineage {
                    spec: spec(base),
                    artifact: Some(artifact(9))
                })
            );
            assert_eq!(
                with_lineage.base.map(|(id, record)| (id, record.owner)),
                Some((base, ALICE))
            );
            assert_eq!(
                Models::model_by_artifact(Hash::repeat_byte(9)),
                Some(adapter)
            );
            assert_eq!(
                Models::models_trained_on(POOL.datanet, 0, 10),
                ModelsPage {
                    models: vec![adapter],
                    next: None
                }
            );
            assert_eq!(
                Models::models_trained_on(POOL.datanet + 1, 0, 10).models,
                Vec::<ModelId>::new()
            );

            assert_eq!(
                models_events()[1..],
                [
                    Event::TrainingBegan {
                        model: adapter,
                        owner: BOB,
                        base_model: base,
                        spec: spec(base)
                    },
                    Event::AdapterProposed {
                        model: adapter,
                        trainer: BOB,
                        adapter_hash: Hash::repeat_byte(9)
                    },
                    Event::AdapterActivated { model: adapter },
                ]
            );
        });
    }

    #[test]
    fn a_base_model_has_no_lineage_beyond_itself() {
        ExtBuilder.build_and_execute(|| {
            let base = register(ALICE, 1);
            let with_lineage = Models::model_with_lineage(base).unwrap();
            assert_eq!(with_lineage.base, None);
            assert!(Models::model_with_lineage(base + 1).is_none());
        });
    }

    #[test]
    fn fraud_rejects_a_challengeable_adapter() {
        ExtBuilder.build_and_execute(|| {
            let (_, adapter) = adapter_in_training();
            Models::propose(adapter, artifact(9)).unwrap();
            assert_ok!(Models::reject(adapter));
            assert_eq!(status(adapter), ModelStatus::Rejected);
            assert_eq!(Models::serving_model(adapter), None);
            assert_eq!(
                models_events().last(),
                Some(&Event::AdapterRejected { model: adapter })
            );
            // The fraudulent adapter's hash is freed: an honest proof of it is accepted.
            assert!(!AdaptersByHash::<Test>::contains_key(
                Hash::repeat_byte(9),
                adapter
            ));
            let other = Models::begin_training(&BOB, name(b"again"), spec(0)).unwrap();
            assert_ok!(Models::propose(other, artifact(9)));
            assert_eq!(Models::model_by_artifact(Hash::repeat_byte(9)), Some(other));
            assert_ok!(Models::do_try_state());
        });
    }

    #[test]
    fn a_cancelled_job_removes_its_adapter() {
        ExtBuilder.build_and_execute(|| {
            let (_, adapter) = adapter_in_training();
            assert_ok!(Models::abandon(adapter));
            assert!(ModelRecords::<Test>::get(adapter).is_none());
            assert_eq!(
                models_events().last(),
                Some(&Event::TrainingAbandoned { model: adapter })
            );
        });
    }

    #[test]
    fn training_starts_only_from_an_active_base_model() {
        ExtBuilder.build_and_execute(|| {
            let (_, adapter) = adapter_in_training();
            assert_noop!(
                Models::begin_training(&BOB, name(b"a"), spec(99)),
                Error::<Test>::BaseModelNotActive
            );
            assert_noop!(
                Models::begin_training(&BOB, name(b"a"), spec(adapter)),
                Error::<Test>::BaseModelNotActive
            );
        });
    }

    #[test]
    fn transitions_out_of_order_are_refused() {
        ExtBuilder.build_and_execute(|| {
            let (base, adapter) = adapter_in_training();
            assert_noop!(Models::activate(adapter), Error::<Test>::WrongStatus);
            assert_noop!(Models::reject(adapter), Error::<Test>::WrongStatus);
            assert_ok!(Models::propose(adapter, artifact(9)));
            assert_noop!(
                Models::propose(adapter, artifact(10)),
                Error::<Test>::WrongStatus
            );
            assert_noop!(Models::abandon(adapter), Error::<Test>::WrongStatus);

            assert_noop!(Models::activate(base), Error::<Test>::NotAdapter);
            assert_noop!(Models::abandon(base), Error::<Test>::NotAdapter);
            assert_noop!(Models::activate(99), Error::<Test>::ModelNotFound);
            assert_noop!(Models::abandon(99), Error::<Test>::ModelNotFound);
        });
    }

    #[test]
    fn identical_jobs_both_finish_with_the_same_adapter_hash() {
        ExtBuilder.build_and_execute(|| {
            let (base, first) = adapter_in_training();
            let second = Models::begin_training(&ALICE, name(b"same"), spec(base)).unwrap();
            assert_ok!(Models::propose(first, artifact(9)));
            assert_ok!(Models::propose(second, artifact(9)));
            assert_ok!(Models::activate(first));
            assert_ok!(Models::activate(second));
            assert_eq!(status(first), ModelStatus::Active);
            assert_eq!(status(second), ModelStatus::Active);
            let mut indexed: Vec<_> =
                AdaptersByHash::<Test>::iter_key_prefix(Hash::repeat_byte(9)).collect();
            indexed.sort();
            assert_eq!(indexed, vec![first, second]);
            assert_ok!(Models::do_try_state());
        });
    }
}

mod bounds_and_invariants {
    use super::*;
    use codec::{Decode, Encode};

    #[test]
    fn oversize_names_licenses_and_cids_do_not_decode() {
        ExtBuilder.build_and_execute(|| {
            let long = |len: u32| vec![b'x'; len as usize + 1].encode();
            use attribution_primitives::models::{
                MAX_CID_LEN, MAX_LICENSE_LEN, MAX_MODEL_NAME_LEN,
            };
            assert!(crate::ModelName::decode(&mut &long(MAX_MODEL_NAME_LEN)[..]).is_err());
            assert!(crate::License::decode(&mut &long(MAX_LICENSE_LEN)[..]).is_err());
            assert!(crate::Cid::decode(&mut &long(MAX_CID_LEN)[..]).is_err());
        });
    }

    #[test]
    fn try_state_notices_an_unheld_deposit_and_a_stale_index() {
        ExtBuilder.build().execute_with(|| {
            let id = register(ALICE, 1);
            assert_ok!(Models::do_try_state());

            ModelRecords::<Test>::mutate(id, |record| record.as_mut().unwrap().deposit += 1);
            assert!(Models::do_try_state().is_err());
            ModelRecords::<Test>::mutate(id, |record| record.as_mut().unwrap().deposit -= 1);

            BaseModelByWeights::<Test>::insert(Hash::repeat_byte(0x42), id);
            assert!(Models::do_try_state().is_err());
            BaseModelByWeights::<Test>::remove(Hash::repeat_byte(0x42));
            AdaptersByHash::<Test>::insert(Hash::repeat_byte(0x42), id, ());
            assert!(Models::do_try_state().is_err());
        });
    }
}

mod versions_and_artifacts {
    use super::*;
    use attribution_primitives::models::ProvenAdapter;

    /// BOB's adapter of ALICE's base model, proven with adapter hash `0xad…` and activated.
    fn active_adapter() -> (ModelId, ModelId) {
        let (base, adapter) = adapter_in_training();
        assert_ok!(Models::propose(adapter, artifact(0xad)));
        assert_ok!(Models::activate(adapter));
        (base, adapter)
    }

    fn version_of(previous: ModelId, base: ModelId) -> TrainingSpec {
        TrainingSpec {
            previous: Some(previous),
            ..spec(base)
        }
    }

    #[test]
    fn a_new_version_of_an_active_adapter_is_recorded_in_its_lineage() {
        ExtBuilder.build_and_execute(|| {
            let (base, previous) = active_adapter();
            let next =
                Models::begin_training(&BOB, name(b"v2"), version_of(previous, base)).unwrap();
            let ModelKind::Adapter(lineage) = ModelRecords::<Test>::get(next).unwrap().kind else {
                panic!("an adapter")
            };
            assert_eq!(lineage.spec.previous, Some(previous));
            assert_eq!(
                Models::trained_metrics(previous),
                Some(artifact(0xad).metrics)
            );
            assert_eq!(Models::trained_metrics(next), None);
            assert_eq!(Models::trained_metrics(base), None);
        });
    }

    #[test]
    fn refuses_previous_versions_that_are_not_active_adapters_of_the_owner_on_the_base() {
        ExtBuilder.build_and_execute(|| {
            let (base, previous) = active_adapter();
            let other_base = register(ALICE, 2);
            let training = Models::begin_training(&BOB, name(b"t"), spec(base)).unwrap();
            for not_active_adapter in [base, training, 99] {
                assert_noop!(
                    Models::begin_training(&BOB, name(b"v2"), version_of(not_active_adapter, base)),
                    Error::<Test>::PreviousNotActiveAdapter
                );
            }
            assert_noop!(
                Models::begin_training(&ALICE, name(b"v2"), version_of(previous, base)),
                Error::<Test>::PreviousNotOwned
            );
            assert_noop!(
                Models::begin_training(&BOB, name(b"v2"), version_of(previous, other_base)),
                Error::<Test>::PreviousBaseMismatch
            );
        });
    }

    #[test]
    fn only_challengeable_and_active_adapters_are_announced_to_content_stores() {
        ExtBuilder.build_and_execute(|| {
            let (base, adapter) = adapter_in_training();
            let hash = Hash::repeat_byte(0xad);
            assert_eq!(Models::proven_adapter(hash), None);
            assert_ok!(Models::propose(adapter, artifact(0xad)));
            let announced = Some(ProvenAdapter {
                model: adapter,
                size: 2_097_152,
            });
            assert_eq!(Models::proven_adapter(hash), announced);
            assert_ok!(Models::activate(adapter));
            assert_eq!(Models::proven_adapter(hash), announced);
            assert_ok!(Models::retire_model(RuntimeOrigin::signed(BOB), adapter));
            assert_eq!(Models::proven_adapter(hash), None);
            // A base model's weights hash is not an adapter file.
            let weights = base_model(1).weights_hash;
            assert_eq!(BaseModelByWeights::<Test>::get(weights), Some(base));
            assert_eq!(Models::proven_adapter(weights), None);

            let (_, rejected) = adapter_in_training_of(3);
            assert_ok!(Models::propose(rejected, artifact(0xae)));
            assert_ok!(Models::reject(rejected));
            assert_eq!(Models::proven_adapter(Hash::repeat_byte(0xae)), None);
        });
    }

    fn adapter_in_training_of(seed: u8) -> (ModelId, ModelId) {
        let base = register(ALICE, seed);
        let adapter = Models::begin_training(&BOB, name(b"x"), spec(base)).unwrap();
        (base, adapter)
    }

    #[test]
    fn try_state_notices_a_previous_version_that_is_not_a_proven_adapter() {
        ExtBuilder.build().execute_with(|| {
            let (base, _) = active_adapter();
            let next = Models::begin_training(&BOB, name(b"v2"), spec(base)).unwrap();
            assert_ok!(Models::do_try_state());
            ModelRecords::<Test>::mutate(next, |record| {
                if let Some(ModelKind::Adapter(lineage)) = record.as_mut().map(|r| &mut r.kind) {
                    lineage.spec.previous = Some(base);
                }
            });
            assert!(Models::do_try_state().is_err());
        });
    }
}
