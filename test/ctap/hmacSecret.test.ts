/**
 * hmac-secret (CTAP 2.2 §12.5) and hmac-secret-mc (§12.7) through the byte entry point, with the
 * platform's side (ECDH, KDF, salt encryption, saltAuth) done in the test with @noble: per-credential
 * CredRandoms, outputs stable across assertions, different with and without UV and per credential,
 * one and two salts, both protocols, and every error status, none of which costs a prompt or a write.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CborMap, CborValue } from '../../src/cbor/index.js';
import { Authenticator, Command, Status, statusName, type RequestContext } from '../../src/ctap/index.js';
import { openVault } from '../../src/vault/vault.js';
import { evaluatePrf, webAuthnPrfSalt } from '../../src/ctap/extensions/prf.js';
import { approving, ScriptedUser } from '../support/users.js';
import {
  AAGUID,
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
  sha256,
  snapshot,
  textMap,
  type Setup,
} from '../support/ctapHelpers.js';
import { concat, expectedOutput, Platform, salt, type ProtocolVersion } from './platformPin.js';

const MC = Command.MakeCredential;
const GA = Command.GetAssertion;
const PROTOCOLS: ProtocolVersion[] = [1, 2];

async function register(s: Setup, opts: { hmacSecret?: CborValue; rk?: boolean; userId?: number; mc?: CborMap; uv?: boolean } = {}) {
  const params = makeCredentialParams({ userId: Uint8Array.of(opts.userId ?? 1) });
  const extensions = new Map<CborValue, CborValue>();
  if (opts.hmacSecret !== undefined) extensions.set('hmac-secret', opts.hmacSecret);
  if (opts.mc !== undefined) extensions.set('hmac-secret-mc', opts.mc);
  if (extensions.size > 0) params.set(0x06, extensions);
  if (opts.rk === true || opts.uv === true) params.set(0x07, options({ ...(opts.rk === true ? { rk: true } : {}), ...(opts.uv === true ? { uv: true } : {}) }));
  s.clock.advance(1000);
  return createCredential(s.authenticator, approving(), params);
}

/** getAssertion with hmac-secret; returns the decrypted output (or undefined when there is none) and the flags. */
async function assertWith(s: Setup, platform: Platform, salts: Uint8Array, opts: { allow?: Uint8Array[]; uv?: boolean; protocolKey?: number | 'omit' } = {}) {
  const params = getAssertionParams(opts.allow !== undefined ? { allow: opts.allow } : {});
  params.set(0x04, textMap({ 'hmac-secret': platform.hmacSecretInput(salts, opts.protocolKey) }));
  if (opts.uv === true) params.set(0x05, options({ uv: true }));
  const response = await s.authenticator.handle(GA, encode(params), approving());
  expect(statusName(response.status)).toBe(statusName(Status.OK));
  const body = bodyMap(response);
  const authData = parseAuthData(body.get(0x02) as Uint8Array);
  const encrypted = authData.extensions?.get('hmac-secret') as Uint8Array | undefined;
  return {
    output: encrypted === undefined ? undefined : platform.decrypt(encrypted),
    encrypted,
    authData,
    credentialId: (body.get(0x01) as CborMap).get('id') as Uint8Array,
    body,
  };
}

describe('hmac-secret on makeCredential', () => {
  it('true: creates two different 32-byte CredRandoms for the credential and answers "hmac-secret": true', async () => {
    const s = setup();
    const created = await register(s, { hmacSecret: true });
    expect(created.parsed.extensions).toEqual(new Map([['hmac-secret', true]]));
    const secrets = s.store.secrets.get([...created.id].map((b) => b.toString(16).padStart(2, '0')).join(''))!;
    expect(secrets.hmacSecretWithUv).toHaveLength(32);
    expect(secrets.hmacSecretWithoutUv).toHaveLength(32);
    expect(secrets.hmacSecretWithUv).not.toEqual(secrets.hmacSecretWithoutUv);
    const other = await register(s, { hmacSecret: true, userId: 2 });
    expect(s.store.openSecrets(s.store.findById(RP, other.id)!).hmacSecretWithUv).not.toEqual(secrets.hmacSecretWithUv);
  });

  it('absent or false: no CredRandoms and no output', async () => {
    const s = setup();
    for (const hmacSecret of [undefined, false]) {
      const created = await register(s, hmacSecret === undefined ? {} : { hmacSecret });
      expect(created.parsed.extensions?.has('hmac-secret') ?? false).toBe(false);
      const secrets = s.store.openSecrets(s.store.findById(RP, created.id)!);
      expect(secrets.hmacSecretWithUv).toBeUndefined();
      expect(secrets.hmacSecretWithoutUv).toBeUndefined();
    }
  });

  it('a non-boolean input is CBOR_UNEXPECTED_TYPE, with no prompt and no write', async () => {
    const s = setup();
    for (const input of [1, 'true', bytes(1), new Map()]) {
      const params = makeCredentialParams().set(0x06, textMap({ 'hmac-secret': input as CborValue })).set(0x07, options({ uv: true }));
      const ctx = approving();
      const before = snapshot(s.store);
      const response = await s.authenticator.handle(MC, encode(params), ctx);
      expect(statusName(response.status)).toBe(statusName(Status.CBOR_UNEXPECTED_TYPE));
      expect(ctx.user.prompts).toEqual([]);
      expect(snapshot(s.store)).toEqual(before);
    }
  });
});

describe('hmac-secret on getAssertion', () => {
  for (const protocol of PROTOCOLS) {
    describe(`protocol ${protocol}`, () => {
      it('one salt: HMAC-SHA-256(CredRandomWithoutUV, salt) without UV, stable across assertions', async () => {
        const s = setup();
        const created = await register(s, { hmacSecret: true });
        const secrets = s.store.openSecrets(s.store.findById(RP, created.id)!);
        const platform = await Platform.agree(s.authenticator, protocol);
        const first = await assertWith(s, platform, salt(1), { allow: [created.id] });
        const second = await assertWith(s, platform, salt(1), { allow: [created.id] });
        expect(first.output).toEqual(expectedOutput(secrets.hmacSecretWithoutUv!, salt(1)));
        expect(second.output).toEqual(first.output);
        expect(first.authData.uv).toBe(false);
        expect(first.authData.ed).toBe(true);
        // Protocol two draws a fresh IV each time, so the ciphertexts differ while the outputs agree.
        if (protocol === 2) expect(second.encrypted).not.toEqual(first.encrypted);
        expect(first.encrypted).toHaveLength(protocol === 1 ? 32 : 48);
        // A second platform (another shared secret) sees the same output.
        const again = await assertWith(s, await Platform.agree(s.authenticator, protocol), salt(1), { allow: [created.id] });
        expect(again.output).toEqual(first.output);
      });

      it('with UV: CredRandomWithUV, so the output differs from the one without UV', async () => {
        const s = setup();
        const created = await register(s, { hmacSecret: true });
        const secrets = s.store.openSecrets(s.store.findById(RP, created.id)!);
        const platform = await Platform.agree(s.authenticator, protocol);
        const withUv = await assertWith(s, platform, salt(1), { allow: [created.id], uv: true });
        const withoutUv = await assertWith(s, platform, salt(1), { allow: [created.id] });
        expect(withUv.authData.uv).toBe(true);
        expect(withUv.output).toEqual(expectedOutput(secrets.hmacSecretWithUv!, salt(1)));
        expect(withUv.output).not.toEqual(withoutUv.output);
        expect((await assertWith(s, platform, salt(1), { allow: [created.id], uv: true })).output).toEqual(withUv.output);
      });

      it('two salts: 64 bytes, HMAC over each; the first half is the one-salt output', async () => {
        const s = setup();
        const created = await register(s, { hmacSecret: true });
        const secrets = s.store.openSecrets(s.store.findById(RP, created.id)!);
        const platform = await Platform.agree(s.authenticator, protocol);
        const two = await assertWith(s, platform, concat(salt(1), salt(2)), { allow: [created.id] });
        expect(two.output).toHaveLength(64);
        expect(two.output).toEqual(concat(expectedOutput(secrets.hmacSecretWithoutUv!, salt(1)), expectedOutput(secrets.hmacSecretWithoutUv!, salt(2))));
        expect(two.output!.subarray(0, 32)).toEqual((await assertWith(s, platform, salt(1), { allow: [created.id] })).output);
        expect(two.encrypted).toHaveLength(protocol === 1 ? 64 : 80);
      });

      it('differs per credential', async () => {
        const s = setup();
        const a = await register(s, { hmacSecret: true, userId: 1 });
        const b = await register(s, { hmacSecret: true, userId: 2 });
        const platform = await Platform.agree(s.authenticator, protocol);
        const outA = (await assertWith(s, platform, salt(9), { allow: [a.id] })).output;
        const outB = (await assertWith(s, platform, salt(9), { allow: [b.id] })).output;
        expect(outA).toHaveLength(32);
        expect(outA).not.toEqual(outB);
      });
    });
  }

  it('pinUvAuthProtocol defaults to one when the input leaves key 4 out', async () => {
    const s = setup();
    const created = await register(s, { hmacSecret: true });
    const one = await Platform.agree(s.authenticator, 1);
    const secrets = s.store.openSecrets(s.store.findById(RP, created.id)!);
    const result = await assertWith(s, one, salt(3), { allow: [created.id], protocolKey: 'omit' });
    expect(result.output).toEqual(expectedOutput(secrets.hmacSecretWithoutUv!, salt(3)));
  });

  it('a credential created without hmac-secret answers no output (and no ED flag when nothing else is asked)', async () => {
    const s = setup();
    const plain = await register(s);
    const result = await assertWith(s, await Platform.agree(s.authenticator, 2), salt(1), { allow: [plain.id] });
    expect(result.output).toBeUndefined();
    expect(result.authData.ed).toBe(false);
  });

  it('answers every discoverable credential through getNextAssertion with its own output, and the same outputs on a second run', async () => {
    const s = setup();
    const a = await register(s, { hmacSecret: true, rk: true, userId: 1 });
    const b = await register(s, { hmacSecret: true, rk: true, userId: 2 });
    const c = await register(s, { rk: true, userId: 3 });
    const platform = await Platform.agree(s.authenticator, 2);
    const run = async () => {
      const first = await assertWith(s, platform, salt(5));
      expect(first.body.get(0x05)).toBe(3);
      const outputs = new Map<string, Uint8Array | undefined>([[first.credentialId.join(), first.output]]);
      for (let i = 0; i < 2; i++) {
        const next = await s.authenticator.handle(Command.GetNextAssertion, new Uint8Array(0), approving());
        expect(next.status).toBe(Status.OK);
        const body = bodyMap(next);
        const enc = parseAuthData(body.get(0x02) as Uint8Array).extensions?.get('hmac-secret') as Uint8Array | undefined;
        outputs.set(((body.get(0x01) as CborMap).get('id') as Uint8Array).join(), enc === undefined ? undefined : platform.decrypt(enc));
      }
      return outputs;
    };
    const outputs = await run();
    const secretsOf = (id: Uint8Array) => s.store.openSecrets(s.store.findById(RP, id)!);
    expect(outputs.get(a.id.join())).toEqual(expectedOutput(secretsOf(a.id).hmacSecretWithoutUv!, salt(5)));
    expect(outputs.get(b.id.join())).toEqual(expectedOutput(secretsOf(b.id).hmacSecretWithoutUv!, salt(5)));
    expect(outputs.get(c.id.join())).toBeUndefined();
    expect(await run()).toEqual(outputs);
  });
});

describe('hmac-secret with the real vault', () => {
  it('seals the CredRandoms with the credential: after a restart (new key agreement key) the outputs are the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-hmac-'));
    const where = { path: join(dir, 'vault.db'), keyDir: join(dir, 'keys') };
    try {
      let vault = openVault(where);
      let authenticator = new Authenticator({ store: vault, aaguid: AAGUID });
      const params = makeCredentialParams().set(0x06, textMap({ 'hmac-secret': true }));
      const created = await createCredential(authenticator, approving(), params);
      const run = async (uv: boolean) => {
        const platform = await Platform.agree(authenticator, 2);
        const request = getAssertionParams({ allow: [created.id] }).set(0x04, textMap({ 'hmac-secret': platform.hmacSecretInput(salt(4)) }));
        if (uv) request.set(0x05, options({ uv: true }));
        const response = await authenticator.handle(GA, encode(request), approving());
        expect(response.status).toBe(Status.OK);
        return platform.decrypt(parseAuthData(bodyMap(response).get(0x02) as Uint8Array).extensions?.get('hmac-secret') as Uint8Array);
      };
      const before = [await run(false), await run(true)];
      const secrets = vault.openSecrets(vault.findById(RP, created.id)!);
      expect(before[0]).toEqual(expectedOutput(secrets.hmacSecretWithoutUv!, salt(4)));
      expect(before[1]).toEqual(expectedOutput(secrets.hmacSecretWithUv!, salt(4)));
      vault.close();

      vault = openVault({ ...where, create: false });
      authenticator = new Authenticator({ store: vault, aaguid: AAGUID });
      expect([await run(false), await run(true)]).toEqual(before);
      vault.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hmac-secret-mc on makeCredential', () => {
  for (const protocol of PROTOCOLS) {
    for (const uv of [false, true]) {
      it(`protocol ${protocol}, uv ${uv}: the output at creation equals the getAssertion output with the same UV`, async () => {
        const s = setup();
        const platform = await Platform.agree(s.authenticator, protocol);
        const created = await register(s, { hmacSecret: true, mc: platform.hmacSecretInput(concat(salt(7), salt(8))), uv });
        expect(created.parsed.extensions?.get('hmac-secret')).toBe(true);
        const mcOutput = platform.decrypt(created.parsed.extensions?.get('hmac-secret-mc') as Uint8Array);
        const secrets = s.store.openSecrets(s.store.findById(RP, created.id)!);
        const credRandom = uv ? secrets.hmacSecretWithUv! : secrets.hmacSecretWithoutUv!;
        expect(mcOutput).toEqual(concat(expectedOutput(credRandom, salt(7)), expectedOutput(credRandom, salt(8))));
        const later = await assertWith(s, platform, concat(salt(7), salt(8)), { allow: [created.id], uv });
        expect(later.output).toEqual(mcOutput);
      });
    }
  }

  it('needs "hmac-secret": true beside it (MISSING_PARAMETER otherwise), and is checked like the getAssertion input', async () => {
    const s = setup();
    const platform = await Platform.agree(s.authenticator, 2);
    const input = platform.hmacSecretInput(salt(1));
    for (const extensions of [textMap({ 'hmac-secret-mc': input }), textMap({ 'hmac-secret': false, 'hmac-secret-mc': input })]) {
      await expectRejectedMc(s, extensions, Status.MISSING_PARAMETER);
    }
    const badAuth = new Map(input).set(3, bytes(32));
    await expectRejectedMc(s, textMap({ 'hmac-secret': true, 'hmac-secret-mc': badAuth }), Status.PIN_AUTH_INVALID);
    await expectRejectedMc(s, textMap({ 'hmac-secret': true, 'hmac-secret-mc': new Map(input).set(4, 3) }), Status.INVALID_PARAMETER);
    await expectRejectedMc(s, textMap({ 'hmac-secret': true, 'hmac-secret-mc': 'salts' }), Status.CBOR_UNEXPECTED_TYPE);
  });

  async function expectRejectedMc(s: Setup, extensions: CborMap, status: number) {
    const params = makeCredentialParams().set(0x06, extensions).set(0x07, options({ uv: true }));
    const ctx = approving();
    const before = snapshot(s.store);
    const response = await s.authenticator.handle(MC, encode(params), ctx);
    expect(statusName(response.status)).toBe(statusName(status));
    expect(ctx.user.prompts).toEqual([]);
    expect(snapshot(s.store)).toEqual(before);
  }
});

describe('hmac-secret errors: each status through handle, before any prompt, with no write', () => {
  type Mutate = (input: Map<number, CborValue>, platform: Platform) => CborValue;
  const cases: Array<[string, number, Mutate]> = [
    ['saltAuth that does not match', Status.PIN_AUTH_INVALID, (i) => { const a = (i.get(3) as Uint8Array).slice(); a[0] = a[0]! ^ 0x80; return i.set(3, a); }],
    ['saltAuth of the wrong length', Status.PIN_AUTH_INVALID, (i) => i.set(3, (i.get(3) as Uint8Array).subarray(0, 8))],
    ['saltAuth computed under another shared secret (a valid but different platform key)', Status.PIN_AUTH_INVALID,
      (i, p) => i.set(1, Platform.withKey(p.keyAgreement, p.protocol).keyAgreement)],
    ['one 16-byte salt', Status.INVALID_LENGTH, (i, p) => withSalts(i, p, bytes(16))],
    ['a 48-byte salt', Status.INVALID_LENGTH, (i, p) => withSalts(i, p, bytes(48))],
    ['three salts', Status.INVALID_LENGTH, (i, p) => withSalts(i, p, bytes(96))],
    ['no salt at all', Status.INVALID_LENGTH, (i, p) => withSalts(i, p, new Uint8Array(0))],
    ['saltEnc that is not whole AES blocks', Status.INVALID_LENGTH, (i, p) => { const enc = concat(i.get(2) as Uint8Array, bytes(3)); return i.set(2, enc).set(3, p.authenticate(enc)); }],
    ['an unsupported pinUvAuthProtocol', Status.INVALID_PARAMETER, (i) => i.set(4, 3)],
    ['pinUvAuthProtocol 0', Status.INVALID_PARAMETER, (i) => i.set(4, 0)],
    ['a keyAgreement point that is not on the curve', Status.INVALID_PARAMETER, (i) => i.set(1, new Map(i.get(1) as CborMap).set(-3, bytes(32, 1)))],
    ['a keyAgreement that is not EC2', Status.INVALID_PARAMETER, (i) => i.set(1, new Map(i.get(1) as CborMap).set(1, 1))],
    ['a keyAgreement on another curve', Status.INVALID_PARAMETER, (i) => i.set(1, new Map(i.get(1) as CborMap).set(-1, 2))],
    ['a keyAgreement without y', Status.INVALID_PARAMETER, (i) => { const k = new Map(i.get(1) as CborMap); k.delete(-3); return i.set(1, k); }],
    ['no keyAgreement', Status.MISSING_PARAMETER, (i) => { i.delete(1); return i; }],
    ['no saltEnc', Status.MISSING_PARAMETER, (i) => { i.delete(2); return i; }],
    ['no saltAuth', Status.MISSING_PARAMETER, (i) => { i.delete(3); return i; }],
    ['an input that is not a map', Status.CBOR_UNEXPECTED_TYPE, () => true],
    ['keyAgreement as bytes', Status.CBOR_UNEXPECTED_TYPE, (i) => i.set(1, bytes(65))],
    ['saltEnc as text', Status.CBOR_UNEXPECTED_TYPE, (i) => i.set(2, 'salt')],
    ['saltAuth as an integer', Status.CBOR_UNEXPECTED_TYPE, (i) => i.set(3, 3)],
    ['pinUvAuthProtocol as text', Status.CBOR_UNEXPECTED_TYPE, (i) => i.set(4, 'two')],
    ['pinUvAuthProtocol negative', Status.CBOR_UNEXPECTED_TYPE, (i) => i.set(4, -1)],
    ['a keyAgreement x of the wrong type', Status.CBOR_UNEXPECTED_TYPE, (i) => i.set(1, new Map(i.get(1) as CborMap).set(-2, 'x'))],
  ];

  function withSalts(input: Map<number, CborValue>, platform: Platform, salts: Uint8Array): CborValue {
    const fresh = platform.hmacSecretInput(salts);
    return input.set(2, fresh.get(2)!).set(3, fresh.get(3)!);
  }

  for (const protocol of PROTOCOLS) {
    for (const [name, status, mutate] of cases) {
      it(`protocol ${protocol}: ${name} → ${statusName(status)}`, async () => {
        const s = setup();
        const created = await register(s, { hmacSecret: true, rk: true });
        const platform = await Platform.agree(s.authenticator, protocol);
        const input = mutate(platform.hmacSecretInput(salt(1)), platform);
        for (const uv of [false, true]) {
          const params = getAssertionParams({ allow: [created.id] }).set(0x04, textMap({ 'hmac-secret': input }));
          if (uv) params.set(0x05, options({ uv: true }));
          const ctx: RequestContext & { user: ScriptedUser } = approving();
          const before = snapshot(s.store);
          const response = await s.authenticator.handle(GA, encode(params), ctx);
          expect(statusName(response.status)).toBe(statusName(status));
          expect(response.body).toBeUndefined();
          expect(ctx.user.prompts).toEqual([]);
          expect(snapshot(s.store)).toEqual(before);
        }
      });
    }
  }

  it('hmac-secret with up=false (a silent assertion) is UNSUPPORTED_OPTION', async () => {
    const s = setup();
    const created = await register(s, { hmacSecret: true });
    const platform = await Platform.agree(s.authenticator, 2);
    const params = getAssertionParams({ allow: [created.id] })
      .set(0x04, textMap({ 'hmac-secret': platform.hmacSecretInput(salt(1)) }))
      .set(0x05, options({ up: false }));
    const ctx = approving();
    const response = await s.authenticator.handle(GA, encode(params), ctx);
    expect(statusName(response.status)).toBe(statusName(Status.UNSUPPORTED_OPTION));
    expect(ctx.user.prompts).toEqual([]);
  });
});

describe('evaluatePrf, the one PRF the wire forms share', () => {
  it('picks the CredRandom by UV, takes one or two 32-byte salts, and has no output without CredRandoms', () => {
    const secrets = { privateKey: bytes(32, 1), hmacSecretWithUv: bytes(32, 2), hmacSecretWithoutUv: bytes(32, 3) };
    expect(evaluatePrf(secrets, true, salt(1))).toEqual({ first: expectedOutput(bytes(32, 2), salt(1)), second: undefined });
    expect(evaluatePrf(secrets, false, salt(1), salt(2))).toEqual({
      first: expectedOutput(bytes(32, 3), salt(1)),
      second: expectedOutput(bytes(32, 3), salt(2)),
    });
    expect(evaluatePrf({ privateKey: bytes(32) }, true, salt(1))).toBeUndefined();
    expect(() => evaluatePrf(secrets, true, bytes(31))).toThrow();
    expect(() => evaluatePrf(secrets, true, salt(1), bytes(33))).toThrow();
  });

  it('WebAuthn PRF salts are SHA-256("WebAuthn PRF" ‖ 0x00 ‖ input), computed by the client', () => {
    const input = new TextEncoder().encode('my vault');
    expect(webAuthnPrfSalt(input)).toEqual(sha256(concat(new TextEncoder().encode('WebAuthn PRF'), Uint8Array.of(0), input)));
  });
});
