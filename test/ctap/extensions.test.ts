/**
 * credProtect (CTAP 2.2 §12.1) and credBlob (§12.2): what is stored, what comes back in the
 * authenticator data, and how credProtect limits getAssertion.
 */
import { describe, expect, it } from 'vitest';
import type { CborValue } from '../../src/cbor/index.js';
import { Command, Status, statusName } from '../../src/ctap/index.js';
import { approving } from '../support/users.js';
import {
  bodyMap,
  bytes,
  createCredential,
  encode,
  getAssertionParams,
  makeCredentialParams,
  options,
  parseAuthData,
  RP,
  setup,
  textMap,
  type Setup,
} from '../support/ctapHelpers.js';

async function create(s: Setup, extensions: Record<string, CborValue> | undefined, opts: { rk?: boolean; userId?: Uint8Array } = {}) {
  const params = makeCredentialParams(opts.userId !== undefined ? { userId: opts.userId } : {});
  if (extensions !== undefined) params.set(0x06, textMap(extensions));
  if (opts.rk !== false) params.set(0x07, options({ rk: true }));
  s.clock.advance(1000);
  return createCredential(s.authenticator, approving(), params);
}

async function getAssertion(s: Setup, opts: { allow?: Uint8Array[]; uv?: boolean; extensions?: Record<string, CborValue> } = {}) {
  const params = getAssertionParams(opts.allow !== undefined ? { allow: opts.allow } : {});
  if (opts.uv === true) params.set(0x05, options({ uv: true }));
  if (opts.extensions !== undefined) params.set(0x04, textMap(opts.extensions));
  const response = await s.authenticator.handle(Command.GetAssertion, encode(params), approving());
  return { status: statusName(response.status), body: response.status === Status.OK ? bodyMap(response) : undefined };
}

const OK = statusName(Status.OK);
const NO_CREDENTIALS = statusName(Status.NO_CREDENTIALS);

describe('credProtect', () => {
  for (const level of [1, 2, 3]) {
    it(`stores level ${level} and reports it in the makeCredential extension outputs`, async () => {
      const s = setup();
      const created = await create(s, { credProtect: level });
      expect(created.parsed.ed).toBe(true);
      expect(created.parsed.extensions).toEqual(new Map([['credProtect', level]]));
      expect(s.store.findById(RP, created.id)?.credProtect).toBe(level);
    });
  }

  it('defaults to level 1 without an output when absent', async () => {
    const s = setup();
    const created = await create(s, undefined);
    expect(created.parsed.ed).toBe(false);
    expect(s.store.findById(RP, created.id)?.credProtect).toBe(1);
  });

  for (const level of [0, 4, 255]) {
    it(`ignores the unknown level ${level} (level 1, no output)`, async () => {
      const s = setup();
      const created = await create(s, { credProtect: level });
      expect(created.parsed.extensions?.has('credProtect') ?? false).toBe(false);
      expect(s.store.findById(RP, created.id)?.credProtect).toBe(1);
    });
  }

  it('level 1: usable with or without an allowList, without uv', async () => {
    const s = setup();
    const created = await create(s, { credProtect: 1 });
    expect((await getAssertion(s)).status).toBe(OK);
    expect((await getAssertion(s, { allow: [created.id] })).status).toBe(OK);
  });

  it('level 2: allowed with an allowList without uv, refused for a discoverable lookup without uv, allowed with uv', async () => {
    const s = setup();
    const created = await create(s, { credProtect: 2 });
    expect((await getAssertion(s, { allow: [created.id] })).status).toBe(OK);
    expect((await getAssertion(s)).status).toBe(NO_CREDENTIALS);
    const withUv = await getAssertion(s, { uv: true });
    expect(withUv.status).toBe(OK);
    expect(parseAuthData(withUv.body!.get(0x02) as Uint8Array).uv).toBe(true);
    expect((await getAssertion(s, { allow: [created.id], uv: true })).status).toBe(OK);
  });

  it('level 3: needs uv always, with or without an allowList', async () => {
    const s = setup();
    const created = await create(s, { credProtect: 3 });
    expect((await getAssertion(s, { allow: [created.id] })).status).toBe(NO_CREDENTIALS);
    expect((await getAssertion(s)).status).toBe(NO_CREDENTIALS);
    expect((await getAssertion(s, { allow: [created.id], uv: true })).status).toBe(OK);
    expect((await getAssertion(s, { uv: true })).status).toBe(OK);
  });

  it('level 3 also applies to non-discoverable credentials', async () => {
    const s = setup();
    const created = await create(s, { credProtect: 3 }, { rk: false });
    expect((await getAssertion(s, { allow: [created.id] })).status).toBe(NO_CREDENTIALS);
    expect((await getAssertion(s, { allow: [created.id], uv: true })).status).toBe(OK);
  });

  it('filters per credential: a discoverable lookup without uv sees only the unprotected accounts', async () => {
    const s = setup();
    const open = await create(s, { credProtect: 1 }, { userId: Uint8Array.of(1) });
    await create(s, { credProtect: 2 }, { userId: Uint8Array.of(2) });
    await create(s, { credProtect: 3 }, { userId: Uint8Array.of(3) });

    const withoutUv = await getAssertion(s);
    expect(withoutUv.status).toBe(OK);
    expect(withoutUv.body!.has(0x05)).toBe(false); // a single credential: no numberOfCredentials
    expect((withoutUv.body!.get(0x01) as Map<string, CborValue>).get('id')).toEqual(open.id);

    const withUv = await getAssertion(s, { uv: true });
    expect(withUv.body!.get(0x05)).toBe(3);
  });

  it('an allowList with a level-3 credential first answers with the next usable one', async () => {
    const s = setup();
    const locked = await create(s, { credProtect: 3 }, { userId: Uint8Array.of(1) });
    const open = await create(s, { credProtect: 2 }, { userId: Uint8Array.of(2) });
    const result = await getAssertion(s, { allow: [locked.id, open.id] });
    expect(result.status).toBe(OK);
    expect((result.body!.get(0x01) as Map<string, CborValue>).get('id')).toEqual(open.id);
  });
});

describe('credBlob', () => {
  for (const length of [0, 1, 31, 32]) {
    it(`stores a ${length}-byte blob, answers credBlob: true, and returns it on request`, async () => {
      const s = setup();
      const blob = bytes(length, 0xb0 + (length % 16));
      const created = await create(s, { credBlob: blob });
      expect(created.parsed.extensions).toEqual(new Map([['credBlob', true]]));
      expect(s.store.findById(RP, created.id)?.credBlob).toEqual(blob);

      const result = await getAssertion(s, { extensions: { credBlob: true } });
      const authData = parseAuthData(result.body!.get(0x02) as Uint8Array);
      expect(authData.ed).toBe(true);
      expect(authData.extensions).toEqual(new Map([['credBlob', blob]]));
    });
  }

  it('refuses a 33-byte blob: output false, nothing stored, an empty blob returned', async () => {
    const s = setup();
    const created = await create(s, { credBlob: bytes(33) });
    expect(created.parsed.extensions).toEqual(new Map([['credBlob', false]]));
    expect(s.store.count()).toBe(1); // the credential itself is created
    expect(s.store.findById(RP, created.id)?.credBlob).toBeUndefined();
    const result = await getAssertion(s, { extensions: { credBlob: true } });
    expect(parseAuthData(result.body!.get(0x02) as Uint8Array).extensions).toEqual(new Map([['credBlob', new Uint8Array(0)]]));
  });

  it('returns an empty byte string when no blob was stored', async () => {
    const s = setup();
    const created = await create(s, undefined);
    const result = await getAssertion(s, { allow: [created.id], extensions: { credBlob: true } });
    expect(parseAuthData(result.body!.get(0x02) as Uint8Array).extensions).toEqual(new Map([['credBlob', new Uint8Array(0)]]));
  });

  it('returns nothing (and no ED) unless credBlob: true is asked for', async () => {
    const s = setup();
    await create(s, { credBlob: bytes(8) });
    for (const extensions of [undefined, { credBlob: false }]) {
      const result = await getAssertion(s, extensions === undefined ? {} : { extensions });
      const authData = parseAuthData(result.body!.get(0x02) as Uint8Array);
      expect(authData.ed).toBe(false);
      expect(authData.extensions).toBeUndefined();
    }
  });

  it('each credential returns its own blob through getNextAssertion', async () => {
    const s = setup();
    const blobs = [bytes(4, 1), bytes(5, 2), bytes(6, 3)];
    const ids: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create(s, { credBlob: blobs[i]! }, { userId: Uint8Array.of(i + 1) })).id);
    const seen = new Map<string, Uint8Array>();
    const first = await getAssertion(s, { extensions: { credBlob: true } });
    const record = (body: Map<CborValue, CborValue>) => {
      const id = (body.get(0x01) as Map<string, CborValue>).get('id') as Uint8Array;
      seen.set(Buffer.from(id).toString('hex'), parseAuthData(body.get(0x02) as Uint8Array).extensions?.get('credBlob') as Uint8Array);
    };
    record(first.body!);
    for (let i = 1; i < 3; i++) {
      const next = await s.authenticator.handle(Command.GetNextAssertion, new Uint8Array(0), approving());
      expect(next.status).toBe(Status.OK);
      record(bodyMap(next));
    }
    for (let i = 0; i < 3; i++) expect(seen.get(Buffer.from(ids[i]!).toString('hex'))).toEqual(blobs[i]);
  });

  it('both extensions together: both outputs, canonically ordered (credBlob before credProtect)', async () => {
    const s = setup();
    const created = await create(s, { credProtect: 3, credBlob: bytes(2) });
    expect([...created.parsed.extensions!.entries()]).toEqual([
      ['credBlob', true],
      ['credProtect', 3],
    ]);
  });
});
