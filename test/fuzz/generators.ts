/**
 * Structure-aware generators for the fuzz targets: valid requests of every CTAP command (with
 * real extension inputs: hmac-secret salts encrypted and authenticated for the fuzzed
 * authenticator's key agreement key), then mutated field by field (dropped, retyped, replaced by
 * extreme values, nested, unknown keys added) and byte by byte (flipped, inserted, deleted,
 * truncated, duplicated, length heads rewritten), besides plain random bytes.
 *
 * Everything a generator produces is plain data (bytes, numbers, strings), so a failing input can
 * be written to the regression corpus and replayed exactly.
 */
import { cbc } from '@noble/ciphers/aes.js';
import fc from 'fast-check';
import { encodeCanonical, type CborMap, type CborValue } from '../../src/cbor/index.js';
import type { Platform } from '../ctap/platformPin.js';
import { concat } from '../support/ctapHelpers.js';

export const bytesArb = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const textArb = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('', 'public-key', 'example.com', 'up', 'uv', 'rk', 'credProtect', 'hmac-secret', 'credBlob', 'id', 'alg', 'type'),
);

/** Integers at the edges CBOR and the parsers care about. */
const edgeIntArb = fc.oneof(
  fc.integer({ min: -30, max: 30 }),
  fc.constantFrom(23, 24, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, -(2 ** 31), Number.MIN_SAFE_INTEGER),
  fc.integer(),
);

/** Any CBOR value our encoder writes (used to replace a value by one of another type or shape). */
export const cborValueArb: fc.Arbitrary<CborValue> = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    edgeIntArb,
    fc.bigInt({ min: -(1n << 64n), max: (1n << 64n) - 1n }),
    textArb,
    bytesArb(0, 80),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc
      .uniqueArray(fc.tuple(fc.oneof(fc.integer({ min: -30, max: 30 }), textArb), tie('value')), { maxLength: 4, selector: ([k]) => k })
      .map((entries) => new Map<CborValue, CborValue>(entries)),
  ),
})).value;

/** encodeCanonical, or undefined for values it refuses (e.g. integers beyond 64 bits). */
export function tryEncode(value: CborValue): Uint8Array | undefined {
  try {
    return encodeCanonical(value);
  } catch {
    return undefined;
  }
}

// ---- byte-level mutations ------------------------------------------------------------------------

export type ByteMutation =
  | { readonly kind: 'flip'; readonly at: number; readonly mask: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'duplicate'; readonly at: number; readonly length: number }
  | { readonly kind: 'head'; readonly at: number; readonly ai: number; readonly arg: Uint8Array };

export const byteMutationArb: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0xff, 0x1f, 0x3f, 0x5f, 0x7f, 0x9f, 0xbf, 0xf7, 0xf9, 0xfa, 0xfb, 0xc0, 0xd8) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: bytesArb(1, 9) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 24 }) }),
  // Rewrite the head at `at` to another additional-information form: non-shortest, huge, or indefinite.
  fc.record({ kind: fc.constant('head' as const), at: fc.nat(), ai: fc.constantFrom(24, 25, 26, 27, 28, 31), arg: bytesArb(8, 8) }),
);

export const byteMutationsArb = fc.array(byteMutationArb, { minLength: 1, maxLength: 4 });

export function applyByteMutations(input: Uint8Array, mutations: readonly ByteMutation[]): Uint8Array {
  let bytes: Uint8Array = input.slice();
  for (const m of mutations) {
    const n = bytes.length;
    switch (m.kind) {
      case 'flip':
        if (n > 0) bytes[m.at % n]! ^= m.mask;
        break;
      case 'set':
        if (n > 0) bytes[m.at % n] = m.value;
        break;
      case 'insert': {
        const at = m.at % (n + 1);
        bytes = concatBytes(bytes.subarray(0, at), m.bytes, bytes.subarray(at));
        break;
      }
      case 'delete': {
        if (n === 0) break;
        const at = m.at % n;
        bytes = concatBytes(bytes.subarray(0, at), bytes.subarray(at + m.length));
        break;
      }
      case 'truncate':
        bytes = bytes.slice(0, m.at % (n + 1));
        break;
      case 'duplicate': {
        if (n === 0) break;
        const at = m.at % n;
        const chunk = bytes.subarray(at, at + m.length);
        bytes = concatBytes(bytes.subarray(0, at + chunk.length), chunk, bytes.subarray(at + chunk.length));
        break;
      }
      case 'head': {
        if (n === 0) break;
        const at = m.at % n;
        const major = bytes[at]! & 0xe0;
        const size = { 24: 1, 25: 2, 26: 4, 27: 8, 28: 0, 31: 0 }[m.ai] ?? 0;
        bytes = concatBytes(bytes.subarray(0, at), Uint8Array.of(major | m.ai), m.arg.subarray(0, size), bytes.subarray(at + 1));
        break;
      }
    }
  }
  return bytes;
}

/** Concatenation of byte strings (the shared test helper, under the name the fuzz code uses). */
export const concatBytes: (...parts: Uint8Array[]) => Uint8Array = concat;

// ---- field-level mutations -----------------------------------------------------------------------

export type FieldMutation =
  | { readonly kind: 'drop'; readonly pick: number }
  | { readonly kind: 'replace'; readonly pick: number; readonly value: CborValue }
  | { readonly kind: 'add'; readonly pick: number; readonly key: CborValue; readonly value: CborValue }
  | { readonly kind: 'nest'; readonly pick: number; readonly depth: number; readonly asMap: boolean }
  | { readonly kind: 'grow'; readonly pick: number; readonly size: number; readonly shape: 'bytes' | 'text' | 'array' | 'map' };

export const fieldMutationArb: fc.Arbitrary<FieldMutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: cborValueArb }),
  fc.record({ kind: fc.constant('add' as const), pick: fc.nat(), key: fc.oneof(fc.integer({ min: -5, max: 40 }), textArb), value: cborValueArb }),
  fc.record({ kind: fc.constant('nest' as const), pick: fc.nat(), depth: fc.integer({ min: 1, max: 12 }), asMap: fc.boolean() }),
  fc.record({
    kind: fc.constant('grow' as const),
    pick: fc.nat(),
    size: fc.constantFrom(0, 1, 63, 64, 65, 255, 256, 1023, 1024, 4000, 8000),
    shape: fc.constantFrom('bytes' as const, 'text' as const, 'array' as const, 'map' as const),
  }),
);

export const fieldMutationsArb = fc.array(fieldMutationArb, { minLength: 1, maxLength: 3 });

function clone(value: CborValue): CborValue {
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, clone(v)]));
  if (Array.isArray(value)) return value.map(clone);
  if (value instanceof Uint8Array) return value.slice();
  return value;
}

type Slot = { readonly parent: CborMap | CborValue[]; readonly key: CborValue };

function slots(value: CborValue, out: Slot[] = []): Slot[] {
  if (value instanceof Map) {
    for (const [k, v] of value) {
      out.push({ parent: value, key: k });
      slots(v, out);
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push({ parent: value, key: i });
      slots(v, out);
    });
  }
  return out;
}

function get(slot: Slot): CborValue {
  return slot.parent instanceof Map ? slot.parent.get(slot.key)! : slot.parent[slot.key as number]!;
}

function put(slot: Slot, value: CborValue): void {
  if (slot.parent instanceof Map) slot.parent.set(slot.key, value);
  else slot.parent[slot.key as number] = value;
}

function grown(size: number, shape: 'bytes' | 'text' | 'array' | 'map'): CborValue {
  switch (shape) {
    case 'bytes':
      return new Uint8Array(size).fill(0x41);
    case 'text':
      return 'a'.repeat(size);
    case 'array':
      return Array.from({ length: size }, (_, i) => i);
    case 'map':
      return new Map<CborValue, CborValue>(Array.from({ length: size }, (_, i) => [i, i]));
  }
}

/** Applies field mutations to a copy of `request` (containers found anywhere in it). */
export function applyFieldMutations(request: CborValue, mutations: readonly FieldMutation[]): CborValue {
  const root = clone(request);
  for (const m of mutations) {
    const all = slots(root);
    const containers: (CborMap | CborValue[])[] = [root, ...all.map(get)].filter(
      (v): v is CborMap | CborValue[] => v instanceof Map || Array.isArray(v),
    ) as (CborMap | CborValue[])[];
    if (m.kind === 'add') {
      const target = containers[m.pick % containers.length];
      if (target instanceof Map) target.set(m.key, m.value);
      else target?.push(m.value);
      continue;
    }
    if (all.length === 0) continue;
    const slot = all[m.pick % all.length]!;
    switch (m.kind) {
      case 'drop':
        if (slot.parent instanceof Map) slot.parent.delete(slot.key);
        else slot.parent.splice(slot.key as number, 1);
        break;
      case 'replace':
        put(slot, m.value);
        break;
      case 'nest': {
        let value = get(slot);
        for (let i = 0; i < m.depth; i++) value = m.asMap ? new Map<CborValue, CborValue>([[1, value]]) : [value];
        put(slot, value);
        break;
      }
      case 'grow':
        put(slot, grown(m.size, m.shape));
        break;
    }
  }
  return root;
}

// ---- valid requests ---------------------------------------------------------------------------

/** What the generators may refer to: stored credential ids, RP ids, and platforms agreed with the authenticator. */
export interface GeneratorWorld {
  readonly rpIds: readonly string[];
  readonly credentialIds: readonly Uint8Array[];
  readonly platforms: readonly Platform[];
}

const text = (entries: Record<string, CborValue>): CborMap => new Map<CborValue, CborValue>(Object.entries(entries));

/** Sets `params[key]` to a text-keyed map of the entries that are defined, if any is. */
function putMap(params: CborMap, key: number, entries: Record<string, CborValue | undefined>): void {
  const defined = Object.entries(entries).filter((e): e is [string, CborValue] => e[1] !== undefined);
  if (defined.length > 0) params.set(key, new Map<CborValue, CborValue>(defined));
}

/** Sets each integer key whose value is defined. */
function putDefined(params: CborMap, entries: Record<number, CborValue | undefined>): void {
  for (const [key, value] of Object.entries(entries)) if (value !== undefined) params.set(Number(key), value);
}
/** Present half of the time. */
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
/** Present one time in eight: fields whose presence alone makes a request fail. */
const rare = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 7 }, { arbitrary: arb, weight: 1 });
/** Mostly `usual`, sometimes `odd`. */
const mostly = <T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ arbitrary: usual, weight: 7 }, { arbitrary: odd, weight: 1 });

/** A platform's encryption of `salts` with an IV from the generator (protocol two), so inputs replay exactly. */
function encryptSalts(platform: Platform, salts: Uint8Array, iv: Uint8Array): Uint8Array {
  if (platform.protocol === 1) return cbc(platform.sharedSecret, new Uint8Array(16), { disablePadding: true }).encrypt(salts);
  return concatBytes(iv, cbc(platform.sharedSecret.subarray(32), iv, { disablePadding: true }).encrypt(salts));
}

/** hmac-secret / hmac-secret-mc inputs: valid for the authenticator, or with one part spoiled. */
function hmacSecretInputArb(world: GeneratorWorld): fc.Arbitrary<CborValue> {
  return fc
    .record({
      platform: fc.nat({ max: world.platforms.length - 1 }),
      salts: mostly(fc.oneof(bytesArb(32, 32), bytesArb(64, 64)), bytesArb(0, 80)),
      iv: bytesArb(16, 16),
      spoil: mostly(fc.constant('none'), fc.constantFrom('auth', 'key', 'protocol', 'omit-protocol', 'short-auth')),
    })
    .map(({ platform: index, salts, iv, spoil }) => {
      const platform = world.platforms[index]!;
      const saltEnc = encryptSaltsSafely(platform, salts, iv);
      let saltAuth = platform.authenticate(saltEnc);
      if (spoil === 'auth') saltAuth = saltAuth.map((b) => b ^ 1);
      if (spoil === 'short-auth') saltAuth = saltAuth.subarray(0, 8);
      const key = new Map(platform.keyAgreement);
      if (spoil === 'key') key.set(-2, new Uint8Array(32).fill(7));
      const input = new Map<CborValue, CborValue>([
        [1, key],
        [2, saltEnc],
        [3, saltAuth],
      ]);
      if (spoil === 'protocol') input.set(4, 3);
      else if (spoil !== 'omit-protocol') input.set(4, platform.protocol);
      return input;
    });
}

/** AES-CBC without padding needs whole blocks: other lengths go out as random-looking bytes (a malformed saltEnc). */
function encryptSaltsSafely(platform: Platform, salts: Uint8Array, iv: Uint8Array): Uint8Array {
  return salts.length % 16 === 0 && salts.length > 0 ? encryptSalts(platform, salts, iv) : concatBytes(iv, salts);
}

function descriptorsArb(world: GeneratorWorld) {
  return fc.array(
    fc
      .record({
        id: mostly(fc.constantFrom(...world.credentialIds), bytesArb(0, 70)),
        type: mostly(fc.constant('public-key'), fc.constantFrom('other', '')),
        transports: optional(fc.subarray(['usb', 'nfc', 'ble', 'internal', 'hybrid'])),
      })
      .map(({ id, type, transports }) => {
        const map = text({ id, type });
        if (transports !== undefined) map.set('transports', transports);
        return map as CborValue;
      }),
    { maxLength: 5 },
  );
}

const pinUvArb = fc.record({
  param: rare(fc.oneof(bytesArb(0, 0), bytesArb(16, 16), bytesArb(32, 32), bytesArb(0, 40))),
  protocol: rare(fc.oneof(fc.constantFrom(1, 2), edgeIntArb)),
});

export function makeCredentialArb(world: GeneratorWorld): fc.Arbitrary<CborMap> {
  return fc
    .record({
      clientDataHash: mostly(bytesArb(32, 32), bytesArb(0, 40)),
      rpId: mostly(fc.oneof(fc.constantFrom(...world.rpIds), fc.domain()), textArb),
      rpName: optional(textArb),
      userId: mostly(bytesArb(1, 64), bytesArb(0, 70)),
      userName: optional(textArb),
      displayName: optional(textArb),
      algs: fc.array(fc.oneof(fc.constantFrom(-7, -8, -257, -35, -36, -47), edgeIntArb), { minLength: 0, maxLength: 5 }),
      exclude: optional(descriptorsArb(world)),
      credProtect: optional(mostly(fc.integer({ min: 1, max: 3 }), edgeIntArb)),
      credBlob: optional(bytesArb(0, 40)),
      hmacSecret: optional(fc.boolean()),
      hmacSecretMc: rare(hmacSecretInputArb(world)),
      unknownExtension: rare(cborValueArb),
      rk: optional(fc.boolean()),
      uv: optional(fc.boolean()),
      up: mostly(fc.constantFrom(undefined, true), fc.constant(false)),
      pinUv: pinUvArb,
      enterprise: rare(fc.integer({ min: 0, max: 3 })),
    })
    .map((r) => {
      const params = new Map<CborValue, CborValue>([
        [0x01, r.clientDataHash],
        [0x02, text({ id: r.rpId, ...(r.rpName !== undefined ? { name: r.rpName } : {}) })],
        [
          0x03,
          text({
            id: r.userId,
            ...(r.userName !== undefined ? { name: r.userName } : {}),
            ...(r.displayName !== undefined ? { displayName: r.displayName } : {}),
          }),
        ],
        [0x04, [...r.algs, -7].map((alg) => text({ alg, type: 'public-key' }))],
      ]);
      putDefined(params, { 0x05: r.exclude });
      putMap(params, 0x06, {
        credProtect: r.credProtect,
        credBlob: r.credBlob,
        'hmac-secret': r.hmacSecret,
        'hmac-secret-mc': r.hmacSecretMc,
        'x-unknown': r.unknownExtension,
      });
      putMap(params, 0x07, { rk: r.rk, uv: r.uv, up: r.up });
      putDefined(params, { 0x08: r.pinUv.param, 0x09: r.pinUv.protocol, 0x0a: r.enterprise });
      return params;
    });
}

export function getAssertionArb(world: GeneratorWorld): fc.Arbitrary<CborMap> {
  return fc
    .record({
      rpId: mostly(fc.constantFrom(...world.rpIds), textArb),
      clientDataHash: mostly(bytesArb(32, 32), bytesArb(0, 40)),
      allow: optional(descriptorsArb(world)),
      credBlob: optional(mostly(fc.boolean(), cborValueArb)),
      hmacSecret: optional(hmacSecretInputArb(world)),
      up: mostly(fc.constantFrom(undefined, true), fc.constant(false)),
      uv: optional(fc.boolean()),
      rk: rare(fc.boolean()),
      pinUv: pinUvArb,
    })
    .map((r) => {
      const params = new Map<CborValue, CborValue>([
        [0x01, r.rpId],
        [0x02, r.clientDataHash],
      ]);
      putDefined(params, { 0x03: r.allow });
      putMap(params, 0x04, { credBlob: r.credBlob, 'hmac-secret': r.hmacSecret });
      putMap(params, 0x05, { up: r.up, uv: r.uv, rk: r.rk });
      putDefined(params, { 0x06: r.pinUv.param, 0x07: r.pinUv.protocol });
      return params;
    });
}

export function clientPinArb(world: GeneratorWorld): fc.Arbitrary<CborMap> {
  return fc
    .record({
      protocol: optional(fc.oneof(fc.constantFrom(1, 2), edgeIntArb)),
      subCommand: fc.oneof(fc.integer({ min: 1, max: 10 }), edgeIntArb),
      keyAgreement: optional(
        fc.oneof(
          fc.nat({ max: world.platforms.length - 1 }).map((i) => new Map(world.platforms[i]!.keyAgreement) as CborValue),
          cborValueArb,
        ),
      ),
      pinUvAuthParam: optional(fc.oneof(bytesArb(16, 16), bytesArb(32, 32), bytesArb(0, 40))),
      newPinEnc: optional(fc.oneof(bytesArb(64, 64), bytesArb(80, 80), bytesArb(0, 100))),
      pinHashEnc: optional(fc.oneof(bytesArb(16, 16), bytesArb(32, 32), bytesArb(0, 40))),
      permissions: optional(edgeIntArb),
      rpId: optional(textArb),
    })
    .map((r) => {
      const params = new Map<CborValue, CborValue>([[0x02, r.subCommand]]);
      putDefined(params, {
        0x01: r.protocol,
        0x03: r.keyAgreement,
        0x04: r.pinUvAuthParam,
        0x05: r.newPinEnc,
        0x06: r.pinHashEnc,
        0x09: r.permissions,
        0x0a: r.rpId,
      });
      return params;
    });
}

/** Bytes of a request: valid, field-mutated, byte-mutated, both, or random. */
export function requestBytesArb(valid: fc.Arbitrary<CborValue>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { arbitrary: valid.map((v) => encodeCanonical(v)), weight: 6 },
    { arbitrary: fc.tuple(valid, fieldMutationsArb).map(([v, m]) => tryEncode(applyFieldMutations(v, m)) ?? encodeCanonical(v)), weight: 4 },
    { arbitrary: fc.tuple(valid, byteMutationsArb).map(([v, m]) => applyByteMutations(encodeCanonical(v), m)), weight: 4 },
    {
      arbitrary: fc.tuple(valid, fieldMutationsArb, byteMutationsArb).map(([v, f, b]) =>
        applyByteMutations(tryEncode(applyFieldMutations(v, f)) ?? encodeCanonical(v), b),
      ),
      weight: 2,
    },
    { arbitrary: fc.oneof(bytesArb(0, 16), bytesArb(0, 300)), weight: 1 },
  );
}

/** Inputs that are not requests at all but hostile CBOR: deep nesting, huge declared lengths. */
export const hostileCborArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.record({ depth: fc.integer({ min: 1, max: 20_000 }), head: fc.constantFrom(0x81, 0xa1, 0x9f, 0xbf, 0xc0, 0xd8) }).map(({ depth, head }) => {
    const out = new Uint8Array(depth * (head === 0xa1 ? 2 : head === 0xd8 ? 2 : 1) + 1);
    let p = 0;
    for (let i = 0; i < depth; i++) {
      out[p++] = head;
      if (head === 0xa1 || head === 0xd8) out[p++] = head === 0xa1 ? 0x01 : 0x18;
    }
    out[p] = 0x00;
    return out;
  }),
  fc.record({ major: fc.integer({ min: 0, max: 7 }), ai: fc.constantFrom(24, 25, 26, 27), arg: bytesArb(8, 8), tail: bytesArb(0, 16) }).map(({ major, ai, arg, tail }) =>
    concatBytes(Uint8Array.of((major << 5) | ai), arg.subarray(0, { 24: 1, 25: 2, 26: 4, 27: 8 }[ai]), tail),
  ),
  cborValueArb.map((v) => tryEncode(v) ?? new Uint8Array(0)),
);
