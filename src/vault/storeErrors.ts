/**
 * Turning driver and file-system failures into {@link StoreError}s whose messages say what failed
 * and where, and never contain secret bytes.
 * @module
 */
import { StoreError } from '../ctap/ports.js';
import { errnoCode } from './privateFiles.js';
import type { SqlDriver } from './sqlDriver.js';

type StoreErrorCode = StoreError['code'];

/** SQLite result code name → StoreError code. */
export function classifySqliteCode(code: string): StoreErrorCode {
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_FULL_')) return 'full';
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_')) return 'corrupt';
  return 'io';
}

/**
 * Wrap `error` (thrown while doing `action` on the vault at `path`) as a StoreError. StoreErrors
 * pass through unchanged.
 */
export function toStoreError(error: unknown, path: string, action: string, db?: SqlDriver): StoreError {
  if (error instanceof StoreError) return error;
  const sqliteCode = db?.errorCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (sqliteCode !== undefined) {
    const code = classifySqliteCode(sqliteCode);
    const what = code === 'full' ? ' (disk or database full)' : code === 'corrupt' ? ' (the file is damaged)' : '';
    return new StoreError(code, `vault ${path}: ${action} failed${what}: ${sqliteCode}: ${detail}`, { cause: error });
  }
  const errno = errnoCode(error);
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return new StoreError('full', `vault ${path}: ${action} failed (disk full): ${detail}`, { cause: error });
  }
  return new StoreError('io', `vault ${path}: ${action} failed: ${detail}`, { cause: error });
}
