/**
 * Which SQL driver a vault opens with when the caller names none: better-sqlite3 where its native
 * binary loads, else Node's built-in `node:sqlite` (Node 22.13+), else a clear error naming both
 * reasons. `LATCHKEY_SQL_DRIVER=better-sqlite3|node:sqlite` forces one.
 *
 * The choice is made once per process, at the first open, by opening an in-memory database: merely
 * requiring better-sqlite3 succeeds even without a binary, which loads only on first use.
 * @module
 */
import { StoreError } from '../../ctap/ports.js';
import type { SqlDriver, SqlDriverFactory, SqlOpenOptions } from '../sqlDriver.js';
import { openBetterSqlite3 } from './betterSqlite3.js';
import { openNodeSqlite } from './nodeSqlite.js';

/** Environment variable that forces a driver. */
export const SQL_DRIVER_ENV = 'LATCHKEY_SQL_DRIVER';

export type DriverName = 'better-sqlite3' | 'node:sqlite';

export interface DriverChoice {
  readonly name: DriverName;
  readonly open: SqlDriverFactory;
  /** Why better-sqlite3 was not used, when the choice fell back to node:sqlite. */
  readonly fallbackReason?: string | undefined;
}

const FACTORIES: Record<DriverName, SqlDriverFactory> = {
  'better-sqlite3': openBetterSqlite3,
  'node:sqlite': openNodeSqlite,
};

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/** Whether `open` can open (and close) an in-memory database, or why not. */
function probe(open: SqlDriverFactory): string | undefined {
  try {
    open(':memory:').close();
    return undefined;
  } catch (error) {
    return reasonOf(error);
  }
}

/**
 * Decide which driver to use, given a forced name (or none) and probes of each driver. Pure
 * apart from the probes, so the decision itself can be tested.
 */
export function chooseDriver(
  forced: string | undefined,
  probes: { readonly [K in DriverName]: () => string | undefined } = {
    'better-sqlite3': () => probe(openBetterSqlite3),
    'node:sqlite': () => probe(openNodeSqlite),
  },
): DriverChoice {
  if (forced !== undefined && forced !== '') {
    if (forced !== 'better-sqlite3' && forced !== 'node:sqlite') {
      throw new StoreError('io', `${SQL_DRIVER_ENV}=${forced} names no SQL driver (use better-sqlite3 or node:sqlite)`);
    }
    const failure = probes[forced]();
    if (failure !== undefined) throw new StoreError('io', `the SQL driver ${forced} (from ${SQL_DRIVER_ENV}) cannot load: ${failure}`);
    return { name: forced, open: FACTORIES[forced] };
  }
  const betterFailure = probes['better-sqlite3']();
  if (betterFailure === undefined) return { name: 'better-sqlite3', open: openBetterSqlite3 };
  const nodeFailure = probes['node:sqlite']();
  if (nodeFailure === undefined) return { name: 'node:sqlite', open: openNodeSqlite, fallbackReason: betterFailure };
  throw new StoreError(
    'io',
    `no SQL driver can open the vault: better-sqlite3 has no working binary for this platform (${betterFailure}), ` +
      `and ${nodeFailure}. Run Latchkey with Node 22.13 or later, or install better-sqlite3 for this platform.`,
  );
}

let chosen: DriverChoice | undefined;

/** The driver this process uses by default (decided at the first call, then remembered). */
export function defaultDriverChoice(): DriverChoice {
  chosen ??= chooseDriver(process.env[SQL_DRIVER_ENV]);
  return chosen;
}

/** A {@link SqlDriverFactory} that opens with the default driver. */
export function openDefaultDriver(path: string, options?: SqlOpenOptions): SqlDriver {
  return defaultDriverChoice().open(path, options);
}
