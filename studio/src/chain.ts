// The chain side of the studio: one connection to a node through @polkadot/api (which reads the
// runtime's metadata, so every call, storage item and runtime API is typed by the chain itself),
// the accounts that sign, and transactions whose life (ready, in block, finalized, error) is
// shown to the person.

import { ApiPromise, WsProvider } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { DispatchError, EventRecord } from '@polkadot/types/interfaces';
import type { Signer } from '@polkadot/types/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { StudioError, messageOf, poolError, rpcError } from './errors';

/** 10^18 plancks. */
export const OPEN = 10n ** 18n;

/** The dev chain's well-known accounts. */
export const DEV_ACCOUNTS = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'];

/** Who signs: a dev keyring pair (in the page) or a browser-extension account. */
export interface Account {
  address: string;
  name: string;
  pair?: KeyringPair;
  signer?: Signer;
  /** The key type of an extension account (`sr25519` unless it says otherwise). */
  type?: string;
}

export interface Chain {
  api: ApiPromise;
  provider: WsProvider;
  url: string;
}

/** Connects to a node, failing with words when nothing answers within a few seconds. */
export async function connect(url: string): Promise<Chain> {
  await cryptoWaitReady();
  const provider = new WsProvider(url, 1000, {}, 30_000);
  const ready = await Promise.race([
    provider.isReady.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 8000)),
  ]);
  if (!ready) {
    await provider.disconnect();
    throw new StudioError(`No node answers at ${url}: is attribution-node running (scripts/devnet) with its RPC on that address?`);
  }
  const api = await ApiPromise.create({ provider, noInitWarn: true, throwOnConnect: true });
  return { api, provider, url };
}

/** The six dev accounts (//Alice .. //Ferdie). */
export function devAccounts(): Account[] {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  return DEV_ACCOUNTS.map((name) => {
    const pair = keyring.addFromUri(`//${name}`, { name });
    return { address: pair.address, name, pair };
  });
}

/** Accounts of the polkadot.js browser extension, when one is installed and allows the studio. */
export async function extensionAccounts(): Promise<Account[]> {
  const injected = (window as unknown as { injectedWeb3?: Record<string, unknown> }).injectedWeb3;
  if (!injected || Object.keys(injected).length === 0) return [];
  const { web3Enable, web3Accounts, web3FromAddress } = await import('@polkadot/extension-dapp');
  const extensions = await web3Enable('Attribution Studio');
  if (extensions.length === 0) return [];
  const accounts = await web3Accounts();
  return Promise.all(
    accounts.map(async (a) => ({
      address: a.address,
      name: `${a.meta.name ?? a.address.slice(0, 8)} (extension)`,
      signer: (await web3FromAddress(a.address)).signer,
      type: a.type,
    })),
  );
}

/** A transaction's progress, as shown in the activity panel. */
export type TxStage = 'signing' | 'ready' | 'in block' | 'finalized' | 'stored' | 'failed';

export interface TxUpdate {
  stage: TxStage;
  block?: string;
  error?: string;
}

/** The events of a transaction in its block. */
export interface Included {
  events: EventRecord[];
  blockHash: string;
  /** Resolves when the block is finalized (what the worker reads payments at). */
  finalized: Promise<void>;
  /** The data of the first event `section.method`, or throws with words. */
  event(section: string, method: string): unknown[];
}

/**
 * Signs and submits `tx`; resolves when it is in a block (successful) and keeps reporting until
 * it is finalized. A dispatch error rejects with the pallet's own documentation of the error.
 */
export function submit(
  chain: Chain,
  tx: SubmittableExtrinsic<'promise'>,
  account: Account,
  report: (update: TxUpdate) => void,
): Promise<Included> {
  report({ stage: 'signing' });
  let finalize: () => void = () => undefined;
  const finalized = new Promise<void>((done) => {
    finalize = done;
  });
  return new Promise<Included>((resolve, reject) => {
    let settled = false;
    const fail = (error: StudioError) => {
      report({ stage: 'failed', error: error.message });
      if (!settled) {
        settled = true;
        reject(error);
      }
    };
    const signerOptions = account.signer ? { signer: account.signer } : {};
    const signer = account.pair ?? account.address;
    tx.signAndSend(signer, signerOptions, (result) => {
      const { status, events, dispatchError } = result;
      if (status.isReady || status.isBroadcast) report({ stage: 'ready' });
      if (status.isInvalid || status.isDropped || status.isUsurped) {
        fail(new StudioError(`The node dropped the transaction (${status.type}): try again.`));
        return;
      }
      if (!status.isInBlock && !status.isFinalized) return;
      const blockHash = (status.isInBlock ? status.asInBlock : status.asFinalized).toHex();
      if (dispatchError) {
        fail(new StudioError(describeDispatchError(chain, dispatchError)));
        return;
      }
      report({ stage: status.isFinalized ? 'finalized' : 'in block', block: blockHash });
      if (status.isFinalized) finalize();
      if (!settled) {
        settled = true;
        resolve({
          events,
          blockHash,
          finalized,
          event(section, method) {
            const record = events.find((e) => e.event.section === section && e.event.method === method);
            if (!record) throw new StudioError(`The chain did not report ${section}.${method}.`);
            return record.event.data.toJSON() as unknown[];
          },
        });
      }
    }).catch((error: unknown) => fail(poolError(error)));
  });
}

/** A dispatch error in words: a pallet's error is explained by its own documentation. */
export function describeDispatchError(chain: Chain, error: DispatchError): string {
  if (error.isModule) {
    const meta = chain.api.registry.findMetaError(error.asModule);
    const docs = meta.docs.join(' ').trim();
    const pallet = meta.section.charAt(0).toUpperCase() + meta.section.slice(1);
    return `The chain refused it: ${docs || splitWords(meta.name)} (${pallet}.${meta.name}).`;
  }
  if (error.isToken) {
    const token = error.asToken.type;
    const words: Record<string, string> = {
      FundsUnavailable: 'Not enough free OPEN on this account.',
      OnlyProvider: 'It would leave the account below its existential deposit.',
      BelowMinimum: 'The amount is below the minimum balance.',
      Frozen: 'The funds are frozen.',
    };
    return `${words[token] ?? 'The token transfer failed.'} (Token.${token})`;
  }
  if (error.isBadOrigin) return 'This account is not allowed to do that (BadOrigin).';
  if (error.isArithmetic) return `An amount overflowed or underflowed (Arithmetic.${error.asArithmetic.type}).`;
  return `The chain refused it (${error.type}).`;
}

function splitWords(name: string): string {
  return name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** A custom RPC method of the node (content store, payouts), its errors in words. */
export async function rpc<T>(chain: Chain, method: string, params: unknown[]): Promise<T> {
  try {
    return (await chain.provider.send(method, params)) as T;
  } catch (error) {
    throw rpcError(error);
  }
}

/** `planck` as OPEN with up to `digits` decimals. */
export function formatOpen(planck: bigint | string | number | { toString(): string }, digits = 4): string {
  const value = BigInt(planck.toString());
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const whole = abs / OPEN;
  const scale = 10n ** BigInt(18 - digits);
  const fraction = ((abs % OPEN) / scale).toString().padStart(digits, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole.toLocaleString('en-US')}${fraction ? `.${fraction}` : ''} OPEN`;
}

/** A decimal OPEN amount typed by a person, in plancks. */
export function parseOpen(text: string): bigint {
  const match = /^\s*(\d*)(?:\.(\d{0,18}))?\s*$/.exec(text);
  if (!match || (match[1] === '' && !match[2])) throw new StudioError(`“${text}” is not an amount of OPEN.`);
  return BigInt(match[1] || '0') * OPEN + BigInt((match[2] ?? '').padEnd(18, '0') || '0');
}

/** Bytes of a chain `Bytes` value as text. */
export function text(bytes: { toUtf8?: () => string; toString(): string } | string): string {
  if (typeof bytes === 'string') return bytes;
  try {
    return bytes.toUtf8 ? bytes.toUtf8() : bytes.toString();
  } catch {
    return bytes.toString();
  }
}

/** A short form of an address. */
export function short(address: string): string {
  return address.length > 14 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

export { messageOf };
