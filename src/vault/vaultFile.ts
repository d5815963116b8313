/**
 * Checks on an existing vault file made from its raw header bytes, before SQLite opens it
 * read-write: a file that is not a Latchkey vault (not SQLite, another application's database,
 * truncated, empty, from a newer Latchkey) is reported as StoreError('corrupt') and never touched.
 * @module
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { StoreError } from '../ctap/ports.js';
import { errnoCode } from './privateFiles.js';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const HEADER_LENGTH = 100;

export interface VaultHeader {
  readonly pageSize: number;
  readonly applicationId: number;
  readonly userVersion: number;
}

export interface HeaderExpectations {
  readonly applicationId: number;
  readonly latestSchemaVersion: number;
}

function corrupt(path: string, why: string): StoreError {
  return new StoreError('corrupt', `${path} is not a usable Latchkey vault: ${why}; the file was left untouched`);
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Read and check the 100-byte SQLite header of the file at `path` (read-only). Throws
 * StoreError('io') when the path cannot be read or is not a regular file.
 */
export function inspectVaultFile(path: string, expect: HeaderExpectations): VaultHeader {
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new StoreError('io', `vault path ${path} is a directory, not a vault file`);
    if (!stat.isFile()) throw new StoreError('io', `vault path ${path} is not a regular file`);
    size = stat.size;
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new StoreError('io', `cannot read vault ${path}: ${errnoCode(error) ?? String(error)}`, { cause: error });
  }
  if (size === 0) throw corrupt(path, 'the file is empty');

  const header = Buffer.alloc(HEADER_LENGTH);
  let read = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      while (read < HEADER_LENGTH) {
        const n = readSync(fd, header, read, HEADER_LENGTH - read, read);
        if (n === 0) break;
        read += n;
      }
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new StoreError('io', `cannot read vault ${path}: ${errnoCode(error) ?? String(error)}`, { cause: error });
  }

  if (read < SQLITE_MAGIC.length || !header.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
    throw corrupt(path, 'it is not an SQLite database');
  }
  if (read < HEADER_LENGTH) throw corrupt(path, `it is truncated (${size} bytes)`);

  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) throw corrupt(path, 'its header is damaged');

  const applicationId = header.readUInt32BE(68);
  if (applicationId !== expect.applicationId) {
    throw corrupt(
      path,
      `it is an SQLite database of another application (application_id 0x${applicationId.toString(16).padStart(8, '0')})`,
    );
  }
  const userVersion = header.readInt32BE(60);
  if (userVersion > expect.latestSchemaVersion) {
    throw corrupt(
      path,
      `it was written by a newer Latchkey (schema ${userVersion}; this build knows up to ${expect.latestSchemaVersion})`,
    );
  }
  if (userVersion < 1) throw corrupt(path, 'its schema was never completed');

  // The in-header page count is valid when the change counter matches "version-valid-for".
  const pageCount = header.readUInt32BE(28);
  const countValid = pageCount > 0 && header.readUInt32BE(24) === header.readUInt32BE(92);
  // A crash in the middle of a checkpoint can leave the main file short while the WAL still holds
  // the pages; SQLite repairs that itself, so only judge the size when there is no WAL to replay.
  if (countValid && size < pageCount * pageSize && fileSize(`${path}-wal`) === 0) {
    throw corrupt(path, `it is truncated (${size} of ${pageCount * pageSize} bytes)`);
  }
  if (size % pageSize !== 0 && fileSize(`${path}-wal`) === 0) {
    throw corrupt(path, `it is truncated (${size} bytes is not a whole number of ${pageSize}-byte pages)`);
  }
  return { pageSize, applicationId, userVersion };
}
