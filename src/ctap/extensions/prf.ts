/**
 * The pseudo-random function behind hmac-secret (CTAP 2.2 §12.5), hmac-secret-mc (§12.7) and
 * WebAuthn's PRF extension: one implementation, several wire forms.
 *
 * A credential created with hmac-secret holds two 32-byte random secrets, CredRandomWithUV and
 * CredRandomWithoutUV, sealed in the vault with its private key (they travel with the credential,
 * e.g. in an export). An evaluation uses the first when the user was verified in this ceremony and
 * the second otherwise, so a value derived after UV cannot be obtained without it, and returns
 * HMAC-SHA-256(CredRandom, salt) for one or two 32-byte salts.
 *
 * Wire forms:
 * - CTAP hmac-secret / hmac-secret-mc (./hmacSecret.ts): the salts arrive encrypted to the PIN/UV
 *   auth protocol's shared secret and the outputs leave encrypted the same way.
 * - The Windows plugin transport: salts and outputs cross in the clear inside the request and
 *   response structures (the transport does that mapping, then calls evaluatePrf).
 *
 * WebAuthn's PRF inputs are not salts: the client (browser, Windows) turns each RP input into a
 * salt as SHA-256("WebAuthn PRF" ‖ 0x00 ‖ input) (see {@link webAuthnPrfSalt}), so that no web
 * page can ask for the outputs a native hmac-secret user (a disk unlock) relies on. The
 * authenticator only ever sees and evaluates salts; a transport that receives raw PRF inputs
 * must hash them first, and one that receives salts must not hash them again.
 * @module
 */
import { concatBytes, utf8, wipe } from '../../crypto/bytes.js';
import { hmacSha256, sha256 } from '../../crypto/hash.js';
import type { CredentialSecrets, Random } from '../ports.js';
import { CtapError, Status } from '../status.js';

/** Length of a salt, of an output, and of each CredRandom. */
export const PRF_LENGTH = 32;

/** The two CredRandoms of a new credential, in the shape the store seals. The caller wipes them. */
export function createPrfSecrets(random: Random): Required<Pick<CredentialSecrets, 'hmacSecretWithUv' | 'hmacSecretWithoutUv'>> {
  return { hmacSecretWithUv: random.bytes(PRF_LENGTH), hmacSecretWithoutUv: random.bytes(PRF_LENGTH) };
}

export interface PrfOutputs {
  readonly first: Uint8Array;
  readonly second?: Uint8Array | undefined;
}

/**
 * The raw outputs for one or two 32-byte salts, or undefined when the credential was created
 * without hmac-secret (it has no CredRandom). `uv`: whether the user was verified in this ceremony.
 * Salts of another length answer CTAP1_ERR_INVALID_LENGTH. The caller wipes the outputs.
 */
export function evaluatePrf(
  secrets: CredentialSecrets,
  uv: boolean,
  salt1: Uint8Array,
  salt2?: Uint8Array,
): PrfOutputs | undefined {
  if (salt1.length !== PRF_LENGTH || (salt2 !== undefined && salt2.length !== PRF_LENGTH)) {
    throw new CtapError(Status.INVALID_LENGTH, 'PRF salts are 32 bytes');
  }
  const credRandom = uv ? secrets.hmacSecretWithUv : secrets.hmacSecretWithoutUv;
  if (credRandom === undefined) return undefined;
  return {
    first: hmacSha256(credRandom, salt1),
    second: salt2 === undefined ? undefined : hmacSha256(credRandom, salt2),
  };
}

/** first ‖ second, the plaintext hmac-secret encrypts; wipes the parts. */
export function joinPrfOutputs(outputs: PrfOutputs): Uint8Array {
  const joined = outputs.second === undefined ? outputs.first.slice() : concatBytes(outputs.first, outputs.second);
  wipe(outputs.first, outputs.second);
  return joined;
}

const PRF_CONTEXT = concatBytes(utf8('WebAuthn PRF'), Uint8Array.of(0));

/** WebAuthn §10.1.4: the salt a client derives from an RP's PRF input. */
export function webAuthnPrfSalt(input: Uint8Array): Uint8Array {
  return sha256(concatBytes(PRF_CONTEXT, input));
}
