import { copyFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/ctap/ports.js';
import { LATCHKEY_APPLICATION_ID } from '../../src/vault/migrations.js';
import { openVault } from '../../src/vault/vault.js';
import { openTestDriver, rawDatabase } from './driver.js';
import { sampleRecord, sampleSecrets, sha256File, tempVaultDir, type TempVaultDir } from './helpers.js';

let t: TempVaultDir;
beforeEach(() => {
  t = tempVaultDir();
});
afterEach(() => {
  t.cleanup();
});

/** A closed real vault with a few credentials, at t.vaultPath. */
function makeRealVault(): void {
  const vault = t.open();
  for (let i = 0; i < 30; i++) vault.create(sampleRecord({ userId: new Uint8Array([i + 1]) }), sampleSecrets());
  vault.close();
}

/** Opening `path` fails with StoreError(corrupt) naming the path, and leaves its bytes as they were. */
function expectCorruptAndUntouched(path: string, message?: RegExp): void {
  const before = sha256File(path);
  let error: unknown;
  try {
    openVault({ path, keyDir: t.keyDir, driver: openTestDriver }).close();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(StoreError);
  expect((error as StoreError).code).toBe('corrupt');
  expect((error as StoreError).message).toContain(path);
  if (message !== undefined) expect((error as StoreError).message).toMatch(message);
  expect(sha256File(path)).toBe(before);
}

describe('files that are not usable vaults', () => {
  it('random bytes', () => {
    const path = join(t.dir, 'random.db');
    writeFileSync(path, randomBytes(8192));
    expectCorruptAndUntouched(path, /not an SQLite database/);
  });

  it('an empty file', () => {
    const path = join(t.dir, 'empty.db');
    writeFileSync(path, '');
    expectCorruptAndUntouched(path, /empty/);
  });

  it('a truncated copy of a real vault', () => {
    makeRealVault();
    const size = readFileSync(t.vaultPath).length;
    for (const length of [50, 100, 4096 + 123, Math.floor(size / 2)]) {
      const path = join(t.dir, `truncated-${length}.db`);
      copyFileSync(t.vaultPath, path);
      truncateSync(path, length);
      expectCorruptAndUntouched(path, /truncated|not an SQLite/);
    }
  });

  it("another application's SQLite database", () => {
    const path = join(t.dir, 'foreign.db');
    const db = rawDatabase(path);
    db.exec('CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES (\'hello\');');
    db.close();
    expectCorruptAndUntouched(path, /another application/);
  });

  it('an SQLite database with our application id but no Latchkey tables', () => {
    const path = join(t.dir, 'impostor.db');
    const db = rawDatabase(path);
    db.pragma(`application_id = ${LATCHKEY_APPLICATION_ID}`);
    db.pragma('user_version = 1');
    db.exec('CREATE TABLE something (x)');
    db.close();
    expectCorruptAndUntouched(path, /tables are missing/);
  });

  it('a vault with a schema version from the future', () => {
    makeRealVault();
    const db = rawDatabase(t.vaultPath);
    db.pragma('user_version = 99');
    db.close();
    expectCorruptAndUntouched(t.vaultPath, /newer Latchkey/);
  });

  it('a vault whose pages are damaged after an intact header', () => {
    makeRealVault();
    const bytes = readFileSync(t.vaultPath);
    randomBytes(bytes.length - 4096).copy(bytes, 4096); // keep page 1, scramble the rest
    writeFileSync(t.vaultPath, bytes);
    const before = sha256File(t.vaultPath);
    expect(() => {
      const vault = t.open();
      try {
        vault.list();
      } finally {
        vault.close();
      }
    }).toThrow(StoreError);
    expect(sha256File(t.vaultPath)).toBe(before);
  });

  it('is never overwritten by creation', () => {
    const path = join(t.dir, 'random.db');
    writeFileSync(path, randomBytes(100));
    expectCorruptAndUntouched(path);
    expect(() => openVault({ path, keyDir: t.keyDir, create: true, driver: openTestDriver })).toThrow(StoreError);
  });
});
