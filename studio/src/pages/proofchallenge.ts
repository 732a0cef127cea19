// Challenging a training proof from a model's view on the Fine-tune page: while the proof's
// challenge window is open anyone but the prover may dispute it with a bond (Compute::challenge,
// the case's blake2-256 as evidence); then each challenge's jury, votes and verdict or timeout,
// and Close once a jury let it time out (Compute::close_challenge).

import { stringToU8a } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { formatOpen, submit } from '../chain';
import type { Chain } from '../chain';
import { challengeCard } from '../challenges';
import { field, h, mount } from '../dom';
import { StudioError } from '../errors';
import { eventsOf } from '../events';
import type * as model from '../model';
import { act, requireAccount, session, track } from '../session';

/** The job that produced each adapter, remembered while the job is on chain (settled jobs leave it). */
const jobOfModel = new Map<number, number>();

export interface ProofChallenges {
  element: HTMLElement;
  /** Shows adapter `adapter`'s proof challenges, given the jobs on chain now. */
  render(chain: Chain, adapter: number, jobs: [number, model.JobInfo][]): Promise<void>;
}

export function proofChallenges(): ProofChallenges {
  /** The job whose proof the form challenges, while its window is open. */
  let current: number | null = null;
  const evidence = h('textarea', { id: 'challenge-evidence', rows: 2, placeholder: 'e.g. the verdict of attribution-worker verify --job N: adapted loss 2.91, not 2.10' });
  const out = h('p', { class: 'outcome', id: 'challenge-outcome' });
  const button = h('button', { id: 'challenge-proof', type: 'button', class: 'danger' }, 'Challenge this proof');
  const bondLine = h('p', { class: 'muted', id: 'challenge-bond' });
  button.onclick = () =>
    act(button, out, async () => {
      const chain = session.chain;
      if (!chain || current === null) throw new StudioError('Pick an adapter whose proof is in its challenge window.');
      const text = evidence.value.trim();
      if (!text) throw new StudioError('Write your case first: its hash goes on chain as the challenge’s evidence, so jurors can match it.');
      const included = await submit(chain, chain.api.tx.compute.challenge(current, blake2AsU8a(stringToU8a(text), 256)), requireAccount(),
        track(`Challenge the proof of job ${current}`));
      const [, challenge, , bond, , voteEnd] = included.event('compute', 'Challenged') as [number, number, string, string, string, number];
      evidence.value = '';
      return `Challenge ${challenge} is open with ${formatOpen(bond)} held; its jury is drawn in the next block and votes until #${voteEnd}.`;
    });
  const form = h('div', { class: 'panel', id: 'challenge-form' },
    h('h4', null, 'Challenge this proof'),
    bondLine,
    field('Your case', evidence, 'Why the figures do not hold; its blake2-256 is recorded as evidence.'),
    button, out);
  const cards = h('div', { class: 'cards', id: 'proof-challenges' });
  const element = h('div', { id: 'proof-challenge' }, form, cards);

  async function render(chain: Chain, adapter: number, jobs: [number, model.JobInfo][]): Promise<void> {
    for (const [id, job] of jobs) jobOfModel.set(job.model, id);
    const jobId = jobOfModel.get(adapter);
    const job = jobs.find(([id]) => id === jobId)?.[1];
    const status = job?.status.proven ?? job?.status.challenged;
    const best = session.best ?? 0;
    current = jobId !== undefined && status && best <= status.challengeEnd ? jobId : null;
    form.hidden = current === null;
    if (current !== null && status) {
      const bond = chain.api.consts.compute.challengeBond.toString();
      mount(bondLine, `The window is open until #${status.challengeEnd} (${status.challengeEnd - best} blocks). Challenging holds ${formatOpen(bond)}: `
        + 'returned if the jury finds fraud (with a share of the prover’s stake) or reaches no majority, lost to the treasury if it finds the proof sound.');
    }
    const ids = new Set<number>(job?.status.challenged?.open ?? []);
    if (jobId !== undefined) for (const e of eventsOf('compute', 'Challenged', { job: jobId })) ids.add(Number(e.fields.challenge));
    mount(cards, await Promise.all([...ids].sort((a, b) => a - b).map((id) => challengeCard(chain, 'proof', id))));
  }

  return { element, render };
}
