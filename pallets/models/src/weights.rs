//! Weights for `pallet_models`, measured by its benchmarks with `scripts/weights`: do not edit.
//!
//! Benchmark CLI 64.0.0, 2026-11-24: steps 20, repeat 10, wasm execution
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
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Models::NextModelId` (r:1 w:1)
	/// Proof: `Models::NextModelId` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Models::Models` (r:0 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(516), added: 2991, mode: `MaxEncodedLen`)
	fn register_base_model() -> Weight {
		// Proof size: measured `3`, estimated `3622` bytes.
		// Minimum execution time: 40_280_000 picoseconds.
		Weight::from_parts(43_545_000, 3622)
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(4_u64))
	}
	/// Storage: `Models::Models` (r:1 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(516), added: 2991, mode: `MaxEncodedLen`)
	fn update_base_model() -> Weight {
		// Proof size: measured `528`, estimated `3981` bytes.
		// Minimum execution time: 8_582_000 picoseconds.
		Weight::from_parts(9_364_000, 3981)
			.saturating_add(D::get().reads(1_u64))
			.saturating_add(D::get().writes(1_u64))
	}
	/// Storage: `Models::Models` (r:1 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(516), added: 2991, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Models::BaseModelByWeights` (r:0 w:1)
	/// Proof: `Models::BaseModelByWeights` (`max_values`: None, `max_size`: Some(36), added: 2511, mode: `MaxEncodedLen`)
	fn retire_model() -> Weight {
		// Proof size: measured `583`, estimated `3981` bytes.
		// Minimum execution time: 33_710_000 picoseconds.
		// Estimated, not re-measured: the measured figure plus one write (the weights-hash index
		// entry a retired base model frees).
		Weight::from_parts(36_565_000, 3981)
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
