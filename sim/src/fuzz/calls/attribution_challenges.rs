//! Attribution challenges: `challenge_attribution` with the record's prompt and answer (kept
//! when the batch was signed) or wrong ones, `vote_attribution` by seated and unseated jurors,
//! `close_attribution_challenge` before and after the vote ends.

use super::{bounded, Generator, Planned};
use attribution_primitives::{
    attribution::{MAX_CHALLENGE_ANSWER_BYTES, MAX_CHALLENGE_PROMPT_BYTES},
    Hash,
};
use attribution_runtime::Runtime;
use pallet_attribution::{AttributionChallenges, NextAttributionChallengeId, Records};
use rand::Rng;
use std::collections::{HashMap, VecDeque};

/// Prompts and answers kept: enough for every record still in its challenge window in a busy
/// life (a 5-minute window of the dev preset, a few hundred records), bounded so that a life's
/// memory stays small.
const KEPT_PREIMAGES: usize = 8_192;

/// The texts behind the prompt and output hashes of the records the generator signed: what a
/// user (or an auditor the user lets in) holds and shows when it challenges.
#[derive(Default)]
pub struct Preimages {
    texts: HashMap<Hash, Vec<u8>>,
    order: VecDeque<Hash>,
}

impl Preimages {
    /// Keeps `text` and returns its blake2-256, forgetting the oldest text beyond
    /// [`KEPT_PREIMAGES`].
    pub fn keep(&mut self, text: Vec<u8>) -> Hash {
        let hash = Hash::from(sp_io::hashing::blake2_256(&text));
        if self.texts.insert(hash, text).is_none() {
            self.order.push_back(hash);
        }
        while self.order.len() > KEPT_PREIMAGES {
            if let Some(old) = self.order.pop_front() {
                self.texts.remove(&old);
            }
        }
        hash
    }

    fn get(&self, hash: &Hash) -> Option<Vec<u8>> {
        self.texts.get(hash).cloned()
    }
}

impl Generator<'_> {
    /// A prompt or an answer: short mostly, at the challenge bound sometimes.
    pub(super) fn text(&mut self) -> Vec<u8> {
        let len = if self.chance(2) {
            MAX_CHALLENGE_PROMPT_BYTES.min(MAX_CHALLENGE_ANSWER_BYTES) as usize
        } else {
            self.rng.gen_range(1..=48)
        };
        (0..len).map(|_| self.rng.gen_range(b' '..=b'~')).collect()
    }

    /// A kept record that attributes something and no one challenged yet, mostly.
    fn record_id(&mut self) -> u64 {
        let next = pallet_attribution::NextRecordId::<Runtime>::get();
        self.find(next, |id| {
            Records::<Runtime>::get(id)
                .is_some_and(|record| record.challenge.is_none() && !record.attribution.is_empty())
        })
    }

    /// The kept text behind `hash` mostly (when the generator signed it), another text
    /// otherwise.
    fn shown(&mut self, hash: Option<Hash>) -> Vec<u8> {
        match hash.and_then(|hash| self.memory.preimages.get(&hash)) {
            Some(text) if self.chance(90) => text,
            _ => self.text(),
        }
    }

    /// A challenge by the record's user mostly (who holds the prompt), by the record's operator
    /// (`OwnRecord`) or anyone sometimes; with the right prompt and answer mostly.
    pub(super) fn challenge_attribution(&mut self) -> Planned {
        let record = self.record_id();
        let settled = Records::<Runtime>::get(record);
        let signer = match &settled {
            Some(settled) if self.chance(5) => self.usually(Some(&settled.operator)),
            Some(settled) => self.usually(Some(&settled.user)),
            None => self.someone(),
        };
        let prompt = self.shown(settled.as_ref().map(|s| s.prompt_hash));
        let answer = self.shown(settled.as_ref().map(|s| s.output_hash));
        let call = pallet_attribution::Call::<Runtime>::challenge_attribution {
            record,
            prompt: bounded(prompt),
            answer: bounded(answer),
        };
        self.plan("attribution.challenge_attribution", signer, call.into())
    }

    /// An open attribution challenge, mostly; one whose vote has ended when `ended`.
    fn attribution_challenge_id(&mut self, ended: bool) -> u64 {
        let next = NextAttributionChallengeId::<Runtime>::get();
        let now = Self::now();
        self.find(next, |id| {
            AttributionChallenges::<Runtime>::get(id)
                .is_some_and(|challenge| !ended || challenge.vote_end < now)
        })
    }

    /// A vote by a seated juror who has not voted, mostly; by anyone (`NotJuror`) sometimes.
    pub(super) fn vote_attribution(&mut self) -> Planned {
        let challenge = self.attribution_challenge_id(false);
        let juror = AttributionChallenges::<Runtime>::get(challenge).and_then(|info| {
            let seats: Vec<_> = info.jury.iter().filter(|s| s.fraud.is_none()).collect();
            (!seats.is_empty()).then(|| seats[self.rng.gen_range(0..seats.len())].juror.clone())
        });
        let signer = self.usually(juror.as_ref());
        let call = pallet_attribution::Call::<Runtime>::vote_attribution {
            challenge,
            misattributed: self.chance(50),
        };
        self.plan("attribution.vote_attribution", signer, call.into())
    }

    /// Closing a challenge whose vote has ended, mostly; any open one (`VotingOpen`) otherwise.
    pub(super) fn close_attribution_challenge(&mut self) -> Planned {
        let ended = self.chance(70);
        let challenge = self.attribution_challenge_id(ended);
        let signer = self.someone();
        let call = pallet_attribution::Call::<Runtime>::close_attribution_challenge { challenge };
        self.plan(
            "attribution.close_attribution_challenge",
            signer,
            call.into(),
        )
    }
}
