// Messages an account signs outside a transaction: a paid request's authorization
// (authorization.ts) and a contribution's upload (pages/datanets.ts). The chain defines each as
// `domain || genesis hash || SCALE(payload)` (pallets/primitives/src/signing.rs). A dev keyring
// account signs those bytes in the page; a browser extension signs them with `signRaw`, which
// wraps them as `<Bytes>…</Bytes>` first (the extensions' guard against signing a transaction
// unknowingly), and the chain, the node and the operators accept either form
// (`verify_bare_or_wrapped`).

import { hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import type { Account, Chain } from './chain';
import { StudioError, messageOf } from './errors';

/** `MultiSignature`'s variant for each key type. */
const SIGNATURE_KIND: Record<string, string> = { sr25519: 'Sr25519', ed25519: 'Ed25519', ecdsa: 'Ecdsa' };

/** The bytes the chain's signatures cover: `domain || genesis hash || SCALE(payload)`. */
export function signingMessage(chain: Chain, domain: Uint8Array, payload: Uint8Array): Uint8Array {
  return u8aConcat(domain, chain.api.genesisHash.toU8a(), payload);
}

/**
 * `account`'s signature of `message` as a SCALE `MultiSignature`; `what` names the message in
 * the words shown when the extension cannot or will not sign it.
 */
export async function signMessage(chain: Chain, account: Account, message: Uint8Array, what: string): Promise<Uint8Array> {
  const kind = SIGNATURE_KIND[account.pair?.type ?? account.type ?? 'sr25519'];
  if (!kind) throw new StudioError(`A ${account.type} account cannot sign ${what}.`);
  let signature: Uint8Array;
  if (account.pair) {
    signature = account.pair.sign(message);
  } else {
    if (!account.signer?.signRaw) throw new StudioError(`This account’s extension cannot sign messages, only transactions, so it cannot sign ${what}.`);
    try {
      const signed = await account.signer.signRaw({ address: account.address, data: u8aToHex(message), type: 'bytes' });
      signature = hexToU8a(signed.signature);
    } catch (error) {
      throw new StudioError(`The extension did not sign ${what} (${messageOf(error)}).`);
    }
  }
  return chain.api.registry.createType('SpRuntimeMultiSignature', { [kind]: signature }).toU8a();
}
