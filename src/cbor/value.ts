/**
 * The data model shared by the strict decoder and the canonical encoder.
 *
 * - Integers: `number` when within Number.MIN_SAFE_INTEGER..MAX_SAFE_INTEGER, otherwise `bigint`
 *   (the decoder always produces that split; the encoder accepts either, bigint up to the 64-bit CBOR range).
 * - Byte strings: plain `Uint8Array` (the decoder never returns a Node Buffer).
 * - Text strings: `string`.
 * - Maps: `Map`, in wire order when decoded. Keys are integers or text strings in practice (the decoder rejects
 *   anything else, and so does the encoder).
 * - No floats, tags, `undefined` or other simple values: CTAP2 does not use them.
 */
export type CborValue = number | bigint | string | Uint8Array | boolean | null | CborValue[] | CborMap;

export type CborMap = Map<CborValue, CborValue>;

export function isCborMap(v: unknown): v is CborMap {
  return v instanceof Map;
}
