//! Blobs from peer to peer: the wire format and checks of the node's blob request-response
//! protocol, with no networking in it (the node registers the protocol with sc-network and moves
//! the bytes; this module decides what they mean).
//!
//! * A request is a content hash: exactly its 32 bytes, nothing else.
//! * A response is a SCALE [`BlobResponse`]: the blob, or why there is none.
//!
//! A node serves only blobs the chain announces now ([`Announced`]): a blob it happens to hold
//! (an adapter, a blob whose contribution was just rejected) is never handed out as a datanet
//! blob. The fetching node trusts nothing it receives: [`check_response`] refuses a blob larger
//! than the announcement allows (before hashing it) and one whose blake2-256 hash is not the one
//! asked for, so a peer that sends forged bytes only wastes its own bandwidth; the fetcher asks the
//! next peer. Bytes that do hash right are then held to what an upload is held to
//! ([`check_announced`]: size, measured weight, JSONL rows), against every announcement of the
//! hash, so a peer that stored bytes without checking them cannot spread them.

use crate::{content_hash, jsonl, rpc::ChainError, BlobStore};
use attribution_primitives::{
    datanets::{measure, Announcement, DataKind},
    AccountId, Hash,
};
use codec::{Decode, DecodeAll, Encode};

/// The protocol's name on the chain whose genesis block hash is `genesis` (so nodes of another
/// chain never talk to it), in sc-network's `/<genesis hex>/<name>/<version>` form.
pub fn protocol_name(genesis: &Hash) -> String {
    format!("/{}/attribution-blobs/1", hex::encode(genesis.as_bytes()))
}

/// The largest request a node accepts: one hash.
pub const MAX_REQUEST_BYTES: u64 = 32;

/// The largest response a blob of at most `max_blob` bytes makes: the blob, its SCALE length
/// prefix (at most 5 bytes below 2^30) and the variant byte.
pub fn max_response_bytes(max_blob: u64) -> u64 {
    max_blob.saturating_add(16)
}

/// A request: the content hash of the wanted blob.
pub fn encode_request(hash: &Hash) -> Vec<u8> {
    hash.as_bytes().to_vec()
}

/// A request that is not one hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a blob request is a 32-byte content hash, this one has {0} bytes")]
pub struct MalformedRequest(pub usize);

/// The content hash a request names.
pub fn decode_request(payload: &[u8]) -> Result<Hash, MalformedRequest> {
    <[u8; 32]>::try_from(payload)
        .map(Hash::from)
        .map_err(|_| MalformedRequest(payload.len()))
}

/// What a node answers.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum BlobResponse {
    /// The blob's bytes.
    Blob(Vec<u8>),
    /// The chain announces the hash but this node does not hold the bytes (yet).
    NotStored,
    /// No contribution announces the hash now: nothing is served for it.
    NotAnnounced,
}

/// What the serving side needs from the chain, at its finalized block.
pub trait Announced {
    /// Whether a pending, approved or published contribution announces this hash.
    fn is_announced(&self, hash: Hash) -> Result<bool, ChainError>;
}

/// Why a request got no answer at all (the peer is told the request failed).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Malformed(#[from] MalformedRequest),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("content store: {0}")]
    Storage(#[from] std::io::Error),
}

/// The answer to `payload`: the blob if the chain announces it and this node holds it. Reading
/// never changes the store.
pub fn answer(
    store: &BlobStore,
    chain: &impl Announced,
    payload: &[u8],
) -> Result<BlobResponse, ServeError> {
    let hash = decode_request(payload)?;
    if !chain.is_announced(hash)? {
        return Ok(BlobResponse::NotAnnounced);
    }
    Ok(match store.get(&hash)? {
        Some(bytes) => BlobResponse::Blob(bytes),
        None => BlobResponse::NotStored,
    })
}

/// Why a peer's response was not a usable blob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the response is not a SCALE BlobResponse")]
    Undecodable,
    #[error("the peer sent {size} bytes, more than the {max} announced")]
    Oversize { size: u64, max: u64 },
    #[error("the peer sent bytes hashing to {got:?}, not {wanted:?}")]
    Forged { wanted: Hash, got: Hash },
    #[error("the peer does not hold the blob")]
    NotStored,
    #[error("the peer says nothing announces the blob")]
    NotAnnounced,
    #[error("the bytes are not what datanet {datanet} announced: {why}")]
    NotAsAnnounced { datanet: u32, why: String },
}

/// The blob in a peer's `response` to a request for `hash`, if it is exactly those bytes and at
/// most `max_bytes` long. The length is checked from the SCALE prefix before the bytes are
/// decoded or hashed.
pub fn check_response(hash: Hash, max_bytes: u64, response: &[u8]) -> Result<Vec<u8>, FetchError> {
    if let Some((&0, mut rest)) = response.split_first() {
        let size = codec::Compact::<u64>::decode(&mut rest)
            .map_err(|_| FetchError::Undecodable)?
            .0;
        if size > max_bytes {
            return Err(FetchError::Oversize {
                size,
                max: max_bytes,
            });
        }
    }
    match BlobResponse::decode_all(&mut &response[..]).map_err(|_| FetchError::Undecodable)? {
        BlobResponse::Blob(bytes) => {
            let got = content_hash(&bytes);
            if got != hash {
                return Err(FetchError::Forged { wanted: hash, got });
            }
            Ok(bytes)
        }
        BlobResponse::NotStored => Err(FetchError::NotStored),
        BlobResponse::NotAnnounced => Err(FetchError::NotAnnounced),
    }
}

/// Whether fetched bytes pass, for every contribution announcing their hash, the checks an upload
/// to that datanet passes: the announced size, the datanet's limit, the declared
/// [`measure::weight`], and valid JSONL rows if any of those datanets holds text (the strictest
/// kind decides). No announcement at all is [`FetchError::NotAnnounced`].
pub fn check_announced(
    blob: &[u8],
    announcements: &[Announcement<AccountId>],
) -> Result<(), FetchError> {
    if announcements.is_empty() {
        return Err(FetchError::NotAnnounced);
    }
    let size = blob.len() as u64;
    let weight = measure::weight(blob);
    for announcement in announcements {
        let refuse = |why: String| FetchError::NotAsAnnounced {
            datanet: announcement.datanet,
            why,
        };
        if announcement.size != size {
            return Err(refuse(format!(
                "{size} bytes, {} announced",
                announcement.size
            )));
        }
        if size > announcement.max_contribution_bytes {
            return Err(refuse(format!(
                "{size} bytes, over the limit of {}",
                announcement.max_contribution_bytes
            )));
        }
        if announcement.weight != weight {
            return Err(refuse(format!(
                "weight {weight} measured, {} declared",
                announcement.weight
            )));
        }
        if announcement.kind == DataKind::Text {
            jsonl::validate(blob).map_err(|e| refuse(format!("malformed JSONL: {e}")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    struct Chain(BTreeSet<Hash>);

    impl Announced for Chain {
        fn is_announced(&self, hash: Hash) -> Result<bool, ChainError> {
            Ok(self.0.contains(&hash))
        }
    }

    struct Down;

    impl Announced for Down {
        fn is_announced(&self, _: Hash) -> Result<bool, ChainError> {
            Err(ChainError("state pruned".into()))
        }
    }

    fn store_with(blobs: &[&[u8]]) -> (tempfile::TempDir, BlobStore, Vec<Hash>) {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let hashes = blobs.iter().map(|blob| store.put(blob).unwrap()).collect();
        (dir, store, hashes)
    }

    fn stored(dir: &tempfile::TempDir) -> usize {
        std::fs::read_dir(dir.path()).unwrap().count()
    }

    #[test]
    fn a_request_is_exactly_one_hash() {
        let hash = content_hash(b"row");
        assert_eq!(encode_request(&hash).len() as u64, MAX_REQUEST_BYTES);
        assert_eq!(decode_request(&encode_request(&hash)), Ok(hash));
        assert_eq!(decode_request(&[]), Err(MalformedRequest(0)));
        assert_eq!(decode_request(&[7; 31]), Err(MalformedRequest(31)));
        assert_eq!(decode_request(&[7; 33]), Err(MalformedRequest(33)));
        assert_eq!(
            decode_request(&[0; 5 * 1024 * 1024]),
            Err(MalformedRequest(5 * 1024 * 1024))
        );
    }

    #[test]
    fn serves_announced_blobs_it_holds() {
        let (dir, store, hashes) = store_with(&[b"{\"text\":\"one\"}\n"]);
        let chain = Chain([hashes[0]].into());
        let response = answer(&store, &chain, &encode_request(&hashes[0])).unwrap();
        assert_eq!(
            response,
            BlobResponse::Blob(b"{\"text\":\"one\"}\n".to_vec())
        );
        let encoded = response.encode();
        assert!(encoded.len() as u64 <= max_response_bytes(16));
        assert_eq!(
            check_response(hashes[0], 16, &encoded).unwrap(),
            b"{\"text\":\"one\"}\n".to_vec()
        );
        assert_eq!(stored(&dir), 1);
    }

    #[test]
    fn never_serves_what_the_chain_does_not_announce() {
        let (dir, store, hashes) = store_with(&[b"an adapter, say", b"announced"]);
        let chain = Chain([hashes[1]].into());
        assert_eq!(
            answer(&store, &chain, &encode_request(&hashes[0])).unwrap(),
            BlobResponse::NotAnnounced
        );
        let unknown = content_hash(b"never seen");
        assert_eq!(
            answer(&store, &chain, &encode_request(&unknown)).unwrap(),
            BlobResponse::NotAnnounced
        );
        assert_eq!(stored(&dir), 2, "nothing lost");
    }

    #[test]
    fn says_when_it_lacks_an_announced_blob() {
        let (_dir, store, _) = store_with(&[]);
        let wanted = content_hash(b"uploaded elsewhere");
        let chain = Chain([wanted].into());
        let response = answer(&store, &chain, &encode_request(&wanted)).unwrap();
        assert_eq!(response, BlobResponse::NotStored);
        assert_eq!(
            check_response(wanted, 100, &response.encode()),
            Err(FetchError::NotStored)
        );
    }

    #[test]
    fn malformed_requests_and_a_silent_chain_are_errors_and_lose_nothing() {
        let (dir, store, hashes) = store_with(&[b"kept"]);
        let chain = Chain([hashes[0]].into());
        for payload in [&[][..], &[1; 31][..], &[1; 64][..]] {
            assert!(matches!(
                answer(&store, &chain, payload),
                Err(ServeError::Malformed(MalformedRequest(n))) if n == payload.len()
            ));
        }
        assert!(matches!(
            answer(&store, &Down, &encode_request(&hashes[0])),
            Err(ServeError::Chain(_))
        ));
        assert_eq!(store.get(&hashes[0]).unwrap(), Some(b"kept".to_vec()));
        assert_eq!(stored(&dir), 1);
    }

    #[test]
    fn a_forged_response_is_rejected() {
        let wanted = content_hash(b"the real rows");
        let forged = BlobResponse::Blob(b"other rows!!!".to_vec()).encode();
        assert_eq!(
            check_response(wanted, 100, &forged),
            Err(FetchError::Forged {
                wanted,
                got: content_hash(b"other rows!!!")
            })
        );
    }

    #[test]
    fn an_oversize_response_is_rejected_by_its_prefix() {
        let bytes = vec![9u8; 101];
        let wanted = content_hash(&bytes);
        let response = BlobResponse::Blob(bytes).encode();
        assert_eq!(
            check_response(wanted, 100, &response),
            Err(FetchError::Oversize {
                size: 101,
                max: 100
            })
        );
        // A prefix claiming 4 GiB with 3 bytes behind it is refused before anything is read.
        let mut lying = vec![0u8];
        codec::Compact(4u64 << 30).encode_to(&mut lying);
        lying.extend([1, 2, 3]);
        assert_eq!(
            check_response(wanted, 100, &lying),
            Err(FetchError::Oversize {
                size: 4 << 30,
                max: 100
            })
        );
    }

    #[test]
    fn undecodable_responses_are_rejected() {
        let wanted = content_hash(b"rows");
        for response in [&[][..], &[7][..], &[0, 8, 1][..], &[1, 0][..]] {
            assert_eq!(
                check_response(wanted, 100, response),
                Err(FetchError::Undecodable),
                "{response:?}"
            );
        }
        assert_eq!(
            check_response(wanted, 100, &BlobResponse::NotAnnounced.encode()),
            Err(FetchError::NotAnnounced)
        );
    }

    fn announcement(datanet: u32, kind: DataKind, bytes: &[u8]) -> Announcement<AccountId> {
        Announcement {
            contribution: 0,
            datanet,
            contributor: AccountId::new([1; 32]),
            kind,
            max_contribution_bytes: 1024,
            size: bytes.len() as u64,
            weight: measure::weight(bytes),
            status: attribution_primitives::datanets::ContributionStatus::Pending,
        }
    }

    #[test]
    fn fetched_bytes_are_held_to_what_an_upload_is() {
        const ROWS: &[u8] = b"{\"text\":\"hello there\"}\n";
        let text = announcement(0, DataKind::Text, ROWS);
        assert_eq!(check_announced(ROWS, std::slice::from_ref(&text)), Ok(()));
        assert_eq!(check_announced(ROWS, &[]), Err(FetchError::NotAnnounced));

        let wrong_size = Announcement {
            size: 3,
            ..text.clone()
        };
        assert!(matches!(
            check_announced(ROWS, &[wrong_size]),
            Err(FetchError::NotAsAnnounced { datanet: 0, .. })
        ));
        let inflated = Announcement {
            weight: text.weight + 1,
            ..text.clone()
        };
        assert!(matches!(
            check_announced(ROWS, &[inflated]),
            Err(FetchError::NotAsAnnounced { datanet: 0, .. })
        ));
        let over_limit = Announcement {
            max_contribution_bytes: 4,
            ..text
        };
        assert!(matches!(
            check_announced(ROWS, &[over_limit]),
            Err(FetchError::NotAsAnnounced { datanet: 0, .. })
        ));
    }

    #[test]
    fn the_strictest_announcing_datanet_decides() {
        // Not JSONL: fine for an image datanet, refused once a text datanet announces it too.
        let bytes = b"\x89PNG not rows";
        let image = announcement(1, DataKind::Image, bytes);
        assert_eq!(check_announced(bytes, std::slice::from_ref(&image)), Ok(()));
        let text = announcement(2, DataKind::Text, bytes);
        assert!(matches!(
            check_announced(bytes, &[image, text]),
            Err(FetchError::NotAsAnnounced { datanet: 2, .. })
        ));
    }

    #[test]
    fn the_protocol_is_named_by_the_chain() {
        let name = protocol_name(&Hash::repeat_byte(0xab));
        assert_eq!(name, format!("/{}/attribution-blobs/1", "ab".repeat(32)));
    }
}
