/**
 * credBlob extension (CTAP 2.2 §12.2): a small opaque blob stored with the credential at
 * creation and returned on request during assertions.
 * @module
 */
import type { CborValue } from '../../cbor/index.js';
import { CtapError, Status } from '../status.js';

export const CRED_BLOB = 'credBlob';

/** Largest credBlob we store (the spec's minimum for authenticators that support it is 32). */
export const MAX_CRED_BLOB_LENGTH = 32;

/** makeCredential input: the blob to store, which must be a byte string. */
export function readCredBlobCreateInput(value: CborValue | undefined): Uint8Array | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Uint8Array)) throw new CtapError(Status.CBOR_UNEXPECTED_TYPE, 'credBlob input must be bytes');
  return value;
}

/** getAssertion input: `true` asks for the blob. */
export function readCredBlobGetInput(value: CborValue | undefined): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new CtapError(Status.CBOR_UNEXPECTED_TYPE, 'credBlob input must be a boolean');
  return value;
}
