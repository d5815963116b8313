/**
 * PIN/UV auth protocols one and two (src/crypto), checked against node:crypto (OpenSSL) as an
 * independent oracle: ECDH, SHA-256 / HKDF key derivation, AES-256-CBC and HMAC-SHA-256.
 */
import { createCipheriv, createDecipheriv, createECDH, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ecdhP256, keyAgreementKeyPair } from '../../src/crypto/ecdh.js';
import {
  loadPinUvAuthCiphers,
  PIN_UV_AUTH_PROTOCOL_ONE,
  PIN_UV_AUTH_PROTOCOL_TWO,
  pinUvAuthProtocol,
} from '../../src/crypto/pinUvAuthProtocol.js';

// AES is loaded on first use by the core; these tests call the protocol functions directly.
beforeAll(loadPinUvAuthCiphers);

const u8 = (b: Buffer | Uint8Array) => new Uint8Array(b);
const sha256 = (b: Uint8Array) => u8(createHash('sha256').update(b).digest());
const hmac = (k: Uint8Array, m: Uint8Array) => u8(createHmac('sha256', k).update(m).digest());
const hkdf = (z: Uint8Array, info: string) => u8(Buffer.from(hkdfSync('sha256', z, new Uint8Array(32), info, 32)));
function aes(mode: 'enc' | 'dec', key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const c = mode === 'enc' ? createCipheriv('aes-256-cbc', key, iv) : createDecipheriv('aes-256-cbc', key, iv);
  c.setAutoPadding(false);
  return u8(Buffer.concat([c.update(data), c.final()]));
}
const blocks = fc.integer({ min: 0, max: 5 }).chain((n) => fc.uint8Array({ minLength: 16 * n, maxLength: 16 * n }));

describe('P-256 key agreement', () => {
  it('agrees with OpenSSL on Z in both directions', () => {
    for (let i = 0; i < 10; i++) {
      const ours = keyAgreementKeyPair(u8(randomBytes(32)));
      const theirs = createECDH('prime256v1');
      theirs.generateKeys();
      const point = u8(theirs.getPublicKey());
      const z = ecdhP256(ours.privateKey, point.subarray(1, 33), point.subarray(33, 65));
      expect(z).toEqual(u8(theirs.computeSecret(ours.publicKey)));
    }
  });

  it('throws on a point off the curve, the wrong length, or all zeros', () => {
    const ours = keyAgreementKeyPair(u8(randomBytes(32)));
    const x = ours.publicKey.slice(1, 33);
    const y = ours.publicKey.slice(33, 65);
    y[31] = y[31]! ^ 1;
    expect(() => ecdhP256(ours.privateKey, x, y)).toThrow();
    expect(() => ecdhP256(ours.privateKey, x.subarray(1), ours.publicKey.slice(33, 65))).toThrow();
    expect(() => ecdhP256(ours.privateKey, new Uint8Array(32), new Uint8Array(32))).toThrow();
  });
});

describe('PIN/UV auth protocol one', () => {
  const p = PIN_UV_AUTH_PROTOCOL_ONE;
  it('kdf is SHA-256(Z); encrypt is AES-256-CBC with a zero IV; authenticate is HMAC truncated to 16 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), blocks, (z, plaintext) => {
        const key = p.kdf(z);
        expect(key).toEqual(sha256(z));
        const ct = p.encrypt(key, plaintext, () => { throw new Error('protocol one draws no IV'); });
        expect(ct).toEqual(aes('enc', key, new Uint8Array(16), plaintext));
        expect(p.decrypt(key, ct)).toEqual(plaintext);
        const mac = p.authenticate(key, ct);
        expect(mac).toEqual(hmac(key, ct).subarray(0, 16));
        expect(p.verify(key, ct, mac)).toBe(true);
        expect(p.verify(key, ct, hmac(key, ct))).toBe(false); // 32 bytes: wrong length for one
      }),
    );
  });

  it('refuses ciphertexts that are not whole blocks', () => {
    expect(() => p.decrypt(new Uint8Array(32), new Uint8Array(17))).toThrow();
    expect(() => p.encrypt(new Uint8Array(32), new Uint8Array(15), () => new Uint8Array(16))).toThrow();
  });
});

describe('PIN/UV auth protocol two', () => {
  const p = PIN_UV_AUTH_PROTOCOL_TWO;
  it('kdf is HKDF "CTAP2 HMAC key" ‖ HKDF "CTAP2 AES key"; a random IV leads the ciphertext; full 32-byte HMAC', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), blocks, fc.uint8Array({ minLength: 16, maxLength: 16 }), (z, plaintext, iv) => {
        const key = p.kdf(z);
        expect(key.subarray(0, 32)).toEqual(hkdf(z, 'CTAP2 HMAC key'));
        expect(key.subarray(32)).toEqual(hkdf(z, 'CTAP2 AES key'));
        const ct = p.encrypt(key, plaintext, (n) => (n === 16 ? iv.slice() : new Uint8Array(0)));
        expect(ct.subarray(0, 16)).toEqual(iv);
        expect(ct.subarray(16)).toEqual(aes('enc', key.subarray(32), iv, plaintext));
        expect(p.decrypt(key, ct)).toEqual(plaintext);
        const mac = p.authenticate(key, ct);
        expect(mac).toEqual(hmac(key.subarray(0, 32), ct));
        expect(p.verify(key, ct, mac)).toBe(true);
        expect(p.verify(key, ct, mac.subarray(0, 16))).toBe(false);
        const flipped = mac.slice();
        flipped[0] = flipped[0]! ^ 1;
        expect(p.verify(key, ct, flipped)).toBe(false);
      }),
    );
  });

  it('authenticates with a 32-byte pinUvAuthToken as it is', () => {
    const token = u8(randomBytes(32));
    const message = u8(randomBytes(40));
    expect(p.authenticate(token, message)).toEqual(hmac(token, message));
  });

  it('refuses a ciphertext without a whole IV or with a partial block', () => {
    const key = p.kdf(new Uint8Array(32));
    expect(() => p.decrypt(key, new Uint8Array(15))).toThrow();
    expect(() => p.decrypt(key, new Uint8Array(16 + 8))).toThrow();
    expect(p.decrypt(key, aesWithIv(key))).toHaveLength(32);
  });

  function aesWithIv(key: Uint8Array): Uint8Array {
    const iv = u8(randomBytes(16));
    return new Uint8Array([...iv, ...aes('enc', key.subarray(32), iv, new Uint8Array(32))]);
  }
});

describe('pinUvAuthProtocol(version)', () => {
  it('knows 1 and 2 only', () => {
    expect(pinUvAuthProtocol(1)).toBe(PIN_UV_AUTH_PROTOCOL_ONE);
    expect(pinUvAuthProtocol(2)).toBe(PIN_UV_AUTH_PROTOCOL_TWO);
    for (const v of [0, 3, -1, 1.5]) expect(pinUvAuthProtocol(v)).toBeUndefined();
  });
});
