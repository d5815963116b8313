/**
 * authenticatorClientPIN (0x06) through the byte entry point: getKeyAgreement for PIN/UV auth
 * protocols one and two, getPinRetries, and the spec's statuses for every other subcommand of an
 * authenticator on which no PIN can be set. No clientPIN request ever prompts the user or writes.
 */
import { p256 } from '@noble/curves/nist.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStrict, encodeCanonical, type CborMap, type CborValue } from '../../src/cbor/index.js';
import { Authenticator, Command, SPEC_STATUSES, Status, statusName } from '../../src/ctap/index.js';
import { MemoryStore } from '../support/memoryStore.js';
import { approving, refusing } from '../support/users.js';
import {
  AAGUID,
  bytes,
  createCredential,
  encode,
  getAssertionParams,
  makeCredentialParams,
  options,
  setup,
  snapshot,
  textMap,
  type Setup,
} from '../support/ctapHelpers.js';
import { concat, getKeyAgreement, Platform } from './platformPin.js';

const CP = Command.ClientPin;
const Sub = { GetPinRetries: 1, GetKeyAgreement: 2, SetPin: 3, ChangePin: 4, GetPinToken: 5, UsingUv: 6, GetUvRetries: 7, UsingPin: 9 };

function request(entries: Array<[number, CborValue]>): Uint8Array {
  return encode(new Map<number, CborValue>(entries));
}

async function send(s: Setup, params: Uint8Array) {
  const ctx = approving();
  const before = snapshot(s.store);
  const response = await s.authenticator.handle(CP, params, ctx);
  expect(ctx.user.prompts).toEqual([]);
  expect(snapshot(s.store)).toEqual(before);
  return response;
}

async function expectStatus(s: Setup, params: Uint8Array, status: number) {
  const response = await send(s, params);
  expect(statusName(response.status)).toBe(statusName(status));
  if (status !== Status.OK) expect(response.body).toBeUndefined();
  return response;
}

describe('getKeyAgreement (0x02)', () => {
  for (const protocol of [1, 2]) {
    it(`protocol ${protocol}: answers {1: COSE_Key} with kty EC2, alg ECDH-ES+HKDF-256, crv P-256 and a point on the curve`, async () => {
      const s = setup();
      const response = await expectStatus(s, request([[1, protocol], [2, Sub.GetKeyAgreement]]), Status.OK);
      const body = decodeStrict(response.body!) as CborMap;
      expect([...body.keys()]).toEqual([1]);
      const key = body.get(1) as CborMap;
      expect([...key.keys()]).toEqual([1, 3, -1, -2, -3]);
      expect(key.get(1)).toBe(2);
      expect(key.get(3)).toBe(-25);
      expect(key.get(-1)).toBe(1);
      const x = key.get(-2) as Uint8Array;
      const y = key.get(-3) as Uint8Array;
      expect(x).toHaveLength(32);
      expect(y).toHaveLength(32);
      expect(() => p256.Point.fromBytes(concat(Uint8Array.of(4), x, y)).assertValidity()).not.toThrow();
      expect(encodeCanonical(body)).toEqual(response.body);
    });
  }

  it('keeps one key per protocol for the life of the instance, and a new instance (a power-up) has new ones', async () => {
    const s = setup();
    const one = await getKeyAgreement(s.authenticator, 1);
    const two = await getKeyAgreement(s.authenticator, 2);
    expect(await getKeyAgreement(s.authenticator, 1)).toEqual(one);
    expect(await getKeyAgreement(s.authenticator, 2)).toEqual(two);
    expect(two.get(-2)).not.toEqual(one.get(-2));
    const restarted = new Authenticator({ store: s.store, aaguid: AAGUID });
    expect((await getKeyAgreement(restarted, 1)).get(-2)).not.toEqual(one.get(-2));
    expect((await getKeyAgreement(restarted, 2)).get(-2)).not.toEqual(two.get(-2));
  });

  it('needs a protocol (MISSING_PARAMETER), a supported one (INVALID_PARAMETER), of the right type (CBOR_UNEXPECTED_TYPE)', async () => {
    const s = setup();
    await expectStatus(s, request([[2, Sub.GetKeyAgreement]]), Status.MISSING_PARAMETER);
    for (const protocol of [0, 3, 255, 65536]) {
      await expectStatus(s, request([[1, protocol], [2, Sub.GetKeyAgreement]]), Status.INVALID_PARAMETER);
    }
    await expectStatus(s, request([[1, 'two'], [2, Sub.GetKeyAgreement]]), Status.CBOR_UNEXPECTED_TYPE);
    await expectStatus(s, request([[1, -2], [2, Sub.GetKeyAgreement]]), Status.CBOR_UNEXPECTED_TYPE);
  });
});

describe('the request map', () => {
  it('needs subCommand, as an unsigned integer', async () => {
    const s = setup();
    await expectStatus(s, request([[1, 2]]), Status.MISSING_PARAMETER);
    await expectStatus(s, encode(new Map()), Status.MISSING_PARAMETER);
    await expectStatus(s, request([[1, 2], [2, 'getKeyAgreement']]), Status.CBOR_UNEXPECTED_TYPE);
    await expectStatus(s, request([[1, 2], [2, -1]]), Status.CBOR_UNEXPECTED_TYPE);
  });

  it('type-checks every known field whatever the subcommand', async () => {
    const s = setup();
    const base: Array<[number, CborValue]> = [[1, 2], [2, Sub.GetKeyAgreement]];
    for (const [key, value] of [[3, bytes(65)], [4, 'auth'], [5, 7], [6, []], [9, 'all'], [10, bytes(4)]] as Array<[number, CborValue]>) {
      await expectStatus(s, request([...base, [key, value]]), Status.CBOR_UNEXPECTED_TYPE);
    }
  });

  it('answers a non-map, and undecodable bytes, like every other command', async () => {
    const s = setup();
    await expectStatus(s, encode([1, 2]), Status.CBOR_UNEXPECTED_TYPE);
    await expectStatus(s, Uint8Array.of(0xa1, 0x01), Status.INVALID_CBOR);
  });

  it('ignores unknown keys', async () => {
    const s = setup();
    await expectStatus(s, request([[1, 2], [2, Sub.GetKeyAgreement], [0x20, 'future']]), Status.OK);
  });
});

describe('subcommands of an authenticator without a PIN', () => {
  it('getPinRetries (0x01) answers {3: 8}; a protocol, when given, must be supported', async () => {
    const s = setup();
    for (const params of [request([[2, Sub.GetPinRetries]]), request([[1, 1], [2, Sub.GetPinRetries]]), request([[1, 2], [2, Sub.GetPinRetries]])]) {
      const response = await expectStatus(s, params, Status.OK);
      expect(decodeStrict(response.body!)).toEqual(new Map([[3, 8]]));
    }
    await expectStatus(s, request([[1, 3], [2, Sub.GetPinRetries]]), Status.INVALID_PARAMETER);
  });

  for (const sub of [0x00, Sub.UsingUv, Sub.GetUvRetries, 0x08, 0x0a, 0x0b, 0xff, 0x10000]) {
    it(`subCommand 0x${sub.toString(16)} answers INVALID_SUBCOMMAND`, async () => {
      const s = setup();
      await expectStatus(s, request([[1, 2], [2, sub]]), Status.INVALID_SUBCOMMAND);
    });
  }

  describe('setPin (0x03): verified like a real one, then refused by the PIN policy (no PIN is accepted)', () => {
    async function setPinParams(s: Setup, protocol: 1 | 2, padded = new Uint8Array(64).fill(0x31)) {
      const platform = await Platform.agree(s.authenticator, protocol);
      const newPinEnc = platform.encrypt(padded);
      return {
        platform,
        params: new Map<number, CborValue>([
          [1, protocol],
          [2, Sub.SetPin],
          [3, platform.keyAgreement],
          [4, platform.authenticate(newPinEnc)],
          [5, newPinEnc],
        ]),
      };
    }

    for (const protocol of [1, 2] as const) {
      it(`protocol ${protocol}: a well-formed, authenticated PIN gets PIN_POLICY_VIOLATION`, async () => {
        const s = setup();
        const { params } = await setPinParams(s, protocol);
        await expectStatus(s, encode(params), Status.PIN_POLICY_VIOLATION);
      });

      it(`protocol ${protocol}: a wrong pinUvAuthParam gets PIN_AUTH_INVALID; a padded PIN that is not 64 bytes INVALID_PARAMETER`, async () => {
        const s = setup();
        const { params } = await setPinParams(s, protocol);
        const auth = (params.get(4) as Uint8Array).slice();
        auth[0] = auth[0]! ^ 1;
        await expectStatus(s, encode(new Map(params).set(4, auth)), Status.PIN_AUTH_INVALID);
        await expectStatus(s, encode(new Map(params).set(4, auth.subarray(0, 8))), Status.PIN_AUTH_INVALID);
        const short = await setPinParams(s, protocol, new Uint8Array(32).fill(0x31));
        await expectStatus(s, encode(short.params), Status.INVALID_PARAMETER);
      });
    }

    it('checks mandatory parameters first, then the protocol, then the key agreement key', async () => {
      const s = setup();
      const { params } = await setPinParams(s, 2);
      for (const key of [1, 3, 4, 5]) {
        const without = new Map(params);
        without.delete(key);
        await expectStatus(s, encode(without), Status.MISSING_PARAMETER);
      }
      await expectStatus(s, encode(new Map(params).set(1, 3)), Status.INVALID_PARAMETER);
      const offCurve = new Map(params.get(3) as CborMap).set(-3, bytes(32, 7));
      await expectStatus(s, encode(new Map(params).set(3, offCurve)), Status.INVALID_PARAMETER);
      const wrongKty = new Map(params.get(3) as CborMap).set(1, 1);
      await expectStatus(s, encode(new Map(params).set(3, wrongKty)), Status.INVALID_PARAMETER);
      const textX = new Map(params.get(3) as CborMap).set(-2, 'x');
      await expectStatus(s, encode(new Map(params).set(3, textX)), Status.CBOR_UNEXPECTED_TYPE);
    });
  });

  it('changePin (0x04) checks its parameters and protocol, then answers PIN_NOT_SET', async () => {
    const s = setup();
    const platform = await Platform.agree(s.authenticator, 2);
    const full = new Map<number, CborValue>([[1, 2], [2, Sub.ChangePin], [3, platform.keyAgreement], [4, bytes(32)], [5, bytes(80)], [6, bytes(32)]]);
    await expectStatus(s, encode(full), Status.PIN_NOT_SET);
    for (const key of [1, 3, 4, 5, 6]) {
      const without = new Map(full);
      without.delete(key);
      await expectStatus(s, encode(without), Status.MISSING_PARAMETER);
    }
    await expectStatus(s, encode(new Map(full).set(1, 7)), Status.INVALID_PARAMETER);
  });

  it('getPinToken (0x05) checks its parameters, protocol and the absence of permissions, then answers PIN_NOT_SET', async () => {
    const s = setup();
    const platform = await Platform.agree(s.authenticator, 1);
    const full = new Map<number, CborValue>([[1, 1], [2, Sub.GetPinToken], [3, platform.keyAgreement], [6, bytes(16)]]);
    await expectStatus(s, encode(full), Status.PIN_NOT_SET);
    for (const key of [1, 3, 6]) {
      const without = new Map(full);
      without.delete(key);
      await expectStatus(s, encode(without), Status.MISSING_PARAMETER);
    }
    await expectStatus(s, encode(new Map(full).set(1, 9)), Status.INVALID_PARAMETER);
    await expectStatus(s, encode(new Map(full).set(9, 3)), Status.INVALID_PARAMETER);
    await expectStatus(s, encode(new Map(full).set(10, 'example.com')), Status.INVALID_PARAMETER);
  });

  it('getPinUvAuthTokenUsingPinWithPermissions (0x09) checks its parameters, protocol and permissions, then answers PIN_NOT_SET', async () => {
    const s = setup();
    const platform = await Platform.agree(s.authenticator, 2);
    const full = new Map<number, CborValue>([[1, 2], [2, Sub.UsingPin], [3, platform.keyAgreement], [6, bytes(32)], [9, 3], [10, 'example.com']]);
    await expectStatus(s, encode(full), Status.PIN_NOT_SET);
    for (const key of [1, 3, 6, 9]) {
      const without = new Map(full);
      without.delete(key);
      await expectStatus(s, encode(without), Status.MISSING_PARAMETER);
    }
    await expectStatus(s, encode(new Map(full).set(1, 0)), Status.INVALID_PARAMETER);
    await expectStatus(s, encode(new Map(full).set(9, 0)), Status.INVALID_PARAMETER);
  });
});

describe('getInfo and clientPIN agree', () => {
  it('lists pinUvAuthProtocols [2, 1] and clientPin: false with uv; without uv, clientPin is left out but the protocols stay', async () => {
    for (const userVerification of [true, false]) {
      const authenticator = new Authenticator({ store: new MemoryStore(), aaguid: AAGUID, userVerification });
      const info = decodeStrict((await authenticator.handle(Command.GetInfo, new Uint8Array(0), approving())).body!) as CborMap;
      expect(info.get(0x06)).toEqual([2, 1]);
      expect((info.get(0x04) as CborMap).get('clientPin')).toBe(userVerification ? false : undefined);
      for (const protocol of info.get(0x06) as number[]) expect((await getKeyAgreement(authenticator, protocol)).get(1)).toBe(2);
    }
  });
});

describe('pinUvAuthParam on makeCredential and getAssertion (no pinUvAuthToken is ever issued)', () => {
  const MC = Command.MakeCredential;
  const GA = Command.GetAssertion;

  async function registered() {
    const s = setup();
    await createCredential(s.authenticator, approving(), makeCredentialParams());
    return s;
  }

  for (const protocol of [1, 2]) {
    it(`protocol ${protocol}: a pinUvAuthParam cannot verify (PIN_AUTH_INVALID), before the user is asked, even with uv`, async () => {
      const s = await registered();
      const mc = makeCredentialParams().set(0x08, bytes(protocol === 1 ? 16 : 32)).set(0x09, protocol);
      const ga = getAssertionParams().set(0x06, bytes(protocol === 1 ? 16 : 32)).set(0x07, protocol);
      for (const [command, params] of [[MC, mc], [GA, ga]] as const) {
        for (const uv of [false, true]) {
          params.set(command === MC ? 0x07 : 0x05, options({ uv }));
          const ctx = approving();
          const before = snapshot(s.store);
          const response = await s.authenticator.handle(command, encode(params), ctx);
          expect(statusName(response.status)).toBe(statusName(Status.PIN_AUTH_INVALID));
          expect(ctx.user.prompts).toEqual([]);
          expect(snapshot(s.store)).toEqual(before);
        }
      }
    });
  }

  it('a zero-length pinUvAuthParam asks for a touch, then answers PIN_NOT_SET (OPERATION_DENIED when refused)', async () => {
    const s = await registered();
    const mc = makeCredentialParams().set(0x08, new Uint8Array(0)).set(0x09, 1);
    const ga = getAssertionParams().set(0x06, new Uint8Array(0));
    for (const [command, params] of [[MC, mc], [GA, ga]] as const) {
      const ctx = approving();
      const before = snapshot(s.store);
      const response = await s.authenticator.handle(command, encode(params), ctx);
      expect(statusName(response.status)).toBe(statusName(Status.PIN_NOT_SET));
      expect(ctx.user.prompts.map((p) => [p.presence, p.verification, p.reason])).toEqual([[true, false, 'selection']]);
      expect(snapshot(s.store)).toEqual(before);
      for (const refusal of ['declined', 'timeout', 'unavailable'] as const) {
        const refused = await s.authenticator.handle(command, encode(params), refusing(refusal));
        expect(statusName(refused.status)).toBe(statusName(Status.OPERATION_DENIED));
      }
      const cancelled = await s.authenticator.handle(command, encode(params), refusing('cancelled'));
      expect(statusName(cancelled.status)).toBe(statusName(Status.KEEPALIVE_CANCEL));
    }
  });

  it('without built-in UV (clientPin not claimed) a zero-length pinUvAuthParam is an ordinary one: protocol checks, then PIN_AUTH_INVALID', async () => {
    const s = setup({ userVerification: false });
    const mc = makeCredentialParams().set(0x08, new Uint8Array(0));
    const ctx = approving();
    expect(statusName((await s.authenticator.handle(MC, encode(mc), ctx)).status)).toBe(statusName(Status.MISSING_PARAMETER));
    mc.set(0x09, 2);
    expect(statusName((await s.authenticator.handle(MC, encode(mc), ctx)).status)).toBe(statusName(Status.PIN_AUTH_INVALID));
    expect(ctx.user.prompts).toEqual([]);
  });
});

describe('property: random clientPIN requests and hmac-secret inputs', () => {
  const value: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.integer({ min: -300, max: 70000 }),
      fc.boolean(),
      fc.string({ maxLength: 8 }),
      fc.uint8Array({ maxLength: 96 }),
      fc.array(tie('v'), { maxLength: 3 }),
      fc.array(fc.tuple(fc.integer({ min: -4, max: 12 }), tie('v')), { maxLength: 5 }).map((entries) => new Map<CborValue, CborValue>(entries)),
    ),
  })).v;
  const requestMap = fc
    .array(fc.tuple(fc.integer({ min: 0, max: 11 }), value), { maxLength: 8 })
    .map((entries) => new Map<CborValue, CborValue>(entries));

  it('never throws, answers only spec statuses, never prompts or writes', async () => {
    const s = setup();
    const known = await createCredential(s.authenticator, approving(), makeCredentialParams().set(0x06, textMap({ 'hmac-secret': true })));
    await fc.assert(
      fc.asyncProperty(requestMap, fc.boolean(), async (map, asExtension) => {
        const ctx = approving();
        const before = snapshot(s.store);
        const response = asExtension
          ? await s.authenticator.handle(Command.GetAssertion, encode(getAssertionParams({ allow: [known.id] }).set(0x04, textMap({ 'hmac-secret': map }))), ctx)
          : await s.authenticator.handle(CP, encode(map), ctx);
        expect(SPEC_STATUSES.has(response.status)).toBe(true);
        if (!asExtension || response.status !== Status.OK) {
          expect(ctx.user.prompts).toEqual([]);
          expect(snapshot(s.store)).toEqual(before);
        }
      }),
      { numRuns: Number(process.env['LATCHKEY_PROPERTY_RUNS'] ?? 300) },
    );
  }, 120_000);
});
