// Under each paid answer: its record on chain and the challenge of its attribution. The chat
// keeps what only the user holds — the exact request body (whose blake2-256 the user signed) and
// the answer (in the browser too, answers.ts) — and learns the record's id from the event that
// settled it (InferenceSettled, the operator's next batch), or, for an answer settled while the
// page was closed, from the chain's newest records. Within the record's window, "Challenge this
// attribution" sends both with a bond (Attribution::challenge_attribution); the challenge's jury,
// votes and outcome follow.

import { stringToU8a, u8aToHex } from '@polkadot/util';
import { blake2AsHex, decodeAddress } from '@polkadot/util-crypto';
import type { HeldAnswer } from '../answers';
import { formatOpen, submit } from '../chain';
import type { Chain } from '../chain';
import { challengeCard } from '../challenges';
import { h, mount } from '../dom';
import { StudioError } from '../errors';
import { eventsOf } from '../events';
import { act, requireAccount, session, track } from '../session';

interface SettledRecord {
  user: string;
  model: number;
  promptHash: string;
  outputHash: string;
  challengeableUntil: number;
  challenge: number | null;
  /** The weighted contributions; empty when the contributors' whole share went to the pool. */
  attribution: { contribution: number; weightPpm: number }[];
}

export interface AnswerRecord {
  element: HTMLElement;
  refresh(chain: Chain): Promise<void>;
}

/** How many of the newest records on chain are searched for an answer settled while the page was closed. */
const LOOKBACK = 1000;

/**
 * The record holding `held`, among the chain's newest `LOOKBACK` records: for an answer kept in
 * the browser whose settlement this page did not see (it happened while the page was closed).
 */
async function findRecord(chain: Chain, held: HeldAnswer): Promise<number | null> {
  const next = Number((await chain.api.query.attribution.nextRecordId()).toString());
  const oldest = Math.max(Number((await chain.api.query.attribution.oldestRecordId()).toString()), next - LOOKBACK);
  if (next <= oldest) return null;
  const ids = Array.from({ length: next - oldest }, (_, i) => next - 1 - i);
  const records = await chain.api.query.attribution.records.multi(ids);
  const prompt = blake2AsHex(held.prompt, 256);
  const output = blake2AsHex(stringToU8a(held.answer), 256);
  const user = u8aToHex(decodeAddress(held.user));
  const at = records.findIndex((r) => {
    const info = r.toJSON() as unknown as SettledRecord | null;
    return info !== null && info.promptHash === prompt && info.outputHash === output && Number(info.model) === held.model
      && u8aToHex(decodeAddress(info.user)) === user;
  });
  return at < 0 ? null : ids[at];
}

/**
 * The record element of `held`; `settled` is told the record's id once this page learns it (to
 * keep it with the answer).
 */
export function answerRecord(held: HeldAnswer, settled: (record: number) => void): AnswerRecord {
  const answer = stringToU8a(held.answer);
  const out = h('p', { class: 'outcome' });
  const button = h('button', { type: 'button', class: 'danger challenge-attribution' }, 'Challenge this attribution');
  const state = h('div', { class: 'record-state' });
  let record: number | null = held.record ?? null;
  /** Whether the chain's newest records were searched for it yet (once per page). */
  let searched = held.record !== undefined;
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
      const event = eventsOf('attribution', 'InferenceSettled', { user: held.user, nonce: held.nonce, model: held.model })[0];
      if (event && event.fields.outputHash !== blake2AsHex(answer, 256)) {
        mount(state, h('p', { class: 'outcome error' }, `Record ${String(event.fields.record)} holds another answer than the one received here, so this page cannot challenge it.`));
        return;
      }
      if (event) record = Number(event.fields.record);
      else if (!searched) {
        searched = true;
        record = await findRecord(chain, held);
      }
      if (record === null) {
        mount(state, h('p', { class: 'muted' }, 'Waiting for the operator’s batch to settle this answer on chain…'));
        return;
      }
      settled(record);
    }
    const info = (await chain.api.query.attribution.records(record)).toJSON() as unknown as SettledRecord | null;
    const best = session.best ?? 0;
    const bond = chain.api.consts.attribution.challengeBond.toString();
    const open = info !== null && info.challenge === null && best <= info.challengeableUntil && info.attribution.length > 0;
    button.hidden = !open;
    let words: string;
    if (info === null) words = `Record ${record}: its challenge window has closed.`;
    else if (info.attribution.length === 0) words = `Record ${record} on chain attributes nothing to single contributions (the contributors’ whole share went to the version’s pool), so there is nothing to challenge.`;
    else {
      const pays = info.attribution.map((e) => `contribution ${e.contribution} ${(e.weightPpm / 10000).toFixed(1)} %`).join(', ');
      const window = info.challenge !== null ? 'its attribution is challenged (below)'
        : open ? `its attribution may be challenged until #${info.challengeableUntil} (${info.challengeableUntil - best} blocks). Challenging holds ${formatOpen(bond)}: returned if the jury finds it misattributed, lost if it holds, returned minus a fee if the jury does not decide`
          : `its challenge window closed at #${info.challengeableUntil}`;
      words = `Record ${record} on chain pays ${pays} of the contributors’ share; ${window}.`;
    }
    mount(state,
      h('p', { class: 'muted', dataset: { record: String(record) } }, words),
      info?.challenge !== null && info?.challenge !== undefined ? await challengeCard(chain, 'attribution', info.challenge) : null);
  }

  return { element, refresh };
}
