/**
 * Authenticator data (WebAuthn §6.1): rpIdHash ‖ flags ‖ signCount ‖ [attested credential data] ‖ [extensions].
 * @module
 */
import { encodeCanonical, type CborMap } from '../cbor/index.js';
import { uint32BE, utf8 } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';

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

/** rpId hashes of the last few rpIds (an authenticator serves a handful of sites at a time). */
const rpIdHashes = new Map<string, Uint8Array>();
const RP_ID_HASH_CACHE_SIZE = 64;

/** SHA-256 of the rpId's UTF-8 bytes, remembered for recent rpIds; a fresh copy the caller may keep. */
export function rpIdHash(rpId: string): Uint8Array {
  let hash = rpIdHashes.get(rpId);
  if (hash === undefined) {
    hash = sha256(utf8(rpId));
    if (rpIdHashes.size >= RP_ID_HASH_CACHE_SIZE) rpIdHashes.delete(rpIdHashes.keys().next().value as string);
    rpIdHashes.set(rpId, hash);
  }
  return hash.slice();
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

  // rpIdHash (32) ‖ flags (1) ‖ signCount (4, big-endian) ‖ [aaguid ‖ idLength (2) ‖ id ‖ coseKey] ‖ [extensions]
  const attested = input.attestedCredential;
  const extensions = hasExtensions ? encodeCanonical(input.extensions as CborMap) : undefined;
  let length = 37;
  if (attested !== undefined) length += attested.aaguid.length + 2 + attested.credentialId.length + attested.coseKey.length;
  if (extensions !== undefined) length += extensions.length;
  const out = new Uint8Array(length);
  out.set(input.rpIdHash, 0);
  out[32] = flags;
  out.set(uint32BE(input.signCount), 33);
  let offset = 37;
  if (attested !== undefined) {
    const idLength = attested.credentialId.length;
    out.set(attested.aaguid, offset);
    offset += attested.aaguid.length;
    out[offset++] = idLength >> 8;
    out[offset++] = idLength & 0xff;
    out.set(attested.credentialId, offset);
    offset += idLength;
    out.set(attested.coseKey, offset);
    offset += attested.coseKey.length;
  }
  if (extensions !== undefined) out.set(extensions, offset);
  return out;
}
