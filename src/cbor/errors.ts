/**
 * Errors raised by the strict CBOR decoder and the canonical encoder.
 *
 * Messages describe what was wrong and where (a byte offset), never the data itself: request bytes can hold
 * user names, credential ids or secrets, and error messages end up in logs.
 */

/** Why a CBOR input was rejected (decoder) or a value could not be encoded (encoder). Closed set. */
export type CborErrorReason =
  /** Bytes remain after the single top-level data item. */
  | 'trailing-bytes'
  /** Indefinite-length item (additional info 31 on any major type), including a lone 0xff "break". */
  | 'indefinite-length'
  /** An integer, length or count not written in its shortest form. */
  | 'non-shortest'
  /** The same key twice in one map (decoder: same encoded key bytes; encoder: two keys encode identically). */
  | 'duplicate-key'
  /** A tag (major type 6). CTAP2 canonical CBOR has no tags. */
  | 'tag'
  /** A floating-point number (0xf9, 0xfa, 0xfb). */
  | 'float'
  /** A simple value other than false, true and null (e.g. undefined 0xf7, simple(n) 0xe0–0xf3, 0xf8 xx). */
  | 'simple-value'
  /** Additional information 28, 29 or 30: reserved by RFC 8949, never well-formed. */
  | 'reserved-additional-info'
  /** Maps/arrays nested deeper than allowed. */
  | 'too-deep'
  /** The input ends before the item does (a header, a length, or a count that runs past the end). */
  | 'truncated'
  /** A text string that is not valid UTF-8 (decoder), or a JS string with a lone surrogate (encoder). */
  | 'invalid-utf8'
  /** A map key that is neither an integer nor a text string. */
  | 'unsupported-key-type'
  /** The input is longer than the configured maximum. */
  | 'too-large'
  /** The encoder was given something with no CTAP2 canonical CBOR form (undefined, float, object, …). */
  | 'unencodable';

export class CborError extends Error {
  override readonly name = 'CborError';
  readonly reason: CborErrorReason;
  /** Byte offset in the input where the problem was found (decoder only). */
  readonly offset: number | undefined;

  constructor(reason: CborErrorReason, message: string, offset?: number) {
    super(offset === undefined ? `CBOR ${reason}: ${message}` : `CBOR ${reason} at offset ${offset}: ${message}`);
    this.reason = reason;
    this.offset = offset;
  }
}
