// The row check of text datanets, as the node's content store applies it
// (node/content-store/src/jsonl.rs): every non-blank line is a JSON object with string `prompt`
// and `completion`, or string `text` alone. The studio checks a file before announcing it, so a
// bad row costs no bond; the node checks again on upload and its verdict is the one that counts.

export interface RowError {
  line: number;
  reason: string;
}

/** The number of rows, or the errors by line (at most `max`). */
export function checkRows(bytes: Uint8Array, max = 20): { rows: number; errors: RowError[] } {
  const errors: RowError[] = [];
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { rows: 0, errors: [{ line: 1, reason: 'not UTF-8 text' }] };
  }
  let rows = 0;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length && errors.length < max; index++) {
    const line = lines[index].replace(/\r$/, '');
    if (line.trim() === '') continue;
    const reason = checkRow(line);
    if (reason) errors.push({ line: index + 1, reason });
    else rows++;
  }
  if (rows === 0 && errors.length === 0) errors.push({ line: 0, reason: 'no rows' });
  return { rows, errors };
}

function checkRow(line: string): string | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return `not JSON: ${(error as Error).message}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const row = value as Record<string, unknown>;
  const kind = (name: string) => (name in row ? typeof row[name] === 'string' : undefined);
  const [prompt, completion, text] = [kind('prompt'), kind('completion'), kind('text')];
  if (prompt && completion && text === undefined) return null;
  if (prompt === undefined && completion === undefined && text) return null;
  if (text !== undefined && (prompt !== undefined || completion !== undefined)) {
    return '`text` cannot be combined with `prompt` or `completion`';
  }
  if (prompt !== undefined || completion !== undefined) return 'needs string `prompt` and `completion`';
  if (text === false) return '`text` must be a string';
  return 'needs string `prompt` and `completion`, or string `text`';
}
