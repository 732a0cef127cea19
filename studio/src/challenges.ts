// A challenge's life as a person follows it, for both kinds the chain has: a training proof's
// (pallet-compute) and an attribution record's (pallet-attribution). Both hold a bond, draw a jury
// of operators in the next block, let it vote until `vote_end`, and end in a verdict or, with no
// majority, in a timeout anyone closes. An open challenge is read from storage; a resolved one
// has left storage, so its outcome comes from the events the studio saw (events.ts).

import type { SubmittableExtrinsic } from '@polkadot/api/types';
import { formatOpen, short, submit } from './chain';
import type { Chain } from './chain';
import { h } from './dom';
import { eventsOf } from './events';
import { act, requireAccount, session, track } from './session';

export type ChallengeKind = 'proof' | 'attribution';

/** An open challenge as both pallets store it. */
interface OpenChallenge {
  challenger: string;
  bond: string | number;
  openedAt: number;
  voteEnd: number;
  jury: { juror: string; fraud: boolean | null }[];
}

interface KindInfo {
  section: 'compute' | 'attribution';
  /** What a `true` vote says. */
  guilty: string;
  /** What closing a timed-out challenge does. */
  timeout: string;
  /** Whose work is challenged (never a juror). */
  accused: string;
  read(chain: Chain, id: number): Promise<OpenChallenge | null>;
  close(chain: Chain, id: number): SubmittableExtrinsic<'promise'>;
  /** Each resolution event, in words. */
  outcomes: Record<string, (f: Record<string, unknown>) => string>;
}

const KINDS: Record<ChallengeKind, KindInfo> = {
  proof: {
    section: 'compute',
    guilty: 'fraud',
    accused: 'the prover',
    timeout: 'The proof stands and the bond is returned: the jury, not the challenger, failed.',
    read: async (chain, id) => (await chain.api.query.compute.challenges(id)).toJSON() as unknown as OpenChallenge | null,
    close: (chain, id) => chain.api.tx.compute.closeChallenge(id),
    outcomes: {
      FraudProven: (f) => `Fraud proven: the prover's stake was slashed (${formatOpen(String(f.toChallenger))} to the challenger, ${formatOpen(String(f.toTreasury))} to the treasury), the adapter rejected and the budget returned to the developer.`,
      ChallengeDismissed: (f) => `The jury found the proof sound: the bond (${formatOpen(String(f.slashed))}) went to the treasury.`,
      ChallengeTimedOut: (f) => `The jury reached no majority in time: the proof stands and the bond (${formatOpen(String(f.returned))}) was returned.`,
      ChallengeReleased: (f) => `Another challenge of this proof proved the fraud: this one closed with its bond (${formatOpen(String(f.returned))}) returned.`,
    },
  },
  attribution: {
    section: 'attribution',
    guilty: 'misattributed',
    accused: 'the record’s operator',
    timeout: 'The record stands and the bond is returned minus a small fee to the treasury.',
    read: async (chain, id) => (await chain.api.query.attribution.attributionChallenges(id)).toJSON() as unknown as OpenChallenge | null,
    close: (chain, id) => chain.api.tx.attribution.closeAttributionChallenge(id),
    outcomes: {
      MisattributionProven: (f) => `Misattribution proven: ${formatOpen(String(f.slashed))} of the operator's stake was slashed (${formatOpen(String(f.toPool))} back to the version's pool, ${formatOpen(String(f.toChallenger))} to the challenger) and the bond returned.`,
      AttributionUpheld: (f) => `The jury found the attribution right: the bond (${formatOpen(String(f.slashed))}) went to the treasury.`,
      AttributionChallengeTimedOut: (f) => `The jury reached no verdict in time: the record stands; the bond came back minus a ${formatOpen(String(f.fee))} fee (${formatOpen(String(f.returned))} returned).`,
    },
  },
};

/** Each challenge's Close outcome, kept across the re-renders of every block. */
const closeOutcomes = new Map<string, HTMLElement>();

/** The card of challenge `id` of `kind`: bond, jury, votes, vote end, and the verdict or timeout. */
export async function challengeCard(chain: Chain, kind: ChallengeKind, id: number): Promise<HTMLElement> {
  const info = KINDS[kind];
  const key = `${kind}-${id}`;
  const card = (...children: (Node | string | null)[]) => h('div', { class: 'card challenge', dataset: { challenge: key } }, children);
  const open = await info.read(chain, id);
  if (!open) {
    const outcome = Object.keys(info.outcomes).map((method) => eventsOf(info.section, method, { challenge: id })[0]).find(Boolean);
    return card(h('h4', null, `Challenge ${id}: ${outcome ? 'resolved' : 'closed'}`),
      h('p', { class: 'verdict' }, outcome ? info.outcomes[outcome.method](outcome.fields) : 'It was resolved before this page connected; its outcome is in the chain’s events.'),
      outcome ? h('p', { class: 'muted' }, `Block #${outcome.block}.`) : null,
      closeOutcomes.get(key) ?? null);
  }
  const best = session.best ?? 0;
  const votes = open.jury.filter((seat) => seat.fraud !== null);
  const guilty = votes.filter((seat) => seat.fraud).length;
  let jury: string;
  if (open.jury.length) {
    jury = `${open.jury.length} jurors drawn: ${open.jury.map((seat) => `${short(seat.juror)} (${seat.fraud === null ? 'not voted' : seat.fraud ? info.guilty : 'holds'})`).join(', ')}.`;
  } else if (best <= open.openedAt) {
    jury = 'The jury is drawn in the next block.';
  } else {
    jury = `No operator could sit on the jury (${info.accused} and the challenger cannot): it can only time out.`;
  }
  const out = closeOutcomes.get(key) ?? h('p', { class: 'outcome', id: `close-${key}-outcome` });
  closeOutcomes.set(key, out);
  const timedOut = best > open.voteEnd;
  const close = h('button', { type: 'button', class: 'close-challenge', id: `close-${key}` }, 'Close (timed out)');
  close.onclick = () =>
    act(close, out, async () => {
      const included = await submit(chain, info.close(chain, id), requireAccount(), track(`Close ${kind} challenge ${id}`));
      const outcome = Object.keys(info.outcomes).find((method) => included.events.some((e) => e.event.section === info.section && e.event.method === method));
      return outcome ? `Closed: ${outcome.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()}.` : 'Closed.';
    });
  return card(
    h('h4', null, `Challenge ${id}: ${timedOut ? 'timed out' : 'jury voting'}`),
    h('dl', null,
      h('dt', null, 'challenger'), h('dd', null, short(open.challenger)),
      h('dt', null, 'bond held'), h('dd', null, formatOpen(open.bond)),
      h('dt', null, 'opened'), h('dd', null, `#${open.openedAt}`),
      h('dt', null, 'votes'), h('dd', { class: 'votes' }, `${votes.length} of ${open.jury.length} (${guilty} ${info.guilty})`),
      h('dt', null, 'vote ends'), h('dd', null, timedOut ? `#${open.voteEnd} (passed)` : `#${open.voteEnd}, in ${open.voteEnd - best} blocks`)),
    h('p', { class: 'jury' }, jury),
    timedOut ? h('p', null, `No majority was reached in time: anyone may close it. ${info.timeout}`) : null,
    timedOut ? close : null,
    out);
}
