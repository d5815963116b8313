/**
 * Letting the user choose when Windows sends several of our credentials, rather than guessing.
 *
 * Windows' own passkey list (built from the credential cache) usually settles the choice: when the
 * user picks one of Latchkey's passkeys there, the allowList names exactly that credential, and it
 * is used without asking again. Two requests can still match several: an allowList naming several
 * of ours (a relying party listing all of a user's credentials), and a discoverable request
 * (empty allowList) for a site where the vault holds several accounts. For those, the host asks a
 * {@link CredentialChooser} (the app supplies one: a Windows dialog owned by the caller's window)
 * and narrows the request to the chosen credential before the core runs. The core then signs with
 * exactly that one and never sees the others.
 *
 * The candidates are the credentials the core itself would consider (bound to the rpId, public-key
 * type, allowed by credProtect given whether UV was asked for), so the chooser never offers one
 * that would then fail.
 * @module
 */
import { decodeStrict, encodeCanonical, type CborMap, type CborValue } from '../../cbor/index.js';
import { MAX_CREDENTIAL_ID_LENGTH } from '../../ctap/config.js';
import { credProtectAllows } from '../../ctap/extensions/credProtect.js';
import type { CredentialRecord, CredentialStore, UserRefusal } from '../../ctap/ports.js';
import { requestMap } from '../../ctap/wire/fields.js';
import { GetAssertionKey, parseGetAssertionRequest } from '../../ctap/wire/getAssertion.js';
import type { Guid } from './native.js';

/** What the chooser shows for one credential. No secrets, and the id only for the answer. */
export interface CredentialCandidate {
  readonly credentialId: Uint8Array;
  readonly userName?: string | undefined;
  readonly userDisplayName?: string | undefined;
  readonly createdAt: number;
  readonly lastUsedAt?: number | undefined;
}

export interface ChoiceRequest {
  /** The caller's top-level window, to own the dialog. */
  readonly hwnd: bigint;
  readonly transactionId: Guid;
  readonly rpId: string;
  /** At least two. */
  readonly candidates: readonly CredentialCandidate[];
}

export type ChoiceVerdict =
  | { readonly ok: true; readonly index: number }
  | { readonly ok: false; readonly refusal: UserRefusal };

/** Asks the user which credential to use. Supplied by the app (see src/app/windowsChooser.ts). */
export interface CredentialChooser {
  choose(request: ChoiceRequest, signal: AbortSignal): Promise<ChoiceVerdict>;
}

/** The outcome of looking at a getAssertion request before the core runs. */
export type AssertionChoice =
  /** Pass the request to the core unchanged (zero or one candidate, or it does not parse: the core answers that). */
  | { readonly kind: 'unchanged' }
  /** Several candidates: ask, then {@link narrowToCredential}. */
  | { readonly kind: 'ask'; readonly rpId: string; readonly candidates: readonly CredentialRecord[]; readonly params: CborMap };

/** Find the credentials the core would consider for this getAssertion request. */
export function assertionCandidates(store: CredentialStore, params: Uint8Array): AssertionChoice {
  let map: CborMap;
  let request;
  try {
    map = requestMap(decodeStrict(params));
    request = parseGetAssertionRequest(map);
  } catch {
    return { kind: 'unchanged' };
  }
  const uv = request.options.uv === true;
  const candidates: CredentialRecord[] = [];
  const seen = new Set<string>();
  if (request.allowList !== undefined && request.allowList.length > 0) {
    for (const descriptor of request.allowList) {
      if (descriptor.type !== 'public-key' || descriptor.id.length > MAX_CREDENTIAL_ID_LENGTH) continue;
      const key = Buffer.from(descriptor.id).toString('hex');
      if (seen.has(key)) continue;
      seen.add(key);
      const record = store.findById(request.rpId, descriptor.id);
      if (record !== undefined && record.rpId === request.rpId && credProtectAllows(record.credProtect, uv, true)) {
        candidates.push(record);
      }
    }
  } else {
    for (const record of store.findDiscoverable(request.rpId)) {
      if (record.rpId === request.rpId && credProtectAllows(record.credProtect, uv, false)) candidates.push(record);
    }
  }
  return candidates.length < 2 ? { kind: 'unchanged' } : { kind: 'ask', rpId: request.rpId, candidates, params: map };
}

/**
 * The request with its allowList replaced by the one chosen credential, canonically encoded. A
 * discoverable request becomes an allowList request for the chosen (discoverable) credential: the
 * core answers it with the user entity, as it would have for that credential alone.
 */
export function narrowToCredential(params: CborMap, credentialId: Uint8Array): Uint8Array {
  const narrowed = new Map<CborValue, CborValue>(params);
  narrowed.set(GetAssertionKey.AllowList, [new Map<CborValue, CborValue>([['id', credentialId.slice()], ['type', 'public-key']])]);
  return encodeCanonical(narrowed);
}

export function toCandidate(record: CredentialRecord): CredentialCandidate {
  return {
    credentialId: record.id,
    userName: record.userName,
    userDisplayName: record.userDisplayName,
    createdAt: record.createdAt,
    lastUsedAt: record.lastUsedAt,
  };
}

/** A chooser for when no dialog is available: it refuses, so nothing is guessed. */
export const noChooser: CredentialChooser = {
  async choose() {
    return { ok: false, refusal: 'unavailable' };
  },
};
