// The studio's shell: a page per user role, the connection bar, and the activity panel. Each
// page reloads its data on every new best block (a subscription), never on a timer of its own.

import './style.css';
import { short } from './chain';
import { h, mount } from './dom';
import { messageOf } from './errors';
import { chatPage } from './pages/chat';
import { connectPage } from './pages/connect';
import { datanetsPage } from './pages/datanets';
import { finetunePage } from './pages/finetune';
import { juryPage } from './pages/jury';
import type { Page } from './pages/page';
import { payoutsPage } from './pages/payouts';
import { activityPanel, notify, session, subscribe } from './session';

const pages: Record<string, { title: string; make: () => Page; page?: Page }> = {
  connect: { title: 'Connect', make: connectPage },
  datanets: { title: 'Datanets', make: datanetsPage },
  finetune: { title: 'Fine-tune', make: finetunePage },
  chat: { title: 'Chat', make: chatPage },
  jury: { title: 'Jury', make: juryPage },
  payouts: { title: 'Payouts', make: payoutsPage },
};

const main = h('main', { id: 'main' });
const status = h('span', { class: 'status', id: 'status' }, 'not connected');
const accountSelect = h('select', { id: 'account', title: 'The account that signs and pays' });
accountSelect.onchange = () => {
  session.account = session.accounts.find((a) => a.address === accountSelect.value);
  if (session.account) localStorage.setItem('studio.account', session.account.address);
  notify('account');
};
const pageError = h('p', { class: 'outcome error', id: 'page-error', hidden: true });
const nav = h('nav', null, Object.entries(pages).map(([id, p]) => h('a', { href: `#${id}`, id: `nav-${id}` }, p.title)));

function current(): string {
  const id = location.hash.slice(1);
  return id in pages ? id : 'connect';
}

let refreshing = false;
let again = false;

/** Reloads the visible page's data; one reload at a time, the latest request wins. */
async function refresh(): Promise<void> {
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = true;
  try {
    const entry = pages[current()];
    entry.page ??= entry.make();
    await entry.page.refresh();
    pageError.hidden = true;
  } catch (error) {
    pageError.hidden = false;
    pageError.textContent = messageOf(error);
  } finally {
    refreshing = false;
    document.body.dataset.refreshed = String(Date.now());
  }
  if (again) {
    again = false;
    await refresh();
  }
}

function show(): void {
  const id = current();
  const entry = pages[id];
  entry.page ??= entry.make();
  for (const link of nav.querySelectorAll('a')) link.classList.toggle('active', link.id === `nav-${id}`);
  mount(main, pageError, entry.page.element);
  void refresh();
}

function updateStatus(): void {
  const chain = session.chain;
  status.textContent = chain
    ? `${chain.provider.isConnected ? 'connected' : 'disconnected'} · best #${session.best ?? '…'} · finalized #${session.finalized ?? '…'}${session.account ? ` · ${session.account.name} ${short(session.account.address)}` : ''}`
    : 'not connected';
  status.className = `status ${chain?.provider.isConnected ? 'ok' : 'off'}`;
  if (accountSelect.options.length !== session.accounts.length) {
    mount(accountSelect, session.accounts.map((a) => h('option', { value: a.address }, `${a.name} — ${short(a.address)}`)));
  }
  accountSelect.value = session.account?.address ?? '';
  accountSelect.hidden = session.accounts.length === 0;
}

subscribe(() => {
  updateStatus();
  void refresh();
});
window.addEventListener('hashchange', show);
document.body.append(
  h('header', null, h('h1', null, 'Attribution Studio'), nav, status, accountSelect),
  h('div', { class: 'layout' }, main, activityPanel()),
);
updateStatus();
show();
