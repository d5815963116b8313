/**
 * Credential key pairs and signatures for the algorithms the authenticator offers:
 * ES256 (ECDSA P-256 with SHA-256, DER signature with low S) and EdDSA (Ed25519).
 * @module
 */
import { encodeEc2PublicKey, encodeOkpPublicKey } from './cose.js';
import { ed25519, ed25519Loaded, loadEd25519 } from './ed25519.js';
import { p256, p256PublicKey, signP256 } from './p256.js';

export const ALG_ES256 = -7;
export const ALG_EDDSA = -8;
export type SigningAlgorithm = typeof ALG_ES256 | typeof ALG_EDDSA;

export const SUPPORTED_ALGORITHMS: readonly SigningAlgorithm[] = [ALG_ES256, ALG_EDDSA];

export function isSupportedAlgorithm(alg: number): alg is SigningAlgorithm {
  return alg === ALG_ES256 || alg === ALG_EDDSA;
}

/** Loads what signing with `alg` needs (Ed25519 is loaded on first use); call before the sync functions below. */
export async function prepareAlgorithm(alg: SigningAlgorithm): Promise<void> {
  if (alg === ALG_EDDSA) await loadEd25519();
}

/**
 * Whether the sync functions below can run for `alg` now, with no {@link prepareAlgorithm} to
 * await: ES256 always (P-256 is imported with this module), EdDSA once Ed25519 has loaded. Lets a
 * caller skip an await (a promise and a microtask turn) on every use after the first.
 */
export function isAlgorithmReady(alg: SigningAlgorithm): boolean {
  return alg === ALG_ES256 || ed25519Loaded();
}

export interface GeneratedKeyPair {
  /** 32-byte P-256 scalar or Ed25519 seed. The caller wipes it. */
  readonly privateKey: Uint8Array;
  /** COSE_Key bytes. */
  readonly coseKey: Uint8Array;
}

/** A new key pair. `seed` (32 random bytes) comes from the Random port so tests can be deterministic. */
export function generateKeyPair(alg: SigningAlgorithm, seed: Uint8Array): GeneratedKeyPair {
  if (alg === ALG_ES256) {
    // A 32-byte string is a valid scalar unless it is 0 or ≥ n (probability ~2^-32); reject those.
    if (!p256.utils.isValidSecretKey(seed)) throw new Error('random key material out of range');
    const privateKey = seed.slice();
    return { privateKey, coseKey: encodeEc2PublicKey(p256PublicKey(privateKey), alg) };
  }
  const privateKey = seed.slice();
  return { privateKey, coseKey: encodeOkpPublicKey(ed25519().getPublicKey(privateKey), alg) };
}

/**
 * Sign `message` (authenticatorData ‖ clientDataHash). For ES256 noble hashes the message
 * itself with SHA-256 and returns DER with low S; Ed25519 signs the message as is.
 */
export function signMessage(alg: SigningAlgorithm, privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  if (alg === ALG_ES256) return signP256(message, privateKey);
  return ed25519().sign(message, privateKey);
}
