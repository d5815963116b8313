/**
 * NIST P-256 (secp256r1) ECDSA with SHA-256, built from @noble/curves' Weierstrass primitives and
 * the curve's published domain parameters (FIPS 186-5 / SEC 2). `@noble/curves/nist.js` builds
 * P-384 and P-521 too when imported, which costs a cold start ~20 ms for curves Latchkey never uses.
 *
 * Fixed-base tables. noble speeds up k⋅G (every signature and every new key) with a table of
 * multiples of G: 2,080 points for its blinded 384-bit scalars, ~27 ms to build. Built on the first
 * signature, that table alone is most of a cold start's first answer. So the base point starts
 * table-less: the first secret multiplication uses noble's constant-time fixed-window path (a few
 * milliseconds, no table to build); right after it the table is built once the current task is done
 * (an idle moment: the answer has left), and at the latest on the second use. Both paths are noble's
 * own constant-time, blinded multiplication; only the table differs.
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

/** noble's default window for the base point's table. */
const TABLE_WINDOW = 6;

P256_POINT.BASE.precompute(1); // table-less until buildBaseTable()

let tableBuilt = false;
let secretUses = 0;

/** Builds the base point's table now (idempotent). Later k⋅G then costs ~65 additions. */
export function buildBaseTable(): void {
  if (tableBuilt) return;
  tableBuilt = true;
  P256_POINT.BASE.precompute(TABLE_WINDOW, false);
}

/** Whether the table exists yet (for tests and benchmarks). */
export function baseTableBuilt(): boolean {
  return tableBuilt;
}

/** Before a secret k⋅G: the second use builds the table; the first asks for it once idle. */
function beforeSecretBaseUse(): void {
  if (tableBuilt) return;
  secretUses += 1;
  if (secretUses > 1) {
    buildBaseTable();
    return;
  }
  // A timer runs after the current task and the microtasks it queued, so the answer being built now
  // is sent first. unref(): a one-shot command may exit without ever building it.
  const timer = setTimeout(buildBaseTable, 0) as unknown as { unref?: () => void };
  timer.unref?.();
}

/** ECDSA over P-256 with SHA-256 (sign/verify hash the message themselves; low-S by default). */
export const p256 = ecdsa(P256_POINT, sha256);

/** An ES256 signature of `message` (noble hashes it with SHA-256): DER, low S. */
export function signP256(message: Uint8Array, privateKey: Uint8Array): Uint8Array {
  beforeSecretBaseUse();
  return p256.sign(message, privateKey, { format: 'der', lowS: true });
}

/** The uncompressed public point (0x04 ‖ x ‖ y) of a private scalar. */
export function p256PublicKey(privateKey: Uint8Array): Uint8Array {
  beforeSecretBaseUse();
  return p256.getPublicKey(privateKey, false);
}
