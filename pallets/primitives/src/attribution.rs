//! Inference payments: the user's signed authorization (naming the one operator that may settle
//! it), the worker's signed batch of records, why a record is rejected, the fee split, inference
//! credits, per-operator allowances, the per-(user, operator) nonce window, and the runtime API of
//! pallet-attribution; what a settled record commits to (the prompt, the answer, the retrieved
//! contributions, the attribution method and its seed) and the attribution challenges that hold
//! an operator to it.
//!
//! A user signs
//! [`signing_message`]`(`[`INFERENCE_AUTHORIZATION_DOMAIN`]`, &genesis, &authorization)` with the
//! key of their account (any [`Signature`] scheme), bare or wrapped in `<Bytes>`…`</Bytes>` as a
//! browser extension signs it; the worker signs
//! [`signing_message`]`(`[`INFERENCE_BATCH_DOMAIN`]`, &genesis, &batch)` with its sr25519 worker
//! key. `genesis` is the chain's genesis block hash, so neither signature is valid on another
//! chain.

use crate::{
    compute::Jury,
    signing::{
        signing_message, verify_bare_or_wrapped, INFERENCE_AUTHORIZATION_DOMAIN,
        INFERENCE_BATCH_DOMAIN,
    },
    traits::PoolId,
    AccountId, Balance, BlockNumber, ContributionId, Hash, ModelId, Signature, PARTS_PER_MILLION,
};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::{sr25519, ConstU32};
use sp_runtime::{traits::Verify, BoundedVec, Perbill};

/// Most attribution entries one record may carry (K).
pub const MAX_ATTRIBUTION_ENTRIES: u32 = 16;
/// Most records one batch may carry.
pub const MAX_BATCH_RECORDS: u32 = 64;
/// How far behind a user's highest used nonce a nonce may still be used (see [`NonceWindow`]).
pub const NONCE_WINDOW: u64 = 128;
/// Most retrieved contributions one record may commit to (the rows put in the model's context).
pub const MAX_RETRIEVED: u32 = 16;
/// Longest attribution method name, e.g. `contextcite-v1+spans-v1+influence-v1`.
pub const MAX_METHOD_BYTES: u32 = 64;
/// Longest request body (the prompt) a challenge may carry, in bytes: it is stored on chain
/// while the challenge is open, for the jurors to re-run the attribution.
pub const MAX_CHALLENGE_PROMPT_BYTES: u32 = 16 * 1024;
/// Longest answer a challenge may carry, in bytes.
pub const MAX_CHALLENGE_ANSWER_BYTES: u32 = 16 * 1024;

/// One contribution's influence on an answer, in parts per million of the contributors' share.
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
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct AttributionEntry {
    pub contribution: ContributionId,
    /// Parts per million; must be positive, and the entries of a record sum to at most
    /// [`PARTS_PER_MILLION`].
    pub weight_ppm: u32,
}

/// The attribution of one answer: at most [`MAX_ATTRIBUTION_ENTRIES`] entries, each contribution
/// at most once.
pub type Attribution = BoundedVec<AttributionEntry, ConstU32<MAX_ATTRIBUTION_ENTRIES>>;

/// The contributions retrieved for a request, best first: the sources in the model's context.
pub type Retrieved = BoundedVec<ContributionId, ConstU32<MAX_RETRIEVED>>;

/// The name and version of an attribution method, e.g. `contextcite-v1+spans-v1+influence-v1`.
pub type MethodName = BoundedVec<u8, ConstU32<MAX_METHOD_BYTES>>;

/// What, besides the prompt, the model and the answer, determines a record's attribution: the
/// retrieved contributions in rank order (the sources, in the order the prompt lists them), the
/// method with its version, and the seed of its random ablations. A juror who holds the prompt
/// and the answer recomputes the attribution from exactly these. Attributed contributions need
/// not be retrieved ones: span provenance and influence attribute training rows of the whole
/// version.
#[derive(
    Clone,
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
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct AttributionProvenance {
    /// The sources put in the model's context, best first.
    pub retrieved: Retrieved,
    pub method: MethodName,
    /// The seed the method drew its ablation masks from.
    pub seed: Hash,
}

/// A user's permission for one operator to charge up to `max_fee` of the user's allowance for
/// that operator, for one request.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct InferenceAuthorization {
    /// Who pays, and whose key signs this.
    pub user: AccountId,
    /// The only operator whose batch may settle it; the fee comes out of the user's allowance for
    /// this operator.
    pub operator: AccountId,
    /// The model asked; it must be active when the record is settled.
    pub model: ModelId,
    /// blake2-256 of the prompt: the exact request body the user sent (so a holder of the body
    /// can prove it in an attribution challenge).
    pub prompt_hash: Hash,
    /// The most the user accepts to pay.
    pub max_fee: Balance,
    /// Used once per (user, operator), within the window of [`NonceWindow`].
    pub nonce: u64,
    /// The last block at which the authorization may be settled.
    pub expiry: BlockNumber,
}

impl InferenceAuthorization {
    /// Whether `signature` is `self.user`'s signature over the domain-tagged authorization for
    /// the chain whose genesis block hash is `genesis`, signed bare or, as a browser extension
    /// signs, wrapped in `<Bytes>`…`</Bytes>` ([`verify_bare_or_wrapped`]). The runtime and the
    /// worker both check authorizations here.
    pub fn verify(&self, genesis: &Hash, signature: &Signature) -> bool {
        verify_bare_or_wrapped(
            signature,
            &signing_message(INFERENCE_AUTHORIZATION_DOMAIN, genesis, self),
            &self.user,
        )
    }

    /// The user's signature with `pair` (the key of `self.user`) for the chain whose genesis block
    /// hash is `genesis`.
    #[cfg(feature = "std")]
    pub fn sign(&self, genesis: &Hash, pair: &sr25519::Pair) -> Signature {
        use sp_core::Pair as _;
        pair.sign(&signing_message(
            INFERENCE_AUTHORIZATION_DOMAIN,
            genesis,
            self,
        ))
        .into()
    }

    /// The user's signature with `pair` as a polkadot.js browser extension makes it: over the
    /// same message wrapped in `<Bytes>`…`</Bytes>` ([`crate::signing::extension_wrapped`]).
    #[cfg(feature = "std")]
    pub fn sign_as_extension(&self, genesis: &Hash, pair: &sr25519::Pair) -> Signature {
        use sp_core::Pair as _;
        pair.sign(&crate::signing::extension_wrapped(&signing_message(
            INFERENCE_AUTHORIZATION_DOMAIN,
            genesis,
            self,
        )))
        .into()
    }
}

/// What a worker did for one authorization.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct InferenceRecord {
    pub authorization: InferenceAuthorization,
    /// The user's signature over the authorization.
    pub user_signature: Signature,
    /// blake2-256 of the answer.
    pub output_hash: Hash,
    pub tokens_in: u32,
    pub tokens_out: u32,
    /// What is charged; at most `authorization.max_fee` and at most the operator's advertised
    /// price per token times `tokens_in + tokens_out`.
    pub fee: Balance,
    /// Contributions of the model's datanet version that shaped the answer.
    pub attribution: Attribution,
    /// What the attribution was computed from, so that it can be recomputed and challenged.
    pub provenance: AttributionProvenance,
}

/// Records a worker settles together.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct InferenceBatch {
    /// The operator whose worker served the records; the batch is submitted from this account.
    pub operator: AccountId,
    /// Strictly increasing per operator.
    pub nonce: u64,
    pub records: BoundedVec<InferenceRecord, ConstU32<MAX_BATCH_RECORDS>>,
}

/// A batch with the worker key's signature over
/// `INFERENCE_BATCH_DOMAIN || genesis hash || SCALE(batch)`.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct SignedInferenceBatch {
    pub batch: InferenceBatch,
    pub signature: sr25519::Signature,
}

impl SignedInferenceBatch {
    /// Whether `signature` is `worker_key`'s signature over the domain-tagged batch for the chain
    /// whose genesis block hash is `genesis`.
    pub fn verify(&self, genesis: &Hash, worker_key: &sr25519::Public) -> bool {
        self.signature.verify(
            signing_message(INFERENCE_BATCH_DOMAIN, genesis, &self.batch).as_slice(),
            worker_key,
        )
    }

    /// Signs `batch` with the worker key `pair` for the chain whose genesis block hash is
    /// `genesis`.
    #[cfg(feature = "std")]
    pub fn sign(batch: InferenceBatch, genesis: &Hash, pair: &sr25519::Pair) -> Self {
        use sp_core::Pair as _;
        let signature = pair.sign(&signing_message(INFERENCE_BATCH_DOMAIN, genesis, &batch));
        Self { batch, signature }
    }
}

/// Why one record of a batch was not settled. A rejected record moves no funds and uses no nonce;
/// the rest of the batch is settled all the same.
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
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum RecordRejection {
    /// The authorization is not signed by its user (forged, altered, or for another chain).
    BadUserSignature,
    /// The authorization names another operator than the batch's.
    OtherOperator,
    /// The authorization's expiry block has passed.
    Expired,
    /// The fee is above the authorization's `max_fee`.
    FeeOverMax,
    /// The fee is above the operator's advertised price per token times the record's tokens.
    FeeOverPrice,
    /// The model is not active.
    ModelNotServing,
    /// An attribution entry has weight 0.
    ZeroWeight,
    /// The attribution weights sum to more than 1,000,000 ppm.
    AttributionOverMillion,
    /// The attribution names the same contribution twice.
    DuplicateContribution,
    /// An attributed contribution is not in the datanet version the model was trained on.
    ContributionNotInLineage,
    /// The fee is below the minimum fee of a record.
    FeeBelowMinimum,
    /// The nonce was used already for this operator.
    NonceUsed,
    /// The nonce is older than the user's nonce window for this operator.
    NonceTooOld,
    /// The user's allowance for the operator does not cover the fee.
    AllowanceTooLow,
}

/// How a fee is shared. The four shares sum to exactly 100%.
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
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct FeeSplit {
    /// To the model's owner.
    pub model_owner: Perbill,
    /// To the data contributors, by attribution weight (the rest to the version's pool).
    pub contributors: Perbill,
    /// To the operator that served the request.
    pub operator: Perbill,
    /// To the protocol treasury.
    pub treasury: Perbill,
    /// The most one contribution may take of the contributors' share in one record; what its
    /// weight asks beyond that goes to the version's pool.
    pub contribution_cap: Perbill,
}

impl Default for FeeSplit {
    /// Model owner 30%, contributors 40%, operator 20%, treasury 10%; one contribution takes at
    /// most 25% of the contributors' share of a record.
    fn default() -> Self {
        Self {
            model_owner: Perbill::from_percent(30),
            contributors: Perbill::from_percent(40),
            operator: Perbill::from_percent(20),
            treasury: Perbill::from_percent(10),
            contribution_cap: Perbill::from_percent(25),
        }
    }
}

impl FeeSplit {
    /// Whether the four shares sum to exactly 100%.
    pub fn is_complete(&self) -> bool {
        [
            self.model_owner,
            self.contributors,
            self.operator,
            self.treasury,
        ]
        .iter()
        .map(|share| u64::from(share.deconstruct()))
        .sum::<u64>()
            == u64::from(Perbill::one().deconstruct())
    }

    /// Splits `fee` into (model owner, contributors, operator, treasury). The treasury's part is
    /// rounded up (so tiny fees still pay it), the owner's and operator's down, and the
    /// contributors' part takes the rest, so the parts always sum to `fee`.
    pub fn split(&self, fee: Balance) -> FeeParts {
        let model_owner = self.model_owner.mul_floor(fee);
        let operator = self.operator.mul_floor(fee);
        let treasury = self.treasury.mul_ceil(fee);
        let contributors = fee
            .saturating_sub(model_owner)
            .saturating_sub(operator)
            .saturating_sub(treasury);
        FeeParts {
            model_owner,
            contributors,
            operator,
            treasury,
        }
    }

    /// What one contribution of weight `weight_ppm` is paid out of the contributors' part:
    /// `min(weight, cap) * contributors`, rounded down.
    pub fn contribution_share(&self, weight_ppm: u32, contributors: Balance) -> Balance {
        // One ppm is exactly 1,000 parts per billion.
        let weight = Perbill::from_parts(weight_ppm.min(PARTS_PER_MILLION).saturating_mul(1_000));
        weight.min(self.contribution_cap).mul_floor(contributors)
    }
}

/// A fee split into its recipients' parts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FeeParts {
    pub model_owner: Balance,
    pub contributors: Balance,
    pub operator: Balance,
    pub treasury: Balance,
}

/// A withdrawal of inference credit, or a reduction of an allowance, waiting for its delay.
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
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct PendingWithdrawal {
    pub amount: Balance,
    /// The first block at which it may be withdrawn.
    pub unlocks_at: BlockNumber,
}

/// A user's inference credit: OPEN set aside for inference and not yet granted to an operator.
/// Records are never charged to it, only to allowances ([`AllowanceInfo`]).
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
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct CreditInfo {
    /// What may still be granted to operators or withdrawn; includes an amount waiting to be
    /// withdrawn.
    pub balance: Balance,
    pub withdrawal: Option<PendingWithdrawal>,
}

/// A user's allowance for one operator: credit that only this operator's batches may charge, and
/// that the user can take back only after a delay the operator sees coming.
///
/// A worker that accepts an authorization only while
/// `balance - (reduction.amount if the reduction unlocks before it settles) >= its unsettled fees
/// for this user + max_fee` is sure to be paid (if the model stays active and it settles before the
/// expiry): no one else can charge the allowance, and no reduction takes effect unannounced.
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
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct AllowanceInfo {
    /// What the operator's records may still charge; includes an amount waiting to be taken back.
    pub balance: Balance,
    /// An announced reduction: from `unlocks_at` the user may move `amount` (or what is left)
    /// back into their credit.
    pub reduction: Option<PendingWithdrawal>,
}

/// The nonces a user has used with one operator, bounded: the highest one and a bitmap of the [`NONCE_WINDOW`]
/// nonces at and below it. A nonce is fresh if it is above the highest, or within the window and
/// not yet used; anything older than the window is refused. Users (or their wallet) should count
/// up from 0; the window lets a worker settle up to [`NONCE_WINDOW`] requests out of order.
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
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct NonceWindow {
    /// The highest nonce used.
    pub highest: u64,
    /// Bit `i` set: nonce `highest - i` is used.
    pub used: u128,
}

/// Why a nonce cannot be used.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StaleNonce {
    /// Used before.
    Used,
    /// Older than the window: it can no longer be told whether it was used.
    TooOld,
}

impl NonceWindow {
    /// The window after the first nonce a user ever uses.
    pub fn starting_at(nonce: u64) -> Self {
        Self {
            highest: nonce,
            used: 1,
        }
    }

    /// Marks `nonce` used, or says why it cannot be.
    pub fn use_nonce(&mut self, nonce: u64) -> Result<(), StaleNonce> {
        if nonce > self.highest {
            let shift = nonce - self.highest;
            self.used = if shift >= NONCE_WINDOW {
                0
            } else {
                self.used << shift
            };
            self.used |= 1;
            self.highest = nonce;
            return Ok(());
        }
        let age = self.highest - nonce;
        if age >= NONCE_WINDOW {
            return Err(StaleNonce::TooOld);
        }
        let bit = 1u128 << age;
        if self.used & bit != 0 {
            return Err(StaleNonce::Used);
        }
        self.used |= bit;
        Ok(())
    }
}

/// The commitment kept on chain for a settled batch (records themselves are not stored).
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct BatchCommitment {
    pub operator: AccountId,
    /// The operator's batch nonce.
    pub nonce: u64,
    /// blake2-256 of the SCALE-encoded [`InferenceBatch`].
    pub hash: Hash,
    /// Records settled; the counts and sums below are over these only.
    pub records: u32,
    /// Records rejected (each reported by an `InferenceRejected` event).
    pub rejected: u32,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// Sum of the settled records' fees.
    pub total_fee: Balance,
    /// The block it was settled in.
    pub settled_at: BlockNumber,
}

/// Sequence number of settled batches.
pub type BatchId = u64;
/// Sequence number of settled records, across batches.
pub type RecordId = u64;
/// Sequence number of attribution challenges.
pub type AttributionChallengeId = u64;

/// A settled record as the chain keeps it while it may be challenged: what determines its
/// attribution and what the attribution paid.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct SettledRecord {
    /// The batch that settled it.
    pub batch: BatchId,
    pub operator: AccountId,
    pub user: AccountId,
    pub model: ModelId,
    /// The datanet version the model was trained on, whose pool took the unattributed part.
    pub pool: Option<PoolId>,
    /// blake2-256 of the request body, signed by the user.
    pub prompt_hash: Hash,
    /// blake2-256 of the answer.
    pub output_hash: Hash,
    pub provenance: AttributionProvenance,
    pub attribution: Attribution,
    /// What the attribution entries were paid, out of the contributors' part: what a proven
    /// misattribution repays to the pool.
    pub attributed: Balance,
    /// The last block in which it may be challenged.
    pub challengeable_until: BlockNumber,
    /// The challenge opened on it, if any: a record is challenged at most once.
    pub challenge: Option<AttributionChallengeId>,
}

/// A challenge of a record's attribution: the challenger proved it holds the prompt and the
/// answer; a jury of operators re-runs the attribution and votes.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct AttributionChallenge {
    pub record_id: RecordId,
    /// The record as settled (kept here, so the record itself may expire meanwhile).
    pub record: SettledRecord,
    /// Who challenged and holds `bond`.
    pub challenger: AccountId,
    pub bond: Balance,
    /// The request body, whose blake2-256 is the record's `prompt_hash`.
    pub prompt: BoundedVec<u8, ConstU32<MAX_CHALLENGE_PROMPT_BYTES>>,
    /// The answer, whose blake2-256 is the record's `output_hash`.
    pub answer: BoundedVec<u8, ConstU32<MAX_CHALLENGE_ANSWER_BYTES>>,
    /// The block it was opened in; its jury is drawn in the next block.
    pub opened_at: BlockNumber,
    /// Last block in which jurors may vote.
    pub vote_end: BlockNumber,
    /// Jurors and their votes: `Some(true)` misattributed, `Some(false)` the record holds.
    pub jury: Jury<AccountId>,
}

sp_api::decl_runtime_apis! {
    /// What users and workers read from pallet-attribution.
    pub trait AttributionApi {
        /// `who`'s inference credit (zero if none).
        fn credit(who: AccountId) -> CreditInfo;
        /// `user`'s allowance for `operator` and its announced reduction (zero if none).
        fn allowance(user: AccountId, operator: AccountId) -> AllowanceInfo;
        /// The nonces `user` has used with `operator`, `None` if none yet.
        fn nonce_window(user: AccountId, operator: AccountId) -> Option<NonceWindow>;
        /// The fee split in force.
        fn fee_split() -> FeeSplit;
        /// The commitment of a settled batch still kept.
        fn batch(id: BatchId) -> Option<BatchCommitment>;
        /// A settled record still kept for its challenge window.
        fn record(id: RecordId) -> Option<SettledRecord>;
        /// An open attribution challenge with its prompt, answer, record and jury.
        fn attribution_challenge(id: AttributionChallengeId) -> Option<AttributionChallenge>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sp_core::Pair;

    #[test]
    fn nonce_window_accepts_fresh_nonces_in_any_order_within_the_window() {
        let mut window = NonceWindow::starting_at(5);
        assert_eq!(window.use_nonce(5), Err(StaleNonce::Used));
        assert_eq!(window.use_nonce(7), Ok(()));
        assert_eq!(window.use_nonce(6), Ok(()));
        assert_eq!(window.use_nonce(6), Err(StaleNonce::Used));
        assert_eq!(window.use_nonce(4), Ok(()));
        assert_eq!(window.use_nonce(7 + NONCE_WINDOW), Ok(()));
        assert_eq!(window.use_nonce(7), Err(StaleNonce::TooOld));
        assert_eq!(window.use_nonce(8), Ok(()));
        assert_eq!(window.use_nonce(8), Err(StaleNonce::Used));
        // A jump beyond the window forgets everything below it.
        assert_eq!(window.use_nonce(u64::MAX), Ok(()));
        assert_eq!(window.use_nonce(u64::MAX), Err(StaleNonce::Used));
        assert_eq!(window.use_nonce(u64::MAX - 1), Ok(()));
    }

    #[test]
    fn default_fee_split_is_complete_and_parts_sum_to_the_fee() {
        let split = FeeSplit::default();
        assert!(split.is_complete());
        let parts = split.split(1_001);
        assert_eq!(
            parts,
            FeeParts {
                model_owner: 300,
                contributors: 400,
                operator: 200,
                treasury: 101
            }
        );
        assert!(!FeeSplit {
            treasury: Perbill::from_percent(11),
            ..split
        }
        .is_complete());
        assert_eq!(split.contribution_share(1_000_000, 400), 100);
        assert_eq!(split.contribution_share(100_000, 400), 40);
    }

    #[test]
    fn signatures_cover_the_domain_tagged_payloads_for_one_chain() {
        let genesis = Hash::repeat_byte(0x99);
        let other_chain = Hash::repeat_byte(0x98);
        let user = sr25519::Pair::from_seed(&[1; 32]);
        let worker = sr25519::Pair::from_seed(&[2; 32]);
        let authorization = InferenceAuthorization {
            user: user.public().into(),
            operator: worker.public().into(),
            model: 1,
            prompt_hash: Hash::repeat_byte(3),
            max_fee: 10,
            nonce: 0,
            expiry: 100,
        };
        let signature = authorization.sign(&genesis, &user);
        assert!(authorization.verify(&genesis, &signature));
        assert!(!authorization.verify(&other_chain, &signature));
        let by_extension = authorization.sign_as_extension(&genesis, &user);
        assert!(authorization.verify(&genesis, &by_extension));
        assert!(!authorization.verify(&other_chain, &by_extension));
        assert!(!InferenceAuthorization {
            nonce: 1,
            ..authorization.clone()
        }
        .verify(&genesis, &by_extension));
        assert!(!authorization.verify(
            &genesis,
            &authorization.sign_as_extension(&genesis, &worker)
        ));
        assert!(!InferenceAuthorization {
            max_fee: 11,
            ..authorization.clone()
        }
        .verify(&genesis, &signature));

        let record = InferenceRecord {
            authorization,
            user_signature: signature,
            output_hash: Hash::repeat_byte(4),
            tokens_in: 1,
            tokens_out: 2,
            fee: 10,
            attribution: Default::default(),
            provenance: Default::default(),
        };
        let batch = InferenceBatch {
            operator: worker.public().into(),
            nonce: 1,
            records: vec![record].try_into().unwrap(),
        };
        let signed = SignedInferenceBatch::sign(batch, &genesis, &worker);
        assert!(signed.verify(&genesis, &worker.public()));
        assert!(!signed.verify(&other_chain, &worker.public()));
        assert!(!signed.verify(&genesis, &user.public()));
    }
}
