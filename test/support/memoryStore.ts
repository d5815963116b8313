/**
 * An in-memory CredentialStore for core unit tests, with the same rules as the vault:
 * ids bound to rpIds, discoverable replacement by (rpId, user handle), durable-looking counters.
 * Secrets are kept as copies so a caller that wipes what it was given cannot corrupt the store.
 */
import type { CredentialRecord, CredentialSecrets, CredentialStore } from '../../src/ctap/ports.js';
import { toHex } from '../../src/crypto/bytes.js';

export class MemoryStore implements CredentialStore {
  readonly records = new Map<string, CredentialRecord>();
  readonly secrets = new Map<string, CredentialSecrets>();
  writes = 0;

  findById(rpId: string, id: Uint8Array): CredentialRecord | undefined {
    const record = this.records.get(toHex(id));
    return record !== undefined && record.rpId === rpId ? record : undefined;
  }

  findDiscoverable(rpId: string): CredentialRecord[] {
    return [...this.records.values()]
      .filter((r) => r.rpId === rpId && r.discoverable)
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  create(record: CredentialRecord, secrets: CredentialSecrets): void {
    this.writes++;
    if (record.discoverable) {
      for (const [key, old] of this.records) {
        if (old.discoverable && old.rpId === record.rpId && toHex(old.userId) === toHex(record.userId)) {
          this.records.delete(key);
          this.secrets.delete(key);
        }
      }
    }
    this.records.set(toHex(record.id), { ...record });
    this.secrets.set(toHex(record.id), {
      privateKey: secrets.privateKey.slice(),
      hmacSecretWithUv: secrets.hmacSecretWithUv?.slice(),
      hmacSecretWithoutUv: secrets.hmacSecretWithoutUv?.slice(),
    });
  }

  openSecrets(record: CredentialRecord): CredentialSecrets {
    const secrets = this.secrets.get(toHex(record.id));
    if (secrets === undefined) throw new Error('no such credential');
    return {
      privateKey: secrets.privateKey.slice(),
      hmacSecretWithUv: secrets.hmacSecretWithUv?.slice(),
      hmacSecretWithoutUv: secrets.hmacSecretWithoutUv?.slice(),
    };
  }

  recordUse(record: CredentialRecord, usedAt: number): number {
    const key = toHex(record.id);
    const current = this.records.get(key);
    if (current === undefined) throw new Error('no such credential');
    const signCount = current.counterMode === 'increment' ? current.signCount + 1 : 0;
    if (current.counterMode === 'increment') this.writes++;
    this.records.set(key, { ...current, signCount, lastUsedAt: usedAt });
    return signCount;
  }

  delete(id: Uint8Array): boolean {
    this.writes++;
    this.secrets.delete(toHex(id));
    return this.records.delete(toHex(id));
  }

  list(): CredentialRecord[] {
    return [...this.records.values()].sort((a, b) => a.rpId.localeCompare(b.rpId) || a.createdAt - b.createdAt);
  }

  count(): number {
    return this.records.size;
  }
}
