/**
 * SHA-256, the one hash WebAuthn and CTAP2 use for rpIdHash and client data, and HMAC-SHA-256
 * (hmac-secret outputs, PIN/UV auth protocol MACs).
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(nobleSha256, key, message);
}
