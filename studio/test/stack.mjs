// The real parts the browser test runs against, on free loopback ports in a temporary directory:
// a `--dev` attribution-node, the worker's small synthetic base model registered on chain (by
// Ferdie), a second operator (Dave's: a juror, with no worker), and `attribution-worker run`
// (Eve's operator) training jobs and serving the model and its adapters, paid. As
// tests/tests/inference.rs does, with the binaries from ATTRIBUTION_NODE and ATTRIBUTION_WORKER
// (default: the debug builds in ~/.cache/attribution-chain).

import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { stringToU8a, u8aConcat } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

const CACHE = join(process.env.HOME ?? '/root', '.cache/attribution-chain');
/**
 * A real base model (a `.gguf` file or a Hugging Face directory, e.g. what scripts/fetch-model
 * prints) to run the path on instead of the synthetic one; its rows are then the descriptions of
 * this machine's Debian packages, as scripts/demo's.
 */
const REAL_MODEL = process.env.STUDIO_MODEL;
export const NODE = process.env.ATTRIBUTION_NODE ?? join(CACHE, 'target/debug/attribution-node');
export const WORKER = process.env.ATTRIBUTION_WORKER ?? join(CACHE, 'target-worker/debug/attribution-worker');

/** A port nothing listens on now. */
export function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** Polls `check` until it returns a value, failing after `seconds` with `what` and `log()`. */
export async function until(what, seconds, check, log = () => '') {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${seconds} s\n${log()}`);
    await sleep(500);
  }
}

function worker(args) {
  return execFileSync(WORKER, args, { env: { ...process.env, RUST_LOG: 'warn' }, maxBuffer: 64 << 20 });
}

function tail(path, lines = 15) {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts the node and the worker; returns their URLs, the files the test contributes, and
 * `stop()`. `log` reports each step.
 */
export async function startStack(log = console.log) {
  const dir = mkdtempSync(join(tmpdir(), 'studio-e2e-'));
  const children = [];
  const stop = () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    if (!process.env.KEEP_STACK) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [rpcPort, p2pPort, promPort, httpPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const nodeLog = join(dir, 'node.log');
    log(`node: ${NODE} on ws://127.0.0.1:${rpcPort}`);
    children.push(spawn(NODE, ['--dev', '--base-path', join(dir, 'db'), '--rpc-port', rpcPort, '--port', p2pPort,
      '--prometheus-port', promPort, '--no-telemetry', '--no-mdns', '--rpc-cors', 'all'].map(String),
    { stdio: ['ignore', 'ignore', openSync(nodeLog, 'a')] }));
    const nodeUrl = `ws://127.0.0.1:${rpcPort}`;

    const files = {};
    let models;
    let modelPath;
    if (REAL_MODEL) {
      models = dirname(REAL_MODEL);
      modelPath = REAL_MODEL;
      const rows = debianRows();
      for (const seed of [1, 2, 3]) {
        files[`rows${seed}`] = join(dir, `rows-${seed}.jsonl`);
        writeFileSync(files[`rows${seed}`], rows.slice((seed - 1) * 30, seed * 30).join('\n') + '\n');
      }
    } else {
      // The synthetic model (a tiny Llama with its tokenizer) and rows for two files.
      models = join(dir, 'models');
      modelPath = join(models, 'synthetic');
      worker(['synthetic', 'model', '--output-dir', modelPath]);
      writeFileSync(join(modelPath, 'chat_template.jinja'),
        "{% for m in messages %}{{ m['content'] }} {% endfor %}{% if add_generation_prompt %}={% endif %}");
      for (const seed of [1, 2, 3]) {
        files[`rows${seed}`] = join(dir, `rows-${seed}.jsonl`);
        writeFileSync(files[`rows${seed}`], worker(['synthetic', 'rows', '--count', '40', '--seed', String(seed)]));
      }
    }
    // Another synthetic model (another seed, so other weights), which a developer registers in the browser.
    const other = join(dir, 'other-model');
    worker(['synthetic', 'model', '--output-dir', other, '--seed', '8']);
    files.otherModelInfo = join(dir, 'other-model-info.json');
    writeFileSync(files.otherModelInfo, worker(['model', 'info', '--model', other]));
    files.bad = join(dir, 'bad-rows.jsonl');
    writeFileSync(files.bad, '{"prompt": "w1", "completion": "w2"}\n{"prompt": "w3"}\nnot json\n');
    const info = JSON.parse(worker(['model', 'info', '--model', modelPath]).toString());

    await cryptoWaitReady();
    // A debug node takes 10 s to start on an idle machine and over 2 minutes on one shared with
    // several builds (it maps a 1.3 GB binary and compiles the runtime).
    await until('the node answers', 300, async () => {
      const response = await fetch(`http://127.0.0.1:${rpcPort}`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'system_health', params: [] }),
      });
      return response.ok;
    }, () => tail(nodeLog));
    const api = await ApiPromise.create({ provider: new WsProvider(nodeUrl), noInitWarn: true });
    const ferdie = new Keyring({ type: 'sr25519' }).addFromUri('//Ferdie');
    const base = api.createType('AttributionPrimitivesModelsBaseModel', info.scale);
    const baseModel = await new Promise((done, fail) => {
      api.tx.models.registerBaseModel(REAL_MODEL ? basename(REAL_MODEL).slice(0, 32) : 'synthetic-tiny', base).signAndSend(ferdie, ({ status, events, dispatchError }) => {
        if (dispatchError) fail(new Error(`register_base_model: ${dispatchError.toString()}`));
        else if (status.isInBlock) {
          const event = events.find((e) => e.event.section === 'models' && e.event.method === 'BaseModelRegistered');
          if (event) done(Number(event.event.data[0].toString()));
        }
      }).catch(fail);
    });
    // Dave also runs an operator, without a worker: the juror the attribution challenge draws.
    await registerJuror(api, '//Dave');
    await setChallengePeriods(api, PROOF_CHALLENGE_BLOCKS, 30);
    await api.disconnect();
    log(`base model ${baseModel} registered; Dave registered as a second operator (a juror)`);

    const workerLog = join(dir, 'worker.log');
    children.push(spawn(WORKER, ['run', '--node', nodeUrl, '--account', '//Eve', '--worker-key', '//Eve//worker',
      '--models', models, '--state-dir', join(dir, 'worker'), '--http', `127.0.0.1:${httpPort}`, '--register-stake', '100',
      '--price-per-token', '0.000001', '--serve', String(baseModel), '--batch-age', '1', '--quiet',
      ...(REAL_MODEL ? [] : ['--weights', 'f32'])],
    { stdio: ['ignore', 'ignore', openSync(workerLog, 'a')], env: { ...process.env, RUST_LOG: 'info' } }));
    const workerUrl = `http://127.0.0.1:${httpPort}`;
    await until('the worker serves the base model', 180, async () => {
      const models = await (await fetch(`${workerUrl}/v1/models`)).json();
      return models.data?.some((m) => m.chain_model === baseModel);
    }, () => tail(workerLog));
    log(`worker on ${workerUrl}`);
    /**
     * Resolves once the worker's log says the influence index of an adapter it serves is built
     * (one backward pass per training row, in the background after the adapter is first served;
     * answers before it are attributed without influence).
     */
    const influenceReady = (seconds) => until('the adapter\'s influence index', seconds, () => readFileSync(workerLog, 'utf8').includes('influence index ready'), () => tail(workerLog));
    return { dir, nodeUrl, workerUrl, baseModel, files, real: Boolean(REAL_MODEL), stop, influenceReady, logs: () => `--- node\n${tail(nodeLog)}\n--- worker\n${tail(workerLog, 60)}` };
  } catch (error) {
    stop();
    throw error;
  }
}

/**
 * Blocks a training proof stays open to challenge in the test. The dev chain's minute (30
 * blocks) was missed once in CI: beside the chain's end-to-end tests, the page took two minutes
 * to show a proof that had been accepted, and its window had closed by then.
 */
const PROOF_CHALLENGE_BLOCKS = 90;

/** Sets the proofs' challenge window and their juries' vote, in blocks, as governance (Alice, the dev chain's sudo key). */
async function setChallengePeriods(api, challenge, vote) {
  const alice = new Keyring({ type: 'sr25519' }).addFromUri('//Alice');
  await new Promise((done, fail) => {
    api.tx.sudo.sudo(api.tx.compute.setChallengePeriods(challenge, vote)).signAndSend(alice, ({ status, events, dispatchError }) => {
      if (dispatchError) fail(new Error(`set_challenge_periods: ${dispatchError.toString()}`));
      else if (status.isInBlock) {
        if (events.some((e) => e.event.section === 'compute' && e.event.method === 'ChallengePeriodsSet')) done();
        else fail(new Error('set_challenge_periods: no ChallengePeriodsSet event (was the sudo call refused?)'));
      }
    }).catch(fail);
  });
}

/**
 * Registers `uri`'s account as a second operator with its own worker key (`uri//worker`), as
 * `attribution-worker run --register-stake 100` registers one: the key's signature over
 * `"attribution-chain/worker-key-possession/v1" || genesis hash || SCALE((operator, worker key))`,
 * 100 OPEN held. It runs no worker (it claims no job); it joins the juror pool, so the juries of
 * challenges it neither brought nor is accused in draw it, and it votes from the studio.
 */
export async function registerJuror(api, uri) {
  const keyring = new Keyring({ type: 'sr25519' });
  const operator = keyring.addFromUri(uri);
  const worker = keyring.addFromUri(`${uri}//worker`);
  const message = u8aConcat(stringToU8a('attribution-chain/worker-key-possession/v1'), api.genesisHash.toU8a(), operator.publicKey, worker.publicKey);
  const OPEN = 10n ** 18n;
  const tx = api.tx.compute.registerOperator(worker.publicKey, worker.sign(message),
    { gpuModel: 'cpu', gpuMemoryMib: 1024, gpuCount: 1 }, 'http://127.0.0.1:9', 100n * OPEN, OPEN / 1_000_000n);
  await new Promise((done, fail) => {
    tx.signAndSend(operator, ({ status, events, dispatchError }) => {
      if (dispatchError) fail(new Error(`register_operator: ${dispatchError.toString()}`));
      else if (status.isInBlock) {
        if (events.some((e) => e.event.section === 'compute' && e.event.method === 'OperatorRegistered')) done();
        else fail(new Error('register_operator: no OperatorRegistered event'));
      }
    }).catch(fail);
  });
}

/** One instruction row per installed Debian package: its name as the prompt, its summary as the completion. */
function debianRows() {
  const rows = [];
  for (const stanza of readFileSync('/var/lib/dpkg/status', 'utf8').split('\n\n')) {
    const name = /^Package: (.*)$/m.exec(stanza)?.[1];
    const summary = /^Description: (.*)$/m.exec(stanza)?.[1];
    if (name && summary) rows.push(JSON.stringify({ prompt: `What is the Debian package ${name}?`, completion: `${name}: ${summary}.` }));
  }
  return rows;
}
