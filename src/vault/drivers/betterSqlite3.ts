/**
 * The better-sqlite3 implementation of {@link SqlDriver}. better-sqlite3 is imported lazily, here
 * only, so a process that never opens a vault (or runs on `node:sqlite`) never loads the addon.
 * @module
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type { SqlDriver, SqlOpenOptions, SqlRow, SqlStatement, SqlValue } from '../sqlDriver.js';

type Database = BetterSqlite3.Database;
type DatabaseConstructor = typeof BetterSqlite3;

let loaded: DatabaseConstructor | undefined;

function loadBetterSqlite3(): DatabaseConstructor {
  // createRequire keeps the load synchronous and lazy (first open only).
  loaded ??= createRequire(import.meta.url)('better-sqlite3') as DatabaseConstructor;
  return loaded;
}

class BetterSqlite3Statement implements SqlStatement {
  constructor(private readonly statement: BetterSqlite3.Statement<SqlValue[]>) {}

  run(...params: SqlValue[]): { readonly changes: number } {
    return { changes: this.statement.run(...params).changes };
  }

  get(...params: SqlValue[]): SqlRow | undefined {
    return this.statement.get(...params) as SqlRow | undefined;
  }

  all(...params: SqlValue[]): SqlRow[] {
    return this.statement.all(...params) as SqlRow[];
  }
}

class BetterSqlite3Driver implements SqlDriver {
  readonly name = 'better-sqlite3';
  private readonly begin: BetterSqlite3.Statement;
  private readonly commit: BetterSqlite3.Statement;
  private readonly rollback: BetterSqlite3.Statement;

  constructor(private readonly db: Database) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
  }

  prepare(sql: string): SqlStatement {
    return new BetterSqlite3Statement(this.db.prepare<SqlValue[]>(sql));
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  transaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    this.begin.run();
    try {
      const result = fn();
      this.commit.run();
      return result;
    } catch (error) {
      // SQLite may already have rolled back on its own (e.g. SQLITE_FULL).
      if (this.db.inTransaction) this.rollback.run();
      throw error;
    }
  }

  pragma(statement: string): SqlValue | undefined {
    return this.db.pragma(statement, { simple: true }) as SqlValue | undefined;
  }

  close(): void {
    this.db.close();
  }

  errorCode(error: unknown): string | undefined {
    if (error instanceof Error && 'code' in error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('SQLITE_')) return code;
    }
    return undefined;
  }
}

/** Open a database file with better-sqlite3. */
export function openBetterSqlite3(path: string, options: SqlOpenOptions = {}): SqlDriver {
  const Database = loadBetterSqlite3();
  const db = new Database(path, {
    readonly: options.readonly ?? false,
    fileMustExist: options.fileMustExist ?? false,
  });
  return new BetterSqlite3Driver(db);
}
