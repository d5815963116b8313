/** Strict CBOR in, CTAP2 canonical CBOR out. Self-contained: no other project module, no `node:*` import. */
export { CborError } from './errors.js';
export type { CborErrorReason } from './errors.js';
export type { CborMap, CborValue } from './value.js';
export { isCborMap } from './value.js';
export { decodeStrict, DEFAULT_MAX_LENGTH, MAX_REQUEST_DEPTH } from './decode.js';
export type { DecodeOptions } from './decode.js';
export { canonicalKeyCompare, encodeCanonical } from './encode.js';
