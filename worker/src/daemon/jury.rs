//! Jury duty: an operator drawn onto a challenge's jury re-runs [`verify`] on the challenged
//! proof, exactly as a challenger does, and votes with the verdict (`fraud` when the committed
//! figures do not hold). A juror that does not vote before the challenge's `vote_end` loses part
//! of its stake and leaves the juror pool, so the daemon votes as soon as it is drawn.

use super::verify::{verify, Tolerance};
use super::Daemon;
use anyhow::{Context, Result};
use attribution_primitives::compute::ChallengeId;
use attribution_worker_chain::Chain;

impl Daemon {
    /// Votes on every open challenge whose jury seats this operator and that it has not voted
    /// on yet. Scans the challenge ids from the lowest one that may still be open up to
    /// `Compute::NextChallengeId`, one runtime API call each, and remembers where the open ones
    /// start. A verification that fails (a node down, an adapter not downloadable yet) is logged
    /// and retried next round, without a vote.
    pub(super) async fn serve_on_juries(&mut self, chain: &Chain) -> Result<()> {
        let next = chain.next_challenge_id().await?;
        let mut lowest_open: Option<ChallengeId> = None;
        for id in self.jury_cursor..next {
            let Some(challenge) = chain.open_challenge(id).await? else {
                continue;
            };
            lowest_open.get_or_insert(id);
            let seated = challenge
                .jury
                .iter()
                .any(|seat| seat.juror == self.me && seat.fraud.is_none());
            if !seated || chain.finalized_number().await? > challenge.vote_end {
                continue;
            }
            match self.verdict_on(chain, id, challenge.job).await {
                Ok(fraud) => {
                    chain
                        .vote(&self.account, id, fraud)
                        .await
                        .with_context(|| format!("voting on challenge {id}"))?;
                    tracing::info!(
                        challenge = id,
                        job = challenge.job,
                        fraud,
                        "voted as a juror"
                    );
                }
                Err(error) => {
                    tracing::warn!(
                        challenge = id,
                        "could not verify the challenged proof: {error:#}"
                    )
                }
            }
        }
        self.jury_cursor = lowest_open.unwrap_or(next);
        Ok(())
    }

    /// Re-runs the verification of `job`'s proof; `true` when its figures do not hold.
    async fn verdict_on(&self, chain: &Chain, challenge: ChallengeId, job: u64) -> Result<bool> {
        let info = chain
            .job(job)
            .await?
            .with_context(|| format!("the job of challenge {challenge} is gone"))?;
        let work_dir = tempfile::tempdir()?;
        let verdict = verify(
            chain,
            Some(job),
            info.model,
            &self.models,
            work_dir.path(),
            Tolerance::default(),
            &self.device,
        )
        .await?;
        Ok(!verdict.holds)
    }
}
