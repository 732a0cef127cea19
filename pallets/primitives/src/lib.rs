//! # Attribution primitives
//!
//! The one definition of what the runtime and the off-chain worker must agree on: ids, the account
//! and balance types, signing domains, proof payloads, Merkle helpers, the interfaces pallets use to
//! talk to each other, the runtime API declarations and the content store's RPC error codes. Everything here is `no_std` and
//! SCALE-encoded identically on both sides.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod attribution;
pub mod cid;
pub mod compute;
pub mod content_store;
pub mod datanets;
pub mod ids;
pub mod merkle;
pub mod models;
pub mod paging;
pub mod rewards;
pub mod signing;
pub mod traits;

pub use ids::*;
