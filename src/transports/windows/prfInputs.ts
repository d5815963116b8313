/**
 * PRF / hmac-secret inputs in the requests Windows sends, read defensively.
 *
 * What Windows puts there is not documented for plugins: its decoded request structures carry
 * `hmac-secret` flags and a `pbHmacSecretSaltValues` buffer of unknown byte format, and the raw CBOR
 * may carry CTAP's `hmac-secret` map, whose salts are encrypted to a PIN/UV-protocol shared secret.
 * Windows has no clientPIN path to a plugin, so no shared secret with Latchkey can exist and such
 * an input can never be opened here. Every form is therefore classified, logged, and:
 *
 * - makeCredential `hmac-secret: true` is passed to the core (a credential made with it has its
 *   PRF secrets from the start, ready for when the assertion form is known);
 * - every other PRF/hmac-secret input is removed before the core sees it, so the request succeeds
 *   without the extension output instead of failing on an input the core cannot open.
 *
 * The core's CTAP hmac-secret (src/ctap/extensions/hmacSecret.ts) needs a clientPIN key agreement
 * with the platform, which Windows cannot perform with a plugin, so leaving an `encrypted-salts`
 * input in place would fail the whole request.
 *
 * THE SEAM: the core's PRF itself has landed (src/ctap/extensions/prf.ts, `evaluatePrf` over the
 * credential's CredRandoms). What is missing is Windows' side: whether it sends WebAuthn PRF inputs
 * (to be hashed with `webAuthnPrfSalt`) or salts, in which field, and where it expects the outputs
 * (the getAssertion response's unsigned extension outputs, key 8, is the likely place). Once known,
 * keep a `clear-salts` input here (instead of removing it), evaluate it for the credential that
 * signed (the store's `openSecrets` + `evaluatePrf`, with the UV flag of the assertion), and add
 * the outputs to the response map in pluginHost.ts.
 * @module
 */
import type { CborMap, CborValue } from '../../cbor/index.js';

export const HMAC_SECRET = 'hmac-secret';
export const HMAC_SECRET_MC = 'hmac-secret-mc';
export const PRF = 'prf';

export type PrfInput =
  | { readonly kind: 'create' }
  /** CTAP's form: salts encrypted to a PIN/UV-protocol shared secret (keys 1–4). */
  | { readonly kind: 'encrypted-salts' }
  /** Two clear 32-byte salts (a form a future Windows may use); the outputs need the core's PRF. */
  | { readonly kind: 'clear-salts'; readonly first: Uint8Array; readonly second?: Uint8Array | undefined }
  | { readonly kind: 'unknown' };

function isMap(value: CborValue | undefined): value is CborMap {
  return value instanceof Map;
}

function salt(value: CborValue | undefined): Uint8Array | undefined {
  return value instanceof Uint8Array && value.length === 32 ? value : undefined;
}

/** Classify one extension input. Never throws, whatever the value. */
export function classifyPrfInput(name: string, value: CborValue | undefined, command: 'makeCredential' | 'getAssertion'): PrfInput {
  if (name === HMAC_SECRET && command === 'makeCredential' && value === true) return { kind: 'create' };
  if (name === PRF && command === 'makeCredential' && (value === true || (isMap(value) && value.size === 0))) return { kind: 'create' };
  if (isMap(value)) {
    // CTAP hmac-secret / hmac-secret-mc: {1: keyAgreement, 2: saltEnc, 3: saltAuth, 4?: protocol}
    if (isMap(value.get(1)) && value.get(2) instanceof Uint8Array && value.get(3) instanceof Uint8Array) {
      return { kind: 'encrypted-salts' };
    }
    // WebAuthn-shaped: {eval: {first, second?}}, or bare {first, second?}
    const evaluation = isMap(value.get('eval')) ? (value.get('eval') as CborMap) : value;
    const first = salt(evaluation.get('first'));
    if (first !== undefined) {
      const secondRaw = evaluation.get('second');
      const second = salt(secondRaw);
      if (secondRaw === undefined || second !== undefined) return { kind: 'clear-salts', first, second };
    }
  }
  return { kind: 'unknown' };
}

export interface PrfPlan {
  /** Extension names to remove before the core runs. */
  readonly remove: readonly string[];
  /** One line per input seen, for the log (no salt bytes). */
  readonly notes: readonly string[];
}

/** Decide what happens to each PRF/hmac-secret input of a request's extensions map. */
export function planPrf(extensions: CborMap | undefined, command: 'makeCredential' | 'getAssertion'): PrfPlan {
  const remove: string[] = [];
  const notes: string[] = [];
  if (extensions === undefined) return { remove, notes };
  for (const name of [HMAC_SECRET, HMAC_SECRET_MC, PRF]) {
    if (!extensions.has(name)) continue;
    const input = classifyPrfInput(name, extensions.get(name), command);
    if (input.kind === 'create' && name === HMAC_SECRET) {
      notes.push(`${command}: ${name} requested at creation: passed to the core`);
      continue;
    }
    remove.push(name);
    notes.push(`${command}: ${name} input (${input.kind}) answered without extension output (format not usable by this plugin yet)`);
  }
  return { remove, notes };
}
