// A paid chat request's `X-Attribution-Authorization` header, as `attribution-worker chat`
// (worker/src/chat.rs) builds it: SCALE `(InferenceAuthorization, MultiSignature)` in hex, the
// signature over `domain || genesis hash || SCALE(authorization)`
// (pallets/primitives/src/signing.rs), signed by a dev key in the page or by the extension's
// `signRaw` (signing.ts).

import { stringToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import type { Account, Chain } from './chain';
import { signMessage, signingMessage } from './signing';

export const INFERENCE_AUTHORIZATION_DOMAIN = stringToU8a('attribution-chain/inference-authorization/v1');

/** Blocks an authorization stays valid past the finalized block (the worker's margin × 10). */
const EXPIRY_BLOCKS = 200;

export interface Authorize {
  account: Account;
  operator: string;
  model: number;
  body: Uint8Array;
  maxFee: bigint;
}

/** The next nonce for (user, operator): above the chain's highest and above the last one used here. */
export async function nextNonce(chain: Chain, user: string, operator: string): Promise<bigint> {
  const window = await chain.api.call.attributionApi.nonceWindow(user, operator);
  const json = window.toJSON() as { highest: number | string } | null;
  const onChain = json ? BigInt(json.highest) : null;
  const key = `studio.nonce.${chain.api.genesisHash.toHex()}.${user}.${operator}`;
  const stored = localStorage.getItem(key);
  const local = stored === null ? null : BigInt(stored);
  const highest = onChain === null ? local : local === null ? onChain : onChain > local ? onChain : local;
  const nonce = highest === null ? 0n : highest + 1n;
  localStorage.setItem(key, nonce.toString());
  return nonce;
}

/** Signs an authorization for exactly `body` and returns the header value and the nonce. */
export async function authorize(chain: Chain, request: Authorize): Promise<{ header: string; nonce: bigint }> {
  const { api } = chain;
  const user = request.account.address;
  const nonce = await nextNonce(chain, user, request.operator);
  const finalized = await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead());
  const authorization = api.registry.createType('AttributionPrimitivesAttributionInferenceAuthorization', {
    user,
    operator: request.operator,
    model: request.model,
    promptHash: blake2AsU8a(request.body, 256),
    maxFee: request.maxFee,
    nonce,
    expiry: finalized.number.toNumber() + EXPIRY_BLOCKS,
  });
  const message = signingMessage(chain, INFERENCE_AUTHORIZATION_DOMAIN, authorization.toU8a());
  const signature = await signMessage(chain, request.account, message, 'payments');
  return { header: u8aToHex(u8aConcat(authorization.toU8a(), signature)), nonce };
}
