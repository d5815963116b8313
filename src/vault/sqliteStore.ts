/**
 * {@link CredentialStore} over an open, unlocked SQLite vault.
 *
 * Hot path (getAssertion): `findById` answers from a small per-connection cache of recently read
 * rows after one `PRAGMA data_version` query, which tells whether any other connection or process
 * has committed since (then, and after this store's own writes, the cache is emptied); otherwise it
 * is one primary-key lookup. `openSecrets` on the record it returned needs no query (the sealed
 * blobs came with the row): the first time it opens the vault's AES-GCM blobs, then it keeps the
 * secrets sealed under a memory key (memorySeal.ts) and opens those with one AES pass per use.
 * `recordUse` of a `zero`-counter credential touches only memory: last-used times are
 * batched and written in one transaction on a short timer, with the next write, or on close.
 * `increment` counters are written durably (synchronous=FULL) before `recordUse` returns, by SQL
 * that adds one to the stored value, so no cached value can ever move a counter back.
 * @module
 */
import type { KeyObject } from 'node:crypto';
import {
  StoreError,
  type CoseAlgorithm,
  type CounterMode,
  type CredentialRecord,
  type CredentialSecrets,
  type CredProtectLevel,
  type CredentialStore,
} from '../ctap/ports.js';
import { wipe } from '../crypto/bytes.js';
import { MemorySeal } from './memorySeal.js';
import { openCredentialSecret, sealCredentialSecret } from './sealing.js';
import type { SqlDriver, SqlRow, SqlStatement, SqlValue } from './sqlDriver.js';
import { toStoreError } from './storeErrors.js';

/** A credential and its secrets, for {@link SqliteCredentialStore.createMany}. */
export interface NewCredential {
  readonly record: CredentialRecord;
  readonly secrets: CredentialSecrets;
}

const RECORD_COLUMNS =
  'id, rp_id, rp_name, user_id, user_name, user_display_name, alg, public_key, discoverable, cred_protect, ' +
  'backup_eligible, backup_state, counter_mode, sign_count, cred_blob, created_at, last_used_at, origin';
const SEALED_COLUMNS = 'sealed_private_key, sealed_hmac_uv, sealed_hmac_no_uv';

/** The sealed secrets of a row, as read from the database. */
interface SealedSecrets {
  readonly privateKey: SqlValue | undefined;
  readonly hmacUv: SqlValue | undefined;
  readonly hmacNoUv: SqlValue | undefined;
}

function sealedOf(row: SqlRow): SealedSecrets {
  return { privateKey: row['sealed_private_key'], hmacUv: row['sealed_hmac_uv'], hmacNoUv: row['sealed_hmac_no_uv'] };
}

/**
 * A row as read by findById / findDiscoverable, kept by the record cache and by the records handed
 * out (see {@link SqliteCredentialStore.findById}). No secret in the clear: the record's fields,
 * the vault's sealed blobs, and once opened the same secrets sealed under the memory key.
 */
interface CachedRow {
  /** {@link idKey} of the credential id: the key of the cache and of the pending last-used times. */
  readonly idText: string;
  /** The record as stored (last-used time from the row, not from the pending batch). Never handed out. */
  readonly record: CredentialRecord;
  readonly sealed: SealedSecrets;
  /** The secrets, once opened from `sealed` (and so authenticated), sealed under the memory key. */
  kept?: KeptSecrets | undefined;
}

/** A row's secrets sealed under a {@link MemorySeal}: ciphertext; usable only with that seal. */
interface KeptSecrets {
  readonly seal: MemorySeal;
  readonly privateKey: Uint8Array;
  readonly hmacUv: Uint8Array | undefined;
  readonly hmacNoUv: Uint8Array | undefined;
}

function openKept(kept: KeptSecrets): CredentialSecrets {
  const secrets: { -readonly [K in keyof CredentialSecrets]: CredentialSecrets[K] } = {
    privateKey: kept.seal.open(kept.privateKey),
  };
  try {
    if (kept.hmacUv !== undefined) secrets.hmacSecretWithUv = kept.seal.open(kept.hmacUv);
    if (kept.hmacNoUv !== undefined) secrets.hmacSecretWithoutUv = kept.seal.open(kept.hmacNoUv);
  } catch (error) {
    wipeSecrets(secrets);
    throw error;
  }
  return secrets;
}

function wipeSecrets(secrets: CredentialSecrets): void {
  wipe(secrets.privateKey, secrets.hmacSecretWithUv, secrets.hmacSecretWithoutUv);
}

interface Statements {
  readonly dataVersion: SqlStatement;
  readonly findById: SqlStatement;
  readonly findDiscoverable: SqlStatement;
  readonly list: SqlStatement;
  readonly count: SqlStatement;
  readonly sealed: SqlStatement;
  readonly insert: SqlStatement;
  readonly deleteDiscoverableUser: SqlStatement;
  readonly deleteById: SqlStatement;
  readonly increment: SqlStatement;
  readonly setLastUsed: SqlStatement;
}

function prepareStatements(db: SqlDriver): Statements {
  return {
    // Changes whenever another connection (this process or another) has committed to the file
    // since this connection last asked; this connection's own commits do not change it.
    dataVersion: db.prepare('PRAGMA data_version'),
    // The lookups of the assertion path also fetch the sealed blobs (a few dozen bytes each), so
    // that openSecrets on the returned record needs no second query. findById also reads the
    // data_version of the snapshot the row comes from (one statement, one read transaction), so
    // the record cache knows which version the row belongs to.
    findById: db.prepare(
      `SELECT ${RECORD_COLUMNS}, ${SEALED_COLUMNS}, (SELECT data_version FROM pragma_data_version) AS data_version ` +
        'FROM credentials WHERE id = ? AND rp_id = ?',
    ),
    findDiscoverable: db.prepare(
      `SELECT ${RECORD_COLUMNS}, ${SEALED_COLUMNS} FROM credentials WHERE rp_id = ? AND discoverable = 1 ` +
        'ORDER BY created_at DESC, rowid DESC',
    ),
    list: db.prepare(`SELECT ${RECORD_COLUMNS} FROM credentials ORDER BY rp_id, created_at, rowid`),
    count: db.prepare('SELECT count(*) AS n FROM credentials'),
    sealed: db.prepare(`SELECT ${SEALED_COLUMNS} FROM credentials WHERE id = ? AND rp_id = ?`),
    insert: db.prepare(
      `INSERT INTO credentials (${RECORD_COLUMNS}, sealed_private_key, sealed_hmac_uv, sealed_hmac_no_uv) ` +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    deleteDiscoverableUser: db.prepare(
      'DELETE FROM credentials WHERE rp_id = ? AND user_id = ? AND discoverable = 1 RETURNING id',
    ),
    deleteById: db.prepare('DELETE FROM credentials WHERE id = ?'),
    increment: db.prepare(
      'UPDATE credentials SET sign_count = sign_count + 1, last_used_at = ? ' +
        "WHERE id = ? AND rp_id = ? AND counter_mode = 'increment' AND sign_count < 4294967295 RETURNING sign_count",
    ),
    setLastUsed: db.prepare('UPDATE credentials SET last_used_at = ? WHERE id = ?'),
  };
}

// ---- row → record -------------------------------------------------------------------------------

class BadRow extends Error {}

/** A plain Uint8Array (not a Buffer) with the bytes of a BLOB column. */
function bytes(value: SqlValue | undefined): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new BadRow();
  // A BLOB that owns its whole ArrayBuffer (what both drivers return) is re-viewed without a
  // copy; anything sharing a larger buffer (a pool slice) is copied so no other bytes leak out.
  return value.byteOffset === 0 && value.byteLength === value.buffer.byteLength
    ? new Uint8Array(value.buffer, 0, value.byteLength)
    : new Uint8Array(value);
}

function optionalBytes(value: SqlValue | undefined): Uint8Array | undefined {
  return value === null ? undefined : bytes(value);
}

function text(value: SqlValue | undefined): string {
  if (typeof value === 'string') return value;
  throw new BadRow();
}

function optionalText(value: SqlValue | undefined): string | undefined {
  return value === null ? undefined : text(value);
}

function int(value: SqlValue | undefined): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new BadRow();
}

function optionalInt(value: SqlValue | undefined): number | undefined {
  return value === null ? undefined : int(value);
}

function rowToRecord(row: SqlRow, lastUsedOverride: number | undefined): CredentialRecord {
  const record: {
    -readonly [K in keyof CredentialRecord]: CredentialRecord[K];
  } = {
    id: bytes(row['id']),
    rpId: text(row['rp_id']),
    userId: bytes(row['user_id']),
    alg: int(row['alg']) as CoseAlgorithm,
    publicKey: bytes(row['public_key']),
    discoverable: int(row['discoverable']) === 1,
    credProtect: int(row['cred_protect']) as CredProtectLevel,
    backupEligible: int(row['backup_eligible']) === 1,
    backupState: int(row['backup_state']) === 1,
    counterMode: text(row['counter_mode']) as CounterMode,
    signCount: int(row['sign_count']),
    createdAt: int(row['created_at']),
    origin: text(row['origin']) as CredentialRecord['origin'],
  };
  const rpName = optionalText(row['rp_name']);
  if (rpName !== undefined) record.rpName = rpName;
  const userName = optionalText(row['user_name']);
  if (userName !== undefined) record.userName = userName;
  const userDisplayName = optionalText(row['user_display_name']);
  if (userDisplayName !== undefined) record.userDisplayName = userDisplayName;
  const credBlob = optionalBytes(row['cred_blob']);
  if (credBlob !== undefined) record.credBlob = credBlob;
  const lastUsedAt = lastUsedOverride ?? optionalInt(row['last_used_at']);
  if (lastUsedAt !== undefined) record.lastUsedAt = lastUsedAt;
  return record;
}

/**
 * A caller's own copy of a cached record: a new object with new byte arrays, so whatever a caller
 * does with it never reaches the cache or another caller; `lastUsedAt` from the pending batch.
 * Built field by field in rowToRecord's order (not by spreading), so every record has the same
 * few shapes and the code that reads it stays fast.
 */
function copyRecord(stored: CredentialRecord, lastUsedOverride: number | undefined): CredentialRecord {
  const record: { -readonly [K in keyof CredentialRecord]: CredentialRecord[K] } = {
    id: new Uint8Array(stored.id),
    rpId: stored.rpId,
    userId: new Uint8Array(stored.userId),
    alg: stored.alg,
    publicKey: new Uint8Array(stored.publicKey),
    discoverable: stored.discoverable,
    credProtect: stored.credProtect,
    backupEligible: stored.backupEligible,
    backupState: stored.backupState,
    counterMode: stored.counterMode,
    signCount: stored.signCount,
    createdAt: stored.createdAt,
    origin: stored.origin,
  };
  if (stored.rpName !== undefined) record.rpName = stored.rpName;
  if (stored.userName !== undefined) record.userName = stored.userName;
  if (stored.userDisplayName !== undefined) record.userDisplayName = stored.userDisplayName;
  if (stored.credBlob !== undefined) record.credBlob = new Uint8Array(stored.credBlob);
  const lastUsedAt = lastUsedOverride ?? stored.lastUsedAt;
  if (lastUsedAt !== undefined) record.lastUsedAt = lastUsedAt;
  return record;
}

// ---- input checks (programming errors: RangeError, not StoreError) ------------------------------

function checkNewCredential(record: CredentialRecord, secrets: CredentialSecrets): void {
  if (record.id.length < 1 || record.id.length > 1023) throw new RangeError('credential id must be 1..1023 bytes');
  if (record.userId.length < 1 || record.userId.length > 64) throw new RangeError('user handle must be 1..64 bytes');
  if (record.rpId.length === 0) throw new RangeError('rpId is empty');
  if (secrets.privateKey.length === 0) throw new RangeError('private key is empty');
  if (!Number.isSafeInteger(record.signCount) || record.signCount < 0) throw new RangeError('invalid signCount');
  if (record.counterMode === 'zero' && record.signCount !== 0) {
    throw new RangeError("a 'zero' counter credential must have signCount 0");
  }
}

/**
 * A credential id as a map key: one character per byte (ids are at most 1023 bytes, well within
 * the argument limit), which costs no Buffer and no hex encoding on the hot path.
 */
function idKey(id: Uint8Array): string {
  return String.fromCharCode.apply(null, id as unknown as number[]);
}

export interface SqliteStoreOptions {
  /** Delay before batched last-used times are written, in ms. */
  readonly lastUsedFlushMs?: number;
}

const DEFAULT_LAST_USED_FLUSH_MS = 1000;

/** Rows the record cache keeps at most (the oldest read goes first); a few hundred bytes each. */
const RECORD_CACHE_SIZE = 256;

export class SqliteCredentialStore implements CredentialStore {
  protected readonly db: SqlDriver;
  protected readonly path: string;
  private vaultKey: KeyObject | undefined;
  private closed = false;
  private readonly statements: Statements;
  /** Last-used times not yet written, by {@link idKey} of the credential id. */
  private readonly pendingLastUsed = new Map<string, { readonly id: Uint8Array; readonly usedAt: number }>();
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly lastUsedFlushMs: number;
  /**
   * The row behind each record handed out by findById / findDiscoverable, keyed by the very object
   * returned, so openSecrets on it skips a query. A record built elsewhere (or copied) is looked up
   * again. Ciphertext only; entries go when the record is collected.
   */
  private readonly rowByRecord = new WeakMap<CredentialRecord, CachedRow>();
  /**
   * Rows recently read by findById, by {@link idKey} of the credential id. Valid while `PRAGMA
   * data_version` still answers {@link cachedDataVersion} (no other connection has committed) and
   * until this store's own next write, lock or close, each of which empties it.
   */
  private readonly recordCache = new Map<string, CachedRow>();
  private cachedDataVersion: SqlValue | undefined;
  /** Seals the secrets of rows in use (see memorySeal.ts); made on first use, disposed on lock and close. */
  private memorySeal: MemorySeal | undefined;

  constructor(db: SqlDriver, vaultKey: KeyObject, path: string, options: SqliteStoreOptions = {}) {
    this.db = db;
    this.vaultKey = vaultKey;
    this.path = path;
    this.lastUsedFlushMs = options.lastUsedFlushMs ?? DEFAULT_LAST_USED_FLUSH_MS;
    this.statements = prepareStatements(db);
  }

  // ---- CredentialStore --------------------------------------------------------------------------

  findById(rpId: string, id: Uint8Array): CredentialRecord | undefined {
    this.key();
    const idText = idKey(id);
    const cached = this.recordCache.get(idText);
    if (cached !== undefined && this.cacheIsCurrent()) {
      // Ids are unique across RPs: one bound to another RP is unknown here, as the query would say.
      return cached.record.rpId === rpId ? this.handOut(cached) : undefined;
    }
    const row = this.guard('look up a credential', () => this.statements.findById.get(id, rpId));
    return row === undefined ? undefined : this.handOut(this.cacheRow(idText, row));
  }

  findDiscoverable(rpId: string): CredentialRecord[] {
    this.key();
    const rows = this.guard('list discoverable credentials', () => this.statements.findDiscoverable.all(rpId));
    return rows.map((row) => this.handOut(this.rowOf(idKey(bytes(row['id'])), row)));
  }

  create(record: CredentialRecord, secrets: CredentialSecrets): void {
    this.createMany([{ record, secrets }]);
  }

  openSecrets(record: CredentialRecord): CredentialSecrets {
    const key = this.key();
    const cached = this.rowByRecord.get(record);
    const kept = cached?.kept;
    if (kept !== undefined && kept.seal === this.memorySeal) return openKept(kept);
    let sealed: SealedSecrets;
    if (cached !== undefined) {
      sealed = cached.sealed;
    } else {
      const row = this.guard('read sealed secrets', () => this.statements.sealed.get(record.id, record.rpId));
      if (row === undefined) {
        throw new StoreError('io', `vault ${this.path}: the credential whose secrets were asked for is no longer stored`);
      }
      sealed = sealedOf(row);
    }
    // The blobs are bound to (purpose, id, rpId): one from another row or column fails here.
    const { id, rpId } = record;
    if (!(sealed.privateKey instanceof Uint8Array)) throw this.badRow();
    const secrets: { -readonly [K in keyof CredentialSecrets]: CredentialSecrets[K] } = {
      privateKey: openCredentialSecret(key, 'private-key', id, rpId, sealed.privateKey),
    };
    try {
      if (sealed.hmacUv instanceof Uint8Array) {
        secrets.hmacSecretWithUv = openCredentialSecret(key, 'hmac-uv', id, rpId, sealed.hmacUv);
      }
      if (sealed.hmacNoUv instanceof Uint8Array) {
        secrets.hmacSecretWithoutUv = openCredentialSecret(key, 'hmac-no-uv', id, rpId, sealed.hmacNoUv);
      }
      // Authenticated now: keep them sealed in memory for this row's next uses.
      if (cached !== undefined) cached.kept = this.keep(secrets);
    } catch (error) {
      wipeSecrets(secrets);
      throw error;
    }
    return secrets;
  }

  recordUse(record: CredentialRecord, usedAt: number): number {
    this.key();
    if (record.counterMode === 'zero') {
      const id = new Uint8Array(record.id);
      this.pendingLastUsed.set(this.rowByRecord.get(record)?.idText ?? idKey(id), { id, usedAt });
      this.flushTimer ??= setTimeout(() => this.flushFromTimer(), this.lastUsedFlushMs).unref();
      return 0;
    }
    const row = this.write('record a use', () => this.statements.increment.get(usedAt, record.id, record.rpId));
    if (row === undefined) {
      // Either the credential is gone, or its 32-bit counter is exhausted: wrapping to 0 would look
      // like a cloned authenticator to every relying party, so the credential stops signing instead.
      const exhausted = this.findById(record.rpId, record.id) !== undefined;
      throw new StoreError(
        exhausted ? 'full' : 'io',
        exhausted
          ? `vault ${this.path}: this credential's signature counter reached 2^32-1 and cannot advance`
          : `vault ${this.path}: the credential whose counter was to advance is no longer stored`,
      );
    }
    this.pendingLastUsed.delete(idKey(record.id));
    return int(row['sign_count']);
  }

  delete(id: Uint8Array): boolean {
    this.key();
    const changes = this.write('delete a credential', () => this.statements.deleteById.run(id).changes);
    this.pendingLastUsed.delete(idKey(id));
    return changes > 0;
  }

  list(): CredentialRecord[] {
    this.key();
    const rows = this.guard('list credentials', () => this.statements.list.all());
    return rows.map((row) => this.toRecord(row));
  }

  count(): number {
    this.key();
    const row = this.guard('count credentials', () => this.statements.count.get());
    return row === undefined ? 0 : int(row['n']);
  }

  // ---- beyond the port --------------------------------------------------------------------------

  /**
   * Store many credentials in one transaction (an import): all or none. Same rules as `create`,
   * applied in order.
   */
  createMany(entries: readonly NewCredential[]): void {
    const key = this.key();
    for (const { record, secrets } of entries) checkNewCredential(record, secrets);
    // Seal before the transaction: the write lock is held only for the SQL.
    const rows = entries.map(({ record, secrets }) => {
      const seal = (purpose: 'private-key' | 'hmac-uv' | 'hmac-no-uv', plain: Uint8Array | undefined) =>
        plain === undefined ? null : sealCredentialSecret(key, purpose, record.id, record.rpId, plain);
      return {
        record,
        params: [
          record.id,
          record.rpId,
          record.rpName ?? null,
          record.userId,
          record.userName ?? null,
          record.userDisplayName ?? null,
          record.alg,
          record.publicKey,
          record.discoverable ? 1 : 0,
          record.credProtect,
          record.backupEligible ? 1 : 0,
          record.backupState ? 1 : 0,
          record.counterMode,
          record.signCount,
          record.credBlob ?? null,
          record.createdAt,
          record.lastUsedAt ?? null,
          record.origin,
          seal('private-key', secrets.privateKey),
          seal('hmac-uv', secrets.hmacSecretWithUv),
          seal('hmac-no-uv', secrets.hmacSecretWithoutUv),
        ] as SqlValue[],
      };
    });
    const replaced = this.write('store a credential', () => {
      const removed: SqlRow[] = [];
      for (const { record, params } of rows) {
        if (record.discoverable) {
          // CTAP: a new discoverable credential replaces the one for the same RP and user handle.
          removed.push(...this.statements.deleteDiscoverableUser.all(record.rpId, record.userId));
        }
        this.statements.insert.run(...params);
      }
      return removed;
    });
    for (const row of replaced) {
      const id = row['id'];
      if (id instanceof Uint8Array) this.pendingLastUsed.delete(idKey(id));
    }
  }

  /** Write batched last-used times now. */
  flush(): void {
    if (this.pendingLastUsed.size === 0) return;
    this.write('record last-used times', () => undefined);
  }

  /** Flush, then close the database. Further calls throw StoreError('locked'). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.vaultKey !== undefined) this.flush();
    } finally {
      this.forgetKey();
      this.db.close();
    }
  }

  /**
   * Lock: write the batched last-used times, then drop the vault key. Until {@link unlockWith},
   * every method that reads or writes credentials throws StoreError('locked') before touching the
   * database, so a locked store reads nothing, writes nothing and uses no key. Idempotent.
   */
  lock(): void {
    if (this.vaultKey === undefined) return;
    try {
      this.flush();
    } catch {
      // last-used is not a security property; the lock must not fail because of it
    } finally {
      this.forgetKey();
    }
  }

  /** Whether the vault key is not in memory (locked, or closed). */
  isLocked(): boolean {
    return this.vaultKey === undefined;
  }

  // ---- internals --------------------------------------------------------------------------------

  /** The vault key, or StoreError('locked') while locked or once closed. */
  protected key(): KeyObject {
    if (this.vaultKey === undefined) {
      throw new StoreError('locked', this.closed ? `vault ${this.path} is closed` : `vault ${this.path} is locked`);
    }
    return this.vaultKey;
  }

  /** StoreError('locked') once closed: a closed vault cannot be unlocked. */
  protected ensureOpen(): void {
    if (this.closed) throw new StoreError('locked', `vault ${this.path} is closed`);
  }

  /** Take the vault key back after a lock (the subclass unwraps it). */
  protected unlockWith(key: KeyObject): void {
    this.ensureOpen();
    this.vaultKey = key;
  }

  /**
   * Drop the only reference to the vault key. A KeyObject keeps its bytes outside the JavaScript
   * heap, where no JavaScript can overwrite them: they are freed when the garbage collector
   * finalises the object (see SECURITY.md, "Wiping secrets").
   */
  private forgetKey(): void {
    this.clearTimer();
    this.vaultKey = undefined;
    this.pendingLastUsed.clear();
    this.forgetCachedRows();
    // Secrets kept by rows still referenced from handed-out records become unopenable here.
    this.memorySeal?.dispose();
    this.memorySeal = undefined;
  }

  /** `secrets` sealed under the memory key, or undefined when one does not fit it (then they are not kept). */
  private keep(secrets: CredentialSecrets): KeptSecrets | undefined {
    const all = [secrets.privateKey, secrets.hmacSecretWithUv, secrets.hmacSecretWithoutUv];
    if (!all.every((secret) => secret === undefined || MemorySeal.fits(secret))) return undefined;
    try {
      const seal = (this.memorySeal ??= new MemorySeal());
      return {
        seal,
        privateKey: seal.seal(secrets.privateKey),
        hmacUv: secrets.hmacSecretWithUv === undefined ? undefined : seal.seal(secrets.hmacSecretWithUv),
        hmacNoUv: secrets.hmacSecretWithoutUv === undefined ? undefined : seal.seal(secrets.hmacSecretWithoutUv),
      };
    } catch {
      return undefined; // an optimisation only: the next use opens the vault's blob again
    }
  }

  private toRecord(row: SqlRow): CredentialRecord {
    return this.parseRow(() => {
      const override =
        this.pendingLastUsed.size === 0 ? undefined : this.pendingLastUsed.get(idKey(bytes(row['id'])))?.usedAt;
      return rowToRecord(row, override);
    });
  }

  /** A row read by a lookup, as kept by the cache (the record as stored, its blobs). */
  private rowOf(idText: string, row: SqlRow): CachedRow {
    return this.parseRow(() => ({ idText, record: rowToRecord(row, undefined), sealed: sealedOf(row) }));
  }

  /** Runs `parse` over a row; a value of the wrong type anywhere in it is the vault's corruption. */
  private parseRow<T>(parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      if (error instanceof BadRow) throw this.badRow();
      throw error;
    }
  }

  /** Keep a row read by findById, with the data_version of the snapshot it was read from. */
  private cacheRow(idText: string, row: SqlRow): CachedRow {
    const cached = this.rowOf(idText, row);
    const version = row['data_version'];
    if (version !== this.cachedDataVersion || version === undefined || version === null) {
      // Another connection committed since the cached rows were read: they may be stale.
      this.forgetCachedRows();
      this.cachedDataVersion = version ?? undefined;
      if (version === undefined || version === null) return cached;
    }
    if (this.recordCache.size >= RECORD_CACHE_SIZE) {
      const oldest = this.recordCache.keys().next();
      if (oldest.done !== true) this.recordCache.delete(oldest.value);
    }
    this.recordCache.set(idText, cached);
    return cached;
  }

  /** The caller's own record of a row, remembered so openSecrets needs no query. */
  private handOut(cached: CachedRow): CredentialRecord {
    const pending = this.pendingLastUsed.size === 0 ? undefined : this.pendingLastUsed.get(cached.idText)?.usedAt;
    const record = copyRecord(cached.record, pending);
    this.rowByRecord.set(record, cached);
    return record;
  }

  /**
   * Whether the cached rows are still what the file holds: no other connection (in this process
   * or another one) has committed since they were read. If one has, a row may have been deleted,
   * changed or added meanwhile, and the cache is emptied.
   */
  private cacheIsCurrent(): boolean {
    const current = this.guard('look up a credential', () => this.statements.dataVersion.pluck());
    if (current !== undefined && current === this.cachedDataVersion) return true;
    this.forgetCachedRows();
    return false;
  }

  private forgetCachedRows(): void {
    this.recordCache.clear();
    this.cachedDataVersion = undefined;
  }

  private badRow(): StoreError {
    return new StoreError('corrupt', `vault ${this.path}: a credential row has values of unexpected types`);
  }

  /** Run a read, turning failures into StoreErrors. */
  protected guard<T>(action: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw toStoreError(error, this.path, action, this.db);
    }
  }

  /**
   * Run a write in one transaction together with any batched last-used times, committed
   * (durable, synchronous=FULL) before returning.
   */
  protected write<T>(action: string, fn: () => T): T {
    const pending = this.pendingLastUsed.size === 0 ? undefined : [...this.pendingLastUsed.values()];
    let result: T;
    try {
      result = this.guard(action, () =>
        pending === undefined
          ? this.db.transaction(fn)
          : this.db.transaction(() => {
              for (const { id, usedAt } of pending) this.statements.setLastUsed.run(usedAt, id);
              return fn();
            }),
      );
    } finally {
      // This connection's own commits leave data_version as it was: forget every cached row
      // (committed or rolled back, the next lookup reads the file again).
      this.forgetCachedRows();
    }
    if (pending !== undefined) {
      // Keep entries that were updated again meanwhile (not possible synchronously, but cheap to respect).
      for (const entry of pending) {
        const key = idKey(entry.id);
        if (this.pendingLastUsed.get(key) === entry) this.pendingLastUsed.delete(key);
      }
      if (this.pendingLastUsed.size === 0) this.clearTimer();
    }
    return result;
  }

  private flushFromTimer(): void {
    this.flushTimer = undefined;
    if (this.vaultKey === undefined) return;
    try {
      this.flush();
    } catch {
      // last-used is not a security property: keep the entries and try again later
      if (this.pendingLastUsed.size > 0) {
        this.flushTimer = setTimeout(() => this.flushFromTimer(), this.lastUsedFlushMs * 5).unref();
      }
    }
  }

  private clearTimer(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }
}
