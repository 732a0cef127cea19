//! Signing domains for off-chain proofs.
//!
//! A proof signature covers `domain tag || genesis hash || SCALE(payload)`. Each proof kind has its
//! own tag, so a signature made for one kind can never be replayed as another, nor as a
//! transaction. The genesis block hash (32 bytes, as `CheckGenesis` does for extrinsics) binds the
//! signature to one chain: a proof signed for a testnet cannot be replayed on another chain built
//! from the same runtime, with the same ids and keys.

use crate::Hash;
use alloc::vec::Vec;
use codec::Encode;

/// Tag of a worker's signed training proof.
pub const TRAINING_PROOF_DOMAIN: &[u8] = b"attribution-chain/training-proof/v1";
/// Tag of a user's authorization to spend on one inference request.
pub const INFERENCE_AUTHORIZATION_DOMAIN: &[u8] = b"attribution-chain/inference-authorization/v1";
/// Tag of a worker's signed batch of inference records.
pub const INFERENCE_BATCH_DOMAIN: &[u8] = b"attribution-chain/inference-batch/v1";
/// Tag of a contributor's authorization to store the bytes of their announced contribution.
pub const CONTRIBUTION_UPLOAD_DOMAIN: &[u8] = b"attribution-chain/contribution-upload/v1";

/// The exact bytes a signer signs for `payload` under `domain` on the chain whose genesis block
/// hash is `genesis`.
pub fn signing_message<T: Encode>(domain: &[u8], genesis: &Hash, payload: &T) -> Vec<u8> {
    let genesis = genesis.as_bytes();
    let mut message = Vec::with_capacity(domain.len() + genesis.len() + payload.size_hint());
    message.extend_from_slice(domain);
    message.extend_from_slice(genesis);
    payload.encode_to(&mut message);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_is_domain_then_genesis_then_scale_payload() {
        let payload = (7u32, [1u8; 4]);
        let genesis = Hash::repeat_byte(0x42);
        let message = signing_message(TRAINING_PROOF_DOMAIN, &genesis, &payload);
        let (domain, rest) = message.split_at(TRAINING_PROOF_DOMAIN.len());
        let (chain, encoded) = rest.split_at(32);
        assert_eq!(domain, TRAINING_PROOF_DOMAIN);
        assert_eq!(chain, genesis.as_bytes());
        assert_eq!(encoded, payload.encode().as_slice());
        assert_ne!(
            message,
            signing_message(TRAINING_PROOF_DOMAIN, &Hash::repeat_byte(0x43), &payload)
        );
    }

    #[test]
    fn domains_are_distinct_and_none_is_a_prefix_of_another() {
        let domains = [
            TRAINING_PROOF_DOMAIN,
            INFERENCE_AUTHORIZATION_DOMAIN,
            INFERENCE_BATCH_DOMAIN,
            CONTRIBUTION_UPLOAD_DOMAIN,
        ];
        for (i, a) in domains.iter().enumerate() {
            for (j, b) in domains.iter().enumerate() {
                if i != j {
                    assert!(!a.starts_with(b), "{i} starts with {j}");
                }
            }
        }
    }
}
