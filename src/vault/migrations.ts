/**
 * The vault schema as a numbered, append-only list of migrations. `PRAGMA user_version` holds the
 * number of the last one applied. A released migration is never edited: change the schema by
 * appending a new one (a test pins the text of released ones).
 * @module
 */
import type { SqlDriver } from './sqlDriver.js';

/** `PRAGMA application_id` of every Latchkey vault: 'LKV1'. */
export const LATCHKEY_APPLICATION_ID = 0x4c4b5631;

export interface Migration {
  /** 1, 2, 3, …: the `user_version` after it ran. */
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'meta row and credentials',
    sql: `
CREATE TABLE meta (
  singleton INTEGER PRIMARY KEY NOT NULL CHECK (singleton = 1),
  vault_id TEXT NOT NULL CHECK (length(vault_id) = 32),
  created_at INTEGER NOT NULL,
  protector_kind TEXT NOT NULL,
  protector_params TEXT NOT NULL,
  wrapped_key BLOB NOT NULL
) STRICT;

CREATE TABLE credentials (
  id BLOB PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 1023),
  rp_id TEXT NOT NULL,
  rp_name TEXT,
  user_id BLOB NOT NULL CHECK (length(user_id) BETWEEN 1 AND 64),
  user_name TEXT,
  user_display_name TEXT,
  alg INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  discoverable INTEGER NOT NULL CHECK (discoverable IN (0, 1)),
  cred_protect INTEGER NOT NULL CHECK (cred_protect IN (1, 2, 3)),
  backup_eligible INTEGER NOT NULL CHECK (backup_eligible IN (0, 1)),
  backup_state INTEGER NOT NULL CHECK (backup_state IN (0, 1)),
  counter_mode TEXT NOT NULL CHECK (counter_mode IN ('zero', 'increment')),
  sign_count INTEGER NOT NULL DEFAULT 0 CHECK (sign_count >= 0 AND (counter_mode = 'increment' OR sign_count = 0)),
  cred_blob BLOB,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  origin TEXT NOT NULL CHECK (origin IN ('created', 'imported')),
  sealed_private_key BLOB NOT NULL,
  sealed_hmac_uv BLOB,
  sealed_hmac_no_uv BLOB
) STRICT;

CREATE INDEX credentials_by_rp ON credentials (rp_id, discoverable, created_at);

CREATE UNIQUE INDEX credentials_discoverable_user ON credentials (rp_id, user_id) WHERE discoverable = 1;
`,
  },
];

/** The schema version this build writes and understands. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Apply every migration newer than the database's `user_version`, all in one transaction (so a
 * crash leaves the old schema or the new one, never half of it). Returns the version reached.
 * The caller has checked the version is not newer than {@link LATEST_SCHEMA_VERSION}.
 */
export function migrate(db: SqlDriver): number {
  return db.transaction(() => {
    // Read inside the (immediate) transaction: another process may have migrated meanwhile.
    const current = Number(db.pragma('user_version') ?? 0);
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      db.exec(`PRAGMA user_version = ${migration.version}`);
    }
    return Math.max(current, LATEST_SCHEMA_VERSION);
  });
}
