// A contribution's weight in its version's reward pool, exactly as
// `attribution_primitives::datanets::measure::weight` (pallets/primitives/src/datanets.rs)
// defines it: the node recomputes it from the bytes at upload and refuses a contribution that
// declared another weight, so the two must agree byte for byte.
//
//   rows          = lines split on \n, ASCII whitespace (space, \t, \n, \f, \r) trimmed, empty ones dropped
//   row weight    = min(ROW_WEIGHT_CAP, distinct 3-byte windows of the row)
//   weight        = Σ row weight over distinct rows (equal rows count once)
//
// Padding (repeated rows, runs of one character, repeated phrases) adds next to nothing.

import { u8aToHex } from '@polkadot/util';

/** Most weight one row can carry (the primitives' `ROW_WEIGHT_CAP`). */
export const ROW_WEIGHT_CAP = 8192;

const isAsciiWhitespace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0c || b === 0x0d;

/** Distinct 3-byte windows of `row`, capped at {@link ROW_WEIGHT_CAP}. */
export function rowWeight(row: Uint8Array): number {
  const windows = new Set<number>();
  for (let i = 0; i + 2 < row.length; i++) windows.add((row[i] << 16) | (row[i + 1] << 8) | row[i + 2]);
  return Math.min(windows.size, ROW_WEIGHT_CAP);
}

/** The summed {@link rowWeight} of the distinct rows of `bytes`. */
export function measureWeight(bytes: Uint8Array): number {
  const seen = new Set<string>();
  let total = 0;
  let start = 0;
  for (let end = 0; end <= bytes.length; end++) {
    if (end < bytes.length && bytes[end] !== 0x0a) continue;
    let from = start;
    let to = end;
    while (from < to && isAsciiWhitespace(bytes[from])) from++;
    while (to > from && isAsciiWhitespace(bytes[to - 1])) to--;
    start = end + 1;
    if (from === to) continue;
    const row = bytes.subarray(from, to);
    const key = u8aToHex(row);
    if (seen.has(key)) continue;
    seen.add(key);
    total += rowWeight(row);
  }
  return total;
}
