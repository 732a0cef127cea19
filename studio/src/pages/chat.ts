// Chat: ask any model an operator serves through its OpenAI-compatible API, streaming, paying
// with your signed authorization; each answer shows its attribution (the contributions that
// shaped it, their weights and the sentences each supports, highlighted) and how its fee splits.

import { stringToU8a } from '@polkadot/util';
import { authorize } from '../authorization';
import { formatOpen, short } from '../chain';
import type { Chain } from '../chain';
import { field, h, mount } from '../dom';
import { StudioError } from '../errors';
import { act, requireAccount, requireChain, session } from '../session';
import * as worker from '../worker';
import type { Answer, ModelCard } from '../worker';
import { KEEP, keepAnswer, keptAnswers } from '../answers';
import type { HeldAnswer } from '../answers';
import { answerRecord } from './attributionchallenge';
import type { AnswerRecord } from './attributionchallenge';
import { creditPanel } from './credit';
import type { Page } from './page';

interface Message {
  role: 'user' | 'assistant';
  content: string;
}

const COLORS = ['#f6c85f', '#6fb1e4', '#9dd49a', '#e99ab9', '#c3a6e8', '#f4a261'];

export function chatPage(): Page {
  let cards: ModelCard[] = [];
  const history: Message[] = [];
  const modelSelect = h('select', { id: 'chat-model' });
  const modelInfo = h('div', { class: 'muted', id: 'chat-model-info' });
  const maxTokens = h('input', { id: 'chat-max-tokens', type: 'number', value: '64', min: '1', size: 5 });
  const question = h('textarea', { id: 'chat-input', rows: 3, placeholder: 'Ask something…' });
  const sendOut = h('p', { class: 'outcome', id: 'send-outcome' });
  const send = h('button', { id: 'chat-send', type: 'button' }, 'Send');
  const reset = h('button', { type: 'button', class: 'link' }, 'New conversation');
  const transcript = h('div', { class: 'transcript', id: 'transcript' });

  const card = () => cards.find((c) => c.id === modelSelect.value);

  const credit = creditPanel(card, () => refresh());
  /** Each paid answer's record on chain and its attribution challenge, asked on this page. */
  const records: (AnswerRecord & { held: HeldAnswer })[] = [];
  /** Answers kept in this browser from earlier visits, for the chain and account they are kept for. */
  const kept = h('div', { id: 'kept-answers' });
  let keptFor = '';
  let keptRecords: AnswerRecord[] = [];

  send.onclick = () =>
    act(send, sendOut, async () => {
      const chain = requireChain();
      const account = requireAccount();
      const chosen = card();
      if (!chosen) throw new StudioError('The worker serves no model yet.');
      const content = question.value.trim();
      if (!content) throw new StudioError('Type a question first.');
      const messages: Message[] = [...history, { role: 'user', content }];
      // The authorization hashes these exact bytes, so they are encoded once and sent as is.
      const body = stringToU8a(JSON.stringify({ model: chosen.id, messages, max_tokens: Number(maxTokens.value), temperature: 0, stream: true }));
      let header: string | null = null;
      let nonce: bigint | null = null;
      if (chosen.price_per_token !== undefined) {
        if (chosen.chain_model === undefined) throw new StudioError('The operator does not say which chain model this is.');
        const maxFee = BigInt(chosen.price_per_token) * 4096n;
        ({ header, nonce } = await authorize(chain, { account, operator: chosen.owned_by, model: chosen.chain_model, body, maxFee }));
      }
      const asked = h('div', { class: 'message user' }, content);
      const text = h('div', { class: 'answer-text' });
      const bubble = h('div', { class: 'message assistant streaming' }, text);
      transcript.append(asked, bubble);
      let answer: Answer;
      try {
        answer = await worker.chat(body, header, (piece) => { text.textContent += piece; });
      } catch (error) {
        // Not answered: the question stays in the box and out of the conversation.
        asked.remove();
        bubble.remove();
        throw error;
      }
      question.value = '';
      history.push({ role: 'user', content }, { role: 'assistant', content: answer.text });
      bubble.classList.remove('streaming');
      bubble.replaceChildren(...(await renderAnswer(answer)));
      let notKept: string | null = null;
      if (answer.receipt && nonce !== null && chosen.chain_model !== undefined) {
        const held: HeldAnswer = { user: account.address, model: chosen.chain_model, nonce: Number(nonce), prompt: body, answer: answer.text, question: content };
        const genesis = chain.api.genesisHash.toHex();
        notKept = keepAnswer(genesis, held);
        const record = answerRecord(held, (id) => keepAnswer(genesis, { ...held, record: id }));
        records.push({ ...record, held });
        bubble.append(record.element);
        await record.refresh(chain);
      }
      const paid = answer.receipt ? `Answered; fee ${formatOpen(answer.receipt.fee, 8)} (entry ${answer.receipt.record} of the operator’s journal, settled on chain in its next batch).` : 'Answered.';
      if (notKept) throw new StudioError(`${paid} ${notKept}`);
      return paid;
    });

  reset.onclick = () => {
    history.length = 0;
    records.length = 0;
    transcript.replaceChildren();
    // This conversation's answers now show among the kept ones.
    keptFor = '';
    void refresh();
  };
  modelSelect.onchange = () => void refresh();

  const element = h('section', { class: 'page' },
    h('h2', null, 'Chat'),
    h('p', { class: 'lead' }, 'Ask a model served by an operator. A paid request carries your signed authorization (the exact request’s hash, a fee bound, a nonce): the operator charges your allowance in its next batch on chain, and the fee is split between the model’s owner, the contributors whose rows shaped the answer, the operator and the treasury.'),
    h('div', { class: 'columns' },
      h('div', { class: 'panel' },
        field('Model', modelSelect, 'What GET /v1/models lists: base models and the active adapters on them.'),
        modelInfo,
        credit.element),
      h('div', null,
        kept,
        transcript,
        field('Your message', question),
        h('div', { class: 'row' }, field('Max tokens', maxTokens, 'Longest answer.'), send, reset),
        sendOut)));

  async function renderAnswer(answer: Answer): Promise<HTMLElement[]> {
    const parts: HTMLElement[] = [];
    const sources = answer.attribution?.sources ?? [];
    const colorOf = new Map(sources.map((s, i) => [s.contribution, COLORS[i % COLORS.length]]));
    const verbatim = answer.attribution?.spans?.spans ?? [];
    // Verbatim spans first: they are exact, the supported sentences are the surrogate's reading.
    parts.push(highlight(answer.text, [
      ...verbatim.map((span) => ({ text: span.text, color: colorOf.get(span.rows[0]?.contribution ?? -1) ?? '#ddd', contribution: span.rows[0]?.contribution ?? -1 })),
      ...sources.flatMap((s) => s.supports.map((span) => ({ text: span.text, color: colorOf.get(s.contribution) ?? '#ddd', contribution: s.contribution }))),
    ]));
    const attribution = answer.attribution;
    if (attribution) {
      const influenceRows = (attribution.influence?.rows ?? []).filter((r) => r.score > 0).slice(0, 3);
      parts.push(h('div', { class: 'attribution', id: 'attribution' },
        h('h4', null, `Attribution (${attribution.method}, ${attribution.ablations} ablations, datanet ${attribution.pool.datanet} v${attribution.pool.version})`),
        sources.length === 0 ? h('p', { class: 'muted' }, 'No source was retrieved for this question.') :
          h('table', { class: 'table' },
            h('thead', null, h('tr', null, ['contribution', 'weight', 'rows', 'supports'].map((c) => h('th', null, c)))),
            h('tbody', null, sources.map((s) => h('tr', { dataset: { contribution: String(s.contribution) } },
              h('td', null, h('span', { class: 'swatch', style: `background:${colorOf.get(s.contribution)}` }), ` ${s.contribution}`),
              h('td', null, h('span', { class: 'bar', style: `width:${Math.round(s.weight_ppm / 10000)}px` }), ` ${(s.weight_ppm / 10000).toFixed(1)} %`),
              h('td', null, s.rows.join(', ')),
              h('td', null, s.supports.length ? s.supports.map((span) => `“${span.text.trim()}”`).join(' ') : '—'))))),
        verbatim.length === 0 ? null : h('div', { id: 'verbatim-spans' },
          h('p', null, `Repeated verbatim from training rows (${((attribution.spans?.budget_ppm ?? 0) / 10000).toFixed(1)} % of the weight):`),
          h('ul', null, verbatim.map((span) => h('li', null,
            `“${span.text.trim()}” — `,
            span.rows.map((r) => `contribution ${r.contribution}, row ${r.row}`).join('; '))))),
        influenceRows.length === 0 ? null : h('div', { id: 'influence' },
          h('p', null, 'Training rows that most raised the answer’s likelihood under the adapter (influence):'),
          h('ul', null, influenceRows.map((r) => h('li', null, `contribution ${r.contribution}, row ${r.row} (score ${r.score.toPrecision(3)})`)))),
        attribution.entries.length === 0 ? null : h('div', { id: 'paid-entries' },
          h('p', null, 'The record pays, of the contributors’ share:'),
          h('ul', null, attribution.entries.map((e) => h('li', { dataset: { contribution: String(e.contribution) } },
            h('span', { class: 'swatch', style: `background:${colorOf.get(e.contribution) ?? '#ddd'}` }), ` contribution ${e.contribution}: ${(e.weight_ppm / 10000).toFixed(1)} %`)))),
        h('p', { class: 'muted' }, `${(attribution.pool_ppm / 10000).toFixed(1)} % of the contributors’ share goes to the version’s pool (all its contributors).`)));
    }
    if (answer.receipt) parts.push(await feeSplit(answer.receipt.fee, answer.receipt.nonce, answer.receipt.record));
    return parts;
  }

  async function refresh(): Promise<void> {
    try {
      cards = await worker.models();
    } catch (error) {
      mount(modelInfo, h('span', { class: 'outcome error' }, (error as Error).message));
      return;
    }
    const current = modelSelect.value;
    if (modelSelect.options.length !== cards.length || [...modelSelect.options].some((o, i) => o.value !== cards[i]?.id)) {
      mount(modelSelect, cards.map((c) => h('option', { value: c.id }, c.parent ? `model ${c.id} (adapter on ${c.parent})` : `model ${c.id} (base)`)));
      modelSelect.value = cards.some((c) => c.id === current) ? current : cards[cards.length - 1]?.id ?? '';
    }
    const chosen = card();
    if (!chosen) return mount(modelInfo, 'The worker serves no model yet.');
    mount(modelInfo, `Operator ${short(chosen.owned_by)}; ${chosen.price_per_token === undefined ? 'free' : `${formatOpen(chosen.price_per_token, 8)} per token`}; chain model ${chosen.chain_model ?? '—'}.`);
    const chain = session.chain;
    if (!chain || !session.account) return;
    await credit.refresh(chain, session.account.address);
    for (const record of records) await record.refresh(chain);
    await showKept(chain, session.account.address);
    for (const record of keptRecords) await record.refresh(chain);
  }

  /**
   * The answers `user` kept in this browser on this chain from earlier visits (those asked on
   * this page are in the transcript), each with its record; read again when the account or the
   * chain changes.
   */
  async function showKept(chain: Chain, user: string): Promise<void> {
    const genesis = chain.api.genesisHash.toHex();
    if (keptFor === `${genesis}.${user}`) return;
    keptFor = `${genesis}.${user}`;
    const { answers, ignored } = keptAnswers(genesis, user);
    const earlier = answers.filter((a) => !records.some((r) => r.held.user === a.user && r.held.model === a.model && r.held.nonce === a.nonce));
    const items = earlier.reverse().map((held) => {
      const record = answerRecord(held, (id) => keepAnswer(genesis, { ...held, record: id }));
      return { record, element: h('div', { class: 'kept-answer', dataset: { nonce: String(held.nonce), model: String(held.model) } },
        h('div', { class: 'message user' }, held.question),
        h('div', { class: 'message assistant' }, h('div', { class: 'answer-text' }, held.answer), record.element)) };
    });
    keptRecords = items.map((i) => i.record);
    mount(kept, earlier.length === 0 && ignored === 0 ? null : h('details', { class: 'panel', open: true },
      h('summary', null, `Answers kept in this browser (${earlier.length}, newest first)`),
      h('p', { class: 'muted' }, `Your paid answers on this chain stay in this browser (the newest ${KEEP}) with the exact request you signed, so their records can still be challenged after a reload.`),
      ignored ? h('p', { class: 'outcome error', id: 'kept-ignored' }, `${ignored === 1 ? 'One kept answer' : `${ignored} kept answers`} could not be read (the browser’s storage was changed outside the studio) and ${ignored === 1 ? 'was' : 'were'} left out.`) : null,
      items.map((i) => i.element)));
  }

  return { element, refresh };
}

/** `text` with each supported sentence marked in its source's color. */
function highlight(text: string, spans: { text: string; color: string; contribution: number }[]): HTMLElement {
  const out = h('div', { class: 'answer-text' });
  const marks: { start: number; end: number; color: string; contribution: number }[] = [];
  for (const span of spans) {
    const needle = span.text.trim();
    const start = needle ? text.indexOf(needle) : -1;
    if (start >= 0 && !marks.some((m) => start < m.end && start + needle.length > m.start)) {
      marks.push({ start, end: start + needle.length, color: span.color, contribution: span.contribution });
    }
  }
  marks.sort((a, b) => a.start - b.start);
  let at = 0;
  for (const mark of marks) {
    out.append(text.slice(at, mark.start), h('mark', { style: `background:${mark.color}`, title: `supported by contribution ${mark.contribution}` }, text.slice(mark.start, mark.end)));
    at = mark.end;
  }
  out.append(text.slice(at));
  return out;
}

/** How a fee splits by the chain's fee split (parts per billion). */
async function feeSplit(fee: string, nonce: number, record: number): Promise<HTMLElement> {
  const chain = requireChain();
  const split = (await chain.api.call.attributionApi.feeSplit()).toJSON() as Record<string, number>;
  const total = BigInt(fee);
  const part = (ppb: number) => formatOpen((total * BigInt(ppb)) / 1_000_000_000n, 10);
  const rows: [string, number][] = [['model owner', split.modelOwner], ['data contributors', split.contributors], ['operator', split.operator], ['treasury', split.treasury]];
  return h('div', { class: 'receipt', id: 'receipt' },
    h('h4', null, `Receipt: operator’s entry ${record}, nonce ${nonce}, fee ${formatOpen(total, 10)}`),
    h('table', { class: 'table' }, h('tbody', null, rows.map(([who, ppb]) => h('tr', null, h('td', null, who), h('td', null, `${(ppb / 1e7).toFixed(0)} %`), h('td', null, part(ppb)))))));
}
