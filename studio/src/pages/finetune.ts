// Fine-tune: pick a base model, a datanet version, LoRA or QLoRA and hyper-parameters (each
// explained in one line), and a budget; post the job (request_training, then the
// hyper-parameters file to the node's artifact store); watch the worker train it live (loss,
// tokens/s, ETA from its /status), then the proof, the challenge window and the activation; and
// see any adapter's lineage: base model → adapter ← datanet version ← contributions.

import { stringToU8a, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { formatOpen, parseOpen, rpc, short, submit } from '../chain';
import type { Chain } from '../chain';
import { lineChart, lineageGraph } from '../charts';
import type { Point } from '../charts';
import { field, h, mount } from '../dom';
import { StudioError, messageOf } from '../errors';
import * as model from '../model';
import { act, requireAccount, requireChain, session, track } from '../session';
import * as worker from '../worker';
import type { WorkerStatus } from '../worker';
import { baseModelForm } from './basemodel';
import type { Page } from './page';
import { proofChallenges } from './proofchallenge';

/** Loss by step, per job, as the worker reported it while the studio watched. */
const losses = new Map<number, Point[]>();
let lastStatus: WorkerStatus | null = null;
let statusError: string | null = null;
let lineageOf: number | null = null;
/** The chain's challenge window, in blocks (`Compute::ChallengePeriod`). */
let challengePeriod = 0;

/** Polls the worker's /status (it has no push channel) and keeps each job's loss curve. */
async function pollStatus(): Promise<void> {
  try {
    const status = await worker.status();
    lastStatus = status;
    statusError = null;
    if (status.job !== null && status.loss !== null && status.step > 0) {
      const points = losses.get(status.job) ?? [];
      if (!points.length || points[points.length - 1].x !== status.step) points.push({ x: status.step, y: status.loss });
      losses.set(status.job, points);
    }
  } catch (error) {
    statusError = messageOf(error);
  }
}

const number = (id: string, value: number, step = 'any') => h('input', { id, type: 'number', value: String(value), step, min: '0', size: 6 });

export function finetunePage(): Page {
  const name = h('input', { id: 'job-name', value: 'my-adapter', maxLength: 64 });
  const base = h('select', { id: 'job-base' });
  const pool = h('select', { id: 'job-version' });
  const method = h('select', { id: 'job-method' }, h('option', { value: 'Lora' }, 'LoRA'), h('option', { value: 'Qlora' }, 'QLoRA (4-bit base)'));
  const rank = number('hp-rank', 8, '1');
  const alpha = number('hp-alpha', 16);
  const targets = h('input', { id: 'hp-targets', value: 'q_proj, v_proj', size: 28 });
  const steps = number('hp-steps', 60, '1');
  const batch = number('hp-batch', 8, '1');
  const rate = number('hp-lr', 0.001);
  const warmup = number('hp-warmup', 3, '1');
  const checkpoint = number('hp-checkpoint', 20, '1');
  const cutoff = number('hp-cutoff', 256, '1');
  const evalFraction = number('hp-eval', 0.1);
  const maxNew = number('hp-max-new', 32, '1');
  const budget = h('input', { id: 'job-budget', value: '20', size: 8 });
  const deadline = number('job-deadline', 1000, '1');
  const postOut = h('p', { class: 'outcome', id: 'post-outcome' });
  const post = h('button', { id: 'post-job', type: 'button' }, 'Post the job');

  post.onclick = () =>
    act(post, postOut, async () => {
      const chain = requireChain();
      const account = requireAccount();
      if (!base.value) throw new StudioError('No active base model on chain: a model developer registers one first.');
      if (!pool.value) throw new StudioError('No published datanet version: publish one on the Datanets page first.');
      const kind = method.value === 'Qlora' ? 'qlora' : 'lora';
      const hyperparameters = {
        method: { kind, rank: Number(rank.value), alpha: Number(alpha.value), targets: targets.value.split(',').map((t) => t.trim()).filter(Boolean) },
        train: { steps: Number(steps.value), batch_size: Number(batch.value), learning_rate: Number(rate.value), warmup_steps: Number(warmup.value), checkpoint_every: Number(checkpoint.value) },
        cutoff: Number(cutoff.value),
        eval_fraction: Number(evalFraction.value),
        max_new_tokens: Number(maxNew.value),
      };
      const bytes = stringToU8a(JSON.stringify(hyperparameters));
      const [datanet, version] = pool.value.split('@').map(Number);
      const finalized = await chain.api.rpc.chain.getHeader(await chain.api.rpc.chain.getFinalizedHead());
      const tx = chain.api.tx.compute.requestTraining(name.value.trim(), Number(base.value), { datanet, version }, method.value,
        blake2AsU8a(bytes, 256), parseOpen(budget.value), finalized.number.toNumber() + Number(deadline.value), null);
      const included = await submit(chain, tx, account, track(`Post fine-tune “${name.value.trim()}”`));
      const [job, , adapter] = included.event('compute', 'JobPosted') as [number, string, number];
      const upload = track(`Upload job ${job}'s hyper-parameters`);
      upload({ stage: 'ready' });
      await rpc(chain, 'artifacts_upload', [u8aToHex(bytes)]).catch((error) => {
        upload({ stage: 'failed', error: messageOf(error) });
        throw error;
      });
      upload({ stage: 'stored' });
      lineageOf = Number(adapter);
      return `Job ${job} is posted with its budget in escrow; adapter model ${adapter} is in training once an operator claims it.`;
    });

  const live = h('div', { id: 'live' });
  const tables = h('div', { id: 'jobs-and-models' });
  const lineage = h('div', { id: 'lineage' });
  const challenges = proofChallenges();

  const element = h('section', { class: 'page' },
    h('h2', null, 'Fine-tune'),
    h('p', { class: 'lead' }, 'A fine-tune is a job on chain: your budget is held in escrow, a GPU operator claims it, trains an adapter on the datanet version, proves it, and after a challenge window the adapter becomes an active model.'),
    baseModelForm(),
    h('div', { class: 'columns' },
      h('div', { class: 'panel' },
        h('h3', null, 'New job'),
        field('Adapter name', name, 'The name of the new model on chain.'),
        field('Base model', base, 'The registered model the adapter is trained on top of.'),
        field('Datanet version', pool, 'The published rows to train on; its contributors share the rewards.'),
        field('Method', method, 'LoRA trains small low-rank matrices beside frozen weights; QLoRA also stores the base in 4 bits to save memory.'),
        h('div', { class: 'grid' },
          field('Rank', rank, 'Size of the low-rank update: higher learns more, costs more.'),
          field('Alpha', alpha, 'Scale of the update (alpha / rank); usually twice the rank.'),
          field('Target projections', targets, 'Which attention/MLP weights get adapters (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj).'),
          field('Steps', steps, 'Optimizer steps: how long training runs.'),
          field('Batch size', batch, 'Rows per step: larger is smoother and slower.'),
          field('Learning rate', rate, 'Step size of the optimizer (AdamW); too high diverges, too low learns nothing.'),
          field('Warmup steps', warmup, 'Steps that ramp the learning rate up before its cosine decay.'),
          field('Checkpoint every', checkpoint, 'Steps between checkpoints, so a restarted worker resumes.'),
          field('Cutoff (tokens)', cutoff, 'Longest row, prompt included; longer rows are cut.'),
          field('Held-out share', evalFraction, 'Share of rows kept aside to score the adapter against the base model (0 < x ≤ 0.5).'),
          field('Max new tokens', maxNew, 'Longest generation when the proof scores ROUGE-L on the held-out rows.')),
        field('Budget (OPEN)', budget, 'Held in escrow; pays the operator and the datanet’s contributors when the adapter is accepted.'),
        field('Deadline (blocks)', deadline, 'Blocks from now by which an operator must deliver; about 2 s each.'),
        post, postOut),
      h('div', null, h('h3', null, 'Live training'), live)),
    tables,
    h('h3', null, 'Lineage'),
    lineage,
    challenges.element);

  // While a job trains, /status is read twice a second so the loss curve has every step.
  setInterval(() => {
    if (!element.isConnected || !lastStatus || !/fetching|training|evaluating/.test(lastStatus.phase)) return;
    void pollStatus().then(renderLive);
  }, 500);

  async function refresh(): Promise<void> {
    const chain = session.chain;
    await pollStatus();
    renderLive();
    if (!chain) return;
    // Governance sets the window (`set_challenge_periods`): it is storage, not a constant.
    challengePeriod = Number((await chain.api.query.compute.challengePeriod()).toString());
    const [models, jobs, datanets] = await Promise.all([model.models(chain), model.jobs(chain), model.datanets(chain)]);
    fillOptions(base, models.filter(([, m]) => m.kind.base && model.variant(m.status) === 'active').map(([id, m]) => [String(id), `${id}: ${model.utf8(m.name)}`]));
    const pools: [string, string][] = [];
    for (const [id, d] of datanets) for (let v = 1; v <= d.versions; v++) pools.push([`${id}@${v}`, `${model.utf8(d.name)} v${v} (datanet ${id})`]);
    fillOptions(pool, pools);
    const best = session.best ?? 0;
    mount(tables, h('div', { class: 'columns' },
      h('div', null, h('h3', null, 'Jobs on chain'), jobs.length === 0 ? h('p', { class: 'muted' }, 'No job in progress (settled jobs leave the chain; their adapters stay below).') :
        h('table', { class: 'table', id: 'jobs' },
          h('thead', null, h('tr', null, ['job', 'adapter', 'datanet', 'budget', 'status'].map((c) => h('th', null, c)))),
          h('tbody', null, jobs.map(([id, j]) => h('tr', null, h('td', null, String(id)), h('td', null, String(j.model)),
            h('td', null, `${j.pool.datanet} v${j.pool.version}`), h('td', null, formatOpen(j.budget)), h('td', null, jobStatus(j, best))))))),
      h('div', null, h('h3', null, 'Models'),
        h('table', { class: 'table', id: 'models' },
          h('thead', null, h('tr', null, ['id', 'name', 'kind', 'owner', 'status', ''].map((c) => h('th', null, c)))),
          h('tbody', null, models.map(([id, m]) => h('tr', { dataset: { model: String(id) } },
            h('td', null, String(id)), h('td', null, model.utf8(m.name)), h('td', null, m.kind.base ? 'base' : 'adapter'),
            h('td', null, short(m.owner)), h('td', null, h('span', { class: `badge ${model.variant(m.status)}` }, model.variant(m.status))),
            h('td', null, m.kind.adapter ? h('button', { type: 'button', class: 'link', onclick: () => { lineageOf = id; void refresh(); } }, 'lineage') : null))))))));
    const adapters = models.filter(([, m]) => m.kind.adapter);
    if (lineageOf === null && adapters.length) lineageOf = adapters[adapters.length - 1][0];
    const chosen = models.find(([id]) => id === lineageOf);
    challenges.element.hidden = !chosen;
    if (chosen) {
      await renderLineage(chain, chosen[0], chosen[1], models);
      await challenges.render(chain, chosen[0], jobs);
    } else {
      mount(lineage, h('p', { class: 'muted' }, 'No adapter yet.'));
    }
  }

  function renderLive(): void {
    if (statusError) {
      mount(live, h('p', { class: 'outcome error' }, statusError));
      return;
    }
    const st = lastStatus;
    if (!st) return mount(live, h('p', { class: 'muted' }, 'Waiting for the worker…'));
    const points = st.job !== null ? losses.get(st.job) ?? [] : [];
    const best = session.best ?? 0;
    const proof = st.last_proof;
    const windowLeft = st.challenge_end !== null ? Math.max(0, st.challenge_end - best) : null;
    mount(live,
      h('dl', { class: 'inline three', id: 'worker-status' },
        h('dt', null, 'phase'), h('dd', { id: 'worker-phase' }, st.phase.replace('_', ' ')),
        h('dt', null, 'job'), h('dd', null, st.job === null ? '—' : String(st.job)),
        h('dt', null, 'step'), h('dd', null, st.steps ? `${st.step} / ${st.steps}` : '—'),
        h('dt', null, 'loss'), h('dd', null, st.loss === null ? '—' : st.loss.toFixed(3)),
        h('dt', null, 'tokens/s'), h('dd', null, st.tokens_per_second === null ? '—' : st.tokens_per_second.toFixed(0)),
        h('dt', null, 'ETA'), h('dd', null, st.eta_seconds === null ? '—' : `${Math.round(st.eta_seconds)} s`),
        h('dt', null, 'jobs settled'), h('dd', null, String(st.jobs_settled))),
      st.steps ? h('progress', { max: st.steps, value: st.step }) : null,
      lineChart(points, { x: 'step', y: 'training loss' }),
      proof ? h('div', { class: 'card', id: 'proof' },
        h('h4', null, `Proof of job ${proof.job} (block #${proof.block})`),
        h('p', null, `Held-out loss ${proof.base_loss.toFixed(3)} (base) → ${proof.adapted_loss.toFixed(3)} (adapted); ROUGE-L ${proof.base_rouge_l.toFixed(1)} → ${proof.adapted_rouge_l.toFixed(1)}.`),
        h('p', { class: 'mono' }, `adapter ${proof.adapter_hash.slice(0, 20)}…`),
        windowLeft !== null && st.phase === 'challenge_window' ? h('p', null, `Challenge window: ${windowLeft} blocks left (ends at #${st.challenge_end}); anyone may re-run the evaluation and challenge until then.`) : null,
        windowLeft !== null && st.phase === 'challenge_window' ? h('progress', { max: challengePeriod, value: Math.max(0, challengePeriod - windowLeft) }) : null) : null,
      st.last_error ? h('p', { class: 'muted' }, `Worker reports: ${st.last_error}`) : null);
  }

  async function renderLineage(chain: Chain, id: number, record: model.ModelRecord, models: [number, model.ModelRecord][]): Promise<void> {
    const lineageInfo = record.kind.adapter;
    if (!lineageInfo) return;
    const spec = lineageInfo.spec;
    const baseRecord = models.find(([m]) => m === spec.baseModel)?.[1];
    const datanet = (await chain.api.query.datanets.datanets(spec.pool.datanet)).toJSON() as unknown as model.DatanetInfo | null;
    const blobs = await rpc<{ blobs: { contribution: number; size: number }[] }>(chain, 'datanets_version', [spec.pool.datanet, spec.pool.version])
      .then((manifest) => manifest.blobs, () => []);
    const all = await model.contributions(chain, spec.pool.datanet);
    const artifact = lineageInfo.artifact;
    const graph = lineageGraph(
      { label: `base ${spec.baseModel}: ${baseRecord ? model.utf8(baseRecord.name) : '?'}`.slice(0, 28), detail: baseRecord?.kind.base ? `${baseRecord.kind.base.parameters.toLocaleString('en-US')} parameters` : '' },
      { label: `adapter ${id}: ${model.utf8(record.name)}`.slice(0, 28), detail: `${model.variant(spec.method)} · ${model.variant(record.status)}${artifact ? ` · ${artifact.steps} steps` : ''}` },
      { label: `${datanet ? model.utf8(datanet.name) : `datanet ${spec.pool.datanet}`} v${spec.pool.version}`.slice(0, 28), detail: `root ${spec.datasetRoot.slice(0, 12)}…` },
      blobs.map((b) => {
        const c = all.find(([cid]) => cid === b.contribution)?.[1];
        return { label: `contribution ${b.contribution}`, detail: `${c ? short(c.contributor) : ''} · ${b.size} B` };
      }),
    );
    mount(lineage, h('p', { class: 'muted' }, `Model ${id}, as ModelsApi and the datanet's version manifest describe it.`), graph,
      artifact ? h('p', { id: 'artifact' }, `Trained ${artifact.steps} steps on ${artifact.contributionsUsed} contributions; adapter ${artifact.adapterHash.slice(0, 18)}… (${artifact.adapterSize.toLocaleString('en-US')} bytes).`) : null);
  }

  return { element, refresh };
}

function jobStatus(job: model.JobInfo, best: number): string {
  const status = job.status;
  if (status.claimed) return `claimed by ${short(status.claimed.operator)}`;
  if (status.proven) return `proven; challenge window ends in ${Math.max(0, status.proven.challengeEnd - best)} blocks`;
  if (status.challenged) return `challenged (${status.challenged.open.length} open); window ends in ${Math.max(0, status.challenged.challengeEnd - best)} blocks`;
  return 'open: waiting for an operator';
}

function fillOptions(select: HTMLSelectElement, options: [string, string][]): void {
  const current = select.value;
  const same = select.options.length === options.length && options.every(([v], i) => select.options[i].value === v);
  if (same) return;
  mount(select, options.map(([value, label]) => h('option', { value }, label)));
  if (options.some(([v]) => v === current)) select.value = current;
  else if (options.length) select.value = options[options.length - 1][0];
}
