//! Weights for `pallet_rewards`.
//!
//! NOT YET GENERATED: benchmarks cannot run against the node this session. These values are
//! derived by hand from the benchmarks' storage reads and writes with a conservative `ref_time`.
//! Regenerate with:
//!
//! frame-omni-bencher v1 benchmark pallet --runtime <attribution_runtime.compact.compressed.wasm> \
//!   --pallet pallet_rewards --extrinsic "*" --steps 50 --repeat 20 \
//!   --template <frame-weight-template.hbs> --output pallets/rewards/src/weights.rs

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_rewards`.
pub trait WeightInfo {
	fn claim() -> Weight;
	fn claim_pool(m: u32, ) -> Weight;
}

/// Weights for `pallet_rewards` using the Substrate node and recommended hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Rewards::Pending` (r:1 w:1)
	/// Proof: `Rewards::Pending` (`max_values`: None, `max_size`: Some(96), added: 2571, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	fn claim() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `300`
		//  Estimated: `6196`
		Weight::from_parts(60_000_000, 6196)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	/// Storage: `Rewards::Pools` (r:1 w:1)
	/// Proof: `Rewards::Pools` (`max_values`: None, `max_size`: Some(72), added: 2547, mode: `MaxEncodedLen`)
	/// Storage: `Rewards::PoolClaims` (r:1 w:1)
	/// Proof: `Rewards::PoolClaims` (`max_values`: None, `max_size`: Some(104), added: 2579, mode: `MaxEncodedLen`)
	/// Storage: `Datanets` points of the claimant (r:1 w:0)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// The range of component `m` is `[10, 100000]`.
	fn claim_pool(_m: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `450`
		//  Estimated: `8799`
		Weight::from_parts(75_000_000, 8799)
			.saturating_add(T::DbWeight::get().reads(5_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn claim() -> Weight {
		Weight::from_parts(60_000_000, 6196)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
	}
	fn claim_pool(_m: u32, ) -> Weight {
		Weight::from_parts(75_000_000, 8799)
			.saturating_add(RocksDbWeight::get().reads(5_u64))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
	}
}
