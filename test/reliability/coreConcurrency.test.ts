/**
 * The core's policy for overlapping `handle` calls (SECURITY.md, "Concurrency"): one operation at a
 * time; while one is in progress every other command but getInfo answers CTAP1_ERR_CHANNEL_BUSY at
 * once, asks nobody and changes nothing; getInfo is always answered. Many requests at once over a
 * real vault: each is served correctly (its own credential, its own client data hash, verified by
 * node:crypto) or refused busy, and the vault passes SQLite's integrity check afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Authenticator, Command, Status, statusName, type CtapResponse } from '../../src/ctap/index.js';
import type { Vault } from '../../src/vault/vault.js';
import { AAGUID, clientDataHash, encode, getAssertionParams, makeCredentialParams, options, parseAuthData, sha256 } from '../support/ctapHelpers.js';
import { tempVaultDir, type TempVaultDir } from '../vault/helpers.js';
import { assertionVerifies, cborMap, contextOf, GateUser, LateUser, prng } from './support.js';

let dir: TempVaultDir | undefined;
let vault: Vault | undefined;
afterEach(() => {
  vault?.close();
  dir?.cleanup();
  vault = undefined;
  dir = undefined;
});

function openAuthenticator(backupEligible = true): { authenticator: Authenticator; vault: Vault; logs: string[] } {
  dir = tempVaultDir();
  vault = dir.open();
  const logs: string[] = [];
  return { authenticator: new Authenticator({ store: vault, aaguid: AAGUID, backupEligible, log: (l) => logs.push(l) }), vault, logs };
}

function mcBytes(rpId: string, userId: Uint8Array, rk = true): { bytes: Uint8Array; hash: Uint8Array } {
  const params = makeCredentialParams({ rpId, userId });
  if (rk) params.set(0x07, options({ rk: true }));
  return { bytes: encode(params), hash: params.get(0x01) as Uint8Array };
}

const name = (status: number) => statusName(status);

describe('overlapping handle() calls', () => {
  it('while makeCredential waits for the user, every other command but getInfo is CHANNEL_BUSY, asks nobody and changes nothing', async () => {
    const { authenticator, vault, logs } = openAuthenticator();
    const user = new GateUser();
    const first = authenticator.handle(Command.MakeCredential, mcBytes('example.com', Uint8Array.of(1)).bytes, contextOf(user));
    await user.shown(1);

    const others: [string, number, Uint8Array][] = [
      ['makeCredential', Command.MakeCredential, mcBytes('example.com', Uint8Array.of(2)).bytes],
      ['getAssertion', Command.GetAssertion, encode(getAssertionParams())],
      ['getNextAssertion', Command.GetNextAssertion, new Uint8Array(0)],
      ['selection', Command.Selection, new Uint8Array(0)],
      ['clientPIN', Command.ClientPin, encode(new Map([[0x01, 2], [0x02, 0x02]]))],
      ['an unknown command', 0x42, new Uint8Array(0)],
      ['garbage', Command.MakeCredential, Uint8Array.of(0xff, 0x00)],
    ];
    for (const [, command, bytes] of others) {
      const other = new LateUser();
      const response = await authenticator.handle(command, bytes, contextOf(other));
      expect(name(response.status)).toBe(name(Status.CHANNEL_BUSY));
      expect(response.body).toBeUndefined();
      expect(other.prompts).toEqual([]);
    }
    const info = await authenticator.handle(Command.GetInfo, new Uint8Array(0), contextOf(new LateUser()));
    expect(info.status).toBe(Status.OK);
    expect(info.body).toEqual(authenticator.getInfoBytes());
    expect(vault.count()).toBe(0);
    expect(user.prompts).toHaveLength(1); // the operation in progress was not disturbed

    user.approve();
    expect((await first).status).toBe(Status.OK);
    expect(vault.count()).toBe(1);
    expect(logs.filter((l) => l.includes('CHANNEL_BUSY'))).toHaveLength(others.length);
    // And it serves again once the operation is over.
    expect((await authenticator.handle(Command.MakeCredential, mcBytes('example.com', Uint8Array.of(3)).bytes, contextOf(new LateUser()))).status).toBe(Status.OK);
  });

  it('a getNextAssertion refused as busy leaves the getAssertion in progress, and its continuation, intact', async () => {
    const { authenticator } = openAuthenticator();
    for (const id of [1, 2]) {
      expect((await authenticator.handle(Command.MakeCredential, mcBytes('example.com', Uint8Array.of(id)).bytes, contextOf(new LateUser()))).status).toBe(0);
    }
    const user = new GateUser();
    const hash = clientDataHash();
    const params = getAssertionParams();
    params.set(0x02, hash);
    const assertion = authenticator.handle(Command.GetAssertion, encode(params), contextOf(user));
    await user.shown(1);
    expect(name((await authenticator.handle(Command.GetNextAssertion, new Uint8Array(0), contextOf(new LateUser()))).status)).toBe(name(Status.CHANNEL_BUSY));
    user.approve();
    const first = await assertion;
    expect(first.status).toBe(Status.OK);
    expect(cborMap(first.body).get(0x05)).toBe(2);
    const next = await authenticator.handle(Command.GetNextAssertion, new Uint8Array(0), contextOf(new LateUser()));
    expect(next.status).toBe(Status.OK);
    expect(cborMap(next.body).get(0x01)).not.toEqual(cborMap(first.body).get(0x01));
  });

  it('an aborted operation keeps the authenticator busy until the core has let go, then serves again', async () => {
    const { authenticator } = openAuthenticator();
    const controller = new AbortController();
    const slow = new LateUser(() => 60_000);
    const first = authenticator.handle(Command.MakeCredential, mcBytes('example.com', Uint8Array.of(1)).bytes, contextOf(slow, controller.signal));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await authenticator.handle(Command.Selection, new Uint8Array(0), contextOf(new LateUser()))).status).toBe(Status.CHANNEL_BUSY);
    controller.abort('cancel');
    expect(name((await first).status)).toBe(name(Status.KEEPALIVE_CANCEL));
    expect((await authenticator.handle(Command.Selection, new Uint8Array(0), contextOf(new LateUser()))).status).toBe(Status.OK);
  });

  it('many requests at once over a real vault: each is its own request\'s correct answer or CHANNEL_BUSY; the vault stays whole', async () => {
    const { authenticator, vault } = openAuthenticator(false); // device-bound: counters move on every assertion
    const random = prng(0x5eed);
    // A few credentials to assert with, made one at a time.
    const known: { id: Uint8Array; rpId: string; cose: Uint8Array }[] = [];
    for (let i = 0; i < 4; i++) {
      const rpId = `rp${i}.example`;
      const response = await authenticator.handle(Command.MakeCredential, mcBytes(rpId, Uint8Array.of(i + 1)).bytes, contextOf(new LateUser()));
      const parsed = parseAuthData(cborMap(response.body).get(0x02) as Uint8Array);
      known.push({ id: parsed.credentialId!, rpId, cose: parsed.coseKey! });
    }
    const user = new LateUser(() => Math.floor(random() * 8));
    const outcomes = { served: 0, busy: 0, info: 0 };
    const created: { id: Uint8Array; rpId: string }[] = [];
    const lastCount = new Map<string, number>();
    const jobs = Array.from({ length: 200 }, async (_, n) => {
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 150)));
      const kind = n % 4;
      if (kind === 0) {
        const rpId = `new${n}.example`;
        const { bytes, hash } = mcBytes(rpId, Uint8Array.of(n & 0xff, n >> 8));
        const response = await authenticator.handle(Command.MakeCredential, bytes, contextOf(user));
        if (response.status === Status.CHANNEL_BUSY) return void outcomes.busy++;
        expect(response.status).toBe(Status.OK);
        const map = cborMap(response.body);
        const parsed = parseAuthData(map.get(0x02) as Uint8Array);
        expect(parsed.rpIdHash).toEqual(sha256(rpId));
        expect(hash).toHaveLength(32);
        created.push({ id: parsed.credentialId!, rpId });
        outcomes.served++;
      } else if (kind === 3) {
        const response: CtapResponse = await authenticator.handle(Command.GetInfo, new Uint8Array(0), contextOf(user));
        expect(response.status).toBe(Status.OK);
        outcomes.info++;
      } else {
        const target = known[n % known.length]!;
        const params = getAssertionParams({ rpId: target.rpId, allow: [target.id] });
        const hash = params.get(0x02) as Uint8Array;
        const response = await authenticator.handle(Command.GetAssertion, encode(params), contextOf(user));
        if (response.status === Status.CHANNEL_BUSY) return void outcomes.busy++;
        expect(response.status).toBe(Status.OK);
        const map = cborMap(response.body);
        const authData = map.get(0x02) as Uint8Array;
        const parsed = parseAuthData(authData);
        expect(parsed.rpIdHash).toEqual(sha256(target.rpId));
        expect((map.get(0x01) as Map<string, unknown>).get('id')).toEqual(target.id);
        // Its own client data hash, its own credential's key.
        expect(assertionVerifies(target.cose, authData, hash, map.get(0x03) as Uint8Array)).toBe(true);
        const key = target.rpId;
        expect(parsed.signCount).toBeGreaterThan(lastCount.get(key) ?? 0);
        lastCount.set(key, parsed.signCount);
        outcomes.served++;
      }
    });
    await Promise.all(jobs);
    expect(outcomes.info).toBe(50);
    expect(outcomes.served).toBeGreaterThan(10);
    expect(outcomes.busy).toBeGreaterThan(10);
    expect(outcomes.served + outcomes.busy + outcomes.info).toBe(200);
    expect(vault.checkIntegrity()).toEqual([]);
    for (const c of created) expect(vault.findById(c.rpId, c.id)).toBeDefined();
    for (const k of known) expect(vault.findById(k.rpId, k.id)!.signCount).toBe(lastCount.get(k.rpId) ?? 0);
  });
});
