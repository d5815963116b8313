/**
 * SHA-256, the one hash WebAuthn and CTAP2 use for rpIdHash and client data.
 * @module
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}
