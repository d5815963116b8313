/**
 * The PIN/UV auth protocols as the core uses them (CTAP 2.2 §6.5.4–6.5.7): the authenticator's
 * key agreement keys, decapsulation of a platform's key agreement key into a shared secret, and
 * the pinUvAuthParam steps shared by makeCredential and getAssertion (§6.1.2 steps 1–2 and 11,
 * §6.2.2 steps 1–2 and 6).
 *
 * Latchkey has no PIN and issues no pinUvAuthToken: the user is verified by the platform's own
 * method (Windows Hello, an approver), signalled with the "uv" option. The protocols exist for
 * the key agreement that hmac-secret rides on.
 * @module
 */
import type { CborMap, CborValue } from '../cbor/index.js';
import { wipe } from '../crypto/bytes.js';
import { COSE_ALG_ECDH_ES_HKDF_256, COSE_CRV_P256, COSE_KTY_EC2, CoseKey, ec2PublicKeyMap } from '../crypto/cose.js';
import { ecdhP256, keyAgreementKeyPair, type KeyAgreementKeyPair } from '../crypto/ecdh.js';
import { pinUvAuthProtocol, type PinUvAuthProtocol } from '../crypto/pinUvAuthProtocol.js';
import type { ResolvedConfig } from './config.js';
import type { Random, RequestContext } from './ports.js';
import { REFUSAL_STATUS } from './refusals.js';
import { CtapError, Status } from './status.js';
import { askUser } from './userPresence.js';

/**
 * Whether getInfo claims the clientPin feature ("clientPin": false, no PIN set). Only with built-in
 * UV: without it a platform that wants UV would ask the user to set a PIN (see getInfo.ts).
 */
export function offersClientPin(config: ResolvedConfig): boolean {
  return config.userVerification;
}

/** Supported protocols in decreasing order of preference (getInfo pinUvAuthProtocols). */
export const SUPPORTED_PIN_UV_AUTH_PROTOCOLS: readonly number[] = [2, 1];

/** The protocol for a version the platform chose, or CTAP1_ERR_INVALID_PARAMETER. */
export function supportedProtocol(version: number): PinUvAuthProtocol {
  const protocol = SUPPORTED_PIN_UV_AUTH_PROTOCOLS.includes(version) ? pinUvAuthProtocol(version) : undefined;
  if (protocol === undefined) throw new CtapError(Status.INVALID_PARAMETER, 'unsupported pinUvAuthProtocol');
  return protocol;
}

/** A shared secret with the protocol it belongs to. The holder wipes `secret` after use. */
export interface SharedSecret {
  readonly protocol: PinUvAuthProtocol;
  readonly secret: Uint8Array;
}

/**
 * The authenticator's key agreement key per protocol, generated on first use and kept for the
 * life of this instance (one instance is one power-up: a restart regenerates them). Each
 * protocol has its own key, as each protocol's initialize() regenerates only its own.
 */
export class KeyAgreementKeys {
  private readonly keys = new Map<number, KeyAgreementKeyPair>();

  constructor(private readonly random: Random) {}

  /** getKeyAgreement's answer: the public key as a COSE_Key labelled ECDH-ES+HKDF-256 (-25). */
  publicKey(protocol: PinUvAuthProtocol): CborMap {
    return ec2PublicKeyMap(this.keyPair(protocol).publicKey, COSE_ALG_ECDH_ES_HKDF_256);
  }

  /**
   * decapsulate(peerCoseKey) of the protocol: ECDH with the platform's key, then the protocol's
   * KDF. A key that is not an EC2 P-256 point answers CTAP1_ERR_INVALID_PARAMETER; wrong CBOR
   * types inside it CTAP2_ERR_CBOR_UNEXPECTED_TYPE. The COSE "alg" is not checked: it only labels
   * the key, and platforms disagree on it.
   */
  decapsulate(protocol: PinUvAuthProtocol, peer: CborValue): SharedSecret {
    const { x, y } = readPeerKey(peer);
    let z: Uint8Array;
    try {
      z = ecdhP256(this.keyPair(protocol).privateKey, x, y);
    } catch {
      throw new CtapError(Status.INVALID_PARAMETER, 'the platform key agreement key is not a P-256 point');
    }
    try {
      return { protocol, secret: protocol.kdf(z) };
    } finally {
      wipe(z);
    }
  }

  /** Forget every key (a reset); the next use generates new ones. */
  regenerate(): void {
    for (const key of this.keys.values()) wipe(key.privateKey);
    this.keys.clear();
  }

  private keyPair(protocol: PinUvAuthProtocol): KeyAgreementKeyPair {
    let pair = this.keys.get(protocol.version);
    if (pair === undefined) {
      pair = newKeyAgreementKeyPair(this.random);
      this.keys.set(protocol.version, pair);
    }
    return pair;
  }
}

function newKeyAgreementKeyPair(random: Random): KeyAgreementKeyPair {
  for (let attempt = 0; attempt < 8; attempt++) {
    const seed = random.bytes(32);
    try {
      return keyAgreementKeyPair(seed);
    } catch {
      continue;
    } finally {
      wipe(seed);
    }
  }
  throw new CtapError(Status.OTHER, 'could not generate a key agreement key');
}

function readPeerKey(peer: CborValue): { x: Uint8Array; y: Uint8Array } {
  if (!(peer instanceof Map)) throw new CtapError(Status.CBOR_UNEXPECTED_TYPE, 'keyAgreement must be a COSE_Key map');
  const kty = peer.get(CoseKey.Kty);
  const crv = peer.get(CoseKey.Crv);
  const x = peer.get(CoseKey.X);
  const y = peer.get(CoseKey.Y);
  for (const [value, kind] of [[kty, 'number'], [crv, 'number'], [x, 'bytes'], [y, 'bytes']] as const) {
    if (value === undefined) continue;
    const ok = kind === 'bytes' ? value instanceof Uint8Array : typeof value === 'number' || typeof value === 'bigint';
    if (!ok) throw new CtapError(Status.CBOR_UNEXPECTED_TYPE, 'a keyAgreement member has an unexpected CBOR type');
  }
  if (kty !== COSE_KTY_EC2 || crv !== COSE_CRV_P256 || !(x instanceof Uint8Array) || !(y instanceof Uint8Array)) {
    throw new CtapError(Status.INVALID_PARAMETER, 'keyAgreement is not an EC2 P-256 COSE_Key');
  }
  return { x, y };
}

/**
 * makeCredential steps 1–2 / getAssertion steps 1–2. Where the clientPin feature is claimed, a
 * zero-length pinUvAuthParam is the legacy way to make the user pick an authenticator: ask for a
 * touch, then answer PIN_NOT_SET (no PIN is ever set). Otherwise a present pinUvAuthParam needs a
 * supported protocol.
 */
export async function checkPinUvAuthParams(
  config: ResolvedConfig,
  ctx: RequestContext,
  rpId: string,
  pinUvAuthParam: Uint8Array | undefined,
  protocol: number | undefined,
): Promise<void> {
  if (pinUvAuthParam === undefined) return;
  if (pinUvAuthParam.length === 0 && offersClientPin(config)) {
    try {
      await askUser(ctx, { presence: true, verification: false, rpId, reason: 'selection' });
    } catch (error) {
      // The spec answers a refusal or a timeout here with OPERATION_DENIED; a cancel stays a cancel.
      if (error instanceof CtapError && error.status === REFUSAL_STATUS.cancelled) throw error;
      throw new CtapError(Status.OPERATION_DENIED, 'the user did not confirm', { cause: error });
    }
    throw new CtapError(Status.PIN_NOT_SET, 'no PIN is set (zero-length pinUvAuthParam)');
  }
  if (protocol === undefined) throw new CtapError(Status.MISSING_PARAMETER, 'pinUvAuthProtocol is missing');
  supportedProtocol(protocol);
}

/**
 * makeCredential step 11 / getAssertion step 6 with a pinUvAuthParam: verify it with the current
 * pinUvAuthToken. No token has ever been issued (there is no PIN, and getPinUvAuthTokenUsingUv…
 * is not offered), so no pinUvAuthParam can verify.
 */
export function verifyPinUvAuthParam(pinUvAuthParam: Uint8Array | undefined): void {
  if (pinUvAuthParam === undefined) return;
  throw new CtapError(Status.PIN_AUTH_INVALID, 'no pinUvAuthToken has been issued');
}
