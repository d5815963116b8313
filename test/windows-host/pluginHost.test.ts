/**
 * The Windows plugin host end to end against the fake Windows (an in-process WindowsAddon):
 * signed MakeCredential / GetAssertion judged by @simplewebauthn/server, user verification through
 * "Windows Hello", refusals and their HRESULTs, busy / cancel / timeout, lock status, the
 * credential cache, credential choice, and requests refused before anything is decoded.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeStrict, encodeCanonical, type CborValue } from '../../src/cbor/index.js';
import { CLSID } from '../../src/app/identity.js';
import { HRESULT } from '../../src/transports/windows/hresult.js';
import type { CredentialDetails } from '../../src/transports/windows/native.js';
import { ctapParameters } from '../../src/transports/windows/pluginHost.js';
import { authenticate, register, RP_ID } from '../support/relyingParty.js';
import { clientDataHash, makeCredentialParams, options as ctapOptions, getAssertionParams } from '../support/ctapHelpers.js';
import { signingKey, type KeyType } from './fakeWindows.js';
import { harness, HResultError, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(() => {
  h?.cleanup();
  h = undefined;
});

function open(options: Parameters<typeof harness>[0] = {}): Harness {
  h = harness(options);
  return h;
}

async function hresultOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HResultError) return error.hresult;
    throw error;
  }
  return HRESULT.S_OK;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A signed makeCredential request's bytes, as Windows would send them. */
function mcBytes(extra: (params: Map<number, CborValue>) => void = () => undefined): Uint8Array {
  const params = makeCredentialParams();
  params.set(0x07, ctapOptions({ rk: true, uv: true }));
  extra(params);
  return encodeCanonical(params);
}

describe('signed requests, end to end', () => {
  it.each<[KeyType, KeyType]>([
    ['ecdsa', 'ecdsa'],
    ['rsa-pkcs1', 'rsa-pss'],
    ['rsa-pss', 'rsa-pkcs1'],
  ])('op-signing key %s, UV key %s: registration and sign-in verify at the relying party', async (opKey, uvKey) => {
    const t = open({ opKey, uvKey });
    const account = await register(t.platform, { userVerification: 'required' });
    expect(account.userVerified).toBe(true);
    expect(account.backedUp).toBe(true);
    const { verification, chosen } = await authenticate(t.platform, [account], { userVerification: 'required' });
    expect(verification.verified).toBe(true);
    expect(verification.authenticationInfo.userVerified).toBe(true);
    expect(chosen.response.id).toBe(account.credential.id);
    // Each operation fetched the op-signing key live, and UV was verified with the UV key.
    expect(t.windows.callsTo('getOperationSigningPublicKey')).toHaveLength(2);
    expect(t.windows.callsTo('getUserVerificationPublicKey')).toHaveLength(2);
  });

  it('asks Windows Hello with the request window, transaction id and the user name', async () => {
    const t = open();
    const transactionId = randomUUID();
    const reply = await t.windows.call('makeCredential', mcBytes(), { transactionId, hwnd: 0xabcdn });
    expect(reply.hresult).toBe(0);
    expect(t.windows.uvRequests).toEqual([
      expect.objectContaining({ hwnd: 0xabcdn, transactionId, userName: 'alice@example.com', displayHint: expect.stringContaining(RP_ID) }),
    ]);
  });

  it('answers the bare CBOR map, with no status byte', async () => {
    const t = open();
    const reply = await t.windows.call('makeCredential', mcBytes());
    expect(reply.hresult).toBe(0);
    const body = reply.response!;
    expect(body[0]! & 0xe0).toBe(0xa0);
    const map = decodeStrict(body) as Map<number, CborValue>;
    expect([...map.keys()]).toEqual([1, 2, 3]);
    expect(map.get(1)).toBe('none');
  });

  it('tolerates a leading command byte on both operations', async () => {
    const t = open();
    t.send.commandByte = true;
    const account = await register(t.platform, { userVerification: 'required' });
    const { verification } = await authenticate(t.platform, [account], { userVerification: 'required' });
    expect(verification.verified).toBe(true);
  });

  it('works over discoverable sign-in (no allowList), returning the user handle', async () => {
    const t = open();
    const account = await register(t.platform, { userVerification: 'required' });
    const { verification, chosen } = await authenticate(t.platform, [account], { allow: false, userVerification: 'required' });
    expect(verification.verified).toBe(true);
    expect(chosen.userHandle).toStrictEqual(account.userId);
    expect(t.chooser.shown).toEqual([]); // one credential: nobody is asked to choose
  });
});

describe('requests refused before anything is decoded', () => {
  async function refusedBeforeDecoding(t: Harness, send: () => Promise<{ hresult: number }>): Promise<void> {
    const handle = vi.spyOn(t.authenticator, 'handle');
    const countBefore = t.vault.count();
    const cacheCalls = t.windows.callsTo('addCredentials').length;
    const prompts = t.windows.uvRequests.length;
    const reply = await send();
    expect(reply.hresult).toBe(HRESULT.NTE_BAD_SIGNATURE);
    expect(handle).not.toHaveBeenCalled();
    expect(t.windows.uvRequests).toHaveLength(prompts); // nothing shown
    expect(t.vault.count()).toBe(countBefore); // nothing stored
    expect(t.windows.callsTo('addCredentials')).toHaveLength(cacheCalls);
    handle.mockRestore();
  }

  it('a missing signature', async () => {
    const t = open();
    await refusedBeforeDecoding(t, () => t.windows.call('makeCredential', mcBytes(), { signature: new Uint8Array(0) }));
  });

  it('a forged signature (random bytes of the right length)', async () => {
    const t = open();
    await refusedBeforeDecoding(t, () => t.windows.call('makeCredential', mcBytes(), { signature: new Uint8Array(64).fill(0x42) }));
  });

  it('a truncated request (signed before truncation) and a truncated signature', async () => {
    const t = open();
    const bytes = mcBytes();
    const signature = t.windows.opSigningKey.sign(bytes);
    await refusedBeforeDecoding(t, () => t.windows.call('makeCredential', bytes.subarray(0, bytes.length - 1), { signature }));
    await refusedBeforeDecoding(t, () => t.windows.call('makeCredential', bytes, { signature: signature.subarray(0, 63) }));
  });

  it('a request re-signed with another key', async () => {
    const t = open();
    const bytes = mcBytes();
    await refusedBeforeDecoding(t, () => t.windows.call('makeCredential', bytes, { signature: signingKey('ecdsa').sign(bytes) }));
  });

  it('a signature of the wrong algorithm for the key', async () => {
    const t = open({ opKey: 'ecdsa' });
    const bytes = mcBytes();
    await refusedBeforeDecoding(t, () => t.windows.call('makeCredential', bytes, { signature: signingKey('rsa-pkcs1').sign(bytes) }));
  });

  it('a request whose signing key Windows cannot provide (fails closed)', async () => {
    const t = open();
    t.windows.opKeyUnavailable = true;
    await refusedBeforeDecoding(t, () => t.windows.call('makeCredential', mcBytes()));
  });

  it('replayed into another transaction: accepted only with identical bytes (the transaction id is not signed)', async () => {
    const t = open();
    const account = await register(t.platform, { userVerification: 'required' });
    const bytes = encodeCanonical(getAssertionParams({ allow: [Buffer.from(account.credential.id, 'base64url')] }));
    const signature = t.windows.opSigningKey.sign(bytes);
    expect((await t.windows.call('getAssertion', bytes, { signature, transactionId: randomUUID() })).hresult).toBe(0);
    // The same bytes and signature under a new transaction id verify: Windows signs only the bytes.
    expect((await t.windows.call('getAssertion', bytes, { signature, transactionId: randomUUID() })).hresult).toBe(0);
    // Any change to the bytes does not.
    const altered = bytes.slice();
    altered[altered.length - 1]! ^= 1;
    await refusedBeforeDecoding(t, () => t.windows.call('getAssertion', altered, { signature, transactionId: randomUUID() }));
  });
});

describe('refusals and their HRESULTs', () => {
  it('a declined Windows Hello prompt answers NTE_USER_CANCELLED and stores nothing', async () => {
    const t = open();
    t.windows.uvMode = 'decline';
    expect(await hresultOf(register(t.platform, { userVerification: 'required' }))).toBe(HRESULT.NTE_USER_CANCELLED);
    t.windows.uvMode = 'cancel-error';
    expect(await hresultOf(register(t.platform, { userVerification: 'required' }))).toBe(HRESULT.NTE_USER_CANCELLED);
    expect(t.vault.count()).toBe(0);
  });

  it('a UV answer that does not verify with the UV key answers NTE_BAD_SIGNATURE: UV is never assumed', async () => {
    const t = open();
    t.windows.uvMode = 'bad-signature';
    expect(await hresultOf(register(t.platform, { userVerification: 'required' }))).toBe(HRESULT.NTE_BAD_SIGNATURE);
    t.windows.uvMode = 'empty';
    expect(await hresultOf(register(t.platform, { userVerification: 'required' }))).toBe(HRESULT.NTE_BAD_SIGNATURE);
    expect(t.vault.count()).toBe(0);
  });

  it('excluded → NTE_EXISTS, no credential → NTE_NOT_FOUND, unsupported algorithm → NTE_NOT_SUPPORTED', async () => {
    const t = open();
    const account = await register(t.platform, { userVerification: 'required' });
    expect(await hresultOf(register(t.platform, { userVerification: 'required', exclude: [account.credential] }))).toBe(HRESULT.NTE_EXISTS);
    expect(await hresultOf(authenticate(t.platform, [account], { rpId: 'other.example' }))).toBe(HRESULT.NTE_NOT_FOUND);
    expect(await hresultOf(register(t.platform, { algorithms: [-257] }))).toBe(HRESULT.NTE_NOT_SUPPORTED);
  });

  it('malformed CBOR behind a valid signature → NTE_INVALID_PARAMETER; so is a wrong or unknown leading byte', async () => {
    const t = open();
    expect((await t.windows.call('makeCredential', Uint8Array.of(0xa1, 0x01))).hresult).toBe(HRESULT.NTE_INVALID_PARAMETER);
    expect((await t.windows.call('makeCredential', Uint8Array.of(0x02, ...mcBytes()))).hresult).toBe(HRESULT.NTE_INVALID_PARAMETER);
    expect((await t.windows.call('makeCredential', Uint8Array.of(0x04, ...mcBytes()))).hresult).toBe(HRESULT.NTE_INVALID_PARAMETER);
    expect((await t.windows.call('getAssertion', new Uint8Array(0), { signature: new Uint8Array(0) })).hresult).toBe(HRESULT.NTE_BAD_SIGNATURE);
    expect(t.vault.count()).toBe(0);
  });

  it('a JavaScript exception inside the host becomes E_FAIL, and the host keeps serving', async () => {
    const t = open();
    const a = await register(t.platform, { userName: 'a@example.com', userId: Uint8Array.of(1), userVerification: 'required' });
    const b = await register(t.platform, { userName: 'b@example.com', userId: Uint8Array.of(2), userVerification: 'required' });
    t.chooser.answer = () => {
      throw new TypeError('the dialog crashed');
    };
    expect(await hresultOf(authenticate(t.platform, [a, b]))).toBe(HRESULT.E_FAIL);
    expect(t.logs.join('\n')).toMatch(/TypeError: the dialog crashed/);
    expect(t.host.busy).toBe(false);
    const { verification } = await authenticate(t.platform, [a]);
    expect(verification.verified).toBe(true);
  });

  it('an exception thrown by the store is E_FAIL too (through the core)', async () => {
    const t = open();
    vi.spyOn(t.vault, 'create').mockImplementation(() => {
      throw new Error('disk on fire');
    });
    expect(await hresultOf(register(t.platform, { userVerification: 'required' }))).toBe(HRESULT.E_FAIL);
  });
});

describe('one operation at a time, cancel and timeout', () => {
  it('a second concurrent operation answers ERROR_BUSY; CancelOperation ends the first promptly', async () => {
    const t = open();
    t.windows.uvMode = 'slow';
    const transactionId = randomUUID();
    const first = t.windows.call('makeCredential', mcBytes(), { transactionId });
    await vi.waitFor(() => expect(t.windows.uvRequests).toHaveLength(1));
    expect(t.host.busy).toBe(true);
    const second = await t.windows.call('makeCredential', mcBytes());
    expect(second.hresult).toBe(HRESULT.BUSY);
    t.windows.cancel(randomUUID()); // another transaction: ignored
    expect(t.host.busy).toBe(true);
    const started = Date.now();
    t.windows.cancel(transactionId.toUpperCase()); // GUID case does not matter
    expect((await first).hresult).toBe(HRESULT.NTE_USER_CANCELLED);
    expect(Date.now() - started).toBeLessThan(1000);
    await vi.waitFor(() => expect(t.host.busy).toBe(false));
    expect(t.vault.count()).toBe(0);
    // And the host serves the next one.
    t.windows.uvMode = 'accept';
    expect((await t.windows.call('makeCredential', mcBytes())).hresult).toBe(0);
  });

  it('an operation that outlasts the timeout answers ERROR_TIMEOUT, and the addon waits longer than the host', async () => {
    const t = open({ timeoutMs: 150 });
    expect(t.windows.comOptions!.timeoutMs).toBeGreaterThan(150);
    t.windows.uvMode = 'slow';
    expect((await t.windows.call('makeCredential', mcBytes())).hresult).toBe(HRESULT.TIMEOUT);
    await vi.waitFor(() => expect(t.host.busy).toBe(false));
    t.windows.uvMode = 'accept';
    expect((await t.windows.call('makeCredential', mcBytes())).hresult).toBe(0);
  });
});

describe('lock status', () => {
  it('follows the vault: set at start, refused while locked without running the core, updated after each operation', async () => {
    const t = open();
    expect(t.windows.lockStatus).toEqual([false]);
    t.locked = true;
    t.host.refreshLockStatus();
    expect(t.windows.lockStatus.at(-1)).toBe(true);
    const handle = vi.spyOn(t.authenticator, 'handle');
    expect((await t.windows.call('makeCredential', mcBytes())).hresult).toBe(HRESULT.E_FAIL);
    expect(handle).not.toHaveBeenCalled();
    t.locked = false;
    expect((await t.windows.call('makeCredential', mcBytes())).hresult).toBe(0);
    expect(t.windows.lockStatus.at(-1)).toBe(false);
  });
});

describe("Windows' credential cache", () => {
  function cached(t: Harness): CredentialDetails[] {
    return [...t.windows.cache.values()];
  }

  it('gets each new discoverable credential with the right fields, and loses the one it replaces', async () => {
    const t = open();
    const first = await register(t.platform, { userName: 'alice@example.com', displayName: 'Alice', userId: Uint8Array.of(7), userVerification: 'required' });
    expect(cached(t)).toEqual([
      {
        credentialId: new Uint8Array(Buffer.from(first.credential.id, 'base64url')),
        rpId: RP_ID,
        rpName: 'Example',
        userId: Uint8Array.of(7),
        userName: 'alice@example.com',
        userDisplayName: 'Alice',
      },
    ]);
    // Same RP and user: the vault replaces the credential, and so does the cache.
    const second = await register(t.platform, { userName: 'alice@example.com', displayName: 'Alice', userId: Uint8Array.of(7), userVerification: 'required' });
    expect(cached(t).map((c) => hex(c.credentialId))).toEqual([hex(Buffer.from(second.credential.id, 'base64url'))]);
    expect(t.windows.callsTo('removeCredentials')).toHaveLength(1);
    expect(t.windows.callsTo('addCredentials').every((c) => c.args[0] === CLSID)).toBe(true);
  });

  it('leaves out non-discoverable credentials (they cannot answer a sign-in that names none)', async () => {
    const t = open();
    await register(t.platform, { residentKey: 'discouraged', userVerification: 'required' });
    expect(t.vault.count()).toBe(1);
    expect(cached(t)).toEqual([]);
  });
});

describe('credential choice', () => {
  async function twoAccounts(t: Harness) {
    const a = await register(t.platform, { userName: 'a@example.com', displayName: 'A', userId: Uint8Array.of(1), userVerification: 'required' });
    const b = await register(t.platform, { userName: 'b@example.com', displayName: 'B', userId: Uint8Array.of(2), userVerification: 'required' });
    return [a, b] as const;
  }

  it('an allowList naming several of ours: the user chooses, and the chosen one signs', async () => {
    const t = open();
    const [a, b] = await twoAccounts(t);
    t.chooser.answer = (request) => ({ ok: true, index: request.candidates.findIndex((c) => c.userName === 'b@example.com') });
    const { verification, chosen } = await authenticate(t.platform, [a, b], { userVerification: 'required' });
    expect(verification.verified).toBe(true);
    expect(chosen.response.id).toBe(b.credential.id);
    expect(t.chooser.shown).toHaveLength(1);
    const shown = t.chooser.shown[0]!;
    expect(shown.rpId).toBe(RP_ID);
    expect(shown.candidates.map((c) => c.userName).sort()).toEqual(['a@example.com', 'b@example.com']);
  });

  it('an allowList naming exactly one of ours (the Windows picker\'s choice): used without asking again', async () => {
    const t = open();
    const [a] = await twoAccounts(t);
    const { verification } = await authenticate(t.platform, [a], { userVerification: 'required' });
    expect(verification.verified).toBe(true);
    expect(t.chooser.shown).toEqual([]);
  });

  it('a discoverable request matching several: chosen the same way, with the user handle of the chosen one', async () => {
    const t = open();
    const [a, b] = await twoAccounts(t);
    t.chooser.answer = (request) => ({ ok: true, index: request.candidates.findIndex((c) => c.userName === 'a@example.com') });
    const { verification, chosen } = await authenticate(t.platform, [a, b], { allow: false, userVerification: 'required' });
    expect(verification.verified).toBe(true);
    expect(chosen.response.id).toBe(a.credential.id);
    expect(chosen.userHandle).toStrictEqual(Uint8Array.of(1));
  });

  it('no choice made (dismissed, or no dialog available) → NTE_USER_CANCELLED, nothing signed', async () => {
    const t = open();
    const [a, b] = await twoAccounts(t);
    const before = t.vault.findById(RP_ID, new Uint8Array(Buffer.from(a.credential.id, 'base64url')))!.lastUsedAt;
    t.chooser.answer = () => ({ ok: false, refusal: 'cancelled' });
    expect(await hresultOf(authenticate(t.platform, [a, b]))).toBe(HRESULT.NTE_USER_CANCELLED);
    t.chooser.answer = () => ({ ok: false, refusal: 'unavailable' });
    expect(await hresultOf(authenticate(t.platform, [a, b], { allow: false }))).toBe(HRESULT.NTE_USER_CANCELLED);
    expect(t.vault.findById(RP_ID, new Uint8Array(Buffer.from(a.credential.id, 'base64url')))!.lastUsedAt).toBe(before);
  });

  it('offers only credentials the core would use: credProtect level 3 is left out without UV', async () => {
    const t = open();
    await register(t.platform, { userName: 'a@example.com', userId: Uint8Array.of(1), userVerification: 'required' });
    await register(t.platform, {
      userName: 'b@example.com',
      userId: Uint8Array.of(2),
      userVerification: 'required',
      ctapExtensions: new Map([['credProtect', 3]]),
    });
    const bytes = encodeCanonical(getAssertionParams()); // discoverable, no uv
    const reply = await t.windows.call('getAssertion', bytes);
    expect(reply.hresult).toBe(0);
    expect(t.chooser.shown).toEqual([]); // only one usable: no question
  });
});

describe('PRF / hmac-secret inputs', () => {
  it('an hmac-secret input in a format this plugin cannot open still signs in, without extension output', async () => {
    const t = open();
    const account = await register(t.platform, { userVerification: 'required', ctapExtensions: new Map([['hmac-secret', true]]) });
    const keyAgreement = new Map<CborValue, CborValue>([[1, 2], [3, -25], [-1, 1], [-2, new Uint8Array(32)], [-3, new Uint8Array(32)]]);
    const hmacInput = new Map<CborValue, CborValue>([[1, keyAgreement], [2, new Uint8Array(32)], [3, new Uint8Array(16)], [4, 2]]);
    const { verification, chosen } = await authenticate(t.platform, [account], {
      userVerification: 'required',
      ctapExtensions: new Map<string, CborValue>([['hmac-secret', hmacInput], ['prf', new Map([['eval', new Map([['first', new Uint8Array(32)]])]])]]),
    });
    expect(verification.verified).toBe(true);
    expect(chosen.authenticatorData[32]! & 0x80).toBe(0); // no extension data in authData
    expect(t.logs.join('\n')).toMatch(/hmac-secret input \(encrypted-salts\) answered without extension output/);
    expect(t.logs.join('\n')).toMatch(/prf input \(clear-salts\) answered without extension output/);
  });
});

describe('ctapParameters', () => {
  it('accepts a bare map or the matching command byte only', () => {
    const map = Uint8Array.of(0xa1, 0x01, 0x02);
    expect(ctapParameters(map, 'getAssertion')).toBe(map);
    expect(ctapParameters(Uint8Array.of(0x02, ...map), 'getAssertion')).toStrictEqual(map);
    expect(ctapParameters(Uint8Array.of(0x01, ...map), 'getAssertion')).toBeUndefined();
    expect(ctapParameters(Uint8Array.of(0x80), 'getAssertion')).toBeUndefined();
    expect(ctapParameters(new Uint8Array(0), 'makeCredential')).toBeUndefined();
    expect(clientDataHash()).toHaveLength(32);
  });
});
