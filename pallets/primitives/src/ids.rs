//! Identifiers and the basic chain types every other crate builds on.

use sp_runtime::traits::{IdentifyAccount, Verify};

/// Signature of extrinsics and of off-chain proofs (sr25519, ed25519 or ecdsa).
pub type Signature = sp_runtime::MultiSignature;
/// An account: the public key of [`Signature`]'s signer.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// An amount of OPEN in its smallest unit (18 decimals).
pub type Balance = u128;
/// A block height.
pub type BlockNumber = u32;
/// Transaction counter of an account.
pub type Nonce = u32;
/// A blake2-256 digest: content hashes, Merkle roots, block hashes.
pub type Hash = sp_core::H256;

/// Index of a datanet, assigned in creation order.
pub type DatanetId = u32;
/// Version number of a datanet, starting at 1 for the first published version.
pub type VersionIndex = u32;
/// Global index of a contribution, assigned in announcement order across all datanets.
pub type ContributionId = u64;
/// Index of a model (base model or trained adapter) in the registry.
pub type ModelId = u32;
/// Index of a training job.
pub type JobId = u64;

/// Weights in attribution records are parts per million of the contributors' share.
pub const PARTS_PER_MILLION: u32 = 1_000_000;

/// One OPEN in its smallest unit.
pub const OPEN: Balance = 1_000_000_000_000_000_000;
/// The token symbol wallets show.
pub const TOKEN_SYMBOL: &str = "OPEN";
/// Decimals of the OPEN token.
pub const TOKEN_DECIMALS: u8 = 18;
