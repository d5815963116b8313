/**
 * The platform's side of the PIN/UV auth protocols and hmac-secret, written for the tests with
 * @noble directly (not through src/crypto): getKeyAgreement through `handle`, ECDH, the protocol's
 * KDF, salt encryption and saltAuth, and decryption of the outputs.
 */
import { cbc } from '@noble/ciphers/aes.js';
import { p256 } from '@noble/curves/nist.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from 'node:crypto';
import { decodeStrict, type CborMap, type CborValue } from '../../src/cbor/index.js';
import { Command, type Authenticator } from '../../src/ctap/index.js';
import { approving } from '../support/users.js';
import { concat, encode } from '../support/ctapHelpers.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

export type ProtocolVersion = 1 | 2;

/** authenticatorClientPIN getKeyAgreement through the byte entry point; the response's COSE key. */
export async function getKeyAgreement(authenticator: Authenticator, protocol: number): Promise<CborMap> {
  const response = await authenticator.handle(
    Command.ClientPin,
    encode(new Map<number, CborValue>([[0x01, protocol], [0x02, 0x02]])),
    approving(),
  );
  if (response.status !== 0) throw new Error(`getKeyAgreement answered 0x${response.status.toString(16)}`);
  const body = decodeStrict(response.body!) as CborMap;
  return body.get(0x01) as CborMap;
}

/** A platform that has agreed a shared secret with one authenticator for one protocol. */
export class Platform {
  private constructor(
    readonly protocol: ProtocolVersion,
    /** The platform's COSE_Key, as sent in hmac-secret key 1. */
    readonly keyAgreement: CborMap,
    readonly sharedSecret: Uint8Array,
  ) {}

  static async agree(authenticator: Authenticator, protocol: ProtocolVersion): Promise<Platform> {
    return Platform.withKey(await getKeyAgreement(authenticator, protocol), protocol);
  }

  /** encapsulate(peerCoseKey) of the protocol, with a fresh platform key. */
  static withKey(peer: CborMap, protocol: ProtocolVersion): Platform {
    const secret = p256.utils.randomSecretKey();
    const mine = p256.getPublicKey(secret, false);
    const peerPoint = concat(Uint8Array.of(4), peer.get(-2) as Uint8Array, peer.get(-3) as Uint8Array);
    const z = p256.getSharedSecret(secret, peerPoint, true).slice(1);
    const sharedSecret =
      protocol === 1
        ? sha256(z)
        : concat(hkdf(sha256, z, new Uint8Array(32), utf8('CTAP2 HMAC key'), 32), hkdf(sha256, z, new Uint8Array(32), utf8('CTAP2 AES key'), 32));
    const keyAgreement = new Map<CborValue, CborValue>([
      [1, 2],
      [3, -25],
      [-1, 1],
      [-2, mine.slice(1, 33)],
      [-3, mine.slice(33, 65)],
    ]);
    return new Platform(protocol, keyAgreement, sharedSecret);
  }

  encrypt(plaintext: Uint8Array): Uint8Array {
    if (this.protocol === 1) return cbc(this.sharedSecret, new Uint8Array(16), { disablePadding: true }).encrypt(plaintext);
    const iv = new Uint8Array(randomBytes(16));
    return concat(iv, cbc(this.sharedSecret.subarray(32), iv, { disablePadding: true }).encrypt(plaintext));
  }

  decrypt(ciphertext: Uint8Array): Uint8Array {
    if (this.protocol === 1) return cbc(this.sharedSecret, new Uint8Array(16), { disablePadding: true }).decrypt(ciphertext);
    return cbc(this.sharedSecret.subarray(32), ciphertext.subarray(0, 16), { disablePadding: true }).decrypt(ciphertext.subarray(16));
  }

  authenticate(message: Uint8Array): Uint8Array {
    if (this.protocol === 1) return hmac(sha256, this.sharedSecret, message).slice(0, 16);
    return hmac(sha256, this.sharedSecret.subarray(0, 32), message);
  }

  /**
   * The hmac-secret (or hmac-secret-mc) input map for these salts. `protocolKey`: what to put at
   * key 4 ('omit' leaves it out, which means protocol one).
   */
  hmacSecretInput(salts: Uint8Array, protocolKey: number | 'omit' = this.protocol): Map<number, CborValue> {
    const saltEnc = this.encrypt(salts);
    const input = new Map<number, CborValue>([
      [1, this.keyAgreement],
      [2, saltEnc],
      [3, this.authenticate(saltEnc)],
    ]);
    if (protocolKey !== 'omit') input.set(4, protocolKey);
    return input;
  }
}

/** HMAC-SHA-256(CredRandom, salt): what the outputs must be, computed from the stored secret. */
export function expectedOutput(credRandom: Uint8Array, salt: Uint8Array): Uint8Array {
  return hmac(sha256, credRandom, salt);
}

export function salt(fill: number): Uint8Array {
  return new Uint8Array(32).fill(fill);
}

export { concat };
