//! # Content store
//!
//! Where a node keeps the bytes of datanet contributions and of training jobs (hyper-parameters
//! files, adapter weights). The chain holds only a contribution's
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
//!   of the named datanet announces (same hash, size and measured weight), signed for by the
//!   account that announced them, are stored: storage is paid for by the contributor's storage
//!   deposit, never free, and cannot be claimed by someone who announced another's hash.
//! * [`gc`]: deletes the blobs of rejected, withdrawn and expired contributions once nothing on
//!   chain references their hash, as the node follows finalized blocks.
//! * [`exchange`]: the node-to-node blob protocol's wire format and checks: a node that lacks an
//!   announced blob asks its peers for it by hash and keeps only bytes that hash to it; a node
//!   serves only blobs the chain announces. [`wanted`] schedules those fetches (bounded
//!   concurrency, retries with backoff), and `datanets_get` fetches on demand ([`rpc::Remote`]).
//! * [`uploads`]: the node's cap on uploads handled at once, shared by both upload methods.
//! * [`artifacts`]: the `artifacts_*` RPC methods for the files of training jobs, answering from
//!   an [`artifacts::ArtifactsView`] the node implements with the `ComputeApi` and `ModelsApi`
//!   runtime APIs: a live job's hyper-parameters file, a proven adapter's weights file (same hash,
//!   same size). Both are paid for by the job's budget.

pub mod artifacts;
mod blob_store;
pub mod exchange;
pub mod gc;
pub mod jsonl;
pub mod rpc;
pub mod uploads;
pub mod wanted;

pub use blob_store::{cid, content_hash, BlobStore};
