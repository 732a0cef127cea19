//! The `artifacts_*` RPC methods: the files of training jobs, stored beside datanet blobs.
//!
//! | method | params | result |
//! |---|---|---|
//! | `artifacts_upload` | `bytes`: the file as `0x`-prefixed hex | [`ArtifactReceipt`] |
//! | `artifacts_get` | `hash`: `0x`-prefixed hex blake2-256 | the file as `0x`-prefixed hex |
//!
//! Two kinds of file are accepted, each only while the chain announces it:
//!
//! * a **hyper-parameters file** of at most
//!   [`MAX_HYPERPARAMETERS_BYTES`](attribution_primitives::compute::MAX_HYPERPARAMETERS_BYTES)
//!   whose blake2-256 is the `hyperparameters_hash` of a live job (`ComputeApi::hyperparameters_job`):
//!   the developer uploads it after posting the job, the worker fetches it before training;
//! * an **adapter weights file** whose hash and size are a proven (`Challengeable` or `Active`)
//!   adapter's (`ModelsApi::proven_adapter`): the worker uploads it once its proof is accepted.
//!
//! An upload is checked in this order, with the [error codes](crate::rpc::codes) of the
//! `datanets_*` methods: the hex length against
//! [`MAX_ADAPTER_BYTES`](attribution_primitives::models::MAX_ADAPTER_BYTES) (before decoding,
//! `OVERSIZE`), the hex itself (`INVALID_ENCODING`), the announcement of the decoded bytes' hash
//! (`UNANNOUNCED`), and their size against it (`OVERSIZE` for a hyper-parameters file over its
//! limit, `WRONG_SIZE` for an adapter of another size than proven). The node's RPC request and
//! response caps are raised to fit the largest adapter as hex ([`crate::rpc::max_request_bytes`]).

use crate::{
    cid,
    rpc::{chain_error, codes, error, get_hex, ChainError},
    uploads::UploadSlots,
    BlobStore,
};
use attribution_primitives::{
    compute::MAX_HYPERPARAMETERS_BYTES,
    models::{ProvenAdapter, MAX_ADAPTER_BYTES},
    Hash, JobId, ModelId,
};
use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What the artifact methods need from the chain at the best block. The node implements it with
/// the `ComputeApi` and `ModelsApi` runtime APIs.
pub trait ArtifactsView: Send + Sync + 'static {
    /// `ComputeApi::hyperparameters_job`: a live job posted with this hyper-parameters hash.
    fn hyperparameters_job(&self, hash: Hash) -> Result<Option<JobId>, ChainError>;
    /// `ModelsApi::proven_adapter`: the proven adapter whose weights file has this hash.
    fn proven_adapter(&self, hash: Hash) -> Result<Option<ProvenAdapter>, ChainError>;
}

/// Which announcement an accepted file answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ArtifactKind {
    /// The hyper-parameters file of training job `job`.
    Hyperparameters { job: JobId },
    /// The weights file of adapter model `model`.
    Adapter { model: ModelId },
}

/// What an accepted `artifacts_upload` returns, e.g.
/// `{"hash":"0x…","cid":"bafk2bzace…","size":412,"kind":{"hyperparameters":{"job":0}}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactReceipt {
    /// blake2-256 of the bytes.
    pub hash: Hash,
    /// Their CIDv1 (raw, blake2b-256), to pin the same bytes to IPFS.
    pub cid: String,
    /// Their length.
    pub size: u64,
    /// The announcement they answer.
    pub kind: ArtifactKind,
}

#[rpc(server)]
pub trait ArtifactsRpc {
    /// Stores a hyper-parameters or adapter file the chain announces; `bytes` is `0x`-prefixed
    /// hex.
    #[method(name = "artifacts_upload", blocking)]
    fn upload(&self, bytes: String) -> RpcResult<ArtifactReceipt>;

    /// A stored file as `0x`-prefixed hex (the same store as `datanets_get`).
    #[method(name = "artifacts_get", blocking)]
    fn get(&self, hash: Hash) -> RpcResult<String>;
}

/// The `artifacts_*` methods over a store and a view of the chain.
pub struct Artifacts<C> {
    store: Arc<BlobStore>,
    chain: C,
    /// The largest file accepted: [`MAX_ADAPTER_BYTES`] (smaller in tests).
    max_upload: u64,
    uploads: UploadSlots,
}

impl<C: ArtifactsView> Artifacts<C> {
    pub fn new(store: Arc<BlobStore>, chain: C) -> Self {
        Self {
            store,
            chain,
            max_upload: MAX_ADAPTER_BYTES,
            uploads: UploadSlots::default(),
        }
    }

    /// Shares `uploads` (the node's cap on uploads at once) with the other upload methods.
    pub fn with_upload_slots(mut self, uploads: UploadSlots) -> Self {
        self.uploads = uploads;
        self
    }
}

impl<C: ArtifactsView> ArtifactsRpcServer for Artifacts<C> {
    fn upload(&self, bytes: String) -> RpcResult<ArtifactReceipt> {
        let _slot = self.uploads.take()?;
        let digits = bytes
            .strip_prefix("0x")
            .ok_or_else(|| error(codes::INVALID_ENCODING, "bytes must be 0x-prefixed hex"))?;
        // Refused on its length alone, before anything is decoded.
        let declared = (digits.len() / 2) as u64;
        if declared > self.max_upload {
            return Err(error(
                codes::OVERSIZE,
                format!(
                    "{declared} bytes exceed the largest artifact, {} bytes",
                    self.max_upload
                ),
            ));
        }
        let file = hex::decode(digits)
            .map_err(|e| error(codes::INVALID_ENCODING, format!("bytes are not hex: {e}")))?;
        let size = file.len() as u64;
        let hash = crate::content_hash(&file);
        let kind = if let Some(job) = self.chain.hyperparameters_job(hash).map_err(chain_error)? {
            if size > MAX_HYPERPARAMETERS_BYTES {
                return Err(error(
                    codes::OVERSIZE,
                    format!(
                        "{size} bytes exceed the hyper-parameters limit of \
                         {MAX_HYPERPARAMETERS_BYTES} bytes"
                    ),
                ));
            }
            ArtifactKind::Hyperparameters { job }
        } else if let Some(adapter) = self.chain.proven_adapter(hash).map_err(chain_error)? {
            if adapter.size != size {
                return Err(error(
                    codes::WRONG_SIZE,
                    format!(
                        "adapter {hash:?} of model {} is proven with {} bytes, the upload has \
                         {size}",
                        adapter.model, adapter.size
                    ),
                ));
            }
            ArtifactKind::Adapter {
                model: adapter.model,
            }
        } else {
            return Err(error(
                codes::UNANNOUNCED,
                format!(
                    "neither a live job's hyper-parameters nor a proven adapter has hash \
                     {hash:?}; post the job or submit the proof first"
                ),
            ));
        };
        self.store.put(&file).map_err(crate::rpc::storage_error)?;
        Ok(ArtifactReceipt {
            hash,
            cid: cid(&hash),
            size,
            kind,
        })
    }

    fn get(&self, hash: Hash) -> RpcResult<String> {
        get_hex(&self.store, hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonrpsee::{core::server::MethodsError, types::ErrorObjectOwned, RpcModule};
    use std::{collections::BTreeMap, sync::Mutex};

    const HYPERPARAMETERS: &[u8] = br#"{"rank":8,"alpha":16,"lr":0.0002,"steps":100}"#;
    const ADAPTER: &[u8] = b"safetensors adapter weights";

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap()
            .block_on(future)
    }

    /// A chain whose jobs and proven adapters the tests set.
    #[derive(Default)]
    struct FakeChain {
        jobs: Mutex<BTreeMap<Hash, JobId>>,
        adapters: Mutex<BTreeMap<Hash, ProvenAdapter>>,
        down: bool,
    }

    impl FakeChain {
        fn post_job(&self, job: JobId, file: &[u8]) {
            self.jobs
                .lock()
                .unwrap()
                .insert(crate::content_hash(file), job);
        }
        fn prove(&self, model: ModelId, file: &[u8], size: u64) {
            self.adapters
                .lock()
                .unwrap()
                .insert(crate::content_hash(file), ProvenAdapter { model, size });
        }
        fn check(&self) -> Result<(), ChainError> {
            if self.down {
                return Err(ChainError("node is syncing".into()));
            }
            Ok(())
        }
    }

    impl ArtifactsView for Arc<FakeChain> {
        fn hyperparameters_job(&self, hash: Hash) -> Result<Option<JobId>, ChainError> {
            self.check()?;
            Ok(self.jobs.lock().unwrap().get(&hash).copied())
        }
        fn proven_adapter(&self, hash: Hash) -> Result<Option<ProvenAdapter>, ChainError> {
            self.check()?;
            Ok(self.adapters.lock().unwrap().get(&hash).cloned())
        }
    }

    struct Setup {
        module: RpcModule<Artifacts<Arc<FakeChain>>>,
        chain: Arc<FakeChain>,
        _dir: tempfile::TempDir,
    }

    /// The largest file the tests' store accepts (the node's is `MAX_ADAPTER_BYTES`).
    const MAX: u64 = 2 * MAX_HYPERPARAMETERS_BYTES;

    fn setup_with(chain: FakeChain) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(BlobStore::open(dir.path()).unwrap());
        let chain = Arc::new(chain);
        let mut artifacts = Artifacts::new(store, chain.clone());
        assert_eq!(artifacts.max_upload, MAX_ADAPTER_BYTES);
        artifacts.max_upload = MAX;
        Setup {
            module: artifacts.into_rpc(),
            chain,
            _dir: dir,
        }
    }

    fn setup() -> Setup {
        setup_with(FakeChain::default())
    }

    fn hex_of(bytes: &[u8]) -> String {
        format!("0x{}", hex::encode(bytes))
    }

    fn upload(setup: &Setup, param: String) -> Result<ArtifactReceipt, MethodsError> {
        block_on(setup.module.call("artifacts_upload", (param,)))
    }

    fn get(setup: &Setup, hash: Hash) -> Result<String, MethodsError> {
        block_on(setup.module.call("artifacts_get", (hash,)))
    }

    fn rpc_error<T: std::fmt::Debug>(result: Result<T, MethodsError>) -> ErrorObjectOwned {
        match result {
            Err(MethodsError::JsonRpc(error)) => error,
            other => panic!("expected a JSON-RPC error, got {other:?}"),
        }
    }

    #[test]
    fn stores_a_live_jobs_hyperparameters_and_serves_them_back() {
        let setup = setup();
        setup.chain.post_job(4, HYPERPARAMETERS);

        let receipt = upload(&setup, hex_of(HYPERPARAMETERS)).unwrap();

        let hash = crate::content_hash(HYPERPARAMETERS);
        assert_eq!(
            receipt,
            ArtifactReceipt {
                hash,
                cid: cid(&hash),
                size: HYPERPARAMETERS.len() as u64,
                kind: ArtifactKind::Hyperparameters { job: 4 },
            }
        );
        assert_eq!(get(&setup, hash).unwrap(), hex_of(HYPERPARAMETERS));
        // The JSON shape clients see.
        let json = serde_json::to_value(&receipt).unwrap();
        assert_eq!(
            json["kind"],
            serde_json::json!({ "hyperparameters": { "job": 4 } })
        );
        assert_eq!(json["size"], HYPERPARAMETERS.len());
        assert!(json["cid"].as_str().unwrap().starts_with("bafk2bzace"));
    }

    #[test]
    fn stores_a_proven_adapter_of_its_proven_size() {
        let setup = setup();
        setup.chain.prove(9, ADAPTER, ADAPTER.len() as u64);
        let receipt = upload(&setup, hex_of(ADAPTER)).unwrap();
        assert_eq!(receipt.kind, ArtifactKind::Adapter { model: 9 });
        assert_eq!(
            serde_json::to_value(receipt.kind).unwrap(),
            serde_json::json!({ "adapter": { "model": 9 } })
        );
        assert_eq!(get(&setup, receipt.hash).unwrap(), hex_of(ADAPTER));
        // Uploading it again is harmless.
        assert_eq!(upload(&setup, hex_of(ADAPTER)).unwrap(), receipt);
    }

    #[test]
    fn refuses_unannounced_files_and_stores_nothing() {
        let setup = setup();
        let error = rpc_error(upload(&setup, hex_of(ADAPTER)));
        assert_eq!(error.code(), codes::UNANNOUNCED);
        assert!(error.message().contains("submit the proof first"));
        assert_eq!(
            rpc_error(get(&setup, crate::content_hash(ADAPTER))).code(),
            codes::NOT_FOUND
        );
    }

    #[test]
    fn refuses_an_adapter_of_another_size_than_proven() {
        let setup = setup();
        setup.chain.prove(9, ADAPTER, ADAPTER.len() as u64 + 1);
        let error = rpc_error(upload(&setup, hex_of(ADAPTER)));
        assert_eq!(error.code(), codes::WRONG_SIZE);
        assert!(error.message().contains("model 9"), "{}", error.message());
        assert_eq!(
            rpc_error(get(&setup, crate::content_hash(ADAPTER))).code(),
            codes::NOT_FOUND
        );
    }

    #[test]
    fn refuses_hyperparameters_over_their_limit() {
        let setup = setup();
        let large = vec![b' '; MAX_HYPERPARAMETERS_BYTES as usize + 1];
        setup.chain.post_job(1, &large);
        assert_eq!(
            rpc_error(upload(&setup, hex_of(&large))).code(),
            codes::OVERSIZE
        );
        let largest = vec![b' '; MAX_HYPERPARAMETERS_BYTES as usize];
        setup.chain.post_job(2, &largest);
        assert_eq!(
            upload(&setup, hex_of(&largest)).unwrap().kind,
            ArtifactKind::Hyperparameters { job: 2 }
        );
    }

    #[test]
    fn refuses_files_over_the_largest_adapter_by_their_length_before_decoding() {
        let setup = setup();
        // Not even hex, and never decoded: refused on its length.
        let huge = format!("0x{}", "zz".repeat(MAX as usize + 1));
        let error = rpc_error(upload(&setup, huge));
        assert_eq!(error.code(), codes::OVERSIZE);
        assert!(error.message().contains(&format!("{}", MAX + 1)));
        // Even when its hash would be announced.
        let adapter = vec![7u8; MAX as usize + 1];
        setup.chain.prove(3, &adapter, adapter.len() as u64);
        assert_eq!(
            rpc_error(upload(&setup, hex_of(&adapter))).code(),
            codes::OVERSIZE
        );
    }

    #[test]
    fn refuses_malformed_encodings() {
        let setup = setup();
        setup.chain.post_job(4, HYPERPARAMETERS);
        for bad in [
            hex::encode(HYPERPARAMETERS),
            "0x7b7".to_string(),
            "0xnothex!".to_string(),
        ] {
            assert_eq!(
                rpc_error(upload(&setup, bad.clone())).code(),
                codes::INVALID_ENCODING,
                "{bad}"
            );
        }
        let result: Result<ArtifactReceipt, _> =
            block_on(setup.module.call("artifacts_upload", (42,)));
        assert_eq!(
            rpc_error(result).code(),
            jsonrpsee::types::error::INVALID_PARAMS_CODE
        );
    }

    #[test]
    fn reports_a_chain_it_cannot_query() {
        let setup = setup_with(FakeChain {
            down: true,
            ..Default::default()
        });
        assert_eq!(
            rpc_error(upload(&setup, hex_of(ADAPTER))).code(),
            codes::CHAIN
        );
    }
}
