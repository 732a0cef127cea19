// Datanets: browse datanets, their versions and contributions with their status; create a
// datanet; contribute a JSONL file (checked and weighed here, announced on chain, then uploaded to
// the node's content store with the contributor's signature in one flow); approve or reject as a
// curator; publish a version as the owner.

import { stringToU8a, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { formatOpen, parseOpen, rpc, short, submit } from '../chain';
import { field, h, mount } from '../dom';
import { StudioError } from '../errors';
import { checkRows } from '../jsonl';
import { measureWeight } from '../measure';
import { signMessage, signingMessage } from '../signing';
import * as model from '../model';
import { act, requireAccount, requireChain, session, track } from '../session';
import { curatorsPanel } from './curators';
import type { Page } from './page';

let selected: number | null = null;

/** pallets/primitives/src/signing.rs `CONTRIBUTION_UPLOAD_DOMAIN`. */
const CONTRIBUTION_UPLOAD_DOMAIN = stringToU8a('attribution-chain/contribution-upload/v1');

export function datanetsPage(): Page {
  const list = h('div', { id: 'datanet-list' });
  const detail = h('div', { id: 'datanet-detail' });

  // Create a datanet.
  const name = h('input', { id: 'datanet-name', placeholder: 'e.g. medical-qa', maxLength: 64 });
  const description = h('input', { id: 'datanet-description', placeholder: 'What rows belong here', size: 40 });
  const kind = h('select', { id: 'datanet-kind' }, ['Text', 'Image', 'Audio'].map((k) => h('option', { value: k }, k)));
  const bond = h('input', { id: 'datanet-bond', placeholder: 'chain default', size: 10 });
  const createOut = h('p', { class: 'outcome', id: 'create-outcome' });
  const create = h('button', { id: 'create-datanet', type: 'button' }, 'Create datanet');
  create.onclick = () =>
    act(create, createOut, async () => {
      const chain = requireChain();
      const account = requireAccount();
      if (!name.value.trim()) throw new StudioError('Give the datanet a name.');
      const rules = { maxContributionBytes: null, dailyBytes: null, dailyFiles: null, bond: bond.value.trim() ? parseOpen(bond.value) : null };
      const tx = chain.api.tx.datanets.createDatanet(name.value.trim(), description.value.trim(), kind.value, rules);
      const included = await submit(chain, tx, account, track(`Create datanet “${name.value.trim()}”`));
      const [id] = included.event('datanets', 'DatanetCreated') as [number];
      selected = Number(id);
      await refresh();
      return `Datanet ${id} created; its deposit is held from ${account.name}.`;
    });

  const element = h('section', { class: 'page' },
    h('h2', null, 'Datanets'),
    h('p', { class: 'lead' }, 'A datanet collects rows from contributors. Each contribution is announced on chain with a bond, its bytes go to the node’s content store, a curator approves or rejects it, and the owner publishes versions: Merkle roots that fine-tuning jobs train on.'),
    h('div', { class: 'columns' },
      h('div', null, h('h3', null, 'All datanets'), list),
      h('details', { class: 'panel', open: true },
        h('summary', null, 'Create a datanet'),
        field('Name', name),
        field('Description', description),
        field('Kind', kind, 'Text datanets take JSONL rows: {"prompt","completion"} or {"text"}; the node checks every row.'),
        field('Bond per contribution (OPEN)', bond, 'Held from each contributor until a curator decides; slashed for spam. Empty: the chain’s default.'),
        create, createOut)),
    detail);

  async function refresh(): Promise<void> {
    const chain = session.chain;
    if (!chain) {
      mount(list, h('p', { class: 'muted' }, 'Connect to a node first.'));
      return;
    }
    const all = await model.datanets(chain);
    if (selected === null && all.length) selected = all[all.length - 1][0];
    mount(list, all.length === 0 ? h('p', { class: 'muted' }, 'No datanet yet: create the first.') :
      h('table', { class: 'table' },
        h('thead', null, h('tr', null, ['id', 'name', 'owner', 'kind', 'versions', 'pending'].map((c) => h('th', null, c)))),
        h('tbody', null, all.map(([id, d]) => h('tr', {
          class: id === selected ? 'selected' : '', dataset: { datanet: String(id) },
          onclick: () => { selected = id; void refresh(); },
        }, h('td', null, String(id)), h('td', null, model.utf8(d.name)), h('td', null, short(d.owner)), h('td', null, model.variant(d.kind)),
          h('td', null, String(d.versions)), h('td', null, String(d.pending)))))));
    const info = all.find(([id]) => id === selected)?.[1];
    if (selected === null || !info) {
      mount(detail);
      return;
    }
    await renderDetail(selected, info);
  }

  // The detail of one datanet keeps its contribute form across refreshes.
  const file = h('input', { id: 'contribution-file', type: 'file', accept: '.jsonl,.json,.txt,application/jsonl' });
  const license = h('input', { id: 'contribution-license', value: 'CC-BY-4.0', size: 12 });
  const contributeOut = h('div', { class: 'outcome', id: 'contribute-outcome' });
  const contribute = h('button', { id: 'contribute', type: 'button' }, 'Contribute');
  contribute.onclick = () =>
    act(contribute, contributeOut, async () => {
      const chain = requireChain();
      const account = requireAccount();
      const datanet = selected;
      const chosen = file.files?.[0];
      if (datanet === null) throw new StudioError('Pick a datanet first.');
      if (!chosen) throw new StudioError('Choose a JSONL file to contribute.');
      const bytes = new Uint8Array(await chosen.arrayBuffer());
      const info = (await chain.api.query.datanets.datanets(datanet)).toJSON() as unknown as model.DatanetInfo;
      if (model.variant(info.kind) === 'text') {
        const { rows, errors } = checkRows(bytes);
        if (errors.length) {
          throw new StudioError(`${chosen.name} has rows the node would refuse, so nothing was announced:\n${errors.map((e) => (e.line ? `line ${e.line}: ${e.reason}` : e.reason)).join('\n')}`);
        }
        contributeOut.textContent = `${rows} rows look right; announcing on chain…`;
      }
      const hash = blake2AsU8a(bytes, 256);
      const weight = measureWeight(bytes);
      if (weight === 0) throw new StudioError(`${chosen.name} has no row of three bytes or more: it would weigh nothing.`);
      // The contributor's signature over (domain, genesis, SCALE(datanet u32, hash)): only it
      // lets the node store bytes for this announcement. It is asked for before the announcement,
      // so an extension's refusal to sign leaves no bond held for bytes that cannot be uploaded.
      // An extension signs it wrapped in <Bytes>…</Bytes>, which the node accepts too.
      const authorization = chain.api.registry.createType('(u32, H256)', [datanet, hash]);
      contributeOut.textContent = 'Signing the upload…';
      const signature = await signMessage(chain, account, signingMessage(chain, CONTRIBUTION_UPLOAD_DOMAIN, authorization.toU8a()), 'the upload of your file');
      const tx = chain.api.tx.datanets.contribute(datanet, hash, bytes.length, weight, license.value.trim(), JSON.stringify({ file: chosen.name }));
      const included = await submit(chain, tx, account, track(`Announce ${chosen.name} to datanet ${datanet}`));
      const [id] = included.event('datanets', 'Contributed') as [number];
      contributeOut.textContent = `Announced as contribution ${id}; uploading ${bytes.length} bytes to the node…`;
      const upload = track(`Upload ${chosen.name} to the content store`);
      upload({ stage: 'ready' });
      let receipt: { hash: string; cid: string; size: number };
      try {
        receipt = await rpc<{ hash: string; cid: string; size: number }>(chain, 'datanets_upload', [datanet, u8aToHex(bytes), u8aToHex(signature)]);
      } catch (error) {
        upload({ stage: 'failed', error: (error as Error).message });
        throw new StudioError(`Contribution ${id} is announced but the node refused its bytes: ${(error as Error).message}`);
      }
      upload({ stage: 'stored' });
      file.value = '';
      await refresh();
      return `Contribution ${id} is announced and stored on the node (CID ${receipt.cid}). A curator can now approve it.`;
    });

  const publishOut = h('p', { class: 'outcome', id: 'publish-outcome' });
  const publish = h('button', { id: 'publish', type: 'button' }, 'Publish a version');
  publish.onclick = () =>
    act(publish, publishOut, async () => {
      const chain = requireChain();
      if (selected === null) throw new StudioError('Pick a datanet first.');
      const included = await submit(chain, chain.api.tx.datanets.publishVersion(selected), requireAccount(), track(`Publish a version of datanet ${selected}`));
      const [datanet, version, root] = included.event('datanets', 'VersionPublished') as [number, number, string];
      await refresh();
      return `Datanet ${datanet} version ${version} is published (Merkle root ${String(root).slice(0, 18)}…).`;
    });
  const detailData = h('div');
  const contributeForm = h('div', { class: 'panel' },
    h('h3', null, 'Contribute a file'),
    h('div', { class: 'row' },
      field('JSONL file', file, 'Checked row by row here first; then announced on chain (your bond is held) and uploaded to the node.'),
      field('License', license, 'The license your rows are shared under.'),
      contribute),
    contributeOut);
  const curators = curatorsPanel();
  const ownerTools = h('div', { class: 'panel', id: 'owner-tools' }, h('h3', null, 'Owner'), h('p', { class: 'muted' }, 'Freezes the approved contributions into the next version.'), publish, publishOut,
    curators.element);

  /** How many positions of the chosen datanet's contribution list are shown; "More" adds a page. */
  let shown = { datanet: -1, positions: 0 };

  async function renderDetail(id: number, info: model.DatanetInfo): Promise<void> {
    const chain = requireChain();
    const pageRows = session.rows ?? 2000;
    if (shown.datanet !== id) shown = { datanet: id, positions: pageRows };
    const [read, versions] = await Promise.all([model.contributionsFrom(chain, id, 0, shown.positions), model.versions(chain, id)]);
    const contributions = read.items;
    const more = h('button', { type: 'button', id: 'more-contributions' }, `More contributions (the next ${pageRows.toLocaleString('en-US')})`);
    more.onclick = () => {
      shown.positions += pageRows;
      more.disabled = true;
      void refresh();
    };
    const me = session.account?.address;
    const curator = me !== undefined && (info.owner === me || info.curators.includes(me));
    const decide = (contribution: number, approve: boolean, spam = false) => {
      const out = h('span', { class: 'outcome' });
      const button = h('button', { type: 'button', class: approve ? 'approve' : spam ? 'danger' : 'reject', dataset: { contribution: String(contribution) } },
        approve ? 'Approve' : spam ? 'Reject as spam' : 'Reject');
      button.onclick = () =>
        act(button, out, async () => {
          const tx = approve ? chain.api.tx.datanets.approve(contribution) : chain.api.tx.datanets.reject(contribution, spam);
          await submit(chain, tx, requireAccount(), track(`${approve ? 'Approve' : 'Reject'} contribution ${contribution}`));
          await refresh();
          return approve ? 'Approved.' : 'Rejected.';
        });
      return h('span', null, button, out);
    };
    mount(detailData,
      h('h3', null, `Datanet ${id}: ${model.utf8(info.name)}`),
      h('p', { class: 'muted' }, model.utf8(info.description)),
      h('dl', { class: 'inline' },
        h('dt', null, 'owner'), h('dd', null, short(info.owner)),
        h('dt', null, 'bond'), h('dd', null, formatOpen(info.rules.bond)),
        h('dt', null, 'largest file'), h('dd', null, `${info.rules.maxContributionBytes.toLocaleString('en-US')} bytes`),
        h('dt', null, 'curators'), h('dd', null, info.curators.length ? info.curators.map(short).join(', ') : 'the owner only'),
        h('dt', null, 'approved, unpublished'), h('dd', null, String(info.approvedUnpublished))),
      h('h4', null, 'Versions'),
      versions.length === 0 ? h('p', { class: 'muted' }, 'None published yet.') :
        h('table', { class: 'table', id: 'versions' },
          h('thead', null, h('tr', null, ['version', 'contributions', 'bytes', 'Merkle root', 'block'].map((c) => h('th', null, c)))),
          h('tbody', null, versions.map(([v, info]) => h('tr', null,
            h('td', null, String(v)), h('td', null, String(info.contributions)), h('td', null, info.totalBytes.toLocaleString('en-US')),
            h('td', { class: 'mono' }, `${info.merkleRoot.slice(0, 18)}…`), h('td', null, `#${info.publishedAt}`))))),
      h('h4', null, 'Contributions'),
      contributions.length === 0 ? h('p', { class: 'muted' }, 'No contribution yet.') :
        h('table', { class: 'table', id: 'contributions' },
          h('thead', null, h('tr', null, ['id', 'contributor', 'bytes', 'license', 'bond', 'status', ''].map((c) => h('th', null, c)))),
          h('tbody', null, contributions.map(([cid, c]) => {
            const status = model.variant(c.status);
            const label = status === 'published' ? `published in v${(c.status as { published: number }).published}` : status;
            return h('tr', { dataset: { contribution: String(cid) } },
              h('td', null, String(cid)), h('td', null, short(c.contributor)), h('td', null, c.size.toLocaleString('en-US')),
              h('td', null, model.utf8(c.license)), h('td', null, formatOpen(c.bond)),
              h('td', null, h('span', { class: `badge ${status}` }, label)),
              h('td', null, status === 'pending' && curator ? [decide(cid, true), decide(cid, false), decide(cid, false, true)] : null));
          }))),
      read.next === null ? null : h('p', { class: 'muted', id: 'contributions-shown' },
        `The first ${read.next.toLocaleString('en-US')} of ${info.announced.toLocaleString('en-US')} announced (withdrawn, rejected and expired ones leave no row). `, more));
    ownerTools.hidden = info.owner !== me;
    curators.render(id, info);
    publish.disabled = info.approvedUnpublished === 0;
    if (!detail.contains(contributeForm)) mount(detail, detailData, ownerTools, contributeForm);
  }

  return { element, refresh };
}
