/**
 * Request authenticity on Windows (SECURITY.md, "A local process pretending to be Windows"), in
 * addition to test/windows-host/pluginHost.test.ts ("requests refused before anything is
 * decoded": a missing, forged or truncated signature, a truncated request, another key, an RSA
 * signature for an ECDSA key, no signing key, and a replay with identical bytes). Here:
 * - an RSA-keyed Windows: an ECDSA signature, PSS with another salt length, a signature over the
 *   hash of the hash; and on both key types bytes appended to or a command byte put before the
 *   signed bytes: all refused with NTE_BAD_SIGNATURE before the core, Windows Hello or the store;
 * - replays, documented as they are: Windows signs only the request bytes, not the transaction id or
 *   the window, so the same bytes verify in another transaction. What that buys an attacker:
 *   a replayed makeCredential or user-verifying getAssertion needs a new Windows Hello gesture for
 *   the new transaction; a replayed silent getAssertion (up=false) signs the same old client data
 *   hash again, an assertion a relying party has already consumed the challenge of.
 */
import { constants, createHash, randomUUID, sign } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeCanonical } from '../../src/cbor/index.js';
import { HRESULT } from '../../src/transports/windows/hresult.js';
import { getAssertionParams, makeCredentialParams, options, parseAuthData } from '../support/ctapHelpers.js';
import { signingKey, type KeyType } from '../windows-host/fakeWindows.js';
import { harness, type Harness } from '../windows-host/harness.js';
import { register } from '../support/relyingParty.js';
import { cborMap } from '../reliability/support.js';

let h: Harness | undefined;
afterEach(() => {
  h?.cleanup();
  h = undefined;
});

function open(opKey: KeyType = 'ecdsa'): Harness {
  h = harness({ opKey });
  return h;
}

function mcBytes(userId = 1): Uint8Array {
  const params = makeCredentialParams({ userId: Uint8Array.of(userId) });
  params.set(0x07, options({ rk: true, uv: true }));
  return encodeCanonical(params);
}

async function refusedBeforeDecoding(t: Harness, send: () => Promise<{ hresult: number }>): Promise<void> {
  const handle = vi.spyOn(t.authenticator, 'handle');
  const count = t.vault.count();
  const prompts = t.windows.uvRequests.length;
  expect((await send()).hresult).toBe(HRESULT.NTE_BAD_SIGNATURE);
  expect(handle).not.toHaveBeenCalled();
  expect(t.windows.uvRequests).toHaveLength(prompts);
  expect(t.vault.count()).toBe(count);
  handle.mockRestore();
}

describe('signatures that do not cover exactly these bytes with exactly this key are refused before decoding', () => {
  it.each<KeyType>(['rsa-pkcs1', 'rsa-pss'])('an RSA-keyed Windows (%s): an ECDSA signature, PSS with a 20-byte salt, a signature over the hash', async (type) => {
    const t = open(type);
    const bytes = mcBytes();
    await refusedBeforeDecoding(t, () => t.windows.call('makeCredential', bytes, { signature: signingKey('ecdsa').sign(bytes) }));
    const pss20 = new Uint8Array(sign('sha256', bytes, { key: t.windows.opSigningKey.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 }));
    await refusedBeforeDecoding(t, () => t.windows.call('makeCredential', bytes, { signature: pss20 }));
    const hashed = new Uint8Array(createHash('sha256').update(bytes).digest());
    await refusedBeforeDecoding(t, () => t.windows.call('makeCredential', bytes, { signature: t.windows.opSigningKey.sign(hashed) }));
    // The same key, the right bytes: accepted (the refusals above are about the signature alone).
    expect((await t.windows.call('makeCredential', bytes)).hresult).toBe(HRESULT.S_OK);
  });

  it.each<KeyType>(['ecdsa', 'rsa-pss'])('%s: bytes appended after the signed request, or a command byte put before it', async (type) => {
    const t = open(type);
    const bytes = mcBytes();
    const signature = t.windows.opSigningKey.sign(bytes);
    await refusedBeforeDecoding(t, () => t.windows.call('makeCredential', Uint8Array.of(...bytes, 0x00), { signature }));
    await refusedBeforeDecoding(t, () => t.windows.call('makeCredential', Uint8Array.of(0x01, ...bytes), { signature }));
    // Signed with the command byte, it is accepted with it (Windows may send one).
    const prefixed = Uint8Array.of(0x01, ...bytes);
    expect((await t.windows.call('makeCredential', prefixed, { signature: t.windows.opSigningKey.sign(prefixed) })).hresult).toBe(HRESULT.S_OK);
  });

  it('a makeCredential signature presented with getAssertion bytes, and the reverse', async () => {
    const t = open();
    const mc = mcBytes();
    const ga = encodeCanonical(getAssertionParams());
    await refusedBeforeDecoding(t, () => t.windows.call('getAssertion', ga, { signature: t.windows.opSigningKey.sign(mc) }));
    await refusedBeforeDecoding(t, () => t.windows.call('makeCredential', mc, { signature: t.windows.opSigningKey.sign(ga) }));
  });
});

describe('replay into another transaction (Windows signs the bytes, not the transaction id or window)', () => {
  it('a replayed makeCredential verifies, and then needs a new Windows Hello gesture for the new transaction', async () => {
    const t = open();
    const bytes = mcBytes(7);
    const signature = t.windows.opSigningKey.sign(bytes);
    const first = await t.windows.call('makeCredential', bytes, { signature, transactionId: randomUUID() });
    expect(first.hresult).toBe(HRESULT.S_OK);
    expect(t.windows.uvRequests).toHaveLength(1);

    // The replay: Windows Hello asks again (the user sees a prompt they did not start) ...
    const replayId = randomUUID();
    t.windows.uvMode = 'decline';
    expect((await t.windows.call('makeCredential', bytes, { signature, transactionId: replayId })).hresult).toBe(HRESULT.NTE_USER_CANCELLED);
    expect(t.windows.uvRequests).toHaveLength(2);
    expect(t.windows.uvRequests[1]!.transactionId).toBe(replayId);
    // ... and a declined prompt leaves the first credential as it was.
    expect(t.vault.count()).toBe(1);
    // Approved, the replay makes a new credential for the same user handle, which replaces the
    // first (CTAP's rule for discoverable credentials): the documented cost of a replay the user approves.
    t.windows.uvMode = 'accept';
    const approved = await t.windows.call('makeCredential', bytes, { signature, transactionId: randomUUID() });
    expect(approved.hresult).toBe(HRESULT.S_OK);
    expect(t.vault.count()).toBe(1);
    const id = (r: typeof first) => parseAuthData(cborMap(r.response).get(0x02) as Uint8Array).credentialId!;
    expect(id(approved)).not.toEqual(id(first));
  });

  it('a replayed silent getAssertion (up=false) is answered without a prompt, over the same old client data hash', async () => {
    const t = open();
    const account = await register(t.platform, { userVerification: 'required' });
    const params = getAssertionParams({ allow: [Buffer.from(account.credential.id, 'base64url')] });
    params.set(0x05, options({ up: false }));
    const bytes = encodeCanonical(params);
    const signature = t.windows.opSigningKey.sign(bytes);
    const prompts = t.windows.uvRequests.length;
    const first = await t.windows.call('getAssertion', bytes, { signature, transactionId: randomUUID() });
    const replay = await t.windows.call('getAssertion', bytes, { signature, transactionId: randomUUID(), hwnd: 0x999n });
    expect([first.hresult, replay.hresult]).toEqual([HRESULT.S_OK, HRESULT.S_OK]);
    expect(t.windows.uvRequests).toHaveLength(prompts); // silent: nobody was asked
    // The replay signs the same authenticator data (UP clear, counter 0) over the same client data hash.
    const authData = (r: typeof first) => cborMap(r.response).get(0x02) as Uint8Array;
    expect(authData(replay)).toEqual(authData(first));
    expect(parseAuthData(authData(replay)).up).toBe(false);
  });
});
