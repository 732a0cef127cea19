//! Weights for `pallet_compute`, measured by its benchmarks with `scripts/weights`: do not edit.
//!
//! Not yet re-measured after the quality gate: `request_training`, `cancel_job`,
//! `submit_training_proof`, `resolve_challenge` and `settle` carry the measured figures plus an
//! estimate for the storage they now touch (the previous version's record, `MaxRegressionPpm`,
//! the `JobsByHyperparameters` index), and `set_max_regression` is estimated like
//! `pallet_attribution::set_fee_split`. `scripts/weights` replaces them with measurements.
//!
//! Estimated, not yet measured, after the jury challenges: `challenge`, `resolve_challenge`,
//! `vote`, `close_challenge`, `draw_juries` and `set_challenge_periods` are written by hand from
//! the storage they touch at their worst case (four open challenges of nine jurors, a full juror
//! pool of 256 operators, eight draws in a block) with ParityDB-era per-item costs, and
//! `register_operator`, `deregister_operator` and `release_expired_claim` add the juror pool's
//! read and write (12 290 bytes of proof). The benchmarks in `benchmarking.rs` measure each of
//! them at that worst case when `scripts/weights` runs.
//!
//! Estimated, not yet measured, after the worker keys' proof of possession: `register_operator`
//! and `rotate_worker_key` add one sr25519 verification (50 µs, the host function's usual cost)
//! and the read of the genesis hash (`System::BlockHash`).
//!
//! Estimated, not yet measured, after the claim-griefing defence: `claim_job` reads and
//! `release_expired_claim` reads and writes the job's `ExpiredClaimers` (at most 16 accounts,
//! 515 bytes); `cancel_job` and `settle` remove it with the job (one more write), as does a
//! proven fraud (`vote`, `resolve_challenge`, whose estimates are not changed for one write).
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
	fn settle() -> Weight;
	fn set_max_regression() -> Weight;
	fn vote() -> Weight;
	fn close_challenge() -> Weight;
	fn draw_juries(d: u32, ) -> Weight;
	fn set_challenge_periods() -> Weight;
}

/// The measured weights, with the database costs of `D`.
pub struct MeasuredWeight<D>(PhantomData<D>);

/// The measured weights with the runtime's database costs.
pub type SubstrateWeight<T> = MeasuredWeight<<T as frame_system::Config>::DbWeight>;

impl<D: Get<RuntimeDbWeight>> WeightInfo for MeasuredWeight<D> {
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(437), added: 2912, mode: `MaxEncodedLen`)
	/// Storage: `Compute::WorkerKeys` (r:1 w:1)
	/// Proof: `Compute::WorkerKeys` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	fn register_operator() -> Weight {
		// Proof size: measured `106`, estimated `3902` bytes.
		// Minimum execution time: 42_954_000 picoseconds.
		// Plus the juror pool (estimated): one read and one write of up to 12 290 bytes.
		// Plus the possession proof (estimated): one sr25519 verification, `System::BlockHash`
		// read (r:1, 32 + 2 533 bytes).
		Weight::from_parts(105_317_000, 18757)
			.saturating_add(D::get().reads(6_u64))
			.saturating_add(D::get().writes(5_u64))
	}
	/// Storage: `Compute::WorkerKeys` (r:1 w:2)
	/// Proof: `Compute::WorkerKeys` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(437), added: 2912, mode: `MaxEncodedLen`)
	fn rotate_worker_key() -> Weight {
		// Proof size: measured `563`, estimated `3902` bytes.
		// Minimum execution time: 13_059_000 picoseconds.
		// Plus the possession proof (estimated): one sr25519 verification, `System::BlockHash`
		// read (r:1, 32 + 2 533 bytes).
		Weight::from_parts(64_391_000, 6467)
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(3_u64))
	}
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(437), added: 2912, mode: `MaxEncodedLen`)
	fn update_operator() -> Weight {
		// Proof size: measured `495`, estimated `3902` bytes.
		// Minimum execution time: 8_843_000 picoseconds.
		Weight::from_parts(9_634_000, 3902)
			.saturating_add(D::get().reads(1_u64))
			.saturating_add(D::get().writes(1_u64))
	}
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(437), added: 2912, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Compute::WorkerKeys` (r:0 w:1)
	/// Proof: `Compute::WorkerKeys` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	fn deregister_operator() -> Weight {
		// Proof size: measured `653`, estimated `3902` bytes.
		// Minimum execution time: 36_174_000 picoseconds.
		// Plus the juror pool (estimated): one read and one write of up to 12 290 bytes.
		Weight::from_parts(48_988_000, 16192)
			.saturating_add(D::get().reads(4_u64))
			.saturating_add(D::get().writes(5_u64))
	}
	/// Storage: `Datanets::Versions` (r:1 w:0)
	/// Proof: `Datanets::Versions` (`max_values`: None, `max_size`: Some(88), added: 2563, mode: `MaxEncodedLen`)
	/// Storage: `Compute::NextJobId` (r:1 w:1)
	/// Proof: `Compute::NextJobId` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Models::Models` (r:1 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(516), added: 2991, mode: `MaxEncodedLen`)
	/// Storage: `Models::NextModelId` (r:1 w:1)
	/// Proof: `Models::NextModelId` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Jobs` (r:0 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(284), added: 2759, mode: `MaxEncodedLen`)
	/// Storage: `Compute::JobsByHyperparameters` (r:0 w:1)
	/// Proof: `Compute::JobsByHyperparameters` (`max_values`: None, `max_size`: Some(72), added: 2547, mode: `MaxEncodedLen`)
	/// Estimated: one more `Models::Models` read (the previous version, r:1).
	fn request_training() -> Weight {
		// Proof size: measured `850`, estimated `7021` bytes.
		// Minimum execution time: 53_180_000 picoseconds.
		Weight::from_parts(62_000_000, 7021)
			.saturating_add(D::get().reads(7_u64))
			.saturating_add(D::get().writes(7_u64))
	}
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(275), added: 2750, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Models::Models` (r:1 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(516), added: 2991, mode: `MaxEncodedLen`)
	fn cancel_job() -> Weight {
		// Proof size: measured `837`, estimated `3981` bytes.
		// Minimum execution time: 43_224_000 picoseconds.
		Weight::from_parts(48_500_000, 3981)
			.saturating_add(D::get().reads(4_u64))
			// Plus the job's expired claimers removed (estimated).
			.saturating_add(D::get().writes(6_u64))
	}
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(437), added: 2912, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(275), added: 2750, mode: `MaxEncodedLen`)
	fn claim_job() -> Weight {
		// Proof size: measured `705`, estimated `3902` bytes.
		// Minimum execution time: 14_492_000 picoseconds.
		// Plus the job's expired claimers (estimated): one read of up to 515 bytes.
		Weight::from_parts(17_934_000, 6993)
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(2_u64))
	}
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(275), added: 2750, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(437), added: 2912, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	fn release_expired_claim() -> Weight {
		// Proof size: measured `1115`, estimated `6196` bytes.
		// Minimum execution time: 47_481_000 picoseconds.
		// Plus the juror pool (estimated): one read and one write of up to 12 290 bytes.
		// Plus the job's expired claimers (estimated): one read and one write of up to 515 bytes.
		Weight::from_parts(64_156_000, 21577)
			.saturating_add(D::get().reads(7_u64))
			.saturating_add(D::get().writes(7_u64))
	}
	/// Storage: `Compute::Operators` (r:1 w:0)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(437), added: 2912, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(275), added: 2750, mode: `MaxEncodedLen`)
	/// Storage: `System::BlockHash` (r:1 w:0)
	/// Proof: `System::BlockHash` (`max_values`: None, `max_size`: Some(44), added: 2519, mode: `MaxEncodedLen`)
	/// Storage: `Models::Models` (r:2 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(516), added: 2991, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Versions` (r:1 w:0)
	/// Proof: `Datanets::Versions` (`max_values`: None, `max_size`: Some(88), added: 2563, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Contributions` (r:1024 w:0)
	/// Proof: `Datanets::Contributions` (`max_values`: None, `max_size`: Some(445), added: 2920, mode: `MaxEncodedLen`)
	/// Storage: `Models::ModelByArtifact` (r:1 w:1)
	/// Proof: `Models::ModelByArtifact` (`max_values`: None, `max_size`: Some(36), added: 2511, mode: `MaxEncodedLen`)
	/// The range of component `c` is `[1, 1024]`.
	fn submit_training_proof(c: u32, ) -> Weight {
		// Proof size: measured `1747 + c * 139`, estimated `6972 + c * 2920` bytes.
		// Minimum execution time: 80_059_000 picoseconds.
		Weight::from_parts(61_000_000, 10012)
			// Standard error: 13_026
			.saturating_add(Weight::from_parts(3_350_506, 0).saturating_mul(c.into()))
			.saturating_add(D::get().reads(9_u64))
			.saturating_add(D::get().reads((1_u64).saturating_mul(c.into())))
			.saturating_add(D::get().writes(3_u64))
			.saturating_add(Weight::from_parts(0, 2920).saturating_mul(c.into()))
	}
	/// Storage: `Compute::Operators` (r:1 w:0)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(437), added: 2912, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(275), added: 2750, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	fn challenge() -> Weight {
		// Proof size: measured `829`, estimated `3902` bytes.
		// Minimum execution time: 53_230_000 picoseconds.
		// Estimated: Jobs, NextChallengeId, PendingDraws, Account, Holds read; those and the
		// challenge written.
		Weight::from_parts(62_000_000, 3902)
			.saturating_add(D::get().reads(5_u64))
			.saturating_add(D::get().writes(6_u64))
	}
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(275), added: 2750, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:4 w:4)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:3 w:3)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(437), added: 2912, mode: `MaxEncodedLen`)
	/// Storage: `Models::Models` (r:1 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(516), added: 2991, mode: `MaxEncodedLen`)
	/// Storage: `Compute::WorkerKeys` (r:0 w:1)
	/// Proof: `Compute::WorkerKeys` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	fn resolve_challenge() -> Weight {
		// Proof size: measured `2284`, estimated `11402` bytes.
		// Minimum execution time: 140_400_000 picoseconds.
		// Estimated at the worst case: fraud with four open challenges of nine jurors each (36
		// juror records, four bonds released, the juror pool and pending draws rewritten) on top
		// of the measured fraud path.
		Weight::from_parts(420_000_000, 40000)
			.saturating_add(D::get().reads(56_u64))
			.saturating_add(D::get().writes(58_u64))
	}
	/// Storage: `Compute::Jobs` (r:1 w:1)
	/// Proof: `Compute::Jobs` (`max_values`: None, `max_size`: Some(275), added: 2750, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Rewards::Pools` (r:1 w:1)
	/// Proof: `Rewards::Pools` (`max_values`: None, `max_size`: Some(72), added: 2547, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Versions` (r:1 w:0)
	/// Proof: `Datanets::Versions` (`max_values`: None, `max_size`: Some(88), added: 2563, mode: `MaxEncodedLen`)
	/// Storage: `Rewards::Pending` (r:1 w:1)
	/// Proof: `Rewards::Pending` (`max_values`: None, `max_size`: Some(96), added: 2571, mode: `MaxEncodedLen`)
	/// Storage: `Models::Models` (r:1 w:1)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(516), added: 2991, mode: `MaxEncodedLen`)
	/// Storage: `Compute::Operators` (r:1 w:1)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(437), added: 2912, mode: `MaxEncodedLen`)
	fn settle() -> Weight {
		// Proof size: measured `2331`, estimated `6196` bytes.
		// Minimum execution time: 118_096_000 picoseconds.
		Weight::from_parts(127_000_000, 6196)
			.saturating_add(D::get().reads(9_u64))
			// Plus the job's expired claimers removed (estimated).
			.saturating_add(D::get().writes(10_u64))
	}
	/// Storage: `Compute::MaxRegressionPpm` (r:0 w:1)
	/// Proof: `Compute::MaxRegressionPpm` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	fn set_max_regression() -> Weight {
		// Proof size: measured `0`, estimated `0` bytes (estimated, not measured).
		Weight::from_parts(3_500_000, 0)
			.saturating_add(D::get().writes(1_u64))
	}
	/// Estimated: the challenge read and written, then at worst the fallback's fraud path
	/// (the vote that makes the majority finding fraud).
	fn vote() -> Weight {
		Weight::from_parts(440_000_000, 42000)
			.saturating_add(D::get().reads(57_u64))
			.saturating_add(D::get().writes(59_u64))
	}
	/// Estimated at the worst case: nine absent jurors, each slashed (its record, hold and
	/// account, the treasury's account) and taken out of the juror pool, the bond released.
	fn close_challenge() -> Weight {
		Weight::from_parts(520_000_000, 40000)
			.saturating_add(D::get().reads(44_u64))
			.saturating_add(D::get().writes(44_u64))
	}
	/// Estimated: per draw, the challenge, its job and the full juror pool read, nine draws over
	/// 256 candidates, nine juror records and the challenge written.
	fn draw_juries(d: u32, ) -> Weight {
		Weight::from_parts(4_000_000, 1500)
			.saturating_add(Weight::from_parts(180_000_000, 45000).saturating_mul(d.into()))
			.saturating_add(D::get().reads(1_u64))
			.saturating_add(D::get().writes(1_u64))
			.saturating_add(D::get().reads((12_u64).saturating_mul(d.into())))
			.saturating_add(D::get().writes((10_u64).saturating_mul(d.into())))
	}
	/// Estimated like `set_max_regression`, with two values written.
	fn set_challenge_periods() -> Weight {
		Weight::from_parts(4_000_000, 0)
			.saturating_add(D::get().writes(2_u64))
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
	fn settle() -> Weight {
		MeasuredWeight::<ParityDbWeight>::settle()
	}
	fn set_max_regression() -> Weight {
		MeasuredWeight::<ParityDbWeight>::set_max_regression()
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
}
