// Under each paid answer: its record on chain and the challenge of its attribution. The chat
// keeps what only the user holds — the exact request body (whose blake2-256 the user signed) and
// the answer — and learns the record's id from the event that settled it (InferenceSettled, the
// operator's next batch). Within the record's window, "Challenge this attribution" sends both
// with a bond (Attribution::challenge_attribution); the challenge's jury, votes and outcome follow.

import { stringToU8a, u8aToHex } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import { formatOpen, submit } from '../chain';
import type { Chain } from '../chain';
import { challengeCard } from '../challenges';
import { h, mount } from '../dom';
import { StudioError } from '../errors';
import { eventsOf } from '../events';
import { act, requireAccount, session, track } from '../session';

/** A paid answer as the user holds it. */
export interface HeldAnswer {
  user: string;
  model: number;
  nonce: number;
  /** The request body exactly as sent (and signed). */
  prompt: Uint8Array;
  answer: string;
}

interface SettledRecord {
  challengeableUntil: number;
  challenge: number | null;
  /** The weighted contributions; empty when the contributors' whole share went to the pool. */
  attribution: unknown[];
}

export interface AnswerRecord {
  element: HTMLElement;
  refresh(chain: Chain): Promise<void>;
}

export function answerRecord(held: HeldAnswer): AnswerRecord {
  const answer = stringToU8a(held.answer);
  const out = h('p', { class: 'outcome' });
  const button = h('button', { type: 'button', class: 'danger challenge-attribution' }, 'Challenge this attribution');
  const state = h('div', { class: 'record-state' });
  let record: number | null = null;
  button.onclick = () =>
    act(button, out, async () => {
      const chain = session.chain;
      if (!chain || record === null) throw new StudioError('The record is not settled on chain yet: wait for the operator’s batch.');
      const included = await submit(chain, chain.api.tx.attribution.challengeAttribution(record, u8aToHex(held.prompt), u8aToHex(answer)),
        requireAccount(), track(`Challenge the attribution of record ${record}`));
      const [challenge, , , bond, voteEnd] = included.event('attribution', 'AttributionChallenged') as [number, number, string, string, number];
      return `Challenge ${challenge} is open with ${formatOpen(bond)} held; a jury of operators re-runs the attribution and votes until #${voteEnd}.`;
    });
  const element = h('div', { class: 'record' }, state, button, out);
  button.hidden = true;

  async function refresh(chain: Chain): Promise<void> {
    if (record === null) {
      const settled = eventsOf('attribution', 'InferenceSettled', { user: held.user, nonce: held.nonce, model: held.model })[0];
      if (!settled) {
        mount(state, h('p', { class: 'muted' }, 'Waiting for the operator’s batch to settle this answer on chain…'));
        return;
      }
      if (settled.fields.outputHash !== blake2AsHex(answer, 256)) {
        mount(state, h('p', { class: 'outcome error' }, `Record ${String(settled.fields.record)} holds another answer than the one received here, so this page cannot challenge it.`));
        return;
      }
      record = Number(settled.fields.record);
    }
    const info = (await chain.api.query.attribution.records(record)).toJSON() as unknown as SettledRecord | null;
    const best = session.best ?? 0;
    const bond = chain.api.consts.attribution.challengeBond.toString();
    const open = info !== null && info.challenge === null && best <= info.challengeableUntil && info.attribution.length > 0;
    button.hidden = !open;
    let words: string;
    if (info === null) words = `Record ${record}: its challenge window has closed.`;
    else if (info.attribution.length === 0) words = `Record ${record} on chain attributes nothing to single contributions (the contributors’ whole share went to the version’s pool), so there is nothing to challenge.`;
    else words = `Record ${record} on chain; its attribution may be challenged until #${info.challengeableUntil}${open ? ` (${info.challengeableUntil - best} blocks). Challenging holds ${formatOpen(bond)}: returned if the jury finds it misattributed, lost if it holds, returned minus a fee if the jury does not decide` : ''}.`;
    mount(state,
      h('p', { class: 'muted', dataset: { record: String(record) } }, words),
      info?.challenge !== null && info?.challenge !== undefined ? await challengeCard(chain, 'attribution', info.challenge) : null);
  }

  return { element, refresh };
}
