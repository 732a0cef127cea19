//! # Models
//!
//! The registry of models on Attribution Chain: base models registered by their owners, and
//! adapters fine-tuned from them on a datanet version, each with its full lineage.
//!
//! ## Index
//!
//! * [Key terms](#key-terms)
//! * [Usage](#usage)
//! * [Implementor's guide](#implementors-guide)
//! * [Design](#design)
//!
//! ## Key terms
//!
//! * model: an entry of [`Models`], a [`ModelRecord`] under a [`ModelId`] assigned in registration
//!   order. Its [`ModelKind`] is either a base model or an adapter.
//! * base model: a [`BaseModel`]: the Llama-family [`Architecture`], parameter count, the hashes of
//!   its weights and tokenizer files, where the weights can be fetched (CID) and its license.
//! * adapter: a model trained from a base model by a training job of pallet-compute. Its
//!   [`Lineage`] holds what was requested ([`TrainingSpec`]: base model, datanet version and its
//!   Merkle root, method, hyper-parameters hash, job) and, once a proof arrives, what was
//!   delivered ([`TrainedArtifact`]: trainer, proof hash, adapter hash, size and CID, held-out
//!   root, checkpoint root, steps, tokens, held-out metrics of the base and the adapted model).
//! * status: [`ModelStatus`]. Adapters go `Training → Challengeable → Active → Retired`, or
//!   `Challengeable → Rejected` when their proof is shown to be fraudulent. Base models are
//!   `Active` from registration until retired.
//! * artifact hash: the weights hash of a base model or the adapter hash of an adapter. One
//!   `Active` base model at a time holds a weights hash ([`BaseModelByWeights`]); retiring it
//!   frees the hash. Adapter hashes are not unique ([`AdaptersByHash`]): two jobs with the same
//!   base, version and hyper-parameters train the same file, and both may finish; a rejected
//!   adapter leaves the index, so a fraudulent proof cannot hold a hash.
//! * deposit: OPEN held from a base model's owner ([`HoldReason::ModelDeposit`]) while the model is
//!   active, paying for its storage.
//!
//! ## Usage
//!
//! ### Register a base model
//!
//! [`Call::register_base_model`] records a name and a [`BaseModel`], holds
//! [`Config::BaseModelDeposit`] from the caller and makes the model `Active`. No other `Active`
//! base model may have the same weights hash (a retired one does not count), and the architecture must be consistent (every dimension non-zero, heads
//! dividing the hidden size, key/value heads dividing the heads).
//!
//! ### Update a base model
//!
//! [`Call::update_base_model`] lets the owner change the name, the weights CID (e.g. re-pinned
//! elsewhere) and the license of an `Active` base model. The hashes are immutable: training proofs
//! and the lineage of adapters refer to them.
//!
//! ### Retire a model
//!
//! [`Call::retire_model`] lets the owner withdraw an `Active` model: it stops serving inference
//! and, for a base model, stops accepting new training jobs. The record stays, so the lineage of
//! adapters trained from it stays complete; a base model's deposit is released and its weights
//! hash may be registered again (by its real author, if a squatter registered it first and was
//! made to retire it).
//!
//! ### Adapters (pallet-compute)
//!
//! Adapters are not created by calls: pallet-compute drives them through [`ModelsRegistry`] as its
//! training job progresses (post job → `Training`, proof accepted → `Challengeable`, challenge window
//! passed → `Active`, fraud proven → `Rejected`, job cancelled → removed).
//!
//! ## Implementor's guide
//!
//! * The [`ModelsApi`](attribution_primitives::models::ModelsApi) runtime API is answered by
//!   [`Pallet::model_with_lineage`], [`Pallet::model_by_artifact`],
//!   [`Pallet::models_trained_on`] and [`Pallet::proven_adapter`]. A node's content store accepts
//!   an adapter file only when `proven_adapter` answers for its hash with its exact size, so a
//!   worker uploads the adapter after its proof was accepted.
//! * A new version of an adapter names it as `previous` in its [`TrainingSpec`]: it must be an
//!   `Active` adapter of the same owner and base model when the job is posted. pallet-compute
//!   bounds the new version's held-out loss by the previous one's
//!   ([`ModelsRegistry::trained_metrics`]).
//! * Other pallets read models through [`ModelsInspect`]: only `Active` models may serve paid
//!   inference; base weights hashes are answered for base models in any status, so a job posted
//!   before its base model was retired can still be proven.
//! * Names, licenses and CIDs are opaque bytes (UTF-8 by convention), bounded by
//!   [`MAX_MODEL_NAME_LEN`](attribution_primitives::models::MAX_MODEL_NAME_LEN),
//!   [`MAX_LICENSE_LEN`](attribution_primitives::models::MAX_LICENSE_LEN) and
//!   [`MAX_CID_LEN`](attribution_primitives::models::MAX_CID_LEN).
//!
//! ## Design
//!
//! ### Goals
//!
//! * Every call and every registry transition touches a constant number of storage items.
//! * A model's lineage is immutable once written: only name, CID, license and status change.
//! * Nothing stored is free: base models are paid for by a deposit, adapters by their job's budget.
//!
//! ### Funds
//!
//! Deposits are holds on the owner's account ([`HoldReason::ModelDeposit`]); the pallet has no
//! account of its own.
//!
//! ### Invariants (checked by `do_try_state`)
//!
//! ```text
//! for every model:   id < NextModelId
//!                    base models are Active or Retired; adapters are Training iff they have no artifact
//!                    an adapter's base is a base model
//!                    an adapter's previous version (if any) is a proven adapter of the same
//!                    owner and base model
//!                    an Active base model's weights hash maps back to it in BaseModelByWeights
//!                    a proven, not rejected, adapter is indexed under its hash in AdaptersByHash
//! BaseModelByWeights has exactly one entry per Active base model
//! AdaptersByHash has exactly one entry per proven adapter that is not Rejected
//! for every owner:   held ModelDeposit == sum of the deposits of their models
//! ```
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

pub use attribution_primitives::{
    models::{
        Architecture, BaseModel, Cid, EvalMetrics, License, Lineage, ModelKind, ModelName,
        ModelRecord, ModelStatus, ModelWithLineage, ModelsPage, ModelsRegistry, ProvenAdapter,
        TrainedArtifact, TrainingSpec,
    },
    paging::scan_ids,
    traits::{ModelsInspect, ServingModel},
    Balance, DatanetId, Hash, ModelId,
};
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::{
        pallet_prelude::*,
        traits::{
            fungible::{Mutate, MutateHold},
            tokens::Precision,
        },
    };
    use frame_system::pallet_prelude::*;

    /// A model record as this runtime stores it.
    pub type ModelRecordOf<T> =
        ModelRecord<<T as frame_system::Config>::AccountId, Balance, BlockNumberFor<T>>;

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
        /// The OPEN token.
        type Currency: Mutate<Self::AccountId, Balance = Balance>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
        /// The runtime's hold reasons, which include this pallet's [`HoldReason`].
        type RuntimeHoldReason: From<HoldReason>;
        /// OPEN held from the owner of each registered base model.
        #[pallet::constant]
        type BaseModelDeposit: Get<Balance>;
        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
    }

    /// Why this pallet holds OPEN.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// The deposit of a registered base model.
        ModelDeposit,
    }

    /// The id the next model will get.
    #[pallet::storage]
    pub type NextModelId<T: Config> = StorageValue<_, ModelId, ValueQuery>;

    /// Every model, base or adapter.
    #[pallet::storage]
    pub type Models<T: Config> = StorageMap<_, Blake2_128Concat, ModelId, ModelRecordOf<T>>;

    /// The `Active` base model whose weights file has a given hash. Retiring the model removes
    /// the entry, so the hash can be registered again.
    #[pallet::storage]
    pub type BaseModelByWeights<T: Config> = StorageMap<_, Identity, Hash, ModelId>;

    /// The proven adapters (`Challengeable`, `Active` or `Retired`) whose weights file has a given
    /// hash: not unique, since identical jobs train identical files. A rejected adapter is
    /// removed, so a fraudulent proof frees its hash.
    #[pallet::storage]
    pub type AdaptersByHash<T: Config> =
        StorageDoubleMap<_, Identity, Hash, Twox64Concat, ModelId, ()>;

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// A base model was registered and is `Active`.
        BaseModelRegistered {
            model: ModelId,
            owner: T::AccountId,
            weights_hash: Hash,
            deposit: Balance,
        },
        /// The owner changed a base model's name, weights CID or license.
        BaseModelUpdated { model: ModelId },
        /// The owner retired a model; `released` is the deposit returned.
        ModelRetired { model: ModelId, released: Balance },
        /// A training job was posted for a new adapter of `base_model`.
        TrainingBegan {
            model: ModelId,
            owner: T::AccountId,
            base_model: ModelId,
            spec: TrainingSpec,
        },
        /// The training job of an adapter was cancelled; the adapter is removed.
        TrainingAbandoned { model: ModelId },
        /// A training proof was accepted: the adapter is `Challengeable`.
        AdapterProposed {
            model: ModelId,
            trainer: T::AccountId,
            adapter_hash: Hash,
        },
        /// The adapter's challenge window passed: it is `Active`.
        AdapterActivated { model: ModelId },
        /// The adapter's training proof was shown to be fraudulent: it is `Rejected`.
        AdapterRejected { model: ModelId },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// No model has this id.
        ModelNotFound,
        /// Only the model's owner may do this.
        NotOwner,
        /// The model is not a base model.
        NotBaseModel,
        /// The model is not an adapter.
        NotAdapter,
        /// The model is not `Active`.
        NotActive,
        /// The base model is not an `Active` base model, so it cannot be fine-tuned.
        BaseModelNotActive,
        /// The adapter is not in the status this transition starts from.
        WrongStatus,
        /// An `Active` base model with this weights hash is already registered.
        ArtifactAlreadyRegistered,
        /// An architecture dimension is zero, or the heads do not divide evenly.
        InvalidArchitecture,
        /// The parameter count is zero.
        NoParameters,
        /// The name is empty.
        EmptyName,
        /// The CID is empty.
        EmptyCid,
        /// An update changes nothing.
        NothingToUpdate,
        /// Every model id is taken.
        ModelIdsExhausted,
        /// The model a new version is requested of is not an `Active` adapter.
        PreviousNotActiveAdapter,
        /// The model a new version is requested of belongs to someone else.
        PreviousNotOwned,
        /// The model a new version is requested of was trained from another base model.
        PreviousBaseMismatch,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Registers a base model owned by the caller and holds [`Config::BaseModelDeposit`].
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::register_base_model())]
        pub fn register_base_model(
            origin: OriginFor<T>,
            name: ModelName,
            base: BaseModel,
        ) -> DispatchResult {
            let owner = ensure_signed(origin)?;
            ensure!(!name.is_empty(), Error::<T>::EmptyName);
            ensure!(!base.weights_cid.is_empty(), Error::<T>::EmptyCid);
            ensure!(base.parameters > 0, Error::<T>::NoParameters);
            ensure!(
                Self::architecture_is_consistent(&base.architecture),
                Error::<T>::InvalidArchitecture
            );
            ensure!(
                !BaseModelByWeights::<T>::contains_key(base.weights_hash),
                Error::<T>::ArtifactAlreadyRegistered
            );

            let deposit = T::BaseModelDeposit::get();
            T::Currency::hold(&HoldReason::ModelDeposit.into(), &owner, deposit)?;
            let weights_hash = base.weights_hash;
            let model = Self::insert_model(
                owner.clone(),
                name,
                ModelKind::Base(base),
                ModelStatus::Active,
                deposit,
            )?;
            BaseModelByWeights::<T>::insert(weights_hash, model);
            Self::deposit_event(Event::BaseModelRegistered {
                model,
                owner,
                weights_hash,
                deposit,
            });
            Ok(())
        }

        /// Changes the name, weights CID and/or license of an `Active` base model owned by the caller.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::update_base_model())]
        pub fn update_base_model(
            origin: OriginFor<T>,
            model: ModelId,
            name: Option<ModelName>,
            weights_cid: Option<Cid>,
            license: Option<License>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            ensure!(
                name.is_some() || weights_cid.is_some() || license.is_some(),
                Error::<T>::NothingToUpdate
            );
            Models::<T>::try_mutate(model, |entry| {
                let record = entry.as_mut().ok_or(Error::<T>::ModelNotFound)?;
                ensure!(record.owner == who, Error::<T>::NotOwner);
                ensure!(record.status == ModelStatus::Active, Error::<T>::NotActive);
                let ModelKind::Base(base) = &mut record.kind else {
                    return Err(Error::<T>::NotBaseModel);
                };
                if let Some(name) = name {
                    ensure!(!name.is_empty(), Error::<T>::EmptyName);
                    record.name = name;
                }
                if let Some(cid) = weights_cid {
                    ensure!(!cid.is_empty(), Error::<T>::EmptyCid);
                    base.weights_cid = cid;
                }
                if let Some(license) = license {
                    base.license = license;
                }
                Ok(())
            })?;
            Self::deposit_event(Event::BaseModelUpdated { model });
            Ok(())
        }

        /// Retires an `Active` model owned by the caller; a base model's deposit is released.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::retire_model())]
        pub fn retire_model(origin: OriginFor<T>, model: ModelId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let released =
                Models::<T>::try_mutate(model, |entry| -> Result<Balance, DispatchError> {
                    let record = entry.as_mut().ok_or(Error::<T>::ModelNotFound)?;
                    ensure!(record.owner == who, Error::<T>::NotOwner);
                    ensure!(record.status == ModelStatus::Active, Error::<T>::NotActive);
                    let released = T::Currency::release(
                        &HoldReason::ModelDeposit.into(),
                        &who,
                        record.deposit,
                        Precision::BestEffort,
                    )?;
                    record.status = ModelStatus::Retired;
                    record.deposit = 0;
                    if let ModelKind::Base(base) = &record.kind {
                        BaseModelByWeights::<T>::remove(base.weights_hash);
                    }
                    Ok(released)
                })?;
            Self::deposit_event(Event::ModelRetired { model, released });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// A model with the record of the base model it was trained from (for the runtime API).
        pub fn model_with_lineage(
            id: ModelId,
        ) -> Option<ModelWithLineage<T::AccountId, Balance, BlockNumberFor<T>>> {
            let model = Models::<T>::get(id)?;
            let base = match &model.kind {
                ModelKind::Base(_) => None,
                ModelKind::Adapter(lineage) => {
                    let base_id = lineage.spec.base_model;
                    Models::<T>::get(base_id).map(|base| (base_id, base))
                }
            };
            Some(ModelWithLineage { id, model, base })
        }

        /// The `Active` base model with this weights hash, else one proven adapter with this
        /// adapter hash (for the runtime API).
        pub fn model_by_artifact(hash: Hash) -> Option<ModelId> {
            BaseModelByWeights::<T>::get(hash)
                .or_else(|| AdaptersByHash::<T>::iter_key_prefix(hash).next())
        }

        /// Adapters trained on any version of `datanet`, ids from `from`, lowest first, one
        /// bounded page (for the runtime API; see [`attribution_primitives::paging`]).
        pub fn models_trained_on(datanet: DatanetId, from: ModelId, max: u32) -> ModelsPage {
            let (models, next) = scan_ids(from, NextModelId::<T>::get(), max, |id| {
                Models::<T>::get(id).and_then(|record| match record.kind {
                    ModelKind::Adapter(lineage) if lineage.spec.pool.datanet == datanet => Some(id),
                    _ => None,
                })
            });
            ModelsPage { models, next }
        }

        /// A proven adapter (`Challengeable` or `Active`) whose weights file has `hash`, with the
        /// file's size (for the runtime API: what a content store may accept). Reads the hash's
        /// index entries until one answers; each entry was paid for by a job's budget.
        pub fn proven_adapter(hash: Hash) -> Option<ProvenAdapter> {
            AdaptersByHash::<T>::iter_key_prefix(hash).find_map(|model| {
                let record = Models::<T>::get(model)?;
                if !matches!(
                    record.status,
                    ModelStatus::Challengeable | ModelStatus::Active
                ) {
                    return None;
                }
                match record.kind {
                    ModelKind::Adapter(Lineage {
                        artifact: Some(artifact),
                        ..
                    }) if artifact.adapter_hash == hash => Some(ProvenAdapter {
                        model,
                        size: artifact.adapter_size,
                    }),
                    _ => None,
                }
            })
        }

        /// `previous` may be succeeded by a new adapter of `owner` on `base_model`: it is an
        /// `Active` adapter of `owner`'s trained from `base_model`.
        fn ensure_previous_version(
            owner: &T::AccountId,
            base_model: ModelId,
            previous: ModelId,
        ) -> DispatchResult {
            let record = Models::<T>::get(previous).ok_or(Error::<T>::PreviousNotActiveAdapter)?;
            let ModelKind::Adapter(lineage) = &record.kind else {
                return Err(Error::<T>::PreviousNotActiveAdapter.into());
            };
            ensure!(
                record.status == ModelStatus::Active,
                Error::<T>::PreviousNotActiveAdapter
            );
            ensure!(record.owner == *owner, Error::<T>::PreviousNotOwned);
            ensure!(
                lineage.spec.base_model == base_model,
                Error::<T>::PreviousBaseMismatch
            );
            Ok(())
        }

        fn architecture_is_consistent(a: &Architecture) -> bool {
            let dims = [
                a.hidden_size,
                a.intermediate_size,
                a.num_layers,
                a.num_attention_heads,
                a.num_key_value_heads,
                a.vocab_size,
                a.max_position_embeddings,
                a.rope_theta,
            ];
            dims.iter().all(|d| *d > 0)
                && a.hidden_size.is_multiple_of(a.num_attention_heads)
                && a.num_attention_heads.is_multiple_of(a.num_key_value_heads)
        }

        fn insert_model(
            owner: T::AccountId,
            name: ModelName,
            kind: ModelKind<T::AccountId>,
            status: ModelStatus,
            deposit: Balance,
        ) -> Result<ModelId, DispatchError> {
            let id = NextModelId::<T>::get();
            let next = id.checked_add(1).ok_or(Error::<T>::ModelIdsExhausted)?;
            NextModelId::<T>::put(next);
            let registered_at = frame_system::Pallet::<T>::block_number();
            Models::<T>::insert(
                id,
                ModelRecord {
                    owner,
                    name,
                    kind,
                    status,
                    deposit,
                    registered_at,
                },
            );
            Ok(id)
        }

        /// Applies `f` to the lineage of adapter `model` if its status is `from`, then sets `to`.
        fn transition(
            model: ModelId,
            from: ModelStatus,
            to: ModelStatus,
            f: impl FnOnce(&mut Lineage<T::AccountId>) -> DispatchResult,
        ) -> DispatchResult {
            Models::<T>::try_mutate(model, |entry| {
                let record = entry.as_mut().ok_or(Error::<T>::ModelNotFound)?;
                let ModelKind::Adapter(lineage) = &mut record.kind else {
                    return Err(Error::<T>::NotAdapter.into());
                };
                ensure!(record.status == from, Error::<T>::WrongStatus);
                f(lineage)?;
                record.status = to;
                Ok(())
            })
        }

        /// Checks every invariant listed in the crate docs.
        #[cfg(any(feature = "try-runtime", feature = "std"))]
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            use alloc::collections::btree_map::BTreeMap;
            use frame_support::traits::fungible::InspectHold;
            let next = NextModelId::<T>::get();
            let mut deposits: BTreeMap<T::AccountId, Balance> = BTreeMap::new();
            let (mut bases, mut adapters) = (0usize, 0usize);
            for (id, record) in Models::<T>::iter() {
                ensure!(id < next, "model id not below NextModelId");
                match &record.kind {
                    ModelKind::Base(base) => {
                        ensure!(
                            matches!(record.status, ModelStatus::Active | ModelStatus::Retired),
                            "base model in an adapter status"
                        );
                        if record.status == ModelStatus::Active {
                            ensure!(
                                BaseModelByWeights::<T>::get(base.weights_hash) == Some(id),
                                "active base model's weights hash not indexed"
                            );
                            bases = bases.saturating_add(1);
                        }
                    }
                    ModelKind::Adapter(lineage) => {
                        ensure!(record.deposit == 0, "adapter with a deposit");
                        ensure!(
                            (record.status == ModelStatus::Training) == lineage.artifact.is_none(),
                            "adapter artifact does not match its status"
                        );
                        let base = Models::<T>::get(lineage.spec.base_model);
                        ensure!(
                            matches!(base.map(|b| b.kind), Some(ModelKind::Base(_))),
                            "adapter's base is not a base model"
                        );
                        if let Some(previous) = lineage.spec.previous {
                            let previous = Models::<T>::get(previous).map(|p| (p.owner, p.kind));
                            let same_line = match previous {
                                Some((owner, ModelKind::Adapter(earlier))) => {
                                    owner == record.owner
                                        && earlier.spec.base_model == lineage.spec.base_model
                                        && earlier.artifact.is_some()
                                }
                                _ => false,
                            };
                            ensure!(
                                same_line,
                                "an adapter's previous version is not a proven adapter of the \
                                 same owner and base model"
                            );
                        }
                        if let Some(artifact) = &lineage.artifact {
                            let indexed =
                                AdaptersByHash::<T>::contains_key(artifact.adapter_hash, id);
                            ensure!(
                                indexed == (record.status != ModelStatus::Rejected),
                                "a proven adapter is indexed iff it is not rejected"
                            );
                            if indexed {
                                adapters = adapters.saturating_add(1);
                            }
                        }
                    }
                };
                let held = deposits.entry(record.owner).or_default();
                *held = held.saturating_add(record.deposit);
            }
            ensure!(
                BaseModelByWeights::<T>::iter().count() == bases,
                "stale base weights index entries"
            );
            ensure!(
                AdaptersByHash::<T>::iter().count() == adapters,
                "stale adapter index entries"
            );
            for (owner, deposit) in deposits {
                ensure!(
                    T::Currency::balance_on_hold(&HoldReason::ModelDeposit.into(), &owner)
                        == deposit,
                    "held deposit differs from the owner's model deposits"
                );
            }
            Ok(())
        }
    }

    impl<T: Config> ModelsRegistry<T::AccountId> for Pallet<T> {
        fn begin_training(
            owner: &T::AccountId,
            name: ModelName,
            spec: TrainingSpec,
        ) -> Result<ModelId, DispatchError> {
            let base = Models::<T>::get(spec.base_model).ok_or(Error::<T>::BaseModelNotActive)?;
            ensure!(
                matches!(base.kind, ModelKind::Base(_)) && base.status == ModelStatus::Active,
                Error::<T>::BaseModelNotActive
            );
            if let Some(previous) = spec.previous {
                Self::ensure_previous_version(owner, spec.base_model, previous)?;
            }
            let base_model = spec.base_model;
            let lineage = Lineage {
                spec: spec.clone(),
                artifact: None,
            };
            let model = Self::insert_model(
                owner.clone(),
                name,
                ModelKind::Adapter(lineage),
                ModelStatus::Training,
                0,
            )?;
            Self::deposit_event(Event::TrainingBegan {
                model,
                owner: owner.clone(),
                base_model,
                spec,
            });
            Ok(model)
        }

        fn abandon(model: ModelId) -> DispatchResult {
            let record = Models::<T>::get(model).ok_or(Error::<T>::ModelNotFound)?;
            ensure!(
                matches!(record.kind, ModelKind::Adapter(_)),
                Error::<T>::NotAdapter
            );
            ensure!(
                record.status == ModelStatus::Training,
                Error::<T>::WrongStatus
            );
            Models::<T>::remove(model);
            Self::deposit_event(Event::TrainingAbandoned { model });
            Ok(())
        }

        fn propose(model: ModelId, artifact: TrainedArtifact<T::AccountId>) -> DispatchResult {
            let adapter_hash = artifact.adapter_hash;
            let trainer = artifact.trainer.clone();
            Self::transition(
                model,
                ModelStatus::Training,
                ModelStatus::Challengeable,
                |lineage| {
                    lineage.artifact = Some(artifact);
                    Ok(())
                },
            )?;
            AdaptersByHash::<T>::insert(adapter_hash, model, ());
            Self::deposit_event(Event::AdapterProposed {
                model,
                trainer,
                adapter_hash,
            });
            Ok(())
        }

        fn activate(model: ModelId) -> DispatchResult {
            Self::transition(
                model,
                ModelStatus::Challengeable,
                ModelStatus::Active,
                |_| Ok(()),
            )?;
            Self::deposit_event(Event::AdapterActivated { model });
            Ok(())
        }

        fn reject(model: ModelId) -> DispatchResult {
            let mut adapter_hash = None;
            Self::transition(
                model,
                ModelStatus::Challengeable,
                ModelStatus::Rejected,
                |lineage| {
                    adapter_hash = lineage.artifact.as_ref().map(|a| a.adapter_hash);
                    Ok(())
                },
            )?;
            if let Some(hash) = adapter_hash {
                AdaptersByHash::<T>::remove(hash, model);
            }
            Self::deposit_event(Event::AdapterRejected { model });
            Ok(())
        }

        fn trained_metrics(model: ModelId) -> Option<EvalMetrics> {
            match Models::<T>::get(model)?.kind {
                ModelKind::Adapter(lineage) => lineage.artifact.map(|a| a.metrics),
                ModelKind::Base(_) => None,
            }
        }
    }

    impl<T: Config> ModelsInspect<T::AccountId> for Pallet<T> {
        fn serving_model(model: ModelId) -> Option<ServingModel<T::AccountId>> {
            let record = Models::<T>::get(model)?;
            if record.status != ModelStatus::Active {
                return None;
            }
            let trained_on = match record.kind {
                ModelKind::Base(_) => None,
                ModelKind::Adapter(lineage) => Some(lineage.spec.pool),
            };
            Some(ServingModel {
                owner: record.owner,
                trained_on,
            })
        }

        fn base_weights_hash(model: ModelId) -> Option<Hash> {
            match Models::<T>::get(model)?.kind {
                ModelKind::Base(base) => Some(base.weights_hash),
                ModelKind::Adapter(_) => None,
            }
        }
    }
}
