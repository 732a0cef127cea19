//! Weights for `pallet_datanets`.
//!
//! NOT YET GENERATED: benchmarks cannot run against the node this session. These values are
//! derived by hand from the benchmarks' storage reads and writes with a conservative `ref_time`.
//! Regenerate with:
//!
//! frame-omni-bencher v1 benchmark pallet --runtime <attribution_runtime.compact.compressed.wasm> \
//!   --pallet pallet_datanets --extrinsic "*" --steps 50 --repeat 20 \
//!   --template <frame-weight-template.hbs> --output pallets/datanets/src/weights.rs

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_datanets`.
pub trait WeightInfo {
	fn create_datanet() -> Weight;
	fn add_curator(c: u32, ) -> Weight;
	fn remove_curator(c: u32, ) -> Weight;
	fn contribute() -> Weight;
	fn approve(u: u32, ) -> Weight;
	fn reject() -> Weight;
	fn publish_version(n: u32, ) -> Weight;
}

/// Weights for `pallet_datanets` using the Substrate node and recommended hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Datanets::NextDatanetId` (r:1 w:1)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Storage: `System::Account` (r:1 w:1)
	/// Storage: `Datanets::Datanets` (r:0 w:1)
	/// Proof: `Datanets::Datanets` (`max_values`: None, `max_size`: Some(1733), added: 4208, mode: `MaxEncodedLen`)
	fn create_datanet() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `200`
		//  Estimated: `5198`
		Weight::from_parts(60_000_000, 5198)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
	/// Storage: `Datanets::Datanets` (r:1 w:1)
	/// Proof: `Datanets::Datanets` (`max_values`: None, `max_size`: Some(1733), added: 4208, mode: `MaxEncodedLen`)
	/// The range of component `c` is `[0, 15]`.
	fn add_curator(c: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `250 + c * (32 ±0)`
		//  Estimated: `5198`
		Weight::from_parts(25_000_000, 5198)
			.saturating_add(Weight::from_parts(100_000, 0).saturating_mul(c.into()))
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	/// Storage: `Datanets::Datanets` (r:1 w:1)
	/// Proof: `Datanets::Datanets` (`max_values`: None, `max_size`: Some(1733), added: 4208, mode: `MaxEncodedLen`)
	/// The range of component `c` is `[1, 16]`.
	fn remove_curator(c: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `250 + c * (32 ±0)`
		//  Estimated: `5198`
		Weight::from_parts(25_000_000, 5198)
			.saturating_add(Weight::from_parts(100_000, 0).saturating_mul(c.into()))
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	/// Storage: `Datanets::Datanets` (r:1 w:1)
	/// Storage: `Datanets::ContributionByHash` (r:1 w:1)
	/// Storage: `Datanets::Usage` (r:1 w:1)
	/// Storage: `Datanets::NextContributionId` (r:1 w:1)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Storage: `System::Account` (r:1 w:1)
	/// Storage: `Datanets::Stats` (r:1 w:1)
	/// Storage: `Datanets::Contributions` (r:0 w:1)
	/// Storage: `Datanets::ContributionByPosition` (r:0 w:1)
	fn contribute() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `1100`
		//  Estimated: `5198`
		Weight::from_parts(90_000_000, 5198)
			.saturating_add(T::DbWeight::get().reads(7_u64))
			.saturating_add(T::DbWeight::get().writes(9_u64))
	}
	/// Storage: `Datanets::Contributions` (r:1 w:1)
	/// Storage: `Datanets::Datanets` (r:1 w:1)
	/// Storage: `Datanets::Unpublished` (r:1 w:1)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Storage: `System::Account` (r:1 w:1)
	/// Storage: `Datanets::Stats` (r:1 w:1)
	/// The range of component `u` is `[0, 1023]`.
	fn approve(u: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `1500 + u * (8 ±0)`
		//  Estimated: `9700`
		Weight::from_parts(70_000_000, 9700)
			.saturating_add(Weight::from_parts(20_000, 0).saturating_mul(u.into()))
			.saturating_add(T::DbWeight::get().reads(6_u64))
			.saturating_add(T::DbWeight::get().writes(6_u64))
	}
	/// Storage: `Datanets::Contributions` (r:1 w:1)
	/// Storage: `Datanets::Datanets` (r:1 w:1)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Storage: `System::Account` (r:2 w:2)
	/// Storage: `Datanets::Stats` (r:1 w:1)
	/// Storage: `Datanets::ContributionByHash` (r:0 w:1)
	/// Storage: `Datanets::ContributionByPosition` (r:0 w:1)
	fn reject() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `1500`
		//  Estimated: `6196`
		Weight::from_parts(85_000_000, 6196)
			.saturating_add(T::DbWeight::get().reads(6_u64))
			.saturating_add(T::DbWeight::get().writes(8_u64))
	}
	/// Storage: `Datanets::Datanets` (r:1 w:1)
	/// Storage: `Datanets::Unpublished` (r:1 w:1)
	/// Storage: `Datanets::Contributions` (r:1024 w:1024)
	/// Storage: `Datanets::Points` (r:0 w:1024)
	/// Storage: `Datanets::Manifests` (r:0 w:1)
	/// Storage: `Datanets::Versions` (r:0 w:1)
	/// The range of component `n` is `[1, 1024]`.
	fn publish_version(n: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `1000 + n * (450 ±0)`
		//  Estimated: `9700 + n * (2900 ±0)`
		Weight::from_parts(40_000_000, 9700)
			.saturating_add(Weight::from_parts(12_000_000, 2900).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().reads((1_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(4_u64))
			.saturating_add(T::DbWeight::get().writes((2_u64).saturating_mul(n.into())))
	}
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn create_datanet() -> Weight {
		Weight::from_parts(60_000_000, 5198)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
	}
	fn add_curator(c: u32, ) -> Weight {
		Weight::from_parts(25_000_000, 5198)
			.saturating_add(Weight::from_parts(100_000, 0).saturating_mul(c.into()))
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn remove_curator(c: u32, ) -> Weight {
		Weight::from_parts(25_000_000, 5198)
			.saturating_add(Weight::from_parts(100_000, 0).saturating_mul(c.into()))
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn contribute() -> Weight {
		Weight::from_parts(90_000_000, 5198)
			.saturating_add(RocksDbWeight::get().reads(7_u64))
			.saturating_add(RocksDbWeight::get().writes(9_u64))
	}
	fn approve(u: u32, ) -> Weight {
		Weight::from_parts(70_000_000, 9700)
			.saturating_add(Weight::from_parts(20_000, 0).saturating_mul(u.into()))
			.saturating_add(RocksDbWeight::get().reads(6_u64))
			.saturating_add(RocksDbWeight::get().writes(6_u64))
	}
	fn reject() -> Weight {
		Weight::from_parts(85_000_000, 6196)
			.saturating_add(RocksDbWeight::get().reads(6_u64))
			.saturating_add(RocksDbWeight::get().writes(8_u64))
	}
	fn publish_version(n: u32, ) -> Weight {
		Weight::from_parts(40_000_000, 9700)
			.saturating_add(Weight::from_parts(12_000_000, 2900).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().reads((1_u64).saturating_mul(n.into())))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
			.saturating_add(RocksDbWeight::get().writes((2_u64).saturating_mul(n.into())))
	}
}
