/**
 * The better-sqlite3 implementation of {@link SqlDriver}. Importing this module loads only
 * better-sqlite3's JavaScript (which the bundle carries inside itself); its native binary loads at
 * the first open, here only, so a process that never opens a vault (or runs on `node:sqlite`)
 * never loads it.
 * @module
 */
import BetterSqlite3 from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlDriver, SqlOpenOptions, SqlRow, SqlStatement, SqlValue } from '../sqlDriver.js';

type Database = BetterSqlite3.Database;

/** Where both ways of installing better-sqlite3 (a prebuilt download, a build from source) put its binary. */
const BINARY = join('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');

let binding: object | undefined;

/**
 * better-sqlite3's native binary, found in the nearest node_modules above this module (as Node
 * would find the package) and loaded by path. This skips the `bindings` package's search of a dozen
 * places, which starts from the calling file and so would search the wrong tree from the bundle.
 */
function nativeBinding(): object {
  if (binding !== undefined) return binding;
  const tried: string[] = [];
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const path = join(dir, BINARY);
    if (existsSync(path)) {
      const addon = { exports: {} };
      process.dlopen(addon, path);
      binding = addon.exports;
      return binding;
    }
    tried.push(path);
    if (dirname(dir) === dir) break;
  }
  throw new Error(`better-sqlite3 has no native binary here (looked for ${tried[0]} and above; run \`npm rebuild better-sqlite3\`)`);
}

class BetterSqlite3Statement implements SqlStatement {
  /**
   * The same SQL prepared again in better-sqlite3's pluck mode, made on the first pluck(): the mode
   * belongs to the statement, so toggling it on `statement` would cost two more native calls per use.
   */
  private plucked: BetterSqlite3.Statement<SqlValue[]> | undefined;

  constructor(
    private readonly db: Database,
    private readonly statement: BetterSqlite3.Statement<SqlValue[]>,
  ) {}

  run(...params: SqlValue[]): { readonly changes: number } {
    return { changes: this.statement.run(...params).changes };
  }

  get(...params: SqlValue[]): SqlRow | undefined {
    return this.statement.get(...params) as SqlRow | undefined;
  }

  all(...params: SqlValue[]): SqlRow[] {
    return this.statement.all(...params) as SqlRow[];
  }

  pluck(...params: SqlValue[]): SqlValue | undefined {
    this.plucked ??= this.db.prepare<SqlValue[]>(this.statement.source).pluck();
    return this.plucked.get(...params) as SqlValue | undefined;
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
    return new BetterSqlite3Statement(this.db, this.db.prepare<SqlValue[]>(sql));
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
  const db = new BetterSqlite3(path, {
    readonly: options.readonly ?? false,
    fileMustExist: options.fileMustExist ?? false,
    // better-sqlite3 takes the loaded addon object here too; its type declarations name only a path.
    nativeBinding: nativeBinding() as unknown as string,
  });
  return new BetterSqlite3Driver(db);
}
