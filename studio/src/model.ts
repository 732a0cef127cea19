// The chain's records as the studio reads them: `toJSON()` of the runtime's own types (named in
// the metadata, e.g. AttributionPrimitivesDatanetsDatanetInfo), with byte strings as hex.

import { hexToU8a, isHex } from '@polkadot/util';
import type { Chain } from './chain';

export interface DatanetInfo {
  owner: string;
  name: string;
  description: string;
  kind: string;
  rules: { maxContributionBytes: number; dailyBytes: number; dailyFiles: number; bond: string | number };
  curators: string[];
  deposit: string | number;
  createdAt: number;
  announced: number;
  pending: number;
  approvedUnpublished: number;
  versions: number;
}

export type ContributionStatus = { pending: null } | { approved: null } | { published: number };

export interface ContributionInfo {
  datanet: number;
  position: number;
  contributor: string;
  contentHash: string;
  /** The blob's length in bytes. */
  size: number;
  license: string;
  metadata: string;
  bond: string | number;
  status: ContributionStatus;
  announcedAt: number;
}

export interface VersionInfo {
  merkleRoot: string;
  contributions: number;
  totalWeight: string | number;
  totalBytes: number;
  publishedAt: number;
}

export interface ModelRecord {
  owner: string;
  name: string;
  kind: { base?: { parameters: number; weightsHash: string; license: string }; adapter?: Lineage };
  status: string;
  deposit: string | number;
  registeredAt: number;
}

export interface Lineage {
  spec: {
    baseModel: number;
    pool: { datanet: number; version: number };
    datasetRoot: string;
    method: string;
    hyperparametersHash: string;
    [key: string]: unknown;
  };
  artifact: {
    adapterHash: string;
    adapterSize: number;
    steps: number;
    contributionsUsed: number;
    metrics: Record<string, number>;
    operator?: string;
    [key: string]: unknown;
  } | null;
}

export interface JobInfo {
  developer: string;
  model: number;
  baseModel: number;
  pool: { datanet: number; version: number };
  method: string;
  budget: string | number;
  deadline: number;
  status: { open?: null; claimed?: { operator: string; expiresAt: number }; proven?: { operator: string; challengeEnd: number }; challenged?: { operator: string; challengeEnd: number; open: number[] } };
}

/** Hex bytes as text when they are UTF-8 (else the hex). */
export function utf8(hex: string): string {
  if (!isHex(hex)) return hex;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(hexToU8a(hex));
  } catch {
    return hex;
  }
}

/** The name of a status enum value: `{ published: 1 }` → `published`. */
export function variant(value: unknown): string {
  if (typeof value === 'string') return value.toLowerCase();
  if (value && typeof value === 'object') return Object.keys(value)[0] ?? '';
  return String(value);
}

export async function datanets(chain: Chain): Promise<[number, DatanetInfo][]> {
  const entries = await chain.api.query.datanets.datanets.entries();
  return entries
    .map(([key, value]) => [Number(key.args[0].toString()), value.toJSON() as unknown as DatanetInfo] as [number, DatanetInfo])
    .sort((a, b) => a[0] - b[0]);
}

/** Contributions read from a datanet's positions `start` up to (not including) `next`. */
export interface ContributionsRead {
  items: [number, ContributionInfo][];
  /** The position the next read starts at; `null` once the datanet's list has been read to its end. */
  next: number | null;
}

/**
 * `datanet`'s contributions from position `start`, `positions` positions at most (withdrawn,
 * rejected and expired contributions leave their positions empty), through the runtime API's
 * pages of 100.
 */
export async function contributionsFrom(chain: Chain, datanet: number, start: number, positions: number): Promise<ContributionsRead> {
  const items: [number, ContributionInfo][] = [];
  let at = start;
  while (at < start + positions) {
    const page = (await chain.api.call.datanetsApi.contributions(datanet, at, Math.min(100, start + positions - at))).toJSON() as {
      contributions: [number, ContributionInfo][];
      next: number | null;
    };
    items.push(...page.contributions);
    if (page.next === null || page.next === undefined) return { items, next: null };
    at = page.next;
  }
  return { items, next: at };
}

/** Every contribution of `datanet`, page after page. */
export async function contributions(chain: Chain, datanet: number): Promise<[number, ContributionInfo][]> {
  const out: [number, ContributionInfo][] = [];
  let start: number | null = 0;
  while (start !== null) {
    const read: ContributionsRead = await contributionsFrom(chain, datanet, start, 1000);
    out.push(...read.items);
    start = read.next;
  }
  return out;
}

export async function versions(chain: Chain, datanet: number): Promise<[number, VersionInfo][]> {
  const entries = await chain.api.query.datanets.versions.entries(datanet);
  return entries
    .map(([key, value]) => [Number(key.args[1].toString()), value.toJSON() as unknown as VersionInfo] as [number, VersionInfo])
    .sort((a, b) => a[0] - b[0]);
}

export async function models(chain: Chain): Promise<[number, ModelRecord][]> {
  const entries = await chain.api.query.models.models.entries();
  return entries
    .map(([key, value]) => [Number(key.args[0].toString()), value.toJSON() as unknown as ModelRecord] as [number, ModelRecord])
    .sort((a, b) => a[0] - b[0]);
}

export async function jobs(chain: Chain): Promise<[number, JobInfo][]> {
  const entries = await chain.api.query.compute.jobs.entries();
  return entries
    .map(([key, value]) => [Number(key.args[0].toString()), value.toJSON() as unknown as JobInfo] as [number, JobInfo])
    .sort((a, b) => a[0] - b[0]);
}
