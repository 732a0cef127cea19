//! Jury duty for attribution challenges: an operator drawn onto the jury of a challenged record
//! recomputes the record's attribution from the prompt and the answer the challenger put on
//! chain ([`check_record`], which `verify --attribution` runs too: [`recompute`] with the same
//! retrieval, ContextCite seed, spans and influence as serving) and votes `misattributed` when
//! the record does not hold ([`judge`]). The scan over open challenges is the jury's
//! ([`super::jury::Daemon::serve_on`], with [`Records`]). A juror that does not
//! vote before `vote_end` loses part of its stake, so the daemon votes as soon as it can. It
//! recomputes with the method the record names, whichever it serves itself
//! ([`crate::rag::method::Method::served`]); one that cannot (it does not serve the model, or
//! does not know the method or its coefficients) does not vote rather than guess.

use super::jury::Docket;
use super::Daemon;
use crate::artifact::blake2b_256;
use crate::serve::api::grounding::{recompute, Recomputed};
use crate::serve::api::ApiState;
use anyhow::{anyhow, bail, Context, Result};
use attribution_primitives::attribution::{
    AttributionChallenge, AttributionChallengeId, AttributionEntry, SettledRecord,
};
use attribution_primitives::compute::Jury;
use attribution_primitives::{AccountId, BlockNumber, ContributionId, Hash};
use attribution_worker_chain::Chain;
use std::collections::BTreeMap;
use subxt_signer::sr25519::Keypair;

/// The largest L1 distance, in ppm, between a record's entries and their recomputation that
/// still counts as the same attribution. Recomputation on one binary is exact; across thread
/// counts the float sums of the forward pass are ordered differently, which moves the LASSO
/// weights slightly (measured in docs/security.md, "Attribution challenges"). Steering moves
/// whole entries (hundreds of thousands of ppm), far above this.
pub const TOLERANCE_PPM: u32 = 20_000;

/// `sum |a(c) - b(c)|` over every contribution `c` either names, a missing one counting as 0:
/// 0 for equal attributions, at most 2,000,000 (disjoint ones of 1,000,000 ppm each).
pub fn distance(a: &[AttributionEntry], b: &[AttributionEntry]) -> u32 {
    let mut weights: BTreeMap<ContributionId, (i64, i64)> = BTreeMap::new();
    for entry in a {
        weights.entry(entry.contribution).or_default().0 += i64::from(entry.weight_ppm);
    }
    for entry in b {
        weights.entry(entry.contribution).or_default().1 += i64::from(entry.weight_ppm);
    }
    let total: i64 = weights.values().map(|(x, y)| (x - y).abs()).sum();
    u32::try_from(total).unwrap_or(u32::MAX)
}

/// A juror's finding on one record.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// L1 distance between the record's entries and the recomputation, in ppm.
    pub distance: u32,
    /// Whether the recomputation retrieved the contributions the record committed to, in order.
    pub same_retrieval: bool,
    /// Whether the recomputation drew the ablations from the committed seed (the seed is a
    /// function of the model, the version, the question and the answer).
    pub same_seed: bool,
    pub misattributed: bool,
}

/// Judges `record` against its recomputation: misattributed when the retrieval or the seed
/// differ from what the record committed to, or the entries are more than `tolerance_ppm` away.
/// An error when the recomputation ran another method version: this juror cannot judge.
pub fn judge(
    record: &SettledRecord,
    recomputed: &Recomputed,
    tolerance_ppm: u32,
) -> Result<Finding> {
    if recomputed.provenance.method != record.provenance.method {
        bail!(
            "the record used method `{}`, this worker computes `{}`",
            String::from_utf8_lossy(&record.provenance.method),
            String::from_utf8_lossy(&recomputed.provenance.method)
        );
    }
    let distance = distance(&record.attribution, &recomputed.entries);
    let same_retrieval = record.provenance.retrieved == recomputed.provenance.retrieved;
    let same_seed = record.provenance.seed == recomputed.provenance.seed;
    Ok(Finding {
        distance,
        same_retrieval,
        same_seed,
        misattributed: !same_retrieval || !same_seed || distance > tolerance_ppm,
    })
}

/// Checks that `prompt` and `answer` are those `record` commits to (their blake2-256 are its
/// `prompt_hash` and `output_hash`) and that the answer is text; returns the answer's text.
pub fn check_commitments<'a>(
    record: &SettledRecord,
    prompt: &[u8],
    answer: &'a [u8],
) -> Result<&'a str> {
    if Hash::from(blake2b_256(prompt)) != record.prompt_hash {
        bail!("the prompt is not the one the record commits to (its blake2-256 differs)");
    }
    if Hash::from(blake2b_256(answer)) != record.output_hash {
        bail!("the answer is not the one the record commits to (its blake2-256 differs)");
    }
    std::str::from_utf8(answer).context("the answer is not UTF-8")
}

/// Recomputes `record`'s attribution from the challenge's `prompt` (the request body the user
/// signed) and `answer` on `state`'s copy of the record's model and judges it: what a juror
/// votes and what `attribution-worker verify --attribution` reports. The prompt and the answer
/// must be the ones the record commits to (their blake2-256 are its `prompt_hash` and
/// `output_hash`); an error when they are not, when the model is not served by `state` or when
/// this worker cannot compute the record's method: it cannot judge.
pub async fn check_record(
    state: &ApiState,
    record: &SettledRecord,
    prompt: &[u8],
    answer: &[u8],
) -> Result<Finding> {
    let answer = check_commitments(record, prompt, answer)?;
    let model = state
        .models
        .read()
        .map_err(|_| anyhow!("the served models' lock is poisoned"))?
        .iter()
        .find(|m| m.chain_model == Some(record.model))
        .cloned()
        .with_context(|| format!("model {} is not served here", record.model))?;
    let method = std::str::from_utf8(&record.provenance.method)
        .context("the record's method name is not UTF-8")?;
    let recomputed = recompute(state, &model, method, prompt, answer)
        .await
        .map_err(|e| anyhow!("{}", e.message))?;
    judge(record, &recomputed, TOLERANCE_PPM)
}

/// Challenges of settled inference records' attributions (`Attribution`).
pub(super) struct Records;

impl Docket for Records {
    type Challenge = AttributionChallenge;
    const KIND: &'static str = "attribution";

    fn cursor(daemon: &mut Daemon) -> &mut u64 {
        &mut daemon.attribution_jury_cursor
    }

    async fn next_id(chain: &Chain) -> Result<AttributionChallengeId> {
        chain.next_attribution_challenge_id().await
    }

    async fn open(
        chain: &Chain,
        id: AttributionChallengeId,
    ) -> Result<Option<AttributionChallenge>> {
        chain.attribution_challenge(id).await
    }

    fn jury(challenge: &AttributionChallenge) -> (&Jury<AccountId>, BlockNumber) {
        (&challenge.jury, challenge.vote_end)
    }

    /// Recomputes the challenged record's attribution from the prompt and answer on chain.
    async fn verdict(
        daemon: &Daemon,
        _chain: &Chain,
        challenge: &AttributionChallenge,
    ) -> Result<bool> {
        let state = daemon
            .serving
            .as_ref()
            .context("this worker does not serve models, so it cannot recompute attributions")?;
        let finding = check_record(
            state,
            &challenge.record,
            &challenge.prompt,
            &challenge.answer,
        )
        .await?;
        tracing::info!(
            record = challenge.record_id,
            distance_ppm = finding.distance,
            same_retrieval = finding.same_retrieval,
            same_seed = finding.same_seed,
            misattributed = finding.misattributed,
            "recomputed a challenged attribution"
        );
        Ok(finding.misattributed)
    }

    async fn vote(
        chain: &Chain,
        account: &Keypair,
        id: AttributionChallengeId,
        misattributed: bool,
    ) -> Result<()> {
        chain.vote_attribution(account, id, misattributed).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use attribution_primitives::attribution::AttributionProvenance;
    use attribution_primitives::{AccountId, Hash};

    fn entries(list: &[(u64, u32)]) -> Vec<AttributionEntry> {
        list.iter()
            .map(|&(contribution, weight_ppm)| AttributionEntry {
                contribution,
                weight_ppm,
            })
            .collect()
    }

    fn provenance(retrieved: &[u64], seed: u8) -> AttributionProvenance {
        AttributionProvenance {
            retrieved: retrieved.to_vec().try_into().unwrap(),
            method: b"contextcite-v1+spans-v1".to_vec().try_into().unwrap(),
            seed: Hash::repeat_byte(seed),
        }
    }

    fn record(attribution: &[(u64, u32)]) -> SettledRecord {
        SettledRecord {
            batch: 0,
            operator: AccountId::new([1; 32]),
            user: AccountId::new([2; 32]),
            model: 1,
            pool: None,
            prompt_hash: Hash::zero(),
            output_hash: Hash::zero(),
            provenance: provenance(&[100, 101, 102], 7),
            attribution: entries(attribution).try_into().unwrap(),
            attributed: 0,
            challengeable_until: 10,
            challenge: None,
        }
    }

    #[test]
    fn distance_is_l1_over_the_union_of_contributions() {
        let a = entries(&[(1, 500_000), (2, 300_000)]);
        assert_eq!(distance(&a, &a), 0);
        assert_eq!(
            distance(&a, &entries(&[(1, 490_000), (2, 300_000)])),
            10_000
        );
        assert_eq!(distance(&a, &entries(&[(1, 500_000)])), 300_000);
        assert_eq!(
            distance(&entries(&[(1, 1_000_000)]), &entries(&[(2, 1_000_000)])),
            2_000_000
        );
        assert_eq!(distance(&[], &[]), 0);
    }

    #[test]
    fn steering_is_misattributed_and_noise_within_the_tolerance_is_not() {
        let honest = Recomputed {
            entries: entries(&[(100, 400_000), (101, 100_000)])
                .try_into()
                .unwrap(),
            provenance: provenance(&[100, 101, 102], 7),
        };
        let noisy = record(&[(100, 395_000), (101, 104_000)]);
        let finding = judge(&noisy, &honest, TOLERANCE_PPM).unwrap();
        assert_eq!(
            finding,
            Finding {
                distance: 9_000,
                same_retrieval: true,
                same_seed: true,
                misattributed: false
            }
        );
        // 4 x 25 % on the operator's own contributions instead.
        let steered = record(&[
            (103, 250_000),
            (104, 250_000),
            (105, 250_000),
            (106, 250_000),
        ]);
        let finding = judge(&steered, &honest, TOLERANCE_PPM).unwrap();
        assert_eq!(finding.distance, 1_500_000);
        assert!(finding.misattributed);
    }

    #[test]
    fn another_retrieval_or_seed_is_misattributed_and_another_method_cannot_be_judged() {
        let kept = record(&[(100, 400_000)]);
        let same = entries(&[(100, 400_000)]);
        let other_retrieval = Recomputed {
            entries: same.clone().try_into().unwrap(),
            provenance: provenance(&[101, 100, 102], 7),
        };
        assert!(
            judge(&kept, &other_retrieval, TOLERANCE_PPM)
                .unwrap()
                .misattributed
        );
        let other_seed = Recomputed {
            entries: same.clone().try_into().unwrap(),
            provenance: provenance(&[100, 101, 102], 8),
        };
        assert!(
            judge(&kept, &other_seed, TOLERANCE_PPM)
                .unwrap()
                .misattributed
        );
        let mut other_method = Recomputed {
            entries: same.try_into().unwrap(),
            provenance: provenance(&[100, 101, 102], 7),
        };
        other_method.provenance.method = b"contextcite-v1+spans-v1+influence-v2"
            .to_vec()
            .try_into()
            .unwrap();
        assert!(judge(&kept, &other_method, TOLERANCE_PPM).is_err());
    }

    #[test]
    fn only_the_committed_prompt_and_a_text_answer_are_checked() {
        let mut kept = record(&[(100, 400_000)]);
        let (prompt, answer) = (br#"{"messages":[]}"#.as_slice(), "zlib1g".as_bytes());
        kept.prompt_hash = Hash::from(blake2b_256(prompt));
        kept.output_hash = Hash::from(blake2b_256(answer));
        assert_eq!(check_commitments(&kept, prompt, answer).unwrap(), "zlib1g");
        let err = check_commitments(&kept, b"{}", answer).unwrap_err();
        assert!(err.to_string().contains("the prompt is not"), "{err}");
        let err = check_commitments(&kept, prompt, b"zlib").unwrap_err();
        assert!(err.to_string().contains("the answer is not"), "{err}");
        let bad = [0xff, 0xfe];
        kept.output_hash = Hash::from(blake2b_256(&bad));
        let err = check_commitments(&kept, prompt, &bad).unwrap_err();
        assert!(err.to_string().contains("not UTF-8"), "{err}");
    }
}
