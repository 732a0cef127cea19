//! Stories of operators, jobs, proofs, challenges and settlements.

use crate::{
    mock::*, ChallengeId, ChallengePeriod, Challenges, Error, Event, HoldReason, JobInfo,
    JobStatus, Jobs, JobsByHyperparameters, JobsPage, JurorPool, MaxRegressionPpm, NextJobId,
    OpenChallenges, OperatorInfo, Operators, OperatorsInspect, PendingDraws, SignedTrainingProof,
    TrainingMethod, TrainingProof, VotePeriod, WorkerKeyPossession, WorkerKeys,
    MAX_DRAWS_PER_BLOCK, MAX_OPERATORS_PAGE,
};
use attribution_primitives::{
    compute::ContributionList,
    models::{Cid, EvalMetrics, ModelKind, ModelStatus},
    signing::signing_message,
    traits::RewardSource,
    ContributionId, Hash, JobId, ModelId,
};
use codec::{Decode, Encode};
use frame_support::{
    assert_noop, assert_ok,
    traits::{fungible::InspectHold, Hooks},
};
use sp_core::{sr25519, Pair};
use sp_runtime::{BoundedVec, DispatchError, TokenError};

const BUDGET: Balance = 1_000;
/// The inference price per token operators register with.
const PRICE: Balance = 3;
const DEADLINE: u64 = 100;
/// The model id of the base model `setup` registers.
const BASE: ModelId = 0;

type Balance = attribution_primitives::Balance;

fn held(reason: HoldReason, who: AccountId) -> Balance {
    Balances::balance_on_hold(&reason.into(), &who)
}

/// Worker `seed`'s proof that `operator` holds it, on the mock chain.
fn possession(operator: AccountId, seed: u8) -> sr25519::Signature {
    WorkerKeyPossession::sign(operator, &genesis(), &worker(seed))
}

fn register(operator: AccountId, seed: u8) {
    assert_ok!(Compute::register_operator(
        RuntimeOrigin::signed(operator),
        worker(seed).public(),
        possession(operator, seed),
        hardware(),
        endpoint(b"https://gpu.example:8080"),
        MIN_STAKE,
        PRICE,
    ));
}

fn post_job(budget: Balance, deadline: u64) -> JobId {
    let job = NextJobId::<Test>::get();
    assert_ok!(Compute::request_training(
        RuntimeOrigin::signed(DEV),
        model_name(b"smol-legal"),
        BASE,
        POOL,
        TrainingMethod::Lora,
        HYPER,
        budget,
        deadline,
        None,
    ));
    job
}

/// A base model, a published version of contributions 1..=5, operators A and B, and an open job.
fn setup() -> JobId {
    assert_ok!(Models::register_base_model(
        RuntimeOrigin::signed(MODEL_OWNER),
        model_name(b"smollm-135m"),
        base_model(BASE_HASH)
    ));
    MockDatanets::publish(POOL, ROOT, 1..=5);
    register(OP_A, 0xA);
    register(OP_B, 0xB);
    post_job(BUDGET, DEADLINE)
}

/// A payload that passes every check for `job`, attested by `key`.
fn payload(job: JobId, key: sr25519::Public) -> TrainingProof {
    TrainingProof {
        job,
        worker_key: key,
        base_model_hash: BASE_HASH,
        dataset_root: ROOT,
        hyperparameters_hash: HYPER,
        adapter_hash: Hash::repeat_byte(0xAD),
        adapter_size: 4_194_304,
        adapter_cid: Cid::truncate_from(b"bafkadapter".to_vec()),
        steps: 200,
        tokens: 102_400,
        metrics: METRICS,
        held_out_root: Hash::repeat_byte(0xE0),
        checkpoint_root: Hash::repeat_byte(0xC0),
        contributions: ContributionList::truncate_from(vec![1, 3, 5]),
    }
}

/// Held-out figures that pass the quality gate: the adapter's loss is below the base model's.
const METRICS: EvalMetrics = EvalMetrics {
    base_loss_ppm: 2_300_000,
    adapted_loss_ppm: 1_700_000,
    base_rouge_ppm: 210_000,
    adapted_rouge_ppm: 380_000,
};

/// `payload` as operator A's worker signs it.
fn proof_by_a(payload: TrainingProof) -> SignedTrainingProof {
    SignedTrainingProof::sign(payload, &genesis(), &worker(0xA))
}

fn submit(operator: AccountId, proof: SignedTrainingProof) -> sp_runtime::DispatchResult {
    Compute::submit_training_proof(RuntimeOrigin::signed(operator), Box::new(proof))
}

/// `setup`, claimed by A at block 1 and proven at block 2 (window ends at 2 + CHALLENGE_PERIOD).
fn proven_job() -> JobId {
    let job = setup();
    assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
    run_to(2);
    assert_ok!(submit(OP_A, proof_by_a(payload(job, worker(0xA).public()))));
    job
}

/// Registers C, D and E, so a jury of three can sit without the prover and the challenger.
fn jurors_registered() {
    register(OP_C, 0xC);
    register(OP_D, 0xD);
    register(OP_E, 0xE);
}

/// The jurors of challenge `id`, in the order drawn.
fn jury(id: ChallengeId) -> Vec<AccountId> {
    Challenges::<Test>::get(id)
        .map(|c| c.jury.into_iter().map(|seat| seat.juror).collect())
        .unwrap_or_default()
}

fn status(job: JobId) -> JobStatus<AccountId, u64> {
    Jobs::<Test>::get(job).unwrap().status
}

fn model_status(model: ModelId) -> ModelStatus {
    pallet_models::Models::<Test>::get(model).unwrap().status
}

fn last_event() -> Event<Test> {
    compute_events().pop().expect("an event was deposited")
}

#[test]
fn integrity_test_accepts_the_mock_configuration() {
    ExtBuilder.build_and_execute(|| {
        <Compute as Hooks<u64>>::integrity_test();
        assert_eq!(NextJobId::<Test>::get(), 0);
    });
}

mod register_operator {
    use super::*;

    #[test]
    fn registers_with_stake_held_and_key_indexed() {
        ExtBuilder.build_and_execute(|| {
            register(OP_A, 0xA);

            assert_eq!(
                Operators::<Test>::get(OP_A),
                Some(OperatorInfo {
                    worker_key: worker(0xA).public(),
                    hardware: hardware(),
                    endpoint: endpoint(b"https://gpu.example:8080"),
                    price_per_token: PRICE,
                    stake: MIN_STAKE,
                    current_job: None,
                    juries: 0,
                })
            );
            assert_eq!(
                JurorPool::<Test>::get().into_inner(),
                vec![(OP_A, MIN_STAKE)]
            );
            assert_eq!(Compute::inference_price(&OP_A), Some(PRICE));
            assert_eq!(Compute::inference_price(&OP_B), None);
            assert_eq!(WorkerKeys::<Test>::get(worker(0xA).public()), Some(OP_A));
            assert_eq!(held(HoldReason::OperatorStake, OP_A), MIN_STAKE);
            assert_eq!(Compute::worker_key(&OP_A), Some(worker(0xA).public()));
            assert_eq!(Compute::worker_key(&OP_B), None);
            assert_eq!(Compute::operator(OP_A).map(|op| op.stake), Some(MIN_STAKE));
            assert_eq!(
                last_event(),
                Event::OperatorRegistered {
                    operator: OP_A,
                    worker_key: worker(0xA).public(),
                    stake: MIN_STAKE,
                    price_per_token: PRICE,
                }
            );
        });
    }

    #[test]
    fn refuses_a_second_registration_a_low_stake_and_a_taken_key() {
        ExtBuilder.build_and_execute(|| {
            register(OP_A, 0xA);
            let register_b = |seed: u8, stake| {
                Compute::register_operator(
                    RuntimeOrigin::signed(OP_B),
                    worker(seed).public(),
                    possession(OP_B, seed),
                    hardware(),
                    endpoint(b"http://b"),
                    stake,
                    PRICE,
                )
            };
            assert_noop!(
                Compute::register_operator(
                    RuntimeOrigin::signed(OP_A),
                    worker(0xC).public(),
                    possession(OP_A, 0xC),
                    hardware(),
                    endpoint(b"http://a"),
                    MIN_STAKE,
                    PRICE,
                ),
                Error::<Test>::AlreadyOperator
            );
            assert_noop!(register_b(0xB, MIN_STAKE - 1), Error::<Test>::StakeTooLow);
            assert_noop!(register_b(0xA, MIN_STAKE), Error::<Test>::WorkerKeyInUse);
            assert_noop!(register_b(0xB, FUNDS * 2), TokenError::FundsUnavailable);
        });
    }

    #[test]
    fn refuses_malformed_hardware_and_endpoints() {
        ExtBuilder.build_and_execute(|| {
            let try_register = |hardware, url: &[u8]| {
                Compute::register_operator(
                    RuntimeOrigin::signed(OP_A),
                    worker(0xA).public(),
                    possession(OP_A, 0xA),
                    hardware,
                    endpoint(url),
                    MIN_STAKE,
                    PRICE,
                )
            };
            let mut no_gpu = hardware();
            no_gpu.gpu_model = Default::default();
            assert_noop!(
                try_register(no_gpu, b"http://a"),
                Error::<Test>::InvalidHardware
            );
            let mut no_memory = hardware();
            no_memory.gpu_memory_mib = 0;
            assert_noop!(
                try_register(no_memory, b"http://a"),
                Error::<Test>::InvalidHardware
            );
            let mut no_count = hardware();
            no_count.gpu_count = 0;
            assert_noop!(
                try_register(no_count, b"http://a"),
                Error::<Test>::InvalidHardware
            );

            for url in [
                &b""[..],
                b"ftp://a",
                b"http://",
                b"https://a b",
                b"gpu.example",
            ] {
                assert_noop!(
                    try_register(hardware(), url),
                    Error::<Test>::InvalidEndpoint
                );
            }
        });
    }

    /// Eve cannot register Alice's worker key (to keep Alice from registering it): she has no
    /// signature of that key naming her account. A proof made by the key for another operator,
    /// for another chain, under another domain, or by another key is refused; nothing is held.
    #[test]
    fn refuses_a_worker_key_the_caller_has_not_shown_it_holds() {
        ExtBuilder.build_and_execute(|| {
            let key = worker(0xA);
            let for_a = WorkerKeyPossession {
                operator: OP_A,
                worker_key: key.public(),
            };
            let cases: [(&str, sr25519::Signature); 5] = [
                ("forged: signed by another key", possession(OP_B, 0xB)),
                (
                    "A's proof, replayed by B",
                    WorkerKeyPossession::sign(OP_A, &genesis(), &key),
                ),
                (
                    "for another chain",
                    WorkerKeyPossession::sign(OP_B, &Hash::repeat_byte(70), &key),
                ),
                (
                    "under the training-proof domain",
                    key.sign(&signing_message(
                        attribution_primitives::signing::TRAINING_PROOF_DOMAIN,
                        &genesis(),
                        &WorkerKeyPossession {
                            operator: OP_B,
                            ..for_a.clone()
                        },
                    )),
                ),
                (
                    "the bare payload, no domain nor chain",
                    key.sign(&(OP_B, key.public()).encode()),
                ),
            ];
            for (case, signature) in cases {
                assert_eq!(
                    Compute::register_operator(
                        RuntimeOrigin::signed(OP_B),
                        key.public(),
                        signature,
                        hardware(),
                        endpoint(b"http://b"),
                        MIN_STAKE,
                        PRICE,
                    ),
                    Err(Error::<Test>::BadPossessionProof.into()),
                    "{case}"
                );
            }
            assert_eq!(held(HoldReason::OperatorStake, OP_B), 0);
            assert_eq!(WorkerKeys::<Test>::get(key.public()), None);
            assert_eq!(Operators::<Test>::get(OP_B), None);
            // The key's holder registers it with its own proof.
            register(OP_A, 0xA);
            assert!(for_a.verify(&genesis(), &possession(OP_A, 0xA)));
            crate::Pallet::<Test>::do_try_state().expect("invariants hold");
        });
    }

    #[test]
    fn an_oversize_endpoint_does_not_decode() {
        ExtBuilder.build_and_execute(|| {
            let long = vec![b'a'; attribution_primitives::compute::MAX_ENDPOINT_LEN as usize + 1];
            assert!(crate::Endpoint::decode(&mut &long.encode()[..]).is_err());
        });
    }
}

mod rotate_worker_key {
    use super::*;

    #[test]
    fn rotation_replaces_the_key_and_frees_the_old_one() {
        ExtBuilder.build_and_execute(|| {
            register(OP_A, 0xA);
            assert_ok!(Compute::rotate_worker_key(
                RuntimeOrigin::signed(OP_A),
                worker(0xAA).public(),
                possession(OP_A, 0xAA)
            ));

            assert_eq!(Compute::worker_key(&OP_A), Some(worker(0xAA).public()));
            assert_eq!(WorkerKeys::<Test>::get(worker(0xA).public()), None);
            assert_eq!(
                last_event(),
                Event::WorkerKeyRotated {
                    operator: OP_A,
                    old: worker(0xA).public(),
                    new: worker(0xAA).public()
                }
            );
            // The old key may now be registered by someone else.
            register(OP_B, 0xA);
        });
    }

    #[test]
    fn proofs_signed_with_the_rotated_out_key_are_refused() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            assert_ok!(Compute::rotate_worker_key(
                RuntimeOrigin::signed(OP_A),
                worker(0xAA).public(),
                possession(OP_A, 0xAA)
            ));
            assert_noop!(
                submit(OP_A, proof_by_a(payload(job, worker(0xA).public()))),
                Error::<Test>::WrongWorkerKey
            );
            let fresh = SignedTrainingProof::sign(
                payload(job, worker(0xAA).public()),
                &genesis(),
                &worker(0xAA),
            );
            assert_ok!(submit(OP_A, fresh));
        });
    }

    #[test]
    fn refuses_strangers_and_taken_keys() {
        ExtBuilder.build_and_execute(|| {
            register(OP_A, 0xA);
            register(OP_B, 0xB);
            assert_noop!(
                Compute::rotate_worker_key(
                    RuntimeOrigin::signed(STRANGER),
                    worker(0xC).public(),
                    possession(STRANGER, 0xC)
                ),
                Error::<Test>::NotOperator
            );
            assert_noop!(
                Compute::rotate_worker_key(
                    RuntimeOrigin::signed(OP_A),
                    worker(0xB).public(),
                    possession(OP_A, 0xB)
                ),
                Error::<Test>::WorkerKeyInUse
            );
        });
    }

    /// Rotating to a key needs the same proof as registering it: a forged one, or one made for
    /// B, does not move A to B's key.
    #[test]
    fn refuses_a_new_key_without_its_possession_proof() {
        ExtBuilder.build_and_execute(|| {
            register(OP_A, 0xA);
            for (case, forged) in [
                ("signed by the old key", possession(OP_A, 0xA)),
                ("made for B", possession(OP_B, 0xAA)),
            ] {
                assert_eq!(
                    Compute::rotate_worker_key(
                        RuntimeOrigin::signed(OP_A),
                        worker(0xAA).public(),
                        forged
                    ),
                    Err(Error::<Test>::BadPossessionProof.into()),
                    "{case}"
                );
            }
            assert_eq!(Compute::worker_key(&OP_A), Some(worker(0xA).public()));
            assert_eq!(WorkerKeys::<Test>::get(worker(0xAA).public()), None);
            crate::Pallet::<Test>::do_try_state().expect("invariants hold");
        });
    }
}

mod update_operator {
    use super::*;

    #[test]
    fn replaces_hardware_endpoint_and_price() {
        ExtBuilder.build_and_execute(|| {
            register(OP_A, 0xA);
            let mut h100 = hardware();
            h100.gpu_model = b"NVIDIA H100".to_vec().try_into().unwrap();
            h100.gpu_memory_mib = 81_920;
            h100.gpu_count = 8;
            assert_ok!(Compute::update_operator(
                RuntimeOrigin::signed(OP_A),
                Some(h100.clone()),
                Some(endpoint(b"https://h100.example")),
                None,
            ));
            let op = Operators::<Test>::get(OP_A).unwrap();
            assert_eq!(op.hardware, h100);
            assert_eq!(op.endpoint, endpoint(b"https://h100.example"));
            assert_eq!(op.price_per_token, PRICE);
            assert_eq!(last_event(), Event::OperatorUpdated { operator: OP_A });

            // The price alone: hardware and endpoint stay.
            assert_ok!(Compute::update_operator(
                RuntimeOrigin::signed(OP_A),
                None,
                None,
                Some(7),
            ));
            let op = Operators::<Test>::get(OP_A).unwrap();
            assert_eq!(op.price_per_token, 7);
            assert_eq!(op.hardware, h100);
            assert_eq!(op.endpoint, endpoint(b"https://h100.example"));
            assert_eq!(Compute::inference_price(&OP_A), Some(7));
        });
    }

    #[test]
    fn refuses_empty_malformed_and_stranger_updates() {
        ExtBuilder.build_and_execute(|| {
            register(OP_A, 0xA);
            let a = || RuntimeOrigin::signed(OP_A);
            assert_noop!(
                Compute::update_operator(a(), None, None, None),
                Error::<Test>::NothingToUpdate
            );
            assert_noop!(
                Compute::update_operator(
                    RuntimeOrigin::signed(STRANGER),
                    None,
                    Some(endpoint(b"http://x")),
                    None,
                ),
                Error::<Test>::NotOperator
            );
            assert_noop!(
                Compute::update_operator(a(), None, Some(endpoint(b"gopher://x")), None),
                Error::<Test>::InvalidEndpoint
            );
            let mut broken = hardware();
            broken.gpu_count = 0;
            assert_noop!(
                Compute::update_operator(a(), Some(broken), None, None),
                Error::<Test>::InvalidHardware
            );
        });
    }
}

mod operators_page {
    use super::*;

    #[test]
    fn pages_through_every_operator_once_with_endpoint_and_price() {
        ExtBuilder.build_and_execute(|| {
            register(OP_A, 0xA);
            register(OP_B, 0xB);
            assert_ok!(Compute::update_operator(
                RuntimeOrigin::signed(OP_B),
                None,
                Some(endpoint(b"https://b.example")),
                Some(11),
            ));

            let all = Compute::operators(None, 10);
            assert_eq!(all.len(), 2);
            let first = Compute::operators(None, 1);
            assert_eq!(first.len(), 1);
            let second = Compute::operators(Some(first[0].0), 1);
            assert_eq!(second.len(), 1);
            assert_ne!(first[0].0, second[0].0);
            assert_eq!(Compute::operators(Some(second[0].0), 1), vec![]);
            assert_eq!(vec![first[0].clone(), second[0].clone()], all);

            let b = all.iter().find(|(who, _)| *who == OP_B).unwrap();
            assert_eq!(b.1.endpoint, endpoint(b"https://b.example"));
            assert_eq!(b.1.price_per_token, 11);
            let a = all.iter().find(|(who, _)| *who == OP_A).unwrap();
            assert_eq!(a.1.price_per_token, PRICE);
            assert_eq!(Compute::operators(None, 0), vec![]);
        });
    }

    #[test]
    fn caps_a_page_at_the_bound() {
        ExtBuilder.build_and_execute(|| {
            for index in 0..(MAX_OPERATORS_PAGE + 5) {
                let who = 1_000 + AccountId::from(index);
                let mut seed = [0u8; 32];
                seed[..4].copy_from_slice(&index.to_le_bytes());
                <Balances as frame_support::traits::fungible::Mutate<AccountId>>::set_balance(
                    &who, FUNDS,
                );
                let key = sr25519::Pair::from_seed(&seed);
                assert_ok!(Compute::register_operator(
                    RuntimeOrigin::signed(who),
                    key.public(),
                    WorkerKeyPossession::sign(who, &genesis(), &key),
                    hardware(),
                    endpoint(b"https://x"),
                    MIN_STAKE,
                    PRICE,
                ));
            }
            assert_eq!(
                Compute::operators(None, u32::MAX).len(),
                MAX_OPERATORS_PAGE as usize
            );
        });
    }
}

mod deregister_operator {
    use super::*;

    #[test]
    fn releases_the_stake_and_the_key() {
        ExtBuilder.build_and_execute(|| {
            register(OP_A, 0xA);
            assert_ok!(Compute::deregister_operator(RuntimeOrigin::signed(OP_A)));
            assert_eq!(Operators::<Test>::get(OP_A), None);
            assert_eq!(WorkerKeys::<Test>::get(worker(0xA).public()), None);
            assert_eq!(held(HoldReason::OperatorStake, OP_A), 0);
            assert_eq!(free(OP_A), FUNDS);
            assert_eq!(
                last_event(),
                Event::OperatorDeregistered {
                    operator: OP_A,
                    released: MIN_STAKE
                }
            );
        });
    }

    #[test]
    fn refuses_strangers_and_busy_operators() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            assert_noop!(
                Compute::deregister_operator(RuntimeOrigin::signed(STRANGER)),
                Error::<Test>::NotOperator
            );
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            assert_noop!(
                Compute::deregister_operator(RuntimeOrigin::signed(OP_A)),
                Error::<Test>::OperatorBusy
            );
        });
    }
}

mod request_training {
    use super::*;

    #[test]
    fn posts_a_job_holds_the_budget_and_creates_the_adapter() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();

            let info = Jobs::<Test>::get(job).unwrap();
            assert_eq!(
                info,
                JobInfo {
                    developer: DEV,
                    model: 1,
                    base_model: BASE,
                    pool: POOL,
                    dataset_root: ROOT,
                    method: TrainingMethod::Lora,
                    hyperparameters_hash: HYPER,
                    previous: None,
                    budget: BUDGET,
                    deadline: DEADLINE,
                    status: JobStatus::Open,
                    proof_hash: None,
                }
            );
            assert_eq!(held(HoldReason::JobBudget, DEV), BUDGET);
            let adapter = pallet_models::Models::<Test>::get(info.model).unwrap();
            assert_eq!(adapter.owner, DEV);
            assert_eq!(adapter.status, ModelStatus::Training);
            let ModelKind::Adapter(lineage) = adapter.kind else {
                panic!("an adapter")
            };
            assert_eq!(lineage.spec.job, job);
            assert_eq!(lineage.spec.dataset_root, ROOT);
            assert_eq!(
                last_event(),
                Event::JobPosted {
                    job,
                    developer: DEV,
                    model: 1,
                    base_model: BASE,
                    pool: POOL,
                    budget: BUDGET,
                    deadline: DEADLINE
                }
            );
            assert_eq!(Compute::job(job), Some(info.clone()));
            assert_eq!(
                Compute::open_jobs(0, 10),
                JobsPage {
                    jobs: vec![(job, info)],
                    next: None
                }
            );
        });
    }

    #[test]
    fn refuses_low_budgets_past_deadlines_and_unknown_versions() {
        ExtBuilder.build_and_execute(|| {
            setup();
            let request = |base, pool, budget, deadline| {
                Compute::request_training(
                    RuntimeOrigin::signed(DEV),
                    model_name(b"x"),
                    base,
                    pool,
                    TrainingMethod::Qlora,
                    HYPER,
                    budget,
                    deadline,
                    None,
                )
            };
            assert_noop!(
                request(BASE, POOL, MIN_BUDGET - 1, DEADLINE),
                Error::<Test>::BudgetTooLow
            );
            assert_noop!(
                request(BASE, POOL, BUDGET, 1),
                Error::<Test>::DeadlinePassed
            );
            let unpublished = crate::PoolId {
                datanet: POOL.datanet,
                version: POOL.version + 1,
            };
            assert_noop!(
                request(BASE, unpublished, BUDGET, DEADLINE),
                Error::<Test>::VersionNotFound
            );
            assert_noop!(
                request(42, POOL, BUDGET, DEADLINE),
                pallet_models::Error::<Test>::BaseModelNotActive
            );
            assert_noop!(
                request(BASE, POOL, FUNDS * 2, DEADLINE),
                TokenError::FundsUnavailable
            );
            NextJobId::<Test>::put(JobId::MAX);
            assert_noop!(
                request(BASE, POOL, BUDGET, DEADLINE),
                Error::<Test>::JobIdsExhausted
            );
        });
    }
}

mod cancel_job {
    use super::*;

    #[test]
    fn the_developer_cancels_an_open_job_and_gets_the_budget_back() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            let model = Jobs::<Test>::get(job).unwrap().model;
            assert_ok!(Compute::cancel_job(RuntimeOrigin::signed(DEV), job));
            assert_eq!(Jobs::<Test>::get(job), None);
            assert_eq!(pallet_models::Models::<Test>::get(model), None);
            assert_eq!(held(HoldReason::JobBudget, DEV), 0);
            assert_eq!(free(DEV), FUNDS);
            assert_eq!(
                last_event(),
                Event::JobCancelled {
                    job,
                    refunded: BUDGET
                }
            );
        });
    }

    #[test]
    fn refuses_others_claimed_and_unknown_jobs() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            assert_noop!(
                Compute::cancel_job(RuntimeOrigin::signed(OP_A), job),
                Error::<Test>::NotDeveloper
            );
            assert_noop!(
                Compute::cancel_job(RuntimeOrigin::signed(DEV), 99),
                Error::<Test>::JobNotFound
            );
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            assert_noop!(
                Compute::cancel_job(RuntimeOrigin::signed(DEV), job),
                Error::<Test>::JobNotOpen
            );
        });
    }
}

mod claim_job {
    use super::*;

    #[test]
    fn an_operator_claims_until_the_timeout_or_the_deadline() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            let expires_at = 1 + CLAIM_TIMEOUT;
            assert_eq!(
                status(job),
                JobStatus::Claimed {
                    operator: OP_A,
                    expires_at
                }
            );
            assert_eq!(Operators::<Test>::get(OP_A).unwrap().current_job, Some(job));
            assert_eq!(
                last_event(),
                Event::JobClaimed {
                    job,
                    operator: OP_A,
                    expires_at
                }
            );
            assert!(Compute::open_jobs(0, 10).jobs.is_empty());

            // A deadline sooner than the timeout caps the claim.
            let soon = post_job(BUDGET, 1 + MIN_CLAIM_WINDOW + 2);
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_B), soon));
            assert_eq!(
                status(soon),
                JobStatus::Claimed {
                    operator: OP_B,
                    expires_at: 1 + MIN_CLAIM_WINDOW + 2
                }
            );
        });
    }

    #[test]
    fn one_job_at_a_time() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            let second = post_job(BUDGET, DEADLINE);
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            assert_noop!(
                Compute::claim_job(RuntimeOrigin::signed(OP_A), second),
                Error::<Test>::OperatorBusy
            );
        });
    }

    #[test]
    fn refuses_strangers_taken_late_and_unknown_jobs() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            assert_noop!(
                Compute::claim_job(RuntimeOrigin::signed(STRANGER), job),
                Error::<Test>::NotOperator
            );
            assert_noop!(
                Compute::claim_job(RuntimeOrigin::signed(OP_A), 99),
                Error::<Test>::JobNotFound
            );
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            assert_noop!(
                Compute::claim_job(RuntimeOrigin::signed(OP_B), job),
                Error::<Test>::JobNotOpen
            );

            let late = post_job(BUDGET, 1 + MIN_CLAIM_WINDOW);
            run_to(2 + MIN_CLAIM_WINDOW);
            assert_noop!(
                Compute::claim_job(RuntimeOrigin::signed(OP_B), late),
                Error::<Test>::DeadlinePassed
            );
        });
    }

    /// A claim in a job's last moments (to have it expire in the claimer's hands) is refused:
    /// a job is claimed, and posted, only with at least `MinClaimWindow` left before its
    /// deadline, and then the claim lasts at least that long.
    #[test]
    fn a_claim_leaving_less_than_the_training_window_is_refused() {
        ExtBuilder.build_and_execute(|| {
            setup();
            assert_noop!(
                Compute::request_training(
                    RuntimeOrigin::signed(DEV),
                    model_name(b"too-soon"),
                    BASE,
                    POOL,
                    TrainingMethod::Lora,
                    HYPER,
                    BUDGET,
                    MIN_CLAIM_WINDOW,
                    None,
                ),
                Error::<Test>::DeadlineTooClose
            );
            let deadline = 1 + MIN_CLAIM_WINDOW + 3;
            let job = post_job(BUDGET, deadline);
            run_to(deadline - MIN_CLAIM_WINDOW + 1);
            assert_noop!(
                Compute::claim_job(RuntimeOrigin::signed(OP_A), job),
                Error::<Test>::DeadlineTooClose
            );
            // The developer gets its budget back: the job is still open.
            assert_ok!(Compute::cancel_job(RuntimeOrigin::signed(DEV), job));

            let job = post_job(BUDGET, System::block_number() + MIN_CLAIM_WINDOW);
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            let JobStatus::Claimed { expires_at, .. } = status(job) else {
                panic!("claimed")
            };
            assert_eq!(expires_at - System::block_number(), MIN_CLAIM_WINDOW);
        });
    }

    /// The griefer claims a job, lets the claim expire (losing 10 % of its stake) and claims it
    /// again: refused. Locking one job again and again takes a new operator each time, each
    /// staking the minimum and losing its slash; the job stays open to every other operator.
    #[test]
    fn an_operator_whose_claim_expired_cannot_claim_that_job_again() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            let other = post_job(BUDGET, DEADLINE);
            // A stays above the minimum stake after its slash.
            assert_ok!(Compute::deregister_operator(RuntimeOrigin::signed(OP_A)));
            assert_ok!(Compute::register_operator(
                RuntimeOrigin::signed(OP_A),
                worker(0xA).public(),
                possession(OP_A, 0xA),
                hardware(),
                endpoint(b"https://gpu.example:8080"),
                2 * MIN_STAKE,
                PRICE,
            ));
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            run_to(2 + CLAIM_TIMEOUT);
            assert_ok!(Compute::release_expired_claim(
                RuntimeOrigin::signed(STRANGER),
                job
            ));
            assert_eq!(
                crate::ExpiredClaimers::<Test>::get(job).into_inner(),
                vec![OP_A]
            );
            assert_eq!(
                held(HoldReason::OperatorStake, OP_A),
                2 * MIN_STAKE - MIN_STAKE / 5
            );

            assert_noop!(
                Compute::claim_job(RuntimeOrigin::signed(OP_A), job),
                Error::<Test>::ClaimExpiredBefore
            );
            // Re-registering does not wash it out: the bar is on the account.
            assert_ok!(Compute::deregister_operator(RuntimeOrigin::signed(OP_A)));
            register(OP_A, 0xA);
            assert_noop!(
                Compute::claim_job(RuntimeOrigin::signed(OP_A), job),
                Error::<Test>::ClaimExpiredBefore
            );
            // Other jobs, and other operators, are not affected.
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_B), job));
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), other));
        });
    }

    /// The list is bounded: past `MAX_EXPIRED_CLAIMERS` the oldest is forgotten (after paying
    /// that many slashes), and it goes with the job.
    #[test]
    fn expired_claimers_are_bounded_and_leave_with_the_job() {
        use attribution_primitives::compute::MAX_EXPIRED_CLAIMERS;
        ExtBuilder.build_and_execute(|| {
            setup();
            let job = post_job(BUDGET, 1_000);
            let griefers: Vec<AccountId> = (0..=MAX_EXPIRED_CLAIMERS)
                .map(|i| 500 + AccountId::from(i))
                .collect();
            for (i, &griefer) in griefers.iter().enumerate() {
                <Balances as frame_support::traits::fungible::Mutate<AccountId>>::set_balance(
                    &griefer, FUNDS,
                );
                let seed = 0x40 + i as u8;
                register(griefer, seed);
                assert_ok!(Compute::claim_job(RuntimeOrigin::signed(griefer), job));
                run_to(System::block_number() + CLAIM_TIMEOUT + 1);
                assert_ok!(Compute::release_expired_claim(
                    RuntimeOrigin::signed(STRANGER),
                    job
                ));
                assert_eq!(free(griefer), FUNDS - MIN_STAKE);
                assert_eq!(
                    held(HoldReason::OperatorStake, griefer),
                    MIN_STAKE - MIN_STAKE / 10
                );
            }
            let remembered = crate::ExpiredClaimers::<Test>::get(job).into_inner();
            assert_eq!(remembered, griefers[1..].to_vec());
            assert_ok!(Compute::do_try_state());
            assert_ok!(Compute::cancel_job(RuntimeOrigin::signed(DEV), job));
            assert!(!crate::ExpiredClaimers::<Test>::contains_key(job));
        });
    }

    #[test]
    fn an_operator_slashed_below_the_minimum_cannot_claim() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            run_to(2 + CLAIM_TIMEOUT);
            assert_ok!(Compute::release_expired_claim(
                RuntimeOrigin::signed(STRANGER),
                job
            ));
            assert_noop!(
                Compute::claim_job(RuntimeOrigin::signed(OP_A), job),
                Error::<Test>::StakeTooLow
            );
        });
    }
}

mod release_expired_claim {
    use super::*;

    #[test]
    fn anyone_reopens_an_expired_claim_and_part_of_the_stake_goes_to_the_treasury() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            run_to(2 + CLAIM_TIMEOUT);
            assert_ok!(Compute::release_expired_claim(
                RuntimeOrigin::signed(STRANGER),
                job
            ));

            let slashed = MIN_STAKE / 10;
            assert_eq!(status(job), JobStatus::Open);
            let op = Operators::<Test>::get(OP_A).unwrap();
            assert_eq!(op.current_job, None);
            assert_eq!(op.stake, MIN_STAKE - slashed);
            assert_eq!(held(HoldReason::OperatorStake, OP_A), MIN_STAKE - slashed);
            assert_eq!(free(TREASURY), ED + slashed);
            assert_eq!(
                last_event(),
                Event::ClaimReleased {
                    job,
                    operator: OP_A,
                    slashed
                }
            );

            // The job is open again for another operator.
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_B), job));
        });
    }

    #[test]
    fn refuses_live_claims_and_unclaimed_jobs() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            let release = || Compute::release_expired_claim(RuntimeOrigin::signed(STRANGER), job);
            assert_noop!(release(), Error::<Test>::JobNotClaimed);
            assert_noop!(
                Compute::release_expired_claim(RuntimeOrigin::signed(STRANGER), 99),
                Error::<Test>::JobNotFound
            );
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            run_to(1 + CLAIM_TIMEOUT);
            assert_noop!(release(), Error::<Test>::ClaimNotExpired);
        });
    }
}

mod submit_training_proof {
    use super::*;

    #[test]
    fn a_valid_proof_makes_the_adapter_challengeable() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            let proof = proof_by_a(payload(job, worker(0xA).public()));
            let proof_hash = Hash::from(sp_io::hashing::blake2_256(&proof.payload.encode()));
            let challenge_end = 2 + CHALLENGE_PERIOD;

            let info = Jobs::<Test>::get(job).unwrap();
            assert_eq!(
                info.status,
                JobStatus::Proven {
                    operator: OP_A,
                    challenge_end
                }
            );
            assert_eq!(info.proof_hash, Some(proof_hash));
            assert_eq!(model_status(info.model), ModelStatus::Challengeable);
            let lineage = pallet_models::Pallet::<Test>::model_with_lineage(info.model).unwrap();
            let ModelKind::Adapter(lineage) = lineage.model.kind else {
                panic!("an adapter")
            };
            let artifact = lineage.artifact.unwrap();
            assert_eq!(artifact.trainer, OP_A);
            assert_eq!(artifact.proof_hash, proof_hash);
            assert_eq!(artifact.adapter_hash, Hash::repeat_byte(0xAD));
            assert_eq!(artifact.contributions_used, 3);
            assert_eq!(
                last_event(),
                Event::ProofAccepted {
                    job,
                    operator: OP_A,
                    model: info.model,
                    proof_hash,
                    adapter_hash: Hash::repeat_byte(0xAD),
                    challenge_end
                }
            );
        });
    }

    #[test]
    fn a_forged_signature_is_refused() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            let forged = SignedTrainingProof {
                payload: payload(job, worker(0xA).public()),
                signature: sr25519::Signature::from_raw([7; 64]),
            };
            assert_noop!(submit(OP_A, forged), Error::<Test>::BadSignature);

            // Signed by B's key while claiming to be A's worker.
            let impostor = SignedTrainingProof::sign(
                payload(job, worker(0xA).public()),
                &genesis(),
                &worker(0xB),
            );
            assert_noop!(submit(OP_A, impostor), Error::<Test>::BadSignature);

            // Changed after signing.
            let mut tampered = proof_by_a(payload(job, worker(0xA).public()));
            tampered.payload.steps += 1;
            assert_noop!(submit(OP_A, tampered), Error::<Test>::BadSignature);

            // Signed without the domain tag.
            let bare = payload(job, worker(0xA).public());
            let signature = worker(0xA).sign(&bare.encode());
            assert_noop!(
                submit(
                    OP_A,
                    SignedTrainingProof {
                        payload: bare,
                        signature
                    }
                ),
                Error::<Test>::BadSignature
            );

            // Signed under another proof kind's domain.
            let other_kind = payload(job, worker(0xA).public());
            let signature = worker(0xA).sign(&signing_message(
                attribution_primitives::signing::INFERENCE_BATCH_DOMAIN,
                &genesis(),
                &other_kind,
            ));
            assert_noop!(
                submit(
                    OP_A,
                    SignedTrainingProof {
                        payload: other_kind,
                        signature
                    }
                ),
                Error::<Test>::BadSignature
            );
        });
    }

    #[test]
    fn a_proof_signed_for_another_chain_is_refused() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            let other_chain = Hash::repeat_byte(0x42);
            let replayed = SignedTrainingProof::sign(
                payload(job, worker(0xA).public()),
                &other_chain,
                &worker(0xA),
            );
            assert!(replayed.verify(&other_chain));
            // `assert_noop` checks that no storage changed: no hold, no job status, no model.
            assert_noop!(submit(OP_A, replayed), Error::<Test>::BadSignature);
            // The same proof signed for this chain is accepted.
            assert_eq!(Compute::genesis_hash(), genesis());
            assert_ok!(submit(OP_A, proof_by_a(payload(job, worker(0xA).public()))));
        });
    }

    #[test]
    fn a_proof_signed_by_another_operators_key_is_refused() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            let by_b = SignedTrainingProof::sign(
                payload(job, worker(0xB).public()),
                &genesis(),
                &worker(0xB),
            );
            assert!(by_b.verify(&genesis()));
            assert_noop!(submit(OP_A, by_b), Error::<Test>::WrongWorkerKey);
        });
    }

    #[test]
    fn only_the_claimer_proves_a_claimed_job() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            let by_b = SignedTrainingProof::sign(
                payload(job, worker(0xB).public()),
                &genesis(),
                &worker(0xB),
            );
            assert_noop!(submit(OP_B, by_b.clone()), Error::<Test>::JobNotClaimed);
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            assert_noop!(submit(OP_B, by_b), Error::<Test>::NotClaimer);
            assert_noop!(
                submit(STRANGER, proof_by_a(payload(job, worker(0xA).public()))),
                Error::<Test>::NotOperator
            );
            assert_noop!(
                submit(OP_A, proof_by_a(payload(99, worker(0xA).public()))),
                Error::<Test>::JobNotFound
            );
        });
    }

    #[test]
    fn a_proof_after_the_claim_expired_is_refused() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            run_to(2 + CLAIM_TIMEOUT);
            assert_noop!(
                submit(OP_A, proof_by_a(payload(job, worker(0xA).public()))),
                Error::<Test>::ClaimExpired
            );
        });
    }

    #[test]
    fn a_replayed_proof_is_refused() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            let replay = proof_by_a(payload(job, worker(0xA).public()));
            assert_noop!(submit(OP_A, replay.clone()), Error::<Test>::ProofReplayed);
            assert_noop!(submit(OP_B, replay), Error::<Test>::ProofReplayed);
        });
    }

    #[test]
    fn hashes_that_do_not_match_the_chain_are_refused() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            let with = |change: fn(&mut TrainingProof)| {
                let mut p = payload(job, worker(0xA).public());
                change(&mut p);
                proof_by_a(p)
            };
            assert_noop!(
                submit(OP_A, with(|p| p.base_model_hash = Hash::repeat_byte(0xBB))),
                Error::<Test>::BaseModelMismatch
            );
            assert_noop!(
                submit(OP_A, with(|p| p.dataset_root = Hash::repeat_byte(0xBB))),
                Error::<Test>::DatasetRootMismatch
            );
            assert_noop!(
                submit(
                    OP_A,
                    with(|p| p.hyperparameters_hash = Hash::repeat_byte(0xBB))
                ),
                Error::<Test>::HyperParametersMismatch
            );
        });
    }

    #[test]
    fn contribution_lists_must_be_sorted_and_in_the_version() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            let listing = |ids: Vec<ContributionId>| {
                let mut p = payload(job, worker(0xA).public());
                p.contributions = ContributionList::truncate_from(ids);
                proof_by_a(p)
            };
            assert_noop!(
                submit(OP_A, listing(vec![])),
                Error::<Test>::NoContributions
            );
            assert_noop!(
                submit(OP_A, listing(vec![3, 1])),
                Error::<Test>::ContributionsNotSorted
            );
            assert_noop!(
                submit(OP_A, listing(vec![1, 1])),
                Error::<Test>::ContributionsNotSorted
            );
            assert_noop!(
                submit(OP_A, listing(vec![1, 6])),
                Error::<Test>::ContributionNotInVersion
            );
        });
    }

    #[test]
    fn malformed_artifacts_are_refused() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            let with = |change: fn(&mut TrainingProof)| {
                let mut p = payload(job, worker(0xA).public());
                change(&mut p);
                proof_by_a(p)
            };
            assert_noop!(
                submit(OP_A, with(|p| p.adapter_cid = Cid::default())),
                Error::<Test>::MalformedProof
            );
            assert_noop!(
                submit(OP_A, with(|p| p.steps = 0)),
                Error::<Test>::MalformedProof
            );
            assert_noop!(
                submit(OP_A, with(|p| p.tokens = 0)),
                Error::<Test>::MalformedProof
            );
            assert_noop!(
                submit(OP_A, with(|p| p.adapter_size = 0)),
                Error::<Test>::MalformedProof
            );
            assert_noop!(
                submit(OP_A, with(|p| p.metrics.adapted_rouge_ppm = 1_000_001)),
                Error::<Test>::MalformedProof
            );
            assert_noop!(
                submit(OP_A, with(|p| p.metrics.base_rouge_ppm = 1_000_001)),
                Error::<Test>::MalformedProof
            );
            assert_noop!(
                submit(
                    OP_A,
                    with(|p| p.adapter_size = attribution_primitives::models::MAX_ADAPTER_BYTES + 1)
                ),
                Error::<Test>::AdapterTooLarge
            );
            // The largest adapter is fine.
            assert_ok!(submit(
                OP_A,
                with(|p| p.adapter_size = attribution_primitives::models::MAX_ADAPTER_BYTES)
            ));
        });
    }

    #[test]
    fn a_proof_listing_too_many_contributions_does_not_decode() {
        ExtBuilder.build_and_execute(|| {
            let proof = proof_by_a(payload(0, worker(0xA).public()));
            let mut bytes = proof.payload.encode();
            // Re-encode with an over-long contribution list in place of the bounded one.
            let listed = proof.payload.contributions.encode();
            let too_many: Vec<ContributionId> = (0..=ContributionId::from(
                attribution_primitives::compute::MAX_PROOF_CONTRIBUTIONS,
            ))
                .collect();
            let cut = bytes.len() - listed.len();
            bytes.truncate(cut);
            bytes.extend(too_many.encode());
            assert!(TrainingProof::decode(&mut &bytes[..]).is_err());
        });
    }

    #[test]
    fn a_proof_for_a_vanished_version_is_refused() {
        ExtBuilder.build_and_execute(|| {
            let job = setup();
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            let mut info = Jobs::<Test>::get(job).unwrap();
            info.pool.version += 1;
            Jobs::<Test>::insert(job, info);
            assert_noop!(
                submit(OP_A, proof_by_a(payload(job, worker(0xA).public()))),
                Error::<Test>::VersionNotFound
            );
        });
    }
}

mod challenge {
    use super::*;

    #[test]
    fn any_account_challenges_within_the_window_and_the_jury_is_drawn_next_block() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            jurors_registered();
            let evidence = Hash::repeat_byte(0xEE);
            // STRANGER is no operator and needs no sudo: the bond is all it takes.
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(STRANGER),
                job,
                evidence
            ));
            let vote_end = 2 + 1 + VOTE_PERIOD;
            assert_eq!(
                status(job),
                JobStatus::Challenged {
                    operator: OP_A,
                    challenge_end: (2 + CHALLENGE_PERIOD).max(vote_end),
                    open: OpenChallenges::truncate_from(vec![0]),
                }
            );
            assert_eq!(held(HoldReason::ChallengeBond, STRANGER), BOND);
            assert_eq!(
                last_event(),
                Event::Challenged {
                    job,
                    challenge: 0,
                    challenger: STRANGER,
                    bond: BOND,
                    evidence,
                    vote_end,
                }
            );
            assert_eq!(PendingDraws::<Test>::get().into_inner(), vec![0]);
            assert!(jury(0).is_empty());

            run_to(3);
            let drawn = jury(0);
            assert_eq!(drawn.len() as u32, JURY_SIZE);
            assert!(!drawn.contains(&OP_A) && !drawn.contains(&STRANGER));
            for juror in &drawn {
                assert!([OP_B, OP_C, OP_D, OP_E].contains(juror));
                assert_eq!(Operators::<Test>::get(juror).unwrap().juries, 1);
            }
            assert!(PendingDraws::<Test>::get().is_empty());
            assert_eq!(
                last_event(),
                Event::JuryDrawn {
                    challenge: 0,
                    job,
                    jurors: crate::JurorsOf::<Test>::truncate_from(drawn),
                }
            );
        });
    }

    #[test]
    fn refuses_own_proofs_unknown_and_unproven_jobs() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            let evidence = Hash::zero();
            assert_noop!(
                Compute::challenge(RuntimeOrigin::signed(OP_A), job, evidence),
                Error::<Test>::OwnProof
            );
            assert_noop!(
                Compute::challenge(RuntimeOrigin::signed(OP_B), 99, evidence),
                Error::<Test>::JobNotFound
            );
            let open = post_job(BUDGET, DEADLINE);
            assert_noop!(
                Compute::challenge(RuntimeOrigin::signed(OP_B), open, evidence),
                Error::<Test>::JobNotProven
            );
            assert_noop!(
                Compute::challenge(RuntimeOrigin::none(), job, evidence),
                DispatchError::BadOrigin
            );
        });
    }

    #[test]
    fn a_challenge_after_the_window_is_refused() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            run_to(3 + CHALLENGE_PERIOD);
            assert_noop!(
                Compute::challenge(RuntimeOrigin::signed(STRANGER), job, Hash::zero()),
                Error::<Test>::ChallengeWindowClosed
            );
        });
    }

    #[test]
    fn a_challenger_without_the_bond_is_refused() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            let spendable = free(OP_B) - ED;
            assert_ok!(<Balances as frame_support::traits::fungible::Mutate<
                AccountId,
            >>::transfer(
                &OP_B,
                &STRANGER,
                spendable - BOND / 2,
                frame_support::traits::tokens::Preservation::Preserve
            ));
            assert!(Compute::challenge(RuntimeOrigin::signed(OP_B), job, Hash::zero()).is_err());
            assert_eq!(held(HoldReason::ChallengeBond, OP_B), 0);
            assert_eq!(Challenges::<Test>::iter().count(), 0);
        });
    }

    #[test]
    fn several_challenges_stay_open_and_each_extends_the_window() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            let challengers = [OP_B, OP_C, STRANGER, CONTRIBUTOR];
            <Balances as frame_support::traits::fungible::Mutate<AccountId>>::set_balance(
                &CONTRIBUTOR,
                FUNDS,
            );
            register(OP_C, 0xC);
            for (i, who) in challengers.iter().enumerate() {
                run_to(3 + i as u64);
                assert_ok!(Compute::challenge(
                    RuntimeOrigin::signed(*who),
                    job,
                    Hash::zero()
                ));
            }
            // The last one opened at block 6: the window stays open until its vote ends.
            let JobStatus::Challenged {
                challenge_end,
                open,
                ..
            } = status(job)
            else {
                panic!("challenged")
            };
            assert_eq!(open.into_inner(), vec![0, 1, 2, 3]);
            assert_eq!(challenge_end, 6 + 1 + VOTE_PERIOD);
            assert!(challenge_end > 2 + CHALLENGE_PERIOD);
            assert_noop!(
                Compute::challenge(RuntimeOrigin::signed(DEV), job, Hash::zero()),
                Error::<Test>::TooManyChallenges
            );
        });
    }

    #[test]
    fn a_self_challenge_does_not_occupy_the_slot_and_loses_most_of_the_stake() {
        ExtBuilder.build_and_execute(|| {
            // A submitted a fraudulent proof; its sybil STRANGER challenges first, hoping to hold
            // the slot until the window closes and to recover half of the slashed stake.
            let job = proven_job();
            jurors_registered();
            let coalition_before =
                free(OP_A) + held(HoldReason::OperatorStake, OP_A) + free(STRANGER);
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(STRANGER),
                job,
                Hash::zero()
            ));
            // The slot is not taken: an honest challenger still gets in.
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(OP_B),
                job,
                Hash::zero()
            ));
            run_to(3);
            // The sybil's jury re-runs the verification like any other and finds the fraud.
            let drawn = jury(0);
            for juror in drawn.iter().take(2) {
                assert_ok!(Compute::vote(RuntimeOrigin::signed(*juror), 0, true));
            }
            let to_challenger = MIN_STAKE / 10;
            assert_eq!(
                compute_events()
                    .into_iter()
                    .find(|e| matches!(e, Event::FraudProven { .. })),
                Some(Event::FraudProven {
                    job,
                    challenge: 0,
                    operator: OP_A,
                    challenger: STRANGER,
                    to_challenger,
                    to_treasury: MIN_STAKE - to_challenger,
                    refunded: BUDGET,
                })
            );
            let coalition_after =
                free(OP_A) + held(HoldReason::OperatorStake, OP_A) + free(STRANGER);
            assert_eq!(coalition_before - coalition_after, MIN_STAKE * 9 / 10);
            // The honest challenger's bond came back; nothing is left open.
            assert_eq!(held(HoldReason::ChallengeBond, OP_B), 0);
            assert_eq!(free(OP_B), FUNDS - MIN_STAKE);
            assert!(compute_events().contains(&Event::ChallengeReleased {
                job,
                challenge: 1,
                challenger: OP_B,
                returned: BOND,
            }));
            assert_eq!(Challenges::<Test>::iter().count(), 0);
            for juror in [OP_B, OP_C, OP_D, OP_E] {
                assert_eq!(Operators::<Test>::get(juror).unwrap().juries, 0);
            }
        });
    }

    #[test]
    fn no_more_draws_than_the_bound_in_one_block() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            PendingDraws::<Test>::put(frame_support::BoundedVec::<_, _>::truncate_from(
                (100..100 + u64::from(MAX_DRAWS_PER_BLOCK)).collect(),
            ));
            assert_noop!(
                Compute::challenge(RuntimeOrigin::signed(STRANGER), job, Hash::zero()),
                Error::<Test>::DrawQueueFull
            );
            PendingDraws::<Test>::kill();
        });
    }
}

mod jury {
    use super::*;

    /// `proven_job` with C, D and E registered and STRANGER's challenge 0 drawn at block 3.
    fn drawn_challenge() -> (JobId, Vec<AccountId>) {
        let job = proven_job();
        jurors_registered();
        assert_ok!(Compute::challenge(
            RuntimeOrigin::signed(STRANGER),
            job,
            Hash::zero()
        ));
        run_to(3);
        (job, jury(0))
    }

    #[test]
    fn a_majority_finding_fraud_slashes_the_prover_and_rejects_the_adapter() {
        ExtBuilder.build_and_execute(|| {
            let (job, drawn) = drawn_challenge();
            let model = Jobs::<Test>::get(job).unwrap().model;
            assert_ok!(Compute::vote(RuntimeOrigin::signed(drawn[0]), 0, true));
            assert_eq!(
                last_event(),
                Event::Voted {
                    challenge: 0,
                    juror: drawn[0],
                    fraud: true
                }
            );
            assert!(Jobs::<Test>::contains_key(job));
            assert_ok!(Compute::vote(RuntimeOrigin::signed(drawn[1]), 0, true));

            assert_eq!(Jobs::<Test>::get(job), None);
            assert_eq!(Operators::<Test>::get(OP_A), None);
            assert!(!JurorPool::<Test>::get().iter().any(|(j, _)| *j == OP_A));
            assert_eq!(model_status(model), ModelStatus::Rejected);
            assert_eq!(free(STRANGER), FUNDS + MIN_STAKE / 10);
            assert_eq!(free(TREASURY), ED + MIN_STAKE - MIN_STAKE / 10);
            assert_eq!(free(DEV), FUNDS);
            assert_eq!(Challenges::<Test>::get(0), None);
            // The fraudulent adapter's hash is free again.
            assert_eq!(Models::proven_adapter(Hash::repeat_byte(0xAD)), None);
        });
    }

    /// Found by the fuzzer (`attribution-sim fuzz --seed 1`, and seed 2 of commit 58cc764): a
    /// prover found fraudulent left the operators while still seated on another challenge's
    /// jury; registering again gave it a seat count of zero beside that seat, which broke
    /// `try_state` and would have let it leave a jury it sits on.
    #[test]
    fn a_prover_found_fraudulent_leaves_the_juries_it_sits_on() {
        ExtBuilder.build_and_execute(|| {
            let fraudulent = proven_job();
            // C and D with A make the pool for B's job: all three sit on its jury.
            register(OP_C, 0xC);
            register(OP_D, 0xD);
            let job = post_job(BUDGET, DEADLINE);
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_B), job));
            let mut proof = payload(job, worker(0xB).public());
            proof.adapter_hash = Hash::repeat_byte(0xAE);
            assert_ok!(submit(
                OP_B,
                SignedTrainingProof::sign(proof, &genesis(), &worker(0xB))
            ));
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(STRANGER),
                job,
                Hash::zero()
            ));
            run_to(3);
            assert!(jury(0).contains(&OP_A), "{:?}", jury(0));
            assert_eq!(Operators::<Test>::get(OP_A).unwrap().juries, 1);

            // A's own proof is found fraudulent: it is deregistered and leaves B's jury.
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(STRANGER),
                fraudulent,
                Hash::zero()
            ));
            assert_ok!(Compute::resolve_challenge(
                RuntimeOrigin::root(),
                fraudulent,
                true
            ));
            assert_eq!(Operators::<Test>::get(OP_A), None);
            assert!(!jury(0).contains(&OP_A), "{:?}", jury(0));
            assert_eq!(jury(0).len(), 2);
            assert_noop!(
                Compute::vote(RuntimeOrigin::signed(OP_A), 0, false),
                Error::<Test>::NotJuror
            );

            // Registered again, it sits on no jury, and the invariants hold.
            register(OP_A, 0xA);
            assert_eq!(Operators::<Test>::get(OP_A).unwrap().juries, 0);
            assert_ok!(Compute::do_try_state());
        });
    }

    #[test]
    fn a_majority_finding_the_proof_sound_dismisses_the_challenge_and_it_settles() {
        ExtBuilder.build_and_execute(|| {
            let (job, drawn) = drawn_challenge();
            assert_ok!(Compute::vote(RuntimeOrigin::signed(drawn[0]), 0, false));
            assert_ok!(Compute::vote(RuntimeOrigin::signed(drawn[1]), 0, true));
            assert_ok!(Compute::vote(RuntimeOrigin::signed(drawn[2]), 0, false));
            assert_eq!(
                last_event(),
                Event::ChallengeDismissed {
                    job,
                    challenge: 0,
                    challenger: STRANGER,
                    slashed: BOND
                }
            );
            assert_eq!(free(STRANGER), FUNDS - BOND);
            assert_eq!(free(TREASURY), ED + BOND);
            let end = (2 + CHALLENGE_PERIOD).max(2 + 1 + VOTE_PERIOD);
            assert_eq!(
                status(job),
                JobStatus::Proven {
                    operator: OP_A,
                    challenge_end: end
                }
            );
            run_to(end + 1);
            assert_ok!(Compute::settle(RuntimeOrigin::signed(STRANGER), job));
        });
    }

    #[test]
    fn votes_from_outsiders_twice_or_late_are_refused() {
        ExtBuilder.build_and_execute(|| {
            let (_, drawn) = drawn_challenge();
            assert_noop!(
                Compute::vote(RuntimeOrigin::signed(OP_A), 0, false),
                Error::<Test>::NotJuror
            );
            assert_noop!(
                Compute::vote(RuntimeOrigin::signed(STRANGER), 0, true),
                Error::<Test>::NotJuror
            );
            assert_noop!(
                Compute::vote(RuntimeOrigin::signed(drawn[0]), 7, true),
                Error::<Test>::ChallengeNotFound
            );
            assert_ok!(Compute::vote(RuntimeOrigin::signed(drawn[0]), 0, true));
            assert_noop!(
                Compute::vote(RuntimeOrigin::signed(drawn[0]), 0, false),
                Error::<Test>::AlreadyVoted
            );
            run_to(2 + 1 + VOTE_PERIOD + 1);
            assert_noop!(
                Compute::vote(RuntimeOrigin::signed(drawn[1]), 0, true),
                Error::<Test>::VotingClosed
            );
        });
    }

    #[test]
    fn on_timeout_the_proof_stands_the_bond_returns_and_absent_jurors_pay() {
        ExtBuilder.build_and_execute(|| {
            let (job, drawn) = drawn_challenge();
            // One juror votes fraud; the other two never vote: no majority.
            assert_ok!(Compute::vote(RuntimeOrigin::signed(drawn[0]), 0, true));
            let vote_end = 2 + 1 + VOTE_PERIOD;
            run_to(vote_end);
            assert_noop!(
                Compute::close_challenge(RuntimeOrigin::signed(DEV), 0),
                Error::<Test>::VotingOpen
            );
            run_to(vote_end + 1);
            assert_ok!(Compute::close_challenge(RuntimeOrigin::signed(DEV), 0));

            let slashed = MIN_STAKE / 20;
            for absent in &drawn[1..] {
                let op = Operators::<Test>::get(absent).unwrap();
                assert_eq!(op.stake, MIN_STAKE - slashed);
                assert_eq!(op.juries, 0);
                assert!(!JurorPool::<Test>::get().iter().any(|(j, _)| j == absent));
                assert!(compute_events().contains(&Event::JurorAbsent {
                    challenge: 0,
                    juror: *absent,
                    slashed
                }));
            }
            // The juror that voted keeps its stake and its seat in the pool.
            assert_eq!(Operators::<Test>::get(drawn[0]).unwrap().stake, MIN_STAKE);
            assert!(JurorPool::<Test>::get().iter().any(|(j, _)| *j == drawn[0]));
            assert_eq!(free(TREASURY), ED + 2 * slashed);
            assert_eq!(free(STRANGER), FUNDS);
            assert_eq!(
                last_event(),
                Event::ChallengeTimedOut {
                    job,
                    challenge: 0,
                    challenger: STRANGER,
                    returned: BOND
                }
            );
            assert!(matches!(status(job), JobStatus::Proven { .. }));
            run_to(2 + CHALLENGE_PERIOD.max(1 + VOTE_PERIOD) + 1);
            assert_ok!(Compute::settle(RuntimeOrigin::signed(STRANGER), job));
        });
    }

    #[test]
    fn with_no_other_operator_the_jury_is_empty_and_the_challenge_times_out() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(OP_B),
                job,
                Hash::zero()
            ));
            run_to(3);
            assert!(jury(0).is_empty());
            run_to(2 + 1 + VOTE_PERIOD + 1);
            assert_ok!(Compute::close_challenge(RuntimeOrigin::signed(STRANGER), 0));
            assert_eq!(free(OP_B), FUNDS - MIN_STAKE);
            assert!(matches!(status(job), JobStatus::Proven { .. }));
        });
    }

    #[test]
    fn a_seated_juror_cannot_deregister_until_the_challenge_resolves() {
        ExtBuilder.build_and_execute(|| {
            let (_, drawn) = drawn_challenge();
            assert_noop!(
                Compute::deregister_operator(RuntimeOrigin::signed(drawn[0])),
                Error::<Test>::OnJury
            );
            for juror in &drawn[..2] {
                assert_ok!(Compute::vote(RuntimeOrigin::signed(*juror), 0, false));
            }
            assert_ok!(Compute::deregister_operator(RuntimeOrigin::signed(
                drawn[0]
            )));
            assert!(!JurorPool::<Test>::get().iter().any(|(j, _)| *j == drawn[0]));
        });
    }

    #[test]
    fn draws_are_fixed_by_the_seed_and_never_seat_the_parties() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            jurors_registered();
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(OP_B),
                job,
                Hash::zero()
            ));
            PendingDraws::<Test>::kill();
            let mut seen = std::collections::BTreeSet::new();
            for seed in 0..40u8 {
                let snapshot = Challenges::<Test>::get(0).unwrap();
                let juries: Vec<_> = JurorPool::<Test>::get()
                    .iter()
                    .map(|(j, _)| Operators::<Test>::get(j).unwrap().juries)
                    .collect();
                Compute::draw_jury(0, Hash::repeat_byte(seed));
                let first = jury(0);
                assert_eq!(first.len(), 3, "three of C, D, E");
                assert!(!first.contains(&OP_A) && !first.contains(&OP_B));
                seen.insert(first.clone());
                // Put the challenge back and draw again with the same seed: the same jury.
                Challenges::<Test>::insert(0, snapshot.clone());
                Compute::draw_jury(0, Hash::repeat_byte(seed));
                assert_eq!(jury(0), first);
                Challenges::<Test>::insert(0, snapshot);
                for ((j, _), count) in JurorPool::<Test>::get().iter().zip(juries) {
                    Operators::<Test>::mutate(j, |op| op.as_mut().unwrap().juries = count);
                }
            }
            // Three candidates for three seats: only the order changes with the seed.
            assert!(seen.len() > 1);
            assert!(seen.iter().all(|j| {
                let mut sorted = j.clone();
                sorted.sort();
                sorted == vec![OP_C, OP_D, OP_E]
            }));
        });
    }

    #[test]
    fn the_draw_weighs_jurors_by_stake() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            register(OP_C, 0xC);
            // D stakes 20 times what C does.
            assert_ok!(Compute::register_operator(
                RuntimeOrigin::signed(OP_D),
                worker(0xD).public(),
                possession(OP_D, 0xD),
                hardware(),
                endpoint(b"https://gpu.example:8080"),
                20 * MIN_STAKE,
                PRICE,
            ));
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(OP_B),
                job,
                Hash::zero()
            ));
            PendingDraws::<Test>::kill();
            let snapshot = Challenges::<Test>::get(0).unwrap();
            let mut first_seat_d = 0;
            for seed in 0..=255u8 {
                Compute::draw_jury(0, Hash::repeat_byte(seed));
                if jury(0).first() == Some(&OP_D) {
                    first_seat_d += 1;
                }
                Challenges::<Test>::insert(0, snapshot.clone());
            }
            for op in [OP_C, OP_D] {
                Operators::<Test>::mutate(op, |o| o.as_mut().unwrap().juries = 0);
            }
            // Expected 256 * 20/21 ≈ 244: far above the 128 of an unweighted draw.
            assert!(
                first_seat_d > 220,
                "D drawn first {first_seat_d} times of 256"
            );
        });
    }
}

mod resolve_challenge {
    use super::*;

    #[test]
    fn the_fallback_proves_fraud_for_the_oldest_challenge() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            let model = Jobs::<Test>::get(job).unwrap().model;
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(OP_B),
                job,
                Hash::zero()
            ));
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(STRANGER),
                job,
                Hash::zero()
            ));
            assert_ok!(Compute::resolve_challenge(RuntimeOrigin::root(), job, true));

            let to_challenger = MIN_STAKE / 10;
            let to_treasury = MIN_STAKE - to_challenger;
            assert_eq!(Operators::<Test>::get(OP_A), None);
            assert_eq!(WorkerKeys::<Test>::get(worker(0xA).public()), None);
            assert_eq!(held(HoldReason::OperatorStake, OP_A), 0);
            assert_eq!(free(OP_A), FUNDS - MIN_STAKE);
            assert_eq!(held(HoldReason::ChallengeBond, OP_B), 0);
            assert_eq!(free(OP_B), FUNDS - MIN_STAKE + to_challenger);
            assert_eq!(free(STRANGER), FUNDS);
            assert_eq!(free(TREASURY), ED + to_treasury);
            assert_eq!(held(HoldReason::JobBudget, DEV), 0);
            assert_eq!(free(DEV), FUNDS);
            assert_eq!(Jobs::<Test>::get(job), None);
            assert_eq!(model_status(model), ModelStatus::Rejected);
            assert!(PendingDraws::<Test>::get().is_empty());
            assert_eq!(
                last_event(),
                Event::FraudProven {
                    job,
                    challenge: 0,
                    operator: OP_A,
                    challenger: OP_B,
                    to_challenger,
                    to_treasury,
                    refunded: BUDGET
                }
            );
            assert!(MockRewards::credits().is_empty());
        });
    }

    #[test]
    fn a_dismissal_by_the_fallback_loses_the_bonds_and_the_proof_settles() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(OP_B),
                job,
                Hash::zero()
            ));
            assert_ok!(Compute::resolve_challenge(
                RuntimeOrigin::root(),
                job,
                false
            ));

            let end = (2 + CHALLENGE_PERIOD).max(2 + 1 + VOTE_PERIOD);
            assert_eq!(
                status(job),
                JobStatus::Proven {
                    operator: OP_A,
                    challenge_end: end
                }
            );
            assert_eq!(held(HoldReason::ChallengeBond, OP_B), 0);
            assert_eq!(free(OP_B), FUNDS - MIN_STAKE - BOND);
            assert_eq!(free(TREASURY), ED + BOND);
            assert_eq!(
                last_event(),
                Event::ChallengeDismissed {
                    job,
                    challenge: 0,
                    challenger: OP_B,
                    slashed: BOND
                }
            );

            run_to(end + 1);
            assert_ok!(Compute::settle(RuntimeOrigin::signed(STRANGER), job));
        });
    }

    #[test]
    fn only_the_challenge_origin_resolves_pending_challenges() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            assert_noop!(
                Compute::resolve_challenge(RuntimeOrigin::root(), job, true),
                Error::<Test>::NotChallenged
            );
            assert_noop!(
                Compute::resolve_challenge(RuntimeOrigin::root(), 99, true),
                Error::<Test>::JobNotFound
            );
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(OP_B),
                job,
                Hash::zero()
            ));
            assert_noop!(
                Compute::resolve_challenge(RuntimeOrigin::signed(OP_B), job, true),
                DispatchError::BadOrigin
            );
        });
    }

    #[test]
    fn governance_sets_the_periods_within_bounds() {
        ExtBuilder.build_and_execute(|| {
            assert_eq!(ChallengePeriod::<Test>::get(), CHALLENGE_PERIOD);
            assert_eq!(VotePeriod::<Test>::get(), VOTE_PERIOD);
            assert_noop!(
                Compute::set_challenge_periods(RuntimeOrigin::signed(OP_A), 50, 20),
                DispatchError::BadOrigin
            );
            assert_noop!(
                Compute::set_challenge_periods(RuntimeOrigin::root(), 0, 20),
                Error::<Test>::ZeroPeriod
            );
            assert_noop!(
                Compute::set_challenge_periods(RuntimeOrigin::root(), 50, 0),
                Error::<Test>::ZeroPeriod
            );
            assert_ok!(Compute::set_challenge_periods(
                RuntimeOrigin::root(),
                50,
                20
            ));
            assert_eq!(
                last_event(),
                Event::ChallengePeriodsSet {
                    challenge_period: 50,
                    vote_period: 20
                }
            );
            let job = proven_job();
            assert_eq!(
                status(job),
                JobStatus::Proven {
                    operator: OP_A,
                    challenge_end: 52
                }
            );
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(OP_B),
                job,
                Hash::zero()
            ));
            assert_eq!(Challenges::<Test>::get(0).unwrap().vote_end, 2 + 1 + 20);
        });
    }
}

mod adapter_hashes {
    use super::*;

    #[test]
    fn a_rejected_squatting_proof_does_not_block_the_honest_one() {
        ExtBuilder.build_and_execute(|| {
            // The honest job, claimed by A.
            let honest = setup();
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), honest));
            // The attacker B posts and claims its own job, and proves it first with the adapter
            // hash it saw in A's pending proof.
            let own = post_job(BUDGET, DEADLINE);
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_B), own));
            run_to(2);
            let squat = SignedTrainingProof::sign(
                payload(own, worker(0xB).public()),
                &genesis(),
                &worker(0xB),
            );
            assert_ok!(submit(OP_B, squat));
            // A's proof with the same adapter hash still goes through.
            assert_ok!(submit(
                OP_A,
                proof_by_a(payload(honest, worker(0xA).public()))
            ));
            // A jury rejects the squatter's proof; A's adapter is still announced and settles.
            jurors_registered();
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(STRANGER),
                own,
                Hash::zero()
            ));
            run_to(3);
            for juror in jury(0).into_iter().take(2) {
                assert_ok!(Compute::vote(RuntimeOrigin::signed(juror), 0, true));
            }
            assert_eq!(Jobs::<Test>::get(own), None);
            let honest_model = Jobs::<Test>::get(honest).unwrap().model;
            assert_eq!(
                Models::proven_adapter(Hash::repeat_byte(0xAD)).map(|a| a.model),
                Some(honest_model)
            );
            run_to(3 + CHALLENGE_PERIOD);
            assert_ok!(Compute::settle(RuntimeOrigin::signed(STRANGER), honest));
            assert_eq!(model_status(honest_model), ModelStatus::Active);
        });
    }

    #[test]
    fn two_identical_jobs_both_settle() {
        ExtBuilder.build_and_execute(|| {
            let first = setup();
            let second = post_job(BUDGET, DEADLINE);
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), first));
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_B), second));
            run_to(2);
            assert_ok!(submit(
                OP_A,
                proof_by_a(payload(first, worker(0xA).public()))
            ));
            let same = SignedTrainingProof::sign(
                payload(second, worker(0xB).public()),
                &genesis(),
                &worker(0xB),
            );
            assert_ok!(submit(OP_B, same));
            let models = [first, second].map(|job| Jobs::<Test>::get(job).unwrap().model);
            run_to(3 + CHALLENGE_PERIOD);
            assert_ok!(Compute::settle(RuntimeOrigin::signed(STRANGER), first));
            assert_ok!(Compute::settle(RuntimeOrigin::signed(STRANGER), second));
            for model in models {
                assert_eq!(model_status(model), ModelStatus::Active);
            }
        });
    }
}

mod settle {
    use super::*;

    #[test]
    fn after_the_window_the_budget_pays_operator_and_contributors_and_the_adapter_is_active() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            let model = Jobs::<Test>::get(job).unwrap().model;
            run_to(3 + CHALLENGE_PERIOD);
            assert_ok!(Compute::settle(RuntimeOrigin::signed(STRANGER), job));

            let contributors_paid = BUDGET * 30 / 100;
            let operator_paid = BUDGET - contributors_paid;
            assert_eq!(
                MockRewards::credits(),
                vec![
                    Credit::Pool {
                        payer: DEV,
                        pool: POOL,
                        amount: contributors_paid
                    },
                    Credit::Account {
                        payer: DEV,
                        who: OP_A,
                        source: RewardSource::Compute,
                        amount: operator_paid
                    },
                ]
            );
            assert_eq!(held(HoldReason::JobBudget, DEV), 0);
            assert_eq!(free(DEV), FUNDS - BUDGET);
            assert_eq!(free(REWARDS_POT), ED + BUDGET);
            assert_eq!(model_status(model), ModelStatus::Active);
            assert_eq!(Operators::<Test>::get(OP_A).unwrap().current_job, None);
            assert_eq!(Jobs::<Test>::get(job), None);
            assert_eq!(
                last_event(),
                Event::JobSettled {
                    job,
                    model,
                    operator: OP_A,
                    operator_paid,
                    contributors_paid
                }
            );

            // The operator is free to leave or take the next job.
            assert_ok!(Compute::deregister_operator(RuntimeOrigin::signed(OP_A)));
        });
    }

    #[test]
    fn double_settlement_is_refused() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            run_to(3 + CHALLENGE_PERIOD);
            assert_ok!(Compute::settle(RuntimeOrigin::signed(STRANGER), job));
            assert_noop!(
                Compute::settle(RuntimeOrigin::signed(STRANGER), job),
                Error::<Test>::JobNotFound
            );
            assert_eq!(MockRewards::credits().len(), 2);
        });
    }

    #[test]
    fn refuses_open_windows_pending_challenges_and_unproven_jobs() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            let settle = |job| Compute::settle(RuntimeOrigin::signed(STRANGER), job);
            run_to(2 + CHALLENGE_PERIOD);
            assert_noop!(settle(job), Error::<Test>::ChallengeWindowOpen);
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(OP_B),
                job,
                Hash::zero()
            ));
            run_to(3 + CHALLENGE_PERIOD);
            assert_noop!(settle(job), Error::<Test>::ChallengePending);
            let open = post_job(BUDGET, DEADLINE);
            assert_noop!(settle(open), Error::<Test>::JobNotProven);
        });
    }
}

mod story {
    use super::*;

    /// Review L3: a page reads at most MAX_PAGE_SCAN ids, however many jobs are gone.
    #[test]
    fn open_jobs_are_listed_in_pages_that_read_a_bounded_number_of_ids() {
        ExtBuilder.build_and_execute(|| {
            let first = setup();
            NextJobId::<Test>::put(first + 10_000);
            let later = post_job(BUDGET, DEADLINE);
            let scan = u64::from(attribution_primitives::paging::MAX_PAGE_SCAN);
            assert_eq!(
                Compute::open_jobs(first + 1, 10),
                JobsPage {
                    jobs: vec![],
                    next: Some(first + 1 + scan)
                }
            );
            let (mut from, mut found) = (Some(0), Vec::new());
            while let Some(start) = from {
                let page = Compute::open_jobs(start, 10);
                found.extend(page.jobs.into_iter().map(|(id, _)| id));
                from = page.next;
            }
            assert_eq!(found, vec![first, later]);
        });
    }

    #[test]
    fn a_fine_tune_from_request_to_active_model_with_its_lineage() {
        ExtBuilder.build_and_execute(|| {
            let first = setup();
            let second = post_job(2 * BUDGET, DEADLINE);
            let third = post_job(BUDGET, DEADLINE);

            // Workers find open jobs through the runtime API, lowest ids first.
            let ids = |from, max| {
                Compute::open_jobs(from, max)
                    .jobs
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect::<Vec<_>>()
            };
            assert_eq!(ids(0, 10), vec![first, second, third]);
            assert_eq!(ids(1, 1), vec![second]);
            // Each page says where the next starts (review L3: bounded pages).
            assert_eq!(Compute::open_jobs(first, 1).next, Some(first + 1));
            assert_eq!(Compute::open_jobs(third, u32::MAX).next, None);
            assert_eq!(Compute::open_jobs(JobId::MAX, 10).jobs.len(), 0);

            // B takes the second job and proves it in the last block of its claim.
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_B), second));
            assert_eq!(ids(0, 10), vec![first, third]);
            run_to(1 + CLAIM_TIMEOUT);
            let mut attested = payload(second, worker(0xB).public());
            attested.contributions = ContributionList::truncate_from(vec![2, 4]);
            assert_ok!(submit(
                OP_B,
                SignedTrainingProof::sign(attested, &genesis(), &worker(0xB))
            ));

            // Nobody challenges; anyone settles once the window has passed.
            run_to(2 + CLAIM_TIMEOUT + CHALLENGE_PERIOD);
            assert_ok!(Compute::settle(RuntimeOrigin::signed(STRANGER), second));

            let contributors_paid = 2 * BUDGET * 30 / 100;
            assert_eq!(
                MockRewards::credits(),
                vec![
                    Credit::Pool {
                        payer: DEV,
                        pool: POOL,
                        amount: contributors_paid
                    },
                    Credit::Account {
                        payer: DEV,
                        who: OP_B,
                        source: RewardSource::Compute,
                        amount: 2 * BUDGET - contributors_paid
                    },
                ]
            );
            // The other jobs' budgets stay held.
            assert_eq!(held(HoldReason::JobBudget, DEV), 2 * BUDGET);

            let adapter = pallet_models::Pallet::<Test>::model_with_lineage(2).unwrap();
            assert_eq!(adapter.model.owner, DEV);
            assert_eq!(adapter.model.status, ModelStatus::Active);
            assert_eq!(
                adapter.base.map(|(id, base)| (id, base.owner)),
                Some((BASE, MODEL_OWNER))
            );
            let ModelKind::Adapter(lineage) = adapter.model.kind else {
                panic!("an adapter")
            };
            assert_eq!(lineage.spec.job, second);
            assert_eq!(lineage.spec.pool, POOL);
            assert_eq!(lineage.spec.dataset_root, ROOT);
            assert_eq!(lineage.spec.method, TrainingMethod::Lora);
            let artifact = lineage.artifact.unwrap();
            assert_eq!(artifact.trainer, OP_B);
            assert_eq!(artifact.contributions_used, 2);
            assert_eq!(artifact.metrics, METRICS);
            assert_eq!(artifact.adapter_size, 4_194_304);
            assert_eq!(artifact.held_out_root, Hash::repeat_byte(0xE0));
            assert_eq!(
                <pallet_models::Pallet<Test> as crate::ModelsInspect<AccountId>>::serving_model(2),
                Some(attribution_primitives::traits::ServingModel {
                    owner: DEV,
                    trained_on: Some(POOL)
                })
            );
        });
    }
}

mod invariants {
    use super::*;

    #[test]
    fn try_state_notices_a_stake_or_budget_that_is_not_held() {
        ExtBuilder.build().execute_with(|| {
            let job = setup();
            assert_ok!(Compute::do_try_state());

            Operators::<Test>::mutate(OP_A, |op| op.as_mut().unwrap().stake += 1);
            assert!(Compute::do_try_state().is_err());
            Operators::<Test>::mutate(OP_A, |op| op.as_mut().unwrap().stake -= 1);

            Jobs::<Test>::mutate(job, |info| info.as_mut().unwrap().budget += 1);
            assert!(Compute::do_try_state().is_err());
        });
    }

    #[test]
    fn try_state_notices_unheld_bonds_lost_jury_seats_and_a_stale_pool() {
        ExtBuilder.build().execute_with(|| {
            let job = proven_job();
            jurors_registered();
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(STRANGER),
                job,
                Hash::zero()
            ));
            run_to(3);
            assert_ok!(Compute::do_try_state());
            let juror = jury(0)[0];

            Challenges::<Test>::mutate(0, |c| c.as_mut().unwrap().bond += 1);
            assert!(Compute::do_try_state().is_err());
            Challenges::<Test>::mutate(0, |c| c.as_mut().unwrap().bond -= 1);

            Operators::<Test>::mutate(juror, |op| op.as_mut().unwrap().juries = 0);
            assert!(Compute::do_try_state().is_err());
            Operators::<Test>::mutate(juror, |op| op.as_mut().unwrap().juries = 1);

            JurorPool::<Test>::mutate(|pool| pool[0].1 += 1);
            assert!(Compute::do_try_state().is_err());
            JurorPool::<Test>::mutate(|pool| pool[0].1 -= 1);

            Jobs::<Test>::mutate(job, |info| {
                info.as_mut().unwrap().status = JobStatus::Proven {
                    operator: OP_A,
                    challenge_end: 7,
                }
            });
            assert!(Compute::do_try_state().is_err());
        });
    }

    #[test]
    fn try_state_notices_expired_claimers_of_a_gone_job_or_claiming_again() {
        ExtBuilder.build().execute_with(|| {
            let job = setup();
            crate::ExpiredClaimers::<Test>::insert(job, BoundedVec::truncate_from(vec![OP_A]));
            assert_ok!(Compute::do_try_state());
            Jobs::<Test>::mutate(job, |info| {
                info.as_mut().unwrap().status = JobStatus::Claimed {
                    operator: OP_A,
                    expires_at: 11,
                }
            });
            Operators::<Test>::mutate(OP_A, |op| op.as_mut().unwrap().current_job = Some(job));
            assert!(Compute::do_try_state().is_err());
            crate::ExpiredClaimers::<Test>::insert(99, BoundedVec::truncate_from(vec![OP_B]));
            crate::ExpiredClaimers::<Test>::remove(job);
            assert!(Compute::do_try_state().is_err());
        });
    }

    #[test]
    fn try_state_notices_an_operator_that_lost_track_of_its_job() {
        ExtBuilder.build().execute_with(|| {
            let job = setup();
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            Operators::<Test>::mutate(OP_A, |op| op.as_mut().unwrap().current_job = None);
            assert!(Compute::do_try_state().is_err());
        });
    }
}

mod quality_gate {
    use super::*;
    use attribution_primitives::models::ProvenAdapter;
    use sp_runtime::DispatchError::BadOrigin;

    /// `setup`, claimed by A: a proof of `metrics` for it, signed by A's worker.
    fn claimed_with(metrics: EvalMetrics) -> (JobId, SignedTrainingProof) {
        let job = setup();
        assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
        let mut p = payload(job, worker(0xA).public());
        p.metrics = metrics;
        (job, proof_by_a(p))
    }

    #[test]
    fn a_proof_whose_adapter_does_not_beat_the_base_model_is_refused_and_the_claim_stays() {
        for adapted in [METRICS.base_loss_ppm, METRICS.base_loss_ppm + 1, u64::MAX] {
            ExtBuilder.build_and_execute(|| {
                let (job, proof) = claimed_with(EvalMetrics {
                    adapted_loss_ppm: adapted,
                    ..METRICS
                });
                assert_noop!(submit(OP_A, proof), Error::<Test>::NoImprovement);
                // Nothing was lost: the claim stands and a better proof is accepted.
                assert!(matches!(
                    status(job),
                    JobStatus::Claimed { operator: OP_A, .. }
                ));
                assert_ok!(submit(OP_A, proof_by_a(payload(job, worker(0xA).public()))));
                assert!(matches!(status(job), JobStatus::Proven { .. }));
            });
        }
    }

    #[test]
    fn a_loss_just_below_the_base_models_passes() {
        ExtBuilder.build_and_execute(|| {
            let (_, proof) = claimed_with(EvalMetrics {
                adapted_loss_ppm: METRICS.base_loss_ppm - 1,
                ..METRICS
            });
            assert_ok!(submit(OP_A, proof));
        });
    }

    #[test]
    fn figures_changed_after_signing_break_the_signature() {
        ExtBuilder.build_and_execute(|| {
            let (job, mut proof) = claimed_with(EvalMetrics {
                adapted_loss_ppm: METRICS.base_loss_ppm,
                ..METRICS
            });
            // Lowering the loss after signing does not get past the gate.
            proof.payload.metrics.adapted_loss_ppm -= 1;
            assert_noop!(submit(OP_A, proof), Error::<Test>::BadSignature);
            for forge in [
                |p: &mut TrainingProof| p.held_out_root = Hash::repeat_byte(0xE1),
                |p: &mut TrainingProof| p.adapter_size -= 1,
                |p: &mut TrainingProof| p.metrics.base_loss_ppm += 1,
            ] {
                let mut proof = proof_by_a(payload(job, worker(0xA).public()));
                forge(&mut proof.payload);
                assert_noop!(submit(OP_A, proof), Error::<Test>::BadSignature);
            }
        });
    }

    /// `setup`'s job proven by A with [`METRICS`] and settled: adapter 1 is `Active`, owned by
    /// DEV. Returns the block after settlement.
    fn active_adapter() -> ModelId {
        let job = proven_job();
        run_to(3 + CHALLENGE_PERIOD);
        assert_ok!(Compute::settle(RuntimeOrigin::signed(STRANGER), job));
        let model = 1;
        assert_eq!(model_status(model), ModelStatus::Active);
        model
    }

    fn post_version_of(previous: ModelId) -> JobId {
        let job = NextJobId::<Test>::get();
        assert_ok!(Compute::request_training(
            RuntimeOrigin::signed(DEV),
            model_name(b"smol-legal-v2"),
            BASE,
            POOL,
            TrainingMethod::Lora,
            HYPER,
            BUDGET,
            DEADLINE,
            Some(previous),
        ));
        job
    }

    /// A's proof of `job` with adapted loss `adapted` and a fresh adapter hash.
    fn proof_with_loss(job: JobId, adapted: u64) -> SignedTrainingProof {
        let mut p = payload(job, worker(0xA).public());
        p.adapter_hash = Hash::repeat_byte(0xA2);
        p.metrics.adapted_loss_ppm = adapted;
        proof_by_a(p)
    }

    #[test]
    fn a_new_version_records_its_previous_one() {
        ExtBuilder.build_and_execute(|| {
            let previous = active_adapter();
            let job = post_version_of(previous);
            let info = Jobs::<Test>::get(job).unwrap();
            assert_eq!(info.previous, Some(previous));
            let ModelKind::Adapter(lineage) =
                pallet_models::Models::<Test>::get(info.model).unwrap().kind
            else {
                panic!("an adapter")
            };
            assert_eq!(lineage.spec.previous, Some(previous));
        });
    }

    #[test]
    fn a_new_version_may_regress_by_at_most_the_bound() {
        ExtBuilder.build_and_execute(|| {
            let previous = active_adapter();
            let job = post_version_of(previous);
            let model = Jobs::<Test>::get(job).unwrap().model;
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            assert_eq!(MaxRegressionPpm::<Test>::get(), MAX_REGRESSION);
            // 1.7 nats × 1.05 = 1.785 nats.
            let limit = METRICS.adapted_loss_ppm * 105 / 100;
            assert_noop!(
                submit(OP_A, proof_with_loss(job, limit + 1)),
                Error::<Test>::Regressed
            );
            assert!(matches!(
                status(job),
                JobStatus::Claimed { operator: OP_A, .. }
            ));
            assert_ok!(submit(OP_A, proof_with_loss(job, limit)));
            assert_eq!(model_status(model), ModelStatus::Challengeable);
        });
    }

    #[test]
    fn governance_tightens_the_bound_for_later_proofs() {
        ExtBuilder.build_and_execute(|| {
            let previous = active_adapter();
            let job = post_version_of(previous);
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            assert_ok!(Compute::set_max_regression(RuntimeOrigin::root(), 0));
            assert_eq!(last_event(), Event::MaxRegressionSet { bound_ppm: 0 });
            assert_noop!(
                submit(OP_A, proof_with_loss(job, METRICS.adapted_loss_ppm + 1)),
                Error::<Test>::Regressed
            );
            assert_ok!(submit(OP_A, proof_with_loss(job, METRICS.adapted_loss_ppm)));
        });
    }

    #[test]
    fn a_retired_previous_version_still_bounds_the_new_one() {
        ExtBuilder.build_and_execute(|| {
            let previous = active_adapter();
            let job = post_version_of(previous);
            assert_ok!(Models::retire_model(RuntimeOrigin::signed(DEV), previous));
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            assert_noop!(
                submit(OP_A, proof_with_loss(job, METRICS.base_loss_ppm - 1)),
                Error::<Test>::Regressed
            );
        });
    }

    #[test]
    fn only_governance_sets_the_bound_and_only_up_to_one_million() {
        ExtBuilder.build_and_execute(|| {
            assert_noop!(
                Compute::set_max_regression(RuntimeOrigin::signed(DEV), 10),
                BadOrigin
            );
            assert_noop!(
                Compute::set_max_regression(RuntimeOrigin::root(), 1_000_001),
                Error::<Test>::BoundTooLarge
            );
            assert_noop!(
                Compute::set_max_regression(RuntimeOrigin::root(), u32::MAX),
                Error::<Test>::BoundTooLarge
            );
            assert_ok!(Compute::set_max_regression(
                RuntimeOrigin::root(),
                1_000_000
            ));
            assert_eq!(MaxRegressionPpm::<Test>::get(), 1_000_000);
        });
    }

    #[test]
    fn previous_must_be_an_active_adapter_of_the_callers_on_the_same_base() {
        ExtBuilder.build_and_execute(|| {
            let previous = active_adapter();
            let request = |who, base, previous| {
                Compute::request_training(
                    RuntimeOrigin::signed(who),
                    model_name(b"v2"),
                    base,
                    POOL,
                    TrainingMethod::Lora,
                    HYPER,
                    BUDGET,
                    DEADLINE,
                    Some(previous),
                )
            };
            // A base model, an unknown id, an adapter still training.
            let training = post_job(BUDGET, DEADLINE);
            let training_model = Jobs::<Test>::get(training).unwrap().model;
            for not_active_adapter in [BASE, 42, training_model] {
                assert_noop!(
                    request(DEV, BASE, not_active_adapter),
                    pallet_models::Error::<Test>::PreviousNotActiveAdapter
                );
            }
            assert_noop!(
                request(STRANGER, BASE, previous),
                pallet_models::Error::<Test>::PreviousNotOwned
            );
            assert_ok!(Models::register_base_model(
                RuntimeOrigin::signed(MODEL_OWNER),
                model_name(b"other-base"),
                base_model(Hash::repeat_byte(0x13))
            ));
            let other_base = pallet_models::NextModelId::<Test>::get() - 1;
            assert_noop!(
                request(DEV, other_base, previous),
                pallet_models::Error::<Test>::PreviousBaseMismatch
            );
            assert_ok!(Models::retire_model(RuntimeOrigin::signed(DEV), previous));
            assert_noop!(
                request(DEV, BASE, previous),
                pallet_models::Error::<Test>::PreviousNotActiveAdapter
            );
        });
    }

    #[test]
    fn try_state_notices_a_bound_above_one_million() {
        ExtBuilder.build().execute_with(|| {
            MaxRegressionPpm::<Test>::put(1_000_001);
            assert!(Compute::do_try_state().is_err());
        });
    }

    #[test]
    fn a_proven_adapter_is_announced_with_its_size_until_rejected() {
        ExtBuilder.build_and_execute(|| {
            let adapter = Hash::repeat_byte(0xAD);
            let job = setup();
            assert_eq!(Models::proven_adapter(adapter), None);
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), job));
            run_to(2);
            assert_ok!(submit(OP_A, proof_by_a(payload(job, worker(0xA).public()))));
            let announced = Some(ProvenAdapter {
                model: 1,
                size: 4_194_304,
            });
            assert_eq!(Models::proven_adapter(adapter), announced);
            // A base model's weights are not an adapter; unknown hashes are nothing.
            assert_eq!(Models::proven_adapter(BASE_HASH), None);
            assert_eq!(Models::proven_adapter(Hash::repeat_byte(0x01)), None);
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(OP_B),
                job,
                Hash::zero()
            ));
            assert_ok!(Compute::resolve_challenge(RuntimeOrigin::root(), job, true));
            assert_eq!(Models::proven_adapter(adapter), None);
        });
    }

    #[test]
    fn an_active_adapter_stays_announced() {
        ExtBuilder.build_and_execute(|| {
            let model = active_adapter();
            assert_eq!(
                Models::proven_adapter(Hash::repeat_byte(0xAD)),
                Some(ProvenAdapter {
                    model,
                    size: 4_194_304
                })
            );
        });
    }
}

mod hyperparameters_index {
    use super::*;

    #[test]
    fn a_live_job_announces_its_hyperparameters_until_it_is_removed() {
        ExtBuilder.build_and_execute(|| {
            assert_eq!(Compute::hyperparameters_job(HYPER), None);
            let first = setup();
            let second = post_job(BUDGET, DEADLINE);
            assert!(Compute::hyperparameters_job(HYPER).is_some());
            assert_eq!(Compute::hyperparameters_job(Hash::repeat_byte(0x23)), None);

            assert_ok!(Compute::cancel_job(RuntimeOrigin::signed(DEV), first));
            assert_eq!(Compute::hyperparameters_job(HYPER), Some(second));

            // Proven and challenged jobs are live; fraud removes the job and its entry.
            assert_ok!(Compute::claim_job(RuntimeOrigin::signed(OP_A), second));
            assert_ok!(submit(
                OP_A,
                proof_by_a(payload(second, worker(0xA).public()))
            ));
            assert_eq!(Compute::hyperparameters_job(HYPER), Some(second));
            assert_ok!(Compute::challenge(
                RuntimeOrigin::signed(OP_B),
                second,
                Hash::zero()
            ));
            assert_eq!(Compute::hyperparameters_job(HYPER), Some(second));
            assert_ok!(Compute::resolve_challenge(
                RuntimeOrigin::root(),
                second,
                true
            ));
            assert_eq!(Compute::hyperparameters_job(HYPER), None);
            assert_eq!(JobsByHyperparameters::<Test>::iter().count(), 0);
        });
    }

    #[test]
    fn settling_removes_the_entry() {
        ExtBuilder.build_and_execute(|| {
            let job = proven_job();
            run_to(3 + CHALLENGE_PERIOD);
            assert_ok!(Compute::settle(RuntimeOrigin::signed(STRANGER), job));
            assert_eq!(Compute::hyperparameters_job(HYPER), None);
        });
    }

    #[test]
    fn try_state_notices_a_missing_or_stale_entry() {
        ExtBuilder.build().execute_with(|| {
            let job = setup();
            assert_ok!(Compute::do_try_state());
            JobsByHyperparameters::<Test>::remove(HYPER, job);
            assert!(Compute::do_try_state().is_err());
            JobsByHyperparameters::<Test>::insert(HYPER, job, ());
            JobsByHyperparameters::<Test>::insert(HYPER, job + 1, ());
            assert!(Compute::do_try_state().is_err());
        });
    }
}

/// The juror pool lent to other pallets' disputes (pallet-attribution's attribution challenges).
mod lent_jurors {
    use super::*;
    use crate::LentSeats;
    use attribution_primitives::traits::JurorPool as _;

    #[test]
    fn lent_seats_are_drawn_stake_weighted_keep_jurors_from_leaving_and_slash_stake() {
        ExtBuilder.build_and_execute(|| {
            for (operator, seed) in [(OP_A, 1), (OP_B, 2), (OP_C, 3), (OP_D, 4)] {
                register(operator, seed);
            }
            let drawn = Compute::draw(b"attribution-jury/seed", &[OP_A]);
            assert_eq!(drawn.len(), JURY_SIZE as usize);
            assert!(!drawn.contains(&OP_A));
            let mut distinct = drawn.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), drawn.len(), "without replacement");
            for juror in &drawn {
                assert_eq!(LentSeats::<Test>::get(juror), 1);
            }
            assert_noop!(
                Compute::deregister_operator(RuntimeOrigin::signed(drawn[0])),
                Error::<Test>::OnJury
            );
            for juror in &drawn {
                Compute::release(juror);
            }
            assert!(!LentSeats::<Test>::contains_key(drawn[0]));
            assert_ok!(Compute::deregister_operator(RuntimeOrigin::signed(
                drawn[0]
            )));

            // A slash moves held stake and lowers the draw weight; below the minimum stake the
            // operator leaves the pool.
            let victim = *drawn.last().unwrap();
            assert_eq!(Compute::stake(&victim), MIN_STAKE);
            assert_eq!(Compute::slash(&victim, 300, &STRANGER), Ok(300));
            assert_eq!(Compute::stake(&victim), MIN_STAKE - 300);
            assert_eq!(held(HoldReason::OperatorStake, victim), MIN_STAKE - 300);
            assert_eq!(free(STRANGER), FUNDS + 300);
            assert!(!JurorPool::<Test>::get().iter().any(|(j, _)| *j == victim));
            assert_eq!(Compute::slash(&STRANGER, 1, &OP_A), Ok(0));
        });
    }

    /// Found by the adversary simulation: a steering operator slashed below the minimum stake
    /// kept settling paid inference, each later proven misattribution costing it a share of an
    /// ever smaller stake, so steering paid once the stake was spent.
    #[test]
    fn an_operator_slashed_below_the_minimum_stake_settles_no_paid_inference() {
        ExtBuilder.build_and_execute(|| {
            register(OP_A, 1);
            assert_eq!(Compute::inference_price(&OP_A), Some(PRICE));
            assert_eq!(Compute::slash(&OP_A, 1, &STRANGER), Ok(1));
            assert_eq!(Compute::stake(&OP_A), MIN_STAKE - 1);
            assert_eq!(Compute::inference_price(&OP_A), None);
            // Still registered (its worker key is known) until it leaves and registers again.
            assert!(Compute::worker_key(&OP_A).is_some());
            assert_ok!(Compute::deregister_operator(RuntimeOrigin::signed(OP_A)));
            register(OP_A, 1);
            assert_eq!(Compute::inference_price(&OP_A), Some(PRICE));
        });
    }
}
