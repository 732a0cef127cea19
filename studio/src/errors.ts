// Every error from the chain, the node's RPC or the worker, in words a person understands. The
// original message stays attached (in parentheses) so a bug report still has it.

/** An error whose message is already meant for a person. */
export class StudioError extends Error {}

/** What the worker's `error.code` means for the person who sent the request. */
const WORKER_CODES: Record<string, string> = {
  authorization_required: 'This operator only answers paid requests: pick an account to pay with.',
  invalid_authorization: 'The payment authorization could not be read by the operator.',
  bad_signature: 'The operator could not verify your signature on the payment authorization.',
  wrong_operator: 'The authorization names another operator than the one answering.',
  wrong_model: 'The authorization names another model than the one asked.',
  expired: 'The authorization expired before the operator received it: send the message again.',
  prompt_mismatch: 'The request changed after it was signed: send the message again.',
  nonce_used: 'This authorization was already used (its nonce is spent): send the message again.',
  insufficient_allowance: 'Your allowance for this operator is too small: add credit for it first.',
  max_fee_too_low: 'The most you allowed this request to cost is below the operator’s price for it.',
  chain_unavailable: 'The operator cannot reach the chain right now, so it cannot take payments.',
  model_not_found: 'The operator does not serve this model (any more): reload the model list.',
  context_length_exceeded: 'The conversation is longer than the model can read: start a new one.',
  too_many_requests: 'The operator is busy: try again in a moment.',
  invalid_json: 'The operator could not read the request.',
  internal_error: 'The operator failed while answering.',
};

/** The JSON error body of the worker's API, in words. */
export function workerError(status: number, body: unknown): StudioError {
  const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
  const known = error?.code ? WORKER_CODES[error.code] : undefined;
  const detail = error?.message ? ` (${error.message})` : '';
  return new StudioError(`${known ?? `The operator refused the request with HTTP ${status}.`}${detail}`);
}

/** A failed `fetch` to the worker (nothing answered). */
export function workerUnreachable(url: string, cause: unknown): StudioError {
  return new StudioError(
    `No worker answers at ${url}: is attribution-worker running with --http on that address? (${messageOf(cause)})`,
  );
}

/** JSON-RPC error codes of the node's content store (`attribution_primitives::content_store::codes`;
 * a test there checks that every one of them is worded here). */
const CONTENT_STORE_CODES: Record<number, string> = {
  7001: 'The file could not be sent to the node (bad encoding).',
  7002: 'The file is larger than the datanet accepts.',
  7003: 'The node does not see the announcement of this file on chain yet: wait a block and retry the upload.',
  7004: 'The file has another size than the one announced on chain.',
  7005: 'The node refused the rows of the file.',
  7006: 'The node does not store this file.',
  7007: 'That datanet version is not published.',
  7008: 'The node could not read the chain to check the file.',
  7009: 'The node could not write the file to its store.',
  7010: 'The upload’s signature is malformed.',
  7011: 'The file was announced by another account: upload it with the account that contributed it.',
  7012: 'The file’s measured weight differs from the weight its contribution declares.',
  7013: 'The node is busy with other uploads: retry in a moment.',
  9001: 'The node could not compute the rewards.',
  9002: 'The node’s payout history store failed.',
  9003: 'Asked for too many history entries at once.',
};

/** An RPC error of the content store or the payout methods, in words. */
export function rpcError(error: unknown): StudioError {
  const message = messageOf(error);
  const code = Number(/^(-?\d+):/.exec(message)?.[1]);
  const known = CONTENT_STORE_CODES[code];
  return new StudioError(known ? `${known} (${message})` : `The node refused the request: ${message}`);
}

/** Transaction pool refusals (before a transaction is in a block). */
export function poolError(error: unknown): StudioError {
  const message = messageOf(error);
  const rules: [RegExp, string][] = [
    [/Inability to pay some fees|balance too low/i, 'The account cannot pay the transaction fee: it has too little OPEN.'],
    [/Priority is too low|already imported|Transaction is (outdated|stale)/i,
      'Another transaction of this account is still pending: wait for it to be included, then try again.'],
    [/bad signature/i, 'The node refused the signature of the transaction.'],
    [/Cancelled|Rejected by user/i, 'The signature was cancelled.'],
    [/disconnected|WebSocket is not connected|Abnormal Closure/i, 'The connection to the node was lost: reconnect on the Connect page.'],
  ];
  for (const [pattern, words] of rules) if (pattern.test(message)) return new StudioError(`${words} (${message})`);
  return new StudioError(`The node refused the transaction: ${message}`);
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}
