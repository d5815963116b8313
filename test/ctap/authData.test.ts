/**
 * Authenticator data: flags that tell the truth (UP, UV, AT, ED, BE, BS), the rpIdHash, the
 * signature counter per backup mode, the COSE_Key layout, and signatures that verify (ES256 low-S
 * DER, Ed25519) over authData ‖ clientDataHash with independent implementations.
 */
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { decodeStrict, type CborMap, type CborValue } from '../../src/cbor/index.js';
import { Command, Status, type RequestContext } from '../../src/ctap/index.js';
import { ScriptedUser, approving } from '../support/users.js';
import {
  AAGUID,
  bodyMap,
  clientDataHash,
  concat,
  createCredential,
  encode,
  FLAG,
  getAssertionParams,
  makeCredentialParams,
  options,
  parseAuthData,
  RP,
  setup,
  sha256,
  textMap,
  type ParsedAuthData,
  type Setup,
} from '../support/ctapHelpers.js';

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const RESERVED_FLAG_BITS = 0x02 | 0x20;

interface Assertion {
  readonly authData: Uint8Array;
  readonly parsed: ParsedAuthData;
  readonly signature: Uint8Array;
  readonly clientDataHash: Uint8Array;
  readonly credentialId: Uint8Array;
  readonly body: CborMap;
}

async function assert(s: Setup, params: Map<number, CborValue>, ctx: RequestContext = approving()): Promise<Assertion> {
  const response = await s.authenticator.handle(Command.GetAssertion, encode(params), ctx);
  expect(response.status).toBe(Status.OK);
  return toAssertion(bodyMap(response), params.get(0x02) as Uint8Array);
}

function toAssertion(body: CborMap, hash: Uint8Array): Assertion {
  const authData = body.get(0x02) as Uint8Array;
  return {
    authData,
    parsed: parseAuthData(authData),
    signature: body.get(0x03) as Uint8Array,
    clientDataHash: hash,
    credentialId: (body.get(0x01) as CborMap).get('id') as Uint8Array,
    body,
  };
}

async function nextAssertion(s: Setup, hash: Uint8Array): Promise<Assertion> {
  const response = await s.authenticator.handle(Command.GetNextAssertion, new Uint8Array(0), approving());
  expect(response.status).toBe(Status.OK);
  return toAssertion(bodyMap(response), hash);
}

function expectFlags(parsed: ParsedAuthData, expected: { up: boolean; uv: boolean; at: boolean; ed: boolean; be: boolean; bs: boolean }) {
  expect({ up: parsed.up, uv: parsed.uv, at: parsed.at, ed: parsed.ed, be: parsed.be, bs: parsed.bs }).toEqual(expected);
  expect(parsed.flags & RESERVED_FLAG_BITS).toBe(0);
}

/** Parses a strict DER ECDSA signature into r and s. */
function parseDer(sig: Uint8Array): { r: bigint; s: bigint } {
  expect(sig[0]).toBe(0x30);
  expect(sig[1]).toBe(sig.length - 2);
  let p = 2;
  const int = (): bigint => {
    expect(sig[p]).toBe(0x02);
    const len = sig[p + 1]!;
    const body = sig.subarray(p + 2, p + 2 + len);
    expect(body.length).toBe(len);
    expect(len).toBeGreaterThan(0);
    expect(len).toBeLessThanOrEqual(33);
    // Minimal: no leading zero unless the next byte has its high bit set; never negative.
    expect(body[0]! & 0x80).toBe(0);
    if (len > 1 && body[0] === 0) expect(body[1]! & 0x80).toBe(0x80);
    p += 2 + len;
    return BigInt(`0x${Buffer.from(body).toString('hex')}`);
  };
  const r = int();
  const s = int();
  expect(p).toBe(sig.length);
  return { r, s };
}

function es256PublicKey(coseKey: Uint8Array): Uint8Array {
  const key = decodeStrict(coseKey) as CborMap;
  return concat(Uint8Array.of(0x04), key.get(-2) as Uint8Array, key.get(-3) as Uint8Array);
}

function nodeEs256Verify(coseKey: Uint8Array, message: Uint8Array, der: Uint8Array): boolean {
  const key = decodeStrict(coseKey) as CborMap;
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: Buffer.from(key.get(-2) as Uint8Array).toString('base64url'),
    y: Buffer.from(key.get(-3) as Uint8Array).toString('base64url'),
  };
  return nodeVerify('sha256', message, { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'der' }, der);
}

function nodeEd25519Verify(coseKey: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
  const key = decodeStrict(coseKey) as CborMap;
  const jwk = { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key.get(-2) as Uint8Array).toString('base64url') };
  return nodeVerify(null, message, createPublicKey({ key: jwk, format: 'jwk' }), sig);
}

describe('authenticator data from makeCredential', () => {
  it('without uv: UP, AT, BE, BS set; UV and ED clear; counter 0; our AAGUID; a 16-byte id', async () => {
    const s = setup();
    const created = await createCredential(s.authenticator, approving(), makeCredentialParams());
    expectFlags(created.parsed, { up: true, uv: false, at: true, ed: false, be: true, bs: true });
    expect(created.parsed.signCount).toBe(0);
    expect(created.parsed.aaguid).toEqual(AAGUID);
    expect(created.parsed.credentialId).toHaveLength(16);
    expect(created.parsed.rpIdHash).toEqual(sha256(RP));
  });

  it('with uv: UP and UV set', async () => {
    const s = setup();
    const params = makeCredentialParams();
    params.set(0x07, options({ uv: true }));
    const created = await createCredential(s.authenticator, approving(), params);
    expectFlags(created.parsed, { up: true, uv: true, at: true, ed: false, be: true, bs: true });
  });

  it('does not set UV when it was not asked for, even if the verifier reports it', async () => {
    const s = setup();
    const overeager: RequestContext = { user: new ScriptedUser(() => ({ ok: true, up: true, uv: true })) };
    const created = await createCredential(s.authenticator, overeager, makeCredentialParams());
    expect(created.parsed.uv).toBe(false);
    expect(created.parsed.up).toBe(true);
  });

  it('with extension outputs: ED set and the outputs after the credential public key', async () => {
    const s = setup();
    const params = makeCredentialParams();
    params.set(0x06, textMap({ credProtect: 2 }));
    const created = await createCredential(s.authenticator, approving(), params);
    expectFlags(created.parsed, { up: true, uv: false, at: true, ed: true, be: true, bs: true });
    expect(created.parsed.extensions).toEqual(new Map([['credProtect', 2]]));
  });

  it('an unknown extension alone produces no output and no ED', async () => {
    const s = setup();
    const params = makeCredentialParams();
    params.set(0x06, textMap({ somethingNew: true }));
    const created = await createCredential(s.authenticator, approving(), params);
    expect(created.parsed.ed).toBe(false);
    expect(created.parsed.extensions).toBeUndefined();
  });

  it('device-bound configuration: BE=0 and BS=0, counter starts at 0', async () => {
    const s = setup({ backupEligible: false });
    const created = await createCredential(s.authenticator, approving(), makeCredentialParams());
    expectFlags(created.parsed, { up: true, uv: false, at: true, ed: false, be: false, bs: false });
    expect(created.parsed.signCount).toBe(0);
  });

  it('hashes the request rp.id into rpIdHash (and a different RP gets a different hash)', async () => {
    const s = setup();
    for (const rpId of ['example.com', 'login.example.com', 'xn--bcher-kva.example', 'localhost']) {
      const created = await createCredential(s.authenticator, approving(), makeCredentialParams({ rpId }));
      expect(created.parsed.rpIdHash).toEqual(sha256(rpId));
    }
  });
});

describe('authenticator data from getAssertion', () => {
  async function withCredential(config: { backupEligible?: boolean } = {}) {
    const s = setup(config);
    const params = makeCredentialParams();
    params.set(0x07, options({ rk: true }));
    const created = await createCredential(s.authenticator, approving(), params);
    return { s, created };
  }

  it('default: UP, BE, BS set; UV, AT, ED clear; rpIdHash of the request RP', async () => {
    const { s } = await withCredential();
    const a = await assert(s, getAssertionParams());
    expectFlags(a.parsed, { up: true, uv: false, at: false, ed: false, be: true, bs: true });
    expect(a.parsed.rpIdHash).toEqual(sha256(RP));
    expect(a.authData).toHaveLength(37);
  });

  it('with uv: UP and UV set', async () => {
    const { s } = await withCredential();
    const params = getAssertionParams();
    params.set(0x05, options({ uv: true }));
    const a = await assert(s, params);
    expectFlags(a.parsed, { up: true, uv: true, at: false, ed: false, be: true, bs: true });
  });

  it('silent (up=false): no prompt at all and UP clear', async () => {
    const { s } = await withCredential();
    const params = getAssertionParams();
    params.set(0x05, options({ up: false }));
    const ctx = approving();
    const a = await assert(s, params, ctx);
    expect(ctx.user.prompts).toEqual([]);
    expectFlags(a.parsed, { up: false, uv: false, at: false, ed: false, be: true, bs: true });
  });

  it('silent with uv: UV set, UP clear even if the verifier reports presence', async () => {
    const { s } = await withCredential();
    const params = getAssertionParams();
    params.set(0x05, options({ up: false, uv: true }));
    const overeager: RequestContext & { user: ScriptedUser } = { user: new ScriptedUser(() => ({ ok: true, up: true, uv: true })) };
    const a = await assert(s, params, overeager);
    expect(overeager.user.prompts).toEqual([expect.objectContaining({ presence: false, verification: true })]);
    expectFlags(a.parsed, { up: false, uv: true, at: false, ed: false, be: true, bs: true });
  });

  it('with an extension output (credBlob): ED set', async () => {
    const { s } = await withCredential();
    const params = getAssertionParams();
    params.set(0x04, textMap({ credBlob: true }));
    const a = await assert(s, params);
    expect(a.parsed.ed).toBe(true);
    expect(a.parsed.extensions?.get('credBlob')).toEqual(new Uint8Array(0));
  });

  it('default (backup eligible): the counter is 0 on every assertion', async () => {
    const { s, created } = await withCredential();
    for (let i = 0; i < 3; i++) {
      expect((await assert(s, getAssertionParams())).parsed.signCount).toBe(0);
      expect((await assert(s, getAssertionParams({ allow: [created.id] }))).parsed.signCount).toBe(0);
    }
  });

  it('device-bound: BE=0 BS=0 and the counter goes 1, 2, 3, … across assertions, durably in the store', async () => {
    const { s, created } = await withCredential({ backupEligible: false });
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const a = await assert(s, getAssertionParams());
      expectFlags(a.parsed, { up: true, uv: false, at: false, ed: false, be: false, bs: false });
      counts.push(a.parsed.signCount);
    }
    counts.push((await assert(s, getAssertionParams({ allow: [created.id] }))).parsed.signCount);
    expect(counts).toEqual([1, 2, 3, 4]);
    expect(s.store.findById(RP, created.id)?.signCount).toBe(4);
  });

  it('device-bound counters are per credential, also through getNextAssertion', async () => {
    const s = setup({ backupEligible: false });
    for (let i = 1; i <= 2; i++) {
      s.clock.advance(1000);
      const params = makeCredentialParams({ userId: Uint8Array.of(i) });
      params.set(0x07, options({ rk: true }));
      await createCredential(s.authenticator, approving(), params);
    }
    for (let round = 1; round <= 3; round++) {
      const params = getAssertionParams();
      const first = await assert(s, params);
      const second = await nextAssertion(s, params.get(0x02) as Uint8Array);
      expect(first.credentialId).not.toEqual(second.credentialId);
      expect([first.parsed.signCount, second.parsed.signCount]).toEqual([round, round]);
    }
  });
});

describe('credential public keys (COSE_Key)', () => {
  it('ES256: {1: 2, 3: -7, -1: 1, -2: x, -3: y} in canonical order, a point on P-256', async () => {
    const s = setup();
    const created = await createCredential(s.authenticator, approving(), makeCredentialParams({ algs: [-7] }));
    const cose = created.parsed.coseKey!;
    expect(cose).toHaveLength(77);
    expect(Array.from(cose.subarray(0, 10))).toEqual([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]);
    expect(Array.from(cose.subarray(42, 45))).toEqual([0x22, 0x58, 0x20]);
    const key = decodeStrict(cose) as CborMap;
    expect([...key.keys()]).toEqual([1, 3, -1, -2, -3]);
    expect(() => p256.Point.fromBytes(es256PublicKey(cose)).assertValidity()).not.toThrow();
  });

  it('EdDSA: {1: 1, 3: -8, -1: 6, -2: x} in canonical order, a valid Ed25519 point', async () => {
    const s = setup();
    const created = await createCredential(s.authenticator, approving(), makeCredentialParams({ algs: [-8] }));
    const cose = created.parsed.coseKey!;
    expect(cose).toHaveLength(42);
    expect(Array.from(cose.subarray(0, 10))).toEqual([0xa4, 0x01, 0x01, 0x03, 0x27, 0x20, 0x06, 0x21, 0x58, 0x20]);
    const key = decodeStrict(cose) as CborMap;
    expect([...key.keys()]).toEqual([1, 3, -1, -2]);
    expect(() => ed25519.Point.fromBytes(key.get(-2) as Uint8Array).assertValidity()).not.toThrow();
  });

  it('every credential gets its own key pair and id', async () => {
    const s = setup();
    const keys = new Set<string>();
    const ids = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const created = await createCredential(s.authenticator, approving(), makeCredentialParams({ algs: [i % 2 ? -7 : -8] }));
      keys.add(Buffer.from(created.parsed.coseKey!).toString('hex'));
      ids.add(Buffer.from(created.id).toString('hex'));
    }
    expect(keys.size).toBe(8);
    expect(ids.size).toBe(8);
  });
});

describe('signatures', () => {
  it('ES256: DER, low-S over many signatures, and verifies over authData ‖ clientDataHash (noble and OpenSSL)', async () => {
    const s = setup();
    const params = makeCredentialParams({ algs: [-7] });
    params.set(0x07, options({ rk: true }));
    const created = await createCredential(s.authenticator, approving(), params);
    const publicKey = es256PublicKey(created.parsed.coseKey!);
    const half = P256_N / 2n;
    const rs = new Set<string>();
    for (let i = 0; i < 64; i++) {
      const a = await assert(s, getAssertionParams());
      const { r, s: sValue } = parseDer(a.signature);
      expect(r > 0n && r < P256_N).toBe(true);
      expect(sValue > 0n && sValue <= half).toBe(true);
      rs.add(r.toString(16));
      const message = concat(a.authData, a.clientDataHash);
      expect(p256.verify(a.signature, message, publicKey, { format: 'der' })).toBe(true);
      expect(nodeEs256Verify(created.parsed.coseKey!, message, a.signature)).toBe(true);
      // It signs exactly that message: another client data hash does not verify.
      expect(p256.verify(a.signature, concat(a.authData, clientDataHash()), publicKey, { format: 'der' })).toBe(false);
    }
    expect(rs.size).toBe(64);
  });

  it('Ed25519: verifies over authData ‖ clientDataHash (noble and OpenSSL), and only that', async () => {
    const s = setup();
    const params = makeCredentialParams({ algs: [-8] });
    params.set(0x07, options({ rk: true }));
    const created = await createCredential(s.authenticator, approving(), params);
    const publicKey = (decodeStrict(created.parsed.coseKey!) as CborMap).get(-2) as Uint8Array;
    for (let i = 0; i < 16; i++) {
      const a = await assert(s, getAssertionParams());
      expect(a.signature).toHaveLength(64);
      const message = concat(a.authData, a.clientDataHash);
      expect(ed25519.verify(a.signature, message, publicKey)).toBe(true);
      expect(nodeEd25519Verify(created.parsed.coseKey!, message, a.signature)).toBe(true);
      const tampered = message.slice();
      tampered[32] = tampered[32]! ^ FLAG.UV;
      expect(ed25519.verify(a.signature, tampered, publicKey)).toBe(false);
    }
  });

  it('packed self-attestation: attStmt {alg, sig} verifies over authData ‖ clientDataHash with the new key', async () => {
    for (const alg of [-7, -8]) {
      const s = setup({ attestation: 'packed-self' });
      const params = makeCredentialParams({ algs: [alg] });
      const created = await createCredential(s.authenticator, approving(), params);
      expect(created.response.get(0x01)).toBe('packed');
      const attStmt = created.response.get(0x03) as CborMap;
      expect([...attStmt.keys()]).toEqual(['alg', 'sig']);
      expect(attStmt.get('alg')).toBe(alg);
      const sig = attStmt.get('sig') as Uint8Array;
      const message = concat(created.authData, params.get(0x01) as Uint8Array);
      if (alg === -7) {
        expect(parseDer(sig).s <= P256_N / 2n).toBe(true);
        expect(p256.verify(sig, message, es256PublicKey(created.parsed.coseKey!), { format: 'der' })).toBe(true);
      } else {
        const x = (decodeStrict(created.parsed.coseKey!) as CborMap).get(-2) as Uint8Array;
        expect(ed25519.verify(sig, message, x)).toBe(true);
      }
    }
  });

  it('attestation "none" has an empty attStmt', async () => {
    const s = setup();
    const created = await createCredential(s.authenticator, approving(), makeCredentialParams());
    expect(created.response.get(0x01)).toBe('none');
    expect(created.response.get(0x03)).toEqual(new Map());
  });
});
