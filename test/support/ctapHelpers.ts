/**
 * Helpers for driving the authenticator core through its byte entry point in tests:
 * request builders, a fake clock, failing stores, an authenticator-data parser and a
 * snapshot of a MemoryStore for before/after comparisons.
 */
import { createHash } from 'node:crypto';
import { decodeStrict, encodeCanonical, type CborMap, type CborValue } from '../../src/cbor/index.js';
import { Authenticator, Command, StoreError, type AuthenticatorOptions, type Clock, type CtapResponse, type RequestContext } from '../../src/ctap/index.js';
import type { CredentialRecord, CredentialSecrets } from '../../src/ctap/ports.js';
import { MemoryStore } from './memoryStore.js';
import { concatBytes } from '../../src/crypto/bytes.js';

export const RP = 'example.com';
export const OTHER_RP = 'other.example';

let counter = 0;

/** A 32-byte client data hash that differs on every call. */
export function clientDataHash(): Uint8Array {
  counter++;
  return new Uint8Array(createHash('sha256').update(`client data ${counter}`).digest());
}

export function sha256(text: string | Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(text).digest());
}

export function bytes(length: number, fill = 0x5a): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

export function textMap(entries: Record<string, CborValue>): CborMap {
  return new Map<CborValue, CborValue>(Object.entries(entries));
}

export function param(alg: CborValue, type: CborValue = 'public-key'): CborMap {
  return textMap({ alg, type });
}

export function descriptor(id: Uint8Array, type: CborValue = 'public-key'): CborMap {
  return textMap({ id, type });
}

/** A valid authenticatorMakeCredential parameter map (CTAP keys 0x01..0x04), to be altered by each test. */
export function makeCredentialParams(
  opts: {
    rpId?: string;
    userId?: Uint8Array;
    userName?: string;
    displayName?: string;
    algs?: number[];
  } = {},
): Map<number, CborValue> {
  return new Map<number, CborValue>([
    [0x01, clientDataHash()],
    [0x02, textMap({ id: opts.rpId ?? RP, name: 'Example' })],
    [
      0x03,
      textMap({
        id: opts.userId ?? Uint8Array.of(1, 2, 3, 4),
        name: opts.userName ?? 'alice@example.com',
        displayName: opts.displayName ?? 'Alice',
      }),
    ],
    [0x04, (opts.algs ?? [-7]).map((alg) => param(alg))],
  ]);
}

/** A valid authenticatorGetAssertion parameter map (keys 0x01..0x02). */
export function getAssertionParams(opts: { rpId?: string; allow?: Uint8Array[] } = {}): Map<number, CborValue> {
  const params = new Map<number, CborValue>([
    [0x01, opts.rpId ?? RP],
    [0x02, clientDataHash()],
  ]);
  if (opts.allow !== undefined) params.set(0x03, opts.allow.map((id) => descriptor(id)));
  return params;
}

export function options(entries: Record<string, CborValue>): CborMap {
  return textMap(entries);
}

export function encode(value: CborValue): Uint8Array {
  return encodeCanonical(value);
}

export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 2 !== 0) throw new Error('odd hex');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Byte strings joined (the project's own helper). */
export const concat = concatBytes;

/** Replaces the one occurrence of `needle` in `haystack` by `replacement` (same length or not). */
export function replaceOnce(haystack: Uint8Array, needle: Uint8Array, replacement: Uint8Array): Uint8Array {
  let found = -1;
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    let match = true;
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) {
        match = false;
        break;
      }
    }
    if (match) {
      if (found !== -1) throw new Error('needle occurs more than once');
      found = i;
    }
  }
  if (found === -1) throw new Error('needle not found');
  return concat(haystack.subarray(0, found), replacement, haystack.subarray(found + needle.length));
}

/** A clock the test moves by hand. */
export class FakeClock implements Clock {
  constructor(public time = 1_700_000_000_000) {}
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

/** A MemoryStore whose `create` fails the way a full or broken store does. */
export class FailingStore extends MemoryStore {
  constructor(private readonly failure: () => Error) {
    super();
  }
  override create(record: CredentialRecord, secrets: CredentialSecrets): void {
    void record;
    void secrets;
    throw this.failure();
  }
}

export function storeFull(): FailingStore {
  return new FailingStore(() => new StoreError('full', 'no room left'));
}

export const AAGUID = Uint8Array.from([0x1a, 0x7c, 0x4e, 0x0b, 0x90, 0x12, 0x4f, 0x3d, 0x8e, 0x55, 0x21, 0x6b, 0xc0, 0xde, 0xfa, 0xce]);

export interface Setup {
  readonly authenticator: Authenticator;
  readonly store: MemoryStore;
  readonly clock: FakeClock;
}

export function setup(options: Partial<AuthenticatorOptions> & { store?: MemoryStore } = {}): Setup {
  const store = options.store ?? new MemoryStore();
  const clock = options.clock instanceof FakeClock ? options.clock : new FakeClock();
  const authenticator = new Authenticator({ aaguid: AAGUID, clock, ...options, store });
  return { authenticator, store, clock };
}

/** Decodes a successful response body as a CBOR map. */
export function bodyMap(response: CtapResponse): CborMap {
  const body = decodeStrict(response.body ?? new Uint8Array(0));
  if (!(body instanceof Map)) throw new Error('the body is not a CBOR map');
  return body;
}

export interface Created {
  readonly id: Uint8Array;
  readonly authData: Uint8Array;
  readonly parsed: ParsedAuthData;
  readonly response: CborMap;
}

/** makeCredential through `handle`; fails the test if the status is not OK. */
export async function createCredential(
  authenticator: Authenticator,
  ctx: RequestContext,
  params: Map<number, CborValue>,
): Promise<Created> {
  const response = await authenticator.handle(Command.MakeCredential, encode(params), ctx);
  if (response.status !== 0) throw new Error(`makeCredential answered 0x${response.status.toString(16)}`);
  const map = bodyMap(response);
  const authData = map.get(0x02);
  if (!(authData instanceof Uint8Array)) throw new Error('no authData');
  const parsed = parseAuthData(authData);
  if (parsed.credentialId === undefined) throw new Error('no attested credential');
  return { id: parsed.credentialId, authData, parsed, response: map };
}

/** Where the CBOR data item starting at `p` ends (definite lengths only, which is all we emit). */
export function cborItemEnd(b: Uint8Array, start: number): number {
  let p = start;
  const ib = b[p];
  if (ib === undefined) throw new Error('truncated CBOR');
  p++;
  const mt = ib >> 5;
  const ai = ib & 0x1f;
  let arg: number;
  if (ai < 24) arg = ai;
  else if (ai === 24) {
    arg = b[p]!;
    p += 1;
  } else if (ai === 25) {
    arg = (b[p]! << 8) | b[p + 1]!;
    p += 2;
  } else if (ai === 26) {
    arg = b[p]! * 0x100_0000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
    p += 4;
  } else if (ai === 27) {
    arg = Number(new DataView(b.buffer, b.byteOffset + p, 8).getBigUint64(0));
    p += 8;
  } else throw new Error('indefinite or reserved CBOR');
  switch (mt) {
    case 2:
    case 3:
      return p + arg;
    case 4:
      for (let i = 0; i < arg; i++) p = cborItemEnd(b, p);
      return p;
    case 5:
      for (let i = 0; i < arg * 2; i++) p = cborItemEnd(b, p);
      return p;
    case 6:
      return cborItemEnd(b, p);
    default:
      return p;
  }
}

export const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40, ED: 0x80 } as const;

export interface ParsedAuthData {
  readonly rpIdHash: Uint8Array;
  readonly flags: number;
  readonly up: boolean;
  readonly uv: boolean;
  readonly be: boolean;
  readonly bs: boolean;
  readonly at: boolean;
  readonly ed: boolean;
  readonly signCount: number;
  readonly aaguid?: Uint8Array | undefined;
  readonly credentialId?: Uint8Array | undefined;
  /** The COSE_Key bytes exactly as they appear in the authenticator data. */
  readonly coseKey?: Uint8Array | undefined;
  readonly extensions?: CborMap | undefined;
}

/** Parses authenticator data (WebAuthn §6.1), checking that nothing is left over. */
export function parseAuthData(authData: Uint8Array): ParsedAuthData {
  if (authData.length < 37) throw new Error('authenticator data too short');
  const flags = authData[32]!;
  const signCount = new DataView(authData.buffer, authData.byteOffset + 33, 4).getUint32(0);
  let p = 37;
  let aaguid: Uint8Array | undefined;
  let credentialId: Uint8Array | undefined;
  let coseKey: Uint8Array | undefined;
  if ((flags & FLAG.AT) !== 0) {
    aaguid = authData.slice(37, 53);
    const length = (authData[53]! << 8) | authData[54]!;
    credentialId = authData.slice(55, 55 + length);
    p = 55 + length;
    const end = cborItemEnd(authData, p);
    coseKey = authData.slice(p, end);
    p = end;
  }
  let extensions: CborMap | undefined;
  if ((flags & FLAG.ED) !== 0) {
    const value = decodeStrict(authData.slice(p)); // throws on anything left after the map
    if (!(value instanceof Map)) throw new Error('extensions are not a map');
    extensions = value;
    p = authData.length;
  }
  if (p !== authData.length) throw new Error(`${authData.length - p} unexplained bytes at the end of authData`);
  return {
    rpIdHash: authData.slice(0, 32),
    flags,
    up: (flags & FLAG.UP) !== 0,
    uv: (flags & FLAG.UV) !== 0,
    be: (flags & FLAG.BE) !== 0,
    bs: (flags & FLAG.BS) !== 0,
    at: (flags & FLAG.AT) !== 0,
    ed: (flags & FLAG.ED) !== 0,
    signCount,
    aaguid,
    credentialId,
    coseKey,
    extensions,
  };
}

/** A deep copy of everything a MemoryStore holds, for before/after comparison. */
export function snapshot(store: MemoryStore): { records: unknown; secrets: unknown; writes: number } {
  return {
    records: structuredClone([...store.records.entries()]),
    secrets: structuredClone([...store.secrets.entries()]),
    writes: store.writes,
  };
}
