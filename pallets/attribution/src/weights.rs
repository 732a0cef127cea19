//! Weights for `pallet_attribution`.
//!
//! NOT YET GENERATED: benchmarks cannot run against the node this session. These values are
//! derived by hand from the benchmarks' storage reads and writes with a conservative `ref_time`
//! (two signature checks and up to 19 reward credits per record). Regenerate with:
//!
//! frame-omni-bencher v1 benchmark pallet --runtime <attribution_runtime.compact.compressed.wasm> \
//!   --pallet pallet_attribution --extrinsic "*" --steps 50 --repeat 20 \
//!   --template <frame-weight-template.hbs> --output pallets/attribution/src/weights.rs

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_attribution`.
pub trait WeightInfo {
	fn deposit_credit() -> Weight;
	fn request_withdrawal() -> Weight;
	fn withdraw() -> Weight;
	fn submit_inference_batch(r: u32, ) -> Weight;
	fn set_fee_split() -> Weight;
}

/// Weights for `pallet_attribution` using the Substrate node and recommended hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Credits` (r:1 w:1)
	/// Proof: `Attribution::Credits` (`max_values`: None, `max_size`: Some(85), added: 2560, mode: `MaxEncodedLen`)
	fn deposit_credit() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `250`
		//  Estimated: `6196`
		Weight::from_parts(60_000_000, 6196)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	/// Storage: `Attribution::Credits` (r:1 w:1)
	/// Proof: `Attribution::Credits` (`max_values`: None, `max_size`: Some(85), added: 2560, mode: `MaxEncodedLen`)
	fn request_withdrawal() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `150`
		//  Estimated: `3550`
		Weight::from_parts(25_000_000, 3550)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	/// Storage: `Attribution::Credits` (r:1 w:1)
	/// Proof: `Attribution::Credits` (`max_values`: None, `max_size`: Some(85), added: 2560, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	fn withdraw() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `350`
		//  Estimated: `6196`
		Weight::from_parts(60_000_000, 6196)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	/// Storage: `Attribution::BatchNonces` (r:1 w:1), `Attribution::NextBatchId` (r:1 w:1),
	/// `Attribution::FeeSplitInForce` (r:1 w:0), `Attribution::Batches` (r:0 w:2), compute's worker key (r:1 w:0),
	/// `System::Account` of the credit, rewards and treasury accounts (r:3 w:3)
	/// Per record: `Attribution::Credits` (r:1 w:1), `Attribution::Nonces` (r:1 w:1), models (r:1 w:0),
	/// datanets members (r:16 w:0), `Rewards::Pending` (r:18 w:18), `Rewards::Pools` (r:1 w:1)
	/// The range of component `r` is `[1, 64]`.
	fn submit_inference_batch(r: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `500 + r * (2000 ±0)`
		//  Estimated: `9000 + r * (60000 ±0)`
		Weight::from_parts(80_000_000, 9000)
			// Standard Error: not measured
			.saturating_add(Weight::from_parts(300_000_000, 60000).saturating_mul(r.into()))
			.saturating_add(T::DbWeight::get().reads(8_u64))
			.saturating_add(T::DbWeight::get().reads((38_u64).saturating_mul(r.into())))
			.saturating_add(T::DbWeight::get().writes(7_u64))
			.saturating_add(T::DbWeight::get().writes((21_u64).saturating_mul(r.into())))
	}
	/// Storage: `Attribution::FeeSplitInForce` (r:0 w:1)
	/// Proof: `Attribution::FeeSplitInForce` (`max_values`: Some(1), `max_size`: Some(20), added: 515, mode: `MaxEncodedLen`)
	fn set_fee_split() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `0`
		//  Estimated: `0`
		Weight::from_parts(10_000_000, 0)
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn deposit_credit() -> Weight {
		Weight::from_parts(60_000_000, 6196)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
	}
	fn request_withdrawal() -> Weight {
		Weight::from_parts(25_000_000, 3550)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn withdraw() -> Weight {
		Weight::from_parts(60_000_000, 6196)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
	}
	fn submit_inference_batch(r: u32, ) -> Weight {
		Weight::from_parts(80_000_000, 9000)
			.saturating_add(Weight::from_parts(300_000_000, 60000).saturating_mul(r.into()))
			.saturating_add(RocksDbWeight::get().reads(8_u64))
			.saturating_add(RocksDbWeight::get().reads((38_u64).saturating_mul(r.into())))
			.saturating_add(RocksDbWeight::get().writes(7_u64))
			.saturating_add(RocksDbWeight::get().writes((21_u64).saturating_mul(r.into())))
	}
	fn set_fee_split() -> Weight {
		Weight::from_parts(10_000_000, 0)
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
}
