//! A connection to an `attribution-node`: runtime API queries at the finalized head,
//! transactions waited on until finalized, and the node's content store over RPC.

use crate::runtime;
use anyhow::{anyhow, Context, Result};
use attribution_primitives::{
    attribution::{
        AllowanceInfo, AttributionChallenge, AttributionChallengeId, BatchCommitment, BatchId,
        CreditInfo, NonceWindow, RecordId, RecordRejection, SettledRecord, SignedInferenceBatch,
    },
    compute::{
        Challenge, ChallengeId, Endpoint, Hardware, JobInfo, OperatorInfo, SignedTrainingProof,
        WorkerKeyPossession,
    },
    models::ModelWithLineage,
    AccountId, Balance, BlockNumber, DatanetId, Hash, JobId, ModelId, VersionIndex,
};
use serde::Deserialize;
use sp_core::sr25519;
use std::time::Duration;
use subxt::{
    rpcs::{rpc_params, RpcClient},
    utils::Static,
    OnlineClient, SubstrateConfig,
};
use subxt_signer::sr25519::Keypair;

/// A job as the chain reports it.
pub type Job = JobInfo<AccountId, Balance, BlockNumber>;
/// A model with its lineage.
pub type Model = ModelWithLineage<AccountId, Balance, BlockNumber>;
/// An open challenge of a training proof, with its jury and votes.
pub type OpenChallenge = Challenge<AccountId, Balance, BlockNumber>;

/// What became of a submitted inference batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledBatch {
    /// The batch's id on chain.
    pub id: BatchId,
    /// Its commitment: counts and sums over the settled records only.
    pub commitment: BatchCommitment,
    /// The records not settled: their index in the batch and why. They moved no funds and used
    /// no nonce.
    pub rejected: Vec<(u32, RecordRejection)>,
}

/// Largest RPC message the client sends or accepts: an adapter upload travels as hex.
const MAX_MESSAGE_BYTES: u32 = 512 * 1024 * 1024;
/// How long a transaction may take from submission to finality.
const FINALITY_TIMEOUT: Duration = Duration::from_secs(180);

/// Why a chain operation failed, so callers can tell a refusal from a node that went away.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The runtime refused the transaction (`Pallet::Error`).
    #[error("the chain refused the transaction: {0}")]
    Dispatch(String),
    /// The node's RPC answered with an error.
    #[error("{method} failed: {message} (code {code})")]
    Rpc {
        method: String,
        code: i32,
        message: String,
    },
    /// The node could not be reached or the connection dropped; worth retrying.
    #[error("node unreachable: {0}")]
    Connection(String),
}

impl ChainError {
    /// Whether the same request may succeed later (the node was unreachable).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Connection(_))
    }

    /// The runtime error's name (`Compute::JobNotOpen`), for a refused transaction.
    pub fn dispatch_error(&self) -> Option<&str> {
        match self {
            Self::Dispatch(name) => Some(name),
            _ => None,
        }
    }

    /// The code of an RPC error answer (the content store's are
    /// `attribution_primitives::content_store::codes`).
    pub fn rpc_code(&self) -> Option<i32> {
        match self {
            Self::Rpc { code, .. } => Some(*code),
            _ => None,
        }
    }
}

fn connection(error: impl std::fmt::Display) -> anyhow::Error {
    ChainError::Connection(error.to_string()).into()
}

/// One blob of a datanet version (`datanets_version`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestBlob {
    pub contribution: u64,
    pub hash: Hash,
    pub size: u64,
}

/// A published version's blobs in Merkle leaf order (`datanets_version`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionManifest {
    pub merkle_root: Hash,
    pub blobs: Vec<ManifestBlob>,
}

/// A connected node.
#[derive(Clone)]
pub struct Chain {
    client: OnlineClient<SubstrateConfig>,
    rpc: RpcClient,
    genesis: Hash,
    url: String,
}

impl Chain {
    /// Connects to the node at `url` (`ws://` or `wss://`).
    pub async fn connect(url: &str) -> Result<Self> {
        let ws = jsonrpsee::ws_client::WsClientBuilder::default()
            .max_request_size(MAX_MESSAGE_BYTES)
            .max_response_size(MAX_MESSAGE_BYTES)
            .request_timeout(Duration::from_secs(300))
            .build(url)
            .await
            .map_err(|e| connection(format!("{url}: {e}")))?;
        let rpc = RpcClient::new(ws);
        let client = OnlineClient::<SubstrateConfig>::from_rpc_client(rpc.clone())
            .await
            .map_err(|e| connection(format!("{url}: {e}")))?;
        let genesis = Hash::from(client.genesis_hash().0);
        Ok(Self {
            client,
            rpc,
            genesis,
            url: url.to_string(),
        })
    }

    /// Connects, retrying with exponential backoff (1 s doubling to 30 s) for up to `patience`.
    pub async fn connect_with_retry(url: &str, patience: Duration) -> Result<Self> {
        let started = std::time::Instant::now();
        let mut delay = Duration::from_secs(1);
        loop {
            match Self::connect(url).await {
                Ok(chain) => return Ok(chain),
                Err(error) if started.elapsed() + delay < patience => {
                    tracing::warn!(%url, retry_in = ?delay, "cannot reach the node: {error:#}");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The chain's genesis block hash: proofs are signed for it.
    pub fn genesis(&self) -> Hash {
        self.genesis
    }

    /// The number of the latest finalized block.
    pub async fn finalized_number(&self) -> Result<BlockNumber> {
        let at = self.client.at_current_block().await.map_err(connection)?;
        Ok(BlockNumber::try_from(at.block_number())?)
    }

    /// Waits for the next finalized block after `after` (polling every second) and returns its number.
    pub async fn next_finalized(&self, after: BlockNumber) -> Result<BlockNumber> {
        loop {
            let now = self.finalized_number().await?;
            if now > after {
                return Ok(now);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn call_api<P: subxt::runtime_apis::Payload>(&self, payload: P) -> Result<P::ReturnType> {
        let at = self.client.at_current_block().await.map_err(connection)?;
        at.runtime_apis()
            .call(payload)
            .await
            .map_err(|e| connection(format!("runtime API: {e}")))
    }

    /// A registered operator.
    pub async fn operator(&self, who: &AccountId) -> Result<Option<OperatorInfo<Balance>>> {
        let who = subxt::utils::AccountId32(*who.as_ref());
        let answer = self
            .call_api(runtime::runtime_apis().compute_api().operator(who))
            .await?;
        Ok(answer.map(|Static(info)| info))
    }

    /// A registered operator's advertised inference price per token, `None` if not registered.
    pub async fn inference_price(&self, operator: &AccountId) -> Result<Option<Balance>> {
        Ok(self
            .operator(operator)
            .await?
            .map(|info| info.price_per_token))
    }

    /// Up to `max` registered operators with their endpoint and price, starting after `after`
    /// (from the first if `None`; the runtime caps a page at `MAX_OPERATORS_PAGE`).
    pub async fn operators(
        &self,
        after: Option<&AccountId>,
        max: u32,
    ) -> Result<Vec<(AccountId, OperatorInfo<Balance>)>> {
        let after = after.map(|who| subxt::utils::AccountId32(*who.as_ref()));
        let answer = self
            .call_api(runtime::runtime_apis().compute_api().operators(after, max))
            .await?;
        Ok(answer
            .into_iter()
            .map(|(who, Static(info))| (AccountId::new(who.0), info))
            .collect())
    }

    /// `who`'s inference credit not granted to any operator (zero if none).
    pub async fn credit(&self, who: &AccountId) -> Result<CreditInfo> {
        let who = subxt::utils::AccountId32(*who.as_ref());
        let Static(credit) = self
            .call_api(runtime::runtime_apis().attribution_api().credit(who))
            .await?;
        Ok(credit)
    }

    /// `user`'s allowance for `operator`, with its announced reduction (zero if none). A worker
    /// is sure to be paid for a record it settles in time while the balance, less a reduction
    /// unlocking before it settles, covers its unsettled fees for the user plus the `max_fee`.
    pub async fn allowance(&self, user: &AccountId, operator: &AccountId) -> Result<AllowanceInfo> {
        let user = subxt::utils::AccountId32(*user.as_ref());
        let operator = subxt::utils::AccountId32(*operator.as_ref());
        let Static(allowance) = self
            .call_api(
                runtime::runtime_apis()
                    .attribution_api()
                    .allowance(user, operator),
            )
            .await?;
        Ok(allowance)
    }

    /// The authorization nonces `user` has used with `operator`, `None` if none yet.
    pub async fn nonce_window(
        &self,
        user: &AccountId,
        operator: &AccountId,
    ) -> Result<Option<NonceWindow>> {
        let user = subxt::utils::AccountId32(*user.as_ref());
        let operator = subxt::utils::AccountId32(*operator.as_ref());
        let answer = self
            .call_api(
                runtime::runtime_apis()
                    .attribution_api()
                    .nonce_window(user, operator),
            )
            .await?;
        Ok(answer.map(|Static(window)| window))
    }

    /// A job that is open, claimed, proven or challenged.
    pub async fn job(&self, id: JobId) -> Result<Option<Job>> {
        let answer = self
            .call_api(runtime::runtime_apis().compute_api().job(id))
            .await?;
        Ok(answer.map(|Static(job)| job))
    }

    /// Up to `max` open jobs, lowest ids first from `from`, walking the runtime's bounded pages
    /// (each reads a bounded range of ids and says where the next starts).
    pub async fn open_jobs(&self, from: JobId, max: u32) -> Result<Vec<(JobId, Job)>> {
        let mut jobs = Vec::new();
        let mut next = Some(from);
        while let Some(start) = next {
            let wanted = max.saturating_sub(u32::try_from(jobs.len()).unwrap_or(u32::MAX));
            if wanted == 0 {
                break;
            }
            let Static(page) = self
                .call_api(
                    runtime::runtime_apis()
                        .compute_api()
                        .open_jobs(start, wanted),
                )
                .await?;
            jobs.extend(page.jobs);
            next = page.next;
        }
        Ok(jobs)
    }

    /// An open challenge with its jury and votes (`None` once resolved, or never opened).
    pub async fn open_challenge(&self, id: ChallengeId) -> Result<Option<OpenChallenge>> {
        let answer = self
            .call_api(runtime::runtime_apis().compute_api().challenge(id))
            .await?;
        Ok(answer.map(|Static(challenge)| challenge))
    }

    /// The id the next challenge will get: every challenge so far has a lower one.
    pub async fn next_challenge_id(&self) -> Result<ChallengeId> {
        let at = self.client.at_current_block().await.map_err(connection)?;
        let value = at
            .storage()
            .try_fetch(runtime::storage().compute().next_challenge_id(), ())
            .await
            .map_err(connection)?;
        Ok(value
            .map(|v| {
                v.decode()
                    .map_err(|e| anyhow!("decoding Compute.NextChallengeId: {e}"))
            })
            .transpose()?
            .unwrap_or(0))
    }

    /// An open attribution challenge with its prompt, answer, record and jury (`None` once
    /// resolved, or never opened).
    pub async fn attribution_challenge(
        &self,
        id: AttributionChallengeId,
    ) -> Result<Option<AttributionChallenge>> {
        let answer = self
            .call_api(
                runtime::runtime_apis()
                    .attribution_api()
                    .attribution_challenge(id),
            )
            .await?;
        Ok(answer.map(|Static(challenge)| challenge))
    }

    /// A settled record still kept for its challenge window.
    pub async fn settled_record(&self, id: RecordId) -> Result<Option<SettledRecord>> {
        let answer = self
            .call_api(runtime::runtime_apis().attribution_api().record(id))
            .await?;
        Ok(answer.map(|Static(record)| record))
    }

    /// The id the next attribution challenge will get.
    pub async fn next_attribution_challenge_id(&self) -> Result<AttributionChallengeId> {
        let at = self.client.at_current_block().await.map_err(connection)?;
        let value = at
            .storage()
            .try_fetch(
                runtime::storage()
                    .attribution()
                    .next_attribution_challenge_id(),
                (),
            )
            .await
            .map_err(connection)?;
        Ok(value
            .map(|v| {
                v.decode()
                    .map_err(|e| anyhow!("decoding Attribution.NextAttributionChallengeId: {e}"))
            })
            .transpose()?
            .unwrap_or(0))
    }

    /// The seats `operator` holds on attribution challenges' juries (`Compute::LentSeats`).
    pub async fn lent_seats(&self, operator: &AccountId) -> Result<u32> {
        let at = self.client.at_current_block().await.map_err(connection)?;
        let operator = subxt::utils::AccountId32(*operator.as_ref());
        let value = at
            .storage()
            .try_fetch(runtime::storage().compute().lent_seats(), (operator,))
            .await
            .map_err(connection)?;
        Ok(value
            .map(|v| {
                v.decode()
                    .map_err(|e| anyhow!("decoding Compute.LentSeats: {e}"))
            })
            .transpose()?
            .unwrap_or(0))
    }

    /// A model with its lineage.
    pub async fn model(&self, id: ModelId) -> Result<Option<Model>> {
        let answer = self
            .call_api(runtime::runtime_apis().models_api().model(id))
            .await?;
        Ok(answer.map(|Static(model)| model))
    }

    /// Free OPEN of `who`.
    pub async fn free_balance(&self, who: &AccountId) -> Result<Balance> {
        let at = self.client.at_current_block().await.map_err(connection)?;
        let account = subxt::utils::AccountId32(*who.as_ref());
        let info = at
            .storage()
            .fetch(runtime::storage().system().account(), (account,))
            .await
            .map_err(connection)?
            .decode()
            .map_err(|e| anyhow!("decoding System.Account: {e}"))?;
        Ok(info.data.free)
    }

    /// The highest inference batch nonce the chain settled for `operator`, `None` if none yet.
    pub async fn last_batch_nonce(&self, operator: &AccountId) -> Result<Option<u64>> {
        let at = self.client.at_current_block().await.map_err(connection)?;
        let operator = subxt::utils::AccountId32(*operator.as_ref());
        let value = at
            .storage()
            .try_fetch(runtime::storage().attribution().batch_nonces(), (operator,))
            .await
            .map_err(connection)?;
        value
            .map(|v| {
                v.decode()
                    .map_err(|e| anyhow!("decoding Attribution.BatchNonces: {e}"))
            })
            .transpose()
    }

    /// Signs `call` with `signer`, submits it and waits until it is finalized; a dispatch error
    /// comes back as [`ChainError::Dispatch`].
    pub async fn submit<Call: subxt::transactions::Payload>(
        &self,
        signer: &Keypair,
        call: &Call,
    ) -> Result<subxt::extrinsics::ExtrinsicEvents<SubstrateConfig>> {
        let at = self.client.at_current_block().await.map_err(connection)?;
        let progress = at
            .transactions()
            .sign_and_submit_then_watch_default(call, signer)
            .await
            .map_err(|e| ChainError::Dispatch(format!("the pool refused it: {e}")))?;
        let events = tokio::time::timeout(FINALITY_TIMEOUT, progress.wait_for_finalized_success())
            .await
            .map_err(|_| connection(format!("not finalized within {FINALITY_TIMEOUT:?}")))?;
        events.map_err(|e| dispatch_error(&e).into())
    }

    /// `Compute::register_operator` of `worker`'s public key, with `worker`'s signature proving
    /// that `signer`'s account holds it, advertising `price_per_token` for inference.
    pub async fn register_operator(
        &self,
        signer: &Keypair,
        worker: &sr25519::Pair,
        hardware: Hardware,
        endpoint: Endpoint,
        stake: Balance,
        price_per_token: Balance,
    ) -> Result<()> {
        use sp_core::Pair as _;
        let operator = AccountId::from(signer.public_key().0);
        let possession = WorkerKeyPossession::sign(operator, &self.genesis, worker);
        let call = runtime::transactions().compute().register_operator(
            worker.public().0,
            possession.0,
            Static(hardware),
            runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec(
                endpoint.into_inner(),
            ),
            stake,
            price_per_token,
        );
        self.submit(signer, &call).await.map(drop)
    }

    /// `Attribution::submit_inference_batch`: settles the batch's valid records; returns its
    /// commitment and the records the runtime rejected. A refused batch (bad worker signature,
    /// not the operator, empty, batch nonce used) is a [`ChainError::Dispatch`].
    pub async fn submit_inference_batch(
        &self,
        signer: &Keypair,
        batch: SignedInferenceBatch,
    ) -> Result<SettledBatch> {
        let call = runtime::transactions()
            .attribution()
            .submit_inference_batch(Static(batch));
        let events = self.submit(signer, &call).await?;
        let settled = events
            .find_first::<runtime::attribution::events::BatchSettled>()
            .context("the batch finalized without a BatchSettled event")?
            .map_err(|e| anyhow!("decoding BatchSettled: {e}"))?;
        let rejected = events
            .find::<runtime::attribution::events::InferenceRejected>()
            .map(|event| {
                let event = event.map_err(|e| anyhow!("decoding InferenceRejected: {e}"))?;
                Ok((event.index, event.reason.0))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SettledBatch {
            id: settled.id,
            commitment: settled.commitment.0,
            rejected,
        })
    }

    /// `Attribution::deposit_credit`: moves `amount` of the signer's OPEN into inference credit.
    pub async fn deposit_credit(&self, signer: &Keypair, amount: Balance) -> Result<()> {
        let call = runtime::transactions().attribution().deposit_credit(amount);
        self.submit(signer, &call).await.map(drop)
    }

    /// `Attribution::grant_allowance`: lets `operator`'s records charge `amount` more of the
    /// signer's credit.
    pub async fn grant_allowance(
        &self,
        signer: &Keypair,
        operator: &AccountId,
        amount: Balance,
    ) -> Result<()> {
        let operator = subxt::utils::AccountId32(*operator.as_ref());
        let call = runtime::transactions()
            .attribution()
            .grant_allowance(operator, amount);
        self.submit(signer, &call).await.map(drop)
    }

    /// `Compute::claim_job`.
    pub async fn claim_job(&self, signer: &Keypair, job: JobId) -> Result<()> {
        let call = runtime::transactions().compute().claim_job(job);
        self.submit(signer, &call).await.map(drop)
    }

    /// `Compute::submit_training_proof`.
    pub async fn submit_training_proof(
        &self,
        signer: &Keypair,
        proof: SignedTrainingProof,
    ) -> Result<()> {
        let call = runtime::transactions()
            .compute()
            .submit_training_proof(Static(proof));
        self.submit(signer, &call).await.map(drop)
    }

    /// `Compute::settle`; returns what the operator was paid.
    pub async fn settle(&self, signer: &Keypair, job: JobId) -> Result<Balance> {
        let call = runtime::transactions().compute().settle(job);
        let events = self.submit(signer, &call).await?;
        let settled = events
            .find_first::<runtime::compute::events::JobSettled>()
            .context("settle finalized without a JobSettled event")?
            .map_err(|e| anyhow!("decoding JobSettled: {e}"))?;
        Ok(settled.operator_paid)
    }

    /// `Compute::challenge` with `evidence` (hash of the case made off chain), holding the
    /// challenge bond from `signer` (any account); returns the challenge's id and the last block
    /// its jury may vote in.
    pub async fn challenge(
        &self,
        signer: &Keypair,
        job: JobId,
        evidence: Hash,
    ) -> Result<(ChallengeId, BlockNumber)> {
        let call = runtime::transactions().compute().challenge(job, evidence);
        let events = self.submit(signer, &call).await?;
        let opened = events
            .find_first::<runtime::compute::events::Challenged>()
            .context("challenge finalized without a Challenged event")?
            .map_err(|e| anyhow!("decoding Challenged: {e}"))?;
        Ok((opened.challenge, opened.vote_end))
    }

    /// `Compute::vote`: a juror's verdict on a challenge (`fraud` when its re-run of the
    /// verification does not reproduce the proof's figures).
    pub async fn vote(&self, signer: &Keypair, challenge: ChallengeId, fraud: bool) -> Result<()> {
        let call = runtime::transactions().compute().vote(challenge, fraud);
        self.submit(signer, &call).await.map(drop)
    }

    /// `Attribution::challenge_attribution`: challenges settled record `record` with the prompt
    /// (the exact request body the user signed) and the answer, holding the challenge bond.
    /// Returns the challenge's id and the block its vote ends at.
    pub async fn challenge_attribution(
        &self,
        signer: &Keypair,
        record: RecordId,
        prompt: Vec<u8>,
        answer: Vec<u8>,
    ) -> Result<(AttributionChallengeId, BlockNumber)> {
        use runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec;
        let call = runtime::transactions().attribution().challenge_attribution(
            record,
            BoundedVec(prompt),
            BoundedVec(answer),
        );
        let events = self.submit(signer, &call).await?;
        let opened = events
            .find_first::<runtime::attribution::events::AttributionChallenged>()
            .context("the challenge finalized without an AttributionChallenged event")?
            .map_err(|e| anyhow!("decoding AttributionChallenged: {e}"))?;
        Ok((opened.challenge, opened.vote_end))
    }

    /// `Attribution::vote_attribution`: a juror's verdict on an attribution challenge
    /// (`misattributed` when its recomputation is farther than the tolerance from the record).
    pub async fn vote_attribution(
        &self,
        signer: &Keypair,
        challenge: AttributionChallengeId,
        misattributed: bool,
    ) -> Result<()> {
        let call = runtime::transactions()
            .attribution()
            .vote_attribution(challenge, misattributed);
        self.submit(signer, &call).await.map(drop)
    }

    /// Calls a node RPC method; an error answer comes back as [`ChainError::Rpc`].
    pub async fn rpc<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: subxt::rpcs::client::RpcParams,
    ) -> Result<T> {
        self.rpc.request(method, params).await.map_err(|error| {
            match error {
                subxt::rpcs::Error::User(user) => ChainError::Rpc {
                    method: method.to_string(),
                    code: user.code,
                    message: user.message,
                },
                other => ChainError::Connection(format!("{method}: {other}")),
            }
            .into()
        })
    }

    /// `datanets_version`: the manifest of a published version.
    pub async fn version_manifest(
        &self,
        datanet: DatanetId,
        version: VersionIndex,
    ) -> Result<VersionManifest> {
        self.rpc("datanets_version", rpc_params![datanet, version])
            .await
    }

    /// `datanets_get`: a stored blob, by its blake2-256 hash (not yet verified: see callers).
    pub async fn blob(&self, hash: Hash) -> Result<Vec<u8>> {
        let hex: String = self
            .rpc("datanets_get", rpc_params![format!("{hash:?}")])
            .await?;
        decode_hex(&hex)
    }

    /// `artifacts_get`: a hyper-parameters file or an adapter, by its blake2-256 hash (not yet
    /// verified: see callers).
    pub async fn artifact(&self, hash: Hash) -> Result<Vec<u8>> {
        let hex: String = self
            .rpc("artifacts_get", rpc_params![format!("{hash:?}")])
            .await?;
        decode_hex(&hex)
    }

    /// `artifacts_upload`: stores a hyper-parameters file or an adapter the chain announced.
    pub async fn upload_artifact(&self, bytes: &[u8]) -> Result<serde_json::Value> {
        self.rpc(
            "artifacts_upload",
            rpc_params![format!("0x{}", hex::encode(bytes))],
        )
        .await
    }
}

/// `0x`-prefixed hex to bytes.
pub fn decode_hex(text: &str) -> Result<Vec<u8>> {
    let digits = text
        .strip_prefix("0x")
        .context("expected 0x-prefixed hex")?;
    Ok(hex::decode(digits)?)
}

/// The runtime error's `Pallet::Error` name when there is one, else subxt's description.
fn dispatch_error(error: &subxt::error::TransactionFinalizedSuccessError) -> ChainError {
    ChainError::Dispatch(error.to_string())
}
