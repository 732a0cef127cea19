//! Weights for `pallet_attribution`, measured by its benchmarks with `scripts/weights`: do not edit.
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

/// Weight functions needed for `pallet_attribution`.
pub trait WeightInfo {
	fn deposit_credit() -> Weight;
	fn request_withdrawal() -> Weight;
	fn withdraw() -> Weight;
	fn submit_inference_batch(r: u32, ) -> Weight;
	fn pay_batch(a: u32, p: u32, ) -> Weight;
	fn challenge_attribution(p: u32, a: u32, ) -> Weight;
	fn vote_attribution() -> Weight;
	fn close_attribution_challenge(j: u32, ) -> Weight;
	fn draw_attribution_juries(n: u32, ) -> Weight;
	fn grant_allowance() -> Weight;
	fn request_allowance_reduction() -> Weight;
	fn reduce_allowance() -> Weight;
	fn set_fee_split() -> Weight;
	fn set_withdrawal_delay() -> Weight;
}

/// The measured weights, with the database costs of `D`.
pub struct MeasuredWeight<D>(PhantomData<D>);

/// The measured weights with the runtime's database costs.
pub type SubstrateWeight<T> = MeasuredWeight<<T as frame_system::Config>::DbWeight>;

impl<D: Get<RuntimeDbWeight>> WeightInfo for MeasuredWeight<D> {
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Credits` (r:1 w:1)
	/// Proof: `Attribution::Credits` (`max_values`: None, `max_size`: Some(85), added: 2560, mode: `MaxEncodedLen`)
	fn deposit_credit() -> Weight {
		// Proof size: measured `457`, estimated `6196` bytes.
		// Minimum execution time: 54_130_000 picoseconds.
		Weight::from_parts(57_235_000, 6196)
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(3_u64))
	}
	/// Storage: `Attribution::WithdrawalDelay` (r:1 w:0)
	/// Proof: `Attribution::WithdrawalDelay` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Credits` (r:1 w:1)
	/// Proof: `Attribution::Credits` (`max_values`: None, `max_size`: Some(85), added: 2560, mode: `MaxEncodedLen`)
	fn request_withdrawal() -> Weight {
		// Proof size: measured `143`, estimated `3550` bytes.
		// Minimum execution time: 13_500_000 picoseconds.
		Weight::from_parts(14_801_000, 3550)
			.saturating_add(D::get().reads(2_u64))
			.saturating_add(D::get().writes(1_u64))
	}
	/// Storage: `Attribution::Credits` (r:1 w:1)
	/// Proof: `Attribution::Credits` (`max_values`: None, `max_size`: Some(85), added: 2560, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	fn withdraw() -> Weight {
		// Proof size: measured `479`, estimated `6196` bytes.
		// Minimum execution time: 55_633_000 picoseconds.
		Weight::from_parts(58_597_000, 6196)
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(3_u64))
	}
	/// Storage: `Compute::Operators` (r:1 w:0)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	/// Storage: `System::BlockHash` (r:1 w:0)
	/// Proof: `System::BlockHash` (`max_values`: None, `max_size`: Some(44), added: 2519, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::BatchNonces` (r:1 w:1)
	/// Proof: `Attribution::BatchNonces` (`max_values`: None, `max_size`: Some(56), added: 2531, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::NextBatchId` (r:1 w:1)
	/// Proof: `Attribution::NextBatchId` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::ChallengeWindow` (r:1 w:0)
	/// Proof: `Attribution::ChallengeWindow` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::FeeSplitInForce` (r:1 w:0)
	/// Proof: `Attribution::FeeSplitInForce` (`max_values`: Some(1), `max_size`: Some(20), added: 515, mode: `MaxEncodedLen`)
	/// Storage: `Models::Models` (r:64 w:0)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(573), added: 3048, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Contributions` (r:1024 w:0)
	/// Proof: `Datanets::Contributions` (`max_values`: None, `max_size`: Some(469), added: 2944, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Nonces` (r:64 w:64)
	/// Proof: `Attribution::Nonces` (`max_values`: None, `max_size`: Some(120), added: 2595, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Allowances` (r:64 w:64)
	/// Proof: `Attribution::Allowances` (`max_values`: None, `max_size`: Some(133), added: 2608, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::NextRecordId` (r:1 w:1)
	/// Proof: `Attribution::NextRecordId` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:3 w:3)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Rewards::Pending` (r:1089 w:1089)
	/// Proof: `Rewards::Pending` (`max_values`: None, `max_size`: Some(96), added: 2571, mode: `MaxEncodedLen`)
	/// Storage: `Rewards::Pools` (r:64 w:64)
	/// Proof: `Rewards::Pools` (`max_values`: None, `max_size`: Some(72), added: 2547, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Versions` (r:64 w:0)
	/// Proof: `Datanets::Versions` (`max_values`: None, `max_size`: Some(104), added: 2579, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::OldestRecordId` (r:1 w:1)
	/// Proof: `Attribution::OldestRecordId` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Records` (r:64 w:128)
	/// Proof: `Attribution::Records` (`max_values`: None, `max_size`: Some(614), added: 3089, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Batches` (r:0 w:2)
	/// Proof: `Attribution::Batches` (`max_values`: None, `max_size`: Some(132), added: 2607, mode: `MaxEncodedLen`)
	/// The range of component `r` is `[1, 64]`.
	fn submit_inference_batch(r: u32, ) -> Weight {
		// Proof size: measured `5225 + r * 3277`, estimated `198686 + r * 47104` bytes.
		// Minimum execution time: 1_558_823_000 picoseconds.
		Weight::from_parts(446_006_378, 198686)
			// Standard error: 21_581_596
			.saturating_add(Weight::from_parts(2_198_219_069, 0).saturating_mul(r.into()))
			.saturating_add(D::get().reads(76_u64))
			.saturating_add(D::get().reads((38_u64).saturating_mul(r.into())))
			.saturating_add(D::get().writes(74_u64))
			.saturating_add(D::get().writes((21_u64).saturating_mul(r.into())))
			.saturating_add(Weight::from_parts(0, 47104).saturating_mul(r.into()))
	}
	/// Storage: `System::Account` (r:3 w:3)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Rewards::Pending` (r:1089 w:1089)
	/// Proof: `Rewards::Pending` (`max_values`: None, `max_size`: Some(96), added: 2571, mode: `MaxEncodedLen`)
	/// Storage: `Rewards::Pools` (r:64 w:64)
	/// Proof: `Rewards::Pools` (`max_values`: None, `max_size`: Some(72), added: 2547, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Versions` (r:64 w:0)
	/// Proof: `Datanets::Versions` (`max_values`: None, `max_size`: Some(104), added: 2579, mode: `MaxEncodedLen`)
	/// The range of component `a` is `[0, 1089]`.
	/// The range of component `p` is `[0, 64]`.
	fn pay_batch(a: u32, p: u32, ) -> Weight {
		// Proof size: measured `667 + p * 111`, estimated `8799 + a * 2571 + p * 2579` bytes.
		// Minimum execution time: 3_257_173_000 picoseconds.
		Weight::from_parts(6_067_750_464, 8799)
			// Standard error: 1_296_216
			.saturating_add(Weight::from_parts(89_079_482, 0).saturating_mul(a.into()))
			// Standard error: 21_895_439
			.saturating_add(Weight::from_parts(8_787_941, 0).saturating_mul(p.into()))
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().reads((1_u64).saturating_mul(a.into())))
			.saturating_add(D::get().reads((2_u64).saturating_mul(p.into())))
			.saturating_add(D::get().writes(3_u64))
			.saturating_add(D::get().writes((1_u64).saturating_mul(a.into())))
			.saturating_add(D::get().writes((1_u64).saturating_mul(p.into())))
			.saturating_add(Weight::from_parts(0, 2571).saturating_mul(a.into()))
			.saturating_add(Weight::from_parts(0, 2579).saturating_mul(p.into()))
	}
	/// Storage: `Attribution::Records` (r:1 w:1)
	/// Proof: `Attribution::Records` (`max_values`: None, `max_size`: Some(614), added: 3089, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::NextAttributionChallengeId` (r:1 w:1)
	/// Proof: `Attribution::NextAttributionChallengeId` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::PendingJuryDraws` (r:1 w:1)
	/// Proof: `Attribution::PendingJuryDraws` (`max_values`: Some(1), `max_size`: Some(65), added: 560, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Compute::VotePeriod` (r:1 w:0)
	/// Proof: `Compute::VotePeriod` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::AttributionChallenges` (r:0 w:1)
	/// Proof: `Attribution::AttributionChallenges` (`max_values`: None, `max_size`: Some(33769), added: 36244, mode: `MaxEncodedLen`)
	/// The range of component `p` is `[0, 16384]`.
	/// The range of component `a` is `[0, 16384]`.
	fn challenge_attribution(p: u32, a: u32, ) -> Weight {
		// Proof size: measured `1237`, estimated `4079` bytes.
		// Minimum execution time: 119_878_000 picoseconds.
		Weight::from_parts(94_538_212, 4079)
			// Standard error: 116
			.saturating_add(Weight::from_parts(2_336, 0).saturating_mul(p.into()))
			// Standard error: 116
			.saturating_add(Weight::from_parts(1_973, 0).saturating_mul(a.into()))
			.saturating_add(D::get().reads(6_u64))
			.saturating_add(D::get().writes(6_u64))
	}
	/// Storage: `Attribution::AttributionChallenges` (r:1 w:1)
	/// Proof: `Attribution::AttributionChallenges` (`max_values`: None, `max_size`: Some(33769), added: 36244, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:2 w:2)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:5 w:4)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JurorPool` (r:1 w:1)
	/// Proof: `Compute::JurorPool` (`max_values`: Some(1), `max_size`: Some(12290), added: 12785, mode: `MaxEncodedLen`)
	/// Storage: `Rewards::Pools` (r:1 w:1)
	/// Proof: `Rewards::Pools` (`max_values`: None, `max_size`: Some(72), added: 2547, mode: `MaxEncodedLen`)
	/// Storage: `Compute::LentSeats` (r:5 w:5)
	/// Proof: `Compute::LentSeats` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::PendingJuryDraws` (r:1 w:1)
	/// Proof: `Attribution::PendingJuryDraws` (`max_values`: Some(1), `max_size`: Some(65), added: 560, mode: `MaxEncodedLen`)
	fn vote_attribution() -> Weight {
		// Proof size: measured `51368`, estimated `37234` bytes.
		// Minimum execution time: 385_031_000 picoseconds.
		Weight::from_parts(426_693_000, 37234)
			.saturating_add(D::get().reads(17_u64))
			.saturating_add(D::get().writes(16_u64))
	}
	/// Storage: `Attribution::AttributionChallenges` (r:1 w:1)
	/// Proof: `Attribution::AttributionChallenges` (`max_values`: None, `max_size`: Some(33769), added: 36244, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JurorPool` (r:1 w:1)
	/// Proof: `Compute::JurorPool` (`max_values`: Some(1), `max_size`: Some(12290), added: 12785, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Operators` (r:5 w:5)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:6 w:6)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:7 w:7)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Compute::LentSeats` (r:5 w:5)
	/// Proof: `Compute::LentSeats` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::PendingJuryDraws` (r:1 w:1)
	/// Proof: `Attribution::PendingJuryDraws` (`max_values`: Some(1), `max_size`: Some(65), added: 560, mode: `MaxEncodedLen`)
	/// The range of component `j` is `[0, 9]`.
	fn close_attribution_challenge(j: u32, ) -> Weight {
		// Proof size: measured `49516 + j * 503`, estimated `37234 + j * 1687` bytes.
		// Minimum execution time: 199_526_000 picoseconds.
		Weight::from_parts(285_332_167, 37234)
			// Standard error: 1_942_375
			.saturating_add(Weight::from_parts(48_641_217, 0).saturating_mul(j.into()))
			.saturating_add(D::get().reads(13_u64))
			.saturating_add(D::get().reads((2_u64).saturating_mul(j.into())))
			.saturating_add(D::get().writes(13_u64))
			.saturating_add(D::get().writes((2_u64).saturating_mul(j.into())))
			.saturating_add(Weight::from_parts(0, 1687).saturating_mul(j.into()))
	}
	/// Storage: `Attribution::PendingJuryDraws` (r:1 w:1)
	/// Proof: `Attribution::PendingJuryDraws` (`max_values`: Some(1), `max_size`: Some(65), added: 560, mode: `MaxEncodedLen`)
	/// Storage: `System::ParentHash` (r:1 w:0)
	/// Proof: `System::ParentHash` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::AttributionChallenges` (r:8 w:8)
	/// Proof: `Attribution::AttributionChallenges` (`max_values`: None, `max_size`: Some(33769), added: 36244, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JurorPool` (r:1 w:0)
	/// Proof: `Compute::JurorPool` (`max_values`: Some(1), `max_size`: Some(12290), added: 12785, mode: `MaxEncodedLen`)
	/// Storage: `Compute::LentSeats` (r:38 w:38)
	/// Proof: `Compute::LentSeats` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// The range of component `n` is `[0, 8]`.
	fn draw_attribution_juries(n: u32, ) -> Weight {
		// Proof size: measured `12681 + n * 33482`, estimated `13775 + n * 36244` bytes.
		// Minimum execution time: 8_082_000 picoseconds.
		Weight::from_parts(8_563_000, 13775)
			// Standard error: 12_169_172
			.saturating_add(Weight::from_parts(163_750_865, 0).saturating_mul(n.into()))
			.saturating_add(D::get().reads(2_u64))
			.saturating_add(D::get().reads((6_u64).saturating_mul(n.into())))
			.saturating_add(D::get().writes(1_u64))
			.saturating_add(D::get().writes((6_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 36244).saturating_mul(n.into()))
	}
	/// Storage: `Compute::Operators` (r:1 w:0)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Credits` (r:1 w:1)
	/// Proof: `Attribution::Credits` (`max_values`: None, `max_size`: Some(85), added: 2560, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Allowances` (r:1 w:1)
	/// Proof: `Attribution::Allowances` (`max_values`: None, `max_size`: Some(133), added: 2608, mode: `MaxEncodedLen`)
	fn grant_allowance() -> Weight {
		// Proof size: measured `574`, estimated `3922` bytes.
		// Minimum execution time: 29_133_000 picoseconds.
		Weight::from_parts(38_507_000, 3922)
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(2_u64))
	}
	/// Storage: `Attribution::Allowances` (r:1 w:1)
	/// Proof: `Attribution::Allowances` (`max_values`: None, `max_size`: Some(133), added: 2608, mode: `MaxEncodedLen`)
	fn request_allowance_reduction() -> Weight {
		// Proof size: measured `191`, estimated `3598` bytes.
		// Minimum execution time: 15_924_000 picoseconds.
		Weight::from_parts(24_706_000, 3598)
			.saturating_add(D::get().reads(1_u64))
			.saturating_add(D::get().writes(1_u64))
	}
	/// Storage: `Attribution::Allowances` (r:1 w:1)
	/// Proof: `Attribution::Allowances` (`max_values`: None, `max_size`: Some(133), added: 2608, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Credits` (r:1 w:1)
	/// Proof: `Attribution::Credits` (`max_values`: None, `max_size`: Some(85), added: 2560, mode: `MaxEncodedLen`)
	fn reduce_allowance() -> Weight {
		// Proof size: measured `300`, estimated `3598` bytes.
		// Minimum execution time: 23_886_000 picoseconds.
		Weight::from_parts(30_815_000, 3598)
			.saturating_add(D::get().reads(2_u64))
			.saturating_add(D::get().writes(2_u64))
	}
	/// Storage: `Attribution::FeeSplitInForce` (r:0 w:1)
	/// Proof: `Attribution::FeeSplitInForce` (`max_values`: Some(1), `max_size`: Some(20), added: 515, mode: `MaxEncodedLen`)
	fn set_fee_split() -> Weight {
		// Proof size: measured `0`, estimated `0` bytes.
		// Minimum execution time: 4_617_000 picoseconds.
		Weight::from_parts(5_338_000, 0)
			.saturating_add(D::get().writes(1_u64))
	}
	/// Storage: `Attribution::WithdrawalDelay` (r:0 w:1)
	/// Proof: `Attribution::WithdrawalDelay` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	fn set_withdrawal_delay() -> Weight {
		// Proof size: measured `0`, estimated `0` bytes.
		// Minimum execution time: 4_437_000 picoseconds.
		Weight::from_parts(5_048_000, 0)
			.saturating_add(D::get().writes(1_u64))
	}
}

/// For mocks: the measured weights with ParityDB's costs.
impl WeightInfo for () {
	fn deposit_credit() -> Weight {
		MeasuredWeight::<ParityDbWeight>::deposit_credit()
	}
	fn request_withdrawal() -> Weight {
		MeasuredWeight::<ParityDbWeight>::request_withdrawal()
	}
	fn withdraw() -> Weight {
		MeasuredWeight::<ParityDbWeight>::withdraw()
	}
	fn submit_inference_batch(r: u32, ) -> Weight {
		MeasuredWeight::<ParityDbWeight>::submit_inference_batch(r, )
	}
	fn pay_batch(a: u32, p: u32, ) -> Weight {
		MeasuredWeight::<ParityDbWeight>::pay_batch(a, p, )
	}
	fn challenge_attribution(p: u32, a: u32, ) -> Weight {
		MeasuredWeight::<ParityDbWeight>::challenge_attribution(p, a, )
	}
	fn vote_attribution() -> Weight {
		MeasuredWeight::<ParityDbWeight>::vote_attribution()
	}
	fn close_attribution_challenge(j: u32, ) -> Weight {
		MeasuredWeight::<ParityDbWeight>::close_attribution_challenge(j, )
	}
	fn draw_attribution_juries(n: u32, ) -> Weight {
		MeasuredWeight::<ParityDbWeight>::draw_attribution_juries(n, )
	}
	fn grant_allowance() -> Weight {
		MeasuredWeight::<ParityDbWeight>::grant_allowance()
	}
	fn request_allowance_reduction() -> Weight {
		MeasuredWeight::<ParityDbWeight>::request_allowance_reduction()
	}
	fn reduce_allowance() -> Weight {
		MeasuredWeight::<ParityDbWeight>::reduce_allowance()
	}
	fn set_fee_split() -> Weight {
		MeasuredWeight::<ParityDbWeight>::set_fee_split()
	}
	fn set_withdrawal_delay() -> Weight {
		MeasuredWeight::<ParityDbWeight>::set_withdrawal_delay()
	}
}
