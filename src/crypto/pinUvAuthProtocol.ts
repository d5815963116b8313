/**
 * PIN/UV auth protocols one and two (CTAP 2.2 §6.5.6 and §6.5.7): the key derivation from the
 * ECDH result Z, and the encrypt / decrypt / authenticate / verify operations on a shared secret.
 * Pure functions over bytes; the caller supplies IVs (protocol two) from its Random port.
 * @module
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes, utf8 } from './bytes.js';
import { hmacSha256, sha256 } from './hash.js';

const AES_BLOCK = 16;

type Cbc = (typeof import('@noble/ciphers/aes.js'))['cbc'];
let cbcMode: Cbc | undefined;

/**
 * Loads AES (first use only: importing it costs a cold start ~20 ms, and only clientPIN and
 * hmac-secret need it). Must have resolved before encrypt/decrypt run; the core awaits it there.
 */
export async function loadPinUvAuthCiphers(): Promise<void> {
  cbcMode ??= (await import('@noble/ciphers/aes.js')).cbc;
}

function cbc(key: Uint8Array, iv: Uint8Array, options: { disablePadding: boolean }) {
  if (cbcMode === undefined) throw new Error('AES used before loadPinUvAuthCiphers() resolved');
  return cbcMode(key, iv, options);
}

export interface PinUvAuthProtocol {
  readonly version: 1 | 2;
  /** Length of what `authenticate` produces (16 for one, 32 for two). */
  readonly macLength: number;
  /** The shared secret from Z: 32 bytes (one) or HMAC key ‖ AES key, 64 bytes (two). */
  kdf(z: Uint8Array): Uint8Array;
  /** AES-256-CBC without padding; `plaintext` must be a whole number of blocks. */
  encrypt(sharedSecret: Uint8Array, plaintext: Uint8Array, randomBytes: (length: number) => Uint8Array): Uint8Array;
  /** Inverse of encrypt; throws when the ciphertext is not a whole number of blocks (after the IV). */
  decrypt(sharedSecret: Uint8Array, ciphertext: Uint8Array): Uint8Array;
  /** The MAC of `message` under the key (a shared secret or a pinUvAuthToken). */
  authenticate(key: Uint8Array, message: Uint8Array): Uint8Array;
  /** Constant-time check of `signature` against authenticate(key, message); false on a wrong length. */
  verify(key: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

function requireBlocks(data: Uint8Array): void {
  if (data.length % AES_BLOCK !== 0) throw new RangeError('AES-CBC data must be a whole number of 16-byte blocks');
}

function aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Uint8Array {
  requireBlocks(plaintext);
  return cbc(key, iv, { disablePadding: true }).encrypt(plaintext);
}

function aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  requireBlocks(ciphertext);
  return cbc(key, iv, { disablePadding: true }).decrypt(ciphertext);
}

function verifyWith(protocol: PinUvAuthProtocol, key: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== protocol.macLength) return false;
  const expected = protocol.authenticate(key, message);
  try {
    return equalBytes(expected, signature);
  } finally {
    expected.fill(0);
  }
}

const ZERO_IV = new Uint8Array(AES_BLOCK);

/** Protocol one: SHA-256(Z); AES-256-CBC with an all-zero IV; HMAC-SHA-256 truncated to 16 bytes. */
export const PIN_UV_AUTH_PROTOCOL_ONE: PinUvAuthProtocol = {
  version: 1,
  macLength: 16,
  kdf: (z) => sha256(z),
  encrypt: (sharedSecret, plaintext) => aesCbcEncrypt(sharedSecret, ZERO_IV, plaintext),
  decrypt: (sharedSecret, ciphertext) => aesCbcDecrypt(sharedSecret, ZERO_IV, ciphertext),
  authenticate(key, message) {
    const mac = hmacSha256(key, message);
    try {
      return mac.slice(0, 16);
    } finally {
      mac.fill(0);
    }
  },
  verify(key, message, signature) {
    return verifyWith(PIN_UV_AUTH_PROTOCOL_ONE, key, message, signature);
  },
};

const HKDF_SALT = new Uint8Array(32);
const HMAC_KEY_INFO = utf8('CTAP2 HMAC key');
const AES_KEY_INFO = utf8('CTAP2 AES key');

/**
 * Protocol two: HKDF-SHA-256 (salt 32 zero bytes) into an HMAC key ("CTAP2 HMAC key") and an
 * AES key ("CTAP2 AES key"); AES-256-CBC with a random IV sent before the ciphertext; the full
 * 32-byte HMAC-SHA-256. Keys of 64 bytes are shared secrets (HMAC key first); a 32-byte key given
 * to authenticate/verify is a pinUvAuthToken and is used whole.
 */
export const PIN_UV_AUTH_PROTOCOL_TWO: PinUvAuthProtocol = {
  version: 2,
  macLength: 32,
  kdf: (z) =>
    concatBytes(hkdf(nobleSha256, z, HKDF_SALT, HMAC_KEY_INFO, 32), hkdf(nobleSha256, z, HKDF_SALT, AES_KEY_INFO, 32)),
  encrypt(sharedSecret, plaintext, randomBytes) {
    const iv = randomBytes(AES_BLOCK);
    if (iv.length !== AES_BLOCK) throw new RangeError('the IV must be 16 bytes');
    return concatBytes(iv, aesCbcEncrypt(aesKeyOf(sharedSecret), iv, plaintext));
  },
  decrypt(sharedSecret, ciphertext) {
    if (ciphertext.length < AES_BLOCK) throw new RangeError('the ciphertext has no IV');
    return aesCbcDecrypt(aesKeyOf(sharedSecret), ciphertext.subarray(0, AES_BLOCK), ciphertext.subarray(AES_BLOCK));
  },
  authenticate: (key, message) => hmacSha256(key.length === 64 ? key.subarray(0, 32) : key, message),
  verify(key, message, signature) {
    return verifyWith(PIN_UV_AUTH_PROTOCOL_TWO, key, message, signature);
  },
};

function aesKeyOf(sharedSecret: Uint8Array): Uint8Array {
  if (sharedSecret.length !== 64) throw new RangeError('a protocol two shared secret is 64 bytes');
  return sharedSecret.subarray(32, 64);
}

/** The protocol with this version number, or undefined. */
export function pinUvAuthProtocol(version: number): PinUvAuthProtocol | undefined {
  if (version === 1) return PIN_UV_AUTH_PROTOCOL_ONE;
  if (version === 2) return PIN_UV_AUTH_PROTOCOL_TWO;
  return undefined;
}
