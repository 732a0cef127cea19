//! Weights for `pallet_models`, measured by its benchmarks with `scripts/weights`: do not edit.
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

/// Weight functions needed for `pallet_models`.
pub trait WeightInfo {
	fn register_base_model() -> Weight;
	fn update_base_model() -> Weight;
	fn retire_model() -> Weight;
}

/// The measured weights, with the database costs of `D`.
pub struct MeasuredWeight<D>(PhantomData<D>);

/// The measured weights with the runtime's database costs.
pub type SubstrateWeight<T> = MeasuredWeight<<T as frame_system::Config>::DbWeight>;

impl<D: Get<RuntimeDbWeight>> WeightInfo for MeasuredWeight<D> {
	/// Storage: `Models::BaseModelByWeights` (r:1 w:1)
	/// Proof: `Models::BaseModelByWeights` (`max_values`: None, `max_size`: Some(36), added: 2511, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Models::NextModelId` (r:1 w:1)
	/// Proof: `Models::NextModelId` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Models::Models` (r:0 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(573), added: 3048, mode: `MaxEncodedLen`)
	fn register_base_model() -> Weight {
		// Proof size: measured `3`, estimated `3658` bytes.
		// Minimum execution time: 55_592_000 picoseconds.
		Weight::from_parts(58_647_000, 3658)
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(4_u64))
	}
	/// Storage: `Models::Models` (r:1 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(573), added: 3048, mode: `MaxEncodedLen`)
	fn update_base_model() -> Weight {
		// Proof size: measured `528`, estimated `4038` bytes.
		// Minimum execution time: 12_969_000 picoseconds.
		Weight::from_parts(14_521_000, 4038)
			.saturating_add(D::get().reads(1_u64))
			.saturating_add(D::get().writes(1_u64))
	}
	/// Storage: `Models::Models` (r:1 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(573), added: 3048, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Models::BaseModelByWeights` (r:0 w:1)
	/// Proof: `Models::BaseModelByWeights` (`max_values`: None, `max_size`: Some(36), added: 2511, mode: `MaxEncodedLen`)
	fn retire_model() -> Weight {
		// Proof size: measured `583`, estimated `4038` bytes.
		// Minimum execution time: 47_831_000 picoseconds.
		Weight::from_parts(50_786_000, 4038)
			.saturating_add(D::get().reads(2_u64))
			.saturating_add(D::get().writes(3_u64))
	}
}

/// For mocks: the measured weights with ParityDB's costs.
impl WeightInfo for () {
	fn register_base_model() -> Weight {
		MeasuredWeight::<ParityDbWeight>::register_base_model()
	}
	fn update_base_model() -> Weight {
		MeasuredWeight::<ParityDbWeight>::update_base_model()
	}
	fn retire_model() -> Weight {
		MeasuredWeight::<ParityDbWeight>::retire_model()
	}
}
