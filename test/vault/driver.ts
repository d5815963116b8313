/**
 * The SQL driver the vault's behavioural tests run against. The default run uses better-sqlite3;
 * nodeSqliteContract.test.ts runs this same directory again in a Node with `node:sqlite`, with
 * LATCHKEY_TEST_SQL_DRIVER=node:sqlite, so one suite holds both drivers to one contract.
 * Raw access for tampering goes through the same driver, so no test needs better-sqlite3 itself.
 */
import { openBetterSqlite3 } from '../../src/vault/drivers/betterSqlite3.js';
import { openNodeSqlite } from '../../src/vault/drivers/nodeSqlite.js';
import type { SqlDriver, SqlDriverFactory } from '../../src/vault/sqlDriver.js';

export const TEST_DRIVER_ENV = 'LATCHKEY_TEST_SQL_DRIVER';

const requested = process.env[TEST_DRIVER_ENV] ?? 'better-sqlite3';
if (requested !== 'better-sqlite3' && requested !== 'node:sqlite') {
  throw new Error(`${TEST_DRIVER_ENV}=${requested}: use better-sqlite3 or node:sqlite`);
}

/** The driver under test. */
export const DRIVER_NAME: 'better-sqlite3' | 'node:sqlite' = requested;

export const openTestDriver: SqlDriverFactory = DRIVER_NAME === 'node:sqlite' ? openNodeSqlite : openBetterSqlite3;

/** A plain connection to a database file (or ':memory:'), for tests that inspect or tamper with it. */
export function rawDatabase(path: string): SqlDriver {
  return openTestDriver(path);
}
