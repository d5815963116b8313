/**
 * Every status the core can answer, reached through the byte entry point `handle` with hand-built
 * CBOR requests; the order of checks where CTAP 2.x defines it; and the two invariants of a rejected
 * request: the user is never asked and the store is never written.
 */
import { describe, expect, it } from 'vitest';
import { decodeStrict, type CborMap, type CborValue } from '../../src/cbor/index.js';
import { Command, Status, StoreError, statusName, type CredentialRecord, type CredentialSecrets, type RequestContext, type UserPrompt, type UserVerdict } from '../../src/ctap/index.js';
import { MemoryStore } from '../support/memoryStore.js';
import { approving, refusing, ScriptedUser } from '../support/users.js';
import {
  bodyMap,
  bytes,
  concat,
  createCredential,
  descriptor,
  encode,
  FailingStore,
  getAssertionParams,
  hex,
  makeCredentialParams,
  options,
  OTHER_RP,
  param,
  replaceOnce,
  RP,
  setup,
  snapshot,
  storeFull,
  textMap,
  type Setup,
} from '../support/ctapHelpers.js';

type Ctx = RequestContext & { user: ScriptedUser };

const MC = Command.MakeCredential;
const GA = Command.GetAssertion;
const utf8 = (s: string) => new TextEncoder().encode(s);

/** A user that can be asked but has no built-in verification method. */
function withoutUv(): Ctx {
  return { user: new ScriptedUser(undefined, false) };
}

/** Sends a request that must be rejected with `status`, without a prompt and without a write. */
async function expectRejected(s: Setup, ctx: Ctx, command: number, params: Uint8Array, status: number): Promise<void> {
  const before = snapshot(s.store);
  const prompts = ctx.user.prompts.length;
  const response = await s.authenticator.handle(command, params, ctx);
  expect(statusName(response.status)).toBe(statusName(status));
  expect(response.body).toBeUndefined();
  expect(ctx.user.prompts.slice(prompts)).toEqual([]);
  expect(snapshot(s.store)).toEqual(before);
}

async function expectOk(s: Setup, ctx: Ctx, command: number, params: Uint8Array) {
  const response = await s.authenticator.handle(command, params, ctx);
  expect(statusName(response.status)).toBe(statusName(Status.OK));
  return response;
}

/** Registers a credential with its own (approving) user, so the tested ctx's prompts stay clean. */
async function register(
  s: Setup,
  opts: { rpId?: string; userId?: Uint8Array; rk?: boolean; credProtect?: number; algs?: number[] } = {},
) {
  const params = makeCredentialParams({
    ...(opts.rpId !== undefined ? { rpId: opts.rpId } : {}),
    ...(opts.userId !== undefined ? { userId: opts.userId } : {}),
    ...(opts.algs !== undefined ? { algs: opts.algs } : {}),
  });
  if (opts.rk === true) params.set(0x07, options({ rk: true }));
  if (opts.credProtect !== undefined) params.set(0x06, textMap({ credProtect: opts.credProtect }));
  return createCredential(s.authenticator, approving(), params);
}

const nested = (map: Map<number, CborValue>, key: number) => map.get(key) as CborMap;
const firstOf = (map: Map<number, CborValue>, key: number) => (map.get(key) as CborValue[])[0] as CborMap;

describe('CTAP1_ERR_INVALID_COMMAND', () => {
  // 0x07 reset, 0x09 bio, 0x0a credMgmt, 0x0c largeBlobs, 0x0d config are not offered;
  // 0x03, 0x05, 0x42 and 0xff are not commands at all.
  for (const command of [0x03, 0x05, 0x07, 0x09, 0x0a, 0x0c, 0x0d, 0x10, 0x40, 0x41, 0x42, 0xff]) {
    it(`answers 0x${command.toString(16)} with INVALID_COMMAND`, async () => {
      const s = setup();
      await expectRejected(s, approving(), command, new Uint8Array(0), Status.INVALID_COMMAND);
      await expectRejected(s, approving(), command, encode(new Map([[1, 1]])), Status.INVALID_COMMAND);
    });
  }
});

describe('CTAP2_ERR_INVALID_CBOR', () => {
  const valid = () => encode(makeCredentialParams());

  const malformed: Array<[string, () => Uint8Array]> = [
    ['empty parameters', () => new Uint8Array(0)],
    ['trailing bytes after the map', () => concat(valid(), hex('00'))],
    ['a second top-level map', () => concat(valid(), hex('a0'))],
    ['an indefinite-length top-level map', () => {
      const v = valid();
      return concat(hex('bf'), v.subarray(1), hex('ff'));
    }],
    ['an indefinite-length text string (rp.id)', () => replaceOnce(valid(), concat(hex('6b'), utf8(RP)), concat(hex('7f6b'), utf8(RP), hex('ff')))],
    ['a non-shortest integer key', () => {
      const v = valid();
      expect(v[1]).toBe(0x01);
      return concat(v.subarray(0, 1), hex('1801'), v.subarray(2));
    }],
    ['a non-shortest negative integer (alg -7 as 38 06)', () => replaceOnce(valid(), concat(hex('63'), utf8('alg'), hex('26')), concat(hex('63'), utf8('alg'), hex('3806')))],
    ['a non-shortest text length', () => replaceOnce(valid(), concat(hex('67'), utf8('Example')), concat(hex('7807'), utf8('Example')))],
    ['a duplicate top-level key', () => {
      const p = makeCredentialParams();
      const v = encode(p);
      expect(v[0]).toBe(0xa4);
      return concat(hex('a5'), v.subarray(1), hex('01'), encode(p.get(1) as Uint8Array));
    }],
    ['a duplicate key inside rp', () => replaceOnce(valid(), concat(hex('a262'), utf8('id')), concat(hex('a362'), utf8('id'), encode(RP), hex('62'), utf8('id')))],
    ['a tag around clientDataHash', () => {
      const v = valid();
      expect(Array.from(v.subarray(0, 4))).toEqual([0xa4, 0x01, 0x58, 0x20]);
      return concat(v.subarray(0, 2), hex('d818'), v.subarray(2));
    }],
    ['a half-precision float for alg', () => replaceOnce(valid(), concat(hex('63'), utf8('alg'), hex('26')), concat(hex('63'), utf8('alg'), hex('f9c700')))],
    ['a double-precision float for alg', () => replaceOnce(valid(), concat(hex('63'), utf8('alg'), hex('26')), concat(hex('63'), utf8('alg'), hex('fbc01c000000000000')))],
    ['undefined as an option value', () => concat(hex('a5'), valid().subarray(1), hex('07a162'), utf8('uv'), hex('f7'))],
    ['a simple value other than true/false/null', () => concat(hex('a5'), valid().subarray(1), hex('07a162'), utf8('uv'), hex('f0'))],
    ['a one-byte simple value', () => concat(hex('a5'), valid().subarray(1), hex('07a162'), utf8('uv'), hex('f820'))],
    ['nesting deeper than the limit', () => concat(hex('a5'), valid().subarray(1), hex('0b'), hex('81'.repeat(12)), hex('80'))],
    ['hostile nesting 7,000 levels deep (still under the size limit)', () => hex('81'.repeat(7_000) + '80')],
    ['the last byte missing', () => valid().slice(0, -1)],
    ['only the first half', () => {
      const v = valid();
      return v.slice(0, v.length >> 1);
    }],
    ['a byte string length past the end', () => hex('a1 01 5a ff ff ff ff 00')],
    ['a map count past the end', () => hex('bb 00 00 00 01 00 00 00 00')],
    ['a reserved additional-information value', () => hex('a1 01 1c')],
    ['a lone break byte', () => hex('ff')],
    ['a byte-string map key', () => hex('a1 41 00 01')],
    ['invalid UTF-8 in user.displayName', () =>
      replaceOnce(encode(makeCredentialParams({ displayName: 'QQQQ' })), concat(hex('64'), utf8('QQQQ')), hex('64 c3 28 a0 a1'))],
    ['an encoded surrogate in user.displayName', () =>
      replaceOnce(encode(makeCredentialParams({ displayName: 'QQQ' })), concat(hex('63'), utf8('QQQ')), hex('63 ed a0 80'))],
    ['a truncated UTF-8 sequence in user.name', () =>
      replaceOnce(encode(makeCredentialParams({ userName: 'QQQQQ' })), concat(hex('65'), utf8('QQQQQ')), hex('65 51 51 51 51 e2'))],
  ];

  for (const [name, build] of malformed) {
    it(`makeCredential with ${name}`, async () => {
      const s = setup();
      await expectRejected(s, approving(), MC, build(), Status.INVALID_CBOR);
    });
  }

  it('getAssertion with trailing bytes, an indefinite map, a duplicate key or a tag', async () => {
    const s = setup();
    await register(s, { rk: true });
    const ga = encode(getAssertionParams());
    expect(ga[0]).toBe(0xa2);
    for (const params of [
      concat(ga, hex('f6')),
      concat(hex('bf'), ga.subarray(1), hex('ff')),
      concat(hex('a3'), ga.subarray(1), hex('01'), encode(RP)),
      concat(hex('c1'), ga),
      ga.slice(0, -3),
    ]) {
      await expectRejected(s, approving(), GA, params, Status.INVALID_CBOR);
    }
    // The same request, well-formed, is fine: the rejection was about the encoding.
    await expectOk(s, approving(), GA, ga);
  });
});

describe('CTAP2_ERR_CBOR_UNEXPECTED_TYPE', () => {
  it('answers a top-level array, integer or text instead of a map', async () => {
    const s = setup();
    for (const command of [MC, GA]) {
      await expectRejected(s, approving(), command, encode([...makeCredentialParams().values()]), Status.CBOR_UNEXPECTED_TYPE);
      await expectRejected(s, approving(), command, encode(1), Status.CBOR_UNEXPECTED_TYPE);
      await expectRejected(s, approving(), command, encode('request'), Status.CBOR_UNEXPECTED_TYPE);
    }
  });

  const mcCases: Array<[string, (p: Map<number, CborValue>) => void]> = [
    ['clientDataHash (0x01) as text', (p) => p.set(0x01, 'x'.repeat(32))],
    ['rp (0x02) as an array', (p) => p.set(0x02, [RP])],
    ['rp.id as bytes', (p) => nested(p, 0x02).set('id', utf8(RP))],
    ['rp.name as an integer', (p) => nested(p, 0x02).set('name', 7)],
    ['rp.icon as an integer', (p) => nested(p, 0x02).set('icon', 7)],
    ['user (0x03) as text', (p) => p.set(0x03, 'alice')],
    ['user.id as text', (p) => nested(p, 0x03).set('id', 'alice')],
    ['user.name as bytes', (p) => nested(p, 0x03).set('name', utf8('alice'))],
    ['user.displayName as an integer', (p) => nested(p, 0x03).set('displayName', 1)],
    ['user.icon as a map', (p) => nested(p, 0x03).set('icon', new Map())],
    ['pubKeyCredParams (0x04) as a map', (p) => p.set(0x04, param(-7))],
    ['a pubKeyCredParams entry as an integer', (p) => p.set(0x04, [-7])],
    ['pubKeyCredParams[].alg as text', (p) => firstOf(p, 0x04).set('alg', 'ES256')],
    ['pubKeyCredParams[].alg as bytes', (p) => firstOf(p, 0x04).set('alg', Uint8Array.of(0x26))],
    ['pubKeyCredParams[].type as an integer', (p) => firstOf(p, 0x04).set('type', 1)],
    ['excludeList (0x05) as a map', (p) => p.set(0x05, descriptor(bytes(16)))],
    ['an excludeList entry as bytes', (p) => p.set(0x05, [bytes(16)])],
    ['excludeList[].id as text', (p) => p.set(0x05, [textMap({ id: 'abc', type: 'public-key' })])],
    ['excludeList[].type as an integer', (p) => p.set(0x05, [textMap({ id: bytes(16), type: 0 })])],
    ['excludeList[].transports as text', (p) => p.set(0x05, [textMap({ id: bytes(16), type: 'public-key', transports: 'usb' })])],
    ['extensions (0x06) as an array', (p) => p.set(0x06, ['credProtect'])],
    ['an extension identifier that is an integer', (p) => p.set(0x06, new Map<CborValue, CborValue>([[1, true]]))],
    ['the credProtect input as text', (p) => p.set(0x06, textMap({ credProtect: 'required' }))],
    ['the credProtect input as a boolean', (p) => p.set(0x06, textMap({ credProtect: true }))],
    ['the credBlob input as text', (p) => p.set(0x06, textMap({ credBlob: 'blob' }))],
    ['the credBlob input as a boolean', (p) => p.set(0x06, textMap({ credBlob: true }))],
    ['options (0x07) as an array', (p) => p.set(0x07, ['rk'])],
    ['options.rk as an integer', (p) => p.set(0x07, options({ rk: 1 }))],
    ['options.up as text', (p) => p.set(0x07, options({ up: 'true' }))],
    ['options.uv as an integer', (p) => p.set(0x07, options({ uv: 1 }))],
    ['options.uv as null', (p) => p.set(0x07, options({ uv: null }))],
    ['pinUvAuthParam (0x08) as text', (p) => p.set(0x08, 'param').set(0x09, 1)],
    ['pinUvAuthProtocol (0x09) as text', (p) => p.set(0x08, bytes(16)).set(0x09, 'one')],
    ['pinUvAuthProtocol as a negative integer', (p) => p.set(0x08, bytes(16)).set(0x09, -1)],
    ['enterpriseAttestation (0x0a) as text', (p) => p.set(0x0a, 'yes')],
    ['attestationFormatsPreference (0x0b) as a map', (p) => p.set(0x0b, textMap({ packed: true }))],
  ];
  for (const [name, mutate] of mcCases) {
    it(`makeCredential with ${name}`, async () => {
      const s = setup();
      const params = makeCredentialParams();
      mutate(params);
      await expectRejected(s, approving(), MC, encode(params), Status.CBOR_UNEXPECTED_TYPE);
    });
  }

  const gaCases: Array<[string, (p: Map<number, CborValue>) => void]> = [
    ['rpId (0x01) as bytes', (p) => p.set(0x01, utf8(RP))],
    ['clientDataHash (0x02) as text', (p) => p.set(0x02, 'x'.repeat(32))],
    ['allowList (0x03) as a map', (p) => p.set(0x03, descriptor(bytes(16)))],
    ['an allowList entry as an integer', (p) => p.set(0x03, [1])],
    ['allowList[].id as text', (p) => p.set(0x03, [textMap({ id: 'abc', type: 'public-key' })])],
    ['allowList[].type as bytes', (p) => p.set(0x03, [textMap({ id: bytes(16), type: utf8('public-key') })])],
    ['allowList[].transports as a map', (p) => p.set(0x03, [textMap({ id: bytes(16), type: 'public-key', transports: new Map() })])],
    ['extensions (0x04) as text', (p) => p.set(0x04, 'credBlob')],
    ['the credBlob input as an integer', (p) => p.set(0x04, textMap({ credBlob: 1 }))],
    ['options (0x05) as text', (p) => p.set(0x05, 'uv')],
    ['options.up as an integer', (p) => p.set(0x05, options({ up: 0 }))],
    ['options.uv as text', (p) => p.set(0x05, options({ uv: 'yes' }))],
    ['options.rk as an integer', (p) => p.set(0x05, options({ rk: 0 }))],
    ['pinUvAuthParam (0x06) as an integer', (p) => p.set(0x06, 5).set(0x07, 1)],
    ['pinUvAuthProtocol (0x07) as text', (p) => p.set(0x06, bytes(16)).set(0x07, '2')],
  ];
  for (const [name, mutate] of gaCases) {
    it(`getAssertion with ${name}`, async () => {
      const s = setup();
      await register(s, { rk: true });
      const params = getAssertionParams();
      mutate(params);
      await expectRejected(s, approving(), GA, encode(params), Status.CBOR_UNEXPECTED_TYPE);
    });
  }

  it('ignores unknown options and extensions whatever their type (they are not type errors)', async () => {
    const s = setup();
    const mc = makeCredentialParams();
    mc.set(0x06, textMap({ futureExtension: [1, 'two'], hmacSecretMc: 7 }));
    mc.set(0x07, options({ futureOption: 'x', ep: 3 }));
    mc.set(0x20, 'unknown top-level key');
    await expectOk(s, approving(), MC, encode(mc));
    const ga = getAssertionParams();
    ga.set(0x04, textMap({ futureExtension: new Map([[1, 2]]) }));
    ga.set(0x05, options({ futureOption: 1 }));
    ga.set(0x09, bytes(3));
    expect((await s.authenticator.handle(GA, encode(ga), approving())).status).toBe(Status.NO_CREDENTIALS);
  });
});

describe('CTAP2_ERR_MISSING_PARAMETER', () => {
  const mcCases: Array<[string, (p: Map<number, CborValue>) => void]> = [
    ['clientDataHash (0x01)', (p) => p.delete(0x01)],
    ['rp (0x02)', (p) => p.delete(0x02)],
    ['user (0x03)', (p) => p.delete(0x03)],
    ['pubKeyCredParams (0x04)', (p) => p.delete(0x04)],
    ['rp.id', (p) => nested(p, 0x02).delete('id')],
    ['user.id', (p) => nested(p, 0x03).delete('id')],
    ['pubKeyCredParams[].alg', (p) => firstOf(p, 0x04).delete('alg')],
    ['pubKeyCredParams[].type', (p) => firstOf(p, 0x04).delete('type')],
    ['excludeList[].id', (p) => p.set(0x05, [textMap({ type: 'public-key' })])],
    ['excludeList[].type', (p) => p.set(0x05, [textMap({ id: bytes(16) })])],
    ['pinUvAuthProtocol when pinUvAuthParam is present', (p) => p.set(0x08, bytes(16))],
  ];
  for (const [name, mutate] of mcCases) {
    it(`makeCredential without ${name}`, async () => {
      const s = setup();
      const params = makeCredentialParams();
      mutate(params);
      await expectRejected(s, approving(), MC, encode(params), Status.MISSING_PARAMETER);
    });
  }

  const gaCases: Array<[string, (p: Map<number, CborValue>) => void]> = [
    ['rpId (0x01)', (p) => p.delete(0x01)],
    ['clientDataHash (0x02)', (p) => p.delete(0x02)],
    ['allowList[].id', (p) => p.set(0x03, [textMap({ type: 'public-key' })])],
    ['allowList[].type', (p) => p.set(0x03, [textMap({ id: bytes(16) })])],
    ['pinUvAuthProtocol when pinUvAuthParam is present', (p) => p.set(0x06, bytes(16))],
  ];
  for (const [name, mutate] of gaCases) {
    it(`getAssertion without ${name}`, async () => {
      const s = setup();
      await register(s, { rk: true });
      const params = getAssertionParams();
      mutate(params);
      await expectRejected(s, approving(), GA, encode(params), Status.MISSING_PARAMETER);
    });
  }

  it('answers an empty map with MISSING_PARAMETER on both commands', async () => {
    const s = setup();
    await expectRejected(s, approving(), MC, encode(new Map()), Status.MISSING_PARAMETER);
    await expectRejected(s, approving(), GA, encode(new Map()), Status.MISSING_PARAMETER);
  });
});

describe('CTAP1_ERR_INVALID_PARAMETER', () => {
  for (const protocol of [0, 3, 0xffff]) {
    it(`answers pinUvAuthProtocol ${protocol} (only 1 and 2 are supported) on both commands`, async () => {
      const s = setup();
      await register(s, { rk: true });
      const mc = makeCredentialParams();
      mc.set(0x08, bytes(32)).set(0x09, protocol);
      await expectRejected(s, approving(), MC, encode(mc), Status.INVALID_PARAMETER);
      const ga = getAssertionParams();
      ga.set(0x06, bytes(32)).set(0x07, protocol);
      await expectRejected(s, approving(), GA, encode(ga), Status.INVALID_PARAMETER);
    });
  }

  for (const ep of [1, 2]) {
    it(`answers enterpriseAttestation ${ep} (not enterprise-attestation capable)`, async () => {
      const s = setup();
      const mc = makeCredentialParams();
      mc.set(0x0a, ep);
      await expectRejected(s, approving(), MC, encode(mc), Status.INVALID_PARAMETER);
    });
  }

  it('answers an empty rp.id / rpId', async () => {
    const s = setup();
    const mc = makeCredentialParams({ rpId: '' });
    await expectRejected(s, approving(), MC, encode(mc), Status.INVALID_PARAMETER);
    await expectRejected(s, approving(), GA, encode(getAssertionParams({ rpId: '' })), Status.INVALID_PARAMETER);
  });
});

describe('CTAP1_ERR_INVALID_LENGTH', () => {
  for (const length of [0, 16, 31, 33, 64]) {
    it(`answers a clientDataHash of ${length} bytes on both commands`, async () => {
      const s = setup();
      await register(s, { rk: true });
      const mc = makeCredentialParams();
      mc.set(0x01, bytes(length));
      await expectRejected(s, approving(), MC, encode(mc), Status.INVALID_LENGTH);
      const ga = getAssertionParams();
      ga.set(0x02, bytes(length));
      await expectRejected(s, approving(), GA, encode(ga), Status.INVALID_LENGTH);
    });
  }

  it('answers a user.id of 65 bytes and of 0 bytes, and accepts 64 and 1', async () => {
    const s = setup();
    await expectRejected(s, approving(), MC, encode(makeCredentialParams({ userId: bytes(65) })), Status.INVALID_LENGTH);
    await expectRejected(s, approving(), MC, encode(makeCredentialParams({ userId: new Uint8Array(0) })), Status.INVALID_LENGTH);
    await expectOk(s, approving(), MC, encode(makeCredentialParams({ userId: bytes(64) })));
    await expectOk(s, approving(), MC, encode(makeCredentialParams({ userId: bytes(1) })));
  });
});

describe('CTAP2_ERR_UNSUPPORTED_ALGORITHM', () => {
  const cases: Array<[string, CborValue[]]> = [
    ['an empty list', []],
    ['only RS256 (-257)', [param(-257)]],
    ['only algorithms we do not offer', [param(-257), param(-35), param(-36), param(-37), param(-47)]],
    ['only an unknown credential type', [param(-7, 'password'), param(-8, 'public-keys')]],
  ];
  for (const [name, list] of cases) {
    it(`answers ${name}`, async () => {
      const s = setup();
      const mc = makeCredentialParams();
      mc.set(0x04, list);
      await expectRejected(s, approving(), MC, encode(mc), Status.UNSUPPORTED_ALGORITHM);
    });
  }

  it('succeeds with one good and one bad parameter, picking the good one whatever the order', async () => {
    const s = setup();
    const lists: Array<[CborValue[], number]> = [
      [[param(-257), param(-7)], -7],
      [[param(-7), param(-257)], -7],
      [[param(-8, 'unknown-type'), param(-8)], -8],
      [[param(-999_999), param(-8)], -8],
      [[param(-8), param(-7)], -8],
    ];
    for (const [list, alg] of lists) {
      const mc = makeCredentialParams();
      mc.set(0x04, list);
      const created = await createCredential(s.authenticator, approving(), mc);
      const cose = decodeStrict(created.parsed.coseKey!) as CborMap;
      expect(cose.get(3)).toBe(alg);
    }
  });
});

describe('CTAP2_ERR_INVALID_OPTION', () => {
  it('answers up=false on makeCredential', async () => {
    const s = setup();
    const mc = makeCredentialParams();
    mc.set(0x07, options({ up: false }));
    await expectRejected(s, approving(), MC, encode(mc), Status.INVALID_OPTION);
  });

  it('answers uv=true when the verifier cannot verify, on both commands', async () => {
    const s = setup();
    await register(s, { rk: true });
    const mc = makeCredentialParams();
    mc.set(0x07, options({ uv: true }));
    await expectRejected(s, withoutUv(), MC, encode(mc), Status.INVALID_OPTION);
    const ga = getAssertionParams();
    ga.set(0x05, options({ uv: true }));
    await expectRejected(s, withoutUv(), GA, encode(ga), Status.INVALID_OPTION);
    // uv=false is fine without a method.
    ga.set(0x05, options({ uv: false }));
    await expectOk(s, withoutUv(), GA, encode(ga));
  });
});

describe('CTAP2_ERR_UNSUPPORTED_OPTION', () => {
  for (const rk of [true, false]) {
    it(`answers rk=${rk} on getAssertion`, async () => {
      const s = setup();
      await register(s, { rk: true });
      const ga = getAssertionParams();
      ga.set(0x05, options({ rk }));
      await expectRejected(s, approving(), GA, encode(ga), Status.UNSUPPORTED_OPTION);
    });
  }
});

describe('CTAP2_ERR_CREDENTIAL_EXCLUDED', () => {
  it('answers after exactly one presence prompt, and writes nothing', async () => {
    const s = setup();
    const existing = await register(s);
    const ctx = approving();
    const mc = makeCredentialParams({ userId: bytes(8, 1) });
    mc.set(0x05, [descriptor(bytes(16, 0xee)), descriptor(existing.id)]);
    const before = snapshot(s.store);
    const response = await s.authenticator.handle(MC, encode(mc), ctx);
    expect(statusName(response.status)).toBe(statusName(Status.CREDENTIAL_EXCLUDED));
    expect(ctx.user.prompts).toHaveLength(1);
    expect(ctx.user.prompts[0]).toMatchObject({ presence: true, verification: false, rpId: RP });
    expect(snapshot(s.store)).toEqual(before);
  });

  it('asks only once when uv already gave presence', async () => {
    const s = setup();
    const existing = await register(s);
    const ctx = approving();
    const mc = makeCredentialParams();
    mc.set(0x05, [descriptor(existing.id)]);
    mc.set(0x07, options({ uv: true }));
    const response = await s.authenticator.handle(MC, encode(mc), ctx);
    expect(response.status).toBe(Status.CREDENTIAL_EXCLUDED);
    expect(ctx.user.prompts).toHaveLength(1);
    expect(ctx.user.prompts[0]).toMatchObject({ presence: true, verification: true });
  });

  it('does not exclude for a credential of another RP', async () => {
    const s = setup();
    const foreign = await register(s, { rpId: OTHER_RP });
    const mc = makeCredentialParams();
    mc.set(0x05, [descriptor(foreign.id)]);
    const created = await createCredential(s.authenticator, approving(), mc);
    expect(created.id).not.toEqual(foreign.id);
    expect(s.store.count()).toBe(2);
  });

  it('does not exclude for an unknown id, nor for an id longer than any credential id', async () => {
    const s = setup();
    await register(s);
    const mc = makeCredentialParams();
    mc.set(0x05, [descriptor(bytes(16, 0x77)), descriptor(bytes(1024, 0x77))]);
    await createCredential(s.authenticator, approving(), mc);
    expect(s.store.count()).toBe(2);
  });

  it('a credProtect=3 credential excludes only after user verification', async () => {
    const s = setup();
    const protectedCred = await register(s, { credProtect: 3 });

    const withoutUvRequest = makeCredentialParams({ userId: bytes(4, 9) });
    withoutUvRequest.set(0x05, [descriptor(protectedCred.id)]);
    await createCredential(s.authenticator, approving(), withoutUvRequest);
    expect(s.store.count()).toBe(2);

    const ctx = approving();
    const withUv = makeCredentialParams({ userId: bytes(4, 10) });
    withUv.set(0x05, [descriptor(protectedCred.id)]);
    withUv.set(0x07, options({ uv: true }));
    const before = snapshot(s.store);
    const response = await s.authenticator.handle(MC, encode(withUv), ctx);
    expect(response.status).toBe(Status.CREDENTIAL_EXCLUDED);
    expect(ctx.user.prompts).toHaveLength(1);
    expect(snapshot(s.store)).toEqual(before);
  });

  it('credProtect=2 credentials still exclude without uv (an excludeList is a credential id list)', async () => {
    const s = setup();
    const cred = await register(s, { credProtect: 2, rk: true });
    const mc = makeCredentialParams({ userId: bytes(4, 11) });
    mc.set(0x05, [descriptor(cred.id)]);
    const ctx = approving();
    const response = await s.authenticator.handle(MC, encode(mc), ctx);
    expect(response.status).toBe(Status.CREDENTIAL_EXCLUDED);
    expect(ctx.user.prompts).toHaveLength(1);
  });
});

describe('CTAP2_ERR_NO_CREDENTIALS', () => {
  it('answers an allowList of unknown ids, without asking the user', async () => {
    const s = setup();
    await register(s, { rk: true });
    await expectRejected(s, approving(), GA, encode(getAssertionParams({ allow: [bytes(16, 1), bytes(32, 2)] })), Status.NO_CREDENTIALS);
  });

  it('treats another RP\'s credential id in the allowList as unknown (solokeys/solo1#306)', async () => {
    const s = setup();
    const bank = await register(s, { rpId: 'bank.example', rk: true });
    await expectRejected(s, approving(), GA, encode(getAssertionParams({ rpId: 'evil.example', allow: [bank.id] })), Status.NO_CREDENTIALS);
    await expectRejected(s, approving(), GA, encode(getAssertionParams({ rpId: 'evil.example' })), Status.NO_CREDENTIALS);
    // A suffix or a parent domain is another RP as well.
    await expectRejected(s, approving(), GA, encode(getAssertionParams({ rpId: 'example', allow: [bank.id] })), Status.NO_CREDENTIALS);
    await expectRejected(s, approving(), GA, encode(getAssertionParams({ rpId: 'www.bank.example', allow: [bank.id] })), Status.NO_CREDENTIALS);
    // The right RP gets it.
    await expectOk(s, approving(), GA, encode(getAssertionParams({ rpId: 'bank.example', allow: [bank.id] })));
  });

  it('answers a discoverable lookup when only non-discoverable credentials exist', async () => {
    const s = setup();
    await register(s, { rk: false });
    await expectRejected(s, approving(), GA, encode(getAssertionParams()), Status.NO_CREDENTIALS);
  });

  it('answers a discoverable lookup for a credProtect=2 credential without uv', async () => {
    const s = setup();
    await register(s, { rk: true, credProtect: 2 });
    await expectRejected(s, approving(), GA, encode(getAssertionParams()), Status.NO_CREDENTIALS);
  });

  it('answers an allowList lookup for a credProtect=3 credential without uv', async () => {
    const s = setup();
    const cred = await register(s, { rk: true, credProtect: 3 });
    await expectRejected(s, approving(), GA, encode(getAssertionParams({ allow: [cred.id] })), Status.NO_CREDENTIALS);
    await expectRejected(s, approving(), GA, encode(getAssertionParams()), Status.NO_CREDENTIALS);
  });

  it('skips descriptors of another type', async () => {
    const s = setup();
    const cred = await register(s, { rk: true });
    const ga = getAssertionParams();
    ga.set(0x03, [descriptor(cred.id, 'not-public-key')]);
    await expectRejected(s, approving(), GA, encode(ga), Status.NO_CREDENTIALS);
  });
});

describe('CTAP2_ERR_NOT_ALLOWED (getNextAssertion)', () => {
  async function threeAccounts(s: Setup) {
    for (let i = 1; i <= 3; i++) {
      s.clock.advance(1000);
      await register(s, { rk: true, userId: bytes(8, i) });
    }
  }

  it('answers when there is no getAssertion to continue', async () => {
    const s = setup();
    await threeAccounts(s);
    await expectRejected(s, approving(), Command.GetNextAssertion, new Uint8Array(0), Status.NOT_ALLOWED);
  });

  it('answers after the list is exhausted', async () => {
    const s = setup();
    await threeAccounts(s);
    const first = await expectOk(s, approving(), GA, encode(getAssertionParams()));
    expect(bodyMap(first).get(0x05)).toBe(3);
    await expectOk(s, approving(), Command.GetNextAssertion, new Uint8Array(0));
    await expectOk(s, approving(), Command.GetNextAssertion, new Uint8Array(0));
    await expectRejected(s, approving(), Command.GetNextAssertion, new Uint8Array(0), Status.NOT_ALLOWED);
    await expectRejected(s, approving(), Command.GetNextAssertion, new Uint8Array(0), Status.NOT_ALLOWED);
  });

  it('answers after a single-credential getAssertion', async () => {
    const s = setup();
    const cred = await register(s, { rk: true });
    await expectOk(s, approving(), GA, encode(getAssertionParams({ allow: [cred.id] })));
    await expectRejected(s, approving(), Command.GetNextAssertion, new Uint8Array(0), Status.NOT_ALLOWED);
  });

  for (const [name, command, params] of [
    ['getInfo', Command.GetInfo, new Uint8Array(0)],
    ['an invalid command', 0x42, new Uint8Array(0)],
    ['a malformed makeCredential', Command.MakeCredential, hex('ff')],
  ] as const) {
    it(`answers after ${name} in between`, async () => {
      const s = setup();
      await threeAccounts(s);
      await expectOk(s, approving(), GA, encode(getAssertionParams()));
      await s.authenticator.handle(command, params, approving());
      await expectRejected(s, approving(), Command.GetNextAssertion, new Uint8Array(0), Status.NOT_ALLOWED);
    });
  }

  it('answers more than 30 s after getAssertion (fake clock), but not before', async () => {
    const s = setup();
    await threeAccounts(s);
    await expectOk(s, approving(), GA, encode(getAssertionParams()));
    s.clock.advance(29_000);
    await expectOk(s, approving(), Command.GetNextAssertion, new Uint8Array(0));

    const late = setup();
    await threeAccounts(late);
    await expectOk(late, approving(), GA, encode(getAssertionParams()));
    late.clock.advance(30_001);
    await expectRejected(late, approving(), Command.GetNextAssertion, new Uint8Array(0), Status.NOT_ALLOWED);
  });

  it('restarts the 30 s timer on each getNextAssertion (CTAP 2.1 §6.3 step 7)', async () => {
    const s = setup();
    await threeAccounts(s);
    await expectOk(s, approving(), GA, encode(getAssertionParams()));
    s.clock.advance(20_000);
    await expectOk(s, approving(), Command.GetNextAssertion, new Uint8Array(0));
    s.clock.advance(20_000); // 40 s after getAssertion, 20 s after the last getNextAssertion
    await expectOk(s, approving(), Command.GetNextAssertion, new Uint8Array(0));
  });
});

describe('user refusals: OPERATION_DENIED, USER_ACTION_TIMEOUT, KEEPALIVE_CANCEL', () => {
  const kinds = [
    ['declined', Status.OPERATION_DENIED],
    ['timeout', Status.USER_ACTION_TIMEOUT],
    ['cancelled', Status.KEEPALIVE_CANCEL],
    ['unavailable', Status.OPERATION_DENIED],
  ] as const;

  for (const [refusal, status] of kinds) {
    it(`maps "${refusal}" to ${statusName(status)} on makeCredential (with and without uv), getAssertion and selection`, async () => {
      const s = setup();
      const cred = await register(s, { rk: true });

      for (const uv of [false, true]) {
        const ctx = refusing(refusal);
        const mc = makeCredentialParams({ userId: bytes(4, 0x42) });
        if (uv) mc.set(0x07, options({ uv: true }));
        const before = snapshot(s.store);
        const response = await s.authenticator.handle(MC, encode(mc), ctx);
        expect(statusName(response.status)).toBe(statusName(status));
        expect(ctx.user.prompts).toHaveLength(1);
        expect(ctx.user.prompts[0]).toMatchObject({ presence: true, verification: uv, reason: 'makeCredential' });
        expect(snapshot(s.store)).toEqual(before);
      }

      for (const params of [getAssertionParams(), getAssertionParams({ allow: [cred.id] })]) {
        const ctx = refusing(refusal);
        const before = snapshot(s.store);
        const response = await s.authenticator.handle(GA, encode(params), ctx);
        expect(statusName(response.status)).toBe(statusName(status));
        expect(ctx.user.prompts).toHaveLength(1);
        expect(ctx.user.prompts[0]).toMatchObject({ presence: true, reason: 'getAssertion' });
        expect(snapshot(s.store)).toEqual(before);
      }

      const ctx = refusing(refusal);
      const response = await s.authenticator.handle(Command.Selection, new Uint8Array(0), ctx);
      expect(statusName(response.status)).toBe(statusName(status));
      expect(ctx.user.prompts).toEqual([expect.objectContaining({ presence: true, reason: 'selection' })]);
    });
  }

  it('selection succeeds with an empty body when the user touches', async () => {
    const s = setup();
    const ctx = approving();
    const response = await s.authenticator.handle(Command.Selection, new Uint8Array(0), ctx);
    expect(response.status).toBe(Status.OK);
    expect(response.body).toEqual(new Uint8Array(0));
    expect(ctx.user.prompts).toHaveLength(1);
  });

  it('a verdict without the presence or verification asked for is OPERATION_DENIED', async () => {
    const s = setup();
    await register(s, { rk: true });
    const noPresence: Ctx = { user: new ScriptedUser(() => ({ ok: true, up: false, uv: false })) };
    expect((await s.authenticator.handle(MC, encode(makeCredentialParams()), noPresence)).status).toBe(Status.OPERATION_DENIED);
    expect((await s.authenticator.handle(GA, encode(getAssertionParams()), noPresence)).status).toBe(Status.OPERATION_DENIED);

    const noVerification: Ctx = { user: new ScriptedUser((p) => ({ ok: true, up: p.presence, uv: false })) };
    const mc = makeCredentialParams({ userId: bytes(3, 3) });
    mc.set(0x07, options({ uv: true }));
    expect((await s.authenticator.handle(MC, encode(mc), noVerification)).status).toBe(Status.OPERATION_DENIED);
    const ga = getAssertionParams();
    ga.set(0x05, options({ uv: true }));
    expect((await s.authenticator.handle(GA, encode(ga), noVerification)).status).toBe(Status.OPERATION_DENIED);
    expect(s.store.count()).toBe(1);
  });
});

describe('CTAP2_ERR_REQUEST_TOO_LARGE', () => {
  /** A valid makeCredential padded with an unknown key to exactly `size` bytes of parameters. */
  function padded(size: number): Uint8Array {
    const params = makeCredentialParams();
    params.set(0x7f, new Uint8Array(0));
    const base = encode(params).length;
    // The pad's header grows from 1 to 3 bytes once its length reaches 256.
    params.set(0x7f, new Uint8Array(size - base - 2));
    const out = encode(params);
    expect(out.length).toBe(size);
    return out;
  }

  it('accepts 7608 bytes of parameters (7609 with the command byte) and refuses one more', async () => {
    const s = setup();
    await expectOk(s, approving(), MC, padded(7608));
    await expectRejected(s, approving(), MC, padded(7609), Status.REQUEST_TOO_LARGE);
    await expectRejected(s, approving(), GA, bytes(20_000, 0xa0), Status.REQUEST_TOO_LARGE);
  });
});

describe('store failures', () => {
  it('answers KEY_STORE_FULL when the store is full', async () => {
    const s = setup({ store: storeFull() });
    const response = await s.authenticator.handle(MC, encode(makeCredentialParams()), approving());
    expect(statusName(response.status)).toBe(statusName(Status.KEY_STORE_FULL));
    expect(response.body).toBeUndefined();
    expect(s.store.count()).toBe(0);
  });

  it('answers OPERATION_DENIED when the store is locked', async () => {
    const s = setup({ store: new FailingStore(() => new StoreError('locked', 'vault is locked')) });
    const response = await s.authenticator.handle(MC, encode(makeCredentialParams()), approving());
    expect(statusName(response.status)).toBe(statusName(Status.OPERATION_DENIED));
  });

  it('answers CTAP1_ERR_OTHER (0x7f) for a plain Error, without throwing, and logs one line', async () => {
    const lines: string[] = [];
    const s = setup({ store: new FailingStore(() => new Error('disk on fire')), log: (line) => lines.push(line) });
    const pending = s.authenticator.handle(MC, encode(makeCredentialParams()), approving());
    await expect(pending).resolves.toEqual({ status: 0x7f });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/CTAP1_ERR_OTHER/);
  });

  it('answers OTHER when a lookup, an unseal or the user verifier throws, or something that is not an Error is thrown', async () => {
    class Broken extends MemoryStore {
      constructor(private readonly what: 'find' | 'open' | 'string') {
        super();
      }
      override findById(rpId: string, id: Uint8Array): CredentialRecord | undefined {
        if (this.what === 'find') throw new Error('lookup failed');
        return super.findById(rpId, id);
      }
      override findDiscoverable(rpId: string): CredentialRecord[] {
        if (this.what === 'find') throw new Error('lookup failed');
        if (this.what === 'string') throw 'a string, not an Error';
        return super.findDiscoverable(rpId);
      }
      override openSecrets(record: CredentialRecord): CredentialSecrets {
        if (this.what === 'open') throw new Error('unseal failed');
        return super.openSecrets(record);
      }
    }
    for (const what of ['find', 'open'] as const) {
      const s = setup({ store: new Broken(what) });
      const cred = await register(s, { rk: true });
      await expect(s.authenticator.handle(GA, encode(getAssertionParams({ allow: [cred.id] })), approving())).resolves.toEqual({ status: 0x7f });
      await expect(s.authenticator.handle(GA, encode(getAssertionParams()), approving())).resolves.toEqual({ status: 0x7f });
    }
    const s1 = setup({ store: new Broken('string') });
    const cred = await register(s1, { rk: true });
    await expect(s1.authenticator.handle(GA, encode(getAssertionParams()), approving())).resolves.toEqual({ status: 0x7f });
    // The same store answers the allowList path, which does not call the throwing method.
    expect((await s1.authenticator.handle(GA, encode(getAssertionParams({ allow: [cred.id] })), approving())).status).toBe(Status.OK);

    const s = setup();
    const throwingUser: Ctx = {
      user: new ScriptedUser((prompt: UserPrompt): UserVerdict => {
        throw new Error(`prompt for ${prompt.rpId} crashed`);
      }),
    };
    await expect(s.authenticator.handle(MC, encode(makeCredentialParams()), throwingUser)).resolves.toEqual({ status: 0x7f });
    await expect(s.authenticator.handle(Command.Selection, new Uint8Array(0), throwingUser)).resolves.toEqual({ status: 0x7f });
  });
});

describe('the order of checks', () => {
  async function statusOf(s: Setup, command: number, params: Map<number, CborValue>, ctx: Ctx = approving()) {
    const before = snapshot(s.store);
    const response = await s.authenticator.handle(command, encode(params), ctx);
    expect(ctx.user.prompts).toEqual([]);
    expect(snapshot(s.store)).toEqual(before);
    return statusName(response.status);
  }

  it('makeCredential: unsupported algorithm (step 3) before up=false (step 5)', async () => {
    const s = setup();
    const mc = makeCredentialParams({ algs: [-257] });
    mc.set(0x07, options({ up: false }));
    expect(await statusOf(s, MC, mc)).toBe(statusName(Status.UNSUPPORTED_ALGORITHM));
  });

  it('makeCredential: missing pinUvAuthProtocol (step 2) before a bad algorithm (step 3)', async () => {
    const s = setup();
    const mc = makeCredentialParams();
    mc.set(0x04, []);
    mc.set(0x08, bytes(16));
    expect(await statusOf(s, MC, mc)).toBe(statusName(Status.MISSING_PARAMETER));
    mc.set(0x09, 7);
    expect(await statusOf(s, MC, mc)).toBe(statusName(Status.INVALID_PARAMETER));
  });

  it('makeCredential: a bad algorithm before uv=true without a method, and options before enterpriseAttestation', async () => {
    const s = setup();
    const mc = makeCredentialParams({ algs: [-257] });
    mc.set(0x07, options({ uv: true }));
    mc.set(0x0a, 1);
    expect(await statusOf(s, MC, mc, withoutUv())).toBe(statusName(Status.UNSUPPORTED_ALGORITHM));
    mc.set(0x04, [param(-7)]);
    expect(await statusOf(s, MC, mc, withoutUv())).toBe(statusName(Status.INVALID_OPTION));
    mc.set(0x07, options({ up: false }));
    expect(await statusOf(s, MC, mc)).toBe(statusName(Status.INVALID_OPTION));
    mc.delete(0x07);
    expect(await statusOf(s, MC, mc)).toBe(statusName(Status.INVALID_PARAMETER));
  });

  it('makeCredential: options and enterpriseAttestation are refused before the excludeList is looked at', async () => {
    const s = setup();
    const existing = await register(s);
    const mc = makeCredentialParams();
    mc.set(0x05, [descriptor(existing.id)]);
    mc.set(0x07, options({ up: false }));
    expect(await statusOf(s, MC, mc)).toBe(statusName(Status.INVALID_OPTION));
    mc.delete(0x07);
    mc.set(0x0a, 2);
    expect(await statusOf(s, MC, mc)).toBe(statusName(Status.INVALID_PARAMETER));
  });

  it('makeCredential: a malformed extension input is refused before anyone is asked, even with uv=true or an excluded id', async () => {
    const s = setup();
    const existing = await register(s);
    for (const extensions of [textMap({ credProtect: 'three' }), textMap({ credBlob: 'blob' })]) {
      const mc = makeCredentialParams();
      mc.set(0x06, extensions);
      mc.set(0x07, options({ uv: true }));
      expect(await statusOf(s, MC, mc)).toBe(statusName(Status.CBOR_UNEXPECTED_TYPE));
      mc.delete(0x07);
      mc.set(0x05, [descriptor(existing.id)]);
      expect(await statusOf(s, MC, mc)).toBe(statusName(Status.CBOR_UNEXPECTED_TYPE));
    }
  });

  it('type errors anywhere beat every semantic check', async () => {
    const s = setup();
    const mc = makeCredentialParams({ algs: [-257] });
    mc.set(0x07, options({ up: false }));
    mc.set(0x08, bytes(16));
    mc.set(0x0a, 'ep');
    expect(await statusOf(s, MC, mc)).toBe(statusName(Status.CBOR_UNEXPECTED_TYPE));
  });

  it('getAssertion: pinUvAuthProtocol (steps 1–2) before rk (step 4), and rk before locating credentials', async () => {
    const s = setup();
    const ga = getAssertionParams({ rpId: 'nobody.example' });
    ga.set(0x05, options({ rk: true, uv: true }));
    ga.set(0x06, bytes(16));
    expect(await statusOf(s, GA, ga, withoutUv())).toBe(statusName(Status.MISSING_PARAMETER));
    ga.set(0x07, 3);
    expect(await statusOf(s, GA, ga, withoutUv())).toBe(statusName(Status.INVALID_PARAMETER));
    ga.delete(0x06);
    ga.delete(0x07);
    ga.set(0x05, options({ rk: true }));
    expect(await statusOf(s, GA, ga)).toBe(statusName(Status.UNSUPPORTED_OPTION));
    ga.set(0x05, options({ uv: true }));
    expect(await statusOf(s, GA, ga, withoutUv())).toBe(statusName(Status.INVALID_OPTION));
  });

  it('getAssertion: a malformed credBlob input is refused before uv is asked for', async () => {
    const s = setup();
    await register(s, { rk: true });
    const ga = getAssertionParams();
    ga.set(0x04, textMap({ credBlob: 'yes' }));
    ga.set(0x05, options({ uv: true }));
    expect(await statusOf(s, GA, ga)).toBe(statusName(Status.CBOR_UNEXPECTED_TYPE));
  });
});
