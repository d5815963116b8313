import { describe, it, expect } from 'vitest';
import {
  decodeStrict,
  encodeCanonical,
  isCborMap,
  CborError,
  MAX_REQUEST_DEPTH,
  DEFAULT_MAX_LENGTH,
} from '../../src/cbor/index.js';
import type { CborErrorReason, CborMap, CborValue } from '../../src/cbor/index.js';
import { hex, toHex, rep } from './hex.js';

function reasonOf(input: Uint8Array, options?: { maxDepth?: number; maxLength?: number }): CborErrorReason | 'accepted' {
  try {
    decodeStrict(input, options);
    return 'accepted';
  } catch (e) {
    if (!(e instanceof CborError)) throw e;
    return e.reason;
  }
}

// Each input is a minimal hand-written encoding; the comment says what its header bytes mean.
const rejections: [string, string, CborErrorReason][] = [
  // trailing bytes
  ['01 00', 'two top-level items', 'trailing-bytes'],
  ['a0 00', 'an empty map then a stray 0', 'trailing-bytes'],
  // indefinite lengths (RFC 8949 A lists the first five as valid CBOR; CTAP forbids them)
  ['9f ff', 'indefinite empty array', 'indefinite-length'],
  ['5f ff', 'indefinite empty byte string', 'indefinite-length'],
  ['bf ff', 'indefinite empty map', 'indefinite-length'],
  ['7f ff', 'indefinite empty text string', 'indefinite-length'],
  ['5f 42 0102 43 030405 ff', 'RFC 8949 A: (_ h\'0102\', h\'030405\')', 'indefinite-length'],
  ['9f 01 82 02 03 9f 04 05 ff ff', 'RFC 8949 A: [_ 1, [2, 3], [_ 4, 5]]', 'indefinite-length'],
  ['bf 61 61 01 61 62 9f 02 03 ff ff', 'RFC 8949 A: {_ "a": 1, "b": [_ 2, 3]}', 'indefinite-length'],
  ['82 01 9f ff', 'indefinite array nested in a definite one', 'indefinite-length'],
  ['ff', 'a lone break byte', 'indefinite-length'],
  ['81 ff', 'a break byte as an array element', 'indefinite-length'],
  ['1f', 'additional info 31 on an unsigned integer', 'indefinite-length'],
  ['3f', 'additional info 31 on a negative integer', 'indefinite-length'],
  // non-shortest integers, lengths and counts
  ['18 05', '5 with a 1-byte argument', 'non-shortest'],
  ['18 17', '23 with a 1-byte argument', 'non-shortest'],
  ['19 00 10', '16 with a 2-byte argument', 'non-shortest'],
  ['19 00 ff', '255 with a 2-byte argument', 'non-shortest'],
  ['1a 00 00 ff ff', '65535 with a 4-byte argument', 'non-shortest'],
  ['1b 00 00 00 00 ff ff ff ff', '2^32 - 1 with an 8-byte argument', 'non-shortest'],
  ['1b 00 00 00 00 00 00 00 00', '0 with an 8-byte argument', 'non-shortest'],
  ['38 17', '-24 with a 1-byte argument', 'non-shortest'],
  ['39 00 ff', '-256 with a 2-byte argument', 'non-shortest'],
  ['58 01 61', 'byte string length 1 with a 1-byte argument', 'non-shortest'],
  ['78 01 61', 'text length 1 with a 1-byte argument', 'non-shortest'],
  ['98 01 01', 'array count 1 with a 1-byte argument', 'non-shortest'],
  ['b8 01 01 01', 'map count 1 with a 1-byte argument', 'non-shortest'],
  ['a1 18 01 00', 'non-shortest integer as a map key', 'non-shortest'],
  // duplicate keys
  ['a2 01 01 01 02', 'key 1 twice', 'duplicate-key'],
  ['a2 61 61 01 61 61 02', 'key "a" twice', 'duplicate-key'],
  ['a2 20 01 20 02', 'key -1 twice', 'duplicate-key'],
  ['a3 01 00 02 00 01 00', 'key 1 twice, not adjacent', 'duplicate-key'],
  ['a1 01 a2 01 01 01 02', 'duplicate inside a nested map', 'duplicate-key'],
  ['a2 1b 0020000000000000 00 1b 0020000000000000 00', 'bigint key 2^53 twice', 'duplicate-key'],
  // tags
  ['c0 74 323031332d30332d32315432303a30343a30305a', 'RFC 8949 A: tag 0 date string', 'tag'],
  ['c1 00', 'tag 1', 'tag'],
  ['c2 49 010000000000000000', 'RFC 8949 A: bignum 2^64', 'tag'],
  ['d8 18 45 6449455446', 'RFC 8949 A: tag 24 (encoded CBOR)', 'tag'],
  ['a1 01 c1 00', 'a tag as a map value', 'tag'],
  // floats
  ['f9 3c 00', 'half-precision 1.0', 'float'],
  ['f9 00 00', 'half-precision 0.0', 'float'],
  ['fa 47 c3 50 00', 'single-precision 100000.0', 'float'],
  ['fb 3f f1 99 99 99 99 99 9a', 'double 1.1', 'float'],
  ['f9 7e 00', 'NaN', 'float'],
  // simple values other than false/true/null
  ['f7', 'undefined', 'simple-value'],
  ['f8 20', 'simple(32) in a following byte', 'simple-value'],
  ['f8 ff', 'simple(255)', 'simple-value'],
  ['f8 18', 'simple(24) (not well-formed either)', 'simple-value'],
  ['e0', 'simple(0)', 'simple-value'],
  ['f0', 'simple(16)', 'simple-value'],
  ['f3', 'simple(19)', 'simple-value'],
  ['a1 01 f7', 'undefined as a map value', 'simple-value'],
  // reserved additional information 28..30
  ['1c', 'unsigned, AI 28', 'reserved-additional-info'],
  ['3d', 'negative, AI 29', 'reserved-additional-info'],
  ['5e', 'byte string, AI 30', 'reserved-additional-info'],
  ['7c', 'text, AI 28', 'reserved-additional-info'],
  ['9d', 'array, AI 29', 'reserved-additional-info'],
  ['be', 'map, AI 30', 'reserved-additional-info'],
  ['fc', 'major 7, AI 28', 'reserved-additional-info'],
  ['fd', 'major 7, AI 29', 'reserved-additional-info'],
  ['fe', 'major 7, AI 30', 'reserved-additional-info'],
  // truncation
  ['', 'empty input', 'truncated'],
  ['18', 'missing 1-byte argument', 'truncated'],
  ['19 01', 'short 2-byte argument', 'truncated'],
  ['1a 00 01 00', 'short 4-byte argument', 'truncated'],
  ['1b 00 00 00 01 00 00 00', 'short 8-byte argument', 'truncated'],
  ['43 01 02', 'byte string length 3, 2 bytes present', 'truncated'],
  ['5a ff ff ff ff 00', 'byte string length 2^32 - 1', 'truncated'],
  ['5b 00 00 00 01 00 00 00 00 00', 'byte string length 2^32', 'truncated'],
  ['5b ff ff ff ff ff ff ff ff', 'byte string length 2^64 - 1', 'truncated'],
  ['63 61 61', 'text length 3, 2 bytes present', 'truncated'],
  ['82 01', 'array of 2 with 1 element', 'truncated'],
  ['9a ff ff ff ff 00', 'array count 2^32 - 1', 'truncated'],
  ['9b 00 00 00 01 00 00 00 00 00', 'array count 2^32', 'truncated'],
  ['a1 01', 'map entry without a value', 'truncated'],
  ['a2 01 02 03', 'second key without a value', 'truncated'],
  ['a2 01 82 01 02', 'second key missing after a composite value', 'truncated'],
  ['ba ff ff ff ff 00 00', 'map count 2^32 - 1', 'truncated'],
  // invalid UTF-8
  ['62 c3 28', 'bad continuation byte', 'invalid-utf8'],
  ['61 ff', '0xff is never UTF-8', 'invalid-utf8'],
  ['61 80', 'lone continuation byte', 'invalid-utf8'],
  ['62 c0 80', 'overlong NUL', 'invalid-utf8'],
  ['63 ed a0 80', 'encoded surrogate U+D800', 'invalid-utf8'],
  ['64 f4 90 80 80', 'beyond U+10FFFF', 'invalid-utf8'],
  ['62 e6 b0', 'truncated 3-byte sequence', 'invalid-utf8'],
  ['a1 62 c3 28 00', 'invalid UTF-8 in a map key', 'invalid-utf8'],
  // map key types
  ['a1 40 00', 'byte-string key', 'unsupported-key-type'],
  ['a1 80 00', 'array key', 'unsupported-key-type'],
  ['a1 a0 00', 'map key', 'unsupported-key-type'],
  ['a1 f4 00', 'false as a key', 'unsupported-key-type'],
  ['a1 f6 00', 'null as a key', 'unsupported-key-type'],
  ['a1 c1 00 00', 'tag as a key', 'unsupported-key-type'],
];

describe('decodeStrict: each rejection with a minimal input', () => {
  for (const [h, what, reason] of rejections) {
    it(`${h || '(empty)'} (${what}) -> ${reason}`, () => {
      expect(reasonOf(hex(h))).toBe(reason);
    });
  }
});

describe('decodeStrict: depth and size limits', () => {
  const nested = (n: number, leaf = '00'): Uint8Array => hex(rep('81', n) + leaf);

  it(`MAX_REQUEST_DEPTH is 8; exactly 8 nested arrays are accepted, 9 are too deep`, () => {
    expect(MAX_REQUEST_DEPTH).toBe(8);
    expect(reasonOf(nested(8))).toBe('accepted');
    expect(reasonOf(nested(9))).toBe('too-deep');
  });

  it('a top-level map counts as depth 1 (maps and arrays mixed)', () => {
    // {1: [{1: [{1: [{1: [0]}]}]}]} = 8 levels
    const eight = hex('a1 01 81 a1 01 81 a1 01 81 a1 01 81 00');
    expect(reasonOf(eight)).toBe('accepted');
    expect(reasonOf(eight, { maxDepth: 7 })).toBe('too-deep');
    expect(reasonOf(hex('a1 01 81 a1 01 81 a1 01 81 a1 01 81 80'))).toBe('too-deep');
  });

  it('maxDepth option: CTAP\'s 4 levels', () => {
    expect(reasonOf(nested(4), { maxDepth: 4 })).toBe('accepted');
    expect(reasonOf(nested(5), { maxDepth: 4 })).toBe('too-deep');
    expect(reasonOf(hex('00'), { maxDepth: 0 })).toBe('accepted');
    expect(reasonOf(hex('80'), { maxDepth: 0 })).toBe('too-deep');
  });

  it('10,000 nested arrays -> too-deep quickly, no stack overflow', () => {
    const t0 = performance.now();
    expect(reasonOf(nested(10_000))).toBe('too-deep');
    expect(reasonOf(hex(rep('a1 01', 10_000) + '00'))).toBe('too-deep');
    expect(performance.now() - t0).toBeLessThan(500); // generous for loaded CI; unbounded recursion would overflow instead
  });

  it('9a ff ff ff ff 00 (array count 2^32 - 1) -> truncated, fast, nothing allocated', () => {
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) expect(reasonOf(hex('9a ffffffff 00'))).toBe('truncated');
    expect(reasonOf(hex('9b ffffffffffffffff 00'))).toBe('truncated');
    expect(performance.now() - t0).toBeLessThan(500); // allocating 2^32 slots would take seconds or crash
  });

  it('maxLength: input above the limit -> too-large (checked before parsing)', () => {
    expect(DEFAULT_MAX_LENGTH).toBe(1024 * 1024);
    const ten = hex('49 000102030405060708');
    expect(reasonOf(ten, { maxLength: 10 })).toBe('accepted');
    expect(reasonOf(ten, { maxLength: 9 })).toBe('too-large');
    expect(reasonOf(new Uint8Array(DEFAULT_MAX_LENGTH + 1))).toBe('too-large');
  });

  it('bad options are a programming error (RangeError), not a CborError', () => {
    expect(() => decodeStrict(hex('00'), { maxDepth: -1 })).toThrow(RangeError);
    expect(() => decodeStrict(hex('00'), { maxDepth: 1.5 })).toThrow(RangeError);
    expect(() => decodeStrict(hex('00'), { maxDepth: 100_000 })).toThrow(RangeError);
    expect(() => decodeStrict(hex('00'), { maxLength: NaN })).toThrow(RangeError);
  });
});

describe('decodeStrict: accepted values', () => {
  const dec = (h: string): CborValue => decodeStrict(hex(h));

  it('integers: number when safe, bigint otherwise', () => {
    expect(dec('00')).toBe(0);
    expect(dec('17')).toBe(23);
    expect(dec('18 18')).toBe(24);
    expect(dec('19 0100')).toBe(256);
    expect(dec('1a 00010000')).toBe(65536);
    expect(dec('1b 0000000100000000')).toBe(4294967296);
    expect(dec('1b 001fffffffffffff')).toBe(Number.MAX_SAFE_INTEGER);
    expect(dec('1b 0020000000000000')).toBe(2n ** 53n);
    expect(dec('1b ffffffffffffffff')).toBe(2n ** 64n - 1n);
    expect(dec('20')).toBe(-1);
    expect(dec('37')).toBe(-24);
    expect(dec('38 18')).toBe(-25);
    expect(dec('39 0100')).toBe(-257);
    expect(dec('3a ffffffff')).toBe(-4294967296);
    expect(dec('3b 001ffffffffffffe')).toBe(Number.MIN_SAFE_INTEGER);
    expect(dec('3b 001fffffffffffff')).toBe(-(2n ** 53n));
    expect(dec('3b ffffffffffffffff')).toBe(-(2n ** 64n));
  });

  it('simple values and strings', () => {
    expect(dec('f4')).toBe(false);
    expect(dec('f5')).toBe(true);
    expect(dec('f6')).toBe(null);
    expect(dec('60')).toBe('');
    expect(dec('64 f0908591')).toBe('\ud800\udd51');
    expect(dec('63 e6b0b4')).toBe('\u6c34');
    expect(dec('63 efbbbf')).toBe('\ufeff'); // a BOM is data, not stripped
    expect(dec('78 18' + rep('61', 24))).toBe('a'.repeat(24));
    expect(dec('79 0100' + rep('c3bc', 128))).toBe('\u00fc'.repeat(128));
  });

  it('byte strings come back as plain Uint8Array copies, even from a Node Buffer', () => {
    const input = Buffer.from(hex('82 42 0102 40'));
    const v = decodeStrict(input) as Uint8Array[];
    expect(Object.getPrototypeOf(v[0])).toBe(Uint8Array.prototype);
    expect(Buffer.isBuffer(v[0])).toBe(false);
    expect(toHex(v[0]!)).toBe('0102');
    expect(v[1]!.length).toBe(0);
    input[2] = 0xff; // the caller reusing its buffer must not change decoded values
    expect(toHex(v[0]!)).toBe('0102');
  });

  it('a view into a larger buffer decodes only its own bytes', () => {
    const big = hex('ff ff 82 01 02 ff');
    expect(decodeStrict(big.subarray(2, 5))).toEqual([1, 2]);
  });

  it('maps keep wire order; unsorted keys are accepted; isCborMap', () => {
    const m = dec('a3 20 00 02 00 61 61 00');
    expect(isCborMap(m)).toBe(true);
    expect([...(m as CborMap).keys()]).toEqual([-1, 2, 'a']);
    expect(isCborMap([])).toBe(false);
    expect(isCborMap(null)).toBe(false);
  });

  it('RFC 8949 Appendix A values without floats or tags', () => {
    const cases: [string, CborValue][] = [
      ['0a', 10],
      ['1864', 100],
      ['1903e8', 1000],
      ['1a000f4240', 1000000],
      ['1b000000e8d4a51000', 1000000000000],
      ['29', -10],
      ['3863', -100],
      ['3903e7', -1000],
      ['6449455446', 'IETF'],
      ['62225c', '"\\'],
      ['62c3bc', '\u00fc'],
      ['4401020304', hex('01020304')],
      ['80', []],
      ['83010203', [1, 2, 3]],
      ['8301820203820405', [1, [2, 3], [4, 5]]],
      ['98190102030405060708090a0b0c0d0e0f101112131415161718181819', Array.from({ length: 25 }, (_, i) => i + 1)],
      ['a0', new Map()],
      ['a201020304', new Map([[1, 2], [3, 4]])],
      ['a26161016162820203', new Map<CborValue, CborValue>([['a', 1], ['b', [2, 3]]])],
      ['826161a161626163', ['a', new Map([['b', 'c']])]],
    ];
    for (const [h, v] of cases) {
      expect(decodeStrict(hex(h)), h).toEqual(v);
      expect(toHex(encodeCanonical(decodeStrict(hex(h))))).toBe(h);
    }
  });
});

describe('decodeStrict: a real makeCredential request', () => {
  // The authenticatorMakeCredential example from the CTAP 2.0 specification (§5.1 example), without its
  // leading command byte 0x01; annotated by hand.
  const request = hex(`
    a5
      01 5820 687134968222ec17202e42505f8ed2b16ae22f16bb05b88c25db9e602645f141
      02 a2
         62 6964  6b 6578616d706c652e636f6d
         64 6e616d65  64 41636d65
      03 a4
         62 6964  5820 3082019330820138a0030201023082019330820138a003020102308201933082
         64 69636f6e  782b 68747470733a2f2f706963732e6578616d706c652e636f6d2f30302f702f61426a6a6a707150622e706e67
         64 6e616d65  76 6a6f686e70736d697468406578616d706c652e636f6d
         6b 646973706c61794e616d65  6d 4a6f686e20502e20536d697468
      04 82
         a2 63 616c67 26  64 74797065 6a 7075626c69632d6b6579
         a2 63 616c67 390100  64 74797065 6a 7075626c69632d6b6579
      07 a1 62 726b f5
  `);

  it('is accepted with the expected structure', () => {
    const m = decodeStrict(request);
    if (!isCborMap(m)) throw new Error('not a map');
    expect([...m.keys()]).toEqual([1, 2, 3, 4, 7]);
    expect(toHex(m.get(1) as Uint8Array)).toBe('687134968222ec17202e42505f8ed2b16ae22f16bb05b88c25db9e602645f141');
    expect(m.get(2)).toEqual(new Map([['id', 'example.com'], ['name', 'Acme']]));
    const user = m.get(3) as CborMap;
    expect(user.get('name')).toBe('johnpsmith@example.com');
    expect(user.get('displayName')).toBe('John P. Smith');
    expect(user.get('icon')).toBe('https://pics.example.com/00/p/aBjjjpqPb.png');
    expect((user.get('id') as Uint8Array).length).toBe(32);
    expect(m.get(4)).toEqual([
      new Map<CborValue, CborValue>([['alg', -7], ['type', 'public-key']]),
      new Map<CborValue, CborValue>([['alg', -257], ['type', 'public-key']]),
    ]);
    expect(m.get(7)).toEqual(new Map([['rk', true]]));
  });

  it('is already canonical: re-encoding gives the same bytes', () => {
    expect(toHex(encodeCanonical(decodeStrict(request)))).toBe(toHex(request));
  });

  it('fits within CTAP\'s 4 levels', () => {
    expect(reasonOf(request, { maxDepth: 4 })).toBe('accepted');
  });

  it('every strict prefix is rejected as truncated', () => {
    for (let n = 0; n < request.length; n++) expect(reasonOf(request.subarray(0, n))).toBe('truncated');
  });

  it('with the command byte still in front -> trailing-bytes (callers must strip it)', () => {
    const withCmd = new Uint8Array(request.length + 1);
    withCmd[0] = 0x01;
    withCmd.set(request, 1);
    expect(reasonOf(withCmd)).toBe('trailing-bytes');
  });
});

describe('CborError', () => {
  it('messages never contain the data', () => {
    // {"secret": 1, "secret": 2}: the message must not repeat the key text or its bytes.
    const input = hex('a2 66 736563726574 01 66 736563726574 02');
    try {
      decodeStrict(input);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CborError);
      const err = e as CborError;
      expect(err.reason).toBe('duplicate-key');
      expect(err.offset).toBe(9);
      expect(err.name).toBe('CborError');
      expect(err.message).not.toMatch(/secret|736563726574/);
    }
  });
});
