/**
 * Property tests of the byte entry point: whatever bytes arrive, `handle` never throws, always
 * answers a status from the spec's table, and a rejected request leaves the store untouched.
 *
 * Runs: LATCHKEY_PROPERTY_RUNS (default 300) per property.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStrict, type CborMap, type CborValue } from '../../src/cbor/index.js';
import { Authenticator, Command, SPEC_STATUSES, Status, statusName } from '../../src/ctap/index.js';
import { MemoryStore } from '../support/memoryStore.js';
import { approving } from '../support/users.js';
import {
  AAGUID,
  bodyMap,
  concat,
  createCredential,
  encode,
  FakeClock,
  makeCredentialParams,
  options,
  parseAuthData,
  snapshot,
  textMap,
} from '../support/ctapHelpers.js';

const RUNS = Number(process.env['LATCHKEY_PROPERTY_RUNS'] ?? 300);
const TIMEOUT_MS = Math.max(30_000, RUNS * 200);

const RP_IDS = ['example.com', 'login.example.org', 'a.b', 'xn--bcher-kva.example'] as const;

/** An authenticator with a few credentials already stored, to give getAssertion/excludeList something to find. */
async function world() {
  const store = new MemoryStore();
  const clock = new FakeClock();
  const authenticator = new Authenticator({ store, aaguid: AAGUID, clock });
  const ids: Uint8Array[] = [];
  let n = 0;
  for (const rpId of RP_IDS) {
    for (const [rk, credProtect] of [
      [true, 1],
      [true, 2],
      [false, 3],
    ] as const) {
      n++;
      const params = makeCredentialParams({ rpId, userId: Uint8Array.of(n), algs: n % 2 ? [-7] : [-8] });
      params.set(0x06, textMap({ credProtect, credBlob: Uint8Array.of(n) }));
      if (rk) params.set(0x07, options({ rk }));
      ids.push((await createCredential(authenticator, approving(), params)).id);
    }
  }
  return { store, clock, authenticator, ids };
}

// ---- generators of valid requests ------------------------------------------------------------------

const bytesArb = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const rpIdArb = fc.oneof(fc.constantFrom(...RP_IDS), fc.domain(), fc.string({ minLength: 1, maxLength: 30 }));
const textArb = fc.string({ unit: 'grapheme', maxLength: 24 });
const optionalBool = fc.option(fc.boolean(), { nil: undefined });

function descriptorsArb(known: readonly Uint8Array[]) {
  return fc.array(
    fc.record({
      id: fc.oneof(fc.constantFrom(...known), bytesArb(1, 64)),
      transports: fc.option(fc.subarray(['usb', 'nfc', 'ble', 'internal', 'hybrid']), { nil: undefined }),
    }),
    { maxLength: 4 },
  );
}

function descriptorValues(list: { id: Uint8Array; transports: string[] | undefined }[]): CborValue[] {
  return list.map(({ id, transports }) => {
    const map: CborMap = textMap({ id, type: 'public-key' });
    if (transports !== undefined) map.set('transports', transports);
    return map;
  });
}

function makeCredentialArb(known: readonly Uint8Array[]) {
  return fc
    .record({
      clientDataHash: bytesArb(32, 32),
      rpId: rpIdArb,
      rpName: fc.option(textArb, { nil: undefined }),
      userId: bytesArb(1, 64),
      userName: fc.option(textArb, { nil: undefined }),
      displayName: fc.option(textArb, { nil: undefined }),
      algs: fc.array(fc.oneof(fc.constantFrom(-7, -8, -257, -35, -36), fc.integer({ min: -70000, max: 70000 })), { maxLength: 5 }),
      exclude: fc.option(descriptorsArb(known), { nil: undefined }),
      credProtect: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      credBlob: fc.option(bytesArb(0, 40), { nil: undefined }),
      unknownExtension: fc.option(fc.boolean(), { nil: undefined }),
      rk: optionalBool,
      uv: optionalBool,
      upTrue: fc.boolean(),
    })
    .map((r) => {
      const params = new Map<number, CborValue>([
        [0x01, r.clientDataHash],
        [0x02, textMap({ id: r.rpId, ...(r.rpName !== undefined ? { name: r.rpName } : {}) })],
        [
          0x03,
          textMap({
            id: r.userId,
            ...(r.userName !== undefined ? { name: r.userName } : {}),
            ...(r.displayName !== undefined ? { displayName: r.displayName } : {}),
          }),
        ],
        // Always one supported algorithm, somewhere in the list.
        [0x04, [...r.algs, -7].map((alg) => textMap({ alg, type: 'public-key' }))],
      ]);
      if (r.exclude !== undefined) params.set(0x05, descriptorValues(r.exclude));
      const extensions = textMap({});
      if (r.credProtect !== undefined) extensions.set('credProtect', r.credProtect);
      if (r.credBlob !== undefined) extensions.set('credBlob', r.credBlob);
      if (r.unknownExtension !== undefined) extensions.set('unknownExt', r.unknownExtension);
      if (extensions.size > 0) params.set(0x06, extensions);
      const opts = textMap({});
      if (r.rk !== undefined) opts.set('rk', r.rk);
      if (r.uv !== undefined) opts.set('uv', r.uv);
      if (r.upTrue) opts.set('up', true);
      if (opts.size > 0) params.set(0x07, opts);
      return params;
    });
}

function getAssertionArb(known: readonly Uint8Array[]) {
  return fc
    .record({
      rpId: rpIdArb,
      clientDataHash: bytesArb(32, 32),
      allow: fc.option(descriptorsArb(known), { nil: undefined }),
      credBlob: optionalBool,
      up: optionalBool,
      uv: optionalBool,
    })
    .map((r) => {
      const params = new Map<number, CborValue>([
        [0x01, r.rpId],
        [0x02, r.clientDataHash],
      ]);
      if (r.allow !== undefined) params.set(0x03, descriptorValues(r.allow));
      if (r.credBlob !== undefined) params.set(0x04, textMap({ credBlob: r.credBlob }));
      const opts = textMap({});
      if (r.up !== undefined) opts.set('up', r.up);
      if (r.uv !== undefined) opts.set('uv', r.uv);
      if (opts.size > 0) params.set(0x05, opts);
      return params;
    });
}

// ---- mutations -----------------------------------------------------------------------------------

/** Any CBOR value our encoder accepts (used to replace a value by one of another type). */
const anyCbor: fc.Arbitrary<CborValue> = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.integer(),
    fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }),
    fc.string({ maxLength: 8 }),
    bytesArb(0, 40),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.array(fc.tuple(fc.oneof(fc.integer({ min: -30, max: 30 }), fc.string({ maxLength: 6 })), tie('value')), { maxLength: 3 }).map(
      (entries) => new Map<CborValue, CborValue>(entries),
    ),
  ),
})).value;

function cborType(v: CborValue | undefined): string {
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof Map) return 'map';
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v === 'bigint' ? 'number' : typeof v;
}

/** Every (container, key) path in a request, for structural mutations. */
function paths(value: CborValue, out: Array<{ parent: CborMap | CborValue[]; key: CborValue }> = []) {
  if (value instanceof Map) {
    for (const [k, v] of value) {
      out.push({ parent: value, key: k });
      paths(v, out);
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push({ parent: value, key: i });
      paths(v, out);
    });
  }
  return out;
}

function clone(value: CborValue): CborValue {
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, clone(v)]));
  if (Array.isArray(value)) return value.map(clone);
  if (value instanceof Uint8Array) return value.slice();
  return value;
}

type Mutation =
  | { kind: 'none' }
  | { kind: 'drop'; pick: number }
  | { kind: 'retype'; pick: number; value: CborValue }
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'duplicate'; pick: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('retype' as const), pick: fc.nat(), value: anyCbor }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: bytesArb(1, 4) }),
  fc.record({ kind: fc.constant('duplicate' as const), pick: fc.nat() }),
);

/** Applies a mutation; returns the bytes and, where it is certain, the status that must come back. */
function mutate(request: Map<number, CborValue>, m: Mutation): { bytes: Uint8Array; mustBe?: number } {
  switch (m.kind) {
    case 'none':
      return { bytes: encode(request) };
    case 'drop':
    case 'retype': {
      const copy = clone(request) as CborMap;
      const all = paths(copy);
      const target = all[m.pick % all.length]!;
      if (m.kind === 'drop') {
        if (target.parent instanceof Map) target.parent.delete(target.key);
        else target.parent.splice(target.key as number, 1);
      } else {
        const current = target.parent instanceof Map ? target.parent.get(target.key) : target.parent[target.key as number];
        if (cborType(current) === cborType(m.value)) return { bytes: encode(request) };
        if (target.parent instanceof Map) target.parent.set(target.key, m.value);
        else target.parent[target.key as number] = m.value;
      }
      return { bytes: encode(copy) };
    }
    case 'flip': {
      const bytes = encode(request);
      const at = m.at % bytes.length;
      bytes[at] = bytes[at]! ^ m.mask;
      return { bytes };
    }
    case 'truncate': {
      const bytes = encode(request);
      // A strict prefix of one data item is never a complete item.
      return { bytes: bytes.slice(0, m.at % bytes.length), mustBe: Status.INVALID_CBOR };
    }
    case 'insert': {
      const bytes = encode(request);
      const at = m.at % (bytes.length + 1);
      return { bytes: concat(bytes.subarray(0, at), m.bytes, bytes.subarray(at)) };
    }
    case 'duplicate': {
      // Repeat one top-level entry at the byte level (the map header's count goes up by one).
      const bytes = encode(request);
      const keys = [...request.keys()];
      const key = keys[m.pick % keys.length]!;
      expect(bytes[0]! >> 5).toBe(5);
      expect(bytes[0]! & 0x1f).toBe(request.size); // fewer than 24 entries: one-byte header
      return {
        bytes: concat(Uint8Array.of(0xa0 | (request.size + 1)), bytes.subarray(1), encode(key), encode(request.get(key)!)),
        mustBe: Status.INVALID_CBOR,
      };
    }
  }
}

// ---- properties ----------------------------------------------------------------------------------

describe('handle() under random input', () => {
  it(
    'random bytes for every command 0x00..0x10 and any command byte: never throws, always a spec status',
    async () => {
      const { authenticator, store } = await world();
      const ctx = approving();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.integer({ min: 0, max: 0x10 }), fc.integer({ min: 0, max: 0xff })),
          fc.oneof(bytesArb(0, 64), bytesArb(0, 600), fc.constant(new Uint8Array(0))),
          async (command, params) => {
            const before = snapshot(store);
            const response = await authenticator.handle(command, params, ctx);
            expect(SPEC_STATUSES.has(response.status)).toBe(true);
            if (response.status !== Status.OK) {
              expect(response.body).toBeUndefined();
              expect(snapshot(store)).toEqual(before);
            }
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'valid makeCredential requests succeed; mutated ones never throw, answer a spec status, and change nothing when rejected',
    async () => {
      const { authenticator, store, ids } = await world();
      const ctx = approving();
      await fc.assert(
        fc.asyncProperty(makeCredentialArb(ids), mutationArb, async (request, mutation) => {
          const { bytes, mustBe } = mutate(request, mutation);
          const before = snapshot(store);
          const excluded = ((request.get(0x05) as CborMap[] | undefined) ?? []).some((d) => {
            const record = store.findById((request.get(0x02) as CborMap).get('id') as string, d.get('id') as Uint8Array);
            const uv = ((request.get(0x07) as CborMap | undefined)?.get('uv') ?? false) === true;
            return record !== undefined && (record.credProtect !== 3 || uv);
          });
          const userId = ((request.get(0x03) as CborMap).get('id') as Uint8Array);
          const response = await authenticator.handle(Command.MakeCredential, bytes, ctx);
          expect(SPEC_STATUSES.has(response.status)).toBe(true);
          if (mustBe !== undefined) expect(statusName(response.status)).toBe(statusName(mustBe));
          if (mutation.kind === 'none') {
            const rpId = (request.get(0x02) as CborMap).get('id') as string;
            const expected = rpId === '' ? Status.INVALID_PARAMETER : excluded ? Status.CREDENTIAL_EXCLUDED : Status.OK;
            expect(userId.length).toBeGreaterThan(0);
            expect(statusName(response.status)).toBe(statusName(expected));
          }
          if (response.status !== Status.OK) {
            expect(response.body).toBeUndefined();
            expect(snapshot(store)).toEqual(before);
          } else {
            expect(store.writes).toBe(before.writes + 1);
            // The new credential is stored under the RP it was made for; then it goes again, so the
            // store (and the cost of comparing it) stays small however many runs there are.
            const created = parseAuthData(bodyMap(response).get(0x02) as Uint8Array);
            const rpId = (decodeStrict(bytes) as CborMap).get(0x02) as CborMap;
            expect(store.findById(rpId.get('id') as string, created.credentialId!)).toBeDefined();
            store.delete(created.credentialId!);
          }
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'valid getAssertion requests answer OK or NO_CREDENTIALS; mutated ones never throw and change nothing when rejected',
    async () => {
      const { authenticator, store, ids } = await world();
      const ctx = approving();
      await fc.assert(
        fc.asyncProperty(getAssertionArb(ids), mutationArb, fc.boolean(), async (request, mutation, thenNext) => {
          const { bytes, mustBe } = mutate(request, mutation);
          const before = snapshot(store);
          const response = await authenticator.handle(Command.GetAssertion, bytes, ctx);
          expect(SPEC_STATUSES.has(response.status)).toBe(true);
          if (mustBe !== undefined) expect(statusName(response.status)).toBe(statusName(mustBe));
          if (mutation.kind === 'none') {
            const rpId = request.get(0x01) as string;
            const allowed = rpId === '' ? [Status.INVALID_PARAMETER] : [Status.OK, Status.NO_CREDENTIALS];
            expect(allowed.map(statusName)).toContain(statusName(response.status));
          }
          if (response.status !== Status.OK) {
            expect(response.body).toBeUndefined();
            expect(snapshot(store)).toEqual(before);
          }
          if (thenNext) {
            const next = await authenticator.handle(Command.GetNextAssertion, new Uint8Array(0), ctx);
            expect([Status.OK, Status.NOT_ALLOWED].map(statusName)).toContain(statusName(next.status));
          }
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );
});
