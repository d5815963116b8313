/**
 * Sealing of secrets at rest: AES-256-GCM under the vault key, one random 96-bit nonce per blob.
 *
 * Blob layout: `version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`.
 * The associated data binds a blob to what it is for: the version byte, a purpose label, and for
 * credential secrets the credential id and rpId, each length-prefixed (u32 big-endian) so no two
 * different bindings encode alike. A blob copied to another row or column fails to open.
 * @module
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { StoreError } from '../ctap/ports.js';

export const SEAL_VERSION = 1;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const HEADER_LENGTH = 1 + NONCE_LENGTH;
/** Length of the vault key and of every key-encryption key. */
export const VAULT_KEY_LENGTH = 32;

const DOMAIN = Buffer.from('latchkey/seal', 'utf8');

/** What a credential blob holds. New purposes may be added; existing labels never change. */
export type SecretPurpose = 'private-key' | 'hmac-uv' | 'hmac-no-uv' | 'large-blob-key';

/** Turn 32 raw key bytes into a KeyObject (kept outside the JS heap) and wipe the input. */
export function importVaultKey(raw: Uint8Array): KeyObject {
  if (raw.length !== VAULT_KEY_LENGTH) {
    throw new StoreError('corrupt', `vault key has ${raw.length} bytes, expected ${VAULT_KEY_LENGTH}`);
  }
  try {
    return createSecretKey(raw);
  } finally {
    raw.fill(0);
  }
}

/** A fresh random vault key or key-encryption key. */
export function generateKey(): Uint8Array {
  return new Uint8Array(randomBytes(VAULT_KEY_LENGTH));
}

function lengthPrefixed(parts: readonly Uint8Array[]): Buffer {
  let total = 1 + DOMAIN.length;
  for (const part of parts) total += 4 + part.length;
  const out = Buffer.allocUnsafe(total);
  out[0] = SEAL_VERSION;
  let offset = 1 + DOMAIN.copy(out, 1);
  for (const part of parts) {
    out.writeUInt32BE(part.length, offset);
    offset += 4;
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

/** Associated data of a credential secret. */
export function credentialSecretAad(purpose: SecretPurpose, credentialId: Uint8Array, rpId: string): Uint8Array {
  return lengthPrefixed([utf8(purpose), credentialId, utf8(rpId)]);
}

/** Associated data of the vault key wrapped by a key protector. */
export function vaultKeyAad(protectorKind: string, vaultId: string): Uint8Array {
  return lengthPrefixed([utf8('vault-key'), utf8(protectorKind), utf8(vaultId)]);
}

/** Encrypt `plaintext` under `key`, bound to `aad`. Does not wipe `plaintext` (the caller owns it). */
export function sealBytes(key: KeyObject, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const last = cipher.final();
  const tag = cipher.getAuthTag();
  const out = new Uint8Array(HEADER_LENGTH + body.length + last.length + TAG_LENGTH);
  out[0] = SEAL_VERSION;
  out.set(nonce, 1);
  out.set(body, HEADER_LENGTH);
  out.set(last, HEADER_LENGTH + body.length);
  out.set(tag, HEADER_LENGTH + body.length + last.length);
  return out;
}

/**
 * Decrypt a blob made by {@link sealBytes} with the same key and `aad`. Returns a fresh plain
 * Uint8Array the caller must wipe. Fails with StoreError('tampered') naming `what`, never the bytes.
 */
export function openBytes(key: KeyObject, blob: Uint8Array, aad: Uint8Array, what: string): Uint8Array {
  if (blob.length < HEADER_LENGTH + TAG_LENGTH || blob[0] !== SEAL_VERSION) {
    throw new StoreError('tampered', `${what}: sealed blob is malformed or of an unknown version`);
  }
  const nonce = blob.subarray(1, HEADER_LENGTH);
  const body = blob.subarray(HEADER_LENGTH, blob.length - TAG_LENGTH);
  const tag = blob.subarray(blob.length - TAG_LENGTH);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const plain = decipher.update(body);
  try {
    decipher.final();
  } catch (cause) {
    plain.fill(0);
    throw new StoreError('tampered', `${what}: sealed blob failed authentication (modified, or moved from elsewhere)`, {
      cause,
    });
  }
  const out = new Uint8Array(plain);
  plain.fill(0);
  return out;
}

/** Seal one secret of a credential. */
export function sealCredentialSecret(
  key: KeyObject,
  purpose: SecretPurpose,
  credentialId: Uint8Array,
  rpId: string,
  plaintext: Uint8Array,
): Uint8Array {
  return sealBytes(key, plaintext, credentialSecretAad(purpose, credentialId, rpId));
}

/** Open one secret of a credential; StoreError('tampered') if it is not this credential's `purpose` blob. */
export function openCredentialSecret(
  key: KeyObject,
  purpose: SecretPurpose,
  credentialId: Uint8Array,
  rpId: string,
  blob: Uint8Array,
): Uint8Array {
  return openBytes(key, blob, credentialSecretAad(purpose, credentialId, rpId), `${purpose} of a credential of ${rpId}`);
}
