//! Weights for `pallet_attribution`, measured by its benchmarks with `scripts/weights`: do not edit.
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

/// Weight functions needed for `pallet_attribution`.
pub trait WeightInfo {
	fn deposit_credit() -> Weight;
	fn request_withdrawal() -> Weight;
	fn withdraw() -> Weight;
	fn submit_inference_batch(r: u32, ) -> Weight;
	fn pay_batch(a: u32, p: u32, ) -> Weight;
	fn set_fee_split() -> Weight;
	fn grant_allowance() -> Weight;
	fn request_allowance_reduction() -> Weight;
	fn reduce_allowance() -> Weight;
	fn challenge_attribution(p: u32, a: u32, ) -> Weight;
	fn vote_attribution() -> Weight;
	fn close_attribution_challenge(j: u32, ) -> Weight;
	fn draw_attribution_juries(n: u32, ) -> Weight;
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
		// Proof size: measured `410`, estimated `6196` bytes.
		// Minimum execution time: 39_569_000 picoseconds.
		Weight::from_parts(41_462_000, 6196)
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(3_u64))
	}
	/// The measured time, plus (ESTIMATED, not yet re-run with `scripts/weights`) the read of the
	/// delay, which became storage after the measurement.
	/// Storage: `Attribution::WithdrawalDelay` (r:1 w:0)
	/// Proof: `Attribution::WithdrawalDelay` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Credits` (r:1 w:1)
	/// Proof: `Attribution::Credits` (`max_values`: None, `max_size`: Some(85), added: 2560, mode: `MaxEncodedLen`)
	fn request_withdrawal() -> Weight {
		// Proof size: measured `96`, estimated `3550` bytes.
		// Minimum execution time: 7_902_000 picoseconds.
		Weight::from_parts(8_433_000, 3550)
			.saturating_add(D::get().reads(2_u64))
			.saturating_add(D::get().writes(1_u64))
	}
	/// Storage: `Attribution::Credits` (r:1 w:1)
	/// Proof: `Attribution::Credits` (`max_values`: None, `max_size`: Some(85), added: 2560, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	fn withdraw() -> Weight {
		// Proof size: measured `432`, estimated `6196` bytes.
		// Minimum execution time: 41_172_000 picoseconds.
		Weight::from_parts(43_064_000, 6196)
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(3_u64))
	}
	/// ESTIMATED from the measurement of 2026-11-24 (not yet re-run with `scripts/weights`): the
	/// measured times, with the storage of the worst case counted per record, since each record
	/// may name its own model, version and 16 contributions of 16 different contributors
	/// (security review M2), and its nonce window and allowance are keyed by (user, operator).
	/// Plus, per record, a second sr25519 verification (60 µs), since the worst user signature is
	/// a browser extension's, checked after the bare form fails. The payout of the worst case is
	/// `pay_batch(17 r + 1, r)`, which the call refunds down to the payees it credited.
	/// Storage: `Compute::Operators` (r:1 w:0)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(453), added: 2928, mode: `MaxEncodedLen`)
	/// Storage: `System::BlockHash` (r:1 w:0)
	/// Proof: `System::BlockHash` (`max_values`: None, `max_size`: Some(44), added: 2519, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::BatchNonces` (r:1 w:1)
	/// Proof: `Attribution::BatchNonces` (`max_values`: None, `max_size`: Some(56), added: 2531, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::NextBatchId` (r:1 w:1)
	/// Proof: `Attribution::NextBatchId` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::FeeSplitInForce` (r:1 w:0)
	/// Proof: `Attribution::FeeSplitInForce` (`max_values`: Some(1), `max_size`: Some(20), added: 515, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:3 w:3)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Batches` (r:0 w:2)
	/// Proof: `Attribution::Batches` (`max_values`: None, `max_size`: Some(132), added: 2607, mode: `MaxEncodedLen`)
	/// Per record:
	/// Storage: `Models::Models` (r:1 w:0)
	/// Proof: `Models::Models` (`max_values`: None, `max_size`: Some(516), added: 2991, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Contributions` (r:16 w:0)
	/// Proof: `Datanets::Contributions` (`max_values`: None, `max_size`: Some(445), added: 2920, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Nonces` (r:1 w:1)
	/// Proof: `Attribution::Nonces` (`max_values`: None, `max_size`: Some(120), added: 2595, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Allowances` (r:1 w:1)
	/// Proof: `Attribution::Allowances` (`max_values`: None, `max_size`: Some(133), added: 2608, mode: `MaxEncodedLen`)
	/// Storage: `Rewards::Pending` (r:18 w:18)
	/// Proof: `Rewards::Pending` (`max_values`: None, `max_size`: Some(96), added: 2571, mode: `MaxEncodedLen`)
	/// Storage: `Rewards::Pools` (r:1 w:1)
	/// Proof: `Rewards::Pools` (`max_values`: None, `max_size`: Some(72), added: 2547, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Versions` (r:1 w:0)
	/// Proof: `Datanets::Versions` (`max_values`: None, `max_size`: Some(100), added: 2575, mode: `MaxEncodedLen`)
	/// ESTIMATED on top: each settled record writes its `Attribution::Records` entry (max 1_101
	/// bytes) and bumps `NextRecordId`; each batch prunes at most 64 expired records
	/// (`Attribution::Records` r:64 w:64, `OldestRecordId` r:1 w:1).
	/// The range of component `r` is `[1, 64]`.
	fn submit_inference_batch(r: u32, ) -> Weight {
		Weight::from_parts(747_465_000, 22_019)
			.saturating_add(Weight::from_parts(706_098_230, 0).saturating_mul(r.into()))
			.saturating_add(D::get().reads(8_u64 + 2 + 64))
			.saturating_add(D::get().reads((39_u64).saturating_mul(r.into())))
			.saturating_add(D::get().writes(7_u64 + 2 + 64))
			.saturating_add(D::get().writes((22_u64).saturating_mul(r.into())))
			.saturating_add(Weight::from_parts(0, 106_314 + 3_600).saturating_mul(r.into()))
			.saturating_add(Weight::from_parts(0, 64 * 3_600))
	}
	/// ESTIMATED, not measured (scripts/weights not yet re-run): a batch's payout, each of `a`
	/// accounts and `p` pools credited once, and the treasury once. Per account, what
	/// `deposit_credit` measured for a transfer and a map write, less its reads of the payer and
	/// the rewards account (the same for every payee); per pool, the same and the version read
	/// that a pool credited for the first time needs.
	/// Storage: `System::Account` (r:3 w:3)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Rewards::Pending` (r:a w:a)
	/// Proof: `Rewards::Pending` (`max_values`: None, `max_size`: Some(96), added: 2571, mode: `MaxEncodedLen`)
	/// Storage: `Rewards::Pools` (r:p w:p)
	/// Proof: `Rewards::Pools` (`max_values`: None, `max_size`: Some(72), added: 2547, mode: `MaxEncodedLen`)
	/// Storage: `Datanets::Versions` (r:p w:0)
	/// Proof: `Datanets::Versions` (`max_values`: None, `max_size`: Some(100), added: 2575, mode: `MaxEncodedLen`)
	/// The range of component `a` is `[0, 1089]`; of `p`, `[0, 64]`.
	fn pay_batch(a: u32, p: u32, ) -> Weight {
		Weight::from_parts(45_000_000, 8_799)
			.saturating_add(Weight::from_parts(30_000_000, 2_571).saturating_mul(a.into()))
			.saturating_add(Weight::from_parts(35_000_000, 5_122).saturating_mul(p.into()))
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(3_u64))
			.saturating_add(D::get().reads((1_u64).saturating_mul(a.into())))
			.saturating_add(D::get().writes((1_u64).saturating_mul(a.into())))
			.saturating_add(D::get().reads((2_u64).saturating_mul(p.into())))
			.saturating_add(D::get().writes((1_u64).saturating_mul(p.into())))
	}
	/// Storage: `Attribution::FeeSplitInForce` (r:0 w:1)
	/// Proof: `Attribution::FeeSplitInForce` (`max_values`: Some(1), `max_size`: Some(20), added: 515, mode: `MaxEncodedLen`)
	fn set_fee_split() -> Weight {
		// Proof size: measured `0`, estimated `0` bytes.
		// Minimum execution time: 3_095_000 picoseconds.
		Weight::from_parts(3_455_000, 0)
			.saturating_add(D::get().writes(1_u64))
	}
	/// ESTIMATED, not measured (scripts/weights not yet re-run): `request_withdrawal`'s measured
	/// time for the credit plus one more map access, and the reads and writes listed.
	/// Storage: `Compute::Operators` (r:1 w:0)
	/// Proof: `Compute::Operators` (`max_values`: None, `max_size`: Some(453), added: 2928, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Credits` (r:1 w:1)
	/// Proof: `Attribution::Credits` (`max_values`: None, `max_size`: Some(85), added: 2560, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Allowances` (r:1 w:1)
	/// Proof: `Attribution::Allowances` (`max_values`: None, `max_size`: Some(133), added: 2608, mode: `MaxEncodedLen`)
	fn grant_allowance() -> Weight {
		Weight::from_parts(20_000_000, 3918)
			.saturating_add(D::get().reads(3_u64))
			.saturating_add(D::get().writes(2_u64))
	}
	/// ESTIMATED, not measured: as `request_withdrawal` on the allowance.
	/// Storage: `Attribution::Allowances` (r:1 w:1)
	/// Proof: `Attribution::Allowances` (`max_values`: None, `max_size`: Some(133), added: 2608, mode: `MaxEncodedLen`)
	fn request_allowance_reduction() -> Weight {
		Weight::from_parts(10_000_000, 3598)
			.saturating_add(D::get().reads(1_u64))
			.saturating_add(D::get().writes(1_u64))
	}
	/// ESTIMATED, not measured: two map reads and writes, no transfer.
	/// Storage: `Attribution::Allowances` (r:1 w:1)
	/// Proof: `Attribution::Allowances` (`max_values`: None, `max_size`: Some(133), added: 2608, mode: `MaxEncodedLen`)
	/// Storage: `Attribution::Credits` (r:1 w:1)
	/// Proof: `Attribution::Credits` (`max_values`: None, `max_size`: Some(85), added: 2560, mode: `MaxEncodedLen`)
	fn reduce_allowance() -> Weight {
		Weight::from_parts(15_000_000, 3598)
			.saturating_add(D::get().reads(2_u64))
			.saturating_add(D::get().writes(2_u64))
	}
	/// ESTIMATED, not measured: hashing the prompt and the answer (blake2-256, about 2 ns a byte
	/// here, counted at 4), a hold, and storing the challenge with both texts.
	/// Storage: `Attribution::Records` (r:1 w:1), `Attribution::NextAttributionChallengeId`
	/// (r:1 w:1), `Attribution::PendingJuryDraws` (r:1 w:1), `Balances::Holds` (r:1 w:1),
	/// `System::Account` (r:1 w:1), `Attribution::AttributionChallenges` (r:0 w:1, max 34_113 bytes).
	/// The range of component `p` is `[0, 16384]`; of `a`, `[0, 16384]`.
	fn challenge_attribution(p: u32, a: u32, ) -> Weight {
		Weight::from_parts(60_000_000, 40_000)
			.saturating_add(Weight::from_parts(4_000, 1).saturating_mul(p.into()))
			.saturating_add(Weight::from_parts(4_000, 1).saturating_mul(a.into()))
			.saturating_add(D::get().reads(5_u64))
			.saturating_add(D::get().writes(6_u64))
	}
	/// ESTIMATED, not measured: reading and writing the challenge (max 34_113 bytes), and at the
	/// deciding vote the worst case: slashing the operator three times, crediting the pool,
	/// releasing the bond and nine jurors' seats.
	/// Storage: `Attribution::AttributionChallenges` (r:1 w:1), `Compute::Operators` (r:4 w:3),
	/// `Balances::Holds` (r:4 w:4), `System::Account` (r:5 w:5), `Rewards::Pools` (r:1 w:1),
	/// `Compute::LentSeats` (r:9 w:9), `Compute::JurorPool` (r:3 w:3).
	fn vote_attribution() -> Weight {
		Weight::from_parts(150_000_000, 80_000)
			.saturating_add(D::get().reads(27_u64))
			.saturating_add(D::get().writes(26_u64))
	}
	/// ESTIMATED, not measured: the challenge, the bond's fee and release, and per absent juror
	/// the juror pool's absence slash (`Compute::Operators`, `Compute::JurorPool`,
	/// `Balances::Holds`, `System::Account`, each r:1 w:1) and its seat (`Compute::LentSeats`).
	/// The range of component `j` is `[0, 9]`.
	fn close_attribution_challenge(j: u32, ) -> Weight {
		Weight::from_parts(60_000_000, 40_000)
			.saturating_add(Weight::from_parts(40_000_000, 12_000).saturating_mul(j.into()))
			.saturating_add(D::get().reads(5_u64 + 9))
			.saturating_add(D::get().writes(5_u64 + 9))
			.saturating_add(D::get().reads((5_u64).saturating_mul(j.into())))
			.saturating_add(D::get().writes((4_u64).saturating_mul(j.into())))
	}
	/// ESTIMATED, not measured: per challenge, reading the juror pool (256 members) and the
	/// challenge, and seating nine jurors.
	/// Storage: `Attribution::PendingJuryDraws` (r:1 w:1); per challenge
	/// `Attribution::AttributionChallenges` (r:1 w:1), `Compute::JurorPool` (r:1),
	/// `Compute::LentSeats` (r:9 w:9).
	/// The range of component `n` is `[0, 8]`.
	fn draw_attribution_juries(n: u32, ) -> Weight {
		Weight::from_parts(2_000_000, 1_000)
			.saturating_add(Weight::from_parts(80_000_000, 60_000).saturating_mul(n.into()))
			.saturating_add(D::get().reads(1_u64))
			.saturating_add(D::get().writes(1_u64))
			.saturating_add(D::get().reads((11_u64).saturating_mul(n.into())))
			.saturating_add(D::get().writes((10_u64).saturating_mul(n.into())))
	}
	/// ESTIMATED, not measured (scripts/weights not yet re-run): `set_fee_split`'s measured time,
	/// one value written as it does.
	/// Storage: `Attribution::WithdrawalDelay` (r:0 w:1)
	/// Proof: `Attribution::WithdrawalDelay` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	fn set_withdrawal_delay() -> Weight {
		Weight::from_parts(3_455_000, 0)
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
	fn set_fee_split() -> Weight {
		MeasuredWeight::<ParityDbWeight>::set_fee_split()
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
	fn set_withdrawal_delay() -> Weight {
		MeasuredWeight::<ParityDbWeight>::set_withdrawal_delay()
	}
}
