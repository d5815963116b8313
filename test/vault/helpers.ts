/** Shared fixtures for the vault tests: temporary directories and sample credentials. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { COSE_ALG_ES256, type CredentialRecord, type CredentialSecrets } from '../../src/ctap/ports.js';
import { openVault, type OpenVaultOptions, type Vault } from '../../src/vault/vault.js';
import { openTestDriver } from './driver.js';

export interface TempVaultDir {
  readonly dir: string;
  readonly vaultPath: string;
  readonly keyDir: string;
  /** Open (creating if missing) the vault in this directory with an explicit key dir, on the driver under test. */
  open(options?: Partial<OpenVaultOptions>): Vault;
  cleanup(): void;
}

export function tempVaultDir(): TempVaultDir {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-vault-test-'));
  const vaultPath = join(dir, 'data', 'vault.db');
  const keyDir = join(dir, 'config', 'keys');
  return {
    dir,
    vaultPath,
    keyDir,
    open: (options = {}) => openVault({ path: vaultPath, keyDir, driver: openTestDriver, ...options }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

let sequence = 0;

/** A credential record with every optional field set, unless overridden. */
export function sampleRecord(overrides: Partial<CredentialRecord> = {}): CredentialRecord {
  sequence += 1;
  return {
    id: new Uint8Array(randomBytes(16)),
    rpId: 'example.com',
    rpName: 'Example',
    userId: new Uint8Array([1, 2, 3, 4]),
    userName: 'alice@example.com',
    userDisplayName: 'Alice',
    alg: COSE_ALG_ES256,
    publicKey: new Uint8Array(randomBytes(77)),
    discoverable: true,
    credProtect: 2,
    backupEligible: true,
    backupState: true,
    counterMode: 'zero',
    signCount: 0,
    credBlob: new Uint8Array([9, 8, 7]),
    createdAt: 1_700_000_000_000 + sequence,
    lastUsedAt: 1_700_000_500_000,
    origin: 'created',
    ...overrides,
  };
}

/** Secrets with recognisable random bytes (to search for in the raw file). */
export function sampleSecrets(): CredentialSecrets {
  return {
    privateKey: new Uint8Array(randomBytes(32)),
    hmacSecretWithUv: new Uint8Array(randomBytes(32)),
    hmacSecretWithoutUv: new Uint8Array(randomBytes(32)),
  };
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Whether `haystack` contains `needle` anywhere. */
export function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(Buffer.from(needle)) !== -1;
}
