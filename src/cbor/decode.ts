/**
 * Strict decoder for untrusted CTAP2 requests.
 *
 * One hand-written pass both validates and builds the value; no general-purpose CBOR library ever sees the
 * bytes. Everything CTAP2 canonical CBOR forbids is rejected with a {@link CborError} (see `CborErrorReason`),
 * with one deliberate exception: map keys in non-canonical ORDER are accepted, because platforms are expected
 * to sort but interoperability matters more than that rule. Duplicate keys are always rejected.
 *
 * Resource bounds: the input size is capped (`maxLength`), every length and count is checked against the bytes
 * that remain BEFORE anything is allocated, and recursion depth is bounded by `maxDepth`.
 */
import { CborError } from './errors.js';
import type { CborErrorReason } from './errors.js';
import type { CborMap, CborValue } from './value.js';

/**
 * Default maximum nesting of maps/arrays, counting a top-level map or array as depth 1 (a bare scalar is depth 0).
 * CTAP 2.x limits messages to 4 levels and lets authenticators accept more; 8 leaves headroom for platforms that
 * overshoot while still stopping hostile nesting long before it costs anything.
 */
export const MAX_REQUEST_DEPTH = 8;

/** Default cap on the input size in bytes (1 MiB, far above any CTAP message). */
export const DEFAULT_MAX_LENGTH = 1024 * 1024;

/** Upper bound accepted for the `maxDepth` option, so recursion stays far from the JS stack limit. */
const MAX_DEPTH_LIMIT = 256;

export interface DecodeOptions {
  /** Maximum nesting of maps/arrays (top-level map = 1). Default {@link MAX_REQUEST_DEPTH}. */
  maxDepth?: number;
  /** Maximum input size in bytes; longer input is rejected with 'too-large'. Default {@link DEFAULT_MAX_LENGTH}. */
  maxLength?: number;
}

const TWO_32 = 0x1_0000_0000;
/** High 32-bit word from which a 64-bit argument is >= 2^53 and no longer exactly representable as a number. */
const HI_UNSAFE = 0x20_0000;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decoder state. A class (rather than closures) keeps property access monomorphic and fast. */
class Reader {
  readonly b: Uint8Array;
  readonly end: number;
  readonly maxDepth: number;
  p = 0;
  /** High and low words of the last 8-byte argument (only meaningful right after one was read). */
  hi = 0;
  lo = 0;

  constructor(b: Uint8Array, maxDepth: number) {
    this.b = b;
    this.end = b.length;
    this.maxDepth = maxDepth;
  }

  fail(reason: CborErrorReason, message: string, at: number): never {
    throw new CborError(reason, message, at);
  }

  /**
   * Reads the argument that follows an initial byte with additional info `ai` (0..27) and enforces the shortest
   * form. For 8-byte arguments the result is exact below 2^53; above that it is approximate, and the exact value
   * is in `hi`/`lo` (callers that need it — integers — use them; lengths that large are truncated anyway).
   */
  arg(ai: number, at: number): number {
    if (ai < 24) return ai;
    const b = this.b;
    const p = this.p;
    switch (ai) {
      case 24: {
        if (p + 1 > this.end) this.fail('truncated', 'input ends inside a 1-byte argument', at);
        const v = b[p]!;
        if (v < 24) this.fail('non-shortest', 'value below 24 written with a 1-byte argument', at);
        this.p = p + 1;
        return v;
      }
      case 25: {
        if (p + 2 > this.end) this.fail('truncated', 'input ends inside a 2-byte argument', at);
        const v = (b[p]! << 8) | b[p + 1]!;
        if (v < 0x100) this.fail('non-shortest', 'value below 256 written with a 2-byte argument', at);
        this.p = p + 2;
        return v;
      }
      case 26: {
        if (p + 4 > this.end) this.fail('truncated', 'input ends inside a 4-byte argument', at);
        const v = b[p]! * 0x100_0000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
        if (v < 0x1_0000) this.fail('non-shortest', 'value below 65536 written with a 4-byte argument', at);
        this.p = p + 4;
        return v;
      }
      case 27: {
        if (p + 8 > this.end) this.fail('truncated', 'input ends inside an 8-byte argument', at);
        const hi = b[p]! * 0x100_0000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
        const lo = b[p + 4]! * 0x100_0000 + ((b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!);
        if (hi === 0) this.fail('non-shortest', 'value below 2^32 written with an 8-byte argument', at);
        this.p = p + 8;
        this.hi = hi;
        this.lo = lo;
        return hi * TWO_32 + lo;
      }
      case 31:
        return this.fail('indefinite-length', 'indefinite-length items are not allowed', at);
      default: // 28, 29, 30
        return this.fail('reserved-additional-info', 'reserved additional information value', at);
    }
  }

  /** The exact 64-bit argument last read by `arg(27)`. */
  big(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** Decodes one data item; `depth` is the number of maps/arrays that enclose it. */
  item(depth: number): CborValue {
    const at = this.p;
    if (at >= this.end) this.fail('truncated', 'input ends where a data item should start', at);
    const ib = this.b[at]!;
    this.p = at + 1;
    const mt = ib >> 5;
    const ai = ib & 0x1f;
    switch (mt) {
      case 0: {
        const v = this.arg(ai, at);
        return ai === 27 && this.hi >= HI_UNSAFE ? this.big() : v;
      }
      case 1: {
        const v = this.arg(ai, at);
        // -1 - n is a safe integer iff n <= 2^53 - 2.
        if (ai === 27 && (this.hi >= HI_UNSAFE || v === Number.MAX_SAFE_INTEGER)) return -1n - this.big();
        return -1 - v;
      }
      case 2: {
        const len = this.arg(ai, at);
        const p = this.p;
        if (len > this.end - p) this.fail('truncated', 'byte string length runs past the end of the input', at);
        this.p = p + len;
        // `b` is a plain Uint8Array (see decodeStrict), so slice() is a plain-Uint8Array copy, detached from the
        // caller's buffer (which may be reused by a transport).
        return this.b.slice(p, p + len);
      }
      case 3: {
        const len = this.arg(ai, at);
        const p = this.p;
        if (len > this.end - p) this.fail('truncated', 'text string length runs past the end of the input', at);
        this.p = p + len;
        return this.text(p, len, at);
      }
      case 4: {
        const count = this.arg(ai, at);
        if (depth >= this.maxDepth) this.fail('too-deep', `nesting exceeds ${this.maxDepth} levels`, at);
        // Each element takes at least one byte: a larger count cannot fit, and is rejected before allocating.
        if (count > this.end - this.p) this.fail('truncated', 'array count exceeds the remaining input', at);
        const out: CborValue[] = [];
        for (let i = 0; i < count; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        const count = this.arg(ai, at);
        if (depth >= this.maxDepth) this.fail('too-deep', `nesting exceeds ${this.maxDepth} levels`, at);
        // Each entry takes at least two bytes (key and value).
        if (count > (this.end - this.p) / 2) this.fail('truncated', 'map count exceeds the remaining input', at);
        const out: CborMap = new Map();
        for (let i = 0; i < count; i++) {
          const kat = this.p;
          if (kat >= this.end) this.fail('truncated', 'input ends where a map key should start', kat);
          const kmt = this.b[kat]! >> 5;
          if (kmt !== 0 && kmt !== 1 && kmt !== 3) {
            this.fail('unsupported-key-type', 'map keys must be integers or text strings', kat);
          }
          const key = this.item(depth + 1);
          // Keys are integers in shortest form or text strings checked to be valid UTF-8 (decoded without BOM
          // stripping), so two keys decode to the same JS value (SameValueZero, as Map uses) exactly when their
          // encoded bytes are identical: this IS the comparison of encoded keys, without copying them.
          if (out.has(key)) this.fail('duplicate-key', 'the same key appears twice in a map', kat);
          out.set(key, this.item(depth + 1));
        }
        return out;
      }
      case 6:
        return this.fail('tag', 'tags are not allowed', at);
      default: {
        // Major type 7.
        switch (ai) {
          case 20:
            return false;
          case 21:
            return true;
          case 22:
            return null;
          case 25:
          case 26:
          case 27:
            return this.fail('float', 'floating-point numbers are not allowed', at);
          case 28:
          case 29:
          case 30:
            return this.fail('reserved-additional-info', 'reserved additional information value', at);
          case 31:
            return this.fail('indefinite-length', 'unexpected "break" (indefinite-length items are not allowed)', at);
          default: // 0..19, 23 (undefined), 24 (simple value in the next byte)
            return this.fail('simple-value', 'only false, true and null are allowed as simple values', at);
        }
      }
    }
  }

  text(p: number, len: number, at: number): string {
    const b = this.b;
    // Fast path for short ASCII (the common case: map keys, rp ids, "public-key"): no call into TextDecoder.
    if (len <= 64) {
      let s = '';
      let i = p;
      const e = p + len;
      for (; i < e; i++) {
        const c = b[i]!;
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === e) return s;
    }
    try {
      return utf8.decode(b.subarray(p, p + len));
    } catch {
      return this.fail('invalid-utf8', 'text string is not valid UTF-8', at);
    }
  }
}

/**
 * Decodes exactly one CBOR data item from `bytes`, rejecting anything CTAP2 canonical CBOR forbids (except
 * unsorted map keys). Throws only {@link CborError} for bad input (and RangeError/TypeError for bad arguments).
 *
 * Integers come back as `number` when safe, else `bigint`; byte strings as fresh plain `Uint8Array` copies;
 * maps as `Map` in wire order.
 */
export function decodeStrict(bytes: Uint8Array, options?: DecodeOptions): CborValue {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decodeStrict expects a Uint8Array');
  const maxDepth = options?.maxDepth ?? MAX_REQUEST_DEPTH;
  const maxLength = options?.maxLength ?? DEFAULT_MAX_LENGTH;
  if (!Number.isInteger(maxDepth) || maxDepth < 0 || maxDepth > MAX_DEPTH_LIMIT) {
    throw new RangeError(`maxDepth must be an integer in 0..${MAX_DEPTH_LIMIT}`);
  }
  if (!(maxLength >= 0)) throw new RangeError('maxLength must be a non-negative number');
  if (bytes.length > maxLength) {
    throw new CborError('too-large', `input is ${bytes.length} bytes, the limit is ${maxLength}`);
  }
  // Normalise a Node Buffer (or any subclass) to a plain view of the same memory, so slices are plain too.
  const plain =
    Object.getPrototypeOf(bytes) === Uint8Array.prototype
      ? bytes
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(plain, maxDepth);
  const value = r.item(0);
  if (r.p !== r.end) throw new CborError('trailing-bytes', 'bytes follow the top-level data item', r.p);
  return value;
}
