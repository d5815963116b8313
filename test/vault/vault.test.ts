import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COSE_ALG_EDDSA, StoreError, type CredentialRecord } from '../../src/ctap/ports.js';
import { openVault } from '../../src/vault/vault.js';
import { openTestDriver } from './driver.js';
import { sampleRecord, sampleSecrets, tempVaultDir, type TempVaultDir } from './helpers.js';

const isWindows = process.platform === 'win32';

let t: TempVaultDir;
beforeEach(() => {
  t = tempVaultDir();
});
afterEach(() => {
  t.cleanup();
});

function expectPlainBytes(record: CredentialRecord): void {
  for (const value of [record.id, record.userId, record.publicKey, record.credBlob]) {
    if (value === undefined) continue;
    expect(Object.getPrototypeOf(value)).toBe(Uint8Array.prototype);
    expect(Buffer.isBuffer(value)).toBe(false);
  }
}

describe('creating and opening', () => {
  it('creates a key-file vault non-interactively and reports it', () => {
    const vault = t.open();
    const info = vault.info();
    expect(info).toMatchObject({ path: t.vaultPath, protector: 'keyfile', schemaVersion: 1, credentialCount: 0 });
    expect(info.vaultId).toMatch(/^[0-9a-f]{32}$/);
    expect(existsSync(join(t.keyDir, `${info.vaultId}.key`))).toBe(true);
    vault.close();
    // No temporary file of the creation is left beside the vault.
    expect(readdirSync(join(t.dir, 'data')).filter((name) => !name.startsWith('vault.db'))).toEqual([]);
    const again = t.open();
    expect(again.info().vaultId).toBe(info.vaultId);
    again.close();
  });

  it('uses the clock for the creation time', () => {
    const vault = t.open({ clock: { now: () => 1_234_567 } });
    expect(vault.info().createdAt).toBe(1_234_567);
    vault.close();
  });

  it.skipIf(isWindows)('creates the vault file and key file owner-only, in owner-only directories', () => {
    t.open().close();
    const mode = (path: string) => statSync(path).mode & 0o777;
    expect(mode(t.vaultPath)).toBe(0o600);
    expect(mode(join(t.dir, 'data'))).toBe(0o700);
    expect(mode(t.keyDir)).toBe(0o700);
    const [keyFile] = readdirSync(t.keyDir);
    expect(mode(join(t.keyDir, keyFile!))).toBe(0o600);
  });

  it('refuses an empty path, a directory, and a missing vault when create is false', () => {
    expect(() => openVault({ path: '', keyDir: t.keyDir, driver: openTestDriver })).toThrow(/path is empty/);
    mkdirSync(join(t.dir, 'adir'));
    expect(() => openVault({ path: join(t.dir, 'adir'), keyDir: t.keyDir, driver: openTestDriver })).toThrow(/is a directory/);
    expect(() => openVault({ path: join(t.dir, 'none.db'), keyDir: t.keyDir, create: false, driver: openTestDriver })).toThrow(
      /there is no vault at/,
    );
    expect(existsSync(join(t.dir, 'none.db'))).toBe(false);
  });

  it('throws StoreError(locked) once closed; close is idempotent', () => {
    const vault = t.open();
    vault.close();
    vault.close();
    expect(() => vault.count()).toThrow(StoreError);
    try {
      vault.findById('example.com', new Uint8Array([1]));
    } catch (error) {
      expect((error as StoreError).code).toBe('locked');
    }
  });
});

describe('credentials', () => {
  it('round-trips every field and secret across close and reopen', () => {
    const full = sampleRecord({ counterMode: 'increment', signCount: 41, backupEligible: false, backupState: false });
    const minimal: CredentialRecord = {
      id: new Uint8Array(1023).fill(7),
      rpId: 'other.example',
      userId: new Uint8Array(64).fill(1),
      alg: COSE_ALG_EDDSA,
      publicKey: new Uint8Array([0xa4, 1, 1]),
      discoverable: false,
      credProtect: 3,
      backupEligible: true,
      backupState: false,
      counterMode: 'zero',
      signCount: 0,
      createdAt: 5,
      origin: 'imported',
    };
    const fullSecrets = sampleSecrets();
    const minimalSecrets = { privateKey: new Uint8Array(32).fill(3) };
    let vault = t.open();
    vault.create(full, fullSecrets);
    vault.create(minimal, minimalSecrets);
    vault.close();

    vault = t.open();
    const gotFull = vault.findById(full.rpId, full.id)!;
    const gotMinimal = vault.findById(minimal.rpId, minimal.id)!;
    expect(gotFull).toStrictEqual(full);
    expect(gotMinimal).toStrictEqual(minimal);
    expectPlainBytes(gotFull);
    expectPlainBytes(gotMinimal);
    expect(vault.openSecrets(gotFull)).toStrictEqual(fullSecrets);
    expect(vault.openSecrets(gotMinimal)).toStrictEqual(minimalSecrets);
    // A record rebuilt by the caller (not the object the store returned) opens too.
    expect(vault.openSecrets({ ...gotFull })).toStrictEqual(fullSecrets);
    expect(Object.getPrototypeOf(vault.openSecrets(gotFull).privateKey)).toBe(Uint8Array.prototype);
    vault.close();
  });

  it('finds a credential only under its own rpId', () => {
    const vault = t.open();
    const record = sampleRecord({ rpId: 'a.example' });
    vault.create(record, sampleSecrets());
    expect(vault.findById('a.example', record.id)?.id).toStrictEqual(record.id);
    expect(vault.findById('b.example', record.id)).toBeUndefined();
    expect(vault.findById('a.example', new Uint8Array(16))).toBeUndefined();
    expect(() => vault.openSecrets({ ...record, rpId: 'b.example' })).toThrow(StoreError);
    vault.close();
  });

  it('lists discoverable credentials of one RP, newest first', () => {
    const vault = t.open();
    const older = sampleRecord({ userId: new Uint8Array([1]), createdAt: 100 });
    const newer = sampleRecord({ userId: new Uint8Array([2]), createdAt: 300 });
    const middle = sampleRecord({ userId: new Uint8Array([3]), createdAt: 200 });
    const hidden = sampleRecord({ userId: new Uint8Array([4]), createdAt: 400, discoverable: false });
    const elsewhere = sampleRecord({ rpId: 'other.example', createdAt: 500 });
    for (const r of [older, newer, middle, hidden, elsewhere]) vault.create(r, sampleSecrets());
    expect(vault.findDiscoverable('example.com').map((r) => r.createdAt)).toEqual([300, 200, 100]);
    expect(vault.findDiscoverable('nobody.example')).toEqual([]);
    // Same creation time: the one stored later comes first.
    const tieA = sampleRecord({ rpId: 'tie.example', userId: new Uint8Array([1]), createdAt: 7 });
    const tieB = sampleRecord({ rpId: 'tie.example', userId: new Uint8Array([2]), createdAt: 7 });
    vault.create(tieA, sampleSecrets());
    vault.create(tieB, sampleSecrets());
    expect(vault.findDiscoverable('tie.example').map((r) => r.id)).toStrictEqual([tieB.id, tieA.id]);
    vault.close();
  });

  it('replaces the discoverable credential of the same RP and user, keeping non-discoverable ones', () => {
    const vault = t.open();
    const user = new Uint8Array([42]);
    const first = sampleRecord({ userId: user, discoverable: true });
    const nonDiscoverable = sampleRecord({ userId: user, discoverable: false });
    const otherRp = sampleRecord({ userId: user, rpId: 'other.example' });
    const otherUser = sampleRecord({ userId: new Uint8Array([43]) });
    for (const r of [first, nonDiscoverable, otherRp, otherUser]) vault.create(r, sampleSecrets());
    const second = sampleRecord({ userId: user, discoverable: true });
    vault.create(second, sampleSecrets());

    expect(vault.findById(first.rpId, first.id)).toBeUndefined();
    expect(vault.findById(second.rpId, second.id)).toBeDefined();
    expect(vault.findById(nonDiscoverable.rpId, nonDiscoverable.id)).toBeDefined();
    expect(vault.findById(otherRp.rpId, otherRp.id)).toBeDefined();
    expect(vault.findById(otherUser.rpId, otherUser.id)).toBeDefined();
    expect(vault.count()).toBe(4);
    // A new non-discoverable credential replaces nothing.
    vault.create(sampleRecord({ userId: user, discoverable: false }), sampleSecrets());
    expect(vault.count()).toBe(5);
    vault.close();
  });

  it('keeps an increment counter monotonic across close and reopen', () => {
    const record = sampleRecord({ counterMode: 'increment', signCount: 0, backupEligible: false, backupState: false });
    let vault = t.open();
    vault.create(record, sampleSecrets());
    expect(vault.recordUse(record, 1000)).toBe(1);
    expect(vault.recordUse(record, 2000)).toBe(2);
    vault.close();
    vault = t.open();
    const stored = vault.findById(record.rpId, record.id)!;
    expect(stored.signCount).toBe(2);
    expect(stored.lastUsedAt).toBe(2000);
    expect(vault.recordUse(stored, 3000)).toBe(3);
    vault.close();
    vault = t.open();
    expect(vault.findById(record.rpId, record.id)!.signCount).toBe(3);
    vault.close();
  });

  it('keeps a zero counter at 0 and persists last-used on close', () => {
    const record = sampleRecord({ counterMode: 'zero', lastUsedAt: undefined });
    let vault = t.open();
    vault.create(record, sampleSecrets());
    expect(vault.recordUse(record, 7777)).toBe(0);
    expect(vault.recordUse(record, 8888)).toBe(0);
    // Visible at once to this process, though not yet written.
    expect(vault.findById(record.rpId, record.id)!.lastUsedAt).toBe(8888);
    vault.close();
    vault = t.open();
    const stored = vault.findById(record.rpId, record.id)!;
    expect(stored.signCount).toBe(0);
    expect(stored.lastUsedAt).toBe(8888);
    vault.close();
  });

  it('writes batched last-used times on a timer and with the next write', async () => {
    const a = sampleRecord({ lastUsedAt: undefined });
    const b = sampleRecord({ lastUsedAt: undefined, rpId: 'b.example' });
    const vault = t.open({ lastUsedFlushMs: 20 });
    vault.create(a, sampleSecrets());
    vault.create(b, sampleSecrets());
    vault.recordUse(a, 111);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const reader = t.open(); // a second connection sees only what was committed
    expect(reader.findById(a.rpId, a.id)!.lastUsedAt).toBe(111);
    vault.recordUse(b, 222);
    vault.delete(new Uint8Array([0xff])); // a write: carries the pending time with it
    expect(reader.findById(b.rpId, b.id)!.lastUsedAt).toBe(222);
    reader.close();
    vault.close();
  });

  it('deletes by id from any RP and says whether it did', () => {
    const vault = t.open();
    const record = sampleRecord({ rpId: 'x.example' });
    vault.create(record, sampleSecrets());
    expect(vault.delete(record.id)).toBe(true);
    expect(vault.delete(record.id)).toBe(false);
    expect(vault.findById(record.rpId, record.id)).toBeUndefined();
    expect(vault.count()).toBe(0);
    vault.close();
  });

  it('lists all credentials ordered by rpId, then creation time', () => {
    const vault = t.open();
    const records = [
      sampleRecord({ rpId: 'b.example', createdAt: 1 }),
      sampleRecord({ rpId: 'a.example', createdAt: 9 }),
      sampleRecord({ rpId: 'a.example', createdAt: 3, userId: new Uint8Array([5]) }),
    ];
    for (const r of records) vault.create(r, sampleSecrets());
    expect(vault.list().map((r) => `${r.rpId}@${r.createdAt}`)).toEqual(['a.example@3', 'a.example@9', 'b.example@1']);
    expect(vault.count()).toBe(3);
    vault.close();
  });

  it('refuses a duplicate credential id without changing anything', () => {
    const vault = t.open();
    const record = sampleRecord({ discoverable: false });
    vault.create(record, sampleSecrets());
    expect(() => vault.create({ ...record, userName: 'mallory' }, sampleSecrets())).toThrow(StoreError);
    expect(vault.findById(record.rpId, record.id)!.userName).toBe(record.userName);
    vault.close();
  });

  it('stores a batch all or nothing', () => {
    const vault = t.open();
    const good = sampleRecord({ discoverable: false });
    const clash = sampleRecord({ discoverable: false });
    vault.create(clash, sampleSecrets());
    expect(() =>
      vault.createMany([
        { record: good, secrets: sampleSecrets() },
        { record: clash, secrets: sampleSecrets() },
      ]),
    ).toThrow(StoreError);
    expect(vault.findById(good.rpId, good.id)).toBeUndefined();
    expect(vault.count()).toBe(1);
    vault.close();
  });

  it('rejects records that break the port contract', () => {
    const vault = t.open();
    expect(() => vault.create(sampleRecord({ id: new Uint8Array(0) }), sampleSecrets())).toThrow(RangeError);
    expect(() => vault.create(sampleRecord({ userId: new Uint8Array(65) }), sampleSecrets())).toThrow(RangeError);
    expect(() => vault.create(sampleRecord({ counterMode: 'zero', signCount: 3 }), sampleSecrets())).toThrow(RangeError);
    expect(vault.count()).toBe(0);
    vault.close();
  });

  it('passes an integrity check', () => {
    const vault = t.open();
    vault.create(sampleRecord(), sampleSecrets());
    expect(vault.checkIntegrity()).toEqual([]);
    vault.close();
  });
});
