/**
 * The SqlStatement contract that only the driver answers for (the vault's behaviour is tested
 * through openVault elsewhere). Runs on better-sqlite3 by default and on node:sqlite through
 * nodeSqliteContract.test.ts, like every test in this directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqlDriver } from '../../src/vault/sqlDriver.js';
import { DRIVER_NAME, openTestDriver } from './driver.js';

describe(`SqlStatement.pluck (${DRIVER_NAME})`, () => {
  let dir: string;
  let db: SqlDriver;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-driver-'));
    db = openTestDriver(join(dir, 'test.db'));
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, name TEXT, blob BLOB, maybe TEXT)');
    db.prepare('INSERT INTO t (k, name, blob, maybe) VALUES (?, ?, ?, ?)').run(1, 'one', new Uint8Array([1, 2]), null);
    db.prepare('INSERT INTO t (k, name, blob, maybe) VALUES (?, ?, ?, ?)').run(2, 'two', new Uint8Array([3]), 'x');
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the first column of the first row, with parameters bound', () => {
    const name = db.prepare('SELECT name, k FROM t WHERE k = ?');
    expect(name.pluck(1)).toBe('one');
    expect(name.pluck(2)).toBe('two');
    expect(db.prepare('SELECT count(*) AS n FROM t').pluck()).toBe(2);
    expect(Array.from(db.prepare('SELECT blob FROM t WHERE k = ?').pluck(1) as Uint8Array)).toEqual([1, 2]);
  });

  it('answers undefined for no row and null for a NULL column', () => {
    expect(db.prepare('SELECT name FROM t WHERE k = ?').pluck(99)).toBeUndefined();
    expect(db.prepare('SELECT maybe FROM t WHERE k = ?').pluck(1)).toBeNull();
  });

  it('leaves get() and all() on the same statement answering rows', () => {
    const statement = db.prepare('SELECT name, k FROM t ORDER BY k');
    expect(statement.pluck()).toBe('one');
    expect(statement.get()).toEqual({ name: 'one', k: 1 });
    expect(statement.all()).toEqual([{ name: 'one', k: 1 }, { name: 'two', k: 2 }]);
    expect(statement.pluck()).toBe('one');
  });

  it('sees another connection\'s commit in PRAGMA data_version (what the record cache relies on)', () => {
    const version = db.prepare('PRAGMA data_version');
    const before = version.pluck();
    expect(typeof before).toBe('number');
    expect(version.pluck()).toBe(before);
    const other = openTestDriver(join(dir, 'test.db'));
    try {
      other.prepare('INSERT INTO t (k, name) VALUES (?, ?)').run(3, 'three');
    } finally {
      other.close();
    }
    expect(version.pluck()).not.toBe(before);
  });
});
