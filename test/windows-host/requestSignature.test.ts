import { constants, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CngKeyError, parseCngPublicKey } from '../../src/transports/windows/cngPublicKey.js';
import { verifyRequestSignature, verifySignedBytes } from '../../src/transports/windows/requestSignature.js';
import { cngBlob, signingKey } from './fakeWindows.js';

const request = Uint8Array.from([0xa4, 0x01, 0x58, 0x20, ...new Uint8Array(32).fill(7), 0x02, 0xa1, 0x62, 0x69, 0x64, 0x61, 0x78]);

function withU32(blob: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = blob.slice();
  new DataView(copy.buffer).setUint32(offset, value, true);
  return copy;
}

describe('CNG public key blobs', () => {
  const ec = signingKey('ecdsa');
  const rsa = signingKey('rsa-pkcs1');

  it('parses a P-256 ECS1 blob (72 bytes) and an RSA1 blob', () => {
    expect(ec.blob.length).toBe(72);
    expect(parseCngPublicKey(ec.blob).kind).toBe('ecdsa-p256');
    const parsed = parseCngPublicKey(rsa.blob);
    expect(parsed).toMatchObject({ kind: 'rsa', bits: 2048, modulusLength: 256 });
    expect(rsa.blob.length).toBe(24 + 3 + 256);
  });

  it('refuses truncated blobs', () => {
    for (const blob of [ec.blob, rsa.blob]) {
      for (const length of [0, 3, 7, 8, 23, 24, blob.length - 1]) {
        expect(() => parseCngPublicKey(blob.subarray(0, length)), `length ${length}`).toThrow(CngKeyError);
      }
    }
  });

  it('refuses trailing bytes', () => {
    expect(() => parseCngPublicKey(Uint8Array.from([...ec.blob, 0]))).toThrow(/73 bytes/);
    expect(() => parseCngPublicKey(Uint8Array.from([...rsa.blob, 0]))).toThrow(/describes/);
  });

  it('refuses unknown magics, and says P-384/P-521 and ECDH blobs are not supported', () => {
    expect(() => parseCngPublicKey(withU32(ec.blob, 0, 0x31424b45))).toThrow(/unknown CNG key blob magic 0x31424b45/); // ECK1
    expect(() => parseCngPublicKey(withU32(ec.blob, 0, 0x33534345))).toThrow(/P-256 only/);
    expect(() => parseCngPublicKey(withU32(ec.blob, 0, 0x35534345))).toThrow(/P-256 only/);
    expect(() => parseCngPublicKey(withU32(rsa.blob, 0, 0x32415352))).toThrow(/magic/); // RSA2 (private)
  });

  it('refuses wrong sizes in the header', () => {
    expect(() => parseCngPublicKey(withU32(ec.blob, 4, 48))).toThrow(/48-byte coordinates/);
    expect(() => parseCngPublicKey(withU32(rsa.blob, 4, 2056))).toThrow(/257|modulus/); // BitLength vs cbModulus
    expect(() => parseCngPublicKey(withU32(rsa.blob, 4, 1024))).toThrow(/1024-bit/);
    expect(() => parseCngPublicKey(withU32(rsa.blob, 8, 0))).toThrow(/exponent/);
    expect(() => parseCngPublicKey(withU32(rsa.blob, 12, 255))).toThrow(/modulus/);
  });

  it('refuses a point that is not on P-256, and an even exponent', () => {
    const offCurve = ec.blob.slice();
    offCurve[71]! ^= 1;
    expect(() => parseCngPublicKey(offCurve)).toThrow(/not .*on P-256|point/);
    const evenExponent = rsa.blob.slice();
    evenExponent[24 + 2] = 2; // 0x010002
    expect(() => parseCngPublicKey(evenExponent)).toThrow(/odd/);
  });
});

describe('request signatures', () => {
  it.each(['ecdsa', 'rsa-pkcs1', 'rsa-pss'] as const)('%s: verifies over SHA-256 of the exact bytes', (type) => {
    const key = signingKey(type);
    const check = verifyRequestSignature(key.blob, request, key.sign(request));
    expect(check).toEqual({
      ok: true,
      scheme: { ecdsa: 'ecdsa-p1363', 'rsa-pkcs1': 'rsa-pkcs1', 'rsa-pss': 'rsa-pss' }[type],
      keyKind: type === 'ecdsa' ? 'ecdsa-p256' : 'rsa',
    });
  });

  it('accepts a DER-encoded ECDSA signature too', () => {
    const key = signingKey('ecdsa');
    const der = new Uint8Array(sign('sha256', request, { key: key.privateKey, dsaEncoding: 'der' }));
    expect(verifyRequestSignature(key.blob, request, der)).toMatchObject({ ok: true, scheme: 'ecdsa-der' });
  });

  it('refuses PSS with another salt length, and SHA-1', () => {
    const key = signingKey('rsa-pss');
    const salt20 = new Uint8Array(sign('sha256', request, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 }));
    expect(verifyRequestSignature(key.blob, request, salt20).ok).toBe(false);
    const sha1 = new Uint8Array(sign('sha1', request, { key: key.privateKey, padding: constants.RSA_PKCS1_PADDING }));
    expect(verifyRequestSignature(key.blob, request, sha1).ok).toBe(false);
  });

  it.each(['ecdsa', 'rsa-pkcs1', 'rsa-pss'] as const)('%s: refuses changed, truncated, extended or re-signed bytes', (type) => {
    const key = signingKey(type);
    const signature = key.sign(request);
    const changed = request.slice();
    changed[5]! ^= 0x01;
    expect(verifyRequestSignature(key.blob, changed, signature).ok).toBe(false);
    expect(verifyRequestSignature(key.blob, request.subarray(0, request.length - 1), signature).ok).toBe(false);
    expect(verifyRequestSignature(key.blob, Uint8Array.from([...request, 0]), signature).ok).toBe(false);
    expect(verifyRequestSignature(key.blob, request, signature.subarray(0, signature.length - 1)).ok).toBe(false);
    expect(verifyRequestSignature(key.blob, request, new Uint8Array(0))).toEqual({ ok: false, reason: 'the request carries no signature' });
    const other = signingKey(type);
    expect(verifyRequestSignature(key.blob, request, other.sign(request)).ok).toBe(false);
  });

  it('refuses a signature made for another algorithm than the key', () => {
    const ec = signingKey('ecdsa');
    const rsa = signingKey('rsa-pkcs1');
    expect(verifyRequestSignature(ec.blob, request, rsa.sign(request)).ok).toBe(false);
    expect(verifyRequestSignature(rsa.blob, request, ec.sign(request)).ok).toBe(false);
  });

  it('fails closed on a key that does not parse, without throwing', () => {
    const key = signingKey('ecdsa');
    const check = verifyRequestSignature(key.blob.subarray(0, 40), request, key.sign(request));
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toMatch(/signing key is unusable/);
  });

  it('verifySignedBytes never throws on garbage signatures', () => {
    const ec = parseCngPublicKey(signingKey('ecdsa').blob);
    const rsa = parseCngPublicKey(signingKey('rsa-pkcs1').blob);
    for (const garbage of [new Uint8Array(64), Uint8Array.from([0x30, 0x02, 0x00]), new Uint8Array(256).fill(0xff), new Uint8Array(1000)]) {
      expect(verifySignedBytes(ec, request, garbage)).toBeUndefined();
      expect(verifySignedBytes(rsa, request, garbage)).toBeUndefined();
    }
  });

  it('encodes blobs the way the parser reads them (the test encoder round-trips)', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 65537 });
    expect(parseCngPublicKey(cngBlob(publicKey))).toMatchObject({ kind: 'rsa', bits: 3072 });
  });
});
