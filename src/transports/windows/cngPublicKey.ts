/**
 * Parsing the CNG public key blobs Windows hands out for its operation-signing and
 * user-verification keys (BCRYPT_RSAPUBLIC_BLOB "RSA1", BCRYPT_ECDSA_PUBLIC_P256_BLOB "ECS1"),
 * strictly: exact lengths, known magics, sane sizes. Anything else is refused, never guessed at.
 * @module
 */
import { createPublicKey, type KeyObject } from 'node:crypto';

/** Little-endian magics at offset 0 (bcrypt.h). */
export const CNG_MAGIC = {
  /** BCRYPT_RSAPUBLIC_MAGIC, "RSA1" */
  RSA1: 0x31415352,
  /** BCRYPT_ECDSA_PUBLIC_P256_MAGIC, "ECS1" */
  ECS1: 0x31534345,
  /** P-384 and P-521 ECDSA: recognised so the error can say so, not supported. */
  ECS3: 0x33534345,
  ECS5: 0x35534345,
} as const;

const ECC_HEADER = 8; // dwMagic, cbKey
const RSA_HEADER = 24; // Magic, BitLength, cbPublicExp, cbModulus, cbPrime1, cbPrime2
const P256_COORDINATE = 32;
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 16384;

export type CngPublicKey =
  | { readonly kind: 'ecdsa-p256'; readonly key: KeyObject }
  | { readonly kind: 'rsa'; readonly bits: number; readonly modulusLength: number; readonly key: KeyObject };

/** A blob that is not a public key Latchkey accepts. The message says why, for the log. */
export class CngKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CngKeyError';
  }
}

function u32(blob: Uint8Array, offset: number): number {
  return new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(offset, true);
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

function parseEcs1(blob: Uint8Array): CngPublicKey {
  const cbKey = u32(blob, 4);
  if (cbKey !== P256_COORDINATE) throw new CngKeyError(`ECS1 blob declares ${cbKey}-byte coordinates, P-256 has 32`);
  if (blob.length !== ECC_HEADER + 2 * cbKey) {
    throw new CngKeyError(`ECS1 blob is ${blob.length} bytes, a P-256 public key blob is ${ECC_HEADER + 2 * cbKey}`);
  }
  const x = blob.subarray(ECC_HEADER, ECC_HEADER + cbKey);
  const y = blob.subarray(ECC_HEADER + cbKey);
  try {
    // OpenSSL checks that the point is on the curve.
    return { kind: 'ecdsa-p256', key: createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64url(x), y: b64url(y) }, format: 'jwk' }) };
  } catch (cause) {
    throw new CngKeyError('ECS1 blob does not hold a point on P-256', { cause });
  }
}

function parseRsa1(blob: Uint8Array): CngPublicKey {
  if (blob.length < RSA_HEADER) throw new CngKeyError(`RSA1 blob is ${blob.length} bytes, shorter than its header`);
  const bits = u32(blob, 4);
  const cbPublicExp = u32(blob, 8);
  const cbModulus = u32(blob, 12);
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) throw new CngKeyError(`RSA1 blob declares a ${bits}-bit key`);
  if (cbModulus !== Math.ceil(bits / 8)) throw new CngKeyError(`RSA1 blob: ${cbModulus}-byte modulus for ${bits} bits`);
  if (cbPublicExp < 1 || cbPublicExp > 8) throw new CngKeyError(`RSA1 blob: ${cbPublicExp}-byte public exponent`);
  // A public blob carries exponent and modulus only (cbPrime1/cbPrime2 describe private blobs).
  if (blob.length !== RSA_HEADER + cbPublicExp + cbModulus) {
    throw new CngKeyError(`RSA1 blob is ${blob.length} bytes, its header describes ${RSA_HEADER + cbPublicExp + cbModulus}`);
  }
  const exponent = blob.subarray(RSA_HEADER, RSA_HEADER + cbPublicExp);
  const modulus = blob.subarray(RSA_HEADER + cbPublicExp);
  const topBits = 32 - Math.clz32(modulus[0] ?? 0);
  if ((cbModulus - 1) * 8 + topBits !== bits) throw new CngKeyError(`RSA1 blob: the modulus is not ${bits} bits long`);
  const last = exponent[exponent.length - 1] ?? 0;
  const exponentIsOne = exponent.every((b, i) => (i === exponent.length - 1 ? b === 1 : b === 0));
  if ((last & 1) === 0 || exponentIsOne) throw new CngKeyError('RSA1 blob: the public exponent is not an odd number above 1');
  try {
    const key = createPublicKey({ key: { kty: 'RSA', n: b64url(modulus), e: b64url(exponent) }, format: 'jwk' });
    return { kind: 'rsa', bits, modulusLength: cbModulus, key };
  } catch (cause) {
    throw new CngKeyError('RSA1 blob does not hold a usable RSA key', { cause });
  }
}

/** Parse a CNG public key blob. Throws {@link CngKeyError} for anything but a valid RSA1 or ECS1 blob. */
export function parseCngPublicKey(blob: Uint8Array): CngPublicKey {
  if (!(blob instanceof Uint8Array) || blob.length < ECC_HEADER) {
    throw new CngKeyError(`a CNG public key blob is at least ${ECC_HEADER} bytes`);
  }
  const magic = u32(blob, 0);
  switch (magic) {
    case CNG_MAGIC.ECS1:
      return parseEcs1(blob);
    case CNG_MAGIC.RSA1:
      return parseRsa1(blob);
    case CNG_MAGIC.ECS3:
    case CNG_MAGIC.ECS5:
      throw new CngKeyError('ECDSA keys on P-384 or P-521 are not supported (P-256 only)');
    default:
      throw new CngKeyError(`unknown CNG key blob magic 0x${magic.toString(16).padStart(8, '0')}`);
  }
}
