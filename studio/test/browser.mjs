// The studio in a real browser (Debian's chromium, headless, driven by playwright-core) through
// the whole path against a real dev node and worker (test/stack.mjs): connect → create a datanet
// and add a curator → a malformed file refused by line → three contributions, one uploaded with
// the extension's signature → the curator and the owner approve two, the curator is removed →
// publish → a tiny LoRA fine-tune (a second base model is registered meanwhile), watched to its
// proof, challenged, the challenge closed when its empty jury times out, then activation, with
// its lineage → an extension account deposits credit, asks for some back, is refused the early
// withdrawal, and pays for an answer with an authorization its extension signed
// (`<Bytes>`-wrapped) → a paid, streamed chat with the adapter, its attribution and receipt →
// the page reloaded: the answer is kept in the browser, its record is challenged, and its juror
// (Dave's operator, registered without a worker) votes from the Jury page → a contributor claims
// their pool share, the operator pages through its history, and the extension account withdraws
// its credit once the dev chain's withdrawal delay has passed. The studio is opened with
// `?rows=2`, so the lists page after two rows and their "More" controls are exercised. Each
// screen is saved to studio/test-results/ (SCREENSHOTS=../docs/studio refreshes the docs' ones).
//
//   node test/browser.mjs            (after `npm run build`; ATTRIBUTION_NODE / ATTRIBUTION_WORKER
//                                      name the binaries, CHROMIUM the browser; STUDIO_MODEL=<a
//                                      .gguf or model directory> runs it on a real model)
//
// The browser extension is an injected `window.injectedWeb3` whose signer signs in this process
// with a real sr25519 key, as the polkadot.js extension does: transactions by their payload,
// raw messages wrapped as <Bytes>…</Bytes>.

import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { blake2AsHex, cryptoWaitReady } from '@polkadot/util-crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from '../serve.mjs';
import { freePort, startStack } from './stack.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SHOTS = process.env.SCREENSHOTS ?? join(here, '../test-results');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const started = Date.now();
const log = (message) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`);

await cryptoWaitReady();
const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
const address = Object.fromEntries(['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'].map((n) => [n, keyring.addFromUri(`//${n}`).address]));
// The extension's account: endowed on the dev chain, and not one of the studio's own dev accounts.
const extensionPair = keyring.addFromUri('//Ferdie//stash');
address.Extension = extensionPair.address;

const stack = await startStack(log);
const studioPort = await freePort();
const server = await serve(join(here, '../dist'), '127.0.0.1', studioPort);
const profile = mkdtempSync(join(tmpdir(), 'studio-chromium-'));
// The extension signs transactions with the chain's own registry, as the extension does with the
// metadata it holds.
const provider = new WsProvider(stack.nodeUrl);
const api = await ApiPromise.create({ provider, noInitWarn: true });
let context;
let failed = false;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 1000 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(180_000);
  await page.exposeFunction('studioExtensionSign', (kind, request) => {
    if (kind === 'raw') return u8aToHex(extensionPair.sign(u8aWrapBytes(request.data)));
    return api.registry.createType('ExtrinsicPayload', request, { version: request.version }).sign(extensionPair).signature;
  });
  await page.addInitScript((account) => {
    const sign = (kind) => async (request) => ({ id: Date.now(), signature: await window.studioExtensionSign(kind, request) });
    window.injectedWeb3 = {
      'polkadot-js': {
        version: '0.63.1',
        enable: async () => ({
          accounts: { get: async () => [account], subscribe: (listener) => { listener([account]); return () => undefined; } },
          signer: { signPayload: sign('payload'), signRaw: sign('raw') },
        }),
      },
    };
  }, { address: extensionPair.address, name: 'Ferdie stash', type: 'sr25519' });
  const consoleErrors = [];
  page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  mkdirSync(SHOTS, { recursive: true });
  const shot = async (name) => {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    log(`screenshot ${join(SHOTS, `${name}.png`)}`);
  };

  /** Clicks `button` and waits for its outcome; fails with the outcome's words unless `expectError`. */
  const act = async (button, outcome, { expectError = false, timeout = 180_000 } = {}) => {
    await page.click(button);
    const handle = await page.waitForFunction((id) => {
      const out = document.querySelector(id);
      return out && (out.classList.contains('ok') || out.classList.contains('error')) ? out : null;
    }, outcome, { timeout });
    const [ok, text] = await handle.evaluate((out) => [out.classList.contains('ok'), out.textContent]);
    if (ok === expectError) throw new Error(`${button}: expected ${expectError ? 'an error' : 'success'}, got: ${text}`);
    log(`${button}: ${text.split('\n')[0]}`);
    return text;
  };
  const as = async (name) => {
    await page.selectOption('#account', address[name]);
    log(`account ${name}`);
  };
  const go = async (id) => {
    await page.click(`#nav-${id}`);
    await page.waitForSelector(`#nav-${id}.active`);
  };

  // Connect.
  // Lists page after two rows, so that a few contributions and history entries need "More".
  await page.goto(`http://127.0.0.1:${studioPort}/?rows=2`);
  await page.fill('#node-url', stack.nodeUrl);
  await page.fill('#worker-url', stack.workerUrl);
  await act('#connect', '#connect-outcome');
  await page.waitForSelector('#balance-card');
  await page.waitForSelector('#worker-card');
  await shot('connect');

  // Datanets: Alice creates one; Bob's malformed file is refused by line, before any bond;
  // Bob and Charlie contribute; Alice approves both and publishes version 1.
  await go('datanets');
  await page.fill('#datanet-name', 'studio-e2e-rows');
  await page.fill('#datanet-description', 'Synthetic instruction rows from the browser test');
  await act('#create-datanet', '#create-outcome');
  // The owner adds a curator: a typo is refused in words, then Dave.
  await page.fill('#curator-address', '5Grwv-not-an-address');
  const typo = await act('#add-curator', '#curator-outcome', { expectError: true });
  if (!/is not an account address/.test(typo)) throw new Error(`a malformed curator address: ${typo}`);
  await page.fill('#curator-address', address.Dave);
  await act('#add-curator', '#curator-outcome');
  await page.waitForSelector(`#curators button.remove-curator[data-curator="${address.Dave}"]`);
  await as('Bob');
  await page.setInputFiles('#contribution-file', stack.files.bad);
  const refused = await act('#contribute', '#contribute-outcome', { expectError: true });
  if (!/line 2: needs string `prompt` and `completion`/.test(refused) || !/line 3: not JSON/.test(refused)) {
    throw new Error(`the malformed file's errors do not name its lines: ${refused}`);
  }
  await page.setInputFiles('#contribution-file', stack.files.rows1);
  await act('#contribute', '#contribute-outcome');
  // The same file again: the chain refuses it, in the pallet's own words.
  await page.setInputFiles('#contribution-file', stack.files.rows1);
  const duplicate = await act('#contribute', '#contribute-outcome', { expectError: true });
  if (!/The chain refused it: .*\(Datanets\.DuplicateContribution\)/.test(duplicate)) throw new Error(`a duplicate: ${duplicate}`);
  await as('Charlie');
  await page.setInputFiles('#contribution-file', stack.files.rows2);
  await act('#contribute', '#contribute-outcome');
  // The extension's account contributes too: its extension signs the upload (<Bytes>-wrapped),
  // and the node stores the bytes.
  await as('Extension');
  await page.setInputFiles('#contribution-file', stack.files.rows3);
  const uploaded = await act('#contribute', '#contribute-outcome');
  if (!/is announced and stored on the node \(CID /.test(uploaded)) throw new Error(`the extension's upload: ${uploaded}`);
  const bytes = readFileSync(stack.files.rows3);
  if (await provider.send('datanets_get', [blake2AsHex(bytes, 256)]) !== u8aToHex(bytes)) throw new Error('the node does not give back the extension account\'s bytes');
  log('the node serves the bytes the extension account uploaded');
  // The curator approves Bob's, the owner Charlie's, then takes the curator's right away; the
  // extension account's stays pending, out of version 1 (and out of the first two rows shown).
  for (const [i, who] of ['Dave', 'Alice'].entries()) {
    await as(who);
    const approve = page.locator('#contributions button.approve').first();
    await approve.waitFor();
    await approve.click();
    await page.waitForFunction((n) => document.querySelectorAll('#contributions button.approve').length === n, 1 - i);
  }
  log('both contributions approved, one by the curator');
  await page.click(`#curators button.remove-curator[data-curator="${address.Dave}"]`);
  await page.waitForFunction(() => /no longer a curator/.test(document.querySelector('#curator-outcome')?.textContent ?? ''));
  await page.waitForSelector('#curators button.remove-curator', { state: 'detached' });
  log('the curator is removed');
  await page.waitForSelector('#publish:not([disabled])');
  await act('#publish', '#publish-outcome');
  await page.waitForSelector('#versions');
  await page.waitForSelector('#more-contributions');
  await shot('datanets');
  // The third contribution is beyond the first page: "More" shows it, and the list's end.
  if (await page.locator('#contributions tbody tr').count() !== 2) throw new Error('the first page of contributions is not two rows');
  await page.click('#more-contributions');
  await page.waitForSelector('#contributions tr[data-contribution="2"] .badge.pending');
  await page.waitForSelector('#more-contributions', { state: 'detached' });
  log('"More contributions" showed the third, still pending');

  // Fine-tune: Ferdie posts a tiny LoRA job on the synthetic model; the worker trains, proves,
  // waits out the challenge window and settles; the adapter becomes active.
  await as('Ferdie');
  await go('finetune');
  await page.waitForSelector('#job-base option', { state: 'attached' });
  await page.waitForSelector('#job-version option', { state: 'attached' });
  // A tiny job on the synthetic model; a short one on a real model (STUDIO_MODEL).
  const fields = stack.real ? {
    '#job-name': 'studio-e2e-lora', '#hp-rank': '8', '#hp-alpha': '16', '#hp-targets': 'q_proj, v_proj',
    '#hp-steps': '10', '#hp-batch': '4', '#hp-lr': '0.001', '#hp-warmup': '2', '#hp-checkpoint': '10', '#hp-cutoff': '64',
    '#hp-eval': '0.1', '#hp-max-new': '8', '#job-budget': '20',
  } : {
    '#job-name': 'studio-e2e-lora', '#hp-rank': '4', '#hp-alpha': '8', '#hp-targets': 'q_proj, v_proj, gate_proj, up_proj, down_proj',
    '#hp-steps': '120', '#hp-batch': '8', '#hp-lr': '0.01', '#hp-warmup': '2', '#hp-checkpoint': '40', '#hp-cutoff': '16',
    '#hp-eval': '0.2', '#hp-max-new': '4', '#job-budget': '20',
  };
  for (const [selector, value] of Object.entries(fields)) await page.fill(selector, value);
  await page.selectOption('#job-base', String(stack.baseModel));
  const posted = await act('#post-job', '#post-outcome');
  const adapter = Number(/adapter model (\d+)/.exec(posted)[1]);
  // While the worker trains, Dave registers another base model from its `model info`.
  await as('Dave');
  await page.click('#base-model-form summary');
  await page.fill('#base-name', 'synthetic-other');
  const otherInfo = JSON.parse(readFileSync(stack.files.otherModelInfo, 'utf8'));
  await page.fill('#base-record', JSON.stringify({ ...otherInfo, weights_hash: '0x12' }));
  const badRecord = await act('#register-base', '#base-outcome', { expectError: true });
  if (!/weights_hash must be a 32-byte hash/.test(badRecord)) throw new Error(`a malformed model record: ${badRecord}`);
  await page.fill('#base-record', JSON.stringify(otherInfo, null, 2));
  const registered = await act('#register-base', '#base-outcome');
  const otherBase = Number(/Base model (\d+)/.exec(registered)[1]);
  await page.waitForSelector(`#models tr[data-model="${otherBase}"] .badge.active`);
  await page.waitForFunction(() => /challenge/.test(document.querySelector('#worker-phase')?.textContent ?? ''), null, { timeout: 180_000 });
  await page.waitForSelector('#proof');
  await shot('finetune-proof');
  // Dave challenges the proof; the prover is the only operator, so the jury is empty and the
  // challenge can only time out.
  await page.waitForSelector('#challenge-form:not([hidden])');
  await page.fill('#challenge-evidence', 'Re-running the evaluation gives another held-out loss.');
  const challenged = await act('#challenge-proof', '#challenge-outcome');
  const challenge = Number(/Challenge (\d+) is open/.exec(challenged)[1]);
  await page.waitForFunction((id) => /No operator could sit/.test(document.querySelector(`[data-challenge="proof-${id}"] .jury`)?.textContent ?? ''), challenge);
  await shot('finetune-challenge');

  // Meanwhile, the extension's account (it signs by the injected extension) deposits credit, asks
  // for it back, is told in words that the withdrawal is not due yet, and pays for an answer with
  // an authorization the extension signed wrapped in <Bytes>…</Bytes>.
  await as('Extension');
  await go('chat');
  await page.waitForSelector('#chat-model option', { state: 'attached' });
  await page.fill('#credit-amount', '2');
  await act('#deposit-credit', '#credit-outcome');
  await page.fill('#withdraw-amount', '0.5');
  const asked = await act('#request-withdrawal', '#withdraw-outcome');
  if (!/can be withdrawn from block #\d+/.test(asked)) throw new Error(`a withdrawal request: ${asked}`);
  const early = await act('#withdraw-credit', '#withdraw-outcome', { expectError: true });
  if (!/\(Attribution\.WithdrawalLocked\)/.test(early)) throw new Error(`an early withdrawal: ${early}`);
  await page.fill('#credit-amount', '1');
  await act('#add-credit', '#credit-outcome');
  await page.fill('#chat-input', 'w1 w2');
  await page.fill('#chat-max-tokens', '4');
  await act('#chat-send', '#send-outcome', { timeout: 120_000 });
  log('the extension account paid for an answer (its authorization signed <Bytes>-wrapped)');
  await shot('chat-credit');

  // The jury let the challenge time out: anyone closes it, the proof stands and the adapter settles.
  await go('finetune');
  await page.waitForSelector(`#close-proof-${challenge}`, { timeout: 120_000 });
  const closed = await act(`#close-proof-${challenge}`, `#close-proof-${challenge}-outcome`);
  if (!/challenge timed out/.test(closed)) throw new Error(`closing the challenge: ${closed}`);
  await page.waitForFunction((id) => /proof stands/.test(document.querySelector(`[data-challenge="proof-${id}"] .verdict`)?.textContent ?? ''), challenge);
  await page.waitForSelector(`#models tr[data-model="${adapter}"] .badge.active`, { timeout: 180_000 });
  await page.waitForSelector('#lineage svg .contribution');
  await page.waitForSelector('#artifact');
  log(`adapter ${adapter} is active`);
  await shot('finetune');

  // Chat: Charlie grants credit to Eve's operator and asks the adapter; the answer streams and
  // shows its attribution and receipt.
  await as('Charlie');
  await go('chat');
  await page.waitForSelector(`#chat-model option[value="${adapter}"]`, { state: 'attached', timeout: 120_000 });
  await page.selectOption('#chat-model', String(adapter));
  await page.fill('#chat-input', 'w1 w2 w3');
  const unpaid = await act('#chat-send', '#send-outcome', { expectError: true });
  if (!/allowance for this operator is too small/.test(unpaid)) throw new Error(`asking without allowance: ${unpaid}`);
  await page.fill('#credit-amount', '1');
  await act('#add-credit', '#credit-outcome');
  // On the synthetic model, a question made of a row of each contribution, so rows of both are
  // retrieved; on a real model, one of the rows' questions.
  const first = (file) => JSON.parse(readFileSync(file, 'utf8').split('\n')[0]).prompt.replace(/ =$/, '');
  const question = stack.real ? JSON.parse(readFileSync(stack.files.rows1, 'utf8').split('\n')[3]).prompt
    : `${first(stack.files.rows1)} ${first(stack.files.rows2)}`;
  // The answer is attributed by the adapter's influence index too (which training rows raised
  // its likelihood), once the worker has built it: on the synthetic model that is what gives the
  // record something to challenge, since its one-word answers move neither ContextCite's weights
  // nor any verbatim span.
  await stack.influenceReady(180);
  log('the adapter\'s influence index is built');
  await page.fill('#chat-input', question);
  await page.fill('#chat-max-tokens', stack.real ? '40' : '16');
  await act('#chat-send', '#send-outcome', { timeout: 120_000 });
  await page.waitForSelector('#transcript #attribution');
  await page.waitForSelector('#transcript #receipt');
  const sources = await page.locator('#attribution tbody tr').count();
  if (sources === 0) throw new Error('the answer names no source');
  const method = await page.textContent('#attribution h4');
  const pays = await page.locator('#paid-entries li').allTextContents();
  log(`answer: ${await page.locator('#transcript .message.assistant .answer-text').last().textContent()}; ${method}; ${sources} source(s) retrieved; the record pays ${pays.join(', ') || 'nothing to single contributions'}`);
  await shot('chat');
  // The page is reloaded: the answer Charlie paid for is kept in the browser, and its record,
  // once the operator's batch settles it, is offered for challenge.
  // An entry spoiled outside the studio is left out with a notice; the others still show.
  await page.evaluate((key) => {
    const list = JSON.parse(localStorage.getItem(key) ?? '[]');
    localStorage.setItem(key, JSON.stringify([{ model: 'one', nonce: -1, prompt: 'not hex' }, ...list]));
  }, `studio.answers.${api.genesisHash.toHex()}.${address.Charlie}`);
  await page.reload();
  await go('connect');
  await act('#connect', '#connect-outcome');
  await go('chat');
  const kept = page.locator('#kept-answers .kept-answer').filter({ hasText: question });
  await kept.waitFor();
  const ignored = await page.textContent('#kept-ignored');
  if (!/One kept answer could not be read/.test(ignored)) throw new Error(`a spoiled kept answer: ${ignored}`);
  log('after a reload, the paid answer is still on the Chat page (a spoiled entry beside it is left out, in words)');
  const settled = await kept.locator('.record [data-record]').elementHandle({ timeout: 120_000 });
  const recordText = await settled.textContent();
  if (/attributes nothing/.test(recordText)) throw new Error(`the answer's record attributes nothing: ${recordText}`);
  const disputed = await act('#kept-answers .kept-answer .record button.challenge-attribution', '#kept-answers .kept-answer .record > p.outcome');
  const attributionChallenge = Number(/Challenge (\d+) is open/.exec(disputed)?.[1]);
  if (Number.isNaN(attributionChallenge)) throw new Error(`challenging the attribution: ${disputed}`);
  // Its jury is Dave's operator: Eve's is the record's and cannot sit, and Charlie is no operator.
  await page.waitForFunction((id) => /1 jurors drawn/.test(document.querySelector(`[data-challenge="attribution-${id}"] .jury`)?.textContent ?? ''), attributionChallenge);
  log(`attribution challenge ${attributionChallenge} is open; its jury is drawn`);
  await go('jury');
  await page.waitForFunction(() => /not a registered operator.*sits on no open jury/.test(document.querySelector('#jury-summary')?.textContent ?? ''));

  // Dave, the juror, reads the case on the Jury page (the question and the answer the challenger
  // put on chain, what the record pays) and votes that the attribution holds: one juror is the
  // jury's majority, so the challenge is decided at once.
  await as('Dave');
  const card = `[data-jury="attribution-${attributionChallenge}"]`;
  await page.waitForSelector(`${card} .case .answer`);
  const shownQuestion = await page.textContent(`${card} .case .question`);
  if (shownQuestion !== question) throw new Error(`the juror sees another question: ${shownQuestion}`);
  await shot('jury');
  await act(`#vote-attribution-${attributionChallenge}-holds`, `#vote-attribution-${attributionChallenge}-outcome`);
  await page.waitForFunction((sel) => /found the attribution right/.test(document.querySelector(`${sel} .verdict`)?.textContent ?? ''), card);
  log(`Dave voted: attribution challenge ${attributionChallenge} is decided`);
  await as('Charlie');
  await go('chat');
  await page.waitForFunction((id) => /found the attribution right/.test(document.querySelector(`[data-challenge="attribution-${id}"] .verdict`)?.textContent ?? ''), attributionChallenge);
  await shot('chat-challenge');

  // Bob claims his share of the version's pool (the job's budget paid into it).
  await as('Bob');
  await go('payouts');
  const claim = page.locator('#pending-pools button.claim-pool:not([disabled])').first();
  await claim.waitFor({ timeout: 60_000 });
  await act('#pending-pools button.claim-pool:not([disabled])', '#pool-outcome');
  await page.waitForSelector('#history-table');
  log('Bob claimed his pool share; it is in his history');
  await shot('payouts');
  // Eve's operator was credited for the job and each record: its history takes more than a page.
  await as('Eve');
  await page.waitForSelector('#more-history');
  const firstPage = await page.locator('#history-table tbody tr').count();
  await page.click('#more-history');
  await page.waitForFunction((n) => document.querySelectorAll('#history-table tbody tr').length > n, firstPage);
  log(`"More history" added to the operator's first ${firstPage} entries`);

  // The extension's account withdraws the credit it asked back, once the dev chain's withdrawal
  // delay (a minute) has passed.
  await as('Extension');
  await go('chat');
  await page.waitForFunction(() => /can be withdrawn now/.test(document.querySelector('#withdrawal')?.textContent ?? ''));
  const withdrawn = await act('#withdraw-credit', '#withdraw-outcome');
  if (!/^0\.5 OPEN is back in your free balance/.test(withdrawn)) throw new Error(`the withdrawal: ${withdrawn}`);

  // The 402 is the worker refusing the unpaid question above, as it should.
  const unexpected = consoleErrors.filter((e) => !/favicon|402 \(Payment Required\)/.test(e));
  if (unexpected.length) log(`browser console errors:\n${unexpected.join('\n')}`);
  log(`the whole path passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
} catch (error) {
  failed = true;
  console.error(error);
  console.error(stack.logs());
  if (context) await context.pages()[0]?.screenshot({ path: join(tmpdir(), 'studio-failure.png'), fullPage: true }).catch(() => undefined);
} finally {
  await context?.close().catch(() => undefined);
  await api.disconnect().catch(() => undefined);
  server.close();
  stack.stop();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
