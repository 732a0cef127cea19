// Registering a base model (Models::register_base_model) from the Fine-tune page. What the chain
// records of a model (weights and tokenizer hashes, architecture, parameter count, CID) is
// measured from its files by `attribution-worker model info`, whose JSON the person pastes here:
// hashing a multi-gigabyte weights file and reading its architecture is the worker's job.

import { isHex } from '@polkadot/util';
import { formatOpen, submit } from '../chain';
import { field, h } from '../dom';
import { StudioError } from '../errors';
import { act, requireAccount, requireChain, track } from '../session';

/** `attribution-worker model info`'s architecture fields, in its (snake_case) names. */
const ARCHITECTURE = ['hidden_size', 'intermediate_size', 'num_layers', 'num_attention_heads', 'num_key_value_heads', 'vocab_size',
  'max_position_embeddings', 'rope_theta'];

const camel = (name: string) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The `BaseModel` record from `attribution-worker model info`'s JSON, or an error naming what is wrong. */
function baseModelRecord(text: string, license: string): Record<string, unknown> {
  let info: Record<string, unknown>;
  try {
    info = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new StudioError(`The model's record is not the JSON attribution-worker model info prints (${(error as Error).message}).`);
  }
  if (!info || typeof info !== 'object') throw new StudioError('The model’s record must be a JSON object.');
  const hash = (name: string) => {
    const value = info[name];
    if (typeof value !== 'string' || !isHex(value, 256)) throw new StudioError(`${name} must be a 32-byte hash in 0x-hex, as attribution-worker model info prints it.`);
    return value;
  };
  const count = (value: unknown, name: string) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new StudioError(`${name} must be a positive whole number.`);
    return value;
  };
  const architecture = info.architecture as Record<string, unknown> | undefined;
  if (!architecture || typeof architecture !== 'object') throw new StudioError('The record has no architecture.');
  if (typeof info.weights_cid !== 'string' || !info.weights_cid) throw new StudioError('weights_cid must name where the weights can be fetched.');
  if (!license.trim()) throw new StudioError('Name the license the weights are published under.');
  return {
    architecture: Object.fromEntries(ARCHITECTURE.map((name) => [camel(name), count(architecture[name], `architecture.${name}`)])),
    parameters: count(info.parameters, 'parameters'),
    weightsHash: hash('weights_hash'),
    weightsCid: info.weights_cid,
    tokenizerHash: hash('tokenizer_hash'),
    license: license.trim(),
  };
}

/** The registration form, for a model developer. */
export function baseModelForm(): HTMLElement {
  const name = h('input', { id: 'base-name', placeholder: 'e.g. SmolLM2-135M-Instruct', maxLength: 64 });
  const license = h('input', { id: 'base-license', value: 'Apache-2.0', size: 14 });
  const record = h('textarea', { id: 'base-record', rows: 6, class: 'mono', placeholder: '{ "weights_hash": "0x…", "weights_cid": "…", "tokenizer_hash": "0x…", "parameters": …, "architecture": { … } }' });
  const out = h('p', { class: 'outcome', id: 'base-outcome' });
  const button = h('button', { id: 'register-base', type: 'button' }, 'Register the base model');
  button.onclick = () =>
    act(button, out, async () => {
      const chain = requireChain();
      if (!name.value.trim()) throw new StudioError('Give the model a name.');
      const base = baseModelRecord(record.value, license.value);
      const tx = chain.api.tx.models.registerBaseModel(name.value.trim(), base);
      const included = await submit(chain, tx, requireAccount(), track(`Register base model “${name.value.trim()}”`));
      const [model, , , deposit] = included.event('models', 'BaseModelRegistered') as [number, string, string, string];
      record.value = '';
      return `Base model ${model} is registered and active; ${formatOpen(deposit)} is held as its deposit while it stays registered.`;
    });
  return h('details', { class: 'panel', id: 'base-model-form' },
    h('summary', null, 'Register a base model'),
    h('p', { class: 'muted' }, 'Fine-tunes start from a registered base model. Run attribution-worker model info --model <file.gguf or directory> and paste its output: the chain keeps the hashes (proofs are checked against them), the architecture and where the weights are. A deposit is held while the model is registered.'),
    field('Name', name),
    field('License', license, 'The license the weights are published under.'),
    field('The model’s record', record, 'The JSON attribution-worker model info prints.'),
    button, out);
}
