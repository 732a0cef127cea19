//! The economy the strategies play in: the real runtime from the `development` genesis with the
//! production challenge and vote periods, a datanet with its owner and curator, honest
//! contributors, five honest operators (enough for a full jury), a model developer and users;
//! and the ledgers that count what each group of accounts spent and gained.

use crate::{
    accounts::derived,
    chain::{total_balance, Applied, Chain},
};
use anyhow::{bail, Result};
use attribution_primitives::{
    attribution::{
        Attribution, AttributionChallengeId, AttributionEntry, InferenceAuthorization,
        InferenceBatch, InferenceRecord, RecordId, SignedInferenceBatch,
    },
    compute::{Hardware, Jury, SignedTrainingProof, TrainingProof, WorkerKeyPossession},
    datanets::{DataKind, RuleOverrides},
    models::{Architecture, BaseModel, EvalMetrics, TrainingMethod},
    traits::PoolId,
    AccountId, Balance, BlockNumber, ContributionId, Hash, ModelId, OPEN,
};
use attribution_runtime::{Runtime, RuntimeCall, RuntimeEvent, System, MICRO_OPEN};
use codec::Encode;
use sp_core::{sr25519, Get, Pair};
use sp_keyring::Sr25519Keyring as Keyring;
use sp_runtime::BoundedVec;
use std::collections::BTreeMap;

/// Each honest operator's stake and inference price.
pub const OPERATOR_STAKE: Balance = 1_000 * OPEN;
pub const PRICE_PER_TOKEN: Balance = 100 * MICRO_OPEN;
/// Tokens (in + out) of one request: a request pays 0.1 OPEN.
pub const TOKENS_IN: u32 = 200;
pub const TOKENS_OUT: u32 = 800;
/// What an honest contribution weighs (and its size): 256 KiB.
pub const CONTRIBUTION_BYTES: u64 = 256 * 1024;
/// The training budget the honest developer pays.
pub const TRAINING_BUDGET: Balance = 100 * OPEN;
/// Calls per block before the world closes it (well under the block weight).
const CALLS_PER_BLOCK: u32 = 8;

/// An account of the economy: its key and (if it operates) its worker key.
#[derive(Clone)]
pub struct Agent {
    pub pair: sr25519::Pair,
    pub worker: sr25519::Pair,
}

impl Agent {
    pub fn id(&self) -> AccountId {
        AccountId::from(self.pair.public())
    }

    fn keyring(key: Keyring) -> Self {
        Self::from_pair(key.pair())
    }

    fn from_pair(pair: sr25519::Pair) -> Self {
        let seed = sp_io::hashing::blake2_256(&(b"sim-worker", pair.public()).encode());
        let worker = sr25519::Pair::from_seed(&seed);
        Self { pair, worker }
    }
}

/// A served request: the record the operator settles, and the prompt and answer its hashes
/// commit to, which the user holds.
pub struct Served {
    pub record: InferenceRecord,
    pub prompt: Vec<u8>,
    pub answer: Vec<u8>,
}

/// What a group of accounts owned at the start, and what it was paid from outside since.
pub struct Ledger {
    pub members: Vec<AccountId>,
    start: Balance,
    /// Rewards claimed (direct and pool) and challengers' shares of slashes.
    pub gained: Balance,
}

/// The honest participants, by role.
pub struct Honest {
    pub sudo: Agent,
    pub owner: Agent,
    pub curator: Agent,
    pub contributors: Vec<Agent>,
    pub operators: Vec<Agent>,
    pub developer: Agent,
    pub users: Vec<Agent>,
}

/// The runtime with the honest participants set up and the ledgers being kept.
pub struct World {
    chain: Chain,
    pub honest: Honest,
    pub datanet: u32,
    pub base_model: ModelId,
    ledgers: Vec<Ledger>,
    in_block: u32,
    /// Adversary accounts created so far (derived keys, funded by sudo).
    adversaries: u64,
    /// Every registered operator, for the value of allowances.
    pub all_operators: Vec<AccountId>,
    /// Each proven misattribution: the operator and what it was slashed.
    slashes: Vec<(AccountId, Balance)>,
}

impl World {
    /// Genesis, the production challenge periods, the datanet with its curator, five operators
    /// and a base model.
    pub fn new() -> Result<Self> {
        let honest = Honest {
            sudo: Agent::keyring(Keyring::Alice),
            owner: Agent::keyring(Keyring::Bob),
            curator: Agent::keyring(Keyring::Charlie),
            contributors: vec![Agent::keyring(Keyring::Dave), Agent::keyring(Keyring::Eve)],
            operators: [
                Keyring::Ferdie,
                Keyring::AliceStash,
                Keyring::BobStash,
                Keyring::CharlieStash,
                Keyring::DaveStash,
            ]
            .into_iter()
            .map(Agent::keyring)
            .collect(),
            developer: Agent::keyring(Keyring::EveStash),
            users: vec![Agent::keyring(Keyring::FerdieStash)],
        };
        let mut world = Self {
            chain: Chain::development(),
            honest,
            datanet: 0,
            base_model: 0,
            ledgers: Vec::new(),
            in_block: 0,
            adversaries: 0,
            all_operators: Vec::new(),
            slashes: Vec::new(),
        };
        // The dev preset shortens the windows to a minute; the strategies play with the
        // runtime's defaults (6 h to challenge a proof, 2 h to vote).
        let challenge_period: BlockNumber =
            <Runtime as pallet_compute::Config>::DefaultChallengePeriod::get();
        let vote_period: BlockNumber =
            <Runtime as pallet_compute::Config>::DefaultVotePeriod::get();
        let sudo = world.honest.sudo.clone();
        world.must(
            &sudo,
            pallet_sudo::Call::<Runtime>::sudo {
                call: Box::new(
                    pallet_compute::Call::<Runtime>::set_challenge_periods {
                        challenge_period,
                        vote_period,
                    }
                    .into(),
                ),
            },
        )?;
        // The record challenge window is set once, in genesis (the dev preset: 5 minutes):
        // put the runtime's default (6 h) there before any record exists.
        world.read(|| {
            pallet_attribution::ChallengeWindow::<Runtime>::put(
                <Runtime as pallet_attribution::Config>::DefaultChallengeWindow::get(),
            )
        });
        for _ in 0..2 {
            let user = world.account(10_000 * OPEN)?;
            world.honest.users.push(user);
        }
        let owner = world.honest.owner.clone();
        world.datanet = world.read(pallet_datanets::NextDatanetId::<Runtime>::get);
        world.must(
            &owner,
            pallet_datanets::Call::<Runtime>::create_datanet {
                name: b"support answers".to_vec(),
                description: b"question and answer pairs".to_vec(),
                kind: DataKind::Text,
                rules: RuleOverrides::default(),
            },
        )?;
        let curator = world.honest.curator.id();
        world.must(
            &owner,
            pallet_datanets::Call::<Runtime>::add_curator {
                datanet: world.datanet,
                curator,
            },
        )?;
        for operator in world.honest.operators.clone() {
            world.register_operator(&operator, OPERATOR_STAKE)?;
        }
        let developer = world.honest.developer.clone();
        world.base_model = world.register_base_model(&developer)?;
        Ok(world)
    }

    // --- driving the chain ---

    /// Applies `call` from `who`, closing the block first when it is full enough.
    pub fn call(&mut self, who: &Agent, call: impl Into<RuntimeCall>) -> Applied {
        if self.in_block >= CALLS_PER_BLOCK {
            self.advance(1);
        }
        self.in_block += 1;
        self.chain.apply(&who.pair, &who.pair, 0, call.into())
    }

    /// Applies a call an honest participant makes; it must succeed.
    pub fn must(&mut self, who: &Agent, call: impl Into<RuntimeCall>) -> Result<()> {
        let call = call.into();
        let label = format!("{call:?}");
        match self.call(who, call) {
            Applied::Ok => Ok(()),
            other => bail!(
                "{} failed: {other:?}",
                label.chars().take(160).collect::<String>()
            ),
        }
    }

    /// Closes the open block and opens the one `blocks` later, counting the closed block's
    /// events into the ledgers.
    pub fn advance(&mut self, blocks: BlockNumber) {
        let events: Vec<RuntimeEvent> = self.chain.read(|| {
            System::read_events_no_consensus()
                .map(|record| record.event)
                .collect()
        });
        for event in events {
            self.count(&event);
        }
        let next = self.chain.block().saturating_add(blocks.max(1));
        if let Err(broken) = self.chain.next_block(next) {
            panic!(
                "an invariant broke at block {}: {}",
                broken.block, broken.reason
            );
        }
        self.in_block = 0;
    }

    /// Runs `f` against the state.
    pub fn read<R>(&mut self, f: impl FnOnce() -> R) -> R {
        self.chain.read(f)
    }

    pub fn block(&self) -> BlockNumber {
        self.chain.block()
    }

    fn count(&mut self, event: &RuntimeEvent) {
        if let RuntimeEvent::Attribution(pallet_attribution::Event::MisattributionProven {
            operator,
            slashed,
            ..
        }) = event
        {
            self.slashes.push((operator.clone(), *slashed));
        }
        let (who, amount) = match event {
            RuntimeEvent::Rewards(pallet_rewards::Event::Claimed { who, rewards }) => (
                who,
                rewards
                    .data
                    .saturating_add(rewards.model)
                    .saturating_add(rewards.compute),
            ),
            RuntimeEvent::Rewards(pallet_rewards::Event::PoolClaimed { who, amount, .. }) => {
                (who, *amount)
            }
            RuntimeEvent::Compute(pallet_compute::Event::FraudProven {
                challenger,
                to_challenger,
                ..
            })
            | RuntimeEvent::Attribution(pallet_attribution::Event::MisattributionProven {
                challenger,
                to_challenger,
                ..
            }) => (challenger, *to_challenger),
            _ => return,
        };
        for ledger in self.ledgers.iter_mut().filter(|l| l.members.contains(who)) {
            ledger.gained = ledger.gained.saturating_add(amount);
        }
    }

    /// What `operator` was slashed for each proven misattribution, in order.
    pub fn slashes_of(&self, operator: Option<&AccountId>) -> Vec<Balance> {
        self.slashes
            .iter()
            .filter(|(who, _)| Some(who) == operator)
            .map(|(_, slashed)| *slashed)
            .collect()
    }

    // --- accounts and ledgers ---

    /// A new account funded by sudo with `endowment`.
    pub fn account(&mut self, endowment: Balance) -> Result<Agent> {
        self.adversaries += 1;
        let agent = Agent::from_pair(derived(b"sim-account", self.adversaries));
        let sudo = self.honest.sudo.clone();
        self.must(
            &sudo,
            pallet_balances::Call::<Runtime>::transfer_keep_alive {
                dest: agent.id().into(),
                value: endowment,
            },
        )?;
        Ok(agent)
    }

    /// What `members` own: balances (free and held), inference credit and allowances.
    fn value(&mut self, members: &[AccountId]) -> Balance {
        let operators = self.all_operators.clone();
        self.chain.read(|| {
            members.iter().fold(0u128, |sum, who| {
                let credit = pallet_attribution::Credits::<Runtime>::get(who)
                    .map_or(0, |credit| credit.balance);
                let allowances = operators.iter().fold(0u128, |sum, operator| {
                    sum.saturating_add(
                        pallet_attribution::Allowances::<Runtime>::get(who, operator)
                            .map_or(0, |allowance| allowance.balance),
                    )
                });
                sum.saturating_add(total_balance(who))
                    .saturating_add(credit)
                    .saturating_add(allowances)
            })
        })
    }

    /// Starts counting for `members`; returns the ledger's index.
    pub fn open_ledger(&mut self, members: Vec<AccountId>) -> usize {
        let start = self.value(&members);
        self.ledgers.push(Ledger {
            members,
            start,
            gained: 0,
        });
        self.ledgers.len() - 1
    }

    /// Has every member claim what it is owed (direct credits and the version pools), then
    /// returns (spent, gained): gained is what was paid in, spent what the change of value says
    /// went out (fees, bonds lost, slashes, inference fees paid).
    pub fn close_ledger(&mut self, ledger: usize, members: &[Agent]) -> (Balance, Balance) {
        let datanet = self.datanet;
        let versions = self.read(|| {
            pallet_datanets::Datanets::<Runtime>::get(datanet).map_or(0, |info| info.versions)
        });
        for member in members {
            let _ = self.call(member, pallet_rewards::Call::<Runtime>::claim {});
            for version in 1..=versions {
                let pool = PoolId {
                    datanet: self.datanet,
                    version,
                };
                let _ = self.call(member, pallet_rewards::Call::<Runtime>::claim_pool { pool });
            }
        }
        self.advance(1);
        let ids = self.ledgers[ledger].members.clone();
        let end = self.value(&ids);
        let Ledger { start, gained, .. } = self.ledgers[ledger];
        // end = start + gained - spent
        let spent = start.saturating_add(gained).saturating_sub(end);
        (spent, gained)
    }

    // --- lifecycle steps ---

    pub fn register_operator(&mut self, agent: &Agent, stake: Balance) -> Result<()> {
        let genesis = self.read(crate::chain::genesis_hash);
        let possession = WorkerKeyPossession::sign(agent.id(), &genesis, &agent.worker);
        self.must(
            agent,
            pallet_compute::Call::<Runtime>::register_operator {
                worker_key: agent.worker.public(),
                possession,
                hardware: Hardware {
                    gpu_model: BoundedVec::truncate_from(b"RTX 4090".to_vec()),
                    gpu_memory_mib: 24_576,
                    gpu_count: 1,
                },
                endpoint: BoundedVec::truncate_from(b"https://operator.example".to_vec()),
                stake,
                price_per_token: PRICE_PER_TOKEN,
            },
        )?;
        if !self.all_operators.contains(&agent.id()) {
            self.all_operators.push(agent.id());
        }
        Ok(())
    }

    /// An operator slashed below the minimum stake settles no paid inference: it leaves and
    /// registers again with the minimum stake (its allowances stay), as a steering operator
    /// that wants to go on serving must.
    pub fn restake_if_slashed(&mut self, agent: &Agent) -> Result<()> {
        let minimum = <Runtime as pallet_compute::Config>::MinOperatorStake::get();
        let stake =
            self.read(|| pallet_compute::Operators::<Runtime>::get(agent.id()).map(|op| op.stake));
        match stake {
            Some(stake) if stake < minimum => {
                self.must(
                    agent,
                    pallet_compute::Call::<Runtime>::deregister_operator {},
                )?;
                self.register_operator(agent, minimum)
            }
            _ => Ok(()),
        }
    }

    fn register_base_model(&mut self, owner: &Agent) -> Result<ModelId> {
        let model = self.read(pallet_models::NextModelId::<Runtime>::get);
        self.must(
            owner,
            pallet_models::Call::<Runtime>::register_base_model {
                name: BoundedVec::truncate_from(b"SmolLM2-135M".to_vec()),
                base: BaseModel {
                    architecture: Architecture {
                        hidden_size: 576,
                        intermediate_size: 1536,
                        num_layers: 30,
                        num_attention_heads: 9,
                        num_key_value_heads: 3,
                        vocab_size: 49_152,
                        max_position_embeddings: 8192,
                        rope_theta: 100_000,
                    },
                    parameters: 134_515_008,
                    weights_hash: Hash::repeat_byte(0x51),
                    weights_cid: BoundedVec::truncate_from(b"bafy-smollm2".to_vec()),
                    tokenizer_hash: Hash::repeat_byte(0x52),
                    license: BoundedVec::truncate_from(b"Apache-2.0".to_vec()),
                },
            },
        )?;
        Ok(model)
    }

    /// Announces a contribution of `bytes` whose content hash is `content_hash`; the id if it
    /// was accepted.
    pub fn contribute(
        &mut self,
        who: &Agent,
        content_hash: Hash,
        bytes: u64,
    ) -> Option<ContributionId> {
        let id = self.read(pallet_datanets::NextContributionId::<Runtime>::get);
        let call = pallet_datanets::Call::<Runtime>::contribute {
            datanet: self.datanet,
            content_hash,
            size: bytes,
            weight: bytes,
            license: b"CC-BY-4.0".to_vec(),
            metadata: Vec::new(),
        };
        self.call(who, call).is_ok().then_some(id)
    }

    /// The curator's verdict on a pending contribution.
    pub fn curate(&mut self, contribution: ContributionId, approve: bool) -> Result<()> {
        let curator = self.honest.curator.clone();
        if approve {
            self.must(
                &curator,
                pallet_datanets::Call::<Runtime>::approve { contribution },
            )
        } else {
            self.must(
                &curator,
                pallet_datanets::Call::<Runtime>::reject {
                    contribution,
                    spam: true,
                },
            )
        }
    }

    pub fn publish(&mut self) -> Result<PoolId> {
        let owner = self.honest.owner.clone();
        self.must(
            &owner,
            pallet_datanets::Call::<Runtime>::publish_version {
                datanet: self.datanet,
            },
        )?;
        let datanet = self.datanet;
        let version = self.read(|| {
            pallet_datanets::Datanets::<Runtime>::get(datanet).map_or(0, |info| info.versions)
        });
        Ok(PoolId {
            datanet: self.datanet,
            version,
        })
    }

    /// The contributions of `pool`, in leaf order.
    pub fn members(&mut self, pool: PoolId) -> Vec<ContributionId> {
        self.read(|| {
            pallet_datanets::Manifests::<Runtime>::get(pool.datanet, pool.version)
                .map(|entries| entries.iter().map(|e| e.contribution).collect())
                .unwrap_or_default()
        })
    }

    /// `developer` posts a job on `pool`; returns (job, adapter id).
    pub fn post_job(
        &mut self,
        developer: &Agent,
        pool: PoolId,
        budget: Balance,
    ) -> Result<(u64, ModelId)> {
        let job = self.read(pallet_compute::NextJobId::<Runtime>::get);
        let deadline = self.block().saturating_add(7 * attribution_runtime::DAYS);
        self.must(
            developer,
            pallet_compute::Call::<Runtime>::request_training {
                name: BoundedVec::truncate_from(format!("adapter-{job}").into_bytes()),
                base_model: self.base_model,
                pool,
                method: TrainingMethod::Lora,
                hyperparameters_hash: Hash::from(sp_io::hashing::blake2_256(&job.encode())),
                budget,
                deadline,
                previous: None,
            },
        )?;
        let model = self
            .read(|| pallet_compute::Jobs::<Runtime>::get(job).map(|info| info.model))
            .unwrap_or_default();
        Ok((job, model))
    }

    /// `operator` claims `job` and submits a proof over every contribution of its version. The
    /// chain cannot tell an honest proof from a fraudulent one; the jurors of the simulation can.
    pub fn claim_and_prove(&mut self, operator: &Agent, job: u64) -> Result<()> {
        self.must(operator, pallet_compute::Call::<Runtime>::claim_job { job })?;
        let (info, root) = self.read(|| {
            let info = pallet_compute::Jobs::<Runtime>::get(job);
            let root = info.as_ref().and_then(|info| {
                pallet_datanets::Versions::<Runtime>::get(info.pool.datanet, info.pool.version)
                    .map(|v| v.merkle_root)
            });
            (info, root)
        });
        let (Some(info), Some(dataset_root)) = (info, root) else {
            bail!("job {job} or its version is gone");
        };
        let contributions = self.members(info.pool);
        let base_model_hash = self
            .read(|| {
                use attribution_primitives::traits::ModelsInspect;
                pallet_models::Pallet::<Runtime>::base_weights_hash(info.base_model)
            })
            .unwrap_or_default();
        let payload = TrainingProof {
            job,
            worker_key: operator.worker.public(),
            base_model_hash,
            dataset_root,
            hyperparameters_hash: info.hyperparameters_hash,
            adapter_hash: Hash::from(sp_io::hashing::blake2_256(&(b"adapter", job).encode())),
            adapter_size: 1024 * 1024,
            adapter_cid: BoundedVec::truncate_from(format!("bafy-adapter-{job}").into_bytes()),
            steps: 100,
            tokens: 100_000,
            metrics: EvalMetrics {
                base_loss_ppm: 2_500_000,
                adapted_loss_ppm: 2_000_000,
                base_rouge_ppm: 300_000,
                adapted_rouge_ppm: 400_000,
            },
            held_out_root: Hash::repeat_byte(0x61),
            checkpoint_root: Hash::repeat_byte(0x62),
            contributions: BoundedVec::truncate_from(contributions),
        };
        let genesis = self.read(crate::chain::genesis_hash);
        let proof = SignedTrainingProof::sign(payload, &genesis, &operator.worker);
        self.must(
            operator,
            pallet_compute::Call::<Runtime>::submit_training_proof {
                proof: Box::new(proof),
            },
        )
    }

    /// `challenger` challenges `job`; returns the challenge's id if it was accepted.
    pub fn challenge(&mut self, challenger: &Agent, job: u64) -> Option<u64> {
        let id = self.read(pallet_compute::NextChallengeId::<Runtime>::get);
        let call = pallet_compute::Call::<Runtime>::challenge {
            job,
            evidence: Hash::repeat_byte(0x70),
        };
        self.call(challenger, call).is_ok().then_some(id)
    }

    /// The jury of `challenge` (drawn in the block after it was opened) votes `fraud`, each
    /// juror the truth as its re-run of the verification finds it.
    pub fn jury_votes(&mut self, challenge: u64, fraud: bool, agents: &[Agent]) {
        self.advance(1);
        let jury = self
            .read(|| pallet_compute::Challenges::<Runtime>::get(challenge).map(|info| info.jury));
        self.seated_vote(jury, agents, || {
            pallet_compute::Call::<Runtime>::vote { challenge, fraud }.into()
        });
    }

    /// Each juror of `jury` that is one of `agents` sends `vote`.
    fn seated_vote(
        &mut self,
        jury: Option<Jury<AccountId>>,
        agents: &[Agent],
        vote: impl Fn() -> RuntimeCall,
    ) {
        for seat in jury.unwrap_or_default() {
            if let Some(agent) = agents.iter().find(|a| a.id() == seat.juror) {
                let _ = self.call(agent, vote());
            }
        }
    }

    /// Lets the challenge window of every proof pass and settles `jobs`.
    pub fn settle(&mut self, jobs: &[u64]) {
        let period = self.read(pallet_compute::ChallengePeriod::<Runtime>::get);
        self.advance(period.saturating_add(1));
        let anyone = self.honest.developer.clone();
        for job in jobs {
            let _ = self.call(
                &anyone,
                pallet_compute::Call::<Runtime>::settle { job: *job },
            );
        }
    }

    /// `user` puts `credit` in its inference credit and grants `per_operator` to each registered
    /// operator.
    pub fn fund_user(
        &mut self,
        user: &Agent,
        credit: Balance,
        per_operator: Balance,
    ) -> Result<()> {
        self.must(
            user,
            pallet_attribution::Call::<Runtime>::deposit_credit { amount: credit },
        )?;
        for operator in self.all_operators.clone() {
            // A prover found fraudulent is no operator any more.
            if !self.read(|| pallet_compute::Operators::<Runtime>::contains_key(&operator)) {
                continue;
            }
            self.must(
                user,
                pallet_attribution::Call::<Runtime>::grant_allowance {
                    operator,
                    amount: per_operator,
                },
            )?;
        }
        Ok(())
    }

    /// A record of `user`'s request number `nonce` to `operator` for `model`, signed by the user,
    /// charging the operator's price for `TOKENS_IN + TOKENS_OUT` tokens, attributed as
    /// `attribution` says (contribution, parts per million); with the prompt and the answer its
    /// hashes commit to, which the user keeps (and may hand to an auditor).
    pub fn record(
        &mut self,
        user: &Agent,
        operator: &AccountId,
        model: ModelId,
        nonce: u64,
        attribution: &[(ContributionId, u32)],
    ) -> Served {
        let (genesis, now) = self.read(|| (crate::chain::genesis_hash(), System::block_number()));
        let fee = PRICE_PER_TOKEN * Balance::from(TOKENS_IN + TOKENS_OUT);
        let prompt = format!(
            "request {nonce} of {} to {operator} at block {now}",
            user.id()
        )
        .into_bytes();
        let answer = format!("answer to request {nonce} of {}", user.id()).into_bytes();
        let authorization = InferenceAuthorization {
            user: user.id(),
            operator: operator.clone(),
            model,
            prompt_hash: Hash::from(sp_io::hashing::blake2_256(&prompt)),
            max_fee: fee,
            nonce,
            expiry: now.saturating_add(100),
        };
        let user_signature = authorization.sign(&genesis, &user.pair);
        let entries: Vec<AttributionEntry> = attribution
            .iter()
            .map(|(contribution, weight_ppm)| AttributionEntry {
                contribution: *contribution,
                weight_ppm: *weight_ppm,
            })
            .collect();
        let record = InferenceRecord {
            authorization,
            user_signature,
            output_hash: Hash::from(sp_io::hashing::blake2_256(&answer)),
            tokens_in: TOKENS_IN,
            tokens_out: TOKENS_OUT,
            fee,
            attribution: Attribution::truncate_from(entries),
            provenance: Default::default(),
        };
        Served {
            record,
            prompt,
            answer,
        }
    }

    /// Submits `operator`'s signed batch (it must be accepted) and returns the ids of its
    /// settled records by `(user, nonce)`, read from the `InferenceSettled` events.
    pub fn settle_batch(
        &mut self,
        operator: &Agent,
        signed: SignedInferenceBatch,
    ) -> Result<BTreeMap<(AccountId, u64), RecordId>> {
        self.must(
            operator,
            pallet_attribution::Call::<Runtime>::submit_inference_batch { signed },
        )?;
        Ok(self.read(|| {
            let batch = pallet_attribution::NextBatchId::<Runtime>::get().saturating_sub(1);
            System::read_events_no_consensus()
                .filter_map(|record| match record.event {
                    RuntimeEvent::Attribution(pallet_attribution::Event::InferenceSettled {
                        batch: settled_in,
                        user,
                        nonce,
                        record,
                        ..
                    }) if settled_in == batch => Some(((user, nonce), record)),
                    _ => None,
                })
                .collect()
        }))
    }

    /// `challenger` challenges the attribution of `record` with its prompt and answer; returns
    /// the challenge's id if it was accepted.
    pub fn challenge_attribution(
        &mut self,
        challenger: &Agent,
        record: RecordId,
        served: &Served,
    ) -> Option<AttributionChallengeId> {
        let id = self.read(pallet_attribution::NextAttributionChallengeId::<Runtime>::get);
        let call = pallet_attribution::Call::<Runtime>::challenge_attribution {
            record,
            prompt: BoundedVec::truncate_from(served.prompt.clone()),
            answer: BoundedVec::truncate_from(served.answer.clone()),
        };
        self.call(challenger, call).is_ok().then_some(id)
    }

    /// The juries of `challenges` (drawn in the next block) vote: each juror `misattributed`
    /// as its recomputation of the record's attribution finds it.
    pub fn attribution_verdicts(
        &mut self,
        challenges: &[(AttributionChallengeId, bool)],
        agents: &[Agent],
    ) {
        self.advance(1);
        for &(challenge, misattributed) in challenges {
            let jury = self.read(|| {
                pallet_attribution::AttributionChallenges::<Runtime>::get(challenge)
                    .map(|info| info.jury)
            });
            self.seated_vote(jury, agents, || {
                pallet_attribution::Call::<Runtime>::vote_attribution {
                    challenge,
                    misattributed,
                }
                .into()
            });
        }
    }

    /// `operator`'s worker signs `records` as its next batch.
    pub fn batch(
        &mut self,
        operator: &Agent,
        records: Vec<InferenceRecord>,
    ) -> SignedInferenceBatch {
        let (genesis, nonce) = self.read(|| {
            let nonce = pallet_attribution::BatchNonces::<Runtime>::get(operator.id())
                .map_or(0, |last| last.saturating_add(1));
            (crate::chain::genesis_hash(), nonce)
        });
        let batch = InferenceBatch {
            operator: operator.id(),
            nonce,
            records: BoundedVec::truncate_from(records),
        };
        SignedInferenceBatch::sign(batch, &genesis, &operator.worker)
    }
}
