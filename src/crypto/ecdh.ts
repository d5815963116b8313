/**
 * P-256 ECDH for the PIN/UV auth protocols' key agreement (CTAP 2.2 §6.5.6–6.5.7): the
 * authenticator's ephemeral key pair and the shared point's x-coordinate Z.
 * @module
 */
import { p256, p256PublicKey } from './p256.js';
import { concatBytes } from './bytes.js';

export interface KeyAgreementKeyPair {
  /** 32-byte scalar. The holder wipes it when the key is retired. */
  readonly privateKey: Uint8Array;
  /** Uncompressed point 0x04‖x‖y (65 bytes). */
  readonly publicKey: Uint8Array;
}

/** A key pair from 32 random bytes; throws when they are not a valid scalar (probability ~2^-32). */
export function keyAgreementKeyPair(seed: Uint8Array): KeyAgreementKeyPair {
  if (!p256.utils.isValidSecretKey(seed)) throw new Error('random key material out of range');
  const privateKey = seed.slice();
  return { privateKey, publicKey: p256PublicKey(privateKey) };
}

/**
 * Z, the x-coordinate of privateKey·peer (32 bytes). Throws when (x, y) is not a point on P-256
 * (which includes wrong lengths and the point at infinity).
 */
export function ecdhP256(privateKey: Uint8Array, peerX: Uint8Array, peerY: Uint8Array): Uint8Array {
  if (peerX.length !== 32 || peerY.length !== 32) throw new Error('P-256 coordinates are 32 bytes');
  const shared = p256.getSharedSecret(privateKey, concatBytes(Uint8Array.of(0x04), peerX, peerY), true);
  try {
    return shared.slice(1, 33);
  } finally {
    shared.fill(0);
  }
}
