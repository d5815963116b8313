import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/ctap/ports.js';
import { classifySqliteCode, toStoreError } from '../../src/vault/storeErrors.js';
import type { SqlDriver } from '../../src/vault/sqlDriver.js';

/** Just enough of a driver to classify errors the way better-sqlite3 reports them. */
const driver = {
  errorCode: (error: unknown) => (error as { code?: string }).code,
} as unknown as SqlDriver;

function sqliteError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('storage errors', () => {
  it('classifies SQLite result codes', () => {
    expect(classifySqliteCode('SQLITE_FULL')).toBe('full');
    expect(classifySqliteCode('SQLITE_CORRUPT')).toBe('corrupt');
    expect(classifySqliteCode('SQLITE_CORRUPT_INDEX')).toBe('corrupt');
    expect(classifySqliteCode('SQLITE_NOTADB')).toBe('corrupt');
    expect(classifySqliteCode('SQLITE_IOERR_FSYNC')).toBe('io');
    expect(classifySqliteCode('SQLITE_BUSY')).toBe('io');
  });

  it('names the vault and the action, and keeps the cause', () => {
    const cause = sqliteError('SQLITE_FULL', 'database or disk is full');
    const error = toStoreError(cause, '/v/vault.db', 'store a credential', driver);
    expect(error).toBeInstanceOf(StoreError);
    expect(error.code).toBe('full');
    expect(error.message).toContain('/v/vault.db');
    expect(error.message).toContain('store a credential');
    expect(error.cause).toBe(cause);
  });

  it('maps a full disk reported by the file system, passes StoreErrors through', () => {
    const enospc = Object.assign(new Error('no space left'), { code: 'ENOSPC' });
    expect(toStoreError(enospc, '/v', 'create the vault').code).toBe('full');
    const original = new StoreError('locked', 'x');
    expect(toStoreError(original, '/v', 'y')).toBe(original);
    expect(toStoreError(new Error('boom'), '/v', 'y').code).toBe('io');
  });
});
