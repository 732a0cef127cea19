//! The fuzzer: blocks of random lifecycle calls ([`calls`]) applied to the real runtime
//! ([`crate::chain`]) as signed extrinsics, with every pallet's `try_state` after every block.
//!
//! A run is a sequence of *lives*: each starts from the `development` genesis and lasts
//! [`Config::life_calls`] calls, so state stays the size of a busy testnet and `try_state` (which
//! walks every pallet's storage) stays fast over millions of calls. Everything is drawn from one
//! seeded generator, so `--seed S --calls N` replays a run exactly. A panic or a broken
//! invariant stops the run with the seed, the block and the calls of the failing block.

pub mod calls;
mod outcomes;

pub use outcomes::{Outcomes, Tally};

use crate::{accounts::Accounts, chain::Chain};
use attribution_runtime::{HOURS, MINUTES};
use calls::{Generator, Memory};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// How much of each call a failure report shows.
const DESCRIPTION_CHARS: usize = 600;

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    /// Calls in all.
    pub calls: u64,
    /// Calls per life of the chain before it restarts from genesis.
    pub life_calls: u64,
    /// The most calls in one block (each block draws 1 to this many).
    pub max_block_calls: u32,
    /// Accounts nobody funded, beside the dev accounts.
    pub unfunded: u64,
    /// Also donate to pallet-rewards' and pallet-attribution's accounts. Their `try_state` once
    /// required each account to hold exactly what is owed plus the existential deposit, so one
    /// planck sent to either failed the check for good (review finding L2, which this flag
    /// reproduced; both now check `>=`). Off by default so that runs replay as documented.
    pub donate_to_pallet_accounts: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seed: 0,
            calls: 10_000,
            life_calls: 20_000,
            max_block_calls: 24,
            unfunded: 3,
            donate_to_pallet_accounts: false,
        }
    }
}

/// What a finished run did.
#[derive(Debug)]
pub struct Report {
    pub calls: u64,
    pub blocks: u64,
    pub lives: u64,
    pub outcomes: Outcomes,
}

/// Why a run stopped early.
#[derive(Debug)]
pub struct Failure {
    pub seed: u64,
    pub life: u64,
    pub block: u32,
    /// Calls applied before the failure, in all lives.
    pub calls: u64,
    /// A panic's message or the broken invariant.
    pub reason: String,
    /// The calls of the failing block, in order, with their outcomes.
    pub block_calls: Vec<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "seed {} life {} block {} after {} calls: {}",
            self.seed, self.life, self.block, self.calls, self.reason
        )?;
        writeln!(f, "calls of the failing block:")?;
        for call in &self.block_calls {
            writeln!(f, "  {call}")?;
        }
        write!(
            f,
            "reproduce: attribution-sim fuzz --seed {} --calls {}",
            self.seed,
            self.calls + 1
        )
    }
}

/// The next block number: the next one mostly; sometimes a jump past a vote or challenge
/// window, a claim timeout (2 h), or the pending timeout (7 days), so every expiry fires.
fn next_block(rng: &mut StdRng, now: u32) -> u32 {
    let gap = match rng.gen_range(0..1000u32) {
        0..=899 => 1,
        900..=979 => rng.gen_range(2..=2 * MINUTES),
        980..=996 => rng.gen_range(2 * MINUTES..=3 * HOURS),
        _ => 7 * 24 * HOURS + rng.gen_range(0..=HOURS),
    };
    now.saturating_add(gap)
}

/// Runs the fuzzer; `progress` is told of every applied call.
pub fn run(config: &Config, mut progress: impl FnMut(u64)) -> Result<Report, Box<Failure>> {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut outcomes = Outcomes::default();
    let (mut calls, mut blocks, mut life) = (0u64, 0u64, 0u64);
    while calls < config.calls {
        let budget = config.life_calls.min(config.calls - calls);
        let lived = live(config, &mut rng, budget, &mut outcomes, &mut progress).map_err(
            |(failure, applied)| {
                Box::new(Failure {
                    seed: config.seed,
                    life,
                    calls: calls + applied,
                    ..*failure
                })
            },
        )?;
        calls += lived.0;
        blocks += lived.1;
        life += 1;
    }
    Ok(Report {
        calls,
        blocks,
        lives: life,
        outcomes,
    })
}

/// One life of the chain: `budget` calls from genesis. Returns (calls, blocks), or the failure
/// with the calls applied before it.
fn live(
    config: &Config,
    rng: &mut StdRng,
    budget: u64,
    outcomes: &mut Outcomes,
    progress: &mut impl FnMut(u64),
) -> Result<(u64, u64), (Box<Failure>, u64)> {
    let mut chain = Chain::development();
    let mut accounts = Accounts::new(config.unfunded);
    let mut memory = Memory::new(config.donate_to_pallet_accounts);
    let (mut calls, mut blocks) = (0u64, 0u64);
    let fail = |block: u32, reason: String, block_calls: Vec<String>| Failure {
        seed: 0,
        life: 0,
        block,
        calls: 0,
        reason,
        block_calls,
    };
    while calls < budget {
        let in_block = u64::from(rng.gen_range(1..=config.max_block_calls)).min(budget - calls);
        let mut block_calls = Vec::with_capacity(in_block as usize);
        for _ in 0..in_block {
            let attempt = catch_unwind(AssertUnwindSafe(|| {
                let plan = chain.read(|| {
                    Generator {
                        rng: &mut *rng,
                        accounts: &mut accounts,
                        memory: &mut memory,
                    }
                    .next_call()
                });
                let mut described = format!(
                    "{} by #{} (key #{}, nonce {:+}): {:?}",
                    plan.label, plan.signer, plan.key, plan.nonce_offset, plan.call
                );
                if described.len() > DESCRIPTION_CHARS {
                    described = format!(
                        "{}…",
                        &described[..described.floor_char_boundary(DESCRIPTION_CHARS)]
                    );
                }
                let applied = chain.apply(
                    &accounts.actors[plan.signer].pair,
                    &accounts.actors[plan.key].pair,
                    plan.nonce_offset,
                    plan.call,
                );
                (plan.label, described, applied)
            }));
            match attempt {
                Ok((label, described, applied)) => {
                    block_calls.push(format!("{described} -> {applied:?}"));
                    outcomes.record(label, &applied);
                    calls += 1;
                    progress(1);
                }
                Err(panic) => {
                    let reason = format!("panic: {}", panic_message(&panic));
                    return Err((Box::new(fail(chain.block(), reason, block_calls)), calls));
                }
            }
        }
        let next = next_block(rng, chain.block());
        let closed = catch_unwind(AssertUnwindSafe(|| chain.next_block(next)));
        match closed {
            Ok(Ok(())) => blocks += 1,
            Ok(Err(broken)) => {
                let reason = format!("invariant broken: {}", broken.reason);
                return Err((Box::new(fail(broken.block, reason, block_calls)), calls));
            }
            Err(panic) => {
                let reason = format!("panic closing the block: {}", panic_message(&panic));
                return Err((Box::new(fail(chain.block(), reason, block_calls)), calls));
            }
        }
    }
    Ok((calls, blocks))
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}
