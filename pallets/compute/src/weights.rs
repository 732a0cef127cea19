//! Weights for `pallet_compute`, measured by its benchmarks with `scripts/weights`: do not edit.
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

/// Weight functions needed for `pallet_compute`.
pub trait WeightInfo {
	fn register_operator() -> Weight;
	fn rotate_worker_key() -> Weight;
	fn update_operator() -> Weight;
	fn deregister_operator() -> Weight;
	fn request_training() -> Weight;
	fn cancel_job() -> Weight;
	fn claim_job() -> Weight;
	fn release_expired_claim() -> Weight;
	fn submit_training_proof(c: u32, ) -> Weight;
	fn challenge() -> Weight;
	fn resolve_challenge() -> Weight;
	fn vote() -> Weight;
	fn close_challenge() -> Weight;
	fn draw_juries(d: u32, ) -> Weight;
	fn set_challenge_periods() -> Weight;
	fn settle() -> Weight;
	fn set_max_regression() -> Weight;
}

/// The measured weights, with the database costs of `D`.
pub struct MeasuredWeight<D>(PhantomData<D>);

/// The measured weights with the runtime's database costs.
pub type SubstrateWeight<T> = MeasuredWeight<<T as frame_system::Config>::DbWeight>;

impl<D: Get<RuntimeDbWeight>> WeightInfo for MeasuredWeight<D> {
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	/// Storage: `Compute::WorkerKeys` (r:1 w:1)
	/// Proof: `Compute::WorkerKeys` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	/// Storage: `System::BlockHash` (r:1 w:0)
	/// Proof: `System::BlockHash` (`max_values`: None, `max_size`: Some(44), added: 2519, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JurorPool` (r:1 w:1)
	/// Proof: `Compute::JurorPool` (`max_values`: Some(1), `max_size`: Some(12290), added: 12785, mode: `MaxEncodedLen`)
	fn register_operator() -> Weight {
		// Proof size: measured `200`, estimated `13775` bytes.
		// Minimum execution time: 111_265_000 picoseconds.
		Weight::from_parts(130_294_000, 13775)
			.saturating_add(D::get().reads(6_u64))
			.saturating_add(D::get().writes(5_u64))
	}
	/// Storage: `Compute::WorkerKeys` (r:1 w:2)
	/// Proof: `Compute::WorkerKeys` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	/// Storage: `System::BlockHash` (r:1 w:0)
	/// Proof: `System::BlockHash` (`max_values`: None, `max_size`: Some(44), added: 2519, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	fn rotate_worker_key() -> Weight {
		// Proof size: measured `706`, estimated `3922` bytes.
		// Minimum execution time: 70_695_000 picoseconds.
		Weight::from_parts(85_487_000, 3922)
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(3_u64))
	}
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	fn update_operator() -> Weight {
		// Proof size: measured `583`, estimated `3922` bytes.
		// Minimum execution time: 15_453_000 picoseconds.
		Weight::from_parts(22_333_000, 3922)
			.saturating_add(D::get().reads(1_u64))
			.saturating_add(D::get().writes(1_u64))
	}
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	/// Storage: `Compute::LentSeats` (r:1 w:0)
	/// Proof: `Compute::LentSeats` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JurorPool` (r:1 w:1)
	/// Proof: `Compute::JurorPool` (`max_values`: Some(1), `max_size`: Some(12290), added: 12785, mode: `MaxEncodedLen`)
	/// Storage: `Compute::WorkerKeys` (r:0 w:1)
	/// Proof: `Compute::WorkerKeys` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	fn deregister_operator() -> Weight {
		// Proof size: measured `779`, estimated `13775` bytes.
		// Minimum execution time: 59_959_000 picoseconds.
		Weight::from_parts(68_291_000, 13775)
			.saturating_add(D::get().reads(5_u64))
			.saturating_add(D::get().writes(5_u64))
	}
	/// Storage: `Datanets::Versions` (r:1 w:0)
	/// Proof: `Datanets::Versions` (`max_values`: None, `max_size`: Some(104), added: 2579, mode: `MaxEncodedLen`)
	/// Storage: `Compute::NextJobId` (r:1 w:1)
	/// Proof: `Compute::NextJobId` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Models::Models` (r:2 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(573), added: 3048, mode: `MaxEncodedLen`)
	/// Storage: `Models::NextModelId` (r:1 w:1)
	/// Proof: `Models::NextModelId` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Jobs` (r:0 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(265), added: 2740, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JobsByHyperparameters` (r:0 w:1)
	/// Proof: `Compute::JobsByHyperparameters` (`max_values`: None, `max_size`: Some(72), added: 2547, mode: `MaxEncodedLen`)
	fn request_training() -> Weight {
		// Proof size: measured `1645`, estimated `7086` bytes.
		// Minimum execution time: 93_899_000 picoseconds.
		Weight::from_parts(103_844_000, 7086)
			.saturating_add(D::get().reads(7_u64))
			.saturating_add(D::get().writes(7_u64))
	}
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(265), added: 2740, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Models::Models` (r:1 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(573), added: 3048, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JobsByHyperparameters` (r:0 w:1)
	/// Proof: `Compute::JobsByHyperparameters` (`max_values`: None, `max_size`: Some(72), added: 2547, mode: `MaxEncodedLen`)
	/// Storage: `Compute::ExpiredClaimers` (r:0 w:1)
	/// Proof: `Compute::ExpiredClaimers` (`max_values`: None, `max_size`: Some(537), added: 3012, mode: `MaxEncodedLen`)
	fn cancel_job() -> Weight {
		// Proof size: measured `1114`, estimated `4038` bytes.
		// Minimum execution time: 72_327_000 picoseconds.
		Weight::from_parts(78_867_000, 4038)
			.saturating_add(D::get().reads(4_u64))
			.saturating_add(D::get().writes(6_u64))
	}
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(265), added: 2740, mode: `MaxEncodedLen`)
	/// Storage: `Compute::ExpiredClaimers` (r:1 w:0)
	/// Proof: `Compute::ExpiredClaimers` (`max_values`: None, `max_size`: Some(537), added: 3012, mode: `MaxEncodedLen`)
	fn claim_job() -> Weight {
		// Proof size: measured `1433`, estimated `4002` bytes.
		// Minimum execution time: 32_278_000 picoseconds.
		Weight::from_parts(39_108_000, 4002)
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(2_u64))
	}
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(265), added: 2740, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JurorPool` (r:1 w:1)
	/// Proof: `Compute::JurorPool` (`max_values`: Some(1), `max_size`: Some(12290), added: 12785, mode: `MaxEncodedLen`)
	/// Storage: `Compute::ExpiredClaimers` (r:1 w:1)
	/// Proof: `Compute::ExpiredClaimers` (`max_values`: None, `max_size`: Some(537), added: 3012, mode: `MaxEncodedLen`)
	fn release_expired_claim() -> Weight {
		// Proof size: measured `1963`, estimated `13775` bytes.
		// Minimum execution time: 85_186_000 picoseconds.
		Weight::from_parts(94_029_000, 13775)
			.saturating_add(D::get().reads(7_u64))
			.saturating_add(D::get().writes(7_u64))
	}
	/// Storage: `Compute::Operators` (r:1 w:0)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(265), added: 2740, mode: `MaxEncodedLen`)
	/// Storage: `System::BlockHash` (r:1 w:0)
	/// Proof: `System::BlockHash` (`max_values`: None, `max_size`: Some(44), added: 2519, mode: `MaxEncodedLen`)
	/// Storage: `Models::Models` (r:3 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(573), added: 3048, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Versions` (r:1 w:0)
	/// Proof: `Datanets::Versions` (`max_values`: None, `max_size`: Some(104), added: 2579, mode: `MaxEncodedLen`)
	/// Storage: `Compute::MaxRegressionPpm` (r:1 w:0)
	/// Proof: `Compute::MaxRegressionPpm` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Contributions` (r:1024 w:0)
	/// Proof: `Datanets::Contributions` (`max_values`: None, `max_size`: Some(469), added: 2944, mode: `MaxEncodedLen`)
	/// Storage: `Compute::ChallengePeriod` (r:1 w:0)
	/// Proof: `Compute::ChallengePeriod` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Models::AdaptersByHash` (r:0 w:1)
	/// Proof: `Models::AdaptersByHash` (`max_values`: None, `max_size`: Some(44), added: 2519, mode: `MaxEncodedLen`)
	/// The range of component `c` is `[1, 1024]`.
	fn submit_training_proof(c: u32, ) -> Weight {
		// Proof size: measured `2483 + c * 163`, estimated `10134 + c * 2944` bytes.
		// Minimum execution time: 127_629_000 picoseconds.
		Weight::from_parts(132_287_000, 10134)
			// Standard error: 231_751
			.saturating_add(Weight::from_parts(11_753_107, 0).saturating_mul(c.into()))
			.saturating_add(D::get().reads(9_u64))
			.saturating_add(D::get().reads((1_u64).saturating_mul(c.into())))
			.saturating_add(D::get().writes(3_u64))
			.saturating_add(Weight::from_parts(0, 2944).saturating_mul(c.into()))
	}
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(265), added: 2740, mode: `MaxEncodedLen`)
	/// Storage: `Compute::NextChallengeId` (r:1 w:1)
	/// Proof: `Compute::NextChallengeId` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Compute::PendingDraws` (r:1 w:1)
	/// Proof: `Compute::PendingDraws` (`max_values`: Some(1), `max_size`: Some(65), added: 560, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Compute::VotePeriod` (r:1 w:0)
	/// Proof: `Compute::VotePeriod` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Challenges` (r:0 w:1)
	/// Proof: `Compute::Challenges` (`max_values`: None, `max_size`: Some(427), added: 2902, mode: `MaxEncodedLen`)
	fn challenge() -> Weight {
		// Proof size: measured `861`, estimated `3730` bytes.
		// Minimum execution time: 79_188_000 picoseconds.
		Weight::from_parts(85_327_000, 3730)
			.saturating_add(D::get().reads(6_u64))
			.saturating_add(D::get().writes(6_u64))
	}
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(265), added: 2740, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Challenges` (r:4 w:4)
	/// Proof: `Compute::Challenges` (`max_values`: None, `max_size`: Some(427), added: 2902, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Operators` (r:15 w:15)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:7 w:7)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:6 w:6)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Compute::PendingDraws` (r:1 w:1)
	/// Proof: `Compute::PendingDraws` (`max_values`: Some(1), `max_size`: Some(65), added: 560, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JurorPool` (r:1 w:1)
	/// Proof: `Compute::JurorPool` (`max_values`: Some(1), `max_size`: Some(12290), added: 12785, mode: `MaxEncodedLen`)
	/// Storage: `Models::Models` (r:1 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(573), added: 3048, mode: `MaxEncodedLen`)
	/// Storage: `Models::AdaptersByHash` (r:0 w:1)
	/// Proof: `Models::AdaptersByHash` (`max_values`: None, `max_size`: Some(44), added: 2519, mode: `MaxEncodedLen`)
	/// Storage: `Compute::WorkerKeys` (r:0 w:1)
	/// Proof: `Compute::WorkerKeys` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JobsByHyperparameters` (r:0 w:1)
	/// Proof: `Compute::JobsByHyperparameters` (`max_values`: None, `max_size`: Some(72), added: 2547, mode: `MaxEncodedLen`)
	/// Storage: `Compute::ExpiredClaimers` (r:0 w:1)
	/// Proof: `Compute::ExpiredClaimers` (`max_values`: None, `max_size`: Some(537), added: 3012, mode: `MaxEncodedLen`)
	fn resolve_challenge() -> Weight {
		// Proof size: measured `14028`, estimated `44970` bytes.
		// Minimum execution time: 485_901_000 picoseconds.
		Weight::from_parts(526_942_000, 44970)
			.saturating_add(D::get().reads(36_u64))
			.saturating_add(D::get().writes(40_u64))
	}
	/// Storage: `Compute::Challenges` (r:4 w:4)
	/// Proof: `Compute::Challenges` (`max_values`: None, `max_size`: Some(427), added: 2902, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(265), added: 2740, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Operators` (r:15 w:15)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:7 w:7)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:6 w:6)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Compute::PendingDraws` (r:1 w:1)
	/// Proof: `Compute::PendingDraws` (`max_values`: Some(1), `max_size`: Some(65), added: 560, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JurorPool` (r:1 w:1)
	/// Proof: `Compute::JurorPool` (`max_values`: Some(1), `max_size`: Some(12290), added: 12785, mode: `MaxEncodedLen`)
	/// Storage: `Models::Models` (r:1 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(573), added: 3048, mode: `MaxEncodedLen`)
	/// Storage: `Models::AdaptersByHash` (r:0 w:1)
	/// Proof: `Models::AdaptersByHash` (`max_values`: None, `max_size`: Some(44), added: 2519, mode: `MaxEncodedLen`)
	/// Storage: `Compute::WorkerKeys` (r:0 w:1)
	/// Proof: `Compute::WorkerKeys` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JobsByHyperparameters` (r:0 w:1)
	/// Proof: `Compute::JobsByHyperparameters` (`max_values`: None, `max_size`: Some(72), added: 2547, mode: `MaxEncodedLen`)
	/// Storage: `Compute::ExpiredClaimers` (r:0 w:1)
	/// Proof: `Compute::ExpiredClaimers` (`max_values`: None, `max_size`: Some(537), added: 3012, mode: `MaxEncodedLen`)
	fn vote() -> Weight {
		// Proof size: measured `14030`, estimated `44970` bytes.
		// Minimum execution time: 489_146_000 picoseconds.
		Weight::from_parts(549_426_000, 44970)
			.saturating_add(D::get().reads(36_u64))
			.saturating_add(D::get().writes(40_u64))
	}
	/// Storage: `Compute::Challenges` (r:1 w:1)
	/// Proof: `Compute::Challenges` (`max_values`: None, `max_size`: Some(427), added: 2902, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JurorPool` (r:1 w:1)
	/// Proof: `Compute::JurorPool` (`max_values`: Some(1), `max_size`: Some(12290), added: 12785, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Operators` (r:5 w:5)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:6 w:6)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:7 w:7)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Compute::PendingDraws` (r:1 w:1)
	/// Proof: `Compute::PendingDraws` (`max_values`: Some(1), `max_size`: Some(65), added: 560, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(265), added: 2740, mode: `MaxEncodedLen`)
	fn close_challenge() -> Weight {
		// Proof size: measured `8010`, estimated `19211` bytes.
		// Minimum execution time: 389_338_000 picoseconds.
		Weight::from_parts(411_581_000, 19211)
			.saturating_add(D::get().reads(22_u64))
			.saturating_add(D::get().writes(22_u64))
	}
	/// Storage: `Compute::PendingDraws` (r:1 w:1)
	/// Proof: `Compute::PendingDraws` (`max_values`: Some(1), `max_size`: Some(65), added: 560, mode: `MaxEncodedLen`)
	/// Storage: `System::ParentHash` (r:1 w:0)
	/// Proof: `System::ParentHash` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Challenges` (r:8 w:8)
	/// Proof: `Compute::Challenges` (`max_values`: None, `max_size`: Some(427), added: 2902, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Jobs` (r:2 w:0)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(265), added: 2740, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JurorPool` (r:1 w:0)
	/// Proof: `Compute::JurorPool` (`max_values`: Some(1), `max_size`: Some(12290), added: 12785, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Operators` (r:35 w:35)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	/// The range of component `d` is `[0, 8]`.
	fn draw_juries(d: u32, ) -> Weight {
		// Proof size: measured `14575 + d * 1170`, estimated `13775 + d * 12600` bytes.
		// Minimum execution time: 5_218_000 picoseconds.
		Weight::from_parts(32_706_792, 13775)
			// Standard error: 551_389
			.saturating_add(Weight::from_parts(60_857_771, 0).saturating_mul(d.into()))
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().reads((6_u64).saturating_mul(d.into())))
			.saturating_add(D::get().writes(1_u64))
			.saturating_add(D::get().writes((6_u64).saturating_mul(d.into())))
			.saturating_add(Weight::from_parts(0, 12600).saturating_mul(d.into()))
	}
	/// Storage: `Compute::VotePeriod` (r:0 w:1)
	/// Proof: `Compute::VotePeriod` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Compute::ChallengePeriod` (r:0 w:1)
	/// Proof: `Compute::ChallengePeriod` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	fn set_challenge_periods() -> Weight {
		// Proof size: measured `0`, estimated `0` bytes.
		// Minimum execution time: 4_987_000 picoseconds.
		Weight::from_parts(5_709_000, 0)
			.saturating_add(D::get().writes(2_u64))
	}
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(265), added: 2740, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(193), added: 2668, mode: `MaxEncodedLen`)
	/// Storage: `Rewards::Pools` (r:1 w:1)
	/// Proof: `Rewards::Pools` (`max_values`: None, `max_size`: Some(72), added: 2547, mode: `MaxEncodedLen`)
	/// Storage: `Rewards::Pending` (r:1 w:1)
	/// Proof: `Rewards::Pending` (`max_values`: None, `max_size`: Some(96), added: 2571, mode: `MaxEncodedLen`)
	/// Storage: `Models::Models` (r:1 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(573), added: 3048, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(457), added: 2932, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JobsByHyperparameters` (r:0 w:1)
	/// Proof: `Compute::JobsByHyperparameters` (`max_values`: None, `max_size`: Some(72), added: 2547, mode: `MaxEncodedLen`)
	/// Storage: `Compute::ExpiredClaimers` (r:0 w:1)
	/// Proof: `Compute::ExpiredClaimers` (`max_values`: None, `max_size`: Some(537), added: 3012, mode: `MaxEncodedLen`)
	fn settle() -> Weight {
		// Proof size: measured `2495`, estimated `6196` bytes.
		// Minimum execution time: 177_233_000 picoseconds.
		Weight::from_parts(191_104_000, 6196)
			.saturating_add(D::get().reads(8_u64))
			.saturating_add(D::get().writes(10_u64))
	}
	/// Storage: `Compute::MaxRegressionPpm` (r:0 w:1)
	/// Proof: `Compute::MaxRegressionPpm` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	fn set_max_regression() -> Weight {
		// Proof size: measured `0`, estimated `0` bytes.
		// Minimum execution time: 4_657_000 picoseconds.
		Weight::from_parts(5_278_000, 0)
			.saturating_add(D::get().writes(1_u64))
	}
}

/// For mocks: the measured weights with ParityDB's costs.
impl WeightInfo for () {
	fn register_operator() -> Weight {
		MeasuredWeight::<ParityDbWeight>::register_operator()
	}
	fn rotate_worker_key() -> Weight {
		MeasuredWeight::<ParityDbWeight>::rotate_worker_key()
	}
	fn update_operator() -> Weight {
		MeasuredWeight::<ParityDbWeight>::update_operator()
	}
	fn deregister_operator() -> Weight {
		MeasuredWeight::<ParityDbWeight>::deregister_operator()
	}
	fn request_training() -> Weight {
		MeasuredWeight::<ParityDbWeight>::request_training()
	}
	fn cancel_job() -> Weight {
		MeasuredWeight::<ParityDbWeight>::cancel_job()
	}
	fn claim_job() -> Weight {
		MeasuredWeight::<ParityDbWeight>::claim_job()
	}
	fn release_expired_claim() -> Weight {
		MeasuredWeight::<ParityDbWeight>::release_expired_claim()
	}
	fn submit_training_proof(c: u32, ) -> Weight {
		MeasuredWeight::<ParityDbWeight>::submit_training_proof(c, )
	}
	fn challenge() -> Weight {
		MeasuredWeight::<ParityDbWeight>::challenge()
	}
	fn resolve_challenge() -> Weight {
		MeasuredWeight::<ParityDbWeight>::resolve_challenge()
	}
	fn vote() -> Weight {
		MeasuredWeight::<ParityDbWeight>::vote()
	}
	fn close_challenge() -> Weight {
		MeasuredWeight::<ParityDbWeight>::close_challenge()
	}
	fn draw_juries(d: u32, ) -> Weight {
		MeasuredWeight::<ParityDbWeight>::draw_juries(d, )
	}
	fn set_challenge_periods() -> Weight {
		MeasuredWeight::<ParityDbWeight>::set_challenge_periods()
	}
	fn settle() -> Weight {
		MeasuredWeight::<ParityDbWeight>::settle()
	}
	fn set_max_regression() -> Weight {
		MeasuredWeight::<ParityDbWeight>::set_max_regression()
	}
}
