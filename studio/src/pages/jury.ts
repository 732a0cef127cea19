// Jury: the open challenges the chosen account was drawn to judge, training proofs'
// (pallet-compute) and attribution records' (pallet-attribution). Jurors are operators drawn from
// the juror pool; each sees what is disputed (the proof's job and the challenger's evidence hash,
// or the record with the question and answer the challenger put on chain), how its own worker
// re-checks it, and votes one verdict or the other (Compute::vote, Attribution::vote_attribution).
// A strict majority of the jury decides at once; the card then shows the outcome.

import { hexToString, isHex } from '@polkadot/util';
import { formatOpen, short, submit } from '../chain';
import type { Chain } from '../chain';
import { challengeCard } from '../challenges';
import type { ChallengeKind } from '../challenges';
import { h, mount } from '../dom';
import { act, requireAccount, session, track } from '../session';
import type { Page } from './page';

interface Seat {
  juror: string;
  fraud: boolean | null;
}

interface ProofChallenge {
  job: number;
  challenger: string;
  evidence: string;
  voteEnd: number;
  jury: Seat[];
}

interface AttributionChallenge {
  recordId: number;
  record: { operator: string; user: string; model: number; attribution: { contribution: number; weightPpm: number }[]; attributed: string | number };
  challenger: string;
  prompt: string;
  answer: string;
  voteEnd: number;
  jury: Seat[];
}

/** What a vote of each kind means, in the juror's words, and what it does. */
const VERDICTS: Record<ChallengeKind, { guilty: [string, string]; innocent: [string, string] }> = {
  proof: {
    guilty: ['Fraud: the figures do not hold', 'The prover is slashed and deregistered, the adapter rejected and the budget returned.'],
    innocent: ['The proof holds', 'The challenger’s bond goes to the treasury; the adapter settles when its window ends.'],
  },
  attribution: {
    guilty: ['Misattributed', 'The operator is slashed; the pool is repaid what the attribution diverted.'],
    innocent: ['The attribution holds', 'The record stands; the challenger’s bond goes to the treasury.'],
  },
};

export function juryPage(): Page {
  const list = h('div', { id: 'jury-list' });
  const summary = h('p', { class: 'muted', id: 'jury-summary' });
  /** Each vote's outcome, kept across the re-renders of every block. */
  const outcomes = new Map<string, HTMLElement>();
  /** Challenges this page voted on, still shown (with their outcome) once resolved. */
  const voted = new Map<string, { kind: ChallengeKind; id: number }>();

  const element = h('section', { class: 'page' },
    h('h2', null, 'Jury'),
    h('p', { class: 'lead' }, 'Operators sit on juries: a challenge of a training proof or of an answer’s attribution draws its jurors from the operators’ pool (never the accused operator nor the challenger). Here a juror sees what it was drawn for and votes; the first strict majority of a jury decides at once, and a juror who does not vote before the end loses a share of its stake.'),
    summary, list);

  function voteButtons(chain: Chain, kind: ChallengeKind, id: number): HTMLElement {
    const key = `${kind}-${id}`;
    const out = outcomes.get(key) ?? h('p', { class: 'outcome', id: `vote-${key}-outcome` });
    outcomes.set(key, out);
    const button = (guilty: boolean) => {
      const [label, effect] = guilty ? VERDICTS[kind].guilty : VERDICTS[kind].innocent;
      const b = h('button', { type: 'button', class: guilty ? 'danger' : 'approve', id: `vote-${key}-${guilty ? 'guilty' : 'holds'}`, title: effect }, `Vote: ${label}`);
      b.onclick = () =>
        act(b, out, async () => {
          const tx = kind === 'proof' ? chain.api.tx.compute.vote(id, guilty) : chain.api.tx.attribution.voteAttribution(id, guilty);
          // Kept before the vote is in: a vote that decides takes the challenge out of storage.
          voted.set(key, { kind, id });
          const included = await submit(chain, tx, requireAccount(), track(`Vote on ${kind} challenge ${id}: ${label.toLowerCase()}`));
          const resolved = included.events.find((e) => e.event.section === (kind === 'proof' ? 'compute' : 'attribution')
            && ['FraudProven', 'ChallengeDismissed', 'MisattributionProven', 'AttributionUpheld'].includes(e.event.method));
          return resolved ? `Voted “${label}”: your vote made the majority, and the challenge is decided (below).`
            : `Voted “${label}”: the challenge waits for a majority of its jury.`;
        });
      return b;
    };
    return h('div', { class: 'vote' },
      h('div', { class: 'row' }, button(false), button(true)),
      h('ul', { class: 'muted' },
        h('li', null, `${VERDICTS[kind].innocent[0]}: ${VERDICTS[kind].innocent[1]}`),
        h('li', null, `${VERDICTS[kind].guilty[0]}: ${VERDICTS[kind].guilty[1]}`)),
      out);
  }

  function proofCase(info: ProofChallenge): HTMLElement {
    return h('div', { class: 'case' },
      h('dl', null,
        h('dt', null, 'disputed'), h('dd', null, `the training proof of job ${info.job}`),
        h('dt', null, 'challenger’s evidence'), h('dd', { class: 'mono' }, info.evidence)),
      h('p', { class: 'muted' }, `Re-run the proof’s evaluation before voting: attribution-worker verify --job ${info.job} (the evidence is the blake2-256 of the challenger’s written case).`));
  }

  function attributionCase(info: AttributionChallenge): HTMLElement {
    const entries = info.record.attribution.map((e) => `contribution ${e.contribution}: ${(e.weightPpm / 10000).toFixed(1)} %`).join(', ');
    return h('div', { class: 'case' },
      h('dl', null,
        h('dt', null, 'disputed'), h('dd', null, `record ${info.recordId}: model ${info.record.model}, served by ${short(info.record.operator)}`),
        h('dt', null, 'question'), h('dd', { class: 'question' }, question(info.prompt)),
        h('dt', null, 'answer'), h('dd', { class: 'answer' }, bytesText(info.answer)),
        h('dt', null, 'the record pays'), h('dd', null, `${entries || 'nothing to single contributions'} (${formatOpen(info.record.attributed, 8)} in all)`)),
      h('p', { class: 'muted' }, `Recompute it before voting: save the question’s request body and the answer (both are on chain with the challenge) and run attribution-worker verify --attribution ${info.recordId} --prompt <body file> --answer <answer file>.`));
  }

  async function refresh(): Promise<void> {
    const chain = session.chain;
    const account = session.account;
    if (!chain || !account) return mount(list, h('p', { class: 'muted' }, 'Connect and pick an account first.'));
    const [operator, proofs, attributions] = await Promise.all([
      chain.api.query.compute.operators(account.address),
      chain.api.query.compute.challenges.entries(),
      chain.api.query.attribution.attributionChallenges.entries(),
    ]);
    const open = [
      ...proofs.map(([key, value]) => ({ kind: 'proof' as const, id: Number(key.args[0].toString()), info: value.toJSON() as unknown as ProofChallenge })),
      ...attributions.map(([key, value]) => ({ kind: 'attribution' as const, id: Number(key.args[0].toString()), info: value.toJSON() as unknown as AttributionChallenge })),
    ].filter((c) => c.info);
    const mine = open.filter((c) => c.info.jury.some((seat) => seat.juror === account.address)).sort((a, b) => a.kind.localeCompare(b.kind) || a.id - b.id);
    const isOperator = !(operator as unknown as { isNone: boolean }).isNone;
    const others = open.length - mine.length;
    mount(summary, [
      isOperator ? `${account.name} is an operator in the juror pool.` : `${account.name} is not a registered operator: only operators are drawn as jurors.`,
      ` ${mine.length === 0 ? 'It sits on no open jury.' : `It sits on ${mine.length === 1 ? 'one open jury' : `${mine.length} open juries`}.`}`,
      others ? ` ${others} other open challenge${others === 1 ? '' : 's'} ha${others === 1 ? 's' : 've'} other jurors.` : '',
    ].join(''));
    const best = session.best ?? 0;
    const cards = await Promise.all(mine.map(async ({ kind, id, info }) => {
      const key = `${kind}-${id}`;
      const seat = info.jury.find((s) => s.juror === account.address);
      const card = await challengeCard(chain, kind, id);
      card.dataset.jury = key;
      card.append(kind === 'proof' ? proofCase(info as ProofChallenge) : attributionCase(info as AttributionChallenge));
      if (seat?.fraud !== null && seat?.fraud !== undefined) {
        const label = seat.fraud ? VERDICTS[kind].guilty[0] : VERDICTS[kind].innocent[0];
        card.append(h('p', { class: 'outcome ok' }, `You voted “${label}”.`), outcomes.get(key) ?? '');
      } else if (best > info.voteEnd) {
        card.append(h('p', { class: 'outcome error' }, 'Its vote ended before you voted.'));
      } else {
        card.append(voteButtons(chain, kind, id));
      }
      return card;
    }));
    // A challenge this page decided has left storage: its card shows the outcome from the events.
    const decided = await Promise.all([...voted.entries()]
      .filter(([key]) => !mine.some((c) => `${c.kind}-${c.id}` === key))
      .map(async ([key, { kind, id }]) => {
        const card = await challengeCard(chain, kind, id);
        card.dataset.jury = key;
        card.append(outcomes.get(key) ?? '');
        return card;
      }));
    mount(list, cards.length || decided.length ? h('div', { class: 'cards' }, cards, decided) : null);
  }

  return { element, refresh };
}

/** The last user message of an OpenAI request body, or the body itself when it is not one. */
function question(prompt: string): string {
  const body = bytesText(prompt);
  try {
    const messages = (JSON.parse(body) as { messages?: { role: string; content: string }[] }).messages ?? [];
    const asked = messages.filter((m) => m.role === 'user').pop();
    return asked ? asked.content : body;
  } catch {
    return body;
  }
}

/** Bytes from the chain (hex) as text. */
function bytesText(bytes: string): string {
  return isHex(bytes) ? hexToString(bytes) : bytes;
}
