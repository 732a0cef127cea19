// Payouts: what the account can claim now, by source (data, model, compute) and by datanet
// version pool; the history of credits and claims the node indexed, with a chart of earnings
// over time; and the claim buttons.

import { formatOpen, rpc, submit } from '../chain';
import type { Chain } from '../chain';
import { lineChart } from '../charts';
import { h, mount } from '../dom';
import * as model from '../model';
import { act, requireAccount, requireChain, session, track } from '../session';
import type { Page } from './page';

interface Pool {
  datanet: number;
  version: number;
}

type HistoryEvent =
  | { credited: { source: string; amount: string; payer: string } }
  | { claimed: { rewards: { data: string; model: string; compute: string } } }
  | { poolClaimed: { pool: Pool; amount: string } };

interface HistoryEntry {
  block: number;
  eventIndex: number;
  event: HistoryEvent;
}

/** A page of `rewards_history`: `next` is the `(block, event index)` the following page starts at. */
interface HistoryPage {
  entries: HistoryEntry[];
  next: [number, number] | null;
}

/** The node's largest history page (`MAX_PAGE` of node/rewards-history). */
const HISTORY_PAGE = 1000;

/** `who`'s first `count` history entries, oldest first, read in the node's pages; `more` if there are others. */
async function historyOf(chain: Chain, who: string, count: number): Promise<{ entries: HistoryEntry[]; more: boolean }> {
  const entries: HistoryEntry[] = [];
  let from: [number, number] | null = [0, 0];
  while (from && entries.length < count) {
    const page: HistoryPage = await rpc<HistoryPage>(chain, 'rewards_history', [who, from[0], Math.min(HISTORY_PAGE, count - entries.length), from[1]]);
    entries.push(...page.entries);
    from = page.next;
  }
  return { entries, more: from !== null };
}

export function payoutsPage(): Page {
  const pending = h('div', { id: 'pending' });
  const history = h('div', { id: 'history' });
  const claimOut = h('p', { class: 'outcome', id: 'claim-outcome' });
  // Outlives the pool table, which is drawn again after each claim.
  const poolOut = h('p', { class: 'outcome', id: 'pool-outcome' });
  const claim = h('button', { id: 'claim', type: 'button' }, 'Claim direct rewards');
  /** History entries shown for `account`; "More" adds a page. */
  let shown = { account: '', entries: 0 };
  claim.onclick = () =>
    act(claim, claimOut, async () => {
      const chain = requireChain();
      await submit(chain, chain.api.tx.rewards.claim(), requireAccount(), track('Claim direct rewards'));
      await refresh();
      return 'Claimed: the OPEN is in your free balance.';
    });

  const element = h('section', { class: 'page' },
    h('h2', null, 'Payouts'),
    h('p', { class: 'lead' }, 'Rewards accrue to counters as fees and budgets are settled; nobody is paid by a loop over all contributors. You pull what is yours: direct credits (as a model owner, an operator, or a contributor named by an answer’s attribution) and your share of each datanet version’s pool.'),
    pending, poolOut, claim, claimOut, history);

  async function refresh(): Promise<void> {
    const chain = session.chain;
    const account = session.account;
    if (!chain || !account) return mount(pending, h('p', { class: 'muted' }, 'Connect and pick an account first.'));
    const pageRows = session.rows ?? HISTORY_PAGE;
    if (shown.account !== account.address) shown = { account: account.address, entries: pageRows };
    const [direct, pools, { entries, more }] = await Promise.all([
      rpc<{ data: string; model: string; compute: string }>(chain, 'rewards_pending', [account.address]),
      poolRewards(chain, account.address),
      historyOf(chain, account.address, shown.entries),
    ]);
    const moreButton = h('button', { type: 'button', id: 'more-history' }, `More history (the next ${pageRows.toLocaleString('en-US')})`);
    moreButton.onclick = () => {
      shown.entries += pageRows;
      moreButton.disabled = true;
      void refresh();
    };
    const directTotal = BigInt(direct.data) + BigInt(direct.model) + BigInt(direct.compute);
    claim.disabled = directTotal === 0n;
    mount(pending,
      h('div', { class: 'cards' },
        h('div', { class: 'card', id: 'pending-direct' }, h('h3', null, 'Direct, by source'),
          h('dl', null,
            h('dt', null, 'data (attribution)'), h('dd', null, formatOpen(direct.data, 8)),
            h('dt', null, 'model ownership'), h('dd', null, formatOpen(direct.model, 8)),
            h('dt', null, 'compute'), h('dd', null, formatOpen(direct.compute, 8)),
            h('dt', null, 'total'), h('dd', null, formatOpen(directTotal, 8)))),
        h('div', { class: 'card', id: 'pending-pools' }, h('h3', null, 'Datanet version pools'),
          pools.length === 0 ? h('p', { class: 'muted' }, 'You have no contribution in a published version.') :
            h('table', { class: 'table' }, h('tbody', null, pools.map(([pool, amount]) => {
              const button = h('button', { type: 'button', class: 'claim-pool', dataset: { pool: `${pool.datanet}@${pool.version}` }, disabled: amount === 0n }, 'Claim');
              button.onclick = () =>
                act(button, poolOut, async () => {
                  await submit(chain, chain.api.tx.rewards.claimPool(pool), requireAccount(), track(`Claim pool of datanet ${pool.datanet} v${pool.version}`));
                  await refresh();
                  return `Claimed ${formatOpen(amount, 8)}, your share of datanet ${pool.datanet} v${pool.version}'s pool: it is in your free balance.`;
                });
              return h('tr', null, h('td', null, `datanet ${pool.datanet} v${pool.version}`), h('td', null, formatOpen(amount, 8)), h('td', null, button));
            }))))));
    let total = 0;
    const points = entries.length ? [{ x: entries[0].block - 1, y: 0 }] : [];
    points.push(...entries.map((entry) => {
      total += earned(entry.event);
      return { x: entry.block, y: total };
    }));
    mount(history,
      h('h3', null, 'History'),
      lineChart(points, { x: 'block', y: 'OPEN earned (claimed pool shares and credits)', format: (y) => y.toFixed(4), fromZero: true }),
      entries.length === 0 ? h('p', { class: 'muted' }, 'Nothing yet.') :
        h('table', { class: 'table', id: 'history-table' },
          h('thead', null, h('tr', null, ['block', 'what', 'amount'].map((c) => h('th', null, c)))),
          h('tbody', null, [...entries].reverse().map((entry) => h('tr', null, h('td', null, `#${entry.block}`), ...describe(entry.event))))),
      more ? h('p', { class: 'muted', id: 'history-shown' }, `The oldest ${entries.length.toLocaleString('en-US')} entries, newest of them first; the chart counts these. `, moreButton) : null);
  }

  return { element, refresh };
}

/** The OPEN an event adds to what the account earned (claims of direct credits count when credited). */
function earned(event: HistoryEvent): number {
  if ('credited' in event) return Number(BigInt(event.credited.amount) / 10n ** 12n) / 1e6;
  if ('poolClaimed' in event) return Number(BigInt(event.poolClaimed.amount) / 10n ** 12n) / 1e6;
  return 0;
}

function describe(event: HistoryEvent): HTMLElement[] {
  if ('credited' in event) return [h('td', null, `credited (${String(event.credited.source).toLowerCase()})`), h('td', null, formatOpen(event.credited.amount, 8))];
  if ('poolClaimed' in event) return [h('td', null, `claimed pool of datanet ${event.poolClaimed.pool.datanet} v${event.poolClaimed.pool.version}`), h('td', null, formatOpen(event.poolClaimed.amount, 8))];
  const r = event.claimed.rewards;
  return [h('td', null, 'claimed direct credits'), h('td', null, formatOpen(BigInt(r.data) + BigInt(r.model) + BigInt(r.compute), 8))];
}

/** The pools of the versions the account has contributions in, with what it can claim from each. */
async function poolRewards(chain: Chain, who: string): Promise<[Pool, bigint][]> {
  const pools: Pool[] = [];
  for (const [datanet, info] of await model.datanets(chain)) {
    if (info.versions === 0) continue;
    const mine = (await model.contributions(chain, datanet)).filter(([, c]) => c.contributor === who);
    // A version holds the contributions published in it, so its pool is theirs.
    const versions = new Set<number>();
    for (const [, c] of mine) if ('published' in c.status) versions.add(c.status.published);
    for (const version of [...versions].sort((a, b) => a - b)) pools.push({ datanet, version });
  }
  if (!pools.length) return [];
  const answer = (await chain.api.call.rewardsApi.pendingPoolRewards(who, pools)).toJSON() as [Pool, string | number][];
  return answer.map(([pool, amount]) => [pool, BigInt(amount)]);
}
