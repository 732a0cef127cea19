//! # attribution-sim
//!
//! Drives the real runtime (`attribution_runtime`, native) the way a node does, to find what
//! unit tests on mocks miss:
//!
//! * [`chain`]: the runtime from the `development` genesis preset, block by block, real signed
//!   extrinsics through `Executive::apply_extrinsic`, every pallet's `try_state` after every block.
//! * [`accounts`]: the accounts calls come from (the funded dev accounts, sudo, unfunded ones),
//!   and their worker keys.
//! * [`fuzz`]: random sequences of every lifecycle call from random origins with random but
//!   often-valid arguments; outcomes per call.
//! * [`adversaries`]: honest participants beside sybils, self-dealing operators, record thieves,
//!   challenge squatters and wash traders; each strategy's OPEN spent and gained.
//!
//! Everything needs the runtime's `try-runtime` feature (this crate's `try-runtime`): without it
//! the crate is empty, so a workspace build does not turn the node's runtime into a try-runtime
//! one.
#![cfg(feature = "try-runtime")]

pub mod accounts;
pub mod adversaries;
pub mod chain;
pub mod fuzz;
