//! The runtime's invariants that span pallets (`attribution_runtime::invariants`, security review
//! L2), each broken on a real lifecycle and caught. The honest lifecycle itself holds them after
//! every block: the simulation checks them with every pallet's `try_state`.

use attribution_primitives::{traits::PoolId, Hash, ModelId, OPEN};
use attribution_runtime::{invariants::try_state, Balances, Runtime, RuntimeHoldReason};
use attribution_sim::adversaries::World;
use frame_support::traits::fungible::MutateHold;
use sp_runtime::TryRuntimeError;

/// A world with a published version, a settled job (so its pool exists), a proven job and an
/// open job.
struct Lifecycle {
    world: World,
    pool: PoolId,
    open_job: u64,
    open_adapter: ModelId,
    proven_job: u64,
}

fn lifecycle() -> Lifecycle {
    let mut world = World::new().expect("the world starts");
    let contributor = world.honest.contributors[0].clone();
    for i in 0..3u8 {
        let id = world
            .contribute(&contributor, Hash::repeat_byte(0x10 + i), 1_000)
            .expect("the contribution is announced");
        world.curate(id, true).expect("the curator approves");
    }
    let pool = world.publish().expect("the version is published");
    let developer = world.honest.developer.clone();
    let operators = world.honest.operators.clone();
    let (settled_job, _) = world
        .post_job(&developer, pool, 10 * OPEN)
        .expect("the job is posted");
    world
        .claim_and_prove(&operators[0], settled_job)
        .expect("the job is proven");
    world.settle(&[settled_job]);
    let (proven_job, _) = world
        .post_job(&developer, pool, 10 * OPEN)
        .expect("the job is posted");
    world
        .claim_and_prove(&operators[1], proven_job)
        .expect("the job is proven");
    let (open_job, open_adapter) = world
        .post_job(&developer, pool, 10 * OPEN)
        .expect("the job is posted");
    world.advance(1);
    Lifecycle {
        world,
        pool,
        open_job,
        open_adapter,
        proven_job,
    }
}

impl Lifecycle {
    /// The invariants after `corrupt` changed the state.
    fn after(&mut self, corrupt: impl FnOnce()) -> Result<(), TryRuntimeError> {
        self.world.read(|| {
            corrupt();
            try_state()
        })
    }
}

fn caught(message: &'static str) -> Result<(), TryRuntimeError> {
    Err(message.into())
}

#[test]
fn an_honest_lifecycle_holds_them_and_each_broken_one_is_caught() {
    let mut state = lifecycle();
    let pool = state.pool;
    assert!(state
        .world
        .read(|| pallet_rewards::Pools::<Runtime>::contains_key(pool)));
    assert_eq!(state.after(|| {}), Ok(()));

    // A hold under a lifecycle reason on an account with no record for it (a leak).
    let user = state.world.honest.users[0].id();
    assert_eq!(
        state.after(|| {
            let reason = RuntimeHoldReason::Compute(pallet_compute::HoldReason::ChallengeBond);
            Balances::hold(&reason, &user, OPEN).expect("the user is funded");
        }),
        caught("a hold under a lifecycle reason belongs to no live record")
    );
}

#[test]
fn a_job_and_its_adapter_in_different_states_are_caught() {
    let mut state = lifecycle();
    let adapter = state.open_adapter;
    assert_eq!(
        state.after(
            || pallet_models::Models::<Runtime>::mutate(adapter, |model| {
                if let Some(model) = model {
                    model.status = attribution_primitives::models::ModelStatus::Challengeable;
                }
            })
        ),
        caught("an open or claimed job's adapter is not Training")
    );
}

#[test]
fn a_training_adapter_without_a_live_job_is_caught() {
    let mut state = lifecycle();
    let job = state.open_job;
    assert_eq!(
        state.after(|| {
            // The job is gone but its adapter stays in `Training` (the developer still holds a
            // budget for its other job, so only this invariant breaks).
            pallet_compute::Jobs::<Runtime>::remove(job);
        }),
        caught("a Training or Challengeable adapter has no live job")
    );
}

#[test]
fn a_job_on_another_dataset_root_is_caught() {
    let mut state = lifecycle();
    let job = state.open_job;
    assert_eq!(
        state.after(|| pallet_compute::Jobs::<Runtime>::mutate(job, |info| {
            if let Some(info) = info {
                info.dataset_root = Hash::repeat_byte(0xEE);
            }
        })),
        caught("a job's dataset root is not its version's Merkle root")
    );
}

#[test]
fn a_proof_hash_that_is_not_its_adapters_is_caught() {
    let mut state = lifecycle();
    let job = state.proven_job;
    assert_eq!(
        state.after(|| pallet_compute::Jobs::<Runtime>::mutate(job, |info| {
            if let Some(info) = info {
                info.proof_hash = Some(Hash::repeat_byte(0xEE));
            }
        })),
        caught("a proven job's proof hash is not its adapter's")
    );
}

#[test]
fn a_pool_whose_points_are_not_its_versions_weight_is_caught() {
    let mut state = lifecycle();
    let pool = state.pool;
    assert_eq!(
        state.after(
            || pallet_rewards::Pools::<Runtime>::mutate(pool, |rewards| {
                if let Some(rewards) = rewards {
                    rewards.total_points += 1;
                }
            })
        ),
        caught("a reward pool's points differ from its version's total weight")
    );
}
