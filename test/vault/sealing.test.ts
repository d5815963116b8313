import { createSecretKey, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/ctap/ports.js';
import {
  credentialSecretAad,
  openCredentialSecret,
  sealCredentialSecret,
  SEAL_VERSION,
} from '../../src/vault/sealing.js';

const key = createSecretKey(randomBytes(32));
const id = new Uint8Array([1, 2, 3, 4]);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof StoreError ? error.code : 'other';
  }
  return undefined;
}

describe('sealing', () => {
  it('round-trips with a fresh nonce each time', () => {
    const plain = new Uint8Array(randomBytes(32));
    const a = sealCredentialSecret(key, 'private-key', id, 'example.com', plain);
    const b = sealCredentialSecret(key, 'private-key', id, 'example.com', plain);
    expect(a[0]).toBe(SEAL_VERSION);
    expect(a.length).toBe(1 + 12 + 32 + 16);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(openCredentialSecret(key, 'private-key', id, 'example.com', a)).toStrictEqual(plain);
  });

  it('binds a blob to its purpose, credential id and rpId', () => {
    const blob = sealCredentialSecret(key, 'hmac-uv', id, 'example.com', new Uint8Array(32));
    expect(codeOf(() => openCredentialSecret(key, 'hmac-no-uv', id, 'example.com', blob))).toBe('tampered');
    expect(codeOf(() => openCredentialSecret(key, 'hmac-uv', new Uint8Array([1, 2, 3]), 'example.com', blob))).toBe(
      'tampered',
    );
    expect(codeOf(() => openCredentialSecret(key, 'hmac-uv', id, 'example.org', blob))).toBe('tampered');
    expect(codeOf(() => openCredentialSecret(createSecretKey(randomBytes(32)), 'hmac-uv', id, 'example.com', blob))).toBe(
      'tampered',
    );
  });

  it('encodes bindings unambiguously (length prefixes)', () => {
    // Moving a byte from the id to the rpId must give different associated data.
    const a = credentialSecretAad('private-key', new Uint8Array([0x61, 0x62]), 'c');
    const b = credentialSecretAad('private-key', new Uint8Array([0x61]), 'bc');
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  it('refuses truncated, flipped and unknown-version blobs', () => {
    const blob = sealCredentialSecret(key, 'private-key', id, 'example.com', new Uint8Array(32));
    expect(codeOf(() => openCredentialSecret(key, 'private-key', id, 'example.com', blob.subarray(0, 20)))).toBe('tampered');
    for (const index of [0, 5, 20, blob.length - 1]) {
      const copy = new Uint8Array(blob);
      copy[index]! ^= 0x01;
      expect(codeOf(() => openCredentialSecret(key, 'private-key', id, 'example.com', copy))).toBe('tampered');
    }
  });
});
