//! GPU operators, training jobs and the signed training proof a worker submits.
//!
//! [`SignedTrainingProof`] is the one definition of the proof: the worker builds and signs it, the runtime
//! decodes and verifies it. The signature covers
//! [`signing_message`]`(`[`TRAINING_PROOF_DOMAIN`]`, &genesis, &payload)`, `genesis` being the
//! chain's genesis block hash.

use crate::{
    models::{Cid, EvalMetrics, TrainingMethod},
    signing::{signing_message, TRAINING_PROOF_DOMAIN, WORKER_KEY_POSSESSION_DOMAIN},
    traits::PoolId,
    AccountId, Balance, BlockNumber, ContributionId, Hash, JobId, ModelId,
};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::{sr25519, ConstU32};
use sp_runtime::{traits::Verify, BoundedVec};

/// Longest GPU model description (e.g. `NVIDIA RTX 4090`), in bytes.
pub const MAX_GPU_MODEL_LEN: u32 = 64;
/// Longest inference endpoint URL, in bytes.
pub const MAX_ENDPOINT_LEN: u32 = 256;
/// Most contribution ids one training proof may list.
pub const MAX_PROOF_CONTRIBUTIONS: u32 = 1024;
/// Most operators one page of `ComputeApi::operators` returns.
pub const MAX_OPERATORS_PAGE: u32 = 100;
/// Largest hyper-parameters file a node's content store accepts, in bytes.
pub const MAX_HYPERPARAMETERS_BYTES: u64 = 4096;
/// Most challenges open at once on one proof: several, so one challenger (or the prover's own
/// sybil) cannot occupy the only slot.
pub const MAX_OPEN_CHALLENGES: u32 = 4;
/// Most operators remembered per job as having let a claim on it expire: each is refused that
/// job from then on. Each entry cost its operator a claim-timeout slash; past the bound the
/// oldest is forgotten.
pub const MAX_EXPIRED_CLAIMERS: u32 = 16;
/// Most jurors on one challenge's jury.
pub const MAX_JURY: u32 = 9;
/// Most operators that may sit in the juror pool (the draw reads the whole pool, so it is bounded).
pub const MAX_JUROR_POOL: u32 = 256;
/// Most challenges whose juries are drawn in one block (the draw runs in the next block's
/// `on_initialize`, so it is bounded).
pub const MAX_DRAWS_PER_BLOCK: u32 = 8;

/// Index of a challenge, assigned in the order challenges are opened.
pub type ChallengeId = u64;
/// The open challenges of one proof, in the order they were opened.
pub type OpenChallenges = BoundedVec<ChallengeId, ConstU32<MAX_OPEN_CHALLENGES>>;
/// A challenge's jury with each juror's vote.
pub type Jury<AccountId> = BoundedVec<JurorVote<AccountId>, ConstU32<MAX_JURY>>;

/// An operator's inference endpoint (an `http(s)://` URL, UTF-8).
pub type Endpoint = BoundedVec<u8, ConstU32<MAX_ENDPOINT_LEN>>;
/// The contributions a training run used, strictly ascending (so each appears once).
pub type ContributionList = BoundedVec<ContributionId, ConstU32<MAX_PROOF_CONTRIBUTIONS>>;

/// What an operator trains and serves on.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Hardware {
    /// The GPU model (UTF-8), or `cpu` for CPU-only workers.
    pub gpu_model: BoundedVec<u8, ConstU32<MAX_GPU_MODEL_LEN>>,
    /// Memory per GPU in MiB.
    pub gpu_memory_mib: u32,
    /// Number of GPUs.
    pub gpu_count: u32,
}

/// A registered GPU operator.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct OperatorInfo<Balance> {
    /// The sr25519 key its worker signs proofs with (not the account key).
    pub worker_key: sr25519::Public,
    /// What it runs on.
    pub hardware: Hardware,
    /// Where it serves inference.
    pub endpoint: Endpoint,
    /// What it charges per token (prompt and answer alike), in OPEN's smallest unit: a record it
    /// settles may charge at most this times the record's `tokens_in + tokens_out`.
    pub price_per_token: Balance,
    /// OPEN held from the operator's account as stake (may fall below the minimum after a slash).
    pub stake: Balance,
    /// The job it has claimed, until that job is settled, rejected or its claim released.
    pub current_job: Option<JobId>,
    /// How many open challenges' juries it sits on; it cannot deregister (and escape the
    /// penalty for not voting) while this is not zero.
    pub juries: u32,
}

/// Where a training job is in its life.
///
/// ```text
/// Open ──claim──▶ Claimed ──proof──▶ Proven ──window passes, settle──▶ (settled, removed)
///  ▲  │              │                  │ ▲
///  │  cancel         claim expires      challenge │ last open challenge dismissed or timed out
///  │  (removed)      (release, slash)   ▼ │
///  └─────────────────┘               Challenged ──jury (or fallback) finds fraud──▶ (rejected, removed)
/// ```
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub enum JobStatus<AccountId, BlockNumber> {
    /// Waiting for an operator.
    Open,
    /// An operator is training; its proof must arrive by `expires_at` (inclusive).
    Claimed {
        operator: AccountId,
        expires_at: BlockNumber,
    },
    /// A proof was accepted; it may be challenged until `challenge_end` (inclusive).
    Proven {
        operator: AccountId,
        challenge_end: BlockNumber,
    },
    /// One or more challenges await their juries; the window stays open (`challenge_end` is at
    /// least every open challenge's `vote_end`), so others may still challenge.
    Challenged {
        operator: AccountId,
        challenge_end: BlockNumber,
        /// The open challenges, oldest first.
        open: OpenChallenges,
    },
}

/// A juror and its vote.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct JurorVote<AccountId> {
    /// The operator drawn.
    pub juror: AccountId,
    /// `Some(true)`: the proof is fraudulent; `Some(false)`: it holds; `None`: not voted yet.
    pub fraud: Option<bool>,
}

/// A pending challenge of a training proof.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Challenge<AccountId, Balance, BlockNumber> {
    /// The job whose proof is challenged.
    pub job: JobId,
    /// Who challenged (any account but the prover) and holds `bond`.
    pub challenger: AccountId,
    /// OPEN held from the challenger until the challenge is resolved.
    pub bond: Balance,
    /// Hash of the case the challenger made off chain (e.g. `attribution-worker verify`'s verdict).
    pub evidence: Hash,
    /// The block it was opened in; its jury is drawn in the next block.
    pub opened_at: BlockNumber,
    /// Last block in which jurors may vote; after it, anyone may close the challenge.
    pub vote_end: BlockNumber,
    /// The jurors drawn and their votes (empty until the draw, and if no operator could sit).
    pub jury: Jury<AccountId>,
}

impl<AccountId, Balance, BlockNumber> Challenge<AccountId, Balance, BlockNumber> {
    /// Votes needed for a verdict: a strict majority of the jury.
    pub fn majority(&self) -> usize {
        self.jury.len() / 2 + 1
    }

    /// `Some(fraud)` once a strict majority of the jury voted the same way.
    pub fn verdict(&self) -> Option<bool> {
        jury_verdict(&self.jury)
    }
}

/// `Some(vote)` once a strict majority of `jury` voted `vote`; `None` before, and for an empty
/// jury. Training and attribution challenges are decided alike.
pub fn jury_verdict<AccountId>(jury: &Jury<AccountId>) -> Option<bool> {
    let majority = jury.len() / 2 + 1;
    let yes = jury.iter().filter(|v| v.fraud == Some(true)).count();
    let no = jury.iter().filter(|v| v.fraud == Some(false)).count();
    if jury.is_empty() {
        None
    } else if yes >= majority {
        Some(true)
    } else if no >= majority {
        Some(false)
    } else {
        None
    }
}

/// A posted training job. Its budget is escrowed in the compute pallet's account while it exists.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct JobInfo<AccountId, Balance, BlockNumber> {
    /// Who posted it; owns the adapter.
    pub developer: AccountId,
    /// The adapter this job trains (in pallet-models, status `Training` until a proof arrives).
    pub model: ModelId,
    /// The base model to fine-tune.
    pub base_model: ModelId,
    /// The datanet version to train on.
    pub pool: PoolId,
    /// That version's Merkle root.
    pub dataset_root: Hash,
    /// The training method.
    pub method: TrainingMethod,
    /// blake2-256 of the hyper-parameters file (at most [`MAX_HYPERPARAMETERS_BYTES`] long; any
    /// node stores it while the job lives).
    pub hyperparameters_hash: Hash,
    /// The adapter this job trains a new version of, if any: the new adapter's held-out loss may
    /// exceed that one's by at most the bound governance sets.
    pub previous: Option<ModelId>,
    /// OPEN paid on settlement (operator and the version's contributors).
    pub budget: Balance,
    /// Last block in which the job may be claimed or proven.
    pub deadline: BlockNumber,
    /// Where it is.
    pub status: JobStatus<AccountId, BlockNumber>,
    /// blake2-256 of the accepted proof's SCALE-encoded payload, once there is one.
    pub proof_hash: Option<Hash>,
}

/// What a worker attests to after training. Hashes are blake2-256 of the files' bytes.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct TrainingProof {
    /// The job trained.
    pub job: JobId,
    /// The worker key that signs this payload; must be the claiming operator's registered key.
    pub worker_key: sr25519::Public,
    /// Hash of the base model's weights, as registered in pallet-models.
    pub base_model_hash: Hash,
    /// Merkle root of the datanet version trained on, as published in pallet-datanets.
    pub dataset_root: Hash,
    /// Hash of the hyper-parameters file trained with, as posted in the job.
    pub hyperparameters_hash: Hash,
    /// Hash of the adapter weights file produced.
    pub adapter_hash: Hash,
    /// Size of the adapter weights file in bytes, at most
    /// [`MAX_ADAPTER_BYTES`](crate::models::MAX_ADAPTER_BYTES).
    pub adapter_size: u64,
    /// Where the adapter can be fetched.
    pub adapter_cid: Cid,
    /// Optimizer steps run.
    pub steps: u64,
    /// Tokens trained on.
    pub tokens: u64,
    /// Held-out loss and ROUGE-L of the base and of the adapted model, parts per million (see
    /// [`EvalMetrics`]).
    pub metrics: EvalMetrics,
    /// Binary Merkle root ([`crate::merkle::root`]) over the blake2-256 hashes of the held-out
    /// rows' bytes, in order: the rows both models were evaluated on.
    pub held_out_root: Hash,
    /// Binary Merkle root over the checkpoint hashes taken every K steps (K is in the hyper-parameters).
    pub checkpoint_root: Hash,
    /// The contributions of the version used, strictly ascending.
    pub contributions: ContributionList,
}

/// A training proof with the worker's signature over
/// `TRAINING_PROOF_DOMAIN || genesis hash || SCALE(payload)`.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct SignedTrainingProof {
    pub payload: TrainingProof,
    pub signature: sr25519::Signature,
}

impl SignedTrainingProof {
    /// Whether `signature` is `payload.worker_key`'s signature over the domain-tagged payload for
    /// the chain whose genesis block hash is `genesis`.
    pub fn verify(&self, genesis: &Hash) -> bool {
        let message = signing_message(TRAINING_PROOF_DOMAIN, genesis, &self.payload);
        self.signature
            .verify(message.as_slice(), &self.payload.worker_key)
    }

    /// Signs `payload` with `pair` for the chain whose genesis block hash is `genesis`;
    /// `payload.worker_key` should be `pair`'s public key.
    #[cfg(feature = "std")]
    pub fn sign(payload: TrainingProof, genesis: &Hash, pair: &sr25519::Pair) -> Self {
        use sp_core::Pair as _;
        let signature = pair.sign(&signing_message(TRAINING_PROOF_DOMAIN, genesis, &payload));
        Self { payload, signature }
    }
}

/// What a worker key signs to prove that the operator registering it, or rotating to it, holds
/// it (security review L6): without it anyone could register another party's worker key first
/// and keep its owner from registering it.
///
/// The signature covers `WORKER_KEY_POSSESSION_DOMAIN || genesis hash || SCALE(self)`: the
/// operator's account binds it to that account (another account cannot reuse it), the genesis
/// hash to one chain, the domain tag to this use (a training proof or batch signature is never a
/// possession proof, nor the other way round). It is made by a program holding the worker key
/// (`attribution-worker`), so only the bare form is accepted. Replaying it for the same operator
/// and key proves again what it proved once: that this operator held this key.
#[derive(Clone, PartialEq, Eq, Debug, Encode)]
pub struct WorkerKeyPossession<AccountId> {
    /// The operator account the key is registered to.
    pub operator: AccountId,
    /// The worker key, which signs.
    pub worker_key: sr25519::Public,
}

impl<AccountId: Encode> WorkerKeyPossession<AccountId> {
    /// The exact bytes the worker key signs on the chain whose genesis block hash is `genesis`.
    pub fn message(&self, genesis: &Hash) -> alloc::vec::Vec<u8> {
        signing_message(WORKER_KEY_POSSESSION_DOMAIN, genesis, self)
    }

    /// Whether `signature` is the worker key's over this payload for the chain whose genesis
    /// block hash is `genesis`.
    pub fn verify(&self, genesis: &Hash, signature: &sr25519::Signature) -> bool {
        signature.verify(self.message(genesis).as_slice(), &self.worker_key)
    }

    /// `pair`'s proof that `operator` holds it, for the chain whose genesis block hash is
    /// `genesis`.
    #[cfg(feature = "std")]
    pub fn sign(operator: AccountId, genesis: &Hash, pair: &sr25519::Pair) -> sr25519::Signature {
        use sp_core::Pair as _;
        let payload = Self {
            operator,
            worker_key: pair.public(),
        };
        pair.sign(&payload.message(genesis))
    }
}

/// A page of the jobs waiting for an operator, by id.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct JobsPage<AccountId, Balance, BlockNumber> {
    /// The open jobs among the ids this page read, lowest first.
    pub jobs: alloc::vec::Vec<(JobId, JobInfo<AccountId, Balance, BlockNumber>)>,
    /// The id to ask for next, `None` when this page read up to the last job.
    pub next: Option<JobId>,
}

sp_api::decl_runtime_apis! {
    /// Queries of GPU operators and training jobs.
    pub trait ComputeApi {
        /// A registered operator.
        fn operator(who: AccountId) -> Option<OperatorInfo<Balance>>;
        /// Up to `max` (at most [`MAX_OPERATORS_PAGE`]) registered operators with their endpoint and
        /// price, in storage order, starting after `after` (from the first if `None`): pass the
        /// last account of a page to get the next one.
        fn operators(after: Option<AccountId>, max: u32) -> alloc::vec::Vec<(AccountId, OperatorInfo<Balance>)>;
        /// A job that is open, claimed, proven or challenged (settled and cancelled jobs are removed).
        fn job(id: JobId) -> Option<JobInfo<AccountId, Balance, BlockNumber>>;
        /// Jobs waiting for an operator, lowest ids first from `from`: at most `max` (and at most
        /// [`MAX_PAGE_LEN`](crate::paging::MAX_PAGE_LEN)) among at most
        /// [`MAX_PAGE_SCAN`](crate::paging::MAX_PAGE_SCAN) ids, with the id to continue from.
        fn open_jobs(from: JobId, max: u32) -> JobsPage<AccountId, Balance, BlockNumber>;
        /// A live job (open, claimed, proven or challenged) posted with this hyper-parameters hash,
        /// any one of them if several: a content store accepts the file while one exists.
        fn hyperparameters_job(hash: Hash) -> Option<JobId>;
        /// An open challenge with its jury and votes (resolved challenges are removed).
        fn challenge(id: ChallengeId) -> Option<Challenge<AccountId, Balance, BlockNumber>>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sp_core::Pair;

    fn payload(worker_key: sr25519::Public) -> TrainingProof {
        TrainingProof {
            job: 3,
            worker_key,
            base_model_hash: Hash::repeat_byte(1),
            dataset_root: Hash::repeat_byte(2),
            hyperparameters_hash: Hash::repeat_byte(3),
            adapter_hash: Hash::repeat_byte(4),
            adapter_size: 1_048_576,
            adapter_cid: Cid::truncate_from(b"bafkexample".to_vec()),
            steps: 100,
            tokens: 51_200,
            metrics: EvalMetrics {
                base_loss_ppm: 2_100_000,
                adapted_loss_ppm: 1_250_000,
                base_rouge_ppm: 210_000,
                adapted_rouge_ppm: 410_000,
            },
            held_out_root: Hash::repeat_byte(6),
            checkpoint_root: Hash::repeat_byte(5),
            contributions: ContributionList::truncate_from(alloc::vec![1, 2, 5]),
        }
    }

    const GENESIS: Hash = Hash::repeat_byte(0x99);

    #[test]
    fn signed_proof_verifies_and_any_change_breaks_it() {
        let pair = sr25519::Pair::from_seed(&[7; 32]);
        let proof = SignedTrainingProof::sign(payload(pair.public()), &GENESIS, &pair);
        assert!(proof.verify(&GENESIS));

        let mut tampered = proof.clone();
        tampered.payload.steps += 1;
        assert!(!tampered.verify(&GENESIS));
        for tamper in [
            |p: &mut TrainingProof| p.metrics.adapted_loss_ppm -= 1,
            |p: &mut TrainingProof| p.metrics.base_loss_ppm += 1,
            |p: &mut TrainingProof| p.held_out_root = Hash::repeat_byte(7),
            |p: &mut TrainingProof| p.adapter_size += 1,
        ] {
            let mut tampered = proof.clone();
            tamper(&mut tampered.payload);
            assert!(!tampered.verify(&GENESIS));
        }

        let other = sr25519::Pair::from_seed(&[8; 32]);
        let mut rekeyed = proof;
        rekeyed.payload.worker_key = other.public();
        assert!(!rekeyed.verify(&GENESIS));
    }

    #[test]
    fn metrics_compare_losses_and_bound_regressions() {
        let metrics = |base, adapted| EvalMetrics {
            base_loss_ppm: base,
            adapted_loss_ppm: adapted,
            base_rouge_ppm: 0,
            adapted_rouge_ppm: 1_000_000,
        };
        assert!(metrics(2_000_000, 1_999_999).improves());
        assert!(!metrics(2_000_000, 2_000_000).improves());
        assert!(!metrics(2_000_000, 2_000_001).improves());
        // 5 % over a previous loss of 1.0 is 1.05.
        assert!(metrics(9, 1_050_000).within_regression_bound(1_000_000, 50_000));
        assert!(!metrics(9, 1_050_001).within_regression_bound(1_000_000, 50_000));
        assert!(metrics(9, 1_000_000).within_regression_bound(1_000_000, 0));
        assert!(!metrics(9, 1_000_001).within_regression_bound(1_000_000, 0));
        // No overflow at the extremes.
        assert!(metrics(9, u64::MAX).within_regression_bound(u64::MAX, 0));
        assert!(metrics(9, u64::MAX).within_regression_bound(u64::MAX, u32::MAX));
        assert!(!metrics(9, 1).within_regression_bound(0, u32::MAX));
        assert!(metrics(9, 0).rouge_in_range());
        assert!(!EvalMetrics {
            base_rouge_ppm: 1_000_001,
            ..metrics(9, 0)
        }
        .rouge_in_range());
    }

    #[test]
    fn a_verdict_needs_a_strict_majority_of_the_jury() {
        let jury = |votes: &[Option<bool>]| Challenge::<u8, u128, u32> {
            job: 0,
            challenger: 0,
            bond: 1,
            evidence: Hash::zero(),
            opened_at: 1,
            vote_end: 2,
            jury: Jury::truncate_from(
                votes
                    .iter()
                    .enumerate()
                    .map(|(i, fraud)| JurorVote {
                        juror: i as u8 + 1,
                        fraud: *fraud,
                    })
                    .collect(),
            ),
        };
        assert_eq!(jury(&[]).verdict(), None);
        assert_eq!(jury(&[Some(true)]).verdict(), Some(true));
        assert_eq!(jury(&[Some(true), None, None]).verdict(), None);
        assert_eq!(jury(&[Some(true), Some(true), None]).verdict(), Some(true));
        assert_eq!(
            jury(&[Some(false), Some(false), Some(true)]).verdict(),
            Some(false)
        );
        assert_eq!(jury(&[Some(true), Some(false)]).verdict(), None);
        assert_eq!(
            jury(&[Some(true), Some(false), None, None, Some(true)]).verdict(),
            None
        );
        assert_eq!(jury(&[Some(true); 5]).majority(), 3);
    }

    /// The possession proof binds the key to one operator, one chain and its own domain.
    #[test]
    fn a_possession_proof_is_for_one_operator_one_chain_and_its_domain() {
        let pair = sr25519::Pair::from_seed(&[7; 32]);
        let operator = AccountId::new([1; 32]);
        let payload = WorkerKeyPossession {
            operator: operator.clone(),
            worker_key: pair.public(),
        };
        let signature = WorkerKeyPossession::sign(operator, &GENESIS, &pair);
        assert!(payload.verify(&GENESIS, &signature));
        assert!(!payload.verify(&Hash::repeat_byte(0x98), &signature));
        let for_another = WorkerKeyPossession {
            operator: AccountId::new([2; 32]),
            ..payload.clone()
        };
        assert!(!for_another.verify(&GENESIS, &signature));
        let other_key = sr25519::Pair::from_seed(&[8; 32]);
        let claimed_by_another_key = WorkerKeyPossession {
            worker_key: other_key.public(),
            ..payload.clone()
        };
        assert!(!claimed_by_another_key.verify(&GENESIS, &signature));
        let training_domain =
            pair.sign(&signing_message(TRAINING_PROOF_DOMAIN, &GENESIS, &payload));
        assert!(!payload.verify(&GENESIS, &training_domain));
    }

    #[test]
    fn proof_signed_for_another_chain_is_refused() {
        let pair = sr25519::Pair::from_seed(&[7; 32]);
        let proof = SignedTrainingProof::sign(payload(pair.public()), &GENESIS, &pair);
        assert!(!proof.verify(&Hash::repeat_byte(0x98)));
    }

    #[test]
    fn signature_without_domain_tag_or_genesis_is_refused() {
        let pair = sr25519::Pair::from_seed(&[7; 32]);
        let payload = payload(pair.public());
        let bare = pair.sign(&payload.encode());
        let untagged = pair.sign(&(GENESIS, &payload).encode());
        let chainless = pair.sign(&[TRAINING_PROOF_DOMAIN, &payload.encode()].concat());
        for signature in [bare, untagged, chainless] {
            let proof = SignedTrainingProof {
                payload: payload.clone(),
                signature,
            };
            assert!(!proof.verify(&GENESIS));
        }
    }
}
