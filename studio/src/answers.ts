// Paid answers kept in this browser, so their records can still be challenged after the page is
// reloaded or closed. A challenge needs what only the user holds: the exact request body (whose
// blake2-256 the user signed) and the answer. They live in `localStorage`, one list per chain
// (genesis hash) and account, newest last, at most `KEEP` of them; each entry is checked when it
// is read, and one that does not read back (edited by hand, written by another version) is left
// out with a notice instead of breaking the page.

import { hexToU8a, isHex, u8aToHex } from '@polkadot/util';

/** How many answers an account keeps per chain; the oldest are forgotten first. */
export const KEEP = 50;

/** A paid answer as the user holds it. */
export interface HeldAnswer {
  user: string;
  model: number;
  nonce: number;
  /** The request body exactly as sent (and signed). */
  prompt: Uint8Array;
  answer: string;
  /** The question as typed, to show the answer beside it. */
  question: string;
  /** The settled record's id on chain, once known. */
  record?: number;
}

/** What was read back: the kept answers, and how many stored entries could not be read. */
export interface Kept {
  answers: HeldAnswer[];
  ignored: number;
}

/** An entry as stored: the prompt in hex. */
interface Stored {
  model: number;
  nonce: number;
  prompt: string;
  answer: string;
  question: string;
  record?: number;
}

const key = (genesis: string, user: string) => `studio.answers.${genesis}.${user}`;

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** The entry if every field has its type, else `null`. */
function parse(entry: unknown, user: string): HeldAnswer | null {
  if (typeof entry !== 'object' || entry === null) return null;
  const e = entry as Partial<Stored>;
  if (!isCount(e.model) || !isCount(e.nonce) || typeof e.answer !== 'string' || typeof e.question !== 'string') return null;
  if (typeof e.prompt !== 'string' || !isHex(e.prompt) || e.prompt.length < 4) return null;
  if (e.record !== undefined && !isCount(e.record)) return null;
  return { user, model: e.model, nonce: e.nonce, prompt: hexToU8a(e.prompt), answer: e.answer, question: e.question, record: e.record };
}

/** The answers `user` kept on the chain of `genesis`, oldest first. */
export function keptAnswers(genesis: string, user: string): Kept {
  const text = localStorage.getItem(key(genesis, user));
  if (text === null) return { answers: [], ignored: 0 };
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    return { answers: [], ignored: 1 };
  }
  if (!Array.isArray(list)) return { answers: [], ignored: 1 };
  const answers = list.map((entry) => parse(entry, user)).filter((a): a is HeldAnswer => a !== null);
  return { answers, ignored: list.length - answers.length };
}

const same = (a: HeldAnswer, b: HeldAnswer) => a.model === b.model && a.nonce === b.nonce;

/**
 * Keeps `held` (or updates it, e.g. with its record id) in `user`'s list on the chain of
 * `genesis`, forgetting the oldest beyond `KEEP`. Returns words for the person when the browser
 * refuses to store it (storage full or disabled), `null` when kept.
 */
export function keepAnswer(genesis: string, held: HeldAnswer): string | null {
  const { answers } = keptAnswers(genesis, held.user);
  const at = answers.findIndex((a) => same(a, held));
  if (at >= 0) answers[at] = held;
  else answers.push(held);
  const stored: Stored[] = answers.slice(-KEEP).map((a) => ({
    model: a.model, nonce: a.nonce, prompt: u8aToHex(a.prompt), answer: a.answer, question: a.question, record: a.record,
  }));
  try {
    localStorage.setItem(key(genesis, held.user), JSON.stringify(stored));
    return null;
  } catch {
    return 'This browser would not store the answer (its storage is full or turned off): its record can be challenged only from this page, until it is closed.';
  }
}
