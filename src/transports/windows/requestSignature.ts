/**
 * Verifying Windows' signature over a plugin request (and the Windows Hello user-verification
 * signature, which has the same construction): the key signs SHA-256 of exactly the request bytes,
 * nothing added. ECDSA P-256 signatures are IEEE P1363 r‖s (DER accepted too); RSA is PKCS#1 v1.5
 * or PSS (32-byte salt, MGF1 with SHA-256), both seen in the field, so both are accepted.
 *
 * The transaction id, window handle and request type are not signed: a request replayed into
 * another transaction verifies if and only if its bytes are identical. Windows documents no
 * freshness guarantee; see the README.
 * @module
 */
import { constants, verify } from 'node:crypto';
import { parseCngPublicKey, type CngPublicKey } from './cngPublicKey.js';

/** The scheme a verified signature used, for logs. */
export type SignatureScheme = 'ecdsa-p1363' | 'ecdsa-der' | 'rsa-pkcs1' | 'rsa-pss';

const P1363_P256_LENGTH = 64;
const PSS_SALT_LENGTH = 32;

/**
 * Verify `signature` over SHA-256(`message`) with a parsed CNG key. Returns the scheme that
 * verified, or undefined. Never throws for a bad signature.
 */
export function verifySignedBytes(key: CngPublicKey, message: Uint8Array, signature: Uint8Array): SignatureScheme | undefined {
  if (signature.length === 0) return undefined;
  try {
    if (key.kind === 'ecdsa-p256') {
      if (signature.length === P1363_P256_LENGTH) {
        return verify('sha256', message, { key: key.key, dsaEncoding: 'ieee-p1363' }, signature) ? 'ecdsa-p1363' : undefined;
      }
      if (signature[0] === 0x30 && signature.length <= 72) {
        return verify('sha256', message, { key: key.key, dsaEncoding: 'der' }, signature) ? 'ecdsa-der' : undefined;
      }
      return undefined;
    }
    if (signature.length !== key.modulusLength) return undefined;
    if (verify('sha256', message, { key: key.key, padding: constants.RSA_PKCS1_PADDING }, signature)) return 'rsa-pkcs1';
    const pss = { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LENGTH };
    return verify('sha256', message, pss, signature) ? 'rsa-pss' : undefined;
  } catch {
    // A malformed signature (bad DER, wrong length for OpenSSL) is just a signature that fails.
    return undefined;
  }
}

export type RequestSignatureCheck =
  | { readonly ok: true; readonly scheme: SignatureScheme; readonly keyKind: CngPublicKey['kind'] }
  | { readonly ok: false; readonly reason: string };

/**
 * Verify a request against the raw CNG blob of the signing key. Fail closed: an unparsable key,
 * an empty or wrong signature all answer `ok: false` with the reason (for the log).
 */
export function verifyRequestSignature(keyBlob: Uint8Array, request: Uint8Array, signature: Uint8Array): RequestSignatureCheck {
  let key: CngPublicKey;
  try {
    key = parseCngPublicKey(keyBlob);
  } catch (error) {
    return { ok: false, reason: `the signing key is unusable: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (signature.length === 0) return { ok: false, reason: 'the request carries no signature' };
  const scheme = verifySignedBytes(key, request, signature);
  if (scheme === undefined) return { ok: false, reason: `the ${key.kind} signature does not verify over SHA-256 of the request bytes` };
  return { ok: true, scheme, keyKind: key.kind };
}
