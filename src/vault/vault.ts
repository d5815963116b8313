/**
 * Opening (and creating) a Latchkey vault: an SQLite file holding sealed credentials and the
 * wrapped vault key, unlocked by a key protector.
 *
 * - Creation is atomic: the database is built in a temporary file beside the target and linked
 *   into place only when complete, so a crash never leaves a half-made vault under the real name.
 * - Opening never writes to a file before it is known to be a Latchkey vault of a schema this
 *   build understands and the vault key has been unwrapped (so a wrong passphrase changes nothing).
 * @module
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, existsSync, linkSync, openSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { StoreError, type Clock, type CredentialStore } from '../ctap/ports.js';
import { openDefaultDriver } from './drivers/defaultDriver.js';
import { createKeyFileProtector, KEY_FILE_KIND } from './keyProtectors/keyFile.js';
import type { KeyProtector, ProtectorParams, VaultKeyBinding, WrappedVaultKey } from './keyProtectors/keyProtector.js';
import { createPassphraseProtector, PASSPHRASE_KIND } from './keyProtectors/passphrase.js';
import { LATCHKEY_APPLICATION_ID, LATEST_SCHEMA_VERSION, migrate } from './migrations.js';
import { keyDirForThisProcess } from './paths.js';
import { ensurePrivateDirectory, errnoCode, syncDirectory, unlinkQuietly } from './privateFiles.js';
import { generateKey, importVaultKey } from './sealing.js';
import type { SqlDriver, SqlDriverFactory, SqlStatement } from './sqlDriver.js';
import { SqliteCredentialStore, type NewCredential } from './sqliteStore.js';
import { toStoreError } from './storeErrors.js';
import { inspectVaultFile } from './vaultFile.js';

/** How long a connection waits for another process's write lock before failing, in ms. */
const BUSY_TIMEOUT_MS = 5000;

export type ProtectorChoice = 'keyfile' | 'passphrase';

export interface OpenVaultOptions {
  /** The vault file. See `paths.ts` for the per-OS default and `LATCHKEY_VAULT`. */
  readonly path: string;
  /**
   * `true` or absent: create the vault if the file does not exist. `false`: only open an existing
   * vault. An existing file is never overwritten either way.
   */
  readonly create?: boolean | undefined;
  /**
   * Key protector of a vault being created: `keyfile` (default) or `passphrase` (the default when
   * `passphrase` is given). An existing vault uses the protector recorded in it; pass a
   * {@link KeyProtector} object to supply one this module does not build itself (e.g. DPAPI).
   */
  readonly protector?: ProtectorChoice | KeyProtector | undefined;
  /** Passphrase to unlock (or protect a new) passphrase-protected vault. */
  readonly passphrase?: string | undefined;
  /** Directory of key files; else `LATCHKEY_KEY_DIR`, else `<config dir>/latchkey/keys`. */
  readonly keyDir?: string | undefined;
  /** Source of the vault's creation time. */
  readonly clock?: Clock | undefined;
  /** SQL driver; by default better-sqlite3, or node:sqlite where better-sqlite3 cannot load (see defaultDriver.ts). */
  readonly driver?: SqlDriverFactory | undefined;
  /** Delay before batched last-used times are written, in ms (default 1000). */
  readonly lastUsedFlushMs?: number | undefined;
}

export interface VaultInfo {
  readonly vaultId: string;
  /** Absolute path of the vault file. */
  readonly path: string;
  readonly protector: string;
  readonly schemaVersion: number;
  readonly credentialCount: number;
  /** Milliseconds since the Unix epoch. */
  readonly createdAt: number;
  readonly driver: string;
}

/** An open, unlocked vault. */
export interface Vault extends CredentialStore {
  /** Store many credentials in one transaction (an import): all or none. */
  createMany(entries: readonly NewCredential[]): void;
  /** Write batched last-used times now. */
  flush(): void;
  /** Flush and close. Later calls throw StoreError('locked'). Idempotent. */
  close(): void;
  /**
   * Lock: flush, then forget the vault key. Every later read, write or unseal throws
   * StoreError('locked') without touching the file, until {@link unlock}. Idempotent.
   */
  lock(): void;
  /**
   * Unwrap the vault key again with the vault's protector (the key file, DPAPI, or `passphrase`,
   * which a passphrase-protected vault needs every time: it is not kept). A wrong or missing
   * secret throws StoreError('locked') and the vault stays locked. No-op when unlocked.
   */
  unlock(options?: { readonly passphrase?: string | undefined }): void;
  /** Whether the vault key is not in memory (locked or closed). */
  isLocked(): boolean;
  info(): VaultInfo;
  /** Protect the vault key with this passphrase instead (re-wraps the key; credentials are untouched). */
  setPassphrase(passphrase: string): void;
  /** Protect the vault key with a key file instead (in `keyDir`, else the one resolved at open). */
  useKeyFile(options?: { readonly keyDir?: string }): void;
  /** SQLite's integrity check: the problems it reports, or an empty list. */
  checkIntegrity(): string[];
}

interface MetaRow extends WrappedVaultKey {
  readonly vaultId: string;
  readonly createdAt: number;
  readonly kind: string;
}

const META_SELECT =
  'SELECT vault_id, created_at, protector_kind, protector_params, wrapped_key FROM meta WHERE singleton = 1';

// ---- protectors ---------------------------------------------------------------------------------

function protectorForCreation(options: OpenVaultOptions, keyDir: string): KeyProtector {
  const choice = options.protector ?? (options.passphrase !== undefined ? 'passphrase' : 'keyfile');
  if (typeof choice !== 'string') return choice;
  if (choice === 'passphrase') {
    if (options.passphrase === undefined || options.passphrase === '') {
      throw new RangeError('a passphrase is needed to create a passphrase-protected vault');
    }
    return createPassphraseProtector(options.passphrase);
  }
  return createKeyFileProtector({ keyDir });
}

function protectorForOpening(kind: string, options: OpenVaultOptions, keyDir: string, path: string): KeyProtector {
  if (typeof options.protector === 'object' && options.protector.kind === kind) return options.protector;
  if (kind === KEY_FILE_KIND) return createKeyFileProtector({ keyDir });
  if (kind === PASSPHRASE_KIND) {
    if (options.passphrase === undefined || options.passphrase === '') {
      throw new StoreError('locked', `vault ${path} is protected by a passphrase, and none was given`);
    }
    return createPassphraseProtector(options.passphrase);
  }
  throw new StoreError('locked', `vault ${path} is protected by '${kind}', which is not available here`);
}

// ---- meta ---------------------------------------------------------------------------------------

function parseParams(json: string, path: string): ProtectorParams {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StoreError('corrupt', `vault ${path}: key protector parameters are unreadable`);
  }
  for (const v of Object.values(value)) {
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw new StoreError('corrupt', `vault ${path}: key protector parameters are unreadable`);
    }
  }
  return value as ProtectorParams;
}

function readMeta(statement: SqlStatement, path: string): MetaRow {
  const row = statement.get();
  if (row === undefined) throw new StoreError('corrupt', `${path} is not a usable Latchkey vault: its meta row is missing`);
  const vaultId = row['vault_id'];
  const createdAt = row['created_at'];
  const kind = row['protector_kind'];
  const params = row['protector_params'];
  const wrapped = row['wrapped_key'];
  if (
    typeof vaultId !== 'string' ||
    !/^[0-9a-f]{32}$/.test(vaultId) ||
    typeof createdAt !== 'number' ||
    typeof kind !== 'string' ||
    typeof params !== 'string' ||
    !(wrapped instanceof Uint8Array)
  ) {
    throw new StoreError('corrupt', `${path} is not a usable Latchkey vault: its meta row is damaged`);
  }
  return { vaultId, createdAt, kind, params: parseParams(params, path), wrapped: new Uint8Array(wrapped) };
}

function setConnectionPragmas(db: SqlDriver): void {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // Every commit is on disk before the response that depends on it leaves.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Deleted rows (names, user handles) are zeroed rather than left in free pages.
  db.pragma('secure_delete = ON');
}

// ---- the vault ----------------------------------------------------------------------------------

class LatchkeyVault extends SqliteCredentialStore implements Vault {
  private readonly metaSelect: SqlStatement;
  private readonly metaUpdate: SqlStatement;

  /** The open options, without the passphrase: an open vault does not keep it (unlock asks again). */
  private readonly options: OpenVaultOptions;

  constructor(
    db: SqlDriver,
    vaultKey: KeyObject,
    path: string,
    /** Where the key file is (or would be) while the vault uses the key-file protector. */
    private keyDir: string,
    options: OpenVaultOptions,
  ) {
    super(db, vaultKey, path, options.lastUsedFlushMs === undefined ? {} : { lastUsedFlushMs: options.lastUsedFlushMs });
    this.options = { ...options, passphrase: undefined };
    this.metaSelect = db.prepare(META_SELECT);
    this.metaUpdate = db.prepare(
      'UPDATE meta SET protector_kind = ?, protector_params = ?, wrapped_key = ? WHERE singleton = 1',
    );
  }

  info(): VaultInfo {
    const meta = this.meta();
    return {
      vaultId: meta.vaultId,
      path: this.path,
      protector: meta.kind,
      schemaVersion: Number(this.guard('read vault info', () => this.db.pragma('user_version'))),
      credentialCount: this.count(),
      createdAt: meta.createdAt,
      driver: this.db.name,
    };
  }

  setPassphrase(passphrase: string): void {
    this.rewrap(createPassphraseProtector(passphrase), this.keyDir);
  }

  useKeyFile(options: { readonly keyDir?: string } = {}): void {
    const keyDir = options.keyDir === undefined ? this.keyDir : resolve(options.keyDir);
    if (this.meta().kind === KEY_FILE_KIND && keyDir === this.keyDir) return; // already so
    this.rewrap(createKeyFileProtector({ keyDir }), keyDir);
  }

  unlock(options: { readonly passphrase?: string | undefined } = {}): void {
    this.ensureOpen();
    if (!this.isLocked()) return;
    // Reads the meta row only (no write), then unwraps exactly as openVault does.
    const meta = this.guard('read vault meta', () => readMeta(this.metaSelect, this.path));
    const binding: VaultKeyBinding = { vaultId: meta.vaultId, vaultPath: this.path };
    const protector = protectorForOpening(meta.kind, { ...this.options, passphrase: options.passphrase }, this.keyDir, this.path);
    this.unlockWith(importVaultKey(protector.unwrap(meta, binding)));
  }

  checkIntegrity(): string[] {
    this.key();
    const rows = this.guard('check integrity', () => this.db.prepare('PRAGMA integrity_check').all());
    const problems = rows.map((row) => String(Object.values(row)[0]));
    return problems.length === 1 && problems[0] === 'ok' ? [] : problems;
  }

  private meta(): MetaRow {
    this.key();
    return this.guard('read vault meta', () => readMeta(this.metaSelect, this.path));
  }

  /**
   * Wrap the same vault key with `next` and commit that in one transaction (credentials are not
   * re-sealed); then let the old protector clean up (e.g. remove the old key file).
   */
  private rewrap(next: KeyProtector, nextKeyDir: string): void {
    const old = this.meta();
    const binding: VaultKeyBinding = { vaultId: old.vaultId, vaultPath: this.path };
    const raw = new Uint8Array(this.key().export());
    let wrapped: WrappedVaultKey;
    try {
      wrapped = next.wrap(raw, binding);
    } finally {
      raw.fill(0);
    }
    this.write('change the key protector', () =>
      this.metaUpdate.run(next.kind, JSON.stringify(wrapped.params), wrapped.wrapped),
    );
    const oldKeyDir = this.keyDir;
    this.keyDir = nextKeyDir;
    if (old.kind === KEY_FILE_KIND) {
      createKeyFileProtector({ keyDir: oldKeyDir }).retire?.(old, binding);
    } else if (typeof this.options.protector === 'object' && this.options.protector.kind === old.kind) {
      this.options.protector.retire?.(old, binding);
    }
  }
}

// ---- creating -----------------------------------------------------------------------------------

function removeDatabaseFiles(path: string): void {
  for (const suffix of ['', '-journal', '-wal', '-shm']) unlinkQuietly(path + suffix);
}

/** Link `tmp` to `path` without ever replacing an existing file; false if `path` appeared meanwhile. */
function publish(tmp: string, path: string): boolean {
  try {
    linkSync(tmp, path);
    unlinkSync(tmp);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    // File systems without hard links: rename (which would replace, hence the check first).
    if (existsSync(path)) return false;
    renameSync(tmp, path);
    return true;
  }
}

/**
 * Build a complete vault in a temporary file beside `path` and link it into place. Returns the
 * raw vault key (the caller wipes it), or undefined if another process created `path` first.
 */
function createVaultFile(
  path: string,
  options: OpenVaultOptions,
  keyDir: string,
  openDriver: SqlDriverFactory,
): Uint8Array | undefined {
  const dir = dirname(path);
  const protector = protectorForCreation(options, keyDir);
  const vaultId = randomBytes(16).toString('hex');
  const binding: VaultKeyBinding = { vaultId, vaultPath: path };
  const vaultKey = generateKey();
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.creating`);
  let wrapped: WrappedVaultKey | undefined;
  let published = false;
  try {
    ensurePrivateDirectory(dir);
    closeSync(openSync(tmp, 'wx', 0o600)); // SQLite gives its -journal/-wal/-shm files the same mode
    wrapped = protector.wrap(vaultKey, binding);
    const stored = wrapped;
    const db = openDriver(tmp, { fileMustExist: true });
    try {
      setConnectionPragmas(db);
      const insertMeta = () =>
        db
          .prepare(
            'INSERT INTO meta (singleton, vault_id, created_at, protector_kind, protector_params, wrapped_key) ' +
              'VALUES (1, ?, ?, ?, ?, ?)',
          )
          .run(vaultId, (options.clock ?? Date).now(), protector.kind, JSON.stringify(stored.params), stored.wrapped);
      db.transaction(() => {
        db.pragma(`application_id = ${LATCHKEY_APPLICATION_ID}`);
        migrate(db);
        insertMeta();
      });
      // Recorded in the header: every later open finds WAL mode already set and writes nothing.
      if (String(db.pragma('journal_mode = WAL')).toLowerCase() !== 'wal') {
        throw new StoreError('io', `cannot use WAL journaling for vault ${path}`);
      }
    } catch (error) {
      throw toStoreError(error, path, 'create the vault', db);
    } finally {
      db.close();
    }
    if (existsSync(`${tmp}-wal`)) throw new StoreError('io', `vault ${path}: the new database was not checkpointed`);
    published = publish(tmp, path);
    syncDirectory(dir);
    return published ? vaultKey : undefined;
  } catch (error) {
    throw toStoreError(error, path, 'create the vault');
  } finally {
    removeDatabaseFiles(tmp);
    if (!published) {
      vaultKey.fill(0);
      if (wrapped !== undefined) protector.retire?.(wrapped, binding);
    }
  }
}

// ---- opening ------------------------------------------------------------------------------------

function openVaultFile(
  path: string,
  options: OpenVaultOptions,
  keyDir: string,
  openDriver: SqlDriverFactory,
  knownKey: Uint8Array | undefined,
): Vault {
  // 1. Judge the file by its header bytes, read-only.
  inspectVaultFile(path, { applicationId: LATCHKEY_APPLICATION_ID, latestSchemaVersion: LATEST_SCHEMA_VERSION });
  let db: SqlDriver | undefined;
  let key: KeyObject | undefined;
  try {
    db = openDriver(path, { fileMustExist: true });
    const conn = db;
    // 2. Nothing below writes until the key is unwrapped (connection pragmas only).
    setConnectionPragmas(conn);
    const applicationId = Number(conn.pragma('application_id'));
    const userVersion = Number(conn.pragma('user_version'));
    if (applicationId !== LATCHKEY_APPLICATION_ID || userVersion < 1 || userVersion > LATEST_SCHEMA_VERSION) {
      throw new StoreError(
        'corrupt',
        `${path} is not a usable Latchkey vault (application_id 0x${applicationId.toString(16)}, schema ${userVersion})`,
      );
    }
    const tables = conn
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('meta', 'credentials')")
      .all();
    if (tables.length !== 2) {
      throw new StoreError('corrupt', `${path} is not a usable Latchkey vault: its tables are missing`);
    }
    const meta = readMeta(conn.prepare(META_SELECT), path);
    // 3. Unlock.
    const binding: VaultKeyBinding = { vaultId: meta.vaultId, vaultPath: path };
    const raw = knownKey ?? protectorForOpening(meta.kind, options, keyDir, path).unwrap(meta, binding);
    key = importVaultKey(raw);
    // 4. Now the file may change: WAL (already set by creation), then migrations.
    if (String(conn.pragma('journal_mode = WAL')).toLowerCase() !== 'wal') {
      throw new StoreError('io', `cannot use WAL journaling for vault ${path}`);
    }
    if (userVersion < LATEST_SCHEMA_VERSION) migrate(conn);
    return new LatchkeyVault(conn, key, path, keyDir, options);
  } catch (error) {
    const mapped = toStoreError(error, path, 'open the vault', db);
    try {
      db?.close();
    } catch {
      // already failing
    }
    throw mapped;
  }
}

/**
 * Open the vault at `options.path`, creating it first if it does not exist (unless `create` is
 * false). Throws StoreError: 'corrupt' for a file that is not a usable Latchkey vault (left
 * untouched), 'locked' for a missing key file or wrong passphrase, 'io' / 'full' otherwise.
 */
export function openVault(options: OpenVaultOptions): Vault {
  if (typeof options.path !== 'string' || options.path.trim() === '') {
    throw new StoreError('io', 'no vault path was given (the path is empty)');
  }
  const path = resolve(options.path);
  const keyDir = resolve(keyDirForThisProcess(options.keyDir));
  const openDriver = options.driver ?? openDefaultDriver;
  let exists: boolean;
  try {
    statSync(path);
    exists = true;
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw toStoreError(error, path, 'look for the vault');
    exists = false;
  }
  let knownKey: Uint8Array | undefined;
  if (!exists) {
    if (options.create === false) throw new StoreError('io', `there is no vault at ${path}`);
    knownKey = createVaultFile(path, options, keyDir, openDriver);
  }
  return openVaultFile(path, options, keyDir, openDriver, knownKey);
}
