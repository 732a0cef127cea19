// The chain's events that the studio follows: challenges of training proofs (pallet-compute) and
// of attribution records, and settled inference records (pallet-attribution). A resolved
// challenge leaves storage and an answer's chain record id exists only in the event that settled
// it, so these are read from events: one subscription per connection, kept in a bounded log.

import { stringCamelCase, u8aEq } from '@polkadot/util';
import { decodeAddress, isAddress } from '@polkadot/util-crypto';
import type { Chain } from './chain';

/** One event, its fields by name (camelCase, as `toJSON()` gives them). */
export interface ChainEvent {
  block: number;
  section: string;
  method: string;
  fields: Record<string, unknown>;
}

/** Enough for every challenge and answer of a session; the oldest go first. */
const KEEP = 2000;
const SECTIONS = new Set(['compute', 'attribution']);
const log: ChainEvent[] = [];
let unsubscribe: (() => void) | null = null;

/** Starts following `chain`'s events (replacing any earlier connection's). */
export async function followEvents(chain: Chain): Promise<void> {
  unsubscribe?.();
  log.length = 0;
  let last = -1;
  // The block number and its events from one query, so each event knows its block.
  unsubscribe = await chain.api.queryMulti([chain.api.query.system.number, chain.api.query.system.events], ([number, records]) => {
    const block = Number(number.toString());
    if (block === last) return;
    last = block;
    for (const { event } of records as unknown as Iterable<{ event: { section: string; method: string; data: { names?: (string | null)[] | null; toJSON(): unknown } } }>) {
      if (!SECTIONS.has(event.section)) continue;
      const values = event.data.toJSON() as unknown[];
      const names = event.data.names ?? [];
      const fields: Record<string, unknown> = {};
      values.forEach((value, i) => {
        fields[stringCamelCase(names[i] ?? String(i))] = value;
      });
      log.push({ block, section: event.section, method: event.method, fields });
    }
    if (log.length > KEEP) log.splice(0, log.length - KEEP);
  });
}

/** The events seen of `section.method` whose fields match `where`, oldest first. */
export function eventsOf(section: string, method: string, where: Record<string, unknown> = {}): ChainEvent[] {
  return log.filter((e) => e.section === section && e.method === method && Object.entries(where).every(([k, v]) => same(e.fields[k], v)));
}

/** Field equality, with accounts compared by their public key (whatever their SS58 prefix). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'string' && typeof b === 'string' && isAddress(a) && isAddress(b)) return u8aEq(decodeAddress(a), decodeAddress(b));
  return String(a) === String(b);
}
