// Connect: the node and the worker to talk to, the account that signs, and what they say about
// themselves (the chain's best and finalized block, the account's OPEN, the worker's phase).

import { connect, devAccounts, extensionAccounts, formatOpen, short } from '../chain';
import { field, h, mount } from '../dom';
import { followEvents } from '../events';
import { act, notify, session } from '../session';
import * as worker from '../worker';
import type { Page } from './page';

export function connectPage(): Page {
  const nodeInput = h('input', { id: 'node-url', value: session.nodeUrl, size: 32 });
  const workerInput = h('input', { id: 'worker-url', value: session.workerUrl, size: 32 });
  const out = h('p', { class: 'outcome', id: 'connect-outcome' });
  const button = h('button', { id: 'connect', type: 'button' }, 'Connect');
  button.onclick = () =>
    act(button, out, async () => {
      session.nodeUrl = nodeInput.value.trim();
      session.workerUrl = workerInput.value.trim().replace(/\/$/, '');
      localStorage.setItem('studio.node', session.nodeUrl);
      localStorage.setItem('studio.worker', session.workerUrl);
      await session.chain?.api.disconnect().catch(() => undefined);
      session.chain = undefined;
      const chain = await connect(session.nodeUrl);
      session.chain = chain;
      session.genesis = chain.api.genesisHash.toHex();
      await followEvents(chain);
      session.accounts = [...devAccounts(), ...(await extensionAccounts().catch(() => []))];
      const saved = localStorage.getItem('studio.account');
      session.account = session.accounts.find((a) => a.address === saved) ?? session.accounts[0];
      await chain.api.rpc.chain.subscribeNewHeads((header) => {
        session.best = header.number.toNumber();
        notify('block');
      });
      await chain.api.rpc.chain.subscribeFinalizedHeads((header) => {
        session.finalized = header.number.toNumber();
      });
      chain.provider.on('disconnected', () => notify('connection'));
      notify('connection');
      const name = await chain.api.rpc.system.chain();
      return `Connected to ${name} at ${session.nodeUrl}.`;
    });

  const chainInfo = h('div', { class: 'cards' });
  const element = h('section', { class: 'page' },
    h('h2', null, 'Connect'),
    h('p', { class: 'lead' }, 'The studio talks to a node of Attribution Chain and to a worker (a GPU operator’s attribution-worker). Nothing is stored anywhere else.'),
    h('form', { class: 'row', onsubmit: (e: Event) => { e.preventDefault(); button.click(); } },
      field('Node (WebSocket RPC)', nodeInput, 'attribution-node’s RPC address; scripts/devnet runs one on ws://127.0.0.1:9944.'),
      field('Worker (HTTP API)', workerInput, 'attribution-worker’s --http address; scripts/devnet runs one on http://127.0.0.1:8000.'),
      button),
    out,
    h('p', { class: 'muted' }, 'The account in the top bar signs transactions and pays for chat: the dev accounts //Alice … //Ferdie, and the polkadot.js extension’s accounts when it is installed.'),
    chainInfo);

  async function refresh(): Promise<void> {
    const chain = session.chain;
    const cards: HTMLElement[] = [];
    if (chain) {
      const health = await chain.api.rpc.system.health();
      cards.push(card('Chain', [
        ['best block', `#${session.best ?? '…'}`],
        ['finalized block', `#${session.finalized ?? '…'}`],
        ['peers', health.peers.toString()],
        ['syncing', health.isSyncing.isTrue ? 'yes' : 'no'],
      ], 'chain-card'));
      if (session.account) {
        const account = (await chain.api.query.system.account(session.account.address)).toJSON() as { data: { free: string | number; reserved: string | number } };
        const credit = await chain.api.call.attributionApi.credit(session.account.address);
        cards.push(card(session.account.name, [
          ['address', session.account.address],
          ['free', formatOpen(account.data.free)],
          ['reserved', formatOpen(account.data.reserved)],
          ['inference credit', formatOpen((credit.toJSON() as { balance: string | number }).balance)],
        ], 'balance-card'));
      }
    }
    // The worker is asked once the person has pressed Connect.
    if (!chain) return mount(chainInfo, cards);
    try {
      const status = await worker.status();
      cards.push(card('Worker', [
        ['address', session.workerUrl],
        ['operator', short(status.operator)],
        ['phase', status.phase],
        ['connected to chain', status.connected ? 'yes' : 'no'],
        ['jobs settled', String(status.jobs_settled)],
        ['last error', status.last_error ?? '—'],
      ], 'worker-card'));
    } catch (error) {
      cards.push(h('div', { class: 'card error' }, h('h3', null, 'Worker'), h('p', null, (error as Error).message)));
    }
    mount(chainInfo, cards);
  }

  return { element, refresh };
}

function card(title: string, rows: [string, string][], id?: string): HTMLElement {
  return h('div', { class: 'card', id },
    h('h3', null, title),
    h('dl', null, rows.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)])));
}
