//! Weights for `pallet_datanets`, measured by its benchmarks with `scripts/weights`: do not edit.
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

/// Weight functions needed for `pallet_datanets`.
pub trait WeightInfo {
	fn create_datanet() -> Weight;
	fn add_curator(c: u32, ) -> Weight;
	fn remove_curator(c: u32, ) -> Weight;
	fn contribute() -> Weight;
	fn approve(u: u32, ) -> Weight;
	fn reject() -> Weight;
	fn publish_version(n: u32, ) -> Weight;
	fn withdraw() -> Weight;
	fn expire() -> Weight;
	fn close_datanet() -> Weight;
}

/// The measured weights, with the database costs of `D`.
pub struct MeasuredWeight<D>(PhantomData<D>);

/// The measured weights with the runtime's database costs.
pub type SubstrateWeight<T> = MeasuredWeight<<T as frame_system::Config>::DbWeight>;

impl<D: Get<RuntimeDbWeight>> WeightInfo for MeasuredWeight<D> {
	/// Storage: `Datanets::NextDatanetId` (r:1 w:1)
	/// Proof: `Datanets::NextDatanetId` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Datanets` (r:0 w:1)
	/// Proof: `Datanets::Datanets` (`max_values`: None, `max_size`: Some(1763), added: 4238, mode: `MaxEncodedLen`)
	fn create_datanet() -> Weight {
		// Proof size: measured `146`, estimated `3658` bytes.
		// Minimum execution time: 54_652_000 picoseconds.
		Weight::from_parts(58_387_000, 3658)
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(4_u64))
	}
	/// Storage: `Datanets::Datanets` (r:1 w:1)
	/// Proof: `Datanets::Datanets` (`max_values`: None, `max_size`: Some(1763), added: 4238, mode: `MaxEncodedLen`)
	/// The range of component `c` is `[0, 15]`.
	fn add_curator(c: u32, ) -> Weight {
		// Proof size: measured `218 + c * 32`, estimated `5228` bytes.
		// Minimum execution time: 11_938_000 picoseconds.
		Weight::from_parts(13_365_253, 5228)
			// Standard error: 1_584
			.saturating_add(Weight::from_parts(22_972, 0).saturating_mul(c.into()))
			.saturating_add(D::get().reads(1_u64))
			.saturating_add(D::get().writes(1_u64))
	}
	/// Storage: `Datanets::Datanets` (r:1 w:1)
	/// Proof: `Datanets::Datanets` (`max_values`: None, `max_size`: Some(1763), added: 4238, mode: `MaxEncodedLen`)
	/// The range of component `c` is `[1, 16]`.
	fn remove_curator(c: u32, ) -> Weight {
		// Proof size: measured `218 + c * 32`, estimated `5228` bytes.
		// Minimum execution time: 11_837_000 picoseconds.
		Weight::from_parts(13_304_720, 5228)
			// Standard error: 1_846
			.saturating_add(Weight::from_parts(24_857, 0).saturating_mul(c.into()))
			.saturating_add(D::get().reads(1_u64))
			.saturating_add(D::get().writes(1_u64))
	}
	/// Storage: `Datanets::Datanets` (r:1 w:1)
	/// Proof: `Datanets::Datanets` (`max_values`: None, `max_size`: Some(1763), added: 4238, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::ContributionByHash` (r:1 w:1)
	/// Proof: `Datanets::ContributionByHash` (`max_values`: None, `max_size`: Some(68), added: 2543, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Usage` (r:1 w:1)
	/// Proof: `Datanets::Usage` (`max_values`: None, `max_size`: Some(76), added: 2551, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Stats` (r:1 w:1)
	/// Proof: `Datanets::Stats` (`max_values`: None, `max_size`: Some(136), added: 2611, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::NextContributionId` (r:1 w:1)
	/// Proof: `Datanets::NextContributionId` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Contributions` (r:0 w:1)
	/// Proof: `Datanets::Contributions` (`max_values`: None, `max_size`: Some(469), added: 2944, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::ContributionByPosition` (r:0 w:1)
	/// Proof: `Datanets::ContributionByPosition` (`max_values`: None, `max_size`: Some(32), added: 2507, mode: `MaxEncodedLen`)
	fn contribute() -> Weight {
		// Proof size: measured `928`, estimated `5228` bytes.
		// Minimum execution time: 125_266_000 picoseconds.
		Weight::from_parts(132_346_000, 5228)
			.saturating_add(D::get().reads(7_u64))
			.saturating_add(D::get().writes(9_u64))
	}
	/// Storage: `Datanets::Contributions` (r:1 w:1)
	/// Proof: `Datanets::Contributions` (`max_values`: None, `max_size`: Some(469), added: 2944, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Datanets` (r:1 w:1)
	/// Proof: `Datanets::Datanets` (`max_values`: None, `max_size`: Some(1763), added: 4238, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Unpublished` (r:1 w:1)
	/// Proof: `Datanets::Unpublished` (`max_values`: None, `max_size`: Some(8206), added: 10681, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Stats` (r:1 w:1)
	/// Proof: `Datanets::Stats` (`max_values`: None, `max_size`: Some(136), added: 2611, mode: `MaxEncodedLen`)
	/// The range of component `u` is `[0, 1023]`.
	fn approve(u: u32, ) -> Weight {
		// Proof size: measured `3320 + u * 9`, estimated `11671` bytes.
		// Minimum execution time: 69_874_000 picoseconds.
		Weight::from_parts(144_087_079, 11671)
			// Standard error: 5_796
			.saturating_add(Weight::from_parts(59_069, 0).saturating_mul(u.into()))
			.saturating_add(D::get().reads(6_u64))
			.saturating_add(D::get().writes(6_u64))
	}
	/// Storage: `Datanets::Contributions` (r:1 w:1)
	/// Proof: `Datanets::Contributions` (`max_values`: None, `max_size`: Some(469), added: 2944, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Datanets` (r:1 w:1)
	/// Proof: `Datanets::Datanets` (`max_values`: None, `max_size`: Some(1763), added: 4238, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Stats` (r:1 w:1)
	/// Proof: `Datanets::Stats` (`max_values`: None, `max_size`: Some(136), added: 2611, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::ContributionByHash` (r:0 w:1)
	/// Proof: `Datanets::ContributionByHash` (`max_values`: None, `max_size`: Some(68), added: 2543, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::ContributionByPosition` (r:0 w:1)
	/// Proof: `Datanets::ContributionByPosition` (`max_values`: None, `max_size`: Some(32), added: 2507, mode: `MaxEncodedLen`)
	fn reject() -> Weight {
		// Proof size: measured `1078`, estimated `6196` bytes.
		// Minimum execution time: 108_221_000 picoseconds.
		Weight::from_parts(115_091_000, 6196)
			.saturating_add(D::get().reads(6_u64))
			.saturating_add(D::get().writes(8_u64))
	}
	/// Storage: `Datanets::Datanets` (r:1 w:1)
	/// Proof: `Datanets::Datanets` (`max_values`: None, `max_size`: Some(1763), added: 4238, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Unpublished` (r:1 w:1)
	/// Proof: `Datanets::Unpublished` (`max_values`: None, `max_size`: Some(8206), added: 10681, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Contributions` (r:1024 w:1024)
	/// Proof: `Datanets::Contributions` (`max_values`: None, `max_size`: Some(469), added: 2944, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Manifests` (r:0 w:1)
	/// Proof: `Datanets::Manifests` (`max_values`: None, `max_size`: Some(49178), added: 51653, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Versions` (r:0 w:1)
	/// Proof: `Datanets::Versions` (`max_values`: None, `max_size`: Some(104), added: 2579, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Points` (r:0 w:1024)
	/// Proof: `Datanets::Points` (`max_values`: None, `max_size`: Some(88), added: 2563, mode: `MaxEncodedLen`)
	/// The range of component `n` is `[1, 1024]`.
	fn publish_version(n: u32, ) -> Weight {
		// Proof size: measured `432 + n * 159`, estimated `11671 + n * 2944` bytes.
		// Minimum execution time: 32_288_000 picoseconds.
		Weight::from_parts(3_107_217_405, 11671)
			// Standard error: 1_329_391
			.saturating_add(Weight::from_parts(28_238_462, 0).saturating_mul(n.into()))
			.saturating_add(D::get().reads(2_u64))
			.saturating_add(D::get().reads((1_u64).saturating_mul(n.into())))
			.saturating_add(D::get().writes(4_u64))
			.saturating_add(D::get().writes((2_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 2944).saturating_mul(n.into()))
	}
	/// Storage: `Datanets::Contributions` (r:1 w:1)
	/// Proof: `Datanets::Contributions` (`max_values`: None, `max_size`: Some(469), added: 2944, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Datanets` (r:1 w:1)
	/// Proof: `Datanets::Datanets` (`max_values`: None, `max_size`: Some(1763), added: 4238, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Stats` (r:1 w:1)
	/// Proof: `Datanets::Stats` (`max_values`: None, `max_size`: Some(136), added: 2611, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::ContributionByHash` (r:0 w:1)
	/// Proof: `Datanets::ContributionByHash` (`max_values`: None, `max_size`: Some(68), added: 2543, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::ContributionByPosition` (r:0 w:1)
	/// Proof: `Datanets::ContributionByPosition` (`max_values`: None, `max_size`: Some(32), added: 2507, mode: `MaxEncodedLen`)
	fn withdraw() -> Weight {
		// Proof size: measured `938`, estimated `5228` bytes.
		// Minimum execution time: 100_218_000 picoseconds.
		Weight::from_parts(105_667_000, 5228)
			.saturating_add(D::get().reads(5_u64))
			.saturating_add(D::get().writes(7_u64))
	}
	/// Storage: `Datanets::Contributions` (r:1 w:1)
	/// Proof: `Datanets::Contributions` (`max_values`: None, `max_size`: Some(469), added: 2944, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Datanets` (r:1 w:1)
	/// Proof: `Datanets::Datanets` (`max_values`: None, `max_size`: Some(1763), added: 4238, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Stats` (r:1 w:1)
	/// Proof: `Datanets::Stats` (`max_values`: None, `max_size`: Some(136), added: 2611, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::ContributionByHash` (r:0 w:1)
	/// Proof: `Datanets::ContributionByHash` (`max_values`: None, `max_size`: Some(68), added: 2543, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::ContributionByPosition` (r:0 w:1)
	/// Proof: `Datanets::ContributionByPosition` (`max_values`: None, `max_size`: Some(32), added: 2507, mode: `MaxEncodedLen`)
	fn expire() -> Weight {
		// Proof size: measured `938`, estimated `5228` bytes.
		// Minimum execution time: 101_560_000 picoseconds.
		Weight::from_parts(106_969_000, 5228)
			.saturating_add(D::get().reads(5_u64))
			.saturating_add(D::get().writes(7_u64))
	}
	/// Storage: `Datanets::Datanets` (r:1 w:1)
	/// Proof: `Datanets::Datanets` (`max_values`: None, `max_size`: Some(1763), added: 4238, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	fn close_datanet() -> Weight {
		// Proof size: measured `413`, estimated `5228` bytes.
		// Minimum execution time: 49_454_000 picoseconds.
		Weight::from_parts(52_418_000, 5228)
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(3_u64))
	}
}

/// For mocks: the measured weights with ParityDB's costs.
impl WeightInfo for () {
	fn create_datanet() -> Weight {
		MeasuredWeight::<ParityDbWeight>::create_datanet()
	}
	fn add_curator(c: u32, ) -> Weight {
		MeasuredWeight::<ParityDbWeight>::add_curator(c, )
	}
	fn remove_curator(c: u32, ) -> Weight {
		MeasuredWeight::<ParityDbWeight>::remove_curator(c, )
	}
	fn contribute() -> Weight {
		MeasuredWeight::<ParityDbWeight>::contribute()
	}
	fn approve(u: u32, ) -> Weight {
		MeasuredWeight::<ParityDbWeight>::approve(u, )
	}
	fn reject() -> Weight {
		MeasuredWeight::<ParityDbWeight>::reject()
	}
	fn publish_version(n: u32, ) -> Weight {
		MeasuredWeight::<ParityDbWeight>::publish_version(n, )
	}
	fn withdraw() -> Weight {
		MeasuredWeight::<ParityDbWeight>::withdraw()
	}
	fn expire() -> Weight {
		MeasuredWeight::<ParityDbWeight>::expire()
	}
	fn close_datanet() -> Weight {
		MeasuredWeight::<ParityDbWeight>::close_datanet()
	}
}
