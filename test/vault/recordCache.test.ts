/**
 * The store's record cache (sqliteStore.ts) never answers from a row the file no longer holds:
 * a commit by another connection or process (seen through `PRAGMA data_version`), the store's own
 * writes, a lock: each makes the next lookup read the file again. Every test first makes the row
 * cached (looked up at least twice), then changes the file, then looks again.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError, type CredentialRecord } from '../../src/ctap/ports.js';
import type { Vault } from '../../src/vault/vault.js';
import { DRIVER_NAME, rawDatabase } from './driver.js';
import { sampleRecord, sampleSecrets, tempVaultDir, type TempVaultDir } from './helpers.js';

const REPO = resolve(import.meta.dirname, '..', '..');

let t: TempVaultDir;
beforeEach(() => {
  t = tempVaultDir();
});
afterEach(() => {
  t.cleanup();
});

/** A vault (another connection each call) holding `records`, each of them looked up (cached). */
function vaultHolding(...records: CredentialRecord[]): Vault {
  const vault = t.open();
  for (const record of records) vault.create(record, sampleSecrets());
  for (const record of records) cached(vault, record);
  return vault;
}

/** Look `record` up twice, so the second answer came from the cache. */
function cached(vault: Vault, record: CredentialRecord): CredentialRecord {
  expect(vault.findById(record.rpId, record.id)).toBeDefined();
  const found = vault.findById(record.rpId, record.id);
  expect(found).toBeDefined();
  return found!;
}

function expectStoreError(fn: () => unknown, code: StoreError['code']): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(StoreError);
  expect((thrown as StoreError).code).toBe(code);
}

const deviceBound = () => sampleRecord({ counterMode: 'increment', signCount: 0, backupEligible: false, backupState: false });

describe('record cache: changes by another connection or process', () => {
  it("sees another connection's delete at the next lookup", () => {
    const record = sampleRecord();
    const a = vaultHolding(record);
    const b = t.open();
    expect(b.delete(record.id)).toBe(true);
    b.close();
    expect(a.findById(record.rpId, record.id)).toBeUndefined();
    a.close();
  });

  it("sees another process's delete at the next lookup (what `latchkey delete` does)", () => {
    const entry = join(REPO, 'dist', 'vault', 'index.js');
    if (!existsSync(entry)) throw new Error('run `npm run build` first: this test runs dist/ in a second process');
    const record = sampleRecord();
    const kept = sampleRecord({ userId: new Uint8Array([9]) });
    const a = vaultHolding(record, kept);
    const script = `
      import { openVault } from ${JSON.stringify(entry)};
      const [path, keyDir, idHex] = process.argv.slice(1);
      const vault = openVault({ path, keyDir, create: false });
      const removed = vault.delete(Uint8Array.from(Buffer.from(idHex, 'hex')));
      vault.close();
      console.log(removed ? 'deleted' : 'not found');
    `;
    const child = spawnSync(
      process.execPath,
      ['--no-warnings', '--input-type=module', '-e', script, t.vaultPath, t.keyDir, Buffer.from(record.id).toString('hex')],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LATCHKEY_SQL_DRIVER: DRIVER_NAME, NODE_OPTIONS: '' } },
    );
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout.trim()).toBe('deleted');
    expect(a.findById(record.rpId, record.id)).toBeUndefined();
    expect(a.findById(kept.rpId, kept.id)?.id).toStrictEqual(kept.id);
    a.close();
  });

  it("sees another connection's delete even when another credential was read from the file first", () => {
    const [x, y, z] = [1, 2, 3].map((n) => sampleRecord({ userId: new Uint8Array([n]) })) as [CredentialRecord, CredentialRecord, CredentialRecord];
    const a = t.open();
    for (const record of [x, y, z]) a.create(record, sampleSecrets());
    cached(a, x);
    cached(a, y);
    const b = t.open();
    b.delete(x.id);
    b.close();
    // z is not cached: its lookup reads the file (and the newer data_version) first.
    expect(a.findById(z.rpId, z.id)?.id).toStrictEqual(z.id);
    expect(a.findById(x.rpId, x.id)).toBeUndefined();
    expect(a.findById(y.rpId, y.id)?.id).toStrictEqual(y.id);
    a.close();
  });

  it("sees another connection's counter increments, and continues from them (never back)", () => {
    const record = deviceBound();
    const a = t.open();
    a.create(record, sampleSecrets());
    expect(a.recordUse(cached(a, record), 1)).toBe(1);
    expect(cached(a, record).signCount).toBe(1);
    const b = t.open();
    expect(b.recordUse(b.findById(record.rpId, record.id)!, 2)).toBe(2);
    expect(b.recordUse(b.findById(record.rpId, record.id)!, 3)).toBe(3);
    b.close();
    const seen = a.findById(record.rpId, record.id)!;
    expect(seen.signCount).toBe(3);
    expect(seen.lastUsedAt).toBe(3);
    expect(a.recordUse(seen, 4)).toBe(4);
    a.close();
  });

  it("sees another connection's new credential replacing a discoverable one", () => {
    const old = sampleRecord();
    const a = vaultHolding(old);
    const b = t.open();
    const replacement = sampleRecord({ rpId: old.rpId, userId: old.userId });
    b.create(replacement, sampleSecrets());
    b.close();
    expect(a.findById(old.rpId, old.id)).toBeUndefined();
    expect(a.findById(replacement.rpId, replacement.id)?.id).toStrictEqual(replacement.id);
    a.close();
  });

  it('opens the blob the file holds now: one tampered with by another connection fails', () => {
    const record = sampleRecord();
    const secrets = sampleSecrets();
    const a = t.open();
    a.create(record, secrets);
    expect(a.openSecrets(cached(a, record)).privateKey).toStrictEqual(secrets.privateKey);
    const db = rawDatabase(t.vaultPath);
    const { sealed } = db.prepare('SELECT sealed_private_key AS sealed FROM credentials').get() as { sealed: Uint8Array };
    sealed[sealed.length - 1]! ^= 1;
    db.prepare('UPDATE credentials SET sealed_private_key = ?').run(sealed);
    db.close();
    expectStoreError(() => a.openSecrets(a.findById(record.rpId, record.id)!), 'tampered');
    a.close();
  });

  it('follows a row moved to another RP by another connection: unknown to the old RP, refused to the new', () => {
    const record = sampleRecord({ rpId: 'a.example' });
    const a = vaultHolding(record);
    const db = rawDatabase(t.vaultPath);
    db.prepare("UPDATE credentials SET rp_id = 'b.example' WHERE id = ?").run(record.id);
    db.close();
    expect(a.findById('a.example', record.id)).toBeUndefined();
    expectStoreError(() => a.openSecrets(a.findById('b.example', record.id)!), 'tampered');
    a.close();
  });
});

describe('record cache: its own writes', () => {
  it('forgets a credential it deleted', () => {
    const record = sampleRecord();
    const vault = vaultHolding(record);
    expect(vault.delete(record.id)).toBe(true);
    expect(vault.findById(record.rpId, record.id)).toBeUndefined();
    vault.close();
  });

  it('forgets a discoverable credential its new one replaced', () => {
    const old = sampleRecord();
    const vault = vaultHolding(old);
    const replacement = sampleRecord({ rpId: old.rpId, userId: old.userId });
    vault.create(replacement, sampleSecrets());
    expect(vault.findById(old.rpId, old.id)).toBeUndefined();
    vault.close();
  });

  it('answers the counter it advanced', () => {
    const record = deviceBound();
    const vault = t.open();
    vault.create(record, sampleSecrets());
    for (let n = 1; n <= 3; n++) {
      expect(vault.recordUse(cached(vault, record), 100 + n)).toBe(n);
      expect(cached(vault, record)).toMatchObject({ signCount: n, lastUsedAt: 100 + n });
    }
    vault.close();
  });

  it('answers last-used times before and after they are written', () => {
    const record = sampleRecord({ lastUsedAt: 5 });
    const vault = t.open({ lastUsedFlushMs: 60_000 });
    vault.create(record, sampleSecrets());
    expect(cached(vault, record).lastUsedAt).toBe(5);
    vault.recordUse(cached(vault, record), 10);
    expect(cached(vault, record).lastUsedAt).toBe(10); // batched, not yet written
    vault.flush();
    expect(cached(vault, record).lastUsedAt).toBe(10); // written, and read back
    vault.recordUse(cached(vault, record), 20);
    vault.flush();
    expect(cached(vault, record).lastUsedAt).toBe(20);
    vault.close();
    const again = t.open();
    expect(again.findById(record.rpId, record.id)!.lastUsedAt).toBe(20);
    again.close();
  });
});

describe('record cache: what it hands out, and locking', () => {
  it('hands every caller its own record: changing one changes no later answer', () => {
    const record = sampleRecord();
    const vault = t.open();
    vault.create(record, sampleSecrets());
    const first = cached(vault, record);
    const copy = { ...first, id: first.id.slice(), userId: first.userId.slice(), publicKey: first.publicKey.slice() };
    first.id.fill(0);
    first.userId.fill(0);
    first.publicKey.fill(0);
    first.credBlob!.fill(0);
    (first as { rpId: string }).rpId = 'evil.example';
    const second = vault.findById(record.rpId, record.id)!;
    expect(second).not.toBe(first);
    expect(second).toStrictEqual({ ...copy, credBlob: record.credBlob });
    expect(vault.findById('evil.example', record.id)).toBeUndefined();
    vault.close();
  });

  it('keeps a cached id bound to its rpId', () => {
    const record = sampleRecord({ rpId: 'a.example' });
    const vault = vaultHolding(record);
    expect(vault.findById('b.example', record.id)).toBeUndefined();
    expect(vault.findById('a.example', record.id)).toBeDefined();
    vault.close();
  });

  it('keeps no row while locked, and reads the file again after unlock', () => {
    const record = sampleRecord();
    const kept = sampleRecord({ userId: new Uint8Array([9]) });
    const a = vaultHolding(record, kept);
    a.lock();
    expect((Reflect.get(a, 'recordCache') as Map<string, unknown>).size).toBe(0);
    expectStoreError(() => a.findById(record.rpId, record.id), 'locked');
    const b = t.open();
    b.delete(record.id);
    b.close();
    a.unlock();
    expect(a.findById(record.rpId, record.id)).toBeUndefined();
    expect(a.findById(kept.rpId, kept.id)?.id).toStrictEqual(kept.id);
    a.close();
  });
});
