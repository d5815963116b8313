/**
 * Keeping Windows' credential metadata cache (the Windows passkey picker and browser autofill) in
 * step with the vault: add after a credential is created, remove after one is deleted or replaced,
 * and a full resync (diff the cache against the vault; remove what is stale or changed, add what
 * is missing) on start and on `latchkey register`.
 *
 * Only discoverable credentials are cached: the picker offers cached credentials for sign-ins where
 * the relying party names none, and a non-discoverable credential cannot answer those (it returns no
 * user handle). Names and ids only: the cache never holds a key.
 * @module
 */
import type { CredentialRecord } from '../../ctap/ports.js';
import { HRESULT, hresultOfAddonError } from './hresult.js';
import type { CredentialDetails, Guid, WindowsAddon } from './native.js';

type CacheAddon = Pick<WindowsAddon, 'addCredentials' | 'removeCredentials' | 'getAllCredentials'>;

export interface ResyncResult {
  readonly added: number;
  readonly removed: number;
  readonly unchanged: number;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** Whether a vault credential belongs in the cache. */
export function isCached(record: CredentialRecord): boolean {
  return record.discoverable;
}

/** The cache entry for a credential. Windows requires every field: absent names fall back sensibly. */
export function credentialDetails(record: CredentialRecord): CredentialDetails {
  const userName = record.userName ?? record.userDisplayName ?? '';
  return {
    credentialId: record.id.slice(),
    rpId: record.rpId,
    rpName: record.rpName ?? record.rpId,
    userId: record.userId.slice(),
    userName,
    userDisplayName: record.userDisplayName ?? userName,
  };
}

function sameDetails(a: CredentialDetails, b: CredentialDetails): boolean {
  return (
    hex(a.credentialId) === hex(b.credentialId) &&
    a.rpId === b.rpId &&
    a.rpName === b.rpName &&
    hex(a.userId) === hex(b.userId) &&
    a.userName === b.userName &&
    a.userDisplayName === b.userDisplayName
  );
}

export class CredentialCache {
  constructor(
    private readonly addon: CacheAddon,
    private readonly clsid: Guid,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Add new credentials (non-discoverable ones are skipped). */
  add(records: readonly CredentialRecord[]): number {
    const details = records.filter(isCached).map(credentialDetails);
    if (details.length > 0) this.addon.addCredentials(this.clsid, details);
    return details.length;
  }

  /** Remove credentials that left the vault (matched by id; the other fields go along as Windows' sample does). */
  remove(records: readonly CredentialRecord[]): number {
    const details = records.filter(isCached).map(credentialDetails);
    if (details.length > 0) this.addon.removeCredentials(this.clsid, details);
    return details.length;
  }

  /** What Windows' cache holds now (an empty cache is reported as ERROR_FILE_NOT_FOUND: that is no error). */
  current(): CredentialDetails[] {
    try {
      return this.addon.getAllCredentials(this.clsid);
    } catch (error) {
      if (hresultOfAddonError(error) === HRESULT.FILE_NOT_FOUND) return [];
      throw error;
    }
  }

  /** Make the cache hold exactly the vault's discoverable credentials, with their current names. */
  resync(vault: readonly CredentialRecord[]): ResyncResult {
    const wanted = new Map<string, CredentialDetails>();
    for (const record of vault) if (isCached(record)) wanted.set(hex(record.id), credentialDetails(record));
    const stale: CredentialDetails[] = [];
    const kept = new Set<string>();
    for (const entry of this.current()) {
      const key = hex(entry.credentialId);
      const want = wanted.get(key);
      if (want !== undefined && sameDetails(want, entry) && !kept.has(key)) kept.add(key);
      else stale.push(entry);
    }
    const missing = [...wanted].filter(([key]) => !kept.has(key)).map(([, details]) => details);
    if (stale.length > 0) this.addon.removeCredentials(this.clsid, stale);
    if (missing.length > 0) this.addon.addCredentials(this.clsid, missing);
    const result = { added: missing.length, removed: stale.length, unchanged: kept.size };
    this.log(`credential cache resynced: ${result.added} added, ${result.removed} removed, ${result.unchanged} unchanged`);
    return result;
  }
}
