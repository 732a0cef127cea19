//! Random calls: every lifecycle call of datanets, models, compute, attribution and rewards,
//! and balance transfers, from random origins with random but often-valid arguments.
//!
//! The generator reads the chain's state to aim: most of the time it picks an existing id, the
//! account entitled to act (a datanet's owner, a job's claimer, a juror) and arguments within
//! bounds, so that calls reach deep states; sometimes it picks a random id, a random origin, a
//! size at or beyond a bound, a forged or replayed signature.

mod attribution_challenges;

use crate::accounts::Accounts;
use attribution_primitives::{
    attribution::{
        AttributionEntry, FeeSplit, InferenceAuthorization, InferenceBatch, InferenceRecord,
        SignedInferenceBatch, MAX_ATTRIBUTION_ENTRIES, MAX_BATCH_RECORDS,
    },
    compute::{
        Hardware, SignedTrainingProof, TrainingProof, WorkerKeyPossession, MAX_PROOF_CONTRIBUTIONS,
    },
    datanets::ContributionStatus,
    datanets::{DataKind, RuleOverrides},
    models::{Architecture, BaseModel, EvalMetrics, ModelKind, ModelStatus, TrainingMethod},
    traits::{ModelsInspect, PoolId},
    AccountId, Balance, BlockNumber, ContributionId, Hash, ModelId, OPEN,
};
use attribution_runtime::{Runtime, RuntimeCall, System};
use pallet_compute::{JobStatus, Operators};
use rand::{rngs::StdRng, Rng};
use sp_core::{sr25519, Pair};
use sp_runtime::{BoundedVec, Perbill};

type DatanetOf = attribution_primitives::datanets::DatanetInfo<AccountId, Balance, BlockNumber>;

/// One call to apply: who signs it, with which key, at which nonce offset.
pub struct Planned {
    /// `pallet.call`, the key of the outcome table.
    pub label: &'static str,
    pub signer: usize,
    /// The actor whose key signs; `signer` unless the signature is forged.
    pub key: usize,
    /// Added to the signer's nonce: 0 normally, -1 replays a used nonce.
    pub nonce_offset: i64,
    pub call: RuntimeCall,
}

/// The generator's memory across calls: what it signed before, to replay it.
#[derive(Default)]
pub struct Memory {
    last_proof: Option<SignedTrainingProof>,
    last_batch: Option<SignedInferenceBatch>,
    /// The prompts and answers of the records signed, for challenges.
    preimages: attribution_challenges::Preimages,
    rotations: u64,
    /// Whether donations may go to the rewards and credit accounts (see
    /// [`crate::fuzz::Config::donate_to_pallet_accounts`]).
    donate_to_pallet_accounts: bool,
}

/// Builds random calls against the current state (call inside the externalities).
pub struct Generator<'a> {
    pub rng: &'a mut StdRng,
    pub accounts: &'a mut Accounts,
    pub memory: &'a mut Memory,
}

fn bounded<const N: u32>(bytes: Vec<u8>) -> BoundedVec<u8, sp_core::ConstU32<N>> {
    BoundedVec::truncate_from(bytes)
}

impl Memory {
    pub fn new(donate_to_pallet_accounts: bool) -> Self {
        Self {
            donate_to_pallet_accounts,
            ..Self::default()
        }
    }
}

impl Generator<'_> {
    /// A random call of a random kind.
    pub fn next_call(&mut self) -> Planned {
        let mut plan = match self.rng.gen_range(0..108u32) {
            0..=3 => self.create_datanet(),
            4..=5 => self.add_curator(),
            6 => self.remove_curator(),
            7..=16 => self.contribute(),
            17..=23 => self.approve(),
            24..=25 => self.reject(),
            26..=29 => self.publish_version(),
            30 => self.withdraw_contribution(),
            31 => self.expire(),
            32 => self.close_datanet(),
            33..=34 => self.register_base_model(),
            35 => self.update_base_model(),
            36 => self.retire_model(),
            37..=39 => self.register_operator(),
            40 => self.rotate_worker_key(),
            41 => self.update_operator(),
            42 => self.deregister_operator(),
            43..=46 => self.request_training(),
            47 => self.cancel_job(),
            48..=50 => self.claim_job(),
            51 => self.release_expired_claim(),
            52..=55 => self.submit_training_proof(),
            56..=57 => self.challenge(),
            58 => self.sudo_governance(),
            59..=60 => self.settle(),
            61..=62 => self.vote(),
            63 => self.close_challenge(),
            64..=66 => self.deposit_credit(),
            67 => self.request_withdrawal(),
            68 => self.withdraw_credit(),
            69..=72 => self.grant_allowance(),
            73 => self.request_allowance_reduction(),
            74 => self.reduce_allowance(),
            75..=84 => self.submit_inference_batch(),
            85..=88 => self.claim(),
            89..=92 => self.claim_pool(),
            93..=99 => self.transfer(),
            100..=103 => self.challenge_attribution(),
            104..=106 => self.vote_attribution(),
            _ => self.close_attribution_challenge(),
        };
        // A forged transaction signature (BadProof) or a replayed nonce (Stale), now and then.
        match self.rng.gen_range(0..200u32) {
            0 => plan.key = self.any_actor(),
            1 => plan.nonce_offset = -1,
            2 => plan.nonce_offset = 1,
            _ => {}
        }
        plan
    }

    // --- picking ---

    fn chance(&mut self, percent: u32) -> bool {
        self.rng.gen_range(0..100) < percent
    }

    fn any_actor(&mut self) -> usize {
        self.rng.gen_range(0..self.accounts.actors.len())
    }

    fn random_account(&mut self) -> AccountId {
        let index = self.any_actor();
        self.accounts.actors[index].id.clone()
    }

    /// A funded actor other than sudo most of the time, any actor otherwise.
    fn someone(&mut self) -> usize {
        let funded = self.accounts.actors.iter().filter(|a| a.funded).count();
        if self.chance(90) && funded > 1 {
            self.rng.gen_range(1..funded)
        } else {
            self.any_actor()
        }
    }

    /// `who`'s actor most of the time (when it is one of ours), someone else otherwise.
    fn usually(&mut self, who: Option<&AccountId>) -> usize {
        match who.and_then(|who| self.accounts.index_of(who)) {
            Some(index) if self.chance(85) => index,
            _ => self.someone(),
        }
    }

    /// An id below `next`: a recent one mostly, any one sometimes, beyond `next` rarely.
    fn id(&mut self, next: u64) -> u64 {
        match self.rng.gen_range(0..100u32) {
            _ if next == 0 => self.rng.gen_range(0..3),
            0..=69 => self.rng.gen_range(next.saturating_sub(32)..next),
            70..=94 => self.rng.gen_range(0..next),
            _ => next.saturating_add(self.rng.gen_range(0..1000)),
        }
    }

    /// A recent id (of the last 64 below `next`) for which `wanted` holds, most of the time;
    /// any id otherwise, or when none does.
    fn find(&mut self, next: u64, wanted: impl Fn(u64) -> bool) -> u64 {
        if self.chance(85) {
            let candidates: Vec<u64> = (next.saturating_sub(64)..next)
                .filter(|id| wanted(*id))
                .collect();
            if !candidates.is_empty() {
                return candidates[self.rng.gen_range(0..candidates.len())];
            }
        }
        self.id(next)
    }

    /// A length for a field bounded by `bound`: small mostly, exactly the bound, one past it, or
    /// empty, sometimes.
    fn length(&mut self, bound: u32) -> usize {
        (match self.rng.gen_range(0..100u32) {
            0..=79 => self.rng.gen_range(1..=bound.min(24)),
            80..=89 => bound,
            90..=94 => bound.saturating_add(1),
            _ => 0,
        }) as usize
    }

    fn bytes(&mut self, bound: u32) -> Vec<u8> {
        let len = self.length(bound);
        (0..len).map(|_| self.rng.gen_range(b'a'..=b'z')).collect()
    }

    fn hash(&mut self) -> Hash {
        Hash::from(self.rng.gen::<[u8; 32]>())
    }

    fn amount(&mut self, typical: Balance) -> Balance {
        match self.rng.gen_range(0..100u32) {
            0..=84 => self.rng.gen_range(1..=typical),
            85..=89 => 0,
            90..=94 => typical.saturating_mul(1_000_000),
            _ => Balance::MAX,
        }
    }

    fn plan(&self, label: &'static str, signer: usize, call: RuntimeCall) -> Planned {
        Planned {
            label,
            signer,
            key: signer,
            nonce_offset: 0,
            call,
        }
    }

    fn now() -> BlockNumber {
        System::block_number()
    }

    // --- datanets ---

    fn datanet(&mut self) -> u32 {
        let next = pallet_datanets::NextDatanetId::<Runtime>::get();
        self.id(u64::from(next)) as u32
    }

    fn datanet_owner(datanet: u32) -> Option<AccountId> {
        pallet_datanets::Datanets::<Runtime>::get(datanet).map(|info| info.owner)
    }

    fn contribution(&mut self) -> ContributionId {
        let next = pallet_datanets::NextContributionId::<Runtime>::get();
        self.id(next)
    }

    /// A pending contribution, mostly.
    fn pending_contribution(&mut self) -> ContributionId {
        let next = pallet_datanets::NextContributionId::<Runtime>::get();
        self.find(next, |id| {
            pallet_datanets::Contributions::<Runtime>::get(id)
                .is_some_and(|record| record.status == ContributionStatus::Pending)
        })
    }

    /// A datanet for which `wanted` holds, mostly.
    fn datanet_where(&mut self, wanted: impl Fn(&DatanetOf) -> bool) -> u32 {
        let next = u64::from(pallet_datanets::NextDatanetId::<Runtime>::get());
        self.find(next, |id| {
            pallet_datanets::Datanets::<Runtime>::get(id as u32).is_some_and(|info| wanted(&info))
        }) as u32
    }

    /// The owner or a curator of the contribution's datanet, mostly.
    fn curator_of(&mut self, contribution: ContributionId) -> usize {
        let info = pallet_datanets::Contributions::<Runtime>::get(contribution)
            .and_then(|record| pallet_datanets::Datanets::<Runtime>::get(record.datanet));
        let who = info.map(|info| {
            if !info.curators.is_empty() && self.chance(40) {
                let i = self.rng.gen_range(0..info.curators.len());
                info.curators[i].clone()
            } else {
                info.owner
            }
        });
        self.usually(who.as_ref())
    }

    fn create_datanet(&mut self) -> Planned {
        let signer = self.someone();
        let overrides = RuleOverrides {
            max_contribution_bytes: self
                .chance(30)
                .then(|| self.rng.gen_range(0..=6 * 1024 * 1024)),
            daily_bytes: self
                .chance(30)
                .then(|| self.rng.gen_range(0..=60 * 1024 * 1024)),
            daily_files: self.chance(30).then(|| self.rng.gen_range(0..=250)),
            bond: self
                .chance(30)
                .then(|| self.rng.gen_range(0..=1_100) * OPEN),
        };
        let kind = [DataKind::Text, DataKind::Image, DataKind::Audio][self.rng.gen_range(0..3)];
        let call = pallet_datanets::Call::<Runtime>::create_datanet {
            name: self.bytes(attribution_primitives::datanets::MAX_NAME_LEN),
            description: self.bytes(attribution_primitives::datanets::MAX_DESCRIPTION_LEN),
            kind,
            rules: overrides,
        };
        self.plan("datanets.create_datanet", signer, call.into())
    }

    fn add_curator(&mut self) -> Planned {
        let datanet = self.datanet();
        let owner = Self::datanet_owner(datanet);
        let signer = self.usually(owner.as_ref());
        let curator = self.random_account();
        let call = pallet_datanets::Call::<Runtime>::add_curator { datanet, curator };
        self.plan("datanets.add_curator", signer, call.into())
    }

    fn remove_curator(&mut self) -> Planned {
        let datanet = self.datanet();
        let info = pallet_datanets::Datanets::<Runtime>::get(datanet);
        let owner = info.as_ref().map(|info| info.owner.clone());
        let signer = self.usually(owner.as_ref());
        let curator = match info {
            Some(info) if !info.curators.is_empty() && self.chance(80) => {
                info.curators[self.rng.gen_range(0..info.curators.len())].clone()
            }
            _ => self.random_account(),
        };
        let call = pallet_datanets::Call::<Runtime>::remove_curator { datanet, curator };
        self.plan("datanets.remove_curator", signer, call.into())
    }

    fn contribute(&mut self) -> Planned {
        let signer = self.someone();
        let datanet = self.datanet_where(|info| !info.closed);
        let size: u64 = match self.rng.gen_range(0..100u32) {
            0..=79 => self.rng.gen_range(1..=64 * 1024),
            80..=89 => self.rng.gen_range(1..=5 * 1024 * 1024),
            90..=94 => 5 * 1024 * 1024 + self.rng.gen_range(0..=1),
            _ => 0,
        };
        let weight = if self.chance(92) {
            self.rng.gen_range(1..=size.max(1))
        } else {
            size.saturating_add(self.rng.gen_range(0..=1))
        };
        // Now and then the hash of a contribution announced before (a duplicate or a
        // front-run of someone else's content).
        let content_hash = match pallet_datanets::Contributions::<Runtime>::get(self.contribution())
        {
            Some(record) if self.chance(10) => record.content_hash,
            _ => self.hash(),
        };
        let call = pallet_datanets::Call::<Runtime>::contribute {
            datanet,
            content_hash,
            size,
            weight,
            license: self.bytes(attribution_primitives::datanets::MAX_LICENSE_LEN),
            metadata: self.bytes(attribution_primitives::datanets::MAX_METADATA_LEN),
        };
        self.plan("datanets.contribute", signer, call.into())
    }

    fn approve(&mut self) -> Planned {
        let contribution = self.pending_contribution();
        let signer = self.curator_of(contribution);
        let call = pallet_datanets::Call::<Runtime>::approve { contribution };
        self.plan("datanets.approve", signer, call.into())
    }

    fn reject(&mut self) -> Planned {
        let contribution = self.pending_contribution();
        let signer = self.curator_of(contribution);
        let spam = self.chance(50);
        let call = pallet_datanets::Call::<Runtime>::reject { contribution, spam };
        self.plan("datanets.reject", signer, call.into())
    }

    fn publish_version(&mut self) -> Planned {
        let datanet = self.datanet_where(|info| info.approved_unpublished > 0);
        let owner = Self::datanet_owner(datanet);
        let signer = self.usually(owner.as_ref());
        let call = pallet_datanets::Call::<Runtime>::publish_version { datanet };
        self.plan("datanets.publish_version", signer, call.into())
    }

    fn withdraw_contribution(&mut self) -> Planned {
        let contribution = self.pending_contribution();
        let contributor = pallet_datanets::Contributions::<Runtime>::get(contribution)
            .map(|record| record.contributor);
        let signer = self.usually(contributor.as_ref());
        let call = pallet_datanets::Call::<Runtime>::withdraw { contribution };
        self.plan("datanets.withdraw", signer, call.into())
    }

    fn expire(&mut self) -> Planned {
        let contribution = self.pending_contribution();
        let signer = self.someone();
        let call = pallet_datanets::Call::<Runtime>::expire { contribution };
        self.plan("datanets.expire", signer, call.into())
    }

    fn close_datanet(&mut self) -> Planned {
        let datanet = self.datanet_where(|info| {
            !info.closed && info.pending == 0 && info.approved_unpublished == 0
        });
        let owner = Self::datanet_owner(datanet);
        let signer = self.usually(owner.as_ref());
        let call = pallet_datanets::Call::<Runtime>::close_datanet { datanet };
        self.plan("datanets.close_datanet", signer, call.into())
    }

    // --- models ---

    fn model(&mut self) -> ModelId {
        let next = pallet_models::NextModelId::<Runtime>::get();
        self.id(u64::from(next)) as ModelId
    }

    fn model_owner(model: ModelId) -> Option<AccountId> {
        pallet_models::Models::<Runtime>::get(model).map(|record| record.owner)
    }

    /// A registered base model's id (an existing model's otherwise).
    fn base_model(&mut self) -> ModelId {
        for _ in 0..4 {
            let model = self.model();
            if pallet_models::Pallet::<Runtime>::base_weights_hash(model).is_some() {
                return model;
            }
        }
        self.model()
    }

    fn register_base_model(&mut self) -> Planned {
        let signer = self.someone();
        let heads = [1u32, 3, 9, 0][self.rng.gen_range(0..4)];
        let architecture = Architecture {
            hidden_size: heads.max(1) * 64,
            intermediate_size: 1536,
            num_layers: self.rng.gen_range(0..=30),
            num_attention_heads: heads,
            num_key_value_heads: if heads == 9 { 3 } else { 1 },
            vocab_size: 49_152,
            max_position_embeddings: 8192,
            rope_theta: 100_000,
        };
        // A weights hash registered before, sometimes (squatting it is refused while active).
        let weights_hash = match pallet_models::Models::<Runtime>::get(self.model()) {
            Some(record) if self.chance(15) => match record.kind {
                ModelKind::Base(base) => base.weights_hash,
                ModelKind::Adapter(_) => self.hash(),
            },
            _ => self.hash(),
        };
        let base = BaseModel {
            architecture,
            parameters: self.rng.gen_range(0..1_000_000_000),
            weights_hash,
            weights_cid: bounded(self.bytes(attribution_primitives::models::MAX_CID_LEN)),
            tokenizer_hash: self.hash(),
            license: bounded(self.bytes(attribution_primitives::models::MAX_LICENSE_LEN)),
        };
        let name = bounded(self.bytes(attribution_primitives::models::MAX_MODEL_NAME_LEN));
        let call = pallet_models::Call::<Runtime>::register_base_model { name, base };
        self.plan("models.register_base_model", signer, call.into())
    }

    fn update_base_model(&mut self) -> Planned {
        let model = self.model();
        let owner = Self::model_owner(model);
        let signer = self.usually(owner.as_ref());
        let call = pallet_models::Call::<Runtime>::update_base_model {
            model,
            name: self
                .chance(50)
                .then(|| bounded(self.bytes(attribution_primitives::models::MAX_MODEL_NAME_LEN))),
            weights_cid: self
                .chance(50)
                .then(|| bounded(self.bytes(attribution_primitives::models::MAX_CID_LEN))),
            license: self
                .chance(30)
                .then(|| bounded(self.bytes(attribution_primitives::models::MAX_LICENSE_LEN))),
        };
        self.plan("models.update_base_model", signer, call.into())
    }

    fn retire_model(&mut self) -> Planned {
        let model = self.model();
        let owner = Self::model_owner(model);
        let signer = self.usually(owner.as_ref());
        let call = pallet_models::Call::<Runtime>::retire_model { model };
        self.plan("models.retire_model", signer, call.into())
    }

    // --- compute: operators ---

    /// A registered operator's actor, mostly.
    fn operator(&mut self) -> usize {
        let registered: Vec<usize> = (0..self.accounts.actors.len())
            .filter(|i| Operators::<Runtime>::contains_key(&self.accounts.actors[*i].id))
            .collect();
        if !registered.is_empty() && self.chance(85) {
            registered[self.rng.gen_range(0..registered.len())]
        } else {
            self.someone()
        }
    }

    /// A registered operator with no job, mostly.
    fn idle_operator(&mut self) -> usize {
        let idle: Vec<usize> = (0..self.accounts.actors.len())
            .filter(|i| {
                Operators::<Runtime>::get(&self.accounts.actors[*i].id)
                    .is_some_and(|op| op.current_job.is_none())
            })
            .collect();
        if !idle.is_empty() && self.chance(85) {
            idle[self.rng.gen_range(0..idle.len())]
        } else {
            self.operator()
        }
    }

    fn hardware(&mut self) -> Hardware {
        Hardware {
            gpu_model: bounded(self.bytes(attribution_primitives::compute::MAX_GPU_MODEL_LEN)),
            gpu_memory_mib: if self.chance(95) { 24_576 } else { 0 },
            gpu_count: if self.chance(95) { 1 } else { 0 },
        }
    }

    fn endpoint(&mut self) -> attribution_primitives::compute::Endpoint {
        let url: Vec<u8> = match self.rng.gen_range(0..10u32) {
            0 => b"ftp://example".to_vec(),
            1 => b"https://".to_vec(),
            2 => b"http://a b".to_vec(),
            _ => format!("https://op{}.example", self.rng.gen_range(0..100)).into_bytes(),
        };
        bounded(url)
    }

    fn register_operator(&mut self) -> Planned {
        let signer = self.someone();
        let worker_key = if self.chance(90) {
            self.accounts.actors[signer].worker.public()
        } else {
            let other = self.any_actor();
            self.accounts.actors[other].worker.public()
        };
        let stake = match self.rng.gen_range(0..10u32) {
            0 => 99 * OPEN,
            1 => 10_000_000 * OPEN,
            _ => self.rng.gen_range(100..=2_000) * OPEN,
        };
        let possession = self.possession(signer, worker_key);
        let call = pallet_compute::Call::<Runtime>::register_operator {
            worker_key,
            possession,
            hardware: self.hardware(),
            endpoint: self.endpoint(),
            stake,
            price_per_token: self.price(),
        };
        self.plan("compute.register_operator", signer, call.into())
    }

    fn price(&mut self) -> Balance {
        match self.rng.gen_range(0..20u32) {
            0 => 0,
            1 => 1,
            _ => self.rng.gen_range(1..=1_000) * attribution_runtime::MICRO_OPEN,
        }
    }

    fn rotate_worker_key(&mut self) -> Planned {
        let signer = self.operator();
        self.memory.rotations = self.memory.rotations.wrapping_add(1);
        let new = if self.chance(85) {
            self.accounts.new_worker_key(self.memory.rotations)
        } else {
            let other = self.any_actor();
            self.accounts.actors[other].worker.public()
        };
        let possession = self.possession(signer, new);
        let call = pallet_compute::Call::<Runtime>::rotate_worker_key { new, possession };
        self.plan("compute.rotate_worker_key", signer, call.into())
    }

    /// `key`'s proof that `signer` holds it, mostly; otherwise forged (another key signs), made
    /// for another account (a replay), or made for another chain.
    fn possession(&mut self, signer: usize, key: sr25519::Public) -> sr25519::Signature {
        let mut operator = self.accounts.actors[signer].id.clone();
        let mut genesis = crate::chain::genesis_hash();
        let mut pair = self.accounts.worker_pair(&key).cloned();
        match self.rng.gen_range(0..100u32) {
            0..=3 => pair = None,
            4..=6 => {
                let other = self.any_actor();
                operator = self.accounts.actors[other].id.clone();
            }
            7..=8 => genesis = Hash::repeat_byte(0x42),
            _ => {}
        }
        let pair = pair.unwrap_or_else(|| crate::accounts::derived(b"forger", 0));
        pair.sign(
            &WorkerKeyPossession {
                operator,
                worker_key: key,
            }
            .message(&genesis),
        )
    }

    fn update_operator(&mut self) -> Planned {
        let signer = self.operator();
        let call = pallet_compute::Call::<Runtime>::update_operator {
            hardware: self.chance(30).then(|| self.hardware()),
            endpoint: self.chance(30).then(|| self.endpoint()),
            price_per_token: self.chance(60).then(|| self.price()),
        };
        self.plan("compute.update_operator", signer, call.into())
    }

    fn deregister_operator(&mut self) -> Planned {
        let signer = self.operator();
        self.plan(
            "compute.deregister_operator",
            signer,
            pallet_compute::Call::<Runtime>::deregister_operator {}.into(),
        )
    }

    // --- compute: jobs ---

    /// A job whose status `wanted` accepts, mostly.
    fn job_where(&mut self, wanted: impl Fn(&JobStatus<AccountId, BlockNumber>) -> bool) -> u64 {
        let next = pallet_compute::NextJobId::<Runtime>::get();
        self.find(next, |id| {
            pallet_compute::Jobs::<Runtime>::get(id).is_some_and(|info| wanted(&info.status))
        })
    }

    /// A published version of some datanet, mostly.
    fn pool(&mut self) -> PoolId {
        let datanet = self.datanet_where(|info| info.versions > 0);
        let version = match pallet_datanets::Datanets::<Runtime>::get(datanet) {
            Some(info) if info.versions > 0 && self.chance(95) => {
                self.rng.gen_range(1..=info.versions)
            }
            _ => self.rng.gen_range(0..3),
        };
        PoolId { datanet, version }
    }

    fn request_training(&mut self) -> Planned {
        let signer = self.someone();
        let base_model = self.base_model();
        let pool = self.pool();
        // A next version of one of the caller's adapters, sometimes.
        let previous = self.chance(20).then(|| self.model());
        let method = [
            TrainingMethod::Lora,
            TrainingMethod::Qlora,
            TrainingMethod::Full,
        ][self.rng.gen_range(0..3)];
        let now = Self::now();
        // Mostly deadlines that leave the training window a claim needs (`MinClaimWindow`),
        // sometimes one that is too close (refused).
        let window = <Runtime as pallet_compute::Config>::MinClaimWindow::get();
        let deadline = match self.rng.gen_range(0..10u32) {
            0 => now.saturating_add(self.rng.gen_range(0..window)),
            _ => now.saturating_add(window + self.rng.gen_range(1..=600)),
        };
        let call = pallet_compute::Call::<Runtime>::request_training {
            name: bounded(self.bytes(attribution_primitives::models::MAX_MODEL_NAME_LEN)),
            base_model,
            pool,
            method,
            hyperparameters_hash: self.hash(),
            budget: self.amount(50 * OPEN),
            deadline,
            previous,
        };
        self.plan("compute.request_training", signer, call.into())
    }

    fn cancel_job(&mut self) -> Planned {
        let job = self.job_where(|status| *status == JobStatus::Open);
        let developer = pallet_compute::Jobs::<Runtime>::get(job).map(|info| info.developer);
        let signer = self.usually(developer.as_ref());
        let call = pallet_compute::Call::<Runtime>::cancel_job { job };
        self.plan("compute.cancel_job", signer, call.into())
    }

    fn claim_job(&mut self) -> Planned {
        let signer = self.idle_operator();
        let job = self.job_where(|status| *status == JobStatus::Open);
        let call = pallet_compute::Call::<Runtime>::claim_job { job };
        self.plan("compute.claim_job", signer, call.into())
    }

    fn release_expired_claim(&mut self) -> Planned {
        let signer = self.someone();
        let job = self.job_where(|status| matches!(status, JobStatus::Claimed { .. }));
        let call = pallet_compute::Call::<Runtime>::release_expired_claim { job };
        self.plan("compute.release_expired_claim", signer, call.into())
    }

    /// A proof for a claimed job, signed by the claimer's worker key, mostly; a forged, altered
    /// or replayed one sometimes.
    fn submit_training_proof(&mut self) -> Planned {
        let job = self.job_where(|status| matches!(status, JobStatus::Claimed { .. }));
        let info = pallet_compute::Jobs::<Runtime>::get(job);
        let claimer = info.as_ref().and_then(|info| match &info.status {
            JobStatus::Claimed { operator, .. } => Some(operator.clone()),
            _ => None,
        });
        let signer = self.usually(claimer.as_ref());
        if self.chance(5) {
            if let Some(proof) = self.memory.last_proof.clone() {
                let call = pallet_compute::Call::<Runtime>::submit_training_proof {
                    proof: Box::new(proof),
                };
                return self.plan("compute.submit_training_proof", signer, call.into());
            }
        }
        let operator = &self.accounts.actors[signer].id;
        let worker_key = Operators::<Runtime>::get(operator)
            .map(|op| op.worker_key)
            .unwrap_or_else(|| self.accounts.actors[signer].worker.public());
        let (base_model_hash, dataset_root, hyperparameters_hash, previous_loss, members) =
            match &info {
                Some(info) => (
                    pallet_models::Pallet::<Runtime>::base_weights_hash(info.base_model)
                        .unwrap_or_default(),
                    info.dataset_root,
                    info.hyperparameters_hash,
                    info.previous.and_then(adapted_loss),
                    manifest(info.pool),
                ),
                None => (self.hash(), self.hash(), self.hash(), None, Vec::new()),
            };
        let mut contributions: Vec<ContributionId> = members
            .into_iter()
            .filter(|_| self.chance(60))
            .take(MAX_PROOF_CONTRIBUTIONS as usize)
            .collect();
        if self.chance(5) {
            contributions.push(self.contribution());
        }
        if self.chance(3) {
            contributions.reverse();
        }
        let adapted_loss_ppm = match previous_loss {
            Some(loss) => loss.saturating_mul(self.rng.gen_range(90..=106)) / 100,
            None => self.rng.gen_range(500_000..=2_600_000),
        };
        let payload = TrainingProof {
            job,
            worker_key,
            base_model_hash,
            dataset_root,
            hyperparameters_hash: if self.chance(97) {
                hyperparameters_hash
            } else {
                self.hash()
            },
            adapter_hash: self.hash(),
            adapter_size: self.rng.gen_range(0..=70 * 1024 * 1024),
            adapter_cid: bounded(self.bytes(attribution_primitives::models::MAX_CID_LEN)),
            steps: self.rng.gen_range(0..1_000),
            tokens: self.rng.gen_range(0..1_000_000),
            metrics: EvalMetrics {
                base_loss_ppm: adapted_loss_ppm.max(2_500_000),
                adapted_loss_ppm,
                base_rouge_ppm: self.rng.gen_range(0..=1_000_000),
                adapted_rouge_ppm: self.rng.gen_range(0..=1_000_050),
            },
            held_out_root: self.hash(),
            checkpoint_root: self.hash(),
            contributions: BoundedVec::truncate_from(contributions),
        };
        let genesis = crate::chain::genesis_hash();
        let key = if self.chance(95) {
            self.accounts.worker_pair(&worker_key).cloned()
        } else {
            None
        }
        .unwrap_or_else(|| crate::accounts::derived(b"forger", 0));
        let proof = SignedTrainingProof::sign(payload, &genesis, &key);
        self.memory.last_proof = Some(proof.clone());
        let call = pallet_compute::Call::<Runtime>::submit_training_proof {
            proof: Box::new(proof),
        };
        self.plan("compute.submit_training_proof", signer, call.into())
    }

    fn challenge(&mut self) -> Planned {
        let signer = self.someone();
        let job = self.job_where(|status| {
            matches!(
                status,
                JobStatus::Proven { .. } | JobStatus::Challenged { .. }
            )
        });
        let call = pallet_compute::Call::<Runtime>::challenge {
            job,
            evidence: self.hash(),
        };
        self.plan("compute.challenge", signer, call.into())
    }

    fn settle(&mut self) -> Planned {
        let signer = self.someone();
        let job = self.job_where(|status| matches!(status, JobStatus::Proven { .. }));
        let call = pallet_compute::Call::<Runtime>::settle { job };
        self.plan("compute.settle", signer, call.into())
    }

    /// An open challenge, mostly.
    fn challenge_id(&mut self) -> u64 {
        let next = pallet_compute::NextChallengeId::<Runtime>::get();
        self.find(next, pallet_compute::Challenges::<Runtime>::contains_key)
    }

    fn vote(&mut self) -> Planned {
        let challenge = self.challenge_id();
        let juror = pallet_compute::Challenges::<Runtime>::get(challenge).and_then(|info| {
            let seats: Vec<_> = info.jury.iter().filter(|s| s.fraud.is_none()).collect();
            (!seats.is_empty()).then(|| seats[self.rng.gen_range(0..seats.len())].juror.clone())
        });
        let signer = self.usually(juror.as_ref());
        let fraud = self.chance(50);
        let call = pallet_compute::Call::<Runtime>::vote { challenge, fraud };
        self.plan("compute.vote", signer, call.into())
    }

    fn close_challenge(&mut self) -> Planned {
        let signer = self.someone();
        let call = pallet_compute::Call::<Runtime>::close_challenge {
            challenge: self.challenge_id(),
        };
        self.plan("compute.close_challenge", signer, call.into())
    }

    /// A governance call through sudo (or, sometimes, the same call from a plain account).
    fn sudo_governance(&mut self) -> Planned {
        let (label, inner): (&'static str, RuntimeCall) = match self.rng.gen_range(0..5u32) {
            0 => (
                "compute.resolve_challenge",
                pallet_compute::Call::<Runtime>::resolve_challenge {
                    job: self.job_where(|status| matches!(status, JobStatus::Challenged { .. })),
                    fraud: self.chance(50),
                }
                .into(),
            ),
            1 => (
                "compute.set_max_regression",
                pallet_compute::Call::<Runtime>::set_max_regression {
                    bound_ppm: self.rng.gen_range(0..=1_000_001),
                }
                .into(),
            ),
            2 => (
                "compute.set_challenge_periods",
                pallet_compute::Call::<Runtime>::set_challenge_periods {
                    challenge_period: self.rng.gen_range(0..=60),
                    vote_period: self.rng.gen_range(0..=60),
                }
                .into(),
            ),
            3 => {
                // Zero, the bound and just past it too, where the call must refuse.
                let max =
                    <<Runtime as pallet_attribution::Config>::MaxWithdrawalDelay as sp_core::Get<
                        u32,
                    >>::get();
                let delay = match self.rng.gen_range(0..4u32) {
                    0 => 0,
                    1 => max,
                    2 => max + 1,
                    _ => self.rng.gen_range(1..=60),
                };
                (
                    "attribution.set_withdrawal_delay",
                    pallet_attribution::Call::<Runtime>::set_withdrawal_delay { delay }.into(),
                )
            }
            _ => {
                let mut parts = [0u32; 4];
                let mut left = 100u32;
                for part in parts.iter_mut().take(3) {
                    *part = self.rng.gen_range(0..=left);
                    left -= *part;
                }
                parts[3] = if self.chance(90) { left } else { left + 1 };
                (
                    "attribution.set_fee_split",
                    pallet_attribution::Call::<Runtime>::set_fee_split {
                        split: FeeSplit {
                            model_owner: Perbill::from_percent(parts[0]),
                            contributors: Perbill::from_percent(parts[1]),
                            operator: Perbill::from_percent(parts[2]),
                            treasury: Perbill::from_percent(parts[3]),
                            contribution_cap: Perbill::from_percent(self.rng.gen_range(0..=100)),
                        },
                    }
                    .into(),
                )
            }
        };
        if self.chance(90) {
            let call = pallet_sudo::Call::<Runtime>::sudo {
                call: Box::new(inner),
            };
            self.plan(label, 0, call.into())
        } else {
            let signer = self.someone();
            self.plan(label, signer, inner)
        }
    }

    // --- attribution ---

    fn deposit_credit(&mut self) -> Planned {
        let signer = self.someone();
        let call = pallet_attribution::Call::<Runtime>::deposit_credit {
            amount: self.amount(100 * OPEN),
        };
        self.plan("attribution.deposit_credit", signer, call.into())
    }

    fn request_withdrawal(&mut self) -> Planned {
        let signer = self.someone();
        let call = pallet_attribution::Call::<Runtime>::request_withdrawal {
            amount: self.amount(20 * OPEN),
        };
        self.plan("attribution.request_withdrawal", signer, call.into())
    }

    fn withdraw_credit(&mut self) -> Planned {
        let signer = self.someone();
        self.plan(
            "attribution.withdraw",
            signer,
            pallet_attribution::Call::<Runtime>::withdraw {}.into(),
        )
    }

    fn grant_allowance(&mut self) -> Planned {
        let signer = self.someone();
        let operator = self.operator();
        let call = pallet_attribution::Call::<Runtime>::grant_allowance {
            operator: self.accounts.actors[operator].id.clone(),
            amount: self.amount(50 * OPEN),
        };
        self.plan("attribution.grant_allowance", signer, call.into())
    }

    fn request_allowance_reduction(&mut self) -> Planned {
        let signer = self.someone();
        let operator = self.operator();
        let call = pallet_attribution::Call::<Runtime>::request_allowance_reduction {
            operator: self.accounts.actors[operator].id.clone(),
            amount: self.amount(10 * OPEN),
        };
        self.plan(
            "attribution.request_allowance_reduction",
            signer,
            call.into(),
        )
    }

    fn reduce_allowance(&mut self) -> Planned {
        // A (user, operator) pair with an announced reduction, mostly.
        let announced: Vec<(AccountId, AccountId)> =
            pallet_attribution::Allowances::<Runtime>::iter()
                .filter(|(_, _, allowance)| allowance.reduction.is_some())
                .map(|(user, operator, _)| (user, operator))
                .take(64)
                .collect();
        let (signer, operator) = if !announced.is_empty() && self.chance(85) {
            let (user, operator) = announced[self.rng.gen_range(0..announced.len())].clone();
            (self.usually(Some(&user)), operator)
        } else {
            let operator = self.operator();
            (self.someone(), self.accounts.actors[operator].id.clone())
        };
        let call = pallet_attribution::Call::<Runtime>::reduce_allowance { operator };
        self.plan("attribution.reduce_allowance", signer, call.into())
    }

    /// A model that serves, mostly (an adapter or a base model), with its datanet version.
    fn serving_model(&mut self) -> (ModelId, Option<PoolId>) {
        for _ in 0..6 {
            let model = self.model();
            if let Some(serving) = pallet_models::Pallet::<Runtime>::serving_model(model) {
                return (model, serving.trained_on);
            }
        }
        (self.model(), None)
    }

    /// A batch of records from the operator's worker, mostly well formed and signed; forged,
    /// replayed, out-of-bound or mis-attributed now and then.
    fn submit_inference_batch(&mut self) -> Planned {
        let signer = self.operator();
        if self.chance(3) {
            if let Some(batch) = self.memory.last_batch.clone() {
                let call =
                    pallet_attribution::Call::<Runtime>::submit_inference_batch { signed: batch };
                return self.plan("attribution.submit_inference_batch", signer, call.into());
            }
        }
        let operator = self.accounts.actors[signer].id.clone();
        let op = Operators::<Runtime>::get(&operator);
        let price = op.as_ref().map_or(0, |op| op.price_per_token);
        let now = Self::now();
        let genesis = crate::chain::genesis_hash();
        let count = match self.rng.gen_range(0..100u32) {
            0..=89 => self.rng.gen_range(1..=6),
            90..=94 => MAX_BATCH_RECORDS,
            _ => 0,
        };
        // Users who granted this operator an allowance, so that records settle (and can then be
        // challenged) more often than random users' would.
        let granted: Vec<usize> = pallet_attribution::Allowances::<Runtime>::iter()
            .filter(|(_, to, _)| *to == operator)
            .filter_map(|(user, _, _)| self.accounts.index_of(&user))
            .collect();
        let mut records = Vec::new();
        for _ in 0..count {
            let user = if !granted.is_empty() && self.chance(80) {
                granted[self.rng.gen_range(0..granted.len())]
            } else {
                self.someone()
            };
            let (model, pool) = self.serving_model();
            let attribution = self.attribution(pool);
            let window = pallet_attribution::Nonces::<Runtime>::get(
                &self.accounts.actors[user].id,
                &operator,
            );
            let nonce = match (window, self.rng.gen_range(0..20u32)) {
                (Some(window), 0) => window.highest,
                (Some(window), 1) => window.highest.saturating_sub(200),
                (Some(window), _) => window.highest.saturating_add(self.rng.gen_range(1..4)),
                (None, _) => self.rng.gen_range(0..4),
            };
            // The request and the answer are kept so that a challenge can show them.
            let prompt = self.text();
            let prompt_hash = self.memory.preimages.keep(prompt);
            let answer = self.text();
            let output_hash = self.memory.preimages.keep(answer);
            let tokens_in = self.rng.gen_range(0..400);
            let tokens_out = self.rng.gen_range(0..400);
            let most = price.saturating_mul(u128::from(tokens_in) + u128::from(tokens_out));
            let fee = match self.rng.gen_range(0..20u32) {
                0 => most.saturating_add(1),
                1 => 0,
                _ => most,
            };
            let authorization = InferenceAuthorization {
                user: self.accounts.actors[user].id.clone(),
                operator: if self.chance(95) {
                    operator.clone()
                } else {
                    self.random_account()
                },
                model,
                prompt_hash,
                max_fee: if self.chance(95) { fee } else { fee / 2 },
                nonce,
                expiry: if self.chance(95) {
                    now.saturating_add(50)
                } else {
                    now.saturating_sub(1)
                },
            };
            let key = if self.chance(97) {
                user
            } else {
                self.any_actor()
            };
            let user_signature = authorization.sign(&genesis, &self.accounts.actors[key].pair);
            records.push(InferenceRecord {
                authorization,
                user_signature,
                output_hash,
                tokens_in,
                tokens_out,
                fee,
                attribution,
                provenance: Default::default(),
            });
        }
        let nonce = match pallet_attribution::BatchNonces::<Runtime>::get(&operator) {
            Some(last) if self.chance(95) => last.saturating_add(1),
            Some(last) => last,
            None => self.rng.gen_range(0..3),
        };
        let batch = InferenceBatch {
            operator,
            nonce,
            records: BoundedVec::truncate_from(records),
        };
        let worker_key = op.map(|op| op.worker_key);
        let honest = self.chance(97);
        let key = match worker_key.and_then(|key| self.accounts.worker_pair(&key)) {
            Some(pair) if honest => pair.clone(),
            _ => crate::accounts::derived(b"forger", 1),
        };
        let signed = SignedInferenceBatch::sign(batch, &genesis, &key);
        self.memory.last_batch = Some(signed.clone());
        let call = pallet_attribution::Call::<Runtime>::submit_inference_batch { signed };
        self.plan("attribution.submit_inference_batch", signer, call.into())
    }

    /// Entries naming members of `pool` mostly, weights summing to at most a million mostly.
    fn attribution(
        &mut self,
        pool: Option<PoolId>,
    ) -> attribution_primitives::attribution::Attribution {
        let members = pool.map(manifest).unwrap_or_default();
        let count = match self.rng.gen_range(0..20u32) {
            0 => MAX_ATTRIBUTION_ENTRIES as usize,
            _ => self.rng.gen_range(0..=4usize),
        };
        let mut entries = Vec::new();
        let mut left = 1_000_000u32;
        for _ in 0..count {
            let contribution = if !members.is_empty() && self.chance(90) {
                members[self.rng.gen_range(0..members.len())]
            } else {
                self.contribution()
            };
            let weight_ppm = match self.rng.gen_range(0..40u32) {
                0 => 0,
                1 => 1_000_000,
                _ => self.rng.gen_range(1..=left.max(1)),
            };
            left = left.saturating_sub(weight_ppm);
            entries.push(AttributionEntry {
                contribution,
                weight_ppm,
            });
        }
        BoundedVec::truncate_from(entries)
    }

    // --- rewards and balances ---

    fn claim(&mut self) -> Planned {
        let signer = self.someone();
        self.plan(
            "rewards.claim",
            signer,
            pallet_rewards::Call::<Runtime>::claim {}.into(),
        )
    }

    fn claim_pool(&mut self) -> Planned {
        // A pool that was credited, mostly.
        let credited: Vec<PoolId> = pallet_rewards::Pools::<Runtime>::iter_keys()
            .take(64)
            .collect();
        let pool = if !credited.is_empty() && self.chance(85) {
            credited[self.rng.gen_range(0..credited.len())]
        } else {
            self.pool()
        };
        let members: Vec<AccountId> = pallet_datanets::Points::<Runtime>::iter_prefix(pool)
            .map(|(who, _)| who)
            .collect();
        let member =
            (!members.is_empty()).then(|| members[self.rng.gen_range(0..members.len())].clone());
        let signer = self.usually(member.as_ref());
        let call = pallet_rewards::Call::<Runtime>::claim_pool { pool };
        self.plan("rewards.claim_pool", signer, call.into())
    }

    fn transfer(&mut self) -> Planned {
        let signer = self.someone();
        // Now and then a donation to an account a pallet keeps its funds in: anyone can send
        // OPEN to these derivable accounts, and no invariant may depend on nobody doing so.
        let dest = match self.rng.gen_range(0..40u32) {
            0 => attribution_runtime::configs::TreasuryAccount::get(),
            1 if self.memory.donate_to_pallet_accounts => {
                pallet_rewards::Pallet::<Runtime>::account_id()
            }
            2 if self.memory.donate_to_pallet_accounts => {
                pallet_attribution::Pallet::<Runtime>::account_id()
            }
            _ => self.random_account(),
        }
        .into();
        let value = self.amount(1_000 * OPEN);
        let (label, call) = if self.chance(70) {
            (
                "balances.transfer_keep_alive",
                pallet_balances::Call::<Runtime>::transfer_keep_alive { dest, value },
            )
        } else {
            (
                "balances.transfer_allow_death",
                pallet_balances::Call::<Runtime>::transfer_allow_death { dest, value },
            )
        };
        self.plan(label, signer, call.into())
    }
}

/// The contributions of a published version, in leaf order (empty if it does not exist).
fn manifest(pool: PoolId) -> Vec<ContributionId> {
    pallet_datanets::Manifests::<Runtime>::get(pool.datanet, pool.version)
        .map(|entries| entries.iter().map(|entry| entry.contribution).collect())
        .unwrap_or_default()
}

/// The held-out loss of a trained adapter, to propose a next version within the bound.
fn adapted_loss(model: ModelId) -> Option<u64> {
    let record = pallet_models::Models::<Runtime>::get(model)?;
    match (record.kind, record.status) {
        (ModelKind::Adapter(lineage), ModelStatus::Active) => lineage
            .artifact
            .map(|artifact| artifact.metrics.adapted_loss_ppm),
        _ => None,
    }
}
