//! Weights for `pallet_rewards`, measured by its benchmarks with `scripts/weights`: do not edit.
//!
//! Benchmark CLI 64.0.0, 2026-12-01: steps 20, repeat 10, wasm execution
//! `Compiled`, CPU `AMD EPYC`.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use core::marker::PhantomData;
use frame_support::{
	traits::Get,
	weights::{constants::ParityDbWeight, RuntimeDbWeight, Weight},
};

/// Weight functions needed for `pallet_rewards`.
pub trait WeightInfo {
	fn claim() -> Weight;
	fn claim_pool(m: u32, ) -> Weight;
}

/// The measured weights, with the database costs of `D`.
pub struct MeasuredWeight<D>(PhantomData<D>);

/// The measured weights with the runtime's database costs.
pub type SubstrateWeight<T> = MeasuredWeight<<T as frame_system::Config>::DbWeight>;

impl<D: Get<RuntimeDbWeight>> WeightInfo for MeasuredWeight<D> {
	/// Storage: `Rewards::Pending` (r:1 w:1)
	/// Proof: `Rewards::Pending` (`max_values`: None, `max_size`: Some(96), added: 2571, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	fn claim() -> Weight {
		// Proof size: measured `513`, estimated `6196` bytes.
		// Minimum execution time: 55_682_000 picoseconds.
		Weight::from_parts(58_887_000, 6196)
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(3_u64))
	}
	/// Storage: `Rewards::Pools` (r:1 w:1)
	/// Proof: `Rewards::Pools` (`max_values`: None, `max_size`: Some(72), added: 2547, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Points` (r:1 w:0)
	/// Proof: `Datanets::Points` (`max_values`: None, `max_size`: Some(88), added: 2563, mode: `MaxEncodedLen`)
	/// Storage: `Rewards::PoolClaims` (r:1 w:1)
	/// Proof: `Rewards::PoolClaims` (`max_values`: None, `max_size`: Some(88), added: 2563, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// The range of component `m` is `[10, 100000]`.
	fn claim_pool(m: u32, ) -> Weight {
		// Proof size: measured `2194`, estimated `6196` bytes.
		// Minimum execution time: 69_744_000 picoseconds.
		Weight::from_parts(134_469_615, 6196)
			// Standard error: 58
			.saturating_add(Weight::from_parts(460, 0).saturating_mul(m.into()))
			.saturating_add(D::get().reads(5_u64))
			.saturating_add(D::get().writes(4_u64))
	}
}

/// For mocks: the measured weights with ParityDB's costs.
impl WeightInfo for () {
	fn claim() -> Weight {
		MeasuredWeight::<ParityDbWeight>::claim()
	}
	fn claim_pool(m: u32, ) -> Weight {
		MeasuredWeight::<ParityDbWeight>::claim_pool(m, )
	}
}
