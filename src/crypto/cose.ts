/**
 * COSE_Key encoding of credential public keys (RFC 9053; WebAuthn §5.8.5).
 * @module
 */
import { encodeCanonical, type CborMap } from '../cbor/index.js';

export const COSE_KTY_OKP = 1;
export const COSE_KTY_EC2 = 2;
export const COSE_CRV_P256 = 1;
export const COSE_CRV_ED25519 = 6;
/** ECDH-ES+HKDF-256: the algorithm the PIN/UV auth protocols' key agreement keys are labelled with. */
export const COSE_ALG_ECDH_ES_HKDF_256 = -25;

/** Labels of a COSE_Key map. */
export const CoseKey = {
  Kty: 1,
  Alg: 3,
  Crv: -1,
  X: -2,
  Y: -3,
} as const;

/** COSE_Key map for a P-256 public key given as the 65-byte uncompressed point (0x04‖x‖y). */
export function ec2PublicKeyMap(uncompressed: Uint8Array, alg: number): CborMap {
  if (uncompressed.length !== 65 || uncompressed[0] !== 0x04) throw new Error('expected an uncompressed P-256 point');
  return new Map<number, number | Uint8Array>([
    [CoseKey.Kty, COSE_KTY_EC2],
    [CoseKey.Alg, alg],
    [CoseKey.Crv, COSE_CRV_P256],
    [CoseKey.X, uncompressed.slice(1, 33)],
    [CoseKey.Y, uncompressed.slice(33, 65)],
  ]);
}

/** The same, as canonical CBOR bytes (credential public keys in authenticator data). */
export function encodeEc2PublicKey(uncompressed: Uint8Array, alg: number): Uint8Array {
  return encodeCanonical(ec2PublicKeyMap(uncompressed, alg));
}

/** COSE_Key for an Ed25519 public key (32 bytes). */
export function encodeOkpPublicKey(publicKey: Uint8Array, alg: number): Uint8Array {
  if (publicKey.length !== 32) throw new Error('expected a 32-byte Ed25519 public key');
  return encodeCanonical(
    new Map<number, number | Uint8Array>([
      [CoseKey.Kty, COSE_KTY_OKP],
      [CoseKey.Alg, alg],
      [CoseKey.Crv, COSE_CRV_ED25519],
      [CoseKey.X, publicKey.slice()],
    ]),
  );
}
