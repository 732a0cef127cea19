//! Jury duty: an operator drawn onto a challenge's jury re-checks the challenged claim exactly
//! as a challenger does and votes with its verdict. A juror that does not vote before the
//! challenge's `vote_end` loses part of its stake, so the daemon votes as soon as it is drawn.
//!
//! Two kinds of challenge ([`Docket`]) share one scanner ([`Daemon::serve_on`]): training proofs
//! ([`Proofs`]: re-run [`verify`] on the proof, `fraud` when its figures do not hold) and
//! attribution records ([`super::attribution_jury::Records`]: recompute the attribution).

use super::verify::{verify, Tolerance};
use super::Daemon;
use anyhow::{Context, Result};
use attribution_primitives::compute::{ChallengeId, Jury};
use attribution_primitives::{AccountId, BlockNumber};
use attribution_worker_chain::client::OpenChallenge;
use attribution_worker_chain::Chain;
use subxt_signer::sr25519::Keypair;

/// One kind of challenge operators sit on juries for: where its challenges are read, how a
/// juror reaches its verdict and how it votes. Challenge ids are dense from 0.
pub(super) trait Docket {
    type Challenge;
    /// Names the kind in logs.
    const KIND: &'static str;
    /// The lowest id that may still be open, kept between rounds.
    fn cursor(daemon: &mut Daemon) -> &mut u64;
    /// The id the next challenge will get.
    async fn next_id(chain: &Chain) -> Result<u64>;
    /// An open challenge (`None` once resolved).
    async fn open(chain: &Chain, id: u64) -> Result<Option<Self::Challenge>>;
    /// Its jury and the last block its votes count at.
    fn jury(challenge: &Self::Challenge) -> (&Jury<AccountId>, BlockNumber);
    /// `true` when the challenged claim does not hold.
    async fn verdict(daemon: &Daemon, chain: &Chain, challenge: &Self::Challenge) -> Result<bool>;
    async fn vote(chain: &Chain, account: &Keypair, id: u64, verdict: bool) -> Result<()>;
}

impl Daemon {
    /// Votes on every open challenge of `D` whose jury seats this operator and that it has not
    /// voted on yet. Scans the ids from the lowest one that may still be open up to the next
    /// id, one runtime API call each, and remembers where the open ones start. A verdict that
    /// cannot be reached (a node down, a model not served here) is logged and retried next
    /// round, without a vote.
    pub(super) async fn serve_on<D: Docket>(&mut self, chain: &Chain) -> Result<()> {
        let next = D::next_id(chain).await?;
        let mut lowest_open = None;
        for id in *D::cursor(self)..next {
            let Some(challenge) = D::open(chain, id).await? else {
                continue;
            };
            lowest_open.get_or_insert(id);
            let (jury, vote_end) = D::jury(&challenge);
            let seated = jury
                .iter()
                .any(|seat| seat.juror == self.me && seat.fraud.is_none());
            if !seated || chain.finalized_number().await? > vote_end {
                continue;
            }
            match D::verdict(self, chain, &challenge).await {
                Ok(verdict) => {
                    D::vote(chain, &self.account, id, verdict)
                        .await
                        .with_context(|| format!("voting on {} challenge {id}", D::KIND))?;
                    tracing::info!(kind = D::KIND, challenge = id, verdict, "voted as a juror");
                }
                Err(error) => tracing::warn!(
                    kind = D::KIND,
                    challenge = id,
                    "could not judge the challenge: {error:#}"
                ),
            }
        }
        *D::cursor(self) = lowest_open.unwrap_or(next);
        Ok(())
    }
}

/// Challenges of training proofs (`Compute`).
pub(super) struct Proofs;

impl Docket for Proofs {
    type Challenge = OpenChallenge;
    const KIND: &'static str = "training";

    fn cursor(daemon: &mut Daemon) -> &mut u64 {
        &mut daemon.jury_cursor
    }

    async fn next_id(chain: &Chain) -> Result<ChallengeId> {
        chain.next_challenge_id().await
    }

    async fn open(chain: &Chain, id: ChallengeId) -> Result<Option<OpenChallenge>> {
        chain.open_challenge(id).await
    }

    fn jury(challenge: &OpenChallenge) -> (&Jury<AccountId>, BlockNumber) {
        (&challenge.jury, challenge.vote_end)
    }

    /// Re-runs the verification of the challenged job's proof.
    async fn verdict(daemon: &Daemon, chain: &Chain, challenge: &OpenChallenge) -> Result<bool> {
        let job = challenge.job;
        let info = chain
            .job(job)
            .await?
            .with_context(|| format!("the challenged job {job} is gone"))?;
        let work_dir = tempfile::tempdir()?;
        let verdict = verify(
            chain,
            Some(job),
            info.model,
            &daemon.models,
            work_dir.path(),
            Tolerance::default(),
            &daemon.device,
        )
        .await?;
        Ok(!verdict.holds)
    }

    async fn vote(chain: &Chain, account: &Keypair, id: ChallengeId, fraud: bool) -> Result<()> {
        chain.vote(account, id, fraud).await
    }
}
