/**
 * The few SQL operations the vault needs, behind one small interface, so the same schema and file
 * format run on better-sqlite3 and (later) on Node 22's built-in `node:sqlite`.
 *
 * Statements use positional `?` parameters only. BLOBs go in as Uint8Array and may come back as
 * Buffer (better-sqlite3) or Uint8Array (node:sqlite): callers copy them into plain Uint8Arrays.
 * @module
 */

/** A value SQLite stores: NULL, INTEGER/REAL, TEXT or BLOB. */
export type SqlValue = null | number | bigint | string | Uint8Array;

/** One result row, column name → value. */
export type SqlRow = Readonly<Record<string, SqlValue>>;

/** A prepared statement; prepare once, run many times. */
export interface SqlStatement {
  /** Execute, discarding rows; returns the number of rows changed. */
  run(...params: SqlValue[]): { readonly changes: number };
  /** The first row, or undefined. Works for `UPDATE … RETURNING` too. */
  get(...params: SqlValue[]): SqlRow | undefined;
  /** Every row. */
  all(...params: SqlValue[]): SqlRow[];
  /**
   * The first column of the first row, or undefined when there is no row: one value without a row
   * object (a `PRAGMA data_version` checked on every lookup, a count). Does not change what `get`
   * and `all` answer on the same statement.
   */
  pluck(...params: SqlValue[]): SqlValue | undefined;
}

export interface SqlDriver {
  /** Which implementation this is, for `info()` and error messages. */
  readonly name: string;
  prepare(sql: string): SqlStatement;
  /** Run one or more statements without parameters or results. */
  exec(sql: string): void;
  /**
   * Run `fn` inside `BEGIN IMMEDIATE … COMMIT`, rolling back if it throws. A call made while a
   * transaction is already open joins it.
   */
  transaction<T>(fn: () => T): T;
  /** Run `PRAGMA <statement>` and return the first column of the first row (undefined if none). */
  pragma(statement: string): SqlValue | undefined;
  close(): void;
  /**
   * The SQLite result code name of an error this driver threw (`SQLITE_FULL`, `SQLITE_CORRUPT`,
   * `SQLITE_IOERR_FSYNC`, …), or undefined when it is not an SQLite error.
   */
  errorCode(error: unknown): string | undefined;
}

export interface SqlOpenOptions {
  /** Open read-only. */
  readonly readonly?: boolean;
  /** Fail rather than create a new, empty database when the file does not exist. */
  readonly fileMustExist?: boolean;
}

/** Opens a database file with one driver. */
export type SqlDriverFactory = (path: string, options?: SqlOpenOptions) => SqlDriver;
