// What every page shares: the node connection, the worker's address, the chosen account, the
// chain's best and finalized block (from subscriptions), and the activity panel where each
// transaction shows its life.

import type { Account, Chain, TxUpdate } from './chain';
import { messageOf } from './chain';
import { h } from './dom';

export interface Session {
  nodeUrl: string;
  workerUrl: string;
  chain?: Chain;
  accounts: Account[];
  account?: Account;
  best?: number;
  finalized?: number;
  /** blake2-256 of the genesis block, which inference authorizations are signed for. */
  genesis?: string;
  /**
   * Rows a long list shows at first and adds with each "More" (`?rows=N`); unset, each list
   * has its own (2 000 contributions, 1 000 history entries).
   */
  rows?: number;
}

const params = new URLSearchParams(location.search);

export const session: Session = {
  nodeUrl: params.get('node') ?? localStorage.getItem('studio.node') ?? 'ws://127.0.0.1:9944',
  workerUrl: params.get('worker') ?? localStorage.getItem('studio.worker') ?? 'http://127.0.0.1:8000',
  accounts: [],
  rows: Number(params.get('rows')) > 0 ? Math.floor(Number(params.get('rows'))) : undefined,
};

type Listener = (reason: 'block' | 'account' | 'connection') => void;
const listeners = new Set<Listener>();

/** Calls `listener` on each new best block, account change and (re)connection. */
export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function notify(reason: 'block' | 'account' | 'connection'): void {
  for (const listener of listeners) listener(reason);
}

/** The connected chain, or an error in words. */
export function requireChain(): Chain {
  if (!session.chain) throw new Error('Not connected to a node: connect on the Connect page first.');
  return session.chain;
}

/** The chosen account, or an error in words. */
export function requireAccount(): Account {
  if (!session.account) throw new Error('No account chosen: pick one on the Connect page.');
  return session.account;
}

// ---- Activity: each transaction and long task, with its stages ----

const activity = h('ol', { class: 'activity', id: 'activity' });

export function activityPanel(): HTMLElement {
  return h('aside', { class: 'activity-panel' }, h('h3', null, 'Activity'), activity);
}

/** A line in the activity panel for `title`; returns the reporter a transaction calls. */
export function track(title: string): (update: TxUpdate) => void {
  const stage = h('span', { class: 'stage' }, 'signing');
  const detail = h('div', { class: 'detail' });
  const item = h('li', { class: 'tx pending' }, h('strong', null, title), ' ', stage, detail);
  activity.prepend(item);
  while (activity.children.length > 30) activity.lastElementChild?.remove();
  return (update) => {
    stage.textContent = update.stage;
    item.className = `tx ${update.stage === 'failed' ? 'failed' : update.stage === 'finalized' || update.stage === 'stored' ? 'done' : 'pending'}`;
    if (update.block) detail.textContent = `block ${update.block.slice(0, 10)}…`;
    if (update.error) detail.textContent = update.error;
  };
}

/**
 * Runs `work` for a button: disables it meanwhile, shows progress and the outcome (or the error
 * in words) in `out`.
 */
export async function act(button: HTMLButtonElement, out: HTMLElement, work: () => Promise<string | void>): Promise<void> {
  button.disabled = true;
  out.className = 'outcome busy';
  out.textContent = 'Working…';
  try {
    const done = await work();
    out.className = 'outcome ok';
    out.textContent = done ?? 'Done.';
  } catch (error) {
    out.className = 'outcome error';
    out.textContent = messageOf(error);
  } finally {
    button.disabled = false;
  }
}
