//! The model registry's records: base models, trained adapters and their lineage.
//!
//! A base model is registered by its owner with the hashes that identify its weights and tokenizer.
//! An adapter is created by pallet-compute when a developer requests a fine-tune, and carries its
//! lineage: the base model, the datanet version it was trained on (with that version's Merkle root),
//! the method and hyper-parameters, the job, and once a training proof arrives, the artifact and
//! evaluation metrics.

use crate::{traits::PoolId, AccountId, Balance, BlockNumber, DatanetId, Hash, JobId, ModelId};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::ConstU32;
use sp_runtime::{BoundedVec, DispatchError, DispatchResult};

/// Longest model name, in bytes.
pub const MAX_MODEL_NAME_LEN: u32 = 64;
/// Longest license identifier (an SPDX expression or a license's name), in bytes.
pub const MAX_LICENSE_LEN: u32 = 64;
/// Longest content identifier (a CIDv1 in its text form), in bytes.
pub const MAX_CID_LEN: u32 = 128;
/// Largest adapter weights file a node's content store accepts (64 MiB): a proof announcing a
/// larger adapter is refused, so every proven adapter can be uploaded.
pub const MAX_ADAPTER_BYTES: u64 = 64 * 1024 * 1024;

/// A model's human-readable name (UTF-8).
pub type ModelName = BoundedVec<u8, ConstU32<MAX_MODEL_NAME_LEN>>;
/// A license identifier (UTF-8).
pub type License = BoundedVec<u8, ConstU32<MAX_LICENSE_LEN>>;
/// A CIDv1 in its text form, under which the bytes can be fetched from a content store or IPFS.
pub type Cid = BoundedVec<u8, ConstU32<MAX_CID_LEN>>;

/// The shape of a Llama-family transformer, as its `config.json` states it.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Architecture {
    /// Width of the residual stream (`hidden_size`).
    pub hidden_size: u32,
    /// Width of the feed-forward layers (`intermediate_size`).
    pub intermediate_size: u32,
    /// Number of decoder blocks (`num_hidden_layers`).
    pub num_layers: u32,
    /// Number of query heads (`num_attention_heads`).
    pub num_attention_heads: u32,
    /// Number of key/value heads (`num_key_value_heads`; fewer than query heads means grouped-query attention).
    pub num_key_value_heads: u32,
    /// Tokenizer vocabulary size (`vocab_size`).
    pub vocab_size: u32,
    /// Longest context the model was trained for (`max_position_embeddings`).
    pub max_position_embeddings: u32,
    /// Base of the rotary position embedding (`rope_theta`), rounded to an integer.
    pub rope_theta: u32,
}

/// What identifies a base model's weights. Hashes are blake2-256 of the files' bytes.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct BaseModel {
    /// The transformer's shape.
    pub architecture: Architecture,
    /// Number of parameters.
    pub parameters: u64,
    /// Hash of the weights file (safetensors). Immutable: training proofs are checked against it.
    pub weights_hash: Hash,
    /// Where the weights can be fetched.
    pub weights_cid: Cid,
    /// Hash of the tokenizer file (`tokenizer.json`).
    pub tokenizer_hash: Hash,
    /// The license the weights are published under.
    pub license: License,
}

/// How an adapter is trained from its base model.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
pub enum TrainingMethod {
    /// Low-rank adapters on a full-precision base.
    Lora,
    /// Low-rank adapters on a 4-bit (NF4) quantized base.
    Qlora,
    /// Every weight is trained; the "adapter" is a full set of weights.
    Full,
}

/// Held-out evaluation of a trained adapter and of its base model, fixed-point in parts per
/// million ([`crate::PARTS_PER_MILLION`] = 1.0).
///
/// Both models are evaluated on the same held-out rows (the proof's `held_out_root` commits to
/// them), so the chain can compare them: an adapter is only accepted if
/// `adapted_loss_ppm < base_loss_ppm`.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
pub struct EvalMetrics {
    /// The base model's mean cross-entropy on the held-out rows (nats) × 10⁶; 2.5 is `2_500_000`.
    pub base_loss_ppm: u64,
    /// The adapted model's mean cross-entropy on the same rows (nats) × 10⁶.
    pub adapted_loss_ppm: u64,
    /// The base model's ROUGE-L F1 on the held-out rows × 10⁶, in `0..=1_000_000`.
    pub base_rouge_ppm: u32,
    /// The adapted model's ROUGE-L F1 on the same rows × 10⁶, in `0..=1_000_000`.
    pub adapted_rouge_ppm: u32,
}

impl EvalMetrics {
    /// Whether both ROUGE figures are at most one.
    pub fn rouge_in_range(&self) -> bool {
        self.base_rouge_ppm <= crate::PARTS_PER_MILLION
            && self.adapted_rouge_ppm <= crate::PARTS_PER_MILLION
    }

    /// Whether the adapted model's held-out loss is strictly below the base model's.
    pub fn improves(&self) -> bool {
        self.adapted_loss_ppm < self.base_loss_ppm
    }

    /// Whether this adapter's held-out loss is at most `previous_loss_ppm × (1 + bound_ppm / 10⁶)`
    /// (rounded down), the rule a new version of a model must meet against the version it
    /// replaces. Computed in `u128`, so it cannot overflow.
    pub fn within_regression_bound(&self, previous_loss_ppm: u64, bound_ppm: u32) -> bool {
        let million = u128::from(crate::PARTS_PER_MILLION);
        let limit = u128::from(previous_loss_ppm)
            .saturating_mul(million.saturating_add(u128::from(bound_ppm)))
            / million;
        u128::from(self.adapted_loss_ppm) <= limit
    }
}

/// What a fine-tune is requested to be: known when the job is posted.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct TrainingSpec {
    /// The base model the adapter is trained on.
    pub base_model: ModelId,
    /// The datanet version it is trained on.
    pub pool: PoolId,
    /// That version's Merkle root, copied when the job is posted (versions are immutable).
    pub dataset_root: Hash,
    /// The training method.
    pub method: TrainingMethod,
    /// blake2-256 of the hyper-parameters file the worker trains with.
    pub hyperparameters_hash: Hash,
    /// The training job in pallet-compute.
    pub job: JobId,
    /// The adapter this one is a new version of: an `Active` adapter of the same owner and base
    /// model when the job was posted. Its held-out loss bounds this one's (see
    /// [`EvalMetrics::within_regression_bound`]).
    pub previous: Option<ModelId>,
}

/// What a verified training proof adds to an adapter's lineage.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct TrainedArtifact<AccountId> {
    /// The operator whose worker trained it.
    pub trainer: AccountId,
    /// blake2-256 of the SCALE-encoded training proof payload (the signature is not part of it, as
    /// sr25519 signatures are randomized).
    pub proof_hash: Hash,
    /// Hash of the adapter's weights file (safetensors).
    pub adapter_hash: Hash,
    /// Size of the adapter's weights file in bytes: a node stores the file only with this size.
    pub adapter_size: u64,
    /// Where the adapter can be fetched.
    pub adapter_cid: Cid,
    /// Merkle root over the blake2-256 hashes of the held-out rows the metrics were measured on.
    pub held_out_root: Hash,
    /// Merkle root over the checkpoint hashes taken during training.
    pub checkpoint_root: Hash,
    /// Optimizer steps run.
    pub steps: u64,
    /// Tokens trained on.
    pub tokens: u64,
    /// Number of contributions the proof says were used.
    pub contributions_used: u32,
    /// Held-out evaluation of the adapter and its base model.
    pub metrics: EvalMetrics,
}

/// Where an adapter comes from.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Lineage<AccountId> {
    /// What was requested.
    pub spec: TrainingSpec,
    /// What was delivered; `None` while the model is [`ModelStatus::Training`].
    pub artifact: Option<TrainedArtifact<AccountId>>,
}

/// A base model or an adapter trained from one.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub enum ModelKind<AccountId> {
    /// Registered directly by its owner.
    Base(BaseModel),
    /// Trained on chain-tracked data.
    Adapter(Lineage<AccountId>),
}

/// Where a model is in its life.
///
/// ```text
/// adapter:  Training ──proof──▶ Challengeable ──window passes──▶ Active ──owner──▶ Retired
///                                     └──fraud proven──▶ Rejected
/// base:     Active ──owner──▶ Retired
/// ```
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
pub enum ModelStatus {
    /// A training job is posted; no adapter exists yet.
    Training,
    /// A training proof was accepted and may still be challenged.
    Challengeable,
    /// Usable: may serve paid inference (and, for base models, be fine-tuned).
    Active,
    /// Withdrawn by its owner; kept for the lineage of models trained from it.
    Retired,
    /// Its training proof was shown to be fraudulent.
    Rejected,
}

/// One entry of the model registry.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct ModelRecord<AccountId, Balance, BlockNumber> {
    /// Who owns it: receives the model owner's share of inference fees and may update or retire it.
    pub owner: AccountId,
    /// Human-readable name.
    pub name: ModelName,
    /// Base model or adapter, with what identifies it.
    pub kind: ModelKind<AccountId>,
    /// Where it is in its life.
    pub status: ModelStatus,
    /// OPEN held from the owner while the model is registered (zero for adapters: their job's budget
    /// is their stake).
    pub deposit: Balance,
    /// Block in which it was registered.
    pub registered_at: BlockNumber,
}

/// A model together with the base model it was trained from: the answer of [`ModelsApi::model`].
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct ModelWithLineage<AccountId, Balance, BlockNumber> {
    /// Its id.
    pub id: ModelId,
    /// Its record.
    pub model: ModelRecord<AccountId, Balance, BlockNumber>,
    /// For an adapter, its base model's id and record; `None` for a base model.
    pub base: Option<(ModelId, ModelRecord<AccountId, Balance, BlockNumber>)>,
}

/// An adapter whose training proof was accepted, as a content store asks about its file: the
/// answer of [`ModelsApi::proven_adapter`].
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ProvenAdapter {
    /// The adapter model.
    pub model: ModelId,
    /// Its weights file's size in bytes.
    pub size: u64,
}

/// How pallet-compute drives an adapter through its life in pallet-models.
pub trait ModelsRegistry<AccountId> {
    /// Creates an adapter in [`ModelStatus::Training`] owned by `owner`. Fails unless
    /// `spec.base_model` is an `Active` base model and `spec.previous`, if any, is an `Active`
    /// adapter owned by `owner` trained from the same base model.
    fn begin_training(
        owner: &AccountId,
        name: ModelName,
        spec: TrainingSpec,
    ) -> Result<ModelId, DispatchError>;
    /// Removes an adapter still in `Training` whose job was cancelled.
    fn abandon(model: ModelId) -> DispatchResult;
    /// Records the trained artifact: `Training` → `Challengeable`. Another adapter may have the
    /// same adapter hash (identical jobs train identical files).
    fn propose(model: ModelId, artifact: TrainedArtifact<AccountId>) -> DispatchResult;
    /// The challenge window passed: `Challengeable` → `Active`.
    fn activate(model: ModelId) -> DispatchResult;
    /// Fraud was proven: `Challengeable` → `Rejected`; the adapter hash is no longer indexed to it.
    fn reject(model: ModelId) -> DispatchResult;
    /// The held-out evaluation of a proven adapter (any status after `Training`), `None` for a
    /// base model, an adapter still training, or no model.
    fn trained_metrics(model: ModelId) -> Option<EvalMetrics>;
}

/// A page of the adapters trained on a datanet, by id.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct ModelsPage {
    /// The adapters among the ids this page read, lowest first.
    pub models: alloc::vec::Vec<ModelId>,
    /// The id to ask for next, `None` when this page read up to the last model.
    pub next: Option<ModelId>,
}

sp_api::decl_runtime_apis! {
    /// Queries of the model registry.
    pub trait ModelsApi {
        /// A model with its full lineage, `None` if there is no such model.
        fn model(id: ModelId) -> Option<ModelWithLineage<AccountId, Balance, BlockNumber>>;
        /// The `Active` base model whose weights file has this hash, else one proven adapter whose
        /// adapter file has it (adapter hashes are not unique).
        fn model_by_artifact(hash: Hash) -> Option<ModelId>;
        /// The adapters trained on a datanet (any version), lowest ids first from `from`: at most
        /// `max` (and at most [`MAX_PAGE_LEN`](crate::paging::MAX_PAGE_LEN)) among at most
        /// [`MAX_PAGE_SCAN`](crate::paging::MAX_PAGE_SCAN) ids, with the id to continue from.
        fn models_trained_on(datanet: DatanetId, from: ModelId, max: u32) -> ModelsPage;
        /// The proven adapter (`Challengeable` or `Active`) whose weights file has this hash, with
        /// the file's size: what a content store may accept under this hash.
        fn proven_adapter(hash: Hash) -> Option<ProvenAdapter>;
    }
}
