import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Decoder } from 'cbor-x';
import { decodeStrict, encodeCanonical, canonicalKeyCompare, CborError } from '../../src/cbor/index.js';
import type { CborValue } from '../../src/cbor/index.js';
import { concatBytes } from '../../src/crypto/bytes.js';

// ---- Arbitraries --------------------------------------------------------------------------------------------

const int64 = fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n });
/** Integers with extra weight on header boundaries. */
const boundaryInt = fc.constantFrom(
  0, 23, 24, 255, 256, 65535, 65536, 4294967295, 4294967296, Number.MAX_SAFE_INTEGER,
  -1, -24, -25, -256, -257, -65536, -65537, -4294967296, -4294967297, Number.MIN_SAFE_INTEGER,
);
const integer = fc.oneof(
  fc.integer({ min: -300, max: 300 }),
  fc.integer(),
  fc.maxSafeInteger(),
  boundaryInt,
  int64,
);
/**
 * Characters at UTF-8 length boundaries, and on both sides of the surrogate range (UTF-16 order differs from
 * UTF-8/code point order between U+E000..U+FFFF and U+10000..): short strings of them collide on length often.
 */
const trickyChar = fc.constantFrom('a', 'z', '\u007f', '\u0080', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{10ffff}');
const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: trickyChar, maxLength: 4 }),
);
const key = fc.oneof(integer, text);
/** Keys equal as CBOR (5 and 5n) must not both appear in one map. */
const keyId = (k: CborValue): string => (typeof k === 'string' ? `s:${k}` : `i:${String(k)}`);

const leaf = fc.oneof(
  integer,
  text,
  fc.uint8Array({ maxLength: 40 }),
  fc.boolean(),
  fc.constant(null),
);

const { value } = fc.letrec<{ value: CborValue; array: CborValue[]; map: Map<CborValue, CborValue> }>((tie) => ({
  value: fc.oneof({ maxDepth: 6, depthSize: 'small' }, leaf, tie('array'), tie('map')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  map: fc
    .uniqueArray(fc.tuple(key, tie('value')), { selector: ([k]) => keyId(k), maxLength: 6 })
    .map((entries) => new Map<CborValue, CborValue>(entries)),
}));

// ---- Helpers ------------------------------------------------------------------------------------------------

/** The value the decoder must return for `v`: safe bigints become numbers, Buffers become plain Uint8Arrays. */
function normalise(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (Object.is(v, -0)) return 0;
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(normalise);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [normalise(k), normalise(x)]));
  return v;
}

function onlyCborErrors(bytes: Uint8Array): CborValue | undefined {
  try {
    return decodeStrict(bytes);
  } catch (e) {
    if (!(e instanceof CborError)) throw e;
    return undefined;
  }
}

const runs = { numRuns: 2000 };

// ---- Properties ---------------------------------------------------------------------------------------------

describe('properties', () => {
  it('encode -> decodeStrict -> encode gives identical bytes, and decode returns the value', () => {
    fc.assert(
      fc.property(value, (v) => {
        const a = encodeCanonical(v);
        const d = decodeStrict(a);
        expect(encodeCanonical(d)).toEqual(a);
        expect(d).toEqual(normalise(v));
      }),
      runs,
    );
  });

  it('an independent decoder (cbor-x) reads our output as the same value', () => {
    const cborx = new Decoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });
    fc.assert(
      fc.property(value, (v) => {
        expect(normalise(cborx.decode(encodeCanonical(v)))).toEqual(normalise(v));
      }),
      runs,
    );
  });

  it('map keys come out in canonicalKeyCompare order of their encodings, whatever the insertion order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(key, { selector: keyId, minLength: 1, maxLength: 12 }),
        (keys) => {
          const m = new Map<CborValue, CborValue>(keys.map((k, i) => [k, i]));
          const encodedKeys = keys.map((k) => ({ k, e: encodeCanonical(k) }));
          encodedKeys.sort((x, y) => canonicalKeyCompare(x.e, y.e));
          for (let i = 1; i < encodedKeys.length; i++) {
            expect(canonicalKeyCompare(encodedKeys[i - 1]!.e, encodedKeys[i]!.e)).toBeLessThan(0);
          }
          // map(n) header, n <= 12, then each key's own encoding followed by its value, in sorted order.
          const expected = concatBytes(
            Uint8Array.of(0xa0 | keys.length),
            ...encodedKeys.flatMap(({ k, e }) => [e, encodeCanonical(m.get(k)!)]),
          );
          expect(encodeCanonical(m)).toEqual(expected);
        },
      ),
      runs,
    );
  });

  it('decodeStrict on random bytes throws nothing but CborError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const d = onlyCborErrors(bytes);
        // Whatever is accepted re-encodes to the same length: only the order of map keys may differ.
        if (d !== undefined) expect(encodeCanonical(d).length).toBe(bytes.length);
      }),
      { numRuns: 20_000 },
    );
  });

  it('decodeStrict on mutated valid encodings throws nothing but CborError', () => {
    fc.assert(
      fc.property(
        value,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        (v, edits, cut) => {
          const bytes = encodeCanonical(v).slice();
          for (const [i, b] of edits) if (bytes.length > 0) bytes[i % bytes.length] = b;
          for (const input of [bytes, bytes.subarray(0, cut % (bytes.length + 1))]) {
            const d = onlyCborErrors(input);
            if (d !== undefined) {
              expect(encodeCanonical(d).length).toBe(input.length);
              // Decoding is a function of the bytes: decode(encode(decode(x))) == decode(x).
              expect(decodeStrict(encodeCanonical(d))).toEqual(d);
            }
          }
        },
      ),
      runs,
    );
  });
});
