//! Deleting the blobs nothing pays for any more.
//!
//! A datanet blob is kept while a contribution announces it, and its contributor's storage
//! deposit is held for exactly that long. When a contribution is rejected, withdrawn or expires
//! (pallet-datanets' `Rejected`, `Withdrawn` and `Expired` events, which name the content hash),
//! the deposit is returned and every node deletes the blob, unless something else still
//! references the same bytes: another datanet's contribution, a live job's hyper-parameters file
//! or a proven adapter (one store holds them all). The node calls [`collect`] with the hashes of
//! each finalized block's events and answers [`References`] at that finalized block, so a
//! deletion never depends on a block that may be reverted.

use crate::{rpc::ChainError, BlobStore};
use attribution_primitives::Hash;

/// What [`collect`] needs from the chain, at one finalized block.
pub trait References {
    /// Whether anything on chain still pays for keeping the blob with this hash.
    fn referenced(&self, hash: Hash) -> Result<bool, ChainError>;
}

/// Why a collection stopped.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("content store: {0}")]
    Storage(#[from] std::io::Error),
}

/// Deletes each released blob that is stored here and no longer referenced; returns the hashes
/// deleted, in the order given.
pub fn collect(
    store: &BlobStore,
    references: &impl References,
    released: impl IntoIterator<Item = Hash>,
) -> Result<Vec<Hash>, CollectError> {
    let mut deleted = Vec::new();
    for hash in released {
        if !store.contains(&hash) || references.referenced(hash)? {
            continue;
        }
        if store.remove(&hash)? {
            deleted.push(hash);
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The hashes the chain still references.
    struct Referenced(BTreeSet<Hash>);

    impl References for Referenced {
        fn referenced(&self, hash: Hash) -> Result<bool, ChainError> {
            Ok(self.0.contains(&hash))
        }
    }

    struct Down;

    impl References for Down {
        fn referenced(&self, _: Hash) -> Result<bool, ChainError> {
            Err(ChainError("state pruned".into()))
        }
    }

    #[test]
    fn deletes_released_blobs_nothing_references_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let rejected = store.put(b"{\"text\":\"rejected\"}").unwrap();
        let withdrawn = store.put(b"{\"text\":\"withdrawn\"}").unwrap();
        let shared = store
            .put(b"{\"text\":\"also announced elsewhere\"}")
            .unwrap();
        let untouched = store.put(b"{\"text\":\"published\"}").unwrap();
        let never_stored = crate::content_hash(b"never uploaded here");
        let chain = Referenced([shared, untouched].into());

        let deleted = collect(
            &store,
            &chain,
            [rejected, shared, never_stored, withdrawn, rejected],
        )
        .unwrap();

        assert_eq!(deleted, vec![rejected, withdrawn]);
        assert!(!store.contains(&rejected) && !store.contains(&withdrawn));
        assert!(
            store.contains(&shared),
            "another contribution still pays for it"
        );
        assert!(store.contains(&untouched), "not released");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn keeps_everything_when_the_chain_cannot_say() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let hash = store.put(b"bytes").unwrap();
        assert!(matches!(
            collect(&store, &Down, [hash]),
            Err(CollectError::Chain(_))
        ));
        assert!(store.contains(&hash));
    }
}
