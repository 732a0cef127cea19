//! Signing domains for off-chain proofs.
//!
//! A proof signature covers `domain tag || genesis hash || SCALE(payload)`. Each proof kind has its
//! own tag, so a signature made for one kind can never be replayed as another, nor as a
//! transaction. The genesis block hash (32 bytes, as `CheckGenesis` does for extrinsics) binds the
//! signature to one chain: a proof signed for a testnet cannot be replayed on another chain built
//! from the same runtime, with the same ids and keys.
//!
//! A user who signs in a browser signs through a polkadot.js extension, whose `signRaw` never
//! signs bare bytes: it signs `<Bytes>` ‖ bytes ‖ `</Bytes>` (`u8aWrapBytes`), so that a dApp
//! cannot pass a transaction off as "raw bytes". A user's signature is therefore checked with
//! [`verify_bare_or_wrapped`], which accepts either form of the same message.

use crate::Hash;
use alloc::vec::Vec;
use codec::Encode;
use sp_runtime::traits::{IdentifyAccount, Verify};

/// Tag of a worker's signed training proof.
pub const TRAINING_PROOF_DOMAIN: &[u8] = b"attribution-chain/training-proof/v1";
/// Tag of a user's authorization to spend on one inference request.
pub const INFERENCE_AUTHORIZATION_DOMAIN: &[u8] = b"attribution-chain/inference-authorization/v1";
/// Tag of a worker's signed batch of inference records.
pub const INFERENCE_BATCH_DOMAIN: &[u8] = b"attribution-chain/inference-batch/v1";
/// Tag of a contributor's authorization to store the bytes of their announced contribution.
pub const CONTRIBUTION_UPLOAD_DOMAIN: &[u8] = b"attribution-chain/contribution-upload/v1";
/// Tag of a worker key's proof that the operator registering it (or rotating to it) holds it.
pub const WORKER_KEY_POSSESSION_DOMAIN: &[u8] = b"attribution-chain/worker-key-possession/v1";

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

/// What a polkadot.js extension puts before the bytes it is asked to sign.
pub const EXTENSION_WRAP_PREFIX: &[u8] = b"<Bytes>";
/// What a polkadot.js extension puts after the bytes it is asked to sign.
pub const EXTENSION_WRAP_SUFFIX: &[u8] = b"</Bytes>";

/// `message` as a polkadot.js extension signs it: `<Bytes>` ‖ `message` ‖ `</Bytes>`.
pub fn extension_wrapped(message: &[u8]) -> Vec<u8> {
    let mut wrapped = Vec::with_capacity(
        EXTENSION_WRAP_PREFIX.len() + message.len() + EXTENSION_WRAP_SUFFIX.len(),
    );
    wrapped.extend_from_slice(EXTENSION_WRAP_PREFIX);
    wrapped.extend_from_slice(message);
    wrapped.extend_from_slice(EXTENSION_WRAP_SUFFIX);
    wrapped
}

/// Whether `signature` is `signer`'s over `message`, signed either bare (a key held by a program)
/// or wrapped as a browser extension signs it ([`extension_wrapped`]). Both forms commit to the
/// same `message` and only to it: a signature over a wrapped different message, or over a wrapper
/// missing a byte, verifies as neither. Every message given here starts with a domain tag, never
/// with `<Bytes>`, so the two forms cannot be confused with each other. A bad signature costs two
/// verifications.
pub fn verify_bare_or_wrapped<S: Verify>(
    signature: &S,
    message: &[u8],
    signer: &<S::Signer as IdentifyAccount>::AccountId,
) -> bool {
    signature.verify(message, signer)
        || signature.verify(extension_wrapped(message).as_slice(), signer)
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
            WORKER_KEY_POSSESSION_DOMAIN,
        ];
        for (i, a) in domains.iter().enumerate() {
            for (j, b) in domains.iter().enumerate() {
                if i != j {
                    assert!(!a.starts_with(b), "{i} starts with {j}");
                }
            }
        }
    }

    mod extension_signatures {
        use super::*;
        use crate::{AccountId, Signature};
        use sp_core::{sr25519, Pair};

        fn user() -> (sr25519::Pair, AccountId) {
            let pair = sr25519::Pair::from_seed(&[7; 32]);
            let account = pair.public().into();
            (pair, account)
        }

        fn message() -> Vec<u8> {
            signing_message(
                INFERENCE_AUTHORIZATION_DOMAIN,
                &Hash::repeat_byte(0x42),
                &(1u64, 2u32),
            )
        }

        fn signed(pair: &sr25519::Pair, bytes: &[u8]) -> Signature {
            pair.sign(bytes).into()
        }

        #[test]
        fn the_wrapper_is_the_polkadot_js_one() {
            assert_eq!(extension_wrapped(b"abc"), b"<Bytes>abc</Bytes>".to_vec());
        }

        #[test]
        fn bare_and_wrapped_signatures_of_the_message_are_both_accepted() {
            let (pair, account) = user();
            let message = message();
            let bare = signed(&pair, &message);
            let wrapped = signed(&pair, &extension_wrapped(&message));
            assert!(verify_bare_or_wrapped(&bare, &message, &account));
            assert!(verify_bare_or_wrapped(&wrapped, &message, &account));
        }

        #[test]
        fn a_wrapped_signature_over_another_payload_is_refused() {
            let (pair, account) = user();
            let message = message();
            let mut other = message.clone();
            *other.last_mut().expect("the message is not empty") ^= 1;
            let wrapped_other = signed(&pair, &extension_wrapped(&other));
            assert!(!verify_bare_or_wrapped(&wrapped_other, &message, &account));
            assert!(verify_bare_or_wrapped(&wrapped_other, &other, &account));
        }

        #[test]
        fn truncated_or_doubled_wrappers_are_refused() {
            let (pair, account) = user();
            let message = message();
            let full = extension_wrapped(&message);
            let forms: [Vec<u8>; 5] = [
                // The closing tag missing, or one byte short.
                [EXTENSION_WRAP_PREFIX, &message].concat(),
                full[..full.len() - 1].to_vec(),
                // The opening tag missing, or one byte short.
                [&message[..], EXTENSION_WRAP_SUFFIX].concat(),
                full[1..].to_vec(),
                // Wrapped twice.
                extension_wrapped(&full),
            ];
            for (i, form) in forms.iter().enumerate() {
                assert!(
                    !verify_bare_or_wrapped(&signed(&pair, form), &message, &account),
                    "form {i} was accepted"
                );
            }
        }

        #[test]
        fn a_signature_by_another_key_is_refused_in_both_forms() {
            let (_, account) = user();
            let eve = sr25519::Pair::from_seed(&[8; 32]);
            let message = message();
            assert!(!verify_bare_or_wrapped(
                &signed(&eve, &message),
                &message,
                &account
            ));
            assert!(!verify_bare_or_wrapped(
                &signed(&eve, &extension_wrapped(&message)),
                &message,
                &account
            ));
        }
    }
}
