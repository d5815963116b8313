/**
 * The `node:sqlite` implementation of {@link SqlDriver}: Node's built-in SQLite (`DatabaseSync`,
 * unflagged from Node 22.13). It runs where better-sqlite3 has no binary for the platform (a Windows
 * node.exe bundle assembled elsewhere, Windows node.exe under Wine). Same SQL, same schema, same
 * file format: both drivers are SQLite 3 writing the same database file, and the vault sets the same
 * pragmas through either.
 *
 * Loaded lazily, here only, so Node 20 (which has no `node:sqlite`) never trips over it.
 * @module
 */
import { statSync } from 'node:fs';
import type { SqlDriver, SqlOpenOptions, SqlRow, SqlStatement, SqlValue } from '../sqlDriver.js';

/** The slice of `node:sqlite` this driver uses (typed here: @types/node 20 does not declare it). */
interface NodeStatementSync {
  run(...params: SqlValue[]): { changes: number | bigint };
  get(...params: SqlValue[]): Record<string, SqlValue> | undefined;
  all(...params: SqlValue[]): Record<string, SqlValue>[];
}

interface NodeDatabaseSync {
  prepare(sql: string): NodeStatementSync;
  exec(sql: string): void;
  close(): void;
  /** Node 22.16+ / 23.11+; older versions are tracked by the driver itself. */
  readonly isTransaction?: boolean;
}

interface NodeSqliteModule {
  DatabaseSync: new (path: string, options?: { open?: boolean; readOnly?: boolean }) => NodeDatabaseSync;
}

let loaded: NodeSqliteModule | undefined;

/**
 * Load `node:sqlite`, or throw an Error saying why not. Node 22.5–22.12 have it only behind
 * `--experimental-sqlite`; Node 20 not at all.
 */
export function loadNodeSqlite(): NodeSqliteModule {
  if (loaded !== undefined) return loaded;
  // Node prints an ExperimentalWarning for SQLite once per process; it is expected here and would
  // only confuse a user reading the CLI's stderr, so that one warning (and no other) is dropped.
  const emitWarning = process.emitWarning;
  process.emitWarning = function filtered(this: typeof process, warning: string | Error, ...rest: unknown[]) {
    const text = typeof warning === 'string' ? warning : warning.message;
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if ((type === 'ExperimentalWarning' || (warning instanceof Error && warning.name === 'ExperimentalWarning')) && /SQLite/i.test(text)) {
      return;
    }
    return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    // getBuiltinModule answers undefined for a module this Node lacks (or hides behind a flag).
    const sqlite = process.getBuiltinModule('node:sqlite') as NodeSqliteModule | undefined;
    if (sqlite === undefined) throw new Error(`node:sqlite is not available in Node ${process.versions.node} (it needs Node 22.13 or later)`);
    loaded = sqlite;
  } finally {
    process.emitWarning = emitWarning;
  }
  return loaded;
}

/** Whether this Node has a usable `node:sqlite`. */
export function hasNodeSqlite(): boolean {
  try {
    loadNodeSqlite();
    return true;
  } catch {
    return false;
  }
}

/** SQLite primary result codes (sqlite3.h), so errors are named as better-sqlite3 names them. */
const PRIMARY_CODES: readonly string[] = [
  'SQLITE_OK', 'SQLITE_ERROR', 'SQLITE_INTERNAL', 'SQLITE_PERM', 'SQLITE_ABORT', 'SQLITE_BUSY', 'SQLITE_LOCKED',
  'SQLITE_NOMEM', 'SQLITE_READONLY', 'SQLITE_INTERRUPT', 'SQLITE_IOERR', 'SQLITE_CORRUPT', 'SQLITE_NOTFOUND',
  'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_PROTOCOL', 'SQLITE_EMPTY', 'SQLITE_SCHEMA', 'SQLITE_TOOBIG',
  'SQLITE_CONSTRAINT', 'SQLITE_MISMATCH', 'SQLITE_MISUSE', 'SQLITE_NOLFS', 'SQLITE_AUTH', 'SQLITE_FORMAT',
  'SQLITE_RANGE', 'SQLITE_NOTADB', 'SQLITE_NOTICE', 'SQLITE_WARNING',
];

/** The extended codes whose names the vault's messages and tests care about. */
const EXTENDED_CODES: ReadonlyMap<number, string> = new Map([
  [266, 'SQLITE_IOERR_READ'],
  [778, 'SQLITE_IOERR_WRITE'],
  [1034, 'SQLITE_IOERR_FSYNC'],
  [779, 'SQLITE_CORRUPT_INDEX'],
  [267, 'SQLITE_CORRUPT_VTAB'],
  [275, 'SQLITE_CONSTRAINT_CHECK'],
  [1299, 'SQLITE_CONSTRAINT_NOTNULL'],
  [1555, 'SQLITE_CONSTRAINT_PRIMARYKEY'],
  [2067, 'SQLITE_CONSTRAINT_UNIQUE'],
  [517, 'SQLITE_BUSY_SNAPSHOT'],
]);

/** The name of an SQLite (extended) result code, e.g. 13 → SQLITE_FULL, 1555 → SQLITE_CONSTRAINT_PRIMARYKEY. */
export function sqliteCodeName(code: number): string {
  return EXTENDED_CODES.get(code) ?? PRIMARY_CODES[code & 0xff] ?? `SQLITE_${code}`;
}

class NodeSqliteStatement implements SqlStatement {
  constructor(private readonly statement: NodeStatementSync) {}

  run(...params: SqlValue[]): { readonly changes: number } {
    return { changes: Number(this.statement.run(...params).changes) };
  }

  get(...params: SqlValue[]): SqlRow | undefined {
    return this.statement.get(...params);
  }

  all(...params: SqlValue[]): SqlRow[] {
    return this.statement.all(...params);
  }

  pluck(...params: SqlValue[]): SqlValue | undefined {
    // node:sqlite (22.x) has no pluck mode: the row's first own property is its first column.
    const row = this.statement.get(...params);
    if (row === undefined) return undefined;
    for (const column in row) return row[column];
    return undefined;
  }
}

class NodeSqliteDriver implements SqlDriver {
  readonly name = 'node:sqlite';
  private readonly begin: NodeStatementSync;
  private readonly commit: NodeStatementSync;
  private readonly rollback: NodeStatementSync;
  /** Our own record of an open transaction, for Node versions without `isTransaction`. */
  private depth = 0;

  constructor(private readonly db: NodeDatabaseSync) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
  }

  private inTransaction(): boolean {
    const reported = this.db.isTransaction;
    return typeof reported === 'boolean' ? reported : this.depth > 0;
  }

  prepare(sql: string): SqlStatement {
    return new NodeSqliteStatement(this.db.prepare(sql));
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  transaction<T>(fn: () => T): T {
    if (this.inTransaction()) return fn();
    this.begin.run();
    this.depth = 1;
    try {
      const result = fn();
      this.commit.run();
      this.depth = 0;
      return result;
    } catch (error) {
      // SQLite may already have rolled back on its own (e.g. SQLITE_FULL).
      if (this.inTransaction()) {
        try {
          this.rollback.run();
        } catch {
          // "no transaction is active": SQLite rolled back first (older Node, no isTransaction).
        }
      }
      this.depth = 0;
      throw error;
    }
  }

  pragma(statement: string): SqlValue | undefined {
    const row = this.db.prepare(`PRAGMA ${statement}`).get();
    if (row === undefined) return undefined;
    return Object.values(row)[0];
  }

  close(): void {
    this.db.close();
  }

  errorCode(error: unknown): string | undefined {
    if (!(error instanceof Error)) return undefined;
    const { code, errcode } = error as { code?: unknown; errcode?: unknown };
    if (code === 'ERR_SQLITE_ERROR' && typeof errcode === 'number') return sqliteCodeName(errcode);
    return undefined;
  }
}

/** An error shaped like the ones node:sqlite throws, for a condition checked before SQLite runs. */
function cannotOpen(path: string, why: string): Error {
  return Object.assign(new Error(`unable to open database file ${path}: ${why}`), {
    code: 'ERR_SQLITE_ERROR',
    errcode: 14,
    errstr: 'unable to open database file',
  });
}

/** Open a database file with `node:sqlite`. */
export function openNodeSqlite(path: string, options: SqlOpenOptions = {}): SqlDriver {
  const { DatabaseSync } = loadNodeSqlite();
  // DatabaseSync has no "must exist" flag: it would create an empty database. Check first (the
  // vault calls this only for files it has just created or inspected).
  if (options.fileMustExist === true || options.readonly === true) {
    try {
      if (!statSync(path).isFile()) throw cannotOpen(path, 'not a regular file');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_SQLITE_ERROR') throw error;
      throw cannotOpen(path, 'no such file');
    }
  }
  const db = new DatabaseSync(path, { open: true, readOnly: options.readonly ?? false });
  return new NodeSqliteDriver(db);
}
