//! The `datanets_*` RPC methods.
//!
//! | method | params | result |
//! |---|---|---|
//! | `datanets_upload` | `datanet`; `bytes`: the blob as `0x`-prefixed hex; `signature`: the contributor's SCALE `MultiSignature` over [`UploadAuthorization`], `0x`-prefixed hex | [`UploadReceipt`] |
//! | `datanets_get` | `hash`: `0x`-prefixed hex blake2-256 | the blob as `0x`-prefixed hex (fetched from the node's peers first if it lacks it, see [`Remote`]) |
//! | `datanets_version` | `datanet`, `version` | [`VersionManifest`] |
//!
//! Blobs travel as `0x`-prefixed hex, like every byte string in Substrate's RPC (polkadot.js
//! `u8aToHex`, subxt's `Bytes`). Hex doubles the size, so the node's RPC request cap
//! (`--rpc-max-request-size`) must be at least [`max_request_bytes`] of the chain's largest
//! contribution; the server refuses larger requests before reading them whole.
//!
//! The methods read and write files (an upload is flushed to disk before it is acknowledged), so
//! they run on tokio's blocking pool, not on the RPC server's tasks.
//!
//! An upload is checked in this order, each failure with its own [error code](codes):
//! the hex length against [`ChainView::max_upload_bytes`] (before decoding), the hex itself, the
//! announcement of the decoded bytes' hash in the named datanet, the signature of the account that
//! announced them (bare, or wrapped in `<Bytes>`…`</Bytes>` as a polkadot.js extension's `signRaw`
//! signs, so browser accounts upload too), their size against the announcement and its datanet's limit, for text
//! datanets every JSONL row, and their [`measure::weight`] against the declared weight.
//!
//! The signature is what makes front-running pointless: whoever announces a hash first is the
//! contributor of record, and only their signature lets the bytes in for that announcement. A
//! front-runner who copied the hash from the transaction pool does not hold the bytes, and the
//! victim's signature does not count for the front-runner's contribution, so it never gets a
//! blob and a curator has nothing to approve (see `pallets/datanets`: rejected as spam, its bond
//! slashed, or expired). The upload names its datanet, so the row check of a text datanet cannot
//! be skipped by announcing the same hash in an image datanet.

use crate::{cid, jsonl, uploads::UploadSlots, BlobStore};
use attribution_primitives::{
    datanets::{measure, Announcement, DataKind, ManifestEntry, UploadAuthorization},
    AccountId, ContributionId, DatanetId, Hash, Signature, VersionIndex,
};
use codec::DecodeAll;
use jsonrpsee::{
    core::RpcResult,
    proc_macros::rpc,
    types::{ErrorObject, ErrorObjectOwned},
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// JSON-RPC error codes of the `datanets_*` and `artifacts_*` methods (defined in the primitives,
/// which the worker matches on too).
pub use attribution_primitives::content_store::codes;

/// The smallest RPC request cap, in bytes, that lets a blob of `max_blob` bytes through as hex
/// (its hex digits, `0x`, and room for the JSON-RPC envelope).
pub fn max_request_bytes(max_blob: u64) -> u64 {
    max_blob.saturating_mul(2).saturating_add(2 + 1024)
}

/// A chain query failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chain query failed: {0}")]
pub struct ChainError(pub String);

/// A published version's manifest: its Merkle root and its entries in leaf order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub merkle_root: Hash,
    pub entries: Vec<ManifestEntry>,
}

/// What the RPC needs from the chain at the best block. The node implements it with the
/// `DatanetsApi` runtime API.
pub trait ChainView: Send + Sync + 'static {
    /// The chain's genesis block hash: upload signatures are made for it.
    fn genesis_hash(&self) -> Hash;
    /// The largest contribution any datanet may accept (the pallet's `MaxContributionBytes`):
    /// uploads declaring more are refused before they are decoded.
    fn max_upload_bytes(&self) -> Result<u64, ChainError>;
    /// `DatanetsApi::announced`: the contribution of `datanet` announcing this hash.
    fn announced(
        &self,
        content_hash: Hash,
        datanet: DatanetId,
    ) -> Result<Option<Announcement<AccountId>>, ChainError>;
    /// The whole manifest of a published version (all pages of `DatanetsApi::version_manifest`),
    /// `None` if it is not published.
    fn manifest(
        &self,
        datanet: DatanetId,
        version: VersionIndex,
    ) -> Result<Option<Manifest>, ChainError>;
}

/// What an accepted upload returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadReceipt {
    /// blake2-256 of the bytes.
    pub hash: Hash,
    /// Their CIDv1 (raw, blake2b-256), to pin the same bytes to IPFS.
    pub cid: String,
    /// Their length.
    pub size: u64,
    /// The contribution that announces them.
    pub contribution: ContributionId,
    /// Its datanet.
    pub datanet: DatanetId,
}

/// One blob of a version, as `datanets_version` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestBlob {
    pub contribution: ContributionId,
    pub hash: Hash,
    pub size: u64,
    pub cid: String,
    /// Whether this node stores the blob.
    pub stored: bool,
}

/// A version's manifest: fetch every blob, check each hash, recompute the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionManifest {
    pub datanet: DatanetId,
    pub version: VersionIndex,
    /// `attribution_primitives::merkle::root` over the blobs' hashes in this order.
    pub merkle_root: Hash,
    pub blobs: Vec<ManifestBlob>,
}

#[rpc(server)]
pub trait DatanetsRpc {
    /// Stores a blob announced to `datanet`; `bytes` is `0x`-prefixed hex, `signature` the
    /// announcing contributor's SCALE `MultiSignature` over [`UploadAuthorization`] in
    /// `0x`-prefixed hex.
    #[method(name = "datanets_upload", blocking)]
    fn upload(
        &self,
        datanet: DatanetId,
        bytes: String,
        signature: String,
    ) -> RpcResult<UploadReceipt>;

    /// A stored blob as `0x`-prefixed hex.
    #[method(name = "datanets_get", blocking)]
    fn get(&self, hash: Hash) -> RpcResult<String>;

    /// The manifest of a published datanet version.
    #[method(name = "datanets_version", blocking)]
    fn version(&self, datanet: DatanetId, version: VersionIndex) -> RpcResult<VersionManifest>;
}

/// Where `datanets_get` looks for an announced blob this node lacks: the node's peers.
pub trait Remote: Send + Sync + 'static {
    /// Fetches the blob with this hash from peers, checks it against the hash and stores it;
    /// returns whether it is now stored. Blocks for at most the implementation's timeout.
    fn fetch(&self, hash: Hash) -> bool;
}

/// The `datanets_*` methods over a store and a view of the chain.
pub struct Datanets<C> {
    store: Arc<BlobStore>,
    chain: C,
    remote: Option<Box<dyn Remote>>,
    uploads: UploadSlots,
}

impl<C: ChainView> Datanets<C> {
    pub fn new(store: Arc<BlobStore>, chain: C) -> Self {
        Self {
            store,
            chain,
            remote: None,
            uploads: UploadSlots::default(),
        }
    }

    /// Shares `uploads` (the node's cap on uploads at once) with the other upload methods.
    pub fn with_upload_slots(mut self, uploads: UploadSlots) -> Self {
        self.uploads = uploads;
        self
    }

    /// Lets `datanets_get` fetch a blob this node lacks from `remote` before answering.
    pub fn with_remote(mut self, remote: impl Remote) -> Self {
        self.remote = Some(Box::new(remote));
        self
    }
}

pub(crate) fn error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(code, message.into(), None::<()>)
}

pub(crate) fn chain_error(error: ChainError) -> ErrorObjectOwned {
    self::error(codes::CHAIN, error.to_string())
}

pub(crate) fn storage_error(error: std::io::Error) -> ErrorObjectOwned {
    self::error(codes::STORAGE, format!("content store: {error}"))
}

/// A SCALE `MultiSignature` in `0x`-prefixed hex.
fn decode_signature(hex_signature: &str) -> RpcResult<Signature> {
    let invalid = |why: String| error(codes::INVALID_SIGNATURE, why);
    let digits = hex_signature
        .strip_prefix("0x")
        .ok_or_else(|| invalid("signature must be 0x-prefixed hex".into()))?;
    let bytes = hex::decode(digits).map_err(|e| invalid(format!("signature is not hex: {e}")))?;
    Signature::decode_all(&mut bytes.as_slice())
        .map_err(|_| invalid("signature is not a SCALE MultiSignature".into()))
}

/// A stored blob as `0x`-prefixed hex (`datanets_get`, `artifacts_get`).
pub(crate) fn get_hex(store: &BlobStore, hash: Hash) -> RpcResult<String> {
    let blob = store.get(&hash).map_err(storage_error)?.ok_or_else(|| {
        error(
            codes::NOT_FOUND,
            format!("{hash:?} is not stored on this node"),
        )
    })?;
    Ok(format!("0x{}", hex::encode(blob)))
}

impl<C: ChainView> DatanetsRpcServer for Datanets<C> {
    fn upload(
        &self,
        datanet: DatanetId,
        bytes: String,
        signature: String,
    ) -> RpcResult<UploadReceipt> {
        let _slot = self.uploads.take()?;
        let max = self.chain.max_upload_bytes().map_err(chain_error)?;
        let digits = bytes
            .strip_prefix("0x")
            .ok_or_else(|| error(codes::INVALID_ENCODING, "bytes must be 0x-prefixed hex"))?;
        // Refused on its length alone, before anything is decoded.
        let declared = (digits.len() / 2) as u64;
        if declared > max {
            return Err(error(
                codes::OVERSIZE,
                format!("{declared} bytes exceed the largest contribution, {max} bytes"),
            ));
        }
        let blob = hex::decode(digits)
            .map_err(|e| error(codes::INVALID_ENCODING, format!("bytes are not hex: {e}")))?;
        let size = blob.len() as u64;
        let hash = crate::content_hash(&blob);
        let announcement = self
            .chain
            .announced(hash, datanet)
            .map_err(chain_error)?
            .ok_or_else(|| {
                error(
                    codes::UNANNOUNCED,
                    format!(
                        "no contribution of datanet {datanet} announces {hash:?}; announce it on \
                         chain first"
                    ),
                )
            })?;
        let signature = decode_signature(&signature)?;
        let authorization = UploadAuthorization {
            datanet,
            content_hash: hash,
        };
        if !authorization.verify(
            &self.chain.genesis_hash(),
            &signature,
            &announcement.contributor,
        ) {
            return Err(error(
                codes::NOT_ANNOUNCER,
                format!(
                    "{hash:?} is announced to datanet {datanet} by {}: only their signature \
                     uploads it (over the upload authorization of this datanet and hash, bare or \
                     wrapped in <Bytes>…</Bytes> as a browser extension signs)",
                    announcement.contributor
                ),
            ));
        }
        if announcement.size != size {
            return Err(error(
                codes::WRONG_SIZE,
                format!(
                    "{hash:?} is announced with {} bytes, the upload has {size}",
                    announcement.size
                ),
            ));
        }
        if size > announcement.max_contribution_bytes {
            return Err(error(
                codes::OVERSIZE,
                format!(
                    "{size} bytes exceed datanet {}'s limit of {}",
                    announcement.datanet, announcement.max_contribution_bytes
                ),
            ));
        }
        if announcement.kind == DataKind::Text {
            jsonl::validate(&blob).map_err(|e| {
                ErrorObject::owned(
                    codes::MALFORMED_JSONL,
                    format!("malformed JSONL: {e}"),
                    e.line().map(|line| serde_json::json!({ "line": line })),
                )
            })?;
        }
        let weight = measure::weight(&blob);
        if weight != announcement.weight {
            return Err(error(
                codes::WRONG_WEIGHT,
                format!(
                    "{hash:?} declares weight {}, its rows measure {weight}",
                    announcement.weight
                ),
            ));
        }
        self.store.put(&blob).map_err(storage_error)?;
        Ok(UploadReceipt {
            hash,
            cid: cid(&hash),
            size,
            contribution: announcement.contribution,
            datanet: announcement.datanet,
        })
    }

    fn get(&self, hash: Hash) -> RpcResult<String> {
        if !self.store.contains(&hash) {
            if let Some(remote) = &self.remote {
                remote.fetch(hash);
            }
        }
        get_hex(&self.store, hash)
    }

    fn version(&self, datanet: DatanetId, version: VersionIndex) -> RpcResult<VersionManifest> {
        let manifest = self
            .chain
            .manifest(datanet, version)
            .map_err(chain_error)?
            .ok_or_else(|| {
                error(
                    codes::UNKNOWN_VERSION,
                    format!("datanet {datanet} has no published version {version}"),
                )
            })?;
        let blobs = manifest
            .entries
            .into_iter()
            .map(|entry| ManifestBlob {
                contribution: entry.contribution,
                hash: entry.content_hash,
                size: entry.size,
                cid: cid(&entry.content_hash),
                stored: self.store.contains(&entry.content_hash),
            })
            .collect();
        Ok(VersionManifest {
            datanet,
            version,
            merkle_root: manifest.merkle_root,
            blobs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use attribution_primitives::{datanets::ContributionStatus, merkle};

    /// Runs a call on a tokio runtime: the methods are `blocking`, so they need its blocking pool.
    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap()
            .block_on(future)
    }
    use codec::Encode;
    use jsonrpsee::{core::server::MethodsError, RpcModule};
    use sp_core::{sr25519, Pair};
    use std::{collections::BTreeMap, sync::Mutex};

    const MAX: u64 = 256;
    const TEXT: DatanetId = 0;
    const IMAGES: DatanetId = 1;
    const ROWS: &[u8] = b"{\"prompt\":\"2+2?\",\"completion\":\"4\"}\n{\"text\":\"hello\"}\n";

    fn alice() -> sr25519::Pair {
        sr25519::Pair::from_string("//Alice", None).expect("dev key")
    }

    fn eve() -> sr25519::Pair {
        sr25519::Pair::from_string("//Eve", None).expect("dev key")
    }

    fn genesis() -> Hash {
        Hash::repeat_byte(0x42)
    }

    /// One announcement of the fake chain.
    #[derive(Clone)]
    struct Announced {
        contribution: ContributionId,
        kind: DataKind,
        size: u64,
        contributor: AccountId,
        weight: u64,
    }

    /// A chain whose announcements and manifests the tests set.
    #[derive(Default)]
    struct FakeChain {
        announced: Mutex<BTreeMap<(Hash, DatanetId), Announced>>,
        manifests: BTreeMap<(DatanetId, VersionIndex), Manifest>,
        down: bool,
    }

    impl FakeChain {
        /// Alice announces `bytes` with `size` and their true weight.
        fn announce(
            &self,
            contribution: ContributionId,
            datanet: DatanetId,
            kind: DataKind,
            bytes: &[u8],
            size: u64,
        ) {
            let weight = measure::weight(bytes);
            self.announce_as(&alice(), contribution, datanet, kind, bytes, size, weight);
        }

        #[allow(clippy::too_many_arguments)]
        fn announce_as(
            &self,
            contributor: &sr25519::Pair,
            contribution: ContributionId,
            datanet: DatanetId,
            kind: DataKind,
            bytes: &[u8],
            size: u64,
            weight: u64,
        ) {
            let hash = crate::content_hash(bytes);
            self.announced.lock().unwrap().insert(
                (hash, datanet),
                Announced {
                    contribution,
                    kind,
                    size,
                    contributor: contributor.public().into(),
                    weight,
                },
            );
        }
    }

    impl ChainView for Arc<FakeChain> {
        fn genesis_hash(&self) -> Hash {
            genesis()
        }
        fn max_upload_bytes(&self) -> Result<u64, ChainError> {
            if self.down {
                return Err(ChainError("node is syncing".into()));
            }
            Ok(MAX)
        }
        fn announced(
            &self,
            content_hash: Hash,
            datanet: DatanetId,
        ) -> Result<Option<Announcement<AccountId>>, ChainError> {
            Ok(self
                .announced
                .lock()
                .unwrap()
                .get(&(content_hash, datanet))
                .cloned()
                .map(|a| Announcement {
                    contribution: a.contribution,
                    datanet,
                    contributor: a.contributor,
                    kind: a.kind,
                    // The text datanet allows less than the chain-wide cap.
                    max_contribution_bytes: if datanet == TEXT { MAX / 2 } else { MAX },
                    size: a.size,
                    weight: a.weight,
                    status: ContributionStatus::Pending,
                }))
        }
        fn manifest(
            &self,
            datanet: DatanetId,
            version: VersionIndex,
        ) -> Result<Option<Manifest>, ChainError> {
            if self.down {
                return Err(ChainError("node is syncing".into()));
            }
            Ok(self.manifests.get(&(datanet, version)).cloned())
        }
    }

    struct Setup {
        module: RpcModule<Datanets<Arc<FakeChain>>>,
        chain: Arc<FakeChain>,
        dir: tempfile::TempDir,
    }

    fn setup_with(chain: FakeChain) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(BlobStore::open(dir.path()).unwrap());
        let chain = Arc::new(chain);
        Setup {
            module: Datanets::new(store, chain.clone()).into_rpc(),
            chain,
            dir,
        }
    }

    fn setup() -> Setup {
        setup_with(FakeChain::default())
    }

    fn hex_of(bytes: &[u8]) -> String {
        format!("0x{}", hex::encode(bytes))
    }

    /// `signer`'s upload signature for `bytes` in `datanet`, as `0x`-prefixed SCALE hex.
    fn signature(signer: &sr25519::Pair, datanet: DatanetId, bytes: &[u8]) -> String {
        let authorization = UploadAuthorization {
            datanet,
            content_hash: crate::content_hash(bytes),
        };
        hex_of(&authorization.sign(&genesis(), signer).encode())
    }

    /// `datanets_upload` of `bytes` to `datanet`, signed by `signer`.
    fn upload_as(
        setup: &Setup,
        signer: &sr25519::Pair,
        datanet: DatanetId,
        bytes: &[u8],
    ) -> Result<UploadReceipt, MethodsError> {
        let signed = signature(signer, datanet, bytes);
        block_on(
            setup
                .module
                .call("datanets_upload", (datanet, hex_of(bytes), signed)),
        )
    }

    /// `datanets_upload` of `param` (hex, maybe malformed) signed by Alice, to the datanet that
    /// announces the decoded bytes (the text datanet if none does).
    fn upload(setup: &Setup, param: String) -> Result<UploadReceipt, MethodsError> {
        let bytes = param
            .strip_prefix("0x")
            .and_then(|digits| hex::decode(digits).ok())
            .unwrap_or_default();
        let hash = crate::content_hash(&bytes);
        let datanet = setup
            .chain
            .announced
            .lock()
            .unwrap()
            .keys()
            .find(|(announced, _)| *announced == hash)
            .map_or(TEXT, |(_, datanet)| *datanet);
        let signed = signature(&alice(), datanet, &bytes);
        block_on(
            setup
                .module
                .call("datanets_upload", (datanet, param, signed)),
        )
    }

    /// The JSON-RPC error of a failed call.
    fn rpc_error<T: std::fmt::Debug>(result: Result<T, MethodsError>) -> ErrorObjectOwned {
        match result {
            Err(MethodsError::JsonRpc(error)) => error,
            other => panic!("expected a JSON-RPC error, got {other:?}"),
        }
    }

    #[test]
    fn uploads_announced_rows_and_serves_them_back() {
        let setup = setup();
        setup
            .chain
            .announce(7, TEXT, DataKind::Text, ROWS, ROWS.len() as u64);

        let receipt = upload(&setup, hex_of(ROWS)).unwrap();

        let hash = crate::content_hash(ROWS);
        assert_eq!(
            receipt,
            UploadReceipt {
                hash,
                cid: cid(&hash),
                size: ROWS.len() as u64,
                contribution: 7,
                datanet: TEXT
            }
        );
        assert!(receipt.cid.starts_with("bafk2bzace"));
        let fetched: String = block_on(setup.module.call("datanets_get", (hash,))).unwrap();
        assert_eq!(fetched, hex_of(ROWS));
        // Uploading the same bytes again is harmless.
        assert_eq!(upload(&setup, hex_of(ROWS)).unwrap(), receipt);
    }

    #[test]
    fn binary_datanets_skip_the_row_check() {
        let setup = setup();
        let image = [0xffu8, 0xd8, 0xff, 0xe0, 0, 1];
        setup
            .chain
            .announce(1, IMAGES, DataKind::Image, &image, image.len() as u64);
        assert_eq!(upload(&setup, hex_of(&image)).unwrap().datanet, IMAGES);
    }

    #[test]
    fn refuses_unannounced_bytes() {
        let setup = setup();
        let error = rpc_error(upload(&setup, hex_of(ROWS)));
        assert_eq!(error.code(), codes::UNANNOUNCED);
        assert!(error.message().contains("announce it on chain first"));
        // Nothing was stored.
        let get: Result<String, _> = block_on(
            setup
                .module
                .call("datanets_get", (crate::content_hash(ROWS),)),
        );
        assert_eq!(rpc_error(get).code(), codes::NOT_FOUND);
    }

    #[test]
    fn refuses_bytes_of_another_size_than_announced() {
        let setup = setup();
        setup
            .chain
            .announce(7, TEXT, DataKind::Text, ROWS, ROWS.len() as u64 + 1);
        let error = rpc_error(upload(&setup, hex_of(ROWS)));
        assert_eq!(error.code(), codes::WRONG_SIZE);
    }

    #[test]
    fn refuses_oversize_uploads_by_their_length_before_decoding() {
        let setup = setup();
        // Not even hex: refused on length alone, so it was never decoded.
        let huge = format!("0x{}", "zz".repeat(MAX as usize + 1));
        let error = rpc_error(upload(&setup, huge));
        assert_eq!(error.code(), codes::OVERSIZE);
        assert!(error.message().contains(&format!("{}", MAX + 1)));
    }

    #[test]
    fn refuses_bytes_beyond_their_datanets_limit() {
        let setup = setup();
        let rows = format!("{{\"text\":\"{}\"}}", "a".repeat(MAX as usize / 2));
        setup
            .chain
            .announce(3, TEXT, DataKind::Text, rows.as_bytes(), rows.len() as u64);
        assert!(rows.len() as u64 > MAX / 2 && rows.len() as u64 <= MAX);
        assert_eq!(
            rpc_error(upload(&setup, hex_of(rows.as_bytes()))).code(),
            codes::OVERSIZE
        );
    }

    #[test]
    fn refuses_malformed_encodings() {
        let setup = setup();
        for bad in [
            "7b7d".to_string(),
            "0x7b7".to_string(),
            "0xnothex!".to_string(),
        ] {
            let error = rpc_error(upload(&setup, bad.clone()));
            assert_eq!(error.code(), codes::INVALID_ENCODING, "{bad}");
        }
        // Not a string at all: the params do not parse.
        let result: Result<UploadReceipt, _> =
            block_on(setup.module.call("datanets_upload", (TEXT, 42, "0x")));
        assert_eq!(
            rpc_error(result).code(),
            jsonrpsee::types::error::INVALID_PARAMS_CODE
        );
    }

    #[test]
    fn refuses_malformed_jsonl_with_its_line() {
        let setup = setup();
        let rows = b"{\"text\":\"ok\"}\n{\"prompt\":\"no completion\"}\n";
        setup
            .chain
            .announce(9, TEXT, DataKind::Text, rows, rows.len() as u64);
        let error = rpc_error(upload(&setup, hex_of(rows)));
        assert_eq!(error.code(), codes::MALFORMED_JSONL);
        assert!(error.message().contains("line 2"), "{}", error.message());
        assert_eq!(error.data().map(|d| d.get()), Some("{\"line\":2}"));

        let not_utf8 = b"{\"text\":\"\xff\"}";
        setup
            .chain
            .announce(10, TEXT, DataKind::Text, not_utf8, not_utf8.len() as u64);
        let error = rpc_error(upload(&setup, hex_of(not_utf8)));
        assert_eq!(error.code(), codes::MALFORMED_JSONL);
        assert!(error.message().contains("not UTF-8"));
    }

    #[test]
    fn reports_a_chain_it_cannot_query() {
        let setup = setup_with(FakeChain {
            down: true,
            ..Default::default()
        });
        assert_eq!(rpc_error(upload(&setup, hex_of(ROWS))).code(), codes::CHAIN);
        let result: Result<VersionManifest, _> =
            block_on(setup.module.call("datanets_version", (0, 1)));
        assert_eq!(rpc_error(result).code(), codes::CHAIN);
    }

    #[test]
    fn get_refuses_unknown_and_malformed_hashes() {
        let setup = setup();
        let result: Result<String, _> =
            block_on(setup.module.call("datanets_get", (Hash::repeat_byte(1),)));
        assert_eq!(rpc_error(result).code(), codes::NOT_FOUND);
        let result: Result<String, _> = block_on(setup.module.call("datanets_get", ("0x1234",)));
        assert_eq!(
            rpc_error(result).code(),
            jsonrpsee::types::error::INVALID_PARAMS_CODE
        );
    }

    #[test]
    fn refuses_uploads_beyond_the_nodes_cap_until_one_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(BlobStore::open(dir.path()).unwrap());
        let chain = Arc::new(FakeChain::default());
        chain.announce(7, TEXT, DataKind::Text, ROWS, ROWS.len() as u64);
        let slots = UploadSlots::new(1);
        let module = Datanets::new(store.clone(), chain)
            .with_upload_slots(slots.clone())
            .into_rpc();
        let call = || -> Result<UploadReceipt, MethodsError> {
            block_on(module.call(
                "datanets_upload",
                (TEXT, hex_of(ROWS), signature(&alice(), TEXT, ROWS)),
            ))
        };
        // Another upload (an artifact, say) holds the only slot.
        let busy = slots.take().unwrap();
        assert_eq!(rpc_error(call()).code(), codes::BUSY);
        assert!(
            !store.contains(&crate::content_hash(ROWS)),
            "nothing stored"
        );
        drop(busy);
        assert_eq!(call().unwrap().hash, crate::content_hash(ROWS));
    }

    /// Peers holding some blobs: a fetch stores them here, as the node's fetcher does once the
    /// bytes check out.
    struct FakePeers {
        store: Arc<BlobStore>,
        held: Vec<Vec<u8>>,
        asked: Arc<Mutex<Vec<Hash>>>,
    }

    impl Remote for FakePeers {
        fn fetch(&self, hash: Hash) -> bool {
            self.asked.lock().unwrap().push(hash);
            match self
                .held
                .iter()
                .find(|bytes| crate::content_hash(bytes) == hash)
            {
                Some(bytes) => self.store.put(bytes).is_ok(),
                None => false,
            }
        }
    }

    #[test]
    fn get_fetches_a_blob_it_lacks_from_peers_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(BlobStore::open(dir.path()).unwrap());
        let asked = Arc::new(Mutex::new(Vec::new()));
        let peers = FakePeers {
            store: store.clone(),
            held: vec![ROWS.to_vec()],
            asked: asked.clone(),
        };
        let module = Datanets::new(store.clone(), Arc::new(FakeChain::default()))
            .with_remote(peers)
            .into_rpc();
        let hash = crate::content_hash(ROWS);
        for _ in 0..2 {
            let got: String = block_on(module.call("datanets_get", (hash,))).unwrap();
            assert_eq!(got, hex_of(ROWS));
        }
        assert!(store.contains(&hash));
        let missing = Hash::repeat_byte(9);
        let result: Result<String, _> = block_on(module.call("datanets_get", (missing,)));
        assert_eq!(rpc_error(result).code(), codes::NOT_FOUND);
        assert_eq!(
            *asked.lock().unwrap(),
            vec![hash, missing],
            "a stored blob is served without asking the peers"
        );
    }

    #[test]
    fn get_reports_a_blob_damaged_on_disk() {
        let setup = setup();
        setup
            .chain
            .announce(7, TEXT, DataKind::Text, ROWS, ROWS.len() as u64);
        let hash = upload(&setup, hex_of(ROWS)).unwrap().hash;
        std::fs::write(
            setup.dir.path().join(hex::encode(hash.as_bytes())),
            b"tampered",
        )
        .unwrap();
        let result: Result<String, _> = block_on(setup.module.call("datanets_get", (hash,)));
        assert_eq!(rpc_error(result).code(), codes::STORAGE);
    }

    #[test]
    fn serves_a_version_manifest_that_verifies() {
        let blobs: [&[u8]; 3] = [
            b"{\"text\":\"a\"}",
            b"{\"text\":\"b\"}",
            b"{\"text\":\"c\"}",
        ];
        let hashes: Vec<Hash> = blobs.iter().map(|b| crate::content_hash(b)).collect();
        let entries = hashes
            .iter()
            .zip(&blobs)
            .enumerate()
            .map(|(i, (hash, blob))| ManifestEntry {
                contribution: i as u64,
                content_hash: *hash,
                size: blob.len() as u64,
            })
            .collect();
        let mut chain = FakeChain::default();
        chain.manifests.insert(
            (TEXT, 1),
            Manifest {
                merkle_root: merkle::root(&hashes),
                entries,
            },
        );
        let setup = setup_with(chain);
        setup
            .chain
            .announce(0, TEXT, DataKind::Text, blobs[0], blobs[0].len() as u64);
        upload(&setup, hex_of(blobs[0])).unwrap();

        let manifest: VersionManifest =
            block_on(setup.module.call("datanets_version", (TEXT, 1))).unwrap();

        assert_eq!((manifest.datanet, manifest.version), (TEXT, 1));
        assert_eq!(
            manifest.blobs.iter().map(|b| b.stored).collect::<Vec<_>>(),
            vec![true, false, false]
        );
        assert_eq!(manifest.blobs[1].cid, cid(&hashes[1]));
        let listed: Vec<Hash> = manifest.blobs.iter().map(|b| b.hash).collect();
        assert_eq!(merkle::root(&listed), manifest.merkle_root);

        let result: Result<VersionManifest, _> =
            block_on(setup.module.call("datanets_version", (TEXT, 2)));
        assert_eq!(rpc_error(result).code(), codes::UNKNOWN_VERSION);
    }

    /// Eve announced Alice's hash first (copied from the transaction pool). Alice's signed
    /// upload does not count for Eve's announcement, and without Alice's bytes Eve cannot upload
    /// anything: nothing is stored for the squatted contribution.
    #[test]
    fn a_front_runner_cannot_get_the_victims_bytes_stored() {
        let setup = setup();
        let weight = measure::weight(ROWS);
        setup.chain.announce_as(
            &eve(),
            7,
            TEXT,
            DataKind::Text,
            ROWS,
            ROWS.len() as u64,
            weight,
        );

        let error = rpc_error(upload_as(&setup, &alice(), TEXT, ROWS));
        assert_eq!(error.code(), codes::NOT_ANNOUNCER);
        assert!(
            error.message().contains("only their signature"),
            "{}",
            error.message()
        );
        assert!(!setup
            .dir
            .path()
            .join(hex::encode(crate::content_hash(ROWS)))
            .exists());
        // Had Eve the bytes, her own signature would do: she can only upload what she holds.
        assert_eq!(
            upload_as(&setup, &eve(), TEXT, ROWS).unwrap().contribution,
            7
        );
    }

    /// A polkadot.js extension signs `<Bytes>` ‖ message ‖ `</Bytes>`: that upload is stored.
    /// The wrapper over another authorization, wrapped twice, cut short at either end, or made
    /// by another key is refused with `NOT_ANNOUNCER`, and nothing is stored.
    #[test]
    fn an_extension_wrapped_signature_uploads_and_bent_wrappers_do_not() {
        use attribution_primitives::signing::{
            extension_wrapped, EXTENSION_WRAP_PREFIX, EXTENSION_WRAP_SUFFIX,
        };
        let setup = setup();
        setup
            .chain
            .announce(7, TEXT, DataKind::Text, ROWS, ROWS.len() as u64);
        let message = UploadAuthorization {
            datanet: TEXT,
            content_hash: crate::content_hash(ROWS),
        }
        .message(&genesis());
        let other_payload = UploadAuthorization {
            datanet: IMAGES,
            content_hash: crate::content_hash(ROWS),
        }
        .message(&genesis());
        let wrapped = extension_wrapped(&message);
        let signed_by = |pair: &sr25519::Pair, bytes: &[u8]| -> String {
            hex_of(&Signature::from(pair.sign(bytes)).encode())
        };
        let call = |signature: String| -> Result<UploadReceipt, _> {
            block_on(
                setup
                    .module
                    .call("datanets_upload", (TEXT, hex_of(ROWS), signature)),
            )
        };
        let stored = || {
            setup
                .dir
                .path()
                .join(hex::encode(crate::content_hash(ROWS)))
                .exists()
        };
        let refused = [
            (
                "wrapped over another payload",
                signed_by(&alice(), &extension_wrapped(&other_payload)),
            ),
            (
                "wrapped twice",
                signed_by(&alice(), &extension_wrapped(&wrapped)),
            ),
            (
                "closing tag cut",
                signed_by(&alice(), &[EXTENSION_WRAP_PREFIX, &message].concat()),
            ),
            (
                "one byte short",
                signed_by(&alice(), &wrapped[..wrapped.len() - 1]),
            ),
            (
                "opening tag cut",
                signed_by(&alice(), &[&message[..], EXTENSION_WRAP_SUFFIX].concat()),
            ),
            ("another key, wrapped", signed_by(&eve(), &wrapped)),
        ];
        for (form, signature) in refused {
            let error = rpc_error(call(signature));
            assert_eq!(error.code(), codes::NOT_ANNOUNCER, "{form}");
            assert!(
                error.message().contains("wrapped in <Bytes>"),
                "{form}: {}",
                error.message()
            );
            assert!(!stored(), "{form} stored the blob");
        }
        let receipt = call(signed_by(&alice(), &wrapped)).expect("a wrapped signature uploads");
        assert_eq!(receipt.contribution, 7);
        assert!(stored());
    }

    #[test]
    fn refuses_signatures_for_another_datanet_and_malformed_ones() {
        let setup = setup();
        setup
            .chain
            .announce(7, TEXT, DataKind::Text, ROWS, ROWS.len() as u64);
        let for_images = signature(&alice(), IMAGES, ROWS);
        let call = |signature: String| -> Result<UploadReceipt, _> {
            block_on(
                setup
                    .module
                    .call("datanets_upload", (TEXT, hex_of(ROWS), signature)),
            )
        };
        assert_eq!(rpc_error(call(for_images)).code(), codes::NOT_ANNOUNCER);
        for bad in ["", "0x", "0xzz", "0x01", "abcd"] {
            assert_eq!(
                rpc_error(call(bad.to_string())).code(),
                codes::INVALID_SIGNATURE,
                "{bad:?}"
            );
        }
        // A valid signature with trailing bytes is not a MultiSignature either.
        let trailing = format!("{}00", signature(&alice(), TEXT, ROWS));
        assert_eq!(rpc_error(call(trailing)).code(), codes::INVALID_SIGNATURE);
    }

    /// The same bytes announced to an image datanet do not let them skip the text datanet's row
    /// check: the upload names its datanet.
    #[test]
    fn the_named_datanet_decides_the_checks() {
        let setup = setup();
        let not_rows = b"not json at all".to_vec();
        setup
            .chain
            .announce(1, IMAGES, DataKind::Image, &not_rows, not_rows.len() as u64);
        setup
            .chain
            .announce(2, TEXT, DataKind::Text, &not_rows, not_rows.len() as u64);
        let error = rpc_error(upload_as(&setup, &alice(), TEXT, &not_rows));
        assert_eq!(error.code(), codes::MALFORMED_JSONL);
        assert_eq!(
            upload_as(&setup, &alice(), IMAGES, &not_rows)
                .unwrap()
                .contribution,
            1
        );
    }

    /// A contribution declaring more weight than its rows measure (here: padded rows declared
    /// at their byte length) is refused, so it has no blob and cannot be approved.
    #[test]
    fn refuses_a_declared_weight_the_rows_do_not_measure() {
        let setup = setup();
        let padded = format!("{{\"text\":\"hello{}\"}}\n", " ".repeat(100));
        let measured = measure::weight(padded.as_bytes());
        assert!(measured < 20, "{measured}");
        let size = padded.len() as u64;
        setup.chain.announce_as(
            &alice(),
            4,
            TEXT,
            DataKind::Text,
            padded.as_bytes(),
            size,
            size,
        );
        let error = rpc_error(upload_as(&setup, &alice(), TEXT, padded.as_bytes()));
        assert_eq!(error.code(), codes::WRONG_WEIGHT);
        assert!(
            error.message().contains(&format!(
                "declares weight {size}, its rows measure {measured}"
            )),
            "{}",
            error.message()
        );
        setup.chain.announce_as(
            &alice(),
            4,
            TEXT,
            DataKind::Text,
            padded.as_bytes(),
            size,
            measured,
        );
        upload_as(&setup, &alice(), TEXT, padded.as_bytes()).unwrap();
    }

    #[test]
    fn request_cap_fits_the_largest_blob_as_hex() {
        let cap = max_request_bytes(5 * 1024 * 1024);
        assert!(cap >= 2 * 5 * 1024 * 1024 + 2);
        assert!(cap < 11 * 1024 * 1024);
    }
}
