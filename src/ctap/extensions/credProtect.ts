/**
 * credProtect extension (CTAP 2.2 §12.1): a per-credential rule for when the credential may be
 * used without user verification.
 * @module
 */
import type { CborValue } from '../../cbor/index.js';
import type { CredProtectLevel } from '../ports.js';
import { CtapError, Status } from '../status.js';

export const CRED_PROTECT = 'credProtect';

export const CredProtect = {
  /** userVerificationOptional */
  Optional: 1,
  /** userVerificationOptionalWithCredentialIDList: discoverable lookups need UV. */
  OptionalWithCredentialIdList: 2,
  /** userVerificationRequired: every use needs UV. */
  Required: 3,
} as const;

/** The requested level, or undefined when absent or not a level we know (then the extension is ignored). */
export function readCredProtectInput(value: CborValue | undefined): CredProtectLevel | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' && typeof value !== 'bigint') {
    throw new CtapError(Status.CBOR_UNEXPECTED_TYPE, 'credProtect input must be an unsigned integer');
  }
  return value === 1 || value === 2 || value === 3 ? value : undefined;
}

/**
 * Whether a credential may be used (CTAP 2.2 §12.1 authenticator processing on getAssertion, and
 * the excludeList check on makeCredential): level 3 needs UV; level 2 needs UV or an allowList.
 */
export function credProtectAllows(level: CredProtectLevel, userVerified: boolean, viaAllowList: boolean): boolean {
  if (level === CredProtect.Required) return userVerified;
  if (level === CredProtect.OptionalWithCredentialIdList) return userVerified || viaAllowList;
  return true;
}
