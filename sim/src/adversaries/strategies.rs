//! The strategies, and the honest economy each plays in ([`Play`]): contributions, a published
//! version, a training job, then rounds of paid inference.

use super::{
    world::{Agent, Served},
    Audit, Figures, Row, World, REQUESTS_PER_ROUND, ROUNDS,
};
use anyhow::Result;
use attribution_primitives::{
    attribution::{AttributionChallengeId, RecordId},
    traits::PoolId,
    AccountId, ContributionId, Hash, ModelId, OPEN,
};
use attribution_runtime::{Runtime, DAYS};
use codec::Encode;
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use std::collections::BTreeMap;

/// Contributions each honest contributor makes.
const HONEST_CONTRIBUTIONS: usize = 8;
/// The share of spam a curator catches (rejecting it as spam slashes its bond).
const CURATOR_CATCHES_PERCENT: u32 = 90;
/// Sybil accounts, and the spam each announces (the default daily limit: 20 files, 10 MiB).
const SYBILS: u64 = 10;
const SPAM_PER_SYBIL: usize = 20;
const SPAM_BYTES: u64 = 512 * 1024;
/// Contributions a self-dealing operator's own contributor account makes (each may take at most
/// the 25 % cap of a record's contributors' share, so four take it all).
const OWN_CONTRIBUTIONS: usize = 4;
/// Requests a wash-trading user sends its own operator per round.
const WASH_REQUESTS: u32 = 10;
/// Attribution weight per entry: the cap, 25 % of the contributors' share.
const ENTRY_PPM: u32 = 250_000;
/// The steering operator's stake: the least the chain accepts, which makes a proven
/// misattribution cost it least (10 % of its stake).
const STEERING_STAKE: attribution_primitives::Balance = 100 * OPEN;
/// The auditor's endowment: enough for the challenge bonds it holds at once.
const AUDITOR_ENDOWMENT: attribution_primitives::Balance = 1_000 * OPEN;
/// Basis points of answers whose attribution the auditor recomputes in the main table's
/// steering row: 5 % (an assumption about users, not a chain parameter; the steering table
/// shows other shares).
pub const DEFAULT_CHECKED_BP: u32 = 500;
/// Seeds the auditors' choice of answers apart from the rest of the world, so that a world with
/// another check rate serves the same requests, attributed the same way.
const CHECKS_SEED: u64 = 0xa0d1_7000;

/// Who plays, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Baseline: the honest contributors' ledger in a world with no adversary.
    HonestContributors,
    /// (a) Sybil accounts flood the datanet with spam, hoping some is approved and earns points.
    SybilSpam,
    /// (b) An operator attributes every answer it serves to contributions it owns; an auditor
    /// the users hand their prompts and answers recomputes the attribution of `checked_bp`
    /// basis points of all answers and challenges those that differ.
    SteeringOperator { checked_bp: u32 },
    /// (c) An operator submits other operators' records and batches, and front-runs honest
    /// contributors' content hashes.
    RecordThief,
    /// (d) A prover of a fraudulent proof challenges it from a sybil, to occupy the slot and
    /// take the challenger's share.
    SelfChallenger,
    /// (d) An account challenges an honest proof as often as the chain allows, to delay its pay.
    ChallengeGriefer,
    /// (e) A user and an operator (with their own adapter and contributions) trade requests to
    /// farm the fee split.
    WashTrading,
}

impl Strategy {
    pub const ALL: [Strategy; 7] = [
        Strategy::HonestContributors,
        Strategy::SybilSpam,
        Strategy::SteeringOperator {
            checked_bp: DEFAULT_CHECKED_BP,
        },
        Strategy::RecordThief,
        Strategy::SelfChallenger,
        Strategy::ChallengeGriefer,
        Strategy::WashTrading,
    ];

    pub fn is_attack(self) -> bool {
        self != Strategy::HonestContributors
    }

    pub fn describe(self) -> String {
        match self {
            Strategy::HonestContributors => "honest contributors (2 accounts, 16 contributions)",
            Strategy::SybilSpam => "(a) 10 sybils, 200 spam contributions, curator catches 90 %",
            Strategy::SteeringOperator { checked_bp } => {
                return format!(
                    "(b) operator steering every answer to its 4 own contributions, {} % of \
                     answers checked",
                    f64::from(checked_bp) / 100.0
                )
            }
            Strategy::RecordThief => {
                "(c) record thief: others' records and batches, front-run content hashes"
            }
            Strategy::SelfChallenger => "(d) fraudulent prover challenging itself from a sybil",
            Strategy::ChallengeGriefer => "(d) griefer filling an honest proof's 4 challenge slots",
            Strategy::WashTrading => {
                "(e) user-operator pair wash trading on its own adapter and data"
            }
        }
        .to_string()
    }

    /// Plays the strategy in a fresh world, then its honest twin (the same accounts, set up the
    /// same way, skipping every attack step) in another: what the attack changes is the
    /// difference.
    pub fn play(self, seed: u64) -> Result<Row> {
        let twin = self.play_once(seed, false)?.0;
        self.play_beside(seed, twin)
    }

    /// Plays the attack and sets it beside `twin`, the figures of its honest twin (which do not
    /// depend on the check rate: honest records are never challenged).
    pub(super) fn play_beside(self, seed: u64, twin: Figures) -> Result<Row> {
        let (attack, audit) = self.play_once(seed, true)?;
        Ok(Row {
            strategy: self,
            attack,
            twin,
            audit,
        })
    }

    /// One world: the group's figures, and the auditor's work where there is one.
    pub(super) fn play_once(self, seed: u64, attack: bool) -> Result<(Figures, Option<Audit>)> {
        let mut play = Play::new(self, seed, attack && self.is_attack())?;
        play.contributions()?;
        play.training()?;
        play.inference()?;
        let (spent, gained) = play.world.close_ledger(play.ledger, &play.group);
        let audit = match play.auditor.take() {
            Some((auditor, ledger)) => {
                let (spent, gained) = play.world.close_ledger(ledger, &[auditor]);
                play.audit.auditor = Figures { spent, gained };
                let operator = play.operator.as_ref().map(Agent::id);
                play.audit.slashes = play.world.slashes_of(operator.as_ref());
                Some(play.audit)
            }
            None => None,
        };
        Ok((Figures { spent, gained }, audit))
    }
}

/// One world with one strategy in it.
struct Play {
    strategy: Strategy,
    /// Whether the attack steps are played (or skipped, for the honest twin).
    attack: bool,
    world: World,
    rng: StdRng,
    /// The accounts whose OPEN is counted.
    group: Vec<Agent>,
    ledger: usize,
    /// The group's operator, contributor, developer and user, where the strategy has them.
    operator: Option<Agent>,
    contributor: Option<Agent>,
    sybils: Vec<Agent>,
    /// Contributions with real data: what honest attribution draws from.
    legit: Vec<ContributionId>,
    /// The group's own approved contributions.
    own: Vec<ContributionId>,
    pool: PoolId,
    /// The honest developer's adapter, which users ask for.
    adapter: ModelId,
    /// The wash traders' own adapter.
    own_adapter: Option<ModelId>,
    /// Each (user, operator)'s next authorization nonce.
    nonces: BTreeMap<(AccountId, AccountId), u64>,
    next_hash: u64,
    /// The auditor and its ledger, in a steering world.
    auditor: Option<(Agent, usize)>,
    /// Basis points of settled answers the auditor recomputes.
    checked_bp: u32,
    /// Draws the answers the auditor checks.
    checks: StdRng,
    audit: Audit,
}

/// One served request as the simulation knows it: the record, and the attribution an honest
/// recomputation from its prompt and answer finds.
struct Request {
    served: Served,
    recomputed: Vec<(ContributionId, u32)>,
    steered: bool,
}

impl Play {
    fn new(strategy: Strategy, seed: u64, attack: bool) -> Result<Self> {
        let mut world = World::new()?;
        let group;
        let (mut operator, mut contributor, mut sybils) = (None, None, Vec::new());
        let (mut auditor, mut checked_bp) = (None, 0);
        match strategy {
            Strategy::HonestContributors => group = world.honest.contributors.clone(),
            Strategy::SteeringOperator { checked_bp: rate } => {
                let op = world.account(1_000 * OPEN)?;
                world.register_operator(&op, STEERING_STAKE)?;
                let checker = world.account(AUDITOR_ENDOWMENT)?;
                let ledger = world.open_ledger(vec![checker.id()]);
                auditor = Some((checker, ledger));
                checked_bp = rate;
                let data = world.account(1_000 * OPEN)?;
                group = vec![op.clone(), data.clone()];
                operator = Some(op);
                contributor = Some(data);
            }
            Strategy::SybilSpam => {
                for _ in 0..SYBILS {
                    sybils.push(world.account(100 * OPEN)?);
                }
                group = sybils.clone();
            }
            Strategy::RecordThief => {
                let thief = world.account(1_000 * OPEN)?;
                // The least stake that lets it submit batches.
                world.register_operator(&thief, 100 * OPEN)?;
                group = vec![thief.clone()];
                operator = Some(thief);
            }
            Strategy::SelfChallenger => {
                let prover = world.account(1_000 * OPEN)?;
                world.register_operator(&prover, 100 * OPEN)?;
                let sybil = world.account(100 * OPEN)?;
                group = vec![prover.clone(), sybil.clone()];
                operator = Some(prover);
                sybils.push(sybil);
            }
            Strategy::ChallengeGriefer => {
                let griefer = world.account(1_000 * OPEN)?;
                group = vec![griefer.clone()];
                sybils.push(griefer);
            }
            Strategy::WashTrading => {
                let op = world.account(1_000 * OPEN)?;
                world.register_operator(&op, 100 * OPEN)?;
                let data = world.account(1_000 * OPEN)?;
                let user = world.account(1_000 * OPEN)?;
                group = vec![op.clone(), data.clone(), user.clone()];
                operator = Some(op);
                contributor = Some(data);
                sybils.push(user);
            }
        }
        let members = group.iter().map(Agent::id).collect();
        let ledger = world.open_ledger(members);
        Ok(Self {
            strategy,
            attack,
            world,
            rng: StdRng::seed_from_u64(seed),
            group,
            ledger,
            operator,
            contributor,
            sybils,
            legit: Vec::new(),
            own: Vec::new(),
            pool: PoolId {
                datanet: 0,
                version: 0,
            },
            adapter: 0,
            own_adapter: None,
            nonces: BTreeMap::new(),
            next_hash: 0,
            auditor,
            checked_bp,
            checks: StdRng::seed_from_u64(seed ^ CHECKS_SEED),
            audit: Audit::default(),
        })
    }

    fn fresh_hash(&mut self) -> Hash {
        self.next_hash += 1;
        Hash::from(sp_io::hashing::blake2_256(
            &(b"content", self.next_hash).encode(),
        ))
    }

    // --- contributions ---

    /// Honest contributions (approved), the group's own (approved: real data), spam (caught
    /// 90 % of the time), front-runs (rejected: nobody can fetch their bytes); then version 1.
    fn contributions(&mut self) -> Result<()> {
        let contributors = self.world.honest.contributors.clone();
        for round in 0..HONEST_CONTRIBUTIONS {
            for honest in &contributors {
                let hash = self.fresh_hash();
                if self.attack && self.strategy == Strategy::RecordThief && round < 2 {
                    self.front_run(honest, hash)?;
                }
                let id = self
                    .world
                    .contribute(honest, hash, super::world::CONTRIBUTION_BYTES)
                    .ok_or_else(|| anyhow::anyhow!("an honest contribution was refused"))?;
                self.world.curate(id, true)?;
                self.legit.push(id);
            }
        }
        if let Some(own) = self.contributor.clone() {
            for _ in 0..OWN_CONTRIBUTIONS {
                let hash = self.fresh_hash();
                if let Some(id) =
                    self.world
                        .contribute(&own, hash, super::world::CONTRIBUTION_BYTES)
                {
                    self.world.curate(id, true)?;
                    self.legit.push(id);
                    self.own.push(id);
                }
            }
        }
        if self.attack && self.strategy == Strategy::SybilSpam {
            self.spam()?;
        }
        self.pool = self.world.publish()?;
        Ok(())
    }

    /// (a) Every sybil announces its daily limit of spam; the curator catches most of it.
    fn spam(&mut self) -> Result<()> {
        for sybil in self.sybils.clone() {
            for _ in 0..SPAM_PER_SYBIL {
                let hash = self.fresh_hash();
                if let Some(id) = self.world.contribute(&sybil, hash, SPAM_BYTES) {
                    let caught = self.rng.gen_range(0..100) < CURATOR_CATCHES_PERCENT;
                    self.world.curate(id, !caught)?;
                }
            }
        }
        Ok(())
    }

    /// (c) The thief announces an honest contributor's content hash first. The honest
    /// announcement is refused as a duplicate; the curator cannot fetch the thief's bytes (the
    /// content store takes an upload only signed by the announcing contributor, and the thief
    /// has only the hash), so rejects it as spam; the honest contributor announces again.
    fn front_run(&mut self, honest: &Agent, hash: Hash) -> Result<()> {
        let Some(thief) = self.operator.clone() else {
            return Ok(());
        };
        if let Some(stolen) = self
            .world
            .contribute(&thief, hash, super::world::CONTRIBUTION_BYTES)
        {
            let refused = self
                .world
                .contribute(honest, hash, super::world::CONTRIBUTION_BYTES);
            anyhow::ensure!(refused.is_none(), "a duplicate hash was accepted");
            self.world.curate(stolen, false)?;
        }
        Ok(())
    }

    // --- training ---

    /// The honest developer's job, trained by an honest operator; the squatter's fraudulent job,
    /// the griefer's challenges and the wash traders' own adapter where the strategy has them.
    fn training(&mut self) -> Result<()> {
        let developer = self.world.honest.developer.clone();
        let trainer = self.world.honest.operators[0].clone();
        let (job, adapter) =
            self.world
                .post_job(&developer, self.pool, super::world::TRAINING_BUDGET)?;
        self.world.claim_and_prove(&trainer, job)?;
        self.adapter = adapter;
        let mut jobs = vec![job];
        match self.strategy {
            _ if !self.attack => {}
            Strategy::SelfChallenger => jobs.push(self.self_challenge()?),
            Strategy::ChallengeGriefer => self.grief(job),
            Strategy::WashTrading => jobs.push(self.train_own_adapter()?),
            _ => {}
        }
        self.world.settle(&jobs);
        Ok(())
    }

    /// (d) A second job, claimed by the squatter, proven with a fabricated proof, and
    /// challenged at once by the squatter's sybil; an honest challenger follows. The jury
    /// re-runs the verification and finds the fraud.
    fn self_challenge(&mut self) -> Result<u64> {
        let developer = self.world.honest.developer.clone();
        let (Some(prover), Some(sybil)) = (self.operator.clone(), self.sybils.first().cloned())
        else {
            anyhow::bail!("the self-challenger has no prover or sybil");
        };
        let (job, _) = self
            .world
            .post_job(&developer, self.pool, super::world::TRAINING_BUDGET)?;
        self.world.claim_and_prove(&prover, job)?;
        let squat = self.world.challenge(&sybil, job);
        let honest_challenger = self.world.honest.users[0].clone();
        let _ = self.world.challenge(&honest_challenger, job);
        if let Some(challenge) = squat {
            let jurors = self.world.honest.operators.clone();
            self.world.jury_votes(challenge, true, &jurors);
        }
        Ok(job)
    }

    /// (d) The griefer opens every challenge slot of the honest proof; each jury finds no fraud.
    fn grief(&mut self, job: u64) {
        let Some(griefer) = self.sybils.first().cloned() else {
            return;
        };
        let mut opened = Vec::new();
        for _ in 0..attribution_primitives::compute::MAX_OPEN_CHALLENGES {
            if let Some(challenge) = self.world.challenge(&griefer, job) {
                opened.push(challenge);
            }
        }
        let jurors = self.world.honest.operators.clone();
        for challenge in opened {
            self.world.jury_votes(challenge, false, &jurors);
        }
    }

    /// (e) The wash traders' user posts a minimum-budget job that their operator trains, so they
    /// own the adapter they will trade on.
    fn train_own_adapter(&mut self) -> Result<u64> {
        let (Some(operator), Some(user)) = (self.operator.clone(), self.sybils.first().cloned())
        else {
            anyhow::bail!("the wash traders have no operator or user");
        };
        let (job, adapter) = self.world.post_job(&user, self.pool, OPEN)?;
        self.world.claim_and_prove(&operator, job)?;
        self.own_adapter = Some(adapter);
        Ok(job)
    }

    // --- inference ---

    fn nonce(&mut self, user: &Agent, operator: &AccountId) -> u64 {
        let next = self
            .nonces
            .entry((user.id(), operator.clone()))
            .or_default();
        let nonce = *next;
        *next += 1;
        nonce
    }

    /// Honest attribution: four legit contributions of the version at random, 25 % each.
    fn honest_attribution(&mut self) -> Vec<(ContributionId, u32)> {
        self.legit
            .choose_multiple(&mut self.rng, 4)
            .map(|id| (*id, ENTRY_PPM))
            .collect()
    }

    /// (b) The steering operator's attribution: its own contributions at the cap, whatever the
    /// answer drew on.
    fn steered_attribution(&self) -> Vec<(ContributionId, u32)> {
        self.own.iter().map(|id| (*id, ENTRY_PPM)).collect()
    }

    /// Users fund their credit and allowances; then [`ROUNDS`] rounds of requests, each
    /// operator settling its records as one batch per round.
    fn inference(&mut self) -> Result<()> {
        let users = self.world.honest.users.clone();
        for user in &users {
            self.world.fund_user(user, 200 * OPEN, 20 * OPEN)?;
        }
        let mut serving: Vec<Agent> = self.world.honest.operators.clone();
        let steering = matches!(self.strategy, Strategy::SteeringOperator { .. });
        if steering {
            serving.extend(self.operator.clone());
        }
        let washing = self.attack && self.strategy == Strategy::WashTrading;
        if washing {
            self.fund_wash_trader()?;
        }
        for _ in 0..ROUNDS {
            let mut batches: BTreeMap<usize, Vec<Request>> = BTreeMap::new();
            for user in &users {
                for _ in 0..REQUESTS_PER_ROUND {
                    let index = self.rng.gen_range(0..serving.len());
                    let operator = serving[index].id();
                    let steered = self.attack
                        && steering
                        && self.operator.as_ref().map(Agent::id) == Some(operator.clone());
                    // What the answer drew on, whoever serves it: what a recomputation finds.
                    let recomputed = self.honest_attribution();
                    let attribution = if steered {
                        self.steered_attribution()
                    } else {
                        recomputed.clone()
                    };
                    let nonce = self.nonce(user, &operator);
                    let served =
                        self.world
                            .record(user, &operator, self.adapter, nonce, &attribution);
                    batches.entry(index).or_default().push(Request {
                        served,
                        recomputed,
                        steered,
                    });
                }
            }
            let mut challenges = Vec::new();
            for (index, requests) in batches {
                let operator = serving[index].clone();
                let records = requests.iter().map(|r| r.served.record.clone()).collect();
                let signed = self.world.batch(&operator, records);
                if self.attack && self.strategy == Strategy::RecordThief {
                    self.steal(&signed);
                }
                self.world.restake_if_slashed(&operator)?;
                let settled = self.world.settle_batch(&operator, signed)?;
                challenges.extend(self.audit(&requests, &settled));
            }
            if !challenges.is_empty() {
                let jurors = self.world.honest.operators.clone();
                self.world.attribution_verdicts(&challenges, &jurors);
            }
            if washing {
                self.wash_round();
            }
            self.world.advance(1);
        }
        // Past every allowance reduction delay, so nothing is in flight.
        self.world.advance(DAYS);
        Ok(())
    }

    /// The auditor recomputes the attribution of a share of the settled records (users hand it
    /// their prompts and answers) and challenges those whose entries differ from its
    /// recomputation; returns the challenges opened, each with what an honest juror's
    /// recomputation votes.
    fn audit(
        &mut self,
        requests: &[Request],
        settled: &BTreeMap<(AccountId, u64), RecordId>,
    ) -> Vec<(AttributionChallengeId, bool)> {
        let Some((auditor, _)) = self.auditor.clone() else {
            return Vec::new();
        };
        let mut opened = Vec::new();
        for request in requests {
            let authorization = &request.served.record.authorization;
            let Some(record) = settled.get(&(authorization.user.clone(), authorization.nonce))
            else {
                continue;
            };
            if request.steered {
                self.audit.steered += 1;
            }
            // Drawn for every settled record, so that every world checks the same ones.
            if self.checks.gen_range(0..10_000) >= self.checked_bp {
                continue;
            }
            let recorded: Vec<(ContributionId, u32)> = request
                .served
                .record
                .attribution
                .iter()
                .map(|entry| (entry.contribution, entry.weight_ppm))
                .collect();
            if same_entries(&recorded, &request.recomputed) {
                continue;
            }
            if let Some(challenge) =
                self.world
                    .challenge_attribution(&auditor, *record, &request.served)
            {
                self.audit.challenges += 1;
                opened.push((challenge, true));
            }
        }
        opened
    }

    /// (c) The thief sees an honest batch before it is included: it submits the batch from its
    /// own account (refused: the batch names another operator), then the same records in a
    /// batch of its own (settled with every record rejected: each authorization names the
    /// honest operator).
    fn steal(&mut self, honest: &attribution_primitives::attribution::SignedInferenceBatch) {
        let Some(thief) = self.operator.clone() else {
            return;
        };
        let _ = self.world.call(
            &thief,
            pallet_attribution::Call::<Runtime>::submit_inference_batch {
                signed: honest.clone(),
            },
        );
        let records = honest.batch.records.to_vec();
        let own = self.world.batch(&thief, records);
        let _ = self.world.call(
            &thief,
            pallet_attribution::Call::<Runtime>::submit_inference_batch { signed: own },
        );
    }

    fn fund_wash_trader(&mut self) -> Result<()> {
        let (Some(operator), Some(user)) = (self.operator.clone(), self.sybils.first().cloned())
        else {
            anyhow::bail!("the wash traders have no operator or user");
        };
        self.world.must(
            &user,
            pallet_attribution::Call::<Runtime>::deposit_credit { amount: 100 * OPEN },
        )?;
        self.world.must(
            &user,
            pallet_attribution::Call::<Runtime>::grant_allowance {
                operator: operator.id(),
                amount: 100 * OPEN,
            },
        )
    }

    /// (e) The pair's user sends its operator [`WASH_REQUESTS`] requests on the pair's own
    /// adapter, attributed to the pair's own contributions at the cap.
    fn wash_round(&mut self) {
        let (Some(operator), Some(user), Some(model)) = (
            self.operator.clone(),
            self.sybils.first().cloned(),
            self.own_adapter,
        ) else {
            return;
        };
        let attribution = self.steered_attribution();
        let records = (0..WASH_REQUESTS)
            .map(|_| {
                let nonce = self.nonce(&user, &operator.id());
                self.world
                    .record(&user, &operator.id(), model, nonce, &attribution)
                    .record
            })
            .collect();
        let signed = self.world.batch(&operator, records);
        let _ = self.world.call(
            &operator,
            pallet_attribution::Call::<Runtime>::submit_inference_batch { signed },
        );
    }
}

/// Whether two attributions name the same contributions with the same weights, in any order.
fn same_entries(a: &[(ContributionId, u32)], b: &[(ContributionId, u32)]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_unstable();
    b.sort_unstable();
    a == b
}
