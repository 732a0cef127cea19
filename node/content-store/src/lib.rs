//! # Content store
//!
//! Where a node keeps the bytes of datanet contributions. The chain holds only a contribution's
//! blake2-256 hash, size and bond; the bytes are uploaded to a node over RPC and kept here, named by
//! their hash, so a worker can fetch a whole datanet version and check it against the version's
//! Merkle root.
//!
//! * [`BlobStore`]: content-addressed files under a directory; atomic writes, verified reads.
//! * [`cid`](fn@cid): the CIDv1 (raw codec, blake2b-256 multihash) of a blob, so the same bytes can be
//!   pinned to IPFS.
//! * [`jsonl`]: the row check of text datanets.
//! * [`rpc`]: the `datanets_*` RPC methods, answering from a [`rpc::ChainView`] the node implements
//!   with the `DatanetsApi` runtime API. Only bytes a pending, approved or published contribution
//!   announces (same hash, same size) are stored: storage is paid for by a bond, never free.

mod blob_store;
pub mod jsonl;
pub mod rpc;

pub use blob_store::{cid, content_hash, BlobStore};
