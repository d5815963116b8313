/**
 * hmac-secret (CTAP 2.2 §12.5) and hmac-secret-mc (§12.7): the CTAP wire form of the PRF in
 * ./prf.ts. The platform agrees a shared secret with the authenticator (clientPIN
 * getKeyAgreement), sends one or two salts encrypted under it with a MAC (saltAuth), and gets the
 * outputs back encrypted under it in the authenticator data's extensions.
 *
 * Everything that can fail is checked when the request is read, before anyone is asked: the
 * input's shape, the protocol, the key agreement key, saltAuth and the salts' length. Afterwards
 * only the evaluation remains, once the ceremony knows whether the user was verified.
 * @module
 */
import type { CborValue } from '../../cbor/index.js';
import { wipe } from '../../crypto/bytes.js';
import { supportedProtocol, type KeyAgreementKeys, type SharedSecret } from '../pinUvAuth.js';
import type { CredentialSecrets, Random } from '../ports.js';
import { CtapError, Status } from '../status.js';
import { evaluatePrf, joinPrfOutputs, PRF_LENGTH } from './prf.js';

export const HMAC_SECRET = 'hmac-secret';
export const HMAC_SECRET_MC = 'hmac-secret-mc';

/** Keys of the getAssertion (and hmac-secret-mc) input map. */
export const HmacSecretKey = {
  KeyAgreement: 0x01,
  SaltEnc: 0x02,
  SaltAuth: 0x03,
  PinUvAuthProtocol: 0x04,
} as const;

/** pinUvAuthProtocol when the input leaves it out (CTAP 2.0 platforms). */
const DEFAULT_PROTOCOL = 1;

/** makeCredential input: `true` asks for the credential's CredRandoms to be created. */
export function readHmacSecretCreateInput(value: CborValue | undefined): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new CtapError(Status.CBOR_UNEXPECTED_TYPE, 'hmac-secret input must be a boolean');
  return value;
}

/** The getAssertion / hmac-secret-mc input map, type-checked but not yet verified. */
export interface HmacSecretInput {
  readonly keyAgreement: CborValue;
  readonly saltEnc: Uint8Array;
  readonly saltAuth: Uint8Array;
  readonly pinUvAuthProtocol: number;
}

function unexpected(what: string): CtapError {
  return new CtapError(Status.CBOR_UNEXPECTED_TYPE, `${what} has an unexpected CBOR type`);
}

/** Reads the input map: wrong types first (CBOR_UNEXPECTED_TYPE), then missing members (MISSING_PARAMETER). */
export function readHmacSecretGetInput(value: CborValue | undefined, name = HMAC_SECRET): HmacSecretInput | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Map)) throw unexpected(`the ${name} input`);
  const keyAgreement = value.get(HmacSecretKey.KeyAgreement);
  const saltEnc = value.get(HmacSecretKey.SaltEnc);
  const saltAuth = value.get(HmacSecretKey.SaltAuth);
  const protocol = value.get(HmacSecretKey.PinUvAuthProtocol);
  if (keyAgreement !== undefined && !(keyAgreement instanceof Map)) throw unexpected(`${name} keyAgreement`);
  if (saltEnc !== undefined && !(saltEnc instanceof Uint8Array)) throw unexpected(`${name} saltEnc`);
  if (saltAuth !== undefined && !(saltAuth instanceof Uint8Array)) throw unexpected(`${name} saltAuth`);
  if (protocol !== undefined && !((typeof protocol === 'number' && protocol >= 0) || (typeof protocol === 'bigint' && protocol > 0n))) {
    throw unexpected(`${name} pinUvAuthProtocol`);
  }
  if (keyAgreement === undefined || saltEnc === undefined || saltAuth === undefined) {
    throw new CtapError(Status.MISSING_PARAMETER, `${name} needs keyAgreement, saltEnc and saltAuth`);
  }
  return {
    keyAgreement,
    saltEnc,
    saltAuth,
    pinUvAuthProtocol: protocol === undefined ? DEFAULT_PROTOCOL : Number(protocol),
  };
}

/** Verified, decrypted salts and the shared secret the outputs will be encrypted to. Wipe with {@link wipeHmacSecretSalts}. */
export interface HmacSecretSalts {
  readonly shared: SharedSecret;
  readonly salt1: Uint8Array;
  readonly salt2?: Uint8Array | undefined;
}

/**
 * The authenticator's checks, in the spec's order: a supported protocol (INVALID_PARAMETER),
 * decapsulate the platform's key (INVALID_PARAMETER for a key that is not a P-256 point),
 * verify(sharedSecret, saltEnc, saltAuth) (PIN_AUTH_INVALID), decrypt saltEnc into one or two
 * 32-byte salts (INVALID_LENGTH otherwise).
 */
export function openHmacSecretSalts(keys: KeyAgreementKeys, input: HmacSecretInput): HmacSecretSalts {
  const protocol = supportedProtocol(input.pinUvAuthProtocol);
  const shared = keys.decapsulate(protocol, input.keyAgreement);
  let salts: Uint8Array | undefined;
  try {
    if (!protocol.verify(shared.secret, input.saltEnc, input.saltAuth)) {
      throw new CtapError(Status.PIN_AUTH_INVALID, 'saltAuth does not authenticate saltEnc');
    }
    try {
      salts = protocol.decrypt(shared.secret, input.saltEnc);
    } catch {
      throw new CtapError(Status.INVALID_LENGTH, 'saltEnc is not a whole number of AES blocks');
    }
    if (salts.length !== PRF_LENGTH && salts.length !== 2 * PRF_LENGTH) {
      throw new CtapError(Status.INVALID_LENGTH, 'hmac-secret takes one or two 32-byte salts');
    }
    return {
      shared,
      salt1: salts.slice(0, PRF_LENGTH),
      salt2: salts.length === 2 * PRF_LENGTH ? salts.slice(PRF_LENGTH) : undefined,
    };
  } catch (error) {
    wipe(shared.secret);
    throw error;
  } finally {
    wipe(salts);
  }
}

/**
 * The extension output for one credential: encrypt(sharedSecret, output1 [‖ output2]), or
 * undefined when the credential has no CredRandom (it was created without hmac-secret).
 */
export function hmacSecretOutput(
  salts: HmacSecretSalts,
  secrets: CredentialSecrets,
  userVerified: boolean,
  random: Random,
): Uint8Array | undefined {
  const outputs = evaluatePrf(secrets, userVerified, salts.salt1, salts.salt2);
  if (outputs === undefined) return undefined;
  const plaintext = joinPrfOutputs(outputs);
  try {
    return salts.shared.protocol.encrypt(salts.shared.secret, plaintext, (n) => random.bytes(n));
  } finally {
    wipe(plaintext);
  }
}

export function wipeHmacSecretSalts(salts: HmacSecretSalts | undefined): void {
  if (salts === undefined) return;
  wipe(salts.shared.secret, salts.salt1, salts.salt2);
}
