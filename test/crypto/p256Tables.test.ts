/**
 * The P-256 base-point table policy (src/crypto/p256.ts): the first secret k⋅G runs table-less, the
 * table is built once the process is idle or at the latest on the second use, and both paths give
 * the same keys and the same (deterministic, RFC 6979) signatures, which an independent verifier
 * (OpenSSL through node:crypto) accepts.
 */
import { createPublicKey, verify } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

type P256Module = typeof import('../../src/crypto/p256.js');

/** A fresh copy of the module: its table state starts over. */
async function freshP256(): Promise<P256Module> {
  vi.resetModules();
  return import('../../src/crypto/p256.js');
}

const privateKey = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const message = new TextEncoder().encode('authenticatorData ‖ clientDataHash');

function opensslVerifies(publicKey: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: Buffer.from(publicKey.subarray(1, 33)).toString('base64url'), y: Buffer.from(publicKey.subarray(33)).toString('base64url') },
    format: 'jwk',
  });
  return verify('sha256', message, key, signature);
}

describe('the P-256 base-point table', () => {
  beforeEach(() => {
    vi.useRealTimers();
  });

  it('is not built by loading the module or by the first signature, and is built once the process is idle', async () => {
    const p256 = await freshP256();
    expect(p256.baseTableBuilt()).toBe(false);
    const signature = p256.signP256(message, privateKey);
    expect(p256.baseTableBuilt()).toBe(false);
    expect(opensslVerifies(p256.p256.getPublicKey(privateKey, false), signature)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(p256.baseTableBuilt()).toBe(true);
  });

  it('is built by the second secret multiplication at the latest, even with no idle moment between them', async () => {
    const p256 = await freshP256();
    p256.p256PublicKey(privateKey);
    expect(p256.baseTableBuilt()).toBe(false);
    p256.signP256(message, privateKey);
    expect(p256.baseTableBuilt()).toBe(true);
  });

  it('gives the same public key and the same signature without the table as with it', async () => {
    const p256 = await freshP256();
    const keyWithout = p256.p256PublicKey(privateKey);
    const signatureWithout = p256.signP256(message, privateKey); // the second use builds the table first
    expect(p256.baseTableBuilt()).toBe(true);
    const fresh = await freshP256();
    const signatureFirst = fresh.signP256(message, privateKey); // table-less
    expect(fresh.baseTableBuilt()).toBe(false);
    expect(Buffer.from(signatureFirst).toString('hex')).toBe(Buffer.from(signatureWithout).toString('hex'));
    fresh.buildBaseTable();
    expect(Buffer.from(fresh.p256PublicKey(privateKey)).toString('hex')).toBe(Buffer.from(keyWithout).toString('hex'));
    expect(Buffer.from(fresh.signP256(message, privateKey)).toString('hex')).toBe(Buffer.from(signatureFirst).toString('hex'));
    expect(opensslVerifies(keyWithout, signatureFirst)).toBe(true);
    // DER with low S, as WebAuthn verifiers expect.
    expect(signatureFirst[0]).toBe(0x30);
  });
});
