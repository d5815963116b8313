/**
 * Authenticator data (WebAuthn §6.1): rpIdHash ‖ flags ‖ signCount ‖ [attested credential data] ‖ [extensions].
 * @module
 */
import { encodeCanonical, type CborMap } from '../cbor/index.js';
import { concatBytes, uint32BE } from '../crypto/bytes.js';

export const Flag = {
  UP: 0x01,
  UV: 0x04,
  BE: 0x08,
  BS: 0x10,
  AT: 0x40,
  ED: 0x80,
} as const;

export interface AuthDataInput {
  readonly rpIdHash: Uint8Array;
  readonly userPresent: boolean;
  readonly userVerified: boolean;
  readonly backupEligible: boolean;
  readonly backupState: boolean;
  readonly signCount: number;
  readonly attestedCredential?: {
    readonly aaguid: Uint8Array;
    readonly credentialId: Uint8Array;
    readonly coseKey: Uint8Array;
  } | undefined;
  /** Extension outputs; omitted (and ED clear) when undefined or empty. */
  readonly extensions?: CborMap | undefined;
}

export function encodeAuthData(input: AuthDataInput): Uint8Array {
  if (input.rpIdHash.length !== 32) throw new Error('rpIdHash must be 32 bytes');
  const hasExtensions = input.extensions !== undefined && input.extensions.size > 0;
  let flags = 0;
  if (input.userPresent) flags |= Flag.UP;
  if (input.userVerified) flags |= Flag.UV;
  if (input.backupEligible) flags |= Flag.BE;
  // BS without BE is invalid (WebAuthn §6.1.3); the store never records it, and we never emit it.
  if (input.backupEligible && input.backupState) flags |= Flag.BS;
  if (input.attestedCredential !== undefined) flags |= Flag.AT;
  if (hasExtensions) flags |= Flag.ED;

  const parts: Uint8Array[] = [input.rpIdHash, Uint8Array.of(flags), uint32BE(input.signCount)];
  const attested = input.attestedCredential;
  if (attested !== undefined) {
    const idLength = attested.credentialId.length;
    parts.push(attested.aaguid, Uint8Array.of(idLength >> 8, idLength & 0xff), attested.credentialId, attested.coseKey);
  }
  if (hasExtensions) parts.push(encodeCanonical(input.extensions as CborMap));
  return concatBytes(...parts);
}
