/**
 * CTAP2 canonical CBOR encoder (CTAP 2.x "Message Encoding"):
 * - integers, lengths and counts in their shortest form; definite lengths only; no tags; no floats;
 * - the keys of every map sorted by major type, then by encoded length, then bytewise (so 1, 2, …, -1, -2, …
 *   and "id" < "alg" < "name" < "type" < "displayName").
 *
 * Hand-written rather than cbor-x: cbor-x adds tags/records by default and never sorts keys. Output is written
 * into a growing Uint8Array (no per-byte array pushes); keys are ordered without encoding them separately.
 */
import { CborError } from './errors.js';
import type { CborMap, CborValue } from './value.js';

/** Nesting limit for the encoder: far above anything CTAP sends, low enough to turn a cyclic value into an error. */
const MAX_ENCODE_DEPTH = 64;

const TWO_32 = 0x1_0000_0000;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
const U64_MAX = (1n << 64n) - 1n;
/** Scratch buffers larger than this are not kept between calls. */
const KEEP_SCRATCH_MAX = 64 * 1024;

/** A validated map key: a safe-integer number, a bigint in the 64-bit CBOR range, or a string. */
type Key = number | bigint | string;

class Writer {
  buf: Uint8Array;
  pos = 0;

  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    if (size < need) size = need;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf.fill(0, 0, this.pos);
    this.buf = next;
  }

  /** Writes an initial byte plus argument `n` (a non-negative integer <= 2^53 - 1) in shortest form. */
  head(mt: number, n: number): void {
    const m = mt << 5;
    if (n < 24) {
      this.ensure(1);
      this.buf[this.pos++] = m | n;
    } else if (n < 0x100) {
      this.ensure(2);
      const b = this.buf;
      b[this.pos] = m | 24;
      b[this.pos + 1] = n;
      this.pos += 2;
    } else if (n < 0x1_0000) {
      this.ensure(3);
      const b = this.buf;
      b[this.pos] = m | 25;
      b[this.pos + 1] = n >>> 8;
      b[this.pos + 2] = n;
      this.pos += 3;
    } else if (n < TWO_32) {
      this.ensure(5);
      this.word(m | 26, n);
    } else {
      this.ensure(9);
      this.buf[this.pos] = m | 27;
      this.pos += 1;
      this.u32(Math.floor(n / TWO_32));
      this.u32(n >>> 0);
    }
  }

  /** Writes an initial byte plus an 8-byte argument (for bigint magnitudes >= 2^53). */
  headBig(mt: number, n: bigint): void {
    this.ensure(9);
    this.buf[this.pos] = (mt << 5) | 27;
    this.pos += 1;
    this.u32(Number(n >> 32n));
    this.u32(Number(n & 0xffff_ffffn));
  }

  word(ib: number, n: number): void {
    this.buf[this.pos] = ib;
    this.pos += 1;
    this.u32(n);
  }

  u32(n: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = n >>> 24;
    b[p + 1] = n >>> 16;
    b[p + 2] = n >>> 8;
    b[p + 3] = n;
    this.pos = p + 4;
  }

  int(v: number): void {
    if (!Number.isSafeInteger(v)) {
      throw new CborError('unencodable', 'numbers must be safe integers (use bigint beyond 2^53; floats are not allowed)');
    }
    if (v >= 0) this.head(0, v);
    else this.head(1, -1 - v);
  }

  bigint(v: bigint): void {
    if (v >= 0n) {
      if (v > U64_MAX) throw new CborError('unencodable', 'integer does not fit in 64 bits');
      if (v <= MAX_SAFE_BIG) this.head(0, Number(v));
      else this.headBig(0, v);
    } else {
      const n = -1n - v;
      if (n > U64_MAX) throw new CborError('unencodable', 'integer does not fit in 64 bits');
      if (n <= MAX_SAFE_BIG) this.head(1, Number(n));
      else this.headBig(1, n);
    }
  }

  text(s: string): void {
    const len = utf8Length(s);
    this.head(3, len);
    this.ensure(len);
    const b = this.buf;
    let p = this.pos;
    if (len === s.length) {
      // All ASCII.
      for (let i = 0; i < len; i++) b[p++] = s.charCodeAt(i);
    } else {
      for (let i = 0; i < s.length; i++) {
        let c = s.charCodeAt(i);
        if (c < 0x80) {
          b[p++] = c;
        } else if (c < 0x800) {
          b[p++] = 0xc0 | (c >> 6);
          b[p++] = 0x80 | (c & 0x3f);
        } else if (c >= 0xd800 && c < 0xdc00) {
          // High surrogate; utf8Length() has checked that a low surrogate follows.
          c = 0x1_0000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
          b[p++] = 0xf0 | (c >> 18);
          b[p++] = 0x80 | ((c >> 12) & 0x3f);
          b[p++] = 0x80 | ((c >> 6) & 0x3f);
          b[p++] = 0x80 | (c & 0x3f);
        } else {
          b[p++] = 0xe0 | (c >> 12);
          b[p++] = 0x80 | ((c >> 6) & 0x3f);
          b[p++] = 0x80 | (c & 0x3f);
        }
      }
    }
    this.pos = p;
  }

  bytes(v: Uint8Array): void {
    this.head(2, v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  value(v: CborValue, depth: number): void {
    switch (typeof v) {
      case 'number':
        return this.int(v);
      case 'bigint':
        return this.bigint(v);
      case 'string':
        return this.text(v);
      case 'boolean':
        this.ensure(1);
        this.buf[this.pos++] = v ? 0xf5 : 0xf4;
        return;
      case 'object':
        if (v === null) {
          this.ensure(1);
          this.buf[this.pos++] = 0xf6;
          return;
        }
        if (v instanceof Uint8Array) return this.bytes(v);
        if (depth >= MAX_ENCODE_DEPTH) throw new CborError('too-deep', `nesting exceeds ${MAX_ENCODE_DEPTH} levels`);
        if (Array.isArray(v)) {
          const n = v.length;
          this.head(4, n);
          for (let i = 0; i < n; i++) this.value(v[i] as CborValue, depth + 1);
          return;
        }
        if (v instanceof Map) return this.map(v, depth);
        throw new CborError('unencodable', 'objects other than Uint8Array, Array and Map cannot be encoded');
      default:
        throw new CborError('unencodable', `a ${typeof v} cannot be encoded`);
    }
  }

  map(m: CborMap, depth: number): void {
    const n = m.size;
    this.head(5, n);
    if (n === 0) return;
    const keys: Key[] = [];
    for (const k of m.keys()) keys.push(checkKey(k));
    // Usually the caller inserted keys in canonical order already: check before sorting.
    let sorted = true;
    for (let i = 1; i < n; i++) {
      const c = compareKeys(keys[i - 1]!, keys[i]!);
      if (c === 0) throw new CborError('duplicate-key', 'two map keys have the same encoding');
      if (c > 0) {
        sorted = false;
        break;
      }
    }
    if (!sorted) {
      keys.sort(compareKeys);
      for (let i = 1; i < n; i++) {
        if (compareKeys(keys[i - 1]!, keys[i]!) === 0) {
          throw new CborError('duplicate-key', 'two map keys have the same encoding');
        }
      }
    }
    for (let i = 0; i < n; i++) {
      const k = keys[i]!;
      if (typeof k === 'number') this.int(k);
      else if (typeof k === 'bigint') this.bigint(k);
      else this.text(k);
      this.value(m.get(k) as CborValue, depth + 1);
    }
  }
}

function checkKey(k: CborValue): Key {
  if (typeof k === 'string') return k;
  if (typeof k === 'number') {
    if (!Number.isSafeInteger(k)) throw new CborError('unencodable', 'map key numbers must be safe integers');
    return k;
  }
  if (typeof k === 'bigint') {
    if (k > U64_MAX || k < -1n - U64_MAX) throw new CborError('unencodable', 'integer key does not fit in 64 bits');
    return k;
  }
  throw new CborError('unsupported-key-type', 'map keys must be integers or text strings');
}

/** Major type a validated key encodes to: 0 (unsigned), 1 (negative) or 3 (text). */
function keyMajor(k: Key): number {
  return typeof k === 'string' ? 3 : k < 0 ? 1 : 0;
}

/**
 * Orders validated keys exactly as {@link canonicalKeyCompare} orders their encodings, without encoding them:
 * - integers of one sign: shortest-form encodings are longer for larger magnitudes and big-endian within a
 *   length, so the order is that of the argument (value for unsigned, -1 - value for negative);
 * - text: the header grows with the UTF-8 length, so shorter UTF-8 first, then bytewise UTF-8, which is
 *   code point order.
 */
function compareKeys(a: Key, b: Key): number {
  const ma = keyMajor(a);
  const mb = keyMajor(b);
  if (ma !== mb) return ma - mb;
  if (ma === 3) return compareText(a as string, b as string);
  // Mixed number/bigint comparison is exact in JS.
  const x = a as number | bigint;
  const y = b as number | bigint;
  if (x === y || x == y) return 0;
  const less = x < y;
  return ma === 0 ? (less ? -1 : 1) : less ? 1 : -1;
}

function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const la = utf8Length(a);
  const lb = utf8Length(b);
  if (la !== lb) return la - lb;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) return codeUnitRank(ca) - codeUnitRank(cb);
  }
  return a.length - b.length;
}

/**
 * Maps a UTF-16 code unit so that comparing ranks at the first differing unit of two well-formed strings gives
 * code point (= UTF-8 byte) order: surrogates (code points >= U+10000) must sort after U+E000..U+FFFF.
 */
function codeUnitRank(c: number): number {
  if (c < 0xd800) return c;
  return c >= 0xe000 ? c - 0x800 : c + 0x2000;
}

/** UTF-8 length of a string; throws 'invalid-utf8' on a lone surrogate (it has no UTF-8 form). */
function utf8Length(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      len += 1;
    } else if (c >= 0xd800 && c < 0xe000) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c >= 0xdc00 || d < 0xdc00 || d >= 0xe000) {
        throw new CborError('invalid-utf8', 'string contains a lone surrogate');
      }
      len += 2; // 2 code units -> 4 bytes
      i++;
    } else {
      len += 2;
    }
  }
  return len;
}

/**
 * Compares two ENCODED map keys in CTAP2 canonical order: major type, then encoded length, then bytewise.
 * Returns a negative number, zero or a positive number.
 */
export function canonicalKeyCompare(a: Uint8Array, b: Uint8Array): number {
  const ma = a.length > 0 ? a[0]! >> 5 : -1;
  const mb = b.length > 0 ? b[0]! >> 5 : -1;
  if (ma !== mb) return ma - mb;
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

let scratch: Uint8Array | null = null;

/**
 * Encodes a value as CTAP2 canonical CBOR. Throws {@link CborError}: 'unencodable' (undefined, functions,
 * non-integer or unsafe numbers, NaN, plain objects, other typed arrays, integers beyond 64 bits),
 * 'unsupported-key-type' (map keys other than integers and strings), 'duplicate-key' (e.g. 1 and 1n in one
 * map), 'invalid-utf8' (lone surrogates) and 'too-deep' (nesting beyond 64, e.g. a cycle).
 */
export function encodeCanonical(value: CborValue): Uint8Array {
  // Reuse one scratch buffer between calls; a re-entrant call (none expected) simply gets a fresh one.
  const w = new Writer(scratch ?? new Uint8Array(256));
  scratch = null;
  try {
    w.value(value, 0);
    return w.buf.slice(0, w.pos);
  } finally {
    // Values may hold secrets on their way to being sealed: leave no copy behind.
    w.buf.fill(0, 0, w.pos);
    if (w.buf.length <= KEEP_SCRATCH_MAX) scratch = w.buf;
  }
}
