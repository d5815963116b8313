/**
 * NIST P-256 (secp256r1) ECDSA with SHA-256, built from @noble/curves' Weierstrass primitives and
 * the curve's published domain parameters (FIPS 186-5 / SEC 2). `@noble/curves/nist.js` builds
 * P-384 and P-521 too when imported, which costs a cold start ~20 ms for curves Latchkey never uses.
 * @module
 */
import { ecdsa, weierstrass } from '@noble/curves/abstract/weierstrass.js';
import { sha256 } from '@noble/hashes/sha2.js';

const P256_POINT = weierstrass({
  p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
  n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  h: 1n,
  a: 0xffffffff00000001000000000000000000000000fffffffffffffffffffffffcn,
  b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  Gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  Gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
});

/** ECDSA over P-256 with SHA-256 (sign/verify hash the message themselves; low-S by default). */
export const p256 = ecdsa(P256_POINT, sha256);
