// Inference credit on the Chat page: OPEN set aside for chat (Attribution::deposit_credit), granted
// to the operator that serves the chosen model (grant_allowance; only that operator's batches may
// charge it), and credit not granted asked back (request_withdrawal) and paid back once its delay
// has passed (withdraw).

import { formatOpen, parseOpen, short, submit } from '../chain';
import type { Chain } from '../chain';
import { field, h, mount } from '../dom';
import { StudioError } from '../errors';
import { act, requireAccount, requireChain, session, track } from '../session';
import type { ModelCard } from '../worker';

interface Pending {
  amount: string | number;
  unlocksAt: number;
}

export interface CreditPanel {
  element: HTMLElement;
  refresh(chain: Chain, account: string): Promise<void>;
}

/** The credit panel; `operatorOf` names the operator serving the chosen model. */
export function creditPanel(operatorOf: () => ModelCard | undefined, changed: () => Promise<void>): CreditPanel {
  const balances = h('div', { id: 'allowance' });
  const amount = h('input', { id: 'credit-amount', value: '1', size: 8 });
  const out = h('p', { class: 'outcome', id: 'credit-outcome' });
  const grant = h('button', { id: 'add-credit', type: 'button' }, 'Add credit for this operator');
  const deposit = h('button', { id: 'deposit-credit', type: 'button', class: 'reject' }, 'Deposit only');
  const withdrawAmount = h('input', { id: 'withdraw-amount', value: '0.5', size: 8 });
  const withdrawOut = h('p', { class: 'outcome', id: 'withdraw-outcome' });
  const request = h('button', { id: 'request-withdrawal', type: 'button', class: 'reject' }, 'Ask for it back');
  const withdraw = h('button', { id: 'withdraw-credit', type: 'button' }, 'Withdraw');
  const pending = h('p', { class: 'muted', id: 'withdrawal' });

  grant.onclick = () =>
    act(grant, out, async () => {
      const chain = requireChain();
      const chosen = operatorOf();
      if (!chosen) throw new StudioError('Pick a model first: the credit is granted to the operator serving it.');
      const value = parseOpen(amount.value);
      const tx = chain.api.tx.utility.batchAll([
        chain.api.tx.attribution.depositCredit(value),
        chain.api.tx.attribution.grantAllowance(chosen.owned_by, value),
      ]);
      const included = await submit(chain, tx, requireAccount(), track(`Deposit ${formatOpen(value)} and grant it to ${short(chosen.owned_by)}`));
      // The operator reads allowances at the finalized block.
      out.textContent = 'In a block; waiting for finality so the operator sees it…';
      await included.finalized;
      await changed();
      return `${formatOpen(value)} is now allowance for operator ${short(chosen.owned_by)}: it pays for your requests there.`;
    });
  deposit.onclick = () =>
    act(deposit, out, async () => {
      const chain = requireChain();
      const value = parseOpen(amount.value);
      await submit(chain, chain.api.tx.attribution.depositCredit(value), requireAccount(), track(`Deposit ${formatOpen(value)} as credit`));
      await changed();
      return `${formatOpen(value)} is in your credit, granted to no operator yet.`;
    });
  request.onclick = () =>
    act(request, withdrawOut, async () => {
      const chain = requireChain();
      const value = parseOpen(withdrawAmount.value);
      const included = await submit(chain, chain.api.tx.attribution.requestWithdrawal(value), requireAccount(), track(`Ask for ${formatOpen(value)} of credit back`));
      const [, , unlocksAt] = included.event('attribution', 'WithdrawalRequested') as [string, string, number];
      await changed();
      return `${formatOpen(value)} can be withdrawn from block #${unlocksAt}.`;
    });
  withdraw.onclick = () =>
    act(withdraw, withdrawOut, async () => {
      const chain = requireChain();
      const included = await submit(chain, chain.api.tx.attribution.withdraw(), requireAccount(), track('Withdraw credit'));
      const [, paid] = included.event('attribution', 'CreditWithdrawn') as [string, string];
      await changed();
      return `${formatOpen(paid)} is back in your free balance.`;
    });

  const element = h('div', { id: 'credit-panel' },
    balances,
    h('div', { class: 'row' }, field('Credit (OPEN)', amount, 'Moved from your balance into credit; “Add” also grants it to this model’s operator, which is what pays for chat.'), grant, deposit),
    out,
    h('div', { class: 'row' }, field('Withdraw (OPEN)', withdrawAmount, 'Credit not granted to an operator comes back to your balance after a delay announced on chain.'), request, withdraw),
    pending,
    withdrawOut);

  /** The account the outcomes shown belong to: another account's are cleared, not shown as its own. */
  let shownFor: string | null = null;

  async function refresh(chain: Chain, account: string): Promise<void> {
    if (shownFor !== account) {
      for (const outcome of [out, withdrawOut]) {
        outcome.className = 'outcome';
        outcome.textContent = '';
      }
      shownFor = account;
    }
    const chosen = operatorOf();
    const [creditInfo, allowanceInfo, delayValue] = await Promise.all([
      chain.api.call.attributionApi.credit(account),
      chosen ? chain.api.call.attributionApi.allowance(account, chosen.owned_by) : Promise.resolve(null),
      // Storage, not a constant: the genesis config and governance set it.
      chain.api.query.attribution.withdrawalDelay(),
    ]);
    const credit = creditInfo.toJSON() as { balance: string | number; withdrawal: Pending | null };
    const balance = (value: string | number) => formatOpen(value, 6);
    mount(balances, h('dl', null,
      h('dt', null, 'your credit'), h('dd', { id: 'credit-balance' }, balance(credit.balance)),
      chosen && allowanceInfo ? [h('dt', null, 'allowance for this operator'),
        h('dd', { id: 'allowance-balance' }, balance((allowanceInfo.toJSON() as { balance: string | number }).balance))] : null));
    const delay = Number(delayValue.toString());
    // A slot is twice the timestamp pallet's minimum period.
    const blockMs = 2 * Number(chain.api.consts.timestamp.minimumPeriod.toString());
    const best = session.best ?? 0;
    const asked = credit.withdrawal;
    mount(pending, asked
      ? `${formatOpen(asked.amount)} asked back; ${best >= asked.unlocksAt ? 'it can be withdrawn now' : `it can be withdrawn from block #${asked.unlocksAt} (in ${asked.unlocksAt - best} blocks)`}.`
      : `Nothing asked back. A withdrawal is paid ${delay} blocks (${duration(delay * blockMs)}) after you ask.`);
  }

  return { element, refresh };
}

/** `ms` in the largest unit that keeps it readable: "about 40 seconds", "about 10 minutes". */
function duration(ms: number): string {
  if (ms < 90_000) return `about ${Math.round(ms / 1000)} seconds`;
  return `about ${Math.round(ms / 60_000)} minutes`;
}
