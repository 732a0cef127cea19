//! Benchmarks of compute's calls. Worker keys live in the benchmark's keystore, so proofs carry
//! real sr25519 signatures and their verification is measured.

use super::*;
use crate::Pallet as Compute;
use alloc::{boxed::Box, vec, vec::Vec};
use attribution_primitives::{
    compute::{ContributionList, MAX_ENDPOINT_LEN, MAX_GPU_MODEL_LEN, MAX_PROOF_CONTRIBUTIONS},
    models::{Cid, EvalMetrics},
    signing::{signing_message, TRAINING_PROOF_DOMAIN},
};
use frame_benchmarking::v2::*;
use frame_support::traits::{
    fungible::{Inspect, Mutate},
    EnsureOrigin, Get, Hooks,
};
use frame_system::{pallet_prelude::BlockNumberFor, Pallet as System, RawOrigin};
use sp_core::sr25519;
use sp_runtime::{traits::Saturating, BoundedVec, KeyTypeId};

/// Where the benchmark keeps its worker keys.
const WORKER_KEY_TYPE: KeyTypeId = KeyTypeId(*b"acwk");
const BASE_HASH: Hash = Hash::repeat_byte(0x11);
const HYPER: Hash = Hash::repeat_byte(0x22);

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
    let who: T::AccountId = account(name, index, 0);
    let amount = T::MinOperatorStake::get()
        .saturating_add(T::ChallengeBond::get())
        .saturating_add(T::MinJobBudget::get())
        .saturating_mul(4)
        .saturating_add(T::Currency::minimum_balance().saturating_mul(100));
    T::Currency::set_balance(&who, amount);
    who
}

fn worker_key() -> sr25519::Public {
    sp_io::crypto::sr25519_generate(WORKER_KEY_TYPE, None)
}

/// `key`'s proof, made in the keystore, that `operator` holds it on this chain.
fn possession<T: Config>(operator: &T::AccountId, key: sr25519::Public) -> sr25519::Signature {
    let payload = WorkerKeyPossession {
        operator: operator.clone(),
        worker_key: key,
    };
    sp_io::crypto::sr25519_sign(
        WORKER_KEY_TYPE,
        &key,
        &payload.message(&Compute::<T>::genesis_hash()),
    )
    .expect("the key was generated in the keystore")
}

fn hardware() -> Hardware {
    Hardware {
        gpu_model: vec![b'g'; MAX_GPU_MODEL_LEN as usize]
            .try_into()
            .expect("at the bound"),
        gpu_memory_mib: 81_920,
        gpu_count: 8,
    }
}

fn endpoint() -> Endpoint {
    let mut url = b"https://".to_vec();
    url.resize(MAX_ENDPOINT_LEN as usize, b'e');
    Endpoint::truncate_from(url)
}

fn operator<T: Config>(index: u32) -> (T::AccountId, sr25519::Public) {
    let who = funded::<T>("operator", index);
    let key = worker_key();
    Compute::<T>::register_operator(
        RawOrigin::Signed(who.clone()).into(),
        key,
        possession::<T>(&who, key),
        hardware(),
        endpoint(),
        T::MinOperatorStake::get(),
        1,
    )
    .expect("the operator is funded and its record valid");
    (who, key)
}

/// A base model and a published version of `contributions` contributions, and a funded
/// developer.
struct Setup<T: Config> {
    base_model: ModelId,
    pool: PoolId,
    ids: Vec<ContributionId>,
    developer: T::AccountId,
}

fn setup<T: Config>(contributions: u32) -> Setup<T> {
    let owner = funded::<T>("model-owner", 0);
    let base_model = T::BenchmarkHelper::base_model(&owner, BASE_HASH);
    let (pool, _, ids) = T::BenchmarkHelper::datanet_version(&owner, contributions);
    Setup {
        base_model,
        pool,
        ids,
        developer: funded::<T>("developer", 0),
    }
}

/// Posts a job of `setup`'s developer, as a new version of `previous` if given.
fn post<T: Config>(setup: &Setup<T>, previous: Option<ModelId>) -> JobId {
    let job = NextJobId::<T>::get();
    let deadline = System::<T>::block_number().saturating_add(1_000u32.into());
    Compute::<T>::request_training(
        RawOrigin::Signed(setup.developer.clone()).into(),
        ModelName::truncate_from(vec![b'm'; ModelName::bound()]),
        setup.base_model,
        setup.pool,
        TrainingMethod::Qlora,
        HYPER,
        T::MinJobBudget::get(),
        deadline,
        previous,
    )
    .expect("the developer is funded and the version published");
    job
}

/// An `Active` adapter of `setup`'s developer, trained (and settled) by operator 100.
fn active_adapter<T: Config>(setup: &Setup<T>) -> ModelId {
    let job = post::<T>(setup, None);
    let model = Jobs::<T>::get(job).expect("just posted").model;
    let (prover, key) = operator::<T>(100);
    Compute::<T>::claim_job(RawOrigin::Signed(prover.clone()).into(), job)
        .expect("the job is open");
    let proof = signed_proof::<T>(job, key, setup.ids.clone(), Hash::repeat_byte(0xA0));
    Compute::<T>::submit_training_proof(RawOrigin::Signed(prover.clone()).into(), Box::new(proof))
        .expect("the proof is valid");
    advance::<T>(ChallengePeriod::<T>::get().saturating_add(1u32.into()));
    Compute::<T>::settle(RawOrigin::Signed(prover).into(), job).expect("the window passed");
    model
}

/// An open job on a version of `contributions` contributions, a new version of an `Active`
/// adapter (the worst case: its proof reads that adapter's metrics); returns it with its
/// developer and the version's ids.
fn open_job<T: Config>(contributions: u32) -> (JobId, T::AccountId, Vec<ContributionId>) {
    let setup = setup::<T>(contributions);
    let previous = active_adapter::<T>(&setup);
    let job = post::<T>(&setup, Some(previous));
    (job, setup.developer, setup.ids)
}

fn signed_proof<T: Config>(
    job: JobId,
    key: sr25519::Public,
    contributions: Vec<ContributionId>,
    adapter_hash: Hash,
) -> SignedTrainingProof {
    let info = Jobs::<T>::get(job).expect("the job exists");
    let payload = TrainingProof {
        job,
        worker_key: key,
        base_model_hash: BASE_HASH,
        dataset_root: info.dataset_root,
        hyperparameters_hash: HYPER,
        adapter_hash,
        adapter_size: attribution_primitives::models::MAX_ADAPTER_BYTES,
        adapter_cid: Cid::truncate_from(vec![b'c'; Cid::bound()]),
        steps: 1_000,
        tokens: 1_000_000,
        metrics: EvalMetrics {
            base_loss_ppm: 2_000_000,
            adapted_loss_ppm: 1_500_000,
            base_rouge_ppm: 300_000,
            adapted_rouge_ppm: 400_000,
        },
        held_out_root: Hash::repeat_byte(0xE0),
        checkpoint_root: Hash::repeat_byte(0xC0),
        contributions: ContributionList::truncate_from(contributions),
    };
    let signature = sp_io::crypto::sr25519_sign(
        WORKER_KEY_TYPE,
        &key,
        &signing_message(
            TRAINING_PROOF_DOMAIN,
            &Compute::<T>::genesis_hash(),
            &payload,
        ),
    )
    .expect("the key is in the keystore");
    SignedTrainingProof { payload, signature }
}

/// A job proven by a fresh operator; returns it and the operator.
fn proven_job<T: Config>() -> (JobId, T::AccountId) {
    let (job, _, ids) = open_job::<T>(1);
    let (prover, key) = operator::<T>(0);
    Compute::<T>::claim_job(RawOrigin::Signed(prover.clone()).into(), job)
        .expect("the job is open");
    Compute::<T>::submit_training_proof(
        RawOrigin::Signed(prover.clone()).into(),
        Box::new(signed_proof::<T>(job, key, ids, Hash::repeat_byte(0xAD))),
    )
    .expect("the proof is valid");
    (job, prover)
}

/// Registers operators `first..first + count` (each joins the juror pool while it has room).
fn operators<T: Config>(first: u32, count: u32) {
    for index in first..first.saturating_add(count) {
        operator::<T>(index);
    }
}

/// Fills the juror pool to [`MAX_JUROR_POOL`] with operator records written directly (what the
/// draw reads: the pool and the drawn jurors' records), as registering 256 operators with fresh
/// keystore keys would take minutes in the benchmark tests.
fn full_juror_pool<T: Config>() {
    let stake = T::MinOperatorStake::get();
    let mut pool = JurorPool::<T>::get();
    for index in 0..MAX_JUROR_POOL {
        let who: T::AccountId = account("juror", index, 0);
        Operators::<T>::insert(
            &who,
            OperatorInfo {
                worker_key: sr25519::Public::from_raw([0; 32]),
                hardware: hardware(),
                endpoint: endpoint(),
                price_per_token: 1,
                stake,
                current_job: None,
                juries: 0,
            },
        );
        if pool.try_push((who, stake)).is_err() {
            break;
        }
    }
    JurorPool::<T>::put(pool);
}

/// `count` jobs of one base model and version, each proven by its own operator (1000, 1001, ...).
fn proven_jobs<T: Config>(count: u32) -> Vec<JobId> {
    let setup = setup::<T>(1);
    (0..count)
        .map(|i| {
            let job = post::<T>(&setup, None);
            let (prover, key) = operator::<T>(1000 + i);
            Compute::<T>::claim_job(RawOrigin::Signed(prover.clone()).into(), job)
                .expect("the job is open");
            let proof = signed_proof::<T>(job, key, setup.ids.clone(), Hash::repeat_byte(0xAD));
            Compute::<T>::submit_training_proof(RawOrigin::Signed(prover).into(), Box::new(proof))
                .expect("the proof is valid");
            job
        })
        .collect()
}

/// Opens a challenge of `job` by a fresh funded account `index` and returns its id.
fn open_challenge<T: Config>(job: JobId, index: u32) -> ChallengeId {
    let id = NextChallengeId::<T>::get();
    let challenger = funded::<T>("challenger", index);
    Compute::<T>::challenge(
        RawOrigin::Signed(challenger).into(),
        job,
        Hash::repeat_byte(0xEE),
    )
    .expect("the proof is in its window");
    id
}

/// A proven job with [`MAX_OPEN_CHALLENGES`] open challenges, each with a full jury drawn from a
/// pool of `pool` operators. Returns the job, its prover and the challenges.
fn fully_challenged<T: Config>(pool: u32) -> (JobId, T::AccountId, Vec<ChallengeId>) {
    operators::<T>(1, pool);
    let (job, prover) = proven_job::<T>();
    let challenges: Vec<ChallengeId> = (0..MAX_OPEN_CHALLENGES)
        .map(|i| open_challenge::<T>(job, i))
        .collect();
    PendingDraws::<T>::kill();
    for id in &challenges {
        Compute::<T>::draw_jury(*id, Hash::repeat_byte(0x5E));
    }
    (job, prover, challenges)
}

fn jurors<T: Config>(challenge: ChallengeId) -> Vec<T::AccountId> {
    Challenges::<T>::get(challenge)
        .map(|c| c.jury.into_iter().map(|seat| seat.juror).collect())
        .unwrap_or_default()
}

fn advance<T: Config>(blocks: BlockNumberFor<T>) {
    System::<T>::set_block_number(System::<T>::block_number().saturating_add(blocks));
}

/// Fills `job`'s expired claimers with accounts that are not operators.
fn fill_expired_claimers<T: Config>(job: JobId) {
    let claimers: Vec<T::AccountId> = (0..MAX_EXPIRED_CLAIMERS)
        .map(|index| account("expired", index, 0))
        .collect();
    ExpiredClaimers::<T>::insert(job, BoundedVec::truncate_from(claimers));
}

fn ensure_treasury_exists<T: Config>() {
    let treasury = T::Treasury::get();
    if T::Currency::balance(&treasury) < T::Currency::minimum_balance() {
        T::Currency::set_balance(&treasury, T::Currency::minimum_balance());
    }
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn register_operator() {
        let caller = funded::<T>("operator", 0);
        let key = worker_key();
        let proof = possession::<T>(&caller, key);

        #[extrinsic_call]
        _(
            RawOrigin::Signed(caller.clone()),
            key,
            proof,
            hardware(),
            endpoint(),
            T::MinOperatorStake::get(),
            1,
        );

        assert_eq!(WorkerKeys::<T>::get(key), Some(caller));
    }

    #[benchmark]
    fn rotate_worker_key() {
        let (caller, _) = operator::<T>(0);
        let new = worker_key();
        let proof = possession::<T>(&caller, new);

        #[extrinsic_call]
        _(RawOrigin::Signed(caller.clone()), new, proof);

        assert_eq!(WorkerKeys::<T>::get(new), Some(caller));
    }

    #[benchmark]
    fn update_operator() {
        let (caller, _) = operator::<T>(0);
        let mut updated = hardware();
        updated.gpu_count = 1;

        #[extrinsic_call]
        _(
            RawOrigin::Signed(caller.clone()),
            Some(updated.clone()),
            Some(endpoint()),
            Some(2),
        );

        assert_eq!(
            Operators::<T>::get(caller).map(|op| op.hardware),
            Some(updated)
        );
    }

    #[benchmark]
    fn deregister_operator() {
        let (caller, _) = operator::<T>(0);

        #[extrinsic_call]
        _(RawOrigin::Signed(caller.clone()));

        assert!(Operators::<T>::get(caller).is_none());
    }

    // The worst case: a new version of an `Active` adapter, whose record is read and checked.
    #[benchmark]
    fn request_training() {
        let setup = setup::<T>(1);
        let previous = active_adapter::<T>(&setup);
        let job = NextJobId::<T>::get();
        let deadline = System::<T>::block_number().saturating_add(1_000u32.into());

        #[extrinsic_call]
        _(
            RawOrigin::Signed(setup.developer),
            ModelName::truncate_from(vec![b'm'; ModelName::bound()]),
            setup.base_model,
            setup.pool,
            TrainingMethod::Lora,
            HYPER,
            T::MinJobBudget::get(),
            deadline,
            Some(previous),
        );

        assert_eq!(
            Jobs::<T>::get(job).and_then(|info| info.previous),
            Some(previous)
        );
        assert_eq!(Compute::<T>::hyperparameters_job(HYPER), Some(job));
    }

    #[benchmark]
    fn cancel_job() {
        let (job, developer, _) = open_job::<T>(1);

        #[extrinsic_call]
        _(RawOrigin::Signed(developer), job);

        assert!(!Jobs::<T>::contains_key(job));
    }

    #[benchmark]
    fn claim_job() {
        let (job, _, _) = open_job::<T>(1);
        let (caller, _) = operator::<T>(0);
        // Worst case: the job remembers as many expired claimers as it may, none the caller.
        fill_expired_claimers::<T>(job);

        #[extrinsic_call]
        _(RawOrigin::Signed(caller.clone()), job);

        assert_eq!(
            Operators::<T>::get(caller).and_then(|op| op.current_job),
            Some(job)
        );
    }

    #[benchmark]
    fn release_expired_claim() {
        let (job, _, _) = open_job::<T>(1);
        let (claimer, _) = operator::<T>(0);
        Compute::<T>::claim_job(RawOrigin::Signed(claimer.clone()).into(), job)
            .expect("the job is open");
        ensure_treasury_exists::<T>();
        advance::<T>(T::ClaimTimeout::get().saturating_add(1u32.into()));
        let caller = funded::<T>("anyone", 0);
        // Worst case: the list of expired claimers is full, so the oldest makes room.
        fill_expired_claimers::<T>(job);

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), job);

        assert_eq!(
            Jobs::<T>::get(job).map(|info| info.status),
            Some(JobStatus::Open)
        );
        assert_eq!(ExpiredClaimers::<T>::get(job).last(), Some(&claimer));
    }

    #[benchmark]
    fn submit_training_proof(c: Linear<1, MAX_PROOF_CONTRIBUTIONS>) {
        let (job, _, ids) = open_job::<T>(c);
        let (caller, key) = operator::<T>(0);
        Compute::<T>::claim_job(RawOrigin::Signed(caller.clone()).into(), job)
            .expect("the job is open");
        let proof = Box::new(signed_proof::<T>(job, key, ids, Hash::repeat_byte(0xAD)));

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), proof);

        assert!(Jobs::<T>::get(job)
            .and_then(|info| info.proof_hash)
            .is_some());
    }

    // The worst case: the last free slot of a proof, by an account that is no operator.
    #[benchmark]
    fn challenge() {
        let (job, _) = proven_job::<T>();
        for i in 1..MAX_OPEN_CHALLENGES {
            open_challenge::<T>(job, i);
        }
        let challenger = funded::<T>("challenger", 0);

        #[extrinsic_call]
        _(RawOrigin::Signed(challenger), job, Hash::repeat_byte(0xEE));

        assert!(matches!(
            Jobs::<T>::get(job).map(|info| info.status),
            Some(JobStatus::Challenged { open, .. }) if open.len() as u32 == MAX_OPEN_CHALLENGES
        ));
    }

    // The fraud branch with every challenge slot taken and every jury full: it slashes,
    // releases and removes more than a dismissal does.
    #[benchmark]
    fn resolve_challenge() -> Result<(), BenchmarkError> {
        let (job, prover, _) = fully_challenged::<T>(MAX_JURY * MAX_OPEN_CHALLENGES);
        ensure_treasury_exists::<T>();
        let origin =
            T::ChallengeOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, job, true);

        assert!(Operators::<T>::get(prover).is_none());
        assert_eq!(Challenges::<T>::iter().count(), 0);
        Ok(())
    }

    // The worst case: the vote that makes the majority finding fraud, every slot taken.
    #[benchmark]
    fn vote() {
        let (job, prover, challenges) = fully_challenged::<T>(MAX_JURY * MAX_OPEN_CHALLENGES);
        ensure_treasury_exists::<T>();
        let disputed = challenges[0];
        let jury = jurors::<T>(disputed);
        let majority = jury.len() / 2 + 1;
        for juror in jury.iter().take(majority - 1) {
            Compute::<T>::vote(RawOrigin::Signed(juror.clone()).into(), disputed, true)
                .expect("a juror votes once in time");
        }
        let last = jury[majority - 1].clone();

        #[extrinsic_call]
        _(RawOrigin::Signed(last), disputed, true);

        assert!(!Jobs::<T>::contains_key(job));
        assert!(Operators::<T>::get(prover).is_none());
    }

    // The worst case: a full jury that did not vote, every juror slashed.
    #[benchmark]
    fn close_challenge() {
        let (_, _, challenges) = fully_challenged::<T>(MAX_JURY * MAX_OPEN_CHALLENGES);
        ensure_treasury_exists::<T>();
        let disputed = challenges[0];
        let jury = jurors::<T>(disputed);
        let vote_end = Challenges::<T>::get(disputed)
            .map(|c| c.vote_end)
            .unwrap_or_default();
        System::<T>::set_block_number(vote_end.saturating_add(1u32.into()));
        let caller = funded::<T>("anyone", 0);

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), disputed);

        assert!(!Challenges::<T>::contains_key(disputed));
        assert!(jury
            .iter()
            .all(|juror| !JurorPool::<T>::get().iter().any(|(j, _)| j == juror)));
    }

    // `d` juries drawn from a full juror pool in one block's `on_initialize`.
    #[benchmark]
    fn draw_juries(d: Linear<0, MAX_DRAWS_PER_BLOCK>) {
        let jobs = proven_jobs::<T>(MAX_DRAWS_PER_BLOCK.div_ceil(MAX_OPEN_CHALLENGES));
        full_juror_pool::<T>();
        let challenges: Vec<ChallengeId> = (0..d)
            .map(|i| open_challenge::<T>(jobs[(i / MAX_OPEN_CHALLENGES) as usize], i))
            .collect();
        let next = System::<T>::block_number().saturating_add(1u32.into());
        System::<T>::set_block_number(next);

        #[block]
        {
            Compute::<T>::on_initialize(next);
        }

        for id in challenges {
            assert!(Challenges::<T>::get(id).is_some_and(|c| !c.jury.is_empty()));
        }
    }

    #[benchmark]
    fn set_challenge_periods() -> Result<(), BenchmarkError> {
        let origin =
            T::GovernanceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, 3_000u32.into(), 1_000u32.into());

        assert_eq!(ChallengePeriod::<T>::get(), 3_000u32.into());
        Ok(())
    }

    #[benchmark]
    fn settle() {
        let (job, prover) = proven_job::<T>();
        advance::<T>(ChallengePeriod::<T>::get().saturating_add(1u32.into()));
        let caller = funded::<T>("anyone", 0);

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), job);

        assert!(!Jobs::<T>::contains_key(job));
        assert_eq!(
            Operators::<T>::get(prover).and_then(|op| op.current_job),
            None
        );
    }

    #[benchmark]
    fn set_max_regression() -> Result<(), BenchmarkError> {
        let origin =
            T::GovernanceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, 250_000);

        assert_eq!(MaxRegressionPpm::<T>::get(), 250_000);
        Ok(())
    }

    impl_benchmark_test_suite!(Compute, crate::mock::ExtBuilder.build(), crate::mock::Test);
}
