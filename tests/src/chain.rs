//! Driving the Attribution Chain pallets from the end-to-end tests.
//!
//! Calls are built as SCALE bytes from the types of `attribution-primitives` (call bytes =
//! `[pallet index, call index] ++ SCALE(arguments in order)`), signed by dev accounts through
//! subxt and waited on until finalized. Runtime APIs are read with `state_call` at the finalized
//! head and decoded into the primitives' types, so no chain type is defined twice.
//!
//! On top of that sit the steps the tests share: publish a datanet version with three
//! contributors, register a base model and an operator, train and settle an adapter.

use crate::{finalized_number, wait_finalized, Node};
use anyhow::{anyhow, bail, ensure, Context, Result};
use attribution_primitives::{
    attribution::SignedInferenceBatch,
    compute::{
        ChallengeId, ContributionList, Endpoint, Hardware, SignedTrainingProof, TrainingProof,
        WorkerKeyPossession,
    },
    datanets::{measure, DataKind, RuleOverrides, UploadAuthorization},
    merkle,
    models::{Architecture, BaseModel, Cid, EvalMetrics, ModelName, TrainingMethod},
    traits::PoolId,
    AccountId, Balance, BlockNumber, ContributionId, DatanetId, Hash, JobId, ModelId, VersionIndex,
};
use codec::{Compact, Decode, Encode};
use sp_core::{crypto::Ss58Codec, sr25519, Pair as _};
use sp_runtime::traits::{BlakeTwo256, Hash as HashT};
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};
use subxt::{
    config::SubstrateExtrinsicParamsBuilder,
    dynamic::{self, Value},
    error::{DispatchError, TransactionEventsError, TransactionFinalizedSuccessError},
    ext::{futures::future::join_all, scale_value::At},
    extrinsics::ExtrinsicEvents,
    rpcs::{rpc_params, RpcClient},
    OnlineClient, SubstrateConfig,
};
use subxt_signer::sr25519::{dev, Keypair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub use attribution_primitives::OPEN;

/// How long a transaction may take from submission to finality.
const FINALITY_TIMEOUT: Duration = Duration::from_secs(120);

/// Pallet indexes in `construct_runtime`.
pub mod pallet {
    pub const SUDO: u8 = 6;
    pub const DATANETS: u8 = 10;
    pub const MODELS: u8 = 11;
    pub const COMPUTE: u8 = 12;
    pub const ATTRIBUTION: u8 = 13;
    pub const REWARDS: u8 = 14;
}

/// The SCALE bytes of each call the tests make; indexes are the pallets' `call_index`es.
pub mod calls {
    use super::*;

    fn call(pallet: u8, index: u8, args: impl Encode) -> Vec<u8> {
        let mut bytes = vec![pallet, index];
        args.encode_to(&mut bytes);
        bytes
    }

    pub fn create_datanet(
        name: &str,
        description: &str,
        kind: DataKind,
        rules: RuleOverrides<Balance>,
    ) -> Vec<u8> {
        let args = (name.as_bytes(), description.as_bytes(), kind, rules);
        call(pallet::DATANETS, 0, args)
    }

    /// `weight` is the bytes' [`measure::weight`], which nodes check at upload.
    pub fn contribute(
        datanet: DatanetId,
        content_hash: Hash,
        size: u64,
        weight: u64,
        license: &str,
    ) -> Vec<u8> {
        let metadata = br#"{"source":"e2e"}"#.as_slice();
        let args = (
            datanet,
            content_hash,
            size,
            weight,
            license.as_bytes(),
            metadata,
        );
        call(pallet::DATANETS, 3, args)
    }

    pub fn approve(contribution: ContributionId) -> Vec<u8> {
        call(pallet::DATANETS, 4, contribution)
    }

    pub fn reject(contribution: ContributionId, spam: bool) -> Vec<u8> {
        call(pallet::DATANETS, 5, (contribution, spam))
    }

    pub fn publish_version(datanet: DatanetId) -> Vec<u8> {
        call(pallet::DATANETS, 6, datanet)
    }

    pub fn withdraw(contribution: ContributionId) -> Vec<u8> {
        call(pallet::DATANETS, 7, contribution)
    }

    pub fn close_datanet(datanet: DatanetId) -> Vec<u8> {
        call(pallet::DATANETS, 9, datanet)
    }

    pub fn register_base_model(name: &str, base: &BaseModel) -> Vec<u8> {
        call(pallet::MODELS, 0, (model_name(name), base))
    }

    pub fn register_operator(
        worker_key: sr25519::Public,
        possession: sr25519::Signature,
        hardware: &Hardware,
        endpoint: &Endpoint,
        stake: Balance,
        price_per_token: Balance,
    ) -> Vec<u8> {
        let args = (
            worker_key,
            possession,
            hardware,
            endpoint,
            stake,
            price_per_token,
        );
        call(pallet::COMPUTE, 0, args)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn request_training(
        name: &str,
        base_model: ModelId,
        pool: PoolId,
        method: TrainingMethod,
        hyperparameters_hash: Hash,
        budget: Balance,
        deadline: BlockNumber,
        previous: Option<ModelId>,
    ) -> Vec<u8> {
        let args = (
            model_name(name),
            base_model,
            pool,
            method,
            hyperparameters_hash,
            budget,
            deadline,
            previous,
        );
        call(pallet::COMPUTE, 4, args)
    }

    pub fn claim_job(job: JobId) -> Vec<u8> {
        call(pallet::COMPUTE, 6, job)
    }

    pub fn submit_training_proof(proof: &SignedTrainingProof) -> Vec<u8> {
        call(pallet::COMPUTE, 8, proof)
    }

    pub fn settle(job: JobId) -> Vec<u8> {
        call(pallet::COMPUTE, 11, job)
    }

    pub fn deposit_credit(amount: Balance) -> Vec<u8> {
        call(pallet::ATTRIBUTION, 0, Compact(amount))
    }

    pub fn submit_inference_batch(batch: &SignedInferenceBatch) -> Vec<u8> {
        call(pallet::ATTRIBUTION, 3, batch)
    }

    /// `Attribution::challenge_attribution`: the prompt (request body) and answer of `record`.
    pub fn challenge_attribution(record: u64, prompt: &[u8], answer: &[u8]) -> Vec<u8> {
        call(pallet::ATTRIBUTION, 8, (record, prompt, answer))
    }

    pub fn close_attribution_challenge(challenge: u64) -> Vec<u8> {
        call(pallet::ATTRIBUTION, 10, challenge)
    }

    pub fn grant_allowance(operator: &AccountId, amount: Balance) -> Vec<u8> {
        call(pallet::ATTRIBUTION, 5, (operator, Compact(amount)))
    }

    pub fn request_allowance_reduction(operator: &AccountId, amount: Balance) -> Vec<u8> {
        call(pallet::ATTRIBUTION, 6, (operator, Compact(amount)))
    }

    pub fn reduce_allowance(operator: &AccountId) -> Vec<u8> {
        call(pallet::ATTRIBUTION, 7, operator)
    }

    pub fn challenge(job: JobId, evidence: Hash) -> Vec<u8> {
        call(pallet::COMPUTE, 9, (job, evidence))
    }

    /// The fallback resolution (root only): every open challenge of `job`.
    pub fn resolve_challenge(job: JobId, fraud: bool) -> Vec<u8> {
        call(pallet::COMPUTE, 10, (job, fraud))
    }

    pub fn vote(challenge: ChallengeId, fraud: bool) -> Vec<u8> {
        call(pallet::COMPUTE, 13, (challenge, fraud))
    }

    pub fn close_challenge(challenge: ChallengeId) -> Vec<u8> {
        call(pallet::COMPUTE, 14, challenge)
    }

    /// `Sudo::sudo(call)`: `call` dispatched as root (the dev chain's sudo key is Alice).
    pub fn sudo(inner: Vec<u8>) -> Vec<u8> {
        let mut bytes = vec![pallet::SUDO, 0];
        bytes.extend(inner);
        bytes
    }

    pub fn claim() -> Vec<u8> {
        call(pallet::REWARDS, 0, ())
    }

    pub fn claim_pool(pool: PoolId) -> Vec<u8> {
        call(pallet::REWARDS, 1, pool)
    }

    fn model_name(name: &str) -> ModelName {
        ModelName::truncate_from(name.as_bytes().to_vec())
    }
}

/// The events of a finalized transaction.
pub type Events = ExtrinsicEvents<SubstrateConfig>;

/// Why a transaction did not succeed.
#[derive(Debug)]
pub enum TxError {
    /// It was executed and failed with this dispatch error: `Pallet::Error` for a pallet error
    /// (e.g. `Datanets::DuplicateContribution`), the error's description otherwise.
    Dispatch(String),
    /// It could not be built, was refused by the pool, or finality was not observed.
    Other(String),
}

impl std::fmt::Display for TxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TxError::Dispatch(error) => write!(f, "dispatch error {error}"),
            TxError::Other(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for TxError {}

impl From<TransactionFinalizedSuccessError> for TxError {
    fn from(error: TransactionFinalizedSuccessError) -> Self {
        match error {
            TransactionFinalizedSuccessError::SuccessError(
                TransactionEventsError::ExtrinsicFailed(dispatch),
            ) => TxError::Dispatch(match dispatch {
                DispatchError::Module(module) => module.details_string(),
                other => other.to_string(),
            }),
            other => TxError::Other(other.to_string()),
        }
    }
}

/// Expects `result` to be the failure of a dispatched transaction with `error`
/// (`Pallet::Error`).
pub fn expect_dispatch_error(result: Result<Events, TxError>, error: &str) -> Result<()> {
    match result {
        Err(TxError::Dispatch(got)) if got == error => Ok(()),
        Err(other) => bail!("expected {error}, got {other}"),
        Ok(_) => bail!("expected {error}, the transaction succeeded"),
    }
}

/// A JSON-RPC error answered by the node.
#[derive(Debug, Clone)]
pub struct RpcError {
    pub code: i32,
    pub message: String,
    pub data: Option<serde_json::Value>,
}

/// Expects a JSON-RPC error with `code`, returns it for more checks.
pub fn expect_rpc_error(result: Result<serde_json::Value>, code: i32) -> Result<RpcError> {
    match result {
        Ok(value) => bail!("expected JSON-RPC error {code}, got the answer {value}"),
        Err(error) => match error.downcast::<RpcError>() {
            Ok(error) if error.code == code => Ok(error),
            Ok(error) => bail!("expected JSON-RPC error {code}, got {error}"),
            Err(other) => bail!("expected JSON-RPC error {code}, the call failed: {other:#}"),
        },
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JSON-RPC error {}: {}", self.code, self.message)?;
        if let Some(data) = &self.data {
            write!(f, " (data {data})")?;
        }
        Ok(())
    }
}

impl std::error::Error for RpcError {}

/// blake2-256 of `bytes`: a contribution's content hash.
pub fn content_hash(bytes: &[u8]) -> Hash {
    <BlakeTwo256 as HashT>::hash(bytes)
}

/// `0x`-prefixed hex of `bytes`.
pub fn hex_of(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Parses a `0x`-prefixed hex string in a JSON answer.
pub fn bytes_from_json(value: &serde_json::Value) -> Result<Vec<u8>> {
    let text = value
        .as_str()
        .with_context(|| format!("expected a hex string, got {value}"))?;
    let digits = text
        .strip_prefix("0x")
        .with_context(|| format!("{text} lacks 0x"))?;
    Ok(hex::decode(digits)?)
}

/// Parses a hash (`0x` + 64 hex digits) in a JSON answer.
pub fn hash_from_json(value: &serde_json::Value) -> Result<Hash> {
    let bytes = bytes_from_json(value)?;
    ensure!(bytes.len() == 32, "{value} is not a 32-byte hash");
    Ok(Hash::from_slice(&bytes))
}

/// The account of a subxt signer.
pub fn account(signer: &Keypair) -> AccountId {
    AccountId::from(signer.public_key().0)
}

/// The account's SS58 address, as the node's RPC methods take it.
pub fn ss58(account: &AccountId) -> String {
    account.to_ss58check()
}

/// The fields of every `pallet::name` event of a transaction, decoded as `T` (a prefix of the
/// event's fields is enough).
pub fn events<T: Decode>(events: &Events, pallet: &str, name: &str) -> Result<Vec<T>> {
    let mut found = vec![];
    for event in events.iter() {
        let event = event?;
        if event.pallet_name() == pallet && event.event_name() == name {
            found.push(
                T::decode(&mut event.field_bytes())
                    .with_context(|| format!("decoding {pallet}::{name}"))?,
            );
        }
    }
    Ok(found)
}

/// The one `pallet::name` event of a transaction.
pub fn event<T: Decode>(found: &Events, pallet: &str, name: &str) -> Result<T> {
    let mut all = events::<T>(found, pallet, name)?;
    ensure!(
        all.len() == 1,
        "expected one {pallet}::{name} event, found {}",
        all.len()
    );
    Ok(all.remove(0))
}

/// Polls `check` every half second until it answers `Some`, or fails after `timeout`.
pub async fn poll<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        ensure!(
            started.elapsed() < timeout,
            "{what}: not within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A `--dev` node (its base path removed when it is dropped) with its clients.
pub struct Chain {
    pub node: Node,
    pub rpc: RpcClient,
    pub client: OnlineClient<SubstrateConfig>,
    /// Who announced which bytes to which datanet through [`Chain::contribute`], so
    /// [`Chain::upload`] can sign for them.
    announcers: std::sync::Mutex<HashMap<Hash, (DatanetId, Keypair)>>,
}

impl Chain {
    /// Starts a dev node and waits for its first finalized block.
    pub async fn start() -> Result<Self> {
        let mut node = Node::start(&["--dev"])?;
        let (rpc, client) = node.client().await?;
        wait_finalized(&rpc, 1, Duration::from_secs(120)).await?;
        Ok(Self::new(node, rpc, client))
    }

    fn new(node: Node, rpc: RpcClient, client: OnlineClient<SubstrateConfig>) -> Self {
        Self {
            node,
            rpc,
            client,
            announcers: Default::default(),
        }
    }

    /// Connects to a node already running on loopback `rpc_port`.
    pub async fn attach(rpc_port: u16) -> Result<Self> {
        let mut node = Node::attach(rpc_port)?;
        let (rpc, client) = node.client().await?;
        Ok(Self::new(node, rpc, client))
    }

    /// Restarts the node on its database and waits until it finalizes past where it was.
    pub async fn restart(&mut self) -> Result<()> {
        let finalized = finalized_number(&self.rpc).await?;
        self.node.restart()?;
        (self.rpc, self.client) = self.node.client().await?;
        wait_finalized(&self.rpc, finalized + 1, Duration::from_secs(120)).await?;
        Ok(())
    }

    /// Signs `call` by `signer`, submits it and waits until it is finalized.
    pub async fn submit(&self, signer: &Keypair, call: Vec<u8>) -> Result<Events, TxError> {
        self.submit_all(vec![(signer, call)]).await.remove(0)
    }

    /// Like [`Self::submit`], for a transaction that must succeed.
    pub async fn execute(&self, signer: &Keypair, call: Vec<u8>) -> Result<Events> {
        Ok(self.submit(signer, call).await?)
    }

    /// [`Self::submit_all`] for a fixed number of transactions, so the results destructure.
    pub async fn submit_each<const N: usize>(
        &self,
        txs: [(&Keypair, Vec<u8>); N],
    ) -> [Result<Events, TxError>; N] {
        let results = self.submit_all(txs.into()).await;
        results
            .try_into()
            .unwrap_or_else(|_| unreachable!("submit_all answers once per transaction"))
    }

    /// Submits all `txs` at once (a signer's transactions get consecutive nonces, in order) and
    /// waits until each is finalized. One result per transaction, in order.
    pub async fn submit_all(&self, txs: Vec<(&Keypair, Vec<u8>)>) -> Vec<Result<Events, TxError>> {
        let mut pending = vec![];
        let mut nonces = HashMap::<[u8; 32], u64>::new();
        for (signer, call) in txs {
            let key = signer.public_key().0;
            let nonce = match nonces.get(&key) {
                Some(last) => Ok(last + 1),
                None => self.next_nonce(&AccountId::from(key)).await,
            };
            if let Ok(nonce) = nonce {
                nonces.insert(key, nonce);
            }
            pending.push(async move {
                let nonce = nonce.map_err(|e| TxError::Other(format!("{e:#}")))?;
                let at = self.client.at_current_block().await.map_err(other)?;
                let mut transactions = at.transactions();
                let payload = transactions.from_call_data_bytes(&call).map_err(other)?;
                let params = SubstrateExtrinsicParamsBuilder::<SubstrateConfig>::new()
                    .nonce(nonce)
                    .build();
                let tx = transactions
                    .create_signed(&payload, signer, params)
                    .await
                    .map_err(other)?;
                tx.submit_and_watch().await.map_err(other)
            });
        }
        // Submitted one after the other, so each signer's nonces reach the pool in order.
        let mut watching = vec![];
        for submission in pending {
            watching.push(submission.await);
        }
        join_all(watching.into_iter().map(|progress| async move {
            let progress = progress?;
            match tokio::time::timeout(FINALITY_TIMEOUT, progress.wait_for_finalized_success())
                .await
            {
                Ok(result) => result.map_err(TxError::from),
                Err(_) => Err(TxError::Other(format!(
                    "not finalized within {FINALITY_TIMEOUT:?}"
                ))),
            }
        }))
        .await
    }

    /// The nonce of `who`'s next transaction, counting those in the pool.
    pub async fn next_nonce(&self, who: &AccountId) -> Result<u64> {
        Ok(self
            .rpc
            .request("system_accountNextIndex", rpc_params![ss58(who)])
            .await?)
    }

    /// Calls runtime API `method` (e.g. `DatanetsApi_version`) with SCALE `args` at the
    /// finalized head and decodes the answer.
    pub async fn state_call<R: Decode>(&self, method: &str, args: impl Encode) -> Result<R> {
        let head: String = self
            .rpc
            .request("chain_getFinalizedHead", rpc_params![])
            .await?;
        let answer: String = self
            .rpc
            .request(
                "state_call",
                rpc_params![method, hex_of(&args.encode()), head],
            )
            .await
            .with_context(|| format!("state_call {method}"))?;
        let bytes = bytes_from_json(&serde_json::Value::String(answer))?;
        let mut input = bytes.as_slice();
        let value =
            R::decode(&mut input).with_context(|| format!("decoding the answer of {method}"))?;
        ensure!(
            input.is_empty(),
            "{method} answered {} bytes more than expected",
            input.len()
        );
        Ok(value)
    }

    /// Calls a node RPC method; a JSON-RPC error comes back as an [`RpcError`] inside the
    /// `anyhow::Error` (see [`expect_rpc_error`]).
    pub async fn rpc_call(
        &self,
        method: &str,
        params: subxt::rpcs::client::RpcParams,
    ) -> Result<serde_json::Value> {
        match self.rpc.request::<serde_json::Value>(method, params).await {
            Ok(value) => Ok(value),
            Err(subxt::rpcs::Error::User(error)) => Err(RpcError {
                code: error.code,
                message: error.message,
                data: error
                    .data
                    .map(|raw| serde_json::from_str(raw.get()))
                    .transpose()?,
            }
            .into()),
            Err(other) => Err(anyhow!("{method}: {other}")),
        }
    }

    /// Calls a node RPC method over plain HTTP, for requests larger than the WebSocket client
    /// sends (its cap is 10 MiB; the node's is 15 MiB).
    pub async fn http_rpc_call(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value> {
        let body =
            serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params })
                .to_string();
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.node.rpc_port)).await?;
        let head = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.node.rpc_port,
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        let mut response = vec![];
        stream.read_to_end(&mut response).await?;
        let response = String::from_utf8(response)?;
        let (status, body) = response
            .split_once("\r\n\r\n")
            .context("HTTP response without body")?;
        let answer: serde_json::Value = serde_json::from_str(body).with_context(|| {
            format!(
                "{method} over HTTP: {}",
                status.lines().next().unwrap_or_default()
            )
        })?;
        if let Some(error) = answer.get("error") {
            return Err(RpcError {
                code: error["code"].as_i64().context("error without code")? as i32,
                message: error["message"].as_str().unwrap_or_default().to_string(),
                data: error.get("data").cloned(),
            }
            .into());
        }
        Ok(answer["result"].clone())
    }

    /// `datanets_upload` of `bytes` announced through [`Self::contribute`], signed by their
    /// contributor for their datanet.
    pub async fn upload(&self, bytes: &[u8]) -> Result<serde_json::Value> {
        let announcer = self
            .announcers
            .lock()
            .map_err(|_| anyhow!("announcers poisoned"))?
            .get(&content_hash(bytes))
            .cloned();
        let (datanet, signer) =
            announcer.context("bytes not announced through Chain::contribute")?;
        self.upload_signed(datanet, &signer, bytes).await
    }

    /// `datanets_upload` of `bytes` to `datanet`, signed by `signer`.
    pub async fn upload_signed(
        &self,
        datanet: DatanetId,
        signer: &Keypair,
        bytes: &[u8],
    ) -> Result<serde_json::Value> {
        let signature = self.upload_signature(datanet, signer, bytes);
        self.rpc_call(
            "datanets_upload",
            rpc_params![datanet, hex_of(bytes), signature],
        )
        .await
    }

    /// `signer`'s upload authorization for `bytes` in `datanet`: a SCALE `MultiSignature` in
    /// `0x`-prefixed hex.
    pub fn upload_signature(&self, datanet: DatanetId, signer: &Keypair, bytes: &[u8]) -> String {
        let authorization = UploadAuthorization {
            datanet,
            content_hash: content_hash(bytes),
        };
        let message = attribution_primitives::signing::signing_message(
            attribution_primitives::signing::CONTRIBUTION_UPLOAD_DOMAIN,
            &self.genesis_hash(),
            &authorization,
        );
        let signature = sp_runtime::MultiSignature::Sr25519(sr25519::Signature::from_raw(
            signer.sign(&message).0,
        ));
        hex_of(&signature.encode())
    }

    /// `datanets_get` of `hash`, decoded.
    pub async fn download(&self, hash: Hash) -> Result<Vec<u8>> {
        bytes_from_json(
            &self
                .rpc_call("datanets_get", rpc_params![hex_of(hash.as_bytes())])
                .await?,
        )
    }

    /// `artifacts_upload` of `bytes`: a live job's hyper-parameters or a proven adapter.
    pub async fn upload_artifact(&self, bytes: &[u8]) -> Result<serde_json::Value> {
        self.rpc_call("artifacts_upload", rpc_params![hex_of(bytes)])
            .await
    }

    /// `artifacts_get` of `hash`, decoded.
    pub async fn download_artifact(&self, hash: Hash) -> Result<Vec<u8>> {
        bytes_from_json(
            &self
                .rpc_call("artifacts_get", rpc_params![hex_of(hash.as_bytes())])
                .await?,
        )
    }

    /// The node's genesis block hash: off-chain proofs and authorizations are signed for it.
    pub fn genesis_hash(&self) -> Hash {
        Hash::from(self.client.genesis_hash().0)
    }

    /// The number of the latest finalized block.
    pub async fn finalized(&self) -> Result<BlockNumber> {
        Ok(finalized_number(&self.rpc).await?.try_into()?)
    }

    /// Free and reserved (held) OPEN of `who` at the finalized head.
    pub async fn balance(&self, who: &AccountId) -> Result<(Balance, Balance)> {
        let at = self.client.at_current_block().await?;
        let info = at
            .storage()
            .fetch(
                dynamic::storage::<([u8; 32],), Value>("System", "Account"),
                (*who.as_ref(),),
            )
            .await?
            .decode()?;
        let field = |name| {
            info.at("data")
                .at(name)
                .and_then(|v| v.as_u128())
                .with_context(|| format!("System.Account without data.{name}"))
        };
        Ok((field("free")?, field("reserved")?))
    }

    // ---- Datanets ----

    /// Creates a text datanet owned by `owner`; returns its id.
    pub async fn create_datanet(
        &self,
        owner: &Keypair,
        name: &str,
        rules: RuleOverrides<Balance>,
    ) -> Result<DatanetId> {
        let call =
            calls::create_datanet(name, "rows for the end-to-end tests", DataKind::Text, rules);
        let events = self.execute(owner, call).await.context("create_datanet")?;
        event::<DatanetId>(&events, "Datanets", "DatanetCreated")
    }

    /// Announces each blob to `datanet` by its contributor (all at once); returns their ids.
    pub async fn contribute(
        &self,
        datanet: DatanetId,
        blobs: &[(&Keypair, &[u8])],
    ) -> Result<Vec<ContributionId>> {
        let txs = blobs
            .iter()
            .map(|(who, bytes)| {
                (
                    *who,
                    calls::contribute(
                        datanet,
                        content_hash(bytes),
                        bytes.len() as u64,
                        measure::weight(bytes),
                        "CC-BY-4.0",
                    ),
                )
            })
            .collect();
        if let Ok(mut announcers) = self.announcers.lock() {
            for (who, bytes) in blobs {
                announcers.insert(content_hash(bytes), (datanet, (*who).clone()));
            }
        }
        let mut ids = vec![];
        for result in self.submit_all(txs).await {
            let events = result.context("contribute")?;
            ids.push(event::<ContributionId>(&events, "Datanets", "Contributed")?);
        }
        Ok(ids)
    }

    /// Approves `contributions` (by `curator`) and publishes the datanet's next version (by
    /// `owner`, usually the same); returns its number and Merkle root.
    pub async fn approve_and_publish(
        &self,
        curator: &Keypair,
        datanet: DatanetId,
        contributions: &[ContributionId],
    ) -> Result<(VersionIndex, Hash)> {
        let approvals = contributions
            .iter()
            .map(|id| (curator, calls::approve(*id)))
            .collect();
        for result in self.submit_all(approvals).await {
            result.context("approve")?;
        }
        let events = self
            .execute(curator, calls::publish_version(datanet))
            .await
            .context("publish_version")?;
        let (published, version, root) =
            event::<(DatanetId, VersionIndex, Hash)>(&events, "Datanets", "VersionPublished")?;
        ensure!(
            published == datanet,
            "published datanet {published}, expected {datanet}"
        );
        Ok((version, root))
    }

    /// Alice's datanet with one JSONL contribution each from Bob, Charlie and Dave, uploaded to
    /// the node, approved and published as version 1.
    pub async fn publish_sample_datanet(&self) -> Result<SampleDatanet> {
        self.publish_datanet("e2e-instructions", (0..3).map(sample_rows).collect())
            .await
    }

    /// Alice's datanet `name` with `blobs` contributed by Bob, Charlie and Dave in that order
    /// (three blobs at most), uploaded to the node, approved and published as version 1.
    pub async fn publish_datanet(&self, name: &str, blobs: Vec<Vec<u8>>) -> Result<SampleDatanet> {
        let owner = dev::alice();
        let datanet = self
            .create_datanet(&owner, name, RuleOverrides::default())
            .await?;
        let mut contributors = vec![dev::bob(), dev::charlie(), dev::dave()];
        ensure!(blobs.len() <= contributors.len(), "at most three blobs");
        contributors.truncate(blobs.len());
        let announce: Vec<(&Keypair, &[u8])> = contributors
            .iter()
            .zip(&blobs)
            .map(|(k, b)| (k, b.as_slice()))
            .collect();
        let ids = self.contribute(datanet, &announce).await?;
        let mut receipts = vec![];
        for bytes in &blobs {
            receipts.push(
                self.upload(bytes)
                    .await
                    .context("datanets_upload of an announced blob")?,
            );
        }
        let (version, merkle_root) = self.approve_and_publish(&owner, datanet, &ids).await?;
        let contributions = contributors
            .into_iter()
            .zip(ids)
            .zip(blobs)
            .zip(receipts)
            .map(|(((contributor, id), bytes), receipt)| SampleContribution {
                contributor,
                id,
                bytes,
                receipt,
            })
            .collect();
        Ok(SampleDatanet {
            owner,
            pool: PoolId { datanet, version },
            merkle_root,
            contributions,
        })
    }

    // ---- Models and compute ----

    /// Registers `base` as a base model owned by `owner`; returns its id.
    pub async fn register_base_model(
        &self,
        owner: &Keypair,
        name: &str,
        base: &BaseModel,
    ) -> Result<ModelId> {
        let events = self
            .execute(owner, calls::register_base_model(name, base))
            .await
            .context("register_base_model")?;
        event::<ModelId>(&events, "Models", "BaseModelRegistered")
    }

    /// Registers `operator` with the minimum stake, `worker` as its worker key and
    /// [`OPERATOR_PRICE_PER_TOKEN`].
    pub async fn register_operator(
        &self,
        operator: &Keypair,
        worker: &sr25519::Pair,
    ) -> Result<()> {
        let hardware = Hardware {
            gpu_model: sp_core::bounded::BoundedVec::truncate_from(b"NVIDIA RTX 4090".to_vec()),
            gpu_memory_mib: 24_576,
            gpu_count: 1,
        };
        let endpoint = Endpoint::truncate_from(b"http://127.0.0.1:8080".to_vec());
        let possession = WorkerKeyPossession::sign(account(operator), &self.genesis_hash(), worker);
        let call = calls::register_operator(
            worker.public(),
            possession,
            &hardware,
            &endpoint,
            OPERATOR_STAKE,
            OPERATOR_PRICE_PER_TOKEN,
        );
        self.execute(operator, call)
            .await
            .context("register_operator")?;
        Ok(())
    }

    /// Posts a LoRA job of `developer`'s (a new version of `previous` if given) with the test
    /// budget and a deadline 1 000 blocks ahead; returns the job and its adapter model.
    pub async fn post_job(
        &self,
        developer: &Keypair,
        name: &str,
        base_model: ModelId,
        pool: PoolId,
        hyperparameters_hash: Hash,
        previous: Option<ModelId>,
    ) -> Result<(JobId, ModelId)> {
        let deadline = self.finalized().await? + 1_000;
        let call = calls::request_training(
            name,
            base_model,
            pool,
            TrainingMethod::Lora,
            hyperparameters_hash,
            TRAINING_BUDGET,
            deadline,
            previous,
        );
        let events = self
            .execute(developer, call)
            .await
            .context("request_training")?;
        let (job, _, model) =
            event::<(JobId, AccountId, ModelId)>(&events, "Compute", "JobPosted")?;
        Ok((job, model))
    }

    /// The whole training flow: [`Chain::prove_adapter`], then waits out the challenge window
    /// and settles.
    pub async fn train_adapter(&self) -> Result<TrainedAdapter> {
        let proven = self.prove_adapter().await?;
        let (operator, job, challenge_end) = (&proven.operator, proven.job, proven.challenge_end);
        // `settle` needs a block after the window; the next block after this finalized one is.
        wait_finalized(
            &self.rpc,
            u64::from(challenge_end),
            Duration::from_secs(240),
        )
        .await?;
        let events = self
            .execute(operator, calls::settle(job))
            .await
            .context("settle")?;
        let (settled, _, _, operator_paid, contributors_paid) =
            event::<(JobId, ModelId, AccountId, Balance, Balance)>(
                &events,
                "Compute",
                "JobSettled",
            )?;
        ensure!(settled == job, "settled job {settled}, expected {job}");
        ensure!(
            proven.adapter_receipt.is_some(),
            "prove_adapter uploads the adapter"
        );
        Ok(TrainedAdapter {
            proven,
            operator_paid,
            contributors_paid,
        })
    }

    /// The training flow up to the proof: publishes the sample datanet, registers a base model
    /// (Ferdie) and an operator (Eve, worker key from a seed the test holds), posts a LoRA job,
    /// claims it, submits a signed proof and uploads the adapter. The proof's challenge window
    /// is open.
    pub async fn prove_adapter(&self) -> Result<ProvenJob> {
        let mut proven = self.prove_adapter_without_upload().await?;
        // The worker publishes the adapter once its proof is accepted.
        proven.adapter_receipt = Some(
            self.upload_artifact(&proven.adapter)
                .await
                .context("artifacts_upload of the proven adapter")?,
        );
        Ok(proven)
    }

    /// [`Self::prove_adapter`] but for the adapter's upload: the chain announces the adapter and
    /// the node does not store it yet.
    pub async fn prove_adapter_without_upload(&self) -> Result<ProvenJob> {
        let developer = dev::ferdie();
        let operator = dev::eve();
        let worker = sr25519::Pair::from_seed(&WORKER_SEED);
        let base = sample_base_model();
        let (datanet, base_model, ()) = tokio::try_join!(
            self.publish_sample_datanet(),
            self.register_base_model(&developer, "e2e-llama-tiny", &base),
            self.register_operator(&operator, &worker),
        )?;

        let developer_before = self.balance(&account(&developer)).await?;
        let hyperparameters = SAMPLE_HYPERPARAMETERS.to_vec();
        let (job, model) = self
            .post_job(
                &developer,
                "e2e-llama-tiny-lora",
                base_model,
                datanet.pool,
                content_hash(&hyperparameters),
                None,
            )
            .await?;
        // The developer publishes the hyper-parameters once the job announces their hash.
        let hyperparameters_receipt = self
            .upload_artifact(&hyperparameters)
            .await
            .context("artifacts_upload of the job's hyper-parameters")?;

        self.execute(&operator, calls::claim_job(job))
            .await
            .context("claim_job")?;

        let adapter = sample_adapter(0);
        let payload = sample_proof(
            job,
            &worker,
            &base,
            &datanet,
            content_hash(&hyperparameters),
            &adapter,
            SAMPLE_METRICS,
        );
        let proof = SignedTrainingProof::sign(payload.clone(), &self.genesis_hash(), &worker);
        let events = self
            .execute(&operator, calls::submit_training_proof(&proof))
            .await
            .context("submit_training_proof")?;
        let (_, _, proposed, _, _, challenge_end) =
            event::<(JobId, AccountId, ModelId, Hash, Hash, BlockNumber)>(
                &events,
                "Compute",
                "ProofAccepted",
            )?;
        ensure!(
            proposed == model,
            "the proof proposed model {proposed}, the job trains {model}"
        );
        Ok(ProvenJob {
            datanet,
            developer,
            developer_before,
            operator,
            worker,
            base,
            base_model,
            model,
            job,
            hyperparameters,
            hyperparameters_receipt,
            adapter,
            adapter_receipt: None,
            proof: payload,
            challenge_end,
        })
    }
}

fn other(error: impl std::fmt::Display) -> TxError {
    TxError::Other(error.to_string())
}

/// The stake the test operator holds: the runtime's `MinOperatorStake`.
pub const OPERATOR_STAKE: Balance = 100 * OPEN;
/// The inference price per token the test operators advertise.
pub const OPERATOR_PRICE_PER_TOKEN: Balance = OPEN / 10;
/// The budget of the test training job.
pub const TRAINING_BUDGET: Balance = 50 * OPEN;
/// Seed of the test's worker key (not a dev key).
pub const WORKER_SEED: [u8; 32] = *b"attribution-e2e-worker-key-seed!";

/// The hyper-parameters file of the test training job, in the worker's format (`verify` reads
/// it).
pub const SAMPLE_HYPERPARAMETERS: &[u8] = br#"{"method":{"kind":"lora","rank":8,"alpha":16,"targets":["q_proj","v_proj"]},"train":{"steps":100,"batch_size":8,"learning_rate":0.0002,"warmup_steps":2,"checkpoint_every":50},"cutoff":64,"eval_fraction":0.2,"max_new_tokens":4}"#;

/// Held-out figures of the test adapter: 2.1 nats for the base model, 1.25 for the adapter.
pub const SAMPLE_METRICS: EvalMetrics = EvalMetrics {
    base_loss_ppm: 2_100_000,
    adapted_loss_ppm: 1_250_000,
    base_rouge_ppm: 180_000,
    adapted_rouge_ppm: 410_000,
};

/// The weights file of test adapter `i` (64 KiB of bytes that differ per `i`).
pub fn sample_adapter(i: u8) -> Vec<u8> {
    let mut bytes = b"e2e adapter weights (safetensors) ".to_vec();
    bytes.extend((0..64 * 1024u32).map(|n| (n as u8) ^ i));
    bytes
}

/// A proof of `job` by `worker` for `adapter` trained on `datanet` with `metrics`: every
/// contribution used, two checkpoints, and the last row of each contribution held out.
pub fn sample_proof(
    job: JobId,
    worker: &sr25519::Pair,
    base: &BaseModel,
    datanet: &SampleDatanet,
    hyperparameters_hash: Hash,
    adapter: &[u8],
    metrics: EvalMetrics,
) -> TrainingProof {
    let mut contributions: Vec<ContributionId> =
        datanet.contributions.iter().map(|c| c.id).collect();
    contributions.sort_unstable();
    let checkpoints = [
        content_hash(b"checkpoint 50"),
        content_hash(b"checkpoint 100"),
    ];
    let held_out: Vec<Hash> = datanet
        .contributions
        .iter()
        .filter_map(|c| c.bytes.split(|b| *b == b'\n').rfind(|row| !row.is_empty()))
        .map(content_hash)
        .collect();
    TrainingProof {
        job,
        worker_key: worker.public(),
        base_model_hash: base.weights_hash,
        dataset_root: datanet.merkle_root,
        hyperparameters_hash,
        adapter_hash: content_hash(adapter),
        adapter_size: adapter.len() as u64,
        adapter_cid: Cid::truncate_from(b"bafk2bzaceadapterexample".to_vec()),
        steps: 100,
        tokens: 51_200,
        metrics,
        held_out_root: merkle::root(&held_out),
        checkpoint_root: merkle::root(&checkpoints),
        contributions: ContributionList::truncate_from(contributions),
    }
}

/// JSONL rows of sample contribution `i`: prompt/completion rows and a text row.
pub fn sample_rows(i: usize) -> Vec<u8> {
    let mut rows = String::new();
    for row in 0..3 + i {
        rows.push_str(&format!(
            "{{\"prompt\":\"What is {i} + {row}?\",\"completion\":\"{}\"}}\n",
            i + row
        ));
    }
    rows.push_str(&format!(
        "{{\"text\":\"Contributor {i} wrote these rows.\"}}\n"
    ));
    rows.into_bytes()
}

/// A tiny Llama-shaped base model.
pub fn sample_base_model() -> BaseModel {
    BaseModel {
        architecture: Architecture {
            hidden_size: 256,
            intermediate_size: 688,
            num_layers: 4,
            num_attention_heads: 8,
            num_key_value_heads: 4,
            vocab_size: 32_000,
            max_position_embeddings: 2_048,
            rope_theta: 10_000,
        },
        parameters: 12_000_000,
        weights_hash: content_hash(b"e2e base weights (safetensors)"),
        weights_cid: Cid::truncate_from(b"bafk2bzacebaseweightsexample".to_vec()),
        tokenizer_hash: content_hash(b"e2e tokenizer.json"),
        license: attribution_primitives::models::License::truncate_from(b"Apache-2.0".to_vec()),
    }
}

/// One contribution of the sample datanet.
pub struct SampleContribution {
    pub contributor: Keypair,
    pub id: ContributionId,
    pub bytes: Vec<u8>,
    /// What `datanets_upload` answered.
    pub receipt: serde_json::Value,
}

impl SampleContribution {
    /// Its weight in the version's pool: its bytes' measured weight.
    pub fn weight(&self) -> u128 {
        u128::from(measure::weight(&self.bytes))
    }
}

/// A published datanet version with three contributors.
pub struct SampleDatanet {
    pub owner: Keypair,
    pub pool: PoolId,
    pub merkle_root: Hash,
    /// In approval (manifest) order.
    pub contributions: Vec<SampleContribution>,
}

impl SampleDatanet {
    /// The sum of the contributions' weights (their measured weights).
    pub fn total_weight(&self) -> u128 {
        self.contributions
            .iter()
            .map(SampleContribution::weight)
            .sum()
    }
}

/// A proven training job in its challenge window: the adapter is `Challengeable`.
pub struct ProvenJob {
    pub datanet: SampleDatanet,
    pub developer: Keypair,
    /// The developer's (free, reserved) OPEN just before posting the job.
    pub developer_before: (Balance, Balance),
    pub operator: Keypair,
    pub worker: sr25519::Pair,
    pub base: BaseModel,
    pub base_model: ModelId,
    pub model: ModelId,
    pub job: JobId,
    pub hyperparameters: Vec<u8>,
    pub hyperparameters_receipt: serde_json::Value,
    pub adapter: Vec<u8>,
    /// `artifacts_upload`'s receipt; `None` until the adapter is uploaded.
    pub adapter_receipt: Option<serde_json::Value>,
    pub proof: TrainingProof,
    pub challenge_end: BlockNumber,
}

/// A settled training job: the adapter is `Active` (and uploaded: `proven.adapter_receipt` is
/// set), with what settlement paid.
pub struct TrainedAdapter {
    pub proven: ProvenJob,
    pub operator_paid: Balance,
    pub contributors_paid: Balance,
}
