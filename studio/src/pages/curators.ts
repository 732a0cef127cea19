// A datanet's curators, managed by its owner on the Datanets page: add an account
// (Datanets::add_curator) so it may approve and reject contributions, or take the right away
// (Datanets::remove_curator).

import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { short, submit } from '../chain';
import { field, h, mount } from '../dom';
import { StudioError } from '../errors';
import type * as model from '../model';
import { act, requireAccount, session, track } from '../session';

/** `text` as an SS58 address, or an error in words. */
function address(text: string): string {
  try {
    return encodeAddress(decodeAddress(text.trim()), 42);
  } catch {
    throw new StudioError(`“${text.trim()}” is not an account address (SS58, e.g. 5GrwvaEF…).`);
  }
}

export interface CuratorsPanel {
  element: HTMLElement;
  render(datanet: number, info: model.DatanetInfo): void;
}

export function curatorsPanel(): CuratorsPanel {
  let datanet: number | null = null;
  const known = h('datalist', { id: 'known-accounts' });
  const who = h('input', { id: 'curator-address', size: 48, placeholder: 'an account address', list: 'known-accounts' });
  const out = h('p', { class: 'outcome', id: 'curator-outcome' });
  const add = h('button', { id: 'add-curator', type: 'button' }, 'Add curator');
  const list = h('div', { id: 'curators' });

  const change = (button: HTMLButtonElement, curatorOf: () => string, adding: boolean) =>
    act(button, out, async () => {
      const curator = curatorOf();
      const chain = session.chain;
      if (!chain || datanet === null) throw new StudioError('Pick a datanet first.');
      const tx = adding ? chain.api.tx.datanets.addCurator(datanet, curator) : chain.api.tx.datanets.removeCurator(datanet, curator);
      await submit(chain, tx, requireAccount(), track(`${adding ? 'Add' : 'Remove'} curator ${short(curator)} of datanet ${datanet}`));
      if (adding) who.value = '';
      return adding ? `${short(curator)} may now approve and reject contributions to datanet ${datanet}.` : `${short(curator)} is no longer a curator of datanet ${datanet}.`;
    });
  add.onclick = () => change(add, () => address(who.value), true);

  const element = h('div', { id: 'curators-panel' },
    h('h4', null, 'Curators'),
    h('p', { class: 'muted' }, 'Curators approve and reject pending contributions beside the owner.'),
    list,
    h('div', { class: 'row' }, field('Account', who), add),
    known,
    out);

  function render(id: number, info: model.DatanetInfo): void {
    datanet = id;
    mount(known, session.accounts.map((a) => h('option', { value: a.address }, a.name)));
    const name = (curator: string) => session.accounts.find((a) => a.address === curator)?.name;
    mount(list, info.curators.length === 0 ? h('p', { class: 'muted' }, 'None: the owner curates alone.') :
      h('ul', null, info.curators.map((curator) => {
        const remove = h('button', { type: 'button', class: 'reject remove-curator', dataset: { curator } }, 'Remove');
        remove.onclick = () => change(remove, () => curator, false);
        return h('li', null, `${name(curator) ?? ''} ${short(curator)} `, remove);
      })));
  }

  return { element, render };
}
