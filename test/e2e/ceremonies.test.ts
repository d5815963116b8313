/**
 * WebAuthn ceremonies end to end: a platform-playing client sends the bytes a platform sends, and
 * @simplewebauthn/server, an independent relying party, verifies every registration and sign-in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateAuthenticationOptions, verifyAuthenticationResponse } from '@simplewebauthn/server';
import { afterEach, describe, expect, it } from 'vitest';
import { CtapStatusError, WebAuthnPlatform, type AccountChoice } from '../../src/app/webauthnClient.js';
import { decodeStrict, type CborMap } from '../../src/cbor/index.js';
import { Authenticator, Status, type AuthenticatorOptions, type CredentialStore, type RequestContext } from '../../src/ctap/index.js';
import { openVault, type Vault } from '../../src/vault/vault.js';
import { AAGUID, parseAuthData } from '../support/ctapHelpers.js';
import { MemoryStore } from '../support/memoryStore.js';
import { authenticate, ORIGIN, register, RP_ID, type Account } from '../support/relyingParty.js';
import { approving, ScriptedUser } from '../support/users.js';

interface Rig {
  readonly authenticator: Authenticator;
  readonly store: CredentialStore;
  readonly ctx: RequestContext & { user: ScriptedUser };
  readonly platform: WebAuthnPlatform;
}

function rig(options: Partial<AuthenticatorOptions> = {}, ctx: RequestContext & { user: ScriptedUser } = approving()): Rig {
  const store = options.store ?? new MemoryStore();
  const authenticator = new Authenticator({ aaguid: AAGUID, ...options, store });
  const platform = new WebAuthnPlatform((command, params) => authenticator.handle(command, params, ctx), ORIGIN);
  return { authenticator, store, ctx, platform };
}

function coseAlg(account: Account): unknown {
  return (decodeStrict(account.credential.publicKey) as CborMap).get(3);
}

/** A discoverable sign-in that reports every account the authenticator offered, verified by the RP. */
async function discoverableSignIn(platform: WebAuthnPlatform, accounts: readonly Account[], pick: (offered: readonly AccountChoice[]) => number) {
  const options = await generateAuthenticationOptions({ rpID: RP_ID, userVerification: 'preferred', allowCredentials: [] });
  let offered: readonly AccountChoice[] = [];
  const chosen = await platform.get(options, {
    chooseAccount: (list) => {
      offered = list;
      return pick(list);
    },
  });
  const account = accounts.find((a) => a.credential.id === chosen.response.id);
  if (account === undefined) throw new Error('the authenticator answered with a credential the RP does not know');
  const verification = await verifyAuthenticationResponse({
    response: chosen.response,
    expectedChallenge: options.challenge,
    expectedOrigin: ORIGIN,
    expectedRPID: RP_ID,
    credential: account.credential,
  });
  return { verification, chosen, account, offered };
}

describe('discoverable and non-discoverable credentials', () => {
  it('a discoverable credential signs in with and without an allowList, returning its user handle', async () => {
    const { platform } = rig();
    const account = await register(platform, { residentKey: 'required' });
    const discoverable = await authenticate(platform, [account], { allow: false });
    expect(discoverable.verification.verified).toBe(true);
    expect(discoverable.chosen.userHandle).toEqual(account.userId);
    const listed = await authenticate(platform, [account], { allow: true });
    expect(listed.verification.verified).toBe(true);
  });

  it('a non-discoverable credential signs in with an allowList only', async () => {
    const { platform } = rig();
    const account = await register(platform, { residentKey: 'discouraged' });
    const listed = await authenticate(platform, [account], { allow: true });
    expect(listed.verification.verified).toBe(true);
    expect(listed.chosen.userHandle).toBeUndefined();
    await expect(authenticate(platform, [account], { allow: false })).rejects.toMatchObject({
      name: 'CtapStatusError',
      status: Status.NO_CREDENTIALS,
    });
  });
});

describe('user verification', () => {
  for (const [requirement, expected] of [
    ['required', true],
    ['preferred', true],
    ['discouraged', false],
  ] as const) {
    it(`${requirement}: the UV flag is ${expected} at registration and sign-in`, async () => {
      const { platform } = rig();
      const account = await register(platform, { userVerification: requirement });
      expect(account.userVerified).toBe(expected);
      // The relying party's requireUserVerification is set for "required" by the helper.
      const { verification } = await authenticate(platform, [account], { userVerification: requirement });
      expect(verification.verified).toBe(true);
      expect(verification.authenticationInfo.userVerified).toBe(expected);
    });
  }

  it('where the transport cannot verify: "preferred" goes without UV, "required" is refused', async () => {
    const { platform } = rig({ userVerification: false }, { user: new ScriptedUser(undefined, false) });
    const account = await register(platform, { userVerification: 'preferred' });
    expect(account.userVerified).toBe(false);
    const { verification } = await authenticate(platform, [account], { userVerification: 'preferred' });
    expect(verification.authenticationInfo.userVerified).toBe(false);
    await expect(register(platform, { userVerification: 'required', userId: Uint8Array.of(9) })).rejects.toMatchObject({
      status: Status.INVALID_OPTION,
    });
  });
});

describe('excludeCredentials', () => {
  it('a second registration with the first credential excluded fails with CREDENTIAL_EXCLUDED', async () => {
    const { platform, store, ctx } = rig();
    const first = await register(platform);
    const prompts = ctx.user.prompts.length;
    const attempt = register(platform, { exclude: [first.credential], userId: Uint8Array.of(7, 7) });
    await expect(attempt).rejects.toBeInstanceOf(CtapStatusError);
    await expect(attempt).rejects.toMatchObject({ status: Status.CREDENTIAL_EXCLUDED, command: 0x01 });
    expect(ctx.user.prompts.length - prompts).toBe(1);
    expect(store.count()).toBe(1);
  });

  it('excluding a credential of another authenticator does not stop registration', async () => {
    const other = rig();
    const foreign = await register(other.platform);
    const { platform, store } = rig();
    const account = await register(platform, { exclude: [foreign.credential] });
    expect(account.credential.id).not.toBe(foreign.credential.id);
    expect(store.count()).toBe(1);
  });
});

describe('several accounts on one RP', () => {
  it('offers all three through getNextAssertion; each one chosen verifies and carries its user handle', async () => {
    const { platform } = rig();
    const accounts: Account[] = [];
    for (const name of ['ann', 'bob', 'cyd']) {
      accounts.push(await register(platform, { userName: `${name}@example.com`, displayName: name.toUpperCase() }));
    }
    expect(new Set(accounts.map((a) => Buffer.from(a.userId).toString('hex'))).size).toBe(3);
    const chosenIds = new Set<string>();
    for (let index = 0; index < 3; index++) {
      const { verification, chosen, account, offered } = await discoverableSignIn(platform, accounts, () => index);
      expect(offered).toHaveLength(3);
      expect(verification.verified).toBe(true);
      expect(chosen.userHandle).toEqual(account.userId);
      // Names come back after user verification ("preferred" verifies here).
      expect(offered.map((o) => o.userName).sort()).toEqual(['ann@example.com', 'bob@example.com', 'cyd@example.com']);
      chosenIds.add(chosen.response.id);
    }
    expect(chosenIds.size).toBe(3);
  });

  it('a new discoverable credential with the same user handle replaces the old one', async () => {
    const { platform, store } = rig();
    const userId = Uint8Array.from({ length: 32 }, (_, i) => i);
    const old = await register(platform, { userId, displayName: 'Old' });
    const replacement = await register(platform, { userId, displayName: 'New' });
    expect(replacement.credential.id).not.toBe(old.credential.id);
    expect(store.count()).toBe(1);
    const { verification, chosen, offered } = await discoverableSignIn(platform, [old, replacement], () => 0);
    expect(offered).toHaveLength(1);
    expect(chosen.response.id).toBe(replacement.credential.id);
    expect(verification.verified).toBe(true);
    await expect(authenticate(platform, [old], { allow: true })).rejects.toMatchObject({ status: Status.NO_CREDENTIALS });
  });
});

describe('names and handles', () => {
  it('keeps non-ASCII names exactly', async () => {
    const { platform, store } = rig();
    const name = 'Zoë Ångström 山田 🙂';
    const account = await register(platform, { userName: name, displayName: `${name} (display)` });
    const { verification, chosen } = await authenticate(platform, [account], { allow: false, userVerification: 'required' });
    expect(verification.verified).toBe(true);
    expect(chosen.userName).toBe(name);
    const record = store.list()[0]!;
    expect(record.userName).toBe(name);
    expect(record.userDisplayName).toBe(`${name} (display)`);
  });

  it('round-trips a 64-byte user handle', async () => {
    const { platform } = rig();
    const userId = Uint8Array.from({ length: 64 }, (_, i) => 255 - i);
    const account = await register(platform, { userId });
    const { verification, chosen } = await authenticate(platform, [account], { allow: false });
    expect(verification.verified).toBe(true);
    expect(chosen.userHandle).toEqual(userId);
  });
});

describe('algorithms', () => {
  it('[-8] picks EdDSA', async () => {
    const { platform } = rig();
    const account = await register(platform, { algorithms: [-8] });
    expect(coseAlg(account)).toBe(-8);
    expect((await authenticate(platform, [account])).verification.verified).toBe(true);
  });

  it('[-257, -7] picks ES256', async () => {
    const { platform } = rig();
    const account = await register(platform, { algorithms: [-257, -7] });
    expect(coseAlg(account)).toBe(-7);
    expect((await authenticate(platform, [account])).verification.verified).toBe(true);
  });

  it('[-257] alone is refused with UNSUPPORTED_ALGORITHM', async () => {
    const { platform } = rig();
    await expect(register(platform, { algorithms: [-257] })).rejects.toMatchObject({ status: Status.UNSUPPORTED_ALGORITHM });
  });
});

describe('attestation', () => {
  for (const alg of [-7, -8]) {
    it(`packed self-attestation (alg ${alg}) is verified as fmt "packed"`, async () => {
      const { platform } = rig({ attestation: 'packed-self' });
      const account = await register(platform, { attestation: 'direct', algorithms: [alg] });
      expect(account.fmt).toBe('packed');
      expect(coseAlg(account)).toBe(alg);
      expect((await authenticate(platform, [account])).verification.verified).toBe(true);
    });
  }

  it('by default answers fmt "none", backed up (multi-device)', async () => {
    const { platform } = rig();
    const account = await register(platform, { attestation: 'direct' });
    expect(account.fmt).toBe('none');
    expect(account.backedUp).toBe(true);
    expect(account.deviceType).toBe('multiDevice');
  });
});

describe('persistence across a restart (real vault)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function paths() {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-'));
    dirs.push(dir);
    return { path: join(dir, 'data', 'vault.db'), keyDir: join(dir, 'keys') };
  }

  it('registers, closes, reopens in a new Authenticator, and signs in', async () => {
    const where = paths();
    let vault: Vault = openVault(where);
    const before = rig({ store: vault });
    const discoverable = await register(before.platform, { userId: Uint8Array.of(1) });
    const listed = await register(before.platform, { userId: Uint8Array.of(2), residentKey: 'discouraged', algorithms: [-8] });
    vault.close();

    vault = openVault({ ...where, create: false });
    try {
      const after = rig({ store: vault });
      const d = await authenticate(after.platform, [discoverable], { allow: false });
      expect(d.verification.verified).toBe(true);
      expect(d.chosen.userHandle).toEqual(Uint8Array.of(1));
      const l = await authenticate(after.platform, [listed], { allow: true });
      expect(l.verification.verified).toBe(true);
      expect(vault.count()).toBe(2);
    } finally {
      vault.close();
    }
  });

  it('a device-bound counter keeps rising across the restart, and the RP accepts each value', async () => {
    const where = paths();
    let vault: Vault = openVault(where);
    const before = rig({ store: vault, backupEligible: false });
    const registered = await register(before.platform);
    expect(registered.deviceType).toBe('singleDevice');
    expect(registered.backedUp).toBe(false);
    let account = registered;
    const counters: number[] = [];
    const signIn = async (platform: WebAuthnPlatform) => {
      const { verification, chosen } = await authenticate(platform, [account], { allow: true });
      expect(verification.verified).toBe(true);
      counters.push(parseAuthData(chosen.authenticatorData).signCount);
      account = { ...account, credential: { ...account.credential, counter: verification.authenticationInfo.newCounter } };
    };
    await signIn(before.platform);
    await signIn(before.platform);
    vault.close();

    vault = openVault({ ...where, create: false });
    try {
      const after = rig({ store: vault, backupEligible: false });
      await signIn(after.platform);
      expect(counters).toEqual([1, 2, 3]);
    } finally {
      vault.close();
    }
  });
});
