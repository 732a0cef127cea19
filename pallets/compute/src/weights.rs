//! Weights for `pallet_compute`.
//!
//! NOT YET GENERATED: benchmarks cannot run against the node this session. These values are
//! derived by hand from the benchmarks' storage reads and writes with a conservative `ref_time`
//! (`submit_training_proof` adds one version-membership read and ~0.1 ms per listed contribution
//! on top of an sr25519 verification). Regenerate with:
//!
//! frame-omni-bencher v1 benchmark pallet --runtime <attribution_runtime.compact.compressed.wasm> \
//!   --pallet pallet_compute --extrinsic "*" --steps 50 --repeat 20 \
//!   --template <frame-weight-template.hbs> --output pallets/compute/src/weights.rs

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

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
}

/// Weights for `pallet_compute` using the Substrate node and recommended hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: Compute::Operators (r:1 w:1)
	/// Storage: Compute::WorkerKeys (r:1 w:1)
	/// Storage: Balances::Holds (r:1 w:1)
	/// Storage: System::Account (r:1 w:1)
	fn register_operator() -> Weight {
		Weight::from_parts(70_000_000, 8000)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
	/// Storage: Compute::Operators (r:1 w:1)
	/// Storage: Compute::WorkerKeys (r:1 w:2)
	fn rotate_worker_key() -> Weight {
		Weight::from_parts(35_000_000, 8000)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	/// Storage: Compute::Operators (r:1 w:1)
	fn update_operator() -> Weight {
		Weight::from_parts(30_000_000, 8000)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	/// Storage: Compute::Operators (r:1 w:1)
	/// Storage: Compute::WorkerKeys (r:0 w:1)
	/// Storage: Balances::Holds (r:1 w:1)
	/// Storage: System::Account (r:1 w:1)
	fn deregister_operator() -> Weight {
		Weight::from_parts(60_000_000, 8000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
	/// Storage: Datanets version (r:1)
	/// Storage: Compute::NextJobId (r:1 w:1)
	/// Storage: Models::Models (r:1 w:1)
	/// Storage: Models::NextModelId (r:1 w:1)
	/// Storage: Balances::Holds (r:1 w:1)
	/// Storage: System::Account (r:1 w:1)
	/// Storage: Compute::Jobs (r:0 w:1)
	fn request_training() -> Weight {
		Weight::from_parts(110_000_000, 8000)
			.saturating_add(T::DbWeight::get().reads(7_u64))
			.saturating_add(T::DbWeight::get().writes(7_u64))
	}
	/// Storage: Compute::Jobs (r:1 w:1)
	/// Storage: Balances::Holds (r:1 w:1)
	/// Storage: System::Account (r:1 w:1)
	/// Storage: Models::Models (r:1 w:1)
	fn cancel_job() -> Weight {
		Weight::from_parts(80_000_000, 8000)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
	/// Storage: Compute::Operators (r:1 w:1)
	/// Storage: Compute::Jobs (r:1 w:1)
	fn claim_job() -> Weight {
		Weight::from_parts(45_000_000, 8000)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	/// Storage: Compute::Jobs (r:1 w:1)
	/// Storage: Compute::Operators (r:1 w:1)
	/// Storage: Balances::Holds (r:1 w:1)
	/// Storage: System::Account (r:2 w:2)
	fn release_expired_claim() -> Weight {
		Weight::from_parts(90_000_000, 8000)
			.saturating_add(T::DbWeight::get().reads(5_u64))
			.saturating_add(T::DbWeight::get().writes(5_u64))
	}
	/// Storage: Compute::Operators (r:1)
	/// Storage: Compute::Jobs (r:1 w:1)
	/// Storage: Models::Models (r:2 w:1)
	/// Storage: Models::ModelByArtifact (r:1 w:1)
	/// Storage: Datanets version (r:1)
	/// Storage: Datanets membership (r:c)
	/// The range of component `c` is `[1, 1024]`.
	fn submit_training_proof(c: u32, ) -> Weight {
		Weight::from_parts(160_000_000, 8000)
			// Standard Error: 1_000
			.saturating_add(Weight::from_parts(100_000, 0).saturating_mul(c.into()))
			.saturating_add(T::DbWeight::get().reads(6_u64))
			.saturating_add(T::DbWeight::get().reads((1_u64).saturating_mul(c.into())))
			.saturating_add(T::DbWeight::get().writes(3_u64))
			.saturating_add(Weight::from_parts(0, 2600).saturating_mul(c.into()))
	}
	/// Storage: Compute::Operators (r:1)
	/// Storage: Compute::Jobs (r:1 w:1)
	/// Storage: Balances::Holds (r:1 w:1)
	/// Storage: System::Account (r:1 w:1)
	fn challenge() -> Weight {
		Weight::from_parts(60_000_000, 8000)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	/// Storage: Compute::Jobs (r:1 w:1)
	/// Storage: Compute::Operators (r:1 w:1)
	/// Storage: Compute::WorkerKeys (r:0 w:1)
	/// Storage: Balances::Holds (r:3 w:3)
	/// Storage: System::Account (r:4 w:4)
	/// Storage: Models::Models (r:1 w:1)
	fn resolve_challenge() -> Weight {
		Weight::from_parts(220_000_000, 8000)
			.saturating_add(T::DbWeight::get().reads(10_u64))
			.saturating_add(T::DbWeight::get().writes(10_u64))
	}
	/// Storage: Compute::Jobs (r:1 w:1)
	/// Storage: Compute::Operators (r:1 w:1)
	/// Storage: Balances::Holds (r:1 w:1)
	/// Storage: System::Account (r:2 w:2)
	/// Storage: Rewards::Pools (r:1 w:1)
	/// Storage: Rewards::Pending (r:1 w:1)
	/// Storage: Datanets version (r:1)
	/// Storage: Models::Models (r:1 w:1)
	fn settle() -> Weight {
		Weight::from_parts(200_000_000, 8000)
			.saturating_add(T::DbWeight::get().reads(9_u64))
			.saturating_add(T::DbWeight::get().writes(8_u64))
	}
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn register_operator() -> Weight {
		Weight::from_parts(70_000_000, 8000)
			.saturating_add(RocksDbWeight::get().reads(4_u64))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
	}
	fn rotate_worker_key() -> Weight {
		Weight::from_parts(35_000_000, 8000)
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
	}
	fn update_operator() -> Weight {
		Weight::from_parts(30_000_000, 8000)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn deregister_operator() -> Weight {
		Weight::from_parts(60_000_000, 8000)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
	}
	fn request_training() -> Weight {
		Weight::from_parts(110_000_000, 8000)
			.saturating_add(RocksDbWeight::get().reads(7_u64))
			.saturating_add(RocksDbWeight::get().writes(7_u64))
	}
	fn cancel_job() -> Weight {
		Weight::from_parts(80_000_000, 8000)
			.saturating_add(RocksDbWeight::get().reads(4_u64))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
	}
	fn claim_job() -> Weight {
		Weight::from_parts(45_000_000, 8000)
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn release_expired_claim() -> Weight {
		Weight::from_parts(90_000_000, 8000)
			.saturating_add(RocksDbWeight::get().reads(5_u64))
			.saturating_add(RocksDbWeight::get().writes(5_u64))
	}
	fn submit_training_proof(c: u32, ) -> Weight {
		Weight::from_parts(160_000_000, 8000)
			// Standard Error: 1_000
			.saturating_add(Weight::from_parts(100_000, 0).saturating_mul(c.into()))
			.saturating_add(RocksDbWeight::get().reads(6_u64))
			.saturating_add(RocksDbWeight::get().reads((1_u64).saturating_mul(c.into())))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
			.saturating_add(Weight::from_parts(0, 2600).saturating_mul(c.into()))
	}
	fn challenge() -> Weight {
		Weight::from_parts(60_000_000, 8000)
			.saturating_add(RocksDbWeight::get().reads(4_u64))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
	}
	fn resolve_challenge() -> Weight {
		Weight::from_parts(220_000_000, 8000)
			.saturating_add(RocksDbWeight::get().reads(10_u64))
			.saturating_add(RocksDbWeight::get().writes(10_u64))
	}
	fn settle() -> Weight {
		Weight::from_parts(200_000_000, 8000)
			.saturating_add(RocksDbWeight::get().reads(9_u64))
			.saturating_add(RocksDbWeight::get().writes(8_u64))
	}
}
