// The worker's HTTP API (worker/src/serve, worker/src/daemon/status.rs): health, the training
// status, the models it serves and OpenAI-compatible chat completions, streamed as server-sent
// events. CORS is open on the worker, so the studio calls it from any origin.

import { StudioError, workerError, workerUnreachable } from './errors';
import { session } from './session';

/** `GET /status`. */
export interface WorkerStatus {
  operator: string;
  node: string;
  connected: boolean;
  finalized_block: number | null;
  phase: string;
  job: number | null;
  step: number;
  steps: number;
  loss: number | null;
  tokens_per_second: number | null;
  eta_seconds: number | null;
  challenge_end: number | null;
  last_proof: {
    job: number;
    adapter_hash: string;
    proof_hash: string;
    base_loss: number;
    adapted_loss: number;
    base_rouge_l: number;
    adapted_rouge_l: number;
    block: number;
  } | null;
  earned: string;
  jobs_settled: number;
  last_error: string | null;
  serving?: Record<string, unknown> | null;
}

/** One entry of `GET /v1/models`. */
export interface ModelCard {
  id: string;
  owned_by: string;
  parent?: string;
  price_per_token?: string;
  chain_model?: number;
}

/** One source of an answer's `attribution` (worker/src/serve/api/grounding.rs). */
export interface AttributionSource {
  contribution: number;
  rows: number[];
  weight: number | null;
  weight_ppm: number;
  supports: { text: string; weight: number }[];
}

/** A run of the answer repeated verbatim from training rows (span provenance). */
export interface VerbatimSpan {
  /** Character range in the answer. */
  chars: [number, number];
  text: string;
  rows: { contribution: number; row: number }[];
}

/** A contribution's weight in parts per million. */
export interface AttributionEntry {
  contribution: number;
  weight_ppm: number;
}

export interface AnswerAttribution {
  method: string;
  ablations: number;
  pool: { datanet: number; version: number };
  /** What the record pays: ContextCite's, the spans' and influence's entries combined. */
  entries: AttributionEntry[];
  pool_ppm: number;
  sources: AttributionSource[];
  /** Absent from workers that predate span provenance. */
  spans?: { covered_tokens: number; budget_ppm: number; spans: VerbatimSpan[] };
  /**
   * The training rows that raised the answer's likelihood under the adapter; present once the
   * adapter's influence index is built.
   */
  influence?: { entries: AttributionEntry[]; rows: { contribution: number; row: number; score: number }[] };
}

export interface Receipt {
  record: number;
  nonce: number;
  fee: string;
  output_hash: string;
  operator: string;
}

export interface Answer {
  text: string;
  attribution?: AnswerAttribution;
  receipt?: Receipt;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

function url(path: string): string {
  return `${session.workerUrl.replace(/\/$/, '')}${path}`;
}

async function call(path: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url(path), init);
  } catch (error) {
    throw workerUnreachable(session.workerUrl, error);
  }
}

async function getJson<T>(path: string): Promise<T> {
  const response = await call(path);
  const body = await response.json().catch(() => null);
  if (!response.ok) throw workerError(response.status, body);
  return body as T;
}

export const health = () => getJson<Record<string, unknown>>('/health');
export const status = () => getJson<WorkerStatus>('/status');
export const models = async () => (await getJson<{ data: ModelCard[] }>('/v1/models')).data;

/**
 * `POST /v1/chat/completions` with `stream: true` already in `body` (the exact bytes the
 * authorization hashes); calls `onText` with each piece of the answer as it arrives.
 */
export async function chat(body: Uint8Array, authorization: string | null, onText: (text: string) => void): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization) headers['X-Attribution-Authorization'] = authorization;
  const response = await call('/v1/chat/completions', { method: 'POST', headers, body: body as BodyInit });
  if (!response.ok) throw workerError(response.status, await response.json().catch(() => null));
  if (!response.body) throw new StudioError('The operator sent no answer.');
  const answer: Answer = { text: '' };
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (!data || data === '[DONE]') continue;
      const chunk = JSON.parse(data);
      if (chunk.error) throw workerError(500, chunk);
      const piece: string | undefined = chunk.choices?.[0]?.delta?.content;
      if (piece) {
        answer.text += piece;
        onText(piece);
      }
      if (chunk.attribution) answer.attribution = chunk.attribution;
      if (chunk.receipt) answer.receipt = chunk.receipt;
      if (chunk.usage) answer.usage = chunk.usage;
    }
  }
  return answer;
}
